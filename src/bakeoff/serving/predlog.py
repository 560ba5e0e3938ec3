"""The prediction log off the request path: requests append records to a list in memory and
one thread writes them every FLUSH_SECONDS in one transaction (inputs and outputs turned into
JSON there, not while the client waits). A kill -9 loses at most the records of the last
FLUSH_SECONDS plus one write (under a second); a clean close writes all. Feedback given to the
server goes through the same thread (one writer per store).

Example::

    log = PredictionLog(open_store("predictions.duckdb", hold=True))
    log.add(("r1", now, "churn", 1, "champion", True, "c-7", {"tenure": 3}, {"prediction": "No"}, 0.3))
    log.close()   # everything is written
"""

from __future__ import annotations

import logging
import threading

FLUSH_SECONDS = 0.25
LOSS_BOUND_SECONDS = 1.0  # what README states: a kill -9 loses at most this much of the latest requests
JSON_FIELDS = (7, 8)  # a prediction record's inputs and outputs, written as JSON text

logger = logging.getLogger("bakeoff.serving")


class PredictionLog:
    def __init__(self, store, flush_seconds: float = FLUSH_SECONDS):
        self.store, self.flush_seconds = store, flush_seconds
        self._pending: dict[str, list[tuple]] = {"predictions": [], "feedback": []}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="prediction-log", daemon=True)
        self._thread.start()

    def add(self, record: tuple, table: str = "predictions") -> None:
        with self._lock:
            self._pending[table].append(record)

    def flush(self) -> None:
        with self._lock:
            batches, self._pending = self._pending, {"predictions": [], "feedback": []}
        for table, batch in batches.items():
            if not batch:
                continue
            try:
                self.store.write(table, _as_text(batch) if table == "predictions" else batch)
                self.written += len(batch) if table == "predictions" else 0
            except Exception:  # the store is down: keep the records for the next write
                logger.exception("could not write %d records to the prediction log %s", len(batch), self.store.label)
                with self._lock:
                    self._pending[table][:0] = batch

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
        self.store.close()


def _as_text(batch: list[tuple]) -> list[tuple]:
    """Prediction records with their inputs and outputs as JSON text (orjson: about 0.5 µs a
    record, where the json module's 10 µs held the interpreter for milliseconds a batch)."""
    import orjson

    def text(value) -> str:
        return orjson.dumps(value, default=str).decode()

    return [tuple(text(v) if k in JSON_FIELDS else v for k, v in enumerate(r)) for r in batch]
