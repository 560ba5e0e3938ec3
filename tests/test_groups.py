"""One bake-off per group ([data] group_by), locally and on Spark: each group's own choice, the
pooled model weighed against them on the same holdout rows, small groups left to the pooled
model, faults and the budget per group, and `bakeoff predict` with each group's own model."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from conftest import BackgroundCli, cli, only_run, read_result, write_card

CARD = """
[problem]
name = "stores"
task = "classification"
[data]
source = "{source}"
target = "bought"
positive = "yes"
group_by = "store"
[evaluate]
folds = 3
bootstrap = 200
[budget]
total = "{total}"
per_candidate = "{slice}"
workers = {workers}
[ladder]
only = ["constant", "linear"]
{extra}
"""


def stores(slopes: dict[str, float], rows: int = 300, tiny: int = 0, seed: int = 0) -> pd.DataFrame:
    """Customers of each store buy by a logistic rule of x with the store's own slope (0: no
    signal at all); `tiny` rows of a store too small for 3 folds."""
    rng = np.random.default_rng(seed)
    frames = []
    for store, slope in [*slopes.items(), *([("tiny", 1.0)] if tiny else [])]:
        n = tiny if store == "tiny" else rows
        x, z = rng.normal(size=n).round(4), rng.normal(size=n).round(4)
        bought = rng.random(n) < 1 / (1 + np.exp(-slope * x))
        frames.append(pd.DataFrame({"store": store, "x": x, "z": z, "bought": np.where(bought, "yes", "no")}))
    return pd.concat(frames, ignore_index=True)


def grouped_run(folder, frame, *, total="3m", slice_="30s", workers=1, extra="", source="stores.csv", track=False):
    folder.mkdir(exist_ok=True)
    if source.endswith("/"):  # a folder of Parquet files, one folder per store, as Spark writes a table
        frame.to_parquet(folder / source, partition_cols=["store"], index=False)
    elif source.endswith(".parquet"):
        frame.to_parquet(folder / source, index=False)
    else:
        frame.to_csv(folder / source, index=False)
    write_card(folder, CARD.format(source=source, total=total, slice=slice_, workers=workers, extra=extra))
    done = cli("run", "bakeoff.toml", *([] if track else ["--no-track"]), cwd=folder)
    return done, (only_run(folder) if (folder / "runs").exists() else None)


OPPOSITE = {"north": 2.5, "south": -2.5, "east": 2.0, "quiet": 0.0}


def test_each_group_gets_its_own_choice_and_one_model_per_store_wins_when_stores_differ(tmp_path):
    frame = stores(OPPOSITE, tiny=8)
    done, run_dir = grouped_run(tmp_path, frame, workers=2)  # two worker processes share the groups
    assert done.returncode == 0, done.stderr
    choices = pd.read_parquet(run_dir / "group_choices.parquet").set_index("group")
    assert sorted(choices.index) == ["east", "north", "quiet", "south", "tiny"]
    # a store whose customers buy at random gets the constant; the others learn x
    assert choices.loc["quiet", "chosen"] == "constant"
    assert (choices.loc[["north", "south", "east"], "chosen"] == "linear").all()
    assert (choices.loc["tiny", "status"], choices.loc["tiny", "chosen"]) == ("small", "pooled")
    # one straight line cannot follow opposite slopes: the pooled model loses to a model per store
    result = read_result(run_dir)
    assert result["recommended"] == "per_group", result["reason"]
    assert choices.loc["south", "holdout_score"] > choices.loc["south", "pooled_holdout"] + 0.2
    assert any("1 group(s) too small" in note for note in result["notes"])
    assert any(note.startswith("groups won: constant (rung 0) 1, linear (rung 2) 3") for note in result["notes"])
    assert list((run_dir / "group_scores.parquet").glob("part=*")) and (run_dir / "models" / "pooled.pkl").is_file()
    page = (run_dir / "report.html").read_text()
    assert "Give each group its own model" in page and page.count("<tr><td class=\"left\">") >= 5  # a row per group
    assert result["holdout_rows"] == int(choices["held_out"].sum()) > 0

    new = pd.concat([frame, pd.DataFrame({"store": ["west"], "x": [1.0], "z": [0.0], "bought": ["yes"]})])
    new.drop(columns="bought").to_csv(tmp_path / "new.csv", index=False)
    done = cli("predict", run_dir.name, "recommended", "new.csv", "-o", "scored.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "9 row(s) of groups without a model of their own" in done.stderr + done.stdout  # tiny's 8 and west
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert len(scored) == len(new) and scored["store"].tolist() == new["store"].tolist()  # the input's order
    quiet = scored[scored["store"] == "quiet"]
    share = (frame.loc[frame["store"] == "quiet", "bought"] == "yes").mean()  # the constant learned every row
    assert np.allclose(quiet["probability"], share) and set(quiet["model"]) == {"constant"}
    assert set(scored.loc[scored["store"].isin(["tiny", "west"]), "model"]) == {"pooled"}
    north = scored[scored["store"] == "north"]
    assert north["probability"].corr(north["x"]) > 0.9 > -0.9 > scored.loc[scored["store"] == "south", "probability"].corr(
        scored.loc[scored["store"] == "south", "x"])  # each store its own direction
    done = cli("predict", run_dir.name, "pooled", "new.csv", "-o", "pooled.csv", cwd=tmp_path)
    assert done.returncode == 0 and set(pd.read_csv(tmp_path / "pooled.csv")["model"]) == {"pooled"}
    done = cli("predict", run_dir.name, "linear", "new.csv", cwd=tmp_path)
    assert done.returncode == 2 and "predict with per_group" in done.stderr


def test_one_pooled_model_is_recommended_when_every_store_behaves_alike(tmp_path):
    done, run_dir = grouped_run(tmp_path, stores({"a": 2.0, "b": 2.0, "c": 2.0}, rows=250), source="by_store/")
    assert done.returncode == 0, done.stderr
    result = read_result(run_dir)
    assert result["recommended"] == "pooled", result["reason"]
    assert "one model for every group does better, and is simpler" in result["reason"]  # it learns from 3x the rows


HANGS = """
import time

