"""Export formats of a batch: pySim CSV, HSS imports, panel import, printer files.

Every function here is pure (records in, text out); :mod:`simtool.provision.generate` decides
where the text goes and which files are encrypted.

* ``pysim.csv`` — the columns pySim-prog's ``--source csv`` reads (sim-facts §10.2; the pySim
  ``csv-format`` description): name, iccid, mcc, mnc, imsi, ki, opc, acc, pin_adm / pin_adm_hex
  (the card's *current* ADM1), msisdn.  Column names are lower case, order free, a header line
  names them.
* ``osmo-hlr.vty`` — OsmoHLR VTY commands (``subscriber imsi X create``, ``... update msisdn N``,
  ``... update aud3g milenage k K opc OPC``), after ``enable``; loaded without resetting SQNs
  by :mod:`simtool.provision.osmo_hlr`.
* ``open5gs-subscribers.js`` — a mongosh script: update-or-insert per IMSI of Open5GS's
  subscriber document (K, OPc, MSISDN).
* ``panel.csv`` / ``panel.json`` — logins, ICCIDs, accounts and Argon2id hashes only.
* ``printer/cards.csv``, ``printer/barcodes/<ICCID>.svg``; ``printer/labels.html`` is
  :mod:`simtool.provision.labels`.
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

from simtool.errors import DataError
from simtool.pin import AdmFormat, encode_adm
from simtool.provision.batchdir import CardRecord
from simtool.provision.credentials import Scope
from simtool.provision.profile import CredentialKind, Profile
from simtool.secret import Secret

# --- pySim-prog CSV ------------------------------------------------------------------------------


def pysim_columns(profile: Profile, *, hex_adm: bool = False) -> list[str]:
    """The header for this profile's batch.

    ``pin_adm`` holds a decimal ADM1; a hex one goes in ``pin_adm_hex`` with ``pin_adm`` empty
    beside it (pySim-prog reads ``pin_adm`` first and then overrides it with a 16-digit
    ``pin_adm_hex``).  ``pin_adm_hex`` is there when the profile's ADM1 format is hex or a
    vendor key is (``hex_adm``).  ``name`` (pySim writes it to EF.SPN) is given only when the
    SPN is plain ASCII.  A profile with an IMS domain adds ``ims_hdomain``, ``impi`` and
    ``impu`` (pySim-prog writes them into the ISIM).
    """
    cols = ["iccid", "mcc", "mnc", "imsi", "ki", "opc", "acc", "pin_adm"]
    if hex_adm or profile.adm_format is AdmFormat.HEX16:
        cols.append("pin_adm_hex")
    cols.append("msisdn")
    if profile.ims_domain is not None:      # the ISIM's files (TS 31.103 §4.2.2-§4.2.4)
        cols += ["ims_hdomain", "impi", "impu"]
    if profile.spn.isascii():
        cols.insert(0, "name")
    return cols


class PysimCsv:
    """Writes pySim-prog CSV rows to a text stream opened with ``newline=""``.

    pySim-prog uses ``pin_adm`` / ``pin_adm_hex`` only to VERIFY the ADM1 the card has *now*
    and never writes a new ADM1 (nor a PIN or PUK): a row carries the card's current ADM1
    (the vendor's), never the one simtool generated for its own programmer.  Unknown, the
    columns stay empty: pySim-prog's driver then stops before sending any VERIFY, so no ADM1
    try is spent.
    """

    def __init__(self, fh: io.TextIOBase, profile: Profile, *, hex_adm: bool = False) -> None:
        self.profile = profile
        self.columns = pysim_columns(profile, hex_adm=hex_adm)
        self._writer = csv.DictWriter(fh, fieldnames=self.columns, lineterminator="\n")
        self._writer.writeheader()

    def row(self, rec: CardRecord, current_adm: Secret[str] | None) -> dict[str, str]:
        adm, hex_adm = "", ""
        if current_adm is not None and current_adm.reveal():
            if encode_adm(current_adm).format is AdmFormat.HEX16:
                if "pin_adm_hex" not in self.columns:
                    raise DataError("a hex ADM1 for a batch whose pysim.csv has no pin_adm_hex "
                                    "column", where=f"card {rec.iccid}")
                hex_adm = current_adm.reveal().upper()
            else:
                adm = current_adm.reveal()
        row = {
            "name": self.profile.spn, "iccid": rec.iccid, "mcc": self.profile.mcc,
            "mnc": self.profile.mnc, "imsi": rec.imsi, "ki": rec.ki.reveal().hex().upper(),
            "opc": rec.opc.reveal().hex().upper(), "acc": f"{rec.acc:04x}",
            "pin_adm": adm, "pin_adm_hex": hex_adm, "msisdn": "+" + rec.msisdn,
            "ims_hdomain": self.profile.ims_domain or "", "impi": rec.impi or "",
            "impu": rec.impu or "",
        }
        return {k: row[k] for k in self.columns}

    def write(self, rec: CardRecord, current_adm: Secret[str] | None) -> None:
        self._writer.writerow(self.row(rec, current_adm))


# --- HSS imports ---------------------------------------------------------------------------------


def osmo_hlr_header(batch_id: str, count: int) -> str:
    """The script's head: how to feed it, then ``enable`` (VTY comment lines start with !)."""
    return (f"! simtool batch {batch_id}: {count} subscribers for OsmoHLR (VTY commands)\n"
            "! Load it with\n"
            "!   simtool batch load-osmo-hlr osmo-hlr.vty --vty 127.0.0.1:4258\n"
            "! which asks 'show subscriber imsi X' first and sends only what is missing or\n"
            "! different: a second run changes nothing and every subscriber keeps its SQN.\n"
            "! Fed straight into the VTY (telnet 127.0.0.1 4258 < osmo-hlr.vty) it is right\n"
            "! only once, on a database without these IMSIs: 'update aud3g' rewrites the key\n"
            "! row and resets the SQN to 0.\n"
            "enable\n")


def osmo_hlr_lines(rec: CardRecord) -> str:
    """OsmoHLR VTY: create the subscriber, set its MSISDN and its Milenage K/OPc."""
    return (f"subscriber imsi {rec.imsi} create\n"
            f"subscriber imsi {rec.imsi} update msisdn {rec.msisdn}\n"
            f"subscriber imsi {rec.imsi} update aud3g milenage k {rec.ki.reveal().hex()} "
            f"opc {rec.opc.reveal().hex()}\n")


OPEN5GS_FILE = "open5gs-subscribers.js"

# The subscriber document as Open5GS's own tools create it: ``open5gs-dbctl add`` (misc/db in
# the Open5GS source) and the WebUI's model (webui/server/models/subscriber.js): APN
# "internet", IPv4v6, QCI 9, ARP 8, 1 Gbps AMBR.  Only an insert writes these; an existing
# subscriber keeps its own (and its SQN, which the HSS keeps in security.sqn).
_OPEN5GS_JS = """
if (db.getName() === "test") {
  print("open5gs-subscribers.js: name the database in the URI, e.g. mongodb://localhost/open5gs");
  quit(2);
}
function onInsert() {
  const ambr = {downlink: {value: NumberInt(1000000000), unit: NumberInt(0)},
                uplink: {value: NumberInt(1000000000), unit: NumberInt(0)}};
  return {
    schema_version: NumberInt(1), imeisv: [], mme_host: [], mme_realm: [], purge_flag: [],
    "security.op": null, "security.amf": "8000",
    slice: [{sst: NumberInt(1), default_indicator: true, _id: new ObjectId(), session: [{
      name: "internet", type: NumberInt(3),
      qos: {index: NumberInt(9), arp: {priority_level: NumberInt(8),
            pre_emption_capability: NumberInt(1), pre_emption_vulnerability: NumberInt(2)}},
      ambr: ambr, pcc_rule: [], _id: new ObjectId()}]}],
    ambr: ambr, access_restriction_data: NumberInt(32), subscriber_status: NumberInt(0),
    network_access_mode: NumberInt(0), subscribed_rau_tau_timer: NumberInt(12)};
}
let inserted = 0, changed = 0, unchanged = 0;
for (let i = 0; i < SUBSCRIBERS.length; i += 1000) {
  const ops = SUBSCRIBERS.slice(i, i + 1000).map(([imsi, k, opc, msisdn]) => ({updateOne: {
    filter: {imsi: imsi},
    update: {$set: {"security.k": k, "security.opc": opc, msisdn: [msisdn]},
             $setOnInsert: onInsert()},
    upsert: true}}));
  const r = db.subscribers.bulkWrite(ops, {ordered: true});
  inserted += r.upsertedCount;
  changed += r.modifiedCount;
  unchanged += r.matchedCount - r.modifiedCount;
}
print(`open5gs-subscribers.js: ${inserted} inserted, ${changed} updated, ${unchanged} unchanged`);
"""


def open5gs_header(batch_id: str, count: int) -> str:
    """The head of the mongosh script; rows follow (:func:`open5gs_line`), then
    :func:`open5gs_tail`."""
    return ("// simtool batch " + batch_id + f": {count} subscribers for Open5GS (its MongoDB)\n"
            "// Run it with mongosh, the database URI as its argument (open5gs-dbctl is not\n"
            "// needed):\n"
            f"//   mongosh mongodb://localhost/open5gs --file {OPEN5GS_FILE}\n"
            "// Update-or-insert per IMSI: K, OPc and the MSISDN are set, a new subscriber gets\n"
            "// open5gs-dbctl's defaults, an existing one keeps the rest (and its SQN); a second\n"
            "// run changes nothing.\n"
            "const SUBSCRIBERS = [\n")


def open5gs_line(rec: CardRecord) -> str:
    """One row: IMSI, K, OPc, MSISDN (digits, as Open5GS stores it), as a JSON array."""
    return json.dumps([rec.imsi, rec.ki.reveal().hex(), rec.opc.reveal().hex(), rec.msisdn]) + \
        ",\n"


def open5gs_tail() -> str:
    return "];" + _OPEN5GS_JS


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

# The derived credentials a carrier letter may print, as cards.csv columns.  Anything else a
# profile derives stays off the letter.  Where each belongs, per the operator's document:
# the panel password is the last 10 digits under the barcode (Milo: "Panel klienta"); Plus
# Kod 5 is the account's temporary code of the first invoice / welcome letter, Plus Kod 4 the
# code of one number; Idea24's subscriber code is the last 6 digits of the PUK in the SIM
# envelope; the voicemail PIN guards remote voicemail (City-Sat 9556).
LETTER_CREDENTIALS = (CredentialKind.PANEL_PASSWORD, CredentialKind.PLUS_KOD5,
                      CredentialKind.PLUS_KOD4, CredentialKind.SUBSCRIBER_CODE,
                      CredentialKind.VOICEMAIL_PIN)


def printer_columns(profile: Profile) -> list[str]:
    """cards.csv's header: the card's numbers, its PINs, then what the customer logs in with."""
    cols = ["iccid", "msisdn", "barcode", "pin1", "puk1", "account"]
    if CredentialKind.PANEL_PASSWORD in profile.credentials or profile.panel_url:
        cols += ["login", "panel_url"]
    cols += [k.value for k in LETTER_CREDENTIALS if k in profile.credentials]
    return cols


def printer_header(profile: Profile) -> str:
    return ",".join(printer_columns(profile)) + "\n"


def printer_line(rec: CardRecord, profile: Profile) -> str:
    """One carrier-letter row (secrets included: the file is 0600 like every export)."""
    row = {"iccid": rec.iccid, "msisdn": "+" + rec.msisdn, "barcode": rec.barcode.reveal(),
           "pin1": rec.pin1.reveal(), "puk1": rec.puk1.reveal(), "account": rec.account,
           "login": rec.panel_login, "panel_url": profile.panel_url or ""}
    for c in rec.credentials:
        row[c.kind.value] = c.value.reveal()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(
        [row.get(col, "") for col in printer_columns(profile)])
    return buf.getvalue()


def code128_modules(number: str) -> str:
    """The Code 128 symbol (start, data, check, stop) as a string of 1 (bar) / 0 (space)
    modules, encoded by python-barcode (it picks code set C for digit pairs)."""
    return Code128(number).build()[0]


MODULE_MM = 0.25  # X dimension
QUIET_MODULES = 10  # Code 128 needs a quiet zone of at least 10 X on each side
BAR_HEIGHT_MM = 12.0
_BARS = re.compile("1+")


def barcode_svg(number: str, modules: str | None = None) -> str:
    """A standalone SVG of the Code 128 barcode for ``number``: one path, one unit per module.

    python-barcode's own SVGWriter takes about 1.6 ms per symbol (one ``rect`` element per
    bar, built as a DOM); this writer emits the same bars as a single path in ~0.05 ms, which
    keeps a 100,000-card batch within its time budget.  ``modules``: the symbol, when the
    caller has encoded it already.
    """
    modules = modules or code128_modules(number)
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
