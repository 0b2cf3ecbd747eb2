"""Secured packets of ETSI TS 102 225 (remote APDU structure for UICC based applications),
sans-I/O: the sending entity's command packet and the receiving entity's response packet
(Proof of Receipt, PoR), both ways, with their ciphering, cryptographic checksums and
counters.

=================================================  ==========================================
command packet: CPL CHL SPI KIc KID TAR CNTR        TS 102 225 §5.1.1 (Table 1)
  PCNTR RC/CC/DS data
SPI (security parameter indication)                TS 102 225 §5.1.1
KIc / KID coding                                   TS 102 225 §5.1.2 / §5.1.3
ciphering: DES/3DES-CBC (8-byte blocks), AES-CBC   TS 102 225 §5.1.2; zero ICV; padding with
  (16-byte blocks)                                  ``00`` counted by PCNTR (§5.1.1)
cryptographic checksum: DES/3DES CBC-MAC (8 bytes)  TS 102 225 §5.1.3; computed over CPL … PCNTR
  over data zero-padded to 8 bytes, AES-CMAC        ‖ secured data ‖ padding, before ciphering
  truncated to 8 or 4 bytes
counter policies (SPI b5-b4)                        TS 102 225 §5.1.1, checks §5.1.1 NOTE
response packet: RPL RHL TAR CNTR PCNTR status      TS 102 225 §5.2.1 (Table 4)
  RC/CC/DS data
response status codes                              TS 102 225 §5.2.2 (Table 6)
=================================================  ==========================================

On SMS the response packet's checksum also covers the user data header that precedes it
(``02 71 00``, 3GPP TS 31.115 §4.4); callers on that transport pass it as ``udh``.  When a
command is signed but not ciphered, no padding is sent (PCNTR ``00``) and the DES checksum
is computed over the data padded with ``00`` to the block (as the osmocom pySim test data,
taken from sysmoISIM cards, shows).  Redundancy checks (RC) and digital signatures (DS) are
not supported.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import IntEnum

from simtool.errors import (CounterMismatch, DecodeError, EncodeError, MacMismatch, PorError)
from simtool.gp.crypto import (aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, tdes_cbc_decrypt,
                               tdes_cbc_encrypt, tdes_cbc_mac, tdes_ecb, tdes_ecb_decrypt)
from simtool.secret import Secret

MAX_COUNTER = 0xFF_FFFF_FFFF


class CounterPolicy(IntEnum):
    """SPI first octet b5-b4 (TS 102 225 §5.1.1)."""

    NONE = 0                # no counter available
    AVAILABLE = 1           # counter available, no replay or sequence checking
    HIGHER = 2              # process only if the counter is higher than the RE's
    ONE_HIGHER = 3          # process only if the counter is one higher than the RE's


class Integrity(IntEnum):
    """SPI b2-b1 (command) and second octet b4-b3 (PoR): RC, CC or DS."""

    NONE = 0
    RC = 1
    CC = 2
    DS = 3


class PorRequest(IntEnum):
    """SPI second octet b2-b1."""

    NONE = 0
    ALWAYS = 1
    ON_ERROR = 2


class Algorithm(IntEnum):
    """The low nibble of KIc and KID (TS 102 225 §5.1.2, §5.1.3): b2-b1 the family (01 DES,
    10 AES), b4-b3 the mode."""

    DES_CBC = 0x1
    TDES_2KEY = 0x5
    TDES_3KEY = 0x9
    DES_ECB = 0xD   # KIc only
    AES = 0x2       # AES-CBC (KIc) / AES-CMAC (KID)

    @property
    def block(self) -> int:
        return 16 if self is Algorithm.AES else 8


#: TS 102 225 §5.2.2 Table 6: response status codes
POR_STATUS = {
    0x00: "PoR OK",
    0x01: "RC/CC/DS failed",
    0x02: "CNTR low",
    0x03: "CNTR high",
    0x04: "CNTR blocked",
    0x05: "Ciphering error",
    0x06: "Unidentified security error",
    0x07: "Insufficient memory to process incoming message",
    0x08: "more time needed to process the command packet",
    0x09: "TAR unknown",
    0x0A: "Insufficient security level",
    0x0B: "Reserved for 3GPP (TS 31.115)",
    0x0C: "Reserved for 3GPP (TS 31.115)",
}


def por_status_text(status: int) -> str:
    return POR_STATUS.get(status, f"reserved status {status:02X}")


@dataclass(frozen=True)
class Spi:
    """Security parameter indication, two octets (TS 102 225 §5.1.1)."""

    integrity: Integrity = Integrity.CC
    ciphering: bool = True
    counter: CounterPolicy = CounterPolicy.NONE
    por: PorRequest = PorRequest.ALWAYS
    por_integrity: Integrity = Integrity.CC
    por_ciphering: bool = False
    por_via_sms_submit: bool = False

    def __post_init__(self) -> None:
        for name, kind in (("integrity", Integrity), ("counter", CounterPolicy),
                           ("por", PorRequest), ("por_integrity", Integrity)):
            object.__setattr__(self, name, kind(getattr(self, name)))

    def encode(self) -> bytes:
        first = int(self.integrity) | (0x04 if self.ciphering else 0) | int(self.counter) << 3
        second = (int(self.por) | int(self.por_integrity) << 2
                  | (0x10 if self.por_ciphering else 0) | (0x20 if self.por_via_sms_submit else 0))
        return bytes((first, second))

    @classmethod
    def decode(cls, data: bytes) -> Spi:
        if len(data) != 2:
            raise DecodeError(f"SPI is 2 bytes, got {len(data)}")
        first, second = data
        if second & 0x03 == 0x03:
            raise DecodeError(f"SPI second octet {second:02X}: PoR request 11 is reserved")
        return cls(Integrity(first & 0x03), bool(first & 0x04), CounterPolicy(first >> 3 & 0x03),
                   PorRequest(second & 0x03), Integrity(second >> 2 & 0x03), bool(second & 0x10),
                   bool(second & 0x20))


@dataclass(frozen=True)
class OtaKey:
    """One KIc or KID: the key set index (b8-b5 of the byte), the algorithm and the key."""

    index: int
    algorithm: Algorithm
    key: Secret

    def __post_init__(self) -> None:
        if not 0 <= self.index <= 15:
            raise EncodeError(f"key index {self.index} is outside 0..15")
        sizes = {Algorithm.DES_CBC: (8,), Algorithm.DES_ECB: (8,), Algorithm.TDES_2KEY: (16,),
                 Algorithm.TDES_3KEY: (24,), Algorithm.AES: (16, 24, 32)}[self.algorithm]
        if len(self.key) not in sizes:
            raise EncodeError(f"a {self.algorithm.name} key is {' or '.join(map(str, sizes))} "
                              f"bytes, got {len(self.key)}")

    @property
    def byte(self) -> int:
        return self.index << 4 | int(self.algorithm)


@dataclass(frozen=True)
class OtaKeyset:
    """The keys of one TAR's security: ``kic`` ciphers, ``kid`` signs.  ``cc_length`` is the
    AES-CMAC length (8 or 4, TS 102 225 §5.1.3); DES CBC-MACs are 8 bytes."""

    kic: OtaKey | None = None
    kid: OtaKey | None = None
    cc_length: int = 8

    def __post_init__(self) -> None:
        if self.cc_length not in (4, 8):
            raise EncodeError(f"an AES-CMAC checksum is 4 or 8 bytes, not {self.cc_length}")
        if self.kid is not None and self.kid.algorithm is Algorithm.DES_ECB:
            raise EncodeError("DES-ECB is a KIc algorithm, not a KID one")

    def checksum_length(self, integrity: Integrity) -> int:
        if integrity is Integrity.NONE:
            return 0
        if integrity is not Integrity.CC:
            raise EncodeError(f"{integrity.name} is not supported (only cryptographic checksums)")
        if self.kid is None:
            raise EncodeError("a cryptographic checksum needs a KID key")
        return self.cc_length if self.kid.algorithm is Algorithm.AES else 8

    def checksum(self, data: bytes, length: int) -> bytes:
        assert self.kid is not None
        key = self.kid.key.reveal()
        if self.kid.algorithm is Algorithm.AES:
            return aes_cmac(key, data)[:length]
        return tdes_cbc_mac(key, data + bytes(-len(data) % 8))

    def block(self, ciphering: bool) -> int:
        if not ciphering:
            return 1
        if self.kic is None:
            raise EncodeError("ciphering needs a KIc key")
        return self.kic.algorithm.block

    def encipher(self, data: bytes) -> bytes:
        assert self.kic is not None
        key, alg = self.kic.key.reveal(), self.kic.algorithm
        if alg is Algorithm.AES:
            return aes_cbc_encrypt(key, data)
        if alg is Algorithm.DES_ECB:
            return tdes_ecb(key, data)
        return tdes_cbc_encrypt(key, data)

    def decipher(self, data: bytes) -> bytes:
        assert self.kic is not None
        key, alg = self.kic.key.reveal(), self.kic.algorithm
        if alg is Algorithm.AES:
            return aes_cbc_decrypt(key, data)
        if alg is Algorithm.DES_ECB:
            return tdes_ecb_decrypt(key, data)
        return tdes_cbc_decrypt(key, data)


def _tar(tar: bytes) -> bytes:
    if len(tar) != 3:
        raise EncodeError(f"a TAR is 3 bytes (ETSI TS 101 220 Annex D), got {len(tar)}")
    return bytes(tar)


def _counter(counter: int) -> bytes:
    if not 0 <= counter <= MAX_COUNTER:
        raise EncodeError(f"counter {counter} does not fit 5 bytes")
    return counter.to_bytes(5, "big")


@dataclass(frozen=True)
class CommandPacket:
    """A command packet in the clear: what the sending entity secures, what the receiving
    entity recovers."""

    spi: Spi
    kic: int
    kid: int
    tar: bytes
    counter: int
    data: bytes


def build_command_packet(tar: bytes, data: bytes, spi: Spi, keys: OtaKeyset,
                         counter: int = 0) -> bytes:
    """The secured command packet, CPL to the end (TS 102 225 §5.1.1)."""
    cc_len = keys.checksum_length(spi.integrity)
    block = keys.block(spi.ciphering)
    data = bytes(data)
    pad = -(6 + cc_len + len(data)) % block if spi.ciphering else 0
    chl = 13 + cc_len
    cpl = 1 + chl + len(data) + pad
    if cpl > 0xFFFF:
        raise EncodeError(f"command packet of {cpl} bytes is too long")
    kic = keys.kic.byte if keys.kic is not None else 0
    kid = keys.kid.byte if keys.kid is not None else 0
    head = cpl.to_bytes(2, "big") + bytes((chl,)) + spi.encode() + bytes((kic, kid)) + _tar(tar)
    secured_head = _counter(counter) + bytes((pad,))
    body = data + bytes(pad)
    cc = keys.checksum(head + secured_head + body, cc_len) if cc_len else b""
    secured = secured_head + cc + body
    if spi.ciphering:
        secured = keys.encipher(secured)
    return head + secured


def open_command_packet(raw: bytes, keys: OtaKeyset, *, last_counter: int | None = None
                        ) -> CommandPacket:
    """The receiving entity's checks, in the order TS 102 225 §5.1 gives them: decipher,
    verify the checksum, then the counter.  Raises :class:`~simtool.errors.PorError` whose
    ``status`` is the code the receiving entity answers in its PoR (01 checksum, 02 counter
    low, 03 counter high, 04 counter blocked, 05 ciphering error), or
    :class:`~simtool.errors.DecodeError` when the packet is not a command packet at all."""
    raw = bytes(raw)
    if len(raw) < 16:
        raise DecodeError(f"command packet of {len(raw)} bytes is shorter than its header")
    cpl, chl = int.from_bytes(raw[:2], "big"), raw[2]
    if cpl != len(raw) - 2:
        raise DecodeError(f"CPL {cpl} but {len(raw) - 2} bytes follow it")
    spi = Spi.decode(raw[3:5])
    kic, kid, tar = raw[5], raw[6], raw[7:10]
    try:
        cc_len = keys.checksum_length(spi.integrity)
    except EncodeError:
        raise PorError(0x06, por_status_text(0x06)) from None
    if chl != 13 + cc_len:
        raise DecodeError(f"CHL {chl} does not match the SPI's checksum ({cc_len} bytes)")
    secured = raw[10:]
    if spi.ciphering:
        block = keys.block(True)
        if len(secured) % block:
            raise PorError(0x05, por_status_text(0x05))
        secured = keys.decipher(secured)
    counter, pad = int.from_bytes(secured[:5], "big"), secured[5]
    cc, body = secured[6:6 + cc_len], secured[6 + cc_len:]
    if pad > len(body) or (not spi.ciphering and pad):
        raise PorError(0x05, por_status_text(0x05))
    if cc_len:
        expected = keys.checksum(raw[:10] + secured[:6] + body, cc_len)
        if not hmac.compare_digest(expected, cc):
            raise PorError(0x01, por_status_text(0x01))
    check_counter(spi.counter, counter, last_counter)
    return CommandPacket(spi, kic, kid, bytes(tar), counter, body[:len(body) - pad])


def check_counter(policy: CounterPolicy, counter: int, last_counter: int | None) -> None:
    """TS 102 225 §5.1.1 SPI b5-b4 and §5.2.2: the counter checks of the receiving entity."""
    if policy in (CounterPolicy.NONE, CounterPolicy.AVAILABLE) or last_counter is None:
        return
    if last_counter >= MAX_COUNTER:
        raise PorError(0x04, por_status_text(0x04))
    if counter <= last_counter:
        raise PorError(0x02, por_status_text(0x02))
    if policy is CounterPolicy.ONE_HIGHER and counter != last_counter + 1:
        raise PorError(0x03, por_status_text(0x03))


@dataclass(frozen=True)
class ResponsePacket:
    """A PoR in the clear (TS 102 225 §5.2.1): ``data`` is the additional response data."""

    tar: bytes
    counter: int
    status: int
    data: bytes = b""

    @property
    def status_text(self) -> str:
        return por_status_text(self.status)

    def check(self) -> ResponsePacket:
        """Raise :class:`~simtool.errors.PorError` unless the status is "PoR OK"."""
        if self.status != 0x00:
            raise PorError(self.status, self.status_text)
        return self


def build_response_packet(por: ResponsePacket, spi: Spi, keys: OtaKeyset, *,
                          udh: bytes = b"") -> bytes:
    """The receiving entity's PoR, RPL to the end, protected as the command's SPI asks."""
    cc_len = keys.checksum_length(spi.por_integrity)
    block = keys.block(spi.por_ciphering)
    data = bytes(por.data)
    pad = -(7 + cc_len + len(data)) % block if spi.por_ciphering else 0
    rhl = 10 + cc_len
    rpl = 1 + rhl + len(data) + pad
    head = rpl.to_bytes(2, "big") + bytes((rhl,)) + _tar(por.tar)
    secured_head = _counter(por.counter) + bytes((pad, por.status))
    body = data + bytes(pad)
    cc = keys.checksum(bytes(udh) + head + secured_head + body, cc_len) if cc_len else b""
    secured = secured_head + cc + body
    if spi.por_ciphering:
        secured = keys.encipher(secured)
    return head + secured


def open_response_packet(raw: bytes, spi: Spi, keys: OtaKeyset, *, udh: bytes = b"",
                         tar: bytes | None = None, counter: int | None = None
                         ) -> ResponsePacket:
    """Decode and verify a PoR (RPL to the end) for the command sent with ``spi``.

    :class:`~simtool.errors.MacMismatch` on a wrong checksum; :class:`CounterMismatch` when
    ``tar`` / ``counter`` (those of the command) differ from the PoR's, a replayed or foreign
    answer.  A PoR reporting an error may come unprotected (the card could not check the
    command): its status is still returned; call :meth:`ResponsePacket.check` to raise it."""
    raw = bytes(raw)
    if len(raw) < 13:
        raise DecodeError(f"response packet of {len(raw)} bytes is shorter than its header")
    rpl, rhl = int.from_bytes(raw[:2], "big"), raw[2]
    if rpl != len(raw) - 2:
        raise DecodeError(f"RPL {rpl} but {len(raw) - 2} bytes follow it")
    por_tar = raw[3:6]
    if tar is not None and por_tar != tar:
        raise CounterMismatch(f"PoR for TAR {por_tar.hex().upper()}, the command went to "
                              f"{bytes(tar).hex().upper()}")
    cc_len = keys.checksum_length(spi.por_integrity)
    secured = raw[6:]
    protected = rhl == 10 + cc_len
    if not protected:
        if rhl != 10:
            raise DecodeError(f"RHL {rhl} does not match the SPI's PoR checksum ({cc_len} bytes)")
        # an unprotected error PoR: the receiving entity could not authenticate the command
        cc_len = 0
    if protected and spi.por_ciphering:
        if len(secured) % keys.block(True):
            raise DecodeError("ciphered PoR is not a whole number of cipher blocks")
        secured = keys.decipher(secured)
    por_counter, pad, status = int.from_bytes(secured[:5], "big"), secured[5], secured[6]
    cc, body = secured[7:7 + cc_len], secured[7 + cc_len:]
    if pad > len(body):
        raise DecodeError(f"PCNTR {pad} exceeds the {len(body)} bytes of response data")
    if cc_len:
        expected = keys.checksum(bytes(udh) + raw[:6] + secured[:7] + body, cc_len)
        if not hmac.compare_digest(expected, cc):
            raise MacMismatch("the PoR's cryptographic checksum does not verify")
    elif spi.por_integrity is not Integrity.NONE and status == 0x00:
        raise MacMismatch("a PoR OK without the cryptographic checksum the SPI asks for")
    if counter is not None and por_counter != counter and status == 0x00:
        raise CounterMismatch(f"PoR counter {por_counter:010X} differs from the command's "
                              f"{counter:010X}: a replayed or stale PoR")
    return ResponsePacket(bytes(por_tar), por_counter, status, body[:len(body) - pad])


@dataclass(frozen=True)
class RemoteResponse:
    """Additional response data of RFM/RAM in the compact format (TS 102 226 §5.1.2):
    number of commands executed, the last command's status word and response data."""

    commands_executed: int
    last_sw: int
    last_data: bytes = b""

    @classmethod
    def decode(cls, data: bytes) -> RemoteResponse:
        if len(data) < 3:
            raise DecodeError(f"RFM/RAM response data of {len(data)} bytes: needs 3 at least")
        return cls(data[0], int.from_bytes(data[1:3], "big"), bytes(data[3:]))

    def encode(self) -> bytes:
        return bytes((self.commands_executed,)) + self.last_sw.to_bytes(2, "big") + self.last_data
