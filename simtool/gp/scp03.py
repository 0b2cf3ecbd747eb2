"""Secure Channel Protocol '03' (GlobalPlatform Card Specification 2.3, Amendment D v1.1.2).

Sans-I/O: :class:`Scp03Handshake` builds INITIALIZE UPDATE, checks the card's answer and
builds EXTERNAL AUTHENTICATE; the :class:`SecureChannel` it returns wraps command APDUs
(C-MAC, C-DECRYPTION) and unwraps responses (R-MAC, R-ENCRYPTION).  :class:`CardSession`
is the card's side of the same protocol (the emulator's ISD and tests pair the two in
memory).  Nothing here touches a reader or a clock.

Clauses of Amendment D:

* §6.2.1  the three static keys Key-ENC, Key-MAC, Key-DEK (AES-128/192/256);
* §6.2.2  session keys S-ENC, S-MAC, S-RMAC by the NIST SP 800-108 counter-mode KDF with
          AES-CMAC over host challenge ‖ card challenge (derivation constants 04, 06, 07);
* §6.2.2.2/3  card and host cryptograms (constants 00, 01), 64 bits (S8) or 128 bits (S16);
* §6.2.2.1 pseudo-random card challenge (constant 02, context = sequence counter ‖ SD AID);
* §6.2.4  C-MAC: AES-CMAC with S-MAC over MAC chaining value ‖ header ‖ Lc ‖ data, the
          whole 16-byte result is the next chaining value, 8 (S8) or 16 (S16) bytes are sent;
* §6.2.5  R-MAC: AES-CMAC with S-RMAC over chaining value ‖ data ‖ SW, no R-MAC on an error
          status word;
* §6.2.6  C-DECRYPTION: ICV = AES(S-ENC, encryption counter), padding 80 00…, AES-CBC;
* §6.2.7  R-ENCRYPTION: ICV = AES(S-ENC, 80 ‖ counter);
* §7.1.1/§7.1.2  INITIALIZE UPDATE and EXTERNAL AUTHENTICATE.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import IntFlag

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.errors import CryptogramMismatch, DecodeError, EncodeError, MacMismatch
from simtool.gp.crypto import (aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, aes_ecb,
                               kdf_counter_cmac, pad80, unpad80)
from simtool.secret import Secret

# Amendment D §6.2.2 Table 6-1: data derivation constants
CARD_CRYPTOGRAM = 0x00
HOST_CRYPTOGRAM = 0x01
CARD_CHALLENGE = 0x02
S_ENC = 0x04
S_MAC = 0x06
S_RMAC = 0x07

INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82


class SecurityLevel(IntFlag):
    """P1 of EXTERNAL AUTHENTICATE (GP 2.3 §11.8.2.3 Table 11-72 / Amendment D §7.1.2.1)."""

    NONE = 0x00
    C_MAC = 0x01
    C_DECRYPTION = 0x02
    R_MAC = 0x10
    R_ENCRYPTION = 0x20


#: the levels Amendment D §6.1 allows (C-DEC needs C-MAC, R-ENC needs R-MAC and C-DEC)
VALID_LEVELS = frozenset({0x00, 0x01, 0x03, 0x11, 0x13, 0x33})


def _label(constant: int) -> bytes:
    return bytes(11) + bytes((constant,))


def derive(key: bytes, constant: int, context: bytes, length_bits: int) -> bytes:
    """Amendment D §6.2.2: the data derivation function (KDF with the constant's label)."""
    return kdf_counter_cmac(key, _label(constant), context, length_bits)


@dataclass(frozen=True)
class Scp03Keys:
    """A static SCP03 key set (Key-ENC, Key-MAC, Key-DEK) and its key version number."""

    enc: Secret
    mac: Secret
    dek: Secret
    version: int = 0x30

    def __post_init__(self) -> None:
        sizes = {len(self.enc), len(self.mac), len(self.dek)}
        if len(sizes) != 1 or sizes.pop() not in (16, 24, 32):
            raise EncodeError("SCP03 keys must all be AES-128, AES-192 or AES-256 of one size")
        # 01..7F are issuer key sets, FF the initial (factory) key set (GP 2.3 §11.1.8)
        if not 0 <= self.version <= 0xFF:
            raise EncodeError(f"key version number {self.version} is outside 00..FF")


@dataclass(frozen=True)
class SessionKeys:
    """S-ENC, S-MAC, S-RMAC (Amendment D §6.2.2)."""

    s_enc: Secret
    s_mac: Secret
    s_rmac: Secret


def session_keys(keys: Scp03Keys, host_challenge: bytes, card_challenge: bytes) -> SessionKeys:
    context = bytes(host_challenge) + bytes(card_challenge)
    bits = len(keys.enc) * 8
    return SessionKeys(
        Secret(derive(keys.enc.reveal(), S_ENC, context, bits)),
        Secret(derive(keys.mac.reveal(), S_MAC, context, bits)),
        Secret(derive(keys.mac.reveal(), S_RMAC, context, bits)),
    )


def card_cryptogram(sk: SessionKeys, host_challenge: bytes, card_challenge: bytes) -> bytes:
    n = len(card_challenge)
    return derive(sk.s_mac.reveal(), CARD_CRYPTOGRAM, host_challenge + card_challenge, n * 8)


def host_cryptogram(sk: SessionKeys, host_challenge: bytes, card_challenge: bytes) -> bytes:
    n = len(card_challenge)
    return derive(sk.s_mac.reveal(), HOST_CRYPTOGRAM, host_challenge + card_challenge, n * 8)


def pseudo_random_card_challenge(keys: Scp03Keys, sequence_counter: bytes, sd_aid: bytes,
                                 length: int = 8) -> bytes:
    """Amendment D §6.2.2.1: the card challenge of the pseudo-random mode (i b5 = 1)."""
    return derive(keys.enc.reveal(), CARD_CHALLENGE, bytes(sequence_counter) + bytes(sd_aid),
                  length * 8)


@dataclass(frozen=True)
class InitializeUpdateResponse:
    """The response data of INITIALIZE UPDATE (Amendment D §7.1.1.6 Table 7-3)."""

    key_diversification_data: bytes
    key_version: int
    scp: int
    i: int
    card_challenge: bytes
    card_cryptogram: bytes
    sequence_counter: bytes | None

    @property
    def s16(self) -> bool:
        return bool(self.i & 0x01)

    @classmethod
    def decode(cls, data: bytes) -> InitializeUpdateResponse:
        data = bytes(data)
        if len(data) not in (29, 32, 45, 48):
            raise DecodeError(f"INITIALIZE UPDATE response of {len(data)} bytes: SCP03 answers "
                              "29 or 32 (S8) or 45 or 48 (S16) bytes")
        kvn, scp, i = data[10], data[11], data[12]
        if scp != 0x03:
            raise DecodeError(f"INITIALIZE UPDATE response names SCP{scp:02X}, not SCP03")
        n = 16 if i & 0x01 else 8
        end = 13 + 2 * n
        if len(data) not in (end, end + 3):
            raise DecodeError(f"INITIALIZE UPDATE response of {len(data)} bytes does not match "
                              f"i = {i:02X} ({'S16' if n == 16 else 'S8'} mode)")
        return cls(data[:10], kvn, scp, i, data[13:13 + n], data[13 + n:end],
                   data[end:end + 3] if len(data) == end + 3 else None)

    def encode(self) -> bytes:
        return (self.key_diversification_data + bytes((self.key_version, self.scp, self.i))
                + self.card_challenge + self.card_cryptogram + (self.sequence_counter or b""))


def initialize_update(key_version: int, host_challenge: bytes) -> CommandApdu:
    """Amendment D §7.1.1: ``80 50 KVN 00 Lc host-challenge 00``."""
    if len(host_challenge) not in (8, 16):
        raise EncodeError(f"host challenge of {len(host_challenge)} bytes: SCP03 takes 8 or 16")
    return CommandApdu(0x80, INS_INITIALIZE_UPDATE, key_version, 0x00, bytes(host_challenge), 256)


def _check_level(level: int) -> SecurityLevel:
    if level not in VALID_LEVELS:
        raise EncodeError(f"security level {level:02X} is not one of "
                          + ", ".join(f"{x:02X}" for x in sorted(VALID_LEVELS)))
    return SecurityLevel(level)


@dataclass
class _Mac:
    """The MAC state both sides share (Amendment D §6.2.4, §6.2.5)."""

    sk: SessionKeys
    mac_length: int
    chaining: bytes = bytes(16)
    counter: int = 0

    def c_mac(self, header: bytes, data: bytes) -> bytes:
        self.chaining = aes_cmac(self.sk.s_mac.reveal(), self.chaining + header + data)
        return self.chaining[: self.mac_length]

    def r_mac(self, data: bytes, sw: int) -> bytes:
        return aes_cmac(self.sk.s_rmac.reveal(),
                        self.chaining + data + sw.to_bytes(2, "big"))[: self.mac_length]

    def icv(self, response: bool) -> bytes:
        block = self.counter.to_bytes(16, "big")
        if response:
            block = b"\x80" + block[1:]
        return aes_ecb(self.sk.s_enc.reveal(), block)


def _is_protected_sw(sw: int) -> bool:
    """Amendment D §6.2.5: R-MAC/R-ENC only on 9000 and the warnings 62xx/63xx."""
    return sw == 0x9000 or sw >> 8 in (0x62, 0x63)


class SecureChannel:
    """The off-card entity's side of an open SCP03 session.

    :meth:`wrap` turns a plain command APDU (class byte with b3 clear) into the protected one;
    :meth:`unwrap` checks and strips the response's protection.  Calls must alternate in APDU
    order: the MAC chaining value and the encryption counter run with them.
    """

    def __init__(self, sk: SessionKeys, dek: Secret, level: int, mac_length: int) -> None:
        self.security_level = _check_level(level)
        self._dek = dek
        self._mac = _Mac(sk, mac_length)

    def __repr__(self) -> str:
        return f"SecureChannel(SCP03, level={int(self.security_level):02X})"

    def wrap(self, apdu: CommandApdu) -> CommandApdu:
        level = self.security_level
        if not level & SecurityLevel.C_MAC:
            return apdu
        data = bytes(apdu.data)
        if level & SecurityLevel.C_DECRYPTION:
            self._mac.counter += 1  # §6.2.6: incremented for every command of the session
            if data:
                data = aes_cbc_encrypt(self._mac.sk.s_enc.reveal(), pad80(data, 16),
                                       self._mac.icv(response=False))
        # ISO/IEC 7816-4 §5.4.1: the secure-messaging indication is b3 of a first-interindustry
        # class byte, b6 of a further-interindustry one; the logical channel bits stay
        cla = apdu.cla | 0x04 if apdu.cla & 0x40 == 0 else apdu.cla | 0x20
        lc = len(data) + self._mac.mac_length
        if lc > 255:
            raise EncodeError(f"{apdu.ins:02X}: {len(apdu.data)} bytes of data leave no room for "
                              "the secure channel's padding and C-MAC in a short APDU")
        header = bytes((cla, apdu.ins, apdu.p1, apdu.p2, lc))
        mac = self._mac.c_mac(header, data)
        return CommandApdu(cla, apdu.ins, apdu.p1, apdu.p2, data + mac, apdu.le)

    def unwrap(self, response: ResponseApdu) -> ResponseApdu:
        level = self.security_level
        if not level & SecurityLevel.R_MAC or not _is_protected_sw(response.sw):
            return response
        n = self._mac.mac_length
        if len(response.data) < n:
            raise MacMismatch(f"response of {len(response.data)} bytes has no {n}-byte R-MAC")
        data, mac = response.data[:-n], response.data[-n:]
        if not hmac.compare_digest(self._mac.r_mac(data, response.sw), mac):
            raise MacMismatch("R-MAC of the response does not verify (tampered or wrong keys)")
        if level & SecurityLevel.R_ENCRYPTION and data:
            if len(data) % 16:
                raise DecodeError(f"R-ENCRYPTION data of {len(data)} bytes is not whole blocks")
            data = unpad80(aes_cbc_decrypt(self._mac.sk.s_enc.reveal(), data,
                                           self._mac.icv(response=True)))
        return ResponseApdu(data, response.sw)

    def encrypt_key(self, key: Secret) -> bytes:
        """Amendment D §7.2.2 (PUT KEY): a key component encrypted with the static Key-DEK,
        AES-CBC with a zero ICV (the key length is a whole number of blocks)."""
        value = key.reveal()
        if len(value) % 16:
            raise EncodeError("an AES key component must be 16, 24 or 32 bytes long")
        return aes_cbc_encrypt(self._dek.reveal(), pad80(value, 16, always=False))


@dataclass
class Scp03Handshake:
    """INITIALIZE UPDATE → card's answer → EXTERNAL AUTHENTICATE (Amendment D §6.2.1).

    ``host_challenge`` is 8 bytes (S8 mode) or 16 (S16 mode); the caller draws it from a
    cryptographic random source (``secrets.token_bytes``), kept outside so tests can replay a
    published trace."""

    keys: Scp03Keys
    host_challenge: bytes
    key_version: int | None = None

    def initialize_update(self) -> CommandApdu:
        kvn = self.keys.version if self.key_version is None else self.key_version
        return initialize_update(kvn, self.host_challenge)

    def complete(self, response_data: bytes,
                 level: int = SecurityLevel.C_MAC) -> tuple[CommandApdu, SecureChannel]:
        """Check the card cryptogram and build EXTERNAL AUTHENTICATE.

        Raises :class:`~simtool.errors.CryptogramMismatch` when the card does not hold these
        keys (the EXTERNAL AUTHENTICATE is then never sent, so no retry counter moves)."""
        r = InitializeUpdateResponse.decode(response_data)
        if len(r.card_challenge) != len(self.host_challenge):
            raise DecodeError(f"card challenge of {len(r.card_challenge)} bytes with a host "
                              f"challenge of {len(self.host_challenge)}: S8/S16 mode mismatch")
        level = _check_level(level)
        sk = session_keys(self.keys, self.host_challenge, r.card_challenge)
        expected = card_cryptogram(sk, self.host_challenge, r.card_challenge)
        if not hmac.compare_digest(expected, r.card_cryptogram):
            raise CryptogramMismatch(
                f"SCP03 card cryptogram does not verify for key version {r.key_version:02X}: "
                "wrong keys, or not this card's key set")
        n = len(r.card_challenge)
        channel = SecureChannel(sk, self.keys.dek, SecurityLevel.C_MAC, n)
        ext = channel.wrap(CommandApdu(0x80, INS_EXTERNAL_AUTHENTICATE, int(level), 0x00,
                                       host_cryptogram(sk, self.host_challenge, r.card_challenge)))
        channel.security_level = level
        return ext, channel


class CardSession:
    """The card's side of SCP03 (an ISD): answers INITIALIZE UPDATE, checks EXTERNAL
    AUTHENTICATE and the C-MAC of every later command, protects responses."""

    def __init__(self, keys: Scp03Keys, card_challenge: bytes,
                 key_diversification_data: bytes = bytes(10), i: int = 0x00,
                 sequence_counter: bytes | None = None) -> None:
        self.keys = keys
        self.card_challenge = bytes(card_challenge)
        self.kdd = bytes(key_diversification_data)
        self.i = i
        self.sequence_counter = sequence_counter
        self.security_level: SecurityLevel | None = None
        self._host_challenge = b""
        self._mac: _Mac | None = None

    def __repr__(self) -> str:
        return f"CardSession(SCP03, kvn={self.keys.version:02X})"

    def initialize_update(self, apdu: CommandApdu) -> ResponseApdu:
        self._host_challenge = bytes(apdu.data)
        if len(self._host_challenge) != len(self.card_challenge):
            return ResponseApdu(b"", 0x6700)
        sk = session_keys(self.keys, self._host_challenge, self.card_challenge)
        self._mac = _Mac(sk, len(self.card_challenge))
        self.security_level = None
        r = InitializeUpdateResponse(self.kdd, self.keys.version, 0x03, self.i,
                                     self.card_challenge,
                                     card_cryptogram(sk, self._host_challenge, self.card_challenge),
                                     self.sequence_counter)
        return ResponseApdu(r.encode(), 0x9000)

    def external_authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        """``6982`` on a wrong host cryptogram or C-MAC (GP 2.3 §11.8.3), the session closed."""
        if self._mac is None:
            return ResponseApdu(b"", 0x6985)
        try:
            data = self._check_c_mac(apdu)
        except MacMismatch:
            self._mac = None
            return ResponseApdu(b"", 0x6982)
        expected = host_cryptogram(self._mac.sk, self._host_challenge, self.card_challenge)
        if apdu.p1 not in VALID_LEVELS or not hmac.compare_digest(data, expected):
            self._mac = None
            return ResponseApdu(b"", 0x6982 if apdu.p1 in VALID_LEVELS else 0x6A86)
        self.security_level = SecurityLevel(apdu.p1)
        return ResponseApdu(b"", 0x9000)

    def _check_c_mac(self, apdu: CommandApdu) -> bytes:
        assert self._mac is not None
        n = self._mac.mac_length
        data = bytes(apdu.data)
        if len(data) < n:
            raise MacMismatch("command too short for its C-MAC")
        body, mac = data[:-n], data[-n:]
        saved = self._mac.chaining
        header = bytes((apdu.cla, apdu.ins, apdu.p1, apdu.p2, len(data)))
        if not hmac.compare_digest(self._mac.c_mac(header, body), mac):
            self._mac.chaining = saved
            raise MacMismatch(f"C-MAC of {apdu.ins:02X} does not verify")
        return body

    def unwrap_command(self, apdu: CommandApdu) -> CommandApdu:
        """Check C-MAC, decrypt; :class:`MacMismatch` (the ISD answers ``6982`` and closes the
        session, GP 2.3 §10.8.2) or :class:`DecodeError` on bad padding."""
        if self._mac is None or self.security_level is None:
            raise MacMismatch("no open secure channel session")
        level = self.security_level
        if not level & SecurityLevel.C_MAC:
            return apdu
        body = self._check_c_mac(apdu)
        if level & SecurityLevel.C_DECRYPTION:
            self._mac.counter += 1
            if body:
                body = unpad80(aes_cbc_decrypt(self._mac.sk.s_enc.reveal(), body,
                                               self._mac.icv(response=False)))
        cla = apdu.cla & ~0x04 if apdu.cla & 0x40 == 0 else apdu.cla & ~0x20
        return CommandApdu(cla, apdu.ins, apdu.p1, apdu.p2, body, apdu.le)

    def wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        assert self._mac is not None and self.security_level is not None
        level = self.security_level
        if not level & SecurityLevel.R_MAC or not _is_protected_sw(response.sw):
            return response
        data = bytes(response.data)
        if level & SecurityLevel.R_ENCRYPTION and data:
            data = aes_cbc_encrypt(self._mac.sk.s_enc.reveal(), pad80(data, 16),
                                   self._mac.icv(response=True))
        return ResponseApdu(data + self._mac.r_mac(data, response.sw), response.sw)
