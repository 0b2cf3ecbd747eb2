"""One ``send()`` under which the T=0 procedure status words and the typed errors live.

* ``61 xx`` → GET RESPONSE ``CLA C0 00 00 xx`` (``00`` = 256), repeated while the card says
  more is available (ETSI TS 102 221 §7.3.1.1.4, Table 7.1); data is concatenated.
* ``6C xx`` → the same command again with Le = xx (TS 102 221 Table 7.1).
* ``9F xx`` → GET RESPONSE ``A0 C0 00 00 xx`` on a GSM SIM (3GPP TS 51.011 §9.4.1); handled the
  same way on the UICC class.

GET RESPONSE takes the class byte of the command it completes, as an interindustry command:
``A0`` on a GSM SIM; on a UICC the same byte with b8 cleared (logical channel bits kept), so a
toolkit command of class ``80`` (ENVELOPE, FETCH, TERMINAL RESPONSE) is followed by ``00 C0``
(TS 102 221 §10.1.1, Table 10.5: GET RESPONSE is a ``0X``/``4X``/``6X`` command).

With ``check=True`` a failing status word raises the :class:`~simtool.errors.CardError`
subclass that names it; 9000, 91xx, 92xx (not 9240), and 62xx/63xx warnings are success,
except ``63 Cx`` answering a PIN command, which is a wrong PIN.

The channel only sends what it is given: the class byte of a command (00 UICC, A0 GSM) and
what a PIN counter query means are :class:`simtool.card.Card`'s.
"""

from __future__ import annotations

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.sw import FOLLOW_UP_SW1, is_success
from simtool.apdu.transport import AUTH_INS, PIN_INS, Transport
from simtool.errors import (
    AuthenticationFailed,
    CardError,
    CardRemoved,
    DecodeError,
    FileNotFound,
    NotSupported,
    PinBlocked,
    RecordNotFound,
    SecurityNotSatisfied,
    WrongLength,
    WrongPin,
)

#: Most exchanges one send() may take (GET RESPONSE chains of 256 bytes → 64 KiB), so a card
#: that keeps answering 61xx cannot hang simtool.
MAX_EXCHANGES = 256

_GET_RESPONSE = 0xC0

#: Fixed status words → error class (architecture contract, TS 102 221 §10.2.1, TS 51.011 §9.4).
_ERRORS: dict[int, type[CardError]] = {
    0x6982: SecurityNotSatisfied,
    0x9804: SecurityNotSatisfied,
    0x6A82: FileNotFound,
    0x9404: FileNotFound,
    0x6A81: NotSupported,
    0x6A83: RecordNotFound,
    0x9402: RecordNotFound,
    0x6D00: NotSupported,
    0x6E00: NotSupported,
    0x9862: AuthenticationFailed,
}

#: Instruction names for error messages when the caller gave no ``name`` (TS 102 221 §10.1.2).
INS_NAMES: dict[int, str] = {
    0xA4: "SELECT",
    0xF2: "STATUS",
    0xB0: "READ BINARY",
    0xD6: "UPDATE BINARY",
    0xB2: "READ RECORD",
    0xDC: "UPDATE RECORD",
    0xA2: "SEARCH RECORD",
    0x32: "INCREASE",
    0xCB: "RETRIEVE DATA",
    0xDB: "SET DATA",
    0x20: "VERIFY PIN",
    0x24: "CHANGE PIN",
    0x26: "DISABLE PIN",
    0x28: "ENABLE PIN",
    0x2C: "UNBLOCK PIN",
    0x04: "DEACTIVATE FILE",
    0x44: "ACTIVATE FILE",
    0x88: "AUTHENTICATE",
    0x89: "AUTHENTICATE",
    0x84: "GET CHALLENGE",
    0xAA: "TERMINAL CAPABILITY",
    0x10: "TERMINAL PROFILE",
    0xC2: "ENVELOPE",
    0x12: "FETCH",
    0x14: "TERMINAL RESPONSE",
    0x70: "MANAGE CHANNEL",
    0x73: "MANAGE SECURE CHANNEL",
    0x75: "TRANSACT DATA",
    0xC0: "GET RESPONSE",
    0xCA: "GET DATA",
    0xE0: "CREATE FILE",
    0xE4: "DELETE FILE",
    0xFA: "SLEEP",
}


def command_name(apdu: CommandApdu) -> str:
    """A readable name for error messages: ``"READ BINARY"``, or ``"INS 5A"``."""
    return INS_NAMES.get(apdu.ins, f"INS {apdu.ins:02X}")


def _with_le(raw: bytes, le: int) -> bytes:
    """``raw`` with its Le byte set to ``le`` (appended for case 1/3 commands)."""
    n = len(raw)
    if n == 4:
        return raw + bytes((le,))
    if n == 5:
        return raw[:4] + bytes((le,))
    if n == 5 + raw[4]:
        return raw + bytes((le,))
    return raw[:-1] + bytes((le,))


