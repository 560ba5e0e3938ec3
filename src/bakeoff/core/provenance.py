"""Provenance of a run: code version, data fingerprint, environment, container, seed."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bakeoff.core.urls import redact_text

PACKAGES = ("bakeoff", "scikit-learn", "lightgbm", "optuna", "mlflow", "pandas", "numpy", "scipy",
            "pydantic")


def git_state(folder: Path) -> tuple[str | None, bool | None]:
    """The commit sha and dirty flag of the repository holding `folder`, or (None, None)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    try:
        sha = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha, dirty


def package_versions(names=PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def container_image() -> str | None:
    """The container image when running inside one (from env), 'unknown' if only detected."""
    for variable in ("BAKEOFF_CONTAINER_IMAGE", "CONTAINER_IMAGE", "IMAGE_NAME"):
        if os.environ.get(variable):
            return os.environ[variable]
    podman = Path("/run/.containerenv")  # podman writes the image's name there
    if podman.exists():
        try:
            found = re.search(r'^image="?([^"\n]+)"?', podman.read_text(), re.MULTILINE)
        except OSError:
            found = None
        return found.group(1) if found else "unknown"
    if Path("/.dockerenv").exists():
        return "unknown"  # docker does not tell a container its image; set BAKEOFF_CONTAINER_IMAGE
    return None


def collect(folder: Path, data_sha256: str, rows: int, columns: int, seed: int,
            command: list[str] | None = None) -> dict:
    sha, dirty = git_state(folder)
    return {"git_sha": sha, "git_dirty": dirty, "data_sha256": data_sha256, "rows": rows,
            "columns": columns, "python": platform.python_version(), "packages": package_versions(),
            "platform": platform.platform(), "container": container_image(), "seed": seed,
            "command": [redact_text(arg) for arg in (command if command is not None else sys.argv)]}
