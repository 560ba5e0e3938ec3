"""Exported SQL against the Python models, row by row, in real DuckDB, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import (
    CDNOW,
    QUICK_TELCO_CARD,
    REPO,
    cli,
    make_classification_frame,
    only_run,
    read_result,
    write_card,
)

from bakeoff.core.card import card_from_dict
from bakeoff.core.registry import available
from bakeoff.errors import ConfigError
from bakeoff.tasks.tabular.bundle import ModelBundle
from bakeoff.tasks.tabular.data import prepare
from bakeoff.tasks.tabular.indb import ROW, as_read, compare, parity_in, typed_for_database
from bakeoff.tasks.tabular.schema import category_levels
from bakeoff.tasks.tabular.sql import DIALECTS, sql_support, to_sql

GOLDEN = REPO / "tests" / "fixtures" / "sql"
EXPORTABLE = ["constant", "one_rule", "rules", "linear", "decision_tree", "naive_bayes"]
SMALL_ENSEMBLES = {"random_forest": {"n_estimators": 5, "max_depth": 4, "min_samples_leaf": 20, "max_features": 0.5},
                   "lightgbm": {"n_estimators": 15, "num_leaves": 4, "learning_rate": 0.1, "min_child_samples": 20,
                                "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1e-3},
                   "xgboost": {"n_estimators": 15, "max_depth": 2, "learning_rate": 0.1}}


def bundles_for(card_dict: dict, base_dir: Path, names: list[str], extra: dict | None = None):
    """Each named candidate fitted on the card's training rows, bundled as a run saves it."""
    card = card_from_dict(card_dict).with_base_dir(base_dir)
    dataset = prepare(card)
    classes = available()
    out = {}
    for name in names:
        params = (extra or {}).get(name, {})
        candidate = classes[name](task=dataset.task, seed=0, n_classes=len(dataset.classes),
                                  class_names=tuple(dataset.classes), **params)
        fitted = candidate.fit(dataset.X_train, dataset.y_train)
        out[name] = ModelBundle(name, dataset.task, fitted, dataset.schema, dataset.classes, card.data.target,
                                category_levels(dataset.X_train, dataset.schema))
    return out, dataset.raw.iloc[dataset.holdout_index].reset_index(drop=True)


@pytest.fixture(scope="module")
def telco_models(tmp_path_factory, telco):
    folder = tmp_path_factory.mktemp("sql-telco")
    telco.sample(1500, random_state=7).to_csv(folder / "telco.csv", index=False)
    card = {"problem": {"name": "t"}, "data": {"source": "telco.csv", "target": "Churn", "positive": "Yes",
                                                "id": "customerID"}, "evaluate": {"folds": 3}}
    return bundles_for(card, folder, EXPORTABLE + list(SMALL_ENSEMBLES), SMALL_ENSEMBLES)


@pytest.fixture(scope="module")
def spend_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sql-spend")
    pd.read_csv(CDNOW).sample(1200, random_state=3).to_csv(folder / "spend.csv", index=False)
    card = {"problem": {"name": "s", "task": "regression"},
            "data": {"source": "spend.csv", "target": "next_39w_sales", "id": "customer_id"},
            "evaluate": {"folds": 3, "metric": "rmse"}}
    logged = {name: {**params, "log_target": True} for name, params in SMALL_ENSEMBLES.items()
              if name in ("lightgbm", "xgboost")}  # spend learnt as log(1 + spend): EXP() - 1 in each engine
    return bundles_for(card, folder, [n for n in EXPORTABLE if n != "naive_bayes"] + list(SMALL_ENSEMBLES),
                       SMALL_ENSEMBLES | logged)


