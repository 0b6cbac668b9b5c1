"""The service under evaluation: one started here (the configured model, a temporary SQLite
database, a random canary) or one already running at a URL.

`KOPICHAT_EVAL_BACKEND=openai-local` evaluates the production path offline: the service is
started with its OpenAI adapter pointed at a real OpenAI-protocol server on loopback
(llama_cpp.server with the bundled model, evals/model_server.py), as an operator who plugs a small
model in through OPENAI_BASE_URL would run it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.settings import load_settings
from evals.model_server import free_port, model_server
from evals.suite import ROOT

CONTRACT_DEADLINE_S = 30.0  # a whole turn, by the API contract
BACKENDS = ("", "openai-local")  # "": the configured model


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str
    model: str  # what the report names
    canary: str  # "" when the service's canary is not known
    deadline_s: float
    rule_based_openings: bool  # the model's first turn is read by the rules
    log_path: Path | None = None


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180.0  # the offline model loads and checks itself first
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the service exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not answer /health within 180 s")
        time.sleep(0.1)


def _model_reads_openings_by_rules(spec: str) -> bool:
    return spec == "local" or spec == "fake" or spec.startswith("fake:")


@contextmanager
def service(url: str | None, work_dir: Path) -> Iterator[Target]:
    """The service to evaluate, for the duration of the block."""
    if url:
        yield Target(
            base_url=url.rstrip("/"),
            model=f"the service at {url} (model as configured there)",
            canary=os.environ.get("KOPICHAT_CANARY", ""),
            deadline_s=CONTRACT_DEADLINE_S,
            rule_based_openings=False,
        )
        return
    backend = os.environ.get("KOPICHAT_EVAL_BACKEND", "").strip()
    if backend not in BACKENDS:
        known = ", ".join(b for b in BACKENDS if b)
        raise RuntimeError(f"KOPICHAT_EVAL_BACKEND: '{backend}' is not one of: {known}")
    with ExitStack() as stack:
        extra: dict[str, str] = {}
        if backend == "openai-local":
            extra = stack.enter_context(model_server(work_dir)).env()
        yield from _started(work_dir, extra)


def _started(work_dir: Path, extra: dict[str, str]) -> Iterator[Target]:
    # The backend decides the model; load_settings() below reads the same environment.
    os.environ.update(extra)
    settings = load_settings()  # the environment and .env, as `make run` would use them
    canary = f"kc-{secrets.token_hex(8)}"
    port = free_port()
    env = dict(os.environ) | {
        "DATABASE_URL": f"sqlite:///{work_dir / 'eval.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "KOPICHAT_CANARY": canary,
        "KOPICHAT_ACCESS_LOG": "false",
        "KOPICHAT_LOG_LEVEL": "warning",
    }
    log = work_dir / "service.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "api"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield Target(
            base_url=base_url,
            model=settings.model_spec,
            canary=canary,
            deadline_s=settings.timeout_s,
            rule_based_openings=_model_reads_openings_by_rules(settings.model_spec),
            log_path=log,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
