"""Forecasting on Apache Spark: the same choices and scores as the local engine on a standalone
cluster, a hanging candidate stopped per partition; bad input refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import BackgroundCli, cli, write_card
from test_forecast import CARD as FORECAST_CARD
from test_forecast import M4, write_series

pytest.importorskip("pyspark")
pytest.importorskip("statsforecast")

CARD = (FORECAST_CARD.replace('"hourly test"', '"hourly on spark"').replace('total = "90s"', 'total = "3m"')
        .replace('"40s"', '"60s"').replace(', "global_lightgbm"]', ']') + "{extra}\n")  # the local tests' card
SPARK = '[engine]\nkind = "spark"\nmaster = "{master}"\npartitions = 2\n'  # hang sleeps its slice in each


@pytest.fixture(scope="module")
def m4() -> pd.DataFrame:
    return pd.read_parquet(M4 / "m4_hourly.parquet")


HANG = """
import time
from bakeoff.tasks.forecast.ladder import ForecastCandidate

class Hang(ForecastCandidate):
    name, rung, family = "hang", 1, "test"

    def model(self):
        time.sleep(600)
"""


def test_a_standalone_cluster_gives_each_series_the_local_engines_choice_and_scores(tmp_path, m4, spark_master):
    """One job on the cluster: the same choices and scores as a local run, a hanging candidate of
    the card's own folder stopped in each partition, the global model reported as not run."""
    local, spark = tmp_path / "local", tmp_path / "spark"
    for folder in (local, spark):
        folder.mkdir()
        write_series(folder, m4, count=12, keep=400)
    write_card(local, CARD.format(extra=""))
    (spark / "hang.py").write_text(HANG)
    write_card(spark, CARD.replace('"theta"]', '"theta", "global_lightgbm"]').replace('"60s"', '"5s"').format(
        extra='extra = ["hang:Hang"]\n' + SPARK.format(master=spark_master)))
    job = BackgroundCli("run", "bakeoff.toml", cwd=spark)  # the console script, on the cluster
    try:
        here = cli("run", "bakeoff.toml", "--no-track", cwd=local)  # meanwhile, the local engine
    finally:
        done = job.result(timeout=900)
    assert here.returncode == 0, here.stderr
    assert done.returncode == 0, done.stderr
    run_dir = next((spark / "runs").iterdir())
    assert "Traceback" not in done.stderr and "WARN" not in done.stderr  # Spark's own log is in .bakeoff/spark.log
    mine = pd.read_csv(next((local / "runs").iterdir()) / "selection.csv", dtype={"id": str}).set_index("id")
    theirs = pd.read_parquet(run_dir / "selection.parquet").set_index("id").loc[mine.index]
    assert theirs["chosen"].tolist() == mine["chosen"].tolist()
    assert np.allclose(theirs["chosen_score"], mine["chosen_score"], rtol=0, atol=1e-9)
    assert theirs["best"].tolist() == mine["best"].tolist()
    result = json.loads((run_dir / "result.json").read_text())
    rows = {r["name"]: r for r in result["candidates"]}
    assert rows["hang"]["status"] == "timeout" and result["provenance"]["engine"]["master"] == spark_master
    assert any(note.startswith("not run on Spark: global_lightgbm") for note in result["notes"])
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert (scores.loc[scores["candidate"] == "hang", "status"] == "timeout").sum() == 12  # every series; the job went on
    local_rows = {r["name"]: r for r in json.loads((next((local / "runs").iterdir()) / "result.json").read_text())
                  ["candidates"]}
    for name in ("naive", "seasonal_naive", "ses", "theta"):  # portfolio means over the same series
        assert rows[name]["score"] == pytest.approx(local_rows[name]["score"], abs=1e-9)
        assert rows[name]["holdout_score"] == pytest.approx(local_rows[name]["holdout_score"], abs=1e-9)
    scores = pd.read_parquet(run_dir / "scores.parquet").pivot(index="id", columns="candidate", values="cv_score")
    best = result["best"]
    for name in ("naive", "theta"):  # mean ± 1.96 standard errors over series, computed again in pandas
        half = 1.96 * scores[name].std() / np.sqrt(len(scores))
        assert rows[name]["score_ci"] == pytest.approx([scores[name].mean() - half, scores[name].mean() + half])
        diff = scores[name] - scores[best]
        half = 1.96 * diff.std() / np.sqrt(len(diff))
        assert rows[name]["diff_ci"] == pytest.approx([diff.mean() - half, diff.mean() + half], abs=1e-9)
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{spark / '.bakeoff' / 'mlflow.db'}")
    logged = client.get_run(result["mlflow_run_id"])  # one run for the job, not one per series
    assert logged.data.metrics["theta.mase"] == pytest.approx(rows["theta"]["score"])
    assert {"selection.parquet", "forecasts.parquet", "summary.csv", "result.json"} <= {
        a.path for a in client.list_artifacts(logged.info.run_id)}
    done = cli("predict", run_dir.name, "recommended", "-o", "forecasts.csv", cwd=spark)
    assert done.returncode == 0, done.stderr
    forecasts = pd.read_csv(spark / "forecasts.csv", dtype={"id": str})
    frame = pd.read_parquet(spark / "series.parquet")
    for key, group in frame.groupby("series"):  # seasonal naive where chosen: the last day, twice
        own = forecasts[forecasts["id"] == key]
        assert len(own) == 48 and own["time"].tolist() == list(range(group["hour"].max() + 1, group["hour"].max() + 49))
        if mine.loc[key, "chosen"] == "seasonal_naive":
            assert np.allclose(own["prediction"], np.tile(group["value"].to_numpy(float)[-24:], 2))


def test_bad_series_in_a_partition_refuse_the_job_in_one_line(tmp_path, m4):
    from bakeoff.adapters.spark_forecast import _refused
    from bakeoff.core.card import load_card
    from bakeoff.errors import DataError
    from bakeoff.tasks.forecast.partition import PartitionPlan, run_partition
    from bakeoff.tasks.forecast.task import FORECAST

    path = write_series(tmp_path, m4, count=4, keep=400)
    rows = pd.read_parquet(path)
    write_card(tmp_path, CARD.format(extra=SPARK.format(master="local[1]")))
    card = load_card(tmp_path / "bakeoff.toml")
    long = pd.concat([rows, rows.head(1)]).rename(columns={"series": "id", "hour": "time"})  # one (series, hour) twice
    plan = PartitionPlan(card, tuple(FORECAST.ladder()[n] for n in ("naive", "theta")), "", 60, float("inf"))
    out = run_partition(long[["id", "time", "value"]], plan)  # what each Spark task runs
    summary = [{"candidate": "", "status": out["status"].iloc[0], "error": out["error"].iloc[0]}]
    with pytest.raises(DataError) as err:
        _refused(summary)  # the driver turns a partition's refusal into the run's one-line error
    assert "repeat" in str(err.value) and "(series, hour)" in str(err.value) and "\n" not in str(err.value)
