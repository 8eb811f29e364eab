"""Saved dashboard views: a short id for a view too long to share in a URL.

A view is a JSON object the dashboard defines (its runs, hidden runs, scales, zooms, open tab, step); the server
keeps it opaque. It is stored once as canonical JSON (keys sorted, no spaces, UTF-8), and its id is derived from
those bytes (the first 64 bits of their SHA-256, in base 62): the same view always gets the same id, so saving it
twice stores it once, and a view never changes once saved. Three bounds keep a client from filling the disk: the
size of one view, the views one client address saves per hour, and the bytes all views together hold.
"""

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

import orjson

from service.errors import Busy, InvalidSpec, LimitExceeded, Loc, NotFound, StoreFull
from service.limits import Limits
from service.store.base import ViewRecord, ViewStore

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 11
"""64 bits in base 62 take 11 characters (62**11 > 2**64)."""
ID_PATTERN = f"^[0-9A-Za-z]{{{ID_LENGTH}}}$"
MAX_DEPTH = 32
"""Nesting deeper than this is no dashboard's view (and would only cost the server recursion)."""
MAX_INTEGER = 2**53 - 1
"""Integers beyond JavaScript's exact range would not read back in the page as they were written."""
HOUR = 3600.0


@dataclass(frozen=True)
class SavedView:
    """A stored view: `created` is False when the same view had been saved before (nothing new was stored)."""

    id: str
    state: dict[str, Any]
    created_at: float
    created: bool = False


def canonical(state: dict[str, Any]) -> bytes:
    """The view's canonical JSON; InvalidSpec (at `state.<path>`) for what JSON cannot carry faithfully: a
    non-finite number, an integer beyond ±(2**53 - 1), nesting deeper than MAX_DEPTH."""
    _check(state, ["state"], 0)
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)


def _check(value: Any, loc: Loc, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidSpec([(loc, f"The view nests deeper than {MAX_DEPTH} levels; flatten it.", "invalid_view")])
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise InvalidSpec(
                [(loc, f"Give an integer within ±{MAX_INTEGER} (what a browser reads exactly).", "invalid_view")]
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidSpec([(loc, "Give a finite number: JSON carries no NaN or Infinity.", "invalid_view")])
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(item, [*loc, key], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, [*loc, index], depth + 1)
    else:  # pragma: no cover - a parsed JSON body holds nothing else
        raise InvalidSpec([(loc, f"A view holds JSON values only, not {type(value).__name__}.", "invalid_view")])


def view_id(state: bytes) -> str:
    """The id of a view's canonical JSON: its SHA-256's first 64 bits in base 62, ID_LENGTH characters."""
    number = int.from_bytes(hashlib.sha256(state).digest()[:8], "big")
    digits = []
    for _ in range(ID_LENGTH):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def creator_of(client: str) -> str:
    """What the store keeps of the client that saves a view (for its hourly quota): a digest, not the address."""
    return hashlib.sha256(f"descent-view-creator:{client}".encode()).hexdigest()


def save_view(store: ViewStore, state: dict[str, Any], client: str, limits: Limits) -> SavedView:
    """Store a view (blocking: call in a thread) and answer it with its id; a view stored before is answered as it
    is, whatever the quotas. Raises LimitExceeded for a view above `max_view_bytes`, Busy when the client saved
    `max_views_per_hour` views in the last hour, StoreFull when the views would pass `max_views_bytes`.

    The quotas are read, then the view written, in two steps: servers saving views for one client at the same
    instant may each pass the hourly quota once (it bounds a client, not a race)."""
    encoded = canonical(state)
    if len(encoded) > limits.max_view_bytes:
        raise LimitExceeded(
            [
                (
                    ["state"],
                    f"The view is {len(encoded):,} bytes as compact JSON, more than this server keeps "
                    f"({limits.max_view_bytes:,}, DESCENT_MAX_VIEW_BYTES); share fewer runs, or the URL itself.",
                )
            ]
        )
    ident = view_id(encoded)
    stored = store.get_view(ident)
    if stored is not None:
        return _saved(_same(stored, encoded), created=False)
    now = time.time()
    creator = creator_of(client)
    usage = store.view_usage(creator, now - HOUR)
    if usage.recent >= limits.max_views_per_hour:
        oldest = usage.oldest_recent if usage.oldest_recent is not None else now
        raise Busy(
            f"This client saved {usage.recent} views in the last hour, the most this server keeps "
            f"(DESCENT_MAX_VIEWS_PER_HOUR); a view saved before can still be shared.",
            retry_after=max(1, math.ceil(oldest + HOUR - now)),
        )
    if usage.total_bytes + len(encoded) > limits.max_views_bytes:
        raise StoreFull(
            f"The saved views fill the room this server keeps for them ({limits.max_views_bytes >> 20} MB, "
            "DESCENT_MAX_VIEWS_MB); share the URL itself, or ask the operator to raise it."
        )
    record = ViewRecord(ident, encoded, creator, now)
    if store.insert_view(record):
        return _saved(record, created=True)
    raced = store.get_view(ident)  # saved by another request in between
    assert raced is not None, "a view that was there a moment ago is gone: views are never deleted"
    return _saved(_same(raced, encoded), created=False)


def _same(stored: ViewRecord, encoded: bytes) -> ViewRecord:
    """The stored view, checked to be this one: two views with one id (a 64-bit collision) are refused, not mixed."""
    if stored.state != encoded:
        raise InvalidSpec(
            [(["state"], "Another view has this view's id; change anything in it and save it again.", "id_taken")]
        )
    return stored


def load_view(store: ViewStore, ident: str) -> SavedView:
    """The view saved under this id (blocking: call in a thread); NotFound when there is none."""
    stored = store.get_view(ident)
    if stored is None:
        raise NotFound("No view has this id: it was never saved on this server (or its store was replaced).")
    return _saved(stored)


def _saved(record: ViewRecord, created: bool = False) -> SavedView:
    return SavedView(record.id, orjson.loads(record.state), record.created_at, created)
