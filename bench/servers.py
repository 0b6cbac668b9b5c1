"""The two apps as uvicorn subprocesses on free loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def kopichat_root() -> Path:
    """The checkout Kopichat itself runs from: this one, or KOPICHAT_BENCH_KOPICHAT_ROOT (to
    measure a changed copy against the same baseline)."""
    return Path(os.environ.get("KOPICHAT_BENCH_KOPICHAT_ROOT") or ROOT).resolve()


def process_cpu_s(pid: int) -> float:
    """User + system CPU time that a process has used so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


def kopichat_env(database_url: str, port: int) -> dict[str, str]:
    """Kopichat as the benchmark runs it: the instant fake model, no access log, no turn cap."""
    return {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "KOPICHAT_ACCESS_LOG": "false",
        "KOPICHAT_LOG_LEVEL": "warning",
        "KOPICHAT_MAX_TURNS": "100000",
    }


def start(
    name: str,
    module: str,
    env: dict[str, str],
    log_dir: Path,
    root: Path = ROOT,
    first_on_path: Sequence[Path] = (),
) -> Server:
    """Start `python -m module` from `root` with `env` (on top of a clean copy of ours);
    `first_on_path` goes before `root` on PYTHONPATH (a llama.cpp build to measure)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("KOPICHAT_", "OPENAI_"))}
    full_env |= env
    full_env["PYTHONPATH"] = os.pathsep.join([*map(str, first_on_path), str(root)])
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=root,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(name, f"http://127.0.0.1:{env['PORT']}", process, log_path)


def wait_healthy(servers: Sequence[Server], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(servers)
    while pending:
        server = pending[0]
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n"
                + server.log_path.read_text(errors="replace")[-2000:]
            )
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1.0).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer /health within {timeout_s:.0f} s")
        time.sleep(0.05)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def running(servers: Sequence[Server]) -> Iterator[Sequence[Server]]:
    """Stop every server on the way out, whatever happened."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(stop, server)
        wait_healthy(servers)
        yield servers
