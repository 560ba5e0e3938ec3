"""The forecasting ladder: statsforecast's models behind bakeoff's one `Candidate` interface.

Rung 0 repeats the past (naive, seasonal naive, window average), rung 1 smooths it (simple
exponential smoothing, Holt, Theta; Croston and TSB for intermittent demand), rung 2 chooses
its own form per series (AutoETS, AutoARIMA, MSTL for several seasonalities). Every candidate
is one model fitted to each series on its own; `fit` takes the series (float arrays) and
returns the model's forecasts of the next steps.

>>> sorted(ladder())[:3]
['auto_arima', 'auto_ets', 'croston']
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from bakeoff.core.candidate import Candidate, Fitted

INSTALL = "pip install 'bakeoff[forecast]'"


class Forecasts(Fitted):
    """A candidate's forecasts for every series: `mean` (series x steps) and, per interval level,
    the (low, high) bounds; made from the series it was given, by the model it names."""

    def __init__(self, name: str, mean: np.ndarray, bounds: dict[float, tuple[np.ndarray, np.ndarray]],
                 params_per_series: int, summary: str, scores: np.ndarray | None = None,
                 coverage: dict[float, float] | None = None, rung: int = 0):
        self.name, self.mean, self.bounds, self.rung = name, mean, bounds, rung
        self.params_per_series, self.summary = params_per_series, summary
        self.scores, self.coverage = scores, coverage or {}  # on the holdout, for forecasts made without it
        self.fallback: frozenset[int] = frozenset()  # series forecast as seasonal naive (outside its sample)
        self.failed: frozenset[int] = frozenset()  # series forecast as seasonal naive (the model failed on them)

    def predict(self, X=None) -> np.ndarray:
        """The point forecasts, one row of steps per series."""
        return self.mean

    shared_params = 0  # numbers shared by every series (a global model's trees)

    @property
    def n_params(self) -> int:
        return self.params_per_series * len(self.mean) + self.shared_params

    def describe(self) -> str:
        return self.summary


class ForecastCandidate(Candidate):
    """One statsforecast model per series. Subclasses say which (`model`) and how many numbers it
    learns per series (`learned_per_series`)."""

    tasks: ClassVar[tuple[str, ...]] = ("forecast",)
    requires: ClassVar[tuple[str, ...]] = ("statsforecast",)
    needs_import, install_with = "statsforecast", INSTALL
    intervals: ClassVar[bool] = True  # the model gives prediction intervals (else: conformal ones, see conformal.py)
    local: ClassVar[bool] = True  # one model per series: evaluated on a sample of them when all would not fit
    intermittent_only: ClassVar[bool] = False  # raced only when the series are intermittent
    calendar: ClassVar[bool] = False  # uses calendar features: forecast and cross_validate take `starts`

    def __init__(self, *, task: str = "forecast", seed: int = 0, seasons: tuple[int, ...] = (1,),
                 n_classes: int = 0, class_names: tuple[str, ...] = (), **params):
        super().__init__(task=task, seed=seed, n_classes=0, **params)
        self.seasons = tuple(seasons)

    @property
    def season(self) -> int:
        return self.seasons[0]

    def model(self):
        """The statsforecast model (a new, unfitted instance)."""
        raise NotImplementedError

    def learned_per_series(self) -> int:
        """Numbers it learns per series (for the tie rule: fewer is simpler)."""
        return 1

    def forecast(self, series: list[np.ndarray], horizon: int, levels: tuple[float, ...] = ()):
        """Fit each series and forecast its next `horizon` steps: means (series x steps), the
        interval bounds per level and the series it failed on (a `fitting.Made`)."""
        from bakeoff.tasks.forecast.fitting import forecast

        return forecast(self.model(), series, horizon, levels, self.season)

    def cross_validate(self, series: list[np.ndarray], horizon: int, windows: int, levels: tuple[float, ...] = ()):
        """Rolling-origin forecasts, the last window ending at each series' end: means (series x
        windows x steps), the bounds likewise and the series it failed on (a `fitting.Made`)."""
        from bakeoff.tasks.forecast.fitting import cross_validation

        return cross_validation(self.model(), series, horizon, windows, levels, self.season)

    def fit(self, X: list[np.ndarray], y=None, *, horizon: int = 1, levels: tuple[float, ...] = ()) -> Forecasts:
        """Fit each series in `X` and forecast its next `horizon` steps (with intervals at `levels`)."""
        made = self.forecast(X, horizon, levels if self.intervals else ())
        return self.forecasts(made.mean, made.bounds, failed=made.failed)

    def forecasts(self, mean: np.ndarray, bounds: dict, scores: np.ndarray | None = None,
                  coverage: dict | None = None, failed: frozenset[int] = frozenset()) -> Forecasts:
        """Forecasts this candidate made, with what it learned counted."""
        made = Forecasts(self.name, mean, bounds, self.learned_per_series(), self.summary, scores, coverage, self.rung)
        made.shared_params, made.failed = self.shared_params(), failed
        return made

    def shared_params(self) -> int:
        """Numbers it learns once for every series (a global model's trees)."""
        return 0


class Naive(ForecastCandidate):
    name, rung, family, title = "naive", 0, "baseline", "Last value"
    summary = "Every future step repeats the last value seen"

    def model(self):
        from statsforecast.models import Naive as Model

        return Model()


class SeasonalNaive(ForecastCandidate):
    name, rung, family, title = "seasonal_naive", 0, "baseline", "Same time last season"
    summary = "Every future step repeats the value one season earlier"

    def model(self):
        from statsforecast.models import SeasonalNaive as Model

        return Model(season_length=self.season)

    def learned_per_series(self) -> int:
        return self.season


class WindowAverage(ForecastCandidate):
    name, rung, family, title = "window_average", 0, "baseline", "Average of the last season"
    summary = "Every future step is the average of the last season's values"
    intervals = False

    def model(self):
        from statsforecast.models import WindowAverage as Model

        return Model(window_size=max(self.season, 2))


class SimpleSmoothing(ForecastCandidate):
    name, rung, family, title = "ses", 1, "smoothing", "Simple exponential smoothing"
    summary = "A level that follows the series, recent values weighted most"
    intervals = False

    def model(self):
        from statsforecast.models import SimpleExponentialSmoothingOptimized as Model

        return Model()

    def learned_per_series(self) -> int:
        return 2  # the smoothing weight and the level


class Holt(ForecastCandidate):
    name, rung, family, title = "holt", 1, "smoothing", "Holt's linear trend"
    summary = "A level and a trend that follow the series"

    def model(self):
        from statsforecast.models import Holt as Model

        return Model()

    def learned_per_series(self) -> int:
        return 4  # two smoothing weights, the level and the trend


class Theta(ForecastCandidate):
    name, rung, family, title = "theta", 1, "smoothing", "Theta"
    summary = "Seasonally adjusted smoothing with a drift (won the M3 competition)"

    def model(self):
        from statsforecast.models import Theta as Model

        return Model(season_length=self.season)

    def learned_per_series(self) -> int:
        return 3 + (self.season if self.season > 1 else 0)


class Croston(ForecastCandidate):
    name, rung, family, title = "croston", 1, "intermittent", "Croston"
    summary = "Smooths the size of demand and the gaps between demands separately"
    intervals, intermittent_only = False, True

    def model(self):
        from statsforecast.models import CrostonOptimized as Model

        return Model()

    def learned_per_series(self) -> int:
        return 4


class TSB(ForecastCandidate):
    name, rung, family, title = "tsb", 1, "intermittent", "TSB (Teunter-Syntetos-Babai)"
    summary = "Smooths the size of demand and the chance of any demand in a step"
    intervals, intermittent_only = False, True

    def model(self):
        from statsforecast.models import TSB as Model

        return Model(alpha_d=0.1, alpha_p=0.1)

    def learned_per_series(self) -> int:
        return 2


class AutoETS(ForecastCandidate):
    name, rung, family, title = "auto_ets", 2, "statistical", "Exponential smoothing (ETS), chosen per series"
    summary = "Error, trend and season forms chosen per series by AICc"

    def model(self):
        from statsforecast.models import AutoETS as Model

        return Model(season_length=self.season)

    def learned_per_series(self) -> int:
        return 6 + (self.season if self.season > 1 else 0)


class AutoARIMA(ForecastCandidate):
    name, rung, family, title = "auto_arima", 2, "statistical", "ARIMA, chosen per series"
    summary = "Autoregressive and moving-average terms chosen per series by AICc"

    def model(self):
        from statsforecast.models import AutoARIMA as Model

        return Model(season_length=self.season, approximation=self.season > 12)

    # R's auto.arima (Hyndman & Khandakar) chooses the orders by the approximate likelihood (CSS)
    # when the season is longer than 12 or the series longer than 150; statsforecast leaves that
    # to the caller, and bakeoff follows R's season rule (one model serves every series, whatever
    # their lengths). On M4 Hourly: most series 1-3 s each with it, 30-56 s without.

    def learned_per_series(self) -> int:
        return 6


class MSTL(ForecastCandidate):
    name, rung, family, title = "mstl", 2, "statistical", "Several seasons (MSTL)"
    summary = "Each season and the trend split out, the trend forecast by ETS"

    def model(self):
        from statsforecast.models import MSTL as Model
        from statsforecast.models import AutoETS

        return Model(season_length=list(self.seasons), trend_forecaster=AutoETS(model="ZZN"))

    def learned_per_series(self) -> int:
        return 6 + sum(self.seasons)


class GlobalLightGBM(ForecastCandidate):
    name, rung, family, title = "global_lightgbm", 3, "ensemble", "One LightGBM for all series"
    summary = ("One gradient-boosted model trained across all series on recent values (lags), their "
               "rolling means and the place in each season (hour of the day, day of the week), each "
               "series scaled to its own level, forecasting step by step")
    requires = ("mlforecast", "lightgbm")
    needs_import, install_with = "mlforecast", INSTALL
    intervals, local = False, False  # trained on a sample of the series, it would be another model
    calendar = True  # each series' first step (`starts`, from a fixed epoch) places its steps in the seasons
    trees, leaves = 300, 63

    def lags(self, series: list[np.ndarray], horizon: int) -> list[int]:
        """Every step of the last season, two and three seasons back, and each longer season
        once and twice back (on M4 hourly's last window before the holdout: sMAPE 12.2 against
        15.3 with lags 1-3 and one and two seasons only): those that leave the shortest series
        (less what is held out) a season of rows to learn from."""
        s = self.season
        wanted = sorted({*range(1, s + 1), 2 * s, 3 * s, *self.seasons, *(2 * k for k in self.seasons[1:])})
        room = min(len(v) for v in series) - horizon - s
        return [lag for lag in wanted if lag <= room] or [1]

    def forecast(self, series, horizon, levels=(), starts=None):
        from bakeoff.tasks.forecast.fitting import global_forecast

        return global_forecast(self._regressor(), series, horizon, self.lags(series, horizon), self.seasons, starts)

    def cross_validate(self, series, horizon, windows, levels=(), starts=None):
        from bakeoff.tasks.forecast.fitting import global_cross_validation

        return global_cross_validation(self._regressor(), series, horizon, windows,
                                       self.lags(series, horizon * windows), self.seasons, starts)

    def _regressor(self):
        import lightgbm

        return lightgbm.LGBMRegressor(n_estimators=self.trees, learning_rate=0.05, num_leaves=self.leaves,
                                      random_state=self.seed, n_jobs=1, verbose=-1)

    def learned_per_series(self) -> int:
        return 2  # each series' own level and scale; the trees are shared (see `shared_params`)

    def shared_params(self) -> int:
        return self.trees * 2 * self.leaves  # leaves and split thresholds, at most


def suited(candidates, intermittent: bool) -> list:
    """The candidates that suit the series: Croston and TSB only where they are intermittent."""
    return [c for c in candidates if intermittent or not getattr(c, "intermittent_only", False)]


def ladder() -> dict[str, type[ForecastCandidate]]:
    """The forecasting candidates by name."""
    return {cls.name: cls for cls in (Naive, SeasonalNaive, WindowAverage, SimpleSmoothing, Holt, Theta,
                                      Croston, TSB, AutoETS, AutoARIMA, MSTL, GlobalLightGBM)}
