"""Secure Channel Protocol '02' (GlobalPlatform Card Specification 2.3, Annex E), options
i = 15 and i = 55.

The same sans-I/O shape as :mod:`simtool.gp.scp03`: :class:`Scp02Handshake` →
:class:`SecureChannel` on the host's side, :class:`CardSession` on the card's.

Clauses of GP Card Specification 2.3 Annex E:

* E.1.1   the "i" parameter: b1 three secure channel keys, b2 clear: C-MAC on the modified
          APDU, b3 explicit initiation, b5 ICV encryption for C-MAC sessions, b7 well-known
          pseudo-random card challenge; i = 15 and
          i = 55 are the two options of UICCs (ETSI TS 102 225 and most SIM vendors);
* E.4.1   session keys: 3DES-CBC (zero ICV) with the static key over constant ‖ sequence
          counter ‖ twelve ``00`` bytes; constants 0101 (C-MAC), 0102 (R-MAC), 0181 (DEK),
          0182 (S-ENC);
* E.4.2   card and host cryptograms: the full 3DES MAC (ISO/IEC 9797-1 algorithm 1, padding
          method 2) with S-ENC over host challenge ‖ sequence counter ‖ card challenge, and over
          sequence counter ‖ card challenge ‖ host challenge;
* E.4.4   C-MAC: ISO/IEC 9797-1 algorithm 3 (single DES, last block 3DES) with the C-MAC
          session key over the header with b3 of CLA set and Lc + 8, and the clear data; the
          ICV is zero for EXTERNAL AUTHENTICATE, then the previous C-MAC, encrypted with single
          DES under the first half of the C-MAC key when i has b5 (both 15 and 55 do);
* E.4.6   C-DECRYPTION: the data padded 80 00… (always) and 3DES-CBC encrypted with S-ENC and
          a zero ICV, after the C-MAC was computed over the clear data;
* E.5.1/E.5.2  INITIALIZE UPDATE (28 bytes of response) and EXTERNAL AUTHENTICATE.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.errors import CryptogramMismatch, DecodeError, EncodeError, MacMismatch
from simtool.gp.crypto import (des_ecb, pad80, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt,
                               tdes_cbc_mac, tdes_ecb, unpad80)
from simtool.gp.scp03 import SecurityLevel
from simtool.secret import Secret

# Annex E.4.1 Table E-2: derivation constants
C_MAC = b"\x01\x01"
R_MAC = b"\x01\x02"
DEK = b"\x01\x81"
ENC = b"\x01\x82"

#: security levels of SCP02 (Annex E.5.2.3); R-MAC is not among the options i = 15/55
VALID_LEVELS = frozenset({0x00, 0x01, 0x03})
SUPPORTED_I = frozenset({0x15, 0x55})


@dataclass(frozen=True)
class Scp02Keys:
    """A static SCP02 key set: three two-key 3DES keys and their key version number."""

    enc: Secret
    mac: Secret
    dek: Secret
    version: int = 0x20

    def __post_init__(self) -> None:
        if {len(self.enc), len(self.mac), len(self.dek)} != {16}:
            raise EncodeError("SCP02 keys must all be 16-byte two-key 3DES keys")
        if not 0 <= self.version <= 0xFF:
            raise EncodeError(f"key version number {self.version} is outside 00..FF")


@dataclass(frozen=True)
class SessionKeys:
    s_enc: Secret
    c_mac: Secret
    r_mac: Secret
    dek: Secret


def derive(static_key: bytes, constant: bytes, sequence_counter: bytes) -> bytes:
    """Annex E.4.1: one session key."""
    return tdes_cbc_encrypt(static_key, bytes(constant) + bytes(sequence_counter) + bytes(12))


def session_keys(keys: Scp02Keys, sequence_counter: bytes) -> SessionKeys:
    return SessionKeys(Secret(derive(keys.enc.reveal(), ENC, sequence_counter)),
                       Secret(derive(keys.mac.reveal(), C_MAC, sequence_counter)),
                       Secret(derive(keys.mac.reveal(), R_MAC, sequence_counter)),
                       Secret(derive(keys.dek.reveal(), DEK, sequence_counter)))


def card_cryptogram(sk: SessionKeys, host_challenge: bytes, sequence_counter: bytes,
                    card_challenge: bytes) -> bytes:
    return tdes_cbc_mac(sk.s_enc.reveal(),
                        pad80(host_challenge + sequence_counter + card_challenge, 8))


def host_cryptogram(sk: SessionKeys, host_challenge: bytes, sequence_counter: bytes,
                    card_challenge: bytes) -> bytes:
    return tdes_cbc_mac(sk.s_enc.reveal(),
                        pad80(sequence_counter + card_challenge + host_challenge, 8))


@dataclass(frozen=True)
class InitializeUpdateResponse:
    """INITIALIZE UPDATE response data (Annex E.5.1.6 Table E-13), 28 bytes."""

    key_diversification_data: bytes
    key_version: int
    scp: int
    sequence_counter: bytes
    card_challenge: bytes
    card_cryptogram: bytes

    @classmethod
    def decode(cls, data: bytes) -> InitializeUpdateResponse:
        data = bytes(data)
        if len(data) != 28:
            raise DecodeError(f"INITIALIZE UPDATE response of {len(data)} bytes: SCP02 answers 28")
        if data[11] != 0x02:
            raise DecodeError(f"INITIALIZE UPDATE response names SCP{data[11]:02X}, not SCP02")
        return cls(data[:10], data[10], data[11], data[12:14], data[14:20], data[20:28])

    def encode(self) -> bytes:
        return (self.key_diversification_data + bytes((self.key_version, self.scp))
                + self.sequence_counter + self.card_challenge + self.card_cryptogram)


def _check_level(level: int) -> SecurityLevel:
    if level not in VALID_LEVELS:
        raise EncodeError(f"security level {level:02X} is not one of SCP02's 00, 01, 03")
    return SecurityLevel(level)


@dataclass
class _Mac:
    sk: SessionKeys
    icv_encryption: bool
    last: bytes | None = None  # the previous C-MAC; None before EXTERNAL AUTHENTICATE

    def c_mac(self, header: bytes, data: bytes) -> bytes:
        key = self.sk.c_mac.reveal()
        if self.last is None:
            icv = bytes(8)
        elif self.icv_encryption:
            icv = des_ecb(key[:8], self.last)
        else:
            icv = self.last
        self.last = retail_mac(key, pad80(header + data, 8), icv)
        return self.last


def _sm_cla(cla: int) -> int:
    return cla | 0x04 if cla & 0x40 == 0 else cla | 0x20


class SecureChannel:
    """The host's side of an open SCP02 session: :meth:`wrap` adds C-MAC (and C-DECRYPTION)."""

    def __init__(self, mac: _Mac, level: int) -> None:
        self.security_level = _check_level(level)
        self._mac = mac

    def __repr__(self) -> str:
        return f"SecureChannel(SCP02, level={int(self.security_level):02X})"

    def wrap(self, apdu: CommandApdu) -> CommandApdu:
        level = self.security_level
        if not level & SecurityLevel.C_MAC:
            return apdu
        data = bytes(apdu.data)
        cla = _sm_cla(apdu.cla)
        if len(data) + 8 > 255:
            raise EncodeError(f"{apdu.ins:02X}: {len(data)} bytes of data leave no room for the C-MAC")
        mac = self._mac.c_mac(bytes((cla, apdu.ins, apdu.p1, apdu.p2, len(data) + 8)), data)
        if level & SecurityLevel.C_DECRYPTION and data:
            data = tdes_cbc_encrypt(self._mac.sk.s_enc.reveal(), pad80(data, 8))
            if len(data) + 8 > 255:
                raise EncodeError(f"{apdu.ins:02X}: encrypted data of {len(data)} bytes leaves no "
                                  "room for the C-MAC")
        return CommandApdu(cla, apdu.ins, apdu.p1, apdu.p2, data + mac, apdu.le)

    def unwrap(self, response: ResponseApdu) -> ResponseApdu:
        """SCP02 with i = 15/55 protects no response: the response passes unchanged."""
        return response

    def encrypt_key(self, key: Secret) -> bytes:
        """GP 2.3 Annex E.4.7 (PUT KEY): a 3DES key encrypted 3DES-ECB with the DEK session key."""
        value = key.reveal()
        if len(value) != 16:
            raise EncodeError("SCP02 encrypts two-key 3DES keys (16 bytes)")
        return tdes_ecb(self._mac.sk.dek.reveal(), value)


