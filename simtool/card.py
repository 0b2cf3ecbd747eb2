"""The card model: what simtool does with a UICC/SIM, on top of one Channel.

Commands per ETSI TS 102 221 §11 (UICC, CLA 00) and 3GPP TS 51.011 §9 (GSM, CLA A0).  Every
method sends through :class:`simtool.apdu.channel.Channel`, so status words are checked there and
failures arrive as typed exceptions; nothing here looks at SW1 by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu
from simtool.errors import AdmTriesTooLow, DecodeError
from simtool.secret import Secret

MF = 0x3F00
EF_DIR = 0x2F00
USIM_AID_PREFIX = bytes.fromhex("A0000000871002")

# TS 102 221 §11.1.1.2: P1 selection control, P2 response data.
SELECT_BY_FID = 0x00
SELECT_BY_AID = 0x04
SELECT_PATH_FROM_MF = 0x08
P2_RETURN_FCP = 0x04
P2_NO_DATA = 0x0C

# TS 102 221 §9.5.1 Table 9.3 key references.
PIN1, PIN2, ADM1 = 0x01, 0x81, 0x0A

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


class Card:
    """A UICC (CLA 00) or GSM SIM (CLA A0) reached through a Channel."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.cla = channel.cla
        self.usim_aid: bytes | None = None

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
        if self.cla == 0xA0:  # TS 51.011 §9.2.1: SELECT takes FIDs one at a time, P1 P2 = 00 00
            if p1 == SELECT_BY_AID:
                raise DecodeError("a GSM SIM (CLA A0) cannot select by AID")
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
        """Select ADF.USIM by the AID found in EF.DIR (TS 102 221 §13.1); returns its FCP."""
        if self.usim_aid is None:
            self.usim_aid = self.find_usim_aid()
        return self.select_aid(self.usim_aid)

    def find_usim_aid(self) -> bytes:
        from simtool.errors import FileNotFound

        self.select_fid(MF, fcp=False)
        for rec in self.read_records_of(EF_DIR):
            aid = _dir_record_aid(rec)
            if aid is not None and aid.startswith(USIM_AID_PREFIX):
                return aid
        raise FileNotFound(0x6A82, "EF.DIR", "no USIM application listed in EF.DIR")

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

        return decode_select_response(fcp, gsm=self.cla == 0xA0)

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
        return self.channel.pin_tries(key_ref, ins=INS_VERIFY)

    def puk_tries(self, key_ref: int) -> int | None:
        """Retry counter of the PUK of a PIN (UNBLOCK PIN with no data)."""
        return self.channel.pin_tries(key_ref, ins=INS_UNBLOCK)

    def verify_pin(self, key_ref: int, pin: Secret[bytes], *, name: str = "VERIFY PIN") -> None:
        self.channel.send(self._cmd(INS_VERIFY, 0, key_ref, pin.reveal()), name=name, secret=True)

    def verify_adm(self, key_ref: int, adm: Secret[bytes], *, min_tries: int) -> None:
        """VERIFY an ADM key, but only after reading its counter: refuse (AdmTriesTooLow) when
        fewer than ``min_tries`` are left.  Called once; a wrong key raises WrongPin and is never
        re-sent by simtool (ADM counters are small and a blocked ADM1 is permanent)."""
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
