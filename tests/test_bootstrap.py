"""bakeoff.core.bootstrap against a plain loop: the same draws, and scikit-learn's scores on them.

The reference draws each resample's rows one fold at a time,
``rows[rng.integers(0, len(rows), size=len(rows))]``, scores every resampled fold with
scikit-learn (NaN where it raises ValueError) and averages over the folds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from bakeoff.core import bootstrap

SEED = 11
RESAMPLES = 20


def ref_roc_auc(y, proba):
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    return skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


def ref_pr_auc(y, proba):
    if proba.shape[1] == 2:
        return skm.average_precision_score(y, proba[:, 1])
    return skm.average_precision_score(np.eye(proba.shape[1])[y], proba, average="macro")


def ref_log_loss(y, proba):
    return skm.log_loss(y, np.clip(proba, 1e-15, 1), labels=np.arange(proba.shape[1]))


def ref_f1(y, proba):
    average = "binary" if proba.shape[1] == 2 else "macro"
    return skm.f1_score(y, proba.argmax(axis=1), average=average, zero_division=0)


def ref_r2(y, pred):
    """bakeoff's r2 is 0.0 where the resample's targets do not vary; scikit-learn's is then
    0.0 too unless the predictions are perfect, which they never are here."""
    return skm.r2_score(y, pred)


def ref_mape(y, pred):
    """scikit-learn floors |y| at machine epsilon, bakeoff at 1e-9: the data has |y| >= 0.05
    except for exact zeros, which the test scores by bakeoff's definition."""
    y = np.asarray(y, float)
    if np.any(y == 0):
        return float(np.mean(np.abs(y - pred) / np.maximum(np.abs(y), 1e-9)))
    return skm.mean_absolute_percentage_error(y, pred)


REFERENCE = {
    "roc_auc": ref_roc_auc,
    "pr_auc": ref_pr_auc,
    "log_loss": ref_log_loss,
    "accuracy": lambda y, proba: skm.accuracy_score(y, proba.argmax(axis=1)),
    "f1": ref_f1,
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "r2": ref_r2,
    "mape": ref_mape,
}


def reference_draws(folds, resamples, seed):
    rng = np.random.default_rng(seed)
    return [[rows[rng.integers(0, len(rows), size=len(rows))] for rows in folds]
            for _ in range(resamples)]


def reference_bootstrap(score, y, pred, folds, resamples, seed):
    scores = np.full(resamples, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined scores: one class in a resample
        for r, draws in enumerate(reference_draws(folds, resamples, seed)):
            try:
                scores[r] = np.mean([score(y[d], pred[d]) for d in draws])
            except ValueError:
                continue
    return scores


def make_folds(rng, y, sizes, tiny):
    """Folds of `sizes` over a shuffle of the rows not in `tiny`, then the `tiny` fold."""
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), tiny))
    return [*np.split(rest, np.cumsum(sizes)[:-1]), np.asarray(tiny)]


def binary_data(ties: bool):
    rng = np.random.default_rng(1 if ties else 2)
    n = 230
    y = (rng.random(n) < 0.35).astype(int)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    p = np.round(p, 1) if ties else p
    tiny = [*np.flatnonzero(y == 1)[:2], *np.flatnonzero(y == 0)[:2]]
    return y, np.column_stack([1 - p, p]), make_folds(rng, y, [75, 75, 76], tiny)


def multiclass_data(ties: bool):
    rng = np.random.default_rng(3 if ties else 4)
    n = 240
    y = rng.integers(0, 3, n)
    weights = np.eye(3)[y] + 0.6
    if ties:  # probabilities in tenths: many equal scores
        proba = np.array([rng.multinomial(10, w / w.sum()) for w in weights]) / 10
    else:
        proba = np.array([rng.dirichlet(3 * w) for w in weights])
    tiny = [*np.flatnonzero(y == 0)[:2], *np.flatnonzero(y == 1)[:2], np.flatnonzero(y == 2)[0]]
    return y, proba, make_folds(rng, y, [80, 80, 75], tiny)


