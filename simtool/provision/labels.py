"""The label sheet: ``printer/labels.html``, one sticker per card on stock A4 label sheets.

Every label sits at an absolute millimetre position of its sheet, computed from the sheet's
layout (the label maker's published geometry), and every sheet is one CSS page of exactly the
paper's size with no page margin (``@page { size: 210mm 297mm; margin: 0 }``): a browser
prints it at 100 %, the same grid on every page, with nothing (no heading) that could move it.

What a label carries (Milo's leaflet, "Panel klienta"): the operator, the Code 128 barcode of
the printed number, the number itself grouped with its last 10 digits — the panel password —
set apart, the panel's login (the number as 48XXXXXXXXX) and the web address "given on the SIM
holder", and the ICCID.  The password and login lines appear only for profiles that derive the
panel password.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simtool.provision.credentials import PASSWORD_DIGITS
from simtool.provision.exports import QUIET_MODULES, code128_modules

if TYPE_CHECKING:
    from simtool.provision.batchdir import CardRecord
    from simtool.provision.profile import Profile


@dataclass(frozen=True)
class SheetLayout:
    """A stock label sheet, in millimetres from the paper's top-left corner."""

    name: str
    description: str
    columns: int
    rows: int
    label_width: float
    label_height: float
    top: float  # top edge of the first row
    left: float  # left edge of the first column
    pitch_x: float  # from one column's left edge to the next one's
    pitch_y: float
    page_width: float = 210.0
    page_height: float = 297.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def position(self, slot: int) -> tuple[float, float]:
        """(left, top) of label ``slot`` (0-based, row by row) on its page."""
        row, col = divmod(slot % self.per_page, self.columns)
        return self.left + col * self.pitch_x, self.top + row * self.pitch_y


# Geometry as the makers publish it for these A4 formats (Avery L7160 / L7159 / L7163 and their
# equivalents from other makers); the margins and pitches add up to 210 × 297 mm exactly.
SHEETS: dict[str, SheetLayout] = {s.name: s for s in (
    SheetLayout("a4-3x7", "A4, 3 × 7 labels of 63.5 × 38.1 mm (Avery L7160)",
                3, 7, 63.5, 38.1, top=15.15, left=7.21, pitch_x=66.04, pitch_y=38.1),
    SheetLayout("a4-3x8", "A4, 3 × 8 labels of 63.5 × 33.9 mm (Avery L7159)",
                3, 8, 63.5, 33.9, top=12.9, left=7.21, pitch_x=66.04, pitch_y=33.9),
    SheetLayout("a4-2x7", "A4, 2 × 7 labels of 99.1 × 38.1 mm (Avery L7163)",
                2, 7, 99.1, 38.1, top=15.15, left=4.65, pitch_x=101.6, pitch_y=38.1),
)}
DEFAULT_SHEET = "a4-3x7"

MAX_MODULE_MM = 0.33  # Code 128 X dimension, at most (wider than the SVG's 0.25 mm: scans well)
PADDING_MM = 2.0


def group_digits(digits: str, size: int) -> str:
    return " ".join(digits[i:i + size] for i in range(0, len(digits), size))


def printed_number_parts(number: str, *, password: bool) -> tuple[str, str]:
    """The printed number for reading: (leading digits in groups of 4, password in groups
    of 5) when its last 10 digits are the panel password, else (all in groups of 4, "")."""
    if not password or len(number) <= PASSWORD_DIGITS:
        return group_digits(number, 4), ""
    return (group_digits(number[:-PASSWORD_DIGITS], 4),
            group_digits(number[-PASSWORD_DIGITS:], 5))


def web_address(url: str) -> str:
    """The address as printed: no scheme, no trailing slash (www.milotelecom.pl)."""
    for scheme in ("https://", "http://"):
        if url.lower().startswith(scheme):
            url = url[len(scheme):]
    return url.rstrip("/")


