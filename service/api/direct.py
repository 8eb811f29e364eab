"""A route that answers its common request straight from the request, and hands every other one to FastAPI.

FastAPI answers a request by solving the route's dependency tree: for `POST /v1/runs`, 14 solves (the router's
`require_key` with its three security schemes and two state lookups, `json_body`, `Accept-Language`, the query
and header parameters), each with its cache keys, signature checks and parameter models, then the body's
validation through a `TypeAdapter`. For a course run that machinery cost more CPU than computing and storing the
run. A `DirectRoute` tries its `direct` handler first: it reads what the common request carries (a JSON body that
validates, a key in a header or none needed, no query string), and answers it exactly as the route's endpoint
would. Anything else (a session cookie, a body that does not validate, query parameters, a 415) makes `direct`
answer None, and FastAPI's own handling, with the route's and its router's dependencies, answers the request as
if `direct` did not exist: every refusal keeps its one place. The OpenAPI document is the route's, unchanged.
"""

from collections.abc import Awaitable, Callable
from typing import ClassVar, TypeVar

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from service.api.auth import header_access
from service.api.media import is_json

Direct = Callable[[Request], Awaitable[Response | None]]
Model = TypeVar("Model", bound=BaseModel)


class DirectRoute(APIRoute):
    """An `APIRoute` whose handler tries `direct` before FastAPI's (see the module's docstring)."""

    direct: ClassVar[Direct]

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:  # type: ignore[override]
        general = super().get_route_handler()  # with an included router's dependencies, when called for it
        direct = type(self).direct

        async def handler(request: Request) -> Response:
            answered = await direct(request)
            return answered if answered is not None else await general(request)

        return handler


def route(direct: Direct) -> type[DirectRoute]:
    """A `DirectRoute` class for one route (`route_class_override`), trying `direct` first."""
    return type("DirectRoute", (DirectRoute,), {"direct": staticmethod(direct)})


def plain_json(request: Request) -> bool:
    """Whether the request declares a JSON body (`json_body` lets it through)."""
    content_type = request.headers.get("content-type")
    return content_type is not None and is_json(content_type)


async def key_admits(request: Request) -> bool:
    """Whether the request's headers let it in without a thread or the store (`auth.header_access`)."""
    return await header_access(request) is not None


async def body_model(request: Request, model: type[Model]) -> Model | None:
    """The request's JSON body as a valid `model`, or None for FastAPI to read and refuse as it does: a body too
    large or too slow still raises here (its problem comes from `receive`, as it would there)."""
    try:
        body = await request.body()
    except HTTPException:
        raise
    except Exception:  # a client gone mid-body: FastAPI's reading of it decides the answer
        return None
    try:
        # orjson reads only what Python's reader reads alike (UTF-8, no NaN, integers within 64 bits): whatever
        # it refuses, FastAPI reads and answers.
        return model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None
