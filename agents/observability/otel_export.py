"""OtelExporter: stored turns' span trees sent on to an OpenTelemetry collector the user configured (OTLP over HTTP).

It is given the tree TraceStore built, after scrubbing (see spans.py), so it sends nothing the trace database would
not hold: secrets masked, document text withheld with ``redact_documents``. Spans keep their recorded start and end
times. Sending happens on the SDK's batch thread; a collector that is down or refuses is logged there and never
reaches the turn. Only built when ``[trust] otel_endpoint`` is set: without it there is no OpenTelemetry object.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from agents.observability.spans import Span

log = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
VALUE_CHARS = 2000  # per attribute string, as the trace store keeps them
PREFIX = "deskmate."  # attribute names are namespaced: a collector is often shared with other services

_Scalar = str | bool | int | float


def _deskmate_version() -> str:
    try:
        return version("deskmate")
    except PackageNotFoundError:
        return "unknown"


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def _text(value: str) -> str:
    return value if len(value) <= VALUE_CHARS else value[:VALUE_CHARS] + " ..."


def attribute(value: Any) -> _Scalar | list[_Scalar] | None:
    """``value`` as an OpenTelemetry attribute value: scalars and lists of one scalar type kept, the rest as JSON."""
    if value is None:
        return None  # OpenTelemetry has no null; the attribute is left out
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        kinds = {type(v) for v in value}
        if len(kinds) <= 1 and kinds <= {str, bool, int, float}:
            return [_text(v) if isinstance(v, str) else v for v in value]
    return _text(json.dumps(value, default=str, ensure_ascii=False))


def attributes(values: Mapping[str, Any]) -> dict[str, _Scalar | list[_Scalar]]:
    flat = {PREFIX + key: attribute(value) for key, value in values.items()}
    return {key: value for key, value in flat.items() if value is not None}


class OtelExporter:
    """Sends each turn's span tree to ``endpoint`` (a collector's base URL, e.g. http://localhost:4318).

    ``timeout_s`` bounds each send, retries included, so a collector that is down delays closing the store by at
    most that long.
    """

    def __init__(self, endpoint: str, headers: Mapping[str, str] | None = None, service_name: str = "deskmate",
                 timeout_s: float = 5.0) -> None:
        base = endpoint.rstrip("/")
        self.endpoint = base if base.endswith(TRACES_PATH) else base + TRACES_PATH
        resource = Resource.create({"service.name": service_name, "service.version": _deskmate_version()})
        # Not shut down at interpreter exit: TraceStore.close() does it, and an exit must not wait on a collector.
        self._provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        sender = OTLPSpanExporter(endpoint=self.endpoint, headers=dict(headers or {}), timeout=timeout_s)
        self._provider.add_span_processor(BatchSpanProcessor(sender))
        self._tracer = self._provider.get_tracer("deskmate.traces", _deskmate_version())

    def export(self, root: Span, turn_attributes: Mapping[str, Any] | None = None) -> None:
        """Queue one turn's tree (``turn_attributes`` added to its root); never raises: a trace is not worth a turn."""
        try:
            self._emit(root, Context(), turn_attributes or {})
        except Exception:  # whatever the SDK raises, the turn carries on
            log.warning("a trace could not be exported to %s", self.endpoint, exc_info=True)

    def _emit(self, span: Span, parent: Context, extra: Mapping[str, Any]) -> None:
        start = _ns(span.started)
        otel = self._tracer.start_span(span.name, context=parent, start_time=start,
                                       attributes=attributes({**span.attributes, **extra}))
        try:
            inside = trace.set_span_in_context(otel, parent)
            for child in span.children:
                self._emit(child, inside, {})
        finally:
            otel.end(end_time=start + round(span.duration_ms * 1_000_000))

    def force_flush(self, timeout_ms: int = 30_000) -> bool:
        return self._provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        """Send what is queued and stop; a collector that does not answer is logged, not raised."""
        try:
            self._provider.shutdown()
        except Exception:
            log.warning("the trace exporter for %s did not shut down cleanly", self.endpoint, exc_info=True)
