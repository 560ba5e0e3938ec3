"""The fold bootstrap of ROC AUC: bakeoff.core.bootstrap against a scikit-learn call per fold.

    python benchmarks/bootstrap.py                 # 50,000 rows, 500 resamples, best of 3
    python benchmarks/bootstrap.py --repeat 5 --loop-repeat 1

Binary rows with continuous scores, scored two ways: as 5 folds of 10,000 rows and as one
fold of all 50,000. For each it prints the best wall time of `bootstrap.fold_bootstrap`,
where that time goes (drawing the resampled rows alone; counting the draws of one chunk and
scoring them), the best time of the loop it replaces (per resample, per fold,
``roc_auc_score`` on the drawn rows) and the ratio, and checks that both give the same
scores. The target is 0.2 s for 500 resamples of 50,000 rows. Timings are best-of-N wall
times: rerun when the machine is otherwise idle (the load average is printed).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable

import numpy as np

from bakeoff.core import bootstrap


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The best wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cpu_of(repeat: int, fn: Callable[[], object]) -> float:
    """The least CPU time of this process over `repeat` calls: less disturbed than the wall
    time by other processes taking turns on the cores."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def sklearn_loop(y: np.ndarray, proba: np.ndarray, folds: list[np.ndarray], resamples: int,
                 seed: int) -> np.ndarray:
    """The per-resample loop: one roc_auc_score call per fold per resample."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    scores = np.full(resamples, np.nan)
    for r in range(resamples):
        draws = [rows[rng.integers(0, len(rows), size=len(rows))] for rows in folds]
        scores[r] = np.mean([roc_auc_score(y[d], proba[d, 1]) for d in draws])
    return scores


def breakdown(y: np.ndarray, proba: np.ndarray, folds: list[np.ndarray], resamples: int,
              repeat: int) -> dict[str, float]:
    """Seconds for all resamples of: drawing the positions; counting them per key; all."""
    sizes = [len(rows) for rows in folds]
    chunk = bootstrap.chunk_size(sum(sizes), resamples)
    blocks = list(bootstrap.resample_positions(sizes, resamples, 0, chunk))
    keys = [bootstrap.auc_keys(proba[rows, 1], y[rows] == 1) for rows in folds]
    scorers = [bootstrap.roc_auc(y[rows], proba[rows]) for rows in folds]

    def count():
        for block in blocks:
            for (key, g, tied), positions in zip(keys, block):
                bootstrap.keyed_counts(key, positions, 3 * g + 1 if tied else 2 * g + 1)

    def score():
        for block in blocks:
            for scorer, positions in zip(scorers, block):
                scorer(positions)
    def draw():
        for _ in bootstrap.resample_positions(sizes, resamples, 0, chunk):
            pass
    return {
        "draw": best_of(repeat, draw),
        "count": best_of(repeat, count),
        "count+score": best_of(repeat, score),
        "chunk": chunk,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for bakeoff")
    parser.add_argument("--loop-repeat", type=int, default=3, help="best of N for the loop")
    parser.add_argument("--chunk-mb", type=float, help="bootstrap.CHUNK_BYTES, in MiB")
    parser.add_argument("--no-loop", action="store_true", help="time bakeoff.core.bootstrap only")
    args = parser.parse_args()
    if args.chunk_mb:
        bootstrap.CHUNK_BYTES = int(args.chunk_mb * 2**20)

    rng = np.random.default_rng(0)
    y = (rng.random(args.rows) < 0.3).astype(int)
    p = 1 / (1 + np.exp(-(rng.normal(size=args.rows) + y)))
    proba = np.column_stack([1 - p, p])
    order = rng.permutation(args.rows)
    print(f"{args.resamples} resamples of ROC AUC, {args.rows:,} binary rows; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"numpy {np.__version__}")
    for folds in (np.array_split(order, args.folds), [order]):
        label = f"{len(folds)} fold(s) of {len(folds[0]):,} rows"
        ours = functools.partial(
            bootstrap.fold_bootstrap, "roc_auc", y, proba, folds, args.resamples, 0)
        fast, cpu = best_of(args.repeat, ours), cpu_of(args.repeat, ours)
        if args.no_loop:
            print(f"{label}: bakeoff.core.bootstrap {fast:.3f} s (CPU {cpu:.3f} s)")
        else:
            loop = functools.partial(sklearn_loop, y, proba, folds, args.resamples, 0)
            ours = bootstrap.fold_bootstrap("roc_auc", y, proba, folds, args.resamples, 0)
            np.testing.assert_allclose(ours, loop(), rtol=1e-10)
            slow = best_of(args.loop_repeat, loop)
            print(f"{label}: bakeoff.core.bootstrap {fast:.3f} s (CPU {cpu:.3f} s), "
                  f"scikit-learn loop {slow:.2f} s, {slow / fast:.0f}x faster; same scores")
        parts = breakdown(y, proba, folds, args.resamples, args.repeat)
        print(f"  of which: drawing {parts['draw']:.3f} s, counting {parts['count']:.3f} s, "
              f"counting and scoring {parts['count+score']:.3f} s "
              f"({parts['chunk']} resamples a chunk)")


if __name__ == "__main__":
    main()
