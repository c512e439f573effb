from __future__ import annotations

import threading

import pytest

from tools import calc
from tools.calc import CalcResult, calculate
from tools.errors import DeskmateError, ToolInputError


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2+2", 4),
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("-3 + 5", 2),
        ("-(-3)", 3),
        ("+7", 7),
        ("7 / 2", 3.5),
        ("10/4", 2.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("10 % 3", 1),
        ("10 %3", 1),
        ("2 ** 10", 1024),
        ("2^10", 1024),
        ("2**-2", 0.25),
        ("2 ** 3 ** 2", 512),
        ("1/3", 1 / 3),
        ("0.1 + 0.2", 0.3),
        ("0.1 * 3", 0.3),
        ("1.1 * 1.1", 1.21),
        ("1,234.5 * 2", 2469),
        ("1,000,000 / 8", 125000),
        ("1.5e3 + 1", 1501),
        ("2E-3 * 1000", 2),
        ("1_000 + 1", 1001),
        ("3 x 4", 12),
        ("6 × 7", 42),
        ("8 ÷ 2", 4),
        ("5 − 7", -2),
        ("sqrt(16)", 4),
        ("sqrt(2.25)", 1.5),
        ("sqrt(2)", 1.4142135623731),
        ("sqrt(2)**2", 2),
        ("√16", 4),
        ("abs(-3.5)", 3.5),
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(2.675, 2)", 2.68),
        ("round(1234, -2)", 1200),
        ("min(3, 1, 2)", 1),
        ("max(1, 5.5, 2)", 5.5),
        ("max(1,234)", 234),
        ("log(1000)", 3),
        ("log(8, 2)", 3),
        ("log(81, 3)", 4),
        ("ln(e)", 1),
        ("exp(0)", 1),
        ("exp(1)", 2.71828182845905),
        ("sin(pi / 2)", 1),
        ("cos(0)", 1),
        ("tan(0)", 0),
        ("floor(-2.5)", -3),
        ("ceil(2.1)", 3),
        ("SQRT(9)", 3),
        ("pi", 3.14159265358979),
        ("π", 3.14159265358979),
        ("2 ** 996 // 2 ** 995", 2),
        ("1e-999999999 * 5", 0),
        ("0.5 ** 1000 * 2 ** 990", 0.0009765625),
    ],
)
def test_arithmetic_is_exact(expression: str, value: float) -> None:
    result = calculate(expression)
    assert result.value == value
    assert type(result.value) is type(value)
    assert result.unit is None


@pytest.mark.parametrize(
    ("question", "expression", "text"),
    [
        ("What is 2 + 2?", "2 + 2", "2 + 2 = 4"),
        ("calculate (3 + 4) * 2", "(3 + 4) * 2", "(3 + 4) * 2 = 14"),
        ("compute 1/3", "1/3", "1/3 = 0.333333333333"),
        ("= 6 * 7 =", "6 * 7", "6 * 7 = 42"),
        ("  what's   10 / 4 ?! ", "10 / 4", "10 / 4 = 2.5"),
        ("evaluate 2^8 please", "2**8", "2**8 = 256"),
        ("2 ** 996", "2 ** 996", "2 ** 996 = 6.69692879491e+299"),
    ],
)
def test_wrappers_are_stripped_and_the_text_reads_well(question: str, expression: str, text: str) -> None:
    result = calculate(question)
    assert (result.expression, result.text) == (expression, text)


@pytest.mark.parametrize(
    ("question", "value", "unit", "text"),
    [
        ("15% of 80", 12, None, "15 % of 80 = 12"),
        ("12 % of 250", 30, None, "12 % of 250 = 30"),
        ("what is 20 percent of 50", 10, None, "20 % of 50 = 10"),
        ("2.5 pct of 1,000", 25, None, "2.5 % of 1000 = 25"),
        ("10% of 50% of 200", 10, None, "10 % of 100 = 10"),
        ("80 + 15%", 92, None, "80 + 15% = 92"),
        ("200 - 10%", 180, None, "200 - 10% = 180"),
        ("80 * 15%", 12, None, "80 * 15% = 12"),
        ("50%", 0.5, None, "50% = 0.5"),
        ("50 is what percent of 200", 25, "%", "50 is 25 % of 200"),
        ("what percent of 200 is 50?", 25, "%", "50 is 25 % of 200"),
        ("1 is what % of 3", 100 / 3, "%", "1 is 33.3333333333 % of 3"),
        ("increase 40 by 25%", 50, None, "40 increased by 25 % = 50"),
        ("decrease 40 by 25 percent", 30, None, "40 decreased by 25 % = 30"),
        ("percent change from 40 to 50", 25, "%", "change from 40 to 50 = 25 %"),
        ("percentage change from 50 to 40", -20, "%", "change from 50 to 40 = -20 %"),
    ],
)
def test_percentages(question: str, value: float, unit: str | None, text: str) -> None:
    result = calculate(question)
    assert (result.value, result.unit, result.text) == (value, unit, text)


