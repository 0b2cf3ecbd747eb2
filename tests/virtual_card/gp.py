"""The virtual card as a GlobalPlatform card: its Issuer Security Domain (GP 2.3).

The ISD is selected by its AID (:data:`simtool.gp.commands.ISD_AID`) and answers, under CLA 80
/ 84, INITIALIZE UPDATE and EXTERNAL AUTHENTICATE (SCP02 i=55 or SCP03 i=00, the card's side
from :mod:`simtool.gp.scp02` / :mod:`simtool.gp.scp03`), then GET STATUS, GET DATA, INSTALL,
LOAD and DELETE inside the secure channel.  The registry (load files and applications with
their life-cycle states) and the key sets live in the image's ``gp`` section::

    "gp": {"keys": [{"scp": 3, "kvn": 48, "enc": hex, "mac": hex, "dek": hex}, ...],
           "sequence_counter": int,                     (SCP02, and SCP03's counter)
           "key_tries": int, "key_max_tries": int,      (failed authentications left)
           "load_files": [{"aid": hex, "life_cycle": 1, "modules": [hex], "data": hex}],
           "applications": [{"aid": hex, "load_file": hex, "module": hex, "life_cycle": 7,
                             "privileges": hex, "parameters": hex}]}

The emulator cannot run Java Card bytecode: LOAD stores the load file data block as data (GET
STATUS lists it, its applets' AIDs become its modules).  The one application it can run is
the STK menu applet: an application instance of :data:`MENU_APPLET_AID`, selectable, installed
with TS 102 226 toolkit parameters (tag CA) naming at least one menu entry, makes the card's
Python menu applet show the menu in EF.MENU at the next TERMINAL PROFILE.

Key retry rule (modelled on what GP 2.3 §11.8 leaves to the card): every EXTERNAL AUTHENTICATE
that fails on its host cryptogram or C-MAC costs one of ``key_tries``; a successful one restores
``key_max_tries``; at zero INITIALIZE UPDATE answers 6983 (authentication method blocked) for
good.  Every refused command leaves the registry as it was.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.sw import SW
from simtool.apdu.tlv import ber_decode_all, ber_encode
from simtool.errors import DecodeError, MacMismatch
from simtool.gp import scp02, scp03
from simtool.gp.commands import ISD_AID, Cplc, KeyInformation, Privileges, RegistryEntry
from simtool.gp.install_params import InstallParameters
from simtool.secret import Secret

from .gpstate import (INSTALLED, ISD_LIFE_CYCLE, MENU_APPLET_AID, MENU_PACKAGE_AID, SELECTABLE,  # noqa: F401
                      TEST_KEY, Application, GpState, KeySet, LoadFile, applet_aids, default_gp)

log = logging.getLogger("tests.virtual_card")

INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE = 0x50, 0x82
INS_GET_STATUS, INS_GET_DATA, INS_INSTALL, INS_LOAD = 0xF2, 0xCA, 0xE6, 0xE8
INS_DELETE, INS_PUT_KEY = 0xE4, 0xD8
GP_INS = frozenset((INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE, INS_GET_STATUS,
                    INS_GET_DATA, INS_INSTALL, INS_LOAD, INS_DELETE, INS_PUT_KEY))

# A fixed CPLC for GET DATA 9F7F (GP 2.3 Annex H.6; invented values, 42 bytes).
CPLC = Cplc(b"\x40\x90", b"\x51\x22", b"\x47\x00", b"\x62\x00", b"\x00\x01", b"\x62\x00",
            b"\x00\x00\x12\x34", b"\x00\x01", b"\x48\x12", b"\x62\x00", b"\x48\x12",
            b"\x62\x00", b"\x00\x00", b"\x00\x00", b"\x00\x00\x00\x00", b"\x00\x00",
            b"\x62\x00", b"\x00\x00\x00\x00")


class GpStatus(Exception):
    def __init__(self, sw: int) -> None:
        self.sw = sw
        super().__init__(f"{sw:04X}")


# --- the ISD ----------------------------------------------------------------------------------


#: GET STATUS answers about this many bytes of entries at a time (then 6310).
STATUS_PAGE = 120


def _with_sw(result: bytes | tuple[bytes, int]) -> tuple[bytes, int]:
    return result if isinstance(result, tuple) else (result, SW.OK)


def _lv_fields(data: bytes, count: int) -> list[bytes]:
    out, pos = [], 0
    for _ in range(count):
        if pos >= len(data) or pos + 1 + data[pos] > len(data):
            raise GpStatus(SW.WRONG_DATA)
        out.append(data[pos + 1:pos + 1 + data[pos]])
        pos += 1 + data[pos]
    return out


class SecurityDomain:
    """The ISD's command processing.  ``commit(undo)`` persists the state (the card's
    image) before the card answers, as with PINs."""

    def __init__(self, state: GpState, commit: Callable[[Callable[[], None]], None],
                 changed: Callable[[], None] = lambda: None) -> None:
        self.state = state
        self._commit = commit
        self._changed = changed
        self.selected = False
        self._session: scp02.CardSession | scp03.CardSession | None = None
        self._authenticated = False
        self._loading: tuple[bytes, int, bytes] | None = None   # AID, next block, data so far

    def reset(self) -> None:
        self.selected = False
        self._close()

    def _close(self) -> None:
        self._session, self._authenticated, self._loading = None, False, None
        self._status_pending: list[bytes] = []

    def select(self) -> bytes:
        """SELECT ISD: FCI (GP 2.3 §11.9.3.1): 6F { 84 AID, A5 { 9F6E?, 9F65 max block } }."""
        self.selected = True
        self._close()
        return ber_encode(0x6F, ber_encode(0x84, ISD_AID)
                          + ber_encode(0xA5, ber_encode(0x9F65, b"\xff")))

    def deselect(self) -> None:
        self.selected = False
        self._close()

    def _update(self, change: Callable[[GpState], None]) -> None:
        """Apply ``change`` to a copy and persist it; on a failed write nothing changed."""
        before = self.state
        after = before.copy()
        change(after)
        self.state = after

        def undo() -> None:
            self.state = before

        self._commit(undo)
        self._changed()

    # --- APDUs

    def process(self, apdu: CommandApdu) -> tuple[bytes, int]:
        try:
            return self._process(apdu)
        except GpStatus as exc:
            return b"", exc.sw

    def _process(self, apdu: CommandApdu) -> tuple[bytes, int]:
        ins = apdu.ins
        if ins == INS_INITIALIZE_UPDATE:
            return self._initialize_update(apdu)
        if ins == INS_EXTERNAL_AUTHENTICATE:
            return self._external_authenticate(apdu)
        if ins == INS_GET_DATA and not apdu.cla & 0x04 and not self._authenticated:
            return self._get_data(apdu), SW.OK
        session = self._session
        if not self._authenticated or session is None:
            raise GpStatus(SW.SECURITY_NOT_SATISFIED)
        try:
            plain = session.unwrap_command(apdu)
        except (MacMismatch, DecodeError):
            self._close()                          # GP 2.3 §10.8.2: the session ends
            raise GpStatus(SW.SECURITY_NOT_SATISFIED) from None
        try:
            data, sw = _with_sw(self._command(plain))
        except GpStatus as exc:
            data, sw = b"", exc.sw
        wrapped = session.wrap_response(ResponseApdu(data, sw))
        return bytes(wrapped.data), wrapped.sw

    def remote(self, apdu: CommandApdu) -> ResponseApdu:
        """A RAM command (TS 102 226 §8): the OTA packet's security stands in for the secure
        channel."""
        try:
            return ResponseApdu(*_with_sw(self._command(apdu)))
        except GpStatus as exc:
            return ResponseApdu(b"", exc.sw)

    def _initialize_update(self, apdu: CommandApdu) -> tuple[bytes, int]:
        self._close()
        if apdu.cla != 0x80 or apdu.p2 != 0x00:
            raise GpStatus(SW.INCORRECT_P1_P2)
        if self.state.key_tries <= 0:
            raise GpStatus(SW.PIN_BLOCKED)
        keyset = next((k for k in self.state.keys if apdu.p1 in (0, k.kvn)), None)
        if keyset is None:
            raise GpStatus(SW.REFERENCED_DATA_NOT_FOUND)
        counter = self.state.sequence_counter
        if keyset.scp == 2:
            keys2 = scp02.Scp02Keys(Secret(keyset.enc), Secret(keyset.mac), Secret(keyset.dek),
                                    keyset.kvn)
            self._session = scp02.CardSession(keys2, counter.to_bytes(2, "big"),
                                              secrets.token_bytes(6))
        else:
            keys3 = scp03.Scp03Keys(Secret(keyset.enc), Secret(keyset.mac), Secret(keyset.dek),
                                    keyset.kvn)
            self._session = scp03.CardSession(keys3, secrets.token_bytes(8), i=0x00)
        r = self._session.initialize_update(apdu)
        if r.sw != SW.OK:
            self._close()
        return bytes(r.data), r.sw

    def _external_authenticate(self, apdu: CommandApdu) -> tuple[bytes, int]:
        session = self._session
        if session is None or self._authenticated:
            self._close()
            raise GpStatus(SW.CONDITIONS_NOT_SATISFIED)
        r = session.external_authenticate(apdu)
        if r.sw == SW.OK:
            def ok(s: GpState) -> None:
                s.key_tries = s.key_max_tries
                s.sequence_counter = (s.sequence_counter + 1) & 0xFFFF
            self._update(ok)
            self._authenticated = True
        else:
            self._close()
            if r.sw == SW.SECURITY_NOT_SATISFIED:
                def failed(s: GpState) -> None:
                    s.key_tries = max(0, s.key_tries - 1)
                self._update(failed)
        return bytes(r.data), r.sw

    def _command(self, apdu: CommandApdu) -> bytes | tuple[bytes, int]:
        ins = apdu.ins
        if ins == INS_GET_STATUS:
            return self._get_status(apdu)
        if ins == INS_GET_DATA:
            return self._get_data(apdu)
        if ins == INS_INSTALL:
            return self._install(apdu)
        if ins == INS_LOAD:
            return self._load(apdu)
        if ins == INS_DELETE:
            return self._delete(apdu)
        if ins == INS_PUT_KEY and self._session is not None:
            return self._put_key(apdu)
        raise GpStatus(SW.INS_NOT_SUPPORTED)

    def _put_key(self, apdu: CommandApdu) -> bytes:
        """PUT KEY of a whole key set (GP 2.3 §11.8.2, Amendment D §7.2.2): ENC, MAC, DEK of
        the session's protocol, each decrypted with the DEK (SCP02: the session DEK, SCP03:
        the static Key-DEK) and checked against its KCV; P1 00 adds a set, else replaces P1."""
        from simtool.gp.commands import key_check_value
        from simtool.gp.crypto import aes_cbc_decrypt, tdes_ecb_decrypt

        session = self._session
        current = next(k for k in self.state.keys if k.kvn == session.keys.version)
        data = apdu.data
        if apdu.p2 != 0x81 or not data:
            raise GpStatus(SW.INCORRECT_P1_P2)
        new_kvn, pos, keys = data[0], 1, []
        key_type = 0x88 if current.scp == 3 else 0x80
        for _ in range(3):
            if pos + 2 > len(data) or data[pos] != key_type:
                raise GpStatus(SW.WRONG_DATA)
            n = data[pos + 1]
            block = data[pos + 2:pos + 2 + n]
            kcv = data[pos + 2 + n:pos + 6 + n]
            if len(block) != n or kcv[:1] != b"\x03" or len(kcv) != 4:
                raise GpStatus(SW.WRONG_DATA)
            pos += 6 + n
            if current.scp == 3:
                length, enc = block[0], block[1:]
                key = aes_cbc_decrypt(current.dek, enc)[:length]
            else:
                sk = scp02.session_keys(scp02.Scp02Keys(Secret(current.enc), Secret(current.mac),
                                                        Secret(current.dek), current.kvn),
                                        session.sequence_counter)
                key = tdes_ecb_decrypt(sk.dek.reveal(), block)
            if key_check_value(key_type, Secret(key)) != kcv[1:]:
                raise GpStatus(SW.WRONG_DATA)
            keys.append(key)
        if pos != len(data) or not 1 <= new_kvn <= 0x7F:
            raise GpStatus(SW.WRONG_DATA)
        replace = apdu.p1
        if replace and not any(k.kvn == replace for k in self.state.keys):
            raise GpStatus(SW.REFERENCED_DATA_NOT_FOUND)
        if any(k.kvn == new_kvn for k in self.state.keys) and new_kvn != replace:
            raise GpStatus(SW.WRONG_DATA)
        new = KeySet(current.scp, new_kvn, keys[0], keys[1], keys[2])

        def change(s: GpState) -> None:
            s.keys = [k for k in s.keys if k.kvn != replace] + [new]
        self._update(change)
        return bytes((new_kvn,)) + b"".join(key_check_value(key_type, Secret(k)) for k in keys)

    # --- GET DATA, GET STATUS

    def _get_data(self, apdu: CommandApdu) -> bytes:
        tag = apdu.p1 << 8 | apdu.p2
        if tag == 0x9F7F:
            return CPLC.encode()
        if tag == 0x00E0:
            entries = b""
            for k in self.state.keys:
                ktype = 0x88 if k.scp == 3 else 0x80
                entries += b"".join(KeyInformation(kid, k.kvn, ((ktype, len(k.enc)),)).encode()
                                    for kid in (1, 2, 3))
            return ber_encode(0xE0, entries)
        raise GpStatus(SW.REFERENCED_DATA_NOT_FOUND)

    def entries(self, p1: int) -> list[RegistryEntry]:
        s = self.state
        if p1 == 0x80:
            return [RegistryEntry(ISD_AID, ISD_LIFE_CYCLE, Privileges(b"\x9e\xfe\x80"))]
        if p1 == 0x40:
            return [RegistryEntry(a.aid, a.life_cycle, Privileges(a.privileges))
                    for a in s.applications]
        if p1 in (0x20, 0x10):
            return [RegistryEntry(f.aid, f.life_cycle,
                                  module_aids=f.modules if p1 == 0x10 else ())
                    for f in s.load_files]
        raise GpStatus(SW.INCORRECT_P1_P2)

    def _get_status(self, apdu: CommandApdu) -> bytes | tuple[bytes, int]:
        """GET STATUS, format 2, in pages of about :data:`STATUS_PAGE` bytes: 6310 while more
        entries follow, fetched with P2 b1 = 1 (next occurrence, GP 2.3 §11.4.2.2)."""
        if apdu.p2 & 0xFE != 0x02:               # format 2 only
            raise GpStatus(SW.INCORRECT_P1_P2)
        if apdu.p2 & 0x01:
            pending = self._status_pending
            if not pending:
                raise GpStatus(SW.INCORRECT_P1_P2)
        else:
            try:
                criterion = ber_decode_all(apdu.data)
            except DecodeError:
                raise GpStatus(SW.WRONG_DATA) from None
            prefix = next((t.value for t in criterion if t.tag == 0x4F), None)
            if prefix is None:
                raise GpStatus(SW.WRONG_DATA)
            pending = [e.encode() for e in self.entries(apdu.p1) if e.aid.startswith(prefix)]
            if not pending:
                raise GpStatus(SW.REFERENCED_DATA_NOT_FOUND)
        page = [pending[0]]
        for entry in pending[1:]:
            if sum(map(len, page)) + len(entry) > STATUS_PAGE:
                break
            page.append(entry)
        self._status_pending = pending[len(page):]
        data = b"".join(page)
        return (data, 0x6310) if self._status_pending else data

    # --- INSTALL, LOAD, DELETE

    def _install(self, apdu: CommandApdu) -> bytes:
        s = self.state
        if apdu.p1 == 0x02:                              # [for load]
            aid = _lv_fields(apdu.data, 1)[0]
            if not 5 <= len(aid) <= 16:
                raise GpStatus(SW.WRONG_DATA)
            if any(f.aid == aid for f in s.load_files) or any(
                    a.aid == aid for a in s.applications):
                raise GpStatus(SW.CONDITIONS_NOT_SATISFIED)
            self._loading = (aid, 0, b"")
            return b"\x00"
        if apdu.p1 in (0x04, 0x0C):                      # [for install (and make selectable)]
            lf, module, aid, privileges, params, _token = _lv_fields(apdu.data, 6)
            load_file = next((f for f in s.load_files if f.aid == lf), None)
            if load_file is None or module not in load_file.modules:
                raise GpStatus(SW.REFERENCED_DATA_NOT_FOUND)
            if not 5 <= len(aid) <= 16 or len(privileges) not in (1, 3):
                raise GpStatus(SW.WRONG_DATA)
            if any(a.aid == aid for a in s.applications) or aid == ISD_AID:
                raise GpStatus(SW.CONDITIONS_NOT_SATISFIED)
            try:
                InstallParameters.decode(params)
            except DecodeError:
                raise GpStatus(SW.WRONG_DATA) from None
            app = Application(aid, lf, module, privileges, params,
                              SELECTABLE if apdu.p1 == 0x0C else INSTALLED)
            self._update(lambda st: st.applications.append(app))
            return b"\x00"
        raise GpStatus(SW.INCORRECT_P1_P2)

    def _load(self, apdu: CommandApdu) -> bytes:
        loading = self._loading
        if loading is None:
            raise GpStatus(SW.CONDITIONS_NOT_SATISFIED)
        aid, expected, data = loading
        if apdu.p2 != expected or apdu.p1 not in (0x00, 0x80):
            self._loading = None
            raise GpStatus(SW.INCORRECT_P1_P2)
        data += apdu.data
        if apdu.p1 == 0x00:
            self._loading = (aid, expected + 1, data)
            return b""
        self._loading = None
        try:
            body, _package, applets = applet_aids(data)
        except (DecodeError, IndexError):
            raise GpStatus(SW.WRONG_DATA) from None
        load_file = LoadFile(aid, applets, body)
        self._update(lambda st: st.load_files.append(load_file))
        return b"\x00"

    def _delete(self, apdu: CommandApdu) -> bytes:
        try:
            objects = ber_decode_all(apdu.data)
        except DecodeError:
            raise GpStatus(SW.WRONG_DATA) from None
        if len(objects) != 1 or objects[0].tag != 0x4F:
            raise GpStatus(SW.WRONG_DATA)
        aid = objects[0].value
        related = apdu.p2 == 0x80
        s = self.state
        if aid == ISD_AID:
            raise GpStatus(SW.CONDITIONS_NOT_SATISFIED)
        if any(a.aid == aid for a in s.applications):
            def drop_app(st: GpState) -> None:
                st.applications = [a for a in st.applications if a.aid != aid]
            self._update(drop_app)
            return b"\x00"
        if any(f.aid == aid for f in s.load_files):
            users = [a for a in s.applications if a.load_file == aid]
            if users and not related:
                raise GpStatus(SW.CONDITIONS_NOT_SATISFIED)

            def drop_file(st: GpState) -> None:
                st.load_files = [f for f in st.load_files if f.aid != aid]
                st.applications = [a for a in st.applications if a.load_file != aid]
            self._update(drop_file)
            return b"\x00"
        raise GpStatus(SW.REFERENCED_DATA_NOT_FOUND)
