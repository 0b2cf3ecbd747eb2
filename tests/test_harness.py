"""The test harness itself (tests/harness.py): a failed start stops what it started, a busy
vpcd port is named with its holder, and two harness starts on one machine get their own pcscd.

Each start runs in a subprocess: libpcsclite reads its socket path once per process, and these
starts must not reuse the session's pcscd."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.harness import (
    PRIVATE_PORTS,
    REPO,
    SOCKET_ENV,
    busy_port_message,
    card_connected,
    port_bindable,
    port_listeners,
    private_pcscd_possible,
)

needs_private = pytest.mark.skipif(
    not private_pcscd_possible(),
    reason="a private pcscd needs root and a mount namespace (none in a plain chroot, whose / is "
           "no mount point); without them the harness uses the machine's pcscd")

START = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import tests.harness
    from tests.harness import HarnessError, PcscStack
    args = json.loads(sys.argv[1])
    if args.get("no_precheck"):   # as if the port was taken after the harness looked
        tests.harness.port_bindable = lambda port: True
    stack = PcscStack(Path(args["workdir"]), image=args.get("image") and Path(args["image"]),
                      vpcd_port=args.get("port"))
    out = {}
    try:
        stack.start()
        out.update(reader=stack.reader, port=stack.port, atr=stack.wait_for_card().hex(),
                   socket=os.environ["PCSCLITE_CSOCK_NAME"])
        stack.stop()
    except HarnessError as exc:
        out["error"] = str(exc)
    out["pcscd_pid"] = stack.pcscd_pid
    print(json.dumps(out))
""")


def start_in_subprocess(**args) -> dict:
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    proc = subprocess.run([sys.executable, "-c", START, json.dumps(args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def free_pair() -> int:
    return next(p for p in PRIVATE_PORTS[::-1] if port_bindable(p) and port_bindable(p + 1))


@needs_private
def test_a_failed_start_stops_the_pcscd_it_started(tmp_path):
    """A card image the emulator refuses makes the start fail after pcscd is up: the error
    says why, and the pcscd it started is gone (before the fix it kept running, and the next
    start silently reused it)."""
    image = tmp_path / "card.json"
    image.write_text("{ not a card image")
    out = start_in_subprocess(workdir=str(tmp_path / "stack"), image=str(image))
    pid = out["pcscd_pid"]
    try:
        assert "virtual card exited with 2" in out.get("error", ""), out
        assert pid is not None
        assert not alive(pid), f"pcscd {pid} still runs after the failed start"
    finally:
        if pid is not None and alive(pid):
            os.kill(pid, 9)      # the pcscd this test's start leaked


@needs_private
def test_a_busy_vpcd_port_is_named_with_its_holder(tmp_path):
    """Another program listens on the second vpcd port: the start fails at once with one line
    naming the port, the reader, the holder's PID and command, and what to do."""
    base = free_pair()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", base + 1))
    holder.listen()
    try:
        out = start_in_subprocess(workdir=str(tmp_path / "stack"), port=base)
    finally:
        holder.close()
    error = out.get("error", "")
    assert f"vpcd port {base + 1} (reader 'Virtual PCD 00 01')" in error, out
    assert f"pid {os.getpid()} (" in error and "python" in error, error
    assert "Stop that process" in error
    assert out["pcscd_pid"] is None or not alive(out["pcscd_pid"])


@needs_private
def test_a_port_taken_after_the_check_is_named_too(tmp_path):
    """The port is free when the harness looks and taken before vpcd binds it: pcscd's
    "Address already in use" becomes the same one line, and the pcscd started is stopped."""
    base = free_pair()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", base))
    holder.listen()
    try:
        out = start_in_subprocess(workdir=str(tmp_path / "stack"), port=base, no_precheck=True)
    finally:
        holder.close()
    error = out.get("error", "")
    assert f"vpcd port {base} (reader 'Virtual PCD 00 00')" in error, out
    assert f"pid {os.getpid()} (" in error
    assert out["pcscd_pid"] is not None and not alive(out["pcscd_pid"])


def test_port_holder_read_from_proc():
    """Who listens on a port comes from /proc (no `ss`): our own listening socket is ours."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        assert port_listeners(port) == [os.getpid()]
        assert not port_bindable(port)
        assert f"pid {os.getpid()}" in busy_port_message(port, "Virtual PCD 00 00")
        c = socket.create_connection(("127.0.0.1", port))
        assert card_connected(port)
        c.close()
    finally:
        s.close()
    assert port_listeners(port) is None


@needs_private
def test_two_starts_get_their_own_pcscd_and_ports(pcsc_stack, tmp_path):
    """While this session's stack runs, another start (another checkout, another CI job) gets
    a pcscd of its own on other ports, and its card works; this session's card is untouched."""
    out = start_in_subprocess(workdir=str(tmp_path / "other"))
    assert "error" not in out, out
    assert out["socket"] != os.environ[SOCKET_ENV]
    assert out["port"] != pcsc_stack.port and out["atr"].startswith("3b")
    assert not alive(out["pcscd_pid"])
    assert pcsc_stack.wait_for_card()
