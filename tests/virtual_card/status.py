"""Status words the virtual card answers with, as (UICC, GSM) pairs.

A command handler raises :class:`CardStatus` with one of the pairs below; the dispatcher picks
the UICC value (ETSI TS 102 221 §10.2.1) for CLA 0X/8X and the GSM value (3GPP TS 51.011 §9.4)
for CLA A0.
"""

from __future__ import annotations


class CardStatus(Exception):
    """A command ended with a status word other than 9000."""

    __slots__ = ("uicc", "gsm")

    def __init__(self, pair: tuple[int, int]) -> None:
        super().__init__(f"{pair[0]:04X}/{pair[1]:04X}")
        self.uicc, self.gsm = pair

    def sw(self, gsm: bool) -> int:
        return self.gsm if gsm else self.uicc


#                        UICC    GSM
WRONG_LENGTH =          (0x6700, 0x6700)
WRONG_P1P2 =            (0x6A86, 0x6B00)
WRONG_OFFSET =          (0x6B00, 0x9402)
WRONG_DATA =            (0x6A80, 0x6B00)
FILE_NOT_FOUND =        (0x6A82, 0x9404)
RECORD_NOT_FOUND =      (0x6A83, 0x9402)
NO_EF_SELECTED =        (0x6986, 0x9400)
INCOMPATIBLE_FILE =     (0x6981, 0x9408)
SECURITY_NOT_SATISFIED = (0x6982, 0x9804)
PIN_BLOCKED =           (0x6983, 0x9840)
PIN_STATUS_CONFLICT =   (0x6985, 0x9808)   # ENABLE an enabled PIN, CHANGE a disabled one, ...
CONDITIONS_NOT_MET =    (0x6985, 0x9400)   # e.g. AUTHENTICATE outside ADF.USIM / DF.GSM
KEY_NOT_FOUND =         (0x6A88, 0x6B00)   # unknown key reference
AUTH_MAC_FAILURE =      (0x9862, 0x9804)   # TS 31.102 §7.3
MEMORY_PROBLEM =        (0x6581, 0x9240)   # the card image could not be written
TECHNICAL_PROBLEM =     (0x6F00, 0x6F00)
INS_NOT_SUPPORTED =     (0x6D00, 0x6D00)


def wrong_pin(tries_left: int) -> tuple[int, int]:
    """63Cx (TS 102 221 §10.2.1.3) / 9804 (TS 51.011 §9.4.5), or 'blocked' at zero tries."""
    if tries_left <= 0:
        return (0x63C0, 0x9840)
    return (0x63C0 | min(tries_left, 15), 0x9804)
