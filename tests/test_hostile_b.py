"""Hostile and careless input (issue 12, items 2, 3, 7 and 10, and the surprises it lists):
each case as a user meets it, with what they would notice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    BAKEOFF,
    QUICK_TELCO_CARD,
    cli,
    make_classification_frame,
    only_run,
    read_result,
    write_card,
    write_telco_sample,
)

QUICK = ("--only", "constant,linear", "--no-track")
HERE = Path(__file__).parent


def one_line_refusal(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 2 with one line on stderr, no traceback, naming each of `words`."""
    line = done.stderr.strip()
    assert done.returncode == 2, done.stderr
    assert "\n" not in line and "Traceback" not in line, line
    for word in words:
        assert word in line, line
    return line


def nothing_written(folder: Path) -> bool:
    runs = folder / "runs"
    return not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]


# -- 2. a finished race is thrown away -------------------------------------------------------------

@pytest.mark.parametrize("value", ["inf", "1e300", "nan"])
def test_business_values_that_are_not_finite_or_huge_are_refused_before_the_race(tmp_path, telco, value):
    write_telco_sample(tmp_path, telco)
    write_card(tmp_path, QUICK_TELCO_CARD + f"""
[business]
value_true_positive = {value}
cost_false_positive = 1
predictions_per_month = 1e10
""")
    done = cli("run", "bakeoff.toml", *QUICK, cwd=tmp_path)
    one_line_refusal(done, "[business] value_true_positive", "1e15")
    assert nothing_written(tmp_path)


