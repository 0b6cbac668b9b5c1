"""Dependency rules of DESIGN.md §4, checked on the source: agent never imports api or FastAPI;
the use case, domain and ports import no SQLAlchemy, LangChain or FastAPI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", sorted((ROOT / "agent").rglob("*.py")), ids=lambda p: p.name)
def test_agent_never_imports_http(path: Path) -> None:
    tops = {top(m) for m in imported_modules(path)}
    assert not tops & {"api", "fastapi", "starlette", "mangum", "uvicorn"}, path


@pytest.mark.parametrize(
    "name",
    [
        "use_case.py",
        "domain.py",
        "ports.py",
        "errors.py",
        "observability.py",
    ],
)
def test_the_core_imports_no_frameworks(name: str) -> None:
    tops = {top(m) for m in imported_modules(ROOT / "agent" / name)}
    assert not tops & {
        "sqlalchemy",
        "langchain",
        "langchain_core",
        "langchain_openai",
        "fastapi",
        "pydantic",
    }
    # The standard library only (no I/O of its own: logging is configured by the entry points).
    assert tops <= {"__future__", "agent", "asyncio", "collections", "contextlib", "contextvars",
                    "dataclasses", "datetime", "enum", "hashlib", "logging", "re", "time",
                    "typing", "uuid"}  # fmt: skip


@pytest.mark.parametrize(
    "path", sorted((ROOT / "agent" / "understanding").glob("*.py")), ids=lambda p: p.name
)
def test_understanding_imports_only_the_domain(path: Path) -> None:
    """The language understanding is one package that depends on the domain alone (and on
    maintained language data: pysbd, py3langid, Snowball stemmers, stop-word lists): no
    adapters, no frameworks, no I/O but the loading of that data, in langid_model.py alone
    (py3langid's model kept uncompressed next to the code)."""
    modules = imported_modules(path)
    ours = {m for m in modules if top(m) == "agent"}
    assert ours <= {"agent.domain"} | {m for m in ours if m.startswith("agent.understanding")}
    allowed = {
        "__future__", "collections", "dataclasses", "enum", "functools", "re", "typing",
        "pysbd", "unicodedata", "difflib", "itertools", "py3langid", "pathlib", "threading",
        "snowballstemmer", "stop_words",
    }  # fmt: skip
    if path.name == "langid_model.py":
        allowed |= {
            "array", "contextlib", "importlib", "json", "math", "mmap", "numpy", "os", "sys",
            "tempfile",
        }  # fmt: skip
    assert {top(m) for m in modules} - {"agent"} <= allowed


def test_importing_the_app_modules_has_no_side_effects() -> None:
    # Only api.lambda_handler builds things at import; everything else waits to be called.
    for path in [*(ROOT / "agent").rglob("*.py"), *(ROOT / "api").glob("*.py")]:
        if path.name in {"lambda_handler.py", "env.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                pytest.fail(f"{path} calls something at import time (line {node.lineno})")
