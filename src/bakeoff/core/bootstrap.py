"""Fold bootstrap of a metric, vectorised over the resamples.

Same draws and same scores as scoring each resample with scikit-learn, one fold at a time:

* every fold is resampled within itself, with the draws of
  ``rows[rng.integers(0, len(rows), size=len(rows))]`` for each resample and then each fold,
  from one ``np.random.default_rng(seed)``;
* a resample's score is the mean over the folds of the metric on the fold's resampled rows,
  NaN where the metric is undefined on any of them (scikit-learn raises or returns NaN).

Resamples are scored a chunk at a time. Ranking and confusion-based metrics count the draws
of the chunk with one ``np.bincount`` over keys of the rows (a score level and class for
ROC AUC and average precision, a (true, predicted) cell for F1) and score the counts: ROC AUC
as the Mann-Whitney U with ties counted 1/2, average precision as scikit-learn's sum over
tie groups, F1 from confusion counts. Means of per-row losses sum the drawn rows' losses in
the order drawn, as the loop does.

Classification takes ``y`` as class codes 0..k-1 and ``pred`` as (n, k) probabilities;
regression takes ``pred`` as (n,) values. Only numpy is imported here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence

import numpy as np

Scorer = Callable[[np.ndarray], np.ndarray]
"""Scores one fold: (chunk, fold size) positions drawn within the fold -> (chunk,) scores."""

CHUNK_BYTES = 8 * 2**20
"""Bound on the temporaries of one chunk of resamples (about 40 bytes per drawn row): small
enough to stay in cache and to reuse memory (fresh pages cost as much as the counting)."""

CLASSIFICATION = frozenset({"roc_auc", "pr_auc", "log_loss", "accuracy", "f1"})
REGRESSION = frozenset({"rmse", "mae", "r2", "mape"})


# -- the draws -------------------------------------------------------------------------------

def resample_positions(sizes: Sequence[int], resamples: int, seed: int,
                       chunk: int) -> Iterator[list[np.ndarray]]:
    """Each fold's drawn positions, `chunk` resamples at a time: a list of (c, size) arrays.

    Position p of fold `rows` stands for row ``rows[p]``. The draws are those of calling
    ``rng.integers(0, size, size=size)`` for each resample and each fold in turn, from
    ``rng = np.random.default_rng(seed)``; see `draw` for how they are batched.

    >>> [[b.shape for b in block] for block in resample_positions([3, 2], 5, seed=0, chunk=4)]
    [[(4, 3), (4, 2)], [(1, 3), (1, 2)]]
    """
    rng = np.random.default_rng(seed)
    ends = np.cumsum(sizes)
    for start in range(0, resamples, chunk):
        c = min(chunk, resamples - start)
        table = draw(rng, list(sizes) * c).reshape(c, int(sum(sizes)))
        yield [table[:, end - n:end] for n, end in zip(sizes, ends)]


def draw(rng: np.random.Generator, bounds: list[int]) -> np.ndarray:
    """``rng.integers(0, b, size=b)`` for each bound b in turn, concatenated.

    A run of equal bounds is drawn in one call: below 2**32 numpy's bounded integers take
    32-bit words from the bit generator's own stream, one per try, so consecutive calls with
    one bound give the numbers of one call of their total size (`merging_is_exact` checks
    this numpy; tests/test_bootstrap.py checks the draws against the one-call-a-fold loop).

    >>> draw(np.random.default_rng(0), [2, 2, 3]).tolist()
    [1, 1, 1, 0, 0, 0, 0]
    """
    runs = [[b, 1] for b in bounds[:1]]
    for b in bounds[1:]:
        if b == runs[-1][0] and b < 2**32 and merging_is_exact():
            runs[-1][1] += 1
        else:
            runs.append([b, 1])
    if len(runs) == 1:
        return rng.integers(0, bounds[0], size=bounds[0] * len(bounds))
    out = np.empty(sum(bounds), dtype=np.int64)
    at = 0
    for b, times in runs:
        out[at:at + b * times] = rng.integers(0, b, size=b * times)
        at += b * times
    return out


@functools.cache
def merging_is_exact() -> bool:
    """Whether this numpy draws the same integers in one call as in consecutive calls with
    the same bound (odd sizes, and a bound near 2**32 where a try is often rejected)."""
    for bound in (7, 3 * 2**30 + 1):
        one, two = np.random.default_rng(1), np.random.default_rng(1)
        merged = one.integers(0, bound, size=2 * 33)
        split = np.concatenate([two.integers(0, bound, size=33) for _ in range(2)])
        if not np.array_equal(merged, split) or one.integers(2**20) != two.integers(2**20):
            return False
    return True


def chunk_size(total_rows: int, resamples: int, budget: int | None = None) -> int:
    """Resamples per chunk so that a chunk's temporaries stay within `budget` bytes."""
    budget = CHUNK_BYTES if budget is None else budget
    return int(max(1, min(resamples, budget // (40 * max(total_rows, 1)))))


# -- shared pieces ---------------------------------------------------------------------------

def keyed_counts(key: np.ndarray, positions: np.ndarray, width: int) -> np.ndarray:
    """How often each key in 0..width-1 is drawn in each resample: (c, width) counts.

    >>> keyed_counts(np.array([0, 2, 2]), np.array([[0, 1, 2], [1, 1, 0]]), 3)
    array([[1, 0, 2],
           [1, 0, 2]])
    """
    c = positions.shape[0]
    flat = np.take(key, positions, mode="clip")  # positions are in range: skip the check
    flat += (np.arange(c, dtype=flat.dtype) * width)[:, None]
    return np.bincount(flat.ravel(), minlength=c * width).reshape(c, width)


def tie_groups(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's rank among the distinct scores (ascending; equal scores share one)."""
    distinct, group = np.unique(score, return_inverse=True)
    return group.reshape(-1), len(distinct)


def ratio(top: np.ndarray, bottom: np.ndarray, where_zero: float) -> np.ndarray:
    """top / bottom, and `where_zero` where bottom is 0, without warnings."""
    out = np.full(np.shape(top), where_zero, dtype=float)
    return np.divide(top, bottom, out=out, where=bottom != 0)


def poisoned(scorer: Scorer, bad: np.ndarray) -> Scorer:
    """NaN for the resamples that draw a `bad` row (one scikit-learn rejects as input)."""
    if not bad.any():
        return scorer

    def score(positions: np.ndarray) -> np.ndarray:
        scores = scorer(positions)
        scores[np.take(bad, positions).any(axis=1)] = np.nan
        return scores
    return score


def averaged(scorers: list[Scorer]) -> Scorer:
    """The mean of several scorers, as scikit-learn's macro average."""
    return lambda positions: np.stack([s(positions) for s in scorers], axis=1).mean(axis=1)


def mean_of(values: np.ndarray) -> Scorer:
    """The mean of a per-row value over the drawn rows, summed in the order drawn."""
    return lambda positions: np.take(values, positions).mean(axis=1)


# -- ranking metrics -------------------------------------------------------------------------

def auc_keys(score: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Count keys for `binary_auc`, with the G distinct scores of the `base` rows.

    A base row's key is its score's rank g in 0..G-1; another row's is G + L, or 2G + 1 + L
    if its score equals a base score, where L is the number of base scores below its own.
    Returns the keys, G and whether any row is tied with a base score.
    """
    levels = np.unique(score[base])
    below = np.searchsorted(levels, score)
    tied = ~base & (levels[np.minimum(below, len(levels) - 1)] == score)
    key = np.where(base, below, np.where(tied, 2 * len(levels) + 1, len(levels)) + below)
    return key, len(levels), bool(tied.any())


def binary_auc(hit: np.ndarray, score: np.ndarray) -> Scorer:
    """ROC AUC of `score` for the rows where `hit`: Mann-Whitney U / (P N), ties count 1/2.

    NaN where a resample has one class only, or draws a non-finite score. The draws of the
    smaller class ("base") are counted per distinct score and cumulated; the others are
    counted per number of base scores below theirs, so a resample costs one bincount over
    about twice the smaller class, one cumulative sum and one or two dot products.

    >>> auc = binary_auc(np.array([False, False, True, True]), np.array([.1, .4, .35, .8]))
    >>> auc(np.array([[0, 1, 2, 3], [0, 1, 0, 1], [3, 2, 1, 1]]))
    array([0.75,  nan, 0.5 ])
    """
    bad = ~np.isfinite(score)
    base_is_hit = 2 * np.count_nonzero(hit) < len(hit)
    base = hit if base_is_hit else ~hit
    if not base.any():  # the fold has one class: no resample of it has two
        return lambda positions: np.full(len(positions), np.nan)
    key, g, tied = auc_keys(np.where(bad, 0.0, score), base)

    def scorer(positions: np.ndarray) -> np.ndarray:
        counts = keyed_counts(key, positions, 3 * g + 1 if tied else 2 * g + 1)
        at_level = counts[:, :g]
        cumulated = np.cumsum(at_level, axis=1)  # base draws scored at most each level
        # u2 = 2 U, U the pairs (base draw scored below another draw) + 1/2 the tied pairs
        u2 = 2 * np.einsum("ij,ij->i", counts[:, g + 1:2 * g + 1], cumulated)
        if tied:  # tied with level L: 2 (cumulated[L] - at_level[L]) + at_level[L]
            u2 += np.einsum("ij,ij->i", counts[:, 2 * g + 1:], 2 * cumulated - at_level)
        n_base = cumulated[:, -1]
        pairs2 = 2 * n_base * (positions.shape[1] - n_base)
        return ratio(pairs2 - u2 if base_is_hit else u2, pairs2, np.nan)
    return poisoned(scorer, bad)


def binary_ap(hit: np.ndarray, score: np.ndarray) -> Scorer:
    """Average precision as scikit-learn: sum over distinct scores, best first, of the share
    of the hits at that score times the precision at that threshold; 0 without hits."""
    bad = ~np.isfinite(score)
    group, width = tie_groups(-np.where(bad, 0.0, score))
    key = group + width * hit

    def scorer(positions: np.ndarray) -> np.ndarray:
        counts = keyed_counts(key, positions, 2 * width).reshape(-1, 2, width)
        hits = counts[:, 1]
        tp = np.cumsum(hits, axis=1)
        seen = tp + np.cumsum(counts[:, 0], axis=1)
        precision = ratio(tp, seen, 0.0)
        return ratio(np.einsum("ij,ij->i", hits, precision), tp[:, -1], 0.0)
    return poisoned(scorer, bad)


def roc_auc(y: np.ndarray, proba: np.ndarray) -> Scorer:
    """Binary: ROC AUC of proba[:, 1]. Multiclass: macro one-vs-rest over every class, NaN
    where a resample lacks a class or draws a row whose probabilities do not sum to 1."""
    k = proba.shape[1]
    if k == 2:
        return binary_auc(y == 1, proba[:, 1])
    bad = ~np.isfinite(proba).all(axis=1) | ~np.isclose(1, proba.sum(axis=1))
    return poisoned(averaged([binary_auc(y == c, proba[:, c]) for c in range(k)]), bad)


def pr_auc(y: np.ndarray, proba: np.ndarray) -> Scorer:
    """Average precision: binary on proba[:, 1]; multiclass the macro mean over classes."""
    k = proba.shape[1]
    if k == 2:
        return binary_ap(y == 1, proba[:, 1])
    bad = ~np.isfinite(proba).all(axis=1)
    return poisoned(averaged([binary_ap(y == c, proba[:, c]) for c in range(k)]), bad)


# -- confusion-based and per-row metrics -----------------------------------------------------

def f1(y: np.ndarray, proba: np.ndarray) -> Scorer:
    """F1 of the argmax: of class 1 when binary, else the macro mean over the classes that
    are true or predicted in the resample; 0 where undefined (zero_division=0)."""
    k = proba.shape[1]
    cell = y * k + proba.argmax(axis=1)

    def scorer(positions: np.ndarray) -> np.ndarray:
        confusion = keyed_counts(cell, positions, k * k).reshape(-1, k, k)
        tp = np.diagonal(confusion, axis1=1, axis2=2)
        support = confusion.sum(axis=2) + confusion.sum(axis=1)
        scores = ratio(2.0 * tp, support, 0.0)
        if k == 2:
            return scores[:, 1]
        return scores.sum(axis=1) / (support > 0).sum(axis=1)
    return scorer


def accuracy(y: np.ndarray, proba: np.ndarray) -> Scorer:
    """Share of the drawn rows whose argmax is the true class."""
    return mean_of((proba.argmax(axis=1) == y).astype(float))


def log_loss(y: np.ndarray, proba: np.ndarray) -> Scorer:
    """Mean of -log p(true class), p clipped to [1e-15, 1] and then, as scikit-learn does,
    to [eps, 1 - eps]; NaN where a drawn row has a NaN probability."""
    eps = np.finfo(float).eps
    p = np.clip(np.clip(proba[np.arange(len(y)), y], 1e-15, 1), eps, 1 - eps)
    return poisoned(mean_of(-np.log(p)), np.isnan(proba).any(axis=1))


def rmse(y: np.ndarray, pred: np.ndarray) -> Scorer:
    """Root mean squared error."""
    mse = mean_of((np.asarray(y, float) - pred) ** 2)
    return lambda positions: np.sqrt(mse(positions))


def mae(y: np.ndarray, pred: np.ndarray) -> Scorer:
    """Mean absolute error."""
    return mean_of(np.abs(np.asarray(y, float) - pred))


def mape(y: np.ndarray, pred: np.ndarray) -> Scorer:
    """Mean absolute error relative to max(|y|, 1e-9)."""
    y = np.asarray(y, float)
    return mean_of(np.abs(y - pred) / np.maximum(np.abs(y), 1e-9))


def r2(y: np.ndarray, pred: np.ndarray) -> Scorer:
    """1 - squared error / total variation of the drawn targets; 0.0 where that is not > 0."""
    y = np.asarray(y, float)
    squared = (y - pred) ** 2

    def scorer(positions: np.ndarray) -> np.ndarray:
        drawn = np.take(y, positions)
        drawn -= drawn.mean(axis=1, keepdims=True)
        total = np.sum(drawn * drawn, axis=1)
        sse = np.take(squared, positions).sum(axis=1)
        out = np.zeros(len(total))
        return np.subtract(1, sse / np.where(total > 0, total, 1), out=out, where=total > 0)
    return scorer


SCORERS: dict[str, Callable[[np.ndarray, np.ndarray], Scorer]] = {
    "roc_auc": roc_auc, "pr_auc": pr_auc, "log_loss": log_loss, "accuracy": accuracy,
    "f1": f1, "rmse": rmse, "mae": mae, "r2": r2, "mape": mape,
}
"""The metrics scored for all resamples at once: name -> (fold's y, fold's pred) -> Scorer."""


# -- the bootstrap ---------------------------------------------------------------------------

def class_codes(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """`y` as integer codes, checked against the (n, k) probabilities."""
    y = np.asarray(y)
    if proba.ndim != 2 or len(y) != len(proba):
        raise ValueError(f"classification needs (n, k) probabilities for {len(y)} rows, "
                         f"got shape {proba.shape}")
    codes = y.astype(np.intp)
    if len(y) and (not np.array_equal(codes, y) or codes.min() < 0
                   or codes.max() >= proba.shape[1]):
        raise ValueError(f"y must hold class codes 0..{proba.shape[1] - 1}")
    return codes


def loop_bootstrap(score: Callable[[np.ndarray, np.ndarray], float], y: np.ndarray,
                   pred: np.ndarray, folds: list[np.ndarray], resamples: int,
                   seed: int) -> np.ndarray:
    """The fold bootstrap one resample at a time with `score(y, pred)`: for any metric.

    A resample where `score` raises ValueError on a fold is NaN.
    """
    scores = np.full(resamples, np.nan)
    if not folds:  # the mean over no folds is NaN
        return scores
    sizes = [len(rows) for rows in folds]
    r = 0
    for block in resample_positions(sizes, resamples, seed, chunk_size(sum(sizes), resamples)):
        for i in range(block[0].shape[0]):
            draws = [rows[positions[i]] for rows, positions in zip(folds, block)]
            try:
                scores[r] = np.mean([score(y[d], pred[d]) for d in draws])
            except ValueError:
                pass
            r += 1
    return scores


def fold_bootstrap(metric_name: str, y: np.ndarray, pred: np.ndarray,
                   folds: list[np.ndarray], resamples: int, seed: int,
                   score: Callable[[np.ndarray, np.ndarray], float] | None = None
                   ) -> np.ndarray:
    """The mean over `folds` of the metric on `resamples` resamples, each fold resampled
    within itself; NaN where the metric is undefined on a resampled fold.

    Metrics in `SCORERS` are scored for all resamples at once; any other name needs
    `score(y, pred)` and is scored one resample at a time (see `loop_bootstrap`).
    """
    build = SCORERS.get(metric_name)
    if build is None:
        if score is None:
            raise ValueError(f"no vectorised form of metric {metric_name!r} (have "
                             f"{', '.join(SCORERS)}): pass score(y, pred)")
        return loop_bootstrap(score, y, pred, folds, resamples, seed)
    if not folds or resamples == 0:  # nothing drawn; the mean over no folds is NaN
        return np.full(resamples, np.nan)
    if min(len(rows) for rows in folds) == 0:
        raise ValueError("cannot resample an empty fold")
    if metric_name in CLASSIFICATION:
        y = class_codes(y, pred)
    scorers = [build(y[rows], pred[rows]) for rows in folds]
    sizes = [len(rows) for rows in folds]
    chunks = resample_positions(sizes, resamples, seed, chunk_size(sum(sizes), resamples))
    return np.concatenate([
        np.stack([s(p) for s, p in zip(scorers, block)], axis=1).mean(axis=1)
        for block in chunks])
