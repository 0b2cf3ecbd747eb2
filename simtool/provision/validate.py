"""Checks on a batch before ``batch program`` sends its first APDU.

Everything here is a function over parsed data and file metadata (text, a mode), not over a
container: ``batch.toml`` as text, the card records as ``(where, JSON object)`` pairs, however
they were stored.  Each problem is one :class:`~simtool.errors.DataError` naming the file, the
line and the field, and never a secret's value.

What is checked:

* ``batch.toml``: the format number, the batch id, ``count`` (an integer), the ``[card]``
  parameters, and that the card type takes the batch's ADM1 format (sim-facts §9.4);
* every record: no unknown or repeated key, each field of its type and form — the ICCID's Luhn
  digit (ITU-T E.118 §4, with python-stdnum), an IMSI under the batch's MCC/MNC (3GPP TS 23.003
  §2.2), Ki/OPc of 16 bytes, PINs of 4-8 and PUKs of 8 digits (TS 102 221 §9.5.2), the ADM1 in
  the batch's format;
* the batch as a whole: index, ICCID, IMSI and MSISDN each unique, indexes ``0..count-1``, the
  first/last ICCID as ``batch.toml`` gives them, and the digest of the records the exports were
  made from (``records_sha256``, written by ``batch generate``);
* the mode of files holding secrets (:func:`simtool.provision.crypto.check_key_file_mode`).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stdnum import luhn

from simtool.cardtypes import KNOWN_TYPES, PROGRAMMABLE, CardType
from simtool.errors import DataError
from simtool.pin import AdmFormat
from simtool.provision.batchdir import CardRecord, record_from_json, record_to_json
from simtool.provision.credentials import Scope
from simtool.provision.ims import read_domain
from simtool.provision.plan import BatchCard
from simtool.provision.profile import CredentialKind

BATCH_FORMAT = 1
ICCID_SOURCES = ("profile-prefix", "card-list")


# --- text ------------------------------------------------------------------------------------


def decode_utf8(data: bytes, source: str, *, first_line: int = 1, offset: int = 0,
                bom: bool = False) -> str:
    """``data`` as UTF-8 text, or a DataError naming ``source``, the line and the byte offset
    of the first byte that is not UTF-8 (``offset``: where ``data`` starts in the file).
    ``bom``: a leading UTF-8 byte order mark is dropped (spreadsheets write one)."""
    if bom and data.startswith(codecs.BOM_UTF8):
        data, offset = data[len(codecs.BOM_UTF8):], offset + len(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise DataError(f"not UTF-8 text (byte offset {offset + exc.start}, "
                        f"0x{data[exc.start]:02X})", where=f"{source}:{line}") from None


def iter_lines(data: Iterable[bytes], source: str) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a file's byte lines, each decoded as UTF-8 (see
    :func:`decode_utf8`)."""
    offset = 0
    for number, raw in enumerate(data, start=1):
        yield number, decode_utf8(raw, source, first_line=number, offset=offset)
        offset += len(raw)


# --- batch.toml --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchInfo:
    """What programming needs from ``batch.toml``, checked."""

    batch_id: str
    count: int
    card: BatchCard
    adm_format: AdmFormat
    factory_iccids: bool  # the ICCIDs are the cards' own (iccid_source = "card-list")
    first_iccid: str | None = None
    last_iccid: str | None = None
    records_sha256: str | None = None
    source: str = "batch.toml"
    count_line: int | None = None
    programmer: str = "simtool"  # who writes the cards (simtool.provision.pysim.ProgrammingTool)

    def where(self, line: int | None) -> str:
        return f"{self.source}:{line}" if line else self.source


def load_toml(text: str, source: str) -> dict[str, Any]:
    """TOML text parsed; a syntax error names ``source`` and its line."""
    from simtool.provision.profile import _TOML_POS

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pos = _TOML_POS.search(str(exc))
        reason = _TOML_POS.sub("", str(exc)).strip()
        raise DataError(f"malformed batch.toml: {reason}",
                        where=f"{source}:{pos.group(1)}" if pos else source) from None


