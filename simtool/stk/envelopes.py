"""ENVELOPE commands from the terminal to the card (APDU 80 C2).

ETSI TS 102 223 §7: each envelope is one BER-TLV (TS 101 220 §7.2) holding
COMPREHENSION-TLV objects.  simtool models MENU SELECTION (D3, §7.2); other envelopes
decode to :class:`UnknownEnvelope` with their objects kept raw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simtool.apdu.tlv import ComprehensionTlv, ber_decode, ber_encode, ctlv_decode_all, ctlv_encode
from simtool.errors import DecodeError
from simtool.stk.objects import Device, DeviceIdentities, HelpRequest, ItemIdentifier

MENU_SELECTION_TAG = 0xD3


def _keypad_to_uicc() -> DeviceIdentities:
    return DeviceIdentities(Device.KEYPAD, Device.UICC)


@dataclass(frozen=True)
class MenuSelection:
    """MENU SELECTION (TS 102 223 §7.2): device identities (keypad -> UICC), the chosen item,
    and a help request when the user asked for help on it."""

    item: ItemIdentifier
    help_request: HelpRequest | None = None
    device: DeviceIdentities = field(default_factory=_keypad_to_uicc)
    extra: tuple[ComprehensionTlv, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", tuple(self.extra))

    @classmethod
    def of(cls, item_id: int, *, help: bool = False) -> MenuSelection:
        return cls(ItemIdentifier(item_id), HelpRequest() if help else None)

    @property
    def item_id(self) -> int:
        return self.item.identifier

    @property
    def help_requested(self) -> bool:
        return self.help_request is not None

    def encode(self) -> bytes:
        objs = [self.device.to_tlv(), self.item.to_tlv()]
        if self.help_request is not None:
            objs.append(self.help_request.to_tlv())
        body = b"".join(ctlv_encode(t) for t in objs + list(self.extra))
        return ber_encode(MENU_SELECTION_TAG, body)

    def describe(self) -> str:
        return f"MENU SELECTION item {self.item_id}" + (" (help)" if self.help_requested else "")


@dataclass(frozen=True)
class UnknownEnvelope:
    """An envelope simtool does not model (SMS-PP download, event download, ...)."""

    tag: int
    objects: tuple[ComprehensionTlv, ...] = ()

    def encode(self) -> bytes:
        return ber_encode(self.tag, b"".join(ctlv_encode(t) for t in self.objects))

    def describe(self) -> str:
        return f"ENVELOPE {self.tag:02X} with {len(self.objects)} objects"


Envelope = MenuSelection | UnknownEnvelope


def decode_envelope(data: bytes) -> Envelope:
    """Decode the data of an ENVELOPE APDU."""
    tlv, rest = ber_decode(data)
    if rest:
        raise DecodeError(f"{len(rest)} bytes after the envelope")
    if not 0xD1 <= tlv.tag <= 0xDF:
        raise DecodeError(f"envelope tag {tlv.tag:02X} is not one of D1..DF (TS 101 220 §7.2)")
    objs = ctlv_decode_all(tlv.value)
    if tlv.tag != MENU_SELECTION_TAG:
        return UnknownEnvelope(tlv.tag, tuple(objs))
    device = item = help_request = None
    extra: list[ComprehensionTlv] = []
    for obj in objs:
        if obj.tag == DeviceIdentities.TAG and device is None:
            device = DeviceIdentities.from_tlv(obj)
        elif obj.tag == ItemIdentifier.TAG and item is None:
            item = ItemIdentifier.from_tlv(obj)
        elif obj.tag == HelpRequest.TAG and help_request is None:
            help_request = HelpRequest.from_tlv(obj)
        else:
            extra.append(obj)
    if device is None or item is None:
        raise DecodeError("MENU SELECTION needs device identities and an item identifier")
    return MenuSelection(item, help_request, device, tuple(extra))


#: (envelope, hex) pairs from sim-facts §5.10; one generic test walks them both ways.
EXAMPLES: tuple[tuple[MenuSelection, str], ...] = (
    (MenuSelection.of(2), "D3 07 82 02 01 81 90 01 02"),
    (MenuSelection.of(2, help=True), "D3 09 82 02 01 81 90 01 02 95 00"),
)
