"""Series from long data (id, time, value): reading, checks, the calendar, the holdout split.

Each series is kept as a plain float array in time order; the last `horizon` steps of every
series are the untouched holdout, the rest is what candidates learn from and are
cross-validated on (rolling origin, `windows` windows of `horizon` steps).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bakeoff.core.card import Card
from bakeoff.core.source import load_frame, suggest
from bakeoff.errors import DataError

CALENDAR_SEASONS = {"Day": [7], "BusinessDay": [5], "Week": [52], "MonthEnd": [12], "MonthBegin": [12],
                    "QuarterEnd": [4], "QuarterBegin": [4], "YearEnd": [1], "YearBegin": [1]}  # offset -> seasons
STEP = "step"  # the frequency of a time column of whole numbers (1, 2, 3, …)
KEY_JOIN = "/"  # between the values of several key columns in a series' id
INTERMITTENT_ZEROS = 0.3  # a series with more zeros than this share is intermittent (Croston, TSB)


@dataclass
class Series:
    """The series of one card, split, with what every candidate needs to fit and score them."""

    ids: list[str]  # each series' key; several key columns' values are joined by "/"
    values: list[np.ndarray]  # each series whole (training part, then its holdout)
    last_times: list  # each series' last timestamp (or step), for the forecasts' time column
    frequency: str  # a pandas offset alias, or STEP
    seasons: list[int]  # season lengths; seasons[0] is the one MASE and the seasonal rungs use
    horizon: int
    windows: int
    levels: list[float]
    sha256: str
    rows: int
    notes: list[str] = field(default_factory=list)
    key_columns: list[str] = field(default_factory=lambda: ["id"])  # the card's id column(s)
    key_parts: list[list[str]] = field(default_factory=list)  # per series its value of each key column
    starts: list[int] = field(default_factory=list)  # per series its first step, counted from a fixed
    #                                                   epoch; empty where the times are steps with no calendar
    floor: float | None = None  # no forecast or interval bound below it ([forecast] floor)

    def floored(self, values: np.ndarray) -> np.ndarray:
        """Forecasts or interval bounds raised to the card's floor (unchanged without one; NaN stays NaN).

        >>> Series([], [], [], STEP, [1], 1, 1, [], "", 0, floor=0.0).floored(np.array([-1.5, 2.0, np.nan])).tolist()
        [0.0, 2.0, nan]
        """
        return values if self.floor is None else np.maximum(values, self.floor)

    @property
    def season(self) -> int:
        return self.seasons[0]

    @property
    def count(self) -> int:
        return len(self.ids)

    def training(self) -> list[np.ndarray]:
        """Each series without its holdout."""
        return [v[:-self.horizon] for v in self.values]

    def holdout(self) -> np.ndarray:
        """The holdout, one row of `horizon` values per series."""
        return np.stack([v[-self.horizon:] for v in self.values])

    def intermittent(self) -> bool:
        """Whether many series have many zeros (demand that comes and goes)."""
        zeros = [np.mean(v == 0) for v in self.values]
        return float(np.mean(np.array(zeros) > INTERMITTENT_ZEROS)) > 0.5

    def future_time_texts(self, k: int) -> list[list[str]]:
        """`future_times` as the forecasts write them: dates alone when every one is at midnight
        (2024-02-05, not 2024-02-05 00:00:00), as a daily or weekly file gives them."""
        times = self.future_times(k)
        dates_only = self.frequency != STEP and all(_midnight(t) for steps in times for t in steps)
        return [[time_text(t, dates_only) for t in steps] for steps in times]

    def future_times(self, k: int) -> list:
        """The timestamps (or steps) of the next `k` steps after each series' end."""
        if self.frequency == STEP:
            return [[last + s for s in range(1, k + 1)] for last in self.last_times]
        offset = pd.tseries.frequencies.to_offset(self.frequency)
        return [list(pd.date_range(last, periods=k + 1, freq=offset)[1:]) for last in self.last_times]


def prepare(card: Card) -> Series:
    """The card's series, checked: bad input raises DataError naming the problem and the fix."""
    keys = key_columns(card)
    loaded = load_frame(card.data.source, card.base_dir, text=tuple(keys))
    check_columns(card, [str(c) for c in loaded.frame.columns])
    frame = loaded.frame
    frame = pd.DataFrame({"id": series_keys(frame, keys), "time": frame[card.data.time],
                          "value": frame[card.data.target]})
    return series_from(frame, card, loaded.sha256)


