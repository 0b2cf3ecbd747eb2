"""Networks: the 3-byte PLMN code, EF.LOCI, the PLMN lists (EF.FPLMN, EF.PLMNsel, EF.EHPLMN)
and the PLMN selector lists with AcT."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from simtool.ef.base import EfCodec
from simtool.errors import DataError, DecodeError, EncodeError

# --- PLMN (3GPP TS 24.008 §10.5.1.3) -----------------------------------------------------------


@dataclass(frozen=True)
class Plmn:
    """MCC + MNC.  Three bytes: MCC2|MCC1, MNC3|MCC3, MNC2|MNC1 (high|low nibble), MNC3 = F
    for a two-digit MNC (3GPP TS 24.008 §10.5.1.3; used by TS 31.102 §4.2.5, §4.2.16, §4.2.17)."""

    mcc: str
    mnc: str

    def __post_init__(self) -> None:
        ok = (len(self.mcc) == 3 and len(self.mnc) in (2, 3)
              and (self.mcc + self.mnc).isascii() and (self.mcc + self.mnc).isdigit())
        if not ok:
            raise DataError(f"PLMN {self.mcc!r}/{self.mnc!r}: MCC must be 3 digits, MNC 2 or 3")

    @classmethod
    def parse(cls, text: str) -> Plmn:
        """"260-01", "260/01", "26001" (5 digits: 2-digit MNC) or "260010" (3-digit MNC)."""
        for sep in ("-", "/", " "):
            if sep in text:
                mcc, _, mnc = text.partition(sep)
                return cls(mcc.strip(), mnc.strip())
        return cls(text[:3], text[3:])

    def to_bytes(self) -> bytes:
        d = [int(c) for c in self.mcc + self.mnc]
        mnc3 = d[5] if len(d) == 6 else 0xF
        return bytes([d[1] << 4 | d[0], mnc3 << 4 | d[2], d[4] << 4 | d[3]])

    @classmethod
    def from_bytes(cls, data: bytes) -> Plmn:
        if len(data) != 3:
            raise DecodeError(f"a PLMN is 3 bytes, got {len(data)}")
        n = [data[0] & 0xF, data[0] >> 4, data[1] & 0xF, data[2] & 0xF, data[2] >> 4, data[1] >> 4]
        if any(x > 9 for x in n[:5]) or not (n[5] <= 9 or n[5] == 0xF):
            raise DecodeError(f"PLMN bytes {data.hex().upper()} are not BCD MCC/MNC digits")
        mnc = f"{n[3]}{n[4]}" + ("" if n[5] == 0xF else str(n[5]))
        return cls(f"{n[0]}{n[1]}{n[2]}", mnc)

    @classmethod
    def from_bytes_or_none(cls, data: bytes) -> Plmn | None:
        """As :meth:`from_bytes`, but FF FF FF (an unused entry) gives None."""
        return None if data == b"\xff\xff\xff" else cls.from_bytes(data)

    def __str__(self) -> str:
        return f"{self.mcc}-{self.mnc}"


PLMN_EXAMPLES: tuple[tuple[Plmn, str], ...] = (
    (Plmn("246", "81"), "42F618"),  # TS 31.102 §4.2.16 example
    (Plmn("228", "06"), "22F860"),  # TS 24.008 §10.5.1.3
    (Plmn("334", "020"), "330420"),  # TS 24.008 §10.5.1.3
    (Plmn("260", "01"), "62F010"),  # Poland
    (Plmn("001", "01"), "00F110"),  # test PLMN
)


# --- EF.LOCI ------------------------------------------------------------------------------------


class LuStatus(enum.IntEnum):
    """Location update status, EF.LOCI byte 11 (3GPP TS 31.102 §4.2.17)."""

    UPDATED = 0
    NOT_UPDATED = 1
    PLMN_NOT_ALLOWED = 2
    LOCATION_AREA_NOT_ALLOWED = 3
    RESERVED = 7


@dataclass(frozen=True)
class Lai:
    """Location area identification: PLMN (None when stored as FF FF FF) + LAC (2 bytes)."""

    plmn: Plmn | None
    lac: int

    def to_bytes(self) -> bytes:
        if not 0 <= self.lac <= 0xFFFF:
            raise EncodeError(f"LAC {self.lac} does not fit 2 bytes")
        head = self.plmn.to_bytes() if self.plmn else b"\xff\xff\xff"
        return head + self.lac.to_bytes(2, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Lai:
        return cls(Plmn.from_bytes_or_none(data[:3]), int.from_bytes(data[3:5], "big"))


@dataclass(frozen=True)
class EfLoci(EfCodec):
    """EF.LOCI (6F7E): TMSI (4) + LAI (5) + RFU / TMSI TIME (1) + location update status (1)
    (3GPP TS 31.102 §4.2.17; TS 51.011 §10.3.17)."""

    NAME = "EF.LOCI"
    FID = 0x6F7E
    SFI = 0x0B
    SIZE = 11
    CLAUSE = "3GPP TS 31.102 §4.2.17; 3GPP TS 51.011 §10.3.17"

    tmsi: bytes = b"\xff\xff\xff\xff"
    lai: Lai = Lai(None, 0xFFFE)
    rfu: int = 0x00
    lu_status: int = LuStatus.NOT_UPDATED

    @classmethod
    def decode(cls, data: bytes) -> EfLoci:
        cls._need(data, 11)
        status = data[10]
        if status in LuStatus._value2member_map_:
            status = LuStatus(status)
        return cls(bytes(data[:4]), Lai.from_bytes(data[4:9]), data[9], status)

    def encode(self, size: int | None = None) -> bytes:
        if len(self.tmsi) != 4:
            raise EncodeError(f"{self.NAME}: TMSI must be 4 bytes, got {len(self.tmsi)}")
        if not (0 <= self.rfu <= 0xFF and 0 <= self.lu_status <= 0xFF):
            raise EncodeError(f"{self.NAME}: byte 10 and 11 must be bytes")
        out = self.tmsi + self.lai.to_bytes() + bytes([self.rfu, self.lu_status])
        return self._fit(out, size)


EfLoci.EXAMPLES = (
    # pySim ts_51_011 EF.LOCI vector
    (EfLoci(bytes.fromhex("78025702"), Lai(Plmn("228", "01"), 0x0978), 0, LuStatus.UPDATED),
     "7802570222F81009780000"),
    (EfLoci(), "FFFFFFFFFFFFFFFFFE0001"),  # no TMSI, deleted LAI (LAC FFFE), not updated
)


# --- lists of 3-byte PLMNs: EF.FPLMN, EF.PLMNsel, EF.EHPLMN ------------------------------------


@dataclass(frozen=True)
class PlmnList(EfCodec):
    """A transparent EF holding PLMNs of 3 bytes each (TS 24.008 §10.5.1.3 coding), in the
    file's order; an unused entry is FF FF FF and is skipped on decode, padded on encode."""

    plmns: tuple[Plmn, ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> PlmnList:
        if len(data) % 3:
            raise DecodeError(f"{cls.NAME} is {len(data)} bytes, not a multiple of 3")
        found = (Plmn.from_bytes_or_none(data[i : i + 3]) for i in range(0, len(data), 3))
        return cls(tuple(p for p in found if p is not None))

    def encode(self, size: int | None = None) -> bytes:
        return self._fit(b"".join(p.to_bytes() for p in self.plmns), size)


@dataclass(frozen=True)
class EfFplmn(PlmnList):
    """EF.FPLMN (6F7B): forbidden PLMNs, 3 bytes each, unused = FF FF FF
    (3GPP TS 31.102 §4.2.16; TS 51.011 §10.3.16)."""

    NAME = "EF.FPLMN"
    FID = 0x6F7B
    SFI = 0x0D
    SIZE = 12
    CLAUSE = "3GPP TS 31.102 §4.2.16; 3GPP TS 51.011 §10.3.16"


EfFplmn.EXAMPLES = (
    (EfFplmn((Plmn("246", "81"),)), "42F618FFFFFFFFFFFFFFFFFF"),  # TS 31.102 §4.2.16
    (EfFplmn((Plmn("228", "06"), Plmn("334", "020"))), "22F860330420FFFFFFFFFFFF"),
    (EfFplmn(), "FFFFFFFFFFFFFFFFFFFFFFFF"),
)


@dataclass(frozen=True)
class EfPlmnSel(PlmnList):
    """EF.PLMNsel (6F30, DF.GSM only): the PLMN selector of a GSM SIM, PLMNs in priority
    order, 3 bytes each, unused = FF FF FF; 3n bytes with n >= 8 (3GPP TS 51.011 §10.3.4)."""

    NAME = "EF.PLMNsel"
    FID = 0x6F30
    SIZE = 24
    CLAUSE = "3GPP TS 51.011 §10.3.4"


EfPlmnSel.EXAMPLES = (
    # TS 51.011 §10.3.4: the highest priority PLMN first, the rest of the 8 entries unused
    (EfPlmnSel((Plmn("246", "81"),)), "42F618" + "FFFFFF" * 7),
    (EfPlmnSel((Plmn("260", "01"), Plmn("228", "06"), Plmn("334", "020"))),
     "62F01022F860330420" + "FFFFFF" * 5),
)


@dataclass(frozen=True)
class EfEhplmn(PlmnList):
    """EF.EHPLMN (6FD9, SFI 1D): equivalent HPLMNs in decreasing priority, 3 bytes each,
    unused = FF FF FF (3GPP TS 31.102 §4.2.84)."""

    NAME = "EF.EHPLMN"
    FID = 0x6FD9
    SFI = 0x1D
    SIZE = 12
    CLAUSE = "3GPP TS 31.102 §4.2.84"


EfEhplmn.EXAMPLES = (
    (EfEhplmn((Plmn("260", "01"),)), "62F010FFFFFFFFFFFFFFFFFF"),  # the home PLMN only
    (EfEhplmn((Plmn("246", "81"), Plmn("334", "020"))), "42F618330420FFFFFFFFFFFF"),
)


# --- PLMN selectors with access technology ---------------------------------------------

#: Access technology identifier bits (3GPP TS 31.102 §4.2.5), one name per bit of the 2 bytes.
#: The classic bits are UTRAN, E-UTRAN, GSM, GSM COMPACT (and cdma2000).  In newer releases
#: b6/b5 of byte 1 narrow E-UTRAN to WB-S1 / NB-S1 only (Table 4.2.5.1: E-UTRAN alone means
#: both) and b4/b3 of byte 2 narrow GSM to EC-GSM-IoT / non-EC GSM (Table 4.2.5.2); the
#: satellite bits are Rel-17.  Byte 2 b2..b1 are RFU and ignored.
ACCESS_TECHNOLOGY_BITS: dict[str, int] = {
    "UTRAN": 0x8000,
    "E-UTRAN": 0x4000,
    "E-UTRAN WB-S1": 0x2000,
    "E-UTRAN NB-S1": 0x1000,
    "NG-RAN": 0x0800,
    "satellite NG-RAN": 0x0400,
    "satellite E-UTRAN WB-S1": 0x0200,
    "satellite E-UTRAN NB-S1": 0x0100,
    "GSM": 0x0080,
    "GSM COMPACT": 0x0040,
    "cdma2000 HRPD": 0x0020,
    "cdma2000 1xRTT": 0x0010,
    "EC-GSM-IoT": 0x0008,
    "GSM without EC-GSM-IoT": 0x0004,
}


def encode_access_technologies(names: frozenset[str] | set[str]) -> bytes:
    unknown = sorted(set(names) - ACCESS_TECHNOLOGY_BITS.keys())
    if unknown:
        raise EncodeError(f"unknown access technologies {unknown}; known: "
                          f"{', '.join(ACCESS_TECHNOLOGY_BITS)}")
    return sum(ACCESS_TECHNOLOGY_BITS[n] for n in set(names)).to_bytes(2, "big")


def decode_access_technologies(data: bytes) -> frozenset[str]:
    bits = int.from_bytes(data[:2], "big")
    return frozenset(n for n, bit in ACCESS_TECHNOLOGY_BITS.items() if bits & bit)


@dataclass(frozen=True)
class PlmnWithAct:
    plmn: Plmn
    access_technologies: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "access_technologies", frozenset(self.access_technologies))


