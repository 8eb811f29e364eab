"""How every benchmark ends: print its table and keep its full results as JSON."""

import json
import sys
from pathlib import Path
from typing import Any


def publish(table: str, document: dict[str, Any], output: Path) -> None:
    """Print `table`, write `document` to `output` (creating its folder), and say where it went."""
    print(table)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {output}", file=sys.stderr)
