"""MLflow adapter: one parent run per bake-off, a nested run per candidate with its model.

The only module that imports mlflow. Default store: a SQLite file under `.bakeoff/`
next to the card; `MLFLOW_TRACKING_URI`, then the card's [store] tracking_uri, win over it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import mlflow
import mlflow.pyfunc
import pandas as pd

from bakeoff.core.provenance import package_versions
from bakeoff.core.result import RECOMMENDED
from bakeoff.core.urls import failure, redact
from bakeoff.errors import TrackingError


class BakeoffModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: what `bakeoff predict` gives, from the candidate's saved model (its task,
    in the model's config, says how: raw rows in and predictions out for a table, series ids in
    and their forecasts out for forecasting)."""

    def load_context(self, context):
        from bakeoff.tasks import task_for

        self.predictor = task_for(context.model_config["task"]).pyfunc_predictor(context.artifacts)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.predictor(model_input)


def open_store(uri: str, experiment: str, store_dir: Path) -> str:
    """Connect to the store (a new SQLite store creates its tables: seconds) and find or make
    the experiment; its id. MLflow keeps the store open for the logging that follows."""
    with _quiet():
        store_dir.mkdir(parents=True, exist_ok=True)  # the default SQLite store and artifacts live here
        mlflow.set_tracking_uri(uri)
        return _experiment_id(experiment, store_dir)


def warm(uri: str, experiment: str, store_dir: Path) -> None:
    """What the first logged model would pay for (seconds), paid while the race runs: the
    store's connection, and MLflow's map of installed packages, which it builds to check each
    model's requirements against the environment."""
    open_store(uri, experiment, store_dir)
    try:
        from mlflow.utils import requirements_utils

        requirements_utils._init_modules_to_packages_map()  # private; cached by MLflow itself
    except (ImportError, AttributeError):  # another MLflow version: it is built on first use
        pass


def _experiment_id(name: str, store_dir: Path) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    artifacts = (store_dir / "mlartifacts").resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=artifacts)


