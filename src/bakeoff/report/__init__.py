"""The run's HTML report (a plain one for now: the answer, the options, the model, provenance)."""

from __future__ import annotations

from .render import render_report

__all__ = ["render_report"]
