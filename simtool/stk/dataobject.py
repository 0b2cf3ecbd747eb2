"""The base of the COMPREHENSION-TLV data objects (ETSI TS 102 223 §8, TS 101 220 §7.1.1).

Every typed object is a frozen dataclass with a tag (without the CR bit) that keeps the CR
flag it was sent with and turns into / out of a :class:`~simtool.apdu.tlv.ComprehensionTlv`.
The objects themselves are in :mod:`simtool.stk.objects` (which re-exports this module).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, Self

from simtool.apdu.tlv import ComprehensionTlv, ctlv_decode_all, ctlv_encode
from simtool.errors import DecodeError, EncodeError


class Device(enum.IntEnum):
    """Device identities (TS 102 223 §8.7)."""

    KEYPAD = 0x01
    DISPLAY = 0x02
    EARPIECE = 0x03
    UICC = 0x81
    TERMINAL = 0x82
    NETWORK = 0x83


class GeneralResult(enum.IntEnum):
    """General result, first byte of the RESULT object (TS 102 223 §8.12, TS 31.111 §8.12)."""

    OK = 0x00
    PARTIAL_COMPREHENSION = 0x01
    MISSING_INFORMATION = 0x02
    REFRESH_ADDITIONAL_EFS_READ = 0x03
    OK_ICON_NOT_DISPLAYED = 0x04
    OK_MODIFIED_BY_CALL_CONTROL = 0x05
    OK_LIMITED_SERVICE = 0x06
    OK_WITH_MODIFICATION = 0x07
    SESSION_TERMINATED_BY_USER = 0x10
    BACKWARD_MOVE = 0x11
    NO_RESPONSE_FROM_USER = 0x12
    HELP_REQUIRED = 0x13
    USSD_SS_TERMINATED_BY_USER = 0x14
    TERMINAL_UNABLE = 0x20
    NETWORK_UNABLE = 0x21
    USER_DID_NOT_ACCEPT = 0x22
    USER_CLEARED_CALL = 0x23
    BEYOND_TERMINAL_CAPABILITIES = 0x30
    TYPE_NOT_UNDERSTOOD = 0x31
    DATA_NOT_UNDERSTOOD = 0x32
    NUMBER_NOT_KNOWN = 0x33
    SS_RETURN_ERROR = 0x34
    SMS_RP_ERROR = 0x35
    REQUIRED_VALUES_MISSING = 0x36
    USSD_RETURN_ERROR = 0x37


def check_byte(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFF:
        raise EncodeError(f"{name} must be a byte 0..255, got {value!r}")


def check_bytes(name: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise EncodeError(f"{name} must be bytes, got {type(value).__name__}")


def check_length(name: str, value: bytes, n: int) -> None:
    if len(value) != n:
        raise DecodeError(f"{name} value must be {n} bytes, got {len(value)}")


@dataclass(frozen=True)
class DataObject:
    """Base of the typed COMPREHENSION-TLV objects (TS 102 223 §8, TS 101 220 §7.1.1)."""

    TAG: ClassVar[int]
    NAME: ClassVar[str]
    cr: bool = field(default=True, kw_only=True)

    def value(self) -> bytes:
        """The value part of the object."""
        raise EncodeError(f"{type(self).__name__} has no value coding")

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        raise DecodeError(f"{cls.__name__} has no value decoding")

    def to_tlv(self) -> ComprehensionTlv:
        return ComprehensionTlv(self.TAG, self.value(), self.cr)

    def encode(self) -> bytes:
        return ctlv_encode(self.to_tlv())

    @classmethod
    def from_tlv(cls, tlv: ComprehensionTlv) -> Self:
        if tlv.tag != cls.TAG:
            raise DecodeError(f"{cls.NAME}: expected tag {cls.TAG:02X}, got {tlv.tag:02X}")
        return cls.from_value(bytes(tlv.value), cr=tlv.cr)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode exactly one COMPREHENSION-TLV object of this class."""
        objs = ctlv_decode_all(data)
        if len(objs) != 1:
            raise DecodeError(f"{cls.NAME}: expected one object, got {len(objs)}")
        return cls.from_tlv(objs[0])


@dataclass(frozen=True)
class EmptyObject(DataObject):
    """An object whose presence is the information (help request, immediate response)."""

    def value(self) -> bytes:
        return b""

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        check_length(cls.NAME, value, 0)
        return cls(cr=cr)


@dataclass(frozen=True)
class RawObject(DataObject):
    """An object kept as its raw value (no finer structure needed by simtool)."""

    data: bytes = b""

    def __post_init__(self) -> None:
        check_bytes(f"{self.NAME} data", self.data)

    def value(self) -> bytes:
        return self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        return cls(value, cr=cr)


def describe_text(text: str, limit: int = 60) -> str:
    """A quoted, shortened text for one-line descriptions."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")
