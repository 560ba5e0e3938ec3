"""`bakeoff review`: a local page where subject-matter experts judge a run's predictions.

The FastAPI app shows held-out rows (saved with the run in review_rows.json) scored by one
candidate; each verdict is appended to the feedback store in its own transaction. Forms are
plain HTML (no JavaScript); a malformed or oversized form is refused with one line and
nothing is stored.
"""

# no `from __future__ import annotations`: FastAPI reads the route functions' annotations, and
# `Request` is imported inside create_app, where a string annotation could not be resolved
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from bakeoff.adapters.feedback import VERDICTS, FeedbackStore, Verdict, store_url
from bakeoff.core.runstore import read_card, read_result
from bakeoff.core.units import readable
from bakeoff.errors import ConfigError
from bakeoff.tasks.tabular.predict import load_model

MAX_FORM_BYTES = 16 * 1024
MAX_COMMENT = 2000
MAX_NAME = 80
TOO_LARGE = f"the form is larger than {MAX_FORM_BYTES // 1024} KB; shorten the comment"
LOCAL_HOSTS = ["127.0.0.1", "localhost"]


@dataclass
class ReviewSet:
    """The rows to review, scored by the candidate under review."""

    run_id: str
    problem: str
    question: str
    candidate: str
    title: str
    task: str
    classes: list[str]
    rows: list[dict]  # key, features, predicted, probability
    store_url: str
    mlflow: tuple[str, str] | None  # (tracking uri, parent run id) when the run was tracked


def load_review_set(run_dir: Path, candidate: str = "recommended", limit: int = 30) -> ReviewSet:
    """Read a run folder and score its review rows with `candidate`."""
    import pandas as pd

    result = read_result(run_dir)
    rows_file = run_dir / "review_rows.json"
    if not rows_file.is_file():
        raise ConfigError(f"run {run_dir.name} has no review rows (it was made by an older bakeoff); "
                          "run the card again and review the new run")
    try:
        sample = json.loads(rows_file.read_text())[:limit]
    except ValueError as err:
        raise ConfigError(f"{rows_file} cannot be read ({type(err).__name__}); the run folder is damaged: "
                          "run the card again") from err
    bundle = load_model(run_dir, candidate)
    scored = bundle.score(pd.DataFrame([r["features"] for r in sample]))
    rows = []
    for entry, (_, out) in zip(sample, scored.iterrows()):
        shown = readable(float(out["prediction"])) if bundle.task == "regression" else str(out["prediction"])
        rows.append({"key": entry["key"], "features": entry["features"], "predicted": _text(out["prediction"]),
                     "shown": shown,
                     "probability": _sure(out, bundle.classes) if bundle.task == "classification" else None})
    from bakeoff.core.runstore import store_dir

    card = read_card(run_dir)
    row = next((c for c in result["candidates"] if c["name"] == bundle.name), {})
    mlflow = (_tracking_uri(result, card), result["mlflow_run_id"]) if result.get("mlflow_run_id") else None
    return ReviewSet(result["run_id"], card.problem.name, card.problem.question, bundle.name,
                     row.get("title") or bundle.name, bundle.task, list(bundle.classes), rows,
                     store_url(card.store.url, store_dir(card)), mlflow)


def _tracking_uri(result: dict, card) -> str:
    """The run's MLflow store; result.json keeps it without its credentials, so a masked one is
    found again from MLFLOW_TRACKING_URI or the card's [store] (${VARIABLE} expanded)."""
    from bakeoff.core.urls import is_masked

    if not is_masked(result["tracking_uri"]):
        return result["tracking_uri"]
    from bakeoff.adapters.tracking_store import tracking_uri
    from bakeoff.core.runstore import store_dir

    return tracking_uri(card.store.tracking_uri, store_dir(card))


def _sure(scored_row, classes: list[str]) -> float:
    """How sure the model is of the label it gives: that label's probability."""
    if "probability" not in scored_row:  # multiclass: one column per class
        return float(max(scored_row[f"probability_{c}"] for c in classes))
    positive = float(scored_row["probability"])
    return positive if scored_row["prediction"] == classes[-1] else 1 - positive


def _text(value) -> str:
    """A prediction or answer as stored and compared: full precision, no float noise."""
    return f"{value:.15g}" if isinstance(value, float) else str(value)


