"""The run's HTML report: the answer, the options, the trade-off, the model inside, provenance."""

from __future__ import annotations

from bakeoff.reporting.render import render_report, render_run

__all__ = ["render_report", "render_run"]
