"""TraceDialog: "why this answer": one turn's stored trace as a tree of spans (node, time, what it decided)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from agents.observability.spans import Span
    from agents.observability.traces import TurnTrace

# What the tree shows next to each span, in this order (everything else is in the tooltip).
KEY_ATTRIBUTES = ("intent", "mode", "model", "provider", "prompt", "tokens_in", "tokens_out", "ttft_ms", "top_score",
                  "candidates", "cache_hit", "fallback_reason", "tool", "approval", "result_chars", "warnings")


def describe(attributes: dict[str, Any]) -> str:
    parts = []
    for key in KEY_ATTRIBUTES:
        value = attributes.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = f"{len(value)} item(s)"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


class TraceDialog(QDialog):
    def __init__(self, trace: TurnTrace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trace = trace
        s = trace.summary
        self.setWindowTitle("Why this answer")
        self.resize(820, 560)
        layout = QVBoxLayout(self)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.started))
        lines = [
            f"{when} · mode {s.mode} · model {s.model or '-'}" + (f" on {s.provider}" if s.provider else ""),
            f"prompt {s.prompt_id or '-'}{'@' + s.prompt_version if s.prompt_version else ''} · tokens in "
            f"{s.tokens_in}, out {s.tokens_out} · first token {_ms(s.ttft_ms)} · total {_ms(s.latency_ms)}",
        ]
        if s.top_score is not None:
            lines.append(f"best retrieval score {s.top_score:.3f}")
        if s.fallback_reason:
            lines.append(f"answered from your files because: {s.fallback_reason}")
        if s.feedback:
            lines.append(f"your rating: {s.feedback}")
        self.header = QLabel("\n".join(lines))
        self.header.setWordWrap(True)
        self.header.setAccessibleName("Trace summary")
        layout.addWidget(self.header)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["step", "ms", "what it did"])
        self.tree.setAccessibleName("Steps of this answer")
        self.tree.setColumnWidth(0, 160)
        self.tree.setColumnWidth(1, 70)
        self.tree.addTopLevelItem(self._item(trace.root))
        self.tree.expandAll()
        layout.addWidget(self.tree, 1)
        close = QPushButton("&Close")
        close.clicked.connect(self.close)
        layout.addWidget(close)
        QShortcut(QKeySequence("Esc"), self, self.close)

    def _item(self, span: Span) -> QTreeWidgetItem:
        item = QTreeWidgetItem([span.name, f"{span.duration_ms:.1f}", describe(span.attributes)])
        item.setToolTip(2, json.dumps(span.attributes, indent=1, ensure_ascii=False, default=str)[:4000])
        for child in span.children:
            item.addChild(self._item(child))
        return item


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
