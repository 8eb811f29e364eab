"""The Chinese page says a 422's error in its own sentence chosen by the error item's `type` (not by the English
wording), with the server's words after it; every type the service documents has a Chinese sentence."""

from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed: dashboard tests skipped")

from playwright.sync_api import Page, expect

from service.errors import ERROR_TYPES
from tests.conftest import COURSE_RUN
from tests.dashboard.conftest import DESKTOP, PHONE, TIMEOUT_MS, Dashboard
from tests.dashboard.test_dashboard import set_field, submit
from tests.live import Server

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser, pytest.mark.live]
expect.set_options(timeout=TIMEOUT_MS)

ONE_CYCLE = {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10, "cycle_momentum": False}

# A bad request, and the Chinese sentence the page says for its (only) error.
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("missing", "/v1/runs", {k: v for k, v in COURSE_RUN.items() if k != "w0"}, "w0：这一项必须填写。"),
    ("greater_than_equal", "/v1/runs", {**COURSE_RUN, "steps": 0}, "steps：请填一个不小于 1 的数。"),
    ("literal_error", "/v1/runs", {**COURSE_RUN, "dtype": "float16"}, "dtype：请从允许的值中选一个。"),
    ("float32_range", "/v1/runs", {**COURSE_RUN, "w0": 1e39}, "w0：请填 ±3.4e38（float32 的范围）以内的数。"),
    (
        "union_tag_invalid",
        "/v1/runs",
        {**COURSE_RUN, "optimizer": {"kind": "adam"}},
        "optimizer.kind：没有 adam 这个类型；GET /v1/catalog 列出了所有类型。",
    ),
    (
        "dimension_mismatch",
        "/v1/runs",
        {**COURSE_RUN, "loss": {"kind": "quadratic", "a": [1, 2]}, "w0": [1, 2, 3]},
        "loss.a：维数对不上；每个维度给一个数，或给一个数用于所有维度。",
    ),
    (
        "invalid_expression",
        "/v1/runs",
        {**COURSE_RUN, "loss": {"kind": "expression", "formula": "(w + 1)**"}},
        "loss.formula：公式无法解析；请检查写法，例如 (w + 1)**2。",
    ),
    (
        "beyond_schedule",
        "/v1/runs",
        {**COURSE_RUN, "schedule": ONE_CYCLE, "steps": 11},
        "steps：步数超过了这个学习率调度所定义的步数；请减少步数或加长调度。",
    ),
    ("limit_exceeded", "/v1/runs", {**COURSE_RUN, "steps": 1_000_001}, "steps：超出了服务器的上限。"),
    (
        "not_sweepable",
        "/v1/sweeps",
        {"base": COURSE_RUN, "axes": [{"path": "loss.kind", "values": [1, 2]}]},
        "axes.0.path：这个参数不能扫描。",
    ),
]

SAY = """async ([items, language]) => {
  const i18n = await import('/static/i18n.js');
  const { problemText } = await import('/static/problems.js');
  if (i18n.language() !== language) throw new Error(`the page is in ${i18n.language()}`);
  return items.map((e) => problemText(e.loc, e.msg, e.type));
}"""


def said(page: Page, items: list[dict[str, Any]], language: str) -> list[str]:
    return list(page.evaluate(SAY, [items, language]))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_chinese_sentence_follows_the_error_type(
    dashboard: Dashboard, server: Server, viewport: tuple[int, int]
) -> None:
    with server.client() as client:
        answers = [client.post(path, json=body).json() for _, path, body, _ in CASES]
    items = [answer["errors"][0] for answer in answers]
    assert [item["type"] for item in items] == [case[0] for case in CASES]
    page = dashboard.open(viewport=viewport, locale="zh-CN")
    expected = [f"{sentence}（服务器原文：{item['msg']}）" for (*_, sentence), item in zip(CASES, items, strict=True)]
    assert said(page, items, "zh-CN") == expected
    # the type decides, not the wording: the same message under another type gets that type's sentence
    reworded = [{**items[1], "type": "limit_exceeded"}, {**items[0], "msg": "Please provide w0."}]
    assert said(page, reworded, "zh-CN") == [
        f"steps：超出了服务器的上限。（服务器原文：{items[1]['msg']}）",
        "w0：这一项必须填写。（服务器原文：Please provide w0.）",
    ]
    english = dashboard.open(viewport=viewport, locale="en-US")  # the English page shows the server's words alone
    assert said(english, items, "en") == [item["msg"] for item in items]


def test_every_documented_type_has_a_chinese_sentence(dashboard: Dashboard) -> None:
    page = dashboard.open(locale="zh-CN")
    other = said(page, [{"loc": ["x"], "msg": "m", "type": "no_such_type"}], "zh-CN")[0]
    assert other == "x：这个值不被接受。（服务器原文：m）"
    items = [{"loc": ["x"], "msg": "m", "type": code} for code in ERROR_TYPES]
    generic = [code for code, text in zip(ERROR_TYPES, said(page, items, "zh-CN"), strict=True) if text == other]
    assert generic == [], f"no Chinese sentence of its own for {generic}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_domain_error_from_run_is_said_by_its_type_beside_its_field(
    dashboard: Dashboard, viewport: tuple[int, int]
) -> None:
    dashboard.allow(r"422")
    page = dashboard.open(viewport=viewport, locale="zh-CN")
    set_field(page, "loss.kind", "expression")
    set_field(page, "loss.formula", "(w + 1)**")
    submit(page)()
    error = page.locator('[data-error-for="loss.formula"]')
    expect(error).to_contain_text("loss.formula：公式无法解析；请检查写法，例如 (w + 1)**2。（服务器原文：")
    expect(page.locator('[name="loss.formula"]')).to_be_focused()
    dashboard.screenshot(page, f"zh-422-type-{viewport[0]}", full_page=False)
