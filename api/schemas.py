"""Request and response bodies of the public contract (DESIGN.md §2). Names are exact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, create_model

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EXAMPLE_ID = "3f0f1c9e-8f5a-4a51-9a43-2f1c6f0b8e21"
ConversationId = Annotated[StrictStr, Field(pattern=UUID_PATTERN, examples=[EXAMPLE_ID])]


class ChatRequestBase(BaseModel):
    # A misspelt key (`conversationId`) must not silently start a new conversation.
    model_config = ConfigDict(extra="forbid")
    conversation_id: ConversationId | None = Field(
        default=None,
        description=(
            "The conversation's id: a UUID, as returned by the first call. Null or absent to "
            "start a new conversation. Matched without regard to case."
        ),
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
    conversation_id: str = Field(
        description="The conversation's id (a UUID): send it with every following message."
    )
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


class ConversationSummaryView(BaseModel):
    conversation_id: str
    topic: str | None = Field(description="Null until the user names something to debate.")
    thesis: str | None = Field(description="The side the bot defends; fixed once.")
    created_at: datetime
    updated_at: datetime = Field(description="The last turn (or regeneration), or creation.")
    turns: int = Field(
        description="Completed turns: each is a user message and the bot's reply to it."
    )


class ConversationListView(BaseModel):
    conversations: list[ConversationSummaryView] = Field(
        description="The caller's conversations, most recently active first."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class Status(BaseModel):
    status: str


# Every `code` a problem can carry, with its status and meaning. README.md's error table lists
# the same codes (a test holds the two, and the codes raised in agent/ and api/, together).
PROBLEM_CODES: dict[str, str] = {
    "unauthorized": "401: API keys are on and X-API-Key is missing or wrong",
    "conversation_not_found": "404: the conversation_id is unknown, deleted, or another key's",
    "not_found": "404: no such path",
    "method_not_allowed": "405: the path exists but not with this method (see Allow)",
    "turn_in_progress": "409: another turn of the conversation is still running",
    "idempotency_key_in_use": "409: the first request with this Idempotency-Key still runs",
    "turn_cap_reached": "409: the conversation has had KOPICHAT_MAX_TURNS turns",
    "nothing_to_regenerate": "409: the conversation's last message is not a bot reply",
    "turn_cancelled": "409: the turn was cancelled (POST .../cancel) and stored nothing",
    "no_turn_in_progress": "409: a cancel found no turn of the conversation running",
    "body_too_large": "413: the body is over KOPICHAT_MAX_BODY_BYTES",
    "validation_error": "422: the request is not valid; `detail` says what to change",
    "idempotency_key_mismatch": "422: the Idempotency-Key was used with another request",
    "rate_limited": "429: over KOPICHAT_RATE_LIMIT",
    "internal_error": "500: an unexpected error on the server",
    "config_error": "500: a configuration fault on the server",
    "http_error": "another HTTP error of the framework, named by `status`",
    "database_unavailable": "503: the database failed or did not answer in time",
    "model_unavailable": "503: the model failed after its retries",
    "model_busy": "503: the offline model's wait queue is full",
    "deadline_exceeded": "504: the turn ran past KOPICHAT_TIMEOUT_S",
}


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable `code`."""

    type: str
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to do about it, in words.")
    code: str = Field(
        description="Stable and machine-readable, one of: "
        + "; ".join(f"`{code}` ({meaning})" for code, meaning in PROBLEM_CODES.items())
        + "."
    )
    errors: list[dict[str, object]] | None = Field(
        default=None, description="For validation_error: each fault, with `loc` and `msg`."
    )
