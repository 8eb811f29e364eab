"""Settings, read from `DESCENT_*` environment variables; every limit has a safe default."""

import os
import resource
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.limits import Limits


def _connection_limit() -> int:
    """1000, or less where the process may open fewer files: a connection is one, and the store, the log and the
    worker processes' pipes need some (about 100 to spare)."""
    files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1000 if files == resource.RLIM_INFINITY else max(1, min(1000, files - 100))


class Settings(BaseSettings):
    """The service's configuration. Each field is the environment variable `DESCENT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="DESCENT_", frozen=True, extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    workers: int = Field(1, ge=1, description="uvicorn worker processes.")
    store_path: str = Field(
        "data/descent.sqlite3", description="SQLite file holding the runs; ':memory:' keeps them in memory only."
    )
    store_url: str = Field(
        "",
        description="Database holding the runs instead of the SQLite file, as postgresql://user:pass@host:port/db;"
        " empty: the SQLite file (DESCENT_STORE_PATH).",
    )
    max_steps: int = Field(1_000_000, ge=1, description="Largest `steps` a run may ask for.")
    max_dims: int = Field(1_000, ge=1, description="Largest number of dimensions of `w0`.")
    max_trace_values: int = Field(
        20_000_000, ge=1, description="Largest number of numbers a run may record (rows x (2 x dims + 2))."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body, in bytes.")
    max_sweep_runs: int = Field(100_000, ge=1, description="Largest number of grid points of a sweep.")
    max_sweep_work: int = Field(
        500_000_000, ge=1, description="Largest sweep in run-steps (grid points x (steps + 1) x dims)."
    )
    max_concurrent_runs: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Runs computed at the same time."
    )
    max_queued_runs: int = Field(64, ge=0, description="Runs waiting for a free slot before new ones get 429.")
    executor: Literal["process", "thread"] = Field(
        "process", description="Where runs execute: worker processes (default) or threads (tests, in-memory store)."
    )
    worker_nice: int = Field(
        10, ge=0, le=19, description="How much lower the CPU priority of worker processes is than the server's."
    )
    max_streams_per_client: int = Field(16, ge=1, description="Event streams one client address may hold open.")
    stream_poll_ms: int = Field(
        50,
        ge=5,
        description="How often a live stream (or a free worker) looks for new rows (or queued jobs) on SQLite. On "
        "PostgreSQL followers are woken by LISTEN/NOTIFY and look only every 20 x this without one.",
    )
    inline_run_work: int = Field(
        4096,
        ge=0,
        description="A waited run of at most this many step-dimensions ((steps + 1) x dims) is computed in the "
        "request itself and stored finished in one transaction, without a worker process; bigger runs (and "
        "streamed or background ones) go through the pool. 0: every run goes through the pool.",
    )
    lease_seconds: float = Field(
        10.0,
        ge=1,
        description="Lease of a queued or running job held by a server process, renewed by its heartbeat 5 times a "
        "lease; once it runs out (the process died or lost the database) any replica fails the job, rows kept.",
    )
    shutdown_timeout: int = Field(
        5, ge=0, description="Seconds SIGTERM waits for open requests and streams before closing them."
    )
    max_run_seconds: float = Field(
        300.0,
        gt=0,
        description="Wall-clock budget of one run or sweep in a worker; past it the job ends failed, rows kept.",
    )
    max_job_memory_mb: int = Field(
        1024,
        ge=16,
        description="Estimated memory one job (run, sweep, landscape) may need, its answer included; beyond: 422.",
    )
    max_answer_memory_mb: int = Field(
        1024,
        ge=16,
        description="Estimated memory the run answers being read and sent at once may hold (big stored traces); "
        "beyond it a read waits a moment, then gets 429.",
    )
    max_view_bytes: int = Field(
        65_536,
        ge=1024,
        description="Largest saved dashboard view (POST /v1/views), in bytes of its canonical JSON; beyond: 422.",
    )
    max_views_per_hour: int = Field(
        100,
        ge=1,
        description="Views one client address may save per hour (saving a view already stored does not count); "
        "beyond: 429 with Retry-After.",
    )
    max_views_mb: int = Field(
        256,
        ge=1,
        description="Megabytes every saved view together may hold in the store; beyond, new views get 507 (views are "
        "immutable and kept: raise this, or delete rows of the views table).",
    )
    dask_scheduler: str = Field(
        "",
        description="Address of a Dask scheduler (tcp://host:port): sweeps then run as shards of grid points on its "
        "workers (raise max_sweep_runs, max_sweep_work and max_job_memory_mb to use them). Empty: the local pool.",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated API keys; when set, every /v1 route requires one. Empty: no authentication.",
    )
    api_keys_file: str | None = Field(
        None,
        description="A file of API keys, one per line (lines starting with # are comments), accepted besides "
        "api_keys and re-read within a second of a change: keys rotate without a restart, and a key taken out "
        "ends its sessions. When set, every /v1 route requires a key, even while the file lists none.",
    )
    session_seconds: int = Field(
        8 * 3600,
        ge=1,
        description="Lifetime of a browser session (POST /v1/session), in seconds. Default 8 hours: a working day "
        "or a class period, so a dashboard signs in once a day and a forgotten session ends that night.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS; empty (default): CORS off."
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or networks (or '*') of the proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty (default): none, the client is the peer of the connection.",
    )
    keep_alive_timeout: int = Field(
        5,
        ge=1,
        description="Seconds a connection may stay idle, before its first request as after each response, before it "
        "is closed.",
    )
    header_timeout: int = Field(
        10,
        ge=1,
        description="Seconds a request's header block may take to arrive once it has begun, before the "
        "connection is closed.",
    )
    body_timeout: int = Field(
        10, ge=1, description="Seconds a request body may pause between two of its chunks, before it gets 408."
    )
    max_connections: int = Field(
        default_factory=_connection_limit,
        ge=1,
        description="Open connections (idle ones included) or requests in progress beyond which a request gets 503 "
        "at once; default 1000, or the open-file limit less 100 if that is lower.",
    )
    log_format: Literal["json", "text"] = Field("json", description="Log lines as JSON objects or plain text.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field("info", description="Log level.")

    @field_validator("api_keys", "cors_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def limits(self) -> Limits:
        """The limits every layer checks, as one plain value."""
        return Limits(
            max_steps=self.max_steps,
            max_dims=self.max_dims,
            max_trace_values=self.max_trace_values,
            max_sweep_runs=self.max_sweep_runs,
            max_sweep_work=self.max_sweep_work,
            max_run_seconds=self.max_run_seconds,
            max_job_bytes=self.max_job_memory_mb << 20,
            max_answer_bytes=self.max_answer_memory_mb << 20,
            inline_run_work=self.inline_run_work,
            max_view_bytes=self.max_view_bytes,
            max_views_per_hour=self.max_views_per_hour,
            max_views_bytes=self.max_views_mb << 20,
        )
