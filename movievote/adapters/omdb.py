"""OMDb-style JSON (`Title`, `Year`, `Released`, `Genre`, `Plot`, `Poster`, `imdbID`) to MovieData."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from movievote.adapters.base import MovieData, parse_date

_NA = {"", "N/A"}
IMDB_ID = re.compile(r"^tt[0-9]{5,10}$")


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
    """Searches OMDb by title and fetches each result in full (an import of `search`), or
    finds and fetches one movie at a time (an admin's search)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        search: str = "",
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

    async def find(self, query: str) -> list[MovieData]:
        """The first page of OMDb's title search (`s=`): titles, years, posters; no plot nor
        genres (`fetch` brings them). No hit is an empty list."""
        data = await self._get(s=query, type="movie", page=1)
        if data.get("Response") == "False":
            return []
        return [
            self.adapter.to_movie(hit)
            for hit in data.get("Search") or []
            if isinstance(hit, Mapping) and hit.get("imdbID") and hit.get("Title")
        ]

    async def fetch(self, external_id: str) -> MovieData | None:
        """One movie by its IMDb id (`i=`); None if OMDb has none (or the id is not IMDb's)."""
        if not IMDB_ID.match(external_id):
            return None
        full = await self._get(i=external_id, plot="short")
        if full.get("Response") == "False" or not full.get("imdbID"):
            return None
        return self.adapter.to_movie(full)

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
