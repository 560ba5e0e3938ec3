"""The same Telco model behind `bakeoff serve`, `mlflow models serve` and a bare FastAPI endpoint
(the issue "Ship the winner", section Benchmark).

    python benchmarks/serve_vs_mlflow.py                # 20 s per server and concurrency
    python benchmarks/serve_vs_mlflow.py --seconds 5    # a quick look
    python benchmarks/serve_vs_mlflow.py --folder /tmp/sb --keep   # reuse a prepared folder

1. In a temporary folder: the Telco card with `[ladder] only = ["linear"]` and a short budget,
   `bakeoff run` (tracked in ./.bakeoff/mlflow.db), `bakeoff promote RUN linear --name telco
   --as champion`.
2. Three servers on 127.0.0.1, one worker process each, started one after another and then kept
   running side by side:
   - `bakeoff serve telco --registry URI` (schema validation and the prediction log on: the
     defaults), POST /v1/predict {"rows": [row]};
   - `mlflow models serve -m models:/telco@champion --env-manager local -w 1`
     (MLFLOW_TRACKING_URI = the registry), POST /invocations {"dataframe_records": [row]};
   - the limit of the stack: a bare FastAPI app on one uvicorn worker (written to the folder)
     that parses the same JSON row, one-hot encodes it and scores a 45-weight logistic
     regression (fitted here with scikit-learn on the same data) with numpy.
   All three run uvicorn with the stack installed in the venv (asyncio loop, h11 parser).
3. Time until ready: from the process start to the first answered prediction request (200).
4. Load: concurrency 1 and 8 for --seconds each, on keep-alive connections, one Telco row per
   request (the first 1,000 rows with a TotalCharges, cycled), each request pre-encoded. The
   client is a single-threaded epoll loop over raw sockets (no HTTP library), so that it takes
   as little as possible of the 2 cores it shares with the server under test; its own CPU per
   request is measured (and so its ceiling: requests per second it could send on one whole core).
   Each server's CPU per request is read from /proc over its process tree.
5. A table, the ratios (bakeoff against mlflow and against the bare endpoint), the issue's goals
   marked PASS or MISS, and the server-side time bakeoff logged for the same requests
   (`latency_ms` in its prediction log, DuckDB).

Servers are stopped at the end, on Ctrl-C and on errors (each runs in a process group of its
own, which is signalled: SIGINT for bakeoff serve so it writes its whole log, SIGTERM for the
others, SIGKILL for anything left after 15 s).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "telco_churn"
BIN = Path(sys.executable).parent
NAME = "telco"
ROWS = 1000
TICK = os.sysconf("SC_CLK_TCK")

GOAL_RPS_8 = 2000.0
GOAL_P50_1_MS = 1.0
GOAL_P99_8_MS = 10.0
GOAL_READY_S = 3.0


# --------------------------------------------------------------------------------------------
# 1. The model: a tracked run of `linear`, promoted as champion


def prepare(folder: Path, budget: str) -> str:
    """Run the Telco card's `linear` in `folder` and promote it; the registry URI."""
    shutil.copy(EXAMPLE / "Telco-Customer-Churn.csv", folder)
    card = (EXAMPLE / "bakeoff.toml").read_text()
    card = card.replace('total = "150s"', f'total = "{budget}"').replace('per_candidate = "40s"',
                                                                        f'per_candidate = "{budget}"')
    (folder / "bakeoff.toml").write_text(card + '\n[ladder]\nonly = ["linear"]\n')
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "bakeoff"), "run", "bakeoff.toml"], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bakeoff run failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    run_id = max(p.name for p in (folder / "runs").iterdir())
    print(f"bakeoff run (linear only, budget {budget}): {run_id} in {time.perf_counter() - started:.1f} s")
    done = subprocess.run([str(BIN / "bakeoff"), "promote", run_id, "linear", "--name", NAME, "--as", "champion"],
                          cwd=folder, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bakeoff promote failed:\n{done.stdout}{done.stderr}")
    print(done.stdout.strip().splitlines()[0])
    return done.stdout.split("--registry ")[-1].split()[0]


def telco_rows(folder: Path) -> list[dict]:
    """The first ROWS rows of the Telco CSV that have a TotalCharges, typed as a client sends them."""
    rows = []
    with open(folder / "Telco-Customer-Churn.csv", newline="") as f:
        for row in csv.DictReader(f):
            if not row["TotalCharges"].strip():
                continue
            row.pop("Churn")
            row["SeniorCitizen"], row["tenure"] = int(row["SeniorCitizen"]), int(row["tenure"])
            row["MonthlyCharges"], row["TotalCharges"] = float(row["MonthlyCharges"]), float(row["TotalCharges"])
            rows.append(row)
            if len(rows) == ROWS:
                break
    return rows


# --------------------------------------------------------------------------------------------
# 2. The bare endpoint: the limit of the stack

BARE_APP = '''
"""A bare FastAPI endpoint: parse the JSON row, one-hot encode it, a logistic regression in numpy."""
import json
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request, Response

M = json.loads((Path(__file__).parent / "bare_model.json").read_text())
NUMERIC = [(name, mean, scale) for name, mean, scale in M["numeric"]]
LEVELS = {name: {level: index for level, index in levels.items()} for name, levels in M["levels"].items()}
W, B, N = np.array(M["weights"]), M["intercept"], len(M["weights"])
YES, NO = M["classes"][1], M["classes"][0]
app = FastAPI()


@app.post("/v1/predict")
async def predict(request: Request) -> Response:
    out = []
    for row in json.loads(await request.body())["rows"]:
        x = np.zeros(N)
        for i, (name, mean, scale) in enumerate(NUMERIC):
            value = row.get(name)
            x[i] = 0.0 if value is None or value == "" else (float(value) - mean) / scale
        for name, levels in LEVELS.items():
            index = levels.get(row.get(name))
            if index is not None:
                x[index] = 1.0
        p = float(1.0 / (1.0 + np.exp(-(x @ W + B))))
        out.append({"prediction": YES if p > 0.5 else NO, "probability": p})
    return Response(json.dumps({"predictions": out}), media_type="application/json")


@app.get("/readyz")
async def readyz() -> Response:
    return Response(b'{"status": "ready"}', media_type="application/json")
'''


def write_bare(folder: Path) -> int:
    """bare_app.py and its model (a logistic regression fitted on the Telco rows); the weight count."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(folder / "Telco-Customer-Churn.csv")
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce").fillna(0.0)
    target = frame.pop("Churn")
    frame = frame.drop(columns=["customerID"])
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "if"]
    categorical = [c for c in frame.columns if c not in numeric]
    stats = [(c, float(frame[c].mean()), float(frame[c].std())) for c in numeric]
    levels, index = {}, len(numeric)
    for c in categorical:
        levels[c] = {}
        for level in sorted(frame[c].unique()):
            levels[c][level], index = index, index + 1
    X = np.zeros((len(frame), index))
    for i, (c, mean, scale) in enumerate(stats):
        X[:, i] = (frame[c] - mean) / scale
    for c in categorical:
        X[np.arange(len(frame)), frame[c].map(levels[c]).to_numpy()] = 1.0
    model = LogisticRegression(max_iter=1000).fit(X, target)
    (folder / "bare_model.json").write_text(json.dumps({
        "numeric": stats, "levels": levels, "weights": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]), "classes": [str(c) for c in model.classes_]}))
    (folder / "bare_app.py").write_text(BARE_APP)
    return index


# --------------------------------------------------------------------------------------------
# The servers


@dataclass
class Server:
    label: str
    args: list[str]
    path: str  # the prediction endpoint
    wrap: str  # the body's key around the list of rows
    env: dict = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM
    port: int = 0
    process: subprocess.Popen | None = None
    ready_s: float = float("nan")
    output: Path | None = None
    lines: list = field(default_factory=list)  # (seconds since the start, line) of its output

    def _read(self, started: float) -> None:
        with self.output.open("w") as log:
            for line in self.process.stdout:
                self.lines.append((time.perf_counter() - started, line.rstrip()))
                log.write(line)
                log.flush()

    def request(self, row: dict) -> bytes:
        body = json.dumps({self.wrap: [row]}).encode()
        return (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def start(self, folder: Path, first: bytes, timeout: float = 180.0) -> None:
        """Start the server and wait for its first answered prediction: the time until ready."""
        self.output = folder / f"{self.label.split()[0]}.log"
        started = time.perf_counter()
        self.process = subprocess.Popen(self.args, cwd=folder, env={**os.environ, **self.env},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._read, args=(started,), daemon=True).start()
        body = first.split(b"\r\n\r\n", 1)[1]
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("POST", self.path, body, {"Content-Type": "application/json"})
                answer = connection.getresponse()
                text = answer.read()
                connection.close()
                if answer.status == 200:
                    self.ready_s = time.perf_counter() - started
                    print(f"{self.label}: ready in {self.ready_s:.2f} s; answers {text[:160].decode()}")
                    said = [(at, line) for at, line in self.lines if line.strip() and "Downloading" not in line]
                    for at, line in said[:4]:
                        print(f"  {at:6.2f} s  {line[:110]}")
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise SystemExit(f"{self.label} was not ready in {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        time.sleep(0.2)  # the reader thread's last lines
        return "\n".join(line for _, line in self.lines[-40:])

    def cpu_seconds(self) -> float:
        """User + system CPU of every process in the server's process group (/proc)."""
        if self.process is None:
            return 0.0
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.process.pid:  # pgrp: the session's leader is the server
                total += int(fields[11]) + int(fields[12])
        return total / TICK

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, self.stop_signal)
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of its group (mlflow's uvicorn child)
        except ProcessLookupError:
            pass
        self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# 4. The load: one thread, epoll over keep-alive sockets, pre-encoded requests


@dataclass
class Load:
    server: str
    concurrency: int
    ok: int
    failed: int
    seconds: float
    latencies: list[float]
    client_cpu: float  # seconds of this process's CPU during the load
    server_cpu: float  # seconds of the server's CPU during the load
    started_at: float  # wall clock (time.time) at the start and end
    ended_at: float

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _response(buffer: bytearray) -> tuple[int, int] | None:
    """(bytes, status) of the first whole HTTP response in `buffer`, or None when incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    at = head.find(b"content-length:")
    if at >= 0:
        stop = head.find(b"\r\n", at)
        total = end + 4 + int(head[at + 15:stop if stop > 0 else len(head)])
        return (total, status) if len(buffer) >= total else None
    if b"chunked" in head:
        last = buffer.find(b"0\r\n\r\n", end + 4)
        return (last + 5, status) if last >= 0 else None
    return end + 4, status


def drive(server: Server, requests: list[bytes], concurrency: int, seconds: float, stall: float = 30.0) -> Load:
    """Keep `concurrency` requests in flight for `seconds`, then let the last ones finish."""
    poller = select.epoll()
    conns: dict[int, list] = {}  # fd -> [socket, buffer, sent at, request index]
    latencies: list[float] = []
    ok = failed = 0
    nxt = 0

    def open_one(index: int) -> None:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns[sock.fileno()] = [sock, bytearray(), time.perf_counter(), index]
        poller.register(sock.fileno(), select.EPOLLIN)
        sock.sendall(requests[index % len(requests)])

    def close_one(fd: int) -> None:
        poller.unregister(fd)
        conns.pop(fd)[0].close()

    cpu0, server0, wall0 = time.process_time(), server.cpu_seconds(), time.time()
    start = time.perf_counter()
    end, last = start + seconds, start
    for _ in range(concurrency):
        open_one(nxt)
        nxt += 1
    while conns:
        events = poller.poll(1.0)
        now = time.perf_counter()
        if not events and now > end + stall:  # the server stopped answering: what is in flight failed
            failed += len(conns)
            for fd in list(conns):
                close_one(fd)
            break
        for fd, _ in events:
            state = conns[fd]
            try:
                data = state[0].recv(65536)
            except OSError:
                data = b""
            if not data:  # the server closed the connection: a failure unless a response was whole
                failed += 1
                close_one(fd)
                if now < end:
                    open_one(nxt)
                    nxt += 1
                continue
            buffer = state[1]
            buffer += data
            while True:
                parsed = _response(buffer)
                if parsed is None:
                    break
                size, status = parsed
                del buffer[:size]
                now = time.perf_counter()
                if 200 <= status < 300:
                    ok += 1
                    latencies.append(now - state[2])
                else:
                    failed += 1
                last = now
                if now < end:
                    state[2], state[3] = now, nxt
                    state[0].sendall(requests[nxt % len(requests)])
                    nxt += 1
                else:
                    close_one(fd)
                    break
    poller.close()
    return Load(server.label, concurrency, ok, failed, last - start, latencies, time.process_time() - cpu0,
                server.cpu_seconds() - server0, wall0, time.time())


# --------------------------------------------------------------------------------------------
# 5. The report


def server_side(folder: Path, loads: list[Load]) -> list[str]:
    """bakeoff's own latency_ms (its prediction log) for the requests of each bakeoff load."""
    import datetime as dt

    import duckdb

    path = folder / ".bakeoff" / f"predictions-{NAME}.duckdb"
    if not path.exists():
        return [f"(no prediction log at {path})"]
    lines = []
    with duckdb.connect(str(path), read_only=True) as db:
        total = db.execute("select count(*) from bakeoff_predictions").fetchone()[0]
        lines.append(f"bakeoff's prediction log: {total:,} rows in {path.name}")
        for load in loads:
            if not load.server.startswith("bakeoff"):
                continue
            since = dt.datetime.fromtimestamp(load.started_at, dt.timezone.utc).replace(tzinfo=None)
            until = dt.datetime.fromtimestamp(load.ended_at, dt.timezone.utc).replace(tzinfo=None)
            n, p50, p99, mean = db.execute(
                "select count(*), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.99), avg(latency_ms) "
                "from bakeoff_predictions where served_at between ? and ?", [since, until]).fetchone()
            lines.append(f"  concurrency {load.concurrency}: {n:,} rows logged for {load.ok:,} answered; in the "
                         f"handler (body read to response built) p50 {p50:.3f} ms, p99 {p99:.3f} ms, mean {mean:.3f} ms"
                         f" of a {load.pct(0.5):.3f} ms round-trip p50")
    return lines


def report(servers: list[Server], loads: list[Load]) -> None:
    by = {(l.server, l.concurrency): l for l in loads}
    print()
    print("Loopback, one worker process per server, one Telco row per request, keep-alive connections.")
    print("The load generator runs on the same 2 cores as the server under test (a single-threaded epoll")
    print("client, pre-encoded requests): each figure is what the server does with what the client leaves it.")
    print()
    head = (f"{'server':<16} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>6} {'ready s':>7} "
            f"{'server CPU ms/req':>17} {'client CPU us/req':>17}")
    print(head)
    print("-" * len(head))
    for load in loads:
        server = next(s for s in servers if s.label == load.server)
        answered = max(load.ok + load.failed, 1)
        print(f"{load.server:<16} {load.concurrency:>4} {load.rps:>9,.0f} {load.pct(0.5):>8.2f} {load.pct(0.99):>8.2f} "
              f"{load.failed:>6} {server.ready_s:>7.2f} {load.server_cpu * 1000 / answered:>17.3f} "
              f"{load.client_cpu * 1e6 / answered:>17.1f}")
    print()
    labels = [s.label for s in servers]
    bakeoff = next((x for x in labels if x.startswith("bakeoff")), None)
    for other in [x for x in labels if x != bakeoff]:
        for c in sorted({l.concurrency for l in loads}):
            mine, theirs = by.get((bakeoff, c)), by.get((other, c))
            if mine and theirs and theirs.rps and mine.pct(0.5):
                print(f"bakeoff vs {other.split()[0]} at concurrency {c}: {mine.rps / theirs.rps:.2f}x the requests per "
                      f"second, p50 {mine.pct(0.5) / theirs.pct(0.5):.2f}x, p99 {mine.pct(0.99) / theirs.pct(0.99):.2f}x")
    bare = next((x for x in labels if x.startswith("bare")), None)
    high = max((l.concurrency for l in loads), default=0)
    if bare and (bare, high) in by:
        ref = by[(bare, high)]
        per = ref.client_cpu / max(ref.ok + ref.failed, 1)
        print(f"the client's own ceiling: {per * 1e6:.1f} us of CPU a request against the bare endpoint at "
              f"concurrency {high}, about {1 / per:,.0f} req/s on one whole core (it has to share the 2 cores "
              "with the server)")
    if bakeoff:
        print()
        print("Goals (one worker process, schema validation and the prediction log on):")
        low, top = by.get((bakeoff, 1)), by.get((bakeoff, 8))
        ready = next(s for s in servers if s.label == bakeoff).ready_s
        goals = []
        if top:
            goals.append((top.rps >= GOAL_RPS_8, f">= {GOAL_RPS_8:,.0f} req/s at concurrency 8", f"{top.rps:,.0f} req/s"))
        if low:
            goals.append((low.pct(0.5) <= GOAL_P50_1_MS, f"p50 <= {GOAL_P50_1_MS:g} ms at concurrency 1",
                          f"{low.pct(0.5):.2f} ms"))
        if top:
            goals.append((top.pct(0.99) <= GOAL_P99_8_MS, f"p99 <= {GOAL_P99_8_MS:g} ms at concurrency 8",
                          f"{top.pct(0.99):.2f} ms"))
        goals.append((ready <= GOAL_READY_S, f"ready in <= {GOAL_READY_S:g} s", f"{ready:.2f} s"))
        for passed, goal, figure in goals:
            print(f"  {'PASS' if passed else 'MISS'}  {goal}: {figure}")


# --------------------------------------------------------------------------------------------
# --profile: bakeoff's app and the bare app in this process, called as ASGI apps (no socket, no
# HTTP parsing: what is left is FastAPI and each handler), with cProfile of bakeoff's


def _asgi_call(app, path: str, body: bytes):
    """A coroutine that sends one POST to the ASGI `app`; the status."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "headers": [(b"content-type", b"application/json"),
                                                      (b"content-length", str(len(body)).encode())]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = []

    async def receive():
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def call():
        await app(scope, receive, send)
        return status[0]

    return call()


def profile_in_process(folder: Path, registry: str, rows: list[dict], count: int = 20000) -> None:
    import asyncio
    import cProfile
    import importlib
    import pstats

    from bakeoff.adapters.prediction_store import open_store
    from bakeoff.serving.app import Settings, create_app
    from bakeoff.serving.arms import parse_policy
    from bakeoff.serving.live import Live
    from bakeoff.serving.predlog import PredictionLog

    bodies = [json.dumps({"rows": [row]}).encode() for row in rows]
    live = Live(registry, NAME)
    live.refresh()
    log = PredictionLog(open_store(str(folder / "profile-predictions.duckdb")))
    apps = {"bakeoff serve app": create_app(live, log, Settings(NAME, parse_policy(None)))}
    sys.path.insert(0, str(folder))
    apps["bare FastAPI app"] = importlib.import_module("bare_app").app

    async def many(app, n: int) -> None:
        for i in range(n):
            assert await _asgi_call(app, "/v1/predict", bodies[i % len(bodies)]) == 200

    print(f"\nin process, {count:,} calls each as ASGI apps (no socket, no HTTP parser):")
    for label, app in apps.items():
        asyncio.run(many(app, 500))
        started, cpu = time.perf_counter(), time.process_time()
        asyncio.run(many(app, count))
        wall = time.perf_counter() - started
        print(f"  {label}: {wall / count * 1e6:.0f} us a call ({(time.process_time() - cpu) / count * 1e6:.0f} us CPU, "
              "the prediction log's thread included)")
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(many(apps["bakeoff serve app"], count))
    profiler.disable()
    log.close()
    live.close()
    print(f"\ncProfile of bakeoff's app, {count:,} calls (tottime: each function's own time; the "
          "profiler's own cost inflates small calls):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(22)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def servers_catalogue(registry: str) -> dict[str, Server]:
    """The three servers side by side: the bare endpoint, bakeoff serve and mlflow models serve."""
    path = f"{BIN}:{os.environ.get('PATH', '')}"  # mlflow starts `uvicorn` from PATH
    return {
        "bare": Server("bare FastAPI", [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1",
                                        "--port", "{port}", "--workers", "1", "--log-level", "warning"],
                       "/v1/predict", "rows"),
        "bakeoff": Server("bakeoff serve", [str(BIN / "bakeoff"), "serve", NAME, "--registry", registry,
                                            "--port", "{port}"], "/v1/predict", "rows", stop_signal=signal.SIGINT),
        "mlflow": Server("mlflow serve", [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{NAME}@champion",
                                          "--env-manager", "local", "-p", "{port}", "-w", "1"],
                         "/invocations", "dataframe_records",
                         env={"MLFLOW_TRACKING_URI": registry, "PATH": path}),
    }


def start_cold(bakeoff: Server, folder: Path, rows: list[dict]) -> Server:
    """bakeoff serve's first start on a machine without the model's copy (it asks the registry
    first): its own log and an emptied cache; started for its ready time only."""
    cold = Server("bakeoff cold", [*(a.replace(str(bakeoff.port), "{port}") for a in bakeoff.args),
                                   "--log", str(folder / "cold.duckdb")], "/v1/predict", "rows",
                  env={"BAKEOFF_CACHE": str(folder / "empty-cache")}, stop_signal=signal.SIGINT)
    shutil.rmtree(folder / "empty-cache", ignore_errors=True)  # what the last cold start kept
    cold.port = free_port()
    cold.args = [a.replace("{port}", str(cold.port)) for a in cold.args]
    cold.start(folder, cold.request(rows[0]))
    return cold


def measure(server: Server, key: str, folder: Path, rows: list[dict], levels: list[int], args) -> list[Load]:
    """Start `server`, warm it up, and drive it at each concurrency level."""
    # mlflow's signature has no customerID (extra columns cost it a warning a request)
    encoded = [server.request({k: v for k, v in row.items() if not (key == "mlflow" and k == "customerID")})
               for row in rows]
    server.start(folder, encoded[0])
    if args.warmup:
        drive(server, encoded, max(levels), args.warmup)
    loads = []
    for level in levels:
        load = drive(server, encoded, level, args.seconds)
        loads.append(load)
        print(f"  concurrency {level}: {load.rps:,.0f} req/s, p50 {load.pct(0.5):.2f} ms, p99 "
              f"{load.pct(0.99):.2f} ms, {load.failed} failed (load average {loadavg()})")
    return loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of load per server and concurrency")
    parser.add_argument("--levels", default="1,8", help="concurrency levels, comma-separated")
    parser.add_argument("--servers", default="bare,bakeoff,mlflow", help="which servers, comma-separated")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each server's measures")
    parser.add_argument("--budget", default="30s", help="the bake-off's budget (linear alone)")
    parser.add_argument("--folder", type=Path, help="work here (default: a temporary folder, removed at the end)")
    parser.add_argument("--profile", action="store_true",
                        help="also time bakeoff's app and the bare app in this process, with a cProfile of bakeoff's")
    parser.add_argument("--keep", action="store_true", help="reuse a folder prepared before (no run, no promote)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    wanted = args.servers.split(",")

    print(f"load average before: {loadavg()} ({os.cpu_count()} cores)")
    temporary = None
    if args.folder is None:
        temporary = tempfile.TemporaryDirectory(prefix="bakeoff-serve-bench-")
        folder = Path(temporary.name)
    else:
        folder = args.folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
    servers: list[Server] = []
    interrupted = False

    def terminate(signum, _frame):  # SIGTERM to the benchmark: stop the servers as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        if args.keep and (folder / ".bakeoff" / "mlflow.db").exists():
            registry = f"sqlite:///{folder / '.bakeoff' / 'mlflow.db'}"
            print(f"reusing {folder} (registry {registry})")
        else:
            registry = prepare(folder, args.budget)
        weights = write_bare(folder)
        print(f"bare endpoint: a logistic regression of {weights} weights")
        rows = telco_rows(folder)
        catalogue = servers_catalogue(registry)
        loads: list[Load] = []
        for key in wanted:
            server = catalogue[key]
            server.port = free_port()
            server.args = [a.replace("{port}", str(server.port)) for a in server.args]
            servers.append(server)
            loads += measure(server, key, folder, rows, levels, args)
        cold = start_cold(catalogue["bakeoff"], folder, rows) if "bakeoff" in wanted else None
        if cold is not None:
            servers.append(cold)
        for server in servers:
            server.stop()
        report([s for s in servers if s is not cold], loads)
        if cold is not None:
            print(f"  {'PASS' if cold.ready_s <= GOAL_READY_S else 'MISS'}  ready in <= {GOAL_READY_S:g} s on a first "
                  f"start without this machine's copy of the model (it asks the registry first): {cold.ready_s:.2f} s")
        print()
        for line in server_side(folder, loads):
            print(line)
        if args.profile:
            profile_in_process(folder, registry, rows)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for server in servers:
            server.stop()
        print(f"\nload average after: {loadavg()}")
        if temporary is not None:
            temporary.cleanup()
    if interrupted:
        print("interrupted: the servers are stopped", file=sys.stderr)
        raise SystemExit(130)


if __name__ == "__main__":
    main()
