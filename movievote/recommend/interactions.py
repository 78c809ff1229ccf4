"""The member x movie interaction matrix the models learn from, with its id maps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

VOTE_WEIGHT = 2.0  # a monthly vote: the strongest "I liked it" a member can say
LIKED = 1.0  # a weight at or above this is a like: only a liked movie is given as a reason
LIKED_STARS = 3.0  # a rating of at least this many stars is a like
DISLIKED_WEIGHT = 0.1  # a lower rating: the member saw it (never recommended back), barely a taste


@dataclass(frozen=True, eq=False)
class Interactions:
    """Members' implicit feedback as a CSR matrix (rows: members, columns: movies, float32
    weights > 0, one entry per pair), and the ids each row and column stands for (ascending)."""

    matrix: sp.csr_array
    member_ids: npt.NDArray[np.int64]
    movie_ids: npt.NDArray[np.int64]
    member_index: dict[int, int] = field(init=False, repr=False)
    movie_index: dict[int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "member_index", {int(m): i for i, m in enumerate(self.member_ids)})
        object.__setattr__(self, "movie_index", {int(m): i for i, m in enumerate(self.movie_ids)})

    @property
    def n_members(self) -> int:
        return len(self.member_ids)

    @property
    def n_movies(self) -> int:
        return len(self.movie_ids)

    def history(self, member_id: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The column indices a member interacted with and their weights (empty if unknown)."""
        row = self.member_index.get(member_id)
        if row is None:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        return self.matrix.indices[start:end], self.matrix.data[start:end]

    def columns(self, movie_ids: Iterable[int]) -> npt.NDArray[np.intp]:
        """The column indices of those movies that have one (others are left out)."""
        index = self.movie_index
        return np.fromiter((index[m] for m in movie_ids if m in index), np.intp)


def build_interactions(
    triples: Iterable[tuple[int, int, float]], *, catalogue: Iterable[int] = ()
) -> Interactions:
    """Interactions from (member id, movie id, weight) triples; a pair given twice keeps its
    larger weight (rated and voted: the vote). `catalogue` adds columns for movies nobody has
    interacted with yet."""
    rows = list(triples)
    members = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    movies = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    weights = np.fromiter((r[2] for r in rows), np.float32, len(rows))
    return interactions_from_arrays(
        members, movies, weights, catalogue=np.fromiter(catalogue, np.int64)
    )


def interactions_from_arrays(
    members: npt.ArrayLike,
    movies: npt.ArrayLike,
    weights: npt.ArrayLike,
    *,
    catalogue: npt.ArrayLike = (),
) -> Interactions:
    """`build_interactions` for parallel arrays (what the benchmarks and the evaluation use)."""
    members = np.asarray(members, np.int64)
    movies = np.asarray(movies, np.int64)
    weights = np.asarray(weights, np.float32)
    if not len(members) == len(movies) == len(weights):
        raise ValueError("members, movies and weights must have the same length")
    if (weights <= 0).any() or not np.isfinite(weights).all():
        raise ValueError(
            "weights must be positive: a zero would be a seen movie the matrix forgets"
        )
    member_ids, rows = np.unique(members, return_inverse=True)
    movie_ids = np.unique(np.concatenate([np.asarray(catalogue, np.int64), movies]))
    cols = np.searchsorted(movie_ids, movies)
    order = np.lexsort((cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    if len(rows):
        first = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])])
        weights = np.maximum.reduceat(weights, first)
        rows, cols = rows[first], cols[first]
    indptr = np.zeros(len(member_ids) + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=len(member_ids)), out=indptr[1:])
    matrix = sp.csr_array(
        (weights.astype(np.float32), cols.astype(np.int32), indptr),
        shape=(len(member_ids), len(movie_ids)),
    )
    return Interactions(matrix=matrix, member_ids=member_ids, movie_ids=movie_ids)


def rating_weights(
    stars: npt.ArrayLike, *, liked_stars: float = LIKED_STARS
) -> npt.NDArray[np.float32]:
    """`implicit_feedback`'s weights of ratings given as an array of stars."""
    return np.where(np.asarray(stars) >= liked_stars, LIKED, DISLIKED_WEIGHT).astype(np.float32)


def implicit_feedback(
    *,
    ratings: Iterable[tuple[int, int, float]] = (),
    votes: Iterable[tuple[int, int]] = (),
    vote_weight: float = VOTE_WEIGHT,
    liked_stars: float = LIKED_STARS,
    disliked_weight: float = DISLIKED_WEIGHT,
) -> list[tuple[int, int, float]]:
    """(member, movie, weight) triples from ratings (member, movie, stars) and votes (member,
    movie): a rating of `liked_stars` or more weighs `LIKED`, a lower one `disliked_weight` (it
    still marks the movie seen), a vote `vote_weight`."""
    triples = [
        (member, movie, LIKED if stars >= liked_stars else disliked_weight)
        for member, movie, stars in ratings
    ]
    triples += [(member, movie, vote_weight) for member, movie in votes]
    return triples