def card_error(apdu: CommandApdu, sw: int, name: str | None = None) -> CardError:
    """The typed error for a failing ``sw`` answering ``apdu``."""
    command = name or command_name(apdu)
    if apdu.ins in PIN_INS and sw & 0xFFF0 == 0x63C0:
        return WrongPin(sw, command, sw & 0x0F)
    if sw in (0x6983, 0x9840):
        return PinBlocked(sw, command)
    if sw >> 8 == 0x67:
        return WrongLength(sw, command)
    if sw >> 8 in (0x68, 0x6D, 0x6E):  # TS 51.011 §9.4.6 uses any SW2 with 6D/6E
        return NotSupported(sw, command)
    cls = _ERRORS.get(sw, CardError)
    if sw == 0x9804 and apdu.ins in PIN_INS:
        return cls(sw, command, "wrong CHV (at least one attempt left) or access condition "
                   "not fulfilled")
    return cls(sw, command)


class Channel:
    """Send commands to one card and get checked, complete responses back."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def send(self, apdu: CommandApdu, *, name: str | None = None, secret: bool = False,
             check: bool = True) -> ResponseApdu:
        """Send ``apdu`` and return the complete response.

        ``secret`` marks the command data and the response as secret for tracing wrappers;
        AUTHENTICATE (INS 88/89) is always secret.  With ``check`` a failing status word
        raises the matching CardError; a lost card raises ``CardRemoved(step=name)``.
        """
        raw = apdu.to_bytes()
        ins = apdu.ins
        if ins in AUTH_INS:
            secret = True
        resp = self._exchange(raw, secret, name, apdu)
        sw = (resp[-2] << 8) | resp[-1]
        response = ResponseApdu(resp[:-2], sw)
        if check and sw != 0x9000 and not self._ok(apdu, sw):
            raise card_error(apdu, sw, name)
        return response

    @staticmethod
    def _ok(apdu: CommandApdu, sw: int) -> bool:
        if sw & 0xFFF0 == 0x63C0 and apdu.ins in PIN_INS:
            # TS 102 221 §11.1.9/§11.1.13: with no data it is a counter query, else wrong PIN.
            return not apdu.data
        return is_success(sw)

    def send_raw(self, raw: bytes, *, secret: bool = False) -> ResponseApdu:
        """Send raw APDU bytes (the CLI's ``apdu`` command): 61xx/6Cxx/9Fxx are followed up
        but the final status word is returned, not checked."""
        raw = bytes(raw)
        if len(raw) < 4:
            raise DecodeError(f"a command APDU needs at least 4 bytes, got {len(raw)}")
        if raw[1] in AUTH_INS:
            secret = True
        resp = self._exchange(raw, secret, "raw APDU " + raw[:4].hex(" ").upper(), None)
        return ResponseApdu(resp[:-2], (resp[-2] << 8) | resp[-1])

    def _exchange(self, raw: bytes, secret: bool, name: str | None,
                  apdu: CommandApdu | None) -> bytes:
        try:
            resp = self.transport.transmit(raw, secret=secret)
            if len(resp) < 2 or resp[-2] in FOLLOW_UP_SW1:
                resp = self._complete(raw, resp, secret)
        except CardRemoved as exc:
            step = name or command_name(apdu)
            raise CardRemoved(_removed_message(exc), step=step) from exc
        except (ConnectionError, EOFError) as exc:
            step = name or command_name(apdu)
            raise CardRemoved(f"connection to the card lost ({exc})", step=step) from exc
        return resp

    def _complete(self, raw: bytes, resp: bytes, secret: bool) -> bytes:
        """Follow 61xx / 6Cxx / 9Fxx until the card gives a final status word."""
        transmit = self.transport.transmit
        data = b""
        cmd = raw
        corrected = None  # the command last resent because of 6Cxx
        for _ in range(MAX_EXCHANGES):
            if len(resp) < 2:
                raise DecodeError(
                    f"card answered {resp.hex().upper() or 'nothing'}: a response needs "
                    "at least SW1 SW2"
                )
            sw1, sw2 = resp[-2], resp[-1]
            if sw1 == 0x61 or sw1 == 0x9F:
                data += resp[:-2]
                cmd = bytes((_get_response_cla(raw[0]), _GET_RESPONSE, 0x00, 0x00, sw2))
            elif sw1 == 0x6C and cmd is not corrected:
                cmd = corrected = _with_le(cmd, sw2)
            else:
                return data + resp if data else resp
            resp = transmit(cmd, secret=secret)
        raise DecodeError(
            f"card still answered {resp[-2:].hex().upper()} after {MAX_EXCHANGES} exchanges"
        )


def _get_response_cla(cla: int) -> int:
    """GET RESPONSE's class byte after a command of class ``cla`` (see the module doc)."""
    return cla if cla == 0xA0 else cla & 0x7F


def _removed_message(exc: CardRemoved) -> str:
    text = str(exc)
    if exc.step and text.endswith(f" during {exc.step}"):
        text = text[: -len(f" during {exc.step}")]
    return text or "card removed"
