"""Try a prompt change on real debates: load a stored conversation from the history database
(MySQL or SQLite, `DATABASE_URL`) and replay its user turns against another prompt version,
side by side with what the bot said. Used by docs/notebooks/debate.ipynb.

The replay keeps the conversation's stored topic and thesis and plays every user turn as a debate
turn, with the replayed bot's own earlier replies as history (the last `context_messages`, as
the service does).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, select

from agent.adapters.chat_models import ChatModelChoice
from agent.adapters.debate_chain import build_debate_chain, to_chat_messages
from agent.adapters.prompt_files import DEFAULT_PROMPTS_DIR, PromptSet
from agent.adapters.sql.tables import conversations
from agent.domain import Message, Role, TranscriptPage
from agent.use_case import DebateTurns


@dataclass(frozen=True, slots=True)
class StoredDebate:
    id: str
    prompt_version: str
    thesis: str


def stored_debates(
    engine: Engine, *, prompt_version: str | None = None, limit: int = 5
) -> list[StoredDebate]:
    """The newest conversations that have a side fixed, newest first, of one prompt version if
    given. None in a database that has no schema yet (nothing was ever stored there)."""
    if not inspect(engine).has_table(conversations.name):
        return []
    query = (
        select(conversations.c.id, conversations.c.prompt_version, conversations.c.thesis)
        .where(conversations.c.thesis.is_not(None))
        .order_by(conversations.c.created_at.desc())
        .limit(limit)
    )
    if prompt_version is not None:
        query = query.where(conversations.c.prompt_version == prompt_version)
    with engine.connect() as connection:
        return [StoredDebate(str(r[0]), str(r[1]), str(r[2])) for r in connection.execute(query)]


def recent_conversation_ids(engine: Engine, limit: int = 5) -> list[str]:
    """The newest conversations that have a side fixed, newest first."""
    query = (
        select(conversations.c.id)
        .where(conversations.c.thesis.is_not(None))
        .order_by(conversations.c.created_at.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(query)]


async def whole_conversation(turns: DebateTurns, conversation_id: str) -> TranscriptPage:
    """Every message of a conversation, oldest first: its transcript pages, read back to front."""
    page = await turns.transcript(conversation_id)
    messages = list(page.messages)
    while page.older is not None:
        page = await turns.transcript(conversation_id, older_than=page.older)
        messages = [*page.messages, *messages]
    return TranscriptPage(page.conversation, messages, None)


def user_turns(transcript: TranscriptPage) -> list[str]:
    return [m.text for m in transcript.messages if m.role is Role.USER]


def bot_turns(transcript: TranscriptPage) -> list[str]:
    return [m.text for m in transcript.messages if m.role is Role.BOT]


def replay(
    transcript: TranscriptPage,
    prompts: PromptSet,
    choice: ChatModelChoice,
    *,
    context_messages: int = 10,
) -> list[str]:
    """The bot's replies to the conversation's user turns under `prompts`."""
    stance = transcript.conversation.stance
    if stance is None:
        raise ValueError("this conversation never fixed a side: there is nothing to replay")
    chain = build_debate_chain(
        prompts, choice.model, prefill=choice.prefill, compact=choice.compact_prompt
    )
    history: list[Message] = []
    replies: list[str] = []
    for said in user_turns(transcript):
        window = history[-context_messages:] if context_messages else []
        reply = chain.invoke(
            {
                "topic": stance.topic,
                "thesis": stance.thesis,
                "history": to_chat_messages(window),
                "message": said,
            }
        ).strip()
        history += [Message(Role.USER, said), Message(Role.BOT, reply)]
        replies.append(reply)
    return replies


@dataclass(frozen=True, slots=True)
class Row:
    user: str
    before: str
    after: str


def side_by_side(transcript: TranscriptPage, replayed: list[str]) -> list[Row]:
    return [
        Row(user, before, after)
        for user, before, after in zip(
            user_turns(transcript), bot_turns(transcript), replayed, strict=False
        )
    ]


def markdown_table(rows: list[Row], before: str, after: str) -> str:
    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [f"| user | {before} | {after} |", "|---|---|---|"]
    lines += [f"| {cell(r.user)} | {cell(r.before)} | {cell(r.after)} |" for r in rows]
    return "\n".join(lines)


def draft_version(
    scratch: Path,
    base: str,
    new: str,
    edit: Callable[[str], str],
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
) -> Path:
    """A copy of the prompts directory in `scratch` with `new` added: the debater file of `base`
    changed by `edit`, its opening file copied. Returns the copy, for load_prompt_set(new, ...).
    Nothing in the project's prompts/ is touched."""
    copy = scratch / "prompts"
    shutil.copytree(prompts_dir, copy, dirs_exist_ok=True)
    debater = (copy / "debater" / f"{base}.yaml").read_text(encoding="utf-8")
    (copy / "debater" / f"{new}.yaml").write_text(edit(debater), encoding="utf-8")
    shutil.copyfile(copy / "opening" / f"{base}.yaml", copy / "opening" / f"{new}.yaml")
    return copy
