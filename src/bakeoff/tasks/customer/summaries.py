"""Customer summaries from a transaction log, computed in DuckDB (so a log of tens of millions
of rows never sits in pandas): per customer who bought by the end of the calibration period, x
(repeat purchases: purchase days after the first), t_x (the last purchase day, counted from the
first), T (the calibration end, counted from the first), in `time_unit`s, and the mean spend of
the repeat purchase days. Several purchases on one day count as one, their amounts summed (a
return, a negative amount, nets against that day's purchases).

Example, the CDNOW log (its date column holds numbers like 19970101)::

    frame = customer_summaries("read_csv_auto('cdnowElog.csv')", id="sampleid",
                               day="strptime(CAST(date AS VARCHAR), '%Y%m%d')::DATE",
                               amount="sales", calibration_end="1997-09-30")
"""

from __future__ import annotations

import pandas as pd

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


def summary_sql(relation: str, *, id: str, day: str, amount: str | None, calibration_end: str,
                time_unit: str = "week") -> str:
    """The DuckDB query of `customer_summaries` (`day`: a SQL expression giving each row's DATE)."""
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit {time_unit!r}: use one of {', '.join(UNIT_DAYS)}")
    unit, end = UNIT_DAYS[time_unit], f"DATE '{calibration_end}'"
    spend = f"SUM({amount})" if amount else "NULL::DOUBLE"
    return f"""
        WITH days AS (SELECT {id} AS id, {day} AS day, {spend} AS spend FROM {relation} GROUP BY 1, 2),
        calibration AS (SELECT id, day, spend, MIN(day) OVER (PARTITION BY id) AS first FROM days
                        WHERE day <= {end})
        SELECT id, COUNT(*) - 1 AS x,
               date_diff('day', MIN(first), MAX(day)) / {unit} AS t_x,
               date_diff('day', MIN(first), {end}) / {unit} AS T,
               CASE WHEN COUNT(*) > 1 THEN (SUM(spend) - arg_min(spend, day)) / (COUNT(*) - 1) END AS mean_spend
        FROM calibration GROUP BY id ORDER BY id"""


def customer_summaries(relation: str, *, id: str, day: str, amount: str | None, calibration_end: str,
                       time_unit: str = "week", connection=None) -> pd.DataFrame:
    """One row per customer (id, x, t_x, T, mean_spend) from the log `relation` (a table, or a
    DuckDB table function such as `read_csv_auto('log.csv')`)."""
    import duckdb

    query = summary_sql(relation, id=id, day=day, amount=amount, calibration_end=calibration_end,
                        time_unit=time_unit)
    return (connection or duckdb).sql(query).df()
