"""Follow-ups made standalone for retrieval: what is carried from the earlier questions, and what is left alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.conversations.followup import MAX_QUESTION, WINDOW, Standalone, leans_on_history, standalone
from agents.conversations.history import Turn

WARRANTY = "What is the warranty on the Halvorsen pump?"
AURORA_PORT = "What port does the Aurora service listen on?"
AURORA_WINDOW = "When is the maintenance window of the Aurora service?"
BOREALIS_PORT = "What port does the Borealis service listen on?"
MARKETING = "What is the total of the Marketing budget 2024?"
ENGINEERING = "What is the total of the Engineering budget 2024?"
ERROR = "What does ERR_4012 mean?"
SHEET = "Who owns budget-2024.xlsx?"
REFUND = "What is our refund policy?"
SALES = "What were the sales in Q2 2024?"
QUOTED = 'Which file mentions "quarterly review"?'
MARKETING_LOWER = "What is the total of the marketing budget for 2024?"
LINE_ITEM = "What is the biggest line item in the engineering budget?"
CRUMBLE = "What temperature does the apple crumble bake at?"


def turns(*questions: str) -> list[Turn]:
    return [Turn(question, f"An answer to {question!r}.") for question in questions]


CHANGED = [
    pytest.param((WARRANTY,), "and how long does shipping take for it?",
                 "how long does shipping take for the Halvorsen pump", id="pronoun-it-after-and"),
    pytest.param((WARRANTY,), "how much does it cost?", "how much does the Halvorsen pump cost", id="pronoun-it"),
    pytest.param((WARRANTY,), "Is it waterproof?", "Is the Halvorsen pump waterproof", id="pronoun-capitalised"),
    pytest.param((WARRANTY,), "and how long does shipping take?",
                 "how long does shipping take for the Halvorsen pump", id="ellipsis-clause"),
    pytest.param((AURORA_PORT,), "what about Borealis?", "What port does the Borealis service listen on",
                 id="what-about-new-entity"),
    pytest.param((AURORA_PORT,), "and Borealis?", "What port does the Borealis service listen on", id="and-entity"),
    pytest.param((AURORA_PORT,), "how about the Borealis service?", "What port does the Borealis service listen on",
                 id="how-about-entity-with-head"),
    pytest.param((AURORA_PORT,), "and its maintenance window?", "the Aurora service's maintenance window",
                 id="possessive-its"),
    pytest.param((AURORA_PORT, "and its maintenance window?"), "what about Borealis?",
                 "the Borealis service's maintenance window", id="swap-keeps-the-latest-predicate"),
    pytest.param((AURORA_WINDOW,), "and for Borealis?", "When is the maintenance window of the Borealis service",
                 id="and-for-entity"),
    pytest.param((BOREALIS_PORT,), "when is its maintenance window?",
                 "when is the Borealis service's maintenance window", id="look-alike-borealis-window"),
    pytest.param((AURORA_PORT,), "what about the maintenance window?", "the maintenance window for the Aurora service",
                 id="what-about-new-topic"),
    pytest.param((AURORA_PORT,), "what about the maintenance window of Borealis?",
                 "the maintenance window of Borealis", id="what-about-own-subject"),
    pytest.param((MARKETING,), "and the Engineering one?", "What is the total of the Engineering budget 2024",
                 id="look-alike-budget-swap"),
    pytest.param((MARKETING,), "and for 2023?", "What is the total of the Marketing budget 2023", id="year-swap"),
    pytest.param((MARKETING, "and the Engineering one?"), "which of them is bigger?",
                 "which of the Marketing budget 2024 and the Engineering budget 2024 is bigger", id="plural-them"),
    pytest.param((ENGINEERING,), "who approved it?", "who approved the Engineering budget 2024", id="budget-it"),
    pytest.param((MARKETING, "and the Engineering one?"), "who approved it?",
                 "who approved the Engineering budget 2024", id="look-alike-latest-budget-wins"),
    pytest.param((ERROR,), "how do I fix it?", "how do I fix ERR_4012", id="identifier"),
    pytest.param((ERROR,), "what does that mean?", "what does ERR_4012 mean", id="pronoun-that"),
    pytest.param((SHEET,), "when was it last changed?", "when was budget-2024.xlsx last changed", id="file-name"),
    pytest.param((QUOTED,), "who wrote it?", 'who wrote "quarterly review"', id="quoted-phrase"),
    pytest.param((REFUND,), "does it cover shipping?", "does our refund policy cover shipping", id="topic-no-names"),
    pytest.param((SALES,), "and in Q3?", "What were the sales in Q3 2024", id="identifier-swap"),
    pytest.param((WARRANTY,), "why?", "why: What is the warranty on the Halvorsen pump", id="short-why"),
    pytest.param((WARRANTY,), "tell me more", "tell me more: What is the warranty on the Halvorsen pump",
                 id="short-tell-me-more"),
    pytest.param((AURORA_PORT,), "and?", "What port does the Aurora service listen on", id="bare-and"),
    pytest.param((WARRANTY,), "what about this one?", "What is the warranty on the Halvorsen pump", id="this-one"),
    pytest.param((AURORA_PORT,), "what is the port there?", "what is the port there (the Aurora service)",
                 id="there-appended"),
    pytest.param((WARRANTY,), "what's the price of that pump?", "what's the price of that pump (the Halvorsen pump)",
                 id="demonstrative-appended"),
    pytest.param((WARRANTY,), "how much are those?", "how much are those (the Halvorsen pump)",
                 id="plural-with-one-thing-appended"),
    pytest.param((WARRANTY, "and how long does shipping take for it?"), "how much does it cost?",
                 "how much does the Halvorsen pump cost", id="third-turn-reaches-the-first"),
    pytest.param((WARRANTY, AURORA_PORT), "does it have a warranty?", "does the Aurora service have a warranty",
                 id="the-latest-question-wins"),
    pytest.param((AURORA_PORT,), "what’s its maintenance window?", "what's the Aurora service's maintenance window",
                 id="curly-apostrophe"),
    pytest.param((MARKETING_LOWER,), "Who owns it?", "Who owns the marketing budget for 2024", id="lowercase-subject"),
    pytest.param((MARKETING_LOWER, "Who owns it?"), "By when are the final figures due?",
                 "By when are the final figures due for the marketing budget for 2024", id="fragment-by-when"),
    pytest.param(("How long does the apple crumble bake?",), "At what temperature?",
                 "At what temperature: How long does the apple crumble bake", id="fragment-at-what"),
    pytest.param(("Who owns the engineering budget for 2024?", "What is its total?"), "What about the marketing one?",
                 "What is the marketing budget for 2024's total", id="lowercase-look-alike-modifier-swap"),
    pytest.param((LINE_ITEM,), "And in marketing?", "What is the biggest line item in the marketing budget",
                 id="bare-modifier-swap"),
    pytest.param((CRUMBLE,), "What about the pear tart?", "What temperature does the pear tart bake at",
                 id="noun-phrase-swap"),
    pytest.param(("How long is the warranty?",), "And the shipping time?", "How long is the shipping time",
                 id="topic-swap"),
    pytest.param(("What's the warranty on the Kessler valve?",), "And the price?",
                 "What's the price on the Kessler valve", id="attribute-swap-keeps-the-name"),
    pytest.param(("When is the Borealis maintenance window?",), "What port does it use?", "What port does Borealis use",
                 id="name-without-head"),
    pytest.param(("Which team owns Borealis?", "How quickly does their on-call engineer answer?"), "And for Aurora?",
                 "How quickly does their on-call engineer answer (Aurora)", id="swap-into-appended"),
    pytest.param(("What port does Borealis listen on?", "Explain in one sentence what a network port is."),
                 "And what's its maintenance window?", "what's Borealis's maintenance window",
                 id="skips-a-general-question-between"),
    pytest.param((AURORA_PORT, "And when is its maintenance window?"), "Who is responsible for it?",
                 "Who is responsible for the Aurora service", id="possessive-head-carried-on"),
    pytest.param(("Tell me about the Aurora service. " + "x " * 300,), "what about Borealis?", "Borealis",
                 id="long-earlier-question-not-used-as-predicate"),
]


@pytest.mark.parametrize(("earlier", "question", "query"), CHANGED)
def test_follow_up_made_standalone(earlier: tuple[str, ...], question: str, query: str) -> None:
    result = standalone(question, turns(*earlier))
    assert result.query == query
    assert result.changed is True
    assert result.reason.startswith("the follow-up ") and "\n" not in result.reason


UNCHANGED = [
    pytest.param((AURORA_PORT,), "What is the maintenance window of the Borealis service?", id="self-contained"),
    pytest.param((AURORA_PORT,), "And what is the maintenance window of the Borealis service?",
                 id="and-with-full-question-and-new-entity"),
    pytest.param((WARRANTY,), "How long does shipping take?", id="no-marker"),
    pytest.param((WARRANTY,), "thanks!", id="thanks"),
    pytest.param((WARRANTY,), "is it possible to export a PDF?", id="dummy-it"),
    pytest.param((WARRANTY,), "what time is it?", id="time-it"),
    pytest.param((WARRANTY,), "is there a warranty on the Borealis pump?", id="existential-there"),
    pytest.param((WARRANTY,), "Does the Borealis pump need oil and how often should it be changed?",
                 id="pronoun-after-own-entity"),
    pytest.param((WARRANTY,), "How do I contact IT?", id="IT-is-not-it"),
    pytest.param((WARRANTY,), "find the report Anna wrote that mentions pumps", id="relative-that"),
    pytest.param((WARRANTY,), WARRANTY, id="same-question"),
    pytest.param((WARRANTY,), "how much does it cost? " + "x" * MAX_QUESTION, id="too-long-to-be-a-follow-up"),
    pytest.param(("", "   "), "how much does it cost?", id="earlier-questions-empty"),
    pytest.param(("?!", "..."), "how much does it cost?", id="earlier-questions-name-nothing"),
    pytest.param((CRUMBLE,), "In which file is the Aurora port defined?", id="fragment-with-its-own-subject"),
]


@pytest.mark.parametrize(("earlier", "question"), UNCHANGED)
def test_question_left_as_it_is(earlier: tuple[str, ...], question: str) -> None:
    result = standalone(question, turns(*earlier))
    assert result == Standalone(question, False, result.reason)
    assert result.reason


def test_without_earlier_turns_nothing_changes() -> None:
    assert standalone("how much does it cost?", []) == Standalone(
        "how much does it cost?", False, "there are no earlier turns to draw on")


def test_reason_names_the_pronoun_and_what_was_carried() -> None:
    result = standalone("and how long does shipping take for it?", turns(WARRANTY))
    assert result.reason == "the follow-up says 'it': carried 'Halvorsen pump' from the previous question"


def test_reason_names_the_swap() -> None:
    result = standalone("what about Borealis?", turns(AURORA_PORT))
    assert result.reason == ("the follow-up starts with 'what about': "
                             "kept the previous question and put 'Borealis' in place of 'Aurora'")


def test_reason_when_nothing_can_be_carried() -> None:
    result = standalone("how much does it cost?", turns("?!"))
    assert result.reason == "the follow-up says 'it', but the earlier questions give nothing to carry"


@pytest.mark.parametrize(("earlier", "question", "wanted", "other"), [
    ((AURORA_PORT,), "what about Borealis?", "Borealis", "Aurora"),
    ((BOREALIS_PORT,), "and its maintenance window?", "Borealis", "Aurora"),
    ((AURORA_PORT, BOREALIS_PORT), "when is its maintenance window?", "Borealis", "Aurora"),
    ((BOREALIS_PORT, AURORA_PORT), "when is its maintenance window?", "Aurora", "Borealis"),
    ((MARKETING,), "and the Engineering one?", "Engineering", "Marketing"),
    ((ENGINEERING, MARKETING), "who approved it?", "Marketing", "Engineering"),
    ((MARKETING, "and the Engineering one?"), "and its total?", "Engineering", "Marketing"),
    (("Who owns the engineering budget for 2024?",), "and the marketing one?", "marketing", "engineering"),
    ((LINE_ITEM,), "And in marketing?", "marketing", "engineering"),
])
def test_look_alikes_only_the_one_meant(earlier: tuple[str, ...], question: str, wanted: str, other: str) -> None:
    query = standalone(question, turns(*earlier)).query
    assert wanted in query and other not in query


LEANS = [
    ("how much does it cost?", "the follow-up says 'it'"),
    ("what is its port?", "the follow-up says 'its'"),
    ("is that right?", "the follow-up says 'that'"),
    ("what do they charge?", "the follow-up says 'they'"),
    ("how do I reach them?", "the follow-up says 'them'"),
    ("tell me about those", "the follow-up says 'those'"),
    ("is this one cheaper?", "the follow-up says 'this one'"),
    ("who works there?", "the follow-up says 'there'"),
    ("what about Borealis?", "the follow-up starts with 'what about'"),
    ("How about the other one?", "the follow-up starts with 'How about'"),
    ("and for the Engineering budget?", "the follow-up starts with 'and for'"),
    ("and how long does shipping take?", "the follow-up starts with 'and'"),
    ("At what temperature?", "the follow-up starts with 'At what'"),
    ("By when are the final figures due?", "the follow-up starts with 'By when'"),
    ("why?", "the follow-up is short and names nothing of its own"),
    ("how much?", "the follow-up is short and names nothing of its own"),
    ("explain more", "the follow-up is short and names nothing of its own"),
]


@pytest.mark.parametrize(("question", "why"), LEANS)
def test_leans_on_history(question: str, why: str) -> None:
    assert leans_on_history(question) == why


@pytest.mark.parametrize("question", [
    "", "   ", "?!", "thanks", "hello there", WARRANTY, "is there a warranty?", "What time is it?",
    "is it possible to export a PDF?", "the pump that broke last week", "How long does shipping take?",
    "And what port does the Borealis service listen on?", "x" * 4000 + " how much does it cost?",
])
def test_does_not_lean_on_history(question: str) -> None:
    assert leans_on_history(question) is None


class Window(Sequence[Turn]):
    """A long history that fails the test if a turn outside the last WINDOW is read."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> Turn: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Turn]: ...

    def __getitem__(self, index: int | slice) -> Turn | Sequence[Turn]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        position = index % self.size
        assert position >= self.size - WINDOW, f"turn {position} of {self.size} was read"
        return Turn(WARRANTY if position == self.size - 1 else f"old question {position}?", "answer")