@pytest.mark.parametrize(
    ("question", "value", "unit", "text"),
    [
        ("5 km in miles", 3.10685596119, "mi", "5 km = 3.10686 mi"),
        ("100 F to C", 37.7777777778, "°C", "100 °F = 37.7778 °C"),
        ("100 °F in celsius", 37.7777777778, "°C", "100 °F = 37.7778 °C"),
        ("-40 F to C", -40, "°C", "-40 °F = -40 °C"),
        ("0 C to F", 32, "°F", "0 °C = 32 °F"),
        ("37 degrees celsius to fahrenheit", 98.6, "°F", "37 °C = 98.6 °F"),
        ("300 K to C", 26.85, "°C", "300 K = 26.85 °C"),
        ("3.5 GB in MB", 3500, "MB", "3.5 GB = 3500 MB"),
        ("1 GiB in MiB", 1024, "MiB", "1 GiB = 1024 MiB"),
        ("1 KB to bytes", 1000, "B", "1 kB = 1000 B"),
        ("2 hours in minutes", 120, "min", "2 h = 120 min"),
        ("1 lb to kg", 0.45359237, "kg", "1 lb = 0.453592 kg"),
        ("1,000 m to km", 1, "km", "1000 m = 1 km"),
        ("60 mph to km/h", 96.56064, "km / h", "60 mph = 96.5606 km / h"),
        ("how many ounces in 1 kg?", 35.2739619496, "oz", "1 kg = 35.274 oz"),
        ("convert 1e3 m into km", 1, "km", "1000 m = 1 km"),
        ("12 fl oz to ml", 354.88235475, "ml", "12 floz = 354.882 ml"),
    ],
)
def test_unit_conversion(question: str, value: float, unit: str, text: str) -> None:
    result = calculate(question)
    assert (result.value, result.unit, result.text) == (value, unit, text)


