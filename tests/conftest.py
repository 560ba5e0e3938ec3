"""Shared fixtures: real data from the repo, generated data, the real CLI, a real PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
TELCO = REPO / "examples" / "telco_churn" / "Telco-Customer-Churn.csv"
CDNOW = REPO / "examples" / "cdnow_spend" / "cdnow_spend.csv"
BAKEOFF = Path(sys.executable).with_name("bakeoff")
# The models bakeoff serve keeps on this machine: a folder of this test session's, not the user's.
os.environ["BAKEOFF_CACHE"] = tempfile.mkdtemp(prefix="bakeoff-test-cache-")

# A shell without job control starts background commands with Ctrl-C ignored, and every process
# started from here would inherit that: the tests of what Ctrl-C does need it answered.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def telco() -> pd.DataFrame:
    return pd.read_csv(TELCO)


def write_telco_sample(folder: Path, telco: pd.DataFrame) -> Path:
    """1,500 Telco rows (with some of the blank TotalCharges rows) as folder/telco.csv."""
    blanks = telco[telco["TotalCharges"].str.strip() == ""]
    rows = pd.concat([blanks, telco.drop(blanks.index).sample(1500 - len(blanks), random_state=1)])
    path = folder / "telco.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.fixture
def telco_sample(tmp_path, telco) -> Path:
    """1,500 Telco rows (with some of the blank TotalCharges rows) as a CSV in tmp_path."""
    return write_telco_sample(tmp_path, telco)


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


def _cli_env(env: dict | None) -> dict:
    full_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env.update({"COLUMNS": "160", **(env or {})})
    return full_env


def run_cli(*args: str, cwd: Path, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """The real `bakeoff` console script, as a user runs it."""
    return subprocess.run([str(BAKEOFF), *args], cwd=cwd, env=_cli_env(env), capture_output=True,
                          text=True, timeout=timeout)


class BackgroundCli:
    """`run_cli` started now and waited for later (`.result()`), for a test with other work to
    do meanwhile, e.g. the local run a Spark job's outputs are compared with."""

    def __init__(self, *args: str, cwd: Path, env: dict | None = None):
        self.process = subprocess.Popen([str(BAKEOFF), *args], cwd=cwd, env=_cli_env(env), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def result(self, timeout: float = 600) -> subprocess.CompletedProcess:
        try:
            out, err = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)


# The warning filters of a fresh interpreter, which the console script starts with.
FRESH_WARNING_FILTERS = [("default", DeprecationWarning, "__main__"),
                         ("ignore", DeprecationWarning, ""),
                         ("ignore", PendingDeprecationWarning, ""),
                         ("ignore", ImportWarning, ""), ("ignore", ResourceWarning, "")]


def _warn_to_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`bakeoff ARGS` run in this process (`bakeoff.cli.main`) as `run_cli` runs the console
    script: same environment, working folder, arguments and warning filters, and the exit
    code, stdout and stderr it gives. For refusals, messages and runs whose outputs are
    checked, where the process boundary is not what a test is about (saves a start-up each)."""
    from bakeoff.cli import main

    changes = {"MLFLOW_TRACKING_URI": None, "COLUMNS": "160", **(env or {})}
    saved_env = {name: os.environ.get(name) for name in changes}
    saved_cwd, saved_argv, saved_path = os.getcwd(), sys.argv, list(sys.path)
    saved_modules = set(sys.modules)
    out, err = io.StringIO(), io.StringIO()
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.chdir(cwd)
        sys.argv = [str(BAKEOFF), *args]
        with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(FRESH_WARNING_FILTERS):
                warnings.filterwarnings(action, category=category, module=module)
            warnings.showwarning = _warn_to_stderr
            try:
                code = main(list(args))
            except SystemExit as stop:  # as the interpreter turns it into an exit code
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
                if not isinstance(stop.code, (int, type(None))):
                    print(stop.code, file=sys.stderr)
            except Exception:  # noqa: BLE001 - reported as the interpreter reports it
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(saved_cwd)
        sys.argv, sys.path[:] = saved_argv, saved_path
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        folder = str(Path(cwd).resolve())
        for name in set(sys.modules) - saved_modules:  # modules imported from the test's folder
            if str(getattr(sys.modules[name], "__file__", None) or "").startswith(folder):
                del sys.modules[name]
    return subprocess.CompletedProcess([str(BAKEOFF), *args], code, out.getvalue(), err.getvalue())


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


_CLUSTER: dict = {}  # the Spark standalone cluster of this test run, once started


def _start_cluster(folder: Path):
    from spark_cluster import Standalone

    if "cluster" not in _CLUSTER:
        _CLUSTER["cluster"] = Standalone(folder)
    return _CLUSTER["cluster"]


def pytest_collection_finish(session):
    """When a collected test needs the Spark cluster, start it now: its JVMs boot while the
    tests before it run (`spark_master` waits for it); it is stopped when the run ends."""
    import importlib.util

    wanted = any("spark_master" in getattr(item, "fixturenames", ()) for item in session.items)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker of `pytest -n`: it may never get those tests
        return
    if wanted and not session.config.option.collectonly and importlib.util.find_spec("pyspark"):
        _start_cluster(session.config._tmp_path_factory.mktemp("spark-cluster"))


def pytest_sessionfinish(session):
    if "cluster" in _CLUSTER:
        _CLUSTER.pop("cluster").stop()
    close_browser = getattr(sys.modules.get("browser"), "close_shared", None)
    if close_browser:  # the Chromium the browser tests shared
        close_browser()


@pytest.fixture(scope="session")
def spark_master(tmp_path_factory):
    """A Spark standalone master and one worker on loopback (from pyspark's own scripts), for
    the whole test run: what local mode hides (serialisation, imports on executors) shows here."""
    pytest.importorskip("pyspark")
    return _start_cluster(tmp_path_factory.mktemp("spark-cluster")).url()


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
