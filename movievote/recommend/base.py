"""What every model is: a trainer whose `fit` gives an immutable recommender, and the ranking
that all recommenders share (exclusions, ties, the popular fill)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from movievote.recommend.interactions import Interactions

Indices = npt.NDArray[np.intp] | npt.NDArray[np.int32]


class Recommendation(NamedTuple):
    movie_id: int
    score: float  # the model's own scale; 0.0 where popularity filled the place
    because: int | None  # the liked movie that contributed most; None: popularity's choice


class Similar(NamedTuple):
    movie_id: int
    score: float


class Recommender(Protocol):
    """A trained model: serves from memory, never changes (a new training makes a new one)."""

    def recommend(
        self,
        member_id: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        exclude: Collection[int] = (),
        history: Mapping[int, float] | None = None,
    ) -> list[Recommendation]:
        """The member's top `n`, never a movie in `exclude` (nor one they have seen, unless
        `exclude_seen` is false). `history` (movie id -> weight) replaces what the member had
        at training time, so a rating given since counts at once."""
        ...

    def similar(
        self, movie_id: int, n: int = 10, *, exclude: Collection[int] = ()
    ) -> list[Similar]:
        """Members who liked this also liked: at most `n` movies, never this one or `exclude`."""
        ...


class Trainer(Protocol):
    name: str

    def fit(self, interactions: Interactions) -> Recommender: ...


def top_indices(scores: npt.NDArray[np.floating], n: int) -> npt.NDArray[np.intp]:
    """The indices of the `n` largest finite scores, best first, ties by lower index."""
    finite = int(np.isfinite(scores).sum())
    k = min(n, finite)
    if k <= 0:
        return np.empty(0, np.intp)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    best = part[np.lexsort((part, -scores[part]))]
    return best[np.isfinite(scores[best])][:k]


class FittedModel:
    """The parts every recommender shares: the training interactions, popularity for members
    the model knows nothing about (and to fill a short list), and the exclusions."""

    def __init__(self, interactions: Interactions) -> None:
        self.interactions = interactions
        popularity = np.asarray(interactions.matrix.sum(axis=0), np.float64).ravel()
        self.popularity = popularity
        order = np.argsort(-popularity, kind="stable")
        self.popular_order = order[popularity[order] > 0]

    def scores(
        self, seen: Indices, weights: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.floating] | None:
        """Every movie's score for a member with this history; None: nothing to go on."""
        raise NotImplementedError

    def reasons(
        self, seen: Indices, weights: npt.NDArray[np.float32], picked: npt.NDArray[np.intp]
    ) -> list[int | None]:
        """For each picked column, the liked movie (id) that contributed most, or None."""
        return [None] * len(picked)

    def history(
        self, member_id: int, history: Mapping[int, float] | None
    ) -> tuple[Indices, npt.NDArray[np.float32]]:
        if history is None:
            return self.interactions.history(member_id)
        index = self.interactions.movie_index
        known = [(index[m], w) for m, w in history.items() if m in index and w > 0]
        return (
            np.fromiter((c for c, _ in known), np.intp, len(known)),
            np.fromiter((w for _, w in known), np.float32, len(known)),
        )

    def recommend(
        self,
        member_id: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        exclude: Collection[int] = (),
        history: Mapping[int, float] | None = None,
    ) -> list[Recommendation]:
        if n <= 0:
            return []
        seen, weights = self.history(member_id, history)
        allowed = np.ones(self.interactions.n_movies, bool)
        allowed[self.interactions.columns(exclude)] = False
        if exclude_seen:
            allowed[seen] = False
        scores = self.scores(seen, weights) if len(seen) else None
        picked = np.empty(0, np.intp)
        result: list[Recommendation] = []
        if scores is not None:
            picked = top_indices(np.where(allowed & (scores > 0), scores, -np.inf), n)
            ids = self.interactions.movie_ids
            result = [
                Recommendation(int(ids[c]), float(scores[c]), because)
                for c, because in zip(picked, self.reasons(seen, weights, picked), strict=True)
            ]
        if len(result) < n:  # cold member, or too little evidence: the most popular fill in
            allowed[picked] = False
            fill = self.popular_order[allowed[self.popular_order]][: n - len(result)]
            result += [Recommendation(int(self.interactions.movie_ids[c]), 0.0, None) for c in fill]
        return result

    def similar(
        self, movie_id: int, n: int = 10, *, exclude: Collection[int] = ()
    ) -> list[Similar]:
        column = self.interactions.movie_index.get(movie_id)
        if column is None:
            return []
        scores = self.scores(np.array([column], np.intp), np.ones(1, np.float32))
        if scores is None:
            return []
        allowed = np.ones(self.interactions.n_movies, bool)
        allowed[self.interactions.columns(exclude)] = False
        allowed[column] = False
        picked = top_indices(np.where(allowed & (scores > 0), scores, -np.inf), n)
        ids = self.interactions.movie_ids
        return [Similar(int(ids[c]), float(scores[c])) for c in picked]
