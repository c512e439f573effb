"""A real local OpenAI chat-completions HTTP server for tests, which can misbehave on purpose."""

from __future__ import annotations

import json
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.support.local_server import LocalServer, TrackedHandler, TrackingServer

MODES = frozenset({"slow_first_token", "slow_stream", "error", "drop", "garbage", "hang_up"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: method, path, parsed JSON body ({} if none), Authorization header."""

    method: str
    path: str
    body: dict[str, Any]
    authorization: str | None


@dataclass(frozen=True)
class _Reply:
    text: str | None = None
    tool_name: str | None = None
    tool_args: dict[str, Any] = field(default_factory=dict)
    call_id: str = "call_1"


@dataclass
class _Behaviour:
    mode: str
    params: dict[str, Any]
    remaining: int | None


def _words(text: str) -> int:
    return len(text.split())


def _pieces(text: str) -> list[str]:
    """Split text word by word so that the pieces join back to exactly the text."""
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class _Server(TrackingServer):
    owner: OpenAIServer


class _Handler(TrackedHandler):
    server: _Server

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None, pause: float = 0.0) -> None:
        """Send a JSON (or raw bytes) body; with `pause`, the headers go first and the body that long after."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.flush()
        if pause and not self.server.owner._sleep(pause):
            return self._abort()
        self.wfile.write(data)
        self.wfile.flush()

    def _not_found(self) -> None:
        self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream_events(self, events: list[Any], pause: float = 0.0, drop: bool = False) -> None:
        """Send Server-Sent Events in chunked encoding, `pause` seconds apart; `drop` cuts after the first."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, event in enumerate([*events, b"[DONE]"]):
            if i and pause and not self.server.owner._sleep(pause):
                return self._abort()
            self._chunk(b"data: " + (event if isinstance(event, bytes) else json.dumps(event).encode()) + b"\n\n")
            if drop:
                return self._abort()
        self._chunk(b"")

    def _abort(self) -> None:
        """Close the socket abruptly, whatever was (or was not) sent."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(RecordedRequest("GET", self.path, {}, self.headers.get("Authorization")))
        if self.path.rstrip("/") != "/v1/models":
            return self._not_found()
        model = {"id": owner.model, "object": "model", "created": 0, "owned_by": "deskmate-tests"}
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length)) if length else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        self.server.owner._record(RecordedRequest("POST", self.path, body, self.headers.get("Authorization")))
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._not_found()
        self._chat(body)

    def _chat(self, body: dict[str, Any]) -> None:
        owner = self.server.owner
        mode, params = owner._next_behaviour()
        stream = bool(body.get("stream"))
        delay = float(params.get("delay", 0.0))
        if mode == "hang_up" or (mode == "drop" and not stream):
            return self._abort()
        if mode == "error":
            status = int(params.get("status", 500))
            error = {"message": str(params.get("message", f"simulated error {status}")),
                     "type": str(params.get("type", "server_error" if status >= 500 else "invalid_request_error"))}
            extra = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else None
            return self._send_json(status, {"error": error}, extra)
        if mode == "garbage":
            return self._stream_events([b"{not json"]) if stream else self._send_json(200, b"{not json")
        if mode == "slow_first_token" and not owner._sleep(delay):
            return self._abort()
        reply = owner._take_reply(consume=mode != "drop")
        pause = delay if mode == "slow_stream" else 0.0
        if stream:
            self._stream_events(owner._chunks(body, reply), pause=pause, drop=mode == "drop")
        else:
            self._send_json(200, owner._completion(body, reply), pause=pause)


