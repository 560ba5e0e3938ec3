"""A Spark standalone cluster on loopback for the tests: one master and one worker, started
from the pyspark package's own `spark-class`, stopped at the end of the session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as answer:
            return int(json.loads(answer.read()).get("aliveworkers", 0))
    except OSError:
        return 0


class Standalone:
    """A master and one worker, started at once; `url()` waits until the worker has registered
    with the master (so the JVMs can boot while other work goes on), `stop()` ends both."""

    def __init__(self, folder: Path, cores: int = 1, memory: str = "1g"):
        self.folder = folder
        port, self.ui, worker_ui = _free_port(), _free_port(), _free_port()
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(_spark_class().parents[1]),
               "SPARK_WORKER_DIR": str(folder / "work")}
        self.logs = [open(folder / "master.log", "wb"), open(folder / "worker.log", "wb")]
        self.master = subprocess.Popen([str(_spark_class()), "org.apache.spark.deploy.master.Master", "--host",
                                        "127.0.0.1", "--port", str(port), "--webui-port", str(self.ui)], env=env,
                                       stdout=self.logs[0], stderr=self.logs[0])
        self.spark_url = f"spark://127.0.0.1:{port}"
        self.worker = subprocess.Popen([str(_spark_class()), "org.apache.spark.deploy.worker.Worker", "--host",
                                        "127.0.0.1", "--cores", str(cores), "--memory", memory, "--webui-port",
                                        str(worker_ui), self.spark_url], env=env,
                                       stdout=self.logs[1], stderr=self.logs[1])

    def url(self, wait: float = 90.0) -> str:
        """The master's URL (spark://127.0.0.1:PORT) once a worker has registered with it."""
        deadline = time.monotonic() + wait
        while _alive_workers(self.ui) < 1:
            if time.monotonic() > deadline or self.master.poll() is not None or self.worker.poll() is not None:
                raise RuntimeError(f"the Spark standalone cluster did not start; see {self.folder}/master.log, "
                                   "worker.log")
            time.sleep(0.5)
        return self.spark_url

    def stop(self) -> None:
        for process in (self.worker, self.master):
            process.terminate()
        for process in (self.worker, self.master):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


@contextmanager
def standalone(folder: Path, cores: int = 1, memory: str = "1g", wait: float = 90.0):
    """Yield the master's URL (spark://127.0.0.1:PORT) once a worker has registered with it."""
    cluster = Standalone(folder, cores, memory)
    try:
        yield cluster.url(wait)
    finally:
        cluster.stop()
