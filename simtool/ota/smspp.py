"""SMS-PP data download: a TS 102 225 command packet inside SMS-DELIVER TPDUs inside ENVELOPEs.

* 3GPP TS 31.111 §7.1.1.2: the SMS-PP DOWNLOAD envelope (BER tag ``D1``): device identities
  network → UICC (``82 02 83 81``), optionally the service centre address (``06``), and the
  SMS TPDU (``8B``).
* 3GPP TS 23.040 §9.2.2.1: SMS-DELIVER: first octet (TP-MTI 00, TP-MMS, TP-UDHI), TP-OA
  (§9.1.2.5), TP-PID ``7F`` (USIM data download, §9.2.3.9), TP-DCS ``F6`` (class 2, 8-bit data,
  TS 23.038 §4), TP-SCTS, TP-UDL (octets) and TP-UD of at most 140 octets.
* 3GPP TS 31.115 §4.2 and TS 23.040 §9.2.3.24: the user data header: IEI ``70`` (command packet
  identifier, no data) in a single message; a packet longer than 137 octets goes in
  concatenated messages (IEI ``00``: reference, total, sequence number) with IEI ``70`` in the
  first one only.
* 3GPP TS 31.115 §4.4: the PoR returned in the ENVELOPE's response data (SMS-DELIVER-REPORT):
  UDH ``02 71 00`` (IEI ``71``, response packet identifier) then the response packet.

The SC timestamp comes from the caller (the library reads no clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from simtool.apdu.command import CommandApdu
from simtool.apdu.tlv import (ComprehensionTlv, ber_decode, ber_encode, ctlv_decode_all,
                              ctlv_encode)
from simtool.ef.bcd import decode_bcd, encode_bcd
from simtool.errors import DecodeError, EncodeError

IEI_CONCATENATION = 0x00
IEI_COMMAND_PACKET = 0x70
IEI_RESPONSE_PACKET = 0x71
MAX_USER_DATA = 140
SMS_PP_DOWNLOAD = 0xD1
TP_PID_DATA_DOWNLOAD = 0x7F
TP_DCS_CLASS2_8BIT = 0xF6
DIGITS = "0123456789*#abc"


@dataclass(frozen=True)
class Address:
    """A TS 23.040 §9.1.2.5 address: digits and the type-of-number / numbering-plan byte
    (``91`` international ISDN, ``81`` unknown ISDN)."""

    digits: str
    ton_npi: int = 0x81

    def encode_tp(self) -> bytes:
        """TP-OA: number of digits, TON/NPI, swapped BCD (at most 20 digits)."""
        if len(self.digits) > 20:
            raise EncodeError(f"address {self.digits!r} has more than 20 digits")
        return bytes((len(self.digits), self.ton_npi)) + encode_bcd(self.digits, alphabet=DIGITS)

    @classmethod
    def decode_tp(cls, data: bytes, offset: int) -> tuple[Address, int]:
        if offset + 2 > len(data):
            raise DecodeError("TP-OA truncated")
        n, ton = data[offset], data[offset + 1]
        end = offset + 2 + (n + 1) // 2
        if end > len(data):
            raise DecodeError(f"TP-OA of {n} digits runs past the end")
        digits = decode_bcd(data[offset + 2:end], alphabet=DIGITS, what="TP-OA")
        return cls(digits[:n], ton), end


@dataclass(frozen=True)
class SmsDeliver:
    """An SMS-DELIVER TPDU with binary user data (TS 23.040 §9.2.2.1).

    ``header`` holds the user data header's information elements as (IEI, data) pairs;
    ``more_messages`` is the inverse of TP-MMS (TP-MMS = 1: no more messages waiting)."""

    originating_address: Address
    user_data: bytes
    header: tuple[tuple[int, bytes], ...] = ()
    pid: int = TP_PID_DATA_DOWNLOAD
    dcs: int = TP_DCS_CLASS2_8BIT
    scts: bytes = bytes(7)
    more_messages: bool = False

    def encode(self) -> bytes:
        if len(self.scts) != 7:
            raise EncodeError(f"TP-SCTS is 7 bytes, got {len(self.scts)}")
        udh = b""
        if self.header:
            ies = b"".join(bytes((iei, len(d))) + d for iei, d in self.header)
            udh = bytes((len(ies),)) + ies
        ud = udh + self.user_data
        if len(ud) > MAX_USER_DATA:
            raise EncodeError(f"user data of {len(ud)} octets exceeds the {MAX_USER_DATA} of one SMS")
        first = (0x40 if self.header else 0) | (0 if self.more_messages else 0x04)
        return (bytes((first,)) + self.originating_address.encode_tp()
                + bytes((self.pid, self.dcs)) + self.scts + bytes((len(ud),)) + ud)

    @classmethod
    def decode(cls, data: bytes) -> SmsDeliver:
        data = bytes(data)
        if not data or data[0] & 0x03 != 0x00:
            raise DecodeError("not an SMS-DELIVER TPDU (TP-MTI is not 00)")
        first = data[0]
        oa, pos = Address.decode_tp(data, 1)
        if pos + 10 > len(data):
            raise DecodeError("SMS-DELIVER truncated before TP-UDL")
        pid, dcs, scts, udl = data[pos], data[pos + 1], data[pos + 2:pos + 9], data[pos + 9]
        # TS 23.038 §4: 8-bit data in the general coding group (00xx, b4-b3 = 01) or in the
        # data coding / message class group (F, b3 = 1)
        if not (dcs & 0xC0 == 0x00 and dcs & 0x0C == 0x04) and dcs & 0xF4 != 0xF4:
            raise DecodeError(f"TP-DCS {dcs:02X} is not 8-bit data")
        ud = data[pos + 10:]
        if len(ud) != udl:
            raise DecodeError(f"TP-UDL {udl} but {len(ud)} octets of user data")
        header: list[tuple[int, bytes]] = []
        if first & 0x40:
            if not ud or ud[0] + 1 > len(ud):
                raise DecodeError("user data header runs past the user data")
            ies, ud = ud[1:ud[0] + 1], ud[ud[0] + 1:]
            i = 0
            while i < len(ies):
                if i + 2 > len(ies) or i + 2 + ies[i + 1] > len(ies):
                    raise DecodeError("information element runs past the user data header")
                header.append((ies[i], ies[i + 2:i + 2 + ies[i + 1]]))
                i += 2 + ies[i + 1]
        return cls(oa, ud, tuple(header), pid, dcs, scts, not first & 0x04)


def command_tpdus(packet: bytes, originating_address: Address, *, scts: bytes = bytes(7),
                  reference: int = 0) -> list[SmsDeliver]:
    """The SMS-DELIVER messages that carry one command packet (CPL to the end)."""
    packet = bytes(packet)
    single_room = MAX_USER_DATA - 3  # UDHL, 70, 00
    if len(packet) <= single_room:
        return [SmsDeliver(originating_address, packet, ((IEI_COMMAND_PACKET, b""),), scts=scts)]
    first_room, next_room = MAX_USER_DATA - 8, MAX_USER_DATA - 6
    chunks = [packet[:first_room]]
    chunks += [packet[i:i + next_room] for i in range(first_room, len(packet), next_room)]
    if len(chunks) > 255:
        raise EncodeError(f"a command packet of {len(packet)} bytes needs more than 255 messages")
    if not 0 <= reference <= 255:
        raise EncodeError(f"concatenation reference {reference} is not one byte")
    out = []
    for n, chunk in enumerate(chunks, 1):
        ies = [(IEI_CONCATENATION, bytes((reference, len(chunks), n)))]
        if n == 1:
            ies.append((IEI_COMMAND_PACKET, b""))
        out.append(SmsDeliver(originating_address, chunk, tuple(ies), scts=scts,
                              more_messages=n < len(chunks)))
    return out


def envelope(tpdu: SmsDeliver, *, service_centre: Address | None = None,
             cla: int = 0x80) -> CommandApdu:
    """ENVELOPE (SMS-PP DOWNLOAD) ``80 C2 00 00 Lc D1 …`` (TS 31.111 §7.1.1.2)."""
    objs = [ComprehensionTlv(0x02, b"\x83\x81", cr=True)]  # device identities: network → UICC
    if service_centre is not None:
        objs.append(ComprehensionTlv(0x06, bytes((service_centre.ton_npi,))
                                     + encode_bcd(service_centre.digits, alphabet=DIGITS)))
    objs.append(ComprehensionTlv(0x0B, tpdu.encode(), cr=True))
    return CommandApdu(cla, 0xC2, 0x00, 0x00,
                       ber_encode(SMS_PP_DOWNLOAD, b"".join(ctlv_encode(o) for o in objs)))


def sms_pp_download(packet: bytes, originating_address: Address, *, scts: bytes = bytes(7),
                    reference: int = 0, service_centre: Address | None = None,
                    cla: int = 0x80) -> list[CommandApdu]:
    """One ENVELOPE per SMS for a command packet: the whole OTA send, in order."""
    return [envelope(t, service_centre=service_centre, cla=cla)
            for t in command_tpdus(packet, originating_address, scts=scts, reference=reference)]


def parse_envelope(data: bytes) -> SmsDeliver:
    """The receiving side: the SMS-DELIVER inside an SMS-PP DOWNLOAD envelope's data."""
    tlv, rest = ber_decode(data)
    if tlv.tag != SMS_PP_DOWNLOAD or rest:
        raise DecodeError(f"envelope tag {tlv.tag:02X} is not SMS-PP DOWNLOAD (D1)")
    objs = {o.tag: o.value for o in ctlv_decode_all(tlv.value)}
    if objs.get(0x02) != b"\x83\x81":
        raise DecodeError("SMS-PP DOWNLOAD without device identities network → UICC")
    if 0x0B not in objs:
        raise DecodeError("SMS-PP DOWNLOAD without an SMS TPDU (0B)")
    return SmsDeliver.decode(objs[0x0B])


