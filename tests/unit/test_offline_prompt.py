"""The offline model's prompt planning, reply tidying and repeat blocking, with a fake tokenizer
(one token per character), so every budget can be checked by counting."""

from __future__ import annotations

import numpy as np
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agent.adapters.chatml import ChatmlTurn, PromptPlan, plan_prompt, segment
from agent.adapters.no_repeat import NoRepeatProcessor
from agent.understanding.tidy import (
    as_prose,
    drop_attributions,
    invents_a_quotation,
    sentences,
    tidy_reply,
)


def tokenize(text: str) -> list[int]:
    """One "token" per character: the tokens of a text are its code points."""
    return [ord(c) for c in text]


def turn(history_pairs: int, message: str = "new point", prefill: str = "I hold: X.") -> ChatmlTurn:
    history: list[tuple[str, str]] = []
    for i in range(1, history_pairs + 1):
        history += [("user", f"user says {i}"), ("assistant", f"bot answers {i}")]
    return ChatmlTurn("rules; side X", history, message, prefill)


def plan(t: ChatmlTurn, evaluated: list[list[int]] | None = None, **limits: int) -> PromptPlan:
    settings = {"context_tokens": 4000, "reply_tokens": 100, "max_history": 6}
    settings |= {"history_tokens": 2000, **limits}
    return plan_prompt(t, tokenize, evaluated=evaluated or [], **settings)


def decoded(p: PromptPlan) -> str:
    return "".join(chr(t) for t in p.tokens)


def test_chatml_turn_reads_the_debate_chain_messages() -> None:
    t = ChatmlTurn.from_messages(
        [
            SystemMessage("rules"),
            HumanMessage("u1"),
            AIMessage("b1"),
            HumanMessage("new"),
            AIMessage("I hold: X."),
        ]
    )
    assert t == ChatmlTurn("rules", [("user", "u1"), ("assistant", "b1")], "new", "I hold: X.")
    assert t.text().endswith("<|im_start|>user\nnew<|im_end|>\n<|im_start|>assistant\nI hold: X.")


def test_with_nothing_cached_a_conversation_starts_from_its_newest_exchange() -> None:
    p = plan(turn(5))
    assert p.history_kept == 2
    text = decoded(p)
    assert text.startswith(segment("system", "rules; side X"))
    assert "user says 5" in text
    assert "bot answers 5" in text
    assert "user says 4" not in text
    assert text.endswith("<|im_start|>assistant\nI hold: X.")


def test_the_window_that_reuses_the_previous_turn_wins_until_it_is_full() -> None:
    # Turn with 2 past exchanges; the previous turn's prompt (1 exchange) plus its reply is live.
    previous = plan(turn(1))
    live = previous.tokens[: -len("<|im_start|>assistant\nI hold: X.")]
    live += tokenize("<|im_start|>user\nuser says 2<|im_end|>\n")
    p = plan(turn(2), evaluated=[live])
    assert p.history_kept == 4  # kept the old start instead of sliding
    assert p.reused > len(segment("system", "rules; side X"))
    # The next turn keeps that start too: 3 exchanges, the most max_history allows.
    p = plan(turn(3), evaluated=[plan(turn(2), evaluated=[live]).tokens])
    assert p.history_kept == 6
    # One more would pass max_history: it starts again from the newest exchange.
    p = plan(turn(4), evaluated=[p.tokens])
    assert p.history_kept == 2


def test_history_never_pushes_out_the_system_prompt_or_the_new_message() -> None:
    big = "x" * 900
    t = turn(3, message=big)
    p = plan(t, context_tokens=1200, reply_tokens=100)
    text = decoded(p)
    assert text.startswith(segment("system", "rules; side X"))
    assert segment("user", big) in text
    assert len(p.tokens) + 100 <= 1200
    assert not p.message_shortened


def test_history_tokens_are_capped() -> None:
    p = plan(turn(3), history_tokens=90)  # one exchange is about 80 characters
    history_chars = sum(
        len(segment(r, x)) for r, x in turn(3).history[len(turn(3).history) - p.history_kept :]
    )
    assert history_chars <= 90
    assert p.history_kept == 2


def test_a_message_too_long_for_the_context_keeps_its_end() -> None:
    message = "start " + "y" * 3000 + " the end"
    p = plan(turn(2, message=message), context_tokens=1000, reply_tokens=100)
    assert p.message_shortened
    assert p.history_kept == 0
    assert len(p.tokens) + 100 <= 1000
    text = decoded(p)
    assert "the end<|im_end|>" in text
    assert "start y" not in text


