"""Remote file and applet management (ETSI TS 102 226) for the virtual card: the scripts the
OTA receiver (:mod:`.ota`) lets through, run on the card (a mixin of
:class:`.uicc.VirtualUicc`, like :class:`.files.FileCommands`)."""

from __future__ import annotations

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.sw import SW

from .ota import TAR_RAM_ISD, TAR_RFM_USIM

#: Not file management: toolkit, PIN and authentication commands are refused in an RFM script.
_NOT_RFM = frozenset((0x10, 0x12, 0x14, 0xC2, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x88))


class _Processor:
    """The card's own command processor as a transport: a script's command is completed
    (61xx → GET RESPONSE, ...) by simtool's Channel, where those rules are written once."""

    def __init__(self, process) -> None:
        self._process = process

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        return self._process(apdu)


class RemoteManagement:
    def _run_remote_script(self, tar: bytes, apdus: list[CommandApdu]) -> list[ResponseApdu]:
        """Run an authenticated OTA script: RAM goes to the ISD; RFM runs over the file
        system with ADM1's rights and a selection of its own (from ADF.USIM for the USIM's
        TAR, the MF for the UICC's), the terminal's selection and security state untouched.
        Stops after the first command that fails."""
        out: list[ResponseApdu] = []
        if tar == TAR_RAM_ISD:
            for apdu in apdus:
                out.append(self.isd.remote(apdu))
                if out[-1].sw != SW.OK:
                    break
            return out
        saved = (self._pending, self._pending_channel, self._adm1.verified)
        if tar == TAR_RFM_USIM:
            start, adf = self._usim, self._usim
        else:
            start, adf = self._mf, None
        # the script's basic channel is a channel of its own (.channels): the terminal's
        # channels keep their selection
        with self.channels.isolated(start, adf):
            try:
                self._adm1.verified = True
                self._pending = b""
                for apdu in apdus:
                    if apdu.ins in _NOT_RFM:
                        # not file management
                        out.append(ResponseApdu(b"", SW.INS_NOT_SUPPORTED))
                        break
                    response = Channel(_Processor(self._process)).send_raw(apdu.to_bytes())
                    data, sw = response.data, response.sw
                    if sw >> 8 == 0x91:
                        sw = SW.OK
                    out.append(ResponseApdu(data, sw))
                    if sw != SW.OK:
                        break
            finally:
                self._pending, self._pending_channel, self._adm1.verified = saved
        self.toolkit.menu_changed()          # EF.MENU may have changed
        return out
