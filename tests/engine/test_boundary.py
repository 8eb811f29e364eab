"""The engine stays pure NumPy: nothing under service/engine imports the web stack."""

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "service" / "engine"
FORBIDDEN = {"fastapi", "starlette", "pydantic", "pydantic_settings", "uvicorn", "orjson", "service.api"}


@pytest.mark.parametrize("module", sorted(ENGINE.rglob("*.py")), ids=lambda path: str(path.relative_to(ENGINE)))
def test_engine_module_imports_no_web_stack(module: Path) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    bad = {name for name in imported if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{module.relative_to(ENGINE)} imports {sorted(bad)}"
