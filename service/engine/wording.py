"""The explanations of `analysis.explain` in the other language a client may ask for: Chinese (zh-CN), the course's.

A run's explanation is written once, in English, when it finishes (it is stored with the summary); a client that
asks for Chinese (`Accept-Language: zh-CN`) gets the same sentence translated here, phrase by phrase, with every
number as written. Each pattern below mirrors one sentence of `explain` and `_rate_phrase`; a sentence no pattern
knows is answered in English rather than guessed at.
"""

import re
from collections.abc import Callable

LANGUAGES = ("en", "zh-CN")

N = r"(?P<{}>[^\s(),;]+(?: [^\s(),;]+)*?)"  # a number as `_g` or `_w` writes it ("36", "-1", "[1, 2]", "none")


def _n(name: str) -> str:
    return N.format(name)


def _vec(name: str) -> str:
    return rf"(?P<{name}>\[[^\]]*\]|[^\s(),;]+)"


_RATE: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            rf"^rate between {_n('low')} and {_n('high')}, {_n('first')} at the start and {_n('last')} at the end$"
        ),
        "学习率在 {low} 和 {high} 之间变化，开始时为 {first}，结束时为 {last}",
    ),
    (
        re.compile(rf"^rate {_n('first')} rising to {_n('high')}, then down to {_n('last')}$"),
        "学习率从 {first} 上升到 {high}，再降到 {last}",
    ),
    (re.compile(rf"^rate {_n('first')} decaying to {_n('last')}$"), "学习率从 {first} 衰减到 {last}"),
    (re.compile(rf"^rate {_n('first')} rising to {_n('last')}$"), "学习率从 {first} 上升到 {last}"),
    (re.compile(rf"^rate {_n('first')}$"), "学习率 {first}"),
]
_LIMIT = re.compile(r"^(?P<rate>.*); constant rates below (?P<limit>\S+) converge on this loss$")


def _rate(text: str) -> str | None:
    """'rate 0.1 decaying to 0.0669', with an optional '; constant rates below 1 converge on this loss'."""
    limit = ""
    if match := _LIMIT.match(text):
        text, limit = match["rate"], f"；在这个损失上，小于 {match['limit']} 的常数学习率会收敛"
    for pattern, template in _RATE:
        if match := pattern.match(text):
            return template.format(**match.groupdict()) + limit
    return None


def _slow(m: re.Match[str]) -> str | None:
    rest = m["rest"]
    bounce = ""
    if rest.startswith(", w bouncing across the minimum with slowly shrinking swings"):
        bounce = "，w 在最小值两侧来回跳，摆幅缓慢缩小"
        rest = rest.removeprefix(", w bouncing across the minimum with slowly shrinking swings")
    pace = ""
    if pace_match := re.match(r"^; at this pace it needs about (?P<more>[\d,]+) more steps", rest):
        pace = f"；按这个速度还需要大约 {pace_match['more']} 步"
        rest = rest[pace_match.end() :]
    if rest:
        return None
    return f"太慢：{m['steps']} 步之后损失只从 {m['loss0']} 降到 {m['loss_n']}{bounce}{pace}（{{rate}}）。"


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]]
_SENTENCES: list[Rule] = [
    (
        re.compile(
            rf"^Converged: the loss fell from {_n('loss0')} to {_n('loss_n')} and w settled at {_vec('w')} "
            rf"by step (?P<k>\d+) \((?P<rate>.*)\)\.$"
        ),
        lambda m: f"收敛：损失从 {m['loss0']} 降到 {m['loss_n']}，w 在第 {m['k']} 步稳定在 {m['w']}（{{rate}}）。",
    ),
    (
        re.compile(
            rf"^Oscillating: w bounces between {_vec('low')} and {_vec('high')} without settling and the loss stays "
            rf"near {_n('loss')} \((?P<rate>.*), at the edge of stability(?P<limit>.*)\)\.$"
        ),
        lambda m: (
            f"振荡：w 在 {m['low']} 和 {m['high']} 之间来回跳，始终不稳定，损失一直在 {m['loss']} 附近"
            f"（{{rate}}，处在稳定边界上{{limit}}）。"
        ),
    ),
    (
        re.compile(
            rf"^Diverged: the values overflowed at step (?P<k>\d+); the last finite loss was {_n('loss_n')} at step "
            rf"(?P<steps>-?\d+), from {_n('loss0')} at the start \((?P<rate>.*)\)\.$"
        ),
        lambda m: (
            f"发散：数值在第 {m['k']} 步溢出；最后一个有限的损失是第 {m['steps']} 步的 {m['loss_n']}，"
            f"开始时是 {m['loss0']}（{{rate}}）。"
        ),
    ),
    (
        re.compile(
            rf"^Diverged: the loss grew from {_n('loss0')} to {_n('loss_n')} and keeps growing, each step "
            rf"overshooting the minimum further \((?P<rate>.*)\)\.$"
        ),
        lambda m: (
            f"发散：损失从 {m['loss0']} 增长到 {m['loss_n']} 并且还在增长，每一步都更远地冲过最小值（{{rate}}）。"
        ),
    ),
    (
        re.compile(
            rf"^Slow: after (?P<steps>\d+) steps the loss only fell from {_n('loss0')} to {_n('loss_n')}"
            rf"(?P<rest>.*?) \((?P<rate>[^()]*)\)\.$"
        ),
        _slow,
    ),
    (
        re.compile(
            rf"^Unbounded: this loss has no minimum, and the loss keeps falling, "
            rf"from {_n('loss0')} to {_n('loss_n')}\.$"
        ),
        lambda m: f"无下界：这个损失没有最小值，损失一直在下降，从 {m['loss0']} 降到 {m['loss_n']}。",
    ),
    (
        re.compile(
            rf"^Stalled: w stopped moving at {_vec('w')}, where the loss is {_n('loss')} and the gradient is not zero "
            rf"\((?P<rate>.*)\)\.$"
        ),
        lambda m: f"停滞：w 停在 {m['w']}，这里的损失是 {m['loss']}，梯度并不为零（{{rate}}）。",
    ),
]


def language_of(accept_language: str | None) -> str:
    """The language to answer in, from an Accept-Language header: zh-CN when a Chinese tag ranks above every
    English one (by quality value, then order), else English."""
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        code = (
            "zh-CN" if tag == "zh" or tag.startswith("zh-") else "en" if tag == "en" or tag.startswith("en-") else None
        )
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if code and q > best_q:
            best, best_q = code, q
    return best


def translate(explanation: str, language: str) -> str:
    """The explanation in `language` (en or zh-CN); English when the sentence is not one `explain` writes."""
    if language != "zh-CN":
        return explanation
    for pattern, build in _SENTENCES:
        match = pattern.match(explanation)
        if not match:
            continue
        sentence = build(match)
        groups = match.groupdict()
        rate = _rate(groups["rate"]) if "rate" in groups else ""
        limit = ""
        if groups.get("limit"):
            limit_match = re.match(r"^; constant rates below (?P<limit>\S+) converge on this loss$", groups["limit"])
            if not limit_match:
                return explanation
            limit = f"；在这个损失上，小于 {limit_match['limit']} 的常数学习率会收敛"
        if sentence is None or rate is None:
            return explanation
        return sentence.replace("{rate}", rate).replace("{limit}", limit)
    return explanation
