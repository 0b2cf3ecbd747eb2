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


#: Deviations found by the fuzzer and reported to the card's authors.  The CI test fails on
#: any finding not listed here, and on an entry whose reproducer no longer shows it.
KNOWN_DEVIATIONS: tuple[Deviation, ...] = ()


def matches(deviation: Deviation, finding: Finding) -> bool:
    return (finding.kind == deviation.kind and finding.command == deviation.command
            and finding.sw is not None and match_sw((deviation.sw,), finding.sw))


def is_known(finding: Finding) -> bool:
    return any(matches(d, finding) for d in KNOWN_DEVIATIONS)