def parse_batch_info(text: str, source: str) -> tuple[dict[str, Any], BatchInfo]:
    """The parsed ``batch.toml`` and its checked :class:`BatchInfo` (for programming: the
    batch's card type must be one simtool programs)."""
    from simtool.provision.profile import _Reader

    data = load_toml(text, source)
    r = _Reader(data, text, source)
    fmt = r.get(("format",), int)
    if fmt != BATCH_FORMAT:
        raise r.fail(("format",), f"unknown batch format {fmt} (this simtool reads "
                                  f"{BATCH_FORMAT})")
    batch_id = r.get(("batch_id",), str)
    if not re.fullmatch(r"[\x21-\x7e]{1,255}", batch_id):
        raise r.fail(("batch_id",), "must be 1..255 printable ASCII characters")
    count = r.get(("count",), int)
    if count < 1:
        raise r.fail(("count",), f"must be at least 1, not {count}")
    source_kind = r.get(("iccid_source",), str, "profile-prefix")
    if source_kind not in ICCID_SOURCES:
        raise r.fail(("iccid_source",), f"must be one of {', '.join(ICCID_SOURCES)}")
    first = r.get(("first_iccid",), str, None) or None
    last = r.get(("last_iccid",), str, None) or None
    digest = r.get(("records_sha256",), str, None)
    if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise r.fail(("records_sha256",), "must be 64 lower-case hex digits")

    r.get(("card",), dict)
    mcc = r.digits(("card", "mcc"), range(3, 4))
    mnc = r.digits(("card", "mnc"), range(2, 4))
    spn = r.get(("card", "spn"), str)
    condition = r.get(("card", "spn_display_condition"), int, 0)
    if not 0 <= condition <= 255:
        raise r.fail(("card", "spn_display_condition"), "must be 0..255")
    pin1_enabled = r.get(("card", "pin1_enabled"), bool, True)
    adm_text = r.get(("card", "adm_format"), str)
    try:
        adm_format = AdmFormat(adm_text)
    except ValueError:
        allowed = ", ".join(f.value for f in AdmFormat)
        raise r.fail(("card", "adm_format"), f"must be one of {allowed}") from None
    type_name = r.get(("card", "type"), str, None)
    _check_card_type(r, type_name, adm_format)
    ims_domain = read_domain(r, ("card", "ims_domain"), mcc, mnc)
    menu = r.get(("card", "menu"), str, None)
    if menu is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", menu):
        raise r.fail(("card", "menu"), "must name a menu of provisioning/menus (a-z 0-9 - _)")
    applet = None
    if "applet" in data:
        from simtool.provision.appletstep import AppletSpec

        table = r.get(("applet",), dict)
        line = r.keys.line_of(("applet",))
        applet = AppletSpec.from_table(table, f"{source}:{line}" if line else str(source))
    card = BatchCard(mcc, mnc, spn, condition, pin1_enabled,
                     _canonical_type(type_name) if type_name else None, ims_domain, menu,
                     applet)
    programmer = r.get(("programmer",), str, "simtool")
    if programmer not in ("simtool", "pysim"):
        raise r.fail(("programmer",), "must be simtool or pysim")
    info = BatchInfo(batch_id, count, card, adm_format, source_kind == "card-list", first, last,
                     digest, source, r.keys.line_of(("count",)), programmer)
    return data, info


def _canonical_type(name: str) -> str:
    return next((t.name for t in KNOWN_TYPES if t.name.lower() == name.lower()), name)


def _check_card_type(r: Any, name: str | None, adm_format: AdmFormat) -> None:
    """The batch's card type must be one simtool programs and must take its ADM1 format."""
    types: tuple[CardType, ...]
    if name is None:
        types = PROGRAMMABLE
    else:
        types = tuple(t for t in KNOWN_TYPES if t.name.lower() == name.lower())
        if not types:
            known = ", ".join(t.name for t in KNOWN_TYPES)
            raise r.fail(("card", "type"), f"unknown card type {name!r} (known: {known})")
    if not any(t.adm_format is adm_format for t in types):
        takes = " / ".join(sorted({t.adm_format.value for t in types}))
        cards = types[0].name if name else "the card types simtool programs"
        raise r.fail(("card", "adm_format"), f"{cards} cards take ADM1 as {takes}, "
                                             f"not {adm_format.value}")


# --- one record ----------------------------------------------------------------------------------

REQUIRED_KEYS = ("index", "iccid", "imsi", "msisdn", "acc", "ki", "opc", "pin1", "puk1",
                 "pin2", "puk2", "adm1", "barcode", "account")
