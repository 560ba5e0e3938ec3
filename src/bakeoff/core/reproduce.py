"""A finished run done again from what it recorded (its card, seed, data fingerprint and
environment), and what differs: each candidate's score, the data, the packages.

The comparison is pure functions of the two runs' recorded values; `rerun` is the one step that
races again. The new run is an ordinary run folder beside the old one.

>>> old = {"python": "3.12.1", "packages": {"numpy": "2.1.0", "pandas": "2.2.3"}}
>>> [str(c) for c in version_changes(old, {"python": "3.12.1", "packages": {"numpy": "2.2.0"}})]
['numpy 2.1.0 -> 2.2.0', 'pandas 2.2.3 -> (not installed)']
>>> [(c.name, c.same) for c in score_changes([{"name": "linear", "status": "ok", "score": 0.8}],
...                                          [{"name": "linear", "status": "ok", "score": 0.8}])]
[('linear', True)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.core.runstore import read_card, read_result
from bakeoff.errors import ConfigError

SAME = 1e-9  # scores this close are the same score: one seed, one data, one environment
SHORT = 12  # hex digits of a fingerprint shown
ENVIRONMENT = ("python", "platform", "container")  # recorded beside the packages
MISSING = "(not installed)"


@dataclass(frozen=True)
class ScoreChange:
    """One candidate's score (and status) in the old run and the new."""

    name: str
    old: float | None
    new: float | None
    old_status: str | None = None  # None: the candidate was not in that run
    new_status: str | None = None

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def same(self) -> bool:
        if self.old_status != self.new_status:
            return False
        if self.old is None or self.new is None:
            return self.old is None and self.new is None
        return math.isclose(self.old, self.new, rel_tol=0.0, abs_tol=SAME)


@dataclass(frozen=True)
class DataChange:
    """The data read now is not the data the run read: `source` as the card names it."""

    source: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.source}: sha256 {short(self.old)} -> {short(self.new)}"


@dataclass(frozen=True)
class VersionChange:
    """A package (or python, the platform, the container image) recorded one way, found another."""

    name: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        return f"{self.name} {self.old or MISSING} -> {self.new or MISSING}"


@dataclass(frozen=True)
class Reproduction:
    """A run done again: the old and new scores side by side, and what differs around them."""

    run_id: str
    new_run_id: str
    new_run_dir: Path
    metric: str
    seed: int | None
    scores: list[ScoreChange]
    data: DataChange | None = None
    environment: list[VersionChange] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # other recorded inputs that differ, in words
    recommended: tuple[str | None, str | None] = (None, None)  # old, new

    @property
    def reproduced(self) -> bool:
        """Every candidate has the score (and status) it had, within `SAME`."""
        return all(change.same for change in self.scores)

    @property
    def differing(self) -> list[ScoreChange]:
        return [change for change in self.scores if not change.same]

    def summary(self) -> str:
        """The verdict in one line."""
        if self.reproduced:
            basis = "though the data changed" if self.data else f"same data, seed {self.seed}"
            return (f"reproduced: every candidate's {self.metric} matches run {self.run_id} within "
                    f"{SAME:g} ({basis})")
        return (f"not reproduced: {self.metric} differs for "
                f"{', '.join(map(describe_change, self.differing))}; {self.cause()}")

    def cause(self) -> str:
        """What may explain scores that differ, from what the runs recorded."""
        found = {"the data changed": self.data, "the environment differs": self.environment,
                 "other inputs differ": self.others}
        causes = [what for what, differs in found.items() if differs]
        if causes:
            return " and ".join(causes) + " since the run"
        return ("same data, seed and environment: a candidate whose tuning the budget cut short, "
                "or whose fold models were fitted on a sample, can score differently; see the "
                "run's notes")


def short(digest: str | None) -> str:
    """A fingerprint shortened for reading.

    >>> short("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    '9f86d081884c'
    """
    return (digest or "(none)")[:SHORT]


def describe_change(change: ScoreChange) -> str:
    """A candidate's change in a few words.

    >>> describe_change(ScoreChange("linear", 0.81, 0.8, "ok", "ok"))
    'linear (-0.01)'
    >>> describe_change(ScoreChange("lightgbm", 0.9, None, "ok", "timeout"))
    'lightgbm (ok -> timeout)'
    """
    if change.old_status != change.new_status:
        return f"{change.name} ({change.old_status or 'absent'} -> {change.new_status or 'absent'})"
    return f"{change.name} ({change.delta:+.4g})" if change.delta is not None else change.name


