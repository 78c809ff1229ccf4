"""The baseline: the most popular movies for everyone (popularity: the sum of the weights)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from movievote.recommend.base import FittedModel, Indices, Similar, top_indices
from movievote.recommend.interactions import Interactions


class PopularityModel(FittedModel):
    """Everyone gets the same list, less what they have seen; `similar` counts co-occurrences
    (literally "members who liked this also liked", popular movies first)."""

    def __init__(self, interactions: Interactions) -> None:
        super().__init__(interactions)
        self.by_movie = interactions.matrix.tocsc()

    def scores(
        self, seen: Indices, weights: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.floating] | None:
        return self.popularity

    def similar(
        self, movie_id: int, n: int = 10, *, exclude: Collection[int] = ()
    ) -> list[Similar]:
        column = self.interactions.movie_index.get(movie_id)
        if column is None:
            return []
        members = self.by_movie.indices[
            self.by_movie.indptr[column] : self.by_movie.indptr[column + 1]
        ]
        counts = np.asarray(self.interactions.matrix[members].sum(axis=0), np.float64).ravel()
        counts[column] = 0
        counts[self.interactions.columns(exclude)] = 0
        picked = top_indices(np.where(counts > 0, counts, -np.inf), n)
        ids = self.interactions.movie_ids
        return [Similar(int(ids[c]), float(counts[c])) for c in picked]


class MostPopular:
    name = "most popular"

    def fit(self, interactions: Interactions) -> PopularityModel:
        return PopularityModel(interactions)