@pytest.fixture(scope="module")
def awkward_models(tmp_path_factory):
    """Column names with a space, a double quote and a reserved word; a target class with a quote."""
    folder = tmp_path_factory.mktemp("sql-awkward")
    frame = make_classification_frame(400, seed=0).rename(
        columns={"x1": "select", "x2": 'say "hi"', "colour": "favourite colour"})
    frame["label"] = frame["label"].map({"yes": "it's yes", "no": "no"})
    frame.loc[::17, "select"] = np.nan
    frame.loc[::13, "favourite colour"] = " "
    frame.to_csv(folder / "awkward.csv", index=False)
    card = {"problem": {"name": "a"}, "data": {"source": "awkward.csv", "target": "label", "positive": "it's yes"},
            "evaluate": {"folds": 3}}
    return bundles_for(card, folder, EXPORTABLE)


@pytest.fixture(scope="module")
def multiclass_models(tmp_path_factory):
    """Three classes with awkward names, a category with blanks, numbers with gaps."""
    folder = tmp_path_factory.mktemp("sql-multiclass")
    rng = np.random.default_rng(5)
    frame = make_classification_frame(600, seed=5)
    score = frame["x1"] - 0.5 * frame["x2"] + rng.normal(scale=0.5, size=len(frame))
    frame["plan"] = np.select([score < -0.5, score < 0.7], ["basic", "it's plus"], "pro max")
    frame = frame.drop(columns="label")
    frame.loc[::11, "x2"] = np.nan
    frame.loc[::7, "colour"] = ""
    frame.to_csv(folder / "plans.csv", index=False)
    card = {"problem": {"name": "m"}, "data": {"source": "plans.csv", "target": "plan"},
            "evaluate": {"folds": 3, "metric": "log_loss"}}
    return bundles_for(card, folder, EXPORTABLE + list(SMALL_ENSEMBLES), SMALL_ENSEMBLES)


def engines(tmp_path: Path, postgres_url: str) -> list[str]:
    sqlite3.connect(tmp_path / "check.sqlite").close()
    duckdb.connect(str(tmp_path / "check.duckdb")).close()
    return [f"duckdb:///{tmp_path / 'check.duckdb'}", f"sqlite:///{tmp_path / 'check.sqlite'}", postgres_url]


def distinct_loads(table_of, bundle, rows: pd.DataFrame) -> list[bool]:
    """The `typed` settings of a parity check whose loaded tables (`table_of(bundle, rows,
    typed)`) differ: typed and as read, or typed alone where the rows as read already are the
    typed table (columns, types and values alike: the same query over the same table gives the
    same answer, so it runs once)."""
    typed, as_read_ = table_of(bundle, rows, True), table_of(bundle, rows, False)
    same = typed.equals(as_read_) if isinstance(typed, pd.DataFrame) else typed == as_read_
    return [True] if same else [True, False]


def database_table(bundle, rows: pd.DataFrame, typed: bool) -> pd.DataFrame:
    """The model's columns of the scratch table indb.parity_in loads (typed, or as read)."""
    return (typed_for_database if typed else as_read)(rows, bundle)[list(bundle.schema)]


def in_every_engine(urls: list[str], check) -> None:
    """`check(url)` for every engine at once, each in a thread with its own connections: the
    engines run their queries side by side (PostgreSQL in its server, DuckDB and SQLite without
    the GIL), and the first failure is raised here as it was raised there."""
    with ThreadPoolExecutor(len(urls)) as pool:
        for done in [pool.submit(check, url) for url in urls]:
            done.result()


@pytest.mark.parametrize("models", ["telco_models", "spend_models", "awkward_models", "multiclass_models"])
def test_every_exportable_candidate_scores_the_same_in_sql_as_in_python(models, request, tmp_path, postgres_url):
    bundles, rows = request.getfixturevalue(models)

    def check(url):
        for name, bundle in bundles.items():
            # numbers as numbers, and as read (Telco's TotalCharges is text)
            for typed in distinct_loads(database_table, bundle, rows):
                parity = parity_in(url, bundle, rows, typed=typed)
                where = (models, name, url.split(":")[0], "typed" if typed else "as read", parity)
                assert parity.rows == len(rows) > 0
                assert parity.max_relative <= 1e-9, where
                assert parity.labels_equal in (True, None), where

    in_every_engine(engines(tmp_path, postgres_url), check)


