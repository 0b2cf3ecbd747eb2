"""Start and stop the real PC/SC stack with the virtual card behind it.

Used by the end-to-end tests (tests/conftest.py), the demo (``python -m tests.demo``) and the
benchmarks.  Everything started here is stopped by the PID it was started with, never by name,
and a start that fails half-way stops what it had started before raising.

pcscd: Debian's pcscd (1.9.9) always serves its socket at /run/pcscd/pcscd.comm and ignores
``PCSCLITE_CSOCK_NAME``; libpcsclite's client honours that variable.  So, as root, the harness
runs a *private* pcscd: ``unshare --mount`` gives it its own mount namespace, where a private
directory is bind-mounted over /run/pcscd, and ``pcscd -c`` reads a private reader.conf.d whose
vpcd entry listens on two free ports.  Clients find it through ``PCSCLITE_CSOCK_NAME``, which
the harness sets in ``os.environ`` (inherited by every CLI it runs).  Two checkouts, CI jobs or
test sessions on one machine then never share a pcscd or a vpcd port, and the machine's own
pcscd (real readers) is never touched.  libpcsclite reads the variable once per process, so one
process uses one pcscd: a second stack in the same process reuses the first one's pcscd.  (A
private pcscd also scans USB like any pcscd: on a machine with a real reader in use, run the
hardware tier, which uses the machine's pcscd, rather than the end-to-end tier.)

Without root, or where a private mount namespace cannot be made (a plain chroot, whose "/" is
no mount point), the harness falls back to the machine's pcscd: it uses a running one and
leaves it alone, or starts ``pcscd -f`` and owns it.  vpcd then listens on
35963 (reader ``Virtual PCD 00 00``) and 35964 (``Virtual PCD 00 01``).

vpcd serves one card connection per port, the card being the TCP client: we take a port nobody
is connected to and check that the reader then shows our card.  "Is this port free / who holds
it" is answered from /proc (no ``ss``, which a minimal Debian lacks).
"""

from __future__ import annotations

import functools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
SYSTEM_SOCKET = Path("/run/pcscd/pcscd.comm")
SYSTEM_READER_CONF = Path("/etc/reader.conf.d")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
DEFAULT_VPCD_PORT = 35963
#: private vpcd ports are taken below Linux's ephemeral range (32768-60999)
PRIVATE_PORTS = range(20000, 32000, 2)


class HarnessError(RuntimeError):
    pass


class PortBusy(HarnessError):
    """A vpcd port is held by another process."""


def vpcd_readers(base_port: int) -> dict[int, str]:
    """vpcd's two readers: slot N listens on ``base_port + N``."""
    return {base_port: "Virtual PCD 00 00", base_port + 1: "Virtual PCD 00 01"}


# --- /proc: sockets, their ports and their owners ------------------------------------------------

_LISTEN, _ESTABLISHED = "0A", "01"


def _tcp_sockets() -> list[tuple[int, int, str, int]]:
    """(local port, remote port, state, inode) of every TCP socket in this network namespace."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            out.append((int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16), f[3],
                        int(f[9])))
    return out


def _socket_owners(inodes: set[int]) -> list[int]:
    """PIDs holding one of the socket ``inodes`` (the ones /proc lets us see)."""
    targets = {f"socket:[{i}]" for i in inodes}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in targets:
                    pids.append(int(entry.name))
                    break
        except OSError:
            continue
    return pids


def describe_pid(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cmd = " ".join(a.decode(errors="replace") for a in argv if a)
    except OSError:
        cmd = ""
    return f"pid {pid} ({cmd[:120] or 'gone'})"


def port_listeners(port: int) -> list[int] | None:
    """PIDs listening on TCP ``port``; [] when someone listens but /proc does not say who;
    None when nobody listens."""
    inodes = {ino for local, _, state, ino in _tcp_sockets() if local == port and state == _LISTEN}
    if not inodes:
        return None
    return _socket_owners(inodes)


def port_bindable(port: int) -> bool:
    """Could a server listen on 0.0.0.0:``port`` now (as vpcd does)?"""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def card_connected(port: int) -> bool:
    """True when some card process holds an established connection to vpcd's ``port``."""
    return any(remote == port and state == _ESTABLISHED
               for _, remote, state, _ in _tcp_sockets())


