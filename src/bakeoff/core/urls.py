"""Connection URLs: passwords kept out of sight, ${VARIABLES} expanded, relative database files
found, and the driver bakeoff installs named.

    >>> redact("postgresql://me:s3cret@db/shop")
    'postgresql://me:***@db/shop'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bakeoff.errors import ConfigError, DataError

_SECRET_MARK = "***"


def redact(url: str) -> str:
    """The URL without its password; a ${VARIABLE} placeholder stays, it holds no secret.

    >>> redact("postgresql://me:s3cret@db/shop"), redact("postgresql://me:${PGPASSWORD}@db/shop")
    ('postgresql://me:***@db/shop', 'postgresql://me:${PGPASSWORD}@db/shop')
    """
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user, has_password, password = creds.partition(":")
    if not has_password or re.fullmatch(r"\$\{\w+\}", password):
        return url
    return f"{scheme}://{user}:{_SECRET_MARK}@{host}"


def expand_env(url: str) -> str:
    """${NAME} in a URL replaced by that environment variable, so that cards, run folders and
    MLflow never hold the password.

    >>> os.environ["BAKEOFF_DOC_PW"] = "pw"; expand_env("postgresql://me:${BAKEOFF_DOC_PW}@db/shop")
    'postgresql://me:pw@db/shop'
    """
    if f":{_SECRET_MARK}@" in url:
        raise ConfigError(f"{url} has its password masked (runs do not keep passwords); write it as "
                          "${VARIABLE} in the card's URL and export that variable")

    def value(match: re.Match) -> str:
        if match.group(1) not in os.environ:
            raise ConfigError(f"environment variable {match.group(1)} (in {url}) is not set; export it")
        return os.environ[match.group(1)]

    return re.sub(r"\$\{(\w+)\}", value, url)


def file_url(url: str, base_dir: Path, hint: str = "check [data] source url (relative paths start at "
             "the card's folder)") -> str:
    """duckdb:/// and sqlite:/// URLs with a relative path, made absolute from `base_dir`;
    a database file that does not exist is an error (SQLite would create an empty one)."""
    url = expand_env(url)
    for scheme in ("duckdb:///", "sqlite:///"):
        if url.startswith(scheme):
            path = url.removeprefix(scheme)
            if path in ("", ":memory:"):
                return url
            path = Path(path) if Path(path).is_absolute() else base_dir / path
            if not path.is_file():
                raise DataError(f"database file {path} not found; {hint}")
            return f"{scheme}{path}"
    return url


def sqlalchemy_url(url: str) -> str:
    """A plain postgresql:// URL gets the psycopg (3) driver bakeoff installs.

    >>> sqlalchemy_url("postgres://me@db/shop")
    'postgresql+psycopg://me@db/shop'
    """
    url = expand_env(url)
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def failure(err: BaseException, url: str = "") -> str:
    """An exception as one line for a message, with `url`'s password masked should a driver
    repeat it.

    >>> failure(RuntimeError("cannot log in as me:pw\\nmore"), "postgresql://me:pw@db/x")
    'RuntimeError: cannot log in as me:***'
    >>> failure(ModuleNotFoundError("No module named 'psycopg'", name="psycopg"))
    "the PostgreSQL driver psycopg is not installed: pip install 'bakeoff[postgres]'"
    """
    if isinstance(err, ModuleNotFoundError) and (err.name or "").startswith("psycopg"):
        return "the PostgreSQL driver psycopg is not installed: pip install 'bakeoff[postgres]'"
    text = (str(err).splitlines() or [""])[0]
    try:
        password = _password(expand_env(url))
    except ConfigError:  # a variable not set, or already masked: no password to find
        password = ""
    if password:
        text = text.replace(password, _SECRET_MARK)
    return f"{type(err).__name__}: {text[:200]}"


def _password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return ""
    return url.split("://", 1)[1].rsplit("@", 1)[0].partition(":")[2]
