"""The status words the virtual card answers with: names for (UICC, GSM) pairs of the library's
table (:class:`simtool.apdu.sw.SW`).

A command handler raises :class:`CardStatus` with one of the pairs below; the dispatcher picks
the UICC value (ETSI TS 102 221 §10.2.1) for CLA 0X/8X and the GSM value (3GPP TS 51.011 §9.4)
for CLA A0.  The values are the library's; this module only says which one the card uses where.
"""

from __future__ import annotations

from simtool.apdu.sw import PIN_TRIES_LEFT, SW, SW1


class CardStatus(Exception):
    """A command ended with a status word other than 9000."""

    __slots__ = ("uicc", "gsm")

    def __init__(self, pair: tuple[int, int]) -> None:
        super().__init__(f"{pair[0]:04X}/{pair[1]:04X}")
        self.uicc, self.gsm = pair

    def sw(self, gsm: bool) -> int:
        return self.gsm if gsm else self.uicc


#                        UICC                               GSM
WRONG_LENGTH =          (SW.WRONG_LENGTH,                   SW.WRONG_LENGTH)
WRONG_P1P2 =            (SW.INCORRECT_P1_P2,                SW.WRONG_P1_P2)
WRONG_OFFSET =          (SW.WRONG_P1_P2,                    SW.GSM_OUT_OF_RANGE)
WRONG_DATA =            (SW.WRONG_DATA,                     SW.WRONG_P1_P2)
FILE_NOT_FOUND =        (SW.FILE_NOT_FOUND,                 SW.GSM_FILE_NOT_FOUND)
RECORD_NOT_FOUND =      (SW.RECORD_NOT_FOUND,               SW.GSM_OUT_OF_RANGE)
NO_EF_SELECTED =        (SW.NO_EF_SELECTED,                 SW.GSM_NO_EF_SELECTED)
INCOMPATIBLE_FILE =     (SW.INCOMPATIBLE_FILE_STRUCTURE,    SW.GSM_FILE_INCONSISTENT)
SECURITY_NOT_SATISFIED = (SW.SECURITY_NOT_SATISFIED,        SW.GSM_ACCESS_NOT_FULFILLED)
PIN_BLOCKED =           (SW.PIN_BLOCKED,                    SW.GSM_CHV_BLOCKED)
# ENABLE an enabled PIN, CHANGE a disabled one, ...
PIN_STATUS_CONFLICT =   (SW.CONDITIONS_NOT_SATISFIED,       SW.GSM_CHV_STATUS_CONTRADICTION)
# e.g. AUTHENTICATE outside ADF.USIM / DF.GSM
CONDITIONS_NOT_MET =    (SW.CONDITIONS_NOT_SATISFIED,       SW.GSM_NO_EF_SELECTED)
KEY_NOT_FOUND =         (SW.REFERENCED_DATA_NOT_FOUND,      SW.WRONG_P1_P2)  # unknown key ref
# TS 31.102 §7.3: MAC failure
AUTH_MAC_FAILURE =      (SW.AUTHENTICATION_ERROR,           SW.GSM_ACCESS_NOT_FULFILLED)
# the card image could not be written
MEMORY_PROBLEM =        (SW.MEMORY_PROBLEM,                 SW.GSM_MEMORY_PROBLEM)
TECHNICAL_PROBLEM =     (SW.TECHNICAL_PROBLEM,              SW.TECHNICAL_PROBLEM)
INS_NOT_SUPPORTED =     (SW.INS_NOT_SUPPORTED,              SW.INS_NOT_SUPPORTED)
CLA_NOT_SUPPORTED =     (SW.CLA_NOT_SUPPORTED,              SW.CLA_NOT_SUPPORTED)
CHANNEL_NOT_SUPPORTED = (SW.LOGICAL_CHANNEL_NOT_SUPPORTED,  SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
SECURE_MESSAGING_NOT_SUPPORTED = (SW.SECURE_MESSAGING_NOT_SUPPORTED,
                                  SW.SECURE_MESSAGING_NOT_SUPPORTED)


def wrong_pin(tries_left: int) -> tuple[int, int]:
    """63Cx (TS 102 221 §10.2.1.3) / 9804 (TS 51.011 §9.4.5), or 'blocked' at zero tries."""
    if tries_left <= 0:
        return (PIN_TRIES_LEFT, SW.GSM_CHV_BLOCKED)
    return (PIN_TRIES_LEFT | min(tries_left, 15), SW.GSM_ACCESS_NOT_FULFILLED)


def sw_bytes(sw: int) -> bytes:
    """SW1 SW2 as the card sends them."""
    return sw.to_bytes(2, "big")


def wrong_le(exact: int, *, gsm_with_length: bool = False) -> tuple[int, int]:
    """6Cxx with the exact length (TS 102 221 Table 7.1); under CLA A0 6700 (TS 51.011 §9.4.6
    incorrect P3), or 67xx carrying the length where the card tells it (FETCH)."""
    xx = exact & 0xFF
    return (SW1.WRONG_LE << 8 | xx, SW.WRONG_LENGTH | (xx if gsm_with_length else 0))
