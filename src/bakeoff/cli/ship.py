"""The shipping commands: promote a run's candidate in the MLflow registry, serve a registered
name over HTTP (champion and challenger), and record feedback from a labels file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from bakeoff.cli import Runs, _api, app
from bakeoff.core.urls import redact

Registry = Annotated[Optional[str], typer.Option(
    "--registry", help="MLflow tracking URI of the registry (default: $MLFLOW_TRACKING_URI, else ./.bakeoff/mlflow.db).")]
Log = Annotated[Optional[str], typer.Option(
    "--log", help="Prediction log: a DuckDB file or a postgresql:// URL (default: ./.bakeoff/predictions-NAME.duckdb).")]


@app.command()
def promote(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    candidate: Annotated[str, typer.Argument(help="Candidate name, or 'recommended' / 'best'.")],
    name: Annotated[str, typer.Option("--name", help="The registered model's name, e.g. churn.")],
    alias: Annotated[str, typer.Option("--as", help="champion or challenger.")] = "champion",
    runs: Runs = Path("."),
):
    """Register a finished candidate in the MLflow registry under NAME and point an alias at it.

    A server of NAME picks the new version up within seconds, without a restart.

    Example: bakeoff promote 20261125-161230-ab12cd recommended --name churn --as champion
    """
    done = _api().promote(run_id, candidate, name=name, alias=alias, runs=runs)
    version = done.version
    typer.echo(f"{name} version {version.number} ({version.tags['bakeoff.candidate']}, run "
               f"{version.tags['bakeoff.run_id']}) is now the {alias}")
    challenger = " --challenger split:0.1" if alias == "challenger" else ""
    typer.echo(f"serve it: bakeoff serve {name}{challenger} --registry {redact(done.registry)}")


@app.command()
def serve(
    name: Annotated[str, typer.Argument(help="The registered model's name (see bakeoff promote).")],
    challenger: Annotated[Optional[str], typer.Option(
        help="split:P sends a share P of entities to the challenger (by a stable hash of the card's id); "
             "shadow scores both and answers with the champion.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    registry: Registry = None,
    log: Log = None,
    token: Annotated[Optional[str], typer.Option(
        help="Token the feedback endpoint asks for (Authorization: Bearer TOKEN); default $BAKEOFF_SERVE_TOKEN.")] = None,
    max_body: Annotated[int, typer.Option(help="Largest request body in bytes (larger: 413).", min=1024)] = 1 << 20,
):
    """Serve NAME's champion (and challenger) over HTTP: POST /v1/predict, /v1/feedback; GET /healthz, /readyz, /metrics.

    Every request is logged (time, arm, version, inputs, outputs, latency). Ctrl-C (or SIGTERM)
    finishes the requests in flight and writes the whole log before it exits.

    Example: bakeoff serve churn --challenger split:0.1
    """
    _api().serve(name, challenger=challenger, host=host, port=port, registry=registry, log=log, token=token,
                 max_body=max_body)


@app.command()
def feedback(
    name: Annotated[str, typer.Argument(help="The served model's name.")],
    labels: Annotated[Path, typer.Argument(help="CSV with a label column and request_id or an entity id column.")],
    label: Annotated[str, typer.Option(help="The column that holds the true labels.")] = "label",
    entity: Annotated[Optional[str], typer.Option(help="The id column to join on when there is no request_id column.")] = None,
    log: Log = None,
):
    """Record true labels for served predictions, joined on request_id or the entity id.

    Example: bakeoff feedback churn labels.csv --entity customerID --label Churn
    """
    count, blank = _api().feedback(name, labels, label=label, entity=entity, log=log)
    left = f"; {blank} rows with a blank id or label left out" if blank else ""
    typer.echo(f"recorded {count} labels for {name} (a key labelled before has the new label){left}")
