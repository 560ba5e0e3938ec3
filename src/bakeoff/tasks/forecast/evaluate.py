"""Evaluate one forecasting candidate in its worker: rolling-origin windows, the holdout, the
forecasts users get, and their cost.

One statsforecast cross-validation gives `windows` evaluation windows and, as its last window,
the holdout (the last `horizon` steps of every series, which the windows before never see).
Each series gets one score per window; its cross-validated score is their mean, and the
portfolio score is the mean over series. Intervals come from resampling series (the same
draws for every candidate, so differences are paired).
"""

from __future__ import annotations

import pickle
import time

import numpy as np

from bakeoff.core.evaluation import Evaluation
from bakeoff.core.metrics import percentile_interval
from bakeoff.core.schedule import Glance
from bakeoff.core.tune import Tuning
from bakeoff.tasks.forecast import conformal
from bakeoff.tasks.forecast.data import Series
from bakeoff.tasks.forecast.ladder import ForecastCandidate
from bakeoff.tasks.forecast.metrics import coverage, series_scores

QUICK_SERIES = 12  # series a quick pass forecasts, to measure a candidate's cost per series
MIN_SERIES = 30  # a candidate too slow for every series is evaluated on a sample of at least this many
RETIME_BELOW = 1.0  # a quick pass faster than this is timed again (its timing is noisier than its cost)
CHEAP_SECONDS = 5.0  # a candidate whose evaluation of every series is estimated below this is never sampled


def build(cls: type[ForecastCandidate], data: Series, settings) -> ForecastCandidate:
    return cls(seed=settings.seed, seasons=tuple(data.seasons))


def window_scores(metric: str, data: Series, values: list[np.ndarray], means: np.ndarray) -> np.ndarray:
    """Scores of rolling-origin forecasts `means` (series x windows x steps): series x windows."""
    h, windows = data.horizon, means.shape[1]
    actual = window_actuals(values, h, windows)
    scores = np.empty(means.shape[:2])
    for w in range(windows):
        history = [v[:len(v) - (windows - w) * h] for v in values]  # before the window's origin
        scores[:, w] = series_scores(metric, actual[:, w], means[:, w], history, data.season)
    return scores


def window_actuals(values: list[np.ndarray], horizon: int, windows: int) -> np.ndarray:
    """The actual values of `windows` rolling-origin windows of `horizon` steps, the last ending
    at each series' end: series x windows x steps.

    >>> window_actuals([np.arange(5.0)], 2, 2).tolist()
    [[[1.0, 2.0], [3.0, 4.0]]]
    """
    return np.stack([np.stack([v[len(v) - (windows - w) * horizon:len(v) - (windows - w - 1) * horizon]
                               for w in range(windows)]) for v in values])


def interval_bounds(candidate: ForecastCandidate, data: Series, values: list[np.ndarray], windows, final):
    """The intervals of the last window's forecasts (the holdout's) and of the final ones: the
    model's own, or, for a model that gives none, conformal ones from its windows' errors (the
    holdout's from the windows before it, the final forecasts' from all of them); both raised to
    the card's floor. `windows` and `final` are the candidate's forecasts, already floored."""
    if candidate.intervals or not data.levels:
        last, ends = {k: (lo[:, -1], hi[:, -1]) for k, (lo, hi) in windows.bounds.items()}, final.bounds
    else:
        h, count = data.horizon, windows.mean.shape[1]
        scale = conformal.scales(values, count * h, data.season)
        errors = conformal.scaled(window_actuals(values, h, count) - windows.mean, scale)
        levels = tuple(data.levels)
        last = conformal.bounds(windows.mean[:, -1], errors[:, :-1], scale, levels)
        ends = conformal.bounds(final.mean, errors, scale, levels)
    return ({k: (data.floored(lo), data.floored(hi)) for k, (lo, hi) in last.items()},
            {k: (data.floored(lo), data.floored(hi)) for k, (lo, hi) in ends.items()})


def floored(data: Series, made):
    """A candidate's forecasts (a `fitting.Made`) raised to the card's floor (its bounds are
    floored where they are made final, in `interval_bounds`)."""
    return made if data.floor is None else made._replace(mean=data.floored(made.mean))