def regression_data():
    rng = np.random.default_rng(5)
    n = 220
    y = np.round(rng.normal(3, 2, n), 1)
    y[np.abs(y) < 0.05] = 0.0
    y[:3] = 0.0
    pred = y + rng.normal(0, 1, n)
    return y, pred, make_folds(rng, y, [70, 70, 77], [3, 4, 5])


CASES = [(name, kind, ties)
         for name in sorted(bootstrap.CLASSIFICATION)
         for kind in ("binary", "multiclass") for ties in (True, False)]
CASES += [(name, "regression", False) for name in sorted(bootstrap.REGRESSION)]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Chunks of 4 resamples, so the chunking is exercised too."""
    monkeypatch.setattr(bootstrap, "chunk_size", lambda rows, resamples, budget=None: 4)


@pytest.mark.parametrize("name,kind,ties", CASES)
def test_same_scores_as_scikit_learn_loop(name, kind, ties):
    if kind == "regression":
        y, pred, folds = regression_data()
    else:
        y, pred, folds = (binary_data if kind == "binary" else multiclass_data)(ties)
    expected = reference_bootstrap(REFERENCE[name], y, pred, folds, RESAMPLES, SEED)
    got = bootstrap.fold_bootstrap(name, y, pred, folds, RESAMPLES, SEED)
    assert got.shape == (RESAMPLES,)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)
    assert np.isfinite(expected).sum() >= RESAMPLES // 5
    if name == "roc_auc":  # the tiny fold leaves some resamples with one class only
        assert np.isnan(expected).any()


@pytest.mark.parametrize("sizes", [[13], [5, 5, 5], [6, 6, 4, 4, 1, 6], [1], [2, 9, 2]])
def test_same_draws_as_loop(sizes):
    folds = np.split(np.random.default_rng(0).permutation(sum(sizes)), np.cumsum(sizes)[:-1])
    expected = reference_draws(folds, 23, SEED)
    got = []
    for block in bootstrap.resample_positions(sizes, 23, SEED, chunk=5):
        got += [[rows[p[i]] for rows, p in zip(folds, block)] for i in range(len(block[0]))]
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)


def test_one_call_draws_as_consecutive_calls():
    """What batching the draws rests on, with a bound where numpy rejects many tries."""
    assert bootstrap.merging_is_exact()
    for bound in (10_000, 2**31 + 12345):
        one, two = np.random.default_rng(SEED), np.random.default_rng(SEED)
        merged = one.integers(0, bound, size=3 * 1001)
        split = np.concatenate([two.integers(0, bound, size=1001) for _ in range(3)])
        np.testing.assert_array_equal(merged, split)


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc", "log_loss", "accuracy", "f1"])
def test_rows_scikit_learn_rejects(name):
    """A drawn NaN probability (or, for multiclass ROC AUC, a row not summing to 1) makes
    scikit-learn raise: the resample is NaN."""
    y, proba, folds = multiclass_data(ties=True)
    proba = proba.copy()
    proba[folds[0][0]] = [0.2, 0.2, 0.2]
    proba[folds[1][0]] = [np.nan, 0.5, 0.5]
    expected = reference_bootstrap(REFERENCE[name], y, proba, folds, RESAMPLES, SEED)
    got = bootstrap.fold_bootstrap(name, y, proba, folds, RESAMPLES, SEED)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)
    assert np.isfinite(expected).any()
    assert np.isnan(expected).any() == (name in ("roc_auc", "pr_auc", "log_loss"))


def test_other_metric_uses_given_score():
    y, proba, folds = binary_data(ties=True)

    def brier(y, proba):
        return skm.brier_score_loss(y, proba[:, 1])
    expected = reference_bootstrap(brier, y, proba, folds, RESAMPLES, SEED)
    got = bootstrap.fold_bootstrap("brier", y, proba, folds, RESAMPLES, SEED, score=brier)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="pass score"):
        bootstrap.fold_bootstrap("brier", y, proba, folds, RESAMPLES, SEED)


def test_bad_class_codes():
    y, proba, folds = binary_data(ties=True)
    with pytest.raises(ValueError, match="class codes"):
        bootstrap.fold_bootstrap("accuracy", y + 1, proba, folds, RESAMPLES, SEED)