def test_the_largest_business_values_run_and_print_their_money(tmp_path, telco):
    write_telco_sample(tmp_path, telco)
    write_card(tmp_path, QUICK_TELCO_CARD + """
[business]
value_true_positive = 1e15
cost_false_positive = 1e15
predictions_per_month = 1e15
""")
    done = cli("run", "bakeoff.toml", *QUICK, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert read_result(run)["candidates"][0]["monthly_value"] is not None
    assert "a month" in (run / "report.html").read_text()


def test_a_report_that_cannot_be_rendered_keeps_the_finished_run(tmp_path, telco, monkeypatch):
    import bakeoff.reporting

    def broken(*args, **kwargs):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(bakeoff.reporting, "render_report", broken)
    write_telco_sample(tmp_path, telco)
    write_card(tmp_path, QUICK_TELCO_CARD)
    done = cli("run", "bakeoff.toml", *QUICK, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert {c["name"] for c in read_result(run)["candidates"]} == {"constant", "linear"}
    page = (run / "report.html").read_text()
    assert "could not be rendered" in page and f"bakeoff report {run.name}" in page


def test_figures_that_are_infinite_or_missing_print_as_text():
    from bakeoff.core.units import human_bytes, human_seconds, money, readable

    assert (money(float("inf")), money(float("nan")), money(-2e300)) == ("∞", "n/a", "-2e+300")
    assert (readable(float("-inf")), human_seconds(float("inf")), human_bytes(float("nan"))) == ("-∞", "∞", "n/a")


# -- 3. a silent wrong answer ----------------------------------------------------------------------

def test_a_column_of_huge_identifiers_is_dropped_with_a_note_and_linear_still_learns(tmp_path, telco):
    data = pd.read_csv(write_telco_sample(tmp_path, telco))
    data["big_id"] = [str(10**30 + i) for i in range(len(data))]
    data.to_csv(tmp_path / "telco.csv", index=False)
    write_card(tmp_path, QUICK_TELCO_CARD)
    done = cli("run", "bakeoff.toml", *QUICK, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = read_result(only_run(tmp_path))
    linear = next(c for c in result["candidates"] if c["name"] == "linear")
    assert linear["score"] > 0.75
    assert any(n.startswith("big_id: dropped") and "1e+30" in n for n in result["notes"]), result["notes"]


# -- 7. tracebacks instead of one line -------------------------------------------------------------

def nested_parquet(folder: Path) -> Path:
    frame = make_classification_frame(300)
    frame["tags"] = [[i % 3, 1] for i in range(len(frame))]
    frame["meta"] = [{"a": i % 4, "b": "x"} for i in range(len(frame))]
    frame.to_parquet(folder / "nested.parquet")
    return folder / "nested.parquet"


def test_parquet_list_and_struct_columns_are_dropped_with_a_note(tmp_path):
    nested_parquet(tmp_path)
    done = cli("run", "nested.parquet", "--target", "label", *QUICK, "--budget", "60s", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = read_result(only_run(tmp_path))["notes"]
    for column in ("tags", "meta"):
        assert any(n.startswith(f"{column}: dropped, it holds lists or records") for n in notes), notes


def test_init_writes_a_card_for_a_parquet_file_with_list_columns(tmp_path):
    nested_parquet(tmp_path)
    done = cli("init", "nested.parquet", "--target", "label", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "bakeoff.toml").is_file()


@pytest.mark.parametrize("command", [("run", "loop.csv", "--target", "label", *QUICK),
                                     ("init", "loop.csv", "--target", "label")])
def test_a_symlink_loop_as_the_data_file_is_one_line(tmp_path, command):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "a.csv")
    one_line_refusal(cli(*command, cwd=tmp_path), "loop.csv", "symlink loop")
    assert nothing_written(tmp_path) and not (tmp_path / "bakeoff.toml").exists()


def batch_frame(n: int = 300) -> pd.DataFrame:
    """Numbers, a category, a True/False column, a repeated and an empty header name."""
    frame = make_classification_frame(n)
    frame["flag"] = np.arange(n) % 2 == 0
    frame["copy"] = frame["noise"]
    frame[""] = 1.0
    return frame


def write_batch(frame: pd.DataFrame, path: Path) -> Path:
    """As a user's CSV: the header repeats 'noise' and has an empty name."""
    frame.rename(columns={"copy": "noise"}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A run of constant and linear on batch_frame; its folder."""
    folder = tmp_path_factory.mktemp("finished")
    write_batch(batch_frame(), folder / "data.csv")
    done = cli("run", "data.csv", "--target", "label", *QUICK, "--budget", "60s", cwd=folder)
    assert done.returncode == 0, done.stderr
    return only_run(folder)


def fresh_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return {**env, "COLUMNS": "160"}


def test_predict_to_a_full_disk_is_one_line(finished_run, tmp_path):
    rows = write_batch(batch_frame().drop(columns="label").head(5), tmp_path / "new.csv")
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(BAKEOFF), "predict", str(finished_run), "linear", str(rows)], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=fresh_env(), timeout=300)
    one_line_refusal(done, "standard output", "No space left on device", "-o")


def test_report_when_report_html_is_a_folder_is_one_line(finished_run, tmp_path):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished_run), str(run)], check=True)
    (run / "report.html").unlink()
    (run / "report.html").mkdir()
    one_line_refusal(cli("report", str(run), cwd=tmp_path), "report.html", "is a folder")


def test_ctrl_c_to_the_process_group_ends_the_race_quietly(tmp_path, telco):
    write_telco_sample(tmp_path, telco)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    write_card(tmp_path, QUICK_TELCO_CARD + '[ladder]\nonly = ["constant"]\nextra = ["misbehaving:Sleeper"]\n')
    race = subprocess.Popen([str(BAKEOFF), "run", "bakeoff.toml", "--no-track"], cwd=tmp_path, env=fresh_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_line(race, "in all")  # the plan: the race starts now
        _wait_for_file(race, tmp_path / "sleeper.started")  # a worker is inside the sleeper's fit (40 s)
        os.killpg(race.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to every process of the group
        out, err = race.communicate(timeout=120)
    finally:
        if race.poll() is None:
            os.killpg(race.pid, signal.SIGKILL)
    assert race.returncode == 130, err
    for word in ("Traceback", "KeyboardInterrupt", "Process bakeoff-"):
        assert word not in err, err
    assert nothing_written(tmp_path)
    assert _group_ends(race.pid, seconds=15), "worker processes outlived the driver"


def _wait_for_line(process: subprocess.Popen, text: str) -> None:
    """Read the process's stdout until a line holds `text` (the run prints a line per step)."""
    for line in process.stdout:
        if text in line:
            return
    raise AssertionError(f"the run ended before printing {text!r}")


def _wait_for_file(process: subprocess.Popen, path: Path, seconds: float = 120) -> None:
    """Wait until `path` exists (written by a candidate as its fit begins)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{path.name} was not written: no worker reached the sleeper's fit")
        time.sleep(0.1)


def _group_ends(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


# -- 10. a number column that is entirely True ----------------------------------------------------

def test_true_in_a_number_column_reads_the_same_whatever_the_rest_of_the_batch(finished_run, tmp_path):
    new = batch_frame().drop(columns="label").head(4)
    all_true = new.assign(x1=True)
    one_true = new.assign(x1=new["x1"].astype(object))
    one_true.loc[one_true.index[0], "x1"] = True
    scored, notes = {}, {}
    for name, frame in {"all": all_true, "one": one_true}.items():
        done = cli("predict", str(finished_run), "linear", str(write_batch(frame, tmp_path / f"{name}.csv")),
                   cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        scored[name] = pd.read_csv(pd.io.common.StringIO(done.stdout))
        notes[name] = done.stderr
    assert scored["all"]["probability"][0] == pytest.approx(scored["one"]["probability"][0])
    for name in notes:
        assert "x1:" in notes[name] and "read as missing" in notes[name], notes[name]


def test_a_column_learned_from_true_and_false_reads_them_in_any_spelling(finished_run, tmp_path):
    new = batch_frame().drop(columns="label").head(4)
    spelt = new.assign(flag=["TRUE", "0", "1", "false"])  # text, as a file that mixes them is read
    scored = {}
    for name, frame in {"bool": new, "text": spelt}.items():
        done = cli("predict", str(finished_run), "linear", str(write_batch(frame, tmp_path / f"{name}.csv")),
                   cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "flag" not in done.stderr, done.stderr
        scored[name] = pd.read_csv(pd.io.common.StringIO(done.stdout))["probability"]
    assert scored["text"].tolist() == pytest.approx(scored["bool"].tolist())


# -- surprises: renamed headers, labels that differ in case, a tolerance too wide -----------------

def test_renamed_header_names_are_named_in_the_notes(finished_run):
    notes = read_result(finished_run)["notes"]
    renamed = [n for n in notes if n.startswith("columns renamed as read")]
    assert renamed and "'noise.1'" in renamed[0] and "'Unnamed: 7'" in renamed[0], notes


def test_target_labels_that_differ_only_in_case_are_refused(tmp_path):
    frame = make_classification_frame(200)
    frame.loc[frame.index[:20], "label"] = frame["label"][:20].str.capitalize()
    frame.to_csv(tmp_path / "data.csv", index=False)
    done = cli("run", "data.csv", "--target", "label", *QUICK, cwd=tmp_path)
    one_line_refusal(done, "'label'", "differ only in case")
    assert nothing_written(tmp_path)


@pytest.mark.parametrize("how", ["card", "flag"])
def test_a_tolerance_wider_than_a_different_model_is_refused(tmp_path, telco, how):
    write_telco_sample(tmp_path, telco)
    write_card(tmp_path, QUICK_TELCO_CARD.replace("folds = 3", "folds = 3\ntolerance = 5" if how == "card"
                                                  else "folds = 3"))
    extra = ("--tolerance", "5") if how == "flag" else ()
    done = cli("run", "bakeoff.toml", *QUICK, *extra, cwd=tmp_path)
    one_line_refusal(done, "tolerance", "0.1")
    assert nothing_written(tmp_path)

