"""docs/deployment.md's commands as an operator pastes them: every `aws` command names the region
`make deploy` uses, the purge's cron lines run the module itself, and tearing down a protected
database needs one command, written out whole."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from agent.settings import MIN_API_KEY_CHARS, hash_api_key, load_settings
from tests.deploy.tooling import ROOT

DOC = ROOT / "docs" / "deployment.md"
TEXT = DOC.read_text(encoding="utf-8")
# The region of `make deploy` (and of scripts/deploy.sh when make passes none).
MAKE_REGION = re.search(r"^AWS_REGION \?= (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
SCRIPT_REGION = re.search(
    r"^AWS_REGION=\$\{AWS_REGION:-(\S+)\}$",
    (ROOT / "scripts" / "deploy.sh").read_text(),
    re.MULTILINE,
)
AWS_COMMAND = re.compile(r"(?:^|[\s(`;|&])aws\s+[a-z0-9-]+\s+[a-z0-9-]+")


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def logical_lines(block: str) -> list[str]:
    """Lines with their backslash continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.split(" # ", 1)[0] for line in joined.splitlines() if line.strip()]


def inline_code(text: str) -> list[str]:
    """Code spans outside the shell blocks; a span may run over a line break."""
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]


def aws_commands() -> list[str]:
    """Every `aws` command the page gives, each cut at the next command of its line."""
    found = []
    candidates = [line for b in shell_blocks(TEXT) for line in logical_lines(b)]
    for line in candidates + inline_code(TEXT):
        for part in re.split(r"&&|\|\||;|\|(?!\|)", line):
            if AWS_COMMAND.search(part):
                found.append(part.strip())
    return found


def test_the_page_and_make_deploy_use_one_default_region() -> None:
    assert MAKE_REGION is not None
    assert SCRIPT_REGION is not None
    assert MAKE_REGION[1] == SCRIPT_REGION[1]
    assert f"`{MAKE_REGION[1]}`, the default of `make deploy`" in TEXT
    assert "AWS_REGION=" in TEXT  # and how to deploy elsewhere


def test_the_page_gives_aws_commands() -> None:
    services = {re.split(r"\s+", c[c.index("aws") :])[1] for c in aws_commands()}
    assert {"secretsmanager", "lambda", "rds", "cloudformation"} <= services


@pytest.mark.parametrize("command", aws_commands(), ids=lambda c: " ".join(c.split()[:4]))
def test_every_aws_command_names_the_region_of_make_deploy(command: str) -> None:
    assert MAKE_REGION is not None
    assert re.search(rf"--region {re.escape(MAKE_REGION[1])}(\s|$|\))", command), command


def test_every_sam_delete_names_the_region() -> None:
    commands = [c for c in inline_code(TEXT) if c.startswith("sam delete --")] + [
        line
        for block in shell_blocks(TEXT)
        for line in logical_lines(block)
        if line.startswith("sam delete")
    ]
    assert commands
    assert all("--region eu-west-1" in c for c in commands), commands


def test_cron_lines_run_the_purge_module_not_make() -> None:
    schedule = re.compile(r"^(\S+\s+){5}cd ")
    cron = [
        line
        for block in shell_blocks(TEXT)
        for line in logical_lines(block)
        if schedule.match(line)
    ]
    assert len(cron) >= 2  # the checkout and the compose stack
    for line in cron:
        assert "python -m agent.purge" in line, line
        assert "make " not in line, line


def test_tearing_down_a_protected_database_is_one_whole_command() -> None:
    section = TEXT[TEXT.index("## Tearing down") :]
    (block, *_) = shell_blocks(section)
    lines = logical_lines(block)
    modify = next(line for line in lines if line.startswith("aws rds modify-db-instance"))
    assert "--db-instance-identifier kopichat-prod" in modify
    assert "--no-deletion-protection" in modify
    assert "--apply-immediately" in modify
    assert "..." not in modify
    assert not any(line.startswith("make ") for line in lines), "no build to tear down"
    assert lines.index(modify) < next(i for i, x in enumerate(lines) if x.startswith("sam delete"))


def test_the_key_and_hash_lines_make_a_key_the_app_accepts_by_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = TEXT[TEXT.index("## API keys and rate limits on AWS") :]
    (block, *_) = shell_blocks(section)
    lines = [line for line in logical_lines(block) if line.startswith(("KEY=", "HASH="))]
    assert [line.split("=", 1)[0] for line in lines] == ["KEY", "HASH"]
    done = subprocess.run(
        ["bash", "-c", "\n".join([*lines, 'echo "$KEY $HASH"'])],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    key, digest = done.stdout.split()
    monkeypatch.chdir(tmp_path)  # no .env
    accepted = load_settings(KOPICHAT_API_KEYS=f"sha256:{digest}")  # what the secret holds
    assert len(key) >= MIN_API_KEY_CHARS
    assert accepted.api_key_hashes == {hash_api_key(key)}
