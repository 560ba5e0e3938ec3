"""Fuzzing with Hypothesis: hostile and careless cards, data files and rows to score.

Each example runs the CLI in-process, as a user would, and checks the README's promises:
exit 0, 1 or 2; on 2 one line on stderr and no run written; no traceback without `--debug`;
no secret of a URL in any message or file. The examples are derandomized so a CI run is
repeatable; `HYPOTHESIS_PROFILE=explore pytest tests/test_hostile.py` searches further.
"""

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli, make_classification_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                 HealthCheck.data_too_large])
settings.register_profile("explore", parent=settings.get_profile("ci"), max_examples=200, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
EXPLORE = os.environ.get("HYPOTHESIS_PROFILE") == "explore"

SECRET = "S3CRETpw"

# --- what is checked after every command ------------------------------------------------------


def written_runs(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("runs/*") if p.is_dir() and not p.name.startswith(".")]


def fresh(parent: Path) -> Path:
    """A new folder for one example, kept until the test ends: a worker started as a run was
    refused may still change into it."""
    return Path(tempfile.mkdtemp(dir=parent))


def assert_promises(done, folder: Path, given: tuple[str, ...] = ("bakeoff.toml",)) -> None:
    """The README's promises for any input: see the module's docstring. `given`: the files the
    user wrote (a card may hold a secret; what bakeoff writes may not)."""
    said = done.stdout + done.stderr
    assert done.returncode in (0, 1, 2), said
    assert "Traceback" not in said, said
    if done.returncode == 2:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: "), done.stderr
        assert not written_runs(folder), "exit 2 means nothing is written"
    assert SECRET not in said
    for path in folder.rglob("*"):
        if path.is_file() and path.name not in given:
            assert SECRET.encode() not in path.read_bytes(), f"the secret is in {path}"


# --- strategies ---------------------------------------------------------------------------------

odd_text = st.one_of(
    st.sampled_from(['"', "'", "a\"b", "it's", "x\ny", "\t", " ", "", "SELECT", "DROP TABLE t;--",
                     "order", "group by", "名前", "😀", "a,b", "${HOME}", "${NO_SUCH_VAR}", "..", "/",
                     "\\", "NULL", "nan", "True", "1e309", "-0", "%s", "{}", "<script>alert(1)</script>"]),
    st.text(min_size=0, max_size=12))

odd_number = st.one_of(st.sampled_from([0, -1, 1, 2, 10**30, -(10**30), 2**63, 1e300, -1e300, 0.5, 1e-300]),
                       st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))

odd_url = st.sampled_from([
    f"postgresql://me:{SECRET}@127.0.0.1:1/shop",
    f"postgresql://me@127.0.0.1:1/shop?password={SECRET}",
    f"postgresql://me@127.0.0.1:1/shop?sslmode=require&password={SECRET}&x=a@b",
    f"mysql://root:{SECRET}@localhost:1/db",
    f"sqlite:///nosuch/shop.db?password={SECRET}",
    f"https://user:{SECRET}@example.invalid/data.csv?token={SECRET}",
    "file:///etc/passwd", "../../../../etc/passwd", "", "postgresql://", "://", "duckdb:///:memory:",
])

toml_value = st.recursive(
    st.one_of(odd_text, odd_number, st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "url", "query", "x"]), inner, max_size=2)),
    max_leaves=4)

KEYS = {
    "problem": ["name", "task", "question", "nonsense"],
    "data": ["source", "target", "positive", "id", "time", "drop", "nonsense"],
    "evaluate": ["metric", "folds", "holdout", "tolerance", "seed", "bootstrap", "refit", "nonsense"],
    "budget": ["total", "per_candidate", "trials", "workers", "memory", "nonsense"],
    "business": ["value_true_positive", "cost_false_positive", "cost_false_negative",
                 "predictions_per_month", "compute_cost_per_hour", "nonsense"],
    "ladder": ["only", "skip", "extra", "nonsense"],
    "store": ["tracking_uri", "url", "nonsense"],
    "engine": ["kind", "master"],
    "nonsense": ["x"],
}

mutation = st.one_of(
    st.tuples(st.sampled_from(sorted(KEYS)), st.just(None), st.just(None)).flatmap(
        lambda t: st.tuples(st.just(t[0]), st.sampled_from(KEYS[t[0]]), toml_value)),
    st.tuples(st.just("data"), st.just("source"),
              st.fixed_dictionaries({"url": odd_url, "query": st.sampled_from(["SELECT * FROM t", "", "x"])})),
    st.tuples(st.just("store"), st.sampled_from(["tracking_uri", "url"]), odd_url))