def busy_port_message(port: int, reader: str) -> str:
    """One line: which vpcd port is held, by what, and what to do."""
    pids = port_listeners(port)
    if pids:
        holder = "held by " + ", ".join(describe_pid(p) for p in pids)
    elif pids == []:
        holder = "held by a process /proc does not show to this user"
    else:
        holder = "in use (no listener visible: bound by another process, or in TIME_WAIT)"
    advice = ("start again: a private pcscd takes other free ports" if private_pcscd_possible()
              else "run as root, so that the harness starts a private pcscd on free ports")
    return (f"vpcd port {port} (reader {reader!r}) is {holder}: another pcscd with "
            "vsmartcard-vpcd (a second checkout or CI job?) or another program has it. Stop "
            f"that process, or {advice}")


# --- pcscd ----------------------------------------------------------------------------------------

def _socket_alive(path: Path) -> bool:
    if not path.exists():
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def client_socket() -> Path:
    """The pcscd socket this process's PC/SC clients use."""
    env = os.environ.get(SOCKET_ENV)
    return Path(env) if env else SYSTEM_SOCKET


def _conf_dir(sock: Path) -> Path:
    return SYSTEM_READER_CONF if sock == SYSTEM_SOCKET else sock.parent / "reader.conf.d"


def configured_vpcd_port(conf_dir: Path) -> int | None:
    """The base port of the vpcd entry in a reader.conf.d (``DEVICENAME /dev/null:PORT``)."""
    try:
        text = (conf_dir / "vpcd").read_text()
    except OSError:
        return None
    m = re.search(r"^DEVICENAME\s+/dev/null:(\S+)", text, re.MULTILINE)
    return int(m.group(1), 0) if m else None


