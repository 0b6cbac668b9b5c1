"""The compact language model gives py3langid's own answers, loads without NumPy, and is never
used when stale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from py3langid.langid import LanguageIdentifier

from agent.understanding import langid_model
from agent.understanding.language import LATIN_LANGUAGES
from evals.suite import OPENINGS_TEST_FILE, load_openings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def full_model() -> Any:
    identifier = LanguageIdentifier.from_modelpath(langid_model._source(), norm_probs=True)
    identifier.set_languages(LATIN_LANGUAGES)
    return identifier


@pytest.fixture
def compact_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "compact"
    monkeypatch.setattr(langid_model, "COMPACT_DIR", directory)
    return directory


def _texts() -> list[str]:
    messages = [case.message for case in load_openings() + load_openings(OPENINGS_TEST_FILE)]
    odd = ["ok", "lol", "", "Ça va?", "Straße", "1234", "HOMEWORK IS USELESS", "ß" * 300]
    return [*messages, *odd, *(m.upper() for m in messages[:50])]


def test_the_compact_model_answers_as_py3langid(full_model: Any, compact_dir: Path) -> None:
    made = langid_model.load_identifier(LATIN_LANGUAGES)  # made from py3langid's file
    mapped = langid_model.load_identifier(LATIN_LANGUAGES)  # read back from the files
    assert isinstance(mapped.nextmove, memoryview)
    texts = _texts()
    assert len(texts) > 1000
    for text in texts:
        language, probability = full_model.classify(text)
        for compact in (made, mapped):
            got_language, got_probability = compact.classify(text)
            assert got_language == language, text
            assert got_probability == pytest.approx(probability, abs=1e-4), text
            assert (got_probability >= 0.5) == (probability >= 0.5), text


def test_the_first_load_writes_it_and_the_next_one_maps_it(compact_dir: Path) -> None:
    assert not compact_dir.exists()
    first = langid_model.load_identifier(LATIN_LANGUAGES)
    assert not isinstance(first.nextmove, memoryview)
    names = sorted(p.name for p in compact_dir.iterdir())
    assert names == ["meta.json", "nextmove", "out", "pc", "ptc", "row"]
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in compact_dir.iterdir())
    second = langid_model.load_identifier(LATIN_LANGUAGES)
    assert isinstance(second.nextmove, memoryview)
    language, probability = second.classify("Les devoirs à la maison sont inutiles")
    assert language == "fr"
    assert probability > 0.95


def test_a_model_made_for_other_languages_or_another_release_is_not_used(
    compact_dir: Path,
) -> None:
    langid_model.load_identifier(LATIN_LANGUAGES)
    assert langid_model._compact(LATIN_LANGUAGES) is not None
    assert langid_model._compact(["en", "fr"]) is None
    meta_file = compact_dir / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["stamp"]["py3langid"] = "0.0.1"
    meta_file.write_text(json.dumps(meta))
    assert langid_model._compact(LATIN_LANGUAGES) is None
    meta_file.write_text("{not json")
    assert langid_model._compact(LATIN_LANGUAGES) is None


def test_a_half_written_model_is_not_used(compact_dir: Path) -> None:
    langid_model.load_identifier(LATIN_LANGUAGES)
    (compact_dir / "nextmove").write_bytes(b"")
    assert langid_model._compact(LATIN_LANGUAGES) is None


def test_an_install_it_cannot_write_to_still_loads(compact_dir: Path) -> None:
    compact_dir.parent.mkdir(exist_ok=True)
    compact_dir.write_text("a file where the directory should be")  # mkdir fails: OSError
    identifier = langid_model.load_identifier(LATIN_LANGUAGES)
    assert identifier.classify("Homework should be banned")[0] == "en"


def test_reading_a_language_imports_neither_numpy_nor_py3langid() -> None:
    """What a cold start saves: with the compact model made (as `make install` does), the
    first Latin-script text loads no NumPy."""
    made = subprocess.run(
        [sys.executable, "-m", "agent.understanding.langid_model"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    probe = (
        "import sys\n"
        "from agent.understanding.language import detect_language\n"
        "print(detect_language('Homework should be banned in primary schools'),"
        " sorted(m for m in sys.modules if m.split('.')[0] in {'numpy', 'py3langid'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=1) == ["en", "[]\n"]
