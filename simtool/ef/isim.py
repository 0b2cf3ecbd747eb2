"""ADF.ISIM's files (3GPP TS 31.103 §4.2): the IMS identities, the home network domain, the
ISIM service table, the P-CSCF addresses and the administrative data.

IMPI, DOMAIN and IMPU hold one BER-TLV data object with tag '80' whose value is the NAI or URI
in UTF-8 (IETF RFC 3629); the rest of the file or record is 'FF'.  A file or record holding no
data object (all 'FF') decodes to the value None.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from simtool.apdu.tlv import ber_decode_all, ber_encode
from simtool.ef.base import EfCodec, Structure
from simtool.ef.services import ServiceTable
from simtool.errors import DecodeError, EncodeError

#: the tag of the NAI / URI / address data object of EF.IMPI, DOMAIN, IMPU, P-CSCF
TAG_VALUE = 0x80

#: ISIM services, 3GPP TS 31.103 §4.2.7 (service n° -> name).
ISIM_SERVICES: dict[int, str] = {
    1: "P-CSCF address", 2: "Generic Bootstrapping Architecture (GBA)", 3: "HTTP Digest",
    4: "GBA-based Local Key Establishment Mechanism",
    5: "Support of P-CSCF discovery for IMS Local Break Out",
    6: "Short Message Storage (SMS)", 7: "Short Message Status Reports (SMSR)",
    8: "Support for SM-over-IP including data download via SMS-PP",
    9: "Communication Control for IMS by ISIM", 10: "Support of UICC access to IMS",
    11: "URI support by UICC", 12: "Media Type support", 13: "IMS call disconnection cause",
    14: "URI support for MO SHORT MESSAGE CONTROL", 15: "MCPTT",
    16: "URI support for SMS-PP DOWNLOAD", 17: "From Preferred", 18: "IMS configuration data",
    19: "XCAP Configuration Data", 20: "WebRTC URI", 21: "MuD and MiD configuration data",
}


def _tag80_value(cls: type[EfCodec], data: bytes) -> bytes | None:
    """The value of the file's tag-80 data object; None when the file holds none."""
    objs = ber_decode_all(data)
    if not objs:
        return None
    if objs[0].tag != TAG_VALUE:
        raise DecodeError(f"{cls.NAME} holds tag {objs[0].tag:02X}, not 80")
    return objs[0].value