@functools.cache
def private_pcscd_possible() -> bool:
    """Root, and a private mount namespace works here.  It does not in a plain chroot, whose
    "/" is no mount point (unshare: "cannot change root filesystem propagation")."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


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
    """pcscd (a private one as root; else the machine's, started only if absent) + one virtual
    card process on a free vpcd port.  ``vpcd_port``: the base port a private pcscd's vpcd
    listens on (default: two free ports)."""

    workdir: Path
    image: Path | None = None
    vpcd_port: int | None = None
    pcscd: subprocess.Popen | None = None
    card: subprocess.Popen | None = None
    port: int | None = None
    reader: str | None = None
    #: PID of the last pcscd this stack started (kept after it is stopped)
    pcscd_pid: int | None = None
    #: more options of the card process (python -m tests.virtual_card), e.g. its latency model
    card_args: tuple[str, ...] = ()
    _logs: list = field(default_factory=list)
    _temp_run_dir: Path | None = None

    def start(self) -> "PcscStack":
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.ensure_pcscd()
            self.start_card()
        except BaseException:
            self.stop()  # a failed start stops what it started (pcscd, card)
            raise
        return self

    # -- pcscd --

    @property
    def readers(self) -> dict[int, str]:
        """vpcd port -> reader name, of the pcscd our clients use."""
        sock = client_socket()
        port = configured_vpcd_port(_conf_dir(sock)) or DEFAULT_VPCD_PORT
        return vpcd_readers(port)

    def ensure_pcscd(self) -> None:
        """Make sure the pcscd of ``client_socket()`` runs; start it (and own it) if not."""
        env_socket = os.environ.get(SOCKET_ENV)
        if env_socket is None and private_pcscd_possible():
            run_dir = self.workdir / "pcscd"
            if len(os.fsencode(run_dir / "pcscd.comm")) > 107:  # sun_path: 108 bytes
                run_dir = Path(tempfile.mkdtemp(prefix="simtool-pcscd-"))
                self._temp_run_dir = run_dir
            run_dir.mkdir(parents=True, exist_ok=True)
            os.environ[SOCKET_ENV] = str(run_dir / "pcscd.comm")
        sock = client_socket()
        if _socket_alive(sock):
            return
        if sock == SYSTEM_SOCKET:
            self._start_pcscd(["pcscd", "-f"], DEFAULT_VPCD_PORT)
            return
        if not private_pcscd_possible():
            raise HarnessError(f"{SOCKET_ENV}={sock} names no running pcscd, and only root can "
                               "start a private one")
        self._start_private(sock)

    def _start_private(self, sock: Path) -> None:
        run_dir = sock.parent
        conf = run_dir / "reader.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        base = self.vpcd_port or configured_vpcd_port(conf)   # a restart keeps its ports
        for attempt in range(3):
            chosen = base is None
            if chosen:
                base = next((p for p in random.sample(PRIVATE_PORTS, len(PRIVATE_PORTS))
                             if port_bindable(p) and port_bindable(p + 1)), None)
                if base is None:
                    raise HarnessError("no two free consecutive TCP ports for vpcd in "
                                       f"{PRIVATE_PORTS.start}-{PRIVATE_PORTS.stop}")
            (conf / "vpcd").write_text(
                'FRIENDLYNAME "Virtual PCD"\n'
                f"DEVICENAME   /dev/null:{base}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    {base}\n")
            # unshare execs sh, sh execs pcscd: the PID we get is pcscd's
            script = 'mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && exec pcscd -f -c "$1"'
            try:
                self._start_pcscd(["unshare", "--mount", "--propagation", "private", "--",
                                   "sh", "-c", script, str(run_dir), str(conf)], base)
                return
            except PortBusy:
                if not chosen or attempt == 2:
                    raise
                base = None     # someone took the free ports we chose: choose again

    def _start_pcscd(self, argv: list[str], base_port: int) -> None:
        """Start pcscd; on any failure stop it again before raising."""
        readers = vpcd_readers(base_port)
        for port, reader in readers.items():
            if not port_bindable(port):
                raise PortBusy(busy_port_message(port, reader))
        log_path = self.workdir / "pcscd.log"
        log = open(log_path, "ab")
        self._logs.append(log)
        logged = log.tell()
        self.pcscd = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        self.pcscd_pid = self.pcscd.pid

        def new_log() -> str:
            with open(log_path, "rb") as f:
                f.seek(logged)
                return f.read().decode(errors="replace")

        try:
            sock = client_socket()
            deadline = time.monotonic() + 10
            while not _socket_alive(sock):
                if self.pcscd.poll() is not None:
                    raise HarnessError(f"pcscd exited with {self.pcscd.returncode}: "
                                       f"{new_log()[-1000:].strip()}")
                if time.monotonic() > deadline:
                    raise HarnessError(f"pcscd did not open its socket {sock} within 10 s")
                time.sleep(0.05)
            # vpcd opens its ports when pcscd loads the driver; a port someone took in the
            # meantime shows only as "Address already in use" in pcscd's log
            deadline = time.monotonic() + 10
            for port, reader in readers.items():
                while self.pcscd.pid not in (port_listeners(port) or ()):
                    if "Address already in use" in new_log() or time.monotonic() > deadline:
                        raise PortBusy(busy_port_message(port, reader))
                    time.sleep(0.05)
        except BaseException:
            _stop_pid(self.pcscd)
            self.pcscd = None
            raise

    # -- the card --

    def start_card(self) -> None:
        for port, reader in self.readers.items():
            if not card_connected(port):
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
             "--image", str(self.image), "--ready-file", str(ready), *self.card_args],
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
        try:
            if self.card is not None:
                self.kill_card(signal.SIGTERM)
        finally:
            if self.card is not None:      # kill_card raised before it stopped the card
                _stop_pid(self.card, signal.SIGKILL)
                self.card = None
            if self.pcscd is not None:
                _stop_pid(self.pcscd)
                self.pcscd = None
            if self._temp_run_dir is not None:
                shutil.rmtree(self._temp_run_dir, ignore_errors=True)
                self._temp_run_dir = None
            for f in self._logs:
                f.close()
            self._logs.clear()

    def __enter__(self) -> "PcscStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def temp_stack(image: Path | None = None) -> PcscStack:
    return PcscStack(Path(tempfile.mkdtemp(prefix="simtool-stack-")), image=image)
