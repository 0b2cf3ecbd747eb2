"""Programmable card types, recognised by their ATR (ISO/IEC 7816-3 §8).

Tools in this field pick a card driver by exact ATR match; so do we.  The table is data: ATR,
name, how its ADM1 key is formatted and referenced, and the minimum ADM1 tries simtool leaves
untouched (a blocked ADM1 cannot be recovered).  ATRs per ../shared/reference/sim-facts.md §10.1.
"""

from __future__ import annotations

from dataclasses import dataclass

from simtool.pin import ADM1, ADM_MIN_TRIES, AdmFormat, KeyReference


@dataclass(frozen=True)
class CardType:
    name: str
    atrs: tuple[bytes, ...]
    adm_format: AdmFormat
    adm_key_ref: KeyReference = ADM1
    programmable: bool = True
    # Never VERIFY ADM1 when fewer tries than this are left: one mistake must not lock the card.
    adm_min_tries: int = ADM_MIN_TRIES
    # The vendor ties the card OS's licence management to the factory ICCID (sysmocom's
    # sysmoISIM cards; pySim's driver refuses to rewrite it for that reason): simtool changes
    # the ICCID of such a card only when explicitly told to.
    factory_iccid_bound: bool = False

    def matches(self, atr: bytes) -> bool:
        return atr in self.atrs


def _atr(*hexes: str) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(h.replace(" ", "")) for h in hexes)


SYSMO_ISIM_SJA2 = CardType(
    "sysmoISIM-SJA2",
    _atr(
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 4C 75 30 34 05 4B A9",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 4C 75 31 33 02 51 B2",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 4C 52 75 31 04 51 D5",
    ),
    AdmFormat.DECIMAL8,
    factory_iccid_bound=True,
)
SYSMO_ISIM_SJA5 = CardType(
    "sysmoISIM-SJA5",
    _atr(
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 35 75 30 35 02 59 C4",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 35 75 30 35 02 51 CC",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 35 75 30 35 02 65 F8",
    ),
    AdmFormat.DECIMAL8,
    factory_iccid_bound=True,
)
SYSMO_USIM_SJS1 = CardType(
    "sysmoUSIM-SJS1",
    _atr("3B 9F 96 80 1F C7 80 31 A0 73 BE 21 13 67 43 20 07 18 00 00 01 A5"),
    AdmFormat.DECIMAL8,
)

KNOWN_TYPES: tuple[CardType, ...] = (SYSMO_ISIM_SJA2, SYSMO_ISIM_SJA5, SYSMO_USIM_SJS1)

# Card types whose Ki/OPc programming simtool implements (simtool.provision.program).
PROGRAMMABLE: tuple[CardType, ...] = (SYSMO_ISIM_SJA2,)


def identify(atr: bytes) -> CardType | None:
    for t in KNOWN_TYPES:
        if t.matches(atr):
            return t
    return None
