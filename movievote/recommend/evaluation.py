"""Offline evaluation: hold out part of each member's interactions, ask a model for its top k,
and count how many held-out movies it found (precision, recall and NDCG at k)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from movievote.recommend.base import Recommender


def holdout(
    members: npt.ArrayLike, *, fraction: float = 0.2, seed: int = 42
) -> npt.NDArray[np.bool_]:
    """A mask of the interactions to hold out: for each member (in ascending id order), a
    random `fraction` of theirs (rounded), drawn with one generator seeded `seed`."""
    members = np.asarray(members)
    _, rows = np.unique(members, return_inverse=True)
    order = np.argsort(rows, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(rows))]
    rng = np.random.default_rng(seed)
    test = np.zeros(len(members), bool)
    for start, end in pairwise(bounds):
        held = round(fraction * (end - start))
        test[rng.choice(order[start:end], size=held, replace=False)] = True
    return test


@dataclass(frozen=True)
class Metrics:
    precision: float
    recall: float  # found / held out, per member
    ndcg: float
    members: int  # members with something held out, over whom the means are taken


def evaluate(model: Recommender, held_out: Mapping[int, Iterable[int]], *, k: int = 10) -> Metrics:
    """Means over the members of `held_out` (member id -> movie ids) of precision@k, recall@k
    and NDCG@k of `model.recommend(member, k)` (the movies seen in training excluded)."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    precision, recall, ndcg = [], [], []
    for member, movies in held_out.items():
        relevant = set(movies)
        if not relevant:
            continue
        hits = np.array([r.movie_id in relevant for r in model.recommend(member, k)], bool)
        found = int(hits.sum())
        precision.append(found / k)
        recall.append(found / len(relevant))
        ideal = discounts[: min(k, len(relevant))].sum()
        ndcg.append(float(discounts[: len(hits)][hits].sum()) / ideal)
    if not precision:
        return Metrics(0.0, 0.0, 0.0, 0)
    return Metrics(
        float(np.mean(precision)), float(np.mean(recall)), float(np.mean(ndcg)), len(precision)
    )
