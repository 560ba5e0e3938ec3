"""Shared fixtures: real data from the repo, generated data, the real CLI, a real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
TELCO = REPO / "examples" / "telco_churn" / "Telco-Customer-Churn.csv"
CDNOW = REPO / "examples" / "cdnow_spend" / "cdnow_spend.csv"
BAKEOFF = Path(sys.executable).with_name("bakeoff")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def telco() -> pd.DataFrame:
    return pd.read_csv(TELCO)


@pytest.fixture
def telco_sample(tmp_path, telco) -> Path:
    """1,500 Telco rows (with some of the blank TotalCharges rows) as a CSV in tmp_path."""
    blanks = telco[telco["TotalCharges"].str.strip() == ""]
    rows = pd.concat([blanks, telco.drop(blanks.index).sample(1500 - len(blanks), random_state=1)])
    path = tmp_path / "telco.csv"
    rows.to_csv(path, index=False)
    return path


def write_card(folder: Path, text: str) -> Path:
    path = folder / "bakeoff.toml"
    path.write_text(text)
    return path


QUICK_TELCO_CARD = """
[problem]
name = "telco test"
task = "classification"
question = "Who cancels?"
[data]
source = "telco.csv"
target = "Churn"
positive = "Yes"
id = "customerID"
[evaluate]
folds = 3
bootstrap = 200
[budget]
total = "120s"
per_candidate = "40s"
trials = 3
"""


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real `bakeoff` console script, as a user runs it."""
    full_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env.update({"COLUMNS": "160", **(env or {})})
    return subprocess.run([str(BAKEOFF), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def only_run(folder: Path) -> Path:
    runs = [p for p in (folder / "runs").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1, runs
    return runs[0]


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def make_classification_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Two informative numbers, a category and noise; label from a known logistic rule."""
    rng = np.random.default_rng(seed)
    x1, x2, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    logit = 1.5 * x1 - x2 + (colour == "red") * 1.0
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"x1": x1, "x2": x2, "noise": noise, "colour": colour, "label": label})


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server: $BAKEOFF_TEST_POSTGRES_URL (from .ci/run) or one started here."""
    if os.environ.get("BAKEOFF_TEST_POSTGRES_URL"):
        yield os.environ["BAKEOFF_TEST_POSTGRES_URL"]
        return
    import pg_server

    folder = Path(tempfile.mkdtemp(prefix="bakeoff-pg-"))
    url = pg_server.start(folder)
    try:
        yield url
    finally:
        pg_server.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def spark():
    """Apache Spark in local mode (pyspark, Java 17), one session for the whole test run."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("bakeoff-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
               .config("spark.driver.memory", "1g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
