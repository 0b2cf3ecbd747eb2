"""What the emulator fuzzer reports, and the deviations already reported to the card's
authors (``KNOWN_DEVIATIONS``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .status_words import match_sw


@dataclass
class Finding:
    """One problem; ``steps`` replays it on a fresh card (None = reset), ``apdu`` last."""

    #: crash | error-log | sw | image | procedure | fetch | image-load | image-stale | vpcd
    kind: str
    command: str
    apdu: bytes
    sw: int | None
    detail: str
    steps: tuple[bytes | None, ...] = ()
    count: int = 1
    bare: bool = False   # found on a card without an STK menu

    def key(self) -> tuple:
        return (self.kind, self.command, self.sw, self.detail)

    def reproducer(self) -> str:
        steps = " ".join("RESET" if s is None else s.hex().upper() for s in self.steps)
        sw = "" if self.sw is None else f" -> {self.sw:04X}"
        card = "a fresh card without STK menu" if self.bare else "a fresh card"
        return (f"[{self.kind}] {self.command}{sw}: {self.detail} (x{self.count})\n"
                f"    from {card}: {steps or self.apdu.hex().upper()}")


class Deviation(NamedTuple):
    kind: str
    command: str
    sw: str          # pattern, X = any nibble
    steps: str       # hex APDUs from a fresh card, the last one shows it
    why: str


_A0 = ("tests/virtual_card/toolkit.py answers the applet's UICC status word under CLA A0 "
       "too; TS 51.011 §9.4 has no 69xx/6Axx (6B00 / 9808 / 6F00 are the GSM equivalents)")
_SFI = ("tests/virtual_card/files.py applies SFI addressing under CLA A0; TS 51.011 §9.2.3-"
        "§9.2.6 has none: P1 b8 is part of the offset (9402 out of range), a P2 other than "
        "02/03/04 is a wrong mode (6B00); 9404 is SELECT's 'file ID not found'")
_6C = ("tests/virtual_card/uicc.py answers 6Cxx after the command ran, so the re-sent command "
       "(TS 102 221 Table 7.1) finds the state changed: FETCH's command consumed, the record "
       "pointer / current DF moved, the SQN used up (image rewritten for a 'rejected' command)")
#: Deviations found by the fuzzer and reported to the card's authors.  The CI test fails on
#: any finding not listed here, and on an entry whose reproducer no longer shows it.
KNOWN_DEVIATIONS: tuple[Deviation, ...] = (
    Deviation("sw", "GSM TERMINAL RESPONSE", "6985", "A01400000C810301250082028281830100", _A0),
    Deviation("sw", "GSM TERMINAL RESPONSE", "6A80", "A01400000AFFFFFFFFFFFFFFFFFFFF", _A0),
    Deviation("sw", "GSM ENVELOPE", "6A80", "A0C20000024F20", _A0),
    Deviation("sw", "GSM READ BINARY", "9404", "A0B0873C14", _SFI),
    Deviation("sw", "GSM UPDATE BINARY", "9404", "A0D683FF01B7", _SFI),
    Deviation("sw", "GSM READ RECORD", "9404", "A0B20A2320", _SFI),
    Deviation("sw", "GSM UPDATE RECORD", "9404", "A0DC00810831323335FFFFFFFF", _SFI),
    Deviation("procedure", "FETCH", "6F00",
              "A0100000090961072D0000000000 8012000010 80120000A8", _6C),
    Deviation("procedure", "SELECT", "XXXX", "00A40904047F206F0710 00A40904047F206F0718", _6C),
    Deviation("procedure", "READ RECORD", "XXXX",
              "00A4020C022F00 00A2010402FFFF 00B200031E 00B2000320", _6C),
    Deviation("procedure", "AUTHENTICATE", "XXXX", "00A4040407A0000000871002 "
              "0020000A083131323233333434 0088008122106B6BA8633F1F7E30F8B73331E593DCFB10E703F4"
              "F87F5C8000BBDA216466FA530720 0088008122106B6BA8633F1F7E30F8B73331E593DCFB10E703"
              "F4F87F5C8000BBDA216466FA530735", _6C),
    Deviation("image", "AUTHENTICATE", "6CXX", "00A4040407A0000000871002 "
              "0020000A083131323233333434 0088008122106B6BA8633F1F7E30F8B73331E593DCFB10E703F4"
              "F87F5C8000BBDA216466FA530720", _6C),
    Deviation("fetch", "GSM FETCH", "9000", "801000000AFFFFFFFFFFFFFFFFFFFF A012000010",
              "tests/virtual_card/uicc.py cuts a class A0 FETCH answer to P3 and drops the "
              "rest of the proactive command; a P3 other than the 91xx length is a wrong "
              "length (67xx, TS 51.011 §9.4.6) and the command must stay pending"),
)


def matches(deviation: Deviation, finding: Finding) -> bool:
    return (finding.kind == deviation.kind and finding.command == deviation.command
            and finding.sw is not None and match_sw((deviation.sw,), finding.sw))


def is_known(finding: Finding) -> bool:
    return any(matches(d, finding) for d in KNOWN_DEVIATIONS)
