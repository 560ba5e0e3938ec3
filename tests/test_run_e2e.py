"""`bakeoff run` on real Telco data as a user runs it: live table, result.json, report,
predictions, MLflow runs, provenance."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import BAKEOFF as BAKEOFF_BIN
from conftest import (
    QUICK_TELCO_CARD,
    REPO,
    BackgroundCli,
    cli,
    only_run,
    read_result,
    run_cli,
    write_card,
)
from sklearn.metrics import roc_auc_score

from bakeoff.core.card import load_card
from bakeoff.tasks.tabular.bundle import load_bundle
from bakeoff.tasks.tabular.data import prepare

HERE = __import__("pathlib").Path(__file__).parent
BUSINESS = """
[business]
value_true_positive = 30.0
cost_false_positive = 20.0
predictions_per_month = 100000
compute_cost_per_hour = 0.5
[ladder]
extra = ["misbehaving:Raiser", "misbehaving:Prior"]
"""
ROW_KEYS = {"name", "family", "rung", "status", "error", "score", "score_ci", "holdout_score",
            "fit_seconds", "predict_us_per_row", "latency_ms_p50", "model_bytes", "n_params", "sql",
            "monthly_value", "monthly_cost", "model_uri"}


def git(folder, *args):
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def telco_run(tmp_path_factory, telco):
    folder = tmp_path_factory.mktemp("telco")
    blanks = telco[telco["TotalCharges"].str.strip() == ""]
    pd.concat([blanks, telco.drop(blanks.index).sample(1489, random_state=1)]).to_csv(folder / "telco.csv", index=False)
    shutil.copy(HERE / "misbehaving.py", folder)
    write_card(folder, QUICK_TELCO_CARD + BUSINESS)
    git(folder, "init", "-q")
    git(folder, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "data",
        "--allow-empty")
    git(folder, "add", "telco.csv", "bakeoff.toml")
    git(folder, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "card")
    result = run_cli("run", "bakeoff.toml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = only_run(folder)
    return folder, run_dir, read_result(run_dir), result.stdout


def test_result_json_follows_the_contract(telco_run):
    _, _, result, _ = telco_run
    assert result["task"] == "classification" and result["metric"] == "roc_auc" and result["higher_is_better"]
    names = [row["name"] for row in result["candidates"]]
    assert names[:5] == ["constant", "prior", "one_rule", "rules", "linear"] and "raiser" in names
    for row in result["candidates"]:
        assert ROW_KEYS <= set(row)
        assert row["status"] in ("ok", "timeout", "failed", "skipped")
    raiser = next(r for r in result["candidates"] if r["name"] == "raiser")
    assert raiser["status"] == "failed" and "boom" in raiser["error"] and raiser["score"] is None
    assert "could not compare against raiser (failed: see its error)" in result["reason"]
    ok = [r for r in result["candidates"] if r["status"] == "ok"]
    assert len(ok) == len(names) - 1
    for row in ok:
        low, high = row["score_ci"]
        assert low <= row["score"] <= high
        assert row["fit_seconds"] > 0 and row["predict_us_per_row"] > 0 and row["model_bytes"] > 0
    assert {result["best"], result["recommended"]} <= set(names) and result["reason"]


def test_recommendation_follows_the_rule(telco_run):
    _, _, result, _ = telco_run
    ok = [r for r in result["candidates"] if r["status"] == "ok"]
    best = max(ok, key=lambda r: r["score"])
    assert result["best"] == best["name"]
    assert result["tolerance_is_relative"] is False  # roc_auc: an absolute tolerance
    as_good = [r for r in ok if best["score"] - r["score"] <= result["tolerance"]
               or r["diff_ci"][0] <= 0 <= r["diff_ci"][1]]
    simplest = min(as_good, key=lambda r: (r["rung"], r["n_params"]))
    assert result["recommended"] == simplest["name"]


def test_holdout_scores_match_an_independent_rescoring(telco_run):
    """`holdout_score` is the score of the model fitted without the holdout (`<name>.train.pkl`);
    the model `predict` uses learned from every row, holdout included."""
    folder, run_dir, result, _ = telco_run
    dataset = prepare(load_card(folder / "bakeoff.toml"))
    holdout = pd.read_csv(folder / "telco.csv").iloc[dataset.holdout_index]
    holdout.to_csv(folder / "holdout.csv", index=False)
    truth = (holdout["Churn"] == "Yes").to_numpy()
    for name in ("linear", "lightgbm"):
        row = next(r for r in result["candidates"] if r["name"] == name)
        scored = load_bundle(run_dir / "models" / f"{name}.train.pkl").score(holdout)
        assert roc_auc_score(truth, scored["probability"]) == pytest.approx(row["holdout_score"], abs=1e-12)
        done = cli("predict", run_dir.name, name, "holdout.csv", "-o", f"{name}.csv", cwd=folder)
        assert done.returncode == 0, done.stderr
        deployed = pd.read_csv(folder / f"{name}.csv")["probability"]
        assert not np.allclose(deployed, scored["probability"])  # it saw the holdout too
        assert row["model_rows"] == len(dataset.y) > len(dataset.train_index)


def test_predict_and_mlflow_pyfunc_give_the_same_predictions(telco_run):
    folder, run_dir, result, _ = telco_run
    rows = pd.read_csv(folder / "telco.csv").head(40).drop(columns="Churn")
    rows.to_csv(folder / "new.csv", index=False)
    # through the console script, as a user scores new rows
    predicting = BackgroundCli("predict", run_dir.name, "recommended", "new.csv", "-o", "scored.csv", cwd=folder)
    row = next(r for r in result["candidates"] if r["name"] == result["recommended"])
    mlflow.set_tracking_uri(result["tracking_uri"])
    try:  # meanwhile, here
        from_mlflow = mlflow.pyfunc.load_model(row["model_uri"]).predict(rows)
    finally:
        done = predicting.result()
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(folder / "scored.csv")
    assert list(scored.columns) == list(rows.columns) + ["prediction", "probability"]
    assert set(scored["prediction"]) <= {"Yes", "No"}
    assert ((scored["probability"] >= 0.5) == (scored["prediction"] == "Yes")).all()
    np.testing.assert_allclose(from_mlflow["probability"].to_numpy(), scored["probability"].to_numpy(), rtol=1e-12)
    # rows scored before (an old prediction column) get fresh predictions, as from bakeoff predict
    rescored = mlflow.pyfunc.load_model(row["model_uri"]).predict(scored.drop(columns="probability"))
    assert list(rescored.columns) == ["prediction", "probability"]
    np.testing.assert_allclose(rescored["probability"].to_numpy(), scored["probability"].to_numpy(), rtol=1e-12)


def test_the_mlflow_model_loads_where_bakeoff_is_not_installed(telco_run, tmp_path):
    """The logged model carries bakeoff's source: a Python that cannot import bakeoff still
    scores with it (MLflow, scikit-learn and pandas are all it needs)."""
    folder, run_dir, result, _ = telco_run
    rows = pd.read_csv(folder / "telco.csv").head(20).drop(columns="Churn")
    rows.to_csv(tmp_path / "new.csv", index=False)
    row = next(r for r in result["candidates"] if r["name"] == result["recommended"])
    script = "\n".join([
        "import sys",
        "sys.path = [p for p in sys.path if not p.rstrip('/').endswith('/src')]",  # the editable install
        "try:",
        "    import bakeoff",
        "    raise SystemExit('bakeoff is still importable')",
        "except ImportError:",
        "    pass",
        "import mlflow, pandas as pd",
        f"mlflow.set_tracking_uri({result['tracking_uri']!r})",
        f"out = mlflow.pyfunc.load_model({row['model_uri']!r}).predict(pd.read_csv('new.csv'))",
        "print(sys.modules['bakeoff'].__file__)",
        "print(' '.join(repr(float(p)) for p in out['probability']))",
    ])
    loaded = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    where, figures = loaded.stdout.strip().splitlines()[-2:]
    assert str(REPO / "src") not in where  # the copy shipped with the model, not the checkout
    expected = load_bundle(run_dir / "models" / f"{row['name']}.pkl").score(rows)["probability"]
    np.testing.assert_allclose([float(f) for f in figures.split()], expected.to_numpy(), rtol=1e-12)


def test_mlflow_has_a_parent_run_and_one_nested_run_per_candidate(telco_run):
    folder, _, result, _ = telco_run
    assert result["tracking_uri"] == f"sqlite:///{(folder / '.bakeoff' / 'mlflow.db').resolve()}"
    client = mlflow.MlflowClient(result["tracking_uri"])
    parent = client.get_run(result["mlflow_run_id"])
    assert parent.data.tags["bakeoff.recommended"] == result["recommended"]
    assert json.loads(parent.data.tags["provenance.packages"])["scikit-learn"]
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.data.tags["mlflow.runName"] for r in children) == \
        sorted(r["name"] for r in result["candidates"])
    linear = next(r for r in children if r.data.tags["mlflow.runName"] == "linear")
    expected = next(r for r in result["candidates"] if r["name"] == "linear")
    assert linear.data.metrics["roc_auc"] == pytest.approx(expected["score"])
    assert linear.data.metrics["fit_seconds"] == pytest.approx(expected["fit_seconds"])


def test_provenance_pins_code_data_and_environment(telco_run):
    folder, _, result, _ = telco_run
    p = result["provenance"]
    assert p["git_sha"] == git(folder, "rev-parse", "HEAD").strip() and p["git_dirty"] is False
    assert p["data_sha256"] == hashlib.sha256((folder / "telco.csv").read_bytes()).hexdigest()
    assert (p["rows"], p["columns"], p["seed"]) == (1500, 21, 0)
    assert p["command"][-2:] == ["run", "bakeoff.toml"] and p["python"].count(".") == 2


def test_money_per_month_by_hand_for_the_baseline(telco_run):
    _, _, result, _ = telco_run
    rows = {r["name"]: r for r in result["candidates"]}
    # flagging everyone loses money at these values (0.265 x 30 < 0.735 x 20), so the baseline
    # flags nobody: its value is minus its compute cost
    assert rows["constant"]["monthly_value"] == pytest.approx(-rows["constant"]["monthly_cost"], abs=0.01)
    assert rows["linear"]["monthly_value"] > 0  # a real model beats flagging nobody
    # compute per month by hand: 100,000 predictions at predict_us_per_row plus one refit, at $0.5/h
    linear = rows["linear"]
    seconds = linear["predict_us_per_row"] * 1e-6 * 100_000 + linear["fit_seconds"]
    assert linear["monthly_cost"] == pytest.approx(seconds / 3600 * 0.5, abs=1e-4)
    assert 0 < linear["threshold"] < 1


def test_predict_labels_at_the_money_best_threshold_or_a_given_one(telco_run):
    folder, run_dir, result, _ = telco_run
    pd.read_csv(folder / "telco.csv").head(300).drop(columns="Churn").to_csv(folder / "some.csv", index=False)
    threshold = next(r for r in result["candidates"] if r["name"] == "linear")["threshold"]
    for given, cut in (("business", threshold), ("0.3", 0.3)):
        done = cli("predict", run_dir.name, "linear", "some.csv", "-o", "cut.csv",
                   "--threshold", given, cwd=folder)
        assert done.returncode == 0, done.stderr
        scored = pd.read_csv(folder / "cut.csv")
        assert ((scored["probability"] >= cut) == (scored["prediction"] == "Yes")).all()
        assert (scored["prediction"] == "Yes").sum() > (scored["probability"] >= 0.5).sum()  # both cuts are lower
    refused = cli("predict", run_dir.name, "linear", "some.csv", "--threshold", "1.5", cwd=folder)
    assert refused.returncode == 2 and "give a probability between 0 and 1" in refused.stderr


def test_terminal_shows_the_table_recommendation_and_paths(telco_run):
    _, run_dir, result, stdout = telco_run
    for row in result["candidates"]:
        assert row["name"] in stdout
    assert f"Recommended: {result['recommended']}" in stdout
    assert str(run_dir / "result.json") in stdout and str(run_dir / "report.html") in stdout
    assert "TotalCharges: numbers stored as text" in stdout


def _number(text: str) -> float:
    return float(text.replace(",", "").split()[0])


def _close(shown: str, value: float, digits: int = 4) -> bool:
    """The page shows `value` rounded to `digits` significant figures."""
    return abs(_number(shown) - value) <= 0.51 * 10 ** (np.floor(np.log10(abs(value) or 1)) - digits + 1)


def test_report_in_a_real_browser_matches_result_json(telco_run):
    from browser import chromium_page, screenshot

    _, run_dir, result, _ = telco_run
    report = run_dir / "report.html"
    assert report.stat().st_size < 5_000_000
    assert "mathdefault" not in report.read_text()  # log-axis ticks render as numbers, not TeX source
    with chromium_page() as (page, watch):
        facts = json.loads((run_dir / "facts.json").read_text())
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        screenshot(page, "report-telco-test.png")
        assert page.locator("#question").inner_text() == "Who cancels?"
        chosen = next(r for r in result["candidates"] if r["name"] == result["recommended"])
        answer = page.locator("#recommendation").inner_text()
        assert f"({chosen['name']})" in answer and "catches" in answer
        assert f"{round(chosen['monthly_value']):,}" in answer
        for row in result["candidates"]:
            cells = page.locator(f'#options tr[data-name="{row["name"]}"]')
            assert cells.count() == 1
            if row["status"] != "ok":
                assert row["error"].splitlines()[0][:40] in cells.locator(".status").inner_text()
                continue
            assert _close(cells.locator(".score").inner_text(), row["score"])
            low, high = cells.locator(".interval").inner_text().split(" – ")
            assert _close(low, row["score_ci"][0]) and _close(high, row["score_ci"][1])
            assert _close(cells.locator(".holdout").inner_text(), row["holdout_score"])
            assert abs(_number(cells.locator(".money").inner_text()) - row["monthly_value"]) <= 0.5
            assert cells.locator(".sql").inner_text() == ("yes" if row["sql"] else "no")
            plain = facts["quality"][row["name"]]
            assert plain["low"] <= plain["capture"] <= plain["high"]
            caught = re.match(r"catches (\d+) % \((\d+) % – (\d+) %\)", cells.locator(".plain").inner_text())
            assert caught and [int(v) for v in caught.groups()] == \
                [round(100 * plain[k]) for k in ("capture", "low", "high")]
        for cell in ("tp", "fn", "fp", "tn"):
            assert int(page.locator(f"#confusion .{cell}").inner_text()) == facts["confusion"][cell]
        ranked = [i["feature"] for i in facts["explain"]["importance"]]
        top_category = next(f for f in ranked if f in ("Contract", "PaymentMethod", "InternetService", "gender",
                                                       "Partner", "PaperlessBilling", "TechSupport", "OnlineSecurity"))
        assert top_category in page.locator("#segments").inner_text()  # the columns that matter are shown
        assert page.locator("#tradeoff svg").count() == 1 and page.locator("#gains svg").count() == 1
        assert page.locator("#segments tr").count() > 5 and page.locator("#samples tbody tr").count() >= 6
        assert result["provenance"]["data_sha256"] in page.locator("#provenance").inner_text()
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.remote_requests() == [] and watch.requests == [report.as_uri()]


def test_bakeoff_report_re_renders_the_same_page(telco_run):
    folder, run_dir, _, _ = telco_run
    before = (run_dir / "report.html").read_text()
    (run_dir / "report.html").unlink()
    done = cli("report", run_dir.name, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert (run_dir / "report.html").read_text() == before


def test_a_custom_candidate_predicts_from_anywhere_and_through_mlflow(telco_run, tmp_path):
    folder, run_dir, result, _ = telco_run
    rows = pd.read_csv(folder / "telco.csv").head(5)
    rows.to_csv(tmp_path / "new.csv", index=False)
    # a new process in another folder: the custom candidate's module comes from the card's folder
    predicting = BackgroundCli("predict", run_dir.name, "prior", "new.csv", "--runs", str(folder),
                               "-o", "out.parquet", cwd=tmp_path)
    uri = next(r["model_uri"] for r in result["candidates"] if r["name"] == "prior")
    script = (f"import mlflow, pandas as pd; mlflow.set_tracking_uri({result['tracking_uri']!r}); "
              f"print(mlflow.pyfunc.load_model({uri!r}).predict(pd.read_csv('new.csv'))['probability'].iloc[0])")
    try:  # and meanwhile another: MLflow's loader
        loaded = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    finally:
        done = predicting.result()
    assert done.returncode == 0, done.stderr
    share = (pd.read_csv(folder / "telco.csv")["Churn"] == "Yes").mean()  # the prior of every row
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "out.parquet")["probability"], share)
    assert loaded.returncode == 0, loaded.stderr
    assert float(loaded.stdout.strip().splitlines()[-1]) == pytest.approx(share)


def test_mlflow_ui_serves_the_runs(telco_run):
    """What the run prints, `mlflow ui --backend-store-uri …`, opens the bake-off's runs."""
    import socket
    import time
    import urllib.request

    _, _, result, stdout = telco_run
    assert f"mlflow ui --backend-store-uri {result['tracking_uri']}" in stdout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlflow_cli = str(BAKEOFF_BIN.with_name("mlflow"))
    experiment = mlflow.MlflowClient(result["tracking_uri"]).get_run(result["mlflow_run_id"]).info.experiment_id
    # one server worker (four start by default: seconds each on two cores) and none of MLflow's
    # job runners (processes of their own for its GenAI jobs, which a bake-off has none of), in
    # a process group of its own so that it is ended at once rather than shut down gracefully
    server = subprocess.Popen([mlflow_cli, "ui", "--backend-store-uri", result["tracking_uri"],
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        request = urllib.request.Request(
            f"{base}/api/2.0/mlflow/runs/search", method="POST",
            data=json.dumps({"experiment_ids": [experiment], "max_results": 100}).encode(),
            headers={"Content-Type": "application/json"})
        runs = json.loads(urllib.request.urlopen(request, timeout=10).read())["runs"]
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    names = sorted(r["info"]["run_name"] for r in runs)
    assert names == sorted([r["name"] for r in result["candidates"]] + [result["run_id"]])


def test_provenance_names_the_commit_and_says_when_the_tree_is_dirty(tmp_path):
    from bakeoff.core.provenance import git_state

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    assert git_state(tmp_path) == (None, None)  # not a repository
    git("init", "-q")
    (tmp_path / "bakeoff.toml").write_text("[problem]\nname = 'x'\n")
    git("add", "bakeoff.toml")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "card")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert git_state(tmp_path) == (head, False)
    (tmp_path / "bakeoff.toml").write_text("[problem]\nname = 'changed'\n")
    assert git_state(tmp_path) == (head, True)
