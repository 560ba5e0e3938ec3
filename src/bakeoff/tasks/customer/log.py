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
    relation, digest = _relation(connection, source, base_dir)
    columns = {row[0]: row[1] for row in connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    for role, column in (("id", id), ("time", time), ("amount", amount)):
        if column and column not in columns:
            where = "[customer] amount" if role == "amount" else f"[data] {role}"
            raise DataError(f"{where} {column!r} is not a column of the log; {suggest(column, list(columns))}")
    if amount and not _is_number(columns[amount]):
        raise DataError(f"[customer] amount {amount!r} holds {columns[amount]} values, not numbers; name the "
                        "column of each purchase's amount, or leave amount out")
    day = _day_expression(connection, relation, time, columns[time])
    rows, missing = connection.execute(f"SELECT COUNT(*), COUNT(*) - COUNT({_q(id)}) FROM {relation}").fetchone()
    if missing:
        raise DataError(f"{missing:,} of {rows:,} rows have no customer id in {id!r}; drop them or fill the id")
    connection.execute(f"CREATE TABLE {DAYS} AS "
                       + days_sql(relation, id=_q(id), day=day, amount=_q(amount) if amount else None))
    return Log(connection, digest, rows, _notes(connection, relation, amount))


def _relation(connection, source, base_dir: Path) -> tuple[str, str]:
    """A DuckDB relation of the source and the sha256 of what was read."""
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


def _day_expression(connection, relation: str, column: str, kind: str) -> str:
    """SQL giving each row's DATE from the time column: a date, a timestamp, text in ISO form, or
    a number such as 19970101; a value that is none of these is a DataError."""
    q = _q(column)
    if kind == "DATE":
        return q
    if kind.startswith("TIMESTAMP"):
        return f"CAST({q} AS DATE)"
    if _is_number(kind):
        day = f"CAST(try_strptime(CAST({q} AS VARCHAR), '{NUMERIC_DATE}') AS DATE)"
    else:
        text = f"CAST({q} AS VARCHAR)"
        day = (f"COALESCE(TRY_CAST({text} AS DATE), CAST(try_strptime({text}, '{NUMERIC_DATE}') AS DATE), "
               f"CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE))")
    bad = connection.execute(f"SELECT COUNT(*), ANY_VALUE(CAST({q} AS VARCHAR)) FROM {relation} "
                         f"WHERE {q} IS NOT NULL AND {day} IS NULL").fetchone()
    nulls = connection.execute(f"SELECT COUNT(*) FROM {relation} WHERE {q} IS NULL").fetchone()[0]
    if bad[0] or nulls:
        example = f"e.g. {bad[1]!r}" if bad[0] else "empty"
        raise DataError(f"{bad[0] + nulls:,} values of [data] time {column!r} are not dates ({example}); give "
                        "dates as YYYY-MM-DD (or timestamps, or numbers such as 19970101)")
    return day


def _notes(connection, relation: str, amount: str) -> list[str]:
    """What reading the log changed: several purchases of a customer on one day count as one;
    returns (negative amounts) are netted against their day's purchases."""
    notes = []
    merged = connection.execute(f"SELECT COALESCE(SUM(lines - 1), 0) FROM {DAYS}").fetchone()[0]
    if merged:
        notes.append(f"{merged:,} purchases on the same day as another of the same customer are counted as one "
                     "purchase (their amounts summed)")
    if amount:
        returns = connection.execute(f"SELECT COUNT(*) FROM {relation} WHERE {_q(amount)} < 0").fetchone()[0]
        if returns:
            notes.append(f"{returns:,} returns (negative amounts) are netted against the same customer's purchases "
                         "that day")
    return notes


def _is_number(kind: str) -> bool:
    return kind.split("(")[0] in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                                  "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"}


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
