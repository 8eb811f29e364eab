"""The configured API keys: `DESCENT_API_KEYS`, plus the lines of `DESCENT_API_KEYS_FILE`, which is re-read when it
changes (looked at no more than once a second), so keys rotate without a restart.

Keys never leave this module except as fingerprints (their SHA-256), which is what sessions record.
"""

import hashlib
import hmac
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence

logger = logging.getLogger("service.api.keys")

CHECK_SECONDS = 1.0
"""How often, at most, the key file's modification time is looked at."""


def fingerprint(key: str) -> str:
    """What a session records of the key that started it: its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse(text: str) -> tuple[str, ...]:
    """One key per line, surrounding spaces ignored; blank lines and lines starting with `#` are skipped. (A `#`
    later in a line is part of the key: cutting a key short there would silently weaken it.)"""
    lines = (line.strip() for line in text.splitlines())
    return tuple(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


class KeyFileError(RuntimeError):
    """The key file cannot be read (at startup, this stops the server: a typo must not open it)."""


Signature = tuple[int, int, int]
"""What says that the file changed: its modification time (ns), size and inode (a rename puts a new one in place)."""


class KeyRing:
    """The keys in force. `refresh` (blocking: run it in a thread) re-reads the file when it changed."""

    def __init__(
        self,
        keys: Sequence[str],
        path: str | None = None,
        check_seconds: float = CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fixed = tuple(dict.fromkeys(keys))
        self._path = path or None
        self._check_seconds, self._clock = check_seconds, clock
        self._lock = threading.Lock()
        self._checked = -math.inf
        self._signature: Signature | None = None
        self._set(())

    @property
    def required(self) -> bool:
        """Whether /v1 needs a key: keys are configured, or a key file is (even while it lists none)."""
        return bool(self._fixed) or self._path is not None

    @property
    def fingerprints(self) -> frozenset[str]:
        """The fingerprints of the keys in force."""
        return self._state[1]

    def match(self, candidate: str) -> str | None:
        """The fingerprint of `candidate` when it is a key in force, else None; the time taken does not depend on
        which key (if any) matched."""
        keys, found = self._state[0], False
        for key in keys:  # no early exit
            found |= hmac.compare_digest(candidate.encode(), key.encode())
        return fingerprint(candidate) if found else None

    def due(self) -> bool:
        """Whether `refresh` would look at the file now (there is one, and the last look is a second old)."""
        return self._path is not None and self._clock() - self._checked >= self._check_seconds

    def refresh(self, strict: bool = False) -> frozenset[str]:
        """Look at the file when due; re-read it when its signature changed. Answers the fingerprints of the keys
        this re-read took away. An unreadable file leaves only `DESCENT_API_KEYS` in force (it fails closed) and,
        when `strict` (at startup), raises `KeyFileError`."""
        if self._path is None:
            return frozenset()
        with self._lock:
            if not strict and not self.due():
                return frozenset()
            self._checked = self._clock()
            try:
                status = os.stat(self._path)
                signature = (status.st_mtime_ns, status.st_size, status.st_ino)
                if signature == self._signature:
                    return frozenset()
                with open(self._path, encoding="utf-8") as file:
                    keys = parse(file.read())
            except (OSError, UnicodeDecodeError) as error:
                if strict:
                    raise KeyFileError(f"DESCENT_API_KEYS_FILE {self._path!r} cannot be read: {error}") from error
                if self._signature is not None:
                    logger.error(
                        "the API key file cannot be read; only DESCENT_API_KEYS are accepted until it can",
                        extra={"path": self._path, "error": str(error)},
                    )
                self._signature = None
                self._set(())
                return frozenset()
            before = self.fingerprints
            self._signature = signature
            self._set(keys)
            removed = before - self.fingerprints
            logger.info(
                "API key file read",
                extra={"path": self._path, "file_keys": len(keys), "keys_removed": len(removed)},
            )
            return removed

    def _set(self, file_keys: tuple[str, ...]) -> None:
        keys = tuple(dict.fromkeys(self._fixed + file_keys))
        self._state = (keys, frozenset(fingerprint(key) for key in keys))  # one assignment: readers see old or new
