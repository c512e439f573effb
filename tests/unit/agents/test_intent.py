from __future__ import annotations

import pytest

from agents.intent import IntentClassifier, IntentDecision


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


@pytest.mark.parametrize(
    "request_text",
    [
        "what is 17 times 23?",
        "What is seventeen times twenty-three?",
        "what's 17 times twenty three",
        "how much is twelve times seven",
        "calculate a third of 90",
        "compute half of half of 8",
        "17 times 23 equals?",
        "what is two thirds of ninety",
        "what is twice 7",
        "what is the square root of 16",
        "what is 2 to the power of 10",
        "what is three squared",
        "what is 10 divided by 4",
        "what is fifteen percent of eighty",
        "what percent of 200 is 50",
        "five km in miles",
        "how many ounces in a kg",
        "how many ounces in 1 kg",
        "convert five km to miles",
        "what is ten to the power of ten to the power of ten",  # refused by the calculator, with its reason
        "what is 3 into 4",
        "١٧ times ٢٣",
    ],
)
def test_arithmetic_in_words_is_a_calculation(request_text: str) -> None:
    assert IntentClassifier().classify(request_text) == IntentDecision("calculate", 1.0, "rule")


@pytest.mark.parametrize(
    "request_text",
    [
        "what is the warranty on the pump",
        "how many invoices did I index from 2024",
        "how many PDFs are in the index",
        "what is the port of the Aurora service",
        "summarise times.pdf",
        "what is 'two factor' auth",
        "what is 3 times the budget",
        "what is a third of the budget",
        "what times are the trains",
        "double check the invoice",
        "what percent of my invoices are paid",
        "convert the report to PDF",
        "what is 2024 budget in the report",
        "what is 5 in the contract",
        "what is 12 to 15 in the price list",
        "what's on tomorrow",
        "what date is the meeting",
        "which file mentions 17 times 23",
    ],
)
def test_questions_that_mention_numbers_are_not_computed(request_text: str) -> None:
    assert IntentClassifier().classify(request_text).intent not in ("calculate", "datetime")


@pytest.mark.parametrize(
    "request_text",
    [
        "how many days until 25 December",
        "days between 2026-01-01 and 2026-03-01",
        "what is 2026-12-01 + 3 weeks",
        "what is the date in twenty days",
        "10 days ago",
        "what is 2024-03-01",
        "what day of the week is 14 March 2027",
    ],
)
def test_date_questions_stay_dates(request_text: str) -> None:
    assert IntentClassifier().classify(request_text) == IntentDecision("datetime", 1.0, "rule")


def test_a_long_request_is_classified_without_computing_it() -> None:
    request = "what is " + "one plus " * 5000 + "one"
    assert IntentClassifier().classify(request).intent != "calculate"
