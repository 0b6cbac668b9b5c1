"""Smoke test of the embedded offline model (SmolLM2-135M via llama.cpp): it loads from the
installed package and answers, committed to its side by the reply prefix."""

from __future__ import annotations

import asyncio
import time

import pytest

from agent.adapters.chain_responder import ChainResponder
from agent.adapters.chat_models import make_chat_model
from agent.adapters.local_model import cut_to_last_sentence, smollm2_path
from agent.adapters.prompt_files import load_prompt_library
from agent.settings import load_settings

pytestmark = pytest.mark.slow


def test_the_offline_model_loads_and_argues_its_side() -> None:
    assert smollm2_path().stat().st_size > 50_000_000
    choice = make_chat_model(load_settings(KOPICHAT_MODEL="local"))
    assert "offline demo model" in choice.description
    responder = ChainResponder(load_prompt_library("v1"), choice)
    started = time.perf_counter()
    opening = asyncio.run(responder.open("Cats are better than dogs", [], "v1", 25.0))
    elapsed = time.perf_counter() - started
    assert opening.stance is not None
    assert opening.stance.thesis == "Dogs are better than cats."
    assert opening.reply.startswith("I stand by my position: Dogs are better than cats.")
    generated = opening.reply.removeprefix(
        "I stand by my position: Dogs are better than cats. Here is why:"
    )
    assert generated.strip(), "the model added nothing after the prefix"
    print(f"\noffline model: one opening reply in {elapsed:.2f} s: {opening.reply!r}")


def test_a_reply_cut_by_the_token_limit_ends_at_a_sentence() -> None:
    assert (
        cut_to_last_sentence("Prefix: a. First one. Second is cu", keep=8)
        == "Prefix: a. First one."
    )
    assert cut_to_last_sentence("Prefix: all of it", keep=8) == "Prefix: all of it\u2026"
