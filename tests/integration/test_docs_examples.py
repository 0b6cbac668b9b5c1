"""The shell examples of README.md and docs/*.md, run as written against a live server.

An example is a fenced block marked `sh`, `bash`, `shell` or `console`. Each one either runs
here or is skipped by exactly one rule of SKIP_RULES, whose reason the run prints; a block that
fits neither fails `test_every_shell_example_is_run_or_skipped_by_a_rule`, so a new example is
never left out silently. README.md ("Development") states the same rules.

The examples that run are those that call the local API (`localhost:8000`). Those of one file
run in order in one bash session, as a reader pastes them: the conversation id that one example
captures in a shell variable is the one the next example sends. Two things differ from a
terminal: `localhost:8000` becomes the test server's address, and `curl` fails on an HTTP error
status (`--fail-with-body`), so an example that gets a 404 fails here. Where the docs show an
example's output (a `json` or `text` block right after it), the output must have its shape.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Server, report_figure, running_server

pytestmark = pytest.mark.slow

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
LOCAL_API = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")


@dataclass(frozen=True)
class SkipRule:
    name: str
    pattern: re.Pattern[str]
    reason: str


# First match wins. Each reason says why the example cannot run here.
SKIP_RULES = [
    SkipRule(
        "aws",
        re.compile(r"(^|[\s(])(aws|sam) |\bmake (deploy|build)\b|\$URL|\$\{URL\}", re.M),
        "needs an AWS account (and a Docker engine for the image); tests/deploy checks the "
        "template, the deploy script and the image's files offline",
    ),
    SkipRule(
        "docker",
        re.compile(r"\bdocker\b"),
        "needs a Docker engine; tests/deploy/test_compose.py checks the compose file offline",
    ),
    SkipRule(
        "make",
        re.compile(r"\A(?:\s*(?:[A-Z_]+=\S*\s+)*make\b[^\n]*\n?)+\Z"),
        "make targets: each installs what is missing, then serves, tests, evaluates or "
        "benchmarks for minutes; this test starts the server that `make run` serves",
    ),
    SkipRule(
        "cron",
        re.compile(r"^\s*(?:[\d*/,-]+\s+){5}\S", re.M),
        "crontab lines run on the operator's own schedule; tests/integration/test_purge.py runs "
        "python -m agent.purge",
    ),
    SkipRule(
        "notebook",
        re.compile(r"\bjupyter\b"),
        "runs the notebook for a minute; tests/integration/test_notebook.py runs it headless "
        "on a debate stored through the API",
    ),
]


@dataclass(frozen=True)
class Example:
    document: Path
    line: int  # of the opening fence
    language: str
    text: str
    output: tuple[str, str] | None  # (language, text) of the output shown right after it

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def fenced_blocks(text: str) -> Iterator[tuple[int, str, str, int]]:
    """(line of the opening fence, language, content, line of the closing fence)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        yield index + 1, opening[1], "\n".join(lines[index + 1 : end]) + "\n", end + 1
        index = end + 1


def examples(document: Path) -> list[Example]:
    blocks = list(fenced_blocks(document.read_text(encoding="utf-8")))
    lines = document.read_text(encoding="utf-8").splitlines()
    found = []
    for number, (line, language, content, closing) in enumerate(blocks):
        if language not in SHELL_LANGUAGES:
            continue
        output = None
        if number + 1 < len(blocks):
            next_line, next_language, next_content, _ = blocks[number + 1]
            between = lines[closing : next_line - 1]
            if next_language in {"json", "text"} and all(not s.strip() for s in between):
                output = (next_language, next_content)
        found.append(Example(document, line, language, content, output))
    return found


def skip_rule(example: Example) -> SkipRule | None:
    return next((rule for rule in SKIP_RULES if rule.pattern.search(example.text)), None)


def runnable(example: Example) -> bool:
    return skip_rule(example) is None and LOCAL_API.search(example.text) is not None


ALL_EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


def test_every_shell_example_is_run_or_skipped_by_a_rule(pytestconfig: pytest.Config) -> None:
    unclassified = [
        e.where for e in ALL_EXAMPLES if skip_rule(e) is None and LOCAL_API.search(e.text) is None
    ]
    assert unclassified == [], f"add these examples to a rule of SKIP_RULES: {unclassified}"
    for example in ALL_EXAMPLES:
        rule = skip_rule(example)
        if rule is not None:
            line = f"docs example {example.where} skipped ({rule.name}): {rule.reason}"
            report_figure(pytestconfig, line)
    # The API examples of the README are among those that run.
    readme = [e for e in ALL_EXAMPLES if e.document.name == "README.md" and runnable(e)]
    assert len(readme) >= 3, [e.where for e in readme]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("docs-examples")
    env = {"KOPICHAT_MODEL": "fake", "DATABASE_URL": f"sqlite:///{work / 'docs.db'}"}
    with running_server(env, work) as srv:
        yield srv


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"the examples use {tool}, which is not installed (apt-get install {tool})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


MARK = "@@example "


def run_in_one_session(blocks: list[Example], server: Server, cwd: Path) -> list[str]:
    """Run the blocks in order in one bash; the stdout of each."""
    address = server.base_url.removeprefix("http://")
    script = [
        "set -euo pipefail",
        'curl() { command curl --fail-with-body --show-error --max-time 60 "$@"; }',
    ]
    for number, block in enumerate(blocks):
        script.append(f"printf '\\n{MARK}{number}\\n'")
        script.append(LOCAL_API.sub(address, block.text))
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd)},
        check=False,
    )
    parts = re.split(rf"\n{MARK}\d+\n", "\n" + done.stdout)[1:]
    failed_at = blocks[len(parts) - 1].where if parts else blocks[0].where
    assert done.returncode == 0, f"{failed_at} failed:\n{done.stdout[-2000:]}\n{done.stderr}"
    assert len(parts) == len(blocks)
    return parts


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and kinds, not the text."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(item), sort_keys=True) for item in value})
    return type(value).__name__


def event_names(text: str) -> set[str]:
    return set(re.findall(r"^event: *(\S+)", text, re.M))


def check_output(example: Example, output: str) -> None:
    assert example.output is not None
    language, shown = example.output
    if language == "json":
        assert shape(json.loads(output)) == shape(json.loads(shown)), example.where
    else:  # a server-sent event stream
        assert event_names(output) == event_names(shown), (example.where, output[-1000:])
        final = output.rsplit("event: done", 1)[1].split("data:", 1)[1].splitlines()[0]
        assert set(json.loads(final)) == {"conversation_id", "message"}


DOCUMENTS_WITH_RUNNABLE = [d for d in DOCUMENTS if any(runnable(e) for e in examples(d))]


@pytest.mark.parametrize("document", DOCUMENTS_WITH_RUNNABLE, ids=lambda d: d.name)
def test_the_examples_run_as_written_against_a_live_server(
    document: Path, server: Server, tmp_path: Path
) -> None:
    blocks = [e for e in examples(document) if runnable(e)]
    if any(re.search(r"\bjq\b", b.text) for b in blocks):
        require("jq")
    outputs = run_in_one_session(blocks, server, tmp_path)
    for block, output in zip(blocks, outputs, strict=True):
        assert output.strip(), f"{block.where} printed nothing"
        if block.output is not None:
            check_output(block, output)
