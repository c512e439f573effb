"""Follow-ups made standalone for retrieval, without a model: the earlier questions' subject carried into the query.

A question leans on the earlier turns when it says a pronoun ("it", "that", "they", "this one", "there"), starts with
an ellipsis ("and ...", "what about ...") or a fragment ("at what ...?"), or is short and names nothing. It then gets
the subject of the latest earlier question that has one: its named things (capitalised names with their head noun,
identifiers, file names, quoted phrases), else its noun phrases ("the marketing budget for 2024"); "what about X?"
keeps the previous question with X in place of its like. Earlier follow-ups are resolved first, so a third turn
reaches the first. Only the last WINDOW turns are read and a question longer than MAX_QUESTION is never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.conversations.history import Turn

WINDOW = 3  # earlier turns read
MAX_QUESTION = 400  # longer questions stand on their own (pasted text), and are not used as a predicate
MAX_EARLIER = 2000  # characters of an earlier question searched for named things
SHORT = 5  # a question of at most this many words that names nothing leans on the earlier turns
MAX_NAME = 80  # a longer run of capitals is not a name (and would make a long query)
MAX_CARRIED = 4  # at most this many things carried for "they" and "them"

_TOKEN = re.compile(r"\w(?:[\w'./-]*\w)?")
_QUOTED = re.compile(r'"([^"\n]{1,80})"|“([^”\n]{1,80})”|(?<!\w)\'([^\'\n]{1,80})\'(?!\w)')
_FILE = re.compile(r"[\w./-]*\w\w\.[A-Za-z][A-Za-z0-9]{0,5}")
_MEASURE = re.compile(r"\d[\d.,]*[A-Za-z%]{0,3}")  # 3rd, 10am, 24h, 5GB: amounts, not identifiers
_YEAR = re.compile(r"(?:19|20)\d\d")
_YEARS = re.compile(r"\b(?:19|20)\d\d\b")
_STOP = frozenset("""
a an the and or but if then so of to in on at by for with from about into over under after before between during
is are was were be been being am do does did doing done have has had having can could will would shall should may
might must isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't haven't hasn't
i me my mine we us our ours you your yours he him his she her hers it its it's they them their theirs this that these
those there here what which who whom whose when where why how what's how's where's who's that's there's i'm i've
not no yes please also too very just only really much many more most less least some any all each every other same
such than as up down out off again once own ok okay thanks thank hi hello hey tell show give say let let's one ones
thing things something anything everything else both either neither until till since
""".split())
_VAGUE = frozenset("""explain elaborate detail details example examples continue go more why mean means meant sure
exactly expand clarify long often soon far big large old new right true correct wrong instead""".split())
_SOCIAL = frozenset("hi hello hey there thanks thank you ok okay bye cool great nice good morning evening so much"
                    .split())
_DETS = frozenset("the our my your their his her this that these those".split())
_PHRASE_DETS = frozenset("the our my your".split())  # "this/that/those X" point back: they are not a subject
_AUX = frozenset("does do did can could will would should may might must".split())  # "does the crumble bake"
# Nouns that follow a name as its head ("the Halvorsen pump"); any other word must end the phrase to count.
_HEADS = frozenset("""service server pump valve budget project team app application invoice report file document
product system account plan policy contract client customer model device machine printer office building meeting
database api repo repository library tool program programme course store shop company department group committee
campaign card order ticket release version feature site website page portal cluster network router laptop phone car
engine house room event conference trip flight hotel proposal deal grant fund loan agreement licence license lease
bank school station line route package module plugin kit unit sensor controller drive disk battery motor gateway
endpoint job pipeline queue bucket instance node recipe club book guide manual handbook checklist form template
spreadsheet sheet script""".split())
_CLAUSE = frozenset("""what how when where who which why whose whom is are was were do does did can could will would
should has have had shall may might must what's how's where's who's tell show give list find explain compare""".split())
_WH = frozenset("what which when how where who whom".split())
_PREPS = frozenset("at from for in on by until till since to with after before during".split())
_LEADS = (("and", "what", "about"), ("and", "how", "about"), ("but", "what", "about"), ("what", "about"),
          ("how", "about"), ("what", "of"), ("same", "question", "for"), ("same", "for"), ("and", "for"),
          ("and", "also"), ("and",), ("or",), ("also",), ("but",))
_PLURAL = frozenset("they them their theirs those these".split())
_PERSONAL = frozenset("he him his she her hers".split())
_DUMMY_ALWAYS = frozenset("raining snowing going".split())
_DUMMY_ADJ = frozenset("""possible necessary true ok okay fine safe allowed likely worth hard easy better best
important required needed legal wise normal common usual too""".split())
_THAT_BEFORE = frozenset("""is was isn't wasn't does did do can could will would should about for of with on in to
from explain fix change mean like than why what how what's how's where when who and repeat translate check""".split())
_THAT_AFTER = frozenset("""is was 's does do did mean means cost costs work works happen happened take takes say says
include includes cover covers need needs require requires have has apply applies change changed right true correct in
on for with about to from and or come compare look sound sounds will would can could should again also too exactly
""".split())
_EXISTENTIAL = frozenset("""is are was were isn't aren't wasn't weren't 's will be been has have had seems seem must
might should could would any a an no some""".split())


@dataclass(frozen=True, slots=True)
class Standalone:
    """The query to retrieve with, whether it differs from the question, and why (one sentence for the trace)."""

    query: str
    changed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _Thing:
    """What a question is about: ``proper_end`` ends the capitals or modifiers ("Halvorsen", "marketing")."""

    text: str
    kind: str  # name | id | file | quote | phrase (a noun phrase in lower case)
    start: int
    end: int
    proper_end: int
    det: str  # the article or possessive written before it ("the"), or ""
    head: str  # the head noun, casefolded, or "" (a name alone, or "the marketing one")

    @property
    def proper(self) -> str:
        return self.text[: self.proper_end - self.start].strip()

    def spoken(self) -> str:
        if self.kind == "quote":
            return f'"{self.text}"'
        headless_name = self.kind == "name" and not self.head  # "the Borealis maintenance window": "Borealis"
        return f"{self.det} {self.text}" if self.det and not headless_name else self.text


_Token = tuple[str, int, int]


def _tokens(text: str) -> list[_Token]:
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _core(word: str) -> str:
    return word[:-2] if word.casefold().endswith("'s") and len(word) > 2 else word


def _content(word: str) -> bool:
    low = word.casefold()
    return low not in _STOP and low not in _VAGUE and _core(word).casefold() not in _STOP


def _is_id(word: str) -> bool:
    if len(word) < 2 or word.casefold() in _STOP or _MEASURE.fullmatch(word):
        return False
    letters, digits = any(c.isalpha() for c in word), any(c.isdigit() for c in word)
    return (letters and digits) or ("_" in word and (letters or digits)) or (word.isalpha() and word.isupper())


def _capital(word: str) -> bool:
    return word[:1].isupper() and word.casefold() not in _STOP and _core(word).casefold() not in _STOP


def _initial(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start].rstrip()
    return not before or before[-1] in ".?!:;"


def _ends_phrase(text: str, tokens: list[_Token], j: int) -> bool:
    """Whether token ``j`` is the last of its phrase: the question's last word, or punctuation follows it."""
    gap = text[tokens[j][2] : tokens[j + 1][1] if j + 1 < len(tokens) else len(text)]
    return j + 1 == len(tokens) or any(c in "?.!,;:)" for c in gap[:10])


