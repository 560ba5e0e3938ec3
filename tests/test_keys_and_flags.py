"""Small contracts: flags named as typed, SQL rows that carry a key, `score`'s columns in
`predict`'s order, sizes in the units that `[budget] memory` reads, card errors in card words."""

from __future__ import annotations

import contextlib
import io
import json

import duckdb
import pandas as pd
import pytest
from conftest import make_classification_frame

from bakeoff.cli import main
from bakeoff.core.card import card_from_dict
from bakeoff.core.units import human_bytes, parse_size
from bakeoff.errors import ConfigError


def run(*args: str, cwd) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def keyless_run(tmp_path_factory):
    """A finished run of a card with no [data] id: constant and linear on 160 rows."""
    folder = tmp_path_factory.mktemp("keyless")
    frame = make_classification_frame(160)
    frame.insert(0, "shop", [f"s{i % 4}" for i in range(len(frame))])
    frame.insert(1, "day", [i // 4 for i in range(len(frame))])
    frame.to_csv(folder / "data.csv", index=False)
    (folder / "bakeoff.toml").write_text(
        '[problem]\ntask = "classification"\n[data]\nsource = "data.csv"\ntarget = "label"\n'
        'drop = ["shop", "day"]\n[evaluate]\nfolds = 3\n[budget]\ntotal = "60s"\ntrials = 2\n'
        '[ladder]\nonly = ["constant", "linear"]\n')
    code, _, err = run("run", "bakeoff.toml", "--no-track", cwd=folder)
    assert code == 0, err
    return folder, next((folder / "runs").iterdir())


def test_a_flag_out_of_bounds_is_named_as_typed(tmp_path):
    make_classification_frame(60).to_csv(tmp_path / "data.csv", index=False)
    code, _, err = run("run", "data.csv", "--target", "label", "--folds", "1", cwd=tmp_path)
    assert code == 2 and "--folds" in err and "[evaluate]" not in err


def test_sql_of_a_run_without_an_id_asks_for_a_key_and_carries_the_columns_named(keyless_run):
    folder, run_dir = keyless_run
    code, out, err = run("sql", run_dir.name, "linear", cwd=folder)
    assert code == 2 and out == "" and "--id" in err and "no id column" in err
    code, query, err = run("sql", run_dir.name, "linear", "--id", "shop,day", cwd=folder)
    assert code == 0, err
    with duckdb.connect() as con:
        con.register("data", pd.read_csv(folder / "data.csv"))
        scored = con.sql(query).df()
    assert list(scored.columns[:2]) == ["shop", "day"]
    rows = pd.read_csv(folder / "data.csv")
    assert set(zip(scored["shop"], scored["day"])) == set(zip(rows["shop"], rows["day"]))


def test_score_writes_the_key_then_prediction_then_probability_as_predict_does(keyless_run):
    folder, run_dir = keyless_run
    database = folder / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE customers AS SELECT * FROM read_csv_auto(?)", [str(folder / "data.csv")])
    code, _, err = run("score", run_dir.name, "linear", "--sql", f"duckdb:///{database}",
                       "--table", "customers", "--into", "scores", "--id", "shop,day", cwd=folder)
    assert code == 0, err
    with duckdb.connect(str(database)) as con:
        columns = [row[0] for row in con.execute("DESCRIBE scores").fetchall()]
    code, scored, _ = run("predict", run_dir.name, "linear", "data.csv", cwd=folder)
    predicted = pd.read_csv(io.StringIO(scored)).columns.tolist()
    assert columns == ["shop", "day", "prediction", "probability"]
    assert predicted[-2:] == ["prediction", "probability"]


def test_result_json_says_its_schema_version(keyless_run):
    _, run_dir = keyless_run
    assert json.loads((run_dir / "result.json").read_text())["schema_version"] == 3


def test_sizes_print_in_the_units_budget_memory_reads():
    assert human_bytes(4_000_000_000) == "4.0 GB" and parse_size("4.0 GB") == 4_000_000_000
    assert human_bytes(1_000_000) == "1.0 MB"  # not 976.6 "KB" of 1,024 bytes


@pytest.mark.parametrize(("source", "key"), [(5, "[data] source"), ({"url": "x"}, "[data] source")])
def test_a_source_of_the_wrong_shape_is_named_by_its_card_key(source, key):
    with pytest.raises(ConfigError) as refused:
        card_from_dict({"data": {"source": source, "target": "y"}})
    message = str(refused.value)
    assert key in message and "function-" not in message and "SqlSource" not in message
