"""OMDb-style JSON (`Title`, `Year`, `Released`, `Genre`, `Plot`, `Poster`, `imdbID`) to MovieData."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from movievote.adapters.base import MovieData, parse_date

_NA = {"", "N/A"}


def _released(text: str | None) -> Any:
    if not text or text in _NA:
        return None
    try:
        return datetime.strptime(text, "%d %b %Y").date()  # OMDb writes "14 Mar 1972"
    except ValueError:
        return parse_date(text)


class OmdbAdapter:
    """Translates OMDb movie objects; `N/A` becomes empty."""

    source = "omdb"

    def to_movie(self, raw: Mapping[str, Any]) -> MovieData:
        released = _released(raw.get("Released"))
        year_match = re.match(r"\d{4}", str(raw.get("Year") or ""))
        year = released.year if released else (int(year_match[0]) if year_match else None)
        poster = str(raw.get("Poster") or "")
        plot = str(raw.get("Plot") or "")
        genres = str(raw.get("Genre") or "")
        return MovieData(
            source=self.source,
            external_id=str(raw["imdbID"]),
            title=str(raw["Title"]).strip(),
            original_title=str(raw["Title"]).strip(),
            release_date=released,
            year=year,
            overview="" if plot in _NA else plot.strip(),
            poster_url=None if poster in _NA else poster,
            genres=tuple(g.strip() for g in genres.split(",") if g.strip() and genres not in _NA),
        )


class OmdbClient:
    """Searches OMDb by title and fetches each result in full."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        search: str,
        max_pages: int = 3,
    ) -> None:
        self.name = "omdb"
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.search = search
        self.max_pages = max_pages
        self.adapter = OmdbAdapter()

    async def _get(self, **params: Any) -> dict[str, Any]:
        response = await self.http.get(
            f"{self.base_url}/", params={"apikey": self.api_key, **params}
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def total(self) -> int | None:
        data = await self._get(s=self.search, type="movie", page=1)
        return min(int(data.get("totalResults") or 0), self.max_pages * 10)

    async def movies(self) -> AsyncIterator[MovieData]:
        for page in range(1, self.max_pages + 1):
            data = await self._get(s=self.search, type="movie", page=page)
            if data.get("Response") == "False":
                return
            for hit in data.get("Search") or []:
                full = await self._get(i=hit["imdbID"], plot="short")
                if full.get("Response") != "False":
                    yield self.adapter.to_movie(full)