def _package_copy(folder: Path) -> str:
    """A copy of bakeoff's own source (no caches) in folder/bakeoff, shipped with every logged
    model so that it loads where bakeoff is not installed (bakeoff is not on PyPI, so a pip
    requirement could not fetch it)."""
    import shutil

    target = folder / "bakeoff"
    shutil.copytree(Path(__file__).resolve().parents[1], target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return str(target)


def _requirements() -> list[str]:
    wanted = ("scikit-learn", "lightgbm", "xgboost", "pandas", "numpy", "scipy")  # those installed
    return [f"{name}=={version}" for name, version in package_versions(wanted).items()]


@contextlib.contextmanager
def _quiet():
    """Keep MLflow's progress bars, info logs and advice out of the user's terminal."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logger = logging.getLogger("mlflow")
    level, logger.level = logger.level, logging.ERROR
    alembic = logging.getLogger("alembic")
    alembic_level, alembic.level = alembic.level, logging.ERROR
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.level, alembic.level = level, alembic_level


def log_bakeoff(result: dict, files: dict[str, bytes | str], card_params: dict,
                finish: Callable[[str, dict[str, str]], Path], *, uri: str, experiment: str,
                store_dir: Path, code_paths: list[str] = (),
                on_candidate=lambda name: None, on_parent=lambda run_id: None) -> None:
    """Log the run (`on_parent(its id)` once it exists) and its candidates' models
    (`files["models/<name>.pkl"]`), then call `finish(parent run id, model URIs)`, which writes
    the run folder, and log its files."""
    with _quiet():
        try:
            _log_bakeoff(result, files, card_params, finish, uri, experiment, store_dir,
                         list(code_paths), on_candidate, on_parent)
        except Exception as err:  # MLflow and its stores raise many types; all mean "cannot log"
            raise TrackingError(f"could not log to MLflow at {redact(uri)} ({failure(err, uri)}); "
                                f"the run folder {result['run_id']} is complete, "
                                "check the tracking URI or run with --no-track") from err


def _log_bakeoff(result, files, card_params, finish, uri, experiment, store_dir, code_paths,
                 on_candidate, on_parent) -> None:
    from bakeoff.tasks import task_for

    experiment_id = open_store(uri, experiment, store_dir)
    model_uris = {}
    with tempfile.TemporaryDirectory() as tmp, \
            mlflow.start_run(experiment_id=experiment_id, run_name=result["run_id"]) as parent:
        code_paths = [_package_copy(Path(tmp)), *code_paths]
        mlflow.log_params(card_params)
        mlflow.set_tags({"bakeoff.run_id": result["run_id"], "bakeoff.recommended": result["recommended"],
                         "bakeoff.best": result["best"]})
        mlflow.set_tags({f"provenance.{k}": json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                         for k, v in result["provenance"].items() if v is not None})
        on_parent(parent.info.run_id)
        for row in result["candidates"]:
            on_candidate(row["name"])
            model = files.get(f"models/{row['name']}.pkl")
            bundle = Path(tmp) / "models" / f"{row['name']}.pkl"
            if model is not None:
                bundle.parent.mkdir(exist_ok=True)
                bundle.write_bytes(model)
            artifacts = {"bundle": str(bundle), **_task_artifacts(result["task"], files, Path(tmp))}
            model_uris[row["name"]] = _log_candidate(row, artifacts if model is not None else None,
                                                     experiment_id, result, code_paths)
        portfolio = task_for(result["task"]).portfolio_files(files)
        if portfolio:
            model_uris[RECOMMENDED] = _log_portfolio(portfolio, files, Path(tmp), parent.info.run_id, result["task"],
                                                     code_paths)
        best = next((r for r in result["candidates"] if r["name"] == result["best"]), None)
        if best and best["score"] is not None:
            mlflow.log_metric(f"best_{result['metric']}", best["score"])
        run_dir = finish(parent.info.run_id, {k: v for k, v in model_uris.items() if v})
        for name in ("result.json", "report.html", "facts.json", *task_for(result["task"]).artifacts):
            if (run_dir / name).exists():
                mlflow.log_artifact(str(run_dir / name))


def _task_artifacts(task: str, files: dict[str, bytes | str], folder: Path) -> dict[str, str]:
    """The run-folder files a task's pyfunc model needs beside the model (written under `folder`)."""
    from bakeoff.tasks import task_for

    return _written({name: name for name in task_for(task).pyfunc_files}, files, folder)


def _written(wanted: dict[str, str], files: dict[str, bytes | str], folder: Path) -> dict[str, str]:
    """Each wanted run-folder file (artifact name: file name) written under `folder`, by artifact name."""
    paths = {}
    for key, name in wanted.items():
        path = folder / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[name] if isinstance(files[name], bytes) else files[name].encode())
        paths[key] = str(path)
    return paths


def _log_portfolio(wanted: dict[str, str], files: dict[str, bytes | str], folder: Path, run_id: str, task: str,
                   code_paths: list[str]) -> str:
    """The recommendation that mixes candidates (each series its own), as one pyfunc model on the parent run."""
    mlflow.pyfunc.log_model(name=RECOMMENDED, python_model=BakeoffModel(), artifacts=_written(wanted, files, folder),
                            model_config={"task": task}, pip_requirements=_requirements(),
                            code_paths=code_paths or None)
    return f"runs:/{run_id}/{RECOMMENDED}"