def _year_tail(tokens: list[_Token], k: int) -> int:
    """How many tokens from ``k`` on make a year after a phrase ("2024", "for 2024"): 0, 1 or 2."""
    if k < len(tokens) and _YEAR.fullmatch(_core(tokens[k][0])):
        return 1
    preposition = k + 1 < len(tokens) and tokens[k][0].casefold() in ("for", "in", "of")
    return 2 if preposition and _YEAR.fullmatch(_core(tokens[k + 1][0])) else 0


def _phrase(text: str, tokens: list[_Token], i: int) -> tuple[_Thing | None, int]:
    """The lower-case noun phrase after the article at ``i`` ("the marketing budget for 2024"), and the next index."""
    words: list[int] = []
    j = i + 1
    while j < len(tokens) and len(words) < 3:
        word = tokens[j][0]
        core = _core(word)
        if word[:1].isupper() or not _content(core) or _is_id(core) or len(core) > 40 or not core[:1].isalpha():
            break
        words.append(j)
        j += 1
        if core != word:  # a possessive ends the phrase
            break
    if not words:
        return None, i + 1
    possessive = _core(tokens[words[-1]][0]) != tokens[words[-1]][0]
    if i and tokens[i - 1][0].casefold() in _AUX and len(words) > 1 and not possessive:
        words.pop()  # "does the apple crumble bake": the last word is the verb
        j = words[-1] + 1
    start, last = tokens[words[0]][1], tokens[words[-1]]
    end = last[1] + len(_core(last[0]))
    if j < len(tokens) and tokens[j][0].casefold() in ("one", "ones") and not possessive:
        return _Thing(text[start:end], "phrase", start, end, end, tokens[i][0].casefold(), ""), j + 1
    tail = 0 if possessive else _year_tail(tokens, j)
    if tail:
        end = tokens[j + tail - 1][1] + len(_core(tokens[j + tail - 1][0]))
    head = _core(last[0]).casefold()
    before = tokens[words[-2]] if len(words) > 1 else None
    proper_end = before[1] + len(before[0]) if before else start  # the modifiers end before the head
    return _Thing(text[start:end], "phrase", start, end, proper_end, tokens[i][0].casefold(), head), j + tail


