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
from bakeoff.core.urls import file_url
from bakeoff.errors import DataError
from bakeoff.tasks.customer.summaries import days_sql, purchase_days_sql

DAYS = "days"  # the purchase days: id, day, spend, lines (the log's rows that day)
NUMERIC_DATE = "%Y%m%d"  # a date written as a number, e.g. 19970101
SUMMARISED_THERE = {"postgres": "PostgreSQL"}  # databases that summarise their own log (queries by sqlglot)
DATE_KINDS = ("DATE", "TIMESTAMP")


class InDuckDb:
    """Queries on the log in a DuckDB connection (files; a SQL source's rows brought here)."""

    def __init__(self, connection):
        self.connection = connection

    def define(self, name: str, sql: str) -> None:
        self.connection.execute(f"CREATE TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple]:
        return self.connection.execute(sql).fetchall()

    def frame(self, sql: str):
        return self.connection.execute(sql).df()

    def columns(self, relation: str) -> dict[str, str]:
        return {row[0]: row[1] for row in self.connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}

    def close(self) -> None:
        self.connection.close()


@dataclass
class Log:
    """Where the `days` relation is (`queries`: rows and frames of DuckDB SQL on it), with what
    reading the log found; use as a context manager."""

    queries: object
    sha256: str
    rows: int
    notes: list[str] = field(default_factory=list)

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc) -> None:
        self.queries.close()


def open_log(source, base_dir: Path, *, id: str, time: str, amount: str = "") -> Log:
    """Open the log at `source` with its purchase days as `days`; a problem a user can fix is a
    DataError. A PostgreSQL source whose time column is a date or timestamp is summarised there."""
    queries, relation, digest, notes = _in_database(source, base_dir, time)
    if queries is None:
        import duckdb

        queries = InDuckDb(duckdb.connect())
        relation, digest = _relation(queries.connection, source, base_dir, time)
    try:
        return _open(queries, relation, digest, notes, id=id, time=time, amount=amount)
    except BaseException:
        queries.close()
        raise


def _open(queries, relation: str, digest: str | None, notes: list[str], *, id: str, time: str, amount: str) -> Log:
    columns = queries.columns(relation)
    rows = queries.rows(f"SELECT COUNT(*) FROM {relation}")[0][0]
    if not rows:
        raise DataError("the log has no rows (a header only?); give a log with one row per purchase")
    for role, column in (("id", id), ("time", time), ("amount", amount)):
        if column and column not in columns:
            where = "[customer] amount" if role == "amount" else f"[data] {role}"
            raise DataError(f"{where} {column!r} is not a column of the log; {suggest(column, list(columns))}")
    if amount and not _is_number(columns[amount]):
        example = queries.rows(f"SELECT MIN(CAST({_q(amount)} AS VARCHAR)) FROM {relation}")[0][0]
        what = f"text such as {example!r}" if example is not None else "no values at all"
        raise DataError(f"[customer] amount {amount!r} holds {what}, not numbers; give plain numbers (a dot for "
                        "decimals, no currency), or leave amount out")
    day, read_as = _day_expression(queries, relation, time, columns[time])
    missing = queries.rows(f"SELECT COUNT(*) - COUNT({_q(id)}) FROM {relation}")[0][0]
    if missing:
        raise DataError(f"{missing:,} of {rows:,} rows have no customer id in {id!r}; drop them or fill the id")
    grouped = days_sql(relation, id=_q(id), day=day, amount=_q(amount) if amount else None)
    queries.define(DAYS, purchase_days_sql(grouped))
    notes = notes + read_as + _notes(queries, relation, grouped, amount)
    if digest is None:
        digest = _summary_digest(queries)
    return Log(queries, digest, int(rows), notes)


def _in_database(source, base_dir: Path, time: str):
    """(queries, relation, None, notes) for a database that summarises its own log, where the
    time column is a date or timestamp; (None, "", "", notes) for one whose rows come here."""
    if not isinstance(source, SqlSource):
        return None, "", "", []
    from bakeoff.adapters.sqldb import QueriesOver

    url = file_url(source.url, base_dir)
    scheme = url.split("://", 1)[0].split("+")[0]
    where = SUMMARISED_THERE.get({"postgresql": "postgres"}.get(scheme, scheme))
    if where is None:
        return None, "", "", []
    queries = QueriesOver(url, source.query)
    try:
        kind = queries.columns(queries.SOURCE).get(time, "")
    except BaseException:
        queries.close()
        raise
    if not kind.startswith(DATE_KINDS):
        queries.close()
        note = (f"[data] time {time!r} is no date or timestamp in {where}, so the log's rows were read here; cast it "
                "in the query (CAST(... AS DATE)) to summarise the log in the database") if kind else ""
        return None, "", "", [note] if note else []
    return queries, queries.SOURCE, None, [f"the log was summarised in {where}: its rows never left the database"]


