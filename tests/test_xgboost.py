"""XGBoost on rung 4: its SQL in DuckDB against xgboost's own predictions, and a short bake-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost
from conftest import cli, make_classification_frame, only_run, read_result, write_card

from bakeoff.core.card import card_from_dict
from bakeoff.core.registry import available, missing_library, select
from bakeoff.errors import CandidateError
from bakeoff.tasks.tabular.bundle import ModelBundle
from bakeoff.tasks.tabular.data import prepare
from bakeoff.tasks.tabular.indb import ROW, parity_in, typed_for_database
from bakeoff.tasks.tabular.ladder.models import XGBoost
from bakeoff.tasks.tabular.schema import category_levels
from bakeoff.tasks.tabular.sql import sql_support, to_sql

SMALL = {"n_estimators": 40, "max_depth": 3, "learning_rate": 0.2}


def frame_with_gaps(kind: str, n: int = 700) -> pd.DataFrame:
    """make_classification_frame's inputs, some missing, with a binary, 3-class or skewed target."""
    frame = make_classification_frame(n, seed=4)
    if kind == "multiclass":
        frame["label"] = np.select([frame["x1"] < -0.4, frame["x1"] < 0.6], ["low", "mid"], "high")
    elif kind == "regression":
        rng = np.random.default_rng(4)
        frame["label"] = np.exp(frame["x1"] - 0.5 * frame["x2"] + rng.normal(scale=0.3, size=n)) * 40
    frame.loc[::9, "x2"] = np.nan
    frame.loc[::7, "colour"] = None
    return frame


def bundle_and_holdout(tmp_path, kind: str, **params) -> tuple[ModelBundle, pd.DataFrame]:
    frame_with_gaps(kind).to_csv(tmp_path / "d.csv", index=False)
    task = "regression" if kind == "regression" else "classification"
    card = card_from_dict({"problem": {"name": "x", "task": task},
                           "data": {"source": "d.csv", "target": "label"},
                           "evaluate": {"folds": 3, "metric": "rmse" if task == "regression" else "log_loss"}})
    dataset = prepare(card.with_base_dir(tmp_path))
    candidate = XGBoost(task=task, seed=0, n_classes=len(dataset.classes), class_names=tuple(dataset.classes),
                        **params)
    fitted = candidate.fit(dataset.X_train, dataset.y_train)
    bundle = ModelBundle("xgboost", task, fitted, dataset.schema, dataset.classes, "label",
                         category_levels(dataset.X_train, dataset.schema))
    return bundle, dataset.raw.iloc[dataset.holdout_index].reset_index(drop=True)


def in_duckdb(bundle: ModelBundle, rows: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    table = typed_for_database(rows, bundle)
    table.insert(0, ROW, np.arange(len(table)))
    with duckdb.connect() as con:
        con.register("scratch", table[[ROW, *bundle.schema]])
        return con.execute(to_sql(bundle, "scratch", "duckdb", ROW)).df().set_index(ROW).sort_index()


def duckdb_file(folder) -> str:
    import duckdb

    duckdb.connect(str(folder / "check.duckdb")).close()
    return f"duckdb:///{folder / 'check.duckdb'}"


def xgboosts_own(bundle: ModelBundle, rows: pd.DataFrame) -> np.ndarray:
    """What xgboost itself predicts for the rows (its single-precision sum of the trees)."""
    from bakeoff.tasks.tabular.schema import apply_schema

    fitted = bundle.fitted
    inputs = fitted.pipeline[0].transform(apply_schema(rows, bundle.schema, bundle.levels))
    if bundle.task == "regression":
        return xgboost.XGBRegressor.predict(fitted.model, inputs)
    return xgboost.XGBClassifier.predict_proba(fitted.model, inputs)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_its_sql_in_duckdb_gives_xgboosts_own_predictions(kind, tmp_path):
    bundle, rows = bundle_and_holdout(tmp_path, kind, **SMALL)
    assert rows["x2"].isna().any() and rows["colour"].isna().any()  # rows with missing values too
    sql = in_duckdb(bundle, rows)
    own = xgboosts_own(bundle, rows)
    if kind == "regression":
        got = sql["prediction"].to_numpy(float)
        assert np.abs(got - own).max() <= 1e-6 * np.abs(own).max()  # xgboost adds in single precision
    else:
        columns = ["probability"] if kind == "binary" else [f"probability_{c}" for c in bundle.classes]
        got = sql[columns].to_numpy(float)
        want = own[:, 1:] if kind == "binary" else own
        assert np.abs(got - want).max() <= 1e-6
        assert (sql["prediction"].to_numpy() == bundle.score(rows)["prediction"].to_numpy()).all()
    assert parity_in(duckdb_file(tmp_path), bundle, rows).max_relative <= 1e-9  # bakeoff's own predictions


def test_a_value_exactly_at_a_split_goes_right_as_in_xgboost(tmp_path):
    """xgboost sends x < threshold left, in single precision: rows at each x1 threshold and at
    the doubles either side of it land where xgboost puts them (a <= would move whole leaves)."""
    bundle, rows = bundle_and_holdout(tmp_path, "regression", **SMALL)
    trees = bundle.fitted.model.trees_
    x1 = bundle.fitted.inputs.feature_names.index("x1")
    cuts = np.unique(trees.threshold[(trees.left >= 0) & (trees.feature == x1)])
    assert len(cuts) > 5
    values = np.concatenate([cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf),
                             np.nextafter(np.float32(cuts), np.float32(-np.inf)).astype(float)])
    edge = pd.concat([rows.head(1)] * len(values), ignore_index=True).assign(x1=values)
    own = xgboosts_own(bundle, edge)
    assert np.abs(in_duckdb(bundle, edge)["prediction"].to_numpy(float) - own).max() <= 1e-6 * np.abs(own).max()