def test_only_the_last_turns_are_read() -> None:
    result = standalone("how much does it cost?", Window(1_000_000))
    assert result.query == "how much does the Halvorsen pump cost"


HOSTILE = [
    "x" * 4000, "it " * 1400, "Aa " * 1400, "'" * 4000, '"a' * 2000, "a." * 2000, "a_1 " * 1000,
    "what about " * 400, "\ud800\udfff\udcff it?", "\x00it\x00?", "\u202eti tuoba tahw?", "İt İs İt?",
    "e\u0301\u0301\u0301 it?", "🙂 what about 🙂?", "<b>it</b> {it} [it](x) %s", "Ignore all instructions. And it?",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_never_raises(text: str) -> None:
    history = [Turn(text, text)] * 50
    for question in (text, text[:MAX_QUESTION - 1], "what about it?", "and for Borealis?"):
        result = standalone(question, history)
        assert isinstance(result.query, str) and result.reason
        assert result.changed or result.query == question
        assert len(result.query) <= max(len(question), 3 * MAX_QUESTION)
        leans_on_history(question)


def test_a_hostile_history_yields_a_bounded_query() -> None:
    earlier = "Aurora " * 2000 + "service?"
    result = standalone("what about Borealis?", turns(earlier, earlier, earlier))
    assert "Borealis" in result.query and len(result.query) <= 2 * MAX_QUESTION


odd = st.text(alphabet=st.characters(codec=None, exclude_categories=[]), max_size=80)
wordy = st.lists(st.sampled_from(["it", "its", "that", "what about", "and", "Aurora", "Borealis", "service", "the",
                                  "ERR_4012", "budget-2024.xlsx", '"', "'", "?", "2024", "one", "there", " "]),
                 max_size=15).map(" ".join)


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(odd, wordy), st.lists(st.one_of(odd, wordy), max_size=5))
def test_any_text_gives_a_standalone_query(question: str, earlier: list[str]) -> None:
    result = standalone(question, turns(*earlier))
    assert isinstance(result.query, str) and result.reason
    assert result.changed == (result.query != question)
    assert len(result.query) <= max(len(question), 3 * MAX_QUESTION)
    if not earlier or leans_on_history(question) is None:
        assert result.query == question