def _summary_digest(queries) -> str:
    """sha256 of per-customer totals of the purchase days: the fingerprint of a log that was
    summarised where it lives (its rows are not here to hash)."""
    frame = queries.frame(f"SELECT CAST(id AS VARCHAR) AS id, COUNT(*) AS days, SUM(lines) AS lines, MIN(day) AS first, "
                          f"MAX(day) AS last, SUM(spend) AS spend FROM {DAYS} GROUP BY 1 ORDER BY 1")
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


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


def _day_expression(queries, relation: str, column: str, kind: str) -> tuple[str, list[str]]:
    """SQL giving each row's DATE from the time column, and a note on the format assumed: a
    date, a timestamp, text in one of `TEXT_DATES`, a number such as 19970101 or seconds since
    1970. Values that fit no one format, or text that reads as day/month and month/day alike,
    are a DataError."""
    q = _q(column)
    if kind.startswith(DATE_KINDS):
        nulls = queries.rows(f"SELECT COUNT(*) - COUNT({q}) FROM {relation}")[0][0]
        if nulls:
            raise DataError(f"{nulls:,} rows have no [data] time {column!r}; drop them or fill the date")
        return (q if kind == "DATE" else f"CAST({q} AS DATE)"), []
    text = f"CAST({q} AS VARCHAR)"
    options = {name: sql.format(t=text) for name, sql in TEXT_DATES.items()}
    if _is_number(kind):
        low, high = queries.rows(f"SELECT MIN({q}), MAX({q}) FROM {relation}")[0]
        options = {"YYYYMMDD": options["YYYYMMDD"]}
        if low is not None and EPOCH_SECONDS[0] <= low and high <= EPOCH_SECONDS[1]:
            options = {"seconds since 1970": f"CAST(to_timestamp(CAST({q} AS DOUBLE)) AS DATE)"}
    failures = queries.rows("SELECT " + ", ".join(
        f"COUNT(*) FILTER (WHERE {q} IS NOT NULL AND {sql} IS NULL)" for sql in options.values())
        + f", COUNT(*) FILTER (WHERE {q} IS NULL) FROM {relation}")[0]
    nulls, fits = failures[-1], [name for name, failed in zip(options, failures) if not failed]
    if nulls:
        raise DataError(f"{nulls:,} rows have no [data] time {column!r}; drop them or fill the date")
    if {"MM/DD/YYYY", "DD/MM/YYYY"} <= set(fits):
        example = queries.rows(f"SELECT ANY_VALUE({text}) FROM {relation}")[0][0]
        raise DataError(f"[data] time {column!r} reads as month/day and as day/month alike (e.g. {example!r}); write "
                        "the dates as YYYY-MM-DD so they cannot be misread")
    if not fits:
        first = next(iter(options.values()))
        bad, example = queries.rows(f"SELECT COUNT(*), ANY_VALUE({text}) FROM {relation} WHERE {first} IS NULL")[0]
        raise DataError(f"{bad:,} values of [data] time {column!r} are not dates (e.g. {example!r}); give dates as "
                        "YYYY-MM-DD (or timestamps, or numbers such as 19970101)")
    name = fits[0]
    notes = [] if name in ("YYYY-MM-DD", "YYYYMMDD") else [f"[data] time {column!r} read as {name}"]
    return options[name], notes


def _notes(queries, relation: str, grouped: str, amount: str) -> list[str]:
    """What reading the log changed: a day of returns only is no purchase and is left out;
    several purchases of a customer on one day count as one; returns net against their day's
    purchases (`grouped`: the log's rows per customer and day)."""
    notes = []
    if amount:
        returns = int(queries.rows(f"SELECT COUNT(*) FROM {relation} WHERE {_q(amount)} < 0")[0][0])
        if returns:
            empty = int(queries.rows(f"SELECT COUNT(*) FROM ({grouped}) AS grouped WHERE bought = 0")[0][0])
            notes.append(f"{returns:,} returns (negative amounts): on a day with purchases they net against them; "
                         f"{empty:,} customer-days with only returns are not purchases and are left out")
    merged = int(queries.rows(f"SELECT COALESCE(SUM(lines - 1), 0) FROM {DAYS}")[0][0])
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
