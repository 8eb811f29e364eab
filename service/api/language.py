"""The language of the words in an answer: `Accept-Language` picks English (the default) or Chinese (zh-CN) for a
run's `summary.explanation`; the numbers, verdicts and field names never change."""

import dataclasses
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header

from service.engine.wording import language_of, translate
from service.runs.events import Event


async def _language(
    accept_language: Annotated[
        str | None,
        Header(
            alias="Accept-Language",
            description="`zh-CN` (or any `zh`) for the explanation in Chinese; English otherwise (the default).",
        ),
    ] = None,
) -> str:
    return language_of(accept_language)


LanguageDep = Annotated[str, Depends(_language)]


def localized(document: dict[str, Any], language: str) -> dict[str, Any]:
    """The run document (or event data) with its summary's explanation in `language`; the rest unchanged."""
    summary = document.get("summary")
    if language == "en" or not isinstance(summary, dict) or not isinstance(summary.get("explanation"), str):
        return document
    return {**document, "summary": {**summary, "explanation": translate(summary["explanation"], language)}}


async def localized_events(events: AsyncIterator[Event], language: str) -> AsyncIterator[Event]:
    """The `run` and `end` events with their explanation in `language`."""
    async for event in events:
        if language != "en" and event.name in ("run", "end") and isinstance(event.data, dict):
            event = dataclasses.replace(event, data=localized(event.data, language))
        yield event
