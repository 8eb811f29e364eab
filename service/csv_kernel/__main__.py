"""`python -m service.csv_kernel --warm`: compile the CSV writer into Numba's cache (`NUMBA_CACHE_DIR`), as
`make install` and the container image do, and say how long it took."""

import argparse
import time

from service import csv_kernel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.csv_kernel", description=__doc__)
    parser.add_argument("--warm", action="store_true", help="compile (or load) the CSV writer now")
    arguments = parser.parse_args(argv)
    if not arguments.warm:
        parser.error("nothing to do: give --warm")
    start = time.perf_counter()
    csv_kernel.warm()
    print(f"CSV writer ready in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
