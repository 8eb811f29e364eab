"""Golden fixtures: traces recorded from the real libraries (see README.md). Never a runtime dependency."""
