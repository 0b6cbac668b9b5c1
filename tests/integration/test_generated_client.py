"""A Python client generated from the live /openapi.json with openapi-python-client (offline)
holds a three-turn debate and gets typed errors, with the operation names the schema gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_server

pytestmark = pytest.mark.slow

# Runs in a fresh interpreter against the generated package only.
CLIENT_SCRIPT = """
import sys
import uuid

from kopichat_client import AuthenticatedClient
from kopichat_client.api.kopichat import (
    chat, delete_conversation, get_conversation, list_conversations, regenerate,
)
from kopichat_client.models import (
    ChatRequest, ChatResponse, ConversationListView, ConversationView, Problem,
)

base_url, api_key = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(
    base_url=base_url, token=api_key, auth_header_name="X-API-Key", prefix="",
    raise_on_unexpected_status=True,
)
with client as c:
    opening = ChatRequest(message="Topic: tea. You argue that tea beats coffee.")
    first = chat.sync(client=c, body=opening)
    assert isinstance(first, ChatResponse), first
    conv = first.conversation_id
    for n in (2, 3):
        key = str(uuid.uuid4())
        turn = chat.sync_detailed(
            client=c,
            body=ChatRequest(message=f"point {n}", conversation_id=conv),
            idempotency_key=key,
            x_request_id=f"generated-{n}",
        )
        assert turn.status_code == 200, turn.content
        assert isinstance(turn.parsed, ChatResponse)
        assert turn.headers["x-request-id"] == f"generated-{n}"
        assert turn.parsed.message[-2].message == f"point {n}"
        assert turn.parsed.message[-1].role.value == "bot"
    view = get_conversation.sync(client=c, conversation_id=conv, limit=10)
    assert isinstance(view, ConversationView), view
    assert len(view.messages) == 6
    assert view.next_cursor is None
    assert view.thesis

    again = regenerate.sync_detailed(
        client=c, conversation_id=conv, idempotency_key=str(uuid.uuid4())
    )
    assert again.status_code == 200, again.content
    assert isinstance(again.parsed, ChatResponse)
    assert again.parsed.message[-2].message == "point 3"
    assert again.parsed.message[-1].role.value == "bot"
    assert len(get_conversation.sync(client=c, conversation_id=conv).messages) == 6
    unknown = regenerate.sync(client=c, conversation_id=str(uuid.uuid4()))
    assert isinstance(unknown, Problem) and unknown.code == "conversation_not_found"

    second = chat.sync(client=c, body=ChatRequest(message="Cats are better than dogs"))
    assert isinstance(second, ChatResponse)
    page = list_conversations.sync(client=c, limit=1)
    assert isinstance(page, ConversationListView), page
    assert [s.conversation_id for s in page.conversations] == [second.conversation_id]
    assert isinstance(page.next_cursor, str)
    rest = list_conversations.sync(client=c, limit=1, cursor=page.next_cursor)
    assert isinstance(rest, ConversationListView), rest
    assert [(s.conversation_id, s.turns) for s in rest.conversations] == [(conv, 3)]
    assert rest.next_cursor is None
    found = list_conversations.sync(client=c, q="TEA")
    assert isinstance(found, ConversationListView)
    assert [s.conversation_id for s in found.conversations] == [conv]
    bad = list_conversations.sync(client=c, limit=101)
    assert isinstance(bad, Problem) and bad.status == 422

    missing = chat.sync_detailed(
        client=c, body=ChatRequest(message="hello?", conversation_id=str(uuid.uuid4()))
    )
    assert missing.status_code == 404
    assert isinstance(missing.parsed, Problem), missing.parsed
    assert missing.parsed.code == "conversation_not_found"
    gone = get_conversation.sync(client=c, conversation_id=str(uuid.uuid4()))
    assert isinstance(gone, Problem) and gone.status == 404

    deleted = delete_conversation.sync_detailed(client=c, conversation_id=conv)
    assert deleted.status_code == 204
    assert isinstance(get_conversation.sync(client=c, conversation_id=conv), Problem)
print("generated client OK")
"""


def test_a_client_generated_from_the_schema_works(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    generator = bin_dir / "openapi-python-client"
    assert generator.exists(), "openapi-python-client is missing: install the dev extra"
    api_key = "generated-client-key-0123456789"
    env = {
        "KOPICHAT_MODEL": "fake",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'client.db'}",
        "KOPICHAT_API_KEYS": api_key,
    }
    with running_server(env, tmp_path) as server:
        schema = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
        (tmp_path / "openapi.json").write_text(json.dumps(schema))
        (tmp_path / "config.yaml").write_text("package_name_override: kopichat_client\n")
        tool_env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
        generated = subprocess.run(
            [
                str(generator),
                "generate",
                "--path",
                "openapi.json",
                "--config",
                "config.yaml",
                "--meta",
                "none",
                "--output-path",
                "kopichat_client",
                "--fail-on-warning",
            ],
            cwd=tmp_path,
            env=tool_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert generated.returncode == 0, generated.stdout + generated.stderr
        operations = sorted(
            p.stem for p in (tmp_path / "kopichat_client/api/kopichat").glob("*.py")
        )
        assert operations == [
            "__init__",
            "cancel_turn",
            "chat",
            "chat_stream",
            "delete_conversation",
            "get_conversation",
            "health",
            "list_conversations",
            "ready",
            "regenerate",
            "resume_stream",
        ]
        (tmp_path / "use_client.py").write_text(CLIENT_SCRIPT)
        used = subprocess.run(
            [sys.executable, "use_client.py", server.base_url, api_key],
            cwd=tmp_path,
            env={**tool_env, "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert used.returncode == 0, used.stdout + used.stderr
    assert "generated client OK" in used.stdout
