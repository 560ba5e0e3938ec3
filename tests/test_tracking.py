"""MLflow logging runs in a process of its own while the report renders: a store that fails
only when the run is logged still leaves a complete run folder and one clear line."""

from __future__ import annotations

import json

from conftest import QUICK_TELCO_CARD, cli, write_card


def test_a_store_that_fails_while_logging_leaves_the_run_folder_and_one_line(tmp_path, telco_sample):
    write_card(tmp_path, QUICK_TELCO_CARD)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where MLflow wants its store folder")
    # a file store passes the check before the race (nothing to connect to) and fails when
    # MLflow makes its experiment folder inside a regular file
    done = cli("run", "bakeoff.toml", "--only", "constant,linear", cwd=tmp_path,
               env={"MLFLOW_TRACKING_URI": (blocker / "mlruns").as_uri()})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: could not log to MLflow"), done.stderr
    assert "is complete" in lines[0] and "--no-track" in lines[0]
    [run_dir] = (tmp_path / "runs").iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    assert result.get("mlflow_run_id") is None and result["recommended"] in ("constant", "linear")
    assert {r["name"]: r["status"] for r in result["candidates"]} == {"constant": "ok", "linear": "ok"}
    assert "<svg" in (run_dir / "report.html").read_text()  # the report, not the fallback page
