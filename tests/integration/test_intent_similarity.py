"""Intent by similarity to example phrases, with the real embedding model (for requests no rule catches)."""

from __future__ import annotations

import pytest

from agents.intent import IntentClassifier
from tools.index.embedder import OnnxEmbedder


@pytest.fixture(scope="module")
def classifier(onnx_embedder: OnnxEmbedder) -> IntentClassifier:
    return IntentClassifier(embed=onnx_embedder.embed)


@pytest.mark.parametrize(
    ("request_text", "intent"),
    [
        ("what are the main points of the budget report", "summarize"),
        ("what do you know about my preferences", "recall"),
        ("how many days are left until christmas", "datetime"),
    ],
)
def test_requests_without_a_rule_match_their_examples(classifier: IntentClassifier, request_text: str,
                                                      intent: str) -> None:
    decision = classifier.classify(request_text)
    assert (decision.intent, decision.by) == (intent, "similarity")


@pytest.mark.parametrize("request_text", ["zebra quantum lattice okapi", "what did the committee say about backups"])
def test_unclear_requests_fall_back_to_a_document_question(classifier: IntentClassifier, request_text: str) -> None:
    decision = classifier.classify(request_text)
    assert decision.intent == "question" and decision.by == "default"
