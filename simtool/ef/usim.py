"""Mandatory ADF.USIM files for the UTRAN key lifetime and the cell search: EF.START-HFN,
EF.THRESHOLD (3GPP TS 31.102 §4.2.51, §4.2.52, TS 33.102 §6.4.3) and EF.NETPAR (§4.2.57).

A START value is 20 bits (TS 33.102 §6.4.8) stored in 3 bytes with its LSB in bit 1 of the
last byte and the unused top nibble set to 'F'.  The values a card is personalised with
(TS 31.102 Annex E): EF.START-HFN 'F00000F00000' (both STARTs 0) and EF.THRESHOLD 'FFFFFF'
(the largest START, so the keys never expire before the network renews them), EF.NETPAR all
'FF' (no cell stored).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from simtool.apdu.tlv import Tlv, ber_decode_all, ber_encode
from simtool.ef.base import EfCodec
from simtool.errors import DecodeError, EncodeError

START_MAX = 0xFFFFF          # 20 bits (TS 33.102 §6.4.8)
_UNUSED_NIBBLE = 0xF00000


def _start_bytes(codec: EfCodec, value: int) -> bytes:
    if not 0 <= value <= START_MAX:
        raise EncodeError(f"{codec.NAME}: a START value is 20 bits, got {value}")
    return (_UNUSED_NIBBLE | value).to_bytes(3, "big")


def _start_value(data: bytes) -> int:
    return int.from_bytes(data[:3], "big") & START_MAX


@dataclass(frozen=True)
class EfStartHfn(EfCodec):
    """EF.START-HFN (6F5B, SFI 0F): START_CS (3 bytes) then START_PS (3 bytes), each 20 bits
    with the unused nibble 'F' (3GPP TS 31.102 §4.2.51)."""

    NAME = "EF.START-HFN"
    FID = 0x6F5B
    SFI = 0x0F
    SIZE = 6
    CLAUSE = "3GPP TS 31.102 §4.2.51"

    start_cs: int = 0
    start_ps: int = 0

    @classmethod
    def decode(cls, data: bytes) -> EfStartHfn:
        cls._need(data, 6)
        return cls(_start_value(data[0:3]), _start_value(data[3:6]))

    def encode(self, size: int | None = None) -> bytes:
        return self._fit(_start_bytes(self, self.start_cs) + _start_bytes(self, self.start_ps),
                         size)


@dataclass(frozen=True)
class EfThreshold(EfCodec):
    """EF.THRESHOLD (6F5C, SFI 10): the maximum value of START_CS or START_PS, coded as in
    EF.START-HFN (3GPP TS 31.102 §4.2.52)."""

    NAME = "EF.THRESHOLD"
    FID = 0x6F5C
    SFI = 0x10
    SIZE = 3
    CLAUSE = "3GPP TS 31.102 §4.2.52"

    max_start: int = START_MAX

    @classmethod
    def decode(cls, data: bytes) -> EfThreshold:
        cls._need(data, 3)
        return cls(_start_value(data))

    def encode(self, size: int | None = None) -> bytes:
        return self._fit(_start_bytes(self, self.max_start), size)


class CellKind(enum.IntEnum):
    """The cell information TLV objects of EF.NETPAR (3GPP TS 31.102 §4.2.57, Annex C)."""

    GSM = 0xA0
    FDD = 0xA1
    TDD = 0xA2


@dataclass(frozen=True)
class CellInfo:
    """One cell information object: ``current`` is its tag-80 object (GSM: the camped BCCH
    carrier; FDD/TDD: the intra-frequency carrier then its scrambling codes / cell parameter
    ids), ``others`` its tag-81 objects (GSM: one list of neighbour BCCH carriers; FDD/TDD:
    one per inter-frequency carrier, the carrier first).  Every value is 16 bits; a carrier
    frequency counts 200 kHz steps from 0 Hz (TS 31.102 §4.2.57)."""

    kind: CellKind
    current: tuple[int, ...] = ()
    others: tuple[tuple[int, ...], ...] = ()


def _words(values: tuple[int, ...]) -> bytes:
    if any(not 0 <= v <= 0xFFFF for v in values):
        raise EncodeError(f"EF.NETPAR: carrier and code values are 16 bits, got {values}")
    return b"".join(v.to_bytes(2, "big") for v in values)


def _values(obj: Tlv) -> tuple[int, ...]:
    if len(obj.value) % 2:
        raise DecodeError(f"EF.NETPAR: object {obj.tag:02X} is {len(obj.value)} bytes, not a "
                          "list of 16-bit values")
    return tuple(int.from_bytes(obj.value[i:i + 2], "big") for i in range(0, len(obj.value), 2))


@dataclass(frozen=True)
class EfNetpar(EfCodec):
    """EF.NETPAR (6FC4): cell information TLV objects — GSM 'A0', FDD 'A1', TDD 'A2' — each
    holding a tag-80 and tag-81 objects of 16-bit values; the rest of the file 'FF'.  At least
    46 bytes (3GPP TS 31.102 §4.2.57, Annex C)."""

    NAME = "EF.NETPAR"
    FID = 0x6FC4
    SIZE = 46
    CLAUSE = "3GPP TS 31.102 §4.2.57"

    cells: tuple[CellInfo, ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> EfNetpar:
        cells = []
        for top in ber_decode_all(data):
            try:
                kind = CellKind(top.tag)
            except ValueError:
                raise DecodeError(f"{cls.NAME}: tag {top.tag:02X} is no cell information "
                                  "object (A0, A1, A2)") from None
            current: tuple[int, ...] = ()
            others: list[tuple[int, ...]] = []
            for obj in ber_decode_all(top.value):
                if obj.tag == 0x80:
                    current = _values(obj)
                elif obj.tag == 0x81:
                    others.append(_values(obj))
                else:
                    raise DecodeError(f"{cls.NAME}: tag {obj.tag:02X} inside {top.tag:02X}")
            cells.append(CellInfo(kind, current, tuple(others)))
        return cls(tuple(cells))

    def encode(self, size: int | None = None) -> bytes:
        out = b""
        for cell in self.cells:
            body = ber_encode(0x80, _words(cell.current))
            body += b"".join(ber_encode(0x81, _words(o)) for o in cell.others)
            out += ber_encode(int(cell.kind), body)
        return self._fit(out, size)


EfStartHfn.EXAMPLES = (
    (EfStartHfn(0, 0), "F00000F00000"),              # TS 31.102 Annex E: personalisation value
    (EfStartHfn(0x12345, 0x00001), "F12345F00001"),  # LSB in bit 1 of byte 3
    (EfStartHfn(START_MAX, 0), "FFFFFFF00000"),
)
EfThreshold.EXAMPLES = (
    (EfThreshold(START_MAX), "FFFFFF"),              # TS 31.102 Annex E: personalisation value
    (EfThreshold(0x00100), "F00100"),
)
EfNetpar.EXAMPLES = (
    (EfNetpar(), "FF" * 46),                         # TS 31.102 Annex E: nothing stored
    # GSM: camped on carrier 4687 (937.4 MHz in 200 kHz steps), two neighbours
    (EfNetpar((CellInfo(CellKind.GSM, (4687,), ((4690, 4700),)),)),
     "A00A" "8002124F" "81041252125C" "FFFF"),
    # FDD: intra-frequency carrier 10563 (2112.6 MHz) with scrambling codes 1 and 2
    (EfNetpar((CellInfo(CellKind.FDD, (10563, 1, 2)),)), "A1088006294300010002"),
)
