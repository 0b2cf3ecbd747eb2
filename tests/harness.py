"""Start and stop the real PC/SC stack with the virtual card behind it.

Used by the end-to-end tests (tests/conftest.py), the demo (``python -m tests.demo``) and the
benchmarks.  Everything started here is stopped by the PID it was started with, never by name.

pcscd: Debian's pcscd serves one socket (/run/pcscd/pcscd.comm) per machine.  When none is
running we start ``pcscd -f`` and own it; when one is already running we use it and leave it alone.
vpcd (vsmartcard's pcscd driver) listens on 127.0.0.1:35963 for reader ``Virtual PCD 00 00`` and on
35964 for ``Virtual PCD 00 01``; the card is the TCP client.  Only one card connection per port is
served, so we take a port nobody is connected to and check that the reader then shows our card.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_PORTS = {35963: "Virtual PCD 00 00", 35964: "Virtual PCD 00 01"}


class HarnessError(RuntimeError):
    pass


def _pcscd_alive() -> bool:
    if not PCSCD_SOCKET.exists():
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(PCSCD_SOCKET))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _port_in_use(port: int) -> bool:
    """True when some card process already holds an established connection to vpcd's port."""
    out = subprocess.run(
        ["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
        capture_output=True, text=True, check=False,
    ).stdout
    return bool(out.strip())


def _stop_pid(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


@dataclass
class PcscStack:
    """pcscd (started only if absent) + one virtual card process on a free vpcd port."""

    workdir: Path
    image: Path | None = None
    pcscd: subprocess.Popen | None = None
    card: subprocess.Popen | None = None
    port: int | None = None
    reader: str | None = None
    _logs: list = field(default_factory=list)

    def start(self) -> "PcscStack":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ensure_pcscd()
        self.start_card()
        return self

    def ensure_pcscd(self) -> None:
        if _pcscd_alive():
            return
        log = open(self.workdir / "pcscd.log", "wb")
        self._logs.append(log)
        self.pcscd = subprocess.Popen(["pcscd", "-f"], stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _pcscd_alive():
            if self.pcscd.poll() is not None:
                raise HarnessError(f"pcscd exited with {self.pcscd.returncode}: see {log.name}")
            if time.monotonic() > deadline:
                raise HarnessError("pcscd did not open its socket within 10 s")
            time.sleep(0.05)

    def start_card(self) -> None:
        for port, reader in VPCD_PORTS.items():
            if not _port_in_use(port):
                self.port, self.reader = port, reader
                break
        else:
            raise HarnessError("both vpcd ports already have a card connected")
        if self.image is None:
            self.image = self.workdir / "card.json"
        ready = self.workdir / f"card-{self.port}.ready"
        ready.unlink(missing_ok=True)
        log = open(self.workdir / f"card-{self.port}.log", "wb")
        self._logs.append(log)
        self.card = subprocess.Popen(
            [sys.executable, "-m", "tests.virtual_card", "--vpcd", f"127.0.0.1:{self.port}",
             "--image", str(self.image), "--ready-file", str(ready)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while not ready.exists():
                if self.card.poll() is not None:
                    raise HarnessError(f"virtual card exited with {self.card.returncode}: "
                                       f"{(self.workdir / f'card-{self.port}.log').read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise HarnessError("virtual card did not connect to vpcd within 15 s")
                time.sleep(0.05)
            self.wait_for_card()
        except BaseException:
            _stop_pid(self.card, signal.SIGKILL)  # never leave a card process behind
            self.card = None
            raise

    def reader_status(self) -> tuple[int, bytes]:
        """pcscd's view of our reader (SCardGetStatusChange): event state flags (the high 16
        bits count the reader's events) and the ATR.  Asking does not touch the card."""
        from smartcard import scard

        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:  # pcscd itself is gone: no card in any reader
            return scard.SCARD_STATE_UNKNOWN, b""
        try:
            hr, states = scard.SCardGetStatusChange(
                ctx, 0, [(self.reader, scard.SCARD_STATE_UNAWARE)])
            if hr != scard.SCARD_S_SUCCESS:
                return scard.SCARD_STATE_UNKNOWN, b""
            return states[0][1], bytes(states[0][2])
        finally:
            scard.SCardReleaseContext(ctx)

    def reader_state(self) -> int:
        return self.reader_status()[0]

    def wait_for_card(self, timeout: float = 15.0) -> bytes:
        """Wait until pcscd reports our reader PRESENT; return the ATR.  No connection is
        made, so the card is not powered down behind the back of a client using it."""
        from smartcard import scard

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            flags, atr = self.reader_status()
            if flags & scard.SCARD_STATE_PRESENT and not flags & scard.SCARD_STATE_MUTE and atr:
                return atr
            time.sleep(0.05)
        raise HarnessError(f"reader {self.reader!r} shows no card after {timeout} s")

    def kill_card(self, sig: int = signal.SIGKILL) -> None:
        """Pull the card: kill the emulator process (SIGKILL = no chance to clean up), then
        wait until pcscd's reader thread has seen it go (its event counter moved and the
        reader is EMPTY).  A card killed in the middle of an APDU shows EMPTY at once, before
        that thread ran; a new card connecting then would be taken for the old, powered one
        and never powered up."""
        if self.card is None:
            return
        before = self.reader_state() >> 16
        _stop_pid(self.card, sig)
        self.card = None
        from smartcard import scard

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            flags = self.reader_state()
            if flags & scard.SCARD_STATE_UNKNOWN:
                return
            if flags & scard.SCARD_STATE_EMPTY and flags >> 16 != before:
                return
            time.sleep(0.05)
        raise HarnessError(f"pcscd still shows a card in {self.reader!r} 15 s after the card "
                           "process stopped")

    def restart_card(self) -> None:
        self.kill_card(signal.SIGTERM)
        self.start_card()

    def stop(self) -> None:
        if self.card is not None:
            self.kill_card(signal.SIGTERM)
        if self.pcscd is not None:
            _stop_pid(self.pcscd)
            self.pcscd = None
        for f in self._logs:
            f.close()
        self._logs.clear()

    def __enter__(self) -> "PcscStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def temp_stack(image: Path | None = None) -> PcscStack:
    return PcscStack(Path(tempfile.mkdtemp(prefix="simtool-stack-")), image=image)
