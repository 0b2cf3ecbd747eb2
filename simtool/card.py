"""The card model: what simtool does with a UICC/SIM, on top of one Channel.

Commands per ETSI TS 102 221 §11 (UICC, CLA 00) and 3GPP TS 51.011 §9 (GSM, CLA A0).  Every
method sends through :class:`simtool.apdu.channel.Channel`, so status words are checked there and
failures arrive as typed exceptions; nothing here looks at SW1 by hand.  The class byte is the
card's (:attr:`Card.cla`), and so is what a PIN counter query means (:meth:`Card.pin_tries`):
the channel only sends.

An error names the status word the card sent, or none: a GSM SIM asked to select an
application, or a card whose EF.DIR lists no USIM, raises
:class:`~simtool.errors.NotSupported` with ``sw`` None, never a status word made up for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from simtool.apdu.channel import Channel, card_error, command_name
from simtool.apdu.command import CommandApdu
from simtool.cardtree import MF_FID as MF
from simtool.ef.application import EfDir
from simtool.errors import AdmTriesTooLow, DecodeError, FileNotFound, NotSupported
from simtool.pin import ADM1, PIN1, PIN2  # noqa: F401 - the key references, re-exported
from simtool.secret import Secret

EF_DIR = EfDir.FID
USIM_AID_PREFIX = bytes.fromhex("A0000000871002")

# TS 102 221 §11.1.1.2: P1 selection control, P2 response data.
SELECT_BY_FID = 0x00
SELECT_BY_AID = 0x04
SELECT_PATH_FROM_MF = 0x08
P2_RETURN_FCP = 0x04
P2_NO_DATA = 0x0C

#: Class bytes: a UICC (TS 102 221 §10.1.1) and a GSM SIM (TS 51.011 §9.2).
CLA_UICC, CLA_GSM = 0x00, 0xA0

INS_VERIFY, INS_CHANGE, INS_DISABLE, INS_ENABLE, INS_UNBLOCK = 0x20, 0x24, 0x26, 0x28, 0x2C


@dataclass(frozen=True)
class AuthResult:
    """AUTHENTICATE 3G context outcome (3GPP TS 31.102 §7.1.2.1).

    RES, CK, IK and Kc are session secrets (CK/IK/Kc key the radio link; RES answers the
    network's challenge): :class:`~simtool.secret.Secret`, never printed or logged."""

    res: Secret[bytes] | None = None
    ck: Secret[bytes] | None = None
    ik: Secret[bytes] | None = None
    kc: Secret[bytes] | None = None
    auts: bytes | None = None  # set on synchronisation failure (tag DC)

    @property
    def sync_failure(self) -> bool:
        return self.auts is not None


def parse_auth_response(data: bytes) -> AuthResult:
    """Decode ``DB 08 RES 10 CK 10 IK [08 Kc]`` or ``DC 0E AUTS`` (TS 31.102 §7.1.2.1)."""

    def lv(off: int) -> tuple[bytes, int]:
        if off >= len(data):
            raise DecodeError("AUTHENTICATE response truncated")
        n = data[off]
        if off + 1 + n > len(data):
            raise DecodeError("AUTHENTICATE response truncated")
        return data[off + 1 : off + 1 + n], off + 1 + n

    if not data:
        raise DecodeError("empty AUTHENTICATE response")
    if data[0] == 0xDC:
        auts, _ = lv(1)
        return AuthResult(auts=auts)
    if data[0] != 0xDB:
        raise DecodeError(f"AUTHENTICATE response tag {data[0]:02X}, expected DB or DC")
    res, off = lv(1)
    ck, off = lv(off)
    ik, off = lv(off)
    kc = lv(off)[0] if off < len(data) else None
    return AuthResult(res=Secret(res), ck=Secret(ck), ik=Secret(ik),
                      kc=Secret(kc) if kc is not None else None)


class _Unread:
    """Marker: a retry counter not read yet."""


class Card:
    """A UICC (CLA 00) or GSM SIM (CLA A0) reached through a Channel.

    ``cla`` is the class byte of every command this object builds."""

    def __init__(self, channel: Channel, *, cla: int = CLA_UICC) -> None:
        self.channel = channel
        self.cla = cla
        self.usim_aid: bytes | None = None

    @property
    def gsm(self) -> bool:
        """True for a GSM SIM spoken to in class A0 (TS 51.011): no applications, no AIDs."""
        return self.cla == CLA_GSM

    @property
    def atr(self) -> bytes:
        return self.channel.transport.atr()

    def _cmd(self, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None,
             cla: int | None = None) -> CommandApdu:
        return CommandApdu(self.cla if cla is None else cla, ins, p1, p2, data, le)

    # --- selection (TS 102 221 §11.1.1) -------------------------------------------

    def select_fid(self, fid: int, *, fcp: bool = True) -> bytes:
        """SELECT by file identifier; returns the FCP template bytes (b"" when fcp=False)."""
        return self._select(SELECT_BY_FID, fid.to_bytes(2, "big"), fcp, f"SELECT {fid:04X}")

    def select_path(self, path: Sequence[int], *, fcp: bool = True) -> bytes:
        """SELECT by path from the MF (P1 08); ``path`` excludes 3F00, e.g. [0x7F20, 0x6F07].

        A path starting with 7FFF addresses the current ADF (TS 102 221 §8.4.2)."""
        path = [p for p in path if p != MF] if path and path[0] == MF else list(path)
        if not path:
            return self.select_fid(MF, fcp=fcp)
        raw = b"".join(p.to_bytes(2, "big") for p in path)
        name = "SELECT " + "/".join(f"{p:04X}" for p in [MF, *path])
        return self._select(SELECT_PATH_FROM_MF, raw, fcp, name)

    def select_aid(self, aid: bytes, *, fcp: bool = True) -> bytes:
        return self._select(SELECT_BY_AID, aid, fcp, f"SELECT AID {aid.hex().upper()}")

    def _select(self, p1: int, data: bytes, fcp: bool, name: str) -> bytes:
        if self.gsm:  # TS 51.011 §9.2.1: SELECT takes FIDs one at a time, P1 P2 = 00 00
            if p1 == SELECT_BY_AID:
                raise NotSupported(None, name, "a GSM SIM (CLA A0) has no applications to "
                                   "select by AID")
            out = b""
            fids = [data[i : i + 2] for i in range(0, len(data), 2)]
            if p1 == SELECT_PATH_FROM_MF:
                fids.insert(0, MF.to_bytes(2, "big"))
            for fid in fids:
                out = self.channel.send(self._cmd(0xA4, 0, 0, fid), name=name).data
            return out
        p2 = P2_RETURN_FCP if fcp else P2_NO_DATA
        le = 0 if fcp else None
        return self.channel.send(self._cmd(0xA4, p1, p2, data, le), name=name).data

    def select_usim(self) -> bytes:
        """Select ADF.USIM by the AID found in EF.DIR (TS 102 221 §13.1); returns its FCP.

        A card without a USIM raises :class:`~simtool.errors.NotSupported`: a GSM SIM (CLA
        A0, nothing sent), no EF.DIR (with the card's 6A82), an EF.DIR that lists no USIM
        (no status word: the card answered 9000), or a SELECT by AID the card refuses (6A81,
        6Dxx, 6Exx as it sent them)."""
        if self.gsm:
            raise NotSupported(None, "SELECT ADF.USIM", "a GSM SIM (CLA A0) has no USIM "
                               "application")
        if self.usim_aid is None:
            self.usim_aid = self.find_usim_aid()
        return self.select_aid(self.usim_aid)

    def find_usim_aid(self) -> bytes:
        """The USIM's AID from EF.DIR (TS 102 221 §13.1)."""
        self.select_fid(MF, fcp=False)
        try:
            records = self.read_records_of(EF_DIR)
        except FileNotFound as exc:
            raise NotSupported(exc.sw, exc.command, "no EF.DIR: the card lists no "
                               "applications (a GSM-only card?)") from exc
        for rec in records:
            aid = _dir_record_aid(rec)
            if aid is not None and aid.startswith(USIM_AID_PREFIX):
                return aid
        raise NotSupported(None, "EF.DIR", "no USIM application listed in EF.DIR")

    # --- transparent and record EFs (TS 102 221 §11.1.3-§11.1.6) ----------------------

    def read_binary(self, length: int, offset: int = 0, *, name: str = "READ BINARY",
                    secret: bool = False) -> bytes:
        """``secret=True`` for files holding keys or PINs: the tracer redacts the response."""
        out = bytearray()
        while len(out) < length:
            chunk = min(256, length - len(out))
            pos = offset + len(out)
            r = self.channel.send(self._cmd(0xB0, pos >> 8, pos & 0xFF, le=chunk), name=name,
                                  secret=secret)
            if not r.data:
                break
            out += r.data
        return bytes(out)

    def update_binary(self, data: bytes, offset: int = 0, *, name: str = "UPDATE BINARY",
                      secret: bool = False) -> None:
        """Write ``data`` at ``offset``, in chunks of at most 255 bytes (short Lc)."""
        for pos in range(0, len(data), 255):
            at = offset + pos
            self.channel.send(self._cmd(0xD6, at >> 8, at & 0xFF, data[pos : pos + 255]),
                              name=name, secret=secret)

    def read_record(self, number: int, length: int, *, name: str = "READ RECORD") -> bytes:
        # P2 04 = absolute/current mode (TS 102 221 §11.1.5)
        return self.channel.send(self._cmd(0xB2, number, 0x04, le=length), name=name).data

    def update_record(self, number: int, data: bytes, *, name: str = "UPDATE RECORD") -> None:
        self.channel.send(self._cmd(0xDC, number, 0x04, data), name=name)

    def file_info(self, fcp: bytes):
        """Decode an FCP (UICC) or GSM GET RESPONSE (A0) into simtool.ef's Fcp."""
        from simtool.ef import decode_select_response

        return decode_select_response(fcp, gsm=self.gsm)

    def read_transparent(self, fid_or_path: int | Sequence[int], *, name: str | None = None) -> bytes:
        """Select a transparent EF and read all of it (size from its FCP)."""
        fcp = self._select_any(fid_or_path)
        info = self.file_info(fcp)
        return self.read_binary(info.size, name=name or f"READ BINARY {info.fid_text}")

    def read_records_of(self, fid_or_path: int | Sequence[int], *, name: str | None = None) -> list[bytes]:
        """Select a linear fixed EF and read every record."""
        fcp = self._select_any(fid_or_path)
        info = self.file_info(fcp)
        label = name or f"READ RECORD {info.fid_text}"
        return [self.read_record(n, info.record_length, name=label)
                for n in range(1, info.record_count + 1)]

    def _select_any(self, fid_or_path: int | Sequence[int]) -> bytes:
        if isinstance(fid_or_path, int):
            return self.select_fid(fid_or_path)
        return self.select_path(fid_or_path)

    # --- PINs (TS 102 221 §11.1.9-§11.1.13) ------------------------------------------

    def pin_tries(self, key_ref: int) -> int | None:
        """Retry counter of a PIN/ADM, read WITHOUT spending a try (VERIFY with no data).

        None means the PIN is disabled or already verified (the card answered 9000)."""
        return self._counter(INS_VERIFY, key_ref)

    def puk_tries(self, key_ref: int) -> int | None:
        """Retry counter of the PUK of a PIN (UNBLOCK PIN with no data)."""
        return self._counter(INS_UNBLOCK, key_ref)

    def _counter(self, ins: int, key_ref: int) -> int | None:
        """VERIFY / UNBLOCK PIN with no data (TS 102 221 §11.1.9, §11.1.13): the x of
        ``63 Cx``; None for 9000 (disabled or verified); 0 when blocked (``69 83``, GSM
        ``98 40``).  Any other answer raises its CardError, with the card's status word."""
        apdu = self._cmd(ins, 0x00, key_ref)
        sw = self.channel.send(apdu, check=False).sw
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        if sw == 0x9000:
            return None
        if sw in (0x6983, 0x9840):
            return 0
        raise card_error(apdu, sw, f"{command_name(apdu)} counter query (P2 {key_ref:02X})")

    def verify_pin(self, key_ref: int, pin: Secret[bytes], *, name: str = "VERIFY PIN") -> None:
        self.channel.send(self._cmd(INS_VERIFY, 0, key_ref, pin.reveal()), name=name, secret=True)

    def verify_adm(self, key_ref: int, adm: Secret[bytes], *, min_tries: int,
                   tries: int | None | type[_Unread] = _Unread) -> None:
        """VERIFY an ADM key, but only after reading its counter: refuse (AdmTriesTooLow) when
        fewer than ``min_tries`` are left.  Called once; a wrong key raises WrongPin and is never
        re-sent by simtool (ADM counters are small and a blocked ADM1 is permanent).

        ``tries``: the counter as the caller read it with :meth:`pin_tries` with no command to
        this card in between (the programming loop does), so it is not queried twice."""
        if tries is _Unread:
            tries = self.pin_tries(key_ref)
        if tries is not None and tries < min_tries:
            raise AdmTriesTooLow(tries, min_tries)
        self.verify_pin(key_ref, adm, name="VERIFY ADM")

    def change_pin(self, key_ref: int, old: Secret[bytes], new: Secret[bytes]) -> None:
        self.channel.send(self._cmd(INS_CHANGE, 0, key_ref, old.reveal() + new.reveal()),
                          name="CHANGE PIN", secret=True)

    def disable_pin(self, key_ref: int, pin: Secret[bytes]) -> None:
        self.channel.send(self._cmd(INS_DISABLE, 0, key_ref, pin.reveal()),
                          name="DISABLE PIN", secret=True)

    def enable_pin(self, key_ref: int, pin: Secret[bytes]) -> None:
        self.channel.send(self._cmd(INS_ENABLE, 0, key_ref, pin.reveal()),
                          name="ENABLE PIN", secret=True)

    def unblock_pin(self, key_ref: int, puk: Secret[bytes], new: Secret[bytes]) -> None:
        self.channel.send(self._cmd(INS_UNBLOCK, 0, key_ref, puk.reveal() + new.reveal()),
                          name="UNBLOCK PIN", secret=True)

    # --- AUTHENTICATE (3GPP TS 31.102 §7.1.2) -----------------------------------------

    def authenticate(self, rand: bytes, autn: bytes) -> AuthResult:
        """3G-context AUTHENTICATE in the current ADF.USIM (P2 81)."""
        data = bytes([len(rand)]) + rand + bytes([len(autn)]) + autn
        r = self.channel.send(self._cmd(0x88, 0x00, 0x81, data, 0), name="AUTHENTICATE",
                              secret=True)
        return parse_auth_response(r.data)


class TrackedCard(Card):
    """A :class:`Card` that remembers what is selected, for a caller that owns the card for a
    whole run and sends everything through this object (the programming loop).

    * A SELECT of the file that is already current is not sent again; its FCP is remembered
      (per path and application) for as long as the card stays in the reader.
    * :meth:`read_binary_sfi` reads an EF of the current DF by its short file identifier
      (READ BINARY with P1 b8 = 1, TS 102 221 §11.1.3.2), without a SELECT.
    * :meth:`select_usim` selects ADF.USIM by its partial AID (TS 102 221 §8.5.3, §11.1.1.3:
      a DF name may be right-truncated) and takes the full AID from the FCP (tag 84), instead
      of reading EF.DIR; it falls back to EF.DIR when the card refuses that.

    A failed SELECT with 6A82 leaves the current file as it was (TS 102 221 §11.1.1.4.2); any
    other failure forgets the selection, so the next SELECT is always sent.
    """

    def __init__(self, channel: Channel, *, cla: int = CLA_UICC) -> None:
        super().__init__(channel, cla=cla)
        self._current: tuple | None = None     # key of the current file (see _key)
        self._current_df: tuple | None = None  # (application AID or None, path bytes of the DF)
        self._app: bytes | None = None         # AID of the current application (7FFF)
        self._fcps: dict[tuple, bytes] = {}

    @classmethod
    def of(cls, card: Card) -> TrackedCard:
        """The tracked view of ``card`` (``card`` itself when it already is one)."""
        if isinstance(card, TrackedCard):
            return card
        tracked = cls(card.channel, cla=card.cla)
        tracked.usim_aid = card.usim_aid
        return tracked

    def _key(self, p1: int, data: bytes) -> tuple | None:
        if p1 == SELECT_BY_AID:
            return ("aid", data)
        if p1 == SELECT_BY_FID and data == MF.to_bytes(2, "big"):
            return ("path", None, b"")
        if p1 == SELECT_PATH_FROM_MF:
            in_adf = data[:2] == b"\x7f\xff"
            return ("path", self._app if in_adf else None, data)
        return None

    def _select(self, p1: int, data: bytes, fcp: bool, name: str) -> bytes:
        key = self._key(p1, data)
        if key is not None and key == self._current and (not fcp or key in self._fcps):
            return self._fcps[key] if fcp else b""
        try:
            out = super()._select(p1, data, fcp, name)
        except FileNotFound:
            raise
        except BaseException:
            self._current = self._current_df = None
            raise
        if p1 == SELECT_BY_AID:
            self._app = data
            self._current_df = (data, b"\x7f\xff")
        elif key is not None:
            self._current_df = self._df_of(key, out if fcp else None)
        else:
            self._current_df = None
        self._current = key
        if fcp and key is not None:
            self._fcps[key] = out
        return out

    def _df_of(self, key: tuple, fcp: bytes | None) -> tuple | None:
        """The DF that is current after selecting ``key`` (a path key)."""
        _, app, path = key
        is_df = not path or path[-2] in (0x3F, 0x7F, 0x5F)
        if fcp is not None:
            from simtool.ef import Structure

            try:
                is_df = self.file_info(fcp).structure is Structure.DF
            except Exception:  # an FCP simtool cannot decode: the DF is not known
                return None
        elif path and path[-2] not in (0x3F, 0x7F, 0x5F, 0x6F, 0x4F, 0x2F):
            return None                        # a proprietary FID: DF or EF cannot be told
        df = path if is_df else path[:-2]
        return (app if df[:2] == b"\x7f\xff" else None, df)

    @property
    def application(self) -> bytes | None:
        """The AID (as selected, possibly right-truncated) of the current application, the
        one a 7FFF path means; None when no application was selected through this object."""
        return self._app

    def cached_fcp(self, path: Sequence[int]) -> bytes | None:
        """The FCP this object saw when it selected ``path`` (from the MF), or None."""
        return self._fcps.get(self._key(SELECT_PATH_FROM_MF, _path_bytes(path)))

    def select_usim(self) -> bytes:
        """ADF.USIM made the current DF; not sent again when it already is (the current file
        is the ADF or one of its EFs), e.g. before AUTHENTICATE (TS 31.102 §7.1.2)."""
        if self.usim_aid is not None:
            key = ("aid", self.usim_aid)
            if self._current_df == (self.usim_aid, b"\x7f\xff") and key in self._fcps:
                return self._fcps[key]
            return self.select_aid(self.usim_aid)
        from simtool.apdu.tlv import ber_decode_all

        if self.gsm:
            return super().select_usim()          # raises NotSupported, sends nothing
        try:
            fcp = self.select_aid(USIM_AID_PREFIX)
        except (FileNotFound, NotSupported):      # e.g. 6A81: no partial AIDs on this card
            return super().select_usim()
        try:
            (template,) = ber_decode_all(fcp)
            aid = next(o.value for o in ber_decode_all(template.value) if o.tag == 0x84)
        except (DecodeError, StopIteration, ValueError):
            return super().select_usim()
        self.usim_aid = aid
        key = ("aid", aid)
        self._current, self._app, self._fcps[key] = key, aid, fcp
        self._current_df = (aid, b"\x7f\xff")
        return fcp

    def read_binary_sfi(self, df: Sequence[int], sfi: int, length: int, *,
                        name: str = "READ BINARY", secret: bool = False) -> bytes:
        """Read ``length`` bytes of the EF with short file identifier ``sfi`` in the DF at
        ``df`` (a path from the MF; 7FFF = the current application), selecting the DF first
        only when it is not the current one.  The EF becomes the current file."""
        if not 0 < sfi < 0x1F:
            raise ValueError(f"SFI {sfi} is outside 1..30")
        raw = _path_bytes(df)
        want = (self._app if raw[:2] == b"\x7f\xff" else None, raw)
        if self._current_df != want:
            self.select_path(df, fcp=False)
        first = min(length, 256)
        try:
            r = self.channel.send(self._cmd(0xB0, 0x80 | sfi, 0, le=first), name=name,
                                  secret=secret)
        except FileNotFound:
            raise
        except BaseException:
            self._current = self._current_df = None
            raise
        self._current = ("sfi", want, sfi)
        out = bytes(r.data)
        if len(out) == first < length:           # the rest by offset, from the now current EF
            out += self.read_binary(length - first, first, name=name, secret=secret)
        return out


def _path_bytes(path: Sequence[int]) -> bytes:
    parts = [p for p in path if p != MF] if path and path[0] == MF else list(path)
    return b"".join(p.to_bytes(2, "big") for p in parts)


def _dir_record_aid(record: bytes) -> bytes | None:
    """The AID (tag 4F) inside an EF.DIR application template (tag 61), or None."""
    from simtool.apdu.tlv import ber_decode_all

    if not record or record[0] != 0x61:
        return None
    try:
        template = ber_decode_all(record.rstrip(b"\xff"))[0]
        for obj in ber_decode_all(template.value):
            if obj.tag == 0x4F:
                return obj.value
    except DecodeError:
        return None
    return None
