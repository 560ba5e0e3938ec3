"""Evaluate one candidate: tune, cross-validate, refit, score the holdout, measure cost.

Runs inside the candidate's worker process; returns a flat, picklable Evaluation.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Candidate, Fitted
from bakeoff.core.cost import measure_serving
from bakeoff.core.engine import checkpoint
from bakeoff.core.evaluation import Evaluation
from bakeoff.core.metrics import Metric, fold_bootstrap, fold_score, split_aware_interval
from bakeoff.core.schedule import Guide
from bakeoff.core.tune import Tuning, tune
from bakeoff.errors import CandidateError
from bakeoff.tasks.tabular.data import Dataset
from bakeoff.tasks.tabular.ladder.sklearn_base import SklearnCandidate, preprocess
from bakeoff.tasks.tabular.metrics import METRICS

Split = tuple[np.ndarray, np.ndarray]


def predictions(fitted: Fitted, X: pd.DataFrame, task: str, classes: int = 0) -> np.ndarray:
    """What a metric scores: class probabilities for classification (one column per class,
    `classes` of them when given), values otherwise. Output of another shape, or probabilities
    outside [0, 1], fails the candidate: numpy would broadcast a column into every class.

    >>> class OneColumn:
    ...     def predict_proba(self, X): return np.full((len(X), 1), 0.5)
    >>> predictions(OneColumn(), pd.DataFrame({"x": [1, 2]}), "classification", 2)
    Traceback (most recent call last):
    bakeoff.errors.CandidateError: its predict_proba returned shape (2, 1) for 2 rows of 2 classes: a classifier returns one probability column per class
    """
    if task != "classification":
        pred = np.asarray(fitted.predict(X))
        _expect(pred.shape == (len(X),), f"its predict returned shape {pred.shape} for {len(X)} rows: "
                                         "a regressor returns one value per row")
        return pred
    pred = np.asarray(fitted.predict_proba(X))
    wanted = f"{classes} classes" if classes else "its classes"
    _expect(pred.ndim == 2 and pred.shape[0] == len(X) and pred.shape[1] == (classes or max(pred.shape[1], 2)),
            f"its predict_proba returned shape {pred.shape} for {len(X)} rows of {wanted}: "
            "a classifier returns one probability column per class")
    _expect(np.issubdtype(pred.dtype, np.number) and not (np.any(pred < -1e-9) or np.any(pred > 1 + 1e-9)),
            "its predict_proba returned values outside [0, 1]: probabilities are between 0 and 1")
    return pred


def _expect(holds: bool, problem: str) -> None:
    if not holds:
        raise CandidateError(problem)


def mean_score(candidate: Candidate, X: pd.DataFrame, y: np.ndarray, metric: Metric,
               splits: list[Split], learned: dict | None = None) -> float:
    """The candidate's metric on each validation split, fitted on the rest, averaged. With
    `learned` (a dict kept across calls), preprocessing is learned once per split and reused."""
    scores = []
    for i, (train, val) in enumerate(splits):
        fitted = candidate.fit(X.iloc[train], y[train], **_reuse(candidate, X.iloc[train], i, learned))
        scores.append(metric.score(y[val], predictions(fitted, X.iloc[val], candidate.task)))
    return float(np.mean(scores))


def _reuse(candidate: Candidate, X: pd.DataFrame, split: int, learned: dict | None) -> dict:
    """`prepared=` for a scikit-learn candidate: the split's preprocessing, learned on first use."""
    if learned is None or not isinstance(candidate, SklearnCandidate):
        return {}
    key = (split, candidate.scale)
    if key not in learned:
        learned[key] = preprocess(X, candidate.scale)
    return {"prepared": learned[key]}


def evaluate_job(cls: type[Candidate], dataset: Dataset, settings, seconds: float,
                 guide: Guide | None = None) -> Evaluation:
    """The tabular task's full evaluation in a worker: build the candidate for this data and
    evaluate it, guided by the costs its quick pass measured."""
    return evaluate(build_candidate(cls, dataset, settings), dataset, METRICS[settings.metric],
                    trials=settings.trials, resamples=settings.resamples, guide=guide,
                    refit=settings.refit)


