"""Models that are an item x item weight matrix W: a member's score for movie j is
sum_i x_i W[i, j] over the movies i they have seen (x_i their weight), so serving is a few rows
of W, and the reason for j is the liked i with the largest x_i W[i, j]."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from movievote.recommend.base import FittedModel, Indices
from movievote.recommend.interactions import LIKED, Interactions


class ItemItemModel(FittedModel):
    """Serving for any item x item model (item-kNN, EASE): W dense float32, C order (the rows
    of a member's movies are read whole). `similar(i)` is row i: what liking i alone gives."""

    def __init__(self, interactions: Interactions, weights: npt.NDArray[np.float32]) -> None:
        super().__init__(interactions)
        m = interactions.n_movies
        if weights.shape != (m, m):
            raise ValueError(f"weights must be {m} x {m}, not {weights.shape}")
        self.weights = np.ascontiguousarray(weights, np.float32)

    def scores(
        self, seen: Indices, weights: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.floating] | None:
        # einsum, not `@`: BLAS would hand this small product to its thread pool, whose
        # wake-ups cost up to 60 ms at p99 on a busy machine (measured); einsum stays here
        return np.einsum("i,ij->j", weights, self.weights[seen])

    def reasons(
        self, seen: Indices, weights: npt.NDArray[np.float32], picked: npt.NDArray[np.intp]
    ) -> list[int | None]:
        if not len(picked):
            return []
        contributions = self.weights[np.ix_(seen, picked)] * weights[:, None]
        contributions[weights < LIKED] = -np.inf
        best = contributions.argmax(axis=0)
        ids = self.interactions.movie_ids
        return [int(ids[seen[b]]) if contributions[b, j] > 0 else None for j, b in enumerate(best)]


class ItemKNN:
    """Item-based k nearest neighbours: cosine similarity of the movies' member columns, each
    movie keeping its `neighbours` most similar movies (the classic item-kNN)."""

    name = "item-kNN"

    def __init__(self, neighbours: int = 200) -> None:
        self.neighbours = neighbours

    def fit(self, interactions: Interactions) -> ItemItemModel:
        x = interactions.matrix
        similarity = np.asarray((x.T @ x).toarray(), np.float32)
        norms = np.sqrt(np.diag(similarity))
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        similarity *= scale[:, None]
        similarity *= scale[None, :]
        np.fill_diagonal(similarity, 0.0)
        m = interactions.n_movies
        k = self.neighbours
        if 0 < k < m:  # keep column j's k largest: its neighbours, the movies that score it
            kth = np.partition(similarity, m - k, axis=0)[m - k]
            similarity[similarity < kth[None, :]] = 0.0
        return ItemItemModel(interactions, similarity)