def glance_job(cls, data: Series, settings, seconds: float, guide=None) -> Glance:
    """The quick pass: the candidate's last evaluation window on a sample of the series. One
    series goes first (it pays the first call's costs: imports, compiling); then half the sample
    and all of it are timed, which tells a fixed cost per call (statsforecast's or mlforecast's
    own set-up, a global model's training) apart from the cost per series. A candidate so slow
    that those would not fit its `seconds` is judged on the first series alone (its time taken as
    the cost per series, a little high), so the schedule learns what it would need rather than
    seeing its quick pass cut off (not a global model: its cost is per call, not per series)."""
    candidate = build(cls, data, settings)
    rng = np.random.default_rng(settings.seed)
    picked = np.sort(rng.choice(data.count, min(QUICK_SERIES, data.count), replace=False))
    sample = [data.values[i][:-data.horizon] for i in picked]
    began = time.perf_counter()
    halves = max(len(sample) // 2, 1)
    first, means = _timed(candidate, sample[:1], data, calendar(candidate, data, picked[:1]))
    if candidate.local and first * (halves + len(sample)) > seconds - first:  # slow: its need, from one series
        one_fit, sample = first * data.count, sample[:1]
    else:
        one_fit, means = _cost_per_fit(candidate, sample, picked, data)
    score = float(np.nanmean(window_scores(settings.metric, data, sample, means)))
    fits = data.windows + 2  # the windows, the holdout, the forecasts users get
    every = one_fit * fits < CHEAP_SECONDS or not candidate.local  # cheap, or a global model: never sampled
    # the final forecast is part of what every evaluation must do (no refit_seconds, which the
    # schedule may leave out): without it there is nothing to forecast with
    return Glance(score, len(sample), time.perf_counter() - began, one_fit * fits + 0.5, 0.0, False,
                  folds_seconds=one_fit * fits, fit_power=1.0, train_rows=data.count,
                  min_rows=data.count if every else min(MIN_SERIES, data.count))


def _cost_per_fit(candidate: ForecastCandidate, sample: list[np.ndarray], picked, data: Series):
    """Seconds of one fit of every series (from timings of half the sample and all of it) and
    the sample's forecasts."""
    halves = max(len(sample) // 2, 1)
    half, seconds_all = float("inf"), float("inf")
    for _ in range(2):  # a cheap one timed twice, the faster kept: a moment's stall on a busy machine
        #                 would read as a fixed cost and hide the cost per series
        half = min(half, _timed(candidate, sample[:halves], data, calendar(candidate, data, picked[:halves]))[0])
        took, means = _timed(candidate, sample, data, calendar(candidate, data, picked))
        seconds_all = min(seconds_all, took)
        if seconds_all > RETIME_BELOW:
            break
    return fit_seconds_at(data.count, len(sample), half, seconds_all), means


def _timed(candidate: ForecastCandidate, series: list[np.ndarray], data: Series,
           dates: dict) -> tuple[float, np.ndarray]:
    """Seconds of one window's forecasts (with the intervals the evaluation will ask for: for
    some models they cost more than the fit), and the forecasts."""
    levels = tuple(data.levels) if candidate.intervals else ()
    start = time.perf_counter()
    means = candidate.cross_validate(series, data.horizon, 1, levels, **dates).mean
    return time.perf_counter() - start, data.floored(means)


def calendar(candidate: ForecastCandidate, data: Series, rows) -> dict:
    """What a candidate with calendar features is told of the series at `rows`: their first
    steps (`starts`); nothing for the others."""
    return {"starts": [data.starts[i] for i in rows]} if candidate.calendar and data.starts else {}


def fit_seconds_at(count: int, sampled: int, half_seconds: float, seconds: float) -> float:
    """Seconds one fit of `count` series takes, from fits of `sampled` series and of half as
    many: a fixed part and a part per series (never less per series than a tenth of the
    average: timings of small fits are noisy).

    >>> round(fit_seconds_at(400, 12, 0.5, 1.0), 2), round(fit_seconds_at(400, 12, 1.0, 1.0), 2)
    (33.33, 4.23)
    """
    half = max(sampled // 2, 1)
    per_series = max((seconds - half_seconds) / max(sampled - half, 1), seconds / sampled / 10)
    fixed = max(seconds - per_series * sampled, 0.0)
    return fixed + per_series * count


def evaluate_job(cls, data: Series, settings, seconds: float, guide=None) -> Evaluation:
    """The full evaluation of one candidate: on every series, or (when the schedule says all of
    them would not fit its slice: `guide.fit_rows`) on a seeded sample of them. Series outside
    the sample have no score from it (NaN) and get seasonal naive forecasts from it."""
    candidate = build(cls, data, settings)
    levels = tuple(data.levels) if candidate.intervals else ()
    rows = sampled_series(data.count, guide.fit_rows if guide else None, settings.seed)
    values = [data.values[i] for i in rows]
    began = time.perf_counter()
    dates = calendar(candidate, data, rows)
    windows = floored(data, candidate.cross_validate(values, data.horizon, data.windows + 1, levels, **dates))
    scores = window_scores(settings.metric, data, values, windows.mean)
    cv, holdout = _spread(data.count, rows, scores[:, :-1].mean(axis=1)), _spread(data.count, rows, scores[:, -1])
    fit_start = time.perf_counter()
    made = floored(data, candidate.forecast(values, data.horizon, levels, **dates))
    fit_seconds = time.perf_counter() - fit_start
    last, made_bounds = interval_bounds(candidate, data, values, windows, made)
    shares = {k: coverage(data.holdout()[rows], lo, hi) for k, (lo, hi) in last.items()}
    scored_model = candidate.forecasts(*_filled(data, rows, windows.mean[:, -1], last, holdout=True), holdout, shares)
    final = candidate.forecasts(*_filled(data, rows, made.mean, made_bounds))
    scored_model.fallback = final.fallback = frozenset(set(range(data.count)) - set(rows.tolist()))
    scored_model.failed = final.failed = frozenset(int(rows[k]) for k in windows.failed | made.failed)
    work = time.perf_counter() - began  # the candidate's own fitting and forecasting; the rest is the harness's
    boot = resampled_means(cv, settings.resamples, settings.seed)
    return Evaluation(
        candidate.name, Tuning({}, 0, "nothing to tune"), cv, np.isfinite(cv), float(np.nanmean(cv)), boot,
        percentile_interval(boot), float(np.nanmean(holdout)), fit_seconds,
        fit_seconds * 1e6 / (len(rows) * data.horizon), _one_series_ms(candidate, data), len(pickle.dumps(final)),
        final.n_params, False, candidate.summary, final, "forecasts are not exported as SQL", work,
        scored_model, final_rows=data.rows, fold_fit_rows=len(rows) if len(rows) < data.count else 0,
        notes=failure_notes(candidate.name, final.failed, len(rows)))


def failure_notes(name: str, failed: frozenset[int], tried: int) -> list[str]:
    """The note on series a candidate failed on (statsforecast gave them seasonal naive's forecasts).

    >>> failure_notes("auto_arima", frozenset({3, 9}), 414)
    ['auto_arima failed on 2 of 414 series; seasonal naive forecasts those (in its scores too, and in bakeoff predict)']
    """
    if not failed:
        return []
    return [f"{name} failed on {len(failed):,} of {tried:,} series; seasonal naive forecasts those (in its "
            "scores too, and in bakeoff predict)"]


def sampled_series(count: int, wanted: int | None, seed: int) -> np.ndarray:
    """Positions of the series to evaluate: all, or the first `wanted` of one seeded order of
    them (so the samples of two candidates are nested: the smaller inside the larger), sorted.

    >>> sampled_series(5, None, 0).tolist(), set(sampled_series(100, 30, 0)) <= set(sampled_series(100, 60, 0))
    ([0, 1, 2, 3, 4], True)
    """
    if not wanted or wanted >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed + 5).permutation(count)[:wanted])


def _spread(count: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-series values of the sampled `rows` in an array over every series (NaN elsewhere)."""
    out = np.full(count, np.nan)
    out[rows] = values
    return out


def _filled(data: Series, rows: np.ndarray, mean: np.ndarray, bounds: dict, holdout: bool = False):
    """Forecasts of the sampled `rows` for every series: the others get the seasonal naive
    forecast (of their training part, for the `holdout`) and no interval."""
    if len(rows) == data.count:
        return mean, bounds
    full = np.stack([_seasonal_naive(v[:-data.horizon] if holdout else v, data.season, data.horizon)
                     for v in data.values])
    full[rows] = mean
    spread = {k: (_rows_only(data.count, rows, lo), _rows_only(data.count, rows, hi)) for k, (lo, hi) in bounds.items()}
    return full, spread


def _rows_only(count: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full((count, values.shape[1]), np.nan)
    out[rows] = values
    return out


def _seasonal_naive(values: np.ndarray, season: int, horizon: int) -> np.ndarray:
    last = values[-season:]
    return np.resize(last, horizon) if len(last) else np.zeros(horizon)


def resampled_means(per_series: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The portfolio score (mean over series) on `resamples` resamples of the series; the draws
    depend only on the seed and the number of series, so they are the same for every candidate.

    >>> resampled_means(np.array([1.0, 1.0, 1.0]), 4, 0).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    rows = np.random.default_rng(seed).integers(0, len(per_series), (resamples, len(per_series)))
    return np.nanmean(per_series[rows], axis=1)  # a candidate evaluated on a sample: over its series


def _one_series_ms(candidate: ForecastCandidate, data: Series) -> float:
    """Milliseconds to fit and forecast one series (the median of three)."""
    times = []
    for k in range(min(3, data.count)):
        start = time.perf_counter()
        candidate.fit([data.values[k]], horizon=data.horizon)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)
