"""Recommendations served: "for you" and "members who liked this also liked".

`Recommendations` (one per process, on the root) keeps the trained model and swaps in a new
one when a training finishes. Training happens in the background only (`run`: at start-up,
then whenever RECOMMEND_RETRAIN_AFTER ratings and votes have arrived since the last one,
checked every RECOMMEND_CHECK_SECONDS), away from the event loop (recommend/training.py);
never on a request. Serving is a lookup: the member's history as it is now (one small query,
so a rating given a second ago counts at once), the model's scores, the movies' texts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from movievote.db import Database
from movievote.errors import InvalidInput
from movievote.i18n import N_, checked_language
from movievote.languages import DEFAULT_LANGUAGE
from movievote.models import (
    ModelState,
    MoviePublic,
    RecommendationList,
    RecommendationReason,
    RecommendedMovie,
    SimilarMovies,
    utcnow,
)
from movievote.recommend.base import Recommender, Trainer
from movievote.recommend.ease import EASE
from movievote.recommend.interactions import (
    VOTE_WEIGHT,
    Interactions,
    implicit_feedback,
    interactions_from_arrays,
    rating_weights,
)
from movievote.recommend.training import fit_in_process
from movievote.services import catalogue, feedback
from movievote.services.feedback import MemberHistory, Watermark
from movievote.services.ranking import MAX_LIMIT as RANKED
from movievote.services.ranking_cache import RankingCache, ranking_for

logger = logging.getLogger(__name__)

MAX_ITEMS = 50
Fit = Callable[[Trainer, Interactions], Awaitable[Recommender]]


@dataclass(frozen=True)
class Trained:
    """A finished training: the model (None: nothing to learn from yet), the newest rating
    and vote it read, and what it learned from."""

    model: Recommender | None
    watermark: Watermark
    trained_at: datetime
    interactions: int = 0
    members: int = 0
    movies: int = 0
    seconds: float = 0.0


async def read_interactions(*, db: Database) -> tuple[Interactions | None, Watermark]:
    """Every rating and counted vote as the models' implicit feedback (`implicit_feedback`'s
    weights: a like, a rating under 3 stars, a vote), read a chunk at a time so the event loop
    keeps serving; None if there is none. The watermark is the newest rating and vote read."""
    members: list[npt.NDArray[np.int64]] = []
    movies: list[npt.NDArray[np.int64]] = []
    weights: list[npt.NDArray[np.float32]] = []
    rating_id = vote_id = 0
    async for last, rows in feedback.rating_chunks(db=db):
        rating_id = last
        members.append(rows[:, 0])
        movies.append(rows[:, 1])
        weights.append(rating_weights(rows[:, 2] / 2))
    async for last, rows in feedback.vote_chunks(db=db):
        vote_id = last
        members.append(rows[:, 0])
        movies.append(rows[:, 1])
        weights.append(np.full(len(rows), VOTE_WEIGHT, np.float32))
    watermark = Watermark(rating_id=rating_id, vote_id=vote_id)
    if not members:
        return None, watermark
    interactions = await asyncio.to_thread(
        interactions_from_arrays,
        np.concatenate(members),
        np.concatenate(movies),
        np.concatenate(weights),
    )
    return interactions, watermark


def history_weights(history: MemberHistory, member_id: int) -> dict[int, float]:
    """A member's history as the model weighs it (a rating and a vote of one movie: the
    larger weight, the vote's)."""
    weighed: dict[int, float] = {}
    for _, movie, weight in implicit_feedback(
        ratings=[(member_id, m, stars) for m, stars in history.stars.items()],
        votes=[(member_id, m) for m in history.voted],
    ):
        weighed[movie] = max(weight, weighed.get(movie, 0.0))
    return weighed


