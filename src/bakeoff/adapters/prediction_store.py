"""Where the prediction log and feedback are kept: a DuckDB file (the default) or PostgreSQL by
URL. Each write is one INSERT of many rows. A server holds its DuckDB file open while it runs
(so read the log, or add labels with `bakeoff feedback`, once it stops; or log to PostgreSQL,
which many may read and write at once).

Example::

    store = open_store("predictions.duckdb", hold=True)
    store.write("predictions", [("r1", at, "churn", 1, "champion", True, "c-7", "{...}", "{...}", 0.4)])
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
NAMES = {"predictions": "bakeoff_predictions", "feedback": "bakeoff_labels"}  # in the user's database
TABLES = {
    "predictions": "request_id VARCHAR, served_at TIMESTAMP, model VARCHAR, version INTEGER, arm VARCHAR, answered BOOLEAN, "
                   "entity VARCHAR, inputs VARCHAR, outputs VARCHAR, latency_ms DOUBLE PRECISION",
    "feedback": "request_id VARCHAR, entity VARCHAR, label VARCHAR, labelled_at TIMESTAMP",
}
LOCK_RETRIES = 20  # DuckDB's file has one writer at a time: wait up to ~2 s for a short one (a server holds it)


class DuckDbStore:
    """A DuckDB file. Held (`hold=True`, the server): one connection kept open, so a write costs
    milliseconds, not the ~25 ms of opening the file; other processes cannot open it meanwhile.
    Not held (`bakeoff feedback`): opened per write, waiting a while for a server's hold."""

    def __init__(self, path: Path, hold: bool = False):
        self.path, self.label, self.hold = Path(path), str(path), hold
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._held = None
        with self._connection() as con:
            for name, columns in TABLES.items():
                con.execute(f"CREATE TABLE IF NOT EXISTS {NAMES[name]} ({columns})")

    def _connection(self):
        import contextlib

        import duckdb

        if self.hold:
            if self._held is None:
                try:
                    self._held = duckdb.connect(str(self.path))
                except duckdb.IOException as err:
                    raise ConfigError(f"the prediction log {self.path} is held by another process (a running bakeoff "
                                      "serve?); give this server its own --log, or stop the other") from err
            return contextlib.nullcontext(self._held)
        for attempt in range(LOCK_RETRIES):
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as err:
                if attempt == LOCK_RETRIES - 1:
                    raise ConfigError(f"the prediction log {self.path} is held by a running bakeoff serve; send the "
                                      "labels to its /v1/feedback, or stop it first") from err
                time.sleep(0.1)

    def write(self, table: str, rows: list[tuple]) -> None:
        import pyarrow as pa

        columns = PREDICTIONS if table == "predictions" else FEEDBACK
        batch = pa.Table.from_arrays([pa.array(values) for values in zip(*rows)], names=list(columns))
        with self._connection() as con:
            con.register("batch", batch)
            try:
                con.execute(f"INSERT INTO {NAMES[table]} SELECT {', '.join(columns)} FROM batch")
            finally:
                con.unregister("batch")

    def read(self, sql: str) -> pd.DataFrame:
        with self._connection() as con:
            return con.execute(sql).df()

    def replace_labels(self, rows: list[tuple], by: str) -> None:
        """Labels in, each replacing what was recorded before for its key (`by`: request_id or entity)."""
        import pyarrow as pa

        batch = pa.Table.from_arrays([pa.array(values) for values in zip(*rows)], names=list(FEEDBACK))
        with self._connection() as con:
            con.register("batch", batch)
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(f"DELETE FROM {NAMES['feedback']} WHERE {by} IN (SELECT {by} FROM batch)")
                con.execute(f"INSERT INTO {NAMES['feedback']} SELECT {', '.join(FEEDBACK)} FROM batch")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("batch")

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None


class SqlStore:
    def __init__(self, url: str):
        import sqlalchemy

        self.label = redact(url)
        self.engine = sqlalchemy.create_engine(sqlalchemy_url(url))
        with self.engine.begin() as con:
            for name, columns in TABLES.items():
                con.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {NAMES[name]} ({columns.replace('VARCHAR', 'TEXT')})")

    def write(self, table: str, rows: list[tuple]) -> None:
        import sqlalchemy

        columns = PREDICTIONS if table == "predictions" else FEEDBACK
        statement = sqlalchemy.text(f"INSERT INTO {NAMES[table]} ({', '.join(columns)}) VALUES "
                                    f"({', '.join(':' + c for c in columns)})")
        with self.engine.begin() as con:
            con.execute(statement, [dict(zip(columns, row)) for row in rows])

    def read(self, sql: str) -> pd.DataFrame:
        with self.engine.connect() as con:
            return pd.read_sql_query(sql, con)

    def replace_labels(self, rows: list[tuple], by: str) -> None:
        import sqlalchemy

        keys = [{"key": row[FEEDBACK.index(by)]} for row in rows]
        insert = sqlalchemy.text(f"INSERT INTO {NAMES['feedback']} ({', '.join(FEEDBACK)}) VALUES "
                                 f"({', '.join(':' + c for c in FEEDBACK)})")
        with self.engine.begin() as con:
            con.execute(sqlalchemy.text(f"DELETE FROM {NAMES['feedback']} WHERE {by} = :key"), keys)
            con.execute(insert, [dict(zip(FEEDBACK, row)) for row in rows])

    def close(self) -> None:
        self.engine.dispose()


def open_store(where: str, hold: bool = False):
    """The store at a DuckDB file path (or duckdb:///path; `hold`: keep it open) or a postgresql:// URL."""
    try:
        if where.startswith(("postgresql", "postgres://")):
            return SqlStore(where)
        return DuckDbStore(Path(where.removeprefix("duckdb:///")), hold)
    except ConfigError:
        raise
    except Exception as err:  # drivers raise many types; all mean "cannot open the log"
        raise ConfigError(f"cannot open the prediction log {redact(where)} ({failure(err, where)}); check --log") \
            from err
