"""Redaction: finds secrets (API keys, tokens, private keys, passwords) and optionally PII in text, and masks them.

Plain Python (``re`` only), so every layer that stores or sends text can afford it: the remote provider boundary,
the trace store and the log formatter. Patterns are deliberately specific (a known prefix, a checksum, or a secret
word right before the value): ordinary prose and code ("sky-blue", "task-123", ``token = get_token()``) pass through.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Check = Callable[[re.Match[str]], bool]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # "api key", "private key", "password", "token", "secret", "email", "phone number", "iban", ...
    start: int  # in the original text
    end: int


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    findings: list[Finding]

    def counts(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.findings))


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    check: Check | None = None
    hints: tuple[str, ...] = ()  # lower-case text one of which must occur for the rule to be tried (it is cheap)


def _mixed(match: re.Match[str]) -> bool:
    """A real key body has letters and digits; a slug like sk-this-is-a-name has no digits."""
    body = match.group(0)
    return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def random_looking(token: str) -> bool:
    """Whether ``token`` looks machine-made: digits and letters, no long words, a spread-out alphabet."""
    digits = sum(c.isdigit() for c in token)
    if len(token) < 20 or digits < 2 or not any(c.isalpha() for c in token):
        return False
    longest_word = max((len(w) for w in re.findall(r"[a-z]+|[A-Z]+", token)), default=0)
    return longest_word <= 8 and _entropy(token) >= 3.0


def _assigned(value: str, quoted: bool, sep: str, rest: str) -> bool:
    """An assigned value counts when quoted, in ``KEY=value`` form, at the end of its line, or not a plain word."""
    if value.lower() in _NOT_VALUES:
        return False
    if quoted:
        return True
    if rest.startswith(("(", ".", "[")):
        return False  # a call or an attribute: code, not a secret
    if sep.strip() == "=" and sep != "=" and _CODE_NAME.fullmatch(value) and not any(c.isdigit() for c in value):
        return False  # ``key = other.name`` or ``key = other_name``: an assignment in code
    line_end = not rest.split("\n", 1)[0].strip()
    return sep == "=" or line_end or any(not c.isalpha() for c in value)


def _assignments(text: str, lower: str) -> list[Finding]:
    """Values assigned to a secret-sounding name: ``password=...``, ``passwd: ...``, ``"token": "..."``."""
    found = []
    for sep_match in _SEP.finditer(text):
        before = start = sep_match.start()
        while start > 0 and before - start < 40 and (lower[start - 1].isalnum() or lower[start - 1] in "_-"):
            start -= 1
        name = lower[start:before]
        if not _NAME.fullmatch(name) or (start > 0 and lower[start - 1].isalnum()):
            continue
        value = _VALUE.match(text, sep_match.end())
        if value is None:
            continue
        group = next(g for g in ("q", "q2", "v") if value.group(g) is not None)
        if _assigned(value.group(group), group != "v", sep_match.group(0), text[value.end():]):
            kind = "password" if "pass" in name or "pwd" in name else "secret"
            found.append(Finding(kind, value.start(group), value.end(group)))
    return found


def _luhn(match: re.Match[str]) -> bool:
    digits = [int(c) for c in match.group(0) if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for n, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if n % 2 else d
    return total % 10 == 0


def _iban(match: re.Match[str]) -> bool:
    code = match.group(0).replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _phone(match: re.Match[str]) -> bool:
    digits = sum(c.isdigit() for c in match.group(0))
    return 9 <= digits <= 15


_NOT_VALUES = frozenset(("none", "null", "true", "false", "required", "optional", "string", "number", "boolean",
                         "bytes", "object", "unknown", "undefined", "self"))
_CODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+")
_EDGE = r"(?<![A-Za-z0-9_-])"
_END = r"(?![A-Za-z0-9_-])"
_SECRET_HINTS = ("pass", "pwd", "secret", "token", "key", "credential")
_TOKEN = re.compile(r"(?<![A-Za-z0-9+_=-])[A-Za-z0-9+_=-]{20,}(?![A-Za-z0-9+_=-])")
_NEAR = re.compile(r"(?<![a-z0-9])(?:keys?|tokens?|secrets?|passwords?|credentials?)\b[^\n\w]{0,3}"
                   r"(?:\w+[^\n\w]{1,3}){0,3}$")
_SECRET_WORD = (r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
                r"|credentials?)")

_SEP = re.compile(r"[\"']?[ \t]*[:=][ \t]*")
_NAME = re.compile(r"(?:[a-z0-9]+[_-])*" + _SECRET_WORD)
_VALUE = re.compile(r"\"(?P<q>[^\"\n]{1,200})\"|'(?P<q2>[^'\n]{1,200})'|(?P<v>[^\s\"'`,;()\[\]{}<>]{4,200})")

SECRETS: tuple[_Rule, ...] = (
    _Rule("private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY"
        r"(?: BLOCK)?-----|\Z)"), hints=("-----begin",)),
    _Rule("api key", re.compile(_EDGE + r"sk-ant-[A-Za-z0-9_-]{20,}" + _END), hints=("sk-ant-",)),
    _Rule("api key", re.compile(_EDGE + r"sk-[A-Za-z0-9_-]{20,}" + _END), check=_mixed, hints=("sk-",)),
    _Rule("api key", re.compile(_EDGE + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})" + _END),
          hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _Rule("api key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), hints=("akia", "asia")),
    _Rule("api key", re.compile(_EDGE + r"xox[baprs]-[A-Za-z0-9-]{10,}" + _END), check=_mixed, hints=("xox",)),
    _Rule("api key", re.compile(_EDGE + r"AIza[0-9A-Za-z_-]{35}" + _END), hints=("aiza",)),
    _Rule("token", re.compile(_EDGE + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}" + _END),
          hints=("eyj",)),
    _Rule("token", re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=-]{16,}"), hints=("bearer ",)),
)
PII: tuple[_Rule, ...] = (
    _Rule("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    _Rule("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), check=_iban),
    _Rule("card number", re.compile(r"(?<![\d-])(?<!\d )(?:[3-6]\d{12,18}|[3-6]\d{3}(?:[ -]\d{4}){3}(?:[ -]\d{3})?"
                                    r"|3[47]\d{2}[ -]\d{6}[ -]\d{5})(?![\d-])(?! \d)"), check=_luhn),
    _Rule("phone number", re.compile(
        r"(?<![\w+])(?<!\d )(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
        r"|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{1,4}[ -]\d{3,4}[ -]?\d{3,4})(?![\w-])(?! \d)"),
        check=_phone),
)


def find(text: str, *, pii: bool = False) -> list[Finding]:
    """Every secret (and with ``pii``, personal data) in ``text``, in order, without overlaps."""
    found: list[Finding] = []
    lower = text.lower()
    for rule in (*SECRETS, *PII) if pii else SECRETS:
        if rule.hints and not any(h in lower for h in rule.hints):
            continue
        found += [Finding(rule.kind, m.start(), m.end()) for m in rule.pattern.finditer(text)
                  if rule.check is None or rule.check(m)]
    if any(w in lower for w in _SECRET_HINTS):
        found += _assignments(text, lower) + _near_secret_words(text, lower)
    return _without_overlaps(found)


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    """In order of position; where two overlap, the one that starts first (or, at the same start, the longer)."""
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in found:
        if not kept or finding.start >= kept[-1].end:
            kept.append(finding)
    return kept


def _near_secret_words(text: str, lower: str) -> list[Finding]:
    """Machine-made tokens of 20+ characters within a few words after "key", "token", "secret" or "password"."""
    found = []
    for match in _TOKEN.finditer(text):
        if random_looking(match.group(0)) and _NEAR.search(lower, max(0, match.start() - 40), match.start()):
            found.append(Finding("secret", match.start(), match.end()))
    return found


def _apply(text: str, findings: list[Finding]) -> str:
    parts, last = [], 0
    for f in findings:
        parts += [text[last:f.start], f"[redacted {f.kind}]"]
        last = f.end
    return "".join(parts) + text[last:]


def redact(text: str, *, pii: bool = False) -> Redacted:
    """``text`` with each secret (and with ``pii``, each email, phone, IBAN and card number) replaced by a label."""
    findings = find(text, pii=pii)
    return Redacted(_apply(text, findings) if findings else text, findings)


def redact_known(text: str, values: Iterable[str]) -> Redacted:
    """``text`` with each occurrence of the exact ``values`` (the API keys in use) replaced by ``[redacted secret]``."""
    findings: list[Finding] = []
    for value in {v for v in values if v and len(v) >= 4}:
        start = text.find(value)
        while start != -1:
            findings.append(Finding("secret", start, start + len(value)))
            start = text.find(value, start + len(value))
    if not findings:
        return Redacted(text, [])
    kept = _without_overlaps(findings)
    return Redacted(_apply(text, kept), kept)


def scrub(text: str, *, pii: bool = False, known: Iterable[str] = ()) -> str:
    """The text with known values, secrets and (with ``pii``) personal data masked: what storage and logs use."""
    return redact(redact_known(text, known).text, pii=pii).text
