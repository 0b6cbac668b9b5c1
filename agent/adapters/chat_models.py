"""Chat model providers, chosen by `KOPICHAT_MODEL`: `openai:<model>`, `local`, `fake`, or any
`provider:model` that LangChain's `init_chat_model` knows."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from agent.errors import ConfigError
from agent.settings import Settings

# Retries share the turn's single deadline: the responder makes them (each attempt gets a share
# of the time left), so the provider SDK's own retries are off. Two ride out a dropped connection
# or a 429/5xx blip.
MODEL_RETRIES = 2


@dataclass(frozen=True, slots=True)
class ChatModelChoice:
    model: BaseChatModel
    # The model reads the first message and returns topic, thesis and reply as JSON itself;
    # otherwise the rule-based opening is used and the model only writes the reply.
    structured_opening: bool
    # The model continues a started answer (the reply prefix that commits it to its side).
    prefill: bool
    description: str
    # A small model: it gets the prompt files' compact variant (see prompts/debater/v3.yaml), and
    # a reply that repeats an earlier one is regenerated once, else replaced.
    compact_prompt: bool = False
    # Its raw replies are tidied here (agent/understanding/tidy.py): whole sentences of prose.
    # The offline model tidies its own, knowing where the token limit cut it.
    tidy_replies: bool = False
    # How the opening's JSON is asked for, with LangChain's structured output: "json_schema" or
    # "json_mode" (OpenAI), "json_mode_schema" (JSON mode with the schema, for other
    # OpenAI-compatible servers), "provider_default" (whatever the provider's integration does
    # best),
    # or None: the prompt alone asks for JSON.
    structured_method: str | None = None
    # Attempts of one model call (the first plus retries), all inside the turn's deadline.
    attempts: int = 1


def make_chat_model(settings: Settings) -> ChatModelChoice:
    spec = settings.model_spec
    if spec == "fake" or spec.startswith("fake:"):
        from agent.adapters.fake_model import BEHAVIOURS, FakeDebateModel

        behaviour = spec.partition(":")[2] or "honest"
        if behaviour not in BEHAVIOURS:
            raise ConfigError(
                f"KOPICHAT_MODEL: '{spec}': the fake model's variants are "
                + ", ".join(f"fake:{b}" for b in BEHAVIOURS)
            )
        return ChatModelChoice(
            FakeDebateModel(behaviour=behaviour), False, True, BEHAVIOURS[behaviour]
        )
    if spec == "local":
        from agent.adapters.local_model import LocalDebateModel, smollm2_path
        from agent.adapters.local_model_check import check_offline_model

        model_path = smollm2_path()
        # A llama.cpp build that does not suit this CPU crashes the process that runs it: find
        # out in a child process, and refuse to start with a clear line, before serving anyone.
        check_offline_model()
        model = LocalDebateModel(
            model_path=str(model_path),
            max_tokens=settings.local_max_tokens,
            max_waiting=settings.local_queue,
        )
        return ChatModelChoice(
            model,
            False,
            True,
            "local SmolLM2-135M-Instruct, the offline demo model: a weak debater, "
            "set OPENAI_API_KEY for real debates",
            compact_prompt=True,
        )
    provider, sep, name = spec.partition(":")
    if not sep or not provider or not name:
        raise ConfigError(
            f"KOPICHAT_MODEL: '{spec}' is not one of "
            "openai:<model>, local, fake, <provider>:<model>"
        )
    if provider == "openai":
        compact = settings.model_profile == "compact"
        return ChatModelChoice(
            _openai(settings, name),
            True,
            False,
            f"openai {name}" + (" (compact profile)" if compact else ""),
            compact_prompt=compact,
            tidy_replies=compact,
            structured_method=_structured_method(settings),
            attempts=MODEL_RETRIES + 1,
        )
    return ChatModelChoice(
        _other_provider(settings, provider, name),
        True,
        False,
        spec,
        structured_method="provider_default",
        attempts=MODEL_RETRIES + 1,
    )


def _structured_method(settings: Settings) -> str:
    """JSON mode sends the opening's schema along to servers other than OpenAI's own (llama.cpp
    and vLLM constrain the answer to it; OpenAI's API takes a schema only as json_schema)."""
    if settings.structured_output == "json_mode" and settings.openai_base_url:
        return "json_mode_schema"
    return settings.structured_output


def _openai(settings: Settings, name: str) -> BaseChatModel:
    if settings.openai_api_key is None:
        raise ConfigError("OPENAI_API_KEY: required for KOPICHAT_MODEL=openai:<model>")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=name,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.timeout_s,  # never None: the default waits forever
        max_retries=0,  # the responder retries, inside the deadline
        max_tokens=settings.max_reply_tokens,
        temperature=0.7,
        # Token counts of streamed answers (POST /api/chat/stream); with a custom base_url
        # LangChain leaves them off otherwise.
        stream_usage=True,
    )


def _other_provider(settings: Settings, provider: str, name: str) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(
            name,
            model_provider=provider,
            timeout=settings.timeout_s,
            max_retries=0,  # the responder retries, inside the deadline
            max_tokens=settings.max_reply_tokens,
        )
    except (ImportError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"KOPICHAT_MODEL: cannot use '{provider}:{name}': {first_line}") from None
