"""VirtualUicc: a sans-I/O UICC with a USIM application and a GSM SIM personality.

``process(apdu) -> response`` implements the commands of ETSI TS 102 221 §10-§11 (CLA 0X/8X),
3GPP TS 31.102 §7 (AUTHENTICATE) and 3GPP TS 51.011 §9 (CLA A0), over the file system that
:mod:`.layout` builds from the card tree.  Commands are parsed by the library's
:meth:`~simtool.apdu.command.CommandApdu.from_bytes` (short APDUs, cases 1-4; anything else is
6700), status words are the library's (:mod:`.status`).  It never raises: malformed or
unsupported commands get the status word the specs give (6700 wrong length, 6D00 unknown INS,
6E00 unknown class, 6A86/6B00 bad P1-P2 ...).

Response data: when the command carries Le (T=1 style, as pcscd passes it) the data comes back
directly with 9000; without Le (a T=0 TPDU) the card answers 61xx (9Fxx for CLA A0) and keeps
the data for GET RESPONSE.  A wrong Le is answered so that the terminal's retry finds the card
as it was (TS 102 221 §7.3.1.1, Table 7.1): a command without data (case 2) gets 6Cxx and
leaves no trace — a rejected command never moves the current file or record, and FETCH checks
Le before the applet hands its command over (67xx under CLA A0, TS 51.011 §9.4.6); a command
with data (case 4: SELECT, AUTHENTICATE, ENVELOPE, ...) has run, so it gets 61xx (9Fxx) and
the whole response waits for GET RESPONSE.  After any successful command, 91xx replaces 9000
while the STK applet has a proactive command pending (TS 102 221 §10.2.1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from simtool.apdu.command import CommandApdu
from simtool.apdu.sw import SW, SW1
from simtool.apdu.tlv import ber_encode
from simtool.cardtree import ADF_FID, MF_FID, Acc, CardTree
from simtool.ef.fcp import TAG_DF_NAME, PinStatus
from simtool.errors import DecodeError
from simtool.gp.commands import ISD_AID

from . import status as st
from .auth import Authenticator
from .channels import INS_MANAGE_CHANNEL, ChannelSelection, Channels, channel_capabilities
from .files import FileCommands
from .fs import DF, EF, key_reference
from .gp import GP_INS, SecurityDomain
from .image import ImageState, default_state, load_image, save_image
from .layout import AUTH_GSM, AUTH_USIM, TREE, build
from .ota import OtaReceiver, is_sms_pp_download
from .pins import PinCommands
from .remote import RemoteManagement
from .status import CardStatus, sw_bytes
from .toolkit import Toolkit
from .views import view_stores

log = logging.getLogger("tests.virtual_card")

CURRENT_ADF_FID = ADF_FID
SW_OK = sw_bytes(SW.OK)
SW_WRONG_LENGTH = sw_bytes(SW.WRONG_LENGTH)
SW_CLA_NOT_SUPPORTED = sw_bytes(SW.CLA_NOT_SUPPORTED)
SW_INS_NOT_SUPPORTED = sw_bytes(SW.INS_NOT_SUPPORTED)
SW_CHANNEL_NOT_SUPPORTED = sw_bytes(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
SW_SECURE_MESSAGING_NOT_SUPPORTED = sw_bytes(SW.SECURE_MESSAGING_NOT_SUPPORTED)
SW_TECHNICAL_PROBLEM = sw_bytes(SW.TECHNICAL_PROBLEM)


class GpAnswer(Exception):
    """An ISD error answer that carries data (an R-MAC)."""

    def __init__(self, data: bytes, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.data, self.sw = data, sw


#: The Open Platform / GP 2.1 ISD AID, which tools (pySim-shell's ADF.ISD) select; the
#: virtual ISD answers to it as well as to GP 2.3's A000000151000000.
OP_ISD_AID = bytes.fromhex("A000000003000000")


_sw = sw_bytes


def _available(length: int, gsm: bool) -> bytes:
    """61xx / 9Fxx: response data waiting for GET RESPONSE (TS 102 221 §7.3.1.1.4)."""
    sw1 = SW1.GSM_RESPONSE_AVAILABLE if gsm else SW1.RESPONSE_AVAILABLE
    return bytes((sw1, length & 0xFF))


class VirtualUicc(ChannelSelection, FileCommands, RemoteManagement):
    """A virtual sysmoISIM-SJA2-like card.  ``path`` (if any) is where its image is kept;
    ``tree`` is the card tree its file system is built from (the SJA2's by default)."""

    def __init__(self, state: ImageState, path: Path | None = None, *,
                 applet: object | None = None, tree: CardTree = TREE) -> None:
        self.atr = state.atr
        self._path = path
        self._state = state
        # the stores of the SJA2 files that show the OTA, GP and SQN state (.views)
        views = view_stores(lambda: self.isd.state, lambda: self.ota.state, lambda: self._auth)
        card = build(state.files, state.pins, state.auth, tree, stores=views)
        self._tree = tree
        self._mf, self._usim, self._contents = card.mf, card.adf, card.contents
        self._nodes, self._stores, self._adfs = card.nodes, card.stores, card.adfs
        self._isim = card.adfs.get("ADF.ISIM")
        self._pins = state.pins
        self._pin1, self._pin2, self._adm1 = (state.pins[n] for n in ("PIN1", "PIN2", "ADM1"))
        self._pin_commands = PinCommands(state.pins, self._commit)
        self._auth = Authenticator(self._stores[AUTH_USIM], self._stores[AUTH_GSM],
                                   self._nodes["ADF.USIM/EF.UST"].content, state.sqn,
                                   state.sqn_window, self._commit)
        self.toolkit = Toolkit(self._menu_file, applet, own_number=self._own_number)
        self.isd = SecurityDomain(state.gp, self._commit, self.toolkit.menu_changed)
        self.ota = OtaReceiver(state.ota, self._run_remote_script, self._commit)
        # the channels the ATR advertises; the applications: every ADF of the tree, in order
        self.channels = Channels(channel_capabilities(self.atr), self._mf,
                                 list(self._adfs.values()), [self._pin2])
        h = self
        # TS 102 221 Table 10.5: INS -> (handler, CLA group 00 or 80).
        self._uicc = {
            0xA4: (h._select, 0x00), 0xF2: (h._status, 0x80), 0xB0: (h._read_binary, 0x00),
            0xD6: (h._update_binary, 0x00), 0xB2: (h._read_record, 0x00),
            0xDC: (h._update_record, 0x00), 0xA2: (h._search_record, 0x00),
            0x20: (h._verify, 0x00), 0x24: (h._change, 0x00), 0x26: (h._disable, 0x00),
            0x28: (h._enable, 0x00), 0x2C: (h._unblock, 0x00), 0x88: (h._authenticate, 0x00),
            0x10: (h._terminal_profile, 0x80), 0x12: (h._fetch, 0x80),
            0x14: (h._terminal_response, 0x80), 0xC2: (h._envelope, 0x80),
            INS_MANAGE_CHANNEL: (h._manage_channel, 0x00),
        }
        # TS 51.011 §9.2: the same INS under CLA A0; 88 is RUN GSM ALGORITHM.
        self._gsm = {ins: handler for ins, (handler, _) in self._uicc.items()
                     if ins not in (0xA2, INS_MANAGE_CHANNEL)}
        self._gsm[0x88] = h._run_gsm_algorithm
        self._reset_state()

    def _menu_file(self) -> bytes | None:
        """EF.MENU's content while the registry holds the menu applet, else None."""
        if not self.isd.state.menu_registered():
            return None
        return self._nodes["ADF.USIM/EF.MENU"].content.data

    def _own_number(self) -> str | None:
        """The number in EF.MSISDN (first record), as the card's applet reads it."""
        from simtool.info import _first_msisdn

        msisdn = self._nodes.get("DF.TELECOM/EF.MSISDN")
        content = msisdn.content if msisdn is not None else None
        try:
            return _first_msisdn(list(content.records)) if content and content.records else None
        except Exception:   # noqa: BLE001 - a malformed record: the applet shows a placeholder
            return None

    @classmethod
    def from_image(cls, path: str | Path | None, *, applet: object | None = None) -> "VirtualUicc":
        """The default image in memory (``path`` None), or the image at ``path`` — created
        from the default (mode 0600) when the file does not exist yet."""
        if path is None:
            return cls(default_state(), None, applet=applet)
        path = Path(path)
        if path.exists():
            state = load_image(path)
        else:
            state = default_state()
            save_image(path, state)
        return cls(state, path, applet=applet)

    # --- power ---------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.channels.reset()
        self._pending = b""
        self._pending_channel = 0
        self.isd.reset()
        self.ota.reset()
        for pin in self._pins.values():
            pin.verified = False

    def reset(self) -> bytes:
        """Warm reset: security state and selection are lost; returns the ATR."""
        self._reset_state()
        self.toolkit.reset()
        return self.atr

    def power_off(self) -> None:
        self._reset_state()
        self.toolkit.reset()

    # --- APDU processing -----------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """One command APDU (short form) in, response data + SW1 SW2 out.  Never raises."""
        try:
            return self._process(apdu)
        except Exception:  # noqa: BLE001 - a card answers, whatever happens inside
            log.exception("internal error on INS %02X", apdu[1] if len(apdu) > 1 else 0)
            return SW_TECHNICAL_PROBLEM

    def _process(self, apdu: bytes) -> bytes:
        pending = self._pending
        if pending:
            self._pending = b""
        try:
            command = CommandApdu.from_bytes(apdu)
        except DecodeError:                   # too short, extended, Lc inconsistent
            return SW_WRONG_LENGTH
        cla, ins, p1, p2, data, le = (command.cla, command.ins, command.p1, command.p2,
                                      command.data, command.le)
        gsm = cla == 0xA0
        if not gsm and cla & 0xF0 not in (0x00, 0x80):
            return SW_CLA_NOT_SUPPORTED
        try:                                  # the logical channel CLA names (.channels)
            channel = self.channels.route(cla).number
        except CardStatus:
            return SW_CHANNEL_NOT_SUPPORTED
        gp_class = cla & 0xFC in (0x80, 0x84)
        if channel != self._pending_channel:
            pending = b""
        if gsm:
            if ins == 0xC0:
                return self._get_response(pending, p1, p2, le, True)
            handler = self._gsm.get(ins)
            if handler is None:
                return SW_INS_NOT_SUPPORTED
        elif gp_class and ins in GP_INS and self._isd_here():
            # the ISD sees the class without the channel bits (GP 2.3 §11.1.4)
            handler = self._gp_command(replace(command, cla=cla & 0xFC))
        elif gp_class and ins == 0xC0 and self._isd_here():
            # GET RESPONSE in the class of the GP command it completes (as simtool's channel
            # sends it after 61xx)
            return self._get_response(pending, p1, p2, le, False)
        else:
            group = cla & 0xF0
            if cla & 0x0C:
                return SW_SECURE_MESSAGING_NOT_SUPPORTED
            entry = self._uicc.get(ins)
            if entry is None:
                if ins != 0xC0:
                    return SW_INS_NOT_SUPPORTED
                if group:
                    return SW_CLA_NOT_SUPPORTED
                return self._get_response(pending, p1, p2, le, False)
            if entry[1] != group:
                return SW_CLA_NOT_SUPPORTED
            handler = entry[0]
        selection = self._df, self._ef, self._adf, self._record
        try:
            out = handler(p1, p2, data, le, gsm)
        except CardStatus as exc:            # rejected: the selection stays as it was
            self._df, self._ef, self._adf, self._record = selection
            return _sw(exc.gsm if gsm else exc.uicc)
        except GpAnswer as exc:
            return exc.data + _sw(exc.sw)
        if ins == 0xD6:                      # EF.MENU may have changed: REFRESH, SET UP MENU
            self.toolkit.menu_changed()
        if out:
            if le is None or (data and le < len(out)):
                # T=0 case 4 (TS 102 221 §7.3.1.1.4): the command ran; keep all its data
                self._pending, self._pending_channel = out, channel
                return _available(len(out), gsm)
            if le < len(out):
                if not gsm:                  # case 2, wrong Le: as if never sent (Table 7.1)
                    self._df, self._ef, self._adf, self._record = selection
                    return _sw(st.wrong_le(len(out))[0])
                out = out[:le]
            return out + self._ok()
        return self._ok()

    def _ok(self) -> bytes:
        return _sw(self.toolkit.status_word())    # 91xx while a proactive command is pending

    def _get_response(self, pending: bytes, p1: int, p2: int, le: int | None,
                      gsm: bool) -> bytes:
        """GET RESPONSE (TS 102 221 §11.1.14 / TS 51.011 §9.2.18), on the channel of the
        command whose data it fetches."""
        if not pending:
            return _sw(SW.TECHNICAL_PROBLEM)
        if p1 or p2:                          # the data stays available for a proper retry
            self._pending = pending
            return _sw(CardStatus(st.WRONG_P1P2).sw(gsm))
        want = 256 if le is None else le
        if want >= len(pending):
            if want != 256 and want > len(pending):
                self._pending = pending
                return _sw(CardStatus(st.wrong_le(len(pending), gsm_with_length=True)).sw(gsm))
            return pending + self._ok()
        if gsm:
            return pending[:want] + self._ok()
        self._pending = pending[want:]
        return pending[:want] + _available(len(self._pending), False)

    def _gp_command(self, command: CommandApdu) -> Callable:
        """A command for the selected ISD (:mod:`.gp`), shaped as the other handlers."""
        def handler(p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
            out, sw = self.isd.process(command)
            if sw != SW.OK:
                if out:                       # a protected error response (R-MAC)
                    raise GpAnswer(out, sw)
                raise CardStatus((sw, sw))
            return out
        return handler

    # --- persistence ---------------------------------------------------------------------

    def _commit(self, undo: Callable[[], None]) -> None:
        """Write the image (if any) before the card answers; on failure undo and answer 6581."""
        if self._path is None:
            return
        try:
            save_image(self._path, self.image_state())
        except OSError as exc:
            undo()
            log.error("cannot write the card image %s: %s", self._path, exc.strerror)
            raise CardStatus(st.MEMORY_PROBLEM) from None

    def image_state(self) -> ImageState:
        """The card's persistent state as it would be written to its image now."""
        # files the tree does not show (an image for a larger tree) are kept as they were
        files = {**self._state.files,
                 **{key: (c.data if c.records is None else list(c.records))
                    for key, c in self._contents.items()}}
        s = self._state
        return ImageState(s.atr, self._pins,
                          {AUTH_USIM: self._stores[AUTH_USIM].data,
                           AUTH_GSM: self._stores[AUTH_GSM].data},
                          self._auth.sqn, self._auth.window, files, self.isd.state,
                          self.ota.state)

    # --- access conditions (TS 102 221 §9.2) ---------------------------------------------

    def _allowed(self, ac: Acc) -> bool:
        """ALW, NEV, 'PIN or ADM1' for a PIN (the OR template of :func:`.fs.arr_record`),
        the key itself for an ADM condition (a card without that key: never)."""
        if ac is Acc.ALW:
            return True
        if ac is Acc.NEV:
            return False
        pin = self._pins.get(ac.name)
        if ac.name.startswith("ADM"):
            return pin is not None and pin.verified
        return self._adm1.verified or (pin is not None and pin.satisfied)

    def _require(self, ac: Acc) -> None:
        if not self._allowed(ac):
            raise CardStatus(st.SECURITY_NOT_SATISFIED)

    # --- selection (TS 102 221 §8.4, §11.1.1; TS 51.011 §9.2.1) --------------------------

    def _pin_status(self) -> tuple[PinStatus, ...]:
        """The C6 template (TS 102 221 §9.5.2): each PIN / ADM key, enabled or not (an ADM
        key cannot be disabled)."""
        return tuple(PinStatus(key_reference(Acc[name]), pin.enabled or name.startswith("ADM"))
                     for name, pin in self._pins.items())

    def _df_fcp(self, df: DF) -> bytes:
        return df.fcp(self._pin_status())

    def _gsm_df_response(self, df: DF) -> bytes:
        p1, p2 = self._pin1, self._pin2
        chv = bytes((0x80 | p1.tries, 0x80 | p1.puk_tries, 0x80 | p2.tries, 0x80 | p2.puk_tries))
        return df.gsm_response(chv, not p1.enabled)

    def _by_fid(self, fid: int):
        """The file a FID reaches from the current DF (TS 102 221 §8.4.1)."""
        if fid == MF_FID:
            return self._mf
        if fid == CURRENT_ADF_FID:
            if self._adf is None:
                raise CardStatus(st.FILE_NOT_FOUND)
            return self._adf
        current = self._df
        node = current.children.get(fid)
        if node is not None:
            return node
        if current.fid == fid:
            return current
        parent = current.parent
        if parent is not None:
            if parent.fid == fid:
                return parent
            sibling = parent.children.get(fid)
            if isinstance(sibling, DF):
                return sibling
        raise CardStatus(st.FILE_NOT_FOUND)

    def _by_path(self, data: bytes, start: DF) -> DF | EF:
        if not data or len(data) % 2:
            raise CardStatus(st.WRONG_LENGTH)
        fids = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
        if start is self._mf and fids[0] == MF_FID:   # tolerate a path that names the MF
            fids = fids[1:]
        node: DF | EF = start
        for fid in fids:
            if not isinstance(node, DF):
                raise CardStatus(st.FILE_NOT_FOUND)
            if fid == CURRENT_ADF_FID and node is self._mf:
                child = self._adf
            else:
                child = node.children.get(fid)
            if child is None:
                raise CardStatus(st.FILE_NOT_FOUND)
            node = child
        return node

    def _make_current(self, node: DF | EF) -> None:
        if isinstance(node, EF):
            self._ef, self._df = node, node.parent
        else:
            self._ef, self._df = None, node
        self._record = 0

    def _select(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        if gsm:
            if p1 or p2:
                raise CardStatus(st.WRONG_P1P2)
            if len(data) != 2:
                raise CardStatus(st.WRONG_LENGTH)
            node = self._by_fid(int.from_bytes(data, "big"))
            self._make_current(node)
            return node.gsm_response() if isinstance(node, EF) else self._gsm_df_response(node)
        answer = p2 & 0x0C                    # 04 FCP, 0C no data, 00 (FCI) answered as FCP
        if answer == 0x08 or p2 & 0xF0 or (p2 & 0x03 and p1 != 0x04):
            raise CardStatus(st.WRONG_P1P2)
        if p1 == 0x00:
            if not data:
                node = self._mf
            elif len(data) != 2:
                raise CardStatus(st.WRONG_LENGTH)
            else:
                node = self._by_fid(int.from_bytes(data, "big"))
        elif p1 in (0x01, 0x02):              # child DF / EF of the current DF
            if len(data) != 2:
                raise CardStatus(st.WRONG_LENGTH)
            node = self._df.children.get(int.from_bytes(data, "big"))
            if node is None or isinstance(node, DF) != (p1 == 0x01):
                raise CardStatus(st.FILE_NOT_FOUND)
        elif p1 == 0x03:                      # parent DF of the current DF
            if data:
                raise CardStatus(st.WRONG_LENGTH)
            node = self._df.parent
            if node is None:
                raise CardStatus(st.FILE_NOT_FOUND)
        elif p1 == 0x04:                      # by (partial) DF name / AID
            if not 1 <= len(data) <= 16:
                raise CardStatus(st.WRONG_LENGTH)
            occurrence = p2 & 0x03
            if occurrence not in (0x00, 0x02):
                raise CardStatus(st.WRONG_P1P2)
            if not occurrence and len(data) >= 5 and (ISD_AID.startswith(data)
                                                      or data == OP_ISD_AID):
                fci = self.isd.select()      # GP 2.3 §11.9: the ISD becomes the application
                self.channels.isd_channel = self.channels.current.number
                return b"" if answer == 0x0C else fci
            # any of the card's ADFs, by a full or right-truncated AID (TS 102 221 §11.1.1.2)
            node = self._adf = self.channels.find_application(data, occurrence == 0x02)
            if self._isd_here():
                self.isd.deselect()
        elif p1 == 0x08:
            node = self._by_path(data, self._mf)
        elif p1 == 0x09:
            node = self._by_path(data, self._df)
        else:
            raise CardStatus(st.WRONG_P1P2)
        self._make_current(node)
        if answer == 0x0C:
            return b""
        return node.fcp() if isinstance(node, EF) else self._df_fcp(node)

    def _status(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        """STATUS (TS 102 221 §11.1.2): P2 00 FCP of the current DF, 01 its AID, 0C nothing."""
        if data:
            raise CardStatus(st.WRONG_LENGTH)
        if gsm:
            if p1 or p2:
                raise CardStatus(st.WRONG_P1P2)
            return self._gsm_df_response(self._df)
        if p1 > 0x02:
            raise CardStatus(st.WRONG_P1P2)
        if p2 == 0x00:
            return self._df_fcp(self._df)
        if p2 == 0x01:
            adf = self._adf
            return (ber_encode(TAG_DF_NAME, adf.aid)
                    if adf is not None and self._df.is_within(adf) else b"")
        if p2 == 0x0C:
            return b""
        raise CardStatus(st.WRONG_P1P2)

    # --- PINs ----------------------------------------------------------------------------

    def _pin_command(self, p1: int, action: Callable[[], None]) -> bytes:
        if p1:
            raise CardStatus(st.WRONG_P1P2)
        action()
        return b""

    def _verify(self, p1, p2, data, le, gsm):
        return self._pin_command(p1, lambda: self._pin_commands.verify(p2, data, gsm))

    def _change(self, p1, p2, data, le, gsm):
        return self._pin_command(p1, lambda: self._pin_commands.change(p2, data, gsm))

    def _disable(self, p1, p2, data, le, gsm):
        return self._pin_command(
            p1, lambda: self._pin_commands.set_enabled(p2, data, gsm, enable=False))

    def _enable(self, p1, p2, data, le, gsm):
        return self._pin_command(
            p1, lambda: self._pin_commands.set_enabled(p2, data, gsm, enable=True))

    def _unblock(self, p1, p2, data, le, gsm):
        return self._pin_command(p1, lambda: self._pin_commands.unblock(p2, data, gsm))

    # --- authentication ------------------------------------------------------------------

    def _authenticate(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        """AUTHENTICATE (TS 31.102 §7.1.2; in ADF.ISIM TS 31.103 §7.1.2, the IMS AKA context
        P2 81 only): needs the application's ADF (or a DF in it) and PIN1."""
        isim = self._adf is not None and self._adf is self._isim
        if p1 or p2 not in ((0x81,) if isim else (0x80, 0x81)):
            raise CardStatus(st.WRONG_P1P2)
        if self._adf is None or not self._df.is_within(self._adf):
            raise CardStatus(st.CONDITIONS_NOT_MET)
        self._require(Acc.PIN1)
        if isim:
            return self._auth.authenticate_ims(data)
        if p2 == 0x81:
            return self._auth.authenticate_3g(data)
        return self._auth.authenticate_gsm(data)

    def _run_gsm_algorithm(self, p1: int, p2: int, data: bytes, le: int | None,
                           gsm: bool) -> bytes:
        """RUN GSM ALGORITHM (TS 51.011 §9.2.16): needs DF.GSM selected and CHV1."""
        if p1 or p2:
            raise CardStatus(st.WRONG_P1P2)
        if self._df is not self._nodes["DF.GSM"]:
            raise CardStatus(st.CONDITIONS_NOT_MET)
        self._require(Acc.PIN1)
        return self._auth.run_gsm_algorithm(data)

    # --- SIM Toolkit (TS 102 221 §11.2): simtool.stk.dispatch via .toolkit ------------------

    def _terminal_profile(self, p1, p2, data, le, gsm):
        return self.toolkit.command(0x10, p1, p2, data, le)

    def _fetch(self, p1, p2, data, le, gsm):
        return self.toolkit.command(0x12, p1, p2, data, le)

    def _terminal_response(self, p1, p2, data, le, gsm):
        return self.toolkit.command(0x14, p1, p2, data, le)

    def _envelope(self, p1, p2, data, le, gsm):
        if not p1 and not p2 and is_sms_pp_download(data):
            return self.ota.envelope(data)    # TS 31.111 §7.1.1.2: the card's OTA receiver
        return self.toolkit.command(0xC2, p1, p2, data, le)
