"""QR codes drawn here, as inline SVG: the enrolment secret never leaves the clinic's server."""

from __future__ import annotations

import re

import qrcode
from django.utils.html import escape
from qrcode.image.svg import SvgPathImage


def qr_svg(data: str, *, label: str) -> str:
    image = qrcode.make(data, image_factory=SvgPathImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    # Sized by CSS (class qr-code), named for screen readers.
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', "<svg", svg, count=1)
    return svg.replace("<svg", f'<svg class="qr-code" role="img" aria-label="{escape(label)}"', 1)
