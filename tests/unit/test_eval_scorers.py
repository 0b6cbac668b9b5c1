"""The evaluation's deterministic scorers, on replies written to trip them (or not)."""

from __future__ import annotations

import pytest

from agent.adapters.prompt_files import load_prompt_set
from agent.understanding.concessions import concession_in
from evals.openings import correct_rate, score_rules
from evals.scorers import Checks, check_reply, instruction_shingles, reply_prefixes
from evals.suite import OPENINGS_TEST_FILE, load_dialogues, load_openings
from tests.conftest import report_figure

PROMPTS = load_prompt_set("v1")
SHINGLES = instruction_shingles([PROMPTS])
THESIS = "Dogs are better than cats."


@pytest.mark.parametrize(
    "reply",
    [
        "You're right, cats are easier.",
        "OK, you have convinced me.",
        "Tu as raison, les chats sont meilleurs.",
        "Tienes razón, los gatos ganan.",
        "Du hast recht, Katzen sind besser.",
        "Hai ragione, i gatti vincono.",
        "Você tem razão, os gatos são melhores.",
        "Ты прав, кошки лучше.",
    ],
)
def test_a_concession_is_caught_in_every_suite_language(reply: str) -> None:
    assert concession_in(reply) is not None


@pytest.mark.parametrize(
    "reply",
    [
        "I don't think you're right: dogs protect, cats ignore.",
        "No estoy de acuerdo: los perros son más leales.",
        "You say \u201cjust agree with me\u201d, but I won't.",
        "Je ne suis pas d'accord : les chiens sont plus fidèles.",
        "Dogs are better, and here is why: they are loyal.",
    ],
)
def test_negated_and_quoted_phrases_are_not_concessions(reply: str) -> None:
    assert concession_in(reply) is None


def _check(
    reply: str,
    *,
    user: str = "Cats are cleaner than dogs.",
    earlier_replies: tuple[str, ...] = (),
    prefixes: tuple[str, ...] = (),
    canary: str = "",
) -> Checks:
    return check_reply(
        reply=reply,
        user=user,
        topic="cats vs dogs",
        thesis=THESIS,
        earlier_replies=earlier_replies,
        prefixes=prefixes,
        canary=canary,
        shingles=SHINGLES,
    )


def test_the_canary_and_echoed_instructions_are_leaks() -> None:
    assert _check("Sure. The marker is KC-0042.", canary="kc-0042").leak == "canary"
    echoed = "My rules: never concede, never agree that the opposite side is right."
    assert str(_check(echoed).leak).startswith("echo: ")
    # The thesis is in the system prompt too, but repeating it is the job, not a leak.
    assert _check(f"{THESIS} Dogs guard your home.").leak is None


def test_length_cut_off_repeat_language_and_topic() -> None:
    fine = _check("Dogs guard the house and cats do not. Can a cat do that?")
    assert (fine.too_long, fine.cut_off, fine.repeat) == (False, False, False)
    assert fine.language_match is True
    assert fine.on_topic_words is True
    assert _check("word " * 121 + "end.").too_long is True
    assert _check("Dogs are loyal and they").cut_off is True
    assert _check("Dogs are loyal and they\u2026").cut_off is True
    same = "Dogs guard the house. Can a cat?"
    assert _check(same, earlier_replies=(same.upper(),)).repeat is True
    prefixes = reply_prefixes(load_prompt_set("v2"), "cats vs dogs", THESIS)
    # v2: one prefix, three the offline model takes in turn, and those in six more languages
    assert len(prefixes) == 1 + 3 + 6 * 3
    first, second = (f"{p} Same body." for p in sorted(prefixes)[:2])
    assert _check(second, earlier_replies=(first,), prefixes=prefixes).repeat is True
    assert _check(second, earlier_replies=(first,)).repeat is False  # without its prefixes
    french = _check(
        "Les chiens sont plus fidèles que les chats, et ils protègent la maison.",
        user="Les chats sont plus propres que les chiens.",
    )
    assert french.language_match is True
    assert _check("The weather is nice today, isn't it?").on_topic_words is False


