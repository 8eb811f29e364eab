"""Numba's on-disk cache, keyed by the kernels' sources.

Numba keys a cached function by its own source file only, while the whole-run and fused kernels inline functions of
`compiled.py`: after a change there, their cached machine code would still be the old one, on every machine that
kept its cache. `configure()` (called by `compiled`, which every kernel module imports before its first `@njit`)
points Numba's cache at a folder named by the SHA-256 of every source file of this package, so a change to any of
them starts a fresh cache. The base folder is `NUMBA_CACHE_DIR` (the container image sets it and fills it at build
time), else `~/.cache/descent-numba` (`XDG_CACHE_HOME` when set).
"""

import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_configured: list[str] = []


def source_key() -> str:
    """The first 16 hex digits of the SHA-256 of this package's Python sources (names and bytes, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def folder() -> str:
    """Where the kernels' machine code is cached for these sources."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "descent-numba"
    )
    return os.path.join(base, f"kernels-{source_key()}")


def configure() -> str:
    """Point Numba's cache at `folder()` (once per process; before the kernels' modules are compiled)."""
    if not _configured:
        from numba.core import config

        chosen = folder()
        setattr(config, "CACHE_DIR", chosen)  # noqa: B010 (Numba's config module sets its names at run time)
        _configured.append(chosen)
    return _configured[0]
