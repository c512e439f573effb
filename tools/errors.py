"""Deskmate's error tree; every error a user can meet derives from DeskmateError.

    DeskmateError                 (tools/errors.py unless a module is named)
    ├── ConfigError               settings or arguments that cannot work (bad path, bad value)
    │   └── KeychainUnavailable   no usable OS keychain (app/secrets.py; also a KeychainError)
    ├── ToolInputError            a tool was given input it cannot work with (calc, clock, files, sandbox)
    ├── IndexError_               the knowledge index cannot do what was asked
    │   ├── StoreError            LanceDB failed or the table is damaged beyond repair
    │   ├── IndexBusy             another process is writing the same index
    │   ├── IndexDamagedError     the manifest or a table is damaged; a sync repairs it
    │   └── EmbedderError         the embedding model cannot be prepared or run
    ├── MemoryError_              the memory store cannot do what was asked (tools/memory.py)
    ├── EvalError                 an evaluation dataset is missing or malformed
    ├── ProviderError             a model could not answer (agents/providers/errors.py lists its subtree)
    ├── TraceStoreError           the trace database cannot be read or written (agents/observability/traces.py)
    ├── TraceNotFound             no stored trace has that id (agents/observability/traces.py)
    ├── CheckpointRefused         a stored conversation holds a foreign value (agents/conversations/checkpoints.py)
    ├── DownloadError             a catalog model could not be downloaded (agents/providers/manager/fetch.py)
    ├── Cancelled                 a model download was stopped on request (agents/providers/manager/fetch.py)
    └── KeychainError             the OS keychain failed or is missing (app/secrets.py)
        ├── KeychainUnavailable   (see ConfigError above)
        └── KeychainLocked        the keychain is locked and was not unlocked

Outside the tree on purpose: ``ParseError`` (tools/index/document.py) is a parser's internal signal; the indexer
records it as that file's failure reason and the file tool turns it into a ToolInputError.

Adapters translate third-party exceptions into these at the boundary, so callers (the CLI, the agent, the
desktop window) handle one family and show ``str(error)`` with what to do next.
"""

from __future__ import annotations


class DeskmateError(Exception):
    """Root of every error Deskmate raises on purpose; the message is written for the user."""


class ConfigError(DeskmateError):
    """A setting, path or argument that cannot work."""


class ToolInputError(DeskmateError):
    """A tool was given input it cannot work with; the message says what it supports instead."""


class IndexError_(DeskmateError):  # noqa: N801 - trailing underscore avoids shadowing the builtin
    """The knowledge index cannot do what was asked."""


class StoreError(IndexError_):
    """The vector/full-text store failed or is damaged beyond repair."""


class IndexBusy(IndexError_):
    """Another process holds the index's writer lock."""


class IndexDamagedError(IndexError_):
    """The manifest or a chunk table cannot be read; ``deskmate index sync`` repairs it."""


class EmbedderError(IndexError_):
    """The embedding model cannot be prepared or run."""


class EvalError(DeskmateError):
    """An evaluation dataset is missing or malformed."""
