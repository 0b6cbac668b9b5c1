"""The offline model's prompt: ChatML segments, and which history to keep in it.

SmolLM2 reads ChatML (`<|im_start|>role\\ntext<|im_end|>\\n`). Each segment is tokenized on its
own, so the same message always gives the same tokens, and two turns of one conversation share
a token prefix that llama.cpp can reuse instead of evaluating it again. Only the template's own
markers are tokenized as special tokens; every text (the user's, the history, the system prompt
and the started answer, which quote the user's thesis) is tokenized as plain text, so a message
that contains `<|im_end|>` or `<|im_start|>system` stays words and never becomes a role marker.

A user message longer than `message_tokens` is seen in a shortened form, its head and its tail
around an ellipsis (`capped`): prompt evaluation dominates the offline model's time, and a 135M
model's tokenizer turns CJK text into several tokens a character. The same cap applies to the
user messages of the history, so the shortened form evaluated on one turn is reused on the next.
The stored message is never changed; only the model's view of it.

Which history goes in is decided here, under three constraints:
- the whole prompt plus the reply budget fits the context (the system prompt and the new message
  are never dropped; only a new message that alone cannot fit is shortened, from its start);
- at most `max_history` past messages, and at most `history_tokens` tokens of them: a 135M model
  does not use a long history well, and every token costs prompt-evaluation time;
- among the windows that fit, the one that reuses the most already-evaluated tokens. So a
  conversation keeps the same oldest message for a few turns (each turn evaluates only what is
  new), and when it must move on it keeps just the newest exchange, leaving room to grow again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

Tokens = list[int]
START, END = "<|im_start|>", "<|im_end|>"
ELLIPSIS = " \u2026 "  # where a capped message's head and tail meet


class Tokenize(Protocol):
    def __call__(self, text: str, *, special: bool = False) -> Tokens:
        """`special`: markers such as `<|im_end|>` in `text` become special tokens; without it
        they are plain characters."""
        ...


def segment(role: str, text: str) -> str:
    return f"{START}{role}\n{text}{END}\n"


def answer_start(prefill: str) -> str:
    return f"{START}assistant\n{prefill}"


def segment_tokens(role: str, text: str | Tokens, tokenize: Tokenize) -> Tokens:
    """The tokens of `segment(role, text)`: the markers special, the text plain (or given as
    tokens already)."""
    body = tokenize(text) if isinstance(text, str) else text
    return tokenize(f"{START}{role}\n", special=True) + body + tokenize(f"{END}\n", special=True)


def answer_start_tokens(prefill: str, tokenize: Tokenize) -> Tokens:
    return tokenize(f"{START}assistant\n", special=True) + tokenize(prefill)


def capped(tokens: Tokens, tokenize: Tokenize, limit: int | None) -> Tokens:
    """A text's plain `tokens`, or, past `limit` of them, its head and tail around an ellipsis
    (the opening usually states the point, the end asks the question)."""
    if limit is None or len(tokens) <= limit:
        return tokens
    middle = tokenize(ELLIPSIS)
    room = max(limit - len(middle), 2)
    head = room // 2
    return tokens[:head] + middle + tokens[len(tokens) - (room - head) :]


@dataclass(frozen=True, slots=True)
class ChatmlTurn:
    """A debate turn as the offline model sees it."""

    system: str
    history: list[tuple[str, str]]  # (role, text), oldest first; role is "user" or "assistant"
    message: str
    prefill: str  # the started answer ('' if none)

    @classmethod
    def from_messages(cls, messages: Sequence[BaseMessage]) -> ChatmlTurn:
        """[system?, *history, human, ai-prefill?] as the debate chain builds them."""
        items = list(messages)
        system = str(items.pop(0).text) if items and isinstance(items[0], SystemMessage) else ""
        prefill = ""
        if items and not isinstance(items[-1], HumanMessage):
            prefill = str(items.pop().text)
        message = str(items.pop().text) if items else ""
        history = [
            ("user" if isinstance(m, HumanMessage) else "assistant", str(m.text)) for m in items
        ]
        return cls(system, history, message, prefill)

    def text(self) -> str:
        """The whole prompt as one string (for reading; the model gets `PromptPlan.tokens`)."""
        parts = [segment("system", self.system)] if self.system else []
        parts += [segment(role, text) for role, text in self.history]
        parts += [segment("user", self.message), answer_start(self.prefill)]
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class PromptPlan:
    tokens: Tokens
    history_kept: int  # how many of the newest history messages are in the prompt
    reused: int  # tokens already evaluated (live, or in a cached state) that this prompt reuses
    message_shortened: bool  # too long for the context even when capped
    message_capped: bool = False  # over `message_tokens`: the model saw its head and tail


def longest_common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def plan_prompt(
    turn: ChatmlTurn,
    tokenize: Tokenize,
    *,
    context_tokens: int,
    reply_tokens: int,
    max_history: int,
    history_tokens: int,
    message_tokens: int | None = None,
    evaluated: Sequence[Sequence[int]] = (),
) -> PromptPlan:
    """Choose the history window for `turn` (see the module docstring) and return its tokens.

    `message_tokens` caps each user message (see `capped`); `evaluated` are token sequences the
    model holds already (its live context, cached states)."""

    def user_text(text: str) -> Tokens:
        return capped(tokenize(text), tokenize, message_tokens)

    head = segment_tokens("system", turn.system, tokenize) if turn.system else []
    whole = tokenize(turn.message)
    said = capped(whole, tokenize, message_tokens)
    message = segment_tokens("user", said, tokenize)
    tail = answer_start_tokens(turn.prefill, tokenize)
    room = context_tokens - reply_tokens - len(head) - len(tail)
    shortened = False
    if len(message) > room:
        message = _shortened_message(turn.message, tokenize, room)
        shortened = True
    history = [
        segment_tokens(role, user_text(text) if role == "user" else text, tokenize)
        for role, text in turn.history
    ]

    # Windows keep the newest `kept` messages and start with a user message; largest first.
    # Each is kept with the token offsets where its segments end.
    candidates: list[tuple[int, Tokens, list[int]]] = []
    for kept in range(min(len(history), max_history), -1, -1):
        start = len(history) - kept
        if kept and turn.history[start][0] != "user":
            continue
        window = history[start:]
        size = sum(len(t) for t in window)
        if kept and (size > history_tokens or size > room - len(message)):
            continue
        ends = [len(head)]
        for tokens in window:
            ends.append(ends[-1] + len(tokens))
        candidates.append((kept, head + [t for m in window for t in m] + message + tail, ends))

    def reuse(tokens: Tokens) -> int:
        return max((longest_common_prefix(seq, tokens) for seq in evaluated), default=0)

    def whole_segments(reused: int, ends: list[int]) -> int:
        """Reused tokens that cover whole segments (a shared role header alone is no reuse)."""
        return max((end for end in ends if end <= reused), default=0)

    scored = [(reuse(tokens), kept, tokens, ends) for kept, tokens, ends in candidates]
    best = max(scored, key=lambda s: (whole_segments(s[0], s[3]), s[1]))
    if whole_segments(best[0], best[3]) <= len(head) and len(scored) > 1:
        # Nothing past the system prompt can be reused: start a window that can grow, with the
        # newest exchange (or all there is, if that is less).
        with_history = [s for s in scored if s[1] > 0]
        best = min(with_history or scored, key=lambda s: s[1])
    best_reuse, kept, tokens, _ = best
    message_capped = said != whole
    return PromptPlan(tokens, kept, best_reuse, shortened, message_capped)


def _shortened_message(text: str, tokenize: Tokenize, room: int) -> Tokens:
    """The end of a message too long to fit on its own (its latest words matter most)."""
    keep_chars = len(text)
    tokens = segment_tokens("user", text, tokenize)
    while len(tokens) > room and keep_chars > 0:
        keep_chars = keep_chars * 9 // 10
        tokens = segment_tokens("user", "\u2026" + text[len(text) - keep_chars :], tokenize)
    return tokens