def _name(text: str, tokens: list[_Token], i: int, det: str) -> tuple[_Thing | None, int]:
    """The capitalised name at ``i`` with its head noun and year ("Marketing budget 2024"), and the next index."""
    j, last = i + 1, tokens[i][0]
    while _core(last) == last and j < len(tokens) and _capital(tokens[j][0]):
        last, j = tokens[j][0], j + 1
    start = tokens[i][1]
    proper_end = end = tokens[j - 1][1] + len(_core(last))
    head = ""
    if det and _core(last) == last and j < len(tokens):
        word = tokens[j][0]
        core = _core(word)
        if core.isalpha() and core.islower() and core not in _STOP and (
                core in _HEADS or core != word or _ends_phrase(text, tokens, j)):
            head, end, j = core, tokens[j][1] + len(core), j + 1
    tail = _year_tail(tokens, j) if head else 0
    if tail:
        end, j = tokens[j + tail - 1][1] + len(_core(tokens[j + tail - 1][0])), j + tail
    if end - start > MAX_NAME:
        return None, j
    return _Thing(text[start:end], "name", start, end, proper_end, det, head), j


def _things(text: str) -> list[_Thing]:
    """What ``text`` is about, in reading order: quoted phrases, file names, identifiers, names, noun phrases."""
    things: list[_Thing] = []
    quoted: list[tuple[int, int]] = []
    for m in _QUOTED.finditer(text):
        group = next(g for g in (1, 2, 3) if m.group(g) is not None)
        if m.group(group).strip():
            things.append(_Thing(m.group(group), "quote", m.start(group), m.end(group), m.end(group), "", ""))
            quoted.append((m.start(), m.end()))
    tokens = _tokens(text)
    i = inside = 0
    while i < len(tokens):
        word, start, _ = tokens[i]
        core = _core(word)
        while inside < len(quoted) and quoted[inside][1] <= start:
            inside += 1
        if inside < len(quoted) and quoted[inside][0] <= start:
            i += 1
            continue
        det = tokens[i - 1][0].casefold() if i and tokens[i - 1][0].casefold() in _DETS else ""
        found: _Thing | None = None
        following = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        if len(core) <= MAX_NAME and (_FILE.fullmatch(core) or _is_id(core)):
            kind = "file" if _FILE.fullmatch(core) else "id"
            found, j = _Thing(core, kind, start, start + len(core), start + len(core), det, ""), i + 1
        elif word.casefold() in _PHRASE_DETS and following and not following[:1].isupper():
            found, j = _phrase(text, tokens, i)
        elif _capital(word) and (not _initial(text, start) or _capital(following)):
            found, j = _name(text, tokens, i, det)
        else:
            j = i + 1
        if found:
            things.append(found)
        i = j
    return sorted(things, key=lambda thing: thing.start)


