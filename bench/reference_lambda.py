"""The reference for Kopichat's Lambda cold start: a minimal FastAPI + Mangum + langchain-openai
handler, `bench.reference_lambda.handler`.

Built at import as Kopichat's handler is: a FastAPI app with one `POST /api/chat` route that
sends the message to `ChatOpenAI` (OPENAI_BASE_URL, the benchmark's loopback mock) and returns
the reply, behind Mangum with lifespan off. No database, no prompt files, no guard.
`cold_start_ratio` is Kopichat's cold start over this handler's.

Not part of the product: it lives with the benchmark only.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at runtime.

from typing import Any

from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from mangum import Mangum
from pydantic import BaseModel

model = ChatOpenAI(model="gpt-4o-mini", timeout=25, max_retries=1)
app = FastAPI(title="Reference: FastAPI + Mangum + langchain-openai")


class ChatRequest(BaseModel):
    conversation_id: str | None = None
    message: str


class ChatReply(BaseModel):
    reply: str


@app.post("/api/chat")
async def chat(body: ChatRequest) -> ChatReply:
    answer = await model.ainvoke(body.message)
    return ChatReply(reply=answer.text)


# The benchmark's event comes from an HTTP API's named stage, `prod`.
_asgi = Mangum(app, lifespan="off", api_gateway_base_path="/prod")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = _asgi(event, context)
    return result