def hostile_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows a warehouse really holds: numbers as padded text, blanks and words in number columns,
    unseen, padded, NULL and literally 'missing' categories."""
    out = rows.head(12).copy()
    out["select"] = ["1.5", " 2 ", " ", "", "abc", None, "-0.25", "1e1", "+3", ".5", "7", "0"]
    out["favourite colour"] = ["purple", " red ", None, "missing", "", "  ", "blue", "RED", "green", "red",
                               "green ", "blue"]
    return out


def test_sql_reads_numbers_from_text_and_odd_categories_as_python_does(awkward_models, tmp_path, postgres_url):
    bundles, rows = awkward_models
    hostile = hostile_rows(rows)
    python = bundles["linear"].score(hostile)["probability"]
    assert python.nunique() > 6  # the odd values really move the predictions
    for url in engines(tmp_path, postgres_url):
        for name, bundle in bundles.items():
            parity = parity_in(url, bundle, hostile, typed=False)
            assert parity.max_relative <= 1e-9 and parity.labels_equal in (True, None), (name, url, parity)


def test_golden_sql_per_dialect_pins_the_output(awkward_models):
    bundles, _ = awkward_models
    update = os.environ.get("BAKEOFF_UPDATE_GOLDEN") == "1"
    for name in ("constant", "one_rule", "rules", "linear", "decision_tree", "naive_bayes"):
        for dialect in DIALECTS:
            text = to_sql(bundles[name], "customers", dialect, "") + "\n"
            golden = GOLDEN / f"{name}.{dialect}.sql"
            if update:
                golden.write_text(text)
            assert golden.read_text() == text, f"{golden.name} changed; review it and rerun with BAKEOFF_UPDATE_GOLDEN=1"


def test_identifiers_are_quoted_for_each_dialect(awkward_models):
    bundles, _ = awkward_models
    quoted = {"duckdb": '"say ""hi"""', "postgres": '"say ""hi"""', "sqlite": '"say ""hi"""',
              "snowflake": '"say ""hi"""', "bigquery": '`say "hi"`', "spark": '`say "hi"`'}
    for dialect, name in quoted.items():
        text = to_sql(bundles["linear"], "my table", dialect, "")
        assert name in text, dialect
        assert ("`select`" if dialect in ("bigquery", "spark") else '"select"') in text
        assert "'it''s yes'" in text or "'it\\'s yes'" in text  # the class label as a string literal


def test_big_ensembles_say_why_they_do_not_export(telco_models):
    bundles, _ = telco_models
    schema = bundles["linear"].schema
    assert sql_support(bundles["linear"].fitted, "classification", 2, schema) is None
    assert sql_support(bundles["lightgbm"].fitted, "classification", 2, schema) is None  # 15 small trees fit
    from bakeoff.tasks.tabular.ladder.models import LightGBM

    frame = make_classification_frame(600, seed=1)
    y = (frame.pop("label") == "yes").astype(int).to_numpy()
    # 100 trees of up to 31 leaves: some 6,100 nodes, three times the limit and quick to count
    big = LightGBM(task="classification", n_classes=2, n_estimators=100, num_leaves=31,
                   min_child_samples=2).fit(frame, y)
    assert "over the 2,000-node limit" in sql_support(big, "classification", 2, {})