def _subjects(things: list[_Thing]) -> list[_Thing]:
    """Named things first, in reading order, then noun phrases from the last (the object: "... of the budget")."""
    return [t for t in things if t.kind != "phrase"] + [t for t in reversed(things) if t.kind == "phrase"]


def _lead(tokens: list[_Token]) -> tuple[str, int]:
    """The ellipsis a question starts with ("what about") and the index of the token after it; ("", 0) if none."""
    lows = tuple(word.casefold() for word, _, _ in tokens[:3])
    for lead in _LEADS:
        if lows[: len(lead)] == lead:
            return " ".join(word for word, _, _ in tokens[: len(lead)]), len(lead)
    return "", 0


def _fragment(tokens: list[_Token]) -> bool:
    """A question that starts with a preposition and a question word: "At what temperature?", "By when ...?"."""
    return len(tokens) > 1 and tokens[0][0].casefold() in _PREPS and tokens[1][0].casefold() in _WH


def _dummy(lows: list[str], i: int) -> bool:
    """Whether the "it" at ``i`` is the empty subject of "is it possible to ...", "what time is it", "it's raining"."""
    if i >= 2 and lows[i - 1] in ("is", "was") and lows[i - 2] == "time":
        return True
    after = [w for w in lows[i + 1 : i + 5] if w not in ("is", "was", "be", "would", "will", "really", "not", "'s")]
    if after and after[0] in _DUMMY_ALWAYS:
        return True
    return len(after) > 1 and after[0] in _DUMMY_ADJ and after[1] in ("to", "that", "if", "whether", "for")


def _pronoun(tokens: list[_Token], first: int, things: list[_Thing]) -> tuple[int, int, str] | None:
    """The first pronoun from token ``first`` on that points back: (first token, end token, how to resolve it).

    A pronoun after a named thing of the question's own refers to that thing: the question then stands on its own.
    """
    lows = [word.casefold() for word, _, _ in tokens]
    for i in range(first, len(lows)):
        low, prev = lows[i], lows[i - 1] if i else ""
        nxt = lows[i + 1] if i + 1 < len(lows) else ""
        found: tuple[int, int, str] | None = None
        if low in ("this", "that") and nxt in ("one", "ones"):
            found = (i, i + 2, "replace")
        elif low in ("it", "its", "it's") and tokens[i][0] != "IT" and not _dummy(lows, i):
            found = (i, i + 1, {"it": "replace", "its": "possessive", "it's": "is"}[low])
        elif low == "that" and (not prev or prev in _THAT_BEFORE):
            found = (i, i + 1, "replace" if not nxt or nxt in _THAT_AFTER else "append")
        elif low in _PLURAL:
            found = (i, i + 1, "plural" if low in ("they", "them", "those", "these") else "append")
        elif low == "there" and prev not in _EXISTENTIAL and nxt not in _EXISTENTIAL:
            found = (i, i + 1, "append")
        elif low in _PERSONAL:
            found = (i, i + 1, "append")
        if found:
            named = (t for t in things if t.kind != "phrase")
            return None if any(t.start < tokens[i][1] for t in named) else found
    return None


def _why(text: str, tokens: list[_Token], things: list[_Thing]) -> str | None:
    if not tokens or all(word.casefold() in _SOCIAL for word, _, _ in tokens):
        return None
    found = _pronoun(tokens, 0, things)
    if found:
        return f"the follow-up says '{text[tokens[found[0]][1] : tokens[found[1] - 1][2]]}'"
    lead, after = _lead(tokens)
    named = [t for t in things if t.kind != "phrase"]
    if lead:
        clause = after < len(tokens) and tokens[after][0].casefold() in _CLAUSE
        if not (clause and any(t.start >= tokens[after][1] for t in named)):
            return f"the follow-up starts with '{lead}'"
    if _fragment(tokens) and not named:
        return f"the follow-up starts with '{tokens[0][0]} {tokens[1][0]}'"
    if len(tokens) <= SHORT and not named and not any(_content(word) for word, _, _ in tokens):
        return "the follow-up is short and names nothing of its own"
    return None


