"""statsforecast, called the one way bakeoff needs it: series as float arrays in, forecasts as
(series x steps) arrays out, in the order the series were given.

statsforecast wants long data (unique_id, ds, y); the steps are numbered 0, 1, 2, … per series
(`freq=1`), so any calendar works and bakeoff maps the steps back to timestamps itself.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
import pandas as pd

Bounds = dict[float, tuple[np.ndarray, np.ndarray]]


class Made(NamedTuple):
    """Forecasts of the series given: means (series x [windows x] steps), the interval bounds per
    level likewise, and the positions of the series the model failed on (seasonal naive's there)."""

    mean: np.ndarray
    bounds: Bounds
    failed: frozenset[int] = frozenset()


def long_frame(series: list[np.ndarray], starts: list[int] | None = None) -> pd.DataFrame:
    """The series as statsforecast's long data; series k is called k, so that statsforecast's
    sort by id keeps the given order. Its steps are numbered from its start (`starts[k]`, steps
    from a fixed epoch), or from 0."""
    lengths = np.array([len(s) for s in series])
    ids = np.repeat(np.arange(len(series)), lengths)
    firsts = starts if starts is not None else [0] * len(series)
    steps = np.concatenate([np.arange(first, first + n) for first, n in zip(firsts, lengths)])
    return pd.DataFrame({"unique_id": ids, "ds": steps, "y": np.concatenate(series).astype(float)})


@cache
def _recording_fallback():
    """statsforecast's seasonal naive, keeping each history it had to forecast (statsforecast
    calls it, silently, for a series the model raised on)."""
    from statsforecast.models import SeasonalNaive

    class Fallback(SeasonalNaive):
        def __init__(self, season_length: int):
            super().__init__(season_length=season_length)
            self.histories: list[np.ndarray] = []

        def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
            self.histories.append(np.array(y, dtype=float))
            return super().forecast(y, h, X=X, X_future=X_future, level=level, fitted=fitted)

    return Fallback


@cache
def _quantiles_once() -> None:
    """statsforecast (2.1) builds a scipy distribution for every series it gives an interval, to
    look up the same normal quantiles each time: 0.75 ms a series, most of a cheap model's time.
    Its lookup is replaced by one that builds it once per set of levels (the same numbers)."""
    from statsforecast import utils

    original = getattr(utils, "_quantiles", None)
    if original is None:
        return

    @cache
    def looked_up(levels: tuple[float, ...], distribution: str) -> np.ndarray:
        return original(np.asarray(levels), distribution)

    def quantiles(level, distribution="normal", dist_params=None):
        if dist_params is not None:
            return original(level, distribution, dist_params)
        return looked_up(tuple(np.atleast_1d(np.asarray(level, dtype=float)).tolist()), distribution).copy()

    utils._quantiles = quantiles


def _forecaster(model, season: int):
    from statsforecast import StatsForecast

    _quantiles_once()
    fallback = _recording_fallback()(season)  # a series the model fails on gets this instead
    return StatsForecast(models=[model], freq=1, n_jobs=1, fallback_model=fallback), fallback


def failed_series(histories: list[np.ndarray], series: list[np.ndarray]) -> frozenset[int]:
    """Positions of the series whose start is one of the `histories` (those the model failed on).

    >>> sorted(failed_series([np.array([1.0, 2.0])], [np.array([0.0, 2, 3]), np.array([1.0, 2, 5])]))
    [1]
    """
    by_first: dict[float, list[int]] = {}
    for k, values in enumerate(series):
        by_first.setdefault(float(values[0]), []).append(k)
    failed = set()
    for history in histories:
        n = len(history)
        failed.update(k for k in by_first.get(float(history[0]), ())
                      if len(series[k]) >= n and np.array_equal(series[k][:n], history))
    return frozenset(failed)


def forecast(model, series: list[np.ndarray], horizon: int, levels: tuple[float, ...], season: int) -> Made:
    """Fit `model` to each series and forecast its next `horizon` steps: the means (series x
    steps) and, per level, the interval bounds."""
    engine, fallback = _forecaster(model, season)
    out = engine.forecast(df=long_frame(series), h=horizon, level=_levels(levels))
    return Made(*_arrays(out, len(series), horizon, levels), failed_series(fallback.histories, series))


def cross_validation(model, series: list[np.ndarray], horizon: int, windows: int, levels: tuple[float, ...],
                     season: int) -> Made:
    """Rolling-origin forecasts: for each series, `windows` forecasts of `horizon` steps, the last
    ending at the series' end, each from the values before its origin. Means are (series x
    windows x steps); the bounds likewise."""
    engine, fallback = _forecaster(model, season)
    out = engine.cross_validation(df=long_frame(series), h=horizon, n_windows=windows, step_size=horizon,
                                  level=_levels(levels))
    return Made(*_arrays(out, len(series), horizon, levels, windows), failed_series(fallback.histories, series))


class SeasonPosition:
    """A calendar feature: a step's place in a season (the hour of the day for 24 hourly steps,
    the day of the week for 7 daily ones), from its number counted from a fixed epoch."""

    def __init__(self, season: int):
        self.season, self.__name__ = season, f"step_of_{season}"

    def __call__(self, steps) -> np.ndarray:
        return np.asarray(steps) % self.season


def _global(regressor, lags: list[int], seasons: tuple[int, ...], calendar: bool):
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import LocalStandardScaler

    season = seasons[0]
    transforms = {1: [RollingMean(window_size=max(season, 2))]}  # the last season's mean
    transforms.setdefault(season, []).append(RollingMean(window_size=7))  # the same step, seven seasons back
    places = [SeasonPosition(s) for s in seasons if s > 1] if calendar else []
    return MLForecast(models={"global": regressor}, freq=1, lags=lags, lag_transforms=transforms,
                      date_features=places, target_transforms=[LocalStandardScaler()])


def global_forecast(regressor, series: list[np.ndarray], horizon: int, lags: list[int], seasons: tuple[int, ...],
                    starts: list[int] | None = None) -> Made:
    """One `regressor` (scikit-learn style) trained across all series on their lags, rolling
    means and, given `starts`, place in each season, forecasting each series `horizon` steps
    ahead, step by step (mlforecast)."""
    model = _global(regressor, lags, seasons, starts is not None)
    model.fit(long_frame(series, starts))
    return Made(*_arrays(model.predict(h=horizon), len(series), horizon, ()))


def global_cross_validation(regressor, series: list[np.ndarray], horizon: int, windows: int, lags: list[int],
                            seasons: tuple[int, ...], starts: list[int] | None = None) -> Made:
    """`cross_validation` for the global model: retrained at each window's origin."""
    out = _global(regressor, lags, seasons, starts is not None).cross_validation(
        df=long_frame(series, starts), n_windows=windows, h=horizon, step_size=horizon)
    return Made(*_arrays(out, len(series), horizon, (), windows))


def _arrays(out: pd.DataFrame, n: int, horizon: int, levels: tuple[float, ...], windows: int = 0):
    """statsforecast's output (one row per series and step, sorted by id, then cutoff and step) as
    arrays of shape (series, [windows,] steps)."""
    shape = (n, windows, horizon) if windows else (n, horizon)
    out = out.reset_index() if "unique_id" not in out.columns else out
    out = out.sort_values(["unique_id", "cutoff", "ds"] if windows else ["unique_id", "ds"], kind="stable")
    model = [c for c in out.columns if c not in ("unique_id", "ds", "cutoff", "y", "index")
             and "-lo-" not in c and "-hi-" not in c][0]
    mean = out[model].to_numpy(float).reshape(shape)
    bounds = {level: (out[f"{model}-lo-{level_label(level)}"].to_numpy(float).reshape(shape),
                      out[f"{model}-hi-{level_label(level)}"].to_numpy(float).reshape(shape)) for level in levels}
    return mean, bounds


def _levels(levels: tuple[float, ...]) -> list | None:
    """Levels as statsforecast takes them (80, not 80.0: it names its columns after them)."""
    return [int(level) if float(level).is_integer() else level for level in levels] or None


def level_label(level: float) -> str:
    """How statsforecast names a level in its columns: 80 -> "80", 99.5 -> "99.5"."""
    return str(int(level)) if float(level).is_integer() else str(level)