class Recommendations:
    """The process's recommender: the current model, its background training, and serving."""

    def __init__(
        self,
        *,
        db: Database,
        cache: RankingCache,
        zone: ZoneInfo,
        retrain_after: int,
        trainer: Trainer | None = None,
        fit: Fit = fit_in_process,
    ) -> None:
        self.db = db
        self.cache = cache
        self.zone = zone
        self.retrain_after = retrain_after
        self.trainer = trainer or EASE()
        self.fit = fit
        self.current: Trained | None = None  # swapped whole: readers never see half of one
        self.trainings = 0
        self.failures = 0
        self._training = asyncio.Lock()
        self._changed: asyncio.Event | None = None

    # --- training -----------------------------------------------------------------------

    @property
    def state(self) -> ModelState:
        if self.current is None:
            return "training"
        return "ready" if self.current.model is not None else "no_data"

    async def train(self) -> Trained:
        """Read all the feedback, fit a new model away from the event loop and swap it in
        (one training at a time; the model in service keeps serving meanwhile)."""
        async with self._training:
            started = time.perf_counter()
            try:
                interactions, watermark = await read_interactions(db=self.db)
                model = None
                if interactions is not None:
                    model = await self.fit(self.trainer, interactions)
            except Exception:
                self.failures += 1
                self._announce()
                raise
            self.current = Trained(
                model=model,
                watermark=watermark,
                trained_at=utcnow(),
                interactions=interactions.matrix.nnz if interactions else 0,
                members=interactions.n_members if interactions else 0,
                movies=interactions.n_movies if interactions else 0,
                seconds=time.perf_counter() - started,
            )
            self.trainings += 1
            self._announce()
            logger.info(
                "recommendations trained in %.2f s: %d members, %d movies, %d interactions",
                self.current.seconds,
                self.current.members,
                self.current.movies,
                self.current.interactions,
            )
            return self.current

    async def due(self) -> bool:
        """Whether a training is due: none yet, or RECOMMEND_RETRAIN_AFTER ratings and
        votes arrived since the last one read (a count of the new rows only)."""
        if self.current is None:
            return True
        arrived = await feedback.arrived_since(self.current.watermark, db=self.db)
        return arrived >= self.retrain_after

    async def check(self) -> bool:
        """Train if it is due; whether a training ran."""
        if not await self.due():
            return False
        await self.train()
        return True

    async def run(self, interval_seconds: float) -> None:
        """The background task: train at once (start-up), then check every interval (a
        failed training is tried again at the next check; the old model keeps serving)."""
        while True:
            try:
                await self.check()
            except Exception:
                logger.exception("recommendations: training failed")
            await asyncio.sleep(interval_seconds)

    def _announce(self) -> None:
        changed, self._changed = self._event(), asyncio.Event()
        changed.set()

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    async def trained(self, count: int = 1, *, timeout_seconds: float = 60) -> Trained:
        """Wait until `count` trainings have finished (tests, the benchmark, start-up
        checks); TimeoutError if they take longer."""
        async with asyncio.timeout(timeout_seconds):
            while self.trainings < count or self.current is None:
                await self._event().wait()
        return self.current

    # --- serving ------------------------------------------------------------------------

    async def recommend_for(
        self,
        *,
        user_id: int,
        n: int = 10,
        language: str = DEFAULT_LANGUAGE,
        now: datetime | None = None,
    ) -> RecommendationList:
        """The member's `n` recommendations, best first, each with its reason: from what
        they rated and voted for ("because you liked / voted for X"), then, for a member with
        nothing yet (or too little), this month's most voted and the top rated. Never a movie
        they rated or voted for, never a hidden one; titles in `language`."""
        n = _checked_count(n)
        language = checked_language(language)
        history = await feedback.history_of(user_id=user_id, db=self.db)
        taken = history.seen | history.hidden
        picks: list[tuple[int, RecommendationReason]] = []
        trained = self.current
        if history and trained is not None and trained.model is not None:
            weights = history_weights(history, user_id)
            for found in trained.model.recommend(
                user_id, n, exclude=history.hidden, history=weights
            ):
                if found.because is None:  # the model's popular fill: ours follows
                    continue
                reason = RecommendationReason(
                    kind="voted" if found.because in history.voted else "liked",
                    movie_id=found.because,
                )
                picks.append((found.movie_id, reason))
        if len(picks) < n:
            taken |= {movie_id for movie_id, _ in picks}
            picks += await self._popular(n - len(picks), taken, now)
        wanted = [movie_id for movie_id, _ in picks]
        wanted += [r.movie_id for _, r in picks if r.movie_id is not None]
        known = await catalogue.listed_movies(
            movie_ids=list(dict.fromkeys(wanted)), language=language, db=self.db
        )
        items = []
        for movie_id, reason in picks:
            if movie_id not in known:  # hidden since the history was read
                continue
            if reason.movie_id is not None and reason.movie_id in known:
                reason.title = known[reason.movie_id].title
            items.append(RecommendedMovie(movie=known[movie_id], reason=reason))
        return RecommendationList(
            items=items[:n],
            state=self.state,
            trained_at=trained.trained_at if trained else None,
        )

    async def _popular(
        self,
        n: int,
        taken: set[int],
        now: datetime | None,
    ) -> list[tuple[int, RecommendationReason]]:
        """Up to `n` movies not in `taken`: this month's most voted (the ranking cache), then
        the top rated (rated movies only): their ids."""
        picks: list[tuple[int, RecommendationReason]] = []
        ranking = await ranking_for(limit=RANKED, cache=self.cache, zone=self.zone, now=now)
        for entry in ranking.items:
            if len(picks) >= n:
                return picks
            if entry.movie.id not in taken:
                taken.add(entry.movie.id)
                picks.append((entry.movie.id, RecommendationReason(kind="most_voted")))
        for movie_id in await catalogue.top_rated_ids(limit=n + len(taken), db=self.db):
            if len(picks) >= n:
                break
            if movie_id not in taken:
                taken.add(movie_id)
                picks.append((movie_id, RecommendationReason(kind="top_rated")))
        return picks

    async def similar_to(
        self, *, movie_id: int, n: int = 10, language: str = DEFAULT_LANGUAGE
    ) -> SimilarMovies:
        """Members who liked this movie also liked: the `n` movies the model ties to it most
        (never a hidden one), titles in `language`; MovieNotFound if there is no such movie.
        Empty, with the model's state, until a model is trained."""
        n = _checked_count(n)
        language = checked_language(language)
        hidden = await feedback.hidden_movies(movie_id=movie_id, db=self.db)  # or 404
        trained = self.current
        items: list[MoviePublic] = []
        if trained is not None and trained.model is not None:
            found = [s.movie_id for s in trained.model.similar(movie_id, n, exclude=hidden)]
            listed = await catalogue.listed_movies(movie_ids=found, language=language, db=self.db)
            items = [listed[m] for m in found if m in listed]
        return SimilarMovies(
            movie_id=movie_id,
            items=items,
            state=self.state,
            trained_at=trained.trained_at if trained else None,
        )


def _checked_count(n: int) -> int:
    if not 1 <= n <= MAX_ITEMS:
        raise InvalidInput(N_("The limit must be 1 to {count}."), field="limit", count=MAX_ITEMS)
    return n
