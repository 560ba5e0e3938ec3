"""The live table a user watches while the bake-off runs."""

from rich.console import Console

from bakeoff.live import LiveTable
from bakeoff.run import Outcome


def render(view: LiveTable) -> str:
    console = Console(width=200, record=True)
    console.print(view.table())
    return console.export_text()


def test_errors_show_as_written_even_with_brackets():
    view = LiveTable("roc_auc")
    view.finished(Outcome("raiser", 3, "custom", "failed", "RuntimeError: boom [on purpose] in [x]"))
    view.finished(Outcome("linear", 2, "linear", "skipped", "raise [budget] total"))
    text = render(view)
    assert "boom [on purpose] in [x]" in text and "raise [budget] total" in text
