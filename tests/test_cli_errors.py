"""Every mistake a user can make: one line naming the problem and the fix, exit 2,
no traceback, and nothing written."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli, make_classification_frame, run_cli, write_card

HERE = Path(__file__).parent

CARD = """
[data]
source = "data.csv"
target = "label"
{data_extra}
[evaluate]
folds = 3
{evaluate_extra}
[budget]
total = "{total}"
per_candidate = "{per_candidate}"
{extra}
"""


def card(data_extra="", evaluate_extra="", total="60s", per_candidate="10s", extra="") -> str:
    return CARD.format(data_extra=data_extra, evaluate_extra=evaluate_extra, total=total,
                       per_candidate=per_candidate, extra=extra)


def good_data() -> pd.DataFrame:
    return make_classification_frame(120)


def unchanged(frame):
    return frame


def constant_target(frame):
    return frame.assign(label="yes")


def copied_target(frame):
    return frame.assign(leak=frame["label"])


def copied_target_with_blanks(frame):
    leak = frame["label"].copy()
    leak.iloc[[3, 40]] = None
    return frame.assign(leak=leak)


def relabelled_target(frame):
    return frame.assign(status=frame["label"].map({"yes": "Churned", "no": "Stayed"}))


def rare_class(frame):
    frame = frame.copy()
    frame.loc[:1, "label"] = "maybe"  # two rows of a third class, fewer than 3 folds need
    return frame


def empty_target(frame):
    return frame.assign(label=" ")


def five_rows(frame):
    return frame.head(5)


CASES = {
    "missing data file": (card().replace("data.csv", "nope.csv"), unchanged, "data file", "nope.csv not found"),
    "unknown card key": (card(extra="[ladder]\nskipp = ['mlp']"), unchanged, "unknown key 'skipp' in [ladder]", "skip"),
    "missing target": (card().replace('target = "label"', 'target = "lable"'), unchanged,
                       "[data] target column 'lable' is not in the data", "did you mean 'label'"),
    "constant target": (card(), constant_target, "target 'label' has a single value", "choose another"),
    "too few rows per fold": (card(), rare_class, "class 'maybe' has only", "folds"),
    "feature copies target": (card(), copied_target, "feature 'leak' is a copy of the target", "drop = ['leak']"),
    "copy with blanks": (card(), copied_target_with_blanks, "feature 'leak' is a copy of the target", "drop"),
    "feature relabels target": (card(), relabelled_target, "feature 'status' is a copy of the target", "drop"),
    "unknown metric": (card(evaluate_extra='metric = "acc"'), unchanged, "unknown metric 'acc'", "accuracy"),
    "metric for other task": (card(evaluate_extra='metric = "mae"'), unchanged, "'mae' is for regression", "roc_auc"),
    "budget in words": (card(total="5 minutes"), unchanged, "[budget] total: got '5 minutes'", '"5m"'),
    "negative budget": (card(per_candidate="-1s"), unchanged, "[budget] per_candidate: got '-1s'", "more than zero"),
    "unknown candidate": (card(extra="[ladder]\nonly = ['tabpfn']"), unchanged, "unknown candidate 'tabpfn'", "see `bakeoff candidates`"),
    "misspelt candidate": (card(extra="[ladder]\nskip = ['lightgmb']"), unchanged, "unknown candidate 'lightgmb'", "did you mean 'lightgbm'"),
    "bad extra class": (card(extra="[ladder]\nextra = ['no_such_module:Thing']"), unchanged, "cannot load candidate", "importable"),
    "extra class without a name": (card(extra="[ladder]\nextra = ['misbehaving:NoName']"), unchanged,
                                   "'misbehaving:NoName' does not set name", "name, rung, family ="),
    "extra module that crashes on import": (card(extra="[ladder]\nextra = ['broken:Thing']"), unchanged,
                                            "cannot load candidate 'broken:Thing' (RuntimeError: cannot start", "importable"),
    "negative seed": (card(evaluate_extra="seed = -1"), unchanged, "[evaluate] seed: got -1", "it must be at least 0"),
    "one fold": (card().replace("folds = 3", "folds = 1"), unchanged, "[evaluate] folds: got 1", "at least 2"),
    "target dropped": (card(data_extra='drop = ["label"]'), unchanged, "[data] drop names the target 'label'",
                       "drop only feature columns"),
    "only and skip overlap": (card(extra="[ladder]\nonly = ['linear']\nskip = ['linear']"), unchanged,
                              "[ladder] only and skip both name 'linear'", "keep it in one"),
    "business without values": (card(extra="[business]\npredictions_per_month = 1000"), unchanged,
                                "[business] gives no value or cost", "value_true_positive"),
    "negative money": (card(extra="[business]\nvalue_true_positive = -5"), unchanged,
                       "[business] value_true_positive: got -5", "at least 0"),
    "data is a folder": (card().replace('"data.csv"', '"."'), unchanged, "is a folder", "CSV or Parquet file"),
    "target empty in every row": (card(), empty_target, "target 'label' is empty in every row", "choose another"),
    "fewer rows than folds": (card().replace('target = "label"', 'target = "x1"') .replace(
        "[evaluate]", '[problem]\ntask = "regression"\n[evaluate]'), five_rows,
        "only 4 training row(s) for 3 folds", "folds lower"),
    "several id columns on a table": (card(data_extra='id = ["x1", "colour"]'), unchanged,
                                     "[data] id is a list (x1, colour)", "takes one row key column"),
    "time column not a date": (card(data_extra='time = "colour"'), unchanged,
                               "[data] time column 'colour' is not a date or a number", "leave time empty"),
}


def assert_clean_refusal(result, folder, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr and result.stdout.strip() == ""
    assert not (folder / "runs").exists() and not (folder / ".bakeoff").exists()


@pytest.mark.parametrize("name", CASES)
def test_bad_card_or_data_is_refused_cleanly(name, tmp_path):
    text, make_data, *fragments = CASES[name]
    make_data(good_data()).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    (tmp_path / "broken.py").write_text("raise RuntimeError('cannot start')\n")
    result = cli("run", str(write_card(tmp_path, text)), cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, *fragments)


@pytest.mark.parametrize("content, fragment", [
    (b"", "no data rows"),
    (b"label,x1\n", "no data rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe\x00", "cannot read data.csv"),
])
def test_empty_or_unreadable_csv(tmp_path, content, fragment):
    (tmp_path / "data.csv").write_bytes(content)
    result = cli("run", str(write_card(tmp_path, card())), cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, fragment)


def test_missing_card_file_points_to_init(tmp_path):
    result = cli("run", "nothere.toml", cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, "nothere.toml not found", "bakeoff init")


def test_quick_start_needs_a_target(tmp_path):
    good_data().to_csv(tmp_path / "data.csv", index=False)
    result = cli("run", "data.csv", cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, "--target")


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "run", "nothere.toml", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr and "ConfigError" in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["rn"], "No such command 'rn'"),
    (["run"], "Missing argument 'source'"),
    (["run", "x.csv", "--budgt", "5s"], "No such option: --budgt"),
    (["candidates", "--bogus"], "No such option: --bogus"),
    (["review", "x", "--port", "abc"], "Invalid value for '--port'"),
    (["review", "x", "--rows", "-3"], "Invalid value for '--rows'"),
    (["run", "x.csv", "--task", "forecastt"], "Invalid value for '--task'"),
])
def test_command_line_mistakes_are_one_line_naming_the_help(tmp_path, args, fragment):
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert f"see 'bakeoff {args[0] if args[0] != 'rn' else ''}".rstrip() in lines[0]


def test_no_arguments_shows_the_help(tmp_path):
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2 and "Usage: bakeoff" in result.stderr + result.stdout


def test_a_regression_target_copied_with_blanks_is_refused(tmp_path):
    frame = good_data().assign(spend=np.arange(120.0) * 3.5 + 1)
    frame["spend_again"] = frame["spend"] * 100
    frame.loc[[5, 60], "spend_again"] = np.nan
    frame.to_csv(tmp_path / "data.csv", index=False)
    text = card().replace('target = "label"', 'target = "spend"')
    path = write_card(tmp_path, "[problem]\ntask = \"regression\"\n" + text)
    result = cli("run", str(path), cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, "feature 'spend_again' is a copy of the target 'spend'", "drop")


def test_mape_refuses_a_target_with_zeros(tmp_path):
    frame = good_data().assign(spend=[0.0] * 10 + list(range(1, 111)))
    frame.to_csv(tmp_path / "data.csv", index=False)
    text = card(evaluate_extra='metric = "mape"').replace('target = "label"', 'target = "spend"')
    path = write_card(tmp_path, "[problem]\ntask = \"regression\"\n" + text)
    result = cli("run", str(path), cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, "mape divides by the target, which is 0 in", "use mae or rmse")


def test_version():
    result = run_cli("--version", cwd=HERE)
    assert result.returncode == 0 and result.stdout.startswith("bakeoff 0.")


def test_an_unwritable_out_folder_is_refused_before_the_race(tmp_path):
    good_data().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "taken").write_text("a file, not a folder")
    result = cli("run", str(write_card(tmp_path, card())), "--out", "taken", cwd=tmp_path)
    assert_clean_refusal(result, tmp_path, "cannot write runs under taken", "--out")


def test_a_run_where_no_candidate_finishes_exits_1_and_keeps_the_reasons(tmp_path):
    good_data().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    text = card(extra="[ladder]\nextra = ['misbehaving:Raiser']\nonly = ['raiser']")
    result = cli("run", str(write_card(tmp_path, text)), "--no-track", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    saved = json.loads((runs[0] / "result.json").read_text())
    assert saved["recommended"] is None and saved["best"] is None
    row = saved["candidates"][0]
    assert row["name"] == "raiser" and row["status"] == "failed" and "boom" in row["error"]


def test_damaged_run_folders_and_bad_outputs_are_one_line(tmp_path):
    good_data().to_csv(tmp_path / "data.csv", index=False)
    text = card(evaluate_extra="holdout = 0.0", extra="[ladder]\nonly = ['constant', 'linear']")
    assert cli("run", str(write_card(tmp_path, text)), "--no-track", cwd=tmp_path).returncode == 0
    run_dir = next((tmp_path / "runs").iterdir())
    duckdb_file = tmp_path / "w.duckdb"
    import duckdb

    duckdb.connect(str(duckdb_file)).close()
    cases = [
        (["predict", run_dir.name, "linear", "data.csv", "-o", str(tmp_path)], "give a file name"),
        (["predict", run_dir.name, "linear", "data.csv", "-o", "out.xlsx"], "write .csv or .parquet"),
        (["sql", run_dir.name, "linear", "--check", f"duckdb:///{duckdb_file}"], "kept no holdout rows"),
    ]
    for args, fragment in cases:
        done = cli(*args, cwd=tmp_path)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and fragment in lines[0], (args, done.stderr)
    (run_dir / "models" / "linear.pkl").write_bytes(b"not a pickle")
    done = cli("predict", run_dir.name, "linear", "data.csv", cwd=tmp_path)
    assert done.returncode == 2 and "linear.pkl does not match the sha256" in done.stderr
    assert "Traceback" not in done.stderr
    (run_dir / "result.json").write_text("{ half a file")
    done = cli("report", run_dir.name, cwd=tmp_path)
    assert done.returncode == 2 and "result.json cannot be read" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("out.xlsx"))
