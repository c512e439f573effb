"""DashboardDialog: Deskmate's own behaviour over the last days, from the stored traces (nothing leaves the machine).

Per day: turns by mode, latency percentiles, tokens, retrieval score spread; totals; per model; fallback reasons.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QBoxPlotSeries,
    QBoxSet,
    QChart,
    QChartView,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.backend import Backend
from app.gui.tasks import Tasks

RANGES = ((7, "last 7 days"), (30, "last 30 days"), (90, "last 90 days"))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def mode_counts(day: dict[str, Any]) -> tuple[int, int, int]:
    """(model, from files, cache) answers of one day, from its turn count and rates."""
    turns = int(day["turns"])
    fallback = round(turns * (day["fallback_rate"] or 0))
    cache = round(turns * (day["cache_hit_rate"] or 0))
    return max(turns - fallback - cache, 0), fallback, cache


class DashboardDialog(QDialog):
    loaded = Signal()

    def __init__(self, backend: Backend, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.tasks = tasks
        self.stats: dict[str, Any] | None = None
        self.setWindowTitle("Usage dashboard")
        self.resize(1100, 760)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel("Loading…")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Totals")
        top.addWidget(self.summary, 1)
        self.range = QComboBox()
        self.range.setAccessibleName("Period")
        for days, label in RANGES:
            self.range.addItem(label, days)
        self.range.setCurrentIndex(1)
        self.range.currentIndexChanged.connect(lambda _: self.refresh())
        top.addWidget(self.range)
        layout.addLayout(top)
        grid = QGridLayout()
        self.turns_chart, self.latency_chart = QChartView(), QChartView()
        self.tokens_chart, self.scores_chart = QChartView(), QChartView()
        for n, (view, name) in enumerate(((self.turns_chart, "Turns per day by mode"),
                                          (self.latency_chart, "Latency per day"),
                                          (self.tokens_chart, "Tokens per day"),
                                          (self.scores_chart, "Best retrieval score per day"))):
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setAccessibleName(name)
            view.setMinimumHeight(220)
            grid.addWidget(view, n // 2, n % 2)
        layout.addLayout(grid, 3)
        tables = QHBoxLayout()
        self.models = QTableWidget(0, 7)
        self.models.setHorizontalHeaderLabels(["model", "turns", "p50", "p95", "tokens in/out", "from files",
                                               "good/bad"])
        self.models.setAccessibleName("Per model")
        self.reasons = QTableWidget(0, 2)
        self.reasons.setHorizontalHeaderLabels(["why the model's answer was not used", "turns"])
        self.reasons.setAccessibleName("Fallback reasons")
        for table in (self.models, self.reasons):
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setStretchLastSection(True)
        self.reasons.setColumnWidth(0, 320)
        tables.addWidget(self.models, 3)
        tables.addWidget(self.reasons, 2)
        layout.addLayout(tables, 2)
        QShortcut(QKeySequence("Esc"), self, self.close)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        days = int(self.range.currentData())

        def read() -> dict[str, Any] | None:
            traces = self.backend.session().traces
            return None if traces is None else traces.stats(days)

        self.tasks.run(read, on_done=self.show_stats, lane="agent")

    def show_stats(self, stats: dict[str, Any] | None) -> None:
        self.stats = stats
        if stats is None:
            self.summary.setText("Traces are turned off (trust.traces = false in the settings): nothing to show.")
            self.loaded.emit()
            return
        t = stats["total"]
        if not t["turns"]:
            self.summary.setText(f"No answers in the last {stats['days']} days yet.")
        else:
            self.summary.setText(
                f"{t['turns']} answers · latency p50 {_ms(t['latency_p50_ms'])}, p95 {_ms(t['latency_p95_ms'])} · "
                f"tokens {t['tokens_in']} in / {t['tokens_out']} out · cache hits {_pct(t['cache_hit_rate'])} · "
                f"from your files without the model {_pct(t['fallback_rate'])} · rated good {t['thumbs_up']}, "
                f"bad {t['thumbs_down']}")
        days = stats["by_day"]
        labels = [d["day"][5:] for d in days]
        self._turns(days, labels)
        self._latency(days, labels)
        self._tokens(days, labels)
        self._scores(days, labels)
        self._tables(stats)
        self.loaded.emit()

    # -- charts ------------------------------------------------------------------------------------------------

    def _chart(self, view: QChartView, title: str, series: list[Any], labels: list[str], y_title: str) -> QChart:
        chart = QChart()
        chart.setTitle(title)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        x = QBarCategoryAxis()
        x.append(labels or ["-"])
        y = QValueAxis()
        y.setTitleText(y_title)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        for s in series:
            chart.addSeries(s)
            s.attachAxis(x)
            s.attachAxis(y)
        y.applyNiceNumbers()
        view.setChart(chart)
        return chart

    def _turns(self, days: list[dict[str, Any]], labels: list[str]) -> None:
        series = QStackedBarSeries()
        for n, name in enumerate(("model", "from your files", "cache")):
            bar = QBarSet(name)
            bar.append([float(mode_counts(d)[n]) for d in days])
            series.append(bar)
        self._chart(self.turns_chart, "Answers per day, by mode", [series], labels, "answers")

    def _latency(self, days: list[dict[str, Any]], labels: list[str]) -> None:
        lines = []
        for key, name in (("latency_p50_ms", "p50"), ("latency_p95_ms", "p95")):
            line = QLineSeries()
            line.setName(name)
            for n, d in enumerate(days):
                line.append(n, float(d[key] or 0))
            lines.append(line)
        chart = self._chart(self.latency_chart, "Latency per day", [], labels, "ms")
        y = chart.axes(Qt.Orientation.Vertical)[0]
        x = QValueAxis()
        x.setRange(-0.5, max(len(days) - 0.5, 0.5))
        x.setVisible(False)  # lines need a value axis; the category axis shows the days
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        top = 0.0
        for line in lines:
            chart.addSeries(line)
            line.attachAxis(x)
            line.attachAxis(y)
            top = max([top] + [p.y() for p in line.points()])
        y.setRange(0, top * 1.1 or 1)

    def _tokens(self, days: list[dict[str, Any]], labels: list[str]) -> None:
        series = QBarSeries()
        for key, name in (("tokens_in", "in"), ("tokens_out", "out")):
            bar = QBarSet(name)
            bar.append([float(d[key]) for d in days])
            series.append(bar)
        self._chart(self.tokens_chart, "Tokens per day", [series], labels, "tokens")

    def _scores(self, days: list[dict[str, Any]], labels: list[str]) -> None:
        series = QBoxPlotSeries()
        series.setName("best score (min, quartiles, max)")
        for d in days:
            s = d["top_score"]
            if s["p50"] is None:
                box = QBoxSet(0, 0, 0, 0, 0, d["day"][5:])
            else:
                box = QBoxSet(s["min"], s["p25"], s["p50"], s["p75"], s["max"], d["day"][5:])
            series.append(box)
        self._chart(self.scores_chart, "Best retrieval score of each answer", [series], labels, "score")

    def _tables(self, stats: dict[str, Any]) -> None:
        models = stats["by_model"]
        self.models.setRowCount(len(models))
        for row, m in enumerate(models):
            values = [m["model"], str(m["turns"]), _ms(m["latency_p50_ms"]), _ms(m["latency_p95_ms"]),
                      f"{m['tokens_in']} / {m['tokens_out']}", _pct(m["fallback_rate"]),
                      f"{m['thumbs_up']} / {m['thumbs_down']}"]
            for col, value in enumerate(values):
                self.models.setItem(row, col, QTableWidgetItem(value))
        reasons = sorted(stats["total"]["fallback_reasons"].items(), key=lambda kv: -kv[1])
        self.reasons.setRowCount(len(reasons))
        for row, (reason, count) in enumerate(reasons):
            self.reasons.setItem(row, 0, QTableWidgetItem(reason))
            self.reasons.setItem(row, 1, QTableWidgetItem(str(count)))
