"""Offline evaluation of the recommenders on MovieLens 100K; prints a table (asserts nothing).

    python -m benchmarks.eval_recommender PATH_TO_ML100K [--seed 42] [--no-als]

PATH_TO_ML100K is the folder holding `ml-100k.inter` and `ml-100k.item` (research license: the
data stays out of this repository; see ../shared/data/ml-100k/README.md).

Protocol: every rating is a positive (implicit feedback, weight 1); each member's ratings are
split 80/20 at random (`movievote.recommend.evaluation.holdout`, seed `--seed`); each model is
trained on the 80% and asked, through its own `recommend()`, for the top 10 of all the movies
the member has not rated in training; precision@10, recall@10 and NDCG@10 are averaged over
members. Hyper-parameters (EASE's l2 and dropout, item-kNN's neighbours, ALS's factors,
regularization and alpha) are chosen by the mean validation precision@10 over three splits of the
training part (the same holdout, seeds + 1, + 2, + 3), never on the test ratings. ALS (the `implicit` library) is a candidate when it is installed; it is not
a dependency of the app.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from movievote.recommend import EASE, Interactions, ItemKNN, MostPopular, Recommender, Trainer
from movievote.recommend.base import FittedModel, Recommendation, Similar, top_indices
from movievote.recommend.evaluation import Metrics, evaluate, holdout
from movievote.recommend.interactions import interactions_from_arrays

EASE_GRID = [(l2, p) for l2 in (200.0, 300.0, 500.0, 700.0) for p in (0.0, 0.5, 0.67, 0.8)]
NEIGHBOURS_GRID = (50, 100, 200, 400)
ALS_GRID = [  # (factors, regularization, alpha)
    (f, reg, alpha) for f in (16, 32) for reg in (1.0, 5.0) for alpha in (1.0, 2.0)
]
FOLDS = 3


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("path", type=Path, help="folder with ml-100k.inter and ml-100k.item")
    p.add_argument("--seed", type=int, default=42, help="seed of the 80/20 split")
    p.add_argument("--no-als", action="store_true", help="leave implicit's ALS out")
    return p.parse_args()


def load(path: Path) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], dict[int, str]]:
    """The members and movies of every rating, and the movies' titles."""
    inter = np.loadtxt(path / "ml-100k.inter", skiprows=1, usecols=(0, 1), dtype=np.int64)
    titles: dict[int, str] = {}
    with open(path / "ml-100k.item", encoding="latin-1", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for row in rows:
            titles[int(row[0])] = f"{row[1]} ({row[2]})"
    return inter[:, 0], inter[:, 1], titles


def split(
    members: npt.NDArray[np.int64],
    movies: npt.NDArray[np.int64],
    *,
    seed: int,
    catalogue: npt.NDArray[np.int64],
) -> tuple[Interactions, dict[int, list[int]], npt.NDArray[np.bool_]]:
    """Training interactions (ratings as weight 1), the held-out movies per member, and the
    training mask."""
    test = holdout(members, fraction=0.2, seed=seed)
    train = interactions_from_arrays(
        members[~test], movies[~test], np.ones(int((~test).sum())), catalogue=catalogue
    )
    held: dict[int, list[int]] = defaultdict(list)
    for member, movie in zip(members[test].tolist(), movies[test].tolist(), strict=True):
        held[member].append(movie)
    return train, held, ~test


class ALSModel(FittedModel):
    """implicit's ALS behind the project's Recommender interface (evaluation only: scores a
    training member's row; no reasons, no fold-in of a new history)."""

    def __init__(self, interactions: Interactions, users: np.ndarray, items: np.ndarray) -> None:
        super().__init__(interactions)
        self.users, self.items = users, items

    def recommend(
        self,
        member_id: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        exclude: Collection[int] = (),
        history: Mapping[int, float] | None = None,
    ) -> list[Recommendation]:
        row = self.interactions.member_index.get(member_id)
        if row is None or history is not None:
            return super().recommend(member_id, n, exclude_seen=exclude_seen, exclude=exclude)
        scores = (self.items @ self.users[row]).astype(np.float64)
        scores[self.interactions.columns(exclude)] = -np.inf
        if exclude_seen:
            scores[self.interactions.history(member_id)[0]] = -np.inf
        ids = self.interactions.movie_ids
        return [Recommendation(int(ids[c]), float(scores[c]), None) for c in top_indices(scores, n)]

    def similar(
        self, movie_id: int, n: int = 10, *, exclude: Collection[int] = ()
    ) -> list[Similar]:
        return []


class ALS:
    def __init__(self, factors: int, regularization: float, alpha: float) -> None:
        import implicit

        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.name = f"ALS (implicit {implicit.__version__}, {factors} factors, reg {regularization:g}, alpha {alpha:g})"

    def fit(self, interactions: Interactions) -> ALSModel:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's own threads do the work
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=15,
                random_state=42,
                num_threads=2,
            )
            model.fit(sp.csr_matrix(interactions.matrix), show_progress=False)
        return ALSModel(interactions, model.user_factors, model.item_factors)