import numpy as np

from bakeoff import Candidate, Fitted


class _Share(Fitted):
    def __init__(self, share):
        self.share = share

    def predict_proba(self, X):
        return np.tile([1 - self.share, self.share], (len(X), 1))

    def predict(self, X):
        return np.full(len(X), int(self.share >= 0.5))


class HangsOnFlag(Candidate):
    name, rung, family = "hangs_on_flag", 3, "test"

    def fit(self, X, y):
        if "flag" in X and (X["flag"] == 1).any():
            time.sleep(600)
        return _Share(float(np.mean(y)))
"""


def test_a_candidate_that_hangs_in_one_group_is_stopped_there_and_the_job_goes_on(tmp_path):
    tmp_path.joinpath("hanging.py").write_text(textwrap.dedent(HANGS))
    frame = stores({"a": 2.0, "b": -2.0, "c": 0.0}, rows=200)
    frame["flag"] = ((frame["store"] == "b") & (frame["z"] > 0)).astype(int)  # within b it varies: a feature
    done, run_dir = grouped_run(tmp_path, frame, slice_="2s", extra='extra = ["hanging:HangsOnFlag"]')
    assert done.returncode == 0, done.stderr
    scores = pd.read_parquet(run_dir / "group_scores.parquet")
    hangs = scores[scores["candidate"] == "hangs_on_flag"].set_index("group")
    assert hangs.loc["b", "status"] == "timeout" and "stopped at its 2 s" in hangs.loc["b", "error"]
    assert (hangs.loc[["a", "c"], "status"] == "ok").all()
    assert set(pd.read_parquet(run_dir / "group_choices.parquet")["status"]) == {"ok"}
    row = next(r for r in read_result(run_dir)["candidates"] if r["name"] == "hangs_on_flag")
    assert row["status"] == "ok" and "1 groups (timeout" in row["error"]


def test_groups_not_reached_within_the_budget_are_listed_as_skipped(tmp_path):
    tmp_path.joinpath("hanging.py").write_text(textwrap.dedent(HANGS))
    frame = stores({"a": 2.0, "b": 1.0}, rows=200)
    frame["flag"] = (frame["z"] > 0).astype(int)  # the pooled bake-off alone uses up the budget
    done, run_dir = grouped_run(tmp_path, frame, total="1s", slice_="1s", extra='extra = ["hanging:HangsOnFlag"]')
    assert done.returncode == 0, done.stderr
    choices = pd.read_parquet(run_dir / "group_choices.parquet")
    assert set(choices["status"]) == {"skipped"}
    result = read_result(run_dir)
    assert any("2 group(s) not reached before [budget] total ran out" in n for n in result["notes"]), result["notes"]
    assert result["recommended"] == "pooled"  # nothing else was measured


def test_a_missing_group_column_is_one_line(tmp_path):
    frame = stores({"a": 1.0}).rename(columns={"store": "shop"})
    done, run_dir = grouped_run(tmp_path, frame)
    assert done.returncode == 2 and "[data] group_by column 'store' is not in the data" in done.stderr
    assert done.stderr.strip().count("\n") == 0 and run_dir is None


def test_a_table_card_on_spark_without_groups_is_refused(tmp_path):
    pd.DataFrame({"x": range(40), "y": [0, 1] * 20}).to_csv(tmp_path / "t.csv", index=False)
    write_card(tmp_path, '[data]\nsource = "t.csv"\ntarget = "y"\n[engine]\nkind = "spark"\n')
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 2 and "set [data] group_by" in done.stderr, done.stderr


def test_groups_on_a_spark_cluster_match_the_local_engine(tmp_path, spark_master):
    pytest.importorskip("pyspark")
    frame = stores(OPPOSITE, rows=200, tiny=6)
    extra = 'extra = ["hanging:HangsOnFlag"]'  # a candidate of the card's own folder: shipped to the executors
    frame["flag"] = 0
    local, spark = tmp_path / "local", tmp_path / "spark"
    for folder in (local, spark):
        folder.mkdir()
        folder.joinpath("hanging.py").write_text(textwrap.dedent(HANGS))
    frame.to_csv(spark / "stores.csv", index=False)  # a CSV: Spark reads its numbers as numbers, as pandas does
    write_card(spark, CARD.format(source="stores.csv", total="3m", slice="30s", workers=1, extra=extra)
               + f'[engine]\nkind = "spark"\nmaster = "{spark_master}"\npartitions = 2\n')
    job = BackgroundCli("run", "bakeoff.toml", cwd=spark)  # the console script, on the cluster
    try:
        here, local_run = grouped_run(local, frame, extra=extra)  # meanwhile, the local engine
    finally:
        done = job.result(timeout=600)
    assert here.returncode == 0, here.stderr
    assert done.returncode == 0, done.stderr
    spark_run = only_run(spark)
    key = ["group", "candidate"]
    mine = pd.read_parquet(local_run / "group_scores.parquet").sort_values(key, ignore_index=True)
    theirs = pd.read_parquet(spark_run / "group_scores.parquet").sort_values(key, ignore_index=True)
    assert theirs[key + ["status", "chosen"]].equals(mine[key + ["status", "chosen"]])
    for column in ("cv_score", "holdout_score", "pooled_holdout"):  # the same rows, folds and models
        assert np.allclose(theirs[column], mine[column], rtol=0, atol=1e-9, equal_nan=True), column
    result = read_result(spark_run)
    assert (result["recommended"], result["reason"]) == (read_result(local_run)["recommended"],
                                                         read_result(local_run)["reason"])
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{spark / '.bakeoff' / 'mlflow.db'}")
    artifacts = {a.path for a in client.list_artifacts(result["mlflow_run_id"])}
    assert {"group_models.parquet", "group_choices.parquet", "summary.csv"} <= artifacts  # one run for the job
    pd.DataFrame({"store": ["south", "north"], "x": [2.0, 2.0], "z": [0.0, 0.0], "flag": [0, 0]}).to_csv(
        spark / "new.csv", index=False)
    done = cli("predict", spark_run.name, "per_group", "new.csv", "-o", "scored.csv", cwd=spark)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(spark / "scored.csv").set_index("store")
    assert scored.loc["north", "probability"] > 0.8 and scored.loc["south", "probability"] < 0.2
