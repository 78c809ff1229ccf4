"""The one shape every catalogue adapter produces, and the interface they share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class MovieData:
    """A movie as movievote stores it, whatever catalogue it came from: its texts in English
    (the catalogue's default language), and `translations` (language -> (title, overview))
    in the others the catalogue has."""

    source: str
    external_id: str
    title: str
    original_title: str = ""
    release_date: date | None = None
    year: int | None = None
    overview: str = ""
    poster_url: str | None = None
    genres: tuple[str, ...] = field(default_factory=tuple)
    translations: Mapping[str, tuple[str, str]] = field(default_factory=dict, hash=False)


class MovieSource(Protocol):
    """A catalogue that yields movies; `total` is a best guess for progress bars (or None)."""

    name: str

    async def total(self) -> int | None: ...

    def movies(self) -> AsyncIterator[MovieData]: ...


class MovieSearch(Protocol):
    """A catalogue an admin searches by title and adds movies from, one at a time."""

    name: str

    async def find(self, query: str) -> list[MovieData]:
        """The first page of hits for a title (their texts may be partial: a hit is added
        through `fetch`)."""
        ...

    async def fetch(self, external_id: str) -> MovieData | None:
        """One movie in full, or None if the catalogue has no movie with this id."""
        ...


def parse_date(text: str | None) -> date | None:
    """An ISO date, or None for the blanks and 'N/A's external APIs send."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
