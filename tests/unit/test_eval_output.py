"""What `make eval` and `make eval-score` print beside their figures: notes on the figures that
describe the fake model rather than Kopichat, and each verdict's input line and id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import report
from evals.score_file import main as score_main

NO_JUDGE = "shared content words (no judge)"


def figures(**summary: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    details = {
        "on_topic_source": NO_JUDGE,
        "language_checked_turns": 207,
        "language_mismatch_rate": 0.261,
    }
    return {"on_topic_rate": 0.0, "judge": None, **summary}, details


def test_the_fake_models_on_topic_and_language_figures_are_explained() -> None:
    summary, details = figures()
    notes = report.model_notes("fake", summary, details)
    assert notes[0].startswith("The fake model does not debate")
    assert any(n.startswith("on_topic_rate 0.0: ") for n in notes)
    assert any(n.startswith("language mismatch 26.1% (54 of 207): ") for n in notes)


def test_with_a_judge_on_topic_is_the_judges_and_needs_no_note() -> None:
    summary, details = figures(judge="openai:judge", on_topic_rate=1.0)
    notes = report.model_notes("fake", summary, details)
    assert not any(n.startswith("on_topic_rate") for n in notes)


@pytest.mark.parametrize("model", ["local", "openai:gpt-4o-mini", "fake:conceding"])
def test_other_models_figures_stand_as_they_are(model: str) -> None:
    assert report.model_notes(model, *figures()) == []


def test_eval_score_carries_each_inputs_line_and_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("KOPICHAT_JUDGE_MODEL", "KOPICHAT_PROMPTS_DIR", "KOPICHAT_PROMPT_VERSION"):
        monkeypatch.delenv(name, raising=False)
    base = {"topic": "cats vs dogs", "thesis": "Dogs are better than cats.", "user": "Cats!"}
    lines = [
        json.dumps({**base, "id": "r-17", "reply": "Dogs guard your home. Can a cat?"}),
        "",  # a blank line is skipped, and still counted
        json.dumps({**base, "reply": "You're right, cats win."}),
        json.dumps({**base, "id": 42, "reply": "Dogs fetch. Do cats?"}),
    ]
    path = tmp_path / "replies.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert score_main([str(path)]) == 0
    verdicts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(v["line"], v.get("id")) for v in verdicts] == [(1, "r-17"), (3, None), (4, 42)]
    assert "id" not in verdicts[1]
    assert verdicts[1]["concession"] == "you're right"
