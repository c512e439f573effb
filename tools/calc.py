"""The calculator tool: safe arithmetic, percentages and unit conversion on text, never eval or exec."""

from __future__ import annotations

import ast
import math
import operator
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeAlias

from tools import calc_words
from tools.errors import ToolInputError

if TYPE_CHECKING:
    import pint

__all__ = ["CalcResult", "calculate", "understands"]

MAX_LENGTH = 500  # characters of input
MAX_DEPTH = 100  # nesting of the parsed expression
MAX_NODES = 400  # size of the parsed expression
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 10**300
_MAX_BITS = 1100  # exact fractions bigger than this (in bits) continue as floats

Num: TypeAlias = Fraction | float


@dataclass(frozen=True)
class CalcResult:
    """One answer: the normalised expression, its value, its unit (None for plain numbers) and a sentence."""

    expression: str
    value: int | float
    unit: str | None
    text: str


def calculate(expression: str) -> CalcResult:
    """Calculate exactly: arithmetic, percentages and unit conversions written as text.

    Arithmetic: + - * / // % ** (or ^), parentheses, decimals, 1,234.5, 1.5e3; functions sqrt, cbrt, abs,
    round(x, digits), min, max, log (base 10, or log(x, base)), ln, exp, sin, cos, tan (radians), floor,
    ceil; constants pi and e. Words work too: numbers ("twenty-three", "one hundred and five", "2.5 million") and
    operators ("times", "divided by", "plus", "minus", "to the power of", "squared", "square root of", "a third
    of", "twice"). Percentages: "15% of 80", "80 + 15%" (= 92), "50 is what percent of 200",
    "increase 40 by 25%", "percent change from 40 to 50". Unit conversion: "5 km in miles", "100 F to C",
    "3.5 GB in MB", "2 hours in minutes", "how many ounces in 1 kg". Plain numbers are exact (0.1 + 0.2 = 0.3).
    Examples: "what is (3 + 4) * 2?", "what is 17 times 23?", "sqrt(2) * 10", "12% of 250", "1 lb to kg".
    Raises ToolInputError saying what is supported when the input cannot be understood.
    """
    if not isinstance(expression, str):
        raise ToolInputError("the expression must be text, for example '2 * (3 + 4)'")
    if len(expression) > MAX_LENGTH:
        raise ToolInputError(f"the expression is too long ({len(expression)} characters; the limit is {MAX_LENGTH})")
    text = _clean(expression)
    if not text:
        raise ToolInputError(f"the expression is empty; {_HINT}")
    try:
        text = calc_words.rewrite(text) or text
        return _convert(text) or _percent(text) or _result(text, _evaluate(text), shown=calc_words.shown(text))
    except ZeroDivisionError:
        raise ToolInputError("division by zero") from None
    except OverflowError:
        raise ToolInputError(f"the result of '{_short(text)}' is too large") from None
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as error:
        raise ToolInputError(f"cannot calculate '{_short(text)}' ({error or type(error).__name__}); {_HINT}") from None


def understands(request: str) -> bool:
    """Whether ``calculate`` reads the request as a calculation, judged without computing it (for routing).

    True for arithmetic (in symbols or words: "what is 17 times 23?"), a percentage or a conversion between known
    units; False for text that only mentions numbers ("what is the port of the Aurora service", "how many invoices
    did I index from 2024") and for a bare number. Cheap: no unit registry is loaded unless the request has the
    shape of a conversion. Never raises.
    """
    if not isinstance(request, str) or len(request) > MAX_LENGTH:
        return False
    try:
        text = _clean(request)
        text = calc_words.rewrite(text) or text
    except ToolInputError:
        return True  # arithmetic in words that calculate() refuses and says why ("3 into 4", a number too large)
    if not text:
        return False
    try:
        if match := _CONVERSION.match(text) or _HOW_MANY.match(text):
            return all(len(match[unit]) <= 40 and _known(match[unit]) for unit in ("src", "dst"))
        if match := _WHAT_PERCENT.match(text) or _WHAT_PERCENT_OF.match(text) or _PERCENT_CHANGE.match(text):
            return _readable(match["a"]) and _readable(match["b"])
        if match := _CHANGE.match(text) or _PERCENT_OF.match(text):
            return _readable(match["p"]) and _readable(match["b"])
        return _arithmetic(text, operation=True)
    except ToolInputError:
        return False


