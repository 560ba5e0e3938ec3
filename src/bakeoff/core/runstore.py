"""The run folder, read and written in one place.

A run lives in `<out>/runs/<run_id>/`: `result.json` (the typed result, serialised), `report.html`,
`card.json` and whatever files its task keeps beside them (fitted models, the report's figures,
the rows experts review). A folder is built beside its final place and moved there in one step,
so a reader sees a whole run or none.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as out:
...     folder = write_run_folder(Path(out) / "runs" / "r1", {"result.json": "{}", "models/a.bin": b"x"})
...     sorted(p.name for p in folder.rglob("*"))
['a.bin', 'models', 'result.json']
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path

from bakeoff.errors import ConfigError

RESULT = "result.json"
HASHED_SINCE = 3  # result.json schema_version from which it records each model file's sha256


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def check_runs_folder(out: Path) -> None:
    """Refuse now (ConfigError) an `out` under which runs/ cannot be written, without making
    anything: a run stopped before its end (Ctrl-C, an error) leaves no empty folder."""
    runs = out / "runs"
    nearest = next(p for p in (runs, *runs.parents) if p.exists() or p == Path(p.anchor))
    if nearest.is_dir() and os.access(nearest, os.W_OK | os.X_OK):
        return
    problem = "not a folder" if nearest.exists() and not nearest.is_dir() else "not writable"
    raise ConfigError(f"cannot write runs under {out} ({nearest} is {problem}); pass --out with a folder "
                      "you can write to")


def store_dir(card) -> Path:
    """Where a card's local stores live (MLflow's SQLite file, expert feedback): .bakeoff/ beside it."""
    return card.base_dir / ".bakeoff"


def write_atomic(path: Path, content: bytes | str) -> None:
    """Write a file so that readers see the old content or the new, never half of it. What is
    there already must be a file: a device, a pipe or a folder is never replaced."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path} exists and is not a file (a folder, device or pipe); write to a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(content.encode() if isinstance(content, str) else content)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename; a failed write leaves nothing behind


def write_run_folder(run_dir: Path, files: dict[str, bytes | str]) -> Path:
    """Write `files` (relative path -> content) as the folder `run_dir`, all or nothing."""
    staging = run_dir.with_name(f".{run_dir.name}.partial")
    try:
        for name, content in files.items():
            write_atomic(staging / name, content)
        os.replace(staging, run_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return run_dir


def find_run(run_id: str, runs: Path = Path(".")) -> Path:
    """The run folder for an id (under runs/) or a folder path given directly."""
    for folder in (Path(run_id), runs / "runs" / run_id, runs / run_id):
        if (folder / RESULT).is_file():
            return folder
    raise ConfigError(f"run {run_id!r} not found under {runs / 'runs'}; pass --runs FOLDER "
                      "(the folder that holds runs/) or the run folder itself")


def read_json(run_dir: Path, name: str):
    """One JSON file of a run folder; an unreadable one is a ConfigError naming the fix."""
    try:
        return json.loads((run_dir / name).read_text())
    except (ValueError, OSError) as err:
        raise ConfigError(f"{run_dir / name} cannot be read ({type(err).__name__}); the run folder "
                          "is damaged: run the card again") from err


def read_result(run_dir: Path) -> dict:
    """A run folder's result.json as a dict, with the shape every reader relies on (a list of
    candidates, each a dict with a name); a damaged one is a ConfigError naming the fix."""
    result = read_json(run_dir, RESULT)
    candidates = result.get("candidates") if isinstance(result, dict) else None
    if not (isinstance(candidates, list) and all(isinstance(c, dict) and isinstance(c.get("name"), str)
                                                 for c in candidates)):
        raise ConfigError(f"{run_dir / RESULT} is not a bake-off result (its candidates are missing or "
                          "damaged); the run folder is damaged: run the card again")
    return result


def read_card(run_dir: Path):
    """The problem card a run was made with, its paths resolving from the card's folder."""
    from bakeoff.core.card import Card

    try:
        card = Card.model_validate_json((run_dir / "card.json").read_text())
    except (ValueError, OSError) as err:
        raise ConfigError(f"{run_dir / 'card.json'} cannot be read ({type(err).__name__}); the run folder "
                          "is damaged: run the card again") from err
    return card.with_base_dir(Path(read_result(run_dir)["card_dir"]))


def model_file(name: str, *, holdout: bool = False) -> str:
    """A candidate's model file in a run folder: `models/<name>.pkl`, the one users get, or
    `models/<name>.train.pkl`, the one that scored the holdout (when the first refit on all rows)."""
    return f"models/{name}.train.pkl" if holdout else f"models/{name}.pkl"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_model_file(run_dir: Path, name: str, result: dict) -> bytes:
    """The bytes of candidate `name`'s model file, once they match the sha256 result.json
    records for it: loading a model file runs code, so a file changed or put there since the
    run is refused before it is read as a model. Runs from before the sha256 was recorded
    load as they are.

    >>> import tempfile
    >>> run = write_run_folder(Path(tempfile.mkdtemp()) / "r1", {"models/a.pkl": b"model"})
    >>> read_model_file(run, "a", {"schema_version": 3, "candidates": [{"name": "a", "model_sha256": sha256(b"model")}]})
    b'model'
    >>> try:
    ...     read_model_file(run, "a", {"schema_version": 3, "candidates": [{"name": "a", "model_sha256": "0f"}]})
    ... except ConfigError as err:
    ...     print(str(err).split(" (loading")[0].split("/")[-1])
    a.pkl does not match the sha256 recorded in its run's result.json, so it was changed or replaced after the run; bakeoff will not load it
    >>> shutil.rmtree(run.parent)
    """
    path = run_dir / model_file(name)
    try:
        content = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path} cannot be read ({err.strerror}); the run folder is damaged: "
                          "run the card again") from err
    row = next((r for r in result.get("candidates", []) if r.get("name") == name), {})
    if result.get("schema_version", 1) < HASHED_SINCE and not row.get("model_sha256"):
        return content
    if row.get("model_sha256") != sha256(content):
        raise ConfigError(f"{path} does not match the sha256 recorded in its run's result.json, so it "
                          "was changed or replaced after the run; bakeoff will not load it (loading a "
                          "model runs code): restore the file, or run the card again")
    return content


def load_model(run_dir: Path, name: str | None, result: dict, *, what: str = "model", others: str = ""):
    """Candidate `name`'s model users get, checked (`read_model_file`) and loaded; a candidate
    with none (unknown, or it did not finish) is a ConfigError naming those that have one.
    `what` names the model in that message; `others` is what else may be asked for."""
    import pickle

    have = sorted(p.stem for p in (run_dir / "models").glob("*.pkl") if not p.stem.endswith(".train"))
    if name is None or name not in have:
        row = next((r for r in result.get("candidates", []) if r["name"] == name), None)
        status = f" ({row['status']})" if row else ""
        raise ConfigError(f"run {run_dir.name} has no {what} from {name!r}{status}; use {others}one of "
                          f"{', '.join(have) or '(none finished)'}")
    return pickle.loads(read_model_file(run_dir, name, result))
