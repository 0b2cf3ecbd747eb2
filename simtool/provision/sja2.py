"""The sysmocom sysmoISIM-SJA2 card driver: where that card keeps Ki/OPc, PINs, PUKs and ADM1.

The SJA2 keeps its secrets in proprietary files (facts as osmocom pySim's ``sysmocom_sja2.py``
and legacy ``cards.py`` describe the card; sysmocom's manual was not consulted):

* DF.SYSTEM (A515) holds EF.CHV1 6F01, EF.CHV2 6F81, EF.ADM1 6F0A (ADM2..4 6F0B..6F0D): a
  state byte, attempts remaining, maximum attempts, the PIN (8 bytes, FF-padded) and, for the
  CHV files, a PUK part (attempts remaining, maximum attempts, PUK 8 bytes) — :class:`PinFile`;
  and EF.SIM_AUTH_KEY 6F20 (cfg byte + K + OP/OPc, the GSM-context key, hard-linked to
  ADF.USIM's EF.USIM_AUTH_KEY_2G AF22) — :class:`AuthKeyFile`.
* ADF.USIM holds EF.USIM_AUTH_KEY AF20 (the 3G-context key, same layout) and EF.USIM_SQN AF30
  (SQN check flags, delta, age limit, one freshness value per IND) — :class:`UsimSqnFile`.
* EF.IMSI, SPN, ACC and the PLMN lists of ADF.USIM are links to DF.GSM's files and EF.MSISDN
  to DF.TELECOM's (pySim-prog programs an SJA2 through DF.GSM/DF.TELECOM only); EF.AD exists in
  both.  :class:`Sja2Driver` therefore writes each linked file once, through DF.GSM/DF.TELECOM,
  and reads it back at both places, which also proves the link.

Every path and SFI comes from the card type's tree (:attr:`CardType.tree
<simtool.cardtypes.CardType.tree>`): the standard files by their codec class
(:func:`~simtool.provision.plan.places`), the card's own files by name
(``tree.get("DF.SYSTEM/EF.CHV1")``).  A file the tree lacks is an error, except EF.USIM_SQN,
which is read only when the tree has it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

from simtool.card import Card
from simtool.cardtree import CardTree
from simtool.cardtypes import SYSMO_ISIM_SJA2, CardType
from simtool.ef import EfCodec
from simtool.errors import DecodeError, EncodeError, FileNotFound, NotSupported, UnknownCardType
from simtool.provision.plan import CardSecrets, FileWrite, Place, places
from simtool.secret import Secret

#: The SJA2's own files, by their place in the card type's tree (simtool.cardtypes).
DF_SYSTEM = "DF.SYSTEM"
EF_CHV1, EF_CHV2, EF_ADM1 = "DF.SYSTEM/EF.CHV1", "DF.SYSTEM/EF.CHV2", "DF.SYSTEM/EF.ADM1"
EF_SIM_AUTH_KEY = "DF.SYSTEM/EF.SIM_AUTH_KEY"
EF_USIM_AUTH_KEY = "ADF.USIM/EF.USIM_AUTH_KEY"
EF_USIM_AUTH_KEY_2G = "ADF.USIM/EF.USIM_AUTH_KEY_2G"
EF_USIM_SQN = "ADF.USIM/EF.USIM_SQN"

_PIN_LEN = 8


class PinState(enum.IntFlag):
    """State byte of an SJA2 PIN file."""

    DISABLED = 0x01
    NOT_INITIALIZED = 0x02
    DISABLE_ABLE = 0x10
    UNBLOCK_ABLE = 0x20
    CHANGE_ABLE = 0x40
    VALID = 0x80


@dataclass(frozen=True)
class PukPart:
    attempts_remaining: int
    maximum_attempts: int
    puk: Secret[bytes]


@dataclass(frozen=True)
class PinFile:
    """EF.CHV1 / EF.CHV2 / EF.ADM1..4 in DF.SYSTEM: state (1), attempts remaining (1),
    maximum attempts (1), PIN (8, FF-padded), then for PINs with a PUK: attempts remaining (1),
    maximum attempts (1), PUK (8).  Bytes after the last part (file padding) are kept."""

    state: int
    attempts_remaining: int
    maximum_attempts: int
    pin: Secret[bytes]
    puk: PukPart | None = None
    tail: bytes = b""

    @classmethod
    def decode(cls, data: bytes, *, with_puk: bool) -> PinFile:
        need = 3 + _PIN_LEN + (2 + _PIN_LEN if with_puk else 0)
        if len(data) < need:
            raise DecodeError(f"SJA2 PIN file is {len(data)} bytes, {need} expected")
        puk = None
        if with_puk:
            puk = PukPart(data[11], data[12], Secret(bytes(data[13:21])))
        return cls(data[0], data[1], data[2], Secret(bytes(data[3:11])), puk, bytes(data[need:]))

    def encode(self) -> bytes:
        for value in (self.state, self.attempts_remaining, self.maximum_attempts):
            if not 0 <= value <= 0xFF:
                raise EncodeError("SJA2 PIN file: state and counters must be bytes")
        if len(self.pin) != _PIN_LEN:
            raise EncodeError("SJA2 PIN file: the coded PIN must be 8 bytes")
        out = bytes((self.state, self.attempts_remaining, self.maximum_attempts))
        out += self.pin.reveal()
        if self.puk is not None:
            if len(self.puk.puk) != _PIN_LEN:
                raise EncodeError("SJA2 PIN file: the coded PUK must be 8 bytes")
            out += bytes((self.puk.attempts_remaining, self.puk.maximum_attempts))
            out += self.puk.puk.reveal()
        return out + self.tail

    def with_new_secrets(self, pin: Secret[bytes], puk: Secret[bytes] | None = None, *,
                         enabled: bool | None = None, reset_counters: bool = True) -> PinFile:
        """The same file holding a new PIN (and PUK); counters back at their maximum;
        ``enabled`` sets or clears the DISABLED bit (None keeps it)."""
        state = self.state
        if enabled is not None:
            state = state & ~PinState.DISABLED if enabled else state | PinState.DISABLED
        tries = self.maximum_attempts if reset_counters else self.attempts_remaining
        puk_part = self.puk
        if puk is not None:
            if puk_part is None:
                raise EncodeError("this SJA2 PIN file has no PUK part")
            puk_tries = puk_part.maximum_attempts if reset_counters else puk_part.attempts_remaining
            puk_part = PukPart(puk_tries, puk_part.maximum_attempts, puk)
        return PinFile(int(state), tries, self.maximum_attempts, pin, puk_part, self.tail)


#: AUTH key cfg byte: b5 = the value is OPc (not OP), b4..b1 = 4 = Milenage; b6 = 0: SRES
#: derivation function 1, b7 = 0: full 8-byte RES in the 3G context.
CFG_MILENAGE_OPC = 0x14
_AUTH_KEY_LEN = 33


@dataclass(frozen=True)
class AuthKeyFile:
    """EF.USIM_AUTH_KEY (AF20) / EF.SIM_AUTH_KEY (A515/6F20): cfg (1), K (16), OP or OPc (16)."""

    cfg: int
    ki: Secret[bytes]
    opc: Secret[bytes]

    @classmethod
    def decode(cls, data: bytes) -> AuthKeyFile:
        if len(data) < _AUTH_KEY_LEN:
            raise DecodeError(f"SJA2 auth key file is {len(data)} bytes, 33 expected")
        return cls(data[0], Secret(bytes(data[1:17])), Secret(bytes(data[17:33])))

    def encode(self) -> bytes:
        if len(self.ki) != 16 or len(self.opc) != 16 or not 0 <= self.cfg <= 0xFF:
            raise EncodeError("SJA2 auth key file: cfg is a byte, K and OPc are 16 bytes")
        return bytes((self.cfg,)) + self.ki.reveal() + self.opc.reveal()


@dataclass(frozen=True)
class UsimSqnFile:
    """EF.USIM_SQN (AF30): flag1 (b8 skip next SQN check, b7 delta check, b6 age limit check,
    b5 SQN check, b4..b1 IND length), flag2, delta max (6), age limit (6), then one 6-byte
    freshness value per IND (3GPP TS 33.102 Annex C)."""

    flag1: int
    flag2: int
    delta_max: int
    age_limit: int
    freshness: tuple[int, ...]

    @property
    def ind_len(self) -> int:
        return self.flag1 & 0x0F

    @classmethod
    def decode(cls, data: bytes) -> UsimSqnFile:
        if len(data) < 14:
            raise DecodeError(f"EF.USIM_SQN is {len(data)} bytes, at least 14 expected")
        body = data[14:]
        fresh = tuple(int.from_bytes(body[i : i + 6], "big") for i in range(0, len(body) - 5, 6))
        return cls(data[0], data[1], int.from_bytes(data[2:8], "big"),
                   int.from_bytes(data[8:14], "big"), fresh)

    def next_sqn(self) -> int:
        """An SQN the card accepts: IND 0 and a SEQ one above the highest freshness value
        (read as SEQ; when the card stores whole SQNs this is only higher, never stale)."""
        seq = max(self.freshness, default=0) + 1
        return (seq << self.ind_len) & 0xFFFFFFFFFFFF


class Sja2Driver:
    """What simtool writes on a sysmoISIM-SJA2, as :class:`~simtool.provision.plan.FileWrite`
    lists; the programming loop selects, writes, reads back and compares them.  Paths come
    from ``card_type.tree`` (give ``SYSMO_ISIM_SJA2.with_tree(tree)`` to program along
    another tree)."""

    #: the IND length assumed when EF.USIM_SQN cannot be read (TS 33.102 Annex C.3.4: 5 bits)
    default_ind_len = 5

    def __init__(self, card_type: CardType = SYSMO_ISIM_SJA2) -> None:
        self.card_type = card_type

    @property
    def tree(self) -> CardTree:
        return self.card_type.tree

    def _path(self, where: str) -> tuple[int, ...]:
        return self.tree.get(where).path

    def probe(self, card: Card) -> None:
        """Check the files that make this an SJA2 beyond its ATR: DF.SYSTEM and ADF.USIM."""
        system = self.tree.get(DF_SYSTEM)
        try:
            card.select_path(system.path, fcp=False)
        except FileNotFound:
            raise UnknownCardType(
                f"the ATR says {self.card_type.name} but the card has no {system.node.name} "
                f"({system.node.fid:04X}): refusing to program an unknown card") from None
        try:
            card.select_usim()
        except (FileNotFound, NotSupported) as exc:
            raise UnknownCardType(
                f"the ATR says {self.card_type.name} but the card has no USIM application "
                f"({exc}): refusing to program it") from None

    # --- the standard files: written at their plain files, read back at the links ---------

    def locations(self, codec: type[EfCodec]) -> tuple[Place, ...]:
        """Where ``codec``'s file is written and read back; DataError when the tree has none."""
        return places(self.tree, codec)

    @cached_property
    def short_file_ids(self) -> dict[tuple[int, ...], int]:
        """Path -> short file identifier of every file of the tree that has one (TS 31.102
        §4.2: ADF.USIM's EF.IMSI 07, EF.ACC 06, ...); the links among them are read back by
        SFI, without a SELECT."""
        return {loc.path: loc.node.sfi for loc in self.tree.files() if loc.node.sfi is not None}

    # --- the card's own files --------------------------------------------------------------

    def key_writes(self, secrets: CardSecrets) -> list[FileWrite]:
        """Ki/OPc into EF.USIM_AUTH_KEY (3G context) and EF.SIM_AUTH_KEY (GSM context,
        = EF.USIM_AUTH_KEY_2G); the cfg byte selects Milenage with OPc."""
        data = AuthKeyFile(CFG_MILENAGE_OPC, secrets.ki, secrets.opc).encode()

        def content(_fcp, _current, data=data) -> bytes:
            return data

        usim, gsm = self.tree.get(EF_USIM_AUTH_KEY), self.tree.get(EF_SIM_AUTH_KEY)
        return [
            FileWrite(usim.node.name, usim.path, content, secret=True),
            FileWrite(gsm.node.name, gsm.path, content, secret=True,
                      also_check=(self._path(EF_USIM_AUTH_KEY_2G),)),
        ]

    def pin_writes(self, secrets: CardSecrets, *, pin1_enabled: bool) -> list[FileWrite]:
        """PIN1/PUK1 into EF.CHV1 and PIN2/PUK2 into EF.CHV2, counters reset to their maximum,
        PIN1 enabled or disabled as the profile says."""
        def chv(pin, puk, enabled):
            def content(_fcp, current: bytes | None) -> bytes:
                old = PinFile.decode(current or b"", with_puk=True)
                return old.with_new_secrets(pin, puk, enabled=enabled).encode()
            return content

        return [
            FileWrite("EF.CHV1", self._path(EF_CHV1),
                      chv(secrets.pin1, secrets.puk1, pin1_enabled), secret=True, read_first=True),
            FileWrite("EF.CHV2", self._path(EF_CHV2),
                      chv(secrets.pin2, secrets.puk2, None), secret=True, read_first=True),
        ]

    def adm_write(self, adm1: Secret[bytes]) -> FileWrite:
        """The batch's ADM1 into EF.ADM1; state and counters are kept as the card has them."""
        def content(_fcp, current: bytes | None) -> bytes:
            old = PinFile.decode(current or b"", with_puk=False)
            return old.with_new_secrets(adm1, reset_counters=False).encode()

        return FileWrite("EF.ADM1", self._path(EF_ADM1), content, secret=True, read_first=True)

    def start_sqn(self, card: Card) -> tuple[int, int]:
        """(SQN for the first AUTHENTICATE, IND length): SEQ 1 with IND 0 and the default IND
        length, without reading EF.USIM_SQN.  A card that has accepted higher SQNs answers
        with AUTS and the programmer retries one SEQ above it (one APDU more, on such cards
        only); reading the file first would cost a SELECT and a READ BINARY on every card."""
        return 1 << self.default_ind_len, self.default_ind_len
