"""`python -m service.engine.kernels --warm`: compile every kernel into Numba's cache (`NUMBA_CACHE_DIR`), as the
container image does at build time, and say how long it took."""

import argparse
import time

from service.engine import kernels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.engine.kernels", description=__doc__)
    parser.add_argument("--warm", action="store_true", help="compile (or load) every kernel now")
    arguments = parser.parse_args(argv)
    if not arguments.warm:
        parser.error("nothing to do: give --warm")
    start = time.perf_counter()
    kernels.warm()
    print(f"kernels ready in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
