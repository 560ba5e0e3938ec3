"""`bakeoff serve` from start to clean exit: load the champion (and challenger), open the
prediction log, answer on uvicorn until SIGINT/SIGTERM, drain, then write the whole log."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Callable

from bakeoff.errors import ConfigError, DataError


def serve_forever(name: str, *, registry: str, log: str, challenger: str | None = None, host: str = "127.0.0.1",
                  port: int = 8000, token: str = "", max_body: int = 1 << 20,
                  say: Callable[[str], None] = None) -> None:
    """Answer on http://host:port until SIGINT or SIGTERM; `say` (default: stderr) hears what happens."""
    check_installed()
    import uvicorn

    from bakeoff.adapters.prediction_store import open_store
    from bakeoff.core.urls import redact
    from bakeoff.serving.app import Settings, create_app
    from bakeoff.serving.arms import parse_policy
    from bakeoff.serving.live import Live
    from bakeoff.serving.predlog import PredictionLog

    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    policy = parse_policy(challenger)
    check_port(host, port)
    live = Live(registry, name, with_challenger=policy.mode != "champion")
    for line in live.start():
        say(f"loaded {line}")
    predictions = PredictionLog(open_store(log, hold=True))
    live.watch()

    def stop() -> None:  # uvicorn ends the process with the signal it caught, after this
        live.close()
        predictions.close()
        say(f"stopped; {predictions.written:,} predictions logged to {redact(log)}")

    app = create_app(live, predictions, Settings(name, policy, token, max_body), on_shutdown=stop)
    gc.collect()
    gc.freeze()  # the libraries' and models' objects, never freed: no full collection walks them again (p99)
    say(f"serving {name} at http://{host}:{port} (POST /v1/predict; docs at /docs); log: {redact(log)}")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10)


def record_feedback(labels: Path, log: str, *, label: str = "label", entity: str | None = None) -> tuple[int, int]:
    """Write a labels file's rows to the labels table, joined on request_id when the file has that
    column, else on the entity id column `entity`; a key labelled before gets the new label (run
    it twice: the same labels). Ids and labels are read as written (00123 stays 00123). The rows
    recorded, and those left out for a blank id or label."""
    import datetime as dt

    from bakeoff.adapters.prediction_store import open_store
    from bakeoff.core.source import load_frame, suggest

    if "://" not in log and not Path(log.removeprefix("duckdb:///")).is_file():
        raise ConfigError(f"no prediction log at {log}: serve the model first, or pass --log with its log")
    frame = load_frame(str(labels), Path.cwd(), min_columns=2,
                       text=tuple(c for c in ("request_id", entity, label) if c)).frame
    columns = [str(c) for c in frame.columns]
    if label not in columns:
        raise DataError(f"{labels} has no column {label!r}; pass --label with the column of true labels "
                        f"({suggest(label, columns)})")
    key = "request_id" if "request_id" in columns else entity
    if not key:
        raise ConfigError(f"{labels} has no request_id column; pass --entity with the column of ids to join on")
    if key not in columns:
        raise DataError(f"{labels} has no column {key!r} (--entity); {suggest(key, columns)}")
    pairs = frame[[key, label]].astype(object).where(frame[[key, label]].notna(), None)
    kept = [(k.strip(), v.strip()) for k, v in zip(pairs[key], pairs[label])
            if isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip()]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    by = "request_id" if key == "request_id" else "entity"
    records = [(k, None, v, now) if by == "request_id" else (None, k, v, now) for k, v in kept]
    if records:
        open_store(log).replace_labels(records, by)
    return len(records), len(frame) - len(records)


def default_log(name: str) -> str:
    """Where a served name's predictions are logged unless told: ./.bakeoff/predictions-NAME.duckdb."""
    return str(Path(".bakeoff") / f"predictions-{name}.duckdb")


def registry_uri(given: str | None) -> str:
    """--registry, else $MLFLOW_TRACKING_URI, else ./.bakeoff/mlflow.db when it exists."""
    import os

    from bakeoff.core.urls import sqlalchemy_url

    uri = given or os.environ.get("MLFLOW_TRACKING_URI")
    if uri and uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise ConfigError(f"no registry at {uri} (no such file); pass the --registry that bakeoff promote printed")
    if uri:
        return sqlalchemy_url(uri)
    here = Path(".bakeoff") / "mlflow.db"
    if here.is_file():
        return f"sqlite:///{here.resolve()}"
    raise ConfigError("no registry here (./.bakeoff/mlflow.db): pass --registry with the URI bakeoff promote printed, "
                      "or set MLFLOW_TRACKING_URI")


def check_installed() -> None:
    """ConfigError naming the extra when the server's libraries are missing."""
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn", "prometheus_client", "orjson") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"bakeoff serve needs {', '.join(missing)}, which is not installed; "
                          "pip install 'bakeoff[serve]'")


def check_port(host: str, port: int) -> None:
    """ConfigError when nothing can listen on host:port (in use, or an address not of this machine)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port} ({err.strerror}); pass another --port, or stop what uses "
                          "it") from err
