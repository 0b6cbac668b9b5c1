"""The language guess used to answer in the user's language and to score replies."""

from __future__ import annotations

import pytest

from agent.understanding.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Are you sure about that? I think you are wrong.", "en"),
        ("Tu es sûr ? Je pense que tu as tort.", "fr"),
        ("¿Estás seguro? Creo que no tienes razón.", "es"),
        ("Bist du sicher? Ich glaube, du hast nicht recht.", "de"),
        ("Sei sicuro? Penso che non hai ragione.", "it"),
        ("Você tem certeza? Eu acho que não é verdade.", "pt"),
        ("Ты уверен? Я думаю, что ты неправ.", "ru"),
        ("Ти впевнений? Я думаю, що ні.", "uk"),
        ("你确定吗？我觉得你错了。", "zh"),
        ("本当にそう思いますか？", "ja"),
    ],
)
def test_the_language_of_a_sentence(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "42", "👍", "ok"])
def test_too_little_text_gives_no_guess(text: str) -> None:
    assert detect_language(text) is None
