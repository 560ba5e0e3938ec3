"""The registered models this machine has loaded, kept on disk (under $BAKEOFF_CACHE, default
~/.cache/bakeoff/models, one folder per registry and name): a server starts from the version
each alias last pointed at without importing MLflow (about 2.5 s of its start), and its registry
watcher catches up within seconds, as it does with any promotion. `promote` fills it.

Example::

    remember(registry, version, "champion", downloaded_folder)
    recall(registry, "churn", "champion")   # (Version, its model folder) or None
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from bakeoff.adapters.registry import Version
from bakeoff.core.runstore import write_atomic


def root() -> Path:
    return Path(os.environ.get("BAKEOFF_CACHE") or Path.home() / ".cache" / "bakeoff") / "models"


def _folder(registry: str, name: str) -> Path:
    return root() / hashlib.sha256(registry.encode()).hexdigest()[:16] / name


def remember(registry: str, version: Version, alias: str, model_dir: Path) -> Path:
    """Keep a copy of `model_dir` as `version`'s and note that `alias` points at it; the copy."""
    folder = _folder(registry, version.name)
    kept = folder / f"v{version.number}-{version.run_id}"
    if not kept.is_dir():
        staging = folder / f".{kept.name}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(model_dir, staging)
        try:
            staging.rename(kept)
        except OSError:  # another process kept it first
            shutil.rmtree(staging, ignore_errors=True)
    write_atomic(folder / f"{alias}.json", json.dumps({**asdict(version), "folder": kept.name}))
    return kept


def recall(registry: str, name: str, alias: str) -> tuple[Version, Path] | None:
    """The version `alias` last pointed at here and its model folder, or None."""
    folder = _folder(registry, name)
    try:
        noted = json.loads((folder / f"{alias}.json").read_text())
        kept = folder / noted.pop("folder")
        return (Version(**noted), kept) if kept.is_dir() else None
    except (OSError, ValueError, TypeError):
        return None
