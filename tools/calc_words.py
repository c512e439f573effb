"""Arithmetic in words for the calculator: "seventeen times twenty-three" becomes "17 * 23", never evaluated here.

``rewrite`` turns number words ("one hundred and five", "a thousand", "2.5 million") into digits and operator words
("times", "divided by", "to the power of", "squared", "a third of", "twice", "the square root of") into the symbols
the calculator's safe parser reads. It is lenient: words it does not know (units, "the budget") stay as they are,
and the parser decides what the result means. Word operators that take one operand ("half of", "square root of",
"twice") apply to the number, parenthesised group or function call right after them (and its powers): "half of 4
squared" is 8, "half of 3 plus 4" is 5.5. ``shown`` writes an expression for people: "17 × 23", "√16", "1/2 × 10".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from tools.errors import ToolInputError

__all__ = ["MAX_WORD_OPERATIONS", "rewrite", "shown"]

MAX_WORD_OPERATIONS = 20  # "half of half of ... 8": word operators of one operand, nested
MAX_NUMBER = 10**300

_UNITS = {word: value for value, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {word: 10 * value for value, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(),
                                                       start=2)}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_GROUPS = {"hundred": 100, "dozen": 12}  # multiply the group of words before them (up to 99)
_BIG = "|".join([*_SCALES, *_GROUPS])


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))  # longest first: "eighteen" before "eight"


_COMPOUND = rf"(?:{_alternation(_TENS)})-(?:{_alternation(list(_UNITS)[1:10])})"  # "twenty-three"
_WORD = rf"(?:{_COMPOUND}|{_alternation([*_UNITS, *_TENS])}|{_BIG})"
_DIGITS = r"\d[\d,]*(?:\.\d+)?"
# A run of number words, or digits before a scale ("2.5 million"); "a"/"an" only before a scale ("a hundred").
_RUN = re.compile(
    rf"(?<![\w.,])(?:(?:an?|{_DIGITS})\s+(?=(?:{_BIG})\b))?{_WORD}(?:\s+(?:and\s+)?{_WORD})*\b", re.IGNORECASE
)


def _numbers(run: str) -> str:
    """Read one run of number words as numbers: "one hundred and five" is 105; "three twenty" stays two numbers."""
    done: list[str] = []
    total, group, last_scale, last = Fraction(0), Fraction(0), 0, ""  # last: the kind of the previous word

    def close() -> None:
        nonlocal total, group, last_scale, last
        if last:
            done.append(_digits(_bounded(total + group, run)))
            if last == "and":  # "one hundred and hundred": the "and" was not part of the number after all
                done.append("and")
        total, group, last_scale, last = Fraction(0), Fraction(0), 0, ""

    for word in run.lower().split():
        if word in ("a", "an") or word[0].isdigit():  # only at the start of a run, before a scale
            group, last = Fraction(1 if word in ("a", "an") else word.replace(",", "")), "digits"
        elif word == "and":
            if last in ("hundred", "scale"):
                last = "and"
            else:
                close()
                done.append(word)
        elif word in _UNITS or word in _TENS or "-" in word:
            value = sum(_TENS.get(part) or _UNITS[part] for part in word.split("-"))
            follows = ("tens", "hundred", "scale", "and") if 0 < value < 10 else ("hundred", "scale", "and")
            if last not in follows:
                close()
            group += value
            last = "tens" if word in _TENS else "small"
        elif word in _GROUPS:
            if not (last in ("small", "tens", "digits") and group < 100):
                close()
                group = Fraction(1)  # "hundred" alone is 100
            group *= _GROUPS[word]
            last = "hundred" if word == "hundred" else "dozen"
        else:
            scale = _SCALES[word]
            if last == "scale" and group == 0:  # "a thousand million", "a million million"
                total = _bounded(total * scale, run)
            elif last in ("small", "tens", "hundred", "digits") and (not last_scale or scale < last_scale):
                total, group = _bounded(total + group * scale, run), Fraction(0)
            else:
                close()
                total = Fraction(scale)
            last_scale, last = scale, "scale"
    close()
    return " ".join(done)


def _bounded(value: Fraction, run: str) -> Fraction:
    if abs(value) > MAX_NUMBER:
        raise ToolInputError(f"the number '{_short(run)}' is too large (the limit is 10^300)")
    return value


def _digits(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")  # digits times a scale: exact


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:57]}..."


_FUNCTION = r"(?:sqrt|cbrt|abs|round|min|max|log|ln|exp|sin|cos|tan|floor|ceil)"
_FRACTION = {"half": 2, "halves": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "hundredth": 100, "thousandth": 1000}
_FRACTIONS = _alternation([*_FRACTION, *(f"{word}s" for word in _FRACTION if word != "half")])
_MULTIPLES = {"twice": 2, "double": 2, "thrice": 3, "triple": 3, "treble": 3, "quadruple": 4}
_PREFIX = re.compile(
    rf"(?<![\w.])(?:(?:(?P<a>an?)\s+|(?P<n>\d+)\s+)?(?P<den>{_FRACTIONS})\s+of"
    rf"|(?P<times>{_alternation(_MULTIPLES)})(?:\s+of)?"
    r"|(?:the\s+)?(?P<root>square|cube)\s+root\s+of|(?P<fn>sqrt|cbrt)\s+of)\b",
    re.IGNORECASE,
)
# Where an operand may start: a number, a sign, a group, a function, or a word operator of one operand.
_OPERAND = (rf"(?=\s*(?:[-+]\s*)?(?:\.?\d|\(|(?:{_FUNCTION}|pi|negative|minus|twice|thrice|double|triple|treble|"
            rf"quadruple|(?:the\s+)?(?:square|cube)\s+root|(?:an?\s+)?(?:{_FRACTIONS}))\b))")
_INFIX = [
    (r"multiplied\s+by|times|x", "*"),
    (r"divided\s+by|over", "/"),
    (r"plus|added\s+to", "+"),
    (r"minus|less|take\s+away", "-"),
    (r"(?:raised\s+)?to\s+the\s+power\s+(?:of\s+)?|raised\s+to", "**"),
    (r"mod(?:ulo)?", "%"),
]
_INFIX_RE = [(re.compile(rf"(?<=[\d)%])\s*\b(?:{words})\b\s*{_OPERAND}", re.IGNORECASE), f" {symbol} ")
             for words, symbol in _INFIX]
_INTO = re.compile(r"(?P<a>\S*[\d)])\s*\binto\s+(?P<b>[-+]?[\d(.]\S*)", re.IGNORECASE)
_POSTFIX = re.compile(r"(?<=[\d)])\s*\b(squared|cubed)\b", re.IGNORECASE)
_ORDINAL_POWER = re.compile(r"(?<=[\d)])\s+to\s+the\s+(\d+)(?:st|nd|rd|th)\s+power\b", re.IGNORECASE)
_UNARY = re.compile(rf"(?<![\w)])\b(?:negative|minus)\b\s*(?=\.?\d|\(|{_FUNCTION}\b)", re.IGNORECASE)
_SENTENCES = [  # whole requests: "multiply 3 by 4", "subtract 3 from 10", "the sum of 3 and 4"
    (re.compile(r"^multiply\s+(?P<a>.+?)\s+(?:by|and)\s+(?P<b>.+)$", re.I), "{a} * {b}"),
    (re.compile(r"^divide\s+(?P<a>.+?)\s+by\s+(?P<b>.+)$", re.I), "{a} / {b}"),
    (re.compile(r"^add\s+(?P<a>.+?)\s+(?:and|to)\s+(?P<b>.+)$", re.I), "{a} + {b}"),
    (re.compile(r"^subtract\s+(?P<a>.+?)\s+from\s+(?P<b>.+)$", re.I), "{b} - {a}"),
    (re.compile(r"^(?:the\s+)?sum\s+of\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I), "{a} + {b}"),
    (re.compile(r"^(?:the\s+)?product\s+of\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I), "{a} * {b}"),
    (re.compile(r"^(?:the\s+)?difference\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I), "{a} - {b}"),
]
_NUMBER = re.compile(r"\d[\d,_]*(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+")
_CALLED = re.compile(rf"{_FUNCTION}\s*(?=\()|pi\b", re.IGNORECASE)
_POWER = re.compile(r"\s*\*\*")


def rewrite(text: str) -> str | None:
    """The text with number words as digits and operator words as symbols; None when it has no such words.

    Raises ToolInputError for words that cannot be computed sensibly: a number too large, "3 into 4" (times or
    divided by?), more than ``MAX_WORD_OPERATIONS`` word operators of one operand.
    """
    if not re.search(r"[^\W\d_]", text):
        return None  # no letters, no words
    result = _RUN.sub(lambda match: _numbers(match[0]), text)
    result = _ORDINAL_POWER.sub(r" ** \1", result)
    result = _POSTFIX.sub(lambda match: " ** 2" if match[1].lower() == "squared" else " ** 3", result)
    if match := _INTO.search(result):  # "3 into 4" is 3 * 4 in India, 4 / 3 in "3 goes into 12"
        a, b = _short(match["a"]), _short(match["b"])
        raise ToolInputError(f"'{a} into {b}' is ambiguous: write '{a} times {b}' or '{b} divided by {a}'")
    for pattern, symbol in _INFIX_RE:
        result = pattern.sub(symbol, result)
    result = _UNARY.sub("-", result)
    result = _prefixes(result)
    for pattern, template in _SENTENCES:
        if match := pattern.match(result):
            result = template.format(a=_group(match["a"]), b=_group(match["b"]))
            break
    result = " ".join(result.split())
    return None if result == " ".join(text.split()) else result


def _group(part: str) -> str:
    """The part as one operand: "3" and "sqrt(2)" as they are, "2 + 1" in parentheses."""
    part = part.strip()
    return part if _operand_end(part, 0) == len(part) else f"({part})"


def _prefixes(text: str) -> str:
    """Apply word operators of one operand, innermost (rightmost) first, so that they nest."""
    for _ in range(MAX_WORD_OPERATIONS + 1):
        for match in reversed(list(_PREFIX.finditer(text))):
            end = _operand_end(text, match.end())
            if end is None:
                continue
            operand = text[match.end():end].strip()
            text = f"{text[: match.start()]}{_apply(match, operand)}{text[end:]}"
            break
        else:
            return text
    raise ToolInputError(
        f"too many word operators of one operand ('half of', 'square root of', 'twice' ...); the limit is "
        f"{MAX_WORD_OPERATIONS}"
    )


def _apply(match: re.Match[str], operand: str) -> str:
    if match["den"]:
        word = match["den"].lower()
        denominator = _FRACTION[word if word in _FRACTION else word[:-1]]
        numerator = int(match["n"]) if match["n"] else 1
        return f"({numerator}/{denominator} * {operand})"
    if match["times"]:
        return f"({_MULTIPLES[match['times'].lower()]} * {operand})"
    name = "sqrt" if (match["root"] or match["fn"] or "").lower() in ("square", "sqrt") else "cbrt"
    whole = operand.startswith("(") and _closing(operand, 0) == len(operand) - 1
    return f"{name}{operand}" if whole else f"{name}({operand})"


def _closing(text: str, start: int) -> int | None:
    """The index of the parenthesis closing the one at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return None