RECORD_KEYS = frozenset(REQUIRED_KEYS + ("credentials", "impi", "impu"))
CREDENTIAL_KEYS = frozenset(("kind", "value", "scope", "must_change", "read_only"))
SECRET_KEYS = frozenset(("ki", "opc", "pin1", "puk1", "pin2", "puk2", "adm1", "barcode"))

_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9A-Fa-f]+")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Repeated(key)
        out[key] = value
    return out


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def parse_record_line(text: str, where: str) -> dict[str, Any]:
    """One JSON line as an object; never echoes the line (it holds keys)."""
    try:
        obj = json.loads(text, object_pairs_hook=_pairs)
    except _Repeated as exc:
        raise DataError(f"{_shown(exc.key)}: appears twice in the record", where=where) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"not a JSON record ({exc.msg} at column {exc.colno})",
                        where=where) from None
    if not isinstance(obj, dict):
        raise DataError("not a JSON object", where=where)
    return obj


def _shown(key: str) -> str:
    return repr(key)[1:-1][:40]


def check_record(obj: Mapping[str, Any], where: str, info: BatchInfo) -> CardRecord:
    """Check one record's keys, types and forms; the CardRecord, or DataError naming the
    field (and, for identifiers only, the value)."""
    for key in obj:
        if key not in RECORD_KEYS:
            raise DataError(f"{_shown(key)}: unknown field", where=where)
    for key in REQUIRED_KEYS:
        if key not in obj:
            raise DataError(f"{key}: missing", where=where)

    def fail(key: str, reason: str) -> DataError:
        return DataError(f"{key}: {reason}", where=where)

    def text(key: str) -> str:
        value = obj[key]
        if not isinstance(value, str):
            raise fail(key, f"must be a string, not {_json_type(value)}")
        return value

    def digits(key: str, lengths: range) -> str:
        value = text(key)
        if not _DIGITS.fullmatch(value) or len(value) not in lengths:
            shown = "" if key in SECRET_KEYS else f", got {value[:24]!r}"
            raise fail(key, f"must be {_span(lengths)} decimal digits{shown}")
        return value

    def hexdigits(key: str, n: int) -> str:
        value = text(key)
        if not _HEX.fullmatch(value) or len(value) != n:
            raise fail(key, f"must be {n} hex digits")
        return value

    index = obj["index"]
    if not isinstance(index, int) or isinstance(index, bool):
        raise fail("index", f"must be an integer, not {_json_type(index)}")
    if index < 0:
        raise fail("index", f"must not be negative, not {index}")
    iccid = digits("iccid", range(18, 21))
    if not luhn.is_valid(iccid):
        raise fail("iccid", f"{iccid} has a wrong Luhn check digit (should end in "
                            f"{luhn.calc_check_digit(iccid[:-1])})")
    imsi = digits("imsi", range(6, 16))
    plmn = info.card.mcc + info.card.mnc
    if not imsi.startswith(plmn):
        raise fail("imsi", f"{imsi} is not under the batch's MCC/MNC {plmn}")
    digits("msisdn", range(1, 16))
    hexdigits("acc", 4)
    hexdigits("ki", 32)
    hexdigits("opc", 32)
    digits("pin1", range(4, 9))
    digits("pin2", range(4, 9))
    digits("puk1", range(8, 9))
    digits("puk2", range(8, 9))
    if info.adm_format is AdmFormat.DECIMAL8:
        digits("adm1", range(8, 9))
    else:
        hexdigits("adm1", 16)
    digits("barcode", range(1, 41))
    if not text("account"):
        raise fail("account", "must not be empty")
    creds = obj.get("credentials", [])
    if not isinstance(creds, list):
        raise fail("credentials", f"must be a list, not {_json_type(creds)}")
    for n, cred in enumerate(creds):
        _check_credential(cred, f"credentials[{n}]", fail)
    _check_ims(obj, info, fail, text)
    return record_from_json(obj, where=where)


