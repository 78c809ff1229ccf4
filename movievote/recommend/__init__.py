"""Recommendations: "for you" and "members who liked this also liked".

Pure model code on numpy/scipy: an interaction matrix from (member, movie, weight) triples,
models with one interface (`fit` on a trainer gives a `Recommender`; `recommend` and
`similar` serve from memory), and the offline evaluation. No database, Reflex or FastAPI here.
"""

from movievote.recommend.base import Recommendation, Recommender, Similar, Trainer
from movievote.recommend.ease import EASE
from movievote.recommend.interactions import (
    LIKED,
    VOTE_WEIGHT,
    Interactions,
    build_interactions,
    implicit_feedback,
)
from movievote.recommend.item_item import ItemItemModel, ItemKNN
from movievote.recommend.popular import MostPopular, PopularityModel

__all__ = [
    "EASE",
    "LIKED",
    "VOTE_WEIGHT",
    "Interactions",
    "ItemItemModel",
    "ItemKNN",
    "MostPopular",
    "PopularityModel",
    "Recommendation",
    "Recommender",
    "Similar",
    "Trainer",
    "build_interactions",
    "implicit_feedback",
]
