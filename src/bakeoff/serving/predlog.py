"""The prediction log off the request path: requests append records to a list in memory and a
thread writes them every FLUSH_SECONDS in one transaction. A kill -9 loses at most the
records of the last FLUSH_SECONDS plus one write (under a second); a clean close writes all.

Example::

    log = PredictionLog(open_store("predictions.duckdb"))
    log.add(("r1", now, "churn", 1, "champion", True, "c-7", "{}", "{}", 0.3))
    log.close()   # everything is written
"""

from __future__ import annotations

import logging
import threading

FLUSH_SECONDS = 0.25
LOSS_BOUND_SECONDS = 1.0  # what README states: a kill -9 loses at most this much of the latest requests

logger = logging.getLogger("bakeoff.serving")


class PredictionLog:
    def __init__(self, store, flush_seconds: float = FLUSH_SECONDS):
        self.store, self.flush_seconds = store, flush_seconds
        self._pending: list[tuple] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="prediction-log", daemon=True)
        self._thread.start()

    def add(self, record: tuple) -> None:
        with self._lock:
            self._pending.append(record)

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            self.store.write("predictions", batch)
            self.written += len(batch)
        except Exception:  # the store is down: keep the records for the next write
            logger.exception("could not write %d records to the prediction log %s", len(batch), self.store.label)
            with self._lock:
                self._pending[:0] = batch

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
