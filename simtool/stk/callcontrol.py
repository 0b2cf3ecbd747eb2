"""Call control by USIM: the ENVELOPE (CALL CONTROL) and the card's answer.

ETSI TS 102 223 §7.3.1 / 3GPP TS 31.111 §7.3.1.6: before setting up a call (or sending an SS
or USSD string) a terminal with "Call Control by NAA" in its profile (TS 102 223 §5.2 byte 2
b2) hands the dialled string to the card:

    D4 len | device identities 82 02 82 81 (terminal → UICC) | address 86 … (or SS string 89,
    USSD string 8A) | [capability configuration 87] [subaddress 88] | location information 93

The card answers with response data (TS 102 223 §7.3.1.6, "structure of response data"): one
byte *call control result* — ``00`` allowed, no modification; ``01`` not allowed; ``02``
allowed with modifications — then a BER length and the objects: the modified address / SS
string / USSD string (a USSD string only when the terminal announced "USSD string data object
supported in Call Control by USIM", TS 31.111 §5.2 byte 1 b7), and an alpha identifier to
show.  No response data at all means allowed, no modification.

Both codecs carry their worked examples (:data:`EXAMPLES`, :data:`RESPONSE_EXAMPLES`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from simtool.apdu.tlv import (ComprehensionTlv, ber_decode, ber_encode, ctlv_decode_all,
                              ctlv_encode, decode_length, encode_length)
from simtool.errors import DecodeError
from simtool.stk.dataobject import Device, RawObject
from simtool.stk.dialstrings import Address, SsString, UssdString
from simtool.stk.objects import AlphaIdentifier, DeviceIdentities

CALL_CONTROL_TAG = 0xD4


@dataclass(frozen=True)
class LocationInformation(RawObject):
    """Location information (TS 102 223 §8.19; 3GPP: MCC/MNC, LAC, cell identity)."""

    TAG = 0x13
    NAME = "location information"

    @classmethod
    def of(cls, mcc: str, mnc: str, lac: int, cell: int) -> "LocationInformation":
        """PLMN as TS 24.008 §10.5.1.3 (MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1), LAC, cell id."""
        m3 = int(mnc[2]) if len(mnc) == 3 else 0xF
        plmn = bytes((int(mcc[1]) << 4 | int(mcc[0]), m3 << 4 | int(mcc[2]),
                      int(mnc[1]) << 4 | int(mnc[0])))
        return cls(plmn + lac.to_bytes(2, "big") + cell.to_bytes(2, "big"))


Target = Address | SsString | UssdString
_TARGETS = {Address.TAG: Address, SsString.TAG: SsString, UssdString.TAG: UssdString}


def _terminal_to_uicc() -> DeviceIdentities:
    return DeviceIdentities(Device.TERMINAL, Device.UICC)


def _describe(target: Target | None) -> str:
    if isinstance(target, Address):
        return f"call {target.dialled}"
    if isinstance(target, SsString):
        return f"SS {target.mmi}"
    if isinstance(target, UssdString):
        return f"USSD {target.text}"
    return "nothing"


@dataclass(frozen=True)
class CallControl:
    """ENVELOPE (CALL CONTROL), TS 102 223 §7.3.1.6 / TS 31.111 §7.3.1.6."""

    target: Target
    location: LocationInformation | None = None
    device: DeviceIdentities = field(default_factory=_terminal_to_uicc)
    extra: tuple[ComprehensionTlv, ...] = ()

    @classmethod
    def for_call(cls, number: str, location: LocationInformation | None = None) -> "CallControl":
        return cls(Address.from_dialled(number), location)

    def encode(self) -> bytes:
        objs = [self.device.to_tlv(), self.target.to_tlv()]
        if self.location is not None:
            objs.append(self.location.to_tlv())
        return ber_encode(CALL_CONTROL_TAG, b"".join(ctlv_encode(t) for t in objs
                                                     + list(self.extra)))

    @classmethod
    def decode(cls, data: bytes) -> "CallControl":
        tlv, rest = ber_decode(bytes(data))
        if rest or tlv.tag != CALL_CONTROL_TAG:
            raise DecodeError("not one CALL CONTROL envelope (BER tag D4)")
        return cls.from_objects(ctlv_decode_all(tlv.value))

    @classmethod
    def from_objects(cls, objs) -> "CallControl":
        device = target = location = None
        extra: list[ComprehensionTlv] = []
        for obj in objs:
            if obj.tag == DeviceIdentities.TAG and device is None:
                device = DeviceIdentities.from_tlv(obj)
            elif obj.tag in _TARGETS and target is None:
                target = _TARGETS[obj.tag].from_tlv(obj)
            elif obj.tag == LocationInformation.TAG and location is None:
                location = LocationInformation.from_tlv(obj)
            else:
                extra.append(obj)
        if device is None or target is None:
            raise DecodeError("CALL CONTROL needs device identities and an address, SS string "
                              "or USSD string")
        return cls(target, location, device, tuple(extra))

    def describe(self) -> str:
        return f"CALL CONTROL: {_describe(self.target)}"


class CallControlResult(enum.IntEnum):
    """First byte of the response data (TS 102 223 §7.3.1.6)."""

    ALLOWED = 0x00
    NOT_ALLOWED = 0x01
    ALLOWED_WITH_MODIFICATIONS = 0x02


@dataclass(frozen=True)
class CallControlResponse:
    """The card's answer to CALL CONTROL; ``b""`` decodes as allowed, no modification."""

    result: CallControlResult
    target: Target | None = None
    alpha: AlphaIdentifier | None = None
    extra: tuple[ComprehensionTlv, ...] = ()

    def encode(self) -> bytes:
        objs = ([self.target.to_tlv()] if self.target is not None else []) + \
            ([self.alpha.to_tlv()] if self.alpha is not None else []) + list(self.extra)
        body = b"".join(ctlv_encode(t) for t in objs)
        return bytes((int(self.result),)) + encode_length(len(body)) + body

    @classmethod
    def decode(cls, data: bytes) -> "CallControlResponse":
        data = bytes(data)
        if not data:
            return cls(CallControlResult.ALLOWED)
        try:
            result = CallControlResult(data[0])
        except ValueError:
            raise DecodeError(f"call control result {data[0]:02X} is not 00, 01 or 02") from None
        length, start = decode_length(data, 1)
        if start + length != len(data):
            raise DecodeError(f"call control response: length {length} but "
                              f"{len(data) - start} bytes follow")
        target = alpha = None
        extra: list[ComprehensionTlv] = []
        for obj in ctlv_decode_all(data[start:]):
            if obj.tag in _TARGETS and target is None:
                target = _TARGETS[obj.tag].from_tlv(obj)
            elif obj.tag == AlphaIdentifier.TAG and alpha is None:
                alpha = AlphaIdentifier.from_tlv(obj)
            else:
                extra.append(obj)
        return cls(result, target, alpha, tuple(extra))

    def describe(self) -> str:
        what = {CallControlResult.ALLOWED: "allowed, no modification",
                CallControlResult.NOT_ALLOWED: "not allowed",
                CallControlResult.ALLOWED_WITH_MODIFICATIONS: "allowed with modifications"}
        text = f"call control result: {what[self.result]}"
        if self.target is not None:
            text += f" → {_describe(self.target)}"
        if self.alpha is not None and self.alpha.data:
            text += f" ({self.alpha.text!r})"
        return text