def _readable(part: str) -> bool:
    match = _PERCENT_OF.match(part)
    return _readable(match["p"]) and _readable(match["b"]) if match else _arithmetic(part, operation=False)


_HINT = "write arithmetic like '2 * (3 + 4)', a percentage like '15% of 80' or a conversion like '5 km in miles'"
_SYMBOLS = {"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "^": "**", "π": "pi", "º": "°", "％": "%", "√": "sqrt"}
_LEADING = re.compile(
    r"^(?:=|(?:please|(?:can|could|would|will) you|tell me|what(?:'s|’s| is| are| does| do)|whats|how much is|"
    r"calculate|calc|compute|evaluate|solve|convert|work out|figure out)\b)\s*",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"(?:[\s?=!.]|\b(?:please|equals?|equal to|makes?|comes? to|is(?: what)?)\b)+$", re.I)
_POWERS = re.compile(r"(?<=[\d)])\s*([²³])")


def _clean(raw: str) -> str:
    text = "".join(_ascii_digit(char) for char in raw if unicodedata.category(char) != "Cf")  # zero-width, bidi
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates would break whoever prints a message
    text = _POWERS.sub(lambda match: "**2" if match[1] == "²" else "**3", text)
    text = re.sub(r"√\s*(\d[\d.]*)", r"sqrt(\1)", " ".join(text.split()))
    for symbol, replacement in _SYMBOLS.items():
        text = text.replace(symbol, replacement)
    previous = None
    while previous != text:
        previous, text = text, _TRAILING.sub("", _LEADING.sub("", text)).strip()
    text = re.sub(r"(?:(?<=\d)\s*|\b)(?:percent|per cent|pct)\b", "%", text, flags=re.IGNORECASE)
    return re.sub(r"(?<=\d)\s*[xX]\s*(?=[\d(])", " * ", text)  # "3 x 4"


def _ascii_digit(char: str) -> str:
    """Digits of any script as ASCII ("١٧" is 17), so that the parser reads them."""
    if char.isascii() or not char.isdecimal():
        return char
    return str(unicodedata.decimal(char))


# --- arithmetic ---------------------------------------------------------------------------------------------------

_PCT = "_pct"  # internal marker for a trailing percentage: "80 + 15%" -> 80 + _pct(15)
_OPERATORS: dict[type[ast.operator], Callable[[Num, Num], Num]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_REFUSED = {
    ast.Attribute: "attribute access", ast.Lambda: "a lambda", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.Subscript: "indexing", ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.IfExp: "if/else",
    ast.Tuple: "a comma or () outside a function call (use '.' for decimals)", ast.List: "a list", ast.Dict: "a dict",
    ast.Set: "a set", ast.JoinedStr: "text", ast.NamedExpr: "an assignment", ast.Starred: "unpacking",
    ast.BitAnd: "the operator &", ast.BitOr: "the operator |", ast.LShift: "the operator <<",
    ast.RShift: "the operator >>", ast.MatMult: "the operator @",
}


def _sqrt(x: Num) -> Num:
    if isinstance(x, Fraction) and x >= 0:  # exact for perfect squares: sqrt(2.25) = 1.5
        top, bottom = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if top * top == x.numerator and bottom * bottom == x.denominator:
            return Fraction(top, bottom)
    return math.sqrt(x)


def _cbrt(x: Num) -> Num:
    if isinstance(x, Fraction):  # exact for perfect cubes: cbrt(-27) = -3, cbrt(0.125) = 0.5
        top, bottom = _icbrt(abs(x.numerator)), _icbrt(x.denominator)
        if top is not None and bottom is not None:
            return Fraction(top if x >= 0 else -top, bottom)
    return math.cbrt(x)


def _icbrt(n: int) -> int | None:
    """The exact integer cube root of n >= 0, or None (Newton's method from above, in integers)."""
    root = 1 << -(-n.bit_length() // 3)
    while root and (smaller := (2 * root + n // (root * root)) // 3) < root:
        root = smaller
    return root if root**3 == n else None


def _round(x: Num, digits: Num = Fraction(0)) -> Num:
    if not (isinstance(digits, Fraction) and digits.denominator == 1 and abs(digits) <= 300):
        raise ToolInputError("round(x, digits) needs a whole number of digits between -300 and 300")
    exact = x if isinstance(x, Fraction) else Fraction(repr(x))  # round(2.675, 2) is 2.68 as written
    scale = Fraction(10) ** int(digits)
    rounded = Fraction(math.floor(abs(exact) * scale + Fraction(1, 2))) / scale  # halves round away from zero
    return rounded if exact >= 0 else -rounded


def _log(x: Num, base: Num = 10.0) -> Num:
    return math.log10(x) if base == 10 else math.log2(x) if base == 2 else math.log(x, base)


_FUNCTIONS: dict[str, tuple[Callable[..., Num], int, int]] = {
    "sqrt": (_sqrt, 1, 1), "cbrt": (_cbrt, 1, 1), "abs": (lambda x: -x if x < 0 else x, 1, 1), "round": (_round, 1, 2),
    "min": (lambda *xs: min(xs), 1, 100), "max": (lambda *xs: max(xs), 1, 100), "log": (_log, 1, 2),
    "ln": (math.log, 1, 1), "exp": (math.exp, 1, 1), "sin": (math.sin, 1, 1), "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1), "floor": (lambda x: Fraction(math.floor(x)), 1, 1),
    "ceil": (lambda x: Fraction(math.ceil(x)), 1, 1),
}
_CONSTANTS: dict[str, Num] = {"pi": math.pi, "e": math.e}
_SUPPORTED = f"supported functions: {', '.join(sorted(_FUNCTIONS))}; constants: {', '.join(sorted(_CONSTANTS))}"
_THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,]|\.\d)")
_TRAILING_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*%(?!\s*[\w(.])")


def _check(x: Num) -> Num:
    """Refuse results that are undefined or too large; let exact fractions with huge parts continue as floats."""
    if isinstance(x, Fraction):
        if abs(x) > MAX_MAGNITUDE:
            raise OverflowError
        return float(x) if max(x.numerator.bit_length(), x.denominator.bit_length()) > _MAX_BITS else x
    if math.isnan(x):
        raise ToolInputError("the result is undefined")
    if math.isinf(x) or abs(x) > MAX_MAGNITUDE:
        raise OverflowError
    return x


def _power(base: Num, exponent: Num) -> Num:
    if not -MAX_EXPONENT <= exponent <= MAX_EXPONENT:
        raise ToolInputError(f"the exponent {_show(exponent)} is too large (the limit is {MAX_EXPONENT})")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        if isinstance(base, Fraction):  # check the size before computing it: 9**999 would take 953 digits
            if base != 0 and exponent * (math.log10(abs(base.numerator)) - math.log10(base.denominator)) > 300:
                raise OverflowError
            return _check(base**exponent.numerator)
        return _check(math.pow(base, exponent.numerator))
    try:
        return _check(math.pow(base, exponent))
    except ValueError:
        raise ToolInputError(f"({_show(base)}) ** {_show(exponent)} is undefined") from None


def _evaluate(text: str) -> Num:
    tree, source = _parse(text)
    return _eval(tree.body, source, 0)


def _parse(text: str) -> tuple[ast.Expression, str]:
    """The expression's syntax tree, after commas in 1,234 and trailing percentages are rewritten."""
    in_call: list[bool] = []  # commas inside a function's parentheses separate arguments: max(1,234) is 234
    stack: list[bool] = []
    for index, char in enumerate(text):
        if char == "(":
            stack.append(bool(re.search(r"[A-Za-z_]\s*$", text[:index])))
        elif char == ")" and stack:
            stack.pop()
        in_call.append(bool(stack) and stack[-1])
        if len(stack) > 50:
            raise ToolInputError("the expression is nested too deeply")
    source = _THOUSANDS.sub(lambda m: m[0] if in_call[m.start()] else m[0].replace(",", ""), text)
    source = _TRAILING_PERCENT.sub(rf"{_PCT}(\1)", source)
    try:
        with warnings.catch_warnings():  # "1in" warns "invalid decimal literal" before it fails
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError):
        raise ToolInputError(f"cannot understand '{_short(text)}'; {_HINT}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolInputError(f"the expression is too long (more than {MAX_NODES} parts)")
    return tree, source


_ARITHMETIC = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Pow, ast.Load, *_OPERATORS)


def _arithmetic(text: str, *, operation: bool) -> bool:
    """The text parses to numbers, operators, known functions and constants only (and, if asked, computes)."""
    tree, _ = _parse(text)
    computes = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and _name(node) in (*_FUNCTIONS, _PCT) and not node.keywords):
                return False
            computes = computes or _name(node) != _PCT
        elif isinstance(node, ast.Name):
            if node.id.lower() not in (*_CONSTANTS, *_FUNCTIONS, _PCT):
                return False
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                return False
        elif not isinstance(node, _ARITHMETIC):
            return False
        computes = computes or isinstance(node, ast.BinOp)
    return computes or not operation


def _eval(node: ast.AST, source: str, depth: int) -> Num:
    """Evaluate an allow-list of AST nodes; everything else is refused with a message."""
    if depth > MAX_DEPTH:
        raise ToolInputError("the expression is nested too deeply")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ToolInputError(f"only numbers are allowed, not {ast.unparse(node)[:40]}")
        return _check(Fraction(value)) if isinstance(value, int) else _decimal(ast.get_source_segment(source, node))
    if isinstance(node, ast.Name):
        if node.id.lower() in _CONSTANTS:
            return _CONSTANTS[node.id.lower()]
        raise ToolInputError(f"unknown name '{node.id}'; {_SUPPORTED}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _eval(node.operand, source, depth + 1)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):  # ^ was rewritten to **
        return _power(_eval(node.left, source, depth + 1), _eval(node.right, source, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _eval(node.left, source, depth + 1), _eval(node.right, source, depth + 1)
        if isinstance(node.op, ast.Add | ast.Sub) and isinstance(node.right, ast.Call) and _name(node.right) == _PCT:
            return _check(left * (1 + right if isinstance(node.op, ast.Add) else 1 - right))  # 80 + 15% = 92
        result = _OPERATORS[type(node.op)](left, right)
        return _check(Fraction(result) if isinstance(result, int) else result)
    if isinstance(node, ast.Call) and _name(node) in (*_FUNCTIONS, _PCT):
        if node.keywords:
            raise ToolInputError(f"{_name(node)}() takes no keyword arguments")
        return _call(_name(node), [_eval(arg, source, depth + 1) for arg in node.args])
    if isinstance(node, ast.Call) and _name(node):
        raise ToolInputError(f"unknown function '{_name(node)}'; {_SUPPORTED}")
    if isinstance(node, ast.Call):
        node = node.func  # refuse what is called: __import__('os').system() is attribute access
    what = _REFUSED.get(type(node.op) if isinstance(node, ast.BinOp) else type(node), f"'{ast.unparse(node)[:40]}'")
    raise ToolInputError(f"{what} is not allowed; use numbers, + - * / // % **, parentheses and {_SUPPORTED}")


def _decimal(literal: str | None) -> Num:
    """A decimal literal as an exact fraction (0.1 is 1/10), refusing 1e999999999 before it is computed."""
    text = (literal or "nan").replace("_", "").lower()
    if abs(int(text.partition("e")[2] or 0)) > 400:
        return _check(float(text))  # inf (too large) or 0.0
    return _check(Fraction(text))


def _name(call: ast.Call) -> str:
    return call.func.id.lower() if isinstance(call.func, ast.Name) else ""


def _call(name: str, args: list[Num]) -> Num:
    if name == _PCT and len(args) == 1:
        return args[0] / 100
    if name not in _FUNCTIONS:
        raise ToolInputError(f"unknown function '{name}'; {_SUPPORTED}")
    function, least, most = _FUNCTIONS[name]
    if not least <= len(args) <= most:
        count = str(least) if least == most else f"{least} to {most}"
        raise ToolInputError(f"{name}() takes {count} argument(s), got {len(args)}")
    try:
        return _check(function(*args))
    except ValueError:
        raise ToolInputError(f"{name}({', '.join(_show(arg) for arg in args)}) is undefined") from None


def _to_python(x: Num) -> int | float:
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else float(x)
    x = float(f"{x:.15g}")  # drop float noise: sqrt(2)**2 is 2, not 2.0000000000000004
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def _fmt(value: int | float, digits: int = 12) -> str:
    return str(value) if isinstance(value, int) and abs(value) < 10**15 else f"{value:.{digits}g}"


def _show(x: Num) -> str:
    return _fmt(_to_python(x))


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:57]}..."


def _result(
    expression: str, value: Num, unit: str | None = None, text: str | None = None, *, shown: str | None = None
) -> CalcResult:
    number = _to_python(value)
    return CalcResult(expression, number, unit, text or f"{shown or expression} = {_fmt(number)}")


# --- percentages --------------------------------------------------------------------------------------------------

_PERCENT_OF = re.compile(r"^(?P<p>.+?)\s*%\s*of\s+(?P<b>.+)$", re.IGNORECASE)
_WHAT_PERCENT = re.compile(r"^(?P<a>.+?)\s+is\s+what\s*%\s*of\s+(?P<b>.+)$", re.IGNORECASE)
_WHAT_PERCENT_OF = re.compile(r"^what\s*%\s*of\s+(?P<b>.+?)\s+is\s+(?P<a>.+)$", re.IGNORECASE)
_CHANGE = re.compile(r"^(?P<verb>increase|raise|decrease|reduce|lower)\s+(?P<b>.+?)\s+by\s+(?P<p>.+?)\s*%$", re.I)
_PERCENT_CHANGE = re.compile(r"^(?:the\s+)?(?:%|percentage)\s+change\s+from\s+(?P<a>.+?)\s+to\s+(?P<b>.+)$", re.I)


def _number(text: str) -> Num:
    match = _PERCENT_OF.match(text)
    return _check(_number(match["p"]) / 100 * _number(match["b"])) if match else _evaluate(text)


def _percent(text: str) -> CalcResult | None:
    if match := _WHAT_PERCENT.match(text) or _WHAT_PERCENT_OF.match(text):
        part, whole = _number(match["a"]), _number(match["b"])
        share = _check(part / whole * 100)
        return _result(text, share, "%", f"{_show(part)} is {_show(share)} % of {_show(whole)}")
    if match := _PERCENT_CHANGE.match(text):
        start, end = _number(match["a"]), _number(match["b"])
        change = _check((end - start) / start * 100)
        return _result(text, change, "%", f"change from {_show(start)} to {_show(end)} = {_show(change)} %")
    if match := _CHANGE.match(text):
        base, share = _number(match["b"]), _number(match["p"])
        grows = match["verb"].lower() in ("increase", "raise")
        value = _check(base * (1 + share / 100) if grows else base * (1 - share / 100))
        verb = "increased" if grows else "decreased"
        return _result(text, value, None, f"{_show(base)} {verb} by {_show(share)} % = {_show(value)}")
    if match := _PERCENT_OF.match(text):
        share, base = _number(match["p"]), _number(match["b"])
        value = _check(share / 100 * base)
        return _result(text, value, None, f"{_show(share)} % of {_show(base)} = {_show(value)}")
    return None


# --- unit conversion ----------------------------------------------------------------------------------------------

_NUMBER = r"[-+]?(?=\.?\d)(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?"
_CONVERSION = re.compile(rf"^(?P<n>{_NUMBER}|an?\s)\s*(?P<src>[^\d\s].*?)\s+(?:in|to|into|as)\s+(?P<dst>.+)$", re.I)
_HOW_MANY = re.compile(
    rf"^how many\s+(?P<dst>.+?)\s+(?:are\s+)?(?:in|is|make|equals?)\s+(?P<n>{_NUMBER}|an?\s)\s*(?P<src>[^\d\s].*)$",
    re.I,
)
_UNIT_CHARS = re.compile(r"[\w°µμΩÅ²³/*^.() -]{1,64}")
_CASE_ALIASES = {  # pint reads C and F as coulomb and farad, mb as millibarn, Mb as megabarn
    "C": "degC", "c": "degC", "F": "degF", "f": "degF", "KB": "kB", "kb": "kB", "mb": "MB", "gb": "GB",
    "tb": "TB", "pb": "PB", "Kb": "kbit", "Mb": "Mbit", "Gb": "Gbit", "Tb": "Tbit",
}
_WORD_ALIASES = {
    **{word: "degC" for word in ("°c", "degc", "deg c", "degree c", "degrees c", "degree celsius", "degrees celsius")},
    **{word: "degF" for word in ("°f", "degf", "deg f", "degree f", "degrees f", "degree fahrenheit")},
    "degrees fahrenheit": "degF", "centigrade": "degC", "°k": "kelvin", "degrees kelvin": "kelvin",
    "fl oz": "fluid_ounce", "fluid ounce": "fluid_ounce", "fluid ounces": "fluid_ounce", "sqft": "ft**2",
    "light year": "light_year", "light years": "light_year",
}
_REGISTRY: pint.UnitRegistry[Any] | None = None
_LOCK = threading.RLock()


def _registry() -> pint.UnitRegistry[Any]:
    """The one unit registry of this process, created on first use (it takes a few tenths of a second)."""
    global _REGISTRY
    with _LOCK:
        if _REGISTRY is None:
            import pint

            _REGISTRY = pint.UnitRegistry()
        return _REGISTRY


def _unit(text: str) -> pint.Unit:
    name = _CASE_ALIASES.get(text) or _WORD_ALIASES.get(" ".join(text.lower().split()), text)
    if _UNIT_CHARS.fullmatch(name):
        try:
            return _registry().parse_units(name)
        except Exception:  # pint's parser raises many kinds (TokenError, AssertionError, ...)
            pass
    raise ToolInputError(f"unknown unit '{_short(text)}'; write units like km, miles, °F, °C, kg, lb, GB, MB, hours")


def _known(name: str) -> bool:
    try:
        _unit(name.strip())
    except ToolInputError:
        return False
    return True


def _kind(unit: pint.Unit) -> str:
    if str(_registry().get_root_units(unit)[1]) == "bit":
        return "data size"
    return str(_registry().get_dimensionality(unit)).replace("[", "").replace("]", "")


def _convert(text: str) -> CalcResult | None:
    match = _CONVERSION.match(text) or _HOW_MANY.match(text)
    if not match:
        return None
    amount = 1.0 if match["n"].strip().lower() in ("a", "an") else float(_decimal(match["n"].replace(",", "")))
    with _LOCK:
        source, target = _unit(match["src"].strip()), _unit(match["dst"].strip())
        registry = _registry()
        if registry.get_root_units(source)[1] != registry.get_root_units(target)[1]:
            what = f"{_short(match['src'])} ({_kind(source)}) to {_short(match['dst'])} ({_kind(target)})"
            raise ToolInputError(f"cannot convert {what}")
        try:
            magnitude = float(registry.Quantity(amount, source).to(target).magnitude)
        except Exception as error:  # e.g. offset units inside a compound unit; OverflowError stays itself
            if isinstance(error, OverflowError):
                raise
            raise ToolInputError(f"cannot convert {_short(match['src'])} to {_short(match['dst'])}: {error}") from None
    value = _to_python(float(f"{_check(magnitude):.12g}"))  # 12 digits: 1 lb is 0.45359237 kg, not ...0000001
    source_label, target_label = format(source, "~"), format(target, "~")
    sentence = f"{_show(amount)} {source_label} = {_fmt(value, 6)} {target_label}"
    return _result(text, value, target_label, sentence)