def key_columns(card: Card) -> list[str]:
    """The card's series key column(s); DataError when it names no id or time."""
    data = card.data
    if not data.id or not data.time:
        raise DataError("a forecast card needs [data] id (the series key column or columns) and time (the "
                        "timestamp column), e.g. id = \"store_item\" or [\"store\", \"item\"], time = \"date\"")
    return [data.id] if isinstance(data.id, str) else list(data.id)


def check_columns(card: Card, columns: list[str]) -> None:
    """DataError naming a column the card names that the data does not have."""
    missing = [c for c in (*key_columns(card), card.data.time, card.data.target) if c not in columns]
    if missing:
        raise DataError(f"column {missing[0]!r} is not in the data; {suggest(missing[0], columns)}")


def series_from(frame: pd.DataFrame, card: Card, sha256: str, frequency: str = "") -> Series:
    """Series from long rows (columns id, time, value), checked as the card says; `frequency`
    (when given) instead of the card's or the inferred one."""
    section, data = card.forecast, card.data
    keys = key_columns(card)
    frame = frame.copy()
    frame["value"] = _numbers(frame["value"], data.target)
    frame["time"], frequency = _times(frame["time"], data.time, frequency or section.frequency)
    _check_unique(frame, "/".join(keys), data.time)
    frame = frame.sort_values(["id", "time"], kind="stable")
    notes: list[str] = []
    ids, values, lasts, starts = [], [], [], []
    for key, group in frame.groupby("id", sort=True):
        times, series = _filled(group, frequency, section.fill, key, data.time, notes)
        ids.append(str(key))
        values.append(series)
        lasts.append(times[-1])
        starts.append(step_number(times[0], frequency))
    seasons = section.seasons or seasons_of(frequency)
    parts = [key.split(KEY_JOIN) for key in ids] if len(keys) > 1 else []
    series = Series(ids, values, lasts, frequency, seasons, section.horizon, section.windows,
                    section.level, sha256, len(frame), notes, keys if len(keys) > 1 else ["id"], parts,
                    starts if frequency != STEP else [],  # steps 1, 2, 3 of each series need not be the same hours
                    section.floor)
    _check_lengths(series)
    return series


