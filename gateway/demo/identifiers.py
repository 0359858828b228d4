"""German KVNR health insurance numbers: the identifier system and the check digit."""

from __future__ import annotations

import re

KVNR_SYSTEM = "http://fhir.de/sid/gkv/kvid-10"
_KVNR = re.compile(r"[A-Z][0-9]{8}")


def kvnr_check_digit(body: str) -> str:
    """The check digit of a KVNR's first nine characters (a letter and eight digits).

    :raises ValueError: ``body`` is not a capital letter followed by eight digits.
    """
    if not _KVNR.fullmatch(body):
        raise ValueError(f"not a KVNR body: {body!r}")
    digits = f"{ord(body[0]) - ord('A') + 1:02d}{body[1:]}"
    total = 0
    for index, char in enumerate(digits):
        product = int(char) * (1 + index % 2)
        total += product - 9 if product > 9 else product
    return str(total % 10)
