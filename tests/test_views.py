"""A view's id is its content's: the same JSON object (keys in any order) gets the same 11-character id, and its
canonical JSON reads back as the object."""

import random
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from service.views import ALPHABET, ID_LENGTH, MAX_INTEGER, canonical, view_id

leaves = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_INTEGER, MAX_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(leaves, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=30)
states = st.dictionaries(st.text(), values)


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


@settings(max_examples=60)
@given(states, st.randoms(use_true_random=False))
def test_the_id_depends_on_the_content_not_the_key_order(state: dict[str, Any], rng: random.Random) -> None:
    encoded = canonical(state)
    assert orjson.loads(encoded) == state
    assert canonical(shuffled(state, rng)) == encoded
    ident = view_id(encoded)
    assert len(ident) == ID_LENGTH
    assert set(ident) <= set(ALPHABET)


def test_different_views_get_different_ids() -> None:
    ids = {view_id(canonical({"step": step})) for step in range(10_000)}
    assert len(ids) == 10_000
