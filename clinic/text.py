"""What a text box accepts, the same on every form of the clinic (clinic.forms.TextRulesMixin
applies it to every CharField, the admin's forms included).

Lengths are what a person writes, not what the database could hold:

- ``NAME_MAX`` (100): a first or last name, a product, a room (the models' own lengths are used
  where they are set; patients' names are 100).
- ``REASON_MAX`` (1,000): a reason (for cancelling, for going ahead despite a safety finding,
  for withdrawing a consent), and any one-line box without a length of its own: a few
  sentences.
- ``NOTE_MAX`` (20,000): free clinical text (notes, findings, addenda): about eight pages.

Characters refused, with a message that names the character:

- NUL and the other control characters (C0, DEL, C1): they come from pasting out of other
  programs or from a machine, never from a person typing, and they break exports, emails and
  PostgreSQL (NUL). Multi-line boxes keep tab, line feed and carriage return.
- In one-line boxes: line breaks (LF, CR, U+2028, U+2029) and tabs.
- U+FFFD, the replacement character: the browser or server met bytes it could not read as
  UTF-8, so the text is already damaged; the person should retype it.
- Lone surrogates and Unicode noncharacters (U+FDD0-U+FDEF, U+xFFFE/U+xFFFF).
- The bidirectional overrides U+202D and U+202E, which display text reversed (a name that
  reads differently from how it is stored).

Emoji, accents, every script, zero-width joiners inside words or emoji and the left-to-right
and right-to-left marks are kept.

Text made only of spaces and invisible characters (zero-width space, joiners, byte-order mark,
Hangul fillers, the braille blank...) counts as empty, so a required box is still required;
invisible characters at either end are trimmed like spaces.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible

NAME_MAX = 100
REASON_MAX = 1_000
NOTE_MAX = 20_000
# A one-line box that declares no length of its own.
LINE_MAX = REASON_MAX

MULTILINE_ALLOWED = frozenset("\t\n\r\u2028\u2029")
LINE_BREAKS = frozenset("\t\n\r\u2028\u2029")
BIDI_OVERRIDES = frozenset("\u202d\u202e")
REPLACEMENT_CHARACTER = "\ufffd"
# Shown as nothing although Unicode does not class them as spaces or format characters.
INVISIBLE_FILLERS = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0\u180e")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = {"\x00": "NUL", "\x1b": "ESCAPE", "\x7f": "DELETE"}.get(char, "control character")
    code = f"U+{ord(char):04X}"
    return f"{code} {name}" if name else code


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why ``value`` is refused, in a sentence for the person who typed it; None when it is fine."""
    for char in value:
        if char in LINE_BREAKS:
            if multiline:
                continue
            what = "a tab" if char == "\t" else "a line break"
            return f"This box takes one line: remove {what} from the text."
        category = unicodedata.category(char)
        if char == "\x00":
            return "The text holds a NUL character (U+0000), which is not allowed: retype it, please."
        if category == "Cc":
            return (
                f"The text holds an invisible control character ({_describe(char)}), perhaps from copying "
                "and pasting: retype it, please."
            )
        if char == REPLACEMENT_CHARACTER:
            return (
                "The text holds the replacement character \ufffd (U+FFFD): part of it could not be read, "
                "perhaps pasted from a file in another encoding. Retype it, please."
            )
        if category == "Cs" or _is_noncharacter(ord(char)):
            return f"The text holds a broken or reserved character ({_describe(char)}): retype it, please."
        if char in BIDI_OVERRIDES:
            return f"The text holds a direction override ({_describe(char)}) that shows it reversed: retype it, please."
    return None


def _is_blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf" or char in INVISIBLE_FILLERS


def _is_trimmable(char: str) -> bool:
    # Tag characters end some emoji flags (England, Scotland): never cut from the end.
    return _is_blank(char) and not 0xE0000 <= ord(char) <= 0xE007F


def normalize_text(value: str, *, strip: bool = True) -> str:
    """Text of only spaces and invisible characters becomes ""; with ``strip``, invisible
    characters at either end are trimmed like spaces."""
    if all(_is_blank(char) for char in value):
        return ""
    if not strip:
        return value
    start, end = 0, len(value)
    while _is_trimmable(value[start]):
        start += 1
    while _is_trimmable(value[end - 1]):
        end -= 1
    return value[start:end]


@deconstructible
class TextValidator:
    """Refuses the characters listed in this module's docstring."""

    code = "text_characters"

    def __init__(self, *, multiline: bool):
        self.multiline = multiline

    def __call__(self, value) -> None:
        if not isinstance(value, str):
            return
        problem = text_problem(value, multiline=self.multiline)
        if problem:
            raise ValidationError(problem, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, TextValidator) and other.multiline == self.multiline


class TextMaxLengthValidator(MaxLengthValidator):
    """Django's length check, skipping values a CharField subclass turned into something else."""

    message = "Keep this under %(limit_value)d characters (it has %(show_value)d)."

    def __call__(self, value) -> None:
        if isinstance(value, str):
            super().__call__(value)
