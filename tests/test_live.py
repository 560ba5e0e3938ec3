"""The live table a user watches while the bake-off runs."""

from rich.console import Console

from bakeoff.cli.live import LiveTable
from bakeoff.core.race import Outcome


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


def test_a_log_that_is_no_terminal_gets_one_line_per_start_and_finish():
    class Rung2:
        name, rung = "linear", 2

    log = Console(width=200, record=True, force_terminal=False)
    view = LiveTable("roc_auc", log=log)
    view.started(Rung2, 40.0)
    view.finished(Outcome("linear", 2, "linear", "failed", "RuntimeError: boom [on purpose]"))
    lines = log.export_text().strip().splitlines()
    assert lines[0] == "started  linear (rung 2, up to 40 s)"
    assert lines[1].startswith("finished linear: failed") and len(lines) == 2
