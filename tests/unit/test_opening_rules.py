"""Rule-based reading of first messages (used by the offline and fake models)."""

from __future__ import annotations

import pytest

from agent.domain import Stance
from agent.opening_rules import analyze_opening


@pytest.mark.parametrize(
    ("message", "topic", "thesis"),
    [
        (
            "Topic: pineapple on pizza. You argue that it belongs on pizza.",
            "pineapple on pizza",
            "Pineapple belongs on pizza.",
        ),
        ("Convince me that cats are better than dogs", "cats are better than dogs",
         "Cats are better than dogs."),
        ("You should defend the idea that homework is useless", "homework is useless",
         "Homework is useless."),
        ("Topic: AI. Your side: it will create more jobs than it destroys", "AI",
         "AI will create more jobs than it destroys."),
    ],
)  # fmt: skip
def test_assigned_side_is_the_thesis(message: str, topic: str, thesis: str) -> None:
    assert analyze_opening(message) == Stance(topic, thesis)


@pytest.mark.parametrize(
    ("claim", "thesis"),
    [
        ("Cats are better than dogs", "Dogs are better than cats."),
        ("Remote work is not productive", "Remote work is productive."),
        (
            "I think social media should be banned for kids",
            "Social media should not be banned for kids.",
        ),
        ("Dogs aren't loyal", "Dogs are loyal."),
    ],
)
def test_a_user_claim_gets_the_opposite_thesis(claim: str, thesis: str) -> None:
    stance = analyze_opening(claim)
    assert stance is not None
    assert stance.thesis == thesis


@pytest.mark.parametrize("topic", ["nuclear power", "Topic: taxes", "la energía nuclear"])
def test_a_bare_topic_gets_a_side_picked_by_the_bot(topic: str) -> None:
    stance = analyze_opening(topic)
    assert stance is not None
    assert stance.thesis.startswith("The case for ")
    assert stance.topic in stance.thesis


def test_argue_against_takes_the_against_side() -> None:
    assert analyze_opening("Argue against school uniforms") == Stance(
        "school uniforms", "The case against school uniforms is stronger than the case for it."
    )


@pytest.mark.parametrize("message", ["hi", "Hello!", "  ", "?", "thanks", "good morning", "ok"])
def test_nothing_debatable_gives_no_stance(message: str) -> None:
    assert analyze_opening(message) is None
