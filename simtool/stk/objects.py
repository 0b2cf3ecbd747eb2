"""COMPREHENSION-TLV data objects of the card application toolkit.

ETSI TS 102 223 §8 (the objects) and 3GPP TS 31.111 §8 (SS string, USSD string, the 3GPP
result values).  One frozen dataclass per object; each knows its tag (without the CR bit),
keeps the CR flag it was sent with, and turns into / out of a
:class:`~simtool.apdu.tlv.ComprehensionTlv`.  Objects carrying text keep the *encoded* bytes
(so a decoded object re-encodes byte for byte) and offer ``.text`` / ``from_text()``.
The base class is in :mod:`simtool.stk.dataobject`, the BCD and USSD strings in
:mod:`simtool.stk.dialstrings`; this module re-exports both.

:data:`EXAMPLES` pairs objects with their spec encodings (sim-facts §4.3, §5.9–§5.12, §7.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from simtool import text as _text
from simtool.apdu.tlv import ComprehensionTlv
from simtool.errors import DecodeError, EncodeError
from simtool.stk.dataobject import (
    DataObject,
    Device,
    EmptyObject,
    GeneralResult,
    RawObject,
    check_byte,
    check_bytes,
    check_length,
    describe_text,
)
from simtool.stk.dialstrings import (
    USSD_DCS_GSM7,
    USSD_DCS_UCS2,
    Address,
    SsString,
    UssdString,
    bcd_decode,
    bcd_encode,
)

__all__ = [
    "USSD_DCS_GSM7", "USSD_DCS_UCS2", "Address", "AlphaIdentifier",
    "CapabilityConfigurationParameters", "CommandDetails", "ComprehensionTlv", "DataObject",
    "DefaultText", "Device", "DeviceIdentities", "Duration", "EXAMPLES", "GeneralResult",
    "HelpRequest", "IconIdentifier", "ImmediateResponse", "Item", "ItemIconIdentifierList",
    "ItemIdentifier", "ItemsNextActionIndicator", "OBJECT_TYPES", "ResponseLength", "Result",
    "SsString", "Subaddress", "TextAttribute", "TextString", "UssdString", "bcd_decode",
    "bcd_encode", "decode_object", "describe_text",
]


# --- TS 102 223 §8.6, §8.7, §8.8, §8.12 ------------------------------------------------------


@dataclass(frozen=True)
class CommandDetails(DataObject):
    """Command details (TS 102 223 §8.6): number, type of command, qualifier."""

    TAG = 0x01
    NAME = "command details"
    number: int
    type_of_command: int
    qualifier: int = 0

    def __post_init__(self) -> None:
        check_byte("command number", self.number)
        check_byte("type of command", self.type_of_command)
        check_byte("command qualifier", self.qualifier)

    def value(self) -> bytes:
        return bytes((self.number, self.type_of_command, self.qualifier))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 3)
        return cls(value[0], value[1], value[2], cr=cr)


@dataclass(frozen=True)
class DeviceIdentities(DataObject):
    """Device identities (TS 102 223 §8.7): source and destination device."""

    TAG = 0x02
    NAME = "device identities"
    source: int
    destination: int

    def __post_init__(self) -> None:
        check_byte("source device", self.source)
        check_byte("destination device", self.destination)

    def value(self) -> bytes:
        return bytes((self.source, self.destination))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 2)
        return cls(value[0], value[1], cr=cr)


@dataclass(frozen=True)
class Result(DataObject):
    """Result (TS 102 223 §8.12): general result + additional information."""

    TAG = 0x03
    NAME = "result"
    general: int
    additional: bytes = b""

    def __post_init__(self) -> None:
        check_byte("general result", self.general)
        check_bytes("additional information", self.additional)

    @property
    def meaning(self) -> str:
        try:
            return GeneralResult(self.general).name.replace("_", " ").lower()
        except ValueError:
            return f"result {self.general:02X}"

    @property
    def performed(self) -> bool:
        """0x results: the command was performed (TS 102 223 §8.12)."""
        return self.general < 0x10

    def value(self) -> bytes:
        return bytes((self.general,)) + self.additional

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            raise DecodeError("result object is empty: the general result byte is mandatory")
        return cls(value[0], bytes(value[1:]), cr=cr)


@dataclass(frozen=True)
class Duration(DataObject):
    """Duration (TS 102 223 §8.8): time unit (00 min, 01 s, 02 tenths) + interval."""

    TAG = 0x04
    NAME = "duration"
    unit: int
    interval: int

    def __post_init__(self) -> None:
        check_byte("time unit", self.unit)
        check_byte("time interval", self.interval)

    def value(self) -> bytes:
        return bytes((self.unit, self.interval))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 2)
        return cls(value[0], value[1], cr=cr)


# --- text-bearing objects ----------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaIdentifier(DataObject):
    """Alpha identifier (TS 102 223 §8.2): EF alpha coding (GSM unpacked or UCS2 80/81/82).

    ``data`` is the encoded alpha; empty = null alpha identifier."""

    TAG = 0x05
    NAME = "alpha identifier"
    data: bytes = b""

    def __post_init__(self) -> None:
        check_bytes("alpha identifier", self.data)

    @classmethod
    def from_text(cls, text: str, *, cr: bool = True) -> Self:
        return cls(_text.encode_alpha(text), cr=cr)

    @property
    def text(self) -> str:
        return _text.decode_alpha(self.data)

    def value(self) -> bytes:
        return self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        return cls(value, cr=cr)


@dataclass(frozen=True)
class TextString(DataObject):
    """Text string (TS 102 223 §8.15): DCS (TS 23.038 §4) + text.

    ``dcs=None`` is the null text string (length 0).  A TERMINAL RESPONSE to SEND USSD may
    carry a CBS-style DCS; ``text`` reads the SMS coding first, CBS for reserved SMS values."""

    TAG = 0x0D
    NAME = "text string"
    dcs: int | None = None
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.dcs is None:
            if self.data:
                raise EncodeError(f"{self.NAME}: a null text string has no data")
        else:
            check_byte(f"{self.NAME} DCS", self.dcs)
        check_bytes(self.NAME, self.data)

    @classmethod
    def from_text(cls, text: str, *, packed: bool = False, cr: bool = True) -> Self:
        dcs, data = _text.encode_text_string(text, packed=packed)
        return cls(dcs, data, cr=cr)

    @classmethod
    def ucs2(cls, text: str, *, cr: bool = True) -> Self:
        """Text forced into UCS2 (DCS 08), as GET INPUT in UCS2 mode returns it."""
        return cls(_text.DCS_UCS2, text.encode("utf-16-be"), cr=cr)

    @property
    def text(self) -> str:
        if self.dcs is None:
            return ""
        # SMS groups 00xx with alphabet bits 11 are reserved: read them as CBS (e.g. 0F).
        cbs = self.dcs >> 6 == 0 and self.dcs & 0x0C == 0x0C
        if _text.dcs_alphabet(self.dcs, cbs=cbs) is not _text.Alphabet.GSM7_PACKED:
            return _text.decode_text_string(self.dcs, self.data, cbs=cbs)
        septets = _text.gsm7_unpack(self.data, cr_padding=True)
        if septets and septets[-1] == 0 and 7 * len(septets) == 8 * len(self.data):
            septets = septets[:-1]  # 7 zero fill bits, not '@' (no septet count in §8.15)
        return _text.decode_gsm7(septets)

    def value(self) -> bytes:
        return b"" if self.dcs is None else bytes((self.dcs,)) + self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            return cls(None, cr=cr)
        return cls(value[0], bytes(value[1:]), cr=cr)


@dataclass(frozen=True)
class DefaultText(TextString):
    """Default text (TS 102 223 §8.23): coded as a text string."""

    TAG = 0x17
    NAME = "default text"
    cr: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class Item(DataObject):
    """Item (TS 102 223 §8.9): identifier + item text (EF alpha coding).

    ``identifier=None`` is the null item (length 0): SET UP MENU with it removes the menu."""

    TAG = 0x0F
    NAME = "item"
    identifier: int | None
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.identifier is None:
            if self.data:
                raise EncodeError("a null item has no text")
        else:
            check_byte("item identifier", self.identifier)
        check_bytes("item text", self.data)

    @classmethod
    def from_text(cls, identifier: int, text: str, *, cr: bool = True) -> Self:
        return cls(identifier, _text.encode_alpha(text), cr=cr)

    @property
    def text(self) -> str:
        return _text.decode_alpha(self.data)

    def value(self) -> bytes:
        return b"" if self.identifier is None else bytes((self.identifier,)) + self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            return cls(None, cr=cr)
        return cls(value[0], bytes(value[1:]), cr=cr)


# --- small objects -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemIdentifier(DataObject):
    """Item identifier (TS 102 223 §8.10): the chosen / default item."""

    TAG = 0x10
    NAME = "item identifier"
    identifier: int

    def __post_init__(self) -> None:
        check_byte(self.NAME, self.identifier)

    def value(self) -> bytes:
        return bytes((self.identifier,))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 1)
        return cls(value[0], cr=cr)


@dataclass(frozen=True)
class ResponseLength(DataObject):
    """Response length (TS 102 223 §8.11): minimum and maximum input length."""

    TAG = 0x11
    NAME = "response length"
    minimum: int
    maximum: int

    def __post_init__(self) -> None:
        check_byte("minimum length", self.minimum)
        check_byte("maximum length", self.maximum)

    def value(self) -> bytes:
        return bytes((self.minimum, self.maximum))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 2)
        return cls(value[0], value[1], cr=cr)


@dataclass(frozen=True)
class HelpRequest(EmptyObject):
    """Help request (TS 102 223 §8.21): no value."""

    TAG = 0x15
    NAME = "help request"


@dataclass(frozen=True)
class ItemsNextActionIndicator(RawObject):
    """Items next action indicator (TS 102 223 §8.24): one type-of-command byte per item."""

    TAG = 0x18
    NAME = "items next action indicator"
    cr: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class IconIdentifier(DataObject):
    """Icon identifier (TS 102 223 §8.31): qualifier (b1: 1 = not self-explanatory) + record."""

    TAG = 0x1E
    NAME = "icon identifier"
    qualifier: int
    record: int

    def __post_init__(self) -> None:
        check_byte("icon qualifier", self.qualifier)
        check_byte("icon record number", self.record)

    def value(self) -> bytes:
        return bytes((self.qualifier, self.record))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 2)
        return cls(value[0], value[1], cr=cr)


@dataclass(frozen=True)
class ItemIconIdentifierList(DataObject):
    """Item icon identifier list (TS 102 223 §8.32): qualifier + one EF.IMG record per item."""

    TAG = 0x1F
    NAME = "item icon identifier list"
    qualifier: int
    records: bytes = b""

    def __post_init__(self) -> None:
        check_byte("icon list qualifier", self.qualifier)
        check_bytes("icon records", self.records)

    def value(self) -> bytes:
        return bytes((self.qualifier,)) + self.records

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            raise DecodeError("item icon identifier list is empty: the qualifier is mandatory")
        return cls(value[0], bytes(value[1:]), cr=cr)


@dataclass(frozen=True)
class ImmediateResponse(EmptyObject):
    """Immediate response (TS 102 223 §8.43): no value."""

    TAG = 0x2B
    NAME = "immediate response"


@dataclass(frozen=True)
class Subaddress(RawObject):
    """Subaddress (TS 102 223 §8.3), kept raw."""

    TAG = 0x08
    NAME = "subaddress"


@dataclass(frozen=True)
class CapabilityConfigurationParameters(RawObject):
    """Capability configuration parameters (TS 102 223 §8.4), kept raw."""

    TAG = 0x07
    NAME = "capability configuration parameters"


@dataclass(frozen=True)
class TextAttribute(RawObject):
    """Text attribute (TS 102 223 §8.72): 4-byte formatting entries, kept raw."""

    TAG = 0x50
    NAME = "text attribute"
    cr: bool = field(default=False, kw_only=True)


#: Every typed object, by tag (without the CR bit).
OBJECT_TYPES: dict[int, type[DataObject]] = {
    cls.TAG: cls
    for cls in (CommandDetails, DeviceIdentities, Result, Duration, AlphaIdentifier, Address,
                CapabilityConfigurationParameters, Subaddress, SsString, UssdString, TextString,
                Item, ItemIdentifier, ResponseLength, HelpRequest, DefaultText,
                ItemsNextActionIndicator, IconIdentifier, ItemIconIdentifierList,
                ImmediateResponse, TextAttribute)
}


def decode_object(tlv: ComprehensionTlv) -> DataObject | ComprehensionTlv:
    """The typed object for a known tag, else the raw TLV unchanged."""
    cls = OBJECT_TYPES.get(tlv.tag)
    return tlv if cls is None else cls.from_tlv(tlv)


#: (object, hex) pairs from the specs; one generic test walks them both ways.
EXAMPLES: tuple[tuple[DataObject, str], ...] = (
    # sim-facts §5.9 (TS 102 223 §8.6, §8.7, §8.2, §8.9)
    (CommandDetails(1, 0x25, 0), "81 03 01 25 00"),
    (DeviceIdentities(Device.UICC, Device.TERMINAL), "82 02 81 82"),
    (AlphaIdentifier(b"Menu"), "85 04 4D 65 6E 75"),
    (Item(1, b"Saldo konta"), "8F 0C 01 53 61 6C 64 6F 20 6B 6F 6E 74 61"),
    (Item(2, bytes.fromhex("810B02446FC261646F77616E6965")),
     "8F 0F 02 81 0B 02 44 6F C2 61 64 6F 77 61 6E 69 65"),
    (Result(0), "83 01 00"),
    # sim-facts §5.10 (TS 102 223 §8.10, §8.21)
    (ItemIdentifier(2), "90 01 02"),
    (HelpRequest(), "95 00"),
    # sim-facts §5.11 (TS 31.111 §8.17): "*108#" packed, DCS 0F
    (UssdString(0x0F, bytes.fromhex("AA180C3702")), "8A 06 0F AA 18 0C 37 02"),
    # sim-facts §5.12 / §4.3 (TS 102 223 §8.15)
    (TextString(0x04, b"Saldo: 12,50 zl"),
     "8D 10 04 53 61 6C 64 6F 3A 20 31 32 2C 35 30 20 7A 6C"),
    (TextString(0x00, bytes.fromhex("D3 30 9B FC D6 81 62 32 56 0D 06 D2 B3 01")),
     "8D 0F 00 D3 30 9B FC D6 81 62 32 56 0D 06 D2 B3 01"),
    (TextString(None), "8D 00"),
    (Result(0x37, b"\x12"), "83 02 37 12"),
    # SS strings, TS 31.111 §8.14: sim-facts §7.5, and a SEND SS conformance-test string
    (SsString("*#21#"), "89 04 FF BA 12 FB"),
    (SsString("**21*01234567890123456789*10#", 0x91),
     "89 10 91 AA 12 0A 21 43 65 87 09 21 43 65 87 A9 01 FB"),
    (ResponseLength(5, 5), "91 02 05 05"),
    (DefaultText(0x04, b"12345"), "17 06 04 31 32 33 34 35"),
    (IconIdentifier(0, 1, cr=False), "1E 02 00 01"),
)
