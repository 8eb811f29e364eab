"""The API documentation pages load Swagger UI and ReDoc from the vendored copies, whose recorded versions are the ones
`make vendor-docs` pins; `tests/dashboard/test_api_docs.py` renders them in Chromium offline."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.dashboard import STATIC
from service.config import Settings
from service.main import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(store_path=":memory:"))) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css"]),
        ("/redoc", ["/static/vendor/redoc/redoc.standalone.js"]),
    ],
)
def test_the_pages_load_the_vendored_assets(client: TestClient, path: str, assets: list[str]) -> None:
    page = client.get(path)
    assert page.status_code == 200
    loaded = re.findall(r"""(?:src|href)="([^"]+)\"""", page.text)
    assert [url for url in loaded if not url.startswith("/static/")] == []
    assert set(assets) <= set(loaded)
    for url in loaded:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 0, url
    assert "'/openapi.json'" in page.text or 'spec-url="/openapi.json"' in page.text


@pytest.mark.parametrize(("folder", "setting"), [("swagger-ui", "SWAGGER_UI_VERSION"), ("redoc", "REDOC_VERSION")])
def test_the_recorded_versions_are_the_pinned_ones(folder: str, setting: str) -> None:
    pinned = re.search(rf"^{setting} := (\S+)$", (ROOT / "Makefile").read_text("utf-8"), re.MULTILINE)
    assert pinned, setting
    vendored = STATIC / "vendor" / folder
    assert (vendored / "VERSION").read_text("utf-8").strip() == pinned.group(1)
    assert pinned.group(1) in (vendored / "README.md").read_text("utf-8")
    assert (vendored / "LICENSE").stat().st_size > 0


def test_the_redoc_bundle_loads_nothing_from_elsewhere() -> None:
    """The Redocly logo (the bundle's one remote image) is emptied by `make vendor-docs`."""
    bundle = (STATIC / "vendor" / "redoc" / "redoc.standalone.js").read_text("utf-8")
    assert "cdn.redoc.ly" not in bundle
    assert 'alt:"redocly logo",onError:()=>t(!1),src:""' in bundle
