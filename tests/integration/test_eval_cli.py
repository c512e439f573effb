"""`deskmate eval retrieval --gate`, `eval personal` and `eval answers`, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from agents.observability.traces import TraceStore
from tests.conftest import REPO
from tests.integration.test_cli import deskmate

CORPUS = {
    "d1": ("Lighthouses", "The lighthouse keeper lit the lamp at dusk to warn ships of the rocks."),
    "d2": ("Windmills", "Windmills grind grain into flour when the wind turns their sails."),
    "d3": ("Bread", "Bakers knead dough from flour, water and yeast, then bake the bread."),
    "d4": ("Tides", "The moon pulls the sea, so tides rise and fall twice a day along the coast."),
    "d5": ("Ships", "Sailing ships carried cargo across the sea before steam engines."),
}
QUERIES = {"q1": "who lights the lighthouse lamp", "q2": "how is flour made", "q3": "why do tides rise and fall"}
QRELS = [("q1", "d1", 2), ("q2", "d2", 2), ("q2", "d3", 1), ("q3", "d4", 2)]


def write_collection(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": d, "title": t, "text": x}) + "\n"
                                                 for d, (t, x) in CORPUS.items()), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n"
                                                  for q, t in QUERIES.items()), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{s}\n" for q, d, s in QRELS), encoding="utf-8")
    return folder


def test_the_gate_passes_on_its_own_baseline_and_fails_on_a_mode_that_dropped(deskmate_home: Path,
                                                                              tmp_path: Path) -> None:
    collection = write_collection(tmp_path / "tiny")
    baseline = tmp_path / "baselines.json"
    missing = deskmate(deskmate_home, "eval", "retrieval", "--dataset", str(collection), "--gate",
                       "--baseline", str(baseline))
    assert missing.returncode == 1 and "no baseline for 'tiny'" in missing.stderr

    stored = deskmate(deskmate_home, "eval", "retrieval", "--dataset", str(collection), "--update-baseline",
                      "--baseline", str(baseline), "--json")
    assert stored.returncode == 0, stored.stderr
    figures = {r["mode"]: r["ndcg@10"] for r in json.loads(stored.stdout)["results"]}
    assert json.loads(baseline.read_text(encoding="utf-8")) == {"tiny": {m: round(v, 4) for m, v in figures.items()}}

    stored_figures = {m: round(v, 4) for m, v in figures.items()}
    raised = {**stored_figures, "hybrid": stored_figures["hybrid"] + 0.05}  # as if hybrid used to be better
    baseline.write_text(json.dumps({"tiny": raised}), encoding="utf-8")
    gated = deskmate(deskmate_home, "eval", "retrieval", "--dataset", str(collection), "--gate",
                     "--baseline", str(baseline))
    assert gated.returncode == 1
    failed = [line for line in gated.stderr.splitlines() if "retrieval gate failed" in line]
    assert len(failed) == 1 and "hybrid: nDCG@10 dropped" in failed[0] and "-0.0500" in failed[0]
    assert "baseline" in gated.stdout and "DROPPED" in gated.stdout and "fts" in gated.stdout

    tolerant = deskmate(deskmate_home, "eval", "retrieval", "--dataset", str(collection), "--gate",
                        "--baseline", str(baseline), "--tolerance", "0.06", "--json")
    assert tolerant.returncode == 0, tolerant.stderr
    gate = json.loads(tolerant.stdout)["gate"]
    assert gate["passed"] and [m["mode"] for m in gate["modes"]] == ["fts", "vector", "hybrid"]
    assert gate["modes"][2]["difference"] == -0.05


def test_personal_evaluation_of_rated_answers(deskmate_home: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "backup.md").write_text("# Backups\n\nBackups run every night at two o'clock.\n"
                                    "They are kept for thirty days on the archive server.\n", encoding="utf-8")
    (docs / "notes.md").write_text("# Notes\n\nAsk Sam about the archive server and backups before Friday.\n",
                                   encoding="utf-8")
    assert deskmate(deskmate_home, "index", "add", str(docs), "--sync").returncode == 0
    empty = deskmate(deskmate_home, "eval", "personal")
    assert empty.returncode == 0 and "no rated answers yet" in empty.stdout and "thumbs up" in empty.stdout

    answer = json.loads(deskmate(deskmate_home, "ask", "How long are backups kept?", "--json").stdout)
    backup, notes = str((docs / "backup.md").resolve()), str((docs / "notes.md").resolve())
    assert answer["citations"][0]["path"] == backup
    store = TraceStore(deskmate_home / "data" / "traces.sqlite3")
    try:  # what the desktop app's thumbs and "this source was wrong" do
        store.set_feedback(answer["trace_id"], "up", {notes: "wrong"})
    finally:
        store.close()

    first = deskmate(deskmate_home, "eval", "personal", "--json")
    assert first.returncode == 0, first.stderr
    run = json.loads(first.stdout)
    (case,) = run["cases"]
    assert case["expected"] == [backup] and case["wrong"] == [notes] and case["rank"] == 1
    assert run["overall"]["hit_at_1"] == 1.0 and run["overall"]["mrr"] == 1.0
    assert run["overall"]["wrong_in_top5"] == len(case["wrong_in_top5"])
    assert run["previous"] is None and Path(run["saved"]).parent == deskmate_home / "data" / "eval" / "personal"

    again = json.loads(deskmate(deskmate_home, "eval", "personal", "--json").stdout)["previous"]
    assert again["fingerprint_changed"] is False and again["improved"] == again["regressed"] == []
    assert again["overall"]["hit_at_1"] == {"before": 1.0, "now": 1.0, "difference": 0.0}

    (deskmate_home / "config").mkdir(parents=True, exist_ok=True)
    (deskmate_home / "config" / "settings.toml").write_text('[models]\ndefault = "ollama/llama3.2:3b"\n',
                                                            encoding="utf-8")
    text = deskmate(deskmate_home, "eval", "personal")
    assert text.returncode == 0, text.stderr
    assert "1 cases from 1 rated answers" in text.stdout and "hit@1 1.000" in text.stdout
    assert "Setup changed: model: local/smollm2-135m -> ollama/llama3.2:3b" in text.stdout
    assert "no case moved" in text.stdout


def test_answers_on_the_answer_set_without_a_model(deskmate_home: Path) -> None:
    result = deskmate(deskmate_home, "eval", "answers", "--dataset", str(REPO / "tests" / "data" / "answerset"),
                      "--no-model", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] is None and report["documents"] == 10
    summary = report["summary"]
    assert list(summary["by_mode"]) == ["fallback"]
    figures = summary["all"]
    assert figures["questions"] == 40 and figures["uncited_answers"] == 0
    assert figures["support"] == 1.0  # every quote is verbatim from its file
    assert figures["key_fact_recall"] >= 0.9
    assert figures["citation_precision"] >= 0.9
    assert all(a["mode"] == "fallback" for a in report["answers"])
    assert not list((deskmate_home / "data").glob("threads.sqlite3"))  # asked in a temporary home, not this one
