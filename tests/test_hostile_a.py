"""Hostile and careless input (issue 12, items 1, 6, 8 and 9): credentials in URLs never shown
or stored, run folders' model files checked before they are loaded, a bad MLflow folder refused
before the race, and --only meaning only."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
from conftest import cli, make_classification_frame, only_run, read_result, write_card

from bakeoff.core.bake import card_params, public_card
from bakeoff.core.card import card_from_dict
from bakeoff.core.urls import failure, redact, redact_text

HERE = Path(__file__).parent
SECRET = "S3CRET"
CARD = """
[data]
source = "data.csv"
target = "label"
[evaluate]
folds = 3
bootstrap = 100
[budget]
total = "60s"
per_candidate = "20s"
trials = 2
{extra}
"""


def one_error_line(done) -> str:
    """The one line a refused command prints (exit 2, no traceback)."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def folder_with_card(folder: Path, extra: str = "") -> Path:
    make_classification_frame(120).to_csv(folder / "data.csv", index=False)
    return write_card(folder, CARD.format(extra=extra))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished run (constant and linear on 120 rows); tests copy it before changing it."""
    folder = tmp_path_factory.mktemp("hostile-a")
    folder_with_card(folder)
    done = cli("run", "bakeoff.toml", "--only", "constant,linear", "--no-track", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return only_run(folder)


# 1. credentials in URLs

MASKED = [
    ("postgresql://me@127.0.0.1:5432/shop?password=S3CRET", "postgresql://me@127.0.0.1:5432/shop?password=***"),
    ("postgresql://me:S3CRET@db/shop?sslmode=require", "postgresql://me:***@db/shop?sslmode=require"),
    ("postgresql://me@a/shop?options=x@b&sslpassword=S3CRET", "postgresql://me@a/shop?options=x@b&sslpassword=***"),
    ("postgresql://me:S3CRET@a/shop?note=me:x@b", "postgresql://me:***@a/shop?note=me:x@b"),
    ("https://s3/b/k?X-Amz-Credential=S3CRET%2F1&X-Amz-Signature=S3CRET&X-Amz-Date=1",
     "https://s3/b/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1"),
    ("https://mlflow/?access_token=S3CRET;api_key=S3CRET&key=S3CRET&sig=S3CRET&pwd=S3CRET&passwd=S3CRET",
     "https://mlflow/?access_token=***;api_key=***&key=***&sig=***&pwd=***&passwd=***"),
    ("https://S3CRET@github.com/me/repo", "https://***@github.com/me/repo"),
    ("postgresql://me:S3/CRET@db/shop", "postgresql://me:***@db/shop"),  # a raw / as SQLAlchemy reads it
    ("postgresql://me:${PW}@db/shop?token=${TOKEN}", "postgresql://me:${PW}@db/shop?token=${TOKEN}"),
    ("sqlite:///runs/shop.db?mode=ro", "sqlite:///runs/shop.db?mode=ro"),
]


@pytest.mark.parametrize("url,shown", MASKED)
def test_every_credential_a_url_carries_is_masked_and_its_host_kept(url, shown):
    assert redact(url) == shown
    assert redact_text(f"cannot reach {url} now") == f"cannot reach {shown} now"


def test_a_driver_repeating_a_query_password_shows_the_mask():
    url = "postgresql://me@db/shop?password=S3%2FCRET"  # the driver reports it decoded
    shown = failure(RuntimeError("password S3/CRET refused for me"), url)
    assert shown == "RuntimeError: password *** refused for me"


def test_card_json_and_mlflow_params_never_hold_a_url_credential():
    card = card_from_dict({
        "data": {"source": {"url": f"postgresql://me@127.0.0.1:5432/shop?password={SECRET}",
                            "query": "SELECT * FROM customers"}, "target": "Churn"},
        "store": {"tracking_uri": f"https://mlflow.example/?token={SECRET}",
                  "url": f"postgresql://me:{SECRET}@db/feedback?note=a@b"}})
    written = public_card(card).model_dump_json(indent=2)  # runs/<id>/card.json
    params = json.dumps(card_params(card))
    assert SECRET not in written and SECRET not in params
    assert "postgresql://me@127.0.0.1:5432/shop?password=***" in written
    assert json.loads(params)["store.url"] == "postgresql://me:***@db/feedback?note=a@b"


def test_score_on_a_url_with_a_query_password_never_prints_it(finished_run):
    url = f"postgresql://me@127.0.0.1:1/shop?password={SECRET}"
    done = cli("score", str(finished_run), "linear", "--sql", url, "--table", "nosuch",
               cwd=finished_run.parent)
    line = one_error_line(done)
    assert SECRET not in done.stdout + done.stderr
    assert "postgresql://me@127.0.0.1:1/shop?password=***" in line


def test_an_mlflow_tracking_uri_with_a_query_password_is_refused_without_showing_it(tmp_path):
    folder_with_card(tmp_path)
    uri = f"postgresql://me@127.0.0.1:1/mlflow?password={SECRET}"
    done = cli("run", "bakeoff.toml", "--only", "constant,linear", cwd=tmp_path,
               env={"MLFLOW_TRACKING_URI": uri})
    line = one_error_line(done)
    assert SECRET not in done.stdout + done.stderr and "password=***" in line
    assert not list((tmp_path / "runs").glob("*"))


# 6. model files are checked before they are loaded

class _Hostile:
    """Unpickled, it creates the marker file: what a planted model file could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_planted_model_file_is_refused_before_it_runs(finished_run, tmp_path):
    run_dir = Path(shutil.copytree(finished_run, tmp_path / "runs" / finished_run.name))
    marker = tmp_path / "pwned"
    (run_dir / "models" / "linear.pkl").write_bytes(pickle.dumps(_Hostile(marker)))
    make_classification_frame(5).drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    for args in (["predict", run_dir.name, "linear", "new.csv"], ["sql", run_dir.name, "linear", "--id", "x1"],
                 ["score", run_dir.name, "linear", "--sql", "duckdb:///:memory:", "--table", "t"],
                 ["review", run_dir.name, "--candidate", "linear", "--port", "0"]):
        line = one_error_line(cli(*args, cwd=tmp_path))
        assert "linear.pkl does not match the sha256" in line and "run the card again" in line, args
    assert not marker.exists()


