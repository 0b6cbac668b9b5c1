"""Checking a structured model's opening answer: only a complete, conforming object is used."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage

from agent.adapters.opening_answer import answer_from, json_object_in

GOOD = {"kind": "claim", "topic": "cats", "thesis": "Dogs win.", "reply": "Dogs!"}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        f"```json\n{json.dumps(GOOD)}\n```",
        f"Sure: {json.dumps(GOOD)} and that's it {{}}",
    ],
)
def test_a_complete_object_is_found(text: str) -> None:
    assert json_object_in(text) == GOOD


@pytest.mark.parametrize(
    "text",
    [json.dumps(GOOD)[:-5], json.dumps(GOOD)[:-1] + ",}", "[1, 2]", "null", "no json", ""],
)
def test_a_cut_off_malformed_or_wrongly_shaped_answer_gives_nothing(text: str) -> None:
    assert json_object_in(text) is None


def test_the_answer_is_checked_against_the_schema_and_a_cut_off_is_refused() -> None:
    assert answer_from(AIMessage(json.dumps(GOOD))) is not None
    assert answer_from(AIMessage(json.dumps({**GOOD, "reply": None}))) is None
    assert answer_from(AIMessage(json.dumps({**GOOD, "kind": "opinion"}))) is None
    cut = AIMessage(json.dumps(GOOD), response_metadata={"finish_reason": "length"})
    assert answer_from({"raw": cut, "parsed": GOOD, "parsing_error": None}) is None
    # LangChain's lenient parser completes a cut-off object; the raw text decides, not it.
    truncated = AIMessage(json.dumps(GOOD)[:-10])
    assert answer_from({"raw": truncated, "parsed": GOOD, "parsing_error": None}) is None


def test_a_tool_call_answer_is_read_from_its_arguments() -> None:
    raw = AIMessage("", tool_calls=[{"name": "opening", "args": GOOD, "id": "call-1"}])
    answer = answer_from({"raw": raw, "parsed": GOOD, "parsing_error": None})
    assert answer is not None
    assert answer.thesis == "Dogs win."
