"""The ADM1 a card has now: one value for every card (``--adm1``) or the vendor's key file
(``--card-keys``), and the format check that refuses a wrong-format key before it can cost a
try (ADM formats: sim-facts §9.4; CSV column names as pySim-prog's documentation gives them).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from simtool.cardtypes import CardType
from simtool.errors import DataError, SafetyRefusal
from simtool.pin import AdmFormat, encode_adm
from simtool.secret import Secret


def adm_for_card(adm: Secret[str], card_type: CardType, *, what: str = "ADM1") -> Secret[bytes]:
    """Code an ADM1 for ``card_type``, refusing a value of the wrong format before it can cost
    a try: an 8-digit-decimal card takes exactly 8 digits (a 7-digit value is usually a key
    whose leading zero a spreadsheet dropped) or 16 hex digits coding 8 ASCII digits (pySim's
    ``pin_adm_hex``); a 16-hex card takes 16 hex digits (sim-facts §9.4)."""
    key, fmt = encode_adm(adm)
    raw = key.reveal()
    if card_type.adm_format is AdmFormat.DECIMAL8:
        if fmt is AdmFormat.DECIMAL8 and len(adm.reveal()) != 8:
            raise SafetyRefusal(f"{what} has {len(adm.reveal())} digits; {card_type.name} ADM1 "
                                "keys are 8 digits (was a leading zero lost?)")
        if fmt is AdmFormat.HEX16 and not (raw.isascii() and raw.decode().isdigit()):
            raise SafetyRefusal(f"{what} is 16 hex digits that are not 8 ASCII digits; "
                                f"{card_type.name} takes an 8-digit decimal ADM1")
    elif fmt is not card_type.adm_format:
        raise SafetyRefusal(f"{what} is {fmt.value}; {card_type.name} takes "
                            f"{card_type.adm_format.value}")
    return key


class AdmSource(Protocol):
    def current_adm(self, factory_iccid: str) -> Secret[str]:
        """The ADM1 the card had when delivered; DataError when unknown."""
        ...

    def lists(self, iccid: str) -> bool:
        """Whether ``iccid`` is a factory ICCID this source knows (a vendor list's line)."""
        ...


@dataclass(frozen=True)
class FixedAdm:
    """One ADM1 for every card (``--adm1``)."""

    value: Secret[str]

    def current_adm(self, factory_iccid: str) -> Secret[str]:
        return self.value

    def lists(self, iccid: str) -> bool:
        return False


@dataclass(frozen=True)
class CardKeyFile:
    """The vendor's key file: ADM1 by the card's factory ICCID (``--card-keys``).
    ``warnings``: for the CLI to show (a file group/others may read)."""

    source: str
    keys: Mapping[str, Secret[str]] = field(repr=False)
    # the vendor's PIN1/PUK1/PIN2/PUK2 by ICCID, where the file has those columns: what a card
    # keeps when pySim-prog programs it (pySim-prog never changes a PIN)
    pins: Mapping[str, Mapping[str, Secret[str]]] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()

    def current_adm(self, factory_iccid: str) -> Secret[str]:
        key = self.keys.get(_iccid_key(factory_iccid))
        if key is None:
            raise DataError(f"no ADM1 for the card with ICCID {factory_iccid}", where=self.source)
        return key

    def lists(self, iccid: str) -> bool:
        return _iccid_key(iccid) in self.keys


def _iccid_key(text: str) -> str:
    return text.strip().upper().rstrip("F")


def read_card_keys(path: Any) -> CardKeyFile:
    """Read a vendor CSV with pySim's column names: ``iccid`` and one of ``adm1`` /
    ``pin_adm`` (decimal digits) or ``pin_adm_hex`` (16 hex digits, preferred when present),
    and, when present, the card's ``pin1``/``puk1``/``pin2``/``puk2``; other columns (ki, opc,
    imsi ...) are ignored.  Errors name file:line, never a value.

    The file holds keys: one that group/others may write is refused, one they may read is
    accepted with a warning (:func:`~simtool.provision.crypto.check_key_file_mode`).  Every
    ICCID must carry a valid Luhn digit (ITU-T E.118 §4)."""
    from stdnum import luhn

    from simtool.provision.crypto import check_key_file_mode
    from simtool.provision.validate import decode_utf8

    source = str(path)
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
    except OSError as exc:
        raise DataError(f"cannot read the card key file: {exc.strerror}", where=source) from None
    warning = check_key_file_mode(source, st.st_mode, "the card key file (ADM1 keys)",
                                  readable="warn")
    text = decode_utf8(data, source, bom=True)
    keys: dict[str, Secret[str]] = {}
    pins: dict[str, dict[str, Secret[str]]] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "iccid" not in header or not {"adm1", "pin_adm", "pin_adm_hex"} & set(header):
        raise DataError("needs an 'iccid' column and one of 'adm1', 'pin_adm', "
                        "'pin_adm_hex'", where=f"{source}:1")
    for row in reader:
        where = f"{source}:{reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header, (cell.strip() for cell in row)))
        iccid = _iccid_key(values.get("iccid", ""))
        adm = values.get("pin_adm_hex") or values.get("adm1") or values.get("pin_adm")
        if not (iccid.isdigit() and 18 <= len(iccid) <= 20) or not adm:
            raise DataError("each line needs an ICCID (18-20 digits) and an ADM1",
                            where=where)
        if not luhn.is_valid(iccid):
            raise DataError(f"iccid: {iccid} has a wrong Luhn check digit (should end in "
                            f"{luhn.calc_check_digit(iccid[:-1])})", where=where)
        if iccid in keys:
            raise DataError(f"ICCID {iccid} appears twice", where=where)
        try:
            encode_adm(Secret(adm))
        except DataError:
            raise DataError("ADM1 is neither decimal digits nor 16 hex digits",
                            where=where) from None
        keys[iccid] = Secret(adm)
        card_pins = {}
        for name in VENDOR_PIN_COLUMNS:
            value = values.get(name, "")
            if value:
                if not (value.isdigit() and 4 <= len(value) <= 8):
                    raise DataError(f"{name} must be 4-8 digits", where=where)
                card_pins[name] = Secret(value)
        if card_pins:
            pins[iccid] = card_pins
    return CardKeyFile(source, keys, pins, (warning,) if warning else ())


VENDOR_PIN_COLUMNS = ("pin1", "puk1", "pin2", "puk2")
