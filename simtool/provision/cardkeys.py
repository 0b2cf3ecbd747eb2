"""The ADM1 a card has now: one value for every card (``--adm1``) or the vendor's key file
(``--card-keys``), and the format check that refuses a wrong-format key before it can cost a
try (ADM formats: sim-facts §9.4; CSV column names as pySim-prog's documentation gives them).
"""

from __future__ import annotations

import csv
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


@dataclass(frozen=True)
class FixedAdm:
    """One ADM1 for every card (``--adm1``)."""

    value: Secret[str]

    def current_adm(self, factory_iccid: str) -> Secret[str]:
        return self.value


@dataclass(frozen=True)
class CardKeyFile:
    """The vendor's key file: ADM1 by the card's factory ICCID (``--card-keys``)."""

    source: str
    keys: Mapping[str, Secret[str]] = field(repr=False)
    # the vendor's PIN1/PUK1/PIN2/PUK2 by ICCID, where the file has those columns: what a card
    # keeps when pySim-prog programs it (pySim-prog never changes a PIN)
    pins: Mapping[str, Mapping[str, Secret[str]]] = field(default_factory=dict, repr=False)

    def current_adm(self, factory_iccid: str) -> Secret[str]:
        key = self.keys.get(_iccid_key(factory_iccid))
        if key is None:
            raise DataError(f"no ADM1 for the card with ICCID {factory_iccid}", where=self.source)
        return key


def _iccid_key(text: str) -> str:
    return text.strip().upper().rstrip("F")


def read_card_keys(path: Any) -> CardKeyFile:
    """Read a vendor CSV with pySim's column names: ``iccid`` and one of ``adm1`` /
    ``pin_adm`` (decimal digits) or ``pin_adm_hex`` (16 hex digits, preferred when present),
    and, when present, the card's ``pin1``/``puk1``/``pin2``/``puk2``; other columns (ki, opc,
    imsi ...) are ignored.  Errors name file:line, never a value."""
    source = str(path)
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"cannot read the card key file: {exc.strerror}", where=source) from None
    keys: dict[str, Secret[str]] = {}
    pins: dict[str, dict[str, Secret[str]]] = {}
    with fh:
        reader = csv.reader(fh)
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
    return CardKeyFile(source, keys, pins)


VENDOR_PIN_COLUMNS = ("pin1", "puk1", "pin2", "puk2")