@dataclass
class Scp02Handshake:
    keys: Scp02Keys
    host_challenge: bytes
    i: int = 0x55
    key_version: int | None = None

    def __post_init__(self) -> None:
        if self.i not in SUPPORTED_I:
            raise EncodeError(f"SCP02 option i = {self.i:02X} is not supported (15 or 55)")
        if len(self.host_challenge) != 8:
            raise EncodeError(f"SCP02 host challenge is 8 bytes, got {len(self.host_challenge)}")

    def initialize_update(self) -> CommandApdu:
        kvn = self.keys.version if self.key_version is None else self.key_version
        return CommandApdu(0x80, 0x50, kvn, 0x00, bytes(self.host_challenge), 256)

    def complete(self, response_data: bytes,
                 level: int = SecurityLevel.C_MAC) -> tuple[CommandApdu, SecureChannel]:
        r = InitializeUpdateResponse.decode(response_data)
        level = _check_level(level)
        sk = session_keys(self.keys, r.sequence_counter)
        hc, seq, cc = self.host_challenge, r.sequence_counter, r.card_challenge
        if not hmac.compare_digest(card_cryptogram(sk, hc, seq, cc), r.card_cryptogram):
            raise CryptogramMismatch(
                f"SCP02 card cryptogram does not verify for key version {r.key_version:02X}: "
                "wrong keys, or not this card's key set")
        channel = SecureChannel(_Mac(sk, bool(self.i & 0x10)), SecurityLevel.C_MAC)
        ext = channel.wrap(CommandApdu(0x80, 0x82, int(level), 0x00,
                                       host_cryptogram(sk, hc, seq, cc)))
        channel.security_level = level
        return ext, channel


