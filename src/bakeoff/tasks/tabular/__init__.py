"""The tabular task: classification and regression on one table of rows (`TABULAR`)."""

from bakeoff.tasks.tabular.task import TABULAR

__all__ = ["TABULAR"]
