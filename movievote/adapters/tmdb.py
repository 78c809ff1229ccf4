"""TMDB v3: its movie JSON to MovieData, and a client for its API (or a file in its format)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from movievote.adapters.base import MovieData, parse_date
from movievote.languages import DEFAULT_LANGUAGE

TMDB_ID = re.compile(r"^[0-9]{1,10}$")


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
        """A movie object; its `translations` (ours, not TMDB's: `{"pt-BR": {"title": ...,
        "overview": ...}}`) with an empty text falling back to the English one."""
        released = parse_date(raw.get("release_date"))
        poster = raw.get("poster_path")
        ids = raw.get("genre_ids") or [g["id"] for g in raw.get("genres") or []]
        title = str(raw["title"]).strip()
        overview = str(raw.get("overview") or "").strip()
        return MovieData(
            source=self.source,
            external_id=str(raw["id"]),
            title=title,
            original_title=str(raw.get("original_title") or raw["title"]).strip(),
            release_date=released,
            year=released.year if released else None,
            overview=overview,
            poster_url=f"{self.image_base_url}/{poster.lstrip('/')}" if poster else None,
            genres=tuple(self.genres[i] for i in ids if i in self.genres),
            translations={
                str(language): (
                    str(text.get("title") or "").strip() or title,
                    str(text.get("overview") or "").strip() or overview,
                )
                for language, text in (raw.get("translations") or {}).items()
                if isinstance(text, Mapping)
            },
        )


class TmdbClient:
    """Pages through TMDB's `/discover/movie` with an API key (v3 `api_key` or a v4 bearer).

    For each page it also asks for the same page in each of `languages` (TMDB's `language`
    parameter) and takes the movies' titles and overviews there as their translations.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        image_base_url: str,
        max_pages: int = 5,
        languages: Sequence[str] = ("pt-BR",),
    ) -> None:
        self.name = "tmdb"
        # English is what TMDB answers without a `language`: it is the movie itself
        self.languages = tuple(code for code in languages if code != DEFAULT_LANGUAGE)
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
            translated = {
                language: await self._translated(page, language) for language in self.languages
            }
            for raw in data.get("results") or []:
                texts = {
                    language: by_id[raw["id"]]
                    for language, by_id in translated.items()
                    if raw["id"] in by_id
                }
                yield adapter.to_movie({**raw, "translations": texts} if texts else raw)
            page += 1

    async def find(self, query: str) -> list[MovieData]:
        """The first page of TMDB's `/search/movie` for a title, in English (genres and
        translations come with `fetch`)."""
        data = await self._get("/search/movie", query=query, page=1, include_adult="false")
        adapter = TmdbAdapter(genres={}, image_base_url=self.image_base_url)
        return [
            adapter.to_movie(raw)
            for raw in data.get("results") or []
            if isinstance(raw, Mapping) and raw.get("id") and raw.get("title")
        ]

    async def fetch(self, external_id: str) -> MovieData | None:
        """TMDB's `/movie/{id}`, with its title and overview in each of `languages`; None if
        TMDB has no such movie (or the id is not one of TMDB's)."""
        if not TMDB_ID.match(external_id):
            return None
        try:
            raw = await self._get(f"/movie/{external_id}")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return None
            raise
        texts = {}
        for language in self.languages:
            other = await self._get(f"/movie/{external_id}", language=language)
            texts[language] = {"title": other.get("title"), "overview": other.get("overview")}
        adapter = TmdbAdapter(
            genres=TmdbAdapter.genre_map(raw.get("genres") or []),
            image_base_url=self.image_base_url,
        )
        return adapter.to_movie({**raw, "translations": texts} if texts else raw)

    async def _translated(self, page: int, language: str) -> dict[Any, dict[str, Any]]:
        """The titles and overviews of a discover page in a language, by TMDB id (a movie that
        moved to another page between the two requests has none: it reads in English)."""
        data = await self._get(
            "/discover/movie", page=page, sort_by="popularity.desc", language=language
        )
        return {
            raw["id"]: {"title": raw.get("title"), "overview": raw.get("overview")}
            for raw in data.get("results") or []
            if "id" in raw
        }


class TmdbFile:
    """A JSON file in TMDB's format: `{"genres": [...], "results": [...]}` (optional `source`;
    a result may carry `translations`, see TmdbAdapter.to_movie)."""

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
