"""A customer log that lives in PostgreSQL is summarised there (its rows never come over): the
same customers, tracking and notes as the log read from a file, and a run from the card."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli, only_run, read_result
from test_customer import HAND_CARD, HAND_LOG, LOG

EXAMPLE = Path(__file__).parents[1] / "examples" / "cdnow_customers" / "bakeoff.toml"
SUMMARISED = "the log was summarised in PostgreSQL: its rows never left the database"


def to_postgres(postgres_url: str, table: str, frame: pd.DataFrame, dtype: dict | None = None) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    frame.to_sql(table, engine, if_exists="replace", index=False, dtype=dtype)
    engine.dispose()


def cdnow_in_postgres(postgres_url: str) -> None:
    """The CDNOW log with a DATE column and NUMERIC amounts, as a shop's database would keep it."""
    import sqlalchemy

    log = pd.read_csv(LOG)
    log["order_date"] = pd.to_datetime(log.pop("date").astype(str), format="%Y%m%d").dt.date
    to_postgres(postgres_url, "cdnow_orders", log, {"sales": sqlalchemy.Numeric(10, 2)})


def prepared(card_text: str, folder: Path):
    from bakeoff.core.card import card_from_text
    from bakeoff.tasks.customer.data import prepare

    return prepare(card_from_text(card_text).with_base_dir(folder))


def assert_same_customers(found, expected) -> None:
    for window in ("calibration", "inner", "final"):
        mine, theirs = getattr(found, window), getattr(expected, window)
        assert [str(i) for i in mine.ids] == [str(i) for i in theirs.ids], window
        for column in (f.name for f in dataclasses.fields(theirs) if f.name != "ids"):
            assert np.allclose(getattr(mine, column), getattr(theirs, column), rtol=1e-12, equal_nan=True), \
                (window, column)
    assert found.tracking == expected.tracking
    assert found.dates == expected.dates


def test_cdnow_summarised_in_postgres_gives_the_file_s_customers(tmp_path, postgres_url):
    cdnow_in_postgres(postgres_url)
    card = EXAMPLE.read_text()
    from_file = prepared(card.replace("../cdnow_spend/cdnowElog.csv", str(LOG)), tmp_path)
    query = "SELECT sampleid, order_date, sales FROM cdnow_orders;"  # a trailing semicolon, as people write
    in_database = prepared(card.replace('source = "../cdnow_spend/cdnowElog.csv"',
                                        f'source = {{ url = "{postgres_url}", query = "{query}" }}')
                           .replace('time = "date"', 'time = "order_date"'), tmp_path)
    assert_same_customers(in_database, from_file)
    assert in_database.notes == [SUMMARISED] + from_file.notes
    assert in_database.rows == from_file.rows == len(pd.read_csv(LOG))


def test_returns_and_same_day_purchases_are_handled_in_postgres_as_in_a_file(tmp_path, postgres_url):
    (tmp_path / "log.csv").write_text(HAND_LOG)
    log = pd.read_csv(tmp_path / "log.csv")
    to_postgres(postgres_url, "hand_orders", log.assign(day=pd.to_datetime(log["day"])))  # a TIMESTAMP column
    from_file = prepared(HAND_CARD, tmp_path)
    in_database = prepared(HAND_CARD.replace('source = "log.csv"', f'source = {{ url = "{postgres_url}", '
                                             'query = "SELECT * FROM hand_orders" }'), tmp_path)
    assert_same_customers(in_database, from_file)
    assert in_database.notes == [SUMMARISED] + from_file.notes
    assert any("returns" in note for note in from_file.notes)  # the hand log has them: the case is exercised


def test_text_dates_in_postgres_are_read_here_and_the_note_says_how_to_keep_them_there(tmp_path, postgres_url):
    (tmp_path / "log.csv").write_text(HAND_LOG)
    to_postgres(postgres_url, "hand_text_orders", pd.read_csv(tmp_path / "log.csv"))  # day stays TEXT
    in_database = prepared(HAND_CARD.replace('source = "log.csv"', f'source = {{ url = "{postgres_url}", '
                                             'query = "SELECT * FROM hand_text_orders" }'), tmp_path)
    assert_same_customers(in_database, prepared(HAND_CARD, tmp_path))
    assert "cast it in the query (CAST(... AS DATE))" in in_database.notes[0]


def test_a_run_from_a_postgres_log_scores_the_ladder_and_predicts(tmp_path, postgres_url):
    cdnow_in_postgres(postgres_url)
    card = EXAMPLE.read_text().replace(
        'source = "../cdnow_spend/cdnowElog.csv"',
        f'source = {{ url = "{postgres_url}", query = "SELECT * FROM cdnow_orders" }}').replace(
        'time = "date"', 'time = "order_date"').replace('total = "1m"', 'total = "30s"')
    (tmp_path / "bakeoff.toml").write_text(card + '\n[ladder]\nonly = ["historic_rate", "pareto_nbd"]\n')
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = read_result(only_run(tmp_path))
    assert {c["name"]: c["status"] for c in result["candidates"]} == {"historic_rate": "ok", "pareto_nbd": "ok"}
    assert SUMMARISED in result["notes"]