def build_candidate(cls: type[Candidate], dataset: Dataset, settings) -> Candidate:
    """The candidate for this data, with the run's seed and default hyperparameters."""
    return cls(task=dataset.task, seed=settings.seed, n_classes=len(dataset.classes),
               class_names=tuple(dataset.classes))


MIN_RESAMPLES = 100  # fewer bootstrap resamples give intervals too rough to compare candidates


def tuning_splits(dataset: Dataset, seed: int, k: int = 3, rows: int | None = None) -> list[Split]:
    """Where tuning scores: when time-ordered, the latest fifth of the last fold's training
    rows (so the last validation fold stays unseen); else k folds shuffled with another seed
    than the evaluation folds. With `rows`, on that many of the rows (the latest, or a draw)."""
    if dataset.time_ordered:
        earlier = dataset.folds[-1][0]
        earlier = earlier[-rows:] if rows else earlier
        cut = int(len(earlier) * 0.8)
        return [(earlier[:cut], earlier[cut:])]
    from sklearn.model_selection import KFold, StratifiedKFold

    y = dataset.y_train
    keep = np.arange(len(y))
    if rows and rows < len(y):
        keep = np.sort(np.random.default_rng(seed + 2).choice(len(y), rows, replace=False))
    splitter = (StratifiedKFold if dataset.task == "classification" else KFold)(
        n_splits=k, shuffle=True, random_state=seed + 1)
    return [(keep[t], keep[v]) for t, v in splitter.split(np.zeros(len(keep)), y[keep])]