def _operand_end(text: str, start: int) -> int | None:
    """Where the operand starting at ``start`` ends: a signed number, group, call or constant, with its powers."""
    index = len(text) - len(text[start:].lstrip())
    if index < len(text) and text[index] in "+-":
        index = len(text) - len(text[index + 1:].lstrip())
    if index >= len(text):
        return None
    if number := _NUMBER.match(text, index):
        end = number.end()
    elif text[index] == "(":
        closing = _closing(text, index)
        if closing is None:
            return None
        end = closing + 1
    elif name := _CALLED.match(text, index):
        if name[0].lower() == "pi":
            end = name.end()
        else:
            closing = _closing(text, name.end())
            if closing is None:
                return None
            end = closing + 1
    else:
        return None
    if power := _POWER.match(text, end):
        return _operand_end(text, power.end()) or end
    return end


_SHOWN = [
    (re.compile(r"\b(sqrt|cbrt)\((\d[\d.]*)\)"), lambda m: ("√" if m[1] == "sqrt" else "∛") + m[2]),
    (re.compile(r"\bsqrt\("), lambda m: "√("),
    (re.compile(r"\bcbrt\("), lambda m: "∛("),
    (re.compile(r"\s*\*\*\s*([23])(?![\w.]|\s*\*\*)"), lambda m: "²" if m[1] == "2" else "³"),
    (re.compile(r"\s*\*\*\s*"), lambda m: "^"),
    (re.compile(r"\s*\*\s*"), lambda m: " × "),
    (re.compile(r"\s+/\s+"), lambda m: " ÷ "),
]


def shown(expression: str) -> str:
    """The expression as people write it: "17 × 23", "10 ÷ 4", "√16", "3²", "2^10", "1/2 × 10"."""
    text = expression.strip()
    for pattern, replacement in _SHOWN:
        text = pattern.sub(replacement, text)
    if text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1]
    return text
