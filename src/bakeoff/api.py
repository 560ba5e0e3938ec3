"""The Python API: one function for every `bakeoff` command, with the same option names.

In a notebook (candidates run in worker processes; in a script, call under
`if __name__ == "__main__":`)::

    import bakeoff

    result = bakeoff.run("examples/telco_churn/Telco-Customer-Churn.csv", target="Churn", budget="1m")
    result.leaderboard                     # a DataFrame, simplest first
    result.predict(new_rows)               # the recommended model's predictions
    print(result.to_sql(dialect="postgres"))
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeoff.core.bake import BakeOutcome, Plan, bake, check_outputs, execute, job_runner, plan
from bakeoff.core.runstore import find_run, read_result
from bakeoff.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from bakeoff.core.reproduce import Reproduction

__all__ = ["BakeOutcome", "Plan", "Result", "bake", "candidates", "execute", "init", "open_run",
           "plan", "predict", "report", "reproduce", "review", "run", "score", "sql"]

LEADERBOARD = ["name", "rung", "family", "status", "score", "score_ci", "holdout_score", "fit_seconds",
               "predict_us_per_row", "model_bytes", "n_params", "sql", "monthly_value", "error"]


class Result:
    """A finished run: its verdict, its leaderboard, and its models ready to predict or export."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.record = read_result(self.run_dir)

    best = property(lambda self: self.record["best"], doc="The candidate with the best score.")
    recommended = property(lambda self: self.record["recommended"],
                           doc="The simplest candidate as good as the best.")
    reason = property(lambda self: self.record["reason"], doc="Why it is recommended, in words.")
    run_id = property(lambda self: self.record["run_id"])
    report_path = property(lambda self: self.run_dir / "report.html", doc="The HTML report.")

    @property
    def leaderboard(self) -> pd.DataFrame:
        """One row per candidate, simplest first, with scores, intervals and costs."""
        import pandas as pd

        rows = [{k: row.get(k) for k in LEADERBOARD} for row in self.record["candidates"]]
        return pd.DataFrame(rows, columns=LEADERBOARD).set_index("name")

    def predict(self, data: pd.DataFrame | None = None, candidate: str = "recommended") -> pd.DataFrame:
        """`data` with `prediction` (and, for classification, probability) columns added; for a
        forecast run (no `data`), every series' forecasts, each by its own choice by default; for
        a customer run, every customer of the log `data` (or the card's) with their predictions."""
        from bakeoff.tasks import task_for

        return task_for(self.record["task"]).predict(self.run_dir, candidate, data)[0]

    def to_sql(self, candidate: str = "recommended", *, dialect: str = "duckdb", table: str = "data",
               id: str | None = None) -> str:
        """The candidate as one SQL SELECT over `table`'s raw columns."""
        return sql(self.run_dir, candidate, dialect=dialect, table=table, id=id)

    def __repr__(self) -> str:
        return f"<bakeoff.Result {self.run_id}: recommended {self.recommended} ({self.reason})>"

    def _repr_html_(self) -> str:
        from html import escape

        return (f"<p><b>Recommended: {escape(str(self.recommended))}</b> — {escape(self.reason)}</p>"
                + self.leaderboard.to_html())


