from __future__ import annotations

import pytest

from agents.intent import IntentClassifier


@pytest.mark.parametrize(
    ("request_text", "intent"),
    [
        ("find my notes about the migration", "search"),
        ("Which file mentions ERR_4012?", "search"),
        ("where did I put the tax receipts", "search"),
        ("which of my files talks about the VPN", "search"),
        ("Summarize /docs/report.pdf", "summarize"),
        ("tl;dr notes.md", "summarize"),
        ("what is 15% of 80", "calculate"),
        ("12 * (3 + 4)", "calculate"),
        ("convert 5 km to miles", "calculate"),
        ("how many days until 2027-01-01", "datetime"),
        ("what time is it", "datetime"),
        ("remember that my locker code is 4471", "remember"),
        ("forget my locker code", "forget"),
        ("what do you remember about me?", "recall"),
        ("hello!", "chat"),
        ("How do I renew my passport?", "question"),
    ],
)
def test_rules_decide_without_any_model(request_text: str, intent: str) -> None:
    decision = IntentClassifier().classify(request_text)
    assert decision.intent == intent
    assert decision.by == ("default" if intent == "question" else "rule")


def test_a_remember_question_is_not_a_memory_write() -> None:
    assert IntentClassifier().classify("remember when we moved the servers?").intent == "question"
