"""Forecast errors per series, as the M4 competition defines them, and their portfolio mean.

Each metric scores one series' forecast of `horizon` steps against the actuals, given the
history the forecast was made from (MASE divides by the in-sample seasonal naive error).
The portfolio score is the mean over series, so every series counts the same.

>>> y, f = np.array([10.0, 20.0]), np.array([12.0, 18.0])  # 200 * (2/22 + 2/38) / 2; (2 + 2) / 2 / 1.5
>>> round(smape(y, f, None, 1), 4), round(mase(y, f, np.array([1.0, 2.0, 4.0]), 1), 4)
(14.3541, 1.3333)
"""

from __future__ import annotations

import numpy as np

from bakeoff.core.metrics import Metric


def smape(actual: np.ndarray, forecast: np.ndarray, history, season: int) -> float:
    """Symmetric MAPE in percent, 200 |y - f| / (|y| + |f|) averaged over the steps (M4)."""
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(actual - forecast), denominator, out=np.zeros_like(denominator),
                      where=denominator > 0)
    return float(200 * np.mean(ratio))


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    """Mean absolute error over the in-sample mean absolute error of the seasonal naive
    forecast (lag `season`; lag 1 when the history is shorter than a season) (M4)."""
    return float(np.mean(np.abs(actual - forecast)) / naive_scale(history, season))


def naive_scale(history: np.ndarray, season: int) -> float:
    """The in-sample mean absolute seasonal difference: MASE's denominator (never 0)."""
    lag = season if len(history) > season else 1
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag]))) if len(history) > lag else 0.0
    return scale if scale > 0 else 1.0


def rmse(actual, forecast, history, season) -> float:
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mae(actual, forecast, history, season) -> float:
    return float(np.mean(np.abs(actual - forecast)))


def wape(actual, forecast, history, season) -> float:
    """Weighted absolute percentage error: the absolute errors over the absolute actuals, in percent."""
    total = float(np.sum(np.abs(actual)))
    return float(100 * np.sum(np.abs(actual - forecast)) / total) if total > 0 else 0.0


ERRORS = {"mase": mase, "smape": smape, "rmse": rmse, "mae": mae, "wape": wape}
DEFAULT_METRIC = "mase"


def get_metric(name: str, kind: str = "forecast") -> Metric:
    """The named forecast error as a Metric (lower is better; the tolerance is a share of the
    best); ValueError naming the valid ones."""
    if name not in ERRORS:
        raise ValueError(f"{name!r} is not a forecast metric; use one of {', '.join(ERRORS)}")
    return Metric(name, kind, False, portfolio, relative=True)


def portfolio(per_series: np.ndarray, _unused=None) -> float:
    """The portfolio score: the mean of the per-series scores."""
    return float(np.mean(per_series))


def series_scores(name: str, actual: np.ndarray, forecast: np.ndarray, histories: list[np.ndarray],
                  season: int) -> np.ndarray:
    """One score per series: `actual` and `forecast` hold one row of steps per series. A series
    whose forecast is missing anywhere (a model that could not forecast it) scores NaN."""
    error = ERRORS[name]
    return np.array([error(a, f, h, season) if np.all(np.isfinite(f)) else np.nan
                     for a, f, h in zip(actual, forecast, histories)])


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """The share of actuals inside their prediction interval."""
    return float(np.mean((actual >= low) & (actual <= high)))