def _utf8(cls: type[EfCodec], raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(f"{cls.NAME} is not UTF-8 text") from None


def _encode_text(codec: EfCodec, text: str | None, size: int | None) -> bytes:
    if text is None:
        return codec._fit(b"", size)
    if not text:
        raise EncodeError(f"{codec.NAME}: an empty identity is written as no data object")
    return codec._fit(ber_encode(TAG_VALUE, text.encode("utf-8")), size)


@dataclass(frozen=True)
class EfImpi(EfCodec):
    """EF.IMPI (6F02, SFI 02): the IMS private user identity, an NAI (TS 23.003 §13.3) in a
    tag-80 data object (3GPP TS 31.103 §4.2.2)."""

    NAME = "EF.IMPI"
    FID = 0x6F02
    SFI = 0x02
    SIZE = 128
    CLAUSE = "3GPP TS 31.103 §4.2.2"

    nai: str | None = None

    @classmethod
    def decode(cls, data: bytes) -> EfImpi:
        return cls(_utf8(cls, _tag80_value(cls, data)))

    def encode(self, size: int | None = None) -> bytes:
        return _encode_text(self, self.nai, size)


@dataclass(frozen=True)
class EfDomain(EfCodec):
    """EF.DOMAIN (6F03, SFI 05): the home network domain name, an FQDN (TS 23.003 §13.2) in a
    tag-80 data object (3GPP TS 31.103 §4.2.3)."""

    NAME = "EF.DOMAIN"
    FID = 0x6F03
    SFI = 0x05
    SIZE = 128
    CLAUSE = "3GPP TS 31.103 §4.2.3"

    domain: str | None = None

    @classmethod
    def decode(cls, data: bytes) -> EfDomain:
        return cls(_utf8(cls, _tag80_value(cls, data)))

    def encode(self, size: int | None = None) -> bytes:
        return _encode_text(self, self.domain, size)


@dataclass(frozen=True)
class EfImpu(EfCodec):
    """One EF.IMPU record (6F04, SFI 04, linear fixed): an IMS public user identity, a SIP or
    tel URI (TS 23.003 §13.4) in a tag-80 data object; the first record is the one used for
    emergency registration and as the default identity (3GPP TS 31.103 §4.2.4)."""

    NAME = "EF.IMPU"
    FID = 0x6F04
    SFI = 0x04
    STRUCTURE = Structure.LINEAR_FIXED
    SIZE = 128
    CLAUSE = "3GPP TS 31.103 §4.2.4"

    uri: str | None = None

    @classmethod
    def decode(cls, data: bytes) -> EfImpu:
        return cls(_utf8(cls, _tag80_value(cls, data)))

    def encode(self, size: int | None = None) -> bytes:
        return _encode_text(self, self.uri, size)


@dataclass(frozen=True)
class EfIst(ServiceTable):
    """EF.IST (6F07, SFI 07 in ADF.ISIM): service n is available when bit (n-1) % 8 (b1 first)
    of byte (n-1) // 8 is set (3GPP TS 31.103 §4.2.7).  Padding is 00 (= not available)."""

    NAME = "EF.IST"
    FID = 0x6F07
    SFI = 0x07
    SIZE = 3
    CLAUSE = "3GPP TS 31.103 §4.2.7"
    SERVICE_NAMES = ISIM_SERVICES


class AddressType(enum.IntEnum):
    """The address type byte of a P-CSCF address data object (3GPP TS 31.103 §4.2.8)."""

    FQDN = 0x00
    IPV4 = 0x01
    IPV6 = 0x02


@dataclass(frozen=True)
class EfPcscf(EfCodec):
    """One EF.P-CSCF record (6F09, linear fixed): tag 80, length, address type (00 FQDN in
    UTF-8, 01 IPv4 in 4 bytes, 02 IPv6 in 16 bytes, most significant byte first), address;
    record 1 is the P-CSCF of highest priority (3GPP TS 31.103 §4.2.8)."""

    NAME = "EF.P-CSCF"
    FID = 0x6F09
    STRUCTURE = Structure.LINEAR_FIXED
    SIZE = 64
    CLAUSE = "3GPP TS 31.103 §4.2.8"

    address: str | None = None
    kind: AddressType = AddressType.FQDN

    @classmethod
    def decode(cls, data: bytes) -> EfPcscf:
        raw = _tag80_value(cls, data)
        if raw is None:
            return cls()
        if not raw:
            raise DecodeError(f"{cls.NAME}: the address data object has no address type")
        try:
            kind = AddressType(raw[0])
        except ValueError:
            raise DecodeError(f"{cls.NAME}: address type {raw[0]:02X} is reserved") from None
        body = raw[1:]
        if kind is AddressType.FQDN:
            return cls(_utf8(cls, body), kind)
        want = 4 if kind is AddressType.IPV4 else 16
        if len(body) != want:
            raise DecodeError(f"{cls.NAME}: an {kind.name} address is {want} bytes, "
                              f"not {len(body)}")
        return cls(str(ipaddress.ip_address(body)), kind)

    def encode(self, size: int | None = None) -> bytes:
        if self.address is None:
            return self._fit(b"", size)
        if self.kind is AddressType.FQDN:
            body = self.address.encode("utf-8")
        else:
            try:
                addr = ipaddress.ip_address(self.address)
            except ValueError:
                raise EncodeError(f"{self.NAME}: {self.address!r} is no IP address") from None
            if addr.version != (4 if self.kind is AddressType.IPV4 else 6):
                raise EncodeError(f"{self.NAME}: {self.address} is not an {self.kind.name} "
                                  "address")
            body = addr.packed
        return self._fit(ber_encode(TAG_VALUE, bytes((self.kind,)) + body), size)


@dataclass(frozen=True)
class EfIsimAd(EfCodec):
    """EF.AD of ADF.ISIM (6FAD, SFI 03): byte 1 UE operation mode (values as TS 31.102
    §4.2.18), bytes 2-3 additional information; further bytes RFU, kept in ``extra``.  Unlike
    the USIM's EF.AD it has no MNC length (3GPP TS 31.103 §4.2.5)."""

    NAME = "EF.AD (ISIM)"
    FID = 0x6FAD
    SFI = 0x03
    SIZE = 3
    CLAUSE = "3GPP TS 31.103 §4.2.5"

    op_mode: int = 0x00
    additional_info: int = 0x0000
    extra: bytes = b""

    @classmethod
    def decode(cls, data: bytes) -> EfIsimAd:
        cls._need(data, 3)
        return cls(data[0], int.from_bytes(data[1:3], "big"), bytes(data[3:]))

    def encode(self, size: int | None = None) -> bytes:
        if not 0 <= self.op_mode <= 0xFF or not 0 <= self.additional_info <= 0xFFFF:
            raise EncodeError(f"{self.NAME}: operation mode or additional information out of range")
        return self._fit(bytes((self.op_mode,)) + self.additional_info.to_bytes(2, "big")
                         + self.extra, size)


# Worked examples.  The identities are those TS 23.003 §13 derives for IMSI 260011234567890
# (MCC 260, MNC 01) and MSISDN +48531234567; the bytes follow the codings quoted above.
_DOMAIN = "ims.mnc001.mcc260.3gppnetwork.org"
_IMPI = f"260011234567890@{_DOMAIN}"
_IMPU = f"sip:+48531234567@{_DOMAIN}"

EfImpi.EXAMPLES = (
    (EfImpi(_IMPI), "8031" + _IMPI.encode().hex()),
    (EfImpi(_IMPI), "8031" + _IMPI.encode().hex() + "FFFFFF"),     # FF padding
    (EfImpi(None), "FFFFFFFF"),                                    # no data object
)
EfDomain.EXAMPLES = (
    (EfDomain(_DOMAIN), "8021" + _DOMAIN.encode().hex()),
    (EfDomain("ims.example.pl"), "800E" + b"ims.example.pl".hex() + "FF"),
)
EfImpu.EXAMPLES = (
    (EfImpu(_IMPU), "8032" + _IMPU.encode().hex()),
    (EfImpu("tel:+48531234567"), "8010" + b"tel:+48531234567".hex() + "FFFF"),
    (EfImpu(None), "FF" * 8),
)
EfIst.EXAMPLES = (
    (EfIst(frozenset({1})), "01"),                   # P-CSCF address
    (EfIst(frozenset({1, 2, 8})), "83"),
    (EfIst(frozenset({1, 10, 12})), "010A00"),       # + UICC access to IMS, media type
    (EfIst(frozenset()), "000000"),
)
EfPcscf.EXAMPLES = (
    (EfPcscf("pcscf.ims.example.pl"), "8015" "00" + b"pcscf.ims.example.pl".hex() + "FFFF"),
    (EfPcscf("192.0.2.10", AddressType.IPV4), "8005" "01" "C000020A"),
    (EfPcscf("2001:db8::1", AddressType.IPV6),
     "8011" "02" "20010DB8000000000000000000000001"),
    (EfPcscf(), "FF" * 6),
)
EfIsimAd.EXAMPLES = (
    (EfIsimAd(0x00, 0x0000), "000000"),              # normal operation
    (EfIsimAd(0x80, 0x0000), "800000"),              # type approval
    (EfIsimAd(0x00, 0x0000, b"\x00"), "00000000"),   # an RFU byte kept
)
