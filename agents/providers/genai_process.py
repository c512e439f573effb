"""GenAIProcessModel: a local model run in a child process, so its long native calls never stall the caller's threads.

ONNX Runtime GenAI holds Python's GIL for the whole of each call: one prefill slice of 512 tokens blocks every other
thread of the process for seconds on a CPU, and a desktop window with it. Here the model lives in a child process
(``spawn``); the parent sends requests over a pipe and waits on it with the GIL released. The interface is the one of
GenAIModel (load, chat_prompt, encode, decode, count_tokens, stream), so the chat model on top does not know.
Stopping sets a shared event the child checks between tokens; a child that dies is started again on the next call.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from agents.providers import errors
from agents.providers.genai import GenAIModel, GenerationStats, RuntimeOptions, SamplingOptions

_CONTEXT = multiprocessing.get_context("spawn")  # fork would copy the parent's threads and locks


def _error(exc: BaseException) -> tuple[str, str, dict[str, Any]]:
    fields = {k: getattr(exc, k) for k in ("model", "phase", "status", "retry_in_s") if hasattr(exc, k)}
    return type(exc).__name__, str(exc), fields


def _rebuild(name: str, message: str, fields: dict[str, Any]) -> Exception:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, errors.ProviderError):
        return cls(message, **fields)
    return errors.ModelLoadFailed(f"{name}: {message}", model=fields.get("model"))


def _serve(conn: Connection, path: str, options: RuntimeOptions, name: str, cancel: Any) -> None:
    """The child: one GenAIModel, requests answered in order until the pipe closes."""
    model: GenAIModel | None = None
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        op, args = request[0], request[1:]
        try:
            if model is None:
                model = GenAIModel(Path(path), options, name=name)
            if op == "close":
                return
            if op == "stream":
                stats = GenerationStats()
                for piece in model.stream(args[0], SamplingOptions(**args[1]), stats, cancel.is_set):
                    conn.send(("piece", piece))
                conn.send(("done", dataclasses.asdict(stats)))
                continue
            if op == "load":
                model.load()
                result: Any = (model.execution_provider, model.fallback_reason)
            elif op == "info":
                result = (model.context_length, model.eos_token_ids)
            else:
                result = getattr(model, op)(*args)
            conn.send(("ok", result))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent, typed
            conn.send(("error", *_error(exc)))


class GenAIProcessModel(GenAIModel):
    """GenAIModel's interface, served by a child process; thread-safe (one request at a time)."""

    def __init__(self, path: Path, options: RuntimeOptions | None = None, *, name: str | None = None) -> None:
        super().__init__(path, options, name=name)  # checks the folder and reads its config; loads nothing here
        self._process: Any = None
        self._conn: Connection | None = None
        self._cancel = _CONTEXT.Event()
        self._provider: str | None = None
        self._fallback: str | None = None

    # -- the child ---------------------------------------------------------------------------------------------

    def _ensure(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        parent, child = _CONTEXT.Pipe()
        self._process = _CONTEXT.Process(target=_serve, args=(child, str(self.path), self.options, self.name,
                                                               self._cancel),
                                         name=f"deskmate-model-{self.name}", daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        self._provider = self._fallback = None
        return parent

    def _exchange(self, *request: Any) -> Any:
        conn = self._ensure()
        try:
            conn.send(request)
            reply = conn.recv()
        except (EOFError, OSError) as exc:
            self._dead()
            raise errors.ModelLoadFailed(f"the process running {self.name} ended unexpectedly ({exc}); it is "
                                         "started again on the next request", model=self.name) from None
        if reply[0] == "error":
            raise _rebuild(*reply[1:])
        return reply[1]

    def _dead(self) -> None:
        if self._process is not None and self._process.pid is not None:  # started (start() may have failed)
            self._process.kill()
            self._process.join(timeout=5)
        self._process, self._conn = None, None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send(("close",))
                except OSError:
                    pass
            if self._process is not None and self._process.pid is not None:
                self._process.join(timeout=5)
            self._dead()

    # -- GenAIModel's interface ------------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._provider is not None

    @property
    def execution_provider(self) -> str | None:
        return self._provider

    @property
    def fallback_reason(self) -> str | None:
        return self._fallback

    def load(self) -> None:
        with self._lock:
            if self._provider is None:
                self._provider, self._fallback = self._exchange("load")

    def _call(self, op: str, *args: Any) -> Any:
        self.load()
        with self._lock:
            return self._exchange(op, *args)

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        return str(self._call("chat_prompt", messages))

    def encode(self, text: str) -> list[int]:
        return list(self._call("encode", text))

    def count_tokens(self, text: str) -> int:
        return int(self._call("count_tokens", text))

    def decode(self, ids: list[int]) -> str:
        return str(self._call("decode", ids))

    def stream(self, prompt_ids: list[int], sampling: SamplingOptions, stats: GenerationStats,
               should_stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
        """Pieces as the child decodes them; ``should_stop`` or closing the iterator stops it between tokens."""
        self.load()
        with self._lock:
            conn = self._ensure()
            self._cancel.clear()
            conn.send(("stream", list(prompt_ids), dataclasses.asdict(sampling)))
            finished = False
            try:
                while True:
                    # Poll, so a stop request reaches the child even while it is busy in prefill.
                    while not conn.poll(0.05):
                        if should_stop():
                            self._cancel.set()
                        if not self._process.is_alive():
                            raise EOFError("the model process exited")
                    kind, *payload = conn.recv()
                    if kind == "piece":
                        yield payload[0]
                        if should_stop():
                            self._cancel.set()
                    elif kind == "done":
                        for key, value in payload[0].items():
                            setattr(stats, key, value)
                        finished = True
                        return
                    else:
                        finished = True
                        raise _rebuild(*payload)
            except (EOFError, OSError) as exc:
                finished = True
                self._dead()
                raise errors.ModelLoadFailed(f"the process running {self.name} ended unexpectedly ({exc}); it is "
                                             "started again on the next request", model=self.name) from None
            finally:
                if not finished:  # the caller closed the stream early: stop the child and drain what it still sends
                    self._cancel.set()
                    self._drain(conn)

    def _drain(self, conn: Connection) -> None:
        try:
            while True:
                if not conn.poll(30):
                    self._dead()
                    return
                kind = conn.recv()[0]
                if kind in ("done", "error"):
                    return
        except (EOFError, OSError):
            self._dead()
