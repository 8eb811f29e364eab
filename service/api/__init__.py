"""The HTTP edge: Pydantic schemas, routers, the adapter to the engine and problem responses."""
