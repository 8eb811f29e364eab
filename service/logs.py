"""Logging: one JSON object per line (or plain text), every record carrying the request id.

The request id is `X-Request-ID` when the client sends a sane one, else generated; it is echoed in the response
(asgi-correlation-id). Run events are logged with `run_id`.
"""

import re
from typing import Any

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def valid_request_id(value: str) -> bool:
    """Accept ids that cannot forge log lines or blow up their size; anything else is replaced."""
    return REQUEST_ID.match(value) is not None


def logging_config(level: str, format_: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn's and the service's loggers."""
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
        }
        if format_ == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "asgi_correlation_id.CorrelationIdFilter", "name": "request_id", "default_value": "-"}
        },
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "service")
        },
    }
