"""A transaction log opened in DuckDB: the card's source as a relation, its columns checked and
its timestamps read as dates, then one row per customer and purchase day (`days`).

Files are read by DuckDB itself (CSV, Parquet, a folder of Parquet files), so a log of tens of
millions of rows never sits in pandas; a SQL source's rows come through its driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.core.card import SqlSource
from bakeoff.core.source import data_path, load_frame, suggest
from bakeoff.errors import DataError
from bakeoff.tasks.customer.summaries import days_sql

DAYS = "days"  # the table of purchase days: id, day, spend, lines (the log's rows that day)
NUMERIC_DATE = "%Y%m%d"  # a date written as a number, e.g. 19970101


@dataclass
class Log:
    """A connection holding the `days` table, with what reading the log found."""

    connection: object
    sha256: str
    rows: int
    notes: list[str] = field(default_factory=list)


def open_log(source, base_dir: Path, *, id: str, time: str, amount: str = "") -> Log:
    """Read the log at `source` into DuckDB's `days` table; a problem a user can fix is a DataError."""
    import duckdb

    connection = duckdb.connect()
    relation, digest = _relation(connection, source, base_dir, time)
    columns = {row[0]: row[1] for row in connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    rows = connection.execute(f"SELECT COUNT(*) FROM {relation}").fetchone()[0]
    if not rows:
        raise DataError("the log has no rows (a header only?); give a log with one row per purchase")
    for role, column in (("id", id), ("time", time), ("amount", amount)):
        if column and column not in columns:
            where = "[customer] amount" if role == "amount" else f"[data] {role}"
            raise DataError(f"{where} {column!r} is not a column of the log; {suggest(column, list(columns))}")
    if amount and not _is_number(columns[amount]):
        example = connection.execute(f"SELECT ANY_VALUE(CAST({_q(amount)} AS VARCHAR)) FROM {relation} "
                                     f"WHERE {_q(amount)} IS NOT NULL").fetchone()[0]
        what = f"text such as {example!r}" if example is not None else "no values at all"
        raise DataError(f"[customer] amount {amount!r} holds {what}, not numbers; give plain numbers (a dot for "
                        "decimals, no currency), or leave amount out")
    day, notes = _day_expression(connection, relation, time, columns[time])
    missing = connection.execute(f"SELECT COUNT(*) - COUNT({_q(id)}) FROM {relation}").fetchone()[0]
    if missing:
        raise DataError(f"{missing:,} of {rows:,} rows have no customer id in {id!r}; drop them or fill the id")
    connection.execute(f"CREATE TABLE {DAYS} AS "
                       + days_sql(relation, id=_q(id), day=day, amount=_q(amount) if amount else None))
    return Log(connection, digest, rows, notes + _notes(connection, relation, amount))


def _relation(connection, source, base_dir: Path, time: str) -> tuple[str, str]:
    """A DuckDB relation of the source and the sha256 of what was read; a CSV's `time` column is
    read as text (DuckDB's guess of a date format would read 11/04/2023 one way without a word)."""
    if isinstance(source, SqlSource):
        loaded = load_frame(source, base_dir, min_columns=2)
        connection.register("log_rows", loaded.frame)
        return "log_rows", loaded.sha256
    path = data_path(base_dir / source)
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise DataError(f"{path} is a folder with no Parquet files; give a CSV or Parquet file, or a folder of "
                            "Parquet files")
        digest = hashlib.sha256(b"".join(hashlib.sha256(f.read_bytes()).digest() for f in files)).hexdigest()
        return f"read_parquet({_literal(str(path / '**' / '*.parquet'))}, hive_partitioning = true)", digest
    if not path.is_file():
        raise DataError(f"data file {path} not found; check the path (a card's [data] source is relative to the "
                        "card's folder)")
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto"
    relation = f"{reader}({_literal(str(path))})"
    try:
        names = [row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        if reader == "read_csv_auto" and time in names:
            relation = f"read_csv_auto({_literal(str(path))}, types = {{{_literal(time)}: 'VARCHAR'}})"
        connection.execute(f"SELECT * FROM {relation} LIMIT 1").fetchall()
    except Exception as err:  # DuckDB's reader errors: one kind to the user
        raise DataError(f"cannot read {path.name} ({str(err).splitlines()[0]}); give a CSV with a header row, "
                        "or a Parquet file") from err
    return relation, _file_digest(path)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


TEXT_DATES = {  # a format's name -> SQL reading a text value {t} as a DATE (NULL where it does not)
    "YYYY-MM-DD": "COALESCE(TRY_CAST({t} AS DATE), CAST(TRY_CAST({t} AS TIMESTAMP) AS DATE))",
    "YYYYMMDD": "CAST(try_strptime({t}, '%Y%m%d') AS DATE)",
    "YYYY/MM/DD": "CAST(try_strptime({t}, '%Y/%m/%d') AS DATE)",
    "MM/DD/YYYY": "CAST(try_strptime({t}, '%m/%d/%Y') AS DATE)",
    "DD/MM/YYYY": "CAST(try_strptime({t}, '%d/%m/%Y') AS DATE)",
    "DD.MM.YYYY": "CAST(try_strptime({t}, '%d.%m.%Y') AS DATE)",
}
EPOCH_SECONDS = (1e8, 1e11)  # whole numbers in this range are seconds since 1970 (1973 to 5138)


def _day_expression(connection, relation: str, column: str, kind: str) -> tuple[str, list[str]]:
    """SQL giving each row's DATE from the time column, and a note on the format assumed: a
    date, a timestamp, text in one of `TEXT_DATES`, a number such as 19970101 or seconds since
    1970. Values that fit no one format, or text that reads as day/month and month/day alike,
    are a DataError."""
    q = _q(column)
    if kind == "DATE":
        return q, []
    if kind.startswith("TIMESTAMP"):
        return f"CAST({q} AS DATE)", []
    text = f"CAST({q} AS VARCHAR)"
    options = {name: sql.format(t=text) for name, sql in TEXT_DATES.items()}
    if _is_number(kind):
        low, high = connection.execute(f"SELECT MIN({q}), MAX({q}) FROM {relation}").fetchone()
        options = {"YYYYMMDD": options["YYYYMMDD"]}
        if low is not None and EPOCH_SECONDS[0] <= low and high <= EPOCH_SECONDS[1]:
            options = {"seconds since 1970": f"CAST(to_timestamp(CAST({q} AS DOUBLE)) AS DATE)"}
    failures = connection.execute("SELECT " + ", ".join(
        f"COUNT(*) FILTER (WHERE {q} IS NOT NULL AND {sql} IS NULL)" for sql in options.values())
        + f", COUNT(*) FILTER (WHERE {q} IS NULL) FROM {relation}").fetchone()
    nulls, fits = failures[-1], [name for name, failed in zip(options, failures) if not failed]
    if nulls:
        raise DataError(f"{nulls:,} rows have no [data] time {column!r}; drop them or fill the date")
    if {"MM/DD/YYYY", "DD/MM/YYYY"} <= set(fits):
        example = connection.execute(f"SELECT ANY_VALUE({text}) FROM {relation}").fetchone()[0]
        raise DataError(f"[data] time {column!r} reads as month/day and as day/month alike (e.g. {example!r}); write "
                        "the dates as YYYY-MM-DD so they cannot be misread")
    if not fits:
        first = next(iter(options.values()))
        bad, example = connection.execute(f"SELECT COUNT(*), ANY_VALUE({text}) FROM {relation} "
                                          f"WHERE {first} IS NULL").fetchone()
        raise DataError(f"{bad:,} values of [data] time {column!r} are not dates (e.g. {example!r}); give dates as "
                        "YYYY-MM-DD (or timestamps, or numbers such as 19970101)")
    name = fits[0]
    notes = [] if name in ("YYYY-MM-DD", "YYYYMMDD") else [f"[data] time {column!r} read as {name}"]
    return options[name], notes


def _notes(connection, relation: str, amount: str) -> list[str]:
    """What reading the log changed, and the `days` table with it: a day of returns only is no
    purchase and is left out;
    several purchases of a customer on one day count as one; returns net against their day's
    purchases."""
    notes = []
    if amount:
        returns = connection.execute(f"SELECT COUNT(*) FROM {relation} WHERE {_q(amount)} < 0").fetchone()[0]
        empty = connection.execute(f"SELECT COUNT(*) FROM {DAYS} WHERE bought = 0").fetchone()[0]
        connection.execute(f"DELETE FROM {DAYS} WHERE bought = 0")
        if returns:
            notes.append(f"{returns:,} returns (negative amounts): on a day with purchases they net against them; "
                         f"{empty:,} customer-days with only returns are not purchases and are left out")
    merged = connection.execute(f"SELECT COALESCE(SUM(lines - 1), 0) FROM {DAYS}").fetchone()[0]
    if merged:
        notes.append(f"{merged:,} purchases on the same day as another of the same customer are counted as one "
                     "purchase" + (" (their amounts summed)" if amount else ""))
    return notes


def _is_number(kind: str) -> bool:
    return kind.split("(")[0] in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                                  "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"}


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
