"""The public names of `import bakeoff`, and that importing it stays light."""

import subprocess
import sys

import bakeoff


def test_public_names_are_exactly_the_documented_ones():
    commands = ["run", "init", "predict", "report", "review", "sql", "score", "candidates", "reproduce", "promote",
                "serve", "feedback"]  # the CLI's
    assert bakeoff.__all__ == sorted([*commands, "open_run", "Result", "Card", "load_card", "bake",
                                      "plan", "execute", "Candidate", "Fitted", "BakeoffError",
                                      "ConfigError", "DataError", "CandidateError", "TrackingError"])
    import importlib

    importlib.import_module("bakeoff.reporting")  # a subpackage must not shadow a public name
    importlib.import_module("bakeoff.serving.app")

    for name in bakeoff.__all__:
        assert getattr(bakeoff, name).__name__ == name


def test_import_bakeoff_does_not_import_heavy_libraries():
    code = "import sys, bakeoff; print(sorted(m for m in ('mlflow', 'sklearn', 'lightgbm', 'optuna', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_cli_command_has_a_library_function_with_the_same_options():
    import inspect

    from bakeoff.cli import app

    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        function = getattr(bakeoff, name)
        library = set(inspect.signature(function).parameters)
        cli = set(inspect.signature(command.callback).parameters) - {"no_track", "output", "check"}
        assert cli - library <= {"run_id", "source"}, (name, cli - library)


NOTEBOOK = """
import numpy as np, pandas as pd, bakeoff
from bakeoff import Candidate, Fitted

class Median(Candidate):                      # defined here, in __main__, as in a notebook
    name, rung, family, tasks = "median", 0, "baseline", ("regression",)
    def fit(self, X, y):
        return MedianFitted(float(np.median(y)))

class MedianFitted(Fitted):
    def __init__(self, value): self.value = value
    def predict(self, X): return np.full(len(X), self.value)

rng = np.random.default_rng(0)
frame = pd.DataFrame({"x": rng.normal(size=300), "group": rng.choice(list("abc"), 300)})
frame["y"] = 3 * frame["x"] + rng.normal(size=300)
result = bakeoff.run(frame, target="y", only=["constant", "linear"], extra=[Median], budget="1m",
                     track=False, out=OUT)
board = result.leaderboard
print(result.recommended, board.loc["median", "status"], round(board.loc["median", "score"], 6))
print(round(float(np.sqrt(np.mean((frame.y - frame.y.median()) ** 2))), 1))
print(result.predict(frame.head(3))["prediction"].round(6).tolist())
query = result.to_sql(dialect="duckdb")
print("FROM" in query and '"x"' in query and '"group"' in query)
"""


def test_three_lines_in_a_notebook_race_a_candidate_defined_there(tmp_path):
    code = f"OUT = {str(tmp_path)!r}\n" + NOTEBOOK  # `python -c`: a __main__ with no file, as a notebook's
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr
    recommended, status, median_rmse = done.stdout.splitlines()[0].split()
    assert (recommended, status) == ("linear", "ok")
    # the median's cross-validated RMSE is about the spread of y around its median (~3.2)
    assert abs(float(median_rmse) - float(done.stdout.splitlines()[1])) < 0.5
    assert len(eval(done.stdout.splitlines()[2])) == 3
    assert done.stdout.splitlines()[3] == "True"  # the linear model as SQL reads both columns
