"""The proactive command: the D0 BER-TLV a card returns to FETCH (ETSI TS 102 223 §6.6).

A command is command details + device identities + the objects of its structure, in the
order the spec lists them (its ``SLOTS``).  Decoding matches objects to that order; objects
a command does not model (text attributes, frame identifiers, ...) are kept in ``extra`` as
raw TLVs and re-encoded after the others.  The concrete commands are in
:mod:`simtool.stk.commands`, which registers them here and re-exports this module.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import ClassVar, Self

from simtool.apdu.tlv import ComprehensionTlv, ber_decode, ber_encode, ctlv_decode_all, ctlv_encode
from simtool.errors import DecodeError, EncodeError
from simtool.stk.objects import (
    CommandDetails,
    DataObject,
    Device,
    DeviceIdentities,
    describe_text,
)

#: BER-TLV tag of a proactive command (TS 101 220 §7.2).
PROACTIVE_COMMAND_TAG = 0xD0
#: Largest whole D0 object simtool encodes: the card announces it as 91 xx (xx <= FF).
MAX_COMMAND_LENGTH = 255


class CommandType(enum.IntEnum):
    """Type of command (TS 102 223 §9.4)."""

    REFRESH = 0x01
    MORE_TIME = 0x02
    POLL_INTERVAL = 0x03
    POLLING_OFF = 0x04
    SET_UP_EVENT_LIST = 0x05
    SET_UP_CALL = 0x10
    SEND_SS = 0x11
    SEND_USSD = 0x12
    SEND_SHORT_MESSAGE = 0x13
    SEND_DTMF = 0x14
    LAUNCH_BROWSER = 0x15
    PLAY_TONE = 0x20
    DISPLAY_TEXT = 0x21
    GET_INKEY = 0x22
    GET_INPUT = 0x23
    SELECT_ITEM = 0x24
    SET_UP_MENU = 0x25
    PROVIDE_LOCAL_INFORMATION = 0x26
    TIMER_MANAGEMENT = 0x27
    SET_UP_IDLE_MODE_TEXT = 0x28
    RUN_AT_COMMAND = 0x34
    LANGUAGE_NOTIFICATION = 0x35
    OPEN_CHANNEL = 0x40
    CLOSE_CHANNEL = 0x41
    RECEIVE_DATA = 0x42
    SEND_DATA = 0x43
    GET_CHANNEL_STATUS = 0x44


def command_name(type_of_command: int) -> str:
    try:
        return CommandType(type_of_command).name.replace("_", " ")
    except ValueError:
        return f"COMMAND {type_of_command:02X}"


class MissingObjectError(DecodeError):
    """A mandatory object of the command is absent (a terminal answers result 36)."""


def quoted_text(obj: object) -> str:
    try:
        return describe_text(obj.text)  # type: ignore[attr-defined]
    except DecodeError:
        return "<undecodable text>"


@dataclass(frozen=True)
class Slot:
    """One place in a command structure: attribute name, object class, presence."""

    name: str
    cls: type[DataObject]
    required: bool = False
    many: bool = False


@dataclass(frozen=True, kw_only=True)
class ProactiveCommand:
    """Common part of every proactive command (TS 102 223 §6.6)."""

    TYPE: ClassVar[int]
    DESTINATION: ClassVar[int] = Device.TERMINAL
    SLOTS: ClassVar[tuple[Slot, ...]] = ()

    number: int = 1
    qualifier: int = 0
    device: DeviceIdentities = None  # type: ignore[assignment]  # None -> UICC to DESTINATION
    details_cr: bool = field(default=True, repr=False)
    extra: tuple[ComprehensionTlv, ...] = ()

    def __post_init__(self) -> None:
        if self.device is None:
            object.__setattr__(self, "device", DeviceIdentities(Device.UICC, self.DESTINATION))
        for slot in self.SLOTS:
            value = getattr(self, slot.name)
            if slot.many:
                value = tuple(value)
                object.__setattr__(self, slot.name, value)
                bad = [v for v in value if not isinstance(v, slot.cls)]
            else:
                bad = [] if value is None or isinstance(value, slot.cls) else [value]
            if bad:
                raise EncodeError(f"{self.name}: {slot.name} must be {slot.cls.__name__}, "
                                  f"got {type(bad[0]).__name__}")
        object.__setattr__(self, "extra", tuple(self.extra))
        _ = self.details  # validates number and qualifier

    @property
    def type_of_command(self) -> int:
        return self.TYPE

    @property
    def name(self) -> str:
        return command_name(self.type_of_command)

    @property
    def details(self) -> CommandDetails:
        return CommandDetails(self.number, self.type_of_command, self.qualifier,
                              cr=self.details_cr)

    @property
    def unknown_required(self) -> tuple[ComprehensionTlv, ...]:
        """Kept objects flagged comprehension-required (a terminal answers result 32)."""
        return tuple(t for t in self.extra if t.cr)

    def with_number(self, number: int) -> Self:
        return dataclasses.replace(self, number=number)

    def objects(self) -> list[ComprehensionTlv]:
        out = [self.details.to_tlv(), self.device.to_tlv()]
        for slot in self.SLOTS:
            value = getattr(self, slot.name)
            if slot.many:
                if slot.required and not value:
                    raise EncodeError(f"{self.name} needs at least one {slot.cls.NAME}")
                out += [v.to_tlv() for v in value]
            elif value is not None:
                out.append(value.to_tlv())
            elif slot.required:
                raise EncodeError(f"{self.name}: the {slot.cls.NAME} is mandatory")
        return out + list(self.extra)

    def encode(self) -> bytes:
        """The D0 BER-TLV (TS 102 223 §6.6), at most :data:`MAX_COMMAND_LENGTH` bytes."""
        objects = self.objects()
        raw = ber_encode(PROACTIVE_COMMAND_TAG, b"".join(ctlv_encode(t) for t in objects))
        if len(raw) > MAX_COMMAND_LENGTH:
            raise self._too_long(len(raw))
        return raw

    def _too_long(self, size: int) -> EncodeError:
        return EncodeError(f"{self.name} would be {size} bytes, more than the "
                           f"{MAX_COMMAND_LENGTH} a card can send: shorten its text")

    @classmethod
    def decode(cls, data: bytes) -> ProactiveCommand:
        """Decode a D0 object; on a subclass the type of command must match it."""
        cmd = decode_proactive(data)
        if cls is not ProactiveCommand and not isinstance(cmd, cls):
            raise DecodeError(f"expected {command_name(cls.TYPE)}, got {cmd.name}")
        return cmd

    def describe(self) -> str:
        """One human line for traces."""
        return f"{self.name} #{self.number}{self._describe_body()}"

    def _describe_body(self) -> str:
        return ""


@dataclass(frozen=True, kw_only=True)
class UnknownCommand(ProactiveCommand):
    """A command type simtool does not model: every object is kept in ``extra``."""

    TYPE = 0
    command_type: int = 0

    @property
    def type_of_command(self) -> int:
        return self.command_type

    def _describe_body(self) -> str:
        return f" ({self.command_type:02X}), {len(self.extra)} objects"


#: The modelled commands by type of command (filled by :mod:`simtool.stk.commands`).
COMMANDS: dict[int, type[ProactiveCommand]] = {}


def register(cls: type[ProactiveCommand]) -> type[ProactiveCommand]:
    """Class decorator: decode proactive commands of ``cls.TYPE`` as ``cls``."""
    COMMANDS[cls.TYPE] = cls
    return cls


def _find(objs: list[ComprehensionTlv], tag: int, what: str) -> int:
    for i, t in enumerate(objs):
        if t.tag == tag:
            return i
    raise MissingObjectError(f"proactive command without {what}")


def command_from_objects(objs: list[ComprehensionTlv]) -> ProactiveCommand:
    """Build the typed command from its COMPREHENSION-TLV objects."""
    i_details = _find(objs, CommandDetails.TAG, "command details")
    i_device = _find(objs, DeviceIdentities.TAG, "device identities")
    details = CommandDetails.from_tlv(objs[i_details])
    common: dict[str, object] = {
        "number": details.number, "qualifier": details.qualifier, "details_cr": details.cr,
        "device": DeviceIdentities.from_tlv(objs[i_device]),
    }
    others = [t for i, t in enumerate(objs) if i not in (i_details, i_device)]
    cls = COMMANDS.get(details.type_of_command)
    if cls is None:
        return UnknownCommand(command_type=details.type_of_command, extra=tuple(others),
                              **common)  # type: ignore[arg-type]
    slots = cls.SLOTS
    values: dict[str, object] = {s.name: [] if s.many else None for s in slots}
    extra: list[ComprehensionTlv] = []
    pos = 0
    for tlv in others:
        j = next((k for k in range(pos, len(slots)) if slots[k].cls.TAG == tlv.tag), None)
        if j is None:
            extra.append(tlv)
            continue
        slot = slots[j]
        obj = slot.cls.from_tlv(tlv)
        if slot.many:
            values[slot.name].append(obj)  # type: ignore[union-attr]
            pos = j
        else:
            values[slot.name] = obj
            pos = j + 1
    for slot in slots:
        if slot.required and not values[slot.name]:
            raise MissingObjectError(f"{command_name(cls.TYPE)} without its mandatory "
                                     f"{slot.cls.NAME}")
    return cls(extra=tuple(extra), **common, **values)  # type: ignore[arg-type]


def decode_proactive(data: bytes) -> ProactiveCommand:
    """Decode the D0 object a card returns to FETCH (TS 102 223 §6.6)."""
    import simtool.stk.commands  # noqa: F401  (registers the modelled commands)

    tlv, rest = ber_decode(data)
    if tlv.tag != PROACTIVE_COMMAND_TAG:
        raise DecodeError(f"proactive command must start with D0, got {tlv.tag:02X}")
    if rest:
        raise DecodeError(f"{len(rest)} bytes after the proactive command")
    return command_from_objects(ctlv_decode_all(tlv.value))


def peek_details(data: bytes) -> CommandDetails | None:
    """The command details of a D0 object even when the rest does not decode (for the
    TERMINAL RESPONSE of a malformed command); None when not even they can be read."""
    try:
        tlv, _ = ber_decode(data)
        objs = ctlv_decode_all(tlv.value)
        return CommandDetails.from_tlv(objs[_find(objs, CommandDetails.TAG, "details")])
    except DecodeError:
        return None
