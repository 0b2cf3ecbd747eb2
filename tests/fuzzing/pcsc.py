"""``PcscFuzz``: the emulator fuzz through the real stack — pyscard → pcscd → vpcd → the card
process — with a deadline on every APDU, so that a command that hangs the card (and with it
vpcd and every PC/SC client of the reader) is reported as a finding instead of hanging the run.

After a hang the card process is killed (vpcd's read fails, so the blocked transmit returns),
a new card process is started on the same image and the run goes on.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .apdus import ApduSource
from .findings import Finding, is_known
from .status_words import command_info, sw_allowed


@dataclass
class PcscStats:
    apdus: int = 0
    short: int = 0           # commands of 1-4 bytes
    hangs: int = 0
    restarts: int = 0
    elapsed: float = 0.0
    by_length: Counter = field(default_factory=Counter)
    findings: dict[tuple, Finding] = field(default_factory=dict)

    def unexpected(self) -> list[Finding]:
        return [f for f in self.findings.values() if not is_known(f)]


class PcscFuzz:
    """Send seeded APDUs (``ApduSource``, one in four a 1-4 byte command) to the card of
    ``stack`` (a started ``tests.harness.PcscStack``) through PC/SC; each must be answered
    within ``deadline`` seconds with a status word the specs allow for it."""

    def __init__(self, stack, seed: int, *, deadline: float = 5.0, short_rate: float = 0.25
                 ) -> None:
        from tests.virtual_card import image
        self.stack, self.deadline, self.short_rate = stack, deadline, short_rate
        self.rng = random.Random(seed)
        self.source = ApduSource(self.rng, image.default_state().auth["auth.usim"])
        self.stats = PcscStats()
        self._ctx = self._card = None
        self._protocol = 0

    # -- PC/SC --

    def _connect(self) -> None:
        from smartcard import scard
        self.close()
        hr, self._ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise RuntimeError(f"no PC/SC context: {scard.SCardGetErrorMessage(hr)}")
        hr, self._card, self._protocol = scard.SCardConnect(
            self._ctx, self.stack.reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hr != scard.SCARD_S_SUCCESS:
            raise RuntimeError(f"cannot connect to {self.stack.reader!r}: "
                               f"{scard.SCardGetErrorMessage(hr)}")

    def close(self) -> None:
        from smartcard import scard
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
        if self._ctx is not None:
            scard.SCardReleaseContext(self._ctx)
            self._ctx = None

    def _recover(self) -> None:
        """Pull the hung card (its process is killed: vpcd's read fails, the blocked
        transmit returns) and insert a new card process on the same image."""
        self.stack.kill_card()
        self.stack.start_card()
        self.stats.restarts += 1
        self._connect()

    def exchange(self, apdu: bytes) -> Finding | None:
        """Send one APDU with the deadline; the finding it shows, if any."""
        from smartcard import scard
        if self._card is None:
            self._connect()
        result: list = []
        worker = threading.Thread(
            target=lambda: result.append(scard.SCardTransmit(self._card, self._protocol,
                                                             list(apdu))),
            daemon=True)
        worker.start()
        worker.join(self.deadline)
        command = command_info(apdu)[0]
        self.stats.apdus += 1
        self.stats.by_length[min(len(apdu), 6)] += 1
        self.stats.short += 1 <= len(apdu) <= 4
        if worker.is_alive():
            self.stats.hangs += 1
            self._recover()
            worker.join(self.deadline)
            return Finding("hang", command, apdu, None,
                           f"no answer within {self.deadline:g} s through pcscd + vpcd")
        hr, response = result[0]
        if hr != scard.SCARD_S_SUCCESS:
            finding = Finding("pcsc", command, apdu, None,
                              f"transmit failed: {scard.SCardGetErrorMessage(hr)}")
            self._recover()
            return finding
        response = bytes(response)
        if len(response) < 2:
            return Finding("sw", command, apdu, None, "no status word")
        sw = int.from_bytes(response[-2:], "big")
        self.source.observe(apdu, response)
        if not sw_allowed(apdu, sw):
            return Finding("sw", command, apdu, sw, "status word not allowed for it")
        return None

    def _record(self, finding: Finding) -> None:
        old = self.stats.findings.get(finding.key())
        if old is not None:
            old.count += 1
        else:
            finding.steps = (finding.apdu,)
            self.stats.findings[finding.key()] = finding

    def run(self, count: int, seconds: float | None = None) -> PcscStats:
        """Send ``count`` APDUs (or stop after ``seconds``).  The four 1-byte vpcd controls
        are left out: vpcd's protocol cannot carry them as APDUs (docs/reliability.md)."""
        start = time.perf_counter()
        stop = float("inf") if seconds is None else start + seconds
        try:
            while self.stats.apdus < count and time.perf_counter() < stop:
                if self.rng.random() < self.short_rate:
                    apdu = self.source.short(controls=False)
                else:
                    apdu = self.source.next()
                    if not apdu or apdu in (b"\x00", b"\x01", b"\x02", b"\x04"):
                        continue   # pcscd refuses an empty command; controls: see above
                finding = self.exchange(apdu)
                if finding is not None:
                    self._record(finding)
        finally:
            self.close()
            self.stats.elapsed = time.perf_counter() - start
        return self.stats
