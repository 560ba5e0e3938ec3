"""Connection URLs: credentials kept out of sight, ${VARIABLES} expanded, relative database
files found, and the driver bakeoff installs named.

    >>> redact("postgresql://me:s3cret@db/shop?sslmode=require&password=s3cret")
    'postgresql://me:***@db/shop?sslmode=require&password=***'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, unquote_plus

from bakeoff.errors import ConfigError, DataError

_SECRET_MARK = "***"
_PLACEHOLDER = re.compile(r"\$\{\w+\}")
# Query (and ;-parameter) keys whose values are credentials, matched on the lower-case key.
_SECRET_KEY = re.compile(r"password|passwd|passphrase|pwd|secret|token|signature|credential"
                         r"|api_?key|private_?key|access_?key|^pass$|^key$|^sig$|^auth$|^sas$")
_PARAM = re.compile(r"(?<=[?&;#])([^=&;#?/]+)=([^&;#]*)")  # key=value after ? & ; or #
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_KEYWORD_PAIR = re.compile(r"(?<!\S)([A-Za-z_][\w-]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s'][^\s]*)")  # libpq: password=x
_TOKEN_SCHEMES = ("http", "https")  # where user info without a password is a token


def redact(url: str) -> str:
    """The URL with every credential masked: the password of its user info (a token as user
    name on http), and secret query or ;-parameters (password, token, api_key, signature…).
    A ${VARIABLE} placeholder stays, it holds no secret.

    >>> redact("postgresql://me:s3cret@db/shop"), redact("postgresql://me:${PGPASSWORD}@db/shop")
    ('postgresql://me:***@db/shop', 'postgresql://me:${PGPASSWORD}@db/shop')
    >>> redact("postgresql://me@db/shop?options=a@b&X-Amz-Signature=0f3a")
    'postgresql://me@db/shop?options=a@b&X-Amz-Signature=***'
    >>> redact("host=db port=5432 password='s 3' dbname=shop")  # a libpq keyword string
    'host=db port=5432 password=*** dbname=shop'
    """
    return _scan(url)[0]


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted.

    >>> redact_text("bakeoff score --sql=postgresql://me:pw@db/x --table t")
    'bakeoff score --sql=postgresql://me:***@db/x --table t'
    """
    return _keyword_pairs(_URL_IN_TEXT.sub(lambda found: redact(found.group()), text), [])


def _keyword_pairs(text: str, secrets: list[str]) -> str:
    """`text` with the secret values of its `key=value` words masked (a libpq keyword DSN:
    `host=db password=s3cret`)."""
    def pair(found: re.Match) -> str:
        key, value = found.group(1), found.group(2)
        if not _SECRET_KEY.search(key.lower().replace("-", "_")) or value.startswith(_SECRET_MARK):
            return found.group()
        return f"{key}={_hide(value, secrets)}"

    return _KEYWORD_PAIR.sub(pair, text)


def is_masked(url: str) -> bool:
    """Whether a credential of `url` is the mask a run folder keeps in its place.

    >>> is_masked("postgresql://me:***@db/x"), is_masked("postgresql://me@db/x?token=***")
    (True, True)
    """
    return _SECRET_MARK in _scan(url)[1]


def _scan(url: str) -> tuple[str, list[str]]:
    """The URL masked, and the secrets it held (as written)."""
    head, sep, rest = url.partition("://")
    secrets: list[str] = []
    if not sep:
        return _keyword_pairs(url, secrets), secrets
    userinfo, rest = _user_info(rest)
    masked = f"{head}://"
    if userinfo is not None:
        masked += _mask_user_info(userinfo, head.lower().endswith(_TOKEN_SCHEMES), secrets) + "@"

    def param(found: re.Match) -> str:
        key, value = found.group(1), found.group(2)
        if not _SECRET_KEY.search(unquote_plus(key).lower().replace("-", "_")):
            return found.group()
        return f"{key}={_hide(value, secrets)}"

    return masked + _PARAM.sub(param, rest), secrets


