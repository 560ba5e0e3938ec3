"""Run exported SQL where the data lives: DuckDB files (duckdb), SQLite and PostgreSQL (SQLAlchemy).

The one adapter to SQL engines for `bakeoff sql --check` and `bakeoff score`: read a table's
columns and types, load rows into a scratch table, run a query, and replace a table with a
query's result in one transaction.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.tabular.sql import copy_table_sql, count_rows_sql, drop_table_sql


def _transactional_ddl(engine) -> None:
    """Python's sqlite3 commits before DDL on its own; emit BEGIN ourselves so that DROP and
    CREATE share one transaction (SQLAlchemy's documented recipe for pysqlite)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


def dialect_of(url: str) -> str:
    """The sqlglot dialect for a connection URL.

    >>> dialect_of("postgresql://me@db/shop"), dialect_of("duckdb:///w.db"), dialect_of("sqlite:///w.db")
    ('postgres', 'duckdb', 'sqlite')
    """
    scheme = url.split("://", 1)[0].split("+")[0]
    dialect = {"postgresql": "postgres", "postgres": "postgres", "duckdb": "duckdb", "sqlite": "sqlite"}.get(scheme)
    if dialect is None:
        raise ConfigError(f"cannot run SQL on {scheme}:// here; give a duckdb:///file.db, sqlite:///file.db "
                          "or postgresql://user@host/db URL")
    return dialect


def _session(dialect: str) -> dict:
    """Per-connection settings. PostgreSQL: no JIT, which compiles a model's CASE trees for
    seconds per query (a 3-class forest: about 2.5 s each, measured on 600 rows) and gains
    little on expressions that are evaluated once per row."""
    return {"options": "-c jit=off"} if dialect == "postgres" else {}


class Database:
    """A connection to one database by URL; use as a context manager."""

    def __init__(self, url: str):
        from bakeoff.core.urls import file_url, redact, sqlalchemy_url

        self.dialect = dialect_of(url)
        self.label, self.url = redact(url), url
        url = file_url(url, Path.cwd(), "give the path of an existing database file (relative to this folder)")
        try:
            if self.dialect == "duckdb":
                import duckdb

                path = url.split(":///", 1)[1].partition("?")[0]  # a query string is no part of the file
                self.con = duckdb.connect(path or ":memory:")
            else:
                import sqlalchemy

                self.engine = sqlalchemy.create_engine(sqlalchemy_url(url), connect_args=_session(self.dialect))
                if self.dialect == "sqlite":
                    _transactional_ddl(self.engine)
                self.con = self.engine.connect()
        except Exception as err:  # drivers raise many types; all mean "cannot connect"
            raise ConfigError(f"cannot connect to {self.label} ({self.failure(err)}); check the URL") from err

    def failure(self, err: BaseException) -> str:
        """`err` in one line, this database's password masked."""
        from bakeoff.core.urls import failure

        return failure(err, self.url)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        if self.dialect != "duckdb":
            self.engine.dispose()

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> upper-case type name; DataError when the table does not exist."""
        if self.dialect == "duckdb":
            rows = self.con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_name = ? ORDER BY ordinal_position", [table.split(".")[-1]]).fetchall()
            found = {name: kind.upper() for name, kind in rows}
        else:
            import sqlalchemy

            schema, _, name = table.rpartition(".")
            try:
                described = sqlalchemy.inspect(self.con).get_columns(name, schema=schema or None)
            except sqlalchemy.exc.NoSuchTableError:
                described = []
            found = {c["name"]: str(c["type"]).upper() for c in described}
        if not found:
            raise DataError(f"table {table!r} not found in {self.label}; check --table (schema.table for another schema)")
        return found

    def query(self, sql: str) -> pd.DataFrame:
        if self.dialect == "duckdb":
            return self.con.execute(sql).df()
        import sqlalchemy

        return pd.read_sql_query(sqlalchemy.text(sql.replace(":", r"\:")), self.con)

    def load(self, table: str, frame: pd.DataFrame) -> None:
        """Create (or replace) `table` holding `frame`."""
        if self.dialect == "duckdb":
            self.con.register("_bakeoff_frame", frame)
            self.con.execute(copy_table_sql(table, "_bakeoff_frame", "duckdb"))
            self.con.unregister("_bakeoff_frame")
            return
        frame.to_sql(table, self.con, if_exists="replace", index=False)
        self.con.commit()

    def drop(self, table: str) -> None:
        self.execute_in_transaction([drop_table_sql(table, self.dialect)])

    def replace_table(self, into: str, create_sql: str) -> int:
        """Drop table `into` and run `create_sql` (which creates it) in one transaction; its row count."""
        try:
            self.execute_in_transaction([drop_table_sql(into, self.dialect), create_sql])
        except Exception as err:  # engines raise many types; all mean "the query failed there"
            raise DataError(f"scoring failed in {self.label} ({self.failure(err)}); "
                            f"nothing was written and {into} is as it was") from err
        return int(self.query(count_rows_sql(into, self.dialect))["n"].iloc[0])

    def execute_in_transaction(self, statements: list[str]) -> None:
        """All statements or none: a failure rolls back and leaves the old tables as they were."""
        if self.dialect == "duckdb":
            self.con.execute("BEGIN TRANSACTION")
            try:
                for statement in statements:
                    self.con.execute(statement)
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            return
        import sqlalchemy

        if self.con.in_transaction():
            self.con.commit()
        with self.con.begin():
            for statement in statements:
                self.con.execute(sqlalchemy.text(statement.replace(":", r"\:")))


def check_columns(found: dict[str, str], schema: dict[str, str], table: str) -> None:
    """Every column the model reads is there (names match exactly: the query quotes them) and
    none is BOOLEAN (the query would read true/false where the model learned the stored text).
    Numbers may be stored as numbers or as text: the query reads both as schema.py does."""
    lower = {name.lower(): name for name in found}
    for column in schema:
        if column not in found and column.lower() in lower:
            raise DataError(f"table {table!r} names column {column!r} {lower[column.lower()]!r}; the query quotes "
                            "names exactly, so rename it or score a view that uses the training name")
    missing = [c for c in schema if c not in found]
    if missing:
        raise DataError(f"table {table!r} lacks column(s) {', '.join(map(repr, missing))} that the model reads; "
                        "add them (NULL is allowed) or score a view that has them")
    for column, kind in schema.items():
        if "BOOL" in found[column]:
            raise DataError(f"column {column!r} of {table!r} is BOOLEAN but the model was trained on its "
                            f"{'numbers' if kind == 'number' else 'text values'}; store it as in the training "
                            "data (DuckDB's read_csv(..., all_varchar = true) keeps Yes/No as text)")
        if kind.startswith("date"):
            raise DataError(f"the model reads the date column {column!r}, which has no SQL form yet; "
                            "pick a candidate trained without it")


class QueriesOver:
    """Queries written in DuckDB's SQL, run in another database over one of its queries, so its
    rows never leave it: sqlglot translates each, and sends it with the source query (as the
    relation `source`, in the database's own SQL) and the relations `define`d so far as CTEs.

    >>> over = QueriesOver("postgresql://me@db/shop", "SELECT * FROM orders")  # doctest: +SKIP
    >>> over.define("days", "SELECT customer, CAST(ts AS DATE) AS day FROM source GROUP BY 1, 2")  # doctest: +SKIP
    >>> over.frame("SELECT COUNT(*) AS n FROM days")  # doctest: +SKIP
    """

    SOURCE = "source"

    def __init__(self, url: str, query: str):
        self.database = Database(url)
        self.query = query.strip().rstrip(";")
        self.defined: list[tuple[str, str]] = []

    def define(self, name: str, sql: str) -> None:
        self.defined.append((name, sql))

    def frame(self, sql: str) -> pd.DataFrame:
        try:
            return self.database.query(self.translate(sql))
        except Exception as err:  # drivers raise their own types; all mean the same to the user
            raise DataError(f"the query on {self.database.label} failed ({self.database.failure(err)}); "
                            "check [data] source url and query") from err

    def rows(self, sql: str) -> list[tuple]:
        return list(self.frame(sql).itertuples(index=False, name=None))

    def columns(self, relation: str) -> dict[str, str]:
        """A relation's columns and their DuckDB types, read from its first 1,000 rows."""
        import duckdb

        sample = self.frame(f"SELECT * FROM {relation} LIMIT 1000")
        with duckdb.connect() as scratch:
            scratch.register("sample", sample)
            return {row[0]: row[1] for row in scratch.execute("DESCRIBE SELECT * FROM sample").fetchall()}

    def translate(self, sql: str) -> str:
        """`sql` in the database's SQL, with the source query and the defined relations before it."""
        import sqlglot

        body = sql.strip()
        ported = ", ".join(f"{name} AS ({definition})" for name, definition in self.defined)
        if ported:
            body = f"WITH {ported}, {body[4:]}" if body[:4].upper() == "WITH" else f"WITH {ported} {body}"
        out = sqlglot.transpile(body, read="duckdb", write=self.database.dialect)[0]
        head = f"WITH {self.SOURCE} AS ({self.query})"
        return f"{head}, {out[5:]}" if out.startswith("WITH ") else f"{head} {out}"

    def close(self) -> None:
        self.database.close()
