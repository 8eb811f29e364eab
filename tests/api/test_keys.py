"""The keys in force: `DESCENT_API_KEYS` plus a key file that is re-read when it changes, at most once a second."""

import os
from pathlib import Path

import pytest

from service.api.keys import KeyFileError, KeyRing, fingerprint, parse


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replace_file(path: Path, text: str) -> None:
    """As the README says to rotate: write a new file, then rename it over the old one (atomic)."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text, "utf-8")
    os.replace(fresh, path)


def test_one_key_per_line_with_comments_and_blank_lines() -> None:
    text = "# rotated 2026-05-01\n  key-one  \n\nkey-two\n   # an indented comment\nkey#three\nkey-one\n"
    assert parse(text) == ("key-one", "key-two", "key#three")  # a `#` inside a key is part of it


def test_keys_from_the_environment_alone_never_touch_a_file() -> None:
    keys = KeyRing(["a", "b"])
    assert keys.required
    assert not keys.due()
    assert keys.refresh() == frozenset()
    assert keys.match("a") == fingerprint("a")
    assert keys.match("c") is None
    assert not KeyRing([]).required


def test_the_file_adds_its_keys_and_a_change_is_seen_within_a_second(tmp_path: Path) -> None:
    path, clock = tmp_path / "keys", Clock()
    path.write_text("file-old\n", "utf-8")
    keys = KeyRing(["env"], str(path), clock=clock)
    assert keys.match("file-old") is None  # nothing read before the first refresh
    assert keys.refresh(strict=True) == frozenset()
    assert keys.fingerprints == {fingerprint("env"), fingerprint("file-old")}
    replace_file(path, "file-new\n")
    clock.now += 0.5
    assert not keys.due()
    assert keys.refresh() == frozenset()  # looked at once a second at most
    assert keys.match("file-old") == fingerprint("file-old")
    clock.now += 0.5
    assert keys.due()
    assert keys.refresh() == {fingerprint("file-old")}  # the removed key's fingerprint, for its sessions
    assert keys.match("file-old") is None
    assert keys.match("file-new") == fingerprint("file-new")
    assert keys.match("env") == fingerprint("env")


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, clock = tmp_path / "keys", Clock()
    path.write_text("k\n", "utf-8")
    keys = KeyRing([], str(path), clock=clock)
    keys.refresh(strict=True)

    def no_reading(*args: object, **kwargs: object) -> None:
        pytest.fail(f"the unchanged file was read again: {args}")

    monkeypatch.setattr("builtins.open", no_reading)
    clock.now += 5
    assert keys.refresh() == frozenset()


def test_a_key_in_both_places_stays_while_either_lists_it(tmp_path: Path) -> None:
    path, clock = tmp_path / "keys", Clock()
    path.write_text("shared\n", "utf-8")
    keys = KeyRing(["shared"], str(path), clock=clock)
    keys.refresh(strict=True)
    replace_file(path, "")
    clock.now += 1
    assert keys.refresh() == frozenset()
    assert keys.match("shared") == fingerprint("shared")


def test_an_empty_key_file_locks_v1_rather_than_opening_it(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# no keys yet\n", "utf-8")
    keys = KeyRing([], str(path))
    keys.refresh(strict=True)
    assert keys.required
    assert keys.fingerprints == frozenset()


def test_an_unreadable_file_stops_a_start_and_later_fails_closed(tmp_path: Path) -> None:
    path, clock = tmp_path / "keys", Clock()
    with pytest.raises(KeyFileError, match="cannot be read"):
        KeyRing([], str(path), clock=clock).refresh(strict=True)
    path.write_text("k\n", "utf-8")
    keys = KeyRing(["env"], str(path), clock=clock)
    keys.refresh(strict=True)
    path.unlink()
    clock.now += 1
    assert keys.refresh() == frozenset()  # not a removal: its sessions are not revoked in the store
    assert keys.match("k") is None  # but the file's keys are no longer accepted
    assert keys.match("env") == fingerprint("env")
    path.write_text("k\n", "utf-8")
    clock.now += 1
    keys.refresh()
    assert keys.match("k") == fingerprint("k")
