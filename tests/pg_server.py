"""A throw-away PostgreSQL server for the tests: initdb + pg_ctl in a temp folder.

As root the server runs as the `postgres` user (initdb refuses root). Used by conftest.py
and by .ci/run (python tests/pg_server.py start DIR prints the URL).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start(folder: Path) -> str:
    """Start a server with its data in `folder`; returns a postgresql:// URL."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL server binaries not found; install them: apt-get install postgresql")
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run(_as_server_user([initdb, "-D", str(data), "-U", "bakeoff", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-o", options,
                                    "-w", "start"]), check=True, capture_output=True)
    return f"postgresql://bakeoff@127.0.0.1:{port}/postgres"


def stop(folder: Path) -> None:
    pg_ctl = find_binary("pg_ctl")
    subprocess.run(_as_server_user([pg_ctl, "-D", str(folder / "data"), "-m", "immediate", "stop"]),
                   capture_output=True)


if __name__ == "__main__":
    action, where = sys.argv[1], Path(sys.argv[2])
    print(start(where) if action == "start" else stop(where) or "stopped")
