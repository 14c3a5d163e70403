"""The malformed values the fuzz tests send: a fixed list that is always tried (the kinds of
input issue 18 named) and hypothesis strategies for more of the same kinds.

A value is bytes, as it travels in a query string or a form body: that is the only way to send
invalid UTF-8 or a lone surrogate, which a str cannot carry through the test client.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Value:
    raw: bytes

    @classmethod
    def of(cls, text: str) -> Value:
        return cls(text.encode("utf-8", "surrogatepass"))

    def __repr__(self) -> str:
        shown = repr(self.raw.decode("utf-8", "backslashreplace")) if self.is_utf8 else repr(self.raw)
        return shown if len(shown) <= 48 else f"{shown[:40]}…({len(self.raw)} bytes)"

    @property
    def is_utf8(self) -> bool:
        try:
            self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    @property
    def is_digits(self) -> bool:
        return self.raw.isdigit()


# Each kind once: what a person, a browser or a script may send in any field.
TEXT = [
    Value.of(""),
    Value.of("   "),
    Value.of("\t\r\n"),
    Value.of("x" * 100_000),
    Value.of("a\x00b"),
    Value.of("\x1b[31m\x07\x7f\x85"),
    Value.of("\u202e\u200b\ufeff"),
    Value.of("😀" * 3),
    Value(b"\xff\xfe"),  # invalid UTF-8
    Value(b"\xed\xa0\x80"),  # a lone surrogate, as UTF-8 bytes
    Value.of("<script>x</script>'\"%"),
]
NUMBERS = [
    Value.of("1e309"),
    Value.of("-1e309"),
    Value.of("NaN"),
    Value.of(str(2**63)),
    Value.of(str(-(2**63) - 1)),
    Value.of(str(2**31)),
    Value.of("-1"),
    Value.of("0"),
    Value.of("1.5"),
    Value.of("9" * 5000),  # past Python's int() digit limit
]
DATES = [
    Value.of("0001-01-01"),
    Value.of("9999-12-31"),
    Value.of("2026-02-30"),
    Value.of("99999-01-01"),
    Value.of("0000-00-00"),
    Value.of("9999-12-31T23:59"),
    Value.of("0001-01-01T00:00"),
    Value.of("2030-03-31T01:30"),  # skipped: London's clocks go forward at 01:00 that day
    Value.of("2030-10-27T01:30"),  # happens twice: London's clocks go back at 02:00
    Value.of("25:61"),
]
NASTY = TEXT + NUMBERS + DATES
# For an id in a path (int converter): the values that match [0-9]+ and so reach the view.
PATH_IDS = [
    Value.of("0"),
    Value.of(str(2**31)),
    Value.of(str(2**63)),
    Value.of("9" * 30),
    Value.of("9" * 100_000),
]
# A shorter list for the answers that should not depend on the value at all (refused roles).
FEW = [Value.of(""), Value.of("a\x00b"), Value(b"\xff\xfe"), Value.of(str(2**63)), Value.of("9999-12-31")]

_any_character = st.characters(exclude_categories=())  # control characters and surrogates too
_weird_numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
_weird_dates = st.one_of(
    st.dates(min_value=datetime.date(1, 1, 1)).map(datetime.date.isoformat),
    st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")),
    st.tuples(st.integers(0, 99999), st.integers(0, 13), st.integers(0, 32)).map(
        lambda ymd: "{:04d}-{:02d}-{:02d}".format(*ymd)
    ),
)
MALFORMED = st.one_of(
    st.text(_any_character, max_size=30).map(Value.of),
    _weird_numbers.map(Value.of),
    _weird_dates.map(Value.of),
    st.binary(min_size=1, max_size=8).map(Value),
)
