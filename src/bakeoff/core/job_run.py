"""The run folder and MLflow run of a card run as one job (on Spark, or one bake-off per
group): its outputs are written into a staging folder first; then result.json and card.json
join them, one MLflow run logs the folder, and the folder moves into place at once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

from bakeoff.core.card import Card
from bakeoff.errors import TrackingError


def staging_folder(run_dir: Path) -> Path:
    """Where a job writes its outputs until the run is complete."""
    return run_dir.with_name(f".{run_dir.name}.partial")


def finish_job(result, staging: Path, run_dir: Path, card: Card, track: bool):
    """The run folder in place, tracked in MLflow with `track`; the result naming its MLflow run.
    When MLflow cannot log, the folder is still put in place before the TrackingError."""
    try:
        tracked = _tracked(result, staging, card) if track else result
    except TrackingError:
        _finish(staging, run_dir, card, result)  # the run folder is complete all the same
        raise
    _finish(staging, run_dir, card, tracked)
    _report(run_dir)
    return tracked


def _report(run_dir: Path) -> None:
    """report.html: the options table, the trade-off and provenance (a job's per-group or
    per-series figures are in its Parquet outputs). A report that cannot be drawn loses nothing."""
    from bakeoff.reporting import render_run

    try:
        render_run(run_dir)
    except Exception:  # the run folder is complete; `bakeoff report` draws it again and says why
        pass


def _tracked(result, folder: Path, card: Card):
    """The result with its MLflow run: one run for the whole job, the folder's outputs its artifacts."""
    from bakeoff.adapters.tracking import log_folder_run
    from bakeoff.core.bake import card_params, tracking_uri_of
    from bakeoff.core.runstore import store_dir
    from bakeoff.core.urls import redact

    uri = tracking_uri_of(card)
    (folder / "summary.csv").write_text(summary_csv(result))

    def named(run_id: str) -> Path:  # result.json, naming its MLflow run, for the run's artifacts
        write_result(folder, card, dataclasses.replace(result, mlflow_run_id=run_id, tracking_uri=redact(uri)))
        return folder / "result.json"

    run_id = log_folder_run(result.to_dict(), folder, card_params(card), named, uri=uri,
                            experiment=card.problem.name, store_dir=store_dir(card), engine=card.engine.kind)
    return dataclasses.replace(result, mlflow_run_id=run_id, tracking_uri=redact(uri))


def summary_csv(result) -> str:
    """Per candidate: status, mean scores, seconds (the job's summary table)."""
    import pandas as pd

    columns = ["name", "rung", "status", "score", "holdout_score", "fit_seconds", "error"]
    return pd.DataFrame([{c: getattr(row, c) for c in columns} for row in result.candidates]).to_csv(index=False)


def _finish(staging: Path, run_dir: Path, card: Card, result) -> None:
    """result.json and card.json beside the outputs, then the folder in place at once."""
    try:
        write_result(staging, card, result)
        os.replace(staging, run_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_result(folder: Path, card: Card, result) -> None:
    from bakeoff.core.bake import public_card
    from bakeoff.core.runstore import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "card.json", public_card(card).model_dump_json(indent=2))
    write_atomic(folder / "result.json", json.dumps(result.to_dict(), indent=2))