def run(data: Any, *, target: str | None = None, task: str | None = None, metric: str | None = None,
        budget: str | float | None = None, per_candidate: str | float | None = None,
        only: Sequence[str] | str | None = None, skip: Sequence[str] | str | None = None,
        drop: Sequence[str] | str | None = None, seed: int | None = None, folds: int | None = None,
        holdout: float | None = None, tolerance: float | None = None, trials: int | None = None,
        workers: int | None = None, out: str | Path | None = None, track: bool = True,
        extra: Sequence[type] = ()) -> Result:
    """Run a bake-off, as `bakeoff run`. `data` is a card (.toml), a CSV or Parquet file, a
    pandas DataFrame or a `Card`; `extra` are Candidate classes (defined anywhere, a notebook
    too) that join the race."""
    from bakeoff.core.card import Card
    from bakeoff.tasks.tabular.quickstart import card_for

    overrides = {"task": task, "metric": metric, "total": budget, "per_candidate": per_candidate,
                 "only": only, "skip": skip, "drop": drop, "seed": seed, "folds": folds,
                 "holdout": holdout, "tolerance": tolerance, "trials": trials, "workers": workers}
    if isinstance(data, Card):
        card = data
    elif not (_is_frame(data) or isinstance(data, (str, Path))):
        raise ConfigError(f"data is a {type(data).__name__}; give a path (a card, CSV or Parquet file), "
                          "a pandas DataFrame or a Card")
    else:
        source = _frame_file(data, Path(out or ".")) if _is_frame(data) else Path(data)
        card = card_for(source, target, overrides)
    folder = Path(out) if out is not None else (None if isinstance(data, (str, Path))
                                                and str(data).endswith(".toml") else Path.cwd())
    runner = job_runner(card)
    if runner is not None:
        return Result(runner(card, out=folder, track=track).run_dir)
    planned = plan(card, extra=tuple(extra))
    check_outputs(card, folder, track)
    return Result(execute(planned, out=folder, track=track).run_dir)


def _is_frame(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "to_parquet")


def _frame_file(frame: pd.DataFrame, out: Path) -> Path:
    """A DataFrame saved as Parquet under out/.bakeoff/frames/, named by its content, so that
    the run can read its rows again (`sql --check`, `reproduce`)."""
    from bakeoff.core.runstore import write_atomic

    content = frame.to_parquet(index=False)
    path = out / ".bakeoff" / "frames" / f"frame-{hashlib.sha256(content).hexdigest()[:12]}.parquet"
    if not path.exists():
        write_atomic(path, content)
    return path.resolve()


def open_run(run_id: str | Path, runs: str | Path = ".") -> Result:
    """A finished run by its id (under runs/) or its folder."""
    return Result(find_run(str(run_id), Path(runs)))


def init(data: str | Path, target: str | None = None, output: str | Path = "bakeoff.toml", force: bool = False, *,
         task: str | None = None, id: str | None = None, time: str | None = None,
         horizon: int | None = None, amount: str | None = None) -> list[str]:
    """Write a commented card for `data`, as `bakeoff init` (`task="forecast"` with `id`, `time`
    and `horizon` for many series); returns the columns it left out as copies of the target."""
    from bakeoff.tasks import task_for

    family = task_for(task or "classification")
    given = {"target": target, "id": id, "time": time, "horizon": horizon} | ({"amount": amount} if amount else {})
    return family.write_card(Path(data), Path(output), force, **given)


def predict(run_id: str | Path, candidate: str, data: str | Path | None = None, *, runs: str | Path = ".",
            threshold: str | None = None, horizon: float | None = None) -> tuple[pd.DataFrame, list[str]]:
    """As `bakeoff predict`: a file's rows scored (tabular), every series' forecasts (forecast:
    no data; `candidate` "recommended" forecasts each series with its own choice), or every
    customer's purchases over `horizon`, P(active), spend and value (customer: a log, or the
    card's); and notes on values the model reads as missing or unknown."""
    from bakeoff.tasks import task_for

    run_dir = find_run(str(run_id), Path(runs))
    return task_for(read_result(run_dir)["task"]).predict(run_dir, candidate, None if data is None else Path(data),
                                                          threshold, horizon)


def report(run_id: str | Path, *, runs: str | Path = ".") -> tuple[Path, list[str]]:
    """Re-render a run's report.html, as `bakeoff report`; returns its path and notes."""
    from bakeoff.reporting import render_run

    return render_run(find_run(str(run_id), Path(runs)))


def review(run_id: str | Path, *, candidate: str = "recommended", rows: int = 30, port: int = 8765,
           runs: str | Path = ".", on_ready=None) -> None:
    """Serve the page where experts judge a run's predictions, as `bakeoff review`, until
    interrupted; `on_ready(url, review_set)` is called once it listens."""
    from bakeoff.tasks.tabular.review import load_review_set, serve

    review_set = load_review_set(find_run(str(run_id), Path(runs)), candidate, rows)
    serve(review_set, port, (lambda url: on_ready(url, review_set)) if on_ready else None)


