"""Export formats of a batch: pySim CSV, HSS imports, panel import, printer files.

Every function here is pure (records in, text out); :mod:`simtool.provision.generate` decides
where the text goes and which files are encrypted.

* ``pysim.csv`` — the columns pySim-prog's ``--source csv`` reads (sim-facts §10.2; the pySim
  ``csv-format`` description): name, iccid, mcc, mnc, imsi, ki, opc, acc, pin_adm / pin_adm_hex,
  msisdn.  Column names are lower case, order free, a header line names them.
* ``osmo-hlr.vty`` — OsmoHLR VTY commands (``subscriber imsi X create``, ``... update msisdn N``,
  ``... update aud3g milenage k K opc OPC``), after ``enable``.
* ``open5gs-dbctl.sh`` — one ``open5gs-dbctl add IMSI K OPC`` per subscriber.
* ``panel.csv`` / ``panel.json`` — logins, ICCIDs, accounts and Argon2id hashes only.
* ``printer/cards.csv``, ``printer/barcodes/<ICCID>.svg``, ``printer/labels.html``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from barcode import Code128

from simtool.pin import AdmFormat
from simtool.provision.batchdir import CardRecord
from simtool.provision.credentials import Scope
from simtool.provision.profile import CredentialKind, Profile

# --- pySim-prog CSV ------------------------------------------------------------------------------


def pysim_columns(profile: Profile) -> list[str]:
    """The header for this profile's batch.

    A hex ADM1 goes in ``pin_adm_hex`` with an empty ``pin_adm`` beside it: pySim-prog reads
    ``pin_adm`` first and only then overrides it with a 16-digit ``pin_adm_hex``.  ``name``
    (pySim writes it to EF.SPN on some cards) is given only when the SPN is plain ASCII.
    """
    cols = ["iccid", "mcc", "mnc", "imsi", "ki", "opc", "acc", "pin_adm"]
    if profile.adm_format is AdmFormat.HEX16:
        cols.append("pin_adm_hex")
    cols.append("msisdn")
    if profile.spn.isascii():
        cols.insert(0, "name")
    return cols


class PysimCsv:
    """Writes pySim-prog CSV rows to a text stream opened with ``newline=""``."""

    def __init__(self, fh: io.TextIOBase, profile: Profile) -> None:
        self.profile = profile
        self.columns = pysim_columns(profile)
        self._writer = csv.DictWriter(fh, fieldnames=self.columns, lineterminator="\n")
        self._writer.writeheader()

    def row(self, rec: CardRecord) -> dict[str, str]:
        adm = rec.adm1.reveal()
        hex_adm = self.profile.adm_format is AdmFormat.HEX16
        row = {
            "name": self.profile.spn, "iccid": rec.iccid, "mcc": self.profile.mcc,
            "mnc": self.profile.mnc, "imsi": rec.imsi, "ki": rec.ki.reveal().hex().upper(),
            "opc": rec.opc.reveal().hex().upper(), "acc": f"{rec.acc:04x}",
            "pin_adm": "" if hex_adm else adm, "pin_adm_hex": adm if hex_adm else "",
            "msisdn": "+" + rec.msisdn,
        }
        return {k: row[k] for k in self.columns}

    def write(self, rec: CardRecord) -> None:
        self._writer.writerow(self.row(rec))


# --- HSS imports ---------------------------------------------------------------------------------


def osmo_hlr_header(batch_id: str, count: int) -> str:
    return (f"! simtool batch {batch_id}: {count} subscribers, OsmoHLR VTY (telnet port 4258)\n"
            "enable\n")


def osmo_hlr_lines(rec: CardRecord) -> str:
    """OsmoHLR VTY: create the subscriber, set its MSISDN and its Milenage K/OPc."""
    return (f"subscriber imsi {rec.imsi} create\n"
            f"subscriber imsi {rec.imsi} update msisdn {rec.msisdn}\n"
            f"subscriber imsi {rec.imsi} update aud3g milenage k {rec.ki.reveal().hex()} "
            f"opc {rec.opc.reveal().hex()}\n")


def open5gs_header(batch_id: str, count: int) -> str:
    return ("#!/bin/sh\n"
            f"# simtool batch {batch_id}: {count} subscribers for Open5GS\n"
            "# open5gs-dbctl add {imsi key opc}; MSISDNs are in the batch records\n"
            "set -e\n")


def open5gs_line(rec: CardRecord) -> str:
    return (f"open5gs-dbctl add {rec.imsi} {rec.ki.reveal().hex().upper()} "
            f"{rec.opc.reveal().hex().upper()}\n")


# --- panel import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelEntry:
    """One hashed credential: for a number (login/ICCID set) or for an account."""

    kind: CredentialKind
    scope: Scope
    account: str
    login: str | None
    iccid: str | None
    must_change: bool
    read_only: bool


def panel_entries(rec: CardRecord, new_account: bool) -> list[tuple[PanelEntry, int]]:
    """The entries of one card, with the index of the credential in ``rec.credentials``;
    account-wide credentials only for the first card of their account."""
    out = []
    for i, c in enumerate(rec.credentials):
        if c.scope is Scope.ACCOUNT:
            if new_account:
                out.append((PanelEntry(c.kind, c.scope, rec.account, None, None,
                                       c.must_change, c.read_only), i))
        else:
            out.append((PanelEntry(c.kind, c.scope, rec.account, rec.panel_login, rec.iccid,
                                   c.must_change, c.read_only), i))
    return out


PANEL_CSV_COLUMNS = ["login", "iccid", "account", "credential", "scope", "must_change",
                     "read_only", "hash"]


def panel_csv(entries: Sequence[PanelEntry], hashes: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PANEL_CSV_COLUMNS)
    for e, h in zip(entries, hashes, strict=True):
        writer.writerow([e.login or "", e.iccid or "", e.account, e.kind.value, e.scope.value,
                         int(e.must_change), int(e.read_only), h])
    return buf.getvalue()


def panel_json(entries: Sequence[PanelEntry], hashes: Sequence[str], *, batch_id: str,
               profile: Profile, subscribers: Iterable[tuple[str, str, str]],
               hash_params: dict[str, int | str]) -> str:
    """``subscribers``: (login, ICCID, account) of every card, in batch order."""
    accounts: dict[str, dict] = {}
    subs: dict[str, dict] = {}
    for login, iccid, account in subscribers:
        accounts.setdefault(account, {"account": account, "logins": [], "credentials": []})
        accounts[account]["logins"].append(login)
        subs[iccid] = {"login": login, "msisdn": "+" + login, "iccid": iccid,
                       "account": account, "credentials": []}
    for e, h in zip(entries, hashes, strict=True):
        item = {"kind": e.kind.value, "hash": h, "must_change": e.must_change,
                "read_only": e.read_only}
        if e.scope is Scope.ACCOUNT:
            accounts[e.account]["credentials"].append(item)
        else:
            subs[e.iccid]["credentials"].append(item)  # type: ignore[index]
    doc = {"format": "simtool-panel-import-1", "batch_id": batch_id, "operator": profile.operator,
           "profile": profile.name, "panel_url": profile.panel_url, "hash": hash_params,
           "accounts": list(accounts.values()), "subscribers": list(subs.values())}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


# --- printer -------------------------------------------------------------------------------------

PRINTER_CSV_COLUMNS = ["iccid", "msisdn", "barcode", "pin1", "puk1"]


def printer_header() -> str:
    return ",".join(PRINTER_CSV_COLUMNS) + "\n"


def printer_line(rec: CardRecord) -> str:
    """One carrier-letter row: all fields are digits, so no CSV quoting is needed."""
    return (f"{rec.iccid},+{rec.msisdn},{rec.barcode.reveal()},{rec.pin1.reveal()},"
            f"{rec.puk1.reveal()}\n")


def code128_modules(number: str) -> str:
    """The Code 128 symbol (start, data, check, stop) as a string of 1 (bar) / 0 (space)
    modules, encoded by python-barcode (it picks code set C for digit pairs)."""
    return Code128(number).build()[0]


MODULE_MM = 0.25  # X dimension
QUIET_MODULES = 10  # Code 128 needs a quiet zone of at least 10 X on each side
BAR_HEIGHT_MM = 12.0
_BARS = re.compile("1+")


def barcode_svg(number: str) -> str:
    """A standalone SVG of the Code 128 barcode for ``number``: one path, one unit per module.

    python-barcode's own SVGWriter takes about 1.6 ms per symbol (one ``rect`` element per
    bar, built as a DOM); this writer emits the same bars as a single path in ~0.05 ms, which
    keeps a 100,000-card batch within its time budget.
    """
    modules = code128_modules(number)
    width = len(modules) + 2 * QUIET_MODULES
    parts = []
    for m in _BARS.finditer(modules):
        start, end = m.span()
        parts.append(f"M{start + QUIET_MODULES} 0h{end - start}v1h-{end - start}z")
    path = "".join(parts)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * MODULE_MM:.2f}mm" '
            f'height="{BAR_HEIGHT_MM:.2f}mm" viewBox="0 0 {width} 1" '
            'preserveAspectRatio="none" shape-rendering="crispEdges">'
            f'<title>{html.escape(number)}</title>'
            f'<rect width="{width}" height="1" fill="#fff"/>'
            f'<path fill="#000" d="{path}"/></svg>\n')


def svg_modules(svg: str) -> str:
    """The module string of an SVG written by :func:`barcode_svg` (for tests and checks)."""
    width = int(re.search(r'viewBox="0 0 (\d+) 1"', svg).group(1))  # type: ignore[union-attr]
    cells = ["0"] * width
    for x, w in re.findall(r"M(\d+) 0h(\d+)", svg):
        for k in range(int(x), int(x) + int(w)):
            cells[k] = "1"
    return "".join(cells)[QUIET_MODULES:width - QUIET_MODULES]


LABELS_HEAD = """<!DOCTYPE html>
<html lang="pl"><head><meta charset="utf-8"><title>{title}</title>
<style>
@page {{ size: A4; margin: 10mm; }}
body {{ font-family: sans-serif; margin: 0; }}
.sheet {{ display: grid; grid-template-columns: repeat(3, 63mm); gap: 2mm; }}
.label {{ width: 63mm; height: 29mm; box-sizing: border-box; padding: 1.5mm; overflow: hidden;
          break-inside: avoid; border: 0.1mm dashed #bbb; text-align: center; }}
.label img {{ width: 58mm; height: 12mm; }}
.number {{ font-family: monospace; font-size: 8.5pt; letter-spacing: 0.3pt; }}
.small {{ font-size: 6pt; color: #333; }}
</style></head><body>
<h1 class="small">{title}</h1>
<div class="sheet">
"""


def labels_head(operator: str, batch_id: str, count: int) -> str:
    title = html.escape(f"{operator} — batch {batch_id} — {count} labels")
    return LABELS_HEAD.format(title=title)


def label_html(rec: CardRecord, operator: str) -> str:
    number = html.escape(rec.barcode.reveal())
    return (f'<div class="label"><div class="small">{html.escape(operator)}</div>'
            f'<img src="barcodes/{rec.iccid}.svg" alt="{number}">'
            f'<div class="number">{number}</div>'
            f'<div class="small">ICCID {rec.iccid}</div></div>\n')


LABELS_TAIL = "</div>\n</body></html>\n"
