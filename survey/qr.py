"""QR codes for entry links (qrcode library): PNG for the ZIP, SVG for print."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # qrcode (and Pillow with it) is imported when a code is drawn, not with the pages
    import qrcode


def _qr(url: str) -> qrcode.QRCode:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    # Level M survives a crease or a smudge on a poster taped to a gate.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def png(url: str, box_size: int = 10) -> bytes:
    qr = _qr(url)
    qr.box_size = box_size
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return buf.getvalue()


def svg(url: str) -> str:
    """A standalone SVG document (path-based, scales crisply when printed)."""
    import qrcode.image.svg

    img = _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return img.to_string(encoding="unicode")


def svg_inline(url: str) -> str:
    """The SVG element without the XML declaration, for embedding in HTML."""
    text = svg(url)
    return text[text.index("<svg"):]
