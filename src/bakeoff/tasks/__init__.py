"""Task families by the card's `[problem] task` value, imported on first use.

>>> sorted(kinds())
['classification', 'customer', 'forecast', 'regression']
>>> task_for("regression").name
'tabular'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bakeoff.core.task import Task

TASKS = {  # card value -> "module:object" implementing bakeoff.core.task.Task
    "classification": "bakeoff.tasks.tabular:TABULAR",
    "regression": "bakeoff.tasks.tabular:TABULAR",
    "forecast": "bakeoff.tasks.forecast:FORECAST",
    "customer": "bakeoff.tasks.customer:CUSTOMER",
}


def kinds() -> tuple[str, ...]:
    return tuple(TASKS)


def task_for(kind: str) -> "Task":
    """The task family serving `kind`; ValueError names the supported ones."""
    if kind not in TASKS:
        raise ValueError(f"task {kind!r} is not supported yet; use {' or '.join(TASKS)}")
    module, _, name = TASKS[kind].partition(":")
    return getattr(import_module(module), name)
