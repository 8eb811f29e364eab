"""Typed dependencies: what a route needs, taken from the app's state once, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends, Request

from service.api.keys import KeyRing
from service.api.metrics import Metrics
from service.api.sse import ClientStreams
from service.config import Settings
from service.limits import Limits
from service.runs.lifecycle import Lifecycle
from service.store.base import RunStore


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


async def _lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle = request.app.state.lifecycle
    return lifecycle


async def _store(request: Request) -> RunStore:
    store: RunStore = request.app.state.lifecycle.store
    return store


async def _keys(request: Request) -> KeyRing:
    keys: KeyRing = request.app.state.keys
    return keys


async def _streams(request: Request) -> ClientStreams:
    streams: ClientStreams = request.app.state.streams
    return streams


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _client(request: Request) -> str:
    """The client's address: the connection's peer, or behind a proxy listed in DESCENT_FORWARDED_ALLOW_IPS, the
    address that proxy reports in X-Forwarded-For."""
    return client_of(request)


def client_of(request: Request) -> str:
    """`_client` as a plain function, for a route that reads the request itself."""
    return request.client.host if request.client else "unknown"


class Edge:
    """What `POST /v1/runs` needs from the app's state, read straight from the request: one `Depends` per piece
    costs FastAPI tens of microseconds a request, several times the route's own work on a tiny run."""

    __slots__ = ("client", "lifecycle", "limits", "metrics", "streams")

    def __init__(self, request: Request) -> None:
        state = request.app.state
        self.lifecycle: Lifecycle = state.lifecycle
        self.limits: Limits = state.limits
        self.streams: ClientStreams = state.streams
        self.metrics: Metrics = state.metrics
        self.client = client_of(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
LimitsDep = Annotated[Limits, Depends(_limits)]
LifecycleDep = Annotated[Lifecycle, Depends(_lifecycle)]
StoreDep = Annotated[RunStore, Depends(_store)]
KeysDep = Annotated[KeyRing, Depends(_keys)]
StreamsDep = Annotated[ClientStreams, Depends(_streams)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
ClientDep = Annotated[str, Depends(_client)]


async def _stream_slot(streams: StreamsDep, client: ClientDep) -> None:
    """429 before a stream starts when this client already has its maximum of open streams."""
    streams.check(client)


StreamSlot = Annotated[None, Depends(_stream_slot)]
