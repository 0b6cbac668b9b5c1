"""The compact language model gives py3langid's own answers, and is never used when stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from py3langid.langid import LanguageIdentifier

from agent.understanding import langid_model
from agent.understanding.language import LATIN_LANGUAGES
from evals.suite import OPENINGS_TEST_FILE, load_openings


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
    return [*messages, "ok", "lol", "", "Ça va?", "Straße", "1234"]


def test_the_compact_model_answers_exactly_as_py3langid(full_model: Any, compact_dir: Path) -> None:
    langid_model.save(full_model, LATIN_LANGUAGES)
    compact = langid_model.load_identifier(LATIN_LANGUAGES)
    assert isinstance(compact.tk_nextmove, memoryview)  # the mapped file, not a fresh load
    texts = _texts()
    assert len(texts) > 1000
    for text in texts:
        assert compact.classify(text) == full_model.classify(text), text


def test_the_first_load_writes_it_and_the_next_one_reads_it(compact_dir: Path) -> None:
    assert not compact_dir.exists()
    first = langid_model.load_identifier(LATIN_LANGUAGES)
    assert not isinstance(first.tk_nextmove, memoryview)  # decompressed from py3langid's file
    assert sorted(p.name for p in compact_dir.iterdir()) == [
        "arrays.npz",
        "meta.json",
        "nextmove.u32",
    ]
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in compact_dir.iterdir())
    second = langid_model.load_identifier(LATIN_LANGUAGES)
    assert isinstance(second.tk_nextmove, memoryview)
    language, probability = second.classify("Les devoirs à la maison sont inutiles")
    assert (language, probability) == ("fr", pytest.approx(1.0, abs=0.05))


def test_a_model_made_for_other_languages_or_another_release_is_not_used(
    full_model: Any, compact_dir: Path
) -> None:
    langid_model.save(full_model, LATIN_LANGUAGES)
    assert langid_model._compact(LATIN_LANGUAGES) is not None
    assert langid_model._compact(["en", "fr"]) is None
    meta = compact_dir / "meta.json"
    meta.write_text(meta.read_text().replace('"0.', '"9.'))
    assert langid_model._compact(LATIN_LANGUAGES) is None
    meta.write_text("{not json")
    assert langid_model._compact(LATIN_LANGUAGES) is None


def test_an_install_it_cannot_write_to_still_loads(compact_dir: Path) -> None:
    compact_dir.parent.mkdir(exist_ok=True)
    compact_dir.write_text("a file where the directory should be")  # mkdir fails: OSError
    identifier = langid_model.load_identifier(LATIN_LANGUAGES)
    assert identifier.classify("Homework should be banned")[0] == "en"