def cross_validate(candidate: Candidate, dataset: Dataset, metric: Metric,
                   fit_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Out-of-fold predictions over the training part and their score (the mean over folds).
    With `fit_rows`, each fold's model fits on that many of its training rows (a seeded draw;
    the latest when time-ordered) and still predicts every validation row."""
    X, y = dataset.X_train, dataset.y_train
    shape = (len(y), len(dataset.classes)) if dataset.classes else (len(y),)
    oof, scored = np.full(shape, np.nan), np.zeros(len(y), bool)
    rng = np.random.default_rng(candidate.seed + 3)
    for train, val in dataset.folds:
        if fit_rows and fit_rows < len(train):
            train = train[-fit_rows:] if dataset.time_ordered else np.sort(rng.choice(train, fit_rows, replace=False))
        fitted = candidate.fit(X.iloc[train], y[train])
        oof[val] = predictions(fitted, X.iloc[val], dataset.task, len(dataset.classes))
        scored[val] = True
    return oof, scored, fold_score(metric, y, oof, [val for _, val in dataset.folds])


MIN_TRIALS = 8  # tuning with fewer trials than this moves to a sample of the rows
MIN_TUNING_ROWS = 1_000  # a sample smaller than this tunes for other data than the model's


def tune_within(candidate: Candidate, dataset: Dataset, metric: Metric, *, trials: int,
                guide: Guide | None) -> Tuning:
    """Tune for the seconds the schedule planned (`guide`). When fewer than `MIN_TRIALS` trials
    of the cost the quick pass measured would fit, tune on a sample of the rows small enough
    for them (the `Tuning` says how many rows)."""
    if not candidate.default_params():
        return Tuning({}, 0, "nothing to tune")
    tuning_seconds = guide.tuning_seconds if guide else 0.0
    if tuning_seconds <= 0:
        return Tuning(candidate.default_params(), 0, "time")
    n = len(dataset.y_train)
    rows, trial = n, guide.glance.trial_seconds
    if guide.fit_rows:  # the folds fit on a sample: tuning fits on no more rows than they do
        rows = int(guide.fit_rows * 1.5)
        trial *= (rows / n) ** guide.glance.fit_power
    if trial * MIN_TRIALS > tuning_seconds:
        fewer = int(rows * (tuning_seconds / (trial * MIN_TRIALS)) ** (1 / guide.glance.fit_power))
        rows = fewer if fewer >= MIN_TUNING_ROWS else rows  # else as many trials as fit
    rows = min(rows, n)
    splits = tuning_splits(dataset, candidate.seed, rows=rows)
    X, y = dataset.X_train, dataset.y_train
    learned: dict = {}
    tuning = tune(candidate, lambda tried: mean_score(tried, X, y, metric, splits, learned),
                  metric.higher_is_better, trials=min(trials, candidate.max_trials or trials),
                  seconds=tuning_seconds, refits_after=len(dataset.folds) + 2, splits=len(splits))
    return dataclasses.replace(tuning, rows=rows if rows < n else 0)


def resample_seconds(metric: Metric, y: np.ndarray, pred: np.ndarray, folds: int,
                     probe: int = 20) -> float:
    """Seconds one bootstrap resample of `folds` folds costs, timed on `probe` resamples of one
    fold's rows `y`, `pred` (best of 2): the unit of the bootstrap's cost."""
    best, rows = float("inf"), [np.arange(len(y))]
    for _ in range(2):
        start = time.perf_counter()
        fold_bootstrap(metric, y, pred, rows, probe, 0)
        best = min(best, (time.perf_counter() - start) / probe)
    return best * folds


def run_resamples(dataset: Dataset, metric: Metric, wanted: int, seconds: float) -> int:
    """The bootstrap resamples every candidate of a run uses (the same for all, so that their
    differences stay paired): `wanted`, or fewer when they would not fit in a slice."""
    y = dataset.y_train[_timing_rows(dataset)]
    if dataset.classes:
        shares = np.bincount(dataset.y_train, minlength=len(dataset.classes)) / len(dataset.y_train)
        pred = np.tile(shares, (len(y), 1))
        pred = pred + np.random.default_rng(0).normal(0, 1e-6, pred.shape)  # ties would flatter the timing
    else:
        pred = np.full(len(y), float(np.mean(dataset.y_train)))
    return affordable_resamples(wanted, resample_seconds(metric, y, pred, len(dataset.folds)), seconds)


def _timing_rows(dataset: Dataset) -> np.ndarray:
    """The rows a timing scores: a validation fold."""
    return dataset.folds[0][1] if dataset.folds else np.arange(len(dataset.y_train))


def affordable_resamples(wanted: int, per_resample: float, seconds: float) -> int:
    """Bootstrap resamples that fit in a fifth of the slice (at least 100, at most `wanted`).

    >>> affordable_resamples(500, 0.005, 60.0), affordable_resamples(500, 0.02, 10.0)
    (500, 100)
    """
    fits = int(0.2 * seconds / max(per_resample, 1e-9))
    return max(min(wanted, fits), min(wanted, MIN_RESAMPLES))


def evaluate(candidate: Candidate, dataset: Dataset, metric: Metric, *, trials: int,
             resamples: int = 500, guide: Guide | None = None, refit: str = "all") -> Evaluation:
    """Everything the bake-off records about one candidate, anytime: first its defaults are
    assessed in full and handed to the engine as a checkpoint (so a job stopped later still
    counts, scored with its defaults); then it is tuned for the seconds the schedule planned
    and, when tuning found other settings, assessed again with them. The saved model learns
    from every row (`refit="all"`) once the settings are final."""
    start = time.monotonic()
    fit_rows = guide.fit_rows if guide else None
    untuned = Tuning(candidate.default_params(), 0, "time" if candidate.default_params() else "nothing to tune")
    first = _assess(candidate, dataset, metric, untuned, fit_rows, resamples)
    first = dataclasses.replace(first, assess_seconds=time.monotonic() - start)
    checkpoint(dataclasses.replace(first, work_seconds=first.assess_seconds - first.work_seconds))
    harness = first.work_seconds
    tuning = tune_within(candidate, dataset, metric, trials=trials, guide=guide)
    final = dataclasses.replace(first, tuning=tuning)
    refitting = refit == "all" and first.final_rows < len(dataset.y)  # the holdout, or rows left out to save time
    if tuning.params != untuned.params:  # the model refitted on every row is the one measured, if any
        final = _assess(candidate.with_params(**tuning.params), dataset, metric, tuning, fit_rows, resamples,
                        measure=not refitting)
        harness += final.work_seconds
    if refitting:
        final = _refit_on_every_row(final, candidate.with_params(**tuning.params), dataset)
    return dataclasses.replace(final, work_seconds=time.monotonic() - start - harness)


def _assess(candidate: Candidate, dataset: Dataset, metric: Metric, tuning: Tuning,
            fit_rows: int | None, resamples: int, measure: bool = True) -> Evaluation:
    """Cross-validation, the bootstrap, the model fitted on the training part, its holdout score
    and (with `measure`) its serving cost, for one setting of the hyperparameters. `work_seconds`
    holds the harness's own part here (the bootstrap and the measurements), for the caller to
    subtract."""
    oof, scored, cv_score = cross_validate(candidate, dataset, metric, fit_rows)
    if not np.isfinite(cv_score):
        raise ValueError(f"its {metric.name} is undefined on these folds (a validation part with one class, or "
                         "predictions that are not numbers)")
    measuring = time.monotonic()
    validation = [val for _, val in dataset.folds]
    boot = fold_bootstrap(metric, dataset.y_train, oof, validation, resamples, candidate.seed)
    fold_scores = [float(metric.score(dataset.y_train[rows], oof[rows])) for rows in validation]
    harness = time.monotonic() - measuring
    rows = _training_rows(dataset, fit_rows, candidate.seed)
    fit_start = time.perf_counter()
    fitted = candidate.fit(dataset.X_train.iloc[rows], dataset.y_train[rows])
    fit_seconds = time.perf_counter() - fit_start
    holdout_score = _holdout_score(fitted, dataset, metric)
    measuring = time.monotonic()
    evaluation = Evaluation(
        candidate.name, tuning, oof, scored, cv_score, boot, split_aware_interval(boot, fold_scores), holdout_score,
        fit_seconds, 0.0, 0.0, 0, 0, False, "", fitted, None, 0.0, final_rows=len(rows),
        fold_fit_rows=fit_rows or 0)
    if measure:
        evaluation = _measured(evaluation, dataset, candidate.seed)
    return dataclasses.replace(evaluation, work_seconds=harness + time.monotonic() - measuring)


def _training_rows(dataset: Dataset, fit_rows: int | None, seed: int) -> np.ndarray:
    """Positions in the training part the model scored on the holdout fits on: all of them, or
    when the folds fit on `fit_rows` rows, as many more as a fold's training part is to its
    sample (the latest rows when time-ordered)."""
    n, k = len(dataset.y_train), len(dataset.folds)
    if not fit_rows:
        return np.arange(n)
    size = min(n, int(fit_rows * k / (k - 1)))
    if dataset.time_ordered:
        return np.arange(n - size, n)
    return np.sort(np.random.default_rng(seed + 4).choice(n, size, replace=False))


def _refit_on_every_row(evaluation: Evaluation, candidate: Candidate, dataset: Dataset) -> Evaluation:
    """The evaluation with the model users get fitted on every row (training part and holdout);
    the one fitted on the training part, which scored the holdout, kept beside it."""
    fit_start = time.perf_counter()
    final = candidate.fit(dataset.X, dataset.y)
    fit_seconds = time.perf_counter() - fit_start
    refitted = dataclasses.replace(evaluation, fitted=final, scored_model=evaluation.fitted,
                                   fit_seconds=fit_seconds, final_rows=len(dataset.y))
    return _measured(refitted, dataset, candidate.seed)


def _measured(evaluation: Evaluation, dataset: Dataset, seed: int) -> Evaluation:
    """The evaluation with its saved model's serving cost, size, description and SQL support."""
    model = evaluation.fitted
    serving = measure_serving(lambda rows: predictions(model, rows, dataset.task), dataset.X_train, model,
                              seed=seed)
    no_sql = _sql_reason(model, dataset)
    return dataclasses.replace(evaluation, predict_us_per_row=serving.predict_us_per_row,
                               latency_ms_p50=serving.latency_ms_p50, model_bytes=serving.model_bytes,
                               n_params=model.n_params, sql=no_sql is None, description=model.describe(),
                               sql_reason=no_sql)


def _sql_reason(fitted: Fitted, dataset: Dataset) -> str | None:
    """Why the fitted model cannot run as SQL, or None when it can."""
    from bakeoff.tasks.tabular.sql import sql_support

    try:
        return sql_support(fitted, dataset.task, len(dataset.classes), dataset.schema)
    except Exception as err:  # a custom candidate's model can be anything
        return f"{type(err).__name__} while exporting"


def _holdout_score(fitted: Fitted, dataset: Dataset, metric: Metric) -> float | None:
    """The score on the untouched holdout rows, or None when there are none."""
    if not len(dataset.holdout_index):
        return None
    pred = predictions(fitted, dataset.X.iloc[dataset.holdout_index], dataset.task, len(dataset.classes))
    return float(metric.score(dataset.y[dataset.holdout_index], pred))