def test_an_untouched_run_still_predicts_and_its_holdout_model_is_hashed(finished_run, tmp_path):
    make_classification_frame(5).drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    done = cli("predict", str(finished_run), "linear", "new.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 6
    row = next(r for r in read_result(finished_run)["candidates"] if r["name"] == "linear")
    assert len(row["model_sha256"]) == 64 and (finished_run / "models" / "linear.train.pkl").is_file()
    assert row["holdout_model_sha256"] not in (None, row["model_sha256"])


# 8. a .bakeoff that is a file

def test_a_bakeoff_store_that_is_a_file_is_refused_before_the_race(tmp_path):
    folder_with_card(tmp_path)
    (tmp_path / ".bakeoff").write_text("not a folder")
    done = cli("run", "bakeoff.toml", "--only", "constant,linear", cwd=tmp_path)
    line = one_error_line(done)
    assert ".bakeoff is a file" in line and "--no-track" in line
    assert not list((tmp_path / "runs").glob("*"))


# 9. --only means only

def test_only_on_the_command_line_leaves_out_extras_it_does_not_name(tmp_path):
    folder_with_card(tmp_path, "[ladder]\nextra = ['misbehaving:Prior', 'misbehaving:Raiser']\n")
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    done = cli("run", "bakeoff.toml", "--only", "constant,prior", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run(tmp_path)
    assert [r["name"] for r in read_result(run_dir)["candidates"]] == ["constant", "prior"]
    assert json.loads((run_dir / "card.json").read_text())["ladder"]["extra"] == ["misbehaving:Prior"]
