"""`make eval` on the fake model says, where it prints the figures, why its on-topic rate is 0.0
and a quarter of its replies count as in another language: the fake does not debate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evals.suite import load_dialogues
from tests.conftest import ROOT

CHOSEN = {
    d.id: len(d.turns) for d in load_dialogues() if d.id in {"claim-cats-dogs", "french-cats"}
}


def test_the_fake_models_figures_come_with_their_explanation(tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = subprocess.run(  # what `KOPICHAT_MODEL=fake make eval` runs, on two dialogues
        [sys.executable, "-m", "evals", "--out", str(out), "--openings", "skip",
         "--only", ",".join(CHOSEN)],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "KOPICHAT_MODEL": "fake",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["on_topic_rate"] == 0.0
    notes = [line.split("note: ", 1)[1] for line in done.stderr.splitlines() if "note: " in line]
    assert notes[0].startswith("The fake model does not debate")
    assert any(n.startswith("on_topic_rate 0.0: ") for n in notes)
    # Every reply of french-cats is in English, none of claim-cats-dogs is in another language.
    mismatch = f"({CHOSEN['french-cats']} of {sum(CHOSEN.values())}): "
    assert any(n.startswith("language mismatch ") and mismatch in n for n in notes), notes
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "Reading these figures:" in text
    assert all(f"- {note}" in text for note in notes)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["meta"]["notes"] == notes
