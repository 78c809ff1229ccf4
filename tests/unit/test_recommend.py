"""The recommenders on a small data set whose right answers are known: two taste clusters."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from movievote.recommend import (
    EASE,
    LIKED,
    VOTE_WEIGHT,
    ItemKNN,
    MostPopular,
    Recommendation,
    Trainer,
    build_interactions,
    implicit_feedback,
)
from movievote.recommend.base import top_indices
from movievote.recommend.ease import inverse_spd
from movievote.recommend.evaluation import evaluate, holdout
from movievote.recommend.interactions import DISLIKED_WEIGHT, interactions_from_arrays

A = [101, 102, 103, 104, 105]  # cluster A
B = [201, 202, 203, 204, 205]  # cluster B: more fans (9 against 6), so the more popular
FAN = 99  # liked A's first four: 105 is the one to find
CATALOGUE = [*A, *B, 301]  # 301: nobody has seen it

PERSONAL: list[Trainer] = [ItemKNN(), ItemKNN(neighbours=2), EASE(), EASE(l2=1.0, dropout=0.0)]
EVERY: list[Trainer] = [*PERSONAL, MostPopular()]


def ids(trainer: Trainer) -> str:
    return f"{trainer.name}-{vars(trainer)}"


def triples() -> list[tuple[int, int, float]]:
    rows = [(member, movie, 1.0) for member in range(1, 7) for movie in A]
    rows += [(member, movie, 1.0) for member in range(11, 20) for movie in B]
    rows += [(7, movie, 1.0) for movie in A] + [(7, B[0], 1.0)]  # one who crosses over
    rows += [(FAN, movie, 1.0) for movie in A[:4]]
    return rows


@pytest.fixture(scope="module")
def data():
    return build_interactions(triples(), catalogue=CATALOGUE)


@pytest.mark.parametrize("trainer", PERSONAL, ids=ids)
def test_an_a_fan_gets_the_unseen_a_movie_first_because_of_an_a_movie(trainer, data):
    first = trainer.fit(data).recommend(FAN, 3)[0]
    assert first.movie_id == 105
    assert first.because in A[:4]
    assert first.score > 0


@pytest.mark.parametrize("trainer", EVERY, ids=ids)
def test_never_a_seen_or_excluded_movie(trainer, data):
    recommended = [r.movie_id for r in trainer.fit(data).recommend(FAN, 20, exclude={105, 202})]
    assert not set(recommended) & {*A, 202}
    assert len(recommended) == len(set(recommended)) == 4  # 201, 203-205: all that is left
    assert trainer.fit(data).recommend(FAN, 0) == []


@pytest.mark.parametrize("trainer", EVERY, ids=ids)
def test_seen_movies_come_back_only_when_asked(trainer, data):
    model = trainer.fit(data)
    assert {r.movie_id for r in model.recommend(FAN, 20, exclude_seen=False)} >= set(A)


@pytest.mark.parametrize("trainer", EVERY, ids=ids)
def test_similar_to_an_a_movie_is_a_movies(trainer, data):
    model = trainer.fit(data)
    similar = model.similar(101, 4)
    assert {s.movie_id for s in similar} == {102, 103, 104, 105}
    assert [s.score for s in similar] == sorted((s.score for s in similar), reverse=True)
    assert 103 not in {s.movie_id for s in model.similar(101, 4, exclude=[103])}
    assert model.similar(999, 4) == []  # unknown movie


@pytest.mark.parametrize("trainer", EVERY, ids=ids)
def test_a_member_with_nothing_gets_the_most_popular(trainer, data):
    model = trainer.fit(data)
    for history in (None, {}):
        recommended = model.recommend(12345, 3, history=history)
        # B's have 10 and 9 fans, A's 8 at most
        assert [r.movie_id for r in recommended] == [201, 202, 203]
        assert all(r.because is None for r in recommended)
    assert 301 not in [r.movie_id for r in model.recommend(12345, 20)]  # popularity 0


@pytest.mark.parametrize("trainer", PERSONAL, ids=ids)
def test_a_fresh_history_counts_at_once(trainer, data):
    model = trainer.fit(data)
    recommended = model.recommend(12345, 3, history={201: 1.0, 202: 1.0, 999: 1.0})
    assert {r.movie_id for r in recommended} <= {203, 204, 205}
    assert all(r.because in (201, 202) for r in recommended)
    assert model.recommend(FAN, 1, history={201: 1.0})[0].movie_id in B  # replaces, not adds


@pytest.mark.parametrize("trainer", PERSONAL, ids=ids)
def test_a_movie_rated_low_is_never_the_reason(trainer, data):
    model = trainer.fit(data)
    history = {101: LIKED, 102: LIKED, 201: DISLIKED_WEIGHT}
    recommended = model.recommend(12345, 10, history=history)
    assert recommended[0].movie_id in A
    assert all(r.because != 201 for r in recommended)
    assert not {r.movie_id for r in recommended} & set(history)


def test_too_little_evidence_is_filled_with_the_most_popular(data):
    model = ItemKNN(neighbours=1).fit(data)  # each movie keeps one neighbour: few candidates
    recommended = model.recommend(FAN, 6)
    assert len(recommended) == 6
    filled = [r for r in recommended if r.because is None]
    assert filled and all(r.score == 0.0 for r in filled)
    assert [r.movie_id for r in filled] == [m for m in B if m in {r.movie_id for r in filled}]


def test_ease_is_the_closed_form():
    rng = np.random.default_rng(3)
    x = (rng.random((40, 12)) < 0.3).astype(np.float32)
    members, movies = np.nonzero(x)
    data = interactions_from_arrays(members, movies, np.ones(len(members)))
    for l2, dropout in ((10.0, 0.0), (5.0, 0.5)):
        gram = (x.T @ x).astype(np.float64)
        p = np.linalg.inv(gram + np.diag(l2 + dropout / (1 - dropout) * np.diag(gram)))
        expected = -p / np.diag(p)[None, :]
        np.fill_diagonal(expected, 0.0)
        weights = EASE(l2, dropout).fit(data).weights
        np.testing.assert_allclose(
            weights, expected[np.ix_(data.movie_ids, data.movie_ids)], atol=1e-5
        )


def test_inverse_spd_inverts_in_place():
    rng = np.random.default_rng(5)
    for m in (1, 7, 600, 1100):  # across the mirroring's blocks of 512
        a = rng.random((m, m)).astype(np.float32)
        spd = (a @ a.T + m * np.eye(m)).astype(np.float32)
        expected = np.linalg.inv(spd.astype(np.float64))
        inverse = inverse_spd(spd)
        assert np.shares_memory(inverse, spd)
        assert inverse.flags.c_contiguous
        np.testing.assert_allclose(inverse, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_interactions_keep_the_larger_weight_of_a_pair():
    data = build_interactions([(2, 10, 1.0), (1, 30, 1.0), (2, 10, VOTE_WEIGHT), (2, 20, 0.5)])
    assert data.member_ids.tolist() == [1, 2]
    assert data.movie_ids.tolist() == [10, 20, 30]
    assert data.matrix.toarray().tolist() == [[0, 0, 1], [VOTE_WEIGHT, 0.5, 0]]
    columns, weights = data.history(2)
    assert columns.tolist() == [0, 1] and weights.tolist() == [VOTE_WEIGHT, 0.5]
    assert data.history(3)[0].size == 0
    assert data.columns([30, 99, 10]).tolist() == [2, 0]


def test_interactions_refuse_weights_that_are_not_positive():
    with pytest.raises(ValueError, match="positive"):
        build_interactions([(1, 10, 0.0)])
    assert build_interactions([]).matrix.shape == (0, 0)


def test_implicit_feedback_weighs_likes_dislikes_and_votes():
    triples = implicit_feedback(ratings=[(1, 10, 4.5), (1, 11, 1.0)], votes=[(1, 10), (2, 12)])
    data = build_interactions(triples)
    expected = [[VOTE_WEIGHT, DISLIKED_WEIGHT, 0], [0, 0, VOTE_WEIGHT]]
    np.testing.assert_allclose(data.matrix.toarray(), expected, rtol=1e-6)


def test_top_indices_best_first_ties_by_index_and_never_minus_infinity():
    scores = np.array([1.0, 3.0, -np.inf, 3.0, 2.0])
    assert top_indices(scores, 3).tolist() == [1, 3, 4]
    assert top_indices(scores, 10).tolist() == [1, 3, 4, 0]
    assert top_indices(np.full(3, -np.inf), 2).size == 0


def test_holdout_takes_a_fifth_of_each_member_reproducibly():
    members = np.repeat([5, 3, 9], [10, 20, 3])
    test = holdout(members, fraction=0.2, seed=42)
    assert [int(test[members == m].sum()) for m in (5, 3, 9)] == [2, 4, 1]
    assert (holdout(members, fraction=0.2, seed=42) == test).all()
    assert not (holdout(members, fraction=0.2, seed=43) == test).all()


class Fixed:
    """A recommender that always answers the same list."""

    def __init__(self, movies: list[int]) -> None:
        self.movies = movies

    def recommend(self, member_id: int, n: int = 10, **_: object) -> list[Recommendation]:
        return [Recommendation(m, 1.0, None) for m in self.movies[:n]]

    def similar(self, movie_id: int, n: int = 10, **_: object) -> list:
        return []


def test_evaluate_counts_precision_recall_and_ndcg():
    held: Mapping[int, list[int]] = {1: [2, 9], 2: [], 3: [7]}
    metrics = evaluate(Fixed([1, 2, 3]), held, k=3)  # type: ignore[arg-type]
    assert metrics.members == 2  # member 2 has nothing held out
    assert metrics.precision == pytest.approx((1 / 3 + 0) / 2)
    assert metrics.recall == pytest.approx((1 / 2 + 0) / 2)
    ndcg_1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))  # hit at rank 2 of an ideal 2
    assert metrics.ndcg == pytest.approx(ndcg_1 / 2)