def score_changes(old: list[dict], new: list[dict]) -> list[ScoreChange]:
    """Each candidate of either run (result.json rows), old and new side by side, in the old
    run's order; candidates only the new run has come last."""
    before, after = {r["name"]: r for r in old}, {r["name"]: r for r in new}
    names = [*before, *(name for name in after if name not in before)]
    return [ScoreChange(name, _score(before.get(name)), _score(after.get(name)),
                        _status(before.get(name)), _status(after.get(name))) for name in names]


def _status(row: dict | None) -> str | None:
    return None if row is None else row.get("status")


def _score(row: dict | None) -> float | None:
    score = (row or {}).get("score")
    return float(score) if isinstance(score, (int, float)) else None


def data_change(source: str, old: str | None, new: str | None) -> DataChange | None:
    """The data's change, or None when its fingerprint is the one recorded.

    >>> print(data_change("data.csv", "ab" * 32, "cd" * 32))
    data.csv: sha256 abababababab -> cdcdcdcdcdcd
    >>> data_change("data.csv", "ab" * 32, "ab" * 32) is None
    True
    """
    return None if old == new else DataChange(source, old or "", new or "")


def version_changes(old: dict, new: dict) -> list[VersionChange]:
    """Python, each recorded package, the platform and the container image, where the two
    provenance records differ (a package one of them lacks is `MISSING` there)."""
    before, after = old.get("packages") or {}, new.get("packages") or {}
    names = [*before, *(name for name in after if name not in before)]
    changes = [VersionChange("python", old.get("python"), new.get("python"))]
    changes += [VersionChange(name, before.get(name), after.get(name)) for name in names]
    changes += [VersionChange(key, old.get(key), new.get(key)) for key in ENVIRONMENT[1:]]
    return [change for change in changes if change.old != change.new]


def other_changes(old: dict, new: dict) -> list[str]:
    """Recorded inputs besides data and packages that differ: the seed, the git commit of the
    card's folder, the expert verdicts whose rows are kept out of training."""
    def both(read) -> tuple:
        return read(old), read(new)

    pairs = {"seed": both(lambda r: r["provenance"].get("seed")),
             "git commit of the card's folder": both(lambda r: r["provenance"].get("git_sha")),
             "expert verdicts (their rows are kept out of training)":
                 both(lambda r: (r.get("expectations") or {}).get("total", 0))}
    return [f"{what} {_word(a)} -> {_word(b)}" for what, (a, b) in pairs.items() if a != b]


def _word(value) -> str:
    return "(none)" if value is None else short(value) if isinstance(value, str) else str(value)


def source_name(source) -> str:
    """The card's [data] source in a few words: a path as the card gives it, a query's database."""
    from bakeoff.core.urls import redact

    if isinstance(source, str):
        return source
    if hasattr(source, "url"):
        return f"the query on {redact(source.url)}"
    return f"the Spark table {source.spark_table}"


def recorded(run_dir: Path) -> dict:
    """A run's result.json, refused (ConfigError) when it has no provenance to re-run from."""
    result = read_result(run_dir)
    provenance = result.get("provenance")
    if not (isinstance(provenance, dict) and provenance.get("data_sha256")):
        raise ConfigError(f"run {run_dir.name} records no provenance (no data fingerprint in its "
                          "result.json), so it cannot be reproduced; run its card again")
    return result


def compare(old: dict, new: dict, new_run_dir: Path, source: str) -> Reproduction:
    """Two runs' result.json records side by side."""
    before, after = old["provenance"], new["provenance"]
    return Reproduction(
        old["run_id"], new["run_id"], new_run_dir, old["metric"], before.get("seed"),
        score_changes(old["candidates"], new["candidates"]),
        data_change(source, before.get("data_sha256"), after.get("data_sha256")),
        version_changes(before, after), other_changes(old, new),
        (old.get("recommended"), new.get("recommended")))


def rerun(run_dir: Path, *, out: Path | None = None, track: bool = True) -> Reproduction:
    """Run the card `run_dir` recorded again, as `bakeoff run` would (same card, seed and data
    source), into a new run folder under `out` (default: beside the old one), and compare."""
    from bakeoff.core.bake import bake

    old = recorded(run_dir)
    card = read_card(run_dir)
    if out is None:
        out = run_dir.parent.parent if run_dir.parent.name == "runs" else card.base_dir
    outcome = bake(card, out=out, track=track)
    return compare(old, outcome.result.to_dict(), outcome.run_dir.resolve(),
                   source_name(card.data.source))