def sql(run_id: str | Path, candidate: str, *, dialect: str = "duckdb", table: str = "data",
        id: str | None = None, runs: str | Path = ".") -> str:
    """The candidate as one SQL SELECT over `table`'s raw columns, as `bakeoff sql`."""
    from bakeoff.tasks.tabular.indb import sql_for_run
    from bakeoff.tasks.tabular.sql import check_dialect

    return sql_for_run(find_run(str(run_id), Path(runs)), candidate, table, check_dialect(dialect), id)


def score(run_id: str | Path, candidate: str, *, sql_url: str, table: str, into: str = "scores",
          id: str | None = None, runs: str | Path = ".") -> int:
    """Score `table` inside the database into `into`, as `bakeoff score`; rows written."""
    from bakeoff.tasks.tabular.indb import score_in_database

    return score_in_database(find_run(str(run_id), Path(runs)), candidate, sql_url, table, into, id)


def candidates() -> list[type]:
    """The ladder, as `bakeoff candidates`: every candidate class that can run here (its
    libraries installed), by the tasks it serves, simplest first."""
    from bakeoff.core.registry import available, missing_library
    from bakeoff.tasks import TASKS

    families = list(dict.fromkeys(spec for spec in TASKS.values()))  # tabular, then forecast

    def family(cls) -> int:
        return min((families.index(TASKS[t]) for t in cls.tasks if t in TASKS), default=len(families))

    return sorted((c for c in available().values() if not missing_library(c)), key=lambda c: (family(c), c.rung))


def reproduce(run_id: str | Path, *, runs: str | Path = ".", out: str | Path | None = None,
              track: bool = True) -> Reproduction:
    """Run a finished run's card again from what it recorded (card, seed, data source), as
    `bakeoff reproduce`, into a new run folder (under `out`; default: beside the old one); the
    old and new scores side by side, and the data and packages that differ since the run."""
    from bakeoff.core.reproduce import rerun

    return rerun(find_run(str(run_id), Path(runs)), out=None if out is None else Path(out), track=track)


def promote(run_id: str | Path, candidate: str, *, name: str, alias: str = "champion", runs: str | Path = "."):
    """Register `candidate` ('recommended', 'best' or a name) of a tracked run in the MLflow
    registry as `name` and point `alias` (champion or challenger) at it, as `bakeoff promote`;
    the `serving.promote.Promoted` record (version, alias, registry URI)."""
    from bakeoff.serving.promote import promote as register

    return register(str(run_id), candidate, name=name, alias=alias, runs=Path(runs))


def serve(name: str, *, challenger: str | None = None, host: str = "127.0.0.1", port: int = 8000,
          registry: str | None = None, log: str | None = None, token: str | None = None,
          max_body: int = 1 << 20) -> None:
    """Serve the registered `name` over HTTP until SIGINT/SIGTERM, as `bakeoff serve`."""
    import os

    from bakeoff.serving.run import default_log, registry_uri, serve_forever

    serve_forever(name, registry=registry_uri(registry), log=log or default_log(name), challenger=challenger,
                  host=host, port=port, token=token if token is not None else os.environ.get("BAKEOFF_SERVE_TOKEN", ""),
                  max_body=max_body)


def feedback(name: str, labels: str | Path, *, label: str = "label", entity: str | None = None,
             log: str | None = None) -> tuple[int, int]:
    """Record a labels file's true labels for `name`'s served predictions, as `bakeoff
    feedback`: joined on request_id, or on the entity id column `entity` (a key labelled
    before gets the new label); the rows recorded, and those left out for a blank id or label."""
    from bakeoff.serving.run import default_log, record_feedback

    return record_feedback(Path(labels), log or default_log(name), label=label, entity=entity)
