"""Sending an RFM / RAM script over the one transport seam: the command packet (TS 102 225)
in SMS-PP DOWNLOAD envelopes (TS 31.111 §7.1.1.2), the PoR from the last envelope's response
data (TS 31.115 §4.4), opened and checked against the command's TAR and counter.

The counter is the caller's: the card refuses (PoR status 02) any counter not above the last
one it accepted, and a sender that keeps no state has to be told the next one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from simtool.apdu.channel import Channel, card_error
from simtool.apdu.command import CommandApdu
from simtool.apdu.sw import is_success
from simtool.ota.packet import (CounterPolicy, Integrity, OtaKeyset, PorRequest, RemoteResponse,
                                ResponsePacket, Spi, build_command_packet, open_response_packet)
from simtool.ota.remote import ExpandedResponse, compact_script, expanded_script
from simtool.ota.smspp import Address, por_from_response, sms_pp_download

#: Ciphered and signed, the counter higher than the card's, a signed PoR always.
DEFAULT_SPI = Spi(Integrity.CC, True, CounterPolicy.HIGHER, PorRequest.ALWAYS, Integrity.CC)
#: The TP-OA of the SMS-DELIVERs (the OTA platform's address); cards do not check it.
DEFAULT_ORIGINATOR = Address("0000")


@dataclass(frozen=True)
class OtaResult:
    por: ResponsePacket | None                       # None: the card sent no PoR
    response: RemoteResponse | ExpandedResponse | None
    envelopes: int


def send_script(channel: Channel, tar: bytes, apdus: Sequence[CommandApdu], keys: OtaKeyset,
                counter: int, *, expanded: bool = False, spi: Spi = DEFAULT_SPI,
                originator: Address = DEFAULT_ORIGINATOR) -> OtaResult:
    """Send ``apdus`` to the application ``tar``; the checked PoR (PorError unless "PoR OK";
    MacMismatch / CounterMismatch when the PoR does not verify)."""
    script = expanded_script(apdus) if expanded else compact_script(apdus)
    packet = build_command_packet(tar, script, spi, keys, counter)
    envelopes = sms_pp_download(packet, originator)
    data = b""
    for n, env in enumerate(envelopes, 1):
        env = dataclasses.replace(env, le=256)      # case 4: the PoR comes back as data
        r = channel.send(env, check=False, name=f"ENVELOPE (SMS-PP DOWNLOAD {n}/{len(envelopes)})")
        if not is_success(r.sw):
            raise card_error(env, r.sw, f"ENVELOPE (SMS-PP DOWNLOAD {n}/{len(envelopes)})")
        data = bytes(r.data)
    if not data:
        return OtaResult(None, None, len(envelopes))
    udh, raw = por_from_response(data)
    por = open_response_packet(raw, spi, keys, udh=udh, tar=tar, counter=counter).check()
    response = (ExpandedResponse.decode(por.data) if expanded
                else RemoteResponse.decode(por.data)) if por.data else None
    return OtaResult(por, response, len(envelopes))