_LOCATION = LocationInformation(bytes.fromhex("62F079 0001 0001".replace(" ", "")))

#: (envelope, hex): the seed 000 example number +48531234567 dialled on a Milo card in
#: MCC 260 / MNC 97, LAC 0001, cell 0001.  Address 91 = international TON, ISDN NPI; the
#: digits 48531234567 in swapped BCD with an F filler (TS 102 223 §8.1).
EXAMPLES: tuple[tuple[CallControl, str], ...] = (
    (CallControl.for_call("+48531234567", _LOCATION),
     "D4 16 82 02 82 81 86 07 91 84 35 21 43 65 F7 93 07 62 F0 79 00 01 00 01"),
    (CallControl.for_call("531234567"),
     "D4 0C 82 02 82 81 86 06 81 35 21 43 65 F7"),
)

#: (response, hex): the call turned into the USSD call-back request *104*+48531234567#
#: (DCS 0F, GSM 7-bit packed, TS 31.111 §8.17) with an alpha identifier; a refusal; "as is".
RESPONSE_EXAMPLES: tuple[tuple[CallControlResponse, str], ...] = (
    (CallControlResponse(CallControlResult.ALLOWED_WITH_MODIFICATIONS,
                         UssdString.from_text("*104*+48531234567#"),
                         AlphaIdentifier.from_text("Call back")),
     "02 1E 8A 11 0F AA 18 8C A6 5A D1 70 B5 59 4C 36 A3 D5 6C B7 11 85 09 43 61 6C 6C 20 62 "
     "61 63 6B"),
    (CallControlResponse(CallControlResult.NOT_ALLOWED), "01 00"),
    (CallControlResponse(CallControlResult.ALLOWED), "00 00"),
)
