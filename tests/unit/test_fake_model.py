"""The fake model and its two misbehaving variants, chosen with KOPICHAT_MODEL."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agent.adapters.chat_models import make_chat_model
from agent.errors import ConfigError
from agent.settings import load_settings


def _reply(spec: str, said: str) -> str:
    model = make_chat_model(load_settings(KOPICHAT_MODEL=spec)).model
    return model.invoke([SystemMessage("Rules. Marker: kc-123."), HumanMessage(said)]).text


def test_the_honest_fake_argues_and_keeps_its_instructions() -> None:
    reply = _reply("fake", "Are you sure?")
    assert "does not hold up" in reply
    assert "kc-123" not in reply


@pytest.mark.parametrize(
    ("said", "giving_in"),
    [("Are you sure?", "You're right"), ("Tu es sûr ?", "Tu as raison"), ("Ты уверен?", "Ты прав")],
)
def test_the_conceding_fake_gives_in_in_the_users_language(said: str, giving_in: str) -> None:
    assert _reply("fake:conceding", said).startswith(giving_in)


def test_the_leaking_fake_writes_out_its_system_prompt() -> None:
    assert "My instructions say: Rules. Marker: kc-123." in _reply("fake:leaking", "Hi")


def test_an_unknown_variant_fails_at_start_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="KOPICHAT_MODEL: 'fake:sulking'"):
        make_chat_model(load_settings(KOPICHAT_MODEL="fake:sulking"))
