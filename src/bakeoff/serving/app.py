"""The HTTP server of `bakeoff serve` (FastAPI): predictions from the champion and challenger,
feedback, health, readiness and Prometheus metrics.

    POST /v1/predict   {"rows": [{column: value, ...}, ...]}  ->  {"predictions": [{"request_id",
                       "prediction", "probability", "model", "version", "arm"}, ...]}
    POST /v1/feedback  {"request_id": "...", "label": "Yes"} (or "entity"; or a list under
                       "feedback"); needs the token when the server has one
    GET  /v1/schema    the fields a row may hold: each column's kind, a category's known levels
    GET  /healthz  /readyz  /metrics

A row's value its column cannot hold is a 422 naming the row and column; a body over the size
limit is a 413. Rows are scored one by one through the task's row scorer (no DataFrame), batches
of more than a few rows through the DataFrame path.
"""


import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass

import orjson

from bakeoff.serving.arms import CHALLENGER, CHAMPION, Policy, arm_for
from bakeoff.serving.openapi import feedback_body, predict_body

MAX_BODY_BYTES = 1 << 20  # 1 MiB: about 2,000 Telco rows per request
MAX_ROWS = 5_000  # rows per request: a batch holds the one worker for its time
logger = logging.getLogger("bakeoff.serving")


@dataclass
class Settings:
    name: str
    policy: Policy
    token: str = ""
    max_body_bytes: int = MAX_BODY_BYTES


def create_app(live, log, settings: Settings, on_shutdown=lambda: None):
    """The FastAPI app over `live` (serving.live.Live, loaded) writing to `log` (PredictionLog);
    `on_shutdown` runs once the requests in flight are answered (uvicorn's lifespan), before
    the process exits."""
    import contextlib

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    metrics = _Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        on_shutdown()

    app = FastAPI(title=f"bakeoff serve: {settings.name}", docs_url="/docs", lifespan=lifespan)

    def refuse(status: int, detail, arm: str = "", version: str = ""):
        metrics.errors.labels(arm, version, str(status)).inc()
        return JSONResponse({"detail": detail}, status_code=status)

    _predict_route(app, live, log, settings, metrics, refuse)
    _feedback_route(app, live, log, settings, refuse)
    _status_routes(app, live, settings, metrics)
    return app


class _Metrics:
    """The server's Prometheus metrics: rows answered, refusals and failures, latency; by arm and version."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("bakeoff_predictions", "Rows answered", ["arm", "version"], registry=self.registry)
        self.errors = Counter("bakeoff_errors", "Requests refused or failed", ["arm", "version", "status"],
                              registry=self.registry)
        self.latency = Histogram("bakeoff_latency_seconds", "Time to answer a predict request", ["arm", "version"],
                                 buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
                                 registry=self.registry)


def _predict_route(app, live, log, settings: Settings, metrics: _Metrics, refuse) -> None:
    from fastapi import Request
    from fastapi.responses import Response

    documented = predict_body(live.arms[CHAMPION].scorer.fields(), MAX_ROWS)  # /docs: the champion's at start

    @app.post("/v1/predict", openapi_extra={"requestBody": documented})
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        body = await _body(request, settings.max_body_bytes)
        if body is None:
            return refuse(413, f"the request is over {settings.max_body_bytes:,} bytes; send fewer rows per request")
        rows, problem = _rows(body)
        if problem:
            return refuse(422, [{"loc": ["body", "rows"], "msg": problem, "type": "value_error"}])
        if len(rows) > MAX_ROWS:
            return refuse(413, f"{len(rows):,} rows in one request; send at most {MAX_ROWS:,} (the others wait "
                               "behind a batch)")
        arms = live.arms
        try:
            answers = _answer(rows, arms, settings.policy)
        except _BadRow as bad:
            return refuse(422, [{"loc": ["body", "rows", bad.index, bad.column], "msg": bad.message,
                                 "type": "value_error"}])
        except Exception as err:  # the model itself failed: the client learns it, the operator sees it
            logger.exception("scoring failed")
            champion = arms.get(CHAMPION)
            return refuse(500, f"the model failed on these rows ({type(err).__name__}); see the server's log",
                          CHAMPION, str(champion.version) if champion else "")
        seconds = time.perf_counter() - started
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        out = []
        for row, answer in zip(rows, answers):
            for arm_name, outputs, answered in answer.scored:
                arm = arms[arm_name]
                log.add((answer.request_id, now, arm.name, arm.version, arm_name, answered, answer.entity,
                         row, outputs, seconds * 1000 / len(rows)))  # JSON text in the log's own thread
                if answered:
                    out.append({"request_id": answer.request_id, **outputs, "model": arm.name,
                                "version": arm.version, "arm": arm_name})
                    metrics.requests.labels(arm_name, str(arm.version)).inc()
        first = out[0] if out else {"arm": CHAMPION, "version": ""}
        metrics.latency.labels(first["arm"], str(first["version"])).observe(seconds)
        return Response(orjson.dumps({"predictions": out}, option=orjson.OPT_SERIALIZE_NUMPY, default=_plain),
                        media_type="application/json")


def _feedback_route(app, live, log, settings: Settings, refuse) -> None:
    from fastapi import Request
    from fastapi.responses import JSONResponse, Response

    labels = getattr(live.arms[CHAMPION].scorer, "labels", lambda: None)()

    @app.post("/v1/feedback", openapi_extra={"requestBody": feedback_body(labels)})
    async def feedback(request: Request) -> Response:
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if settings.token and (scheme.lower() != "bearer" or given.strip() != settings.token):
            return refuse(401, "this endpoint needs the server's token: Authorization: Bearer TOKEN")
        body = await _body(request, settings.max_body_bytes)
        if body is None:
            return refuse(413, f"the request is over {settings.max_body_bytes:,} bytes")
        records, problem = _feedback(body)
        if problem:
            return refuse(422, [{"loc": ["body"], "msg": problem, "type": "value_error"}])
        known = getattr(live.arms[CHAMPION].scorer, "labels", lambda: None)()
        strange = sorted({r[2] for r in records} - set(known or ()))
        if known and strange:
            return refuse(422, [{"loc": ["body", "label"], "msg": f"{strange[0]!r} is none of the model's classes "
                                 f"({', '.join(known)})", "type": "value_error"}])
        for record in records:
            log.add(record, "feedback")
        return JSONResponse({"recorded": len(records)})


def _status_routes(app, live, settings: Settings, metrics: _Metrics) -> None:
    from fastapi.responses import JSONResponse, PlainTextResponse, Response
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    @app.get("/v1/schema")
    async def schema() -> Response:
        """The fields a request row may hold, per arm (from the training columns)."""
        arms = live.arms
        return Response(orjson.dumps({"model": settings.name, "arms": {
            name: {"version": arm.version, "entity": arm.entity, "fields": arm.scorer.fields()}
            for name, arm in arms.items()}}, option=orjson.OPT_SERIALIZE_NUMPY, default=_plain),
            media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        if not live.ready:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "arms": {k: {"model": a.name, "version": a.version}
                                                         for k, a in live.arms.items()}})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return PlainTextResponse(generate_latest(metrics.registry).decode(), media_type=CONTENT_TYPE_LATEST)


def _plain(value):
    """A value orjson does not know (a numpy scalar such as a class label 1): its Python twin."""
    return value.item() if hasattr(value, "item") else str(value)


async def _body(request, limit: int) -> bytes | None:
    """The request's body, or None when it is over `limit` bytes (by its header, or as read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = await request.body()
    return None if len(body) > limit else body


