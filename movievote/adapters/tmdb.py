"""TMDB v3: its movie JSON to MovieData, and a client for its API (or a file in its format)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from movievote.adapters.base import MovieData, parse_date


class TmdbAdapter:
    """Translates TMDB v3 movie objects (`genre_ids` resolved through the genre list)."""

    def __init__(self, *, genres: Mapping[int, str], image_base_url: str, source: str = "tmdb"):
        self.genres = dict(genres)
        self.image_base_url = image_base_url.rstrip("/")
        self.source = source

    @staticmethod
    def genre_map(genre_list: list[dict[str, Any]]) -> dict[int, str]:
        return {int(g["id"]): str(g["name"]) for g in genre_list}

    def to_movie(self, raw: Mapping[str, Any]) -> MovieData:
        released = parse_date(raw.get("release_date"))
        poster = raw.get("poster_path")
        ids = raw.get("genre_ids") or [g["id"] for g in raw.get("genres") or []]
        return MovieData(
            source=self.source,
            external_id=str(raw["id"]),
            title=str(raw["title"]).strip(),
            original_title=str(raw.get("original_title") or raw["title"]).strip(),
            release_date=released,
            year=released.year if released else None,
            overview=str(raw.get("overview") or "").strip(),
            poster_url=f"{self.image_base_url}/{poster.lstrip('/')}" if poster else None,
            genres=tuple(self.genres[i] for i in ids if i in self.genres),
        )


class TmdbClient:
    """Pages through TMDB's `/discover/movie` with an API key (v3 `api_key` or a v4 bearer)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        image_base_url: str,
        max_pages: int = 5,
    ) -> None:
        self.name = "tmdb"
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.image_base_url = image_base_url
        self.max_pages = max_pages
        self._first: dict[str, Any] | None = None

    async def _get(self, path: str, **params: Any) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if self.api_key.startswith("ey"):  # a v4 read access token
            headers["Authorization"] = f"Bearer {self.api_key}"
        else:
            params["api_key"] = self.api_key
        response = await self.http.get(f"{self.base_url}{path}", params=params, headers=headers)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def _page(self, page: int) -> dict[str, Any]:
        if page == 1 and self._first is not None:
            return self._first
        data = await self._get("/discover/movie", page=page, sort_by="popularity.desc")
        if page == 1:
            self._first = data
        return data

    async def total(self) -> int | None:
        first = await self._page(1)
        pages = min(int(first.get("total_pages") or 1), self.max_pages)
        return min(int(first.get("total_results") or 0), pages * len(first.get("results") or []))

    async def movies(self) -> AsyncIterator[MovieData]:
        genres = (await self._get("/genre/movie/list")).get("genres", [])
        adapter = TmdbAdapter(
            genres=TmdbAdapter.genre_map(genres), image_base_url=self.image_base_url
        )
        page, last = 1, 1
        while page <= min(last, self.max_pages):
            data = await self._page(page)
            last = int(data.get("total_pages") or 1)
            for raw in data.get("results") or []:
                yield adapter.to_movie(raw)
            page += 1


class TmdbFile:
    """A JSON file in TMDB's format: `{"genres": [...], "results": [...]}` (optional `source`)."""

    def __init__(self, path: Path, *, image_base_url: str) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.name = str(self.data.get("source") or "tmdb")
        self.adapter = TmdbAdapter(
            genres=TmdbAdapter.genre_map(self.data.get("genres", [])),
            image_base_url=image_base_url,
            source=self.name,
        )

    async def total(self) -> int | None:
        return len(self.data.get("results", []))

    async def movies(self) -> AsyncIterator[MovieData]:
        for raw in self.data.get("results", []):
            yield self.adapter.to_movie(raw)
