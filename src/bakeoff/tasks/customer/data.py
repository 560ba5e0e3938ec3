"""The customers of one card: summaries at the calibration end with the holdout's truth, an
earlier split inside the calibration period for the candidates that learn a mapping from
summaries to what follows (rules, cells, a boosted model), the summaries at the holdout's end
the final models learn from, and the repeat purchases per period for the tracking chart.

Dates: the calibration period runs to `calibration_end` (inclusive), the holdout from the day
after to `holdout_end`. The inner split ends the earlier window at `calibration_end` and starts
it a holdout's length before (at most half the calibration period).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field, fields

import numpy as np

from bakeoff.errors import DataError
from bakeoff.tasks.customer.log import DAYS, open_log
from bakeoff.tasks.customer.summaries import window_sql

MIN_CUSTOMERS = 30  # in the calibration period: fewer leave four parameters and cells unlearnable


@dataclass
class Summaries:
    """Customers at a cutoff: (x, t_x, T) in time units, their mean repeat spend (NaN: none),
    first spend, and their purchase days (`later`) and mean spend in the `window` units after."""

    ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    spend: np.ndarray
    first_spend: np.ndarray
    later: np.ndarray
    later_spend: np.ndarray
    window: float

    @property
    def count(self) -> int:
        return len(self.x)

    @property
    def recency(self) -> np.ndarray:
        """Time units since the last purchase."""
        return self.T - self.t_x

    def take(self, rows) -> Summaries:
        """The customers at `rows`."""
        return Summaries(**{f.name: getattr(self, f.name)[rows] for f in fields(self) if f.name != "window"},
                         window=self.window)


@dataclass(frozen=True)
class History:
    """What a candidate learns from: `now`, the summaries its population model fits and its
    predictions start from; `learn`, earlier summaries with what followed them (`later`), for a
    candidate that learns how the summaries map to the future."""

    now: Summaries
    learn: Summaries


@dataclass
class Customers:
    calibration: Summaries  # at calibration_end; `later`: the holdout's truth
    inner: Summaries  # at the inner cutoff; `later`: the rest of the calibration period
    final: Summaries  # at holdout_end: what the models users get learn from
    time_unit: str
    unit_days: float
    horizon: float
    discount_rate: float
    amount: bool
    dates: dict[str, str]  # start, inner_end, calibration_end, holdout_end
    tracking: dict  # repeat purchases per period: "actual" (list), "calibration_periods"
    sha256: str
    rows: int
    notes: list[str] = field(default_factory=list)
    inference: str = "mle"  # how rung 2 estimates: maximum likelihood, or "mcmc" (pymc-marketing)

    @property
    def count(self) -> int:
        return self.calibration.count

    @property
    def holdout_units(self) -> float:
        return self.calibration.window

    def evaluation(self) -> History:
        """What a candidate learns from to be scored on the holdout (the holdout's truth blanked)."""
        blank = np.full(self.count, np.nan)
        return History(dataclasses.replace(self.calibration, later=blank, later_spend=blank), self.inner)

    def everything(self) -> History:
        """What the model users get learns from: every purchase, to the holdout's end."""
        return History(self.final, self.calibration)


def prepare(card) -> Customers:
    """Read the card's log and build its customers; bad input is one DataError line."""
    section, data = card.customer, card.data
    if section.inference == "mcmc":
        from bakeoff.tasks.customer.posterior import check_installed

        check_installed()
    with open_log(data.source, card.base_dir, id=data.id, time=data.time, amount=section.amount) as log:
        return _customers(log, section)


def _customers(log, section) -> Customers:
    queries, unit = log.queries, section.unit_days
    start, last = (str(d) for d in queries.rows(f"SELECT MIN(day), MAX(day) FROM {DAYS}")[0])
    calibration_end, holdout_end = section.calibration_end, section.holdout_end or last
    _check_periods(start, last, calibration_end, holdout_end)
    span = _days(start, calibration_end)
    holdout_days = _days(calibration_end, holdout_end)
    inner_end = _shift(calibration_end, -min(holdout_days, span // 2))
    frames = {name: queries.frame(window_sql(DAYS, cutoff, end, unit)) for name, (cutoff, end) in
              {"calibration": (calibration_end, holdout_end), "inner": (inner_end, calibration_end),
               "final": (holdout_end, None)}.items()}
    windows = {"calibration": holdout_days / unit, "inner": _days(inner_end, calibration_end) / unit, "final": 0.0}
    summaries = {name: _summaries(frame, windows[name]) for name, frame in frames.items()}
    notes = log.notes + _new_customers(queries, calibration_end, holdout_end)
    _check_customers(summaries["calibration"], summaries["inner"], calibration_end, inner_end)
    dates = {"start": start, "inner_end": inner_end, "calibration_end": calibration_end, "holdout_end": holdout_end}
    tracking = _tracking(queries, start, calibration_end, holdout_end, unit)
    return Customers(summaries["calibration"], summaries["inner"], summaries["final"], section.time_unit, unit,
                     section.horizon, section.discount_rate, bool(section.amount), dates, tracking, log.sha256,
                     log.rows, notes, section.inference)


def _check_periods(start: str, last: str, calibration_end: str, holdout_end: str) -> None:
    """A calibration period with purchases, and a holdout inside the log."""
    if calibration_end < start:
        raise DataError(f"no purchases on or before [customer] calibration_end {calibration_end}: the log starts "
                        f"{start}; set calibration_end between {start} and {last}")
    if calibration_end >= last:
        raise DataError(f"no purchases after [customer] calibration_end {calibration_end}: the log ends {last}, so "
                        "there is no holdout to score the candidates on; set calibration_end earlier")
    if holdout_end > last:
        raise DataError(f"[customer] holdout_end {holdout_end} is after the log's last day {last}: the days "
                        f"after it would count as no purchases; set holdout_end to {last} or earlier")


def _check_customers(calibration: Summaries, inner: Summaries, calibration_end: str, inner_end: str) -> None:
    """Enough customers to learn from, some of whom bought twice."""
    if calibration.count < MIN_CUSTOMERS:
        raise DataError(f"only {calibration.count} customers bought by [customer] calibration_end {calibration_end}; "
                        f"the models need at least {MIN_CUSTOMERS}: set calibration_end later")
    if not calibration.x.any():
        raise DataError(f"none of the {calibration.count:,} customers bought on two days by calibration_end "
                        f"{calibration_end}, so there is no repeat purchase to learn from; check that [data] id is the "
                        "customer (not the order), or set calibration_end later")
    if inner.count == 0:
        raise DataError(f"no customer bought by {inner_end}, half way through the calibration period; set "
                        "[customer] calibration_end later, so the rules learn from an earlier part of it")


def summaries_now(source, base_dir, id: str, time: str, section) -> Summaries:
    """The customers of a log at its last day (what `bakeoff predict` predicts from)."""
    with open_log(source, base_dir, id=id, time=time, amount=section.amount) as log:
        last = str(log.queries.rows(f"SELECT MAX(day) FROM {DAYS}")[0][0])
        return _summaries(log.queries.frame(window_sql(DAYS, last, None, section.unit_days)), 0.0)


def _summaries(frame, window: float) -> Summaries:
    """The customers of a `window_sql` frame, in the order of their ids (as every engine sorts them)."""
    frame = frame.sort_values("id", kind="stable")

    def column(name):
        return frame[name].to_numpy(dtype=float, na_value=np.nan)

    return Summaries(frame["id"].to_numpy(), column("x"), column("t_x"), column("T"), column("mean_spend"),
                     column("first_spend"), column("later"), column("later_spend"), window)


def _new_customers(queries, calibration_end: str, holdout_end: str) -> list[str]:
    """The note on customers whose first purchase is after the calibration period."""
    new = queries.rows(f"SELECT COUNT(*) FROM (SELECT id FROM {DAYS} GROUP BY id HAVING MIN(day) > DATE "
                  f"'{calibration_end}' AND MIN(day) <= DATE '{holdout_end}') AS newcomers")[0][0]
    if not new:
        return []
    return [f"{new:,} customers first bought after calibration_end {calibration_end}: they are new in the "
            "holdout, so no candidate scores them (the final models learn from them)"]


def _tracking(queries, start: str, calibration_end: str, holdout_end: str, unit: float) -> dict:
    """Repeat purchases per time unit from the log's start to the holdout's end, of the customers
    of the calibration period (a customer's first purchase day is not a repeat)."""
    rows = queries.rows(f"""
        WITH cohort AS (SELECT id, MIN(day) AS first FROM {DAYS} GROUP BY id HAVING MIN(day) <= DATE '{calibration_end}')
        SELECT CAST(floor(date_diff('day', DATE '{start}', day) / {unit}) AS INTEGER) AS period, COUNT(*)
        FROM {DAYS} JOIN cohort USING (id) WHERE day > first AND day <= DATE '{holdout_end}'
        GROUP BY 1 ORDER BY 1""")
    periods = int(np.ceil((_days(start, holdout_end) + 1) / unit))
    actual = np.zeros(periods)
    for period, count in rows:
        actual[min(period, periods - 1)] += count
    return {"actual": actual.tolist(), "calibration_periods": (_days(start, calibration_end) + 1) / unit}


def _days(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def _shift(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()
