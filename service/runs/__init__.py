"""The application layer: the lifecycle of every job (runs, sweeps, range tests, landscapes). Admission, the
bounded worker pool, executing a stored job, ownership and recovery, events read back from the store. No web
stack here; the worker side (`worker`, `job`) imports neither Pydantic nor pyarrow."""