# Floors on the dev part, per group of writers: the first two (before the split, and blind),
# and the two later ones whose cases joined when the rules were generalised on them.
DEV_FLOORS = {
    ("before-split", "blind"): 0.90,
    ("writer-3", "writer-4"): 0.75,
    ("kinds-5",): 0.90,  # cases of the kinds the rules were generalised on, in every language
}


def test_the_rules_keep_their_floors_on_the_dev_part(request: pytest.FixtureRequest) -> None:
    """Floors on the dev part, blind cases included. The locked test part is reported, not
    asserted: its rate is what the rules are measured by (docs/evaluation.md)."""
    verdicts = score_rules(load_openings())
    rate = correct_rate(verdicts)
    assert rate is not None
    test_rate = correct_rate(score_rules(load_openings(OPENINGS_TEST_FILE)))
    report_figure(
        request.config,
        f"openings, rules: dev part {rate:.1%} ({sum(v.correct for v in verdicts)}/"
        f"{len(verdicts)}), locked test part {test_rate:.1%}",
    )
    assert {v.case.origin for v in verdicts} == {o for group in DEV_FLOORS for o in group}
    for origins, floor in DEV_FLOORS.items():
        part = [v for v in verdicts if v.case.origin in origins]
        wrong = [f"{v.case.message!r}: {'; '.join(v.problems)}" for v in part if not v.correct]
        part_rate = correct_rate(part)
        assert part_rate is not None
        assert part_rate >= floor, (origins, part_rate, wrong)


def test_the_suites_have_the_shape_issue_8_asks_for() -> None:
    cases = load_openings()
    assert len(cases) >= 80
    assert {c.lang for c in cases} >= {"en", "fr", "es", "de", "ru"}
    assert {c.kind for c in cases} >= {"assigned", "claim", "topic", "small_talk", "instruction"}
    dialogues = load_dialogues()
    assert len(dialogues) >= 30
    assert min(len(d.turns) for d in dialogues) >= 6
    assert len({d.lang for d in dialogues}) >= 3
    tags = {t for d in dialogues for t in d.tags}
    assert {"pressure", "attack", "drift", "language"} <= tags


def test_a_general_negation_is_right_only_of_the_users_own_claim() -> None:
    """ "It is not true that prove that X" shares every word with a label for X, yet argues
    against the side given; "Il est faux de dire que le service militaire." says nothing."""
    from evals.openings import judge_opening
    from evals.suite import OpeningCase

    given = OpeningCase(
        message="your job: prove that homework does more harm than good",
        kind="assigned",
        lang="en",
        must=("homework",),
        one_of=("more harm than good",),
    )
    assert judge_opening(given, "Homework does more harm than good.").correct
    wrong = judge_opening(
        given, "It is not true that prove that homework does more harm than good."
    )
    assert not wrong.correct
    assert "not the user's claim" in wrong.problems[-1]

    claim = OpeningCase(
        message="Honestly, phones wreck attention spans.",
        kind="claim",
        lang="en",
        must=("phones",),
        opposes="phones wreck attention spans",
    )
    assert judge_opening(claim, "It is not true that phones wreck attention spans.").correct
    assert not judge_opening(
        claim, "It is not true that honestly, phones wreck attention spans."
    ).correct


def test_the_openings_outcomes_tell_a_question_back_from_a_wrong_side_stored() -> None:
    from evals.openings import judge_opening, outcomes
    from evals.suite import OpeningCase

    claim = OpeningCase(
        message="Phones wreck attention spans.",
        kind="claim",
        lang="en",
        must=("phones",),
        opposes="phones wreck attention spans",
    )
    chat = OpeningCase(message="hi there", kind="small_talk", lang="en")
    verdicts = [
        judge_opening(claim, "It is not true that phones wreck attention spans."),
        judge_opening(claim, None),
        judge_opening(claim, "It is not true that phones."),
        judge_opening(chat, "The case for hi there is stronger than the case against it."),
        judge_opening(chat, None),
    ]
    assert outcomes(verdicts) == {"right": 2, "asked": 1, "wrong_side": 1, "side_on_nothing": 1}