_CSS = """
@page {{ size: {pw}mm {ph}mm; margin: 0; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #000;
        -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.sheet {{ position: relative; width: {pw}mm; height: {ph}mm; overflow: hidden; }}
.sheet + .sheet {{ break-before: page; }}
.label {{ position: absolute; width: {lw}mm; height: {lh}mm; box-sizing: border-box;
          padding: {pad}mm; overflow: hidden; text-align: center; line-height: 1.15; }}
.border .label {{ outline: 0.1mm dashed #999; outline-offset: -0.05mm; }}
.label img {{ display: block; margin: 0.6mm auto 1mm; height: 10mm; }}
.operator, .iccid {{ font-size: 5.5pt; }}
.number {{ font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 8pt;
           white-space: nowrap; }}
.password {{ font-weight: bold; margin-left: 2.5mm; padding: 0 0.6mm;
             border: 0.15mm solid #000; }}
.login {{ font-size: 6pt; white-space: nowrap; }}
"""


class LabelSheet:
    """Writes ``labels.html`` piece by piece: :meth:`head`, one :meth:`label` per card in batch
    order (a new page every ``layout.per_page`` labels), :meth:`tail`."""

    def __init__(self, profile: Profile, *, batch_id: str, count: int,
                 layout: SheetLayout | None = None, border: bool | None = None) -> None:
        from simtool.provision.profile import CredentialKind

        self.layout = layout or SHEETS[profile.label_sheet]
        self.border = profile.label_border if border is None else border
        self.operator = profile.operator
        self.password = CredentialKind.PANEL_PASSWORD in profile.credentials
        web = profile.label_web or (web_address(profile.panel_url) if profile.panel_url else None)
        self.web = web if self.password or profile.label_web else None
        self.batch_id = batch_id
        self.count = count
        self._n = 0

    def head(self) -> str:
        lay = self.layout
        title = html.escape(f"{self.operator} — batch {self.batch_id} — {self.count} labels "
                            f"({lay.description})")
        css = _CSS.format(pw=f"{lay.page_width:g}", ph=f"{lay.page_height:g}",
                          lw=f"{lay.label_width:g}", lh=f"{lay.label_height:g}",
                          pad=f"{PADDING_MM:g}")
        cls = ' class="border"' if self.border else ""
        return (f'<!DOCTYPE html>\n<html lang="pl"><head><meta charset="utf-8">'
                f"<title>{title}</title>\n<style>{css}</style></head>\n<body{cls}>\n")

    def label(self, rec: CardRecord, *, symbol: str | None = None) -> str:
        """``symbol``: the barcode's module string when the caller has it already (its width
        sizes the image; encoding it again would double the batch's barcode work)."""
        lay = self.layout
        out = []
        if self._n % lay.per_page == 0:
            if self._n:
                out.append("</section>\n")
            out.append(f'<section class="sheet" data-page="{self._n // lay.per_page + 1}">\n')
        left, top = lay.position(self._n)
        self._n += 1
        number = rec.barcode.reveal()
        modules = len(symbol or code128_modules(number)) + 2 * QUIET_MODULES
        module_mm = min(MAX_MODULE_MM, (lay.label_width - 2 * PADDING_MM) / modules)
        head, password = printed_number_parts(number, password=self.password)
        text = html.escape(head) + (f'<span class="password">{html.escape(password)}</span>'
                                    if password else "")
        out.append(
            f'<div class="label" style="left:{left:.2f}mm;top:{top:.2f}mm">'
            f'<div class="operator">{html.escape(self.operator)}</div>'
            f'<img src="barcodes/{rec.iccid}.svg" alt="{html.escape(number)}" '
            f'style="width:{modules * module_mm:.2f}mm">'
            f'<div class="number">{text}</div>')
        if self.password:
            out.append(f'<div class="login">Login: {html.escape(rec.panel_login)} · '
                       "Hasło: 10 ostatnich cyfr (w ramce)</div>")
        if self.web:
            out.append(f'<div class="login">Panel klienta: {html.escape(self.web)}</div>')
        out.append(f'<div class="iccid">ICCID {rec.iccid}</div></div>\n')
        return "".join(out)

    def tail(self) -> str:
        return ("</section>\n" if self._n else "") + "</body></html>\n"
