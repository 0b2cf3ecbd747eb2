"""Who the card is: EF.ICCID, EF.IMSI, EF.AD, EF.ACC and EF.SPN."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from stdnum import luhn

from simtool.ef.base import EfCodec
from simtool.ef.bcd import decode_bcd, encode_bcd
from simtool.ef.network import Plmn
from simtool.errors import DataError, DecodeError, EncodeError
from simtool.text import decode_alpha, encode_alpha

# --- ICCID ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Iccid:
    """An ICCID (ITU-T E.118 §4): up to 20 decimal digits, the last one a Luhn check digit.

    The check digit is not enforced here (cards in the field carry bad ones); see
    :attr:`check_digit_valid` and :func:`iccid_with_check`."""

    digits: str

    def __post_init__(self) -> None:
        if not (1 <= len(self.digits) <= 20 and self.digits.isascii() and self.digits.isdigit()):
            raise DataError(f"ICCID {self.digits!r} must be 1 to 20 decimal digits")

    @property
    def check_digit_valid(self) -> bool:
        """Luhn check (ISO/IEC 7812-1 Annex B) over all digits, check digit included."""
        return len(self.digits) > 1 and luhn.is_valid(self.digits)

    def __str__(self) -> str:
        return self.digits


def iccid_with_check(payload: str) -> Iccid:
    """The ICCID made of ``payload`` (≤ 19 digits) and its Luhn check digit (E.118 §4)."""
    if not (1 <= len(payload) <= 19 and payload.isascii() and payload.isdigit()):
        raise DataError(f"ICCID payload {payload!r} must be 1 to 19 decimal digits")
    return Iccid(payload + luhn.calc_check_digit(payload))


@dataclass(frozen=True)
class EfIccid(EfCodec):
    """EF.ICCID (2FE2): 10 bytes, swapped BCD, F-padded (ETSI TS 102 221 §13.2)."""

    NAME = "EF.ICCID"
    FID = 0x2FE2
    SFI = 0x02
    SIZE = 10
    CLAUSE = "ETSI TS 102 221 §13.2; 3GPP TS 51.011 §10.1.1"

    iccid: Iccid

    @classmethod
    def decode(cls, data: bytes, *, check_luhn: bool = False) -> EfIccid:
        cls._need(data, 10)
        digits = decode_bcd(data[:10], what=cls.NAME)
        if not digits:
            raise DecodeError(f"{cls.NAME} is empty (all F)")
        iccid = Iccid(digits)
        if check_luhn and not iccid.check_digit_valid:
            raise DecodeError(f"{cls.NAME}: ICCID {digits} fails the Luhn check")
        return cls(iccid)

    def encode(self, size: int | None = None) -> bytes:
        return self._fit(self._fit(encode_bcd(self.iccid.digits), 10), size)


EfIccid.EXAMPLES = (
    # sim-facts §3.1 (payload 894801123456789012, Luhn check 8)
    (EfIccid(Iccid("8948011234567890128")), "988410214365870921F8"),
    # pySim ts_51_011 EF.ICCID vector (a 19-digit sysmocom ICCID)
    (EfIccid(Iccid("8988211000000430010")), "988812010000400310F0"),
    # 20-digit ICCID, no padding nibble
    (EfIccid(Iccid("89445310150011013678")), "98443501510011106387"),
)


# --- IMSI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imsi:
    """An IMSI (3GPP TS 23.003 §2.2): MCC (3) + MNC (2 or 3) + MSIN, at most 15 digits."""

    digits: str

    def __post_init__(self) -> None:
        if not (6 <= len(self.digits) <= 15 and self.digits.isascii() and self.digits.isdigit()):
            raise DataError(f"IMSI {self.digits!r} must be 6 to 15 decimal digits")

    @property
    def mcc(self) -> str:
        return self.digits[:3]

    def plmn(self, mnc_length: int) -> Plmn:
        """The home PLMN; the MNC length is not in the IMSI (it is in EF.AD byte 4)."""
        return Plmn(self.mcc, self.digits[3 : 3 + mnc_length])

    def __str__(self) -> str:
        return self.digits


@dataclass(frozen=True)
class EfImsi(EfCodec):
    """EF.IMSI (6F07): length byte, then the IMSI in swapped BCD after a parity/type nibble.

    Byte 2 low nibble: b4 = 1 for an odd digit count, b3..b1 = 001 (IMSI); the F filler ends
    an even count (3GPP TS 31.102 §4.2.2; TS 24.008 §10.5.1.4)."""

    NAME = "EF.IMSI"
    FID = 0x6F07
    SFI = 0x07
    SIZE = 9
    CLAUSE = "3GPP TS 31.102 §4.2.2; 3GPP TS 51.011 §10.3.2"

    imsi: Imsi

    @classmethod
    def decode(cls, data: bytes) -> EfImsi:
        cls._need(data, 1)
        length = data[0]
        if length == 0xFF:
            raise DecodeError(f"{cls.NAME} is empty (length byte FF)")
        if not 1 <= length <= 8 or len(data) < 1 + length:
            raise DecodeError(f"{cls.NAME}: length byte {length:02X} does not fit "
                              f"{len(data)} bytes")
        body = data[1 : 1 + length]
        head = body[0] & 0x0F
        if head & 0x07 != 0x01:
            raise DecodeError(f"{cls.NAME}: identity type {head & 7} is not IMSI (1)")
        first = body[0] >> 4
        if first > 9:
            raise DecodeError(f"{cls.NAME}: first digit nibble {first:X} is not a digit")
        digits = str(first) + decode_bcd(body[1:], what=cls.NAME)
        odd = bool(head & 0x08)
        if odd != (len(digits) % 2 == 1):
            raise DecodeError(f"{cls.NAME}: parity nibble says {'odd' if odd else 'even'} but "
                              f"{len(digits)} digits follow")
        try:
            return cls(Imsi(digits))
        except DataError as exc:
            raise DecodeError(f"{cls.NAME}: {exc}") from None

    def encode(self, size: int | None = None) -> bytes:
        digits = self.imsi.digits
        parity = 0x9 if len(digits) % 2 else 0x1
        body = bytes([parity | int(digits[0]) << 4]) + encode_bcd(digits[1:])
        return self._fit(bytes([len(body)]) + body, size)


EfImsi.EXAMPLES = (
    (EfImsi(Imsi("260011234567890")), "082906102143658709"),  # sim-facts §3.2
    (EfImsi(Imsi("26001123456789")), "0821061021436587F9"),  # even count
    (EfImsi(Imsi("228062800000208")), "082982608200002080"),  # pySim ts_51_011
    (EfImsi(Imsi("262011106487504")), "082926101160845740"),  # pySim ts_51_011
    # test PLMN 001-01.  sim-facts §3.2 lists "08 09 10 10 00 00 00 01 20" for this IMSI, but
    # those bytes are IMSI 001010000001002 (digits 12/13 swapped); recomputed here by hand.
    (EfImsi(Imsi("001010000000102")), "080910100000001020"),
)


# --- EF.AD ------------------------------------------------------------------------------------


class OperationMode(enum.IntEnum):
    """EF.AD byte 1 (3GPP TS 31.102 §4.2.18)."""

    NORMAL = 0x00
    TYPE_APPROVAL = 0x80
    NORMAL_SPECIFIC = 0x01
    TYPE_APPROVAL_SPECIFIC = 0x81
    MAINTENANCE = 0x02
    CELL_TEST = 0x04


@dataclass(frozen=True)
class EfAd(EfCodec):
    """EF.AD (6FAD): operation mode, additional information, MNC length.

    Byte 1 UE operation mode; bytes 2-3 additional information (byte 3 b1 = ciphering
    indicator); byte 4 b4..b1 = number of MNC digits in the IMSI (absent on old 3-byte SIM
    files: ``mnc_length=None``); further bytes RFU, kept in ``extra``
    (3GPP TS 31.102 §4.2.18; TS 51.011 §10.3.18)."""

    NAME = "EF.AD"
    FID = 0x6FAD
    SFI = 0x03
    SIZE = 4
    CLAUSE = "3GPP TS 31.102 §4.2.18; 3GPP TS 51.011 §10.3.18"

    op_mode: int = OperationMode.NORMAL
    additional_info: int = 0x0000
    mnc_length: int | None = 2
    extra: bytes = b""

    @property
    def ciphering_indicator(self) -> bool:
        return bool(self.additional_info & 0x0001)

    @classmethod
    def decode(cls, data: bytes) -> EfAd:
        cls._need(data, 3)
        mode = OperationMode(data[0]) if data[0] in OperationMode._value2member_map_ else data[0]
        info = int.from_bytes(data[1:3], "big")
        if len(data) == 3:
            return cls(mode, info, None)
        return cls(mode, info, data[3] & 0x0F, bytes(data[4:]))

    def encode(self, size: int | None = None) -> bytes:
        if not 0 <= self.op_mode <= 0xFF or not 0 <= self.additional_info <= 0xFFFF:
            raise EncodeError(f"{self.NAME}: operation mode or additional information out of range")
        out = bytes([self.op_mode]) + self.additional_info.to_bytes(2, "big")
        if self.mnc_length is None:
            if self.extra:
                raise EncodeError(f"{self.NAME}: bytes after byte 4 need an MNC length")
        elif not 0 <= self.mnc_length <= 0x0F:
            raise EncodeError(f"{self.NAME}: MNC length {self.mnc_length} does not fit a nibble")
        else:
            out += bytes([self.mnc_length]) + self.extra
        return self._fit(out, size)


EfAd.EXAMPLES = (
    (EfAd(OperationMode.NORMAL, 0, 2), "00000002"),  # sim-facts §3.5, Poland 260-01
    (EfAd(OperationMode.TYPE_APPROVAL, 0, 3), "80000003"),  # sim-facts §3.5
    (EfAd(OperationMode.NORMAL, 0xFFFF, None), "00FFFF"),  # pySim ts_51_011 (3-byte SIM file)
)


# --- EF.ACC -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EfAcc(EfCodec):
    """EF.ACC (6F78): access control classes, byte 1 = ACC15..ACC8, byte 2 = ACC7..ACC0.

    3GPP TS 31.102 §4.2.15; classes per TS 22.011 §4.2 (0-9 random, 11-15 special;
    10 is only broadcast by the network)."""

    NAME = "EF.ACC"
    FID = 0x6F78
    SFI = 0x06
    SIZE = 2
    CLAUSE = "3GPP TS 31.102 §4.2.15; 3GPP TS 51.011 §10.3.15"

    classes: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        classes = frozenset(self.classes)
        if any(not isinstance(c, int) or not 0 <= c <= 15 for c in classes):
            raise EncodeError(f"{self.NAME}: access classes must be 0..15, got {sorted(classes)}")
        object.__setattr__(self, "classes", classes)

    @classmethod
    def decode(cls, data: bytes) -> EfAcc:
        cls._need(data, 2)
        bits = int.from_bytes(data[:2], "big")
        return cls(frozenset(c for c in range(16) if bits >> c & 1))

    def encode(self, size: int | None = None) -> bytes:
        bits = sum(1 << c for c in self.classes)
        return self._fit(bits.to_bytes(2, "big"), size)


def acc_for_imsi(imsi: Imsi | str) -> EfAcc:
    """The provisioning convention ACC = 1 << (last IMSI digit) (operator practice, not a
    spec rule: TS 22.011 §4.2 only says classes 0-9 are allocated at random)."""
    digits = imsi.digits if isinstance(imsi, Imsi) else Imsi(imsi).digits
    return EfAcc(frozenset({int(digits[-1])}))


EfAcc.EXAMPLES = (
    (EfAcc(frozenset({0})), "0001"),  # sim-facts §3.6: IMSI ...0
    (EfAcc(frozenset({1})), "0002"),
    (EfAcc(frozenset({7})), "0080"),
    (EfAcc(frozenset({8})), "0100"),
    (EfAcc(frozenset({9})), "0200"),
    (EfAcc(frozenset()), "0000"),
    (EfAcc(frozenset({15})), "8000"),  # pySim ts_51_011
    (EfAcc(frozenset({0, 1, 3, 5, 15})), "802B"),  # pySim ts_51_011
)


# --- EF.SPN -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EfSpn(EfCodec):
    """EF.SPN (6F46): display condition byte + service provider name (16 bytes, alpha coding
    of ETSI TS 102 221 Annex A, FF-padded).

    Display condition b1 = 1: the registered PLMN name must be shown in the HPLMN / SPDI list;
    b2 = 1: the SPN need not be shown outside them; b3..b8 RFU (3GPP TS 31.102 §4.2.12)."""

    NAME = "EF.SPN"
    FID = 0x6F46
    SIZE = 17
    CLAUSE = "3GPP TS 31.102 §4.2.12; 3GPP TS 51.011 §10.3.11"

    name: str
    display_condition: int = 0x00

    @property
    def show_plmn_name(self) -> bool:
        return bool(self.display_condition & 0x01)

    @property
    def spn_optional_when_roaming(self) -> bool:
        return bool(self.display_condition & 0x02)

    @classmethod
    def decode(cls, data: bytes) -> EfSpn:
        cls._need(data, 1)
        return cls(decode_alpha(data[1:]), data[0])

    def encode(self, size: int | None = None) -> bytes:
        if not 0 <= self.display_condition <= 0xFF:
            raise EncodeError(f"{self.NAME}: display condition {self.display_condition} "
                              "is not a byte")
        limit = (size or self.SIZE) - 1
        return self._fit(bytes([self.display_condition]) + encode_alpha(self.name, limit), size)


EfSpn.EXAMPLES = (
    (EfSpn("Play", 0x01), "01506C6179FFFFFFFFFFFFFFFFFFFFFFFF"),  # sim-facts §3.3
    (EfSpn("GSM-R CH", 0x01), "0147534D2D52204348FFFFFFFFFFFFFFFF"),  # pySim ts_51_011
    (EfSpn("Łódź", 0x00), "0080014100F30064017AFFFFFFFFFFFFFF"),  # sim-facts §3.3, UCS2 80
)