class Reassembler:
    """Collects the SMS-DELIVERs of one command packet; :meth:`add` returns the packet when
    it is complete (TS 23.040 §9.2.3.24.1), ``None`` while parts are missing."""

    def __init__(self) -> None:
        self._parts: dict[int, bytes] = {}
        self._key: tuple[int, int] | None = None
        self._command = False

    def add(self, sms: SmsDeliver) -> bytes | None:
        ies = dict(sms.header)
        if IEI_CONCATENATION not in ies:
            if IEI_COMMAND_PACKET not in ies:
                raise DecodeError("an SMS without the command packet identifier (IEI 70)")
            return sms.user_data
        concat = ies[IEI_CONCATENATION]
        if len(concat) != 3 or not 1 <= concat[2] <= concat[1]:
            raise DecodeError("malformed concatenation information element")
        ref, total, seq = concat
        if self._key != (ref, total):
            self._key, self._parts, self._command = (ref, total), {}, False
        self._parts[seq] = sms.user_data
        if seq == 1:
            self._command = IEI_COMMAND_PACKET in ies
        if len(self._parts) < total:
            return None
        if not self._command:
            raise DecodeError("concatenated SMS whose first part lacks IEI 70")
        packet = b"".join(self._parts[i] for i in range(1, total + 1))
        self._key, self._parts = None, {}
        return packet


def por_from_response(data: bytes) -> tuple[bytes, bytes]:
    """Split the ENVELOPE's response data into the UDH (``02 71 00``) and the response
    packet (TS 31.115 §4.4); the UDH goes into the PoR checksum."""
    data = bytes(data)
    if len(data) < 3 or data[0] + 1 > len(data):
        raise DecodeError("no response packet in the SMS-PP DOWNLOAD response data")
    udh = data[:data[0] + 1]
    ies = udh[1:]
    found = False
    i = 0
    while i + 1 < len(ies):
        found |= ies[i] == IEI_RESPONSE_PACKET
        i += 2 + ies[i + 1]
    if not found:
        raise DecodeError("the response data's header has no response packet identifier (71)")
    return udh, data[len(udh):]


def response_data(udh_packet: bytes) -> bytes:
    """The card's side: ``02 71 00`` ‖ response packet, the ENVELOPE's response data."""
    return b"\x02\x71\x00" + bytes(udh_packet)