def toml(value) -> str:
    """`value` as TOML: enough of it for the cards here (tomllib reads it back in a test below)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 2**63 else json.dumps(str(value))  # TOML ints are 64-bit
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"


def card_text(sections: dict) -> str:
    return "".join(f"[{name}]\n" + "".join(f"{json.dumps(k)} = {toml(v)}\n" for k, v in keys.items())
                   for name, keys in sections.items())


def base_card() -> dict:
    return {"problem": {"name": "fuzz"}, "data": {"source": "d.csv", "target": "label"},
            "evaluate": {"folds": 3, "bootstrap": 50},
            "budget": {"total": "20s", "per_candidate": "8s", "trials": 1, "workers": 1}}


FRAME = make_classification_frame(150, seed=4)


# --- the fuzzing ----------------------------------------------------------------------------------


def test_the_toml_writer_writes_what_tomllib_reads():
    import tomllib

    value = {"a": ["x\ny", 1, 1e300, True], "url": 'a"\x7fb'}
    assert tomllib.loads(card_text({"s": {"k": value}}))["s"]["k"] == value


@settings(max_examples=200 if EXPLORE else 30)  # most are refused before any work
@given(st.lists(mutation, min_size=1, max_size=3))
def test_a_hostile_card_is_run_or_refused_in_one_line(tmp_path, mutations):
    card = base_card()
    for section, key, value in mutations:
        card.setdefault(section, {})[key] = value
    tracked = "tracking_uri" in card.get("store", {}) or "url" in card.get("store", {})
    folder = fresh(tmp_path)
    FRAME.to_csv(folder / "d.csv", index=False)
    (folder / "bakeoff.toml").write_text(card_text(card))
    args = ["run", "bakeoff.toml", "--only", "constant"] + ([] if tracked else ["--no-track"])
    done = cli(*args, cwd=folder, env={"COLUMNS": "100"})
    assert_promises(done, folder)


column_values = st.one_of(
    st.lists(odd_number, min_size=1, max_size=5),
    st.lists(odd_text, min_size=1, max_size=5),
    st.lists(st.one_of(odd_number, odd_text, st.none(), st.booleans()), min_size=1, max_size=5),
    st.lists(st.sampled_from(["2024-02-30", "0000-01-01", "9999-12-31T25:00", "2024-01-01", "yesterday"]),
             min_size=1, max_size=5))


@st.composite
def hostile_frames(draw) -> pd.DataFrame:
    """The 150 rows of a known classification frame with hostile columns added and renamed,
    odd values put among its numbers, or rows cut."""
    frame = FRAME.copy()
    for _ in range(draw(st.integers(0, 2))):
        values = draw(column_values)
        frame[draw(odd_text)] = (values * len(frame))[:len(frame)]
    if draw(st.booleans()):
        frame = frame.rename(columns={draw(st.sampled_from(["x1", "x2", "noise", "colour"])): draw(odd_text)})
    if draw(st.booleans()) and "x1" in frame:
        rows = draw(st.lists(st.integers(0, len(frame) - 1), max_size=20))
        frame["x1"] = frame["x1"].astype(object)
        frame.loc[rows, "x1"] = draw(st.one_of(odd_number, odd_text))
    return frame.head(draw(st.sampled_from([150, 150, 40, 3, 0])))


@settings(max_examples=200 if EXPLORE else 5)  # each may run a bake-off of two candidates
@given(hostile_frames(), st.sampled_from(["csv", "parquet"]))
def test_a_hostile_data_file_is_run_or_refused_in_one_line(tmp_path, frame, kind):
    folder = fresh(tmp_path)
    path = folder / f"d.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        try:
            frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(path)
        except Exception:  # noqa: BLE001 - a frame Parquet cannot hold is not a case here
            return
    done = cli("run", path.name, "--target", "label", "--only", "constant,linear", "--budget", "30s",
               "--no-track", cwd=folder)
    assert_promises(done, folder)


raw_files = st.one_of(
    st.sampled_from([b"", b"\n\n\n", b"label\n", b"a,b,label\n1,2\n3,4,5,6\n", b"\xef\xbb\xbfx,label\n1,a\n",
                     b"\x00\x01\x02\xff" * 50, b"x;label\n1;yes\n2;no\n", b'"unclosed,label\n1,yes\n',
                     b"PAR1garbage", b"x,label\n" + b"1,yes\n2,no\n" * 60 + b"3\n"]),
    st.binary(max_size=200))


@given(raw_files, st.sampled_from(["d.csv", "d.parquet", "d.txt"]))
def test_an_empty_ragged_or_binary_file_is_refused_in_one_line(tmp_path, content, name):
    folder = fresh(tmp_path)
    (folder / name).write_bytes(content)
    for command in (["run", name, "--target", "label", "--only", "constant", "--no-track"],
                    ["init", name, "--target", "label"]):
        assert_promises(cli(*command, cwd=folder), folder)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run of `linear` on the known frame: the rows below are scored with it."""
    folder = tmp_path_factory.mktemp("trained")
    FRAME.to_csv(folder / "d.csv", index=False)
    done = cli("run", "d.csv", "--target", "label", "--only", "constant,linear", "--budget", "30s",
               "--no-track", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder, next(p for p in (folder / "runs").iterdir() if not p.name.startswith("."))


@given(frame=hostile_frames())
def test_hostile_rows_are_scored_or_refused_in_one_line(tmp_path, trained, frame):
    _, run_dir = trained
    folder = fresh(tmp_path)
    frame.drop(columns=["label"], errors="ignore").to_csv(folder / "rows.csv", index=False)
    done = cli("predict", str(run_dir), "linear", "rows.csv", "-o", "out.csv", cwd=folder)
    assert_promises(done, folder)
    if done.returncode == 0:  # every row scored, with a probability
        scored = pd.read_csv(folder / "out.csv")
        assert len(scored) == len(frame) and np.isfinite(scored["probability"]).all()


# --- what a second hostile trial found, each as a user met it -------------------------------------


@pytest.fixture(scope="module")
def card_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    FRAME.to_csv(folder / "d.csv", index=False)
    return folder


def run_card(folder: Path, sections: dict, *args: str):
    card = base_card()
    for name, keys in sections.items():
        card.setdefault(name, {}).update(keys)
    (folder / "bakeoff.toml").write_text(card_text(card))
    return cli("run", "bakeoff.toml", "--only", "constant", "--no-track", *args, cwd=folder)


@pytest.mark.parametrize("sections, named", [
    ({"evaluate": {"seed": 2**32}}, "seed"),  # numpy's seeds end below 2**32: a traceback before
    ({"data": {"id": "label"}}, "id and target"),  # the row key cannot be what is predicted
    ({"data": {"source": {"url": f"host=127.0.0.1 port=1 password={SECRET} dbname=x",
                          "query": "SELECT 1"}}}, "query on"),  # a libpq keyword string
])
def test_a_card_the_second_trial_broke_is_refused_in_one_line(card_folder, sections, named):
    done = run_card(card_folder, sections)
    assert_promises(done, card_folder)
    assert done.returncode == 2 and named in done.stderr


def test_debug_shows_the_traceback_and_keeps_the_exit_code(card_folder):
    (card_folder / "bakeoff.toml").write_text(card_text({**base_card(), "evaluate": {"folds": 1}}))
    done = cli("--debug", "run", "bakeoff.toml", "--no-track", cwd=card_folder)
    assert done.returncode == 2 and "Traceback" in done.stderr


@pytest.fixture(scope="module")
def a_run(trained, tmp_path_factory):
    """A copy of the trained run, for tests that damage it."""
    import shutil

    copy = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(trained[1], copy)
    return copy


def test_a_damaged_result_or_card_json_is_refused_in_one_line(a_run, tmp_path):
    FRAME.drop(columns="label").head(5).to_csv(tmp_path / "rows.csv", index=False)
    result = json.loads((a_run / "result.json").read_text())
    (a_run / "result.json").write_text(json.dumps({**result, "candidates": "oops"}))
    for command in (["report", str(a_run)], ["predict", str(a_run), "linear", "rows.csv"]):
        done = cli(*command, cwd=tmp_path)
        assert_promises(done, tmp_path)
        assert done.returncode == 2 and "result.json" in done.stderr
    (a_run / "result.json").write_text(json.dumps(result))
    (a_run / "card.json").unlink()
    (a_run / "card.json").symlink_to(a_run / "card.json")  # a loop
    done = cli("sql", str(a_run), "linear", "--check", "duckdb:///check.db", cwd=tmp_path)
    assert_promises(done, tmp_path)
    assert done.returncode == 2 and "card.json" in done.stderr


def test_a_query_string_on_a_duckdb_url_is_no_part_of_its_file(trained, tmp_path):
    import duckdb

    duckdb.connect(str(tmp_path / "wh.db")).close()
    done = cli("score", str(trained[1]), "linear", "--sql", f"duckdb:///wh.db?token={SECRET}",
               "--table", "nosuch", "--into", "scores", cwd=tmp_path)
    assert_promises(done, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh.db"]  # no file named after the token


def test_a_run_whose_terminal_output_cannot_be_written_is_one_line_and_writes_nothing(card_folder, tmp_path):
    import subprocess

    from conftest import BAKEOFF

    FRAME.to_csv(tmp_path / "d.csv", index=False)
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(BAKEOFF), "run", "d.csv", "--target", "label", "--only", "constant",
                               "--no-track"], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "cannot write the output" in lines[0], done.stderr
    assert not (tmp_path / "runs").exists()


def test_an_output_path_that_is_a_pipe_or_device_is_never_replaced(tmp_path):
    FRAME.to_csv(tmp_path / "d.csv", index=False)
    os.mkfifo(tmp_path / "pipe")  # like /dev/full, no file to replace
    done = cli("init", "d.csv", "--target", "label", "-o", "pipe", "--force", cwd=tmp_path)
    assert_promises(done, tmp_path)
    assert done.returncode == 2 and (tmp_path / "pipe").is_fifo()


def test_the_python_api_refuses_data_it_cannot_read_with_a_bakeoff_error():
    import bakeoff
    from bakeoff.errors import ConfigError

    with pytest.raises(ConfigError, match="give a path"):
        bakeoff.run([[1, 2], [3, 4]], target="x")
