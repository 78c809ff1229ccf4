"""Recommendation training and serving at the issue's scale, in-process; prints figures (asserts
nothing).

    python -m benchmarks.bench_recommend [--members 10000] [--interactions 100000] [--movies 2000]

Builds synthetic feedback: movies with a skewed popularity (Zipf-like), each in one of 20 taste
clusters; members with a skewed activity (log-normal, at least one interaction) and one or two
favourite clusters, 80% of whose interactions fall in them; 5% of the interactions are votes
(weight VOTE_WEIGHT). Then trains each model (time, the process's RSS and peak RSS, the model's
size) and serves `recommend()` (top 10, 20 hidden movies excluded) for random members, the most
active member, a member given as a fresh history, and `similar()` for random movies: p50/p99/max
per call.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import numpy.typing as npt
import psutil

from movievote.recommend import EASE, VOTE_WEIGHT, Interactions, ItemKNN, MostPopular, Trainer
from movievote.recommend.base import FittedModel
from movievote.recommend.interactions import interactions_from_arrays

CLUSTERS = 20


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--interactions", type=int, default=100_000)
    p.add_argument("--movies", type=int, default=2_000)
    p.add_argument("--calls", type=int, default=2_000, help="timed calls of each kind")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args()


def synthetic(members: int, interactions: int, movies: int, seed: int) -> Interactions:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, movies + 1) ** 0.8
    popularity = rng.permutation(popularity)  # popularity unrelated to the cluster
    cluster_of = rng.integers(0, CLUSTERS, movies)
    in_cluster = [np.flatnonzero(cluster_of == c) for c in range(CLUSTERS)]
    activity = rng.lognormal(0.0, 1.0, members)
    counts = np.maximum(1, np.round(activity / activity.sum() * interactions)).astype(int)
    counts = np.minimum(counts, movies // 4)
    everyone = popularity / popularity.sum()
    member_col, movie_col = [], []
    for member, count in enumerate(counts, start=1):
        favourites = rng.choice(CLUSTERS, size=rng.integers(1, 3), replace=False)
        pool = np.concatenate([in_cluster[c] for c in favourites])
        liked = min(rng.binomial(count, 0.8), len(pool))
        picks = rng.choice(pool, liked, replace=False, p=everyone[pool] / everyone[pool].sum())
        others = rng.choice(movies, count - liked, replace=False, p=everyone)
        chosen = np.union1d(picks, others)  # an overlap makes a member a little less active
        member_col.append(np.full(len(chosen), member))
        movie_col.append(chosen + 1)
    member_ids, movie_ids = np.concatenate(member_col), np.concatenate(movie_col)
    weights = np.where(rng.random(len(member_ids)) < 0.05, VOTE_WEIGHT, 1.0)
    return interactions_from_arrays(
        member_ids, movie_ids, weights, catalogue=np.arange(1, movies + 1)
    )


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def percentiles(samples_ns: list[int]) -> str:
    ms = np.array(samples_ns) / 1e6
    p50, p99 = np.percentile(ms, [50, 99])
    return f"p50 {p50:.3f} ms   p99 {p99:.3f} ms   max {ms.max():.3f} ms"


def serve(model: FittedModel, data: Interactions, calls: int, rng: np.random.Generator) -> None:
    hidden = [int(m) for m in rng.choice(data.movie_ids, 20, replace=False)]
    members: npt.NDArray[np.int64] = rng.choice(data.member_ids, calls)
    for member in members[:50]:  # warm up
        model.recommend(int(member), 10, exclude=hidden)
    samples = []
    for member in members:
        started = time.perf_counter_ns()
        model.recommend(int(member), 10, exclude=hidden)
        samples.append(time.perf_counter_ns() - started)
    print(f"    recommend, random members         {percentiles(samples)}")
    busiest = int(data.member_ids[np.argmax(np.diff(data.matrix.indptr))])
    seen = len(data.history(busiest)[0])
    samples = []
    for _ in range(200):
        started = time.perf_counter_ns()
        model.recommend(busiest, 10, exclude=hidden)
        samples.append(time.perf_counter_ns() - started)
    print(f"    recommend, busiest ({seen} seen)    {percentiles(samples)}")
    samples = []
    for member in members[:500]:
        columns, weights = data.history(int(member))
        history = {int(data.movie_ids[c]): float(w) for c, w in zip(columns, weights, strict=True)}
        started = time.perf_counter_ns()
        model.recommend(0, 10, exclude=hidden, history=history)
        samples.append(time.perf_counter_ns() - started)
    print(f"    recommend, history given          {percentiles(samples)}")
    samples = []
    for movie in rng.choice(data.movie_ids, calls):
        started = time.perf_counter_ns()
        model.similar(int(movie), 10, exclude=hidden)
        samples.append(time.perf_counter_ns() - started)
    print(f"    similar, random movies            {percentiles(samples)}")


def main() -> None:
    args = parse()
    print(f"process RSS at start: {rss_mb():.0f} MB")
    started = time.perf_counter()
    data = synthetic(args.members, args.interactions, args.movies, args.seed)
    per_member = np.diff(data.matrix.indptr)
    print(
        f"synthetic data: {data.n_members:,} members, {data.matrix.nnz:,} interactions, "
        f"{data.n_movies:,} movies ({CLUSTERS} taste clusters); per member median "
        f"{np.median(per_member):.0f}, max {per_member.max()}; built in "
        f"{time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB"
    )
    rng = np.random.default_rng(args.seed)
    trainers: list[Trainer] = [EASE(), ItemKNN(), MostPopular()]
    for trainer in trainers:
        before = rss_mb()
        started = time.perf_counter()
        model = trainer.fit(data)
        seconds = time.perf_counter() - started
        size = getattr(model, "weights", np.empty(0)).nbytes / 2**20
        print(
            f"\n{trainer.name}: trained in {seconds:.2f} s; RSS {before:.0f} -> {rss_mb():.0f} MB, "
            f"peak so far {peak_rss_mb():.0f} MB; item x item weights {size:.0f} MB"
        )
        assert isinstance(model, FittedModel)
        serve(model, data, args.calls, rng)
        del model


if __name__ == "__main__":
    main()
