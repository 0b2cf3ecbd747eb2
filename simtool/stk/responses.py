"""TERMINAL RESPONSE: the terminal's answer to a proactive command (APDU 80 14).

ETSI TS 102 223 §6.8 / 3GPP TS 31.111 §6.8: command details (identical to the command's),
device identities (terminal -> UICC), result, then per command a text string (GET INPUT,
SEND USSD), an item identifier (SELECT ITEM) or a duration (POLL INTERVAL).  No outer BER
tag.  Unknown objects are kept in ``extra`` and re-encoded after the modelled ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from simtool.apdu.tlv import ComprehensionTlv, ctlv_decode_all, ctlv_encode
from simtool.errors import DecodeError, EncodeError
from simtool.stk.commands import ProactiveCommand, command_name
from simtool.stk.objects import (
    CommandDetails,
    Device,
    DeviceIdentities,
    Duration,
    GeneralResult,
    ItemIdentifier,
    Result,
    TextString,
)


def _terminal_to_uicc() -> DeviceIdentities:
    return DeviceIdentities(Device.TERMINAL, Device.UICC)


@dataclass(frozen=True)
class TerminalResponse:
    """TERMINAL RESPONSE (TS 102 223 §6.8)."""

    details: CommandDetails
    result: Result
    device: DeviceIdentities = field(default_factory=_terminal_to_uicc)
    duration: Duration | None = None
    text: TextString | None = None
    item: ItemIdentifier | None = None
    extra: tuple[ComprehensionTlv, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", tuple(self.extra))
        for name, cls in (("details", CommandDetails), ("result", Result),
                          ("device", DeviceIdentities)):
            if not isinstance(getattr(self, name), cls):
                raise EncodeError(f"TERMINAL RESPONSE {name} must be {cls.__name__}")

    @classmethod
    def to(cls, command: ProactiveCommand, general: int, additional: bytes = b"", *,
           text: TextString | None = None, item: int | None = None) -> TerminalResponse:
        """The response to ``command`` with the given general result."""
        return cls(command.details, Result(general, additional), text=text,
                   item=None if item is None else ItemIdentifier(item))

    @property
    def general(self) -> int:
        return self.result.general

    @property
    def number(self) -> int:
        return self.details.number

    @property
    def type_of_command(self) -> int:
        return self.details.type_of_command

    def answers(self, command: ProactiveCommand) -> bool:
        """True when this response's command details are those of ``command``."""
        return self.details.value() == command.details.value()

    def objects(self) -> list[ComprehensionTlv]:
        out = [self.details.to_tlv(), self.device.to_tlv(), self.result.to_tlv()]
        out += [o.to_tlv() for o in (self.duration, self.text, self.item) if o is not None]
        return out + list(self.extra)

    def encode(self) -> bytes:
        return b"".join(ctlv_encode(t) for t in self.objects())

    @classmethod
    def decode(cls, data: bytes) -> TerminalResponse:
        objs = ctlv_decode_all(data)
        found: dict[int, ComprehensionTlv] = {}
        extra: list[ComprehensionTlv] = []
        for tlv in objs:
            known = tlv.tag in (CommandDetails.TAG, DeviceIdentities.TAG, Result.TAG,
                                Duration.TAG, TextString.TAG, ItemIdentifier.TAG)
            if known and tlv.tag not in found:
                found[tlv.tag] = tlv
            else:
                extra.append(tlv)
        for tag, what in ((CommandDetails.TAG, "command details"),
                          (DeviceIdentities.TAG, "device identities"), (Result.TAG, "result")):
            if tag not in found:
                raise DecodeError(f"TERMINAL RESPONSE without {what}")

        def opt(kind):  # type: ignore[no-untyped-def]
            tlv = found.get(kind.TAG)
            return None if tlv is None else kind.from_tlv(tlv)

        return cls(CommandDetails.from_tlv(found[CommandDetails.TAG]),
                   Result.from_tlv(found[Result.TAG]),
                   DeviceIdentities.from_tlv(found[DeviceIdentities.TAG]),
                   duration=opt(Duration), text=opt(TextString), item=opt(ItemIdentifier),
                   extra=tuple(extra))

    def with_text(self, text: TextString | None) -> TerminalResponse:
        return dataclasses.replace(self, text=text)

    def describe(self, *, hide_text: bool = False) -> str:
        """One human line for traces; ``hide_text`` for input the user typed hidden."""
        line = (f"TERMINAL RESPONSE #{self.number} to {command_name(self.type_of_command)}: "
                f"{self.general:02X} {self.result.meaning}")
        if self.result.additional:
            line += f" (additional {self.result.additional.hex().upper()})"
        if self.item is not None:
            line += f", item {self.item.identifier}"
        if self.text is not None and hide_text:
            line += ", text hidden"
        elif self.text is not None:
            try:
                line += f", text {self.text.text!r}"
            except DecodeError:
                line += ", undecodable text"
        return line


#: (response, hex) pairs from sim-facts §5.9 and §5.12; one generic test walks them.
EXAMPLES: tuple[tuple[TerminalResponse, str], ...] = (
    (TerminalResponse(CommandDetails(1, 0x25, 0), Result(GeneralResult.OK)),
     "81 03 01 25 00 82 02 82 81 83 01 00"),
    (TerminalResponse(CommandDetails(1, 0x12, 0), Result(GeneralResult.OK),
                      text=TextString(0x04, b"Saldo: 12,50 zl")),
     "81 03 01 12 00 82 02 82 81 83 01 00 8D 10 04 53 61 6C 64 6F 3A 20 31 32 2C 35 30 20 7A 6C"),
    (TerminalResponse(CommandDetails(1, 0x12, 0), Result(GeneralResult.OK),
                      text=TextString(0x00, bytes.fromhex("D3309BFCD6816232560D06D2B301"))),
     "81 03 01 12 00 82 02 82 81 83 01 00 8D 0F 00 D3 30 9B FC D6 81 62 32 56 0D 06 D2 B3 01"),
    (TerminalResponse(CommandDetails(1, 0x12, 0),
                      Result(GeneralResult.USSD_RETURN_ERROR, b"\x12")),
     "81 03 01 12 00 82 02 82 81 83 02 37 12"),
)