def _check_ims(obj: Mapping[str, Any], info: BatchInfo, fail: Any, text: Any) -> None:
    """IMPI and IMPU: both or neither, and both when the batch names an IMS domain; each in
    that domain and short enough for EF.IMPI / EF.IMPU (TS 31.103 §4.2.2, §4.2.4)."""
    domain = info.card.ims_domain
    present = [k for k in ("impi", "impu") if k in obj]
    if domain is None:
        if present:
            raise fail(present[0], "the batch names no IMS domain ([card] ims_domain)")
        return
    for key in ("impi", "impu"):
        if key not in obj:
            raise fail(key, f"missing (the batch's IMS domain is {domain})")
        value = text(key)
        if not value.endswith("@" + domain) or len(value.encode()) > 125:
            raise fail(key, f"{value[:60]!r} is not an identity @{domain} of at most 125 bytes")
    if not obj["impu"].startswith(("sip:", "tel:")):
        raise fail("impu", "must be a sip: or tel: URI (TS 23.003 §13.4)")


_KINDS = frozenset(e.value for e in CredentialKind)
_SCOPES = frozenset(e.value for e in Scope)


def _check_credential(cred: Any, name: str, fail: Any) -> None:
    if not isinstance(cred, dict):
        raise fail(name, f"must be an object, not {_json_type(cred)}")
    for key in cred:
        if key not in CREDENTIAL_KEYS:
            raise fail(f"{name}.{_shown(key)}", "unknown field")
    for key in CREDENTIAL_KEYS:
        if key not in cred:
            raise fail(f"{name}.{key}", "missing")
    for key, allowed in (("kind", _KINDS), ("scope", _SCOPES)):
        if cred[key] not in allowed:
            raise fail(f"{name}.{key}", "must be one of " + ", ".join(sorted(allowed)))
    if not isinstance(cred["value"], str) or not cred["value"]:
        raise fail(f"{name}.value", "must be a non-empty string")
    for key in ("must_change", "read_only"):
        if not isinstance(cred[key], bool):
            raise fail(f"{name}.{key}", f"must be true or false, not {_json_type(cred[key])}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _span(lengths: range) -> str:
    lo, hi = lengths.start, lengths.stop - 1
    return str(lo) if lo == hi else f"{lo}..{hi}"


# --- the whole batch -------------------------------------------------------------------------


class RecordsDigest:
    """SHA-256 over the records in file order, each as :func:`record_to_json` writes it: the
    same whatever container holds them, and whatever spacing a reader tolerated."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256(b"simtool records v1\n")

    def add(self, rec: CardRecord) -> None:
        self._hash.update(record_to_json(rec).encode("utf-8") + b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def check_records(items: Iterable[tuple[str, Mapping[str, Any]]], info: BatchInfo, *,
                  source: str) -> dict[int, CardRecord]:
    """Check every record (:func:`check_record`) and the batch as a whole; the records by
    index.  ``items``: ``(where, parsed JSON object)`` in file order; ``source`` names the
    records' file in errors about the whole."""
    records: dict[int, CardRecord] = {}
    seen: dict[str, dict[str, str]] = {"index": {}, "iccid": {}, "imsi": {}, "msisdn": {}}
    digest = RecordsDigest()
    for where, obj in items:
        rec = check_record(obj, where, info)
        for field, value in (("index", str(rec.index)), ("iccid", rec.iccid),
                             ("imsi", rec.imsi), ("msisdn", rec.msisdn)):
            first = seen[field].get(value)
            if first is not None:
                raise DataError(f"{field}: {value} appears again (first at {first})",
                                where=where)
            seen[field][value] = where
        records[rec.index] = rec
        digest.add(rec)
    if len(records) != info.count:
        raise DataError(f"count: {info.count}, but {source} holds {len(records)} records",
                        where=info.where(info.count_line))
    for index in sorted(records):
        if index >= info.count:  # then another index is missing
            raise DataError(f"index: {index} is outside 0..{info.count - 1} (batch.toml count "
                            f"{info.count})", where=seen["index"][str(index)])
    for field, index, want in (("first_iccid", 0, info.first_iccid),
                               ("last_iccid", info.count - 1, info.last_iccid)):
        if want is not None and records[index].iccid != want:
            raise DataError(f"{field}: {want}, but record {index} of {source} has ICCID "
                            f"{records[index].iccid}", where=info.source)
    if info.records_sha256 is not None and digest.hexdigest() != info.records_sha256:
        raise DataError("the records differ from those the batch and its exports were made "
                        f"from (records_sha256 in {info.source})", where=source)
    return records
