"""IndexStatus: the typed status and the JSON it yields, key for key."""

from __future__ import annotations

from tools.index.manifest import FileState, Root
from tools.index.status import IndexStatus


def _state(path: str, status: str, chunks: int = 0, reason: str | None = None) -> FileState:
    return FileState(path, "/docs", 1, 1, None, "markdown" if status == "indexed" else None, None, chunks, status,
                     reason, 0.0)


def test_status_rows_and_json_keep_todays_shape() -> None:
    states = [_state("/docs/b.md", "indexed", 2), _state("/docs/z.pdf", "failed", reason="corrupt"),
              _state("/docs/a.pdf", "failed", reason="empty"), _state("/docs/l.md", "skipped", reason="a link")]
    status = IndexStatus.of(states, [Root("/docs", ("*.md",), ())], files=True, data_dir="/data", chunks=2,
                            embedder={"model": "m"}, generation="g1", rebuilding_to=None, last_sync=5.0, repairs=None)

    assert (status.files, status.failed, status.links_skipped) == (1, 2, 1)
    assert status.as_dict() == {
        "data_dir": "/data",
        "roots": [{"path": "/docs", "include": ["*.md"], "exclude": [], "files": 3}],
        "files": 1, "failed": 2, "chunks": 2,
        "failures": [{"path": "/docs/a.pdf", "reason": "empty"}, {"path": "/docs/z.pdf", "reason": "corrupt"}],
        "links_skipped": 1, "skipped_links": [{"path": "/docs/l.md", "reason": "a link"}],
        "embedder": {"model": "m"}, "generation": "g1", "rebuilding_to": None, "last_sync": 5.0, "repairs": None,
        "file_list": [
            {"path": "/docs/a.pdf", "state": "failed", "chunks": 0, "type": None, "reason": "empty"},
            {"path": "/docs/b.md", "state": "indexed", "chunks": 2, "type": "markdown", "reason": None},
            {"path": "/docs/l.md", "state": "skipped", "chunks": 0, "type": None, "reason": "a link"},
            {"path": "/docs/z.pdf", "state": "failed", "chunks": 0, "type": None, "reason": "corrupt"},
        ],
    }
    assert list(status.as_dict()) == ["data_dir", "roots", "files", "failed", "chunks", "failures", "links_skipped",
                                      "skipped_links", "embedder", "generation", "rebuilding_to", "last_sync",
                                      "repairs", "file_list"]


def test_file_rows_only_when_asked() -> None:
    status = IndexStatus.of([], [], files=False, data_dir="/d", chunks=0, embedder={}, generation="g",
                            rebuilding_to="g2", last_sync=None, repairs="rolled back")
    assert status.file_list is None and "file_list" not in status.as_dict()
    assert status.as_dict()["rebuilding_to"] == "g2" and status.as_dict()["repairs"] == "rolled back"
