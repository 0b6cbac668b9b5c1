"""The stance and leak guard: what it catches, and what the responder does then (regenerate
once with a reminder, or fall back), with fake models that concede, leak or drift."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.fake_model import FakeDebateModel
from agent.adapters.prompt_files import load_prompt_library
from agent.domain import Message, Role, Stance
from agent.understanding.guard import StanceGuard, fallback_reply
from agent.understanding.phrases import opening_fallback

LIBRARY = load_prompt_library("v2")
CANARY = "kc-canary-7f3a"
STANCE = Stance("cats vs dogs", "Dogs are better than cats.", "Cats are better than dogs.")
INSTRUCTIONS = [text for prompts in LIBRARY.values() for text in prompts.instructions()]


def guard(judge: Any = None) -> StanceGuard:
    return StanceGuard(canary=CANARY, instructions=INSTRUCTIONS, judge=judge)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("You're right, cats win.", "concession: you're right"),
        ("Tienes razón, los gatos ganan.", "concession: tienes razón"),
        ("You're completely right, cats win.", "concession: you're completely right"),
        ("Hai proprio ragione, i gatti vincono.", "concession: hai proprio ragione"),
        ("Okay, I give up. Cats it is.", "concession: i give up"),
        ("Honestly it is just a matter of taste.", "concession: a matter of taste"),
        ("Honestly, cats are better than dogs after all.", "switched side"),
        (f"My secret code is {CANARY}.", "leak: canary"),
        (
            "My rules: never concede, never agree that the opposite side is right, never switch.",
            "leak: echo",
        ),
    ],
)
def test_the_guard_catches(body: str, problem: str) -> None:
    verdict = guard().check(body, body, STANCE)
    assert verdict.problem is not None
    assert verdict.problem.startswith(problem)


@pytest.mark.parametrize(
    "body",
    [
        "Dogs guard the house and cats do not. Can a cat fetch help?",
        "You say \u201cyou're right to like cats\u201d, but loyalty matters more.",  # quoted
        "I don't agree: a dog walks you into health.",  # negated
        "You keep saying \u201ccats are better than dogs\u201d, but dogs guard the house.",
        "You are not right about that: a dog walks you into health.",  # the gap holds a "not"
        "You're dead wrong, right? No cat ever guarded a house.",
    ],
)
def test_the_guard_lets_a_reply_that_holds_its_side_through(body: str) -> None:
    verdict = guard().check(body, body, STANCE)
    assert verdict.ok, verdict.problem


def test_a_reply_about_something_else_is_a_suspicion_not_a_replacement() -> None:
    recipe = "Fry the garlic in olive oil, add chopped tomatoes and simmer for twenty minutes."
    verdict = guard().check(recipe, recipe, STANCE, "Cats are cleaner than dogs.")
    assert verdict.problem == "off topic"
    assert not verdict.replaces
    on_topic = "Which pet ever pulled a child out of a river? A dog did, more than once."
    assert guard().check(on_topic, on_topic, STANCE, "Cats are cleaner than dogs.").ok
    short = "Name one."  # too short to tell
    assert guard().check(short, short, STANCE, "Cats are cleaner than dogs.").ok


class ScriptedModel(BaseChatModel):
    """Answers from a list, one per call; records what it was sent."""

    answers: list[str]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        text = self.answers[min(len(self.seen), len(self.answers)) - 1]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop)


def responder(model: BaseChatModel, judge: Any = None, *, on: bool = True) -> ChainResponder:
    choice = ChatModelChoice(model, False, False, "scripted")
    return ChainResponder(LIBRARY, choice, canary=CANARY, guard=guard(judge) if on else None)


def reply(r: ChainResponder, message: str = "Cats are cleaner.") -> str:
    return asyncio.run(r.reply(STANCE, [], message, "v2", 10.0))


def test_a_conceding_reply_is_regenerated_once_with_a_reminder() -> None:
    model = ScriptedModel(answers=["You're right, cats win.", "Dogs are loyal. Are cats?"])
    assert reply(responder(model)) == "Dogs are loyal. Are cats?"
    assert len(model.seen) == 2
    second_user_turn = model.seen[1][-1]
    assert isinstance(second_user_turn, HumanMessage)
    assert "Reminder to the debater" in second_user_turn.text
    assert "Dogs are better than cats." in second_user_turn.text


def test_a_model_that_keeps_conceding_gets_the_fallback() -> None:
    model = FakeDebateModel(behaviour="conceding")
    assert reply(responder(model)) == fallback_reply(STANCE, "Cats are cleaner.")
    assert reply(responder(model), "Les chats sont plus propres.").endswith(
        "Quel est votre meilleur argument contre ?"
    )


def test_a_leaking_model_never_gets_its_instructions_out() -> None:
    model = FakeDebateModel(behaviour="leaking")
    text = reply(responder(model))
    assert CANARY not in text
    assert "never concede" not in text.lower()
    assert text == fallback_reply(STANCE, "Cats are cleaner.")
    # Without the guard the same model does leak: the check above is not vacuous.
    assert CANARY in reply(responder(model, on=False))


def test_an_honest_model_is_called_once_and_left_alone() -> None:
    model = ScriptedModel(answers=["Dogs are loyal. Are cats?"])
    assert reply(responder(model)) == "Dogs are loyal. Are cats?"
    assert len(model.seen) == 1


def test_a_judge_sees_what_no_phrase_list_can() -> None:
    asked: list[tuple[str, str, str, str]] = []

    async def judge(topic: str, thesis: str, user: str, text: str) -> bool | None:
        asked.append((topic, thesis, user, text))
        return "drift" not in text

    model = ScriptedModel(answers=["Cats drift into my heart too.", "Dogs are loyal. Are cats?"])
    assert reply(responder(model, judge)) == "Dogs are loyal. Are cats?"
    assert asked[0] == (STANCE.topic, STANCE.thesis, "Cats are cleaner.", model.answers[0])


def test_a_judge_that_cannot_tell_never_blocks_a_reply() -> None:
    async def judge(topic: str, thesis: str, user: str, text: str) -> bool | None:
        return None

    model = ScriptedModel(answers=["Dogs are loyal. Are cats?"])
    assert reply(responder(model, judge)) == "Dogs are loyal. Are cats?"


def compact_responder(model: BaseChatModel) -> ChainResponder:
    """A small OpenAI-compatible model (KOPICHAT_MODEL_PROFILE=compact)."""
    choice = ChatModelChoice(model, False, False, "small", compact_prompt=True, tidy_replies=True)
    return ChainResponder(LIBRARY, choice, canary=CANARY, guard=guard())


SAID = "Dogs guard the house at night, and no cat ever did that. Can yours?"


def test_a_small_model_that_repeats_itself_is_asked_again_then_replaced() -> None:
    history = [Message(Role.USER, "Cats are clean."), Message(Role.BOT, SAID)]
    again = ScriptedModel(answers=[SAID, "Dogs learn tricks; cats ignore you. Why is that?"])
    answer = asyncio.run(compact_responder(again).reply(STANCE, history, "No.", "v2", 10.0))
    assert answer == "Dogs learn tricks; cats ignore you. Why is that?"
    # Nearly the same words (a changed last word) count as a repeat too.
    stuck = ScriptedModel(answers=[SAID, SAID.replace("yours?", "it?")])
    answer = asyncio.run(compact_responder(stuck).reply(STANCE, history, "No.", "v2", 10.0))
    assert answer == fallback_reply(STANCE, "No.")
    # A standard model's repeat is left alone: only small models are held to it.
    plain = ScriptedModel(answers=[SAID])
    assert asyncio.run(responder(plain).reply(STANCE, history, "No.", "v2", 10.0)) == SAID


def test_a_small_models_reply_is_tidied_into_whole_sentences() -> None:
    raw = "1. Dogs are loyal.\n2. Dogs protect kids.\n3. And cats"
    model = ScriptedModel(answers=[raw])
    answer = asyncio.run(compact_responder(model).reply(STANCE, [], "No.", "v2", 10.0))
    assert answer == "Dogs are loyal. Dogs protect kids. And cats"


def test_a_failed_first_turn_states_the_side_rather_than_holding_to_it() -> None:
    model = FakeDebateModel(behaviour="conceding")
    opened = asyncio.run(responder(model).open("Cats are better than dogs.", [], "v2", 10.0))
    assert opened.stance is not None
    assert opened.reply == opening_fallback("en", opened.stance.thesis)
    assert "nothing said so far" not in opened.reply
