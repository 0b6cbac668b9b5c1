"""The plain LangChain baseline, built the way LangChain's documentation shows it.

`RunnableWithMessageHistory` over langchain-community's `SQLChatMessageHistory`: every turn asks
`get_session_history` for the session's history object, which reads *every* stored message of
the session, and all of them go to the model. Same prompt file, same fake model, same FastAPI +
uvicorn HTTP layer and the same `POST /api/chat` JSON contract as Kopichat; its own database.

For a fair fight it gets the benefit of every doubt: one engine shared by all requests (the docs
often pass a URL, which would build an engine per turn), Kopichat's pool settings, and the reply's
last five messages come from the history already read (no second read).

Not part of the product: it lives with the benchmark only. `python -m bench.baseline_app` serves
it on HOST:PORT for DATABASE_URL.
"""

import logging
import os
import sys
import uuid
import warnings
from operator import itemgetter
from typing import Any

# langchain-community warns that it is being sunset, and RunnableWithMessageHistory /
# BaseChatMessageHistory are deprecated: expected for the baseline, and silenced here only.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"langchain")
warnings.filterwarnings("ignore", message=r".*langchain-community.*", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=r".*RunnableWithMessageHistory.*")
warnings.filterwarnings("ignore", message=r".*BaseChatMessageHistory.*")

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from langchain_community.chat_message_histories import SQLChatMessageHistory  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel  # noqa: E402
from langchain_core.runnables.history import RunnableWithMessageHistory  # noqa: E402
from pydantic import Field, StrictStr  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from agent.adapters.debate_chain import debate_prompt, rule_based_opening  # noqa: E402
from agent.adapters.fake_model import FakeDebateModel  # noqa: E402
from agent.adapters.prompt_files import load_prompt_set  # noqa: E402
from agent.adapters.sql.engine import make_engine  # noqa: E402
from api.schemas import ChatMessage, ChatRequestBase, ChatResponse, Status  # noqa: E402

HISTORY_LIMIT = 5  # messages returned to the caller, as Kopichat's default


class ChatRequest(ChatRequestBase):
    message: StrictStr = Field(min_length=1, max_length=2000)


def _with_stance(inputs: dict[str, Any]) -> dict[str, Any]:
    """Topic and thesis for the prompt: read by Kopichat's rules from the conversation's first
    message (the baseline keeps no conversation row, only the messages)."""
    history: list[BaseMessage] = inputs["history"]
    first = next((m.text for m in history if isinstance(m, HumanMessage)), inputs["message"])
    stance = rule_based_opening(first)
    topic = stance.topic if stance else "whatever the user brings up"
    thesis = stance.thesis if stance else "The user's view is wrong."
    return {**inputs, "topic": topic, "thesis": thesis}


def build_baseline_chain(
    model: BaseChatModel, engine: Engine, *, prompt_version: str = "v1"
) -> Runnable[dict[str, Any], dict[str, Any]]:
    """Input {"message": str} with config {"configurable": {"session_id": ...}}; output
    {"reply": str, "recent": [the last messages before this turn]}."""
    prompt = debate_prompt(load_prompt_set(prompt_version), prefill=True)
    answer = prompt | model | StrOutputParser()
    chain = RunnableLambda(_with_stance) | RunnableParallel(
        reply=answer,
        recent=itemgetter("history") | RunnableLambda(lambda h: h[-(HISTORY_LIMIT - 2) :]),
    )

    def get_session_history(session_id: str) -> SQLChatMessageHistory:
        return SQLChatMessageHistory(session_id=session_id, connection=engine)

    # langchain-core re-enables its deprecation warnings when imported: silence them here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return RunnableWithMessageHistory(
            chain,
            get_session_history,
            input_messages_key="message",
            history_messages_key="history",
            output_messages_key="reply",
        )


def _item(message: BaseMessage) -> ChatMessage:
    return ChatMessage(
        role="user" if isinstance(message, HumanMessage) else "bot", message=message.text
    )


def create_baseline_app(engine: Engine, model: BaseChatModel | None = None) -> FastAPI:
    chain = build_baseline_chain(model or FakeDebateModel(), engine)
    app = FastAPI(title="LangChain baseline")

    # A plain `def`: FastAPI runs it on its thread pool, as the sync history needs.
    # (SQLChatMessageHistory's async methods refuse a sync engine.)
    @app.post("/api/chat", response_model=ChatResponse)
    def chat(body: ChatRequest) -> ChatResponse:
        session_id = body.conversation_id or str(uuid.uuid4())
        out = chain.invoke(
            {"message": body.message}, config={"configurable": {"session_id": session_id}}
        )
        recent: list[BaseMessage] = [*out["recent"], HumanMessage(body.message)]
        recent.append(AIMessage(out["reply"]))
        return ChatResponse(
            conversation_id=session_id, message=[_item(m) for m in recent[-HISTORY_LIMIT:]]
        )

    @app.get("/health", response_model=Status)
    def health() -> Status:
        return Status(status="ok")

    return app


def create_table(engine: Engine) -> None:
    """SQLChatMessageHistory creates its table (`message_store`) when first constructed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        SQLChatMessageHistory(session_id="create-table", connection=engine)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("baseline: DATABASE_URL is required", file=sys.stderr)
        return 2
    engine = make_engine(url)  # the same pool settings as Kopichat's
    create_table(engine)
    access_log = os.environ.get("KOPICHAT_ACCESS_LOG", "true").lower() not in ("0", "false", "no")
    uvicorn.run(
        create_baseline_app(engine),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8001")),
        log_level="info",
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
