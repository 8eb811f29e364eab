"""The HTTP edge, the only package that imports FastAPI and Starlette: thin routers (one module per resource),
typed dependencies (`deps`), domain errors as RFC 9457 problems (`problems`), SSE framing (`sse`), auth and the
session cookie, metrics, the response models for OpenAPI (`schemas`) and the document's touches (`openapi`)."""
