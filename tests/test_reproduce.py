"""`bakeoff reproduce RUN_ID`: a finished run done again from its record, old and new scores
side by side, and what differs since the run (the data, the packages)."""

import hashlib
import json
import shutil

import pytest
from conftest import cli, make_classification_frame, only_run, read_result, write_card

CARD = """
[problem]
name = "reproduce test"
task = "classification"
[data]
source = "data.csv"
target = "label"
positive = "yes"
[evaluate]
folds = 3
bootstrap = 100
[budget]
total = "60s"
trials = 2
[ladder]
only = ["constant", "linear"]
"""


def finished_run(folder):
    """A card's run of constant and linear on 200 generated rows, untracked; its run folder."""
    make_classification_frame(200).to_csv(folder / "data.csv", index=False)
    write_card(folder, CARD)
    done = cli("run", "bakeoff.toml", "--no-track", cwd=folder)
    assert done.returncode == 0, done.stderr
    return only_run(folder)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return finished_run(tmp_path_factory.mktemp("reproduce"))


def copy_of(run_dir, edit):
    """A copy of the run folder beside it (same card) with its result.json changed by `edit`."""
    copy = run_dir.with_name(run_dir.name + "-copy")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(run_dir, copy)
    result = read_result(copy)
    edit(result)
    (copy / "result.json").write_text(json.dumps(result))
    return copy


def new_runs(folder, before):
    runs = (folder / "runs").iterdir()
    return sorted(p for p in runs if p.name not in before and not p.name.startswith("."))


def test_a_run_reproduced_has_the_same_scores_and_says_so(run_dir):
    folder, before = run_dir.parent.parent, {p.name for p in run_dir.parent.iterdir()}
    done = cli("reproduce", run_dir.name, "--no-track", cwd=folder)
    assert done.returncode == 0, done.stderr
    [new] = new_runs(folder, before)
    old_scores = {r["name"]: r["score"] for r in read_result(run_dir)["candidates"]}
    assert {r["name"]: r["score"] for r in read_result(new)["candidates"]} == old_scores
    assert f"ran {run_dir.name} again as {new.name}" in done.stdout
    assert str(new / "result.json") in done.stdout
    for name, score in old_scores.items():  # old and new side by side
        row = next(line for line in done.stdout.splitlines() if f" {name} " in line)
        assert row.count(f"{score:.6g}") == 2 and "same" in row
    assert "reproduced: every candidate's roc_auc matches" in done.stdout
    assert "not reproduced" not in done.stdout and "differs" not in done.stdout


def test_changed_data_is_named_with_both_fingerprints_and_the_run_still_made(tmp_path):
    run_dir = finished_run(tmp_path)
    recorded = read_result(run_dir)["provenance"]["data_sha256"]
    make_classification_frame(200, seed=1).to_csv(tmp_path / "data.csv", index=False)
    now = hashlib.sha256((tmp_path / "data.csv").read_bytes()).hexdigest()
    done = cli("reproduce", run_dir.name, "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    changed = f"data changed since the run: data.csv: sha256 {recorded[:12]} -> {now[:12]}"
    assert changed in done.stdout
    assert "not reproduced: roc_auc differs for linear" in done.stdout
    assert "the data changed" in done.stdout
    [new] = new_runs(tmp_path, {run_dir.name})
    assert read_result(new)["provenance"]["data_sha256"] == now


def test_a_package_version_that_differs_is_named_old_to_new(run_dir):
    def older_numpy(result):
        result["provenance"]["packages"]["numpy"] = "1.0.0"
        result["provenance"]["packages"]["somelib"] = "0.1"

    copy = copy_of(run_dir, older_numpy)
    now = read_result(run_dir)["provenance"]["packages"]["numpy"]
    done = cli("reproduce", copy.name, "--no-track", cwd=run_dir.parent.parent)
    assert done.returncode == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert "environment differs from the run's:" in lines
    assert f"numpy 1.0.0 -> {now}" in lines and "somelib 0.1 -> (not installed)" in lines
    assert not any(line.startswith(("python ", "scikit-learn ", "pandas ")) for line in lines)
    assert "reproduced: every candidate's roc_auc matches" in done.stdout  # the scores did not move


def test_an_unknown_run_is_one_line_and_exit_2(tmp_path):
    done = cli("reproduce", "20990101-000000-abcdef", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "20990101-000000-abcdef" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_run_without_provenance_is_refused_in_one_line(run_dir):
    copy = copy_of(run_dir, lambda result: result.pop("provenance"))
    before = {p.name for p in run_dir.parent.iterdir()}
    done = cli("reproduce", str(copy), cwd=run_dir.parent.parent)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert "records no provenance" in done.stderr and "Traceback" not in done.stderr
    assert not new_runs(run_dir.parent.parent, before)  # refused before anything ran


def test_the_python_api_returns_the_comparison_as_a_record(run_dir):
    import bakeoff
    from bakeoff.errors import ConfigError

    done = bakeoff.reproduce(run_dir.name, runs=run_dir.parent.parent, track=False)
    assert done.reproduced and done.data is None and done.environment == []
    assert done.run_id == run_dir.name
    assert [(c.name, c.same) for c in done.scores] == [("constant", True), ("linear", True)]
    assert read_result(done.new_run_dir)["run_id"] == done.new_run_id != run_dir.name
    copy = copy_of(run_dir, lambda result: result["provenance"].pop("data_sha256"))
    with pytest.raises(ConfigError, match="records no provenance"):
        bakeoff.reproduce(copy.name, runs=run_dir.parent.parent, track=False)
