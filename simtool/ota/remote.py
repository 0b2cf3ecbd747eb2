"""Command scripts of remote file and applet management (RFM / RAM), ETSI TS 102 226 §5:
the secured data of a TS 102 225 command packet, and the additional data of its PoR.

* Compact format (§5.1): the commands one after the other in their T=0 form (ETSI TS 102 221
  §7.3.1.1: ``CLA INS P1 P2 P3`` and, for cases 3/4, P3 bytes of data; a case 4 command
  carries no Le).  The PoR data is the number of commands executed, the last status word and
  the last response data (:class:`simtool.ota.packet.RemoteResponse`).
* Expanded format (§5.2): the Command Scripting template (``AA`` definite length, ``AE``
  indefinite) holding one ``22`` C-APDU TLV per command (TS 101 220 Table 7.18/7.19); the
  Response Scripting template (``AB`` / ``AF``) holding the number of executed C-APDUs
  (``80``), one ``23`` R-APDU per command (response data ‖ SW), and the ``90`` (bad format),
  ``81`` (immediate action) and ``83`` (script chaining) responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.tlv import Tlv, ber_decode_all, ber_encode
from simtool.errors import DecodeError, EncodeError

COMMAND_SCRIPT, COMMAND_SCRIPT_INDEFINITE = 0xAA, 0xAE
RESPONSE_SCRIPT, RESPONSE_SCRIPT_INDEFINITE = 0xAB, 0xAF
C_APDU, R_APDU = 0x22, 0x23

#: instructions of case 2 (P3 is Le, no data follows) among RFM/RAM commands: READ BINARY,
#: READ RECORD, GET RESPONSE, GET DATA, GET CHALLENGE, FETCH.  GP's GET STATUS (F2) carries
#: its search criteria as data, so it is not among them.
CASE2_INS = frozenset({0xB0, 0xB2, 0xC0, 0xCA, 0x84, 0x12})


def _tpdu(apdu: CommandApdu) -> bytes:
    head = bytes((apdu.cla, apdu.ins, apdu.p1, apdu.p2))
    if apdu.data:
        return head + bytes((len(apdu.data),)) + bytes(apdu.data)
    return head + bytes(((apdu.le or 0) & 0xFF,))


def compact_script(apdus: Iterable[CommandApdu]) -> bytes:
    """The compact command format (TS 102 226 §5.1.1)."""
    return b"".join(_tpdu(a) for a in apdus)


def parse_compact_script(data: bytes, case2_ins: frozenset[int] = CASE2_INS
                         ) -> list[CommandApdu]:
    """Split a compact script.  A T=0 header does not say whether P3 is Lc or Le: commands
    whose INS is in ``case2_ins`` read it as Le, all others as Lc."""
    data, out, pos = bytes(data), [], 0
    while pos < len(data):
        if pos + 5 > len(data):
            raise DecodeError(f"command {len(out) + 1} of the script: header truncated")
        cla, ins, p1, p2, p3 = data[pos:pos + 5]
        pos += 5
        if ins in case2_ins or p3 == 0:
            out.append(CommandApdu(cla, ins, p1, p2, b"", (p3 or 256) if ins in case2_ins else None))
            continue
        if pos + p3 > len(data):
            raise DecodeError(f"command {len(out) + 1} of the script: {p3} bytes of data "
                              f"announced, {len(data) - pos} left")
        out.append(CommandApdu(cla, ins, p1, p2, data[pos:pos + p3]))
        pos += p3
    return out


def expanded_script(apdus: Iterable[CommandApdu], *, definite: bool = True) -> bytes:
    """The Command Scripting template (TS 102 226 §5.2.1)."""
    body = b"".join(ber_encode(C_APDU, a.to_bytes()) for a in apdus)
    if definite:
        return ber_encode(COMMAND_SCRIPT, body)
    return bytes((COMMAND_SCRIPT_INDEFINITE, 0x80)) + body + b"\x00\x00"


def _template(data: bytes, definite_tag: int, indefinite_tag: int, what: str) -> list[Tlv]:
    data = bytes(data)
    if len(data) >= 2 and data[0] == indefinite_tag and data[1] == 0x80:
        if data[-2:] != b"\x00\x00" or len(data) < 4:
            raise DecodeError(f"{what} of indefinite length without its end-of-contents 00 00")
        return ber_decode_all(data[2:-2])
    tlvs = ber_decode_all(data)
    if len(tlvs) != 1 or tlvs[0].tag != definite_tag:
        raise DecodeError(f"not a {what} ({definite_tag:02X} or {indefinite_tag:02X} 80)")
    return ber_decode_all(tlvs[0].value)


def parse_expanded_script(data: bytes) -> list[CommandApdu]:
    out = []
    for tlv in _template(data, COMMAND_SCRIPT, COMMAND_SCRIPT_INDEFINITE,
                         "command scripting template"):
        if tlv.tag != C_APDU:
            raise DecodeError(f"tag {tlv.tag:02X} in a command scripting template "
                              "(only C-APDUs, 22, are supported)")
        out.append(CommandApdu.from_bytes(tlv.value))
    return out


@dataclass(frozen=True)
class ExpandedResponse:
    """The Response Scripting template (TS 102 226 §5.2.2)."""

    responses: tuple[ResponseApdu, ...] = ()
    executed: int | None = None
    bad_format: int | None = None
    immediate_action: int | None = None
    script_chaining: int | None = None

    @property
    def last(self) -> ResponseApdu | None:
        return self.responses[-1] if self.responses else None

    @property
    def truncated(self) -> bool:
        """SW 62F1 ends the script: the response data did not fit (§5.2.1.1)."""
        return any(r.sw == 0x62F1 for r in self.responses)

    def encode(self) -> bytes:
        body = b""
        if self.executed is not None:
            body += ber_encode(0x80, bytes((self.executed,)))
        body += b"".join(ber_encode(R_APDU, r.to_bytes()) for r in self.responses)
        for tag, value in ((0x81, self.immediate_action), (0x83, self.script_chaining),
                           (0x90, self.bad_format)):
            if value is not None:
                body += ber_encode(tag, bytes((value,)))
        return ber_encode(RESPONSE_SCRIPT, body)

    @classmethod
    def decode(cls, data: bytes) -> ExpandedResponse:
        fields: dict[int, int] = {}
        responses = []
        for tlv in _template(data, RESPONSE_SCRIPT, RESPONSE_SCRIPT_INDEFINITE,
                             "response scripting template"):
            if tlv.tag == R_APDU:
                responses.append(ResponseApdu.from_bytes(tlv.value))
            elif tlv.tag in (0x80, 0x81, 0x83, 0x90):
                if len(tlv.value) != 1:
                    raise DecodeError(f"{tlv.tag:02X} in a response scripting template is one byte")
                fields[tlv.tag] = tlv.value[0]
            else:
                raise DecodeError(f"unknown tag {tlv.tag:02X} in a response scripting template")
        return cls(tuple(responses), fields.get(0x80), fields.get(0x90), fields.get(0x81),
                   fields.get(0x83))


def check_script(apdus: Sequence[CommandApdu], limit: int) -> None:
    """Refuse a script that does not fit ``limit`` bytes of secured data."""
    n = len(compact_script(apdus))
    if n > limit:
        raise EncodeError(f"a script of {n} bytes exceeds the {limit} bytes allowed")
