"""`bakeoff promote RUN_ID CANDIDATE --name NAME --as champion`: a finished candidate of a
tracked run registered in MLflow under NAME, with its signature, provenance tags, holdout
figures and the reference profile of its training rows, and the alias pointed at it.

Example::

    promoted = promote("20261203-101500-ab12", "linear", name="churn", alias="champion")
    promoted.version.number, promoted.registry   # 1, 'sqlite:////work/shop/.bakeoff/mlflow.db'
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from bakeoff.errors import ConfigError

ALIASES = ("champion", "challenger")


@dataclass(frozen=True)
class Promoted:
    version: object  # adapters.registry.Version
    alias: str
    registry: str  # the tracking URI the name lives in (passwords masked where printed)


def promote(run_id: str, candidate: str, *, name: str, alias: str, runs: Path = Path(".")) -> Promoted:
    """Register `candidate` (a name, or 'recommended' / 'best') of run `run_id` as `name` and
    point `alias` at it; what a user can fix is a ConfigError or DataError of one line."""
    from bakeoff.adapters import registry
    from bakeoff.core.bake import tracking_uri_of
    from bakeoff.core.runstore import find_run, load_model, read_card, read_result
    from bakeoff.serving import cache
    from bakeoff.tasks import task_for

    if alias not in ALIASES:
        raise ConfigError(f"--as {alias!r}: use champion or challenger")
    run_dir = find_run(run_id, runs)
    result = read_result(run_dir)
    mixed = candidate == "recommended" and result.get("recommended_model_uri")  # each series its own choice
    if candidate in ("recommended", "best"):
        candidate = result.get(candidate) or candidate
    row = next((r for r in result["candidates"] if r["name"] == candidate), None)
    finished = [r["name"] for r in result["candidates"] if r["status"] == "ok"]
    if row is None or row["status"] != "ok":
        what = f"did not finish ({row['status']})" if row else "is not a candidate of it"
        raise ConfigError(f"{candidate!r} of run {run_dir.name} {what}; promote one of "
                          f"{', '.join(finished) or '(none finished)'}")
    task = task_for(result["task"])
    if task.serving is None:
        raise ConfigError(f"run {run_dir.name} is a {result['task']} run, whose models bakeoff does not serve yet; "
                          "use bakeoff predict")
    fingerprint = (result.get("provenance") or {}).get("data_sha256")
    if not fingerprint:
        raise ConfigError(f"run {run_dir.name} records no data fingerprint, so what its model learned from cannot be "
                          "checked; run the card again and promote from the new run")
    if mixed:
        row = {**row, "name": "recommended", "model_uri": result["recommended_model_uri"]}
    if not row.get("model_uri"):
        raise ConfigError(f"run {run_dir.name} was not tracked in MLflow (run with --no-track), so there is no "
                          "model to register; run the card again without --no-track")
    serving = import_module(task.serving)
    model = load_model(run_dir, candidate, result)  # the row's (a mixed choice: the run's recommendation)
    card = read_card(run_dir)
    tags = {**_tags(result, row), "bakeoff.entity": serving.entity(card),
            "bakeoff.serving": json.dumps(serving.settings(card))}
    columns, outputs = serving.signature(model, card)
    uri = tracking_uri_of(card)
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "reference_profile.json"
        profile.write_text(json.dumps(serving.training_profile(card, fingerprint, model), indent=1))
        version = registry.register(uri, row["model_uri"], name, alias, tags=tags, columns=columns, outputs=outputs,
                                    profile=profile)
        cache.remember(uri, version, alias, registry.download(uri, version, Path(tmp) / "model"))
    return Promoted(version, alias, uri)


def _tags(result: dict, row: dict) -> dict:
    """What a registered version says of where it came from and how it scored."""
    metric = result["metric"]
    provenance = result.get("provenance") or {}
    tags = {"bakeoff.run_id": result["run_id"], "bakeoff.candidate": row["name"], "bakeoff.task": result["task"],
            "bakeoff.metric": metric, f"holdout_{metric}": row.get("holdout_score"), f"cv_{metric}": row.get("score"),
            f"cv_{metric}_ci": json.dumps(row.get("score_ci")), "bakeoff.classes": json.dumps(result.get("classes") or [])}
    tags.update({f"provenance.{k}": v for k, v in provenance.items() if v is not None and not isinstance(v, dict)})
    return {k: v for k, v in tags.items() if v is not None}