def _log_candidate(row: dict, artifacts: dict[str, str] | None, experiment_id: str, result: dict,
                   code_paths: list[str]) -> str | None:
    metric = result["metric"]
    with mlflow.start_run(experiment_id=experiment_id, run_name=row["name"], nested=True) as run:
        mlflow.log_params({"candidate": row["name"], "rung": row["rung"], "family": row["family"],
                           **{f"hp.{k}": v for k, v in row.get("params", {}).items()}})
        mlflow.set_tags({"status": row["status"], "error": row["error"] or ""})
        figures = {metric: row["score"], f"{metric}_ci_low": (row["score_ci"] or [None])[0],
                   f"{metric}_ci_high": (row["score_ci"] or [None, None])[1],
                   f"holdout_{metric}": row["holdout_score"]}
        figures.update({k: row[k] for k in ("fit_seconds", "predict_us_per_row", "latency_ms_p50",
                                            "model_bytes", "n_params", "monthly_value", "monthly_cost")})
        if row.get("expectations"):
            figures["sme_cases_right"] = row["expectations"]["right"]
            figures["sme_cases"] = row["expectations"]["total"]
        mlflow.log_metrics({k: float(v) for k, v in figures.items() if v is not None})
        if row["status"] != "ok" or artifacts is None:
            return None
        mlflow.pyfunc.log_model(name="model", python_model=BakeoffModel(), artifacts=artifacts,
                                model_config={"task": result["task"]}, pip_requirements=_requirements(),
                                code_paths=code_paths or None)
        return f"runs:/{run.info.run_id}/model"


def log_folder_run(result: dict, folder: Path, card_params: dict, finish: Callable[[str], Path], *, uri: str,
                   experiment: str, store_dir: Path, engine: str = "spark") -> str:
    """One MLflow run for a job whose outputs are a folder (a bake-off on Spark: no run per
    series or group, which would drown the store): the card as params, each candidate's figures
    as metrics, the folder's files and Parquet outputs as artifacts, then the file
    `finish(run id)` writes (the result, which names the run). The run's id."""
    with _quiet():
        try:
            experiment_id = open_store(uri, experiment, store_dir)
            with mlflow.start_run(experiment_id=experiment_id, run_name=result["run_id"]) as run:
                mlflow.log_params(card_params)
                mlflow.set_tags({"bakeoff.run_id": result["run_id"], "bakeoff.recommended": result["recommended"],
                                 "bakeoff.best": result["best"], "bakeoff.engine": engine})
                metric = result["metric"]
                figures = {f"{row['name']}.{key}": row[field] for row in result["candidates"]
                           for key, field in ((metric, "score"), (f"holdout_{metric}", "holdout_score"),
                                              ("fit_seconds", "fit_seconds")) if row[field] is not None}
                mlflow.log_metrics({k: float(v) for k, v in figures.items()})
                for path in sorted(folder.iterdir()):
                    if path.is_dir():
                        mlflow.log_artifacts(str(path), artifact_path=path.name)
                    else:
                        mlflow.log_artifact(str(path))
                mlflow.log_artifact(str(finish(run.info.run_id)))
                return run.info.run_id
        except Exception as err:  # MLflow and its stores raise many types; all mean "cannot log"
            raise TrackingError(f"could not log to MLflow at {redact(uri)} ({failure(err, uri)}); "
                                "check the tracking URI or run with --no-track") from err


def log_feedback(uri: str, run_id: str, verdicts: list[dict]) -> None:
    """Attach a run's SME verdicts to its MLflow parent run (artifact feedback.json and counts)."""
    with _quiet():
        try:
            mlflow.set_tracking_uri(uri)
            client = mlflow.MlflowClient(uri)
            client.log_dict(run_id, verdicts, "feedback.json")
            latest = {v["row_key"]: v["verdict"] for v in verdicts}  # in the order given: the last one counts
            client.log_metric(run_id, "sme_reviewed", len(latest))
            client.log_metric(run_id, "sme_marked_wrong", sum(v == "wrong" for v in latest.values()))
        except Exception as err:  # MLflow and its stores raise many types; all mean "cannot log"
            raise TrackingError(f"could not log the feedback to MLflow at {redact(uri)} ({failure(err, uri)}); "
                                "it is safe in the feedback store") from err
