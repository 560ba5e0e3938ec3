"""Shipping as a user does it: promote a tracked run's candidates, serve them on loopback with a
real `bakeoff serve` process, send rows and feedback, swap the champion under load, kill the
server, and read the prediction log (DuckDB here, a real PostgreSQL in one test)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BAKEOFF, cli, make_classification_frame, only_run, read_result

CARD = """
[problem]
name = "serve test"
task = "classification"
[data]
source = "data.csv"
target = "label"
positive = "yes"
id = "cid"
[budget]
total = "60s"
per_candidate = "15s"
[ladder]
only = ["constant", "one_rule", "linear", "decision_tree", "lightgbm"]
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A tracked run of five candidates, the recommended one promoted as churn's champion and
    lightgbm as its challenger."""
    folder = tmp_path_factory.mktemp("shop")
    frame = make_classification_frame(500)
    frame.insert(0, "cid", [f"c{i}" for i in range(len(frame))])
    frame.to_csv(folder / "data.csv", index=False)
    (folder / "bakeoff.toml").write_text(CARD)
    done = cli("run", "bakeoff.toml", cwd=folder)
    assert done.returncode == 0, done.stderr
    run_id = only_run(folder).name
    recommended = read_result(only_run(folder))["recommended"]
    for candidate, alias in (("recommended", "champion"), ("lightgbm", "challenger")):
        done = cli("promote", run_id, candidate, "--name", "churn", "--as", alias, cwd=folder)
        assert done.returncode == 0, done.stderr
        assert f"({recommended if alias == 'champion' else 'lightgbm'}, run {run_id}) is now the {alias}" in done.stdout
    return folder


def registry(folder: Path) -> str:
    return f"sqlite:///{folder / '.bakeoff' / 'mlflow.db'}"


def request_rows() -> list[dict]:
    """Rows as clients send them: numbers, numbers as text with spaces, nulls, a missing
    field, an unknown category and padded text."""
    frame = make_classification_frame(60, seed=5).drop(columns=["label"])
    rows = [{"cid": f"n{i}", **{k: (None if pd.isna(v) else v) for k, v in row.items()}}
            for i, row in enumerate(frame.to_dict("records"))]
    rows[0]["x1"] = f" {rows[0]['x1']} "
    rows[1]["x2"] = None
    del rows[2]["noise"]
    rows[3]["colour"] = "purple"
    rows[4]["colour"] = " red "
    rows[5]["x1"] = 3
    return rows


class Server:
    """`bakeoff serve` in its own process on a free loopback port."""

    def __init__(self, folder: Path, *args: str, name: str = "churn", env: dict | None = None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "MLFLOW_TRACKING_URI": "", **(env or {})}
        self.process = subprocess.Popen([str(BAKEOFF), "serve", name, "--registry", registry(folder), "--port",
                                         str(self.port), *args], cwd=folder, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        import httpx

        self.client = httpx.Client(base_url=self.url, timeout=30)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                if self.client.get("/readyz").status_code == 200:
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(0.2)
        raise AssertionError("the server did not become ready")

    def predict(self, rows: list[dict], **kwargs):
        return self.client.post("/v1/predict", content=json.dumps({"rows": rows}), **kwargs)

    def stop(self, sig=signal.SIGTERM) -> str:
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=60)
        self.client.close()
        return err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.stop(signal.SIGKILL)


def logged(folder: Path, name: str = "churn") -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(folder / ".bakeoff" / f"predictions-{name}.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM bakeoff_predictions").df()


def offline(folder: Path, candidate: str, rows: list[dict]) -> pd.DataFrame:
    """`bakeoff predict` on the same rows, written to a CSV as a user would."""
    pd.DataFrame(rows).to_csv(folder / "rows.csv", index=False)
    done = cli("predict", only_run(folder).name, candidate, "rows.csv", "-o", "scored.csv", cwd=folder)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(folder / "scored.csv")


@pytest.mark.parametrize("candidate", ["constant", "one_rule", "linear", "decision_tree", "lightgbm"])
def test_one_row_at_a_time_scores_as_bakeoff_predict(shop, candidate):
    from bakeoff.core.runstore import load_model, read_result
    from bakeoff.tasks.tabular.rowpath import RowScorer

    run = only_run(shop)
    scorer = RowScorer(load_model(run, candidate, read_result(run)))
    rows = request_rows()
    expected = offline(shop, candidate, rows)
    served = [scorer.score(row) for row in rows]
    assert [s["prediction"] for s in served] == expected["prediction"].tolist()
    assert np.allclose([s["probability"] for s in served], expected["probability"], rtol=0, atol=1e-12)
    if candidate == "linear":  # the fast path: the preprocessing's twin and the weights, no DataFrame
        assert scorer._linear is not None and scorer._inputs is not None


def test_the_server_answers_as_bakeoff_predict_and_refuses_bad_rows_by_name(shop):
    rows = request_rows()
    expected = offline(shop, "recommended", rows)
    with Server(shop) as server:
        one_by_one = [server.predict([row]).json()["predictions"][0] for row in rows]
        batch = server.predict(rows).json()["predictions"]
        for answers in (one_by_one, batch):
            assert [a["prediction"] for a in answers] == expected["prediction"].tolist()
            assert np.allclose([a["probability"] for a in answers], expected["probability"], rtol=0, atol=1e-12)
            assert {(a["model"], a["version"], a["arm"]) for a in answers} == {("churn", 1, "champion")}
            assert len({a["request_id"] for a in answers}) == len(rows)
        bad = server.predict([rows[0], {**rows[1], "x2": "lots"}])
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "rows", 1, "x2"]
        assert server.predict([{"x1": [1, 2]}]).status_code == 422
        typo = server.predict([{"X1": 1.0}])
        assert typo.status_code == 422 and typo.json()["detail"][0]["loc"][-1] == "X1"
        assert server.predict([{"x1": True}]).status_code == 422  # learned numbers, not true/false
        assert server.client.post("/v1/predict", content=b"{not json").status_code == 422
        odd = server.predict([rows[0], 3])
        assert odd.status_code == 422 and "row 1 is not an object" in odd.text
        beyond = server.client.post("/v1/predict", content=b'{"rows": [{"x1": 1e400}]}')  # infinite: missing
        assert beyond.status_code == 200 and beyond.json()["predictions"][0]["probability"] == pytest.approx(
            server.predict([{"x1": None}]).json()["predictions"][0]["probability"])
        huge = server.predict(rows * 2000)
        assert huge.status_code == 413
        assert server.predict([{}] * 6000).status_code == 413  # small, but too many rows for one request
        assert server.client.get("/healthz").json() == {"status": "ok"}
        fields = server.client.get("/v1/schema").json()["arms"]["champion"]["fields"]
        data = pd.read_csv(shop / "data.csv")
        assert list(fields) == ["x1", "x2", "noise", "colour"]  # the training columns, the id and target left out
        assert sorted(fields["colour"]["levels"]) == sorted(data["colour"].unique())
        assert fields["x1"]["kind"] == "number"
        metrics = server.client.get("/metrics").text
        # 60 rows one by one and as a batch, and the two single rows beside 1e400
        assert 'bakeoff_predictions_total{arm="champion",version="1"} 122.0' in metrics
        assert 'status="413"' in metrics and 'status="422"' in metrics
        err = server.stop()
    assert "stopped; 122 predictions logged" in err
    log = logged(shop)
    assert len(log) == 122 and set(log["arm"]) == {"champion"} and log["answered"].all()
    first = log[log["entity"] == "n0"].iloc[0]
    assert json.loads(first["inputs"])["x1"] == rows[0]["x1"]


def test_docs_show_the_request_bodies_of_the_champion_and_their_example_is_answered(shop):
    """The routes read raw JSON: /docs (OpenAPI) shows their bodies from the champion's training
    columns and classes, and the example it shows is a request the server answers."""
    with Server(shop, "--log", str(shop / "docs.duckdb")) as server:
        paths = server.client.get("/openapi.json").json()["paths"]
        predict = paths["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
        columns = predict["schema"]["properties"]["rows"]["items"]["properties"]
        labels = paths["/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        answered = server.client.post("/v1/predict", json=predict["example"])
        server.stop()
    data = pd.read_csv(shop / "data.csv")
    assert list(columns) == ["x1", "x2", "noise", "colour"]  # the training columns, as /v1/schema says
    assert columns["x1"]["type"] == ["number", "null"] and columns["colour"]["type"] == ["string", "null"]
    assert sorted(columns["colour"]["examples"]) == sorted(data["colour"].unique())
    assert labels["oneOf"][0]["properties"]["label"]["enum"] == sorted(str(c) for c in data["label"].unique())
    assert answered.status_code == 200 and len(answered.json()["predictions"]) == 1


def test_split_sends_the_same_entities_to_the_challenger_every_time(shop):
    rows = [{"cid": f"e{i}", "x1": 0.1, "x2": 0.2, "noise": 0.0, "colour": "red"} for i in range(400)]
    with Server(shop, "--challenger", "split:0.3", "--log", str(shop / "split.duckdb")) as server:
        first = {a["request_id"]: a for a in server.predict(rows).json()["predictions"]}
        again = server.predict(rows).json()["predictions"]
        server.stop()
    arms = [a["arm"] for a in first.values()]
    assert arms == [a["arm"] for a in again]  # by the entity's hash, not by chance
    assert 0.2 < arms.count("challenger") / len(arms) < 0.4
    assert {a["version"] for a in again if a["arm"] == "challenger"} == {2}


def test_shadow_answers_with_the_champion_and_logs_both(shop):
    rows = request_rows()[:10]
    log = shop / "shadow.duckdb"
    with Server(shop, "--challenger", "shadow", "--log", str(log)) as server:
        answers = server.predict(rows).json()["predictions"]
        server.stop()
    assert {a["arm"] for a in answers} == {"champion"} and len(answers) == 10
    import duckdb

    with duckdb.connect(str(log), read_only=True) as con:
        rows_logged = con.execute("SELECT arm, answered, COUNT(*) FROM bakeoff_predictions GROUP BY 1, 2 ORDER BY 1").fetchall()
    assert rows_logged == [("challenger", False, 10), ("champion", True, 10)]


def test_feedback_needs_the_token_and_joins_on_the_request_id(shop):
    log = shop / "feedback.duckdb"
    with Server(shop, "--token", "s3cret", "--log", str(log)) as server:
        answer = server.predict(request_rows()[:1]).json()["predictions"][0]
        given = {"request_id": answer["request_id"], "label": "yes"}
        assert server.client.post("/v1/feedback", json=given).status_code == 401
        ok = server.client.post("/v1/feedback", json=given, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json() == {"recorded": 1}
        maybe = server.client.post("/v1/feedback", json={**given, "label": "maybe"},
                                   headers={"Authorization": "bearer s3cret"})
        assert maybe.status_code == 422 and "none of the model's classes (no, yes)" in maybe.text
        (shop / "labels.csv").write_text("cid,truth\nn1,yes\nn2,yes\n007,yes\n,no\n")
        held = cli("feedback", "churn", "labels.csv", "--entity", "cid", "--label", "truth", "--log", str(log), cwd=shop)
        assert held.returncode == 2 and "held by a running bakeoff serve" in held.stderr  # the server writes it
        server.stop()
    for _ in range(2):  # the second time, and a corrected label, replace what was recorded: no duplicates
        done = cli("feedback", "churn", "labels.csv", "--entity", "cid", "--label", "truth", "--log", str(log),
                   cwd=shop)
        assert done.returncode == 0, done.stderr
        assert "recorded 3 labels" in done.stdout and "1 rows with a blank id or label left out" in done.stdout
        (shop / "labels.csv").write_text("cid,truth\nn1,no\nn2,yes\n007,yes\n,no\n")
    import duckdb

    with duckdb.connect(str(log), read_only=True) as con:
        joined = con.execute("SELECT p.arm, f.label FROM bakeoff_labels f JOIN bakeoff_predictions p USING (request_id)").fetchall()
        by_entity = con.execute("SELECT entity, label FROM bakeoff_labels WHERE request_id IS NULL ORDER BY 1").fetchall()
    assert joined == [("champion", "yes")]
    assert by_entity == [("007", "yes"), ("n1", "no"), ("n2", "yes")]  # 007 as written, n1 corrected


def test_a_new_champion_is_served_under_load_without_a_failed_request(shop):
    failures, versions, stop = [], [], threading.Event()
    row = request_rows()[:1]
    with Server(shop, "--log", str(shop / "swap.duckdb")) as server:
        def load():
            import httpx

            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    answer = client.post("/v1/predict", content=json.dumps({"rows": row}))
                    if answer.status_code != 200:
                        failures.append(answer.status_code)
                    else:
                        versions.append(answer.json()["predictions"][0]["version"])

        threads = [threading.Thread(target=load) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            done = cli("promote", only_run(shop).name, "decision_tree", "--name", "churn", "--as", "champion", cwd=shop)
            assert done.returncode == 0, done.stderr
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (not versions or versions[-1] != 3):
                time.sleep(0.2)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        server.stop()
    assert failures == []
    assert versions[0] == 1 and versions[-1] == 3
    assert versions == sorted(versions)  # once the new version answers, the old one never does again
    done = cli("promote", only_run(shop).name, "recommended", "--name", "churn", "--as", "champion", cwd=shop)
    assert done.returncode == 0, done.stderr  # the champion as the other tests expect it


def test_a_restart_starts_from_this_machine_s_copy_and_catches_up_with_the_registry(shop):
    """Promoted elsewhere while the server was down (the registry's alias moved; this machine's
    copy did not): the server starts at once from its copy, then serves the registry's choice."""
    from mlflow import MlflowClient

    with Server(shop, "--log", str(shop / "restart.duckdb")) as server:
        before = server.client.get("/readyz").json()["arms"]["champion"]["version"]
        server.stop()
    client = MlflowClient(tracking_uri=registry(shop), registry_uri=registry(shop))
    other = client.get_model_version_by_alias("churn", "challenger").version
    client.set_registered_model_alias("churn", "champion", other)  # as another machine's promote does
    try:
        with Server(shop, "--log", str(shop / "restart.duckdb")) as server:
            first = server.predict(request_rows()[:1]).json()["predictions"][0]["version"]
            deadline, now = time.monotonic() + 30, first
            while now != int(other) and time.monotonic() < deadline:
                time.sleep(0.2)
                now = server.predict(request_rows()[:1]).json()["predictions"][0]["version"]
            err = server.stop()
    finally:
        client.set_registered_model_alias("churn", "champion", before)
    assert first == before and now == int(other)  # started from the copy; caught up
    assert "as last served here, checking the registry" in err