_UNUSED_ENTRY = b"\xff\xff\xff\x00\x00"


@dataclass(frozen=True)
class EfPlmnwAct(EfCodec):
    """EF.PLMNwAcT (6F60): user controlled PLMN selector, 5 bytes per entry = PLMN (3) +
    access technology identifier (2), in priority order; unused = FF FF FF 00 00
    (3GPP TS 31.102 §4.2.5; TS 51.011 §10.3.35)."""

    NAME = "EF.PLMNwAcT"
    FID = 0x6F60
    SFI = 0x0A
    SIZE = 40
    CLAUSE = "3GPP TS 31.102 §4.2.5; 3GPP TS 51.011 §10.3.35"

    entries: tuple[PlmnWithAct, ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> EfPlmnwAct:
        if len(data) % 5:
            raise DecodeError(f"{cls.NAME} is {len(data)} bytes, not a multiple of 5")
        out = []
        for i in range(0, len(data), 5):
            plmn = Plmn.from_bytes_or_none(data[i : i + 3])
            if plmn is not None:
                out.append(PlmnWithAct(plmn, decode_access_technologies(data[i + 3 : i + 5])))
        return cls(tuple(out))

    def encode(self, size: int | None = None) -> bytes:
        body = b"".join(e.plmn.to_bytes() + encode_access_technologies(e.access_technologies)
                        for e in self.entries)
        if size is None:
            return body
        if len(body) > size or (size - len(body)) % 5:
            raise EncodeError(f"{self.NAME}: {len(self.entries)} entries do not fit a "
                              f"{size}-byte file of 5-byte entries")
        return body + _UNUSED_ENTRY * ((size - len(body)) // 5)


@dataclass(frozen=True)
class EfOplmnwAct(EfPlmnwAct):
    """EF.OPLMNwACT (6F61): operator controlled PLMN selector, coded as EF.PLMNwAcT
    (3GPP TS 31.102 §4.2.53; TS 51.011 §10.3.36)."""

    NAME = "EF.OPLMNwACT"
    FID = 0x6F61
    SFI = 0x11
    CLAUSE = "3GPP TS 31.102 §4.2.53; 3GPP TS 51.011 §10.3.36"


@dataclass(frozen=True)
class EfHplmnwAct(EfPlmnwAct):
    """EF.HPLMNwAcT (6F62): HPLMN selector, coded as EF.PLMNwAcT
    (3GPP TS 31.102 §4.2.54; TS 51.011 §10.3.37)."""

    NAME = "EF.HPLMNwAcT"
    FID = 0x6F62
    SFI = 0x13
    SIZE = 10
    CLAUSE = "3GPP TS 31.102 §4.2.54; 3GPP TS 51.011 §10.3.37"


_POLAND = Plmn("260", "01")
EfPlmnwAct.EXAMPLES = (
    # sim-facts §2.2: UTRAN + E-UTRAN + GSM = C0 80, one used entry, then unused entries
    (EfPlmnwAct((PlmnWithAct(_POLAND, frozenset({"UTRAN", "E-UTRAN", "GSM"})),)),
     "62F010C080" + "FFFFFF0000" * 7),
    # pySim ts_51_011 vectors (single entries)
    (EfPlmnwAct((PlmnWithAct(Plmn("262", "01"), frozenset({"E-UTRAN"})),)), "62F2104000"),
    (EfPlmnwAct((PlmnWithAct(Plmn("262", "01"), frozenset({"UTRAN"})),)), "62F2108000"),
    (EfPlmnwAct((PlmnWithAct(Plmn("262", "02"), frozenset(
        {"E-UTRAN", "NG-RAN", "GSM", "EC-GSM-IoT", "GSM without EC-GSM-IoT"})),)), "62F220488C"),
)
EfOplmnwAct.EXAMPLES = (
    (EfOplmnwAct((PlmnWithAct(_POLAND, frozenset({"GSM"})),
                  PlmnWithAct(Plmn("228", "06"), frozenset({"GSM COMPACT"})))),
     "62F010008022F8600040"),
)
EfHplmnwAct.EXAMPLES = (
    (EfHplmnwAct((PlmnWithAct(_POLAND, frozenset({"E-UTRAN", "UTRAN", "GSM"})),)),
     "62F010C080FFFFFF0000"),
)
