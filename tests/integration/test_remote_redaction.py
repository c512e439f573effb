"""What leaves the machine: remote requests are redacted on the wire (a real local OpenAI server records them), and
no secret reaches Deskmate's settings, logs or traces after a whole session against that server."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agents.providers import catalog
from agents.providers.fake import FakeChatModel
from agents.providers.limits import Limits
from agents.providers.outbound import OutboundPolicy
from agents.providers.registry import ModelRegistry
from agents.providers.spec import ModelSpec
from agents.runner import TurnDone
from app.logs import configure_logging
from app.secrets import MemorySecretStore
from app.settings import load_settings, save_settings
from app.wiring.index import open_index
from app.wiring.models import open_models
from app.wiring.session import open_session
from tests.support.openai_server import OpenAIServer
from tools.index.embedder import OnnxEmbedder

NAME = "testsrv/test-model"
DOC_KEY = "sk-test-" + "a1B2c3D4e5F6g7H8i9J0" * 2  # a fake key written in a document
EMAIL = "ops.lead@example.com"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def registry_for(server: OpenAIServer, pii: bool) -> ModelRegistry:
    specs = [ModelSpec(name=NAME, kind="openai", base_url=server.base_url, model="test-model", key_name="testsrv"),
             ModelSpec(name="fake/local", kind="fake")]
    return ModelRegistry(specs, Limits(retries=0), secrets={"testsrv": "opaque-Zq81x9Kp2Lm4"}.get,
                         outbound=OutboundPolicy(pii=pii))


@pytest.mark.parametrize("pii", [False, True])
def test_remote_requests_mask_secrets_always_and_pii_when_asked(server: OpenAIServer, pii: bool) -> None:
    registry = registry_for(server, pii)
    messages = [HumanMessage(f"Sources: the key is {DOC_KEY}; write to {EMAIL}; the old key opaque-Zq81x9Kp2Lm4"),
                AIMessage("", tool_calls=[{"name": "write_note", "id": "c1",
                                           "args": {"title": "keys", "text": f"password=hunter2 {DOC_KEY}"}}]),
                ToolMessage(f"saved a note with {DOC_KEY}", tool_call_id="c1")]
    assert registry.chat_model(NAME).invoke(messages).content == "ok"
    body = server.chat_requests[0].body
    assert server.chat_requests[0].authorization == "Bearer opaque-Zq81x9Kp2Lm4"  # the key itself is still used
    sent = str(body["messages"])
    assert DOC_KEY not in sent and "hunter2" not in sent and "opaque-Zq81x9Kp2Lm4" not in sent
    assert body["messages"][0]["content"].startswith("Sources: the key is [redacted api key]; write to ")
    assert "[redacted secret]" in body["messages"][0]["content"]
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == (
        '{"title": "keys", "text": "password=[redacted password] [redacted api key]"}')
    assert body["messages"][2]["content"] == "saved a note with [redacted api key]"
    assert (EMAIL in sent) is not pii and ("[redacted email]" in sent) is pii
    logged = registry.outbound.log.recent()
    assert len(logged) == 1 and logged[0].model == NAME
    assert logged[0].messages[0]["content"] == body["messages"][0]["content"]
    assert logged[0].redactions == {"api key": 3, "secret": 1, "password": 1, **({"email": 1} if pii else {})}

    registry.chat_model("fake/local").invoke([HumanMessage(f"local: {DOC_KEY}")])
    local = registry.chat_model("fake/local").inner
    assert isinstance(local, FakeChatModel) and DOC_KEY in str(local.calls[0][0])  # nothing leaves the machine
    assert len(registry.outbound.log.recent()) == 1


@pytest.fixture
def linked_models(models_dir: Path, onnx_embedder: OnnxEmbedder, deskmate_home: Path) -> None:
    """The session's prepared embedder, linked into this test's home (preparing it again costs seconds)."""
    onnx_embedder.embed(["warm"])
    target = deskmate_home / "data" / "models"
    target.mkdir(parents=True, exist_ok=True)
    for item in models_dir.iterdir():
        (target / item.name).symlink_to(item)


def test_a_session_with_a_remote_model_leaks_no_secret_to_disk(server: OpenAIServer, tmp_path: Path,
                                                               deskmate_home: Path, linked_models: None,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               restore_logging: None) -> None:
    api_key = "opaque-" + secrets.token_hex(20)  # no known shape: only the exact value finds it
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "deploy.md").write_text(
        f"# Deploy notes\n\nThe staging deploy key is {DOC_KEY} and it rotates monthly.\n"
        f"Questions about the deploy go to {EMAIL}.\n", encoding="utf-8")
    monkeypatch.setenv("DESKMATE_TRUST__REDACT_PII", "true")
    settings, paths = load_settings()
    save_settings(settings, paths)
    configure_logging(paths.log_file, "DEBUG", pii=settings.trust.redact_pii)
    catalog.save(paths.models_catalog, [ModelSpec(name=NAME, kind="openai", base_url=server.base_url,
                                                  model="test-model", key_name="testsrv")])
    index = open_index(settings, paths)
    index.add_root(docs)
    index.sync()
    index.close()
    server.enqueue_text("The staging deploy key rotates monthly [1].")

    registry = open_models(settings, paths, MemorySecretStore({"testsrv": api_key}))
    with open_session(settings, paths, model_name=NAME, registry=registry) as session:
        events = list(session.runner.ask("How often does the staging deploy key rotate?"))
        assert session.traces is not None
        done = next(e for e in events if isinstance(e, TurnDone))
        assert done.model == NAME and done.trace_id is not None
        trace = session.traces.get(done.trace_id)
        assert done.mode == "llm" and DOC_KEY in done.citations[0].quote  # the answer itself quotes the document
        # Whatever a component logs, document text included, is masked on its way to the log file.
        logging.getLogger("deskmate.test").warning("turn done: %s; document: %s", done.as_dict(),
                                                   (docs / "deploy.md").read_text(encoding="utf-8"))

    assert server.chat_requests[0].authorization == f"Bearer {api_key}"
    received = str(server.chat_requests[0].body["messages"])
    assert "deploy key is [redacted api key] and it rotates monthly" in received
    assert "go to [redacted email]" in received
    assert DOC_KEY not in received and EMAIL not in received and api_key not in received
    agent = next(s for s in trace.root.children if s.name == "agent")
    assert agent.attributes["sent"][0]["redactions"] == {"api key": 1, "email": 1}
    assert trace.summary.provider == "remote"

    files = [p for p in deskmate_home.rglob("*") if p.is_file()]
    everything = {p: p.read_bytes() for p in files}
    assert not [p for p, data in everything.items() if api_key.encode() in data]  # nowhere in the home
    kept = [p for p in files if p.suffix in (".log", ".toml") or p.name.startswith("traces.sqlite3")]
    assert paths.log_file in kept and paths.settings_file in kept and paths.data_dir / "traces.sqlite3" in kept
    assert b"turn done" in everything[paths.log_file]
    leaked = [p for p in kept if DOC_KEY.encode() in everything[p] or EMAIL.encode() in everything[p]]
    assert not leaked