def test_a_first_start_on_a_new_machine_serves_the_registry_s_champion_and_keeps_a_copy(shop, tmp_path):
    """No copy of the model here: the registry is read in a process of its own (while the server
    imports what loading needs); the champion it names is served, and kept for the next start."""
    from mlflow import MlflowClient

    champion = MlflowClient(tracking_uri=registry(shop)).get_model_version_by_alias("churn", "champion")
    machine = {"BAKEOFF_CACHE": str(tmp_path / "new-machine")}
    with Server(shop, "--log", str(tmp_path / "first.duckdb"), env=machine) as server:
        answer = server.predict(request_rows()[:3]).json()["predictions"]
        err = server.stop()
    assert {a["version"] for a in answer} == {int(champion.version)}
    assert f"loaded champion: churn version {champion.version}" in err and "as last served" not in err
    kept = list((tmp_path / "new-machine").rglob("champion.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["number"] == int(champion.version)
    with Server(shop, "--log", str(tmp_path / "first.duckdb"), env=machine) as server:
        assert "as last served here" in server.stop()


def test_kill_9_under_load_loses_at_most_the_stated_second(shop):
    from bakeoff.serving.predlog import LOSS_BOUND_SECONDS

    log = shop / "killed.duckdb"
    answered = []
    with Server(shop, "--log", str(log)) as server:
        rows = request_rows()
        started = time.monotonic()
        while time.monotonic() - started < 3:
            answer = server.predict(rows[len(answered) % 50:][:1]).json()["predictions"][0]
            answered.append((answer["request_id"], time.monotonic()))
        killed_at = time.monotonic()
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.communicate(timeout=30)
    import duckdb

    with duckdb.connect(str(log), read_only=True) as con:
        kept = {r[0] for r in con.execute("SELECT request_id FROM bakeoff_predictions").fetchall()}
    older = [rid for rid, at in answered if at < killed_at - LOSS_BOUND_SECONDS]
    assert older and set(older) <= kept
    assert len(kept) >= len(older)


def test_promote_refuses_what_cannot_be_served_in_one_line(shop, tmp_path):
    run_id = only_run(shop).name
    done = cli("promote", run_id, "nosuch", "--name", "churn", cwd=shop)
    assert done.returncode == 2 and "is not a candidate of it; promote one of" in done.stderr
    done = cli("promote", run_id, "linear", "--name", "churn", "--as", "boss", cwd=shop)
    assert done.returncode == 2 and "use champion or challenger" in done.stderr
    result_file = only_run(shop) / "result.json"
    saved = result_file.read_text()
    try:
        result = json.loads(saved)
        del result["provenance"]["data_sha256"]
        result_file.write_text(json.dumps(result))
        done = cli("promote", run_id, "linear", "--name", "churn", cwd=shop)
        assert done.returncode == 2 and "records no data fingerprint" in done.stderr
    finally:
        result_file.write_text(saved)
    untracked = tmp_path / "untracked"
    untracked.mkdir()
    make_classification_frame(200).to_csv(untracked / "data.csv", index=False)
    (untracked / "bakeoff.toml").write_text(CARD.replace('id = "cid"\n', "").replace(
        '"constant", "one_rule", "linear", "decision_tree", "lightgbm"', '"constant", "linear"'))
    assert cli("run", "bakeoff.toml", "--no-track", cwd=untracked).returncode == 0
    done = cli("promote", only_run(untracked).name, "linear", "--name", "churn", cwd=untracked)
    assert done.returncode == 2 and "was not tracked in MLflow" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_registered_version_carries_its_signature_provenance_and_reference_profile(shop):
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=registry(shop), registry_uri=registry(shop))
    version = client.get_model_version_by_alias("churn", "challenger")
    result = read_result(only_run(shop))
    row = next(r for r in result["candidates"] if r["name"] == "lightgbm")
    assert version.tags["bakeoff.run_id"] == result["run_id"] and version.tags["bakeoff.candidate"] == "lightgbm"
    assert version.tags["provenance.data_sha256"] == result["provenance"]["data_sha256"]
    assert float(version.tags["holdout_roc_auc"]) == pytest.approx(row["holdout_score"])
    info = mlflow.models.get_model_info(f"models:/churn/{version.version}")
    assert [c.name for c in info.signature.inputs.inputs] == ["x1", "x2", "noise", "colour"]
    profile = json.loads(Path(client.download_artifacts(version.run_id, "reference_profile.json")).read_text())
    data = pd.read_csv(shop / "data.csv")
    assert profile["rows"] == len(data)
    assert profile["columns"]["x1"]["mean"] == pytest.approx(data["x1"].mean())
    assert profile["columns"]["colour"]["levels"]["red"] == pytest.approx((data["colour"] == "red").mean())


@pytest.mark.postgres
def test_the_prediction_log_goes_to_postgresql(shop, postgres_url):
    import sqlalchemy

    with Server(shop, "--log", postgres_url) as server:
        answers = server.predict(request_rows()[:7]).json()["predictions"]
        err = server.stop()
    assert "7 predictions logged" in err
    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as con:
        found = {r[0] for r in con.exec_driver_sql("SELECT request_id FROM bakeoff_predictions").fetchall()}
    engine.dispose()
    assert {a["request_id"] for a in answers} <= found


def test_serve_refuses_in_one_line_what_it_cannot_serve(shop):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = cli("serve", "churn", "--registry", registry(shop), "--port", port, cwd=shop)
    assert done.returncode == 2 and "pass another --port" in done.stderr
    free = port  # closed again: free for the refusals below, which stop before listening
    done = cli("serve", "nobody", "--registry", registry(shop), "--port", free, cwd=shop)
    assert done.returncode == 2 and "has no champion" in done.stderr and "bakeoff promote" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = cli("serve", "churn", "--registry", registry(shop), "--challenger", "half", "--port", free, cwd=shop)
    assert done.returncode == 2 and "split:0.1" in done.stderr
