"""The virtual card's OTA receiver: SMS-PP DOWNLOAD envelopes carrying TS 102 225 command
packets, for remote file management (RFM) and remote applet management (RAM, TS 102 226).

ENVELOPE ``D1`` (3GPP TS 31.111 §7.1.1.2) → SMS-DELIVER (PID 7F) → the command packet (one
SMS, or concatenated ones, :class:`simtool.ota.smspp.Reassembler`) → the key set named by its
KIc / KID key index → :func:`simtool.ota.packet.open_command_packet` (decipher, checksum,
counter) → the script → the PoR in the envelope's response data (``02 71 00`` + response
packet, 3GPP TS 31.115 §4.4).

TARs (ETSI TS 101 220 Annex D): ``B00011`` RFM of ADF.USIM (the script starts in ADF.USIM),
``B00000`` RFM of the UICC (starts in the MF), ``000000`` RAM, i.e. the ISD.  An RFM script
runs with ADM1's access rights and its own selection, not the terminal's; a RAM script is
INSTALL / LOAD / DELETE / GET STATUS for the ISD, with the packet's security in place of a
secure channel.  Scripts come in the compact or the expanded format (TS 102 226 §5.1, §5.2),
answered in the same one.  A script stops at the first command that fails.

Minimum security level (the card's, TS 102 225 §5.1.1): a cryptographic checksum and a
counter that must be higher than the last one accepted; less is answered with status 0A.
Refused packets (PoR status 01 checksum, 02/03 counter, 05 ciphering, 06 unknown key, 09
unknown TAR, 0A security level) change nothing: the counter moves only for a packet that
passed every check.  Error PoRs go unprotected (the card may not have authenticated the
sender); a PoR OK is protected as the SPI asks.

The image's ``ota`` section::

    "ota": {"keysets": [{"index": 1, "algorithm": "aes" | "3des", "kic": hex, "kid": hex,
                         "counter": int}]}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.sw import SW
from simtool.errors import DataError, DecodeError, EncodeError, PorError
from simtool.ota.packet import (Algorithm, CounterPolicy, Integrity, OtaKey, OtaKeyset,
                                PorRequest, RemoteResponse, ResponsePacket, Spi,
                                build_response_packet, open_command_packet)
from simtool.ota.remote import (COMMAND_SCRIPT, COMMAND_SCRIPT_INDEFINITE, ExpandedResponse,
                                parse_compact_script, parse_expanded_script)
from simtool.ota.smspp import (SMS_PP_DOWNLOAD, TP_PID_DATA_DOWNLOAD, Reassembler,
                               parse_envelope, response_data)
from simtool.secret import Secret

log = logging.getLogger("tests.virtual_card")

TAR_RFM_USIM = bytes.fromhex("B00011")
TAR_RFM_UICC = bytes.fromhex("B00000")
TAR_RAM_ISD = bytes.fromhex("000000")
TARS = (TAR_RFM_USIM, TAR_RFM_UICC, TAR_RAM_ISD)
UDH_POR = b"\x02\x71\x00"

_ALGORITHMS = {"aes": (Algorithm.AES, (16, 24, 32)), "3des": (Algorithm.TDES_2KEY, (16,))}

# The default OTA key sets (invented test keys, distinct from every other key of the image).
DEFAULT_KEYSETS = (
    {"index": 1, "algorithm": "aes", "kic": "11" * 16, "kid": "22" * 16, "counter": 0},
    {"index": 2, "algorithm": "3des", "kic": "33" * 16, "kid": "44" * 16, "counter": 0},
)


@dataclass
class OtaKeysetState:
    index: int
    algorithm: str
    kic: bytes = field(repr=False)
    kid: bytes = field(repr=False)
    counter: int = 0

    def keyset(self) -> OtaKeyset:
        alg = _ALGORITHMS[self.algorithm][0]
        return OtaKeyset(OtaKey(self.index, alg, Secret(self.kic)),
                         OtaKey(self.index, alg, Secret(self.kid)))

    def to_json(self) -> dict:
        return {"index": self.index, "algorithm": self.algorithm,
                "kic": self.kic.hex().upper(), "kid": self.kid.hex().upper(),
                "counter": self.counter}


@dataclass
class OtaState:
    keysets: list[OtaKeysetState]

    def to_json(self) -> dict:
        return {"keysets": [k.to_json() for k in self.keysets]}

    @classmethod
    def from_json(cls, doc: object, where: str = "ota") -> OtaState:
        try:
            if not isinstance(doc, dict):
                raise TypeError("must be an object")
            sets = [OtaKeysetState(int(k["index"]), str(k["algorithm"]), bytes.fromhex(k["kic"]),
                                   bytes.fromhex(k["kid"]), int(k["counter"]))
                    for k in doc["keysets"]]
        except (TypeError, KeyError, ValueError) as exc:
            raise DataError(f"malformed OTA section: {exc}", where=where) from None
        for k in sets:
            sizes = _ALGORITHMS.get(k.algorithm, (None, ()))[1]
            if not 1 <= k.index <= 15 or len(k.kic) not in sizes or len(k.kid) not in sizes:
                raise DataError(f"key set {k.index}: index 1..15, algorithm aes or 3des with "
                                "keys of its size", where=where)
        return cls(sets)


def default_ota() -> OtaState:
    return OtaState.from_json({"keysets": [dict(k) for k in DEFAULT_KEYSETS]})


#: runs one script for a TAR: the commands in, their responses out (stopping at a failure)
Runner = Callable[[bytes, list[CommandApdu]], list[ResponseApdu]]


class OtaReceiver:
    def __init__(self, state: OtaState, run: Runner,
                 commit: Callable[[Callable[[], None]], None]) -> None:
        self.state = state
        self._run = run
        self._commit = commit
        self._reassembler = Reassembler()

    def reset(self) -> None:
        self._reassembler = Reassembler()

    def envelope(self, data: bytes) -> bytes:
        """One SMS-PP DOWNLOAD envelope: the response data (a PoR, or nothing)."""
        try:
            sms = parse_envelope(data)
            if sms.pid != TP_PID_DATA_DOWNLOAD:
                return b""                    # not for the card's applications
            packet = self._reassembler.add(sms)
        except DecodeError as exc:
            log.info("OTA: not a command packet: %s", exc)
            return b""
        if packet is None:
            return b""                        # more parts to come
        return self._packet(packet)

    def _packet(self, raw: bytes) -> bytes:
        if len(raw) < 16:
            return b""
        spi_bytes, kic, kid, tar = raw[3:5], raw[5], raw[6], raw[7:10]
        try:
            spi = Spi.decode(spi_bytes)
        except DecodeError:
            return self._error(tar, 0x06)
        if tar not in TARS:
            return self._error(tar, 0x09, spi)
        entry = next((k for k in self.state.keysets if k.index == kid >> 4), None)
        if entry is None or (spi.ciphering and kic >> 4 != entry.index):
            return self._error(tar, 0x06, spi)
        keys = entry.keyset()
        alg = keys.kid.byte & 0x0F if keys.kid else 0
        if kid & 0x0F != alg or (spi.ciphering and kic & 0x0F != alg):
            return self._error(tar, 0x06, spi)
        if spi.integrity is not Integrity.CC or spi.counter < CounterPolicy.HIGHER:
            return self._error(tar, 0x0A, spi)
        try:
            command = open_command_packet(raw, keys, last_counter=entry.counter)
        except PorError as exc:
            return self._error(tar, exc.status, spi)
        except (DecodeError, EncodeError) as exc:
            log.info("OTA: malformed command packet: %s", exc)
            return self._error(tar, 0x06, spi)
        before = entry.counter
        entry.counter = command.counter

        def undo() -> None:
            entry.counter = before

        self._commit(undo)
        data = command.data
        expanded = bool(data) and data[0] in (COMMAND_SCRIPT, COMMAND_SCRIPT_INDEFINITE)
        try:
            apdus = parse_expanded_script(data) if expanded else parse_compact_script(data)
        except DecodeError:
            apdus = None
        if apdus is None:
            result = (ExpandedResponse(bad_format=0x01).encode() if expanded
                      else RemoteResponse(0, SW.TECHNICAL_PROBLEM).encode())
        else:
            responses = self._run(tar, apdus)
            if expanded:
                result = ExpandedResponse(tuple(responses), len(responses)).encode()
            else:
                last = responses[-1] if responses else ResponseApdu(b"", SW.OK)
                result = RemoteResponse(len(responses), last.sw, bytes(last.data)).encode()
        if spi.por is PorRequest.NONE or spi.por is PorRequest.ON_ERROR:
            return b""
        por = ResponsePacket(tar, command.counter, 0x00, result)
        return response_data(build_response_packet(por, spi, keys, udh=UDH_POR))

    def _error(self, tar: bytes, status: int, spi: Spi | None = None) -> bytes:
        """An unprotected error PoR (RHL 10, no checksum)."""
        log.info("OTA: packet for TAR %s refused, PoR status %02X", tar.hex().upper(), status)
        if spi is not None and spi.por is PorRequest.NONE:
            return b""
        none = Spi(Integrity.NONE, False, por_integrity=Integrity.NONE)
        por = ResponsePacket(bytes(tar), 0, status)
        return response_data(build_response_packet(por, none, OtaKeyset(), udh=UDH_POR))


def is_sms_pp_download(data: bytes) -> bool:
    return bool(data) and data[0] == SMS_PP_DOWNLOAD
