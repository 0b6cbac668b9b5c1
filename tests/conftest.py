"""Shared fixtures: a private MariaDB/MySQL database, free ports, and a real uvicorn server."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from agent.adapters.sql.tables import conversations, messages

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A fresh database on the MySQL server at KOPICHAT_TEST_MYSQL_URL, dropped afterwards.

    Unreachable server: the tests skip on a developer machine, and fail when CI is set."""
    base = make_url(os.environ.get("KOPICHAT_TEST_MYSQL_URL", DEFAULT_MYSQL_URL))
    name = f"kopichat_test_{secrets.token_hex(4)}"
    admin = create_engine(base, pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    except Exception as exc:
        admin.dispose()
        message = f"MySQL/MariaDB at {base.render_as_string(hide_password=True)} unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_mysql_url(mysql_url: str) -> str:
    from agent.migrate import migrate

    migrate(mysql_url)
    return mysql_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_server(
    env: dict[str, str], log_dir: Path, ready_timeout_s: float = 60.0
) -> Iterator[Server]:
    """`python -m api` under real uvicorn, on a free loopback port, until the block ends."""
    port = free_port()
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(ROOT),  # this checkout's code, whichever checkout the venv installed
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "KOPICHAT_ACCESS_LOG": "false",
        **env,
    }
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "api"],
            cwd=log_dir,  # no .env from the working tree
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{server.log()}")
            try:
                if httpx.get(f"{server.base_url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not become healthy:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Figures that CI's output must show (the opening-set score of the rules, the offline model's
# smoke run): tests append a line here and pytest prints them at the end of the run.
REPORTED_FIGURES = pytest.StashKey[list[str]]()


def report_figure(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(REPORTED_FIGURES, []).append(line)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    lines = config.stash.get(REPORTED_FIGURES, [])
    if lines:
        terminalreporter.write_sep("-", "kopichat figures")
        for line in lines:
            terminalreporter.write_line(line)


def row_counts(url: str) -> tuple[int, int]:
    """(conversations, messages) stored at `url`."""
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = (
            conn.execute(select(func.count()).select_from(conversations)).scalar_one(),
            conn.execute(select(func.count()).select_from(messages)).scalar_one(),
        )
    engine.dispose()
    return counts