class OpenAIServer(LocalServer):
    """Local server for the chat-completions protocol: a scripted queue of replies plus misbehaviour modes.

    `behave(mode, times=N, **params)` makes the next N chat requests (all following ones if N is None) misbehave:
    slow_first_token(delay), slow_stream(delay), error(status=500, message, type, retry_after), drop, garbage,
    hang_up. Only chat requests count in `hits` and use up `times`. error/garbage/hang_up/drop leave the reply
    queue untouched, so a retry gets the scripted reply; slow modes take it. `/v1/models` always behaves.
    """

    server_class = _Server
    handler_class = _Handler
    thread_name = "openai-test-server"

    def __init__(self, model: str = "test-model", default_text: str = "ok") -> None:
        super().__init__()
        self.model = model
        self.default_text = default_text
        self.hits = 0
        self._replies: deque[_Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._behaviour: _Behaviour | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


    def enqueue_text(self, text: str) -> None:
        with self._lock:
            self._replies.append(_Reply(text=text))

    def enqueue_tool_call(self, name: str, arguments: dict[str, Any], call_id: str = "call_1") -> None:
        with self._lock:
            self._replies.append(_Reply(tool_name=name, tool_args=dict(arguments), call_id=call_id))

    def behave(self, mode: str, times: int | None = None, **params: Any) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {sorted(MODES)}")
        with self._lock:
            self._behaviour = _Behaviour(mode, params, times)

    def normal(self) -> None:
        """Forget any misbehaviour: every following request is answered normally."""
        with self._lock:
            self._behaviour = None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    # ---- used by the handler threads
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _sleep(self, delay: float) -> bool:
        """Wait `delay` seconds; False if the server started stopping meanwhile."""
        return not self._stop.wait(delay)

    def _next_behaviour(self) -> tuple[str, dict[str, Any]]:
        with self._lock:
            self.hits += 1
            b = self._behaviour
            if b is None:
                return "normal", {}
            if b.remaining is not None:
                b.remaining -= 1
                if b.remaining <= 0:
                    self._behaviour = None
            return b.mode, dict(b.params)

    def _take_reply(self, *, consume: bool) -> _Reply:
        with self._lock:
            if not self._replies:
                return _Reply(text=self.default_text)
            return self._replies.popleft() if consume else self._replies[0]

    def _answer(self, body: dict[str, Any], reply: _Reply) -> tuple[str, str, int]:
        """The reply's text (or tool arguments JSON), its finish_reason and its completion word count."""
        if reply.tool_name is not None:
            args = json.dumps(reply.tool_args)
            return args, "tool_calls", _words(args)
        text, stops = reply.text or "", body.get("stop") or []
        for stop in [stops] if isinstance(stops, str) else stops:
            if stop and stop in text:
                text = text[: text.index(stop)]
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(limit, int) and _words(text) > limit:
            return " ".join(text.split()[:limit]), "length", limit
        return text, "stop", _words(text)

    def _usage(self, body: dict[str, Any], completion: int) -> dict[str, int]:
        prompt = sum(_words(m["content"]) for m in body.get("messages") or []
                     if isinstance(m, dict) and isinstance(m.get("content"), str))
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _head(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {"id": f"chatcmpl-{self.hits}", "object": kind, "created": int(time.time()),
                "model": str(body.get("model") or self.model)}

    def _completion(self, body: dict[str, Any], reply: _Reply) -> dict[str, Any]:
        out, finish, completion = self._answer(body, reply)
        message: dict[str, Any] = {"role": "assistant", "content": out, "tool_calls": None}
        if reply.tool_name is not None:
            message["content"] = None
            message["tool_calls"] = [{"id": reply.call_id, "type": "function",
                                      "function": {"name": reply.tool_name, "arguments": out}}]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return {**self._head(body, "chat.completion"), "choices": [choice], "usage": self._usage(body, completion)}

    def _chunks(self, body: dict[str, Any], reply: _Reply) -> list[Any]:
        out, finish, completion = self._answer(body, reply)
        deltas: list[dict[str, Any]]
        if reply.tool_name is not None:
            step = max(1, len(out) // 3)
            call = {"index": 0, "id": reply.call_id, "type": "function",
                    "function": {"name": reply.tool_name, "arguments": ""}}
            deltas = [{"role": "assistant", "content": None, "tool_calls": [call]}]
            deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": out[i : i + step]}}]}
                       for i in range(0, len(out), step)]
        else:
            pieces = _pieces(out) or [""]
            deltas = [{"role": "assistant", "content": pieces[0]}] + [{"content": p} for p in pieces[1:]]
        head = self._head(body, "chat.completion.chunk")
        events: list[Any] = [{**head, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]}
                             for d in deltas]
        events.append({**head, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**head, "choices": [], "usage": self._usage(body, completion)})
        return events
