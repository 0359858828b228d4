"""Check digits: numbers made by each algorithm pass; changing one digit fails."""

from __future__ import annotations

from datetime import date as Date

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import luhn

from gateway.profiles.identifiers import check_with, kvnr_check_digit

BOUNDED = settings(max_examples=200, deadline=None)
letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def _kvnr(letter: str, body: str) -> str:
    return f"{letter}{body}{kvnr_check_digit(letter + body)}"


@BOUNDED
@given(letter=letters, body=st.from_regex(r"\A[0-9]{8}\Z"), where=st.integers(1, 9), new=digits)
def test_a_kvnr_passes_with_its_check_digit_and_fails_with_a_digit_changed(
    letter: str, body: str, where: int, new: str
) -> None:
    number = _kvnr(letter, body)
    assert check_with("de-kvnr-gkv", number).valid
    changed = number[:where] + new + number[where + 1 :]
    assume(changed != number)
    # Weights 1 and 2 with cross sums map each digit 0..9 to a different value mod 10, so
    # any single changed digit changes the sum.
    assert not check_with("de-kvnr-gkv", changed).valid


@BOUNDED
@given(body=st.from_regex(r"\A[0-9]{7}\Z"), where=st.integers(0, 7), new=digits)
def test_a_pzn_passes_with_its_check_digit_and_fails_with_a_digit_changed(
    body: str, where: int, new: str
) -> None:
    remainder = sum(i * int(d) for i, d in enumerate(body, start=1)) % 11
    assume(remainder != 10)  # such numbers are never issued
    number = body + str(remainder)
    assert check_with("de-pzn", number).valid
    changed = number[:where] + new + number[where + 1 :]
    assume(changed != number)
    assert not check_with("de-pzn", changed).valid


@BOUNDED
@given(
    date=st.dates(min_value=Date(1950, 1, 1)),
    serial=st.from_regex(r"\A[0-9]{3}\Z"),
    where=st.sampled_from([0, 1, 2, 3, 4, 5, 7, 8, 9, 10]),
    new=digits,
)
def test_a_personnummer_passes_with_its_luhn_digit_and_fails_with_a_digit_changed(
    date: Date, serial: str, where: int, new: str
) -> None:
    digits9 = f"{date:%y%m%d}{serial}"
    number = f"{date:%y%m%d}-{serial}{luhn.calc_check_digit(digits9)}"
    assert check_with("se-personnummer", number).valid, number
    changed = number[:where] + new + number[where + 1 :]
    assume(changed != number)
    assert not check_with("se-personnummer", changed).valid