def _user_info(rest: str) -> tuple[str | None, str]:
    """(user info or None, the rest from the host on) of a URL after its `scheme://`: the user
    info is the authority's (up to the first / ? or #), so an @ in the query is not taken for
    it; a password with a raw / ? or # (which SQLAlchemy accepts) shows as an authority whose
    port is no number, and then ends at the first @, as SQLAlchemy reads it."""
    authority = re.match(r"[^/?#]*", rest).group()
    userinfo, at, _ = authority.rpartition("@")
    if not at and "@" in rest[len(authority):] and _odd_port(authority):
        userinfo, at = rest.partition("@")[0], "@"
    return (userinfo, rest[len(userinfo) + 1:]) if at else (None, rest)


def _odd_port(authority: str) -> bool:
    host, colon, port = authority.rpartition(":")
    return bool(colon and port and not authority.endswith("]") and not port.isdigit())


def _mask_user_info(userinfo: str, token_scheme: bool, secrets: list[str]) -> str:
    user, colon, password = userinfo.partition(":")
    if colon:
        return f"{user}:{_hide(password, secrets)}"
    return _hide(user, secrets) if token_scheme else user


def _hide(value: str, secrets: list[str]) -> str:
    """The mask for a secret (noted in `secrets`); an empty value or a placeholder stays."""
    if not value or _PLACEHOLDER.fullmatch(value):
        return value
    secrets.append(value)
    return _SECRET_MARK


def expand_env(url: str) -> str:
    """${NAME} in a URL replaced by that environment variable, so that cards, run folders and
    MLflow never hold the password.

    >>> os.environ["BAKEOFF_DOC_PW"] = "pw"; expand_env("postgresql://me:${BAKEOFF_DOC_PW}@db/shop")
    'postgresql://me:pw@db/shop'
    """
    if is_masked(url):
        raise ConfigError(f"{redact(url)} has its password masked (runs do not keep passwords); write it "
                          "as ${VARIABLE} in the card's URL and export that variable")

    def value(match: re.Match) -> str:
        if match.group(1) not in os.environ:
            raise ConfigError(f"environment variable {match.group(1)} (in {redact(url)}) is not set; "
                              "export it")
        return os.environ[match.group(1)]

    return re.sub(r"\$\{(\w+)\}", value, url)


def file_url(url: str, base_dir: Path, hint: str = "check [data] source url (relative paths start at "
             "the card's folder)") -> str:
    """duckdb:/// and sqlite:/// URLs with a relative path, made absolute from `base_dir`;
    a database file that does not exist is an error (SQLite would create an empty one)."""
    url = expand_env(url)
    for scheme in ("duckdb:///", "sqlite:///"):
        if url.startswith(scheme):
            path, question, query = url.removeprefix(scheme).partition("?")
            if path in ("", ":memory:"):
                return url
            path = Path(path) if Path(path).is_absolute() else base_dir / path
            if not path.is_file():
                raise DataError(f"database file {path} not found; {hint}")
            return f"{scheme}{path}{question}{query}"
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
    """An exception as one line for a message, with `url`'s credentials masked should a driver
    repeat them.

    >>> failure(RuntimeError("cannot log in as me:pw\\nmore"), "postgresql://me:pw@db/x")
    'RuntimeError: cannot log in as me:***'
    >>> failure(ModuleNotFoundError("No module named 'psycopg'", name="psycopg"))
    "the PostgreSQL driver psycopg is not installed: pip install 'bakeoff[postgres]'"
    """
    if isinstance(err, ModuleNotFoundError) and (err.name or "").startswith("psycopg"):
        return "the PostgreSQL driver psycopg is not installed: pip install 'bakeoff[postgres]'"
    text = (str(err).splitlines() or [""])[0]
    return f"{type(err).__name__}: {hide_secrets(text, url)[:200]}"


def hide_secrets(text: str, url: str) -> str:
    """`text` with the credentials of `url` (as written, decoded, or with its ${VARIABLES}
    expanded) masked, and every URL in it redacted."""
    found = _scan(url)[1]
    try:
        found += _scan(expand_env(url))[1]
    except ConfigError:  # a variable not set, or already masked: no more secrets to find
        pass
    for secret in sorted({s for f in found for s in (f, unquote(f), unquote_plus(f))}, key=len, reverse=True):
        text = text.replace(secret, _SECRET_MARK)
    return redact_text(text)
