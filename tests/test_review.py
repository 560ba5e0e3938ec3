"""`bakeoff review` as an expert uses it: a real server, a real browser, a real store, a crash."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import threading
import uuid
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest
from browser import chromium_page, screenshot
from conftest import BAKEOFF, QUICK_TELCO_CARD, cli, only_run, read_result, write_card

from bakeoff.adapters.feedback import FeedbackStore, Verdict
from bakeoff.core.bake import plan
from bakeoff.core.card import load_card
from bakeoff.tasks.tabular.expect import Expectation, expectations, row_keys

ONLY = "constant,one_rule,linear,decision_tree"


@pytest.fixture(scope="module")
def reviewed_run(tmp_path_factory, telco):
    folder = tmp_path_factory.mktemp("review")
    telco.sample(1500, random_state=4).to_csv(folder / "telco.csv", index=False)
    write_card(folder, QUICK_TELCO_CARD)
    done = cli("run", "bakeoff.toml", "--only", ONLY, cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder, only_run(folder)


class ReviewServer:
    """`bakeoff review RUN_ID --port 0` in its own process, with the URL it printed."""

    def __init__(self, folder: Path, run_id: str, *args: str):
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        self.process = subprocess.Popen([str(BAKEOFF), "review", run_id, "--port", "0", *args], cwd=folder,
                                        env=env, stderr=subprocess.PIPE, text=True)
        try:
            self.url = self._read_url()
        except BaseException:
            self.process.kill()
            raise

    def _read_url(self, timeout: float = 60) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        seen = ""
        while selector.select(timeout):
            line = self.process.stderr.readline()
            seen += line
            if "http://127.0.0.1:" in line:
                url = line.split(" at ")[1].split()[0]
                httpx.get(url, timeout=30).raise_for_status()
                return url
            if not line:
                break
        raise AssertionError(f"the review server did not start: {seen}")

    def stop(self, sig=signal.SIGINT) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)


def stored(folder: Path) -> list[dict]:
    store = FeedbackStore(f"sqlite:///{folder / '.bakeoff' / 'feedback.db'}")
    try:
        return store.verdicts("telco test")
    finally:
        store.close()


def test_an_expert_marks_two_rows_and_the_next_run_checks_every_candidate_on_them(reviewed_run):
    folder, run_dir = reviewed_run
    first = read_result(run_dir)
    server = ReviewServer(folder, run_dir.name, "--rows", "12")
    try:
        with chromium_page() as (page, watch):
            page.goto(server.url + "?reviewer=Ann")
            cases = page.locator(".case")
            assert cases.count() == 12
            for text in page.locator(".prediction").all_inner_texts():  # how sure of the label it shows
                assert 50 <= int(text.split("(")[1].split(" %")[0]) <= 100
            wrong_key = cases.nth(0).get_attribute("data-key")
            predicted = cases.nth(0).locator(".prediction strong").inner_text()
            other = "No" if predicted == "Yes" else "Yes"
            cases.nth(0).locator("input[value=wrong]").check()
            cases.nth(0).locator("select[name=answer]").select_option(other)
            cases.nth(0).locator("textarea").fill("long contract, never leaves")
            cases.nth(0).locator("button").click()
            page.wait_for_load_state("load")
            right_case = page.locator(".case").nth(1)
            right_key = right_case.get_attribute("data-key")
            right_case.locator("input[value=right]").check()
            right_case.locator("button").click()
            page.wait_for_load_state("load")
            assert "2 of 12 cases reviewed" in page.locator(".sub").inner_text()
            screenshot(page, "review-page-test.png")
        assert watch.console_errors == [] and watch.page_errors == []
    finally:
        server.stop(signal.SIGKILL)  # a crash: nothing may depend on a clean shutdown
    restarted = ReviewServer(folder, run_dir.name, "--rows", "12")
    try:
        with chromium_page() as (page, _):
            page.goto(restarted.url)
            assert page.locator(".case.done").count() == 2
            assert "Ann: wrong, should be " + other in page.locator(f'[data-key="{wrong_key}"]').inner_text()
    finally:
        restarted.stop()  # graceful: the feedback goes to the MLflow run on the way out
    parent = mlflow.MlflowClient(first["tracking_uri"]).get_run(first["mlflow_run_id"])
    assert parent.data.metrics["sme_reviewed"] == 2 and parent.data.metrics["sme_marked_wrong"] == 1

    again = cli("run", "bakeoff.toml", "--only", ONLY, "--no-track", "--out", "second", cwd=folder)
    assert again.returncode == 0, again.stderr
    second_dir = only_run(folder / "second")
    second = read_result(second_dir)
    assert second["expectations"]["total"] == 2
    assert second["training_rows"] + second["holdout_rows"] == first["training_rows"] + first["holdout_rows"] - 2
    assert any("subject-matter experts answered" in note for note in second["notes"])
    for row in second["candidates"]:
        assert row["expectations"]["total"] == 2
        missed = set(row["expectations"]["missed"])
        assert row["expectations"]["right"] == 2 - len(missed) and missed <= {wrong_key, right_key}
    constant = next(r for r in second["candidates"] if r["name"] == "constant")
    # the constant always says the majority 'No': it meets exactly the cases whose answer is 'No'
    answers = {wrong_key: other, right_key: page_prediction(stored(folder), right_key)}
    assert constant["expectations"]["right"] == sum(a == "No" for a in answers.values())
    html = (second_dir / "report.html").read_text()
    assert "expert cases" in html and f"{constant['expectations']['right']} of 2" in html
    # each run's holdout stays its own for `bakeoff sql --check`, whatever experts said since
    from bakeoff.tasks.tabular.indb import holdout_rows

    assert len(holdout_rows(run_dir)) == first["holdout_rows"]
    assert len(holdout_rows(second_dir)) == second["holdout_rows"]
    # and the split of every other row stays: the second holdout is the first without the two judged rows
    first_ids, second_ids = (set(holdout_rows(d)["customerID"]) for d in (run_dir, second_dir))
    assert second_ids <= first_ids and len(first_ids - second_ids) == 2
    assert second["training_rows"] == first["training_rows"]


def page_prediction(verdicts: list[dict], key: str) -> str:
    return next(v["predicted"] for v in verdicts if v["row_key"] == key)


def test_malformed_or_oversized_forms_get_a_clear_error_and_nothing_is_stored(reviewed_run):
    folder, run_dir = reviewed_run
    server = ReviewServer(folder, run_dir.name)
    try:
        before = httpx.get(server.url + "api/feedback").json()
        key = json.loads((run_dir / "review_rows.json").read_text())[0]["key"]
        form = {"content-type": "application/x-www-form-urlencoded"}
        bad = [
            ({"row": key, "verdict": "maybe"}, 400, "choose 'looks right' or 'wrong'"),
            ({"row": "id:nobody", "verdict": "right"}, 400, "names no row of this review"),
            ({"row": key, "verdict": "wrong", "answer": "Perhaps"}, 400, "is not one of No, Yes"),
            ({"row": key, "verdict": "right", "comment": "x" * 3000}, 400, "longer than 2000 characters"),
            ({"row": key, "verdict": "right", "comment": "x" * 20000}, 413, "larger than 16 KB"),
        ]
        for data, status, message in bad:
            answer = httpx.post(server.url + "feedback", data=data)
            assert answer.status_code == status, (data, answer.status_code)
            assert message.replace("'", "&#39;") in answer.text
        garbage = httpx.post(server.url + "feedback", content=b"row=%ZZ&&&verdict", headers=form)
        assert garbage.status_code == 400 and "could not be read" in garbage.text
        as_json = httpx.post(server.url + "feedback", json={"row": key, "verdict": "right"})
        assert as_json.status_code == 415
        assert httpx.get(server.url + "api/feedback").json() == before
    finally:
        server.stop()


def test_a_crash_mid_write_and_two_reviewers_at_once_lose_nothing(reviewed_run):
    folder, run_dir = reviewed_run
    keys = [r["key"] for r in json.loads((run_dir / "review_rows.json").read_text())]
    server = ReviewServer(folder, run_dir.name)
    acknowledged: list[tuple[str, str]] = []
    crash = threading.Event()

    def reviewer(name: str) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for i in range(200):
                comment = f"{name} note {i}"
                try:
                    answer = client.post("feedback", data={"row": keys[i % len(keys)], "verdict": "right",
                                                           "reviewer": name, "comment": comment})
                except httpx.TransportError:
                    return  # the server died under us
                if answer.status_code == 303:
                    acknowledged.append((name, comment))
                if len(acknowledged) >= 40:
                    crash.set()

    threads = [threading.Thread(target=reviewer, args=(name,)) for name in ("Ann", "Bob")]
    for thread in threads:
        thread.start()
    crash.wait(120)
    server.stop(signal.SIGKILL)
    for thread in threads:
        thread.join(60)
    database = folder / ".bakeoff" / "feedback.db"
    with sqlite3.connect(database) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kept = {(v["reviewer"], v["comment"]) for v in stored(folder)}
    assert set(acknowledged) <= kept
    assert {name for name, _ in acknowledged} == {"Ann", "Bob"}
    restarted = ReviewServer(folder, run_dir.name)
    try:
        assert len(httpx.get(restarted.url + "api/feedback").json()) == len(
            [v for v in stored(folder) if v["run_id"] == run_dir.name])
    finally:
        restarted.stop()


def test_the_latest_verdict_with_an_answer_becomes_the_expectation():
    verdicts = [
        {"row_key": "id:1", "features": {"a": 1}, "predicted": "No", "verdict": "wrong", "answer": "Yes"},
        {"row_key": "id:1", "features": {"a": 1}, "predicted": "No", "verdict": "right", "answer": None},
        {"row_key": "id:2", "features": {"a": 2}, "predicted": "Yes", "verdict": "wrong", "answer": None},
        {"row_key": "id:3", "features": {"a": 3}, "predicted": "Yes", "verdict": "wrong", "answer": "No"},
        # a second expert agrees it is wrong but gives no answer: the first one's answer stands
        {"row_key": "id:3", "features": {"a": 3}, "predicted": "Yes", "verdict": "wrong", "answer": ""},
        # "right", then "wrong" without an answer: the expert took it back, nothing to check
        {"row_key": "id:4", "features": {"a": 4}, "predicted": "No", "verdict": "right", "answer": None},
        {"row_key": "id:4", "features": {"a": 4}, "predicted": "No", "verdict": "wrong", "answer": None},
    ]
    assert expectations(verdicts) == [Expectation("id:1", {"a": 1}, "No"), Expectation("id:3", {"a": 3}, "No")]


def test_rows_without_an_id_keep_their_key_through_a_csv_round_trip(tmp_path):
    frame = pd.DataFrame({"x": [1.5, None, 3.0], "city": ["Oslo", "Bergen", None], "n": [1, 2, 3]})
    frame.to_csv(tmp_path / "rows.csv", index=False)
    again = pd.read_csv(tmp_path / "rows.csv")
    assert row_keys(frame, ["x", "city", "n"]).tolist() == row_keys(again, ["x", "city", "n"]).tolist()
    assert row_keys(frame, ["x", "city", "n"]).nunique() == 3


def test_feedback_in_postgresql_named_by_the_card_reaches_the_next_plan(postgres_url, tmp_path, telco):
    telco.head(600).to_csv(tmp_path / "telco.csv", index=False)
    problem = f"telco test {uuid.uuid4().hex[:8]}"  # the server may be shared with other runs
    card_path = write_card(tmp_path, QUICK_TELCO_CARD.replace('"telco test"', f'"{problem}"')
                           + f'[store]\nurl = "{postgres_url}"\n')
    store = FeedbackStore(load_card(card_path).store.url.replace("postgresql://", "postgresql+psycopg://"))
    row = telco.iloc[5]
    features = {k: row[k] for k in telco.columns if k not in ("customerID", "Churn")}
    features = {k: v.item() if hasattr(v, "item") else v for k, v in features.items()}
    writers = [threading.Thread(target=store.add, args=(Verdict(problem, "r1", "linear", f"id:{row['customerID']}",
                                                                features, "No", "wrong", "Yes", "", name),))
               for name in ("Ann", "Bob", "Cy")]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert sorted(v["reviewer"] for v in store.verdicts(problem)) == ["Ann", "Bob", "Cy"]
    store.close()
    planned = plan(load_card(card_path))
    assert planned.expectations == [Expectation(f"id:{row['customerID']}", features, "Yes")]
    judged = planned.dataset.raw.index[planned.dataset.raw["customerID"] == row["customerID"]][0]
    used = set(planned.dataset.train_index) | set(planned.dataset.holdout_index)
    assert len(used) == 599 and judged not in used  # the judged row is in neither part


def _client(review, store):
    from fastapi.testclient import TestClient

    from bakeoff.tasks.tabular.review import create_app

    return TestClient(create_app(review, store), base_url="http://127.0.0.1:8765", follow_redirects=False)


def test_a_store_that_fails_mid_save_gets_a_clear_503_and_the_page_keeps_working(reviewed_run, tmp_path):
    import dataclasses

    from bakeoff.tasks.tabular.review import load_review_set

    _, run_dir = reviewed_run
    review = dataclasses.replace(load_review_set(run_dir), mlflow=None)
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    with _client(review, store) as client:
        key = review.rows[0]["key"]
        assert client.post("/feedback", data={"row": key, "verdict": "right", "reviewer": "Ann"}).status_code == 303
        with store.engine.begin() as con:  # the table goes away under the running server
            con.exec_driver_sql("DROP TABLE bakeoff_feedback")
        answer = client.post("/feedback", data={"row": key, "verdict": "right", "reviewer": "Ann"})
        assert answer.status_code == 503 and "could not save to the feedback store" in answer.text
        assert 'value="Ann"' in answer.text  # the expert's name survives the error


def test_only_the_review_page_itself_may_post(reviewed_run, tmp_path):
    import dataclasses

    from bakeoff.tasks.tabular.review import load_review_set

    _, run_dir = reviewed_run
    review = dataclasses.replace(load_review_set(run_dir), mlflow=None)
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    form = {"row": review.rows[0]["key"], "verdict": "right"}
    with _client(review, store) as client:
        foreign = client.post("/feedback", data=form, headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403 and "only be posted from the review page" in foreign.text
        rebound = client.post("/feedback", data=form, headers={"host": "evil.example"})
        assert rebound.status_code == 400
        assert client.get("/api/feedback", headers={"host": "evil.example"}).status_code == 400
        same = client.post("/feedback", data=form, headers={"origin": "http://127.0.0.1:8765"})
        assert same.status_code == 303
    assert len(store.verdicts(review.problem)) == 1


def test_a_bad_store_url_is_one_line_and_exit_2(tmp_path, telco):
    telco.head(300).to_csv(tmp_path / "telco.csv", index=False)
    for url in ("mysql://me@db/x", "not a url"):
        write_card(tmp_path, QUICK_TELCO_CARD + f'[store]\nurl = "{url}"\n')
        done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.startswith("error: cannot open the feedback store")
        assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_mlflow_counts_each_row_once_by_its_latest_verdict(tmp_path, monkeypatch):
    from bakeoff.adapters.tracking import log_feedback

    monkeypatch.chdir(tmp_path)  # the default experiment keeps its artifacts in ./mlruns

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        pass
    verdicts = [{"row_key": "a", "verdict": "wrong"}, {"row_key": "b", "verdict": "wrong"},
                {"row_key": "a", "verdict": "right"}, {"row_key": "c", "verdict": "wrong"},
                {"row_key": "c", "verdict": "wrong"}]
    log_feedback(uri, run.info.run_id, verdicts)
    metrics = mlflow.MlflowClient(uri).get_run(run.info.run_id).data.metrics
    assert metrics["sme_reviewed"] == 3 and metrics["sme_marked_wrong"] == 2


def test_an_expert_can_review_another_candidate_than_the_recommended(reviewed_run):
    """`bakeoff review RUN --candidate one_rule`: the same cases, scored by the rule, on the page."""
    import pandas as pd

    from bakeoff.errors import ConfigError
    from bakeoff.tasks.tabular.bundle import load_bundle
    from bakeoff.tasks.tabular.review import load_review_set

    folder, run_dir = reviewed_run
    rule = load_review_set(run_dir, "one_rule", limit=12)
    recommended = load_review_set(run_dir, limit=12)
    assert rule.candidate == "one_rule" and [r["key"] for r in rule.rows] == [r["key"] for r in recommended.rows]
    expected = load_bundle(run_dir / "models" / "one_rule.pkl").score(pd.DataFrame([r["features"] for r in rule.rows]))
    assert [r["predicted"] for r in rule.rows] == expected["prediction"].astype(str).tolist()
    server = ReviewServer(folder, run_dir.name, "--candidate", "one_rule", "--rows", "12")
    try:
        page = httpx.get(server.url, timeout=30).text
        assert rule.title in page
    finally:
        server.stop()
    with pytest.raises(ConfigError, match="no fitted candidate 'knn'"):
        load_review_set(run_dir, "knn")
