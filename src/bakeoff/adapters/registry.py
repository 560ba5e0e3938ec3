"""The MLflow model registry: a run's candidate registered under a name with an alias
(champion, challenger), and what an alias points at now, with the model file behind it.

Example::

    version = register("sqlite:///.bakeoff/mlflow.db", "runs:/abc/model", "churn", "champion",
                       tags={"bakeoff.run_id": "20261203-1"}, columns={"tenure": "number"}, outputs={"prediction": "category"})
    current("sqlite:///.bakeoff/mlflow.db", "churn", "champion")   # Version(number=1, ...)
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from bakeoff.core.urls import failure, redact
from bakeoff.errors import ConfigError, TrackingError


@dataclass(frozen=True)
class Version:
    """One registered model version: its number, the run that logged it and its tags."""

    name: str
    number: int
    run_id: str
    source: str
    tags: dict


def _quiet():
    """MLflow's chatter kept out of the terminal (importing MLflow: only once the registry is asked)."""
    from bakeoff.adapters import tracking

    return tracking._quiet()


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def register(uri: str, model_uri: str, name: str, alias: str, *, tags: dict, columns: dict[str, str],
             outputs: dict[str, str], profile: Path | None = None) -> Version:
    """Register `model_uri` (a runs:/ URI) under `name`, with the signature of its training
    `columns` and its `outputs` (each a number or a category), the `tags` and the reference
    `profile` (a file logged beside the model), and point `alias` at the new version."""
    with _quiet():
        try:
            import mlflow
            from mlflow.models import ModelSignature, set_signature
            from mlflow.types import ColSpec, Schema

            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            client = _client(uri)
            inputs = Schema([ColSpec("double" if kind == "number" else "string", column, required=False)
                             for column, kind in columns.items()])
            returned = Schema([ColSpec("double" if kind == "number" else "string", out) for out, kind in outputs.items()])
            run_id, _, artifact = model_uri.removeprefix("runs:/").partition("/")
            model_uri = _logged_model(client, run_id, artifact)
            set_signature(model_uri, ModelSignature(inputs=inputs, outputs=returned))
            if profile is not None:
                client.log_artifact(run_id, str(profile))
            with contextlib.redirect_stderr(io.StringIO()):  # its "Created version 2" lines: promote says it
                version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in tags.items()})
            client.set_registered_model_alias(name, alias, version.version)
            return Version(name, int(version.version), run_id, version.source, dict(tags))
        except Exception as err:  # MLflow raises many types; all mean "the registry refused"
            raise TrackingError(f"could not register {name!r} in MLflow at {redact(uri)} ({failure(err, uri)}); "
                                "check the tracking URI") from err


def _logged_model(client, run_id: str, name: str) -> str:
    """The models:/ URI of the model a run logged as `name` (MLflow 3 keeps models apart from runs)."""
    run = client.get_run(run_id)
    found = client.search_logged_models(experiment_ids=[run.info.experiment_id],
                                        filter_string=f"source_run_id = '{run_id}' AND name = '{name}'")
    if not found:
        raise ConfigError(f"run {run_id} logged no model named {name!r}")
    return found[0].model_uri


def current(uri: str, name: str, alias: str) -> Version | None:
    """The version `alias` points at, or None when the alias (or the name) is not set."""
    from mlflow.exceptions import MlflowException

    with _quiet():
        try:
            found = _client(uri).get_model_version_by_alias(name, alias)
        except MlflowException as err:
            if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise TrackingError(f"cannot read model {name!r} from MLflow at {redact(uri)} ({failure(err, uri)})") \
                from err
        except Exception as err:  # the store cannot be reached
            raise TrackingError(f"cannot read model {name!r} from MLflow at {redact(uri)} ({failure(err, uri)}); "
                                "check --registry or MLFLOW_TRACKING_URI") from err
    return Version(name, int(found.version), found.run_id, found.source, dict(found.tags))


def download(uri: str, version: Version, into: Path) -> Path:
    """The version's model folder, downloaded under `into` (its artifacts/ hold the model file)."""
    with _quiet():
        try:
            import mlflow

            mlflow.set_tracking_uri(uri)
            return Path(mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{version.name}/{version.number}", dst_path=str(into),
                tracking_uri=uri))
        except Exception as err:  # MLflow raises many types; all mean "cannot fetch"
            raise ConfigError(f"cannot download model {version.name!r} version {version.number} from "
                              f"{redact(uri)} ({failure(err, uri)})") from err


def model_file(model_dir: Path) -> Path:
    """The bakeoff model file inside a downloaded MLflow model folder (its artifacts/ hold it)."""
    files = sorted((Path(model_dir) / "artifacts").glob("*.pkl"))
    if not files:
        raise ConfigError(f"{model_dir} holds no bakeoff model file; promote a candidate of a tracked bakeoff run")
    return files[0]
