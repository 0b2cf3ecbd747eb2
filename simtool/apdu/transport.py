"""The one seam between simtool and a card: ``transmit(apdu) -> response data + SW1 SW2``.

Implementations: :class:`simtool.apdu.pcsc.PcscTransport` (a reader through pcscd),
:class:`InProcessTransport` (any card object in this process, e.g. the virtual UICC), and the
wrappers :class:`TracingTransport` (a redacted APDU log) and :class:`CountingTransport`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Protocol, runtime_checkable

from simtool.apdu.sw import FOLLOW_UP_SW1

#: VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK PIN (TS 102 221 §11.1.9–§11.1.13): the command
#: data is a PIN, PUK or ADM key.
PIN_INS = frozenset({0x20, 0x24, 0x26, 0x28, 0x2C})
#: AUTHENTICATE (TS 102 221 §11.1.16, both INS values) and RUN GSM ALGORITHM (TS 51.011, INS 88):
#: the command carries RAND/AUTN and the response RES/CK/IK/Kc.
AUTH_INS = frozenset({0x88, 0x89})


@runtime_checkable
class Transport(Protocol):
    """A link to one card.  ``secret=True`` tells wrappers that data and response are secret."""

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        """Send a command APDU; return the response data followed by SW1 SW2."""
        ...

    def atr(self) -> bytes:
        """The card's answer to reset."""
        ...

    def reset(self) -> bytes:
        """Warm-reset the card; return the ATR."""
        ...

    def close(self) -> None:
        """Release the card/reader."""
        ...


class InProcessTransport:
    """Drive a card object living in this process.

    The card has ``.atr: bytes``, ``.process(apdu: bytes) -> bytes`` and
    ``.reset() -> bytes``; ``.power_off()`` is called by :meth:`close` when present.
    """

    def __init__(self, card: Any) -> None:
        self.card = card
        self._process = card.process

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        return self._process(apdu)

    def atr(self) -> bytes:
        return bytes(self.card.atr)

    def reset(self) -> bytes:
        atr = self.card.reset()
        return bytes(self.card.atr if atr is None else atr)

    def close(self) -> None:
        power_off = getattr(self.card, "power_off", None)
        if power_off is not None:
            power_off()


def _hex(data: bytes, sep: str = " ") -> str:
    return (bytes(data).hex(sep) if sep else bytes(data).hex()).upper()


def _redacted(n: int) -> str:
    return f"[{n} byte{'' if n == 1 else 's'} redacted]"


def redaction(apdu: bytes) -> tuple[bool, bool]:
    """Which sides of an exchange hold secrets, from the command alone: ``(command data,
    response data)``.  The PIN commands' data is a PIN, PUK or ADM key; AUTHENTICATE and RUN
    GSM ALGORITHM carry RAND/AUTN and answer RES/CK/IK/Kc.  The one rule for the trace and for
    what ``simtool apdu`` prints."""
    ins = apdu[1] if len(apdu) > 1 else -1
    auth = ins in AUTH_INS
    return auth or ins in PIN_INS, auth


def format_command(apdu: bytes, *, redact: bool, sep: str = " ") -> str:
    """Render a command APDU as upper-case hex (bytes joined by ``sep``); with ``redact`` the
    data field is replaced by its length: ``00 20 00 0A 08 [8 bytes redacted]``."""
    if not redact or len(apdu) <= 5:
        return _hex(apdu, sep)
    lc = apdu[4]
    end = 5 + lc
    rest = apdu[end:]
    if end > len(apdu) or len(rest) > 1:
        # Malformed: hide everything after the header rather than guess where data ends.
        return f"{_hex(apdu[:5], sep)} {_redacted(len(apdu) - 5)}"
    line = f"{_hex(apdu[:5], sep)} {_redacted(lc)}"
    return f"{line} {_hex(rest, sep)}" if rest else line


def format_data(data: bytes, *, redact: bool, sep: str = " ") -> str:
    """Response data as hex, or with ``redact`` its length only (nothing when empty)."""
    return _redacted(len(data)) if redact and data else _hex(data, sep)


def format_response(resp: bytes, *, redact: bool) -> str:
    """Render a response (data + SW1 SW2); with ``redact`` the data shows as its length."""
    if not redact or len(resp) == 2:
        return _hex(resp)
    if len(resp) < 2:  # no status word: show nothing of it
        return _redacted(len(resp))
    return f"{_redacted(len(resp) - 2)} {_hex(resp[-2:])}"


class TracingTransport:
    """Log every exchange as ``>> command`` / ``<< response`` lines, redacted.

    Always redacted: the data of the PIN commands (INS 20 24 26 28 2C, any CLA), the data and
    the response of AUTHENTICATE / RUN GSM ALGORITHM (INS 88/89), and both sides of every
    ``secret=True`` exchange.  A GET RESPONSE or Le-corrected resend that continues a redacted
    answer (after 61xx / 6Cxx / 9Fxx) is redacted too, so RES/CK/IK never reach the log.
    """

    def __init__(self, inner: Transport, log: Callable[[str], None]) -> None:
        self.inner = inner
        self._log = log
        self._continues_secret = False

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        secret_cmd, secret_resp = redaction(apdu)
        redact_cmd = secret or secret_cmd
        redact_resp = secret or secret_resp or self._continues_secret
        self._log(">> " + format_command(apdu, redact=redact_cmd))
        try:
            resp = self.inner.transmit(apdu, secret=secret)
        except Exception as exc:
            self._continues_secret = False
            self._log(f"!! {type(exc).__name__}: {exc}")
            raise
        self._log("<< " + format_response(resp, redact=redact_resp))
        self._continues_secret = (
            redact_resp and len(resp) >= 2 and resp[-2] in FOLLOW_UP_SW1
        )
        return resp

    def atr(self) -> bytes:
        return self.inner.atr()

    def reset(self) -> bytes:
        self._continues_secret = False
        atr = self.inner.reset()
        self._log(f"-- reset, ATR {_hex(atr)}")
        return atr

    def close(self) -> None:
        self.inner.close()


class CountingTransport:
    """Count the APDUs sent through ``inner`` (benchmarks, tests of APDU economy)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.count = 0
        #: APDUs per INS byte, e.g. ``by_ins[0xC0]`` = number of GET RESPONSEs.
        self.by_ins: Counter[int] = Counter()

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        self.count += 1
        if len(apdu) > 1:
            self.by_ins[apdu[1]] += 1
        return self.inner.transmit(apdu, secret=secret)

    def atr(self) -> bytes:
        return self.inner.atr()

    def reset(self) -> bytes:
        return self.inner.reset()

    def close(self) -> None:
        self.inner.close()