def _normal(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'")  # "it’s", "Aurora’s" read as typed with a straight apostrophe


def leans_on_history(question: str) -> str | None:
    """Why ``question`` needs the earlier turns (a pronoun, an ellipsis, a short question naming nothing), or None."""
    text = _normal(question).strip()
    if not text or len(text) > MAX_QUESTION:
        return None
    return _why(text, _tokens(text), _things(text))


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" ?!.;,:")


@dataclass(frozen=True, slots=True)
class _Anchor:
    """What a follow-up points back to: the subjects of the most recent earlier question with any, else its words."""

    said: str  # as it goes into the query: "the Halvorsen pump"
    everything: list[_Thing]  # the subjects of all earlier questions read, for "they" and "them"
    label: str  # for the reason: "'Halvorsen pump' from the previous question"


def _anchor(earlier: list[str]) -> _Anchor | None:
    found: tuple[list[_Thing], int] | None = None
    everything: dict[str, _Thing] = {}
    for back, question in enumerate(reversed(earlier)):
        subjects = _subjects(_things(question))
        named = [t for t in subjects if t.kind != "phrase"] or subjects[:1]
        for thing in reversed(named):
            everything.setdefault(thing.text.casefold(), thing)
        if subjects and found is None:
            found = (subjects, back)
    where = ("the previous question", "an earlier question")
    if found:
        first, back = found[0][0], found[1]
        return _Anchor(first.spoken(), list(reversed(everything.values()))[-MAX_CARRIED:],
                       f"'{first.text}' from {where[back > 0]}")
    for back, question in enumerate(reversed(earlier)):
        words = " ".join([w for w, _, _ in _tokens(question) if _content(w) and len(w) <= 40][:4])
        if words:
            return _Anchor(words, [], f"'{words}' from {where[back > 0]}")
    return None


def _swap(new: _Thing, earlier: list[str]) -> tuple[str, str] | None:
    # "Borealis" for the "Aurora" of "Aurora service", "the price" for the first noun phrase, "marketing" for the
    # modifier of the last one: the latest earlier question's predicate is kept.
    for back, question in enumerate(reversed(earlier)):
        olds = _things(question) if len(question) <= MAX_QUESTION else []
        if new.kind == "phrase":
            if back:
                return None  # an older question's noun phrases are not this one's predicate
            phrases = [t for t in olds if t.kind == "phrase"]
            same = [t for t in phrases if new.head and t.head == new.head]
            candidates = same or ([t for t in phrases if t.proper][-1:] if not new.head else phrases[:1])
        else:
            named = [t for t in olds if t.kind != "phrase"]
            candidates = [t for t in named if t.kind == new.kind] or named
        if not candidates:
            continue
        old = candidates[0]
        if new.proper and old.proper and new.kind == old.kind and (not new.head or new.head == old.head):
            query, was, now = question[: old.start] + new.proper + question[old.proper_end :], old.proper, new.proper
        else:
            query, was, now = question[: old.start] + new.text + question[old.end :], old.text, new.text
        return _tidy(query), f"kept the previous question and put '{now}' in place of '{was}'"
    return None


def _bare(text: str, tokens: list[_Token]) -> _Thing | None:
    """The content words of an ellipsis without an article ("and in marketing?") as a modifier to put in place."""
    words = [(w, s, e) for w, s, e in tokens if _content(w)]
    if not words or len(words) > 3 or not all(w.isalpha() and w.islower() for w, _, _ in words):
        return None
    start, end = words[0][1], words[-1][2]
    return _Thing(text[start:end], "phrase", start, end, end, "", "")


def _resolve_pronoun(text: str, tokens: list[_Token], found: tuple[int, int, str], anchor: _Anchor,
                     start: int) -> tuple[str, str]:
    first, last, how = found
    s, e = tokens[first][1], tokens[last - 1][2]
    said, carried = anchor.said, f"carried {anchor.label}"
    if how == "plural" and len(anchor.everything) > 1:
        said = " and ".join(thing.spoken() for thing in anchor.everything)
        carried = "carried " + " and ".join(f"'{t.text}'" for t in anchor.everything) + " from earlier questions"
    elif how == "plural":
        how = "append"
    if how == "append":
        return _tidy(text[start:]) + f" ({said})", carried
    said += {"possessive": "'s", "is": " is"}.get(how, "")
    if text[s].isupper():
        said = said[:1].upper() + said[1:]
    return _tidy(text[start:s] + said + text[e:]), carried


