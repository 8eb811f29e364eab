"""The server's limits as one plain value, derived from `Settings` once and passed to every layer (worker
processes included, which import no Pydantic and never read the environment)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may ask of this server."""

    max_steps: int = 1_000_000
    max_dims: int = 1_000
    max_trace_values: int = 20_000_000
    max_sweep_runs: int = 100_000
    max_sweep_work: int = 500_000_000
    max_run_seconds: float = 300.0
    max_job_bytes: int = 1 << 30
    max_answer_bytes: int = 1 << 30
    inline_run_work: int = 4096
    """A waited run of at most this many step-dimensions ((steps + 1) x dims) is computed in its request."""
    max_view_bytes: int = 65_536
    """Largest saved view, in bytes of its canonical JSON."""
    max_views_per_hour: int = 100
    """Views one client address may save in an hour (a view saved before does not count)."""
    max_views_bytes: int = 256 << 20
    """Bytes every saved view together may hold in the store; beyond, no new view is saved."""
