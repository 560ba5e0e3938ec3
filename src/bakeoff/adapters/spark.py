"""Apache Spark, where bakeoff meets it: a session from the card's `[engine]`, and the card's
data as a Spark DataFrame (a CSV or Parquet file, a folder of Parquet files, a catalog table).

pyspark is imported here only, and only when a card asks for Spark.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bakeoff.errors import ConfigError, DataError

INSTALL = "pip install 'bakeoff[spark]'"
DEFAULTS = {"spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",  # times as written, never shifted to a zone
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.python.daemon.module": "bakeoff.adapters.spark_daemon"}  # workers start with the imports done


def session(engine, log: Path):
    """The Spark session the card's `[engine]` describes (`master`, default local[*], and its
    `conf`), reused when one is already running in this process. A JVM started here writes its
    own messages to `log`, not to the terminal."""
    try:
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise ConfigError(f"[engine] kind = \"spark\" needs pyspark: {INSTALL}") from err
    master = engine.master or "local[*]"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this Python (bakeoff, its libraries)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # nothing leaves this machine
    conf = SparkConf().setAppName("bakeoff").setMaster(master)
    for key, value in {**DEFAULTS, **engine.conf}.items():
        conf.set(key, str(value).lower() if isinstance(value, bool) else str(value))
    try:
        context = SparkContext._active_spark_context
        if context is None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab") as sink:
                gateway = launch_gateway(conf, popen_kwargs={"stdout": sink, "stderr": sink})
            context = SparkContext(conf=conf, gateway=gateway)
        spark = SparkSession(context)
    except Exception as err:  # the JVM and the master report many kinds of failure
        raise ConfigError(f"cannot start Spark at {master} ({type(err).__name__}: "
                          f"{str(err).splitlines()[0][:200]}); check [engine] master and that Java runs "
                          f"(Spark's own log: {log})") from err
    context.setLogLevel("ERROR")
    return spark


def read_source(spark, source, base_dir: Path, typed: bool = False):
    """The card's `[data] source` as a Spark DataFrame; CSV columns are read as text (the task
    parses them as it does without Spark), or with `typed` as numbers where every value is one
    (as pandas reads a CSV; times stay text)."""
    if hasattr(source, "spark_table"):
        try:
            return spark.table(source.spark_table)
        except Exception as err:  # AnalysisException: no such table
            raise DataError(f"Spark has no table {source.spark_table!r} ({str(err).splitlines()[0][:160]}); "
                            "check [data] source, or register the table first") from err
    if not isinstance(source, str):
        raise ConfigError("a SQL source is not read by Spark yet; give a CSV or Parquet file, a folder of "
                          "Parquet files, or { spark_table = \"db.table\" }")
    path = (base_dir / source).resolve() if not Path(source).is_absolute() else Path(source)
    if not path.exists():
        raise DataError(f"data file {path} not found; check [data] source (relative to the card's folder)")
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return spark.read.parquet(str(path))
    if path.suffix.lower() in (".csv", ".txt", ".gz"):
        frame = spark.read.csv(str(path), header=True, inferSchema=typed)
        return _times_as_text(frame) if typed else frame
    raise DataError(f"{path.name}: Spark reads CSV and Parquet (a file or a folder of files); convert it first")


def _times_as_text(frame):
    """Columns Spark read as dates or times, as the text they were (pandas does not parse them)."""
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    times = {f.name for f in frame.schema.fields if isinstance(f.dataType, (DateType, TimestampType, TimestampNTZType))}
    if not times:
        return frame
    return frame.select(*[frame[f"`{c}`"].cast("string").alias(c) if c in times else frame[f"`{c}`"]
                          for c in frame.columns])


def ship_by_value(candidates) -> None:
    """Candidates of the card's own modules travel with the job (the executors cannot import
    them from the card's folder)."""
    from pyspark import cloudpickle  # the copy pyspark pickles with

    for cls in candidates:
        module = sys.modules.get(cls.__module__)
        if module is not None and not cls.__module__.startswith("bakeoff."):
            cloudpickle.register_pickle_by_value(module)
