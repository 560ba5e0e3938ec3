"""The models a server answers with: what the registry's champion and challenger aliases
point at, re-read every POLL_SECONDS; a new version is downloaded and loaded first, then swapped
in with one assignment, so no request sees a half-loaded model and none fails.

Example::

    live = Live("sqlite:///.bakeoff/mlflow.db", "churn", with_challenger=True)
    live.start()                    # loads the champion (and challenger)
    live.arms["champion"].version   # 3
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from bakeoff.errors import ConfigError
from bakeoff.serving.arms import CHALLENGER, CHAMPION

POLL_SECONDS = 2.0
logger = logging.getLogger("bakeoff.serving")


@dataclass(frozen=True)
class Arm:
    name: str  # the registered model's name
    version: int
    scorer: object  # the task's row scorer (tabular: RowScorer)
    entity: str  # the card's id column: the key of the stable split
    run_id: str


class Live:
    def __init__(self, registry: str, name: str, *, with_challenger: bool = False, poll: float = POLL_SECONDS):
        self.registry, self.name, self.poll = registry, name, poll
        self.aliases = (CHAMPION, CHALLENGER) if with_challenger else (CHAMPION,)
        self.arms: dict[str, Arm] = {}
        self._folder = tempfile.TemporaryDirectory(prefix="bakeoff-serve-")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return all(alias in self.arms for alias in self.aliases)

    def start(self) -> list[str]:
        """Load every alias: as this machine last knew them (`serving.cache`: no MLflow import,
        the watcher checks the registry at once), else from the registry; the lines said."""
        from bakeoff.serving import cache

        kept = {alias: cache.recall(self.registry, self.name, alias) for alias in self.aliases}
        if not all(kept.values()):
            return self.refresh()
        self.arms = {alias: self._load(alias, version, folder) for alias, (version, folder) in kept.items()}
        return [f"{alias}: {self.name} version {version.number} ({version.tags.get('bakeoff.candidate', '')}; as "
                "last served here, checking the registry)" for alias, (version, _) in kept.items()]

    def refresh(self) -> list[str]:
        """Load what each alias points at when it changed; the lines that say what changed."""
        from bakeoff.adapters import registry

        said = []
        for alias in self.aliases:
            version = registry.current(self.registry, self.name, alias)
            if version is None:
                if alias not in self.arms:
                    raise ConfigError(f"model {self.name!r} has no {alias} in the registry {self.registry}; run "
                                      f"bakeoff promote RUN_ID CANDIDATE --name {self.name} --as {alias}")
                continue
            held = self.arms.get(alias)
            if held is not None and (held.version, held.run_id) == (version.number, version.run_id):
                continue
            arm = self._load(alias, version)
            self.arms = {**self.arms, alias: arm}  # one assignment: a request sees the old or the new
            said.append(f"{alias}: {self.name} version {version.number} ({version.tags.get('bakeoff.candidate', '')})")
        return said

    def _load(self, alias: str, version, folder: Path | None = None) -> Arm:
        """The arm of `version`, from its cached `folder` or downloaded (and then kept in the cache)."""
        from bakeoff.serving import cache
        from bakeoff.tasks import task_for

        task = task_for(version.tags.get("bakeoff.task", "classification"))
        if task.serving is None:
            raise ConfigError(f"{self.name} version {version.number} is a {task.name} model, which bakeoff "
                              "does not serve yet")
        if folder is None:
            from bakeoff.adapters import registry

            downloaded = registry.download(self.registry, version, Path(self._folder.name) / f"v{version.number}")
            folder = cache.remember(self.registry, version, alias, downloaded)
        scorer = import_module(task.serving).load(folder, json.loads(version.tags.get("bakeoff.serving") or "{}"))
        return Arm(self.name, version.number, scorer, version.tags.get("bakeoff.entity", ""), version.run_id)

    def watch(self) -> None:
        """Re-read the aliases every `poll` seconds in a thread, until `close`."""
        self._thread = threading.Thread(target=self._loop, name="registry-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:  # at once (a start from the cache is checked now), then every `poll` seconds
            try:
                for line in self.refresh():
                    logger.warning("now serving %s", line)
            except Exception:  # the registry is unreachable for a moment: keep serving what is loaded
                logger.exception("could not re-read the registry; serving the loaded models")
            if self._stop.wait(self.poll):
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._folder.cleanup()
