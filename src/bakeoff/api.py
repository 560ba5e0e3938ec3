"""The Python API: one function for every `bakeoff` command, with the same option names.

Filled in below the core: `bake`, `plan` and `execute` race a card.
"""

from __future__ import annotations

from bakeoff.core.bake import BakeOutcome, Plan, bake, execute, plan

__all__ = ["BakeOutcome", "Plan", "bake", "execute", "plan"]