def test_result_is_a_frozen_record_of_the_normalised_expression() -> None:
    result = calculate("What is 20 percent of 50?")
    assert result == CalcResult("20% of 50", 10, None, "20 % of 50 = 10")
    with pytest.raises(AttributeError):
        result.value = 11  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("5 // 0.0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("50 is what percent of 0", "division by zero"),
        ("10 ** 10 ** 10", "the exponent 10000000000 is too large (the limit is 1000)"),
        ("2 ** 1001", "the exponent 1001 is too large"),
        ("9 ** 999", "the result of '9 ** 999' is too large"),
        ("2 ** 1000", "is too large"),
        ("10.0 ** 400", "the result of '10.0 ** 400' is too large"),
        ("1e400", "is too large"),
        ("exp(1000)", "is too large"),
        ("1e200 * 1e200", "is too large"),
        ("sqrt(-1)", "sqrt(-1) is undefined"),
        ("log(0)", "log(0) is undefined"),
        ("(-8) ** (1/3)", "(-8) ** 0.333333333333 is undefined"),
        ("round(1, 0.5)", "whole number of digits"),
        ("sqrt(1, 2)", "sqrt() takes 1 argument(s), got 2"),
        ("round()", "round() takes 1 to 2 argument(s), got 0"),
        ("x + 1", "unknown name 'x'; supported functions: abs, ceil, cos, exp, floor, ln, log, max, min, round"),
        ("foo(3)", "unknown function 'foo'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('echo hi')", "attribute access is not allowed"),
        ("().__class__", "attribute access is not allowed"),
        ("(1).real", "attribute access is not allowed"),
        ("lambda: 1", "a lambda is not allowed"),
        ("[x for x in (1, 2)]", "a comprehension is not allowed"),
        ("(x for x in (1, 2))", "a comprehension is not allowed"),
        ("[1, 2][0]", "indexing is not allowed"),
        ("1 < 2", "a comparison is not allowed"),
        ("1 and 2", "and/or is not allowed"),
        ("1 if 2 else 3", "if/else is not allowed"),
        ("(y := 3)", "an assignment is not allowed"),
        ("1, 2", "a comma or () outside a function call"),
        ("()", "a comma or () outside a function call"),
        ("1in 2", "a comparison is not allowed"),  # parsing warns "invalid decimal literal"; the warning is muted
        ("1e999999999 is what % of 5", "too large"),  # an exponent this big is never expanded into digits
        ("'a' * 3", "only numbers are allowed, not 'a'"),
        ("1j", "only numbers are allowed, not 1j"),
        ("True + 1", "only numbers are allowed, not True"),
        ("5 & 3", "the operator & is not allowed"),
        ("1 << 5", "the operator << is not allowed"),
        ("max(*[1, 2])", "unpacking is not allowed"),
        ("round(2.5, ndigits=1)", "round() takes no keyword arguments"),
        ("(2)(3)", "'2' is not allowed"),
        ("_pct()", "unknown function '_pct'"),
        ("import os", "cannot understand 'import os'"),
        ("1 +", "cannot understand '1 +'"),
        ("5 km", "cannot understand '5 km'"),
        ("2 in binary", "a comparison is not allowed"),
        ("", "the expression is empty"),
        ("  ? ", "the expression is empty"),
        ("1\x00", "cannot understand"),
        ("9" * 501, "the expression is too long (501 characters; the limit is 500)"),
        ("(" * 60 + "1" + ")" * 60, "nested too deeply"),
        ("+".join(["1"] * 201), "the expression is too long (more than 400 parts)"),
        ("5 km in kg", "cannot convert km (length) to kg (mass)"),
        ("5 GB to degrees", "cannot convert GB (data size) to degrees (dimensionless)"),
        ("5 km in parsecs per fortnight", "cannot convert km (length) to parsecs per fortnight (length / time)"),
        ("3 furlongs in blorps", "unknown unit 'blorps'"),
        ("3 km in m**", "unknown unit 'm**'"),
        ("3 km in __class__", "unknown unit '__class__'"),
        ("3 km in m; import os", "unknown unit 'm; import os'"),
        ("1 m^400 to mm^400", "is too large"),
    ],
)
def test_refusals_are_clear_errors(expression: str, message: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        calculate(expression)
    assert message in str(caught.value)
    assert isinstance(caught.value, DeskmateError)


def test_long_input_is_shortened_in_messages() -> None:
    with pytest.raises(ToolInputError) as caught:
        calculate("1 +" + " 1 +" * 100)
    shown = "1 + " * 14 + "1..."
    assert str(caught.value).startswith(f"cannot understand '{shown}';")


def test_sum_of_a_hundred_terms_is_within_the_limits() -> None:
    assert calculate("+".join(str(n) for n in range(1, 101))).value == 5050


def test_non_text_is_refused() -> None:
    with pytest.raises(ToolInputError, match="must be text"):
        calculate(42)  # type: ignore[arg-type]


def test_nothing_is_ever_evaluated_as_python(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must never run")

    monkeypatch.setattr("builtins.eval", forbidden)
    monkeypatch.setattr("builtins.exec", forbidden)
    assert calculate("2 * (3 + 4)").value == 14
    assert calculate("5 km in m").value == 5000


def test_one_unit_registry_per_process_even_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import pint

    created: list[object] = []
    real = pint.UnitRegistry

    def counting(*args: object, **kwargs: object) -> object:
        created.append(real())
        return created[-1]

    monkeypatch.setattr(pint, "UnitRegistry", counting)
    monkeypatch.setattr(calc, "_REGISTRY", None)
    results: list[float] = []
    threads = [threading.Thread(target=lambda: results.append(calculate("1 km in m").value)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1000] * 8
    assert len(created) == 1
    assert calc._registry() is created[0]
