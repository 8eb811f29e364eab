"""The request contract: Pydantic models of specs and kinds (no FastAPI), their human error messages, building
engine objects from a spec, and the server's limits. Nothing here imports the web stack."""