def series_keys(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """One text key per row: the key column's values, or several columns' joined by "/"."""
    empty = next((k for k in keys if frame[k].isna().any()), None)
    if empty:
        raise DataError(f"id column {empty!r} has {int(frame[empty].isna().sum()):,} empty values; give every row "
                        "its series key, or leave those rows out")
    columns = [frame[k].astype(str) for k in keys]
    if len(keys) > 1:
        joined = [c for c in columns if c.str.contains(KEY_JOIN, regex=False).any()]
        if joined:
            raise DataError(f"id column {joined[0].name!r} holds {KEY_JOIN!r} (e.g. "
                            f"{joined[0][joined[0].str.contains(KEY_JOIN, regex=False)].iloc[0]!r}), which joins "
                            "several key columns; replace it in the data, or name one key column as [data] id")
        return columns[0].str.cat(columns[1:], sep=KEY_JOIN)
    return columns[0]


PERIODS = {"MonthBegin": "M", "QuarterBegin": "Q", "YearBegin": "Y"}  # offsets whose periods pandas names otherwise


def step_number(time, frequency: str) -> int:
    """Steps of `frequency` from 1970-01-01 to `time` (a step's position in a season is this
    plus its place in the series, modulo the season: the hour of the day, the day of the week,
    the month); `time` itself for whole-number steps; 0 where the calendar has no fixed steps.

    >>> step_number(pd.Timestamp("1970-01-02 03:00"), "h"), step_number(pd.Timestamp("1971-03-01"), "MS"), step_number(7, STEP)
    (27, 14, 7)
    """
    if frequency == STEP:
        return int(time)
    offset = pd.tseries.frequencies.to_offset(frequency)
    if isinstance(offset, pd.offsets.Tick):
        return int((pd.Timestamp(time) - pd.Timestamp(0)) // pd.Timedelta(offset))
    if offset.n != 1:
        return 0
    try:
        with warnings.catch_warnings():  # pandas deprecates periods of business days, which still count right
            warnings.simplefilter("ignore", FutureWarning)
            return int(pd.Timestamp(time).to_period(PERIODS.get(type(offset).__name__, offset)).ordinal)
    except (ValueError, TypeError):
        return 0


def _numbers(values: pd.Series, name: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise DataError(f"target {name!r} is not numeric (e.g. {values[bad].iloc[0]!r}); a forecast needs "
                        "numbers: clean the column, or name the numeric column as [data] target")
    if numbers.isna().any():
        raise DataError(f"target {name!r} has {int(numbers.isna().sum()):,} missing values; fill them in the data, "
                        "or leave those rows out and set [forecast] fill = \"zero\" or \"forward\"")
    return numbers.astype(float)


def _times(values: pd.Series, name: str, frequency: str) -> tuple[pd.Series, str]:
    """The time column as whole-number steps or timestamps, and the frequency (given or inferred)."""
    if values.isna().any():
        raise DataError(f"time column {name!r} has {int(values.isna().sum()):,} empty values; give every row its "
                        "time, or leave those rows out")
    if pd.api.types.is_integer_dtype(values):
        if frequency:
            raise DataError(f"time column {name!r} holds whole numbers, which are steps 1, 2, 3 with no calendar; "
                            "leave [forecast] frequency out, or write the times as dates (2024-01-31)")
        return values.astype(np.int64), STEP
    if pd.api.types.is_float_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise DataError(f"time column {name!r} holds {values.dtype} numbers (e.g. {values.iloc[0]!r}); give dates "
                        "like 2024-01-31 or whole-number steps 1, 2, 3")
    try:
        times = pd.to_datetime(_wall_clock(values), errors="raise", format="mixed")
    except (ValueError, TypeError, OverflowError) as err:
        raise DataError(f"time column {name!r} is not dates (e.g. {values.iloc[0]!r}); give dates like "
                        "2024-01-31 or whole-number steps 1, 2, 3") from err
    if frequency:
        try:
            pd.tseries.frequencies.to_offset(frequency)
        except ValueError as err:
            raise DataError(f"[forecast] frequency {frequency!r} is not a pandas frequency; use e.g. \"h\", "
                            "\"D\", \"W-SUN\", \"MS\" or leave it out to infer it") from err
        return times, frequency
    return times, _inferred(times, name)


def _wall_clock(values: pd.Series) -> pd.Series:
    """Text timestamps without their UTC offsets (+01:00, Z): the local times a business counts
    its days and hours in (the offsets change with daylight saving time, the calendar does not)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
    return values.astype(str).str.replace(r"(?:[+-]\d\d:?\d\d|Z)$", "", regex=True)


def _inferred(times: pd.Series, name: str) -> str:
    """The most common step between consecutive timestamps, as a pandas frequency."""
    unique = pd.DatetimeIndex(times.drop_duplicates().sort_values())
    for start in range(0, max(len(unique) - 8, 1), max(len(unique) // 20, 1)):
        guess = pd.infer_freq(unique[start:start + 8]) if len(unique[start:start + 8]) >= 3 else None
        if guess:
            return guess
    raise DataError(f"cannot tell the frequency of {name!r}; set [forecast] frequency, e.g. \"h\" for hourly "
                    "or \"D\" for daily")


def seasons_of(frequency: str) -> list[int]:
    """Season lengths that suit a frequency: a day and a week of steps below a day, a week of
    days, a year of weeks, months or quarters; 1 (none) otherwise.

    >>> seasons_of("h"), seasons_of("30min"), seasons_of("2h"), seasons_of("D"), seasons_of("MS"), seasons_of(STEP)
    ([24, 168], [48, 336], [12, 84], [7], [12], [1])
    """
    if frequency == STEP:
        return [1]
    offset = pd.tseries.frequencies.to_offset(frequency)
    if type(offset).__name__ in CALENDAR_SEASONS and offset.n == 1:
        return CALENDAR_SEASONS[type(offset).__name__]
    try:
        per_day = pd.Timedelta(days=1) / pd.Timedelta(offset)
    except (ValueError, TypeError):
        return [1]
    return [int(per_day), int(per_day * 7)] if per_day > 1 and float(per_day).is_integer() else [1]


def _midnight(t) -> bool:
    return isinstance(t, pd.Timestamp) and t == t.normalize()


def time_text(t, dates_only: bool | None = None) -> str:
    """A time as bakeoff writes it: a date alone at midnight (or when `dates_only`), else as pandas does.

    >>> time_text(pd.Timestamp("2024-02-05")), time_text(pd.Timestamp("2024-02-05 13:00")), time_text(7)
    ('2024-02-05', '2024-02-05 13:00:00', '7')
    """
    dates_only = _midnight(t) if dates_only is None else dates_only
    return t.date().isoformat() if dates_only and isinstance(t, pd.Timestamp) else str(t)


def _check_unique(frame: pd.DataFrame, key: str, time: str) -> None:
    repeated = frame.duplicated(["id", "time"])
    if repeated.any():
        first = frame[repeated].iloc[0]
        raise DataError(f"{int(repeated.sum()):,} rows repeat an ({key}, {time}) pair, e.g. "
                        f"({first['id']}, {time_text(first['time'])}); keep one row per series and time (sum or "
                        "average the repeats first)")


def _filled(group: pd.DataFrame, frequency: str, fill: str, key: str, time_name: str,
            notes: list[str]) -> tuple[list, np.ndarray]:
    """One series on its regular calendar; gaps filled as `fill` says, or refused."""
    times = group["time"]
    if frequency == STEP:
        full = np.arange(times.iloc[0], times.iloc[-1] + 1)
    else:
        full = pd.date_range(times.iloc[0], times.iloc[-1], freq=frequency)
    if len(full) == len(group) and (frequency == STEP or full.equals(pd.DatetimeIndex(times))):
        return list(full), group["value"].to_numpy()
    if not set(times).issubset(set(full)):
        raise DataError(f"series {key!r} has times off its {frequency!r} calendar (e.g. {times.iloc[1]}); "
                        f"check {time_name!r} or set [forecast] frequency")
    gaps = len(full) - len(group)
    if fill == "none":
        missing = ", ".join(time_text(t) for t in pd.Index(full).difference(pd.Index(times))[:3])
        raise DataError(f"series {key!r} has {gaps:,} missing time steps (e.g. {missing}); fill them in the "
                        "data, or set [forecast] fill = \"zero\" (no sales is zero) or \"forward\" (repeat the "
                        "last value)")
    series = group.set_index("time")["value"].reindex(full)
    series = series.fillna(0.0) if fill == "zero" else series.ffill()
    if not any(n.startswith("gaps filled") for n in notes):
        notes.append(f"gaps filled with {'zeros' if fill == 'zero' else 'the last value'} ([forecast] fill)")
    return list(full), series.to_numpy(dtype=float)


def _check_lengths(series: Series) -> None:
    """Every series long enough for its holdout and the evaluation windows before it."""
    need = series.horizon * (series.windows + 1) + 1
    short = [(len(v), i) for i, v in zip(series.ids, series.values) if len(v) < need]
    if not short:
        return
    shortest, name = min(short)
    raise DataError(f"{len(short):,} series are shorter than the {need:,} steps a horizon of {series.horizon} "
                    f"with {series.windows} evaluation windows needs ({name!r} has {shortest}); "
                    f"{_length_fix(shortest, series.horizon, series.windows)}")


def _length_fix(shortest: int, horizon: int, windows: int) -> str:
    """The card change that lets a series of `shortest` steps in (it needs horizon x (windows + 1)
    steps and one more to learn from).

    >>> _length_fix(400, 500, 2), _length_fix(400, 150, 2), _length_fix(16, 7, 2)
    ('lower [forecast] horizon to 133 or less (199 with windows = 1)', 'lower [forecast] windows to 1 or the horizon to 133', 'lower [forecast] windows to 1 or the horizon to 5')
    """
    fits = (shortest - 1) // horizon - 1  # the windows this horizon allows
    most = (shortest - 1) // (windows + 1)  # the horizon these windows allow
    if most < 1:
        return "leave such short series out"
    if fits >= 1:
        return f"lower [forecast] windows to {fits} or the horizon to {most}"
    with_one = f" ({(shortest - 1) // 2} with windows = 1)" if windows > 1 else ""
    return f"lower [forecast] horizon to {most} or less{with_one}"
