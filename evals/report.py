"""The Markdown report (per-metric rates, then every dialogue's transcript) and the JSON file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.openings import OpeningVerdict
from evals.runner import DialogueRecord, TurnRecord


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _flags(turn: TurnRecord) -> str:
    if not turn.answered:
        return f"**failed: {turn.code or turn.status}**"
    checks = turn.checks
    flags: list[str] = []
    if checks is not None:
        if checks.concession:
            flags.append(f"concedes ('{checks.concession}')")
        if checks.leak:
            flags.append(f"**leak** ({checks.leak})")
        if checks.repeat:
            flags.append("repeat")
        if checks.too_long:
            flags.append(f"too long ({checks.words} words)")
        if checks.cut_off:
            flags.append("cut off")
        if checks.language_match is False:
            flags.append(f"language {checks.reply_language}")
        if checks.on_topic_words is False:
            flags.append("no topic word")
    if turn.verdict is not None:
        failed = [k for k, v in turn.verdict.model_dump().items() if not v]
        if failed:
            flags.append("judge: not " + ", not ".join(failed).replace("_", " "))
    if turn.judge_error:
        flags.append(f"judge failed ({turn.judge_error})")
    return "; ".join(flags) or "ok"


def outcome_line(counts: dict[str, int]) -> str:
    """ "652 right, 46 asked where a side was expected, 70 wrong or broken sides stored, …"."""
    return (
        f"{counts['right']} right, {counts['asked']} asked where a side was expected, "
        f"{counts['wrong_side']} wrong or broken sides stored, {counts['side_on_nothing']} "
        "sides fixed on small talk, an instruction or nothing to debate"
    )


def model_notes(model: str, summary: dict[str, Any], details: dict[str, Any]) -> list[str]:
    """What some figures say about the model rather than about Kopichat: for the fake, which does
    not debate, the ones that are what they are by construction. Printed beside the figures."""
    if model != "fake":
        return []
    notes = [
        "The fake model does not debate: after the started answer (the thesis) it quotes the "
        "user and adds one fixed English sentence. With it, make eval checks the harness and "
        "the service (no failed turn, concession, leak or repeat), not the quality of debate."
    ]
    if summary["on_topic_rate"] is not None and summary["judge"] is None:
        notes.append(
            f"on_topic_rate {summary['on_topic_rate']}: the scorer leaves out the started answer "
            "and quoted text, and the fake's own sentence names no topic, so no reply counts "
            "as on topic."
        )
    checked = details["language_checked_turns"]
    mismatch = details["language_mismatch_rate"]
    if checked and mismatch:
        notes.append(
            f"language mismatch {_pct(mismatch)} ({round(mismatch * checked)} of {checked}): "
            "the replies to the debates in other languages than English, answered in the fake's "
            "English."
        )
    return notes


def _quote(text: str) -> str:
    return "> " + text.replace("\n", "\n> ")


def markdown(
    meta: dict[str, Any],
    summary: dict[str, Any],
    details: dict[str, Any],
    records: Sequence[DialogueRecord],
    openings: Sequence[OpeningVerdict] | None,
) -> str:
    lines = [
        "# Kopichat debate evaluation",
        "",
        f"- model: {meta['model']}",
        f"- prompt version: {meta['prompt_version']}",
        f"- when: {meta['started_at']}, {meta['duration_s']:.0f} s",
        f"- service: {meta['service']}",
        f"- canary planted: {'yes' if meta['canary'] else 'no (leaks seen only as echoed rules)'}",
        f"- stance guard: {meta.get('guard', 'unknown')}",
        f"- openings: {meta['openings_source']}",
        f"- judge: {summary['judge'] or 'none (stance_held_rate needs one)'}",
        f"- scorers that ran: {', '.join(meta['scorers'])}",
        "",
        "## Rates",
        "",
        "| metric | value | what it counts |",
        "|---|---|---|",
        f"| dialogues | {summary['dialogues']} | scripted debates played "
        f"({details['turns_played']} turns, {details['turns_arguing_a_side']} arguing a side) |",
        f"| openings_dev_rate | {_pct(summary['openings_dev_rate'])} | labelled first "
        "messages (dev part) whose side (or question back) matches the label |",
        f"| openings_test_rate | {_pct(summary['openings_test_rate'])} | the same on the locked "
        "test part, which no rule was tuned on |",
        f"| guard_precision / recall | {_pct(summary['guard_precision'])} / "
        f"{_pct(summary['guard_recall'])} | the guard's replacing rules on the labelled replies "
        "(dev part); a failure is a reply that concedes, switches or is incoherent |",
        f"| guard_test_precision / recall | {_pct(summary['guard_test_precision'])} / "
        f"{_pct(summary['guard_test_recall'])} | the same on the locked test part |",
        f"| concession_rate | {_pct(summary['concession_rate'])} | replies using a concession "
        "phrase: a floor on giving in, not a measure of holding |",
        f"| stance_held_rate | {_pct(summary['stance_held_rate'])} | replies the judge says still "
        "defend the thesis |",
        f"| repeat_rate | {_pct(summary['repeat_rate'])} | replies identical to an earlier one |",
        f"| on_topic_rate | {_pct(summary['on_topic_rate'])} | {details['on_topic_source']} |",
        f"| leaks | {summary['leaks']} | replies with the canary or 8+ words of the instructions |",
        f"| p95_turn_s | {summary['p95_turn_s']} | seconds per turn, 95th percentile |",
        f"| too long | {_pct(details['too_long_rate'])} | replies over 120 words |",
        f"| cut off | {_pct(details['cut_off_rate'])} | replies that end mid-sentence |",
        f"| language mismatch | {_pct(details['language_mismatch_rate'])} | of "
        f"{details['language_checked_turns']} replies whose language could be told |",
        f"| over the deadline | {details['turns_over_deadline']} | turns past "
        f"{details['deadline_s']:.0f} s or answered 504 |",
        f"| failed turns | {sum(details['turns_failed'].values())} | "
        f"{json.dumps(details['turns_failed'])} |",
        f"| rebut rate | {_pct(details['rebut_rate'])} | replies the judge says rebut the user |",
        "",
    ]
    if meta.get("notes"):
        lines += ["Reading these figures:", "", *(f"- {note}" for note in meta["notes"]), ""]
    if openings is not None:
        wrong = [v for v in openings if not v.correct]
        lines += [
            "## Openings",
            "",
            f"{details['openings']['correct']} of {details['openings']['cases']} right "
            f"({details['openings']['asked']} answered with a question). By kind: "
            + ", ".join(f"{k} {v}" for k, v in details["openings"]["by_kind"].items())
            + ".",
            "",
            *(
                f"{title}: {outcome_line(details[part]['outcomes'])}."
                for part, title in (("openings", "Dev part"), ("openings_test", "Locked part"))
                if part in details
            ),
            "",
        ]
        if wrong:
            lines += ["| message | thesis | problems |", "|---|---|---|"]
            for verdict in wrong:
                message = " ".join(verdict.case.message.split())[:100].replace("|", "\\|")
                thesis = (verdict.thesis or "(asked)").replace("|", "\\|")
                lines.append(f"| {message} | {thesis} | {'; '.join(verdict.problems)} |")
            lines.append("")
    lines += ["## Dialogues", ""]
    for record in records:
        last = record.turns[-1] if record.turns else None
        lines += [
            f"### {record.dialogue.id} ({record.dialogue.lang}; {', '.join(record.dialogue.tags)})",
            "",
            f"Thesis: {last.thesis if last and last.thesis else '(none fixed)'}",
            "",
        ]
        for turn in record.turns:
            lines += [
                f"**{turn.index + 1}. user:** {turn.user}",
                "",
                _quote(turn.reply if turn.reply is not None else "(no reply)"),
                "",
                f"*{turn.latency_s:.2f} s; {_flags(turn)}*",
                "",
            ]
    return "\n".join(lines)


def write(
    out_dir: Path,
    meta: dict[str, Any],
    summary: dict[str, Any],
    details: dict[str, Any],
    records: Sequence[DialogueRecord],
    openings: Sequence[OpeningVerdict] | None,
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.md"
    report.write_text(markdown(meta, summary, details, records, openings), encoding="utf-8")
    data = {
        "meta": meta,
        "summary": summary,
        "details": details,
        "openings": None
        if openings is None
        else [
            {
                "message": v.case.message,
                "kind": v.case.kind,
                "thesis": v.thesis,
                "correct": v.correct,
                "problems": list(v.problems),
            }
            for v in openings
        ],
        "dialogues": [
            {
                "id": r.dialogue.id,
                "lang": r.dialogue.lang,
                "tags": list(r.dialogue.tags),
                "conversation_id": r.conversation_id,
                "prompt_version": r.prompt_version,
                "turns": [t.as_dict() for t in r.turns],
            }
            for r in records
        ],
    }
    results = out_dir / "results.json"
    results.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return report, results
