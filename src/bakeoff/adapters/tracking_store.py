"""Where MLflow tracks to, and whether it can be reached: without importing mlflow (seconds),
so that a bad store is refused at once and mlflow loads while the race runs."""

from __future__ import annotations

import os
from pathlib import Path

from bakeoff.core.urls import failure, redact, sqlalchemy_url
from bakeoff.errors import TrackingError


def tracking_uri(card_uri: str, store_dir: Path) -> str:
    """MLFLOW_TRACKING_URI, else the card's, else a SQLite file in store_dir."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or card_uri
    if not uri:
        return f"sqlite:///{(store_dir / 'mlflow.db').resolve()}"
    return sqlalchemy_url(uri)


def check_store(uri: str) -> None:
    """Fail fast on a tracking store that cannot be reached (MLflow itself retries ~100 s)."""
    try:
        if uri.startswith(("http://", "https://")):
            import requests

            requests.get(uri.rstrip("/") + "/health", timeout=5).raise_for_status()
        elif "://" in uri and not uri.startswith(("file:", "sqlite:", "databricks")):
            import sqlalchemy

            engine = sqlalchemy.create_engine(uri, connect_args=_timeout_args(uri))
            try:
                with engine.connect():
                    pass
            finally:
                engine.dispose()
    except Exception as err:  # drivers raise their own types; all mean "cannot reach"
        raise TrackingError(f"cannot reach the MLflow store {redact(uri)} ({failure(err, uri)}); "
                            "fix [store] tracking_uri or "
                            "MLFLOW_TRACKING_URI, or run with --no-track") from err


def _timeout_args(uri: str) -> dict:
    return {"connect_timeout": 5} if uri.startswith(("postgresql", "mysql")) else {}