def test_bakeoffs_predictions_are_xgboosts_to_single_precision(tmp_path):
    bundle, rows = bundle_and_holdout(tmp_path, "binary")
    own = xgboosts_own(bundle, rows)[:, 1]
    np.testing.assert_allclose(bundle.score(rows)["probability"].to_numpy(float), own, rtol=0, atol=1e-6)


def test_a_big_model_says_why_it_has_no_sql(tmp_path):
    bundle, _ = bundle_and_holdout(tmp_path, "binary", n_estimators=300, max_depth=6)
    assert "over the 2,000-node limit" in sql_support(bundle.fitted, "classification", 2, bundle.schema)
    small, _ = bundle_and_holdout(tmp_path, "binary", **SMALL)
    assert sql_support(small.fitted, "classification", 2, small.schema) is None


def test_it_races_in_a_short_bake_off(tmp_path):
    frame_with_gaps("regression", 500).to_csv(tmp_path / "d.csv", index=False)
    done = cli("run", "d.csv", "--target", "label", "--only", "constant,xgboost", "--budget", "40s",
               "--trials", "3", "--no-track", cwd=tmp_path)  # tuned, with 3 trials rather than 20
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in read_result(only_run(tmp_path))["candidates"]}
    assert rows["xgboost"]["status"] == "ok" and rows["xgboost"]["rung"] == 4, rows["xgboost"]["error"]
    assert rows["xgboost"]["score"] < rows["constant"]["score"]  # rmse: it learns something


class NeedsAbsentLibrary(XGBoost):
    name = "absent_boost"
    needs_import = "bakeoff_no_such_library"


def test_a_candidate_whose_library_is_missing_is_left_out_or_refused_by_name():
    classes = available(classes_given=[NeedsAbsentLibrary])
    assert missing_library(NeedsAbsentLibrary) == ("bakeoff_no_such_library is not installed: "
                                                   "pip install 'bakeoff[xgboost]'")
    assert missing_library(XGBoost) is None  # installed here
    assert "absent_boost" not in [c.name for c in select(classes, "regression")]
    assert "absent_boost" not in [c.name for c in select(classes, "regression", skip=["absent_boost"])]
    with pytest.raises(CandidateError, match="names 'absent_boost', but bakeoff_no_such_library is not "
                                             "installed: pip install 'bakeoff\\[xgboost\\]'"):
        select(classes, "regression", only=["linear", "absent_boost"])


def test_a_card_naming_a_candidate_whose_library_is_missing_is_refused_in_one_line(tmp_path):
    make_classification_frame(200).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "absent_lib.py").write_text(
        "from bakeoff.tasks.tabular.ladder.models import XGBoost\n"
        "class Absent(XGBoost):\n    name, needs_import = 'absent', 'bakeoff_no_such_library'\n")
    card = ('[problem]\nname = "t"\n[data]\nsource = "d.csv"\ntarget = "label"\n'
            '[ladder]\nextra = ["absent_lib:Absent"]\n')
    done = cli("run", str(write_card(tmp_path, card)), "--no-track", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    refusal = ("error: [ladder] names 'absent', but bakeoff_no_such_library is not installed: "
               "pip install 'bakeoff[xgboost]'")
    assert done.stderr.strip().splitlines() == [refusal]