class CardSession:
    """The card's side of SCP02 (an ISD with i = 15 or 55)."""

    def __init__(self, keys: Scp02Keys, sequence_counter: bytes, card_challenge: bytes,
                 i: int = 0x55, key_diversification_data: bytes = bytes(10)) -> None:
        self.keys = keys
        self.sequence_counter = bytes(sequence_counter)
        self.card_challenge = bytes(card_challenge)
        self.i = i
        self.kdd = bytes(key_diversification_data)
        self.security_level: SecurityLevel | None = None
        self._host_challenge = b""
        self._mac: _Mac | None = None

    def __repr__(self) -> str:
        return f"CardSession(SCP02, kvn={self.keys.version:02X})"

    def initialize_update(self, apdu: CommandApdu) -> ResponseApdu:
        if len(apdu.data) != 8:
            return ResponseApdu(b"", 0x6700)
        self._host_challenge = bytes(apdu.data)
        sk = session_keys(self.keys, self.sequence_counter)
        self._mac = _Mac(sk, bool(self.i & 0x10))
        self.security_level = None
        r = InitializeUpdateResponse(
            self.kdd, self.keys.version, 0x02, self.sequence_counter, self.card_challenge,
            card_cryptogram(sk, self._host_challenge, self.sequence_counter, self.card_challenge))
        return ResponseApdu(r.encode(), 0x9000)

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        if self._mac is None:
            return ResponseApdu(b"", 0x6985)
        try:
            body = self._check(apdu, decrypt=False)
        except MacMismatch:
            self._mac = None
            return ResponseApdu(b"", 0x6982)
        expected = host_cryptogram(self._mac.sk, self._host_challenge, self.sequence_counter,
                                   self.card_challenge)
        if apdu.p1 not in VALID_LEVELS or not hmac.compare_digest(body, expected):
            self._mac = None
            return ResponseApdu(b"", 0x6982 if apdu.p1 in VALID_LEVELS else 0x6A86)
        self.security_level = SecurityLevel(apdu.p1)
        return ResponseApdu(b"", 0x9000)

    def _check(self, apdu: CommandApdu, *, decrypt: bool) -> bytes:
        assert self._mac is not None
        data = bytes(apdu.data)
        if len(data) < 8:
            raise MacMismatch("command too short for its C-MAC")
        body, mac = data[:-8], data[-8:]
        if decrypt and body:
            if len(body) % 8:
                raise MacMismatch("encrypted data is not whole 3DES blocks")
            body = unpad80(tdes_cbc_decrypt(self._mac.sk.s_enc.reveal(), body))
        saved = self._mac.last
        header = bytes((apdu.cla, apdu.ins, apdu.p1, apdu.p2, len(body) + 8))
        if not hmac.compare_digest(self._mac.c_mac(header, body), mac):
            self._mac.last = saved
            raise MacMismatch(f"C-MAC of {apdu.ins:02X} does not verify")
        return body

    def unwrap_command(self, apdu: CommandApdu) -> CommandApdu:
        if self._mac is None or self.security_level is None:
            raise MacMismatch("no open secure channel session")
        if not self.security_level & SecurityLevel.C_MAC:
            return apdu
        body = self._check(apdu, decrypt=bool(self.security_level & SecurityLevel.C_DECRYPTION))
        cla = apdu.cla & ~0x04 if apdu.cla & 0x40 == 0 else apdu.cla & ~0x20
        return CommandApdu(cla, apdu.ins, apdu.p1, apdu.p2, body, apdu.le)

    def wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        return response
