"""Signatures drawn by patients on the clinic's tablet.

The pad (static/js/signature_pad.js) posts the drawing as a PNG data URL. Nothing of it is
trusted: the payload must decode as base64, be a real PNG (decoded by Pillow), stay within a
byte and pixel budget, and carry some ink, so that an empty pad or a stray tap does not count
as a signature. What is kept is a PNG re-encoded from the pixels alone.
"""

from __future__ import annotations

import base64
import binascii
import io

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

DATA_URL_PREFIX = "data:image/png;base64,"
SIGNATURE_MAX_BYTES = 256 * 1024
SIGNATURE_MAX_WIDTH = 2000
SIGNATURE_MAX_HEIGHT = 1000
# An opaque, dark pixel is ink. A short deliberate stroke on the pad leaves a few hundred;
# an empty pad none, a single tap a handful.
MIN_INK_PIXELS = 150
INK_MAX_LUMINANCE = 160
INK_MIN_ALPHA = 128

MISSING = "Draw the signature on the pad: it is required."
NOT_A_PNG = "The signature could not be read: clear the pad and sign again."


def signature_from_data_url(text: str) -> bytes:
    """The PNG bytes of a data URL posted by the pad, unchecked beyond the encoding."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(MISSING)
    if not text.startswith(DATA_URL_PREFIX):
        raise ValidationError(NOT_A_PNG)
    encoded = text[len(DATA_URL_PREFIX) :]
    if len(encoded) > (SIGNATURE_MAX_BYTES * 4) // 3 + 4:
        raise ValidationError("The signature is too large: clear the pad and sign again.")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(NOT_A_PNG) from None


def signature_clean_png(payload: bytes) -> bytes:
    """A checked signature re-encoded as a PNG with an alpha channel and no metadata."""
    if len(payload) > SIGNATURE_MAX_BYTES:
        raise ValidationError("The signature is too large: clear the pad and sign again.")
    try:
        with Image.open(io.BytesIO(payload)) as probe:
            image_format = probe.format
            width, height = probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(NOT_A_PNG) from None
    if image_format != "PNG":
        raise ValidationError(NOT_A_PNG)
    if width > SIGNATURE_MAX_WIDTH or height > SIGNATURE_MAX_HEIGHT or width < 1 or height < 1:
        raise ValidationError("The signature image has an unexpected size: clear the pad and sign again.")
    try:
        with Image.open(io.BytesIO(payload)) as image:
            rgba = image.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ValidationError(NOT_A_PNG) from None
    if _ink_pixels(rgba) < MIN_INK_PIXELS:
        raise ValidationError("The pad is (almost) empty: the patient signs with a finger, a stylus or the mouse.")
    clean = Image.new("RGBA", rgba.size)
    clean.paste(rgba)
    output = io.BytesIO()
    clean.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _ink_pixels(image: Image.Image) -> int:
    # Luminance and alpha as two single-band masks; ink is where both pass.
    dark = image.convert("L").point(lambda value: 255 if value <= INK_MAX_LUMINANCE else 0)
    opaque = image.getchannel("A").point(lambda value: 255 if value >= INK_MIN_ALPHA else 0)
    ink = Image.new("L", image.size)
    ink.paste(dark, mask=opaque)
    return ink.histogram()[255]
