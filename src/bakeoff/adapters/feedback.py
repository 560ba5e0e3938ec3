"""The feedback store: what subject-matter experts said about predictions (SQLite or PostgreSQL).

Every verdict is one appended row, written in its own committed transaction, so a crash
loses at most the verdict being written and two reviewers never overwrite each other.
The default store is `.bakeoff/feedback.db` next to the card; `[store] url` names another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bakeoff.errors import ConfigError

TABLE = "bakeoff_feedback"
VERDICTS = ("right", "wrong")


@dataclass(frozen=True)
class Verdict:
    """One expert's judgement of one prediction."""

    problem: str
    run_id: str
    candidate: str
    row_key: str
    features: dict
    predicted: str
    verdict: str  # right | wrong
    answer: str | None = None
    comment: str = ""
    reviewer: str = ""


def store_url(url: str, store_dir: Path) -> str:
    """The card's [store] url, or the SQLite file under .bakeoff/ next to the card."""
    from bakeoff.core.urls import sqlalchemy_url

    if url:
        return sqlalchemy_url(url)
    return f"sqlite:///{Path(store_dir).resolve() / 'feedback.db'}"


class FeedbackStore:
    """Append and read verdicts. Example::

        store = FeedbackStore("sqlite:///feedback.db")
        store.add(Verdict("Telco churn", run_id, "linear", "id:42", {...}, "Yes", "wrong", "No"))
        store.verdicts("Telco churn")
    """

    def __init__(self, url: str):
        import sqlalchemy as sa

        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
            if url.startswith("sqlite"):
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.table = _table(sa.MetaData())
            self.table.metadata.create_all(self.engine, checkfirst=True)
        except (sa.exc.SQLAlchemyError, ImportError, OSError) as err:
            from bakeoff.core.urls import failure, redact

            raise ConfigError(f"cannot open the feedback store {redact(url)} "
                              f"({failure(getattr(err, 'orig', None) or err, url)}); "
                              "check [store] url (postgresql://user@host/db) or that .bakeoff/ next to the card "
                              "is writable") from err

    def add(self, verdict: Verdict) -> int:
        """Store one verdict in its own transaction; returns its id."""
        values = {**verdict.__dict__, "features": json.dumps(verdict.features, sort_keys=True),
                  "created_at": datetime.now(timezone.utc).isoformat(timespec="microseconds")}
        with self.engine.begin() as con:
            return int(con.execute(self.table.insert().values(**values)).inserted_primary_key[0])

    def verdicts(self, problem: str, run_id: str | None = None) -> list[dict]:
        """All verdicts on a problem (or one run of it), oldest first."""
        query = self.table.select().where(self.table.c.problem == problem).order_by(self.table.c.id)
        if run_id is not None:
            query = query.where(self.table.c.run_id == run_id)
        with self.engine.connect() as con:
            rows = [dict(r._mapping) for r in con.execute(query)]
        for row in rows:
            row["features"] = json.loads(row["features"])
        return rows

    def close(self) -> None:
        self.engine.dispose()


def _table(meta):
    import sqlalchemy as sa

    return sa.Table(
        TABLE, meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("problem", sa.String(200), nullable=False, index=True),
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("candidate", sa.String(200), nullable=False),
        sa.Column("row_key", sa.Text, nullable=False),
        sa.Column("features", sa.Text, nullable=False),
        sa.Column("predicted", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("comment", sa.Text, nullable=False, default=""),
        sa.Column("reviewer", sa.String(100), nullable=False, default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed verdict survives a power cut
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