def test_a_query_over_the_size_limit_is_refused_in_one_line(telco_models, monkeypatch):
    import bakeoff.tasks.tabular.sql

    bundle = telco_models[0]["linear"]
    monkeypatch.setattr(bakeoff.tasks.tabular.sql, "MAX_SQL_CHARS", 500)  # as a category of many thousand levels would be
    assert "over the 500 limit" in sql_support(bundle.fitted, "classification", 2, bundle.schema)
    with pytest.raises(ConfigError, match="linear cannot run as SQL: the query would be"):
        to_sql(bundle, "customers", "duckdb")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, telco):
    folder = tmp_path_factory.mktemp("sql-run")
    telco.sample(900, random_state=2).to_csv(folder / "telco.csv", index=False)
    write_card(folder, QUICK_TELCO_CARD)
    done = cli("run", "bakeoff.toml", "--only", "constant,linear,knn", "--no-track", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder, only_run(folder)


def test_result_json_says_truthfully_what_runs_as_sql(quick_run):
    _, run_dir = quick_run
    rows = {r["name"]: r for r in read_result(run_dir)["candidates"]}
    assert rows["linear"]["sql"] is True and rows["linear"]["sql_reason"] is None
    assert rows["knn"]["sql"] is False and "no SQL form" in rows["knn"]["sql_reason"]


def test_bakeoff_sql_check_and_score_into_a_warehouse_table(quick_run, telco, postgres_url):
    folder, run_dir = quick_run
    # the URL names the dialect
    check = cli("sql", run_dir.name, "linear", "--check", postgres_url, cwd=folder)
    assert check.returncode == 0, check.stderr
    assert "labels identical" in check.stderr and check.stdout.lstrip().startswith("WITH")
    assert "TRY_CAST" not in check.stdout.upper()  # PostgreSQL has none: the query printed is its dialect
    warehouse = folder / "warehouse.duckdb"
    rows = telco.head(300).copy()
    rows["TotalCharges"] = pd.to_numeric(rows["TotalCharges"].str.strip().replace("", None))
    with duckdb.connect(str(warehouse)) as con:
        con.register("rows", rows)
        con.execute('CREATE TABLE customers AS SELECT * FROM "rows"')
    done = cli("score", run_dir.name, "linear", "--sql", "duckdb:///warehouse.duckdb",
               "--table", "customers", "--into", "scores", cwd=folder)
    assert done.returncode == 0, done.stderr
    rows.to_csv(folder / "rows.csv", index=False)
    predicted = cli("predict", run_dir.name, "linear", "rows.csv", "-o", "scored.csv", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    python = pd.read_csv(folder / "scored.csv").set_index("customerID")
    with duckdb.connect(str(warehouse)) as con:
        sql = con.execute("SELECT * FROM scores").df().set_index("customerID").loc[python.index]
    assert np.allclose(sql["probability"], python["probability"], rtol=1e-9, atol=0)
    assert (sql["prediction"] == python["prediction"]).all()

    # a query that fails half-way leaves the old scores as they were
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE VIEW broken AS SELECT * REPLACE (CASE WHEN tenure > 60 THEN CAST('oops' AS DOUBLE) "
                    "ELSE tenure END AS tenure) FROM customers")
    failed = cli("score", run_dir.name, "linear", "--sql", "duckdb:///warehouse.duckdb",
                 "--table", "broken", "--into", "scores", cwd=folder)
    assert failed.returncode == 2 and "nothing was written and scores is as it was" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 300


def test_score_reads_the_raw_csv_text_in_duckdb_and_postgres(quick_run, telco, postgres_url):
    """The warehouse holds the CSV as text (blank TotalCharges included): SQL scores it as
    `bakeoff predict` scores the CSV, in DuckDB and PostgreSQL, and a failing query in
    PostgreSQL leaves the old scores there."""
    import secrets

    import sqlalchemy

    folder, run_dir = quick_run
    rows = telco.head(200).copy()
    rows.loc[:4, "TotalCharges"] = " "
    rows.loc[5:7, "Contract"] = " Two year "
    rows.to_csv(folder / "raw.csv", index=False)
    predicted = cli("predict", run_dir.name, "linear", "raw.csv", "-o", "raw_scored.csv",
                    cwd=folder)
    assert predicted.returncode == 0
    python = pd.read_csv(folder / "raw_scored.csv").set_index("customerID")
    with duckdb.connect(str(folder / "text.duckdb")) as con:
        con.execute(f"CREATE TABLE customers AS SELECT * FROM read_csv('{folder / 'raw.csv'}', all_varchar = true)")
    suffix = secrets.token_hex(3)
    engine = sqlalchemy.create_engine(postgres_url)
    rows.astype(str).to_sql(f"raw_{suffix}", engine, index=False)
    targets = [("duckdb:///text.duckdb", "customers", "scores"), (postgres_url, f"raw_{suffix}", f"scores_{suffix}")]
    for url, table, into in targets:
        done = cli("score", run_dir.name, "linear", "--sql", url, "--table", table, "--into", into,
                   cwd=folder)
        assert done.returncode == 0, done.stderr
        sql = (duckdb.connect(str(folder / "text.duckdb")).execute("SELECT * FROM scores").df() if url.startswith("duckdb")
               else pd.read_sql_table(into, engine)).set_index("customerID").loc[python.index]
        assert np.allclose(sql["probability"], python["probability"], rtol=1e-9, atol=0), url
        assert (sql["prediction"] == python["prediction"]).all(), url
    with engine.begin() as con:
        con.execute(sqlalchemy.text(f'CREATE VIEW broken_{suffix} AS SELECT * FROM raw_{suffix} '
                                    f'WHERE CAST(CASE WHEN CAST(tenure AS INT) > 60 THEN \'oops\' ELSE tenure END AS INT) >= 0'))
    failed = cli("score", run_dir.name, "linear", "--sql", postgres_url,
                 "--table", f"broken_{suffix}", "--into", f"scores_{suffix}", cwd=folder)
    assert failed.returncode == 2 and f"scores_{suffix} is as it was" in failed.stderr, failed.stderr
    assert len(pd.read_sql_table(f"scores_{suffix}", engine)) == 200
    engine.dispose()


def test_bad_sql_requests_are_one_line_and_exit_2(quick_run, telco):
    folder, run_dir = quick_run
    warehouse = folder / "bad.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("rows", telco.head(50))
        con.execute('CREATE TABLE no_tenure AS SELECT * EXCLUDE (tenure) FROM "rows"')
        con.execute('CREATE TABLE flags AS SELECT * REPLACE (Partner = \'Yes\' AS Partner, '
                    'TRY_CAST(NULLIF(TRIM(TotalCharges), \'\') AS DOUBLE) AS TotalCharges) FROM "rows"')
    cases = [
        (["sql", run_dir.name, "linear", "--dialect", "oracle"], "unknown SQL dialect 'oracle'"),
        (["sql", run_dir.name, "knn"], "knn cannot run as SQL"),
        (["score", run_dir.name, "linear", "--sql", "duckdb:///bad.duckdb", "--table", "no_tenure"],
         "lacks column(s) 'tenure'"),
        (["sql", run_dir.name, "linear", "--check", "duckdb:///bad.duckdb", "--table", "flags"],
         "column 'Partner' of 'flags' is BOOLEAN"),
        (["score", run_dir.name, "linear", "--sql", "duckdb:///bad.duckdb", "--table", "nowhere"],
         "table 'nowhere' not found"),
        (["score", run_dir.name, "linear", "--sql", "duckdb:///bad.duckdb", "--table", "flags"],
         "column 'Partner' of 'flags' is BOOLEAN"),
        (["score", run_dir.name, "linear", "--sql", "duckdb:///bad.duckdb", "--table", "flags", "--into", "flags"],
         "would replace the table being scored"),
        (["score", run_dir.name, "linear", "--sql", "duckdb:///bad.duckdb", "--table", "flags", "--into", "a..b"],
         "is not a table name"),
        (["sql", run_dir.name, "linear", "--check", "duckdb:///bad.duckdb", "--dialect", "postgres"],
         "--check runs in duckdb but --dialect is postgres"),
        (["score", run_dir.name, "linear", "--sql", "duckdb:///missing.duckdb", "--table", "x"],
         "database file"),
    ]
    for args, message in cases:
        done = cli(*args, cwd=folder)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_tree_splits_agree_with_scikit_learns_single_precision(tmp_path):
    """scikit-learn rounds features to float32 before comparing: 0.15 is above a split at 0.15."""
    from bakeoff.tasks.tabular.ladder.models import DecisionTree

    train = pd.DataFrame({"x": [0.1] * 20 + [0.2] * 20})
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    fitted = DecisionTree(task="classification", n_classes=2, class_names=("no", "yes"),
                          max_depth=1, min_samples_leaf=1).fit(train, y)
    bundle = ModelBundle("decision_tree", "classification", fitted, {"x": "number"}, ["no", "yes"], "y", {})
    rows = pd.DataFrame({"x": [0.15, 0.1499999985, 0.15000000223517418, 0.14999999850988388]})
    duckdb.connect(str(tmp_path / "t.duckdb")).close()
    parity = parity_in(f"duckdb:///{tmp_path / 't.duckdb'}", bundle, rows)
    assert parity.labels_equal and parity.max_relative == 0
    # 0.15 and the split itself round up to 0.1500000060 in float32; the exact midpoint between
    # the two nearest floats rounds to the even one, which is the upper one here
    assert list(bundle.score(rows)["prediction"]) == ["yes", "no", "yes", "yes"]


def test_sqlite_drop_and_create_share_one_transaction(tmp_path):
    from bakeoff.adapters.sqldb import Database

    path = tmp_path / "w.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE scores (x REAL)")
        con.execute("INSERT INTO scores VALUES (1.0)")
    with Database(f"sqlite:///{path}") as db, pytest.raises(Exception, match="nowhere"):
        db.execute_in_transaction(['DROP TABLE IF EXISTS "scores"', 'CREATE TABLE "scores" AS SELECT * FROM nowhere'])
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT x FROM scores").fetchall() == [(1.0,)]


def test_a_custom_candidates_own_sql_joins_the_export(tmp_path, postgres_url):
    """A custom Fitted that writes its own expression (DESIGN's to_sql) exports like the built-ins."""
    from bakeoff.core.candidate import Fitted

    class TenureRule(Fitted):
        def predict_proba(self, X):
            p = np.where(X["tenure"].fillna(0) > 12, 0.2, 0.6)
            return np.c_[1 - p, p]

        def predict(self, X):
            return self.predict_proba(X).argmax(axis=1)

        def to_sql(self):
            return "CASE WHEN COALESCE(TRY_CAST(tenure AS DOUBLE), 0) > 12 THEN 0.2 ELSE 0.6 END"

    bundle = ModelBundle("tenure_rule", "classification", TenureRule(), {"tenure": "number"}, ["No", "Yes"], "Churn")
    assert sql_support(bundle.fitted, "classification", 2, bundle.schema) is None
    rows = pd.DataFrame({"tenure": [1.0, 12.0, 13.0, None, 40.0]})
    for url in engines(tmp_path, postgres_url):
        parity = parity_in(url, bundle, rows)
        assert parity.max_relative == 0 and parity.labels_equal, (url, parity)

    class Broken(TenureRule):
        def to_sql(self):
            return "CASE WHEN tenure >"

    reason = sql_support(Broken(), "classification", 2, {"tenure": "number"})
    assert reason and "to_sql() is not one SQL expression" in reason


def spark_table(bundle, rows: pd.DataFrame, typed: bool):
    """indb.parity_in's scratch table as Spark gets it: its schema and its records."""
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    table = typed_for_database(rows, bundle) if typed else as_read(rows, bundle)
    table.insert(0, ROW, np.arange(len(table)))
    table = table[[ROW, *bundle.schema]]
    fields = [StructField(ROW, LongType())]
    for column in bundle.schema:
        numeric = pd.api.types.is_numeric_dtype(table[column])
        fields.append(StructField(column, DoubleType() if numeric else StringType()))
        table[column] = table[column].astype(float) if numeric else \
            table[column].astype(object).where(table[column].notna(), None)
    records = [tuple(None if isinstance(v, float) and np.isnan(v) else v for v in r)
               for r in table.itertuples(index=False)]
    return StructType(fields), records


def spark_parity(spark, bundle, rows: pd.DataFrame, typed: bool):
    """indb.parity_in's check, in Spark: rows into a temporary view, the spark SQL over it."""
    schema, records = spark_table(bundle, rows, typed)
    spark.createDataFrame(records, schema).createOrReplaceTempView("bakeoff_check")
    from_sql = spark.sql(to_sql(bundle, "bakeoff_check", "spark", ROW, pretty=False)).toPandas()
    return compare(bundle, rows, from_sql)


@pytest.mark.parametrize("models", ["telco_models", "spend_models", "awkward_models", "multiclass_models"])
def test_every_exportable_candidate_scores_the_same_in_spark(models, request, spark):
    bundles, rows = request.getfixturevalue(models)
    for name, bundle in bundles.items():
        for typed in distinct_loads(spark_table, bundle, rows):
            parity = spark_parity(spark, bundle, rows, typed)
            assert parity.max_relative <= 1e-9 and parity.labels_equal in (True, None), (models, name, typed, parity)
    if models == "awkward_models":
        for name, bundle in bundles.items():
            parity = spark_parity(spark, bundle, hostile_rows(rows), typed=False)
            assert parity.max_relative <= 1e-9 and parity.labels_equal in (True, None), (name, "hostile", parity)


def test_score_needs_only_the_columns_the_query_reads(quick_run, telco):
    folder, run_dir = quick_run
    with duckdb.connect(str(folder / "ids.duckdb")) as con:
        con.register("rows", telco.head(30)[["customerID", "tenure"]])
        con.execute('CREATE TABLE only_ids AS SELECT * FROM "rows"')
    done = cli("score", run_dir.name, "constant", "--sql", "duckdb:///ids.duckdb",
               "--table", "only_ids", "--into", "s", cwd=folder)
    assert done.returncode == 0 and "wrote 30 predictions" in done.stderr, done.stderr
    refused = cli("score", run_dir.name, "linear", "--sql", "duckdb:///ids.duckdb",
                  "--table", "only_ids", "--into", "s", cwd=folder)
    assert refused.returncode == 2 and "lacks column(s)" in refused.stderr and "'tenure'" not in refused.stderr


def test_a_rule_on_a_part_of_a_date_says_it_does_not_export():
    from bakeoff.tasks.tabular.ladder.one_rule import OneRule
    from bakeoff.tasks.tabular.schema import apply_schema, infer_schema

    rng = np.random.default_rng(1)
    days = pd.Series(pd.date_range("2024-01-01", periods=400, freq="D")).dt.strftime("%Y-%m-%d")
    frame = pd.DataFrame({"signup": days, "noise": rng.normal(size=400)})
    y = (pd.to_datetime(days).dt.month > 6).to_numpy(int)  # the month decides
    schema = infer_schema(frame, [])
    fitted = OneRule(task="classification", n_classes=2).fit(apply_schema(frame, schema), y)
    assert fitted.rule.column == "signup_month"
    assert "reads a date" in sql_support(fitted, "classification", 2, schema)


def test_a_softmax_with_a_far_behind_class_runs_in_every_engine(tmp_path, postgres_url, monkeypatch):
    """Scores 0, 0 and -744.6: EXP of the last is subnormal in a double, and PostgreSQL raises
    on a division that underflows; the query must still give 1/2, 1/2 and (near) 0."""
    from bakeoff.adapters.sqldb import Database
    from bakeoff.tasks.tabular import sql

    scores = [0.0, 0.0, -744.6]
    monkeypatch.setattr(sql, "scoring", lambda *args: sql.Scoring([], sql.PerClass(
        [sql.number(s) for s in scores], softmax=True)))
    for url in engines(tmp_path, postgres_url):
        with Database(url) as db:
            query = sql._safe_casts(sql.select_query_for(None, "classification", 3, {}, ["a", "b", "c"], "t", ""),
                                    db.dialect).sql(dialect=db.dialect, identify=True)
            db.load("t", pd.DataFrame({"x": [1]}))
            try:
                got = db.query(query).iloc[0]
            finally:
                db.drop("t")
        assert got["probability_a"] == got["probability_b"] == 0.5 and got["probability_c"] < 1e-300, url
        assert got["prediction"] == "a"  # a tie: the first largest, as numpy's argmax
