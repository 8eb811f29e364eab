"""The committed TypeScript types (`service/static/types/api.d.ts`, which the dashboard's modules are checked against)
are openapi-typescript's output for the committed OpenAPI document: regenerated here into a temporary folder with the
command `make types` runs (package.json's `types` script) and compared byte for byte.

The tools are the ones `make` installs with `npm ci` (node_modules); without Node.js at all the test skips.
"""

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "service" / "static" / "types" / "api.d.ts"
GENERATOR = ROOT / "node_modules" / ".bin" / "openapi-typescript"


def types_command(output: Path) -> list[str]:
    """package.json's `types` script, writing to `output` instead of the committed file."""
    script = json.loads((ROOT / "package.json").read_text("utf-8"))["scripts"]["types"]
    words = shlex.split(script)
    assert words[0] == "openapi-typescript", script
    at = words.index("--output") + 1
    assert ROOT / words[at] == COMMITTED, script
    words[at] = str(output)
    return [str(GENERATOR), *words[1:]]


@pytest.fixture(scope="module")
def generator() -> Path:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed (apt-get install nodejs npm): the TypeScript types are not compared")
    assert GENERATOR.exists(), "openapi-typescript is not installed: run `make` (npm ci) first"
    return GENERATOR


def test_committed_types_are_generated_from_the_committed_document(generator: Path, tmp_path: Path) -> None:
    output = tmp_path / "api.d.ts"
    subprocess.run(types_command(output), cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert output.read_text("utf-8") == COMMITTED.read_text("utf-8"), (
        "service/static/types/api.d.ts is not generated from openapi/openapi.json: run `make types` and commit it"
    )


def test_the_types_describe_the_operations_the_dashboard_calls() -> None:
    """The generated file is the document's: each path the dashboard calls and the schemas it names are in it."""
    text = COMMITTED.read_text("utf-8")
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text("utf-8"))
    for path in document["paths"]:
        assert f'"{path}": {{' in text, path
    for schema in ("RunSpec", "RunInfo", "Run", "RunPage", "Catalog", "Problem", "Trace", "EndEvent", "StepEvent"):
        assert f"        {schema}: {{" in text, schema
