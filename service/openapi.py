"""`python -m service.openapi [PATH]`: write the OpenAPI document (stdout without PATH)."""

import sys
from typing import Any

import orjson

from service.config import Settings
from service.main import create_app


def document() -> dict[str, Any]:
    return create_app(Settings(store_path=":memory:")).openapi()


def render() -> bytes:
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        with open(sys.argv[1], "wb") as target:
            target.write(render())
    else:
        sys.stdout.buffer.write(render())
