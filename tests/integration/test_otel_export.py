"""Stored traces sent to an OpenTelemetry collector: a real OTLP/HTTP exporter posting to a collector stand-in."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from agents.observability.otel_export import OtelExporter
from agents.observability.traces import TraceStore
from app.settings import AppSettings, Paths, load_settings
from app.wiring.traces import session_traces
from tests.unit.agents.test_traces import events, made_turn
from tools.errors import ConfigError

KEY = "sk-test-" + "q1W2e3R4t5" * 4


class Collector:
    """An OTLP/HTTP receiver on 127.0.0.1: records every POST to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    collector.bodies.append(body)
                    collector.headers.append(dict(self.headers))
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def requests(self) -> list[ExportTraceServiceRequest]:
        return [ExportTraceServiceRequest.FromString(b) for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.close()


def value(v: AnyValue) -> object:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def test_a_recorded_turn_arrives_at_the_collector_as_its_stored_span_tree(tmp_path: Path,
                                                                          collector: Collector) -> None:
    exporter = OtelExporter(collector.url, headers={"authorization": "Bearer collector-token"})
    store = TraceStore(tmp_path / "traces.sqlite3", exporter=exporter)
    started = time.time() - 1
    trace_id = store.record(f"Is my key {KEY} still valid?", made_turn(), events(started), provider="fake")
    stored = store.get(trace_id).root
    store.close()  # shuts the exporter down: what was queued is sent

    spans = [(resource, span) for request in collector.requests() for resource in request.resource_spans
             for scope in resource.scope_spans for span in scope.spans]
    assert collector.headers[0]["authorization"] == "Bearer collector-token"
    resource_attributes = {a.key: value(a.value) for a in spans[0][0].resource.attributes}
    assert resource_attributes["service.name"] == "deskmate"
    assert resource_attributes["service.version"] == "0.1.0"

    by_name = {span.name: span for _, span in spans}
    assert len(spans) == 1 + len(stored.children) == 6
    assert len({span.trace_id for _, span in spans}) == 1
    root = by_name["turn"]
    assert root.parent_span_id == b""
    assert [s.name for s in stored.children] == ["check_input", "classify", "retrieve", "agent", "finish"]
    for child in stored.children:
        exported = by_name[child.name]
        assert exported.parent_span_id == root.span_id
        assert exported.start_time_unix_nano == round(child.started * 1e9)
        assert exported.end_time_unix_nano == round(child.started * 1e9) + round(child.duration_ms * 1e6)
    assert root.start_time_unix_nano == round(stored.started * 1e9)
    assert root.end_time_unix_nano - root.start_time_unix_nano == 120_000_000

    attrs = {a.key: value(a.value) for a in root.attributes}
    assert attrs["deskmate.trace_id"] == trace_id and attrs["deskmate.provider"] == "fake"
    assert attrs["deskmate.mode"] == "llm" and attrs["deskmate.grounded"] is True
    assert KEY not in attrs["deskmate.question"] and "[redacted" in attrs["deskmate.question"]
    assert attrs["deskmate.question"] == stored.attributes["question"]
    assert '"input_tokens": 50' in attrs["deskmate.usage"]  # a dict: JSON text
    assert "deskmate.fallback_reason" not in attrs  # None: left out
    agent = {a.key: value(a.value) for a in by_name["agent"].attributes}
    assert agent["deskmate.tokens_in"] == 50 and agent["deskmate.ttft_ms"] == 25.0
    assert KEY not in b"".join(collector.bodies).decode("utf-8", "replace")


def test_document_text_withheld_from_the_store_is_withheld_from_the_collector(tmp_path: Path,
                                                                             collector: Collector) -> None:
    store = TraceStore(tmp_path / "traces.sqlite3", redact_documents=True, exporter=OtelExporter(collector.url))
    store.record("What does the contract with Acme say?", made_turn(), events(time.time()))
    store.close()
    body = b"".join(collector.bodies)
    assert body and b"Acme" not in body and b"95 euros" not in body and b"(withheld)" in body


def test_a_collector_that_is_down_never_breaks_a_turn(tmp_path: Path, collector: Collector) -> None:
    url = collector.url
    collector.close()  # the port answers nothing now
    store = TraceStore(tmp_path / "traces.sqlite3", exporter=OtelExporter(url, timeout_s=0.5))
    trace_id = store.record("How much is the fee?", made_turn(), events(time.time()))
    assert store.get(trace_id).summary.question == "How much is the fee?"
    store.close()


def test_without_an_endpoint_no_exporter_is_built_and_nothing_is_sent(tmp_path: Path,
                                                                      collector: Collector) -> None:
    paths = Paths(tmp_path / "config", tmp_path / "data", tmp_path / "logs")
    store = session_traces(AppSettings(), paths, lambda: ())
    assert store is not None and store.exporter is None
    store.record("How much is the fee?", made_turn(), events(time.time()))
    store.close()
    assert collector.bodies == []

    configured = AppSettings(trust={"otel_endpoint": collector.url, "otel_headers": {"x-team": "desk"}})
    store = session_traces(configured, paths, lambda: ())
    assert store is not None and isinstance(store.exporter, OtelExporter)
    assert store.exporter.endpoint == collector.url + "/v1/traces"
    store.record("How much is the fee?", made_turn(), events(time.time()))
    store.close()
    assert len(collector.bodies) == 1 and collector.headers[0]["x-team"] == "desk"


@pytest.mark.parametrize("endpoint", ["localhost:4318", "ftp://collector:4318", "http://", "file:///tmp/x"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(tmp_path: Path, endpoint: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text(f'[trust]\notel_endpoint = "{endpoint}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="otel_endpoint"):
        load_settings(tmp_path)
