"""Candidates by name: the built-in ladder, entry points, and classes named in the card.

A candidate built on an optional library names its import in `needs_import` (and how to get
it in `install_with`); where that library is missing it is left out of the race, and a card
whose `[ladder] only` names it is refused with the install command.

>>> {"constant", "linear", "seasonal_naive"} <= set(builtin())
True
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from pathlib import Path

from bakeoff.core.candidate import Candidate
from bakeoff.errors import CandidateError

ENTRY_POINT_GROUP = "bakeoff.candidates"


def builtin() -> dict[str, type[Candidate]]:
    """The built-in candidates of every task family."""
    from bakeoff.tasks import TASKS, task_for

    classes: dict[str, type[Candidate]] = {}
    for kind in TASKS:
        for name, cls in task_for(kind).ladder().items():
            if classes.setdefault(name, cls) is not cls:  # a name is a candidate's in every command and file
                raise RuntimeError(f"two built-in candidates are called {name!r}: {classes[name]} and {cls}")
    return classes


def load_class(spec: str, search_dir: Path | None = None) -> type[Candidate]:
    """Import "module:Class" (the card's folder is searched first) and check it is a Candidate."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise CandidateError(f"[ladder] extra {spec!r} must look like \"my_module:MyCandidate\"")
    if search_dir is not None and str(search_dir) not in sys.path:
        sys.path.insert(0, str(search_dir))
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except Exception as err:  # importing user code can raise anything; all of it is this spec's fault
        raise CandidateError(f"cannot load candidate {spec!r} ({type(err).__name__}: {err}); check the module "
                             "is importable from the card's folder and the class name") from err
    return check_class(cls, spec)


def check_class(cls, label: str | None = None) -> type[Candidate]:
    """`cls` if it is a Candidate class with a name, rung and family; else CandidateError."""
    label = label or getattr(cls, "__qualname__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, Candidate)):
        raise CandidateError(f"{label!r} is not a subclass of bakeoff.Candidate; subclass it and set "
                             "name, rung and family")
    missing = [attr for attr in ("name", "rung", "family") if not hasattr(cls, attr)]
    if missing:
        raise CandidateError(f"candidate class {label!r} does not set {', '.join(missing)}; add e.g. "
                             "name, rung, family = \"median\", 0, \"baseline\" to the class")
    return cls


def _entry_points() -> dict[str, type[Candidate]]:
    from importlib.metadata import entry_points

    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = load_class(ep.value)
        found[cls.name] = cls
    return found


def available(extra: list[str] = (), search_dir: Path | None = None,
              ladder: dict[str, type[Candidate]] | None = None,
              classes_given: list[type[Candidate]] = ()) -> dict[str, type[Candidate]]:
    """Every candidate class by name (of `ladder`, default every task's built-ins), entry
    points, `extra` specs and `classes_given`; a duplicate name is an error."""
    classes = dict(builtin() if ladder is None else ladder)
    for cls in [*_entry_points().values(), *(load_class(s, search_dir) for s in extra), *classes_given]:
        if cls.name in classes and classes[cls.name] is not cls:
            raise CandidateError(f"two candidates are called {cls.name!r}; give {cls.__qualname__} "
                                 "another name")
        classes[cls.name] = cls
    return classes


def missing_library(cls: type[Candidate]) -> str | None:
    """Why `cls` cannot run here, e.g. "xgboost is not installed: pip install
    'bakeoff[xgboost]'"; None when it names no optional library or that library is installed."""
    library = getattr(cls, "needs_import", None)
    if not library or importlib.util.find_spec(library) is not None:
        return None
    return f"{library} is not installed: {getattr(cls, 'install_with', f'pip install {library}')}"


def select(classes: dict[str, type[Candidate]], task: str, only: list[str] = (),
           skip: list[str] = (), extra_names: list[str] = ()) -> list[type[Candidate]]:
    """The candidates to race for a task, simplest first; those whose optional library is
    missing are left out (named in `only`, they are an error that says how to install it)."""
    for name in [*only, *skip]:
        if name not in classes:
            close = difflib.get_close_matches(name, list(classes), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see `bakeoff candidates`"
            raise CandidateError(f"unknown candidate {name!r} in [ladder]; {hint}")
    for name in [*only, *extra_names]:
        if missing_library(classes[name]):
            raise CandidateError(f"[ladder] names {name!r}, but {missing_library(classes[name])}")
    chosen = [c for n, c in classes.items() if (not only or n in only or n in extra_names)
              and n not in skip and task in c.tasks and not missing_library(c)]
    if not chosen:
        raise CandidateError(f"no candidate is left for {task} after [ladder] only/skip; "
                             "loosen them")
    return sorted(chosen, key=lambda c: c.rung)