def test_tidy_reply_ends_on_a_whole_sentence_and_drops_list_debris() -> None:
    raw = " First, offices waste hours.\n2. Second, homes are quiet.\n3."
    assert tidy_reply("I hold: X.", raw, [], cut_off=True, quotable="") == (
        "I hold: X. First, offices waste hours. Second, homes are quiet."
    )
    assert (
        tidy_reply("P.", " One point. And a half", [], cut_off=True, quotable="") == "P. One point."
    )
    assert (
        tidy_reply("P.", " Only a fragment", [], cut_off=True, quotable="")
        == "P. Only a fragment\u2026"
    )
    assert as_prose("1. a\n2) b\n- c") == "a b c"
    assert tidy_reply(
        "It is true because", ", in short, it is.", [], cut_off=False, quotable=""
    ) == ("It is true because, in short, it is.")
    assert sentences("It costs 5 euros. Fine! 3.") == (["It costs 5 euros.", "Fine!"], "")
    assert sentences("One. Two and") == (["One."], "Two and")


def test_tidy_reply_drops_sentences_the_bot_already_said() -> None:
    # ("P." would be an initial to the sentence splitter, not a sentence.)
    earlier = ["No. Homes are quiet. Offices are loud!"]
    raw = " Homes are quiet. Commutes waste an hour a day. offices are LOUD!"
    assert (
        tidy_reply("No.", raw, earlier, cut_off=False, quotable="")
        == "No. Commutes waste an hour a day."
    )
    # Nothing new at all: the repeat is kept rather than an empty reply.
    assert (
        tidy_reply("No.", " Homes are quiet.", earlier, cut_off=False, quotable="")
        == "No. Homes are quiet."
    )
    # Nor twice in one reply, nor the started answer again.
    assert tidy_reply(
        "I hold.", " I hold. Tea wins. Tea wins. I hold.", [], cut_off=True, quotable=""
    ) == ("I hold. Tea wins.")


def test_tidy_reply_puts_no_words_in_the_users_mouth() -> None:
    # The README's debate on the offline model once began like this.
    prefix = "Pineapple belongs on pizza. That is true because"
    raw = ", as you mentioned earlier, pineapple is a fruit. It adds sweetness."
    assert tidy_reply(prefix, raw, [], cut_off=False, quotable="") == (
        "Pineapple belongs on pizza. That is true because pineapple is a fruit. It adds sweetness."
    )
    assert drop_attributions("As you said earlier, tea wins. It does, as you have admitted.") == (
        "Tea wins. It does."
    )
    assert drop_attributions("as you pointed out, it wins.", at_sentence_start=False) == "it wins."
    assert drop_attributions("Nothing was said as you walked in.") == (
        "Nothing was said as you walked in."
    )
    assert drop_attributions("Things are not as you claimed.") == "Things are not as you claimed."
    assert drop_attributions("Tea wins. As you noted, it is calm") == "Tea wins. It is calm"
    # A quotation of what nobody wrote goes; the user's own words and the thesis may be quoted.
    user = "Fruit on pizza is wrong, and sweet toppings ruin the crust."
    raw = (
        ' When someone says "you\'re right to be wrong about pineapple" they are not right.'
        ' You claim that "sweet toppings ruin the crust", yet they do not. Ham needs "sweet" notes.'
    )
    assert tidy_reply("P.", raw, [], cut_off=False, quotable=user) == (
        'P. You claim that "sweet toppings ruin the crust", yet they do not.'
        ' Ham needs "sweet" notes.'
    )
    assert (
        invents_a_quotation(
            "\u201cPineapple belongs on pizza\u201d, I say.", "Pineapple belongs on pizza."
        )
        is False
    )
    assert (
        invents_a_quotation("\u00abLa pizza est finie\u00bb, dis-tu.", "J'aime la pizza.") is True
    )


def test_no_repeat_blocks_the_next_token_of_an_earlier_run_but_not_the_thesis() -> None:
    earlier = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11]]
    allowed = [[7, 8, 9, 10, 11]]  # e.g. the thesis, which the bot may restate
    processor = NoRepeatProcessor(earlier, allowed, n=5)
    scores = np.zeros(16, dtype=np.single)
    out = processor(np.array([0, 1, 2, 3, 4], dtype=np.intc), scores.copy())
    assert out[5] == -np.inf
    assert np.isfinite(np.delete(out, 5)).all()
    out = processor(np.array([0, 7, 8, 9, 10], dtype=np.intc), scores.copy())
    assert np.isfinite(out).all()
    out = processor(np.array([9, 9, 9, 9], dtype=np.intc), scores.copy())
    assert np.isfinite(out).all()
    assert processor.blocked == 1


def test_tidy_reply_knows_abbreviations_are_not_sentence_ends() -> None:
    raw = " the U.S. spends more on cars than e.g. Japan does. Dr. Lee agrees with me."
    assert tidy_reply("Cars win.", raw, [], cut_off=True, quotable="") == (
        "Cars win. the U.S. spends more on cars than e.g. Japan does. Dr. Lee agrees with me."
    )


def test_tidy_reply_never_ends_on_a_dangling_start_or_a_list_number() -> None:
    started = "Dogs are better than cats. That is true because"
    assert tidy_reply(started, "", [], cut_off=False, quotable="") == "Dogs are better than cats."
    raw = "they are loyal 2. They guard the house 3."
    assert tidy_reply(started, raw, [], cut_off=False, quotable="") == (
        "Dogs are better than cats. That is true because they are loyal. They guard the house."
    )
