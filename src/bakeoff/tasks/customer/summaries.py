"""Customer summaries from a transaction log, computed in DuckDB (so a log of tens of millions
of rows never sits in pandas): per customer who bought by a cutoff, x (repeat purchases:
purchase days after the first), t_x (the last purchase day, counted from the first), T (the
cutoff, counted from the first), in time units, the mean spend of the repeat purchase days, and
what the customer did in a window after the cutoff (purchase days, their mean spend). Several
purchases on one day count as one, their amounts summed (a return, a negative amount, nets
against that day's purchases).

Example, the CDNOW log (its date column holds numbers like 19970101)::

    frame = customer_summaries("read_csv_auto('cdnowElog.csv')", id="sampleid",
                               day="strptime(CAST(date AS VARCHAR), '%Y%m%d')::DATE",
                               amount="sales", calibration_end="1997-09-30")
"""

from __future__ import annotations

import pandas as pd

from bakeoff.tasks.customer.section import UNIT_DAYS


def days_sql(relation: str, *, id: str, day: str, amount: str | None) -> str:
    """One row per customer and day with a row in the log (`day`: a SQL expression giving each
    row's DATE): id, day, spend (the day's amounts summed), lines (the log's rows that day),
    bought (those that are no return: no negative amount)."""
    spend = f"CAST(SUM({amount}) AS DOUBLE)" if amount else "CAST(NULL AS DOUBLE)"
    bought = f"COUNT(*) FILTER (WHERE NOT {amount} < 0)" if amount else "COUNT(*)"
    return (f"SELECT {id} AS id, {day} AS day, {spend} AS spend, COUNT(*) AS lines, {bought} AS bought "
            f"FROM {relation} GROUP BY 1, 2")


def purchase_days_sql(grouped: str) -> str:
    """The purchase days among `days_sql`'s rows: a day of returns only is no purchase."""
    return f"SELECT id, day, spend, lines FROM ({grouped}) AS grouped WHERE bought > 0"


def window_sql(days: str, cutoff: str, end: str | None, unit_days: float) -> str:
    """Summaries at `cutoff` of the customers who bought by then (from the `days` relation), and
    their purchase days and mean spend in (cutoff, end] (0 and NULL without `end`). Plain SQL
    that sqlglot carries to PostgreSQL (no arg_min: a customer has one row per day)."""
    at = f"DATE '{cutoff}'"
    first_spend = "MAX(CASE WHEN day = first THEN spend END)"
    # a window: its purchase days per customer, or (none) no id to join and zero purchases for each
    later = (f"SELECT id, COUNT(*) AS later, AVG(spend) AS later_spend FROM {days} "
             f"WHERE day > {at} AND day <= DATE '{end}' GROUP BY id") if end else \
        f"SELECT id, 0 AS later, CAST(NULL AS DOUBLE) AS later_spend FROM {days} WHERE false"
    return f"""
        WITH past AS (SELECT id, day, spend, MIN(day) OVER (PARTITION BY id) AS first FROM {days} WHERE day <= {at}),
        summary AS (
            SELECT id, COUNT(*) - 1 AS x,
                   date_diff('day', MIN(first), MAX(day)) / {unit_days} AS t_x,
                   date_diff('day', MIN(first), {at}) / {unit_days} AS "T",
                   CASE WHEN COUNT(*) > 1 THEN (SUM(spend) - {first_spend}) / (COUNT(*) - 1) END AS mean_spend,
                   {first_spend} AS first_spend
            FROM past GROUP BY id),
        later AS ({later})
        SELECT summary.*, COALESCE(later.later, 0) AS later, later.later_spend
        FROM summary LEFT JOIN later USING (id) ORDER BY id"""


def customer_summaries(relation: str, *, id: str, day: str, amount: str | None, calibration_end: str,
                       time_unit: str = "week", connection=None) -> pd.DataFrame:
    """One row per customer (id, x, t_x, T, mean_spend, first_spend) from the log `relation` (a
    table, or a DuckDB table function such as `read_csv_auto('log.csv')`)."""
    import duckdb

    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit {time_unit!r}: use one of {', '.join(UNIT_DAYS)}")
    days = f"({purchase_days_sql(days_sql(relation, id=id, day=day, amount=amount))})"
    query = window_sql(days, calibration_end, None, UNIT_DAYS[time_unit])
    return (connection or duckdb).sql(query).df().drop(columns=["later", "later_spend"])