def _rows(body: bytes) -> tuple[list[dict], str]:
    try:
        parsed = _parse(body)
    except ValueError:
        return [], "the body is not JSON; send {\"rows\": [{...}, ...]}"
    rows = parsed.get("rows") if isinstance(parsed, dict) else None
    if not isinstance(rows, list) or not rows:
        return [], "send {\"rows\": [{column: value, ...}, ...]} with at least one row"
    odd = next((k for k, row in enumerate(rows) if not isinstance(row, dict)), None)
    if odd is not None:
        return [], f"row {odd} is not an object; send each row as {{column: value, ...}}"
    return rows, ""


def _parse(body: bytes):
    """JSON by orjson; what it refuses and the standard reads (a number beyond a double, 1e400:
    infinite, read as missing as offline) by the json module."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        import json

        return json.loads(body)


class _BadRow(Exception):
    def __init__(self, index: int, column: str, message: str):
        self.index, self.column, self.message = index, column, message


@dataclass
class _Answer:
    request_id: str
    entity: str
    scored: list  # (arm, outputs, answered) per arm that scored the row


def _answer(rows: list[dict], arms: dict, policy: Policy) -> list[_Answer]:
    """Each row's arm (by its entity) and outputs; shadow rows are scored by both arms."""
    from bakeoff.errors import BadValue

    champion = arms[CHAMPION]
    answers = []
    for row in rows:
        request_id = uuid.uuid4().hex
        entity = row.get(champion.entity) if champion.entity else None
        entity = str(entity) if entity is not None else ""
        arm = arm_for(policy, entity or request_id) if CHALLENGER in arms else CHAMPION
        answers.append(_Answer(request_id, entity, [(arm, None, True)]))
        if policy.mode == "shadow" and CHALLENGER in arms:
            answers[-1].scored.append((CHALLENGER, None, False))
    for arm_name in {name for a in answers for name, _, _ in a.scored}:
        mine = [(i, k) for i, a in enumerate(answers) for k, (name, _, _) in enumerate(a.scored) if name == arm_name]
        try:
            outputs = arms[arm_name].scorer.score_many([rows[i] for i, _ in mine])
        except BadValue as err:
            column, _, message = str(err).partition(": ")
            index = _first_bad(arms[arm_name].scorer, [rows[i] for i, _ in mine])
            raise _BadRow(mine[index][0], column, message) from None
        for (i, k), output in zip(mine, outputs):
            name, _, answered = answers[i].scored[k]
            answers[i].scored[k] = (name, output, answered)
    return answers


def _first_bad(scorer, rows: list[dict]) -> int:
    from bakeoff.errors import BadValue

    for index, row in enumerate(rows):
        try:
            scorer.clean(row)
        except BadValue:
            return index
    return 0


def _feedback(body: bytes) -> tuple[list[tuple], str]:
    """(request_id, entity, label, at) records from {"request_id" or "entity", "label"}, or a
    list of them under "feedback"."""
    try:
        parsed = _parse(body)
    except ValueError:
        return [], "the body is not JSON; send {\"request_id\": \"...\", \"label\": \"...\"}"
    items = parsed.get("feedback", [parsed]) if isinstance(parsed, dict) else None
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    records = []
    for item in items if isinstance(items, list) else [None]:
        if not isinstance(item, dict) or "label" not in item or not (item.get("request_id") or item.get("entity")):
            return [], "each feedback needs a label and a request_id (from the prediction) or an entity id"
        records.append((item.get("request_id"), None if item.get("entity") is None else str(item["entity"]),
                        str(item["label"]), now))
    return records, ""