def timed_fit(trainer: Trainer, train: Interactions) -> tuple[Recommender, float]:
    started = time.perf_counter()
    model = trainer.fit(train)
    return model, time.perf_counter() - started


Fold = tuple[Interactions, dict[int, list[int]]]


def tune(
    label: str, candidates: list[tuple[str, Callable[[], Trainer]]], folds: list[Fold]
) -> Callable[[], Trainer]:
    """The candidate with the best mean validation precision@10 (printed as it goes)."""
    best: tuple[float, str, Callable[[], Trainer]] | None = None
    for setting, make in candidates:
        scores = [evaluate(make().fit(train), held) for train, held in folds]
        precision, recall, ndcg = (
            float(np.mean([getattr(m, f) for m in scores])) for f in ("precision", "recall", "ndcg")
        )
        print(f"  {label:<9} {setting:<28} {precision:.4f}  {recall:.4f}  {ndcg:.4f}")
        if best is None or precision > best[0]:
            best = (precision, setting, make)
    assert best is not None
    print(f"  {label:<9} chosen: {best[1]}")
    return best[2]


def main() -> None:
    args = parse()
    members, movies, titles = load(args.path)
    catalogue = np.unique(movies)
    print(
        f"MovieLens 100K: {len(members):,} ratings, {len(np.unique(members)):,} members, "
        f"{len(catalogue):,} movies; split 80/20 per member, seed {args.seed}"
    )
    train, held, train_mask = split(members, movies, seed=args.seed, catalogue=catalogue)
    folds = [
        split(members[train_mask], movies[train_mask], seed=args.seed + i, catalogue=catalogue)[:2]
        for i in range(1, FOLDS + 1)
    ]

    als_available = False
    if not args.no_als:
        try:
            import implicit  # noqa: F401

            als_available = True
        except ImportError:
            print("(implicit is not installed: ALS left out)")

    print(
        f"\nvalidation (80/20 of the training part, mean of {FOLDS} splits): "
        "precision@10  recall@10  NDCG@10"
    )
    chosen: list[Callable[[], Trainer]] = [MostPopular]
    chosen.append(
        tune(
            "item-kNN",
            [(f"{k} neighbours", lambda k=k: ItemKNN(k)) for k in NEIGHBOURS_GRID],
            folds,
        )
    )
    chosen.append(
        tune(
            "EASE",
            [(f"l2 {l2:g}, dropout {p:g}", lambda l2=l2, p=p: EASE(l2, p)) for l2, p in EASE_GRID],
            folds,
        )
    )
    if als_available:
        chosen.append(
            tune(
                "ALS",
                [
                    (f"{f} f., reg {r:g}, alpha {a:g}", lambda f=f, r=r, a=a: ALS(f, r, a))
                    for f, r, a in ALS_GRID
                ],
                folds,
            )
        )

    print(f"\ntest (the held-out 20%, {len(held):,} members)")
    header = f"{'model':<58} {'precision@10':>12} {'recall@10':>10} {'NDCG@10':>8} {'training':>9}"
    print(header)
    print("-" * len(header))
    results: list[tuple[str, Metrics, Recommender]] = []
    for make in chosen:
        trainer = make()
        model, seconds = timed_fit(trainer, train)
        name = trainer.name
        if isinstance(trainer, ItemKNN):
            name += f" (cosine, {trainer.neighbours} neighbours)"
        elif isinstance(trainer, EASE):
            name += f" (l2 {trainer.l2:g}, dropout {trainer.dropout:g})"
        m = evaluate(model, held)
        results.append((name, m, model))
        print(f"{name:<58} {m.precision:>12.3f} {m.recall:>10.3f} {m.ndcg:>8.3f} {seconds:>8.2f}s")
    name, best, model = max(results, key=lambda r: r[1].precision)
    print(f"\nbest precision@10: {name}, {best.precision:.3f} (target >= 0.37)")

    member = int(members[0])
    print(f"\nexample: member {member}'s top 5 from {name}")
    for rec in model.recommend(member, 5):
        because = titles.get(rec.because, "-") if rec.because is not None else "-"
        print(f"  {titles.get(rec.movie_id, rec.movie_id)}   because you liked {because}")
    movie = 50
    print(f"members who liked {titles.get(movie)} also liked:")
    for s in model.similar(movie, 5):
        print(f"  {titles.get(s.movie_id, s.movie_id)}  ({s.score:.3f})")


if __name__ == "__main__":
    main()
