"""Where the prediction log and feedback are kept: a DuckDB file (the default) or PostgreSQL by
URL. Each write is one transaction of many rows; DuckDB's file is opened per write, so `bakeoff
feedback` and a reader can use it between the server's writes.

Example::

    store = open_store("predictions.duckdb")
    store.write_predictions([("r1", at, "churn", 1, "champion", True, "c-7", "{...}", "{...}", 0.4)])
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from bakeoff.core.urls import failure, redact, sqlalchemy_url
from bakeoff.errors import ConfigError

PREDICTIONS = ("request_id", "served_at", "model", "version", "arm", "answered", "entity", "inputs", "outputs",
               "latency_ms")
FEEDBACK = ("request_id", "entity", "label", "labelled_at")
TABLES = {
    "predictions": "request_id VARCHAR, served_at TIMESTAMP, model VARCHAR, version INTEGER, arm VARCHAR, answered BOOLEAN, "
                   "entity VARCHAR, inputs VARCHAR, outputs VARCHAR, latency_ms DOUBLE PRECISION",
    "feedback": "request_id VARCHAR, entity VARCHAR, label VARCHAR, labelled_at TIMESTAMP",
}
LOCK_RETRIES = 50  # DuckDB's file is held by one writer at a time: wait up to ~5 s for the other


class DuckDbStore:
    def __init__(self, path: Path):
        self.path, self.label = Path(path), str(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._run([f"CREATE TABLE IF NOT EXISTS {name} ({columns})" for name, columns in TABLES.items()])

    def _connect(self):
        import duckdb

        for attempt in range(LOCK_RETRIES):
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException:
                if attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(0.1)

    def _run(self, statements: list[str], rows: list[tuple] = (), table: str = "") -> None:
        with self._connect() as con:
            for statement in statements:
                con.execute(statement)
            if rows:
                columns = PREDICTIONS if table == "predictions" else FEEDBACK
                frame = pd.DataFrame(rows, columns=list(columns))
                con.register("batch", frame)
                con.execute(f"INSERT INTO {table} SELECT {', '.join(columns)} FROM batch")

    def write(self, table: str, rows: list[tuple]) -> None:
        self._run([], rows, table)

    def read(self, sql: str) -> pd.DataFrame:
        with self._connect() as con:
            return con.execute(sql).df()


class SqlStore:
    def __init__(self, url: str):
        import sqlalchemy

        self.label = redact(url)
        self.engine = sqlalchemy.create_engine(sqlalchemy_url(url))
        with self.engine.begin() as con:
            for name, columns in TABLES.items():
                con.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {name} ({columns.replace('VARCHAR', 'TEXT')})")

    def write(self, table: str, rows: list[tuple]) -> None:
        import sqlalchemy

        columns = PREDICTIONS if table == "predictions" else FEEDBACK
        statement = sqlalchemy.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                    f"({', '.join(':' + c for c in columns)})")
        with self.engine.begin() as con:
            con.execute(statement, [dict(zip(columns, row)) for row in rows])

    def read(self, sql: str) -> pd.DataFrame:
        with self.engine.connect() as con:
            return pd.read_sql_query(sql, con)


def open_store(where: str):
    """The store at a DuckDB file path (or duckdb:///path) or a postgresql:// URL."""
    try:
        if where.startswith(("postgresql", "postgres://")):
            return SqlStore(where)
        return DuckDbStore(Path(where.removeprefix("duckdb:///")))
    except Exception as err:  # drivers raise many types; all mean "cannot open the log"
        raise ConfigError(f"cannot open the prediction log {redact(where)} ({failure(err, where)}); check --log") \
            from err