def _rewrite(text: str, earlier: list[str]) -> tuple[str, str] | None:
    """``text`` (a question that leans on ``earlier``) made standalone, and what was carried; None if nothing was."""
    anchor = _anchor(earlier)
    previous = earlier[-1] if len(earlier[-1]) <= MAX_QUESTION else (anchor.said if anchor else "")
    tokens, things = _tokens(text), _things(text)
    lead, after = _lead(tokens)
    start = tokens[after][1] if after < len(tokens) else len(text)
    body, rest = _tidy(text[start:]), tokens[after:]
    own = [thing for thing in things if thing.start >= start]
    named = [thing for thing in own if thing.kind != "phrase"]
    found = _pronoun(tokens, after, things)
    if found:
        if anchor is None:
            return None
        if lead and not any(_content(w) for w, _, _ in rest[: found[0] - after] + tokens[found[1] :]):
            return _tidy(previous), "kept the previous question"  # "what about that?" asks the same again
        return _resolve_pronoun(text, tokens, found, anchor, start)
    if not previous:
        return None
    if not lead or not rest or rest[0][0].casefold() in _CLAUSE or _fragment(rest):
        if not rest:
            return _tidy(previous), "kept the previous question"
        if anchor and (lead or len(tokens) > SHORT):  # a whole question about the same subject
            return f"{body} for {anchor.said}", f"carried {anchor.label}"
        return f"{body}: {_tidy(previous)}", "added the previous question"  # "why?", "at what temperature?"
    beyond = [w for w, s, _ in rest if _content(w) and not any(t.start <= s < t.end for t in named)]
    if named and beyond:
        return body, f"dropped '{lead}': the rest names its own subject"
    if named:
        swapped = _swap(named[0], earlier)
        if swapped:
            return swapped
        if len(earlier[-1]) > MAX_QUESTION:  # no predicate to keep: the new thing alone
            return body, f"dropped '{lead}': the previous question is too long to repeat"
        return f"{_tidy(previous)} for {named[0].spoken()}", "kept the previous question"
    years = _YEARS.findall(body)
    prior = list(_YEARS.finditer(previous))
    if years and prior and all(w.isdigit() for w in beyond):
        spot = prior[-1]
        query = previous[: spot.start()] + years[0] + previous[spot.end() :]
        return _tidy(query), f"kept the previous question and put '{years[0]}' in place of '{spot.group()}'"
    new = next((thing for thing in own if thing.kind == "phrase"), None) or _bare(text, rest)
    swapped = _swap(new, earlier) if new else None
    if swapped:
        return swapped
    if anchor and beyond:
        return f"{body} for {anchor.said}", f"carried {anchor.label}"
    return f"{body}: {_tidy(previous)}", "added the previous question"


def _resolved(turns: Sequence[Turn]) -> list[str]:
    """The last WINDOW earlier questions, oldest first, each follow-up among them made standalone."""
    out: list[str] = []
    for turn in turns[-WINDOW:]:
        question = _normal(str(turn.question)[:MAX_EARLIER]).strip()
        if not _TOKEN.search(question):
            continue
        if out and len(question) <= MAX_QUESTION and _why(question, _tokens(question), _things(question)):
            rewritten = _rewrite(question, out)
            question = rewritten[0] if rewritten else question
        out.append(question)
    return out


def standalone(question: str, turns: Sequence[Turn]) -> Standalone:
    """``question`` made standalone for retrieval from the earlier ``turns`` (only the last WINDOW are read)."""
    if not turns:
        return Standalone(question, False, "there are no earlier turns to draw on")
    why = leans_on_history(question)
    if why is None:
        return Standalone(question, False, "the question stands on its own")
    earlier = _resolved(turns)
    rewritten = _rewrite(_normal(question).strip(), earlier) if earlier else None
    if rewritten is None or not rewritten[0] or rewritten[0] == question:
        return Standalone(question, False, f"{why}, but the earlier questions give nothing to carry")
    return Standalone(rewritten[0], True, f"{why}: {rewritten[1]}")
