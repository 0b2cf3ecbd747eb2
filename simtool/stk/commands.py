"""Proactive UICC commands simtool models, as dataclasses encoded to / decoded from D0.

ETSI TS 102 223 §6.6 (command structures), §9.4 (type of command), §8.6 (qualifiers);
3GPP TS 31.111 §6.4.11 / §6.4.12 (SEND SS, SEND USSD).  The common machinery (the
:class:`ProactiveCommand` base, :func:`decode_proactive`) is in :mod:`simtool.stk.proactive`
and re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

from simtool.apdu.tlv import ComprehensionTlv, ctlv_encode
from simtool.errors import EncodeError
from simtool.stk.objects import (
    Address,
    AlphaIdentifier,
    CapabilityConfigurationParameters,
    DefaultText,
    Device,
    Duration,
    IconIdentifier,
    ImmediateResponse,
    Item,
    ItemIconIdentifierList,
    ItemIdentifier,
    ItemsNextActionIndicator,
    ResponseLength,
    SsString,
    Subaddress,
    TextString,
    UssdString,
)
from simtool.stk.proactive import (
    COMMANDS,
    MAX_COMMAND_LENGTH,
    PROACTIVE_COMMAND_TAG,
    CommandType,
    MissingObjectError,
    ProactiveCommand,
    Slot,
    UnknownCommand,
    quoted_text,
    command_from_objects,
    command_name,
    decode_proactive,
    peek_details,
    register,
)

__all__ = [
    "COMMANDS", "EXAMPLES", "MAX_COMMAND_LENGTH", "PROACTIVE_COMMAND_TAG", "CommandType",
    "DisplayText", "GetInput", "MissingObjectError", "ProactiveCommand", "SelectItem", "SendSs",
    "SendUssd", "SetUpCall", "SetUpMenu", "Slot", "UnknownCommand", "command_from_objects",
    "command_name", "decode_proactive", "peek_details",
]


def _describe_items(items: Sequence[Item]) -> str:
    if len(items) == 1 and items[0].identifier is None:
        return "remove menu"
    return ", ".join(f"{it.identifier} {quoted_text(it)}" for it in items)


def _item_overflow(cmd: ProactiveCommand, items: Sequence[Item], size: int) -> EncodeError:
    """Name the first item with which the command passes the size limit."""
    running = 3  # D0 81 xx
    culprit = items[-1] if items else None
    for tlv in cmd.objects():
        running += len(ctlv_encode(tlv))
        if running > MAX_COMMAND_LENGTH and tlv.tag == Item.TAG:
            culprit = Item.from_tlv(tlv)
            break
    where = None if culprit is None else f"menu item {culprit.identifier} {quoted_text(culprit)}"
    return EncodeError(f"{cmd.name} would be {size} bytes, more than the {MAX_COMMAND_LENGTH} "
                       "a card can send: shorten the item texts", where=where)


@register
@dataclass(frozen=True, kw_only=True)
class SetUpMenu(ProactiveCommand):
    """SET UP MENU (TS 102 223 §6.6.7); qualifier b1 soft key, b8 help available."""

    TYPE = CommandType.SET_UP_MENU
    SLOTS = (Slot("alpha", AlphaIdentifier, True), Slot("items", Item, True, True),
             Slot("next_actions", ItemsNextActionIndicator), Slot("icon", IconIdentifier),
             Slot("item_icons", ItemIconIdentifierList))
    alpha: AlphaIdentifier
    items: tuple[Item, ...]
    next_actions: ItemsNextActionIndicator | None = None
    icon: IconIdentifier | None = None
    item_icons: ItemIconIdentifierList | None = None

    @classmethod
    def of(cls, title: str, items: Sequence[tuple[int, str]], *, help_available: bool = False,
           number: int = 1) -> Self:
        return cls(number=number, qualifier=0x80 if help_available else 0,
                   alpha=AlphaIdentifier.from_text(title),
                   items=tuple(Item.from_text(i, t) for i, t in items))

    @property
    def help_available(self) -> bool:
        return bool(self.qualifier & 0x80)

    @property
    def removes_menu(self) -> bool:
        return len(self.items) == 1 and self.items[0].identifier is None

    def _too_long(self, size: int) -> EncodeError:
        return _item_overflow(self, self.items, size)

    def _describe_body(self) -> str:
        return f" {quoted_text(self.alpha)}: {_describe_items(self.items)}"


@register
@dataclass(frozen=True, kw_only=True)
class SelectItem(ProactiveCommand):
    """SELECT ITEM (TS 102 223 §6.6.8); qualifier b1-b2 presentation, b3 soft key, b8 help."""

    TYPE = CommandType.SELECT_ITEM
    SLOTS = (Slot("alpha", AlphaIdentifier), Slot("items", Item, True, True),
             Slot("next_actions", ItemsNextActionIndicator),
             Slot("default_item", ItemIdentifier), Slot("icon", IconIdentifier),
             Slot("item_icons", ItemIconIdentifierList))
    alpha: AlphaIdentifier | None = None
    items: tuple[Item, ...]
    next_actions: ItemsNextActionIndicator | None = None
    default_item: ItemIdentifier | None = None
    icon: IconIdentifier | None = None
    item_icons: ItemIconIdentifierList | None = None

    @classmethod
    def of(cls, title: str | None, items: Sequence[tuple[int, str]], *,
           help_available: bool = False, default_item: int | None = None,
           number: int = 1) -> Self:
        return cls(number=number, qualifier=0x80 if help_available else 0,
                   alpha=None if title is None else AlphaIdentifier.from_text(title),
                   items=tuple(Item.from_text(i, t) for i, t in items),
                   default_item=None if default_item is None else ItemIdentifier(default_item))

    @property
    def help_available(self) -> bool:
        return bool(self.qualifier & 0x80)

    def _too_long(self, size: int) -> EncodeError:
        return _item_overflow(self, self.items, size)

    def _describe_body(self) -> str:
        title = "" if self.alpha is None else f" {quoted_text(self.alpha)}"
        return f"{title}: {_describe_items(self.items)}"


@register
@dataclass(frozen=True, kw_only=True)
class DisplayText(ProactiveCommand):
    """DISPLAY TEXT (TS 102 223 §6.6.1); qualifier b1 high priority, b8 wait for user."""

    TYPE = CommandType.DISPLAY_TEXT
    DESTINATION = Device.DISPLAY
    SLOTS = (Slot("text", TextString, True), Slot("icon", IconIdentifier),
             Slot("immediate_response", ImmediateResponse), Slot("duration", Duration))
    text: TextString
    icon: IconIdentifier | None = None
    immediate_response: ImmediateResponse | None = None
    duration: Duration | None = None

    @classmethod
    def of(cls, text: str, *, wait_for_user: bool = True, high_priority: bool = False,
           number: int = 1) -> Self:
        return cls(number=number, qualifier=(0x80 if wait_for_user else 0) | high_priority,
                   text=TextString.from_text(text))

    @property
    def high_priority(self) -> bool:
        return bool(self.qualifier & 0x01)

    @property
    def wait_for_user(self) -> bool:
        return bool(self.qualifier & 0x80)

    def _describe_body(self) -> str:
        how = "wait for user" if self.wait_for_user else "clear after a delay"
        return f" {quoted_text(self.text)} ({how})"


@register
@dataclass(frozen=True, kw_only=True)
class GetInput(ProactiveCommand):
    """GET INPUT (TS 102 223 §6.6.3).

    Qualifier: b1 0 = digits only (0-9 * # +); b2 UCS2; b3 input hidden; b4 SMS-packed
    answer; b8 help available."""

    TYPE = CommandType.GET_INPUT
    SLOTS = (Slot("text", TextString, True), Slot("response_length", ResponseLength, True),
             Slot("default_text", DefaultText), Slot("icon", IconIdentifier))
    text: TextString
    response_length: ResponseLength
    default_text: DefaultText | None = None
    icon: IconIdentifier | None = None

    @classmethod
    def of(cls, prompt: str, min_length: int, max_length: int, *, digits_only: bool = True,
           hide_input: bool = False, help_available: bool = False, default: str | None = None,
           number: int = 1) -> Self:
        qualifier = (0 if digits_only else 0x01) | (0x04 if hide_input else 0)
        qualifier |= 0x80 if help_available else 0
        dflt = None
        if default is not None:
            probe = TextString.from_text(default)
            dflt = DefaultText(probe.dcs, probe.data)
        return cls(number=number, qualifier=qualifier, text=TextString.from_text(prompt),
                   response_length=ResponseLength(min_length, max_length), default_text=dflt)

    @property
    def digits_only(self) -> bool:
        return not self.qualifier & 0x01

    @property
    def ucs2(self) -> bool:
        return bool(self.qualifier & 0x02)

    @property
    def hide_input(self) -> bool:
        return bool(self.qualifier & 0x04)

    @property
    def packed(self) -> bool:
        return bool(self.qualifier & 0x08)

    @property
    def help_available(self) -> bool:
        return bool(self.qualifier & 0x80)

    def _describe_body(self) -> str:
        kind = "digits" if self.digits_only else "text"
        rl = self.response_length
        return f" {quoted_text(self.text)} {kind}, {rl.minimum}-{rl.maximum} chars"


@register
@dataclass(frozen=True, kw_only=True)
class SendUssd(ProactiveCommand):
    """SEND USSD (TS 31.111 §6.4.12); qualifier RFU (00)."""

    TYPE = CommandType.SEND_USSD
    DESTINATION = Device.NETWORK
    SLOTS = (Slot("alpha", AlphaIdentifier), Slot("ussd", UssdString, True),
             Slot("icon", IconIdentifier))
    alpha: AlphaIdentifier | None = None
    ussd: UssdString
    icon: IconIdentifier | None = None

    @classmethod
    def of(cls, code: str, *, alpha: str | None = None, number: int = 1) -> Self:
        return cls(number=number, ussd=UssdString.from_text(code),
                   alpha=None if alpha is None else AlphaIdentifier.from_text(alpha))

    def _describe_body(self) -> str:
        alpha = "" if self.alpha is None else f" (alpha {quoted_text(self.alpha)})"
        return f" {quoted_text(self.ussd)}{alpha}"


@register
@dataclass(frozen=True, kw_only=True)
class SendSs(ProactiveCommand):
    """SEND SS (TS 31.111 §6.4.11); qualifier RFU (00)."""

    TYPE = CommandType.SEND_SS
    DESTINATION = Device.NETWORK
    SLOTS = (Slot("alpha", AlphaIdentifier), Slot("ss", SsString, True),
             Slot("icon", IconIdentifier))
    alpha: AlphaIdentifier | None = None
    ss: SsString
    icon: IconIdentifier | None = None

    @classmethod
    def of(cls, code: str, *, alpha: str | None = None, number: int = 1) -> Self:
        return cls(number=number, ss=SsString(code),
                   alpha=None if alpha is None else AlphaIdentifier.from_text(alpha))

    def _describe_body(self) -> str:
        alpha = "" if self.alpha is None else f" (alpha {quoted_text(self.alpha)})"
        return f" {self.ss.ss!r}{alpha}"


@register
@dataclass(frozen=True, kw_only=True)
class SetUpCall(ProactiveCommand):
    """SET UP CALL (TS 102 223 §6.6.12): two alpha/icon pairs (user confirmation, call set
    up) around the address; qualifier 00 only if not busy, 02 hold others, 04 disconnect."""

    TYPE = CommandType.SET_UP_CALL
    DESTINATION = Device.NETWORK
    SLOTS = (Slot("alpha", AlphaIdentifier), Slot("address", Address, True),
             Slot("capability", CapabilityConfigurationParameters),
             Slot("subaddress", Subaddress), Slot("duration", Duration),
             Slot("icon", IconIdentifier), Slot("call_alpha", AlphaIdentifier),
             Slot("call_icon", IconIdentifier))
    alpha: AlphaIdentifier | None = None
    address: Address
    capability: CapabilityConfigurationParameters | None = None
    subaddress: Subaddress | None = None
    duration: Duration | None = None
    icon: IconIdentifier | None = None
    call_alpha: AlphaIdentifier | None = None
    call_icon: IconIdentifier | None = None

    @classmethod
    def of(cls, number_to_call: str, *, confirm: str | None = None, number: int = 1) -> Self:
        return cls(number=number, address=Address.from_dialled(number_to_call),
                   alpha=None if confirm is None else AlphaIdentifier.from_text(confirm))

    def _describe_body(self) -> str:
        alpha = "" if self.alpha is None else f" (confirm {quoted_text(self.alpha)})"
        return f" {self.address.dialled!r}{alpha}"


def _vector(make: Callable[[], ProactiveCommand], hex_: str) -> tuple[ProactiveCommand, str]:
    return make(), hex_


#: "ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-1234567890", GSM 7-bit packed.
_ABC_PACKED = ("41 E1 90 58 34 1E 91 49 E5 92 D9 74 3E A1 51 E9 94 5A B5 5E B1 59 6D 2B 2C 1E"
               " 93 CB E6 33 3A AD 5E B3 DB EE 37 3C 2E 9F D3 EB F6 3B 3E AF 6F C5 64 33 5A CD"
               " 76 C3 E5 60 ")

#: (command, hex) pairs; one generic test walks them both ways.  The first two are
#: sim-facts §5.9 and §5.11; the others are conformance-test commands of TS 102 384 /
#: TS 31.124 as replayed by open-source terminal test suites.
EXAMPLES: tuple[tuple[ProactiveCommand, str], ...] = (
    _vector(lambda: SetUpMenu(
        alpha=AlphaIdentifier(b"Menu"),
        items=(Item(1, b"Saldo konta"), Item(2, bytes.fromhex("810B02446FC261646F77616E6965")))),
        "D0 2E 81 03 01 25 00 82 02 81 82 85 04 4D 65 6E 75 8F 0C 01 53 61 6C 64 6F 20 6B 6F"
        " 6E 74 61 8F 0F 02 81 0B 02 44 6F C2 61 64 6F 77 61 6E 69 65"),
    _vector(lambda: SendUssd(alpha=AlphaIdentifier(b"Sprawdzam..."),
                             ussd=UssdString(0x0F, bytes.fromhex("AA180C3702"))),
            "D0 1F 81 03 01 12 00 82 02 81 83 85 0C 53 70 72 61 77 64 7A 61 6D 2E 2E 2E"
            " 8A 06 0F AA 18 0C 37 02"),
    _vector(lambda: SetUpMenu(alpha=AlphaIdentifier(b""), items=(Item(None),)),
            "D0 0D 81 03 01 25 00 82 02 81 82 85 00 8F 00"),
    _vector(lambda: SelectItem(alpha=AlphaIdentifier(b"Toolkit Select"),
                               items=tuple(Item(i, f"Item {i}".encode()) for i in range(1, 5))),
            "D0 3D 81 03 01 24 00 82 02 81 82 85 0E 54 6F 6F 6C 6B 69 74 20 53 65 6C 65 63 74"
            " 8F 07 01 49 74 65 6D 20 31 8F 07 02 49 74 65 6D 20 32 8F 07 03 49 74 65 6D 20 33"
            " 8F 07 04 49 74 65 6D 20 34"),
    _vector(lambda: DisplayText(qualifier=0x80, text=TextString(0x04, b"Toolkit Test 1")),
            "D0 1A 81 03 01 21 80 82 02 81 02 8D 0F 04 54 6F 6F 6C 6B 69 74 20 54 65 73 74 20 31"),
    _vector(lambda: GetInput(text=TextString(0x04, b"Enter 12345"),
                             response_length=ResponseLength(5, 5),
                             default_text=DefaultText(0x04, b"12345")),
            "D0 23 81 03 01 23 00 82 02 81 82 8D 0C 04 45 6E 74 65 72 20 31 32 33 34 35"
            " 91 02 05 05 17 06 04 31 32 33 34 35"),
    _vector(lambda: GetInput(qualifier=0x08,
                             text=TextString(0x00, bytes.fromhex("4537BD2C07D96EAAD10A")),
                             response_length=ResponseLength(5, 5)),
            "D0 1A 81 03 01 23 08 82 02 81 82 8D 0B 00 45 37 BD 2C 07 D9 6E AA D1 0A 91 02 05 05"),
    _vector(lambda: SendSs(alpha=AlphaIdentifier(b"Call Forward"),
                           ss=SsString("**21*01234567890123456789*10#", 0x91)),
            "D0 29 81 03 01 11 00 82 02 81 83 85 0C 43 61 6C 6C 20 46 6F 72 77 61 72 64"
            " 89 10 91 AA 12 0A 21 43 65 87 09 21 43 65 87 A9 01 FB"),
    _vector(lambda: SendSs(ss=SsString("**21*01234567890123456789*10#", 0x91),
                           icon=IconIdentifier(0, 1),
                           alpha=AlphaIdentifier(b"Basic Icon")),
            "D0 2B 81 03 01 11 00 82 02 81 83 85 0A 42 61 73 69 63 20 49 63 6F 6E"
            " 89 10 91 AA 12 0A 21 43 65 87 09 21 43 65 87 A9 01 FB 9E 02 00 01"),
    _vector(lambda: SendUssd(
        alpha=AlphaIdentifier(b"UCS2 USSD"),
        ussd=UssdString(0x48, "ЗДРАВСТВУЙТЕ".encode("utf-16-be"))),
        "D0 2F 81 03 01 12 00 82 02 81 83 85 09 55 43 53 32 20 55 53 53 44 8A 19 48 04 17 04 14"
        " 04 20 04 10 04 12 04 21 04 22 04 12 04 23 04 19 04 22 04 15"),
    _vector(lambda: SendUssd(
        alpha=AlphaIdentifier(b"Text Attribute 1"),
        ussd=UssdString(0xF0, bytes.fromhex(_ABC_PACKED)),
        extra=(ComprehensionTlv(0x50, bytes.fromhex("001000B4"), cr=True),)),
        "D0 5C 81 03 01 12 00 82 02 81 83 85 10 54 65 78 74 20 41 74 74 72 69 62 75 74 65 20 31"
        " 8A 39 F0" + _ABC_PACKED + "D0 04 00 10 00 B4"),
    _vector(lambda: SetUpCall(alpha=AlphaIdentifier(b"Not busy"),
                              address=Address("012340123456c1c2", 0x91)),
            "D0 1E 81 03 01 10 00 82 02 81 83 85 08 4E 6F 74 20 62 75 73 79"
            " 86 09 91 10 32 04 21 43 65 1C 2C"),
)

# REFRESH lives in its own module; importing it here registers it with decode_proactive.
from simtool.stk import refresh as _refresh  # noqa: E402,F401