class FormError(ValueError):
    """A reviewer's form that cannot be stored; the message says what to change."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_verdict(body: bytes, review: ReviewSet) -> Verdict:
    """Check one posted form completely before anything is stored; FormError says why not."""
    if len(body) > MAX_FORM_BYTES:
        raise FormError(TOO_LARGE, 413)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=10)
    except (UnicodeDecodeError, ValueError) as err:
        raise FormError(f"the form could not be read ({err}); submit it from the review page") from err
    if any(len(values) > 1 for values in fields.values()):
        raise FormError("a form field was sent twice; submit one verdict per row")
    field = {name: values[0].strip() for name, values in fields.items()}
    by_key = {row["key"]: row for row in review.rows}
    row = by_key.get(field.get("row", ""))
    if row is None:
        raise FormError("the form names no row of this review; reload the review page and try again")
    verdict = field.get("verdict", "")
    if verdict not in VERDICTS:
        raise FormError("choose 'looks right' or 'wrong' for the row before saving")
    answer = field.get("answer") or None
    if answer is not None:
        answer = _check_answer(answer, review)
        if verdict == "right" and answer != row["predicted"]:
            raise FormError("an answer that differs from the prediction means the prediction is wrong; "
                            "mark it 'wrong' or clear the answer")
        if verdict == "wrong" and answer == row["predicted"]:
            raise FormError("the right answer you gave is what the model predicted; mark it 'looks right'")
    comment, reviewer = field.get("comment", ""), field.get("reviewer", "")
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in comment + reviewer):
        raise FormError("the comment or name holds control characters; type plain text")
    if len(comment) > MAX_COMMENT:
        raise FormError(f"the comment is longer than {MAX_COMMENT} characters; shorten it")
    if len(reviewer) > MAX_NAME:
        raise FormError(f"the reviewer name is longer than {MAX_NAME} characters; shorten it")
    return Verdict(review.problem, review.run_id, review.candidate, row["key"], row["features"],
                   row["predicted"], verdict, answer, comment, reviewer or "anonymous")


def _check_answer(answer: str, review: ReviewSet) -> str:
    if review.task == "classification":
        if answer not in review.classes:
            raise FormError(f"the answer {answer[:40]!r} is not one of {', '.join(review.classes)}; pick one of those")
        return answer
    try:
        value = float(answer)
    except ValueError:
        raise FormError(f"the answer {answer[:40]!r} is not a number; write the right value, e.g. 120.5") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FormError("the answer must be a finite number")
    return _text(value)


def _check_origin(origin: str | None, own: str) -> None:
    """A form posted by another web site (the expert's browser visiting it) is refused."""
    if origin and origin != "null" and origin.split("://", 1)[-1] != own:
        raise FormError(f"forms may only be posted from the review page itself, not {origin[:80]}", 403)


def _reviewer_of(body: bytes) -> str:
    """The reviewer's name from a form that was refused, so the page keeps it."""
    try:
        return parse_qs(body.decode("utf-8", "ignore")).get("reviewer", [""])[0][:MAX_NAME]
    except ValueError:
        return ""


def log_to_mlflow(review: ReviewSet, store: FeedbackStore) -> None:
    """Put the run's feedback on its MLflow parent run: an artifact and two counts."""
    if review.mlflow is None:
        return
    from bakeoff.adapters.tracking import log_feedback
    from bakeoff.errors import TrackingError

    try:
        log_feedback(*review.mlflow, store.verdicts(review.problem, review.run_id))
    except TrackingError as err:  # the store has the feedback; MLflow catches up on the next start
        print(f"warning: {err}", file=sys.stderr)


async def read_form(request, body: bytearray) -> None:
    """Read the posted form into `body`; FormError when it is too large, comes from another page
    or is not a form (what was read stays in `body`, to keep the reviewer's name)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormError(TOO_LARGE, 413)
    _check_origin(request.headers.get("origin"), request.url.netloc)
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise FormError("send the form as application/x-www-form-urlencoded, as the review page does", 415)
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(TOO_LARGE, 413)


def create_app(review: ReviewSet, store: FeedbackStore):
    """The review web app (FastAPI)."""
    from contextlib import asynccontextmanager

    import jinja2
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
    from sqlalchemy.exc import SQLAlchemyError
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    template = jinja2.Environment(autoescape=True).from_string(
        resources.files("bakeoff.tasks.tabular").joinpath("review.html").read_text(encoding="utf-8"))

    @asynccontextmanager
    async def lifespan(_app):
        log_to_mlflow(review, store)  # catch up on what was stored before a crash
        yield
        log_to_mlflow(review, store)

    app = FastAPI(title="bakeoff review", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    # only pages served from this machine's own address may read or post (no DNS rebinding)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS)

    def page(reviewer: str = "", error: str = "", status: int = 200) -> HTMLResponse:
        given = {}
        try:
            verdicts = store.verdicts(review.problem, review.run_id)
        except SQLAlchemyError as err:
            verdicts, error = [], error or f"cannot read the feedback store ({type(err).__name__}); reload in a moment"
            status = max(status, 503)
        for v in verdicts:
            given.setdefault(v["row_key"], []).append(v)
        html = template.render(review=review, given=given, reviewer=reviewer, error=error,
                               reviewed=sum(1 for r in review.rows if r["key"] in given))
        return HTMLResponse(html, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def index(reviewer: str = ""):
        return page(reviewer[:MAX_NAME])

    @app.post("/feedback")
    async def feedback(request: Request):
        body = bytearray()
        try:
            await read_form(request, body)
            verdict = parse_verdict(bytes(body), review)
            await run_in_threadpool(store.add, verdict)
        except FormError as err:
            return page(_reviewer_of(bytes(body)), str(err), err.status)
        except SQLAlchemyError as err:  # the store is down or locked: say so, keep the page usable
            return page(verdict.reviewer, f"could not save to the feedback store ({type(err).__name__}); "
                        "nothing was stored, try again in a moment", 503)
        query = urlencode({"reviewer": verdict.reviewer if verdict.reviewer != "anonymous" else ""})
        return RedirectResponse(f"/?{query}#row-{verdict.row_key}", status_code=303)

    @app.get("/api/feedback")
    def feedback_json():
        return JSONResponse(store.verdicts(review.problem, review.run_id))

    return app


def serve(review: ReviewSet, port: int = 8765, on_ready=None) -> None:
    """Serve the review page on 127.0.0.1 until interrupted; port 0 picks a free port."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)  # connections wait in the queue until the app is up
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on 127.0.0.1:{port} ({err.strerror}); pass --port with a free port, "
                          "or --port 0 for any") from err
    with sock:
        store = FeedbackStore(review.store_url)
        try:
            if on_ready is not None:
                on_ready(f"http://127.0.0.1:{sock.getsockname()[1]}/")
            config = uvicorn.Config(create_app(review, store), log_level="warning", timeout_graceful_shutdown=3)
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            store.close()
