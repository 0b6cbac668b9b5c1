"""Failures of a turn that callers are expected to handle, each with a stable code.

The HTTP side maps each class to a status (api/problems.py); nothing here knows about HTTP.
"""

from __future__ import annotations


class KopichatError(Exception):
    code: str = "error"


class ConversationNotFound(KopichatError):
    """Unknown id, deleted, or owned by another API key: all look the same from outside."""

    code = "conversation_not_found"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} does not exist")
        self.conversation_id = conversation_id


class TurnInProgress(KopichatError):
    code = "turn_in_progress"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"another turn of conversation {conversation_id} is in progress")


class NothingToRegenerate(KopichatError):
    """The conversation's last message is not a bot reply to a user message."""

    code = "nothing_to_regenerate"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} has no bot reply to regenerate")


class TurnCapReached(KopichatError):
    code = "turn_cap_reached"

    def __init__(self, conversation_id: str, max_turns: int) -> None:
        super().__init__(f"conversation {conversation_id} reached its cap of {max_turns} turns")


class ModelUnavailable(KopichatError):
    code = "model_unavailable"


class ModelBusy(KopichatError):
    """The model's wait queue is full: answered at once, with a hint when to try again."""

    code = "model_busy"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the model is busy with other turns")
        self.retry_after_s = retry_after_s


class DeadlineExceeded(KopichatError):
    code = "deadline_exceeded"


class DatabaseUnavailable(KopichatError):
    """The database failed or did not answer in time; the turn stored nothing."""

    code = "database_unavailable"


class IdempotencyKeyMismatch(KopichatError):
    """The key was first used for another request (another conversation or another message)."""

    code = "idempotency_key_mismatch"


class IdempotencyKeyInUse(KopichatError):
    """The first request with this key is still running and did not finish in this one's time."""

    code = "idempotency_key_in_use"

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in progress")


class ConfigError(KopichatError):
    """A bad setting; the message is one line naming the variable. Retrying never helps."""

    code = "config_error"


class TurnCancelled(KopichatError):
    """The turn was cancelled (POST /api/conversations/{id}/cancel); it stored nothing."""

    code = "turn_cancelled"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"the turn of conversation {conversation_id} was cancelled")


class NoTurnInProgress(KopichatError):
    """A cancel found no running turn to stop."""

    code = "no_turn_in_progress"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"no turn of conversation {conversation_id} is in progress")
