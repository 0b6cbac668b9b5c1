"""Request and response bodies of the public contract (DESIGN.md §2). Names are exact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, create_model

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ConversationId = Annotated[
    StrictStr, Field(pattern=UUID_PATTERN, examples=["3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21"])
]


class ChatRequestBase(BaseModel):
    # A misspelt key (`conversationId`) must not silently start a new conversation.
    model_config = ConfigDict(extra="forbid")
    conversation_id: ConversationId | None = Field(
        default=None,
        description="Null or absent to start a new conversation. Matched without regard to case.",
    )
    message: StrictStr


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("message must contain something other than whitespace")
    return text


def chat_request_model(max_message_chars: int) -> type[ChatRequestBase]:
    """The request model with the configured length cap, so OpenAPI shows the real limits."""
    message = Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=max_message_chars,
            json_schema_extra={"pattern": r"\S"},  # checked by _not_blank, with a clear message
            description="The user's message; returned byte-exact in the history.",
            examples=["Topic: pineapple on pizza. You argue that it belongs on pizza."],
        ),
        AfterValidator(_not_blank),
    ]
    return create_model("ChatRequest", __base__=ChatRequestBase, message=(message, ...))


class ChatMessage(BaseModel):
    role: Literal["user", "bot"]
    message: str


class ChatResponse(BaseModel):
    conversation_id: str
    message: list[ChatMessage] = Field(
        description="The most recent messages, oldest first; the bot's new reply is last."
    )


class ConversationView(BaseModel):
    conversation_id: str
    topic: str | None = Field(description="Null until the user names something to debate.")
    thesis: str | None = Field(description="The side the bot defends; fixed once.")
    prompt_version: str
    created_at: datetime
    messages: list[ChatMessage] = Field(
        description=(
            "One page of messages, oldest first within the page. The first page holds the "
            "newest messages; follow `next_cursor` for older ones."
        )
    )
    next_cursor: str | None = Field(
        description=(
            "Pass as `cursor` to get the page of messages just before this one; "
            "null when this page starts at the conversation's first message."
        )
    )


class Status(BaseModel):
    status: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, object]] | None = None
