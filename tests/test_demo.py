"""The demo (``bash scripts/demo.sh`` → ``python -m tests.demo``) leaves no key material behind:
its working folder (OP key, transport key, vendor keys, card image, records.jsonl) is removed
at the end, also when it is interrupted, unless ``--keep`` is given; and it stops what it
started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import _stack_available
from tests.harness import REPO, SOCKET_ENV

pytestmark = pytest.mark.skipif(_stack_available() is not None,
                                reason=str(_stack_available()))


def demo(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    env["TMPDIR"] = str(tmp_path)           # where tempfile puts simtool-demo-*
    return subprocess.Popen([sys.executable, "-m", "tests.demo", *args], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def read_until(proc: subprocess.Popen, pattern: str, timeout: float = 60) -> str:
    """Output up to the first line matching ``pattern``."""
    out, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out += line
        if re.search(pattern, line):
            return out
    raise AssertionError(f"no line matching {pattern!r} in:\n{out}")


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def started_pcscd(out: str) -> int | None:
    m = re.search(r"^pcscd: pid (\d+)", out, re.MULTILINE)
    return int(m.group(1)) if m else None


def test_a_finished_demo_removes_its_folder(tmp_path):
    proc = demo(tmp_path)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out[-3000:]
    workdir = Path(re.search(r"working in (\S+)", out).group(1))
    assert workdir.parent == tmp_path and "op.key" in out
    assert not workdir.exists(), list(workdir.rglob("*"))
    assert list(tmp_path.iterdir()) == []
    assert f"removed {workdir}" in out
    pid = started_pcscd(out)
    assert pid is None or gone(pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_demo_removes_its_folder_and_stops_pcscd(tmp_path, sig):
    proc = demo(tmp_path)
    try:
        out = read_until(proc, r"^=== operator OP key")
        read_until(proc, r"op\.key")
        workdir = Path(re.search(r"working in (\S+)", out).group(1))
        proc.send_signal(sig)                 # Ctrl-C (or a kill) in the middle of the run
        out += proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    pid = started_pcscd(out)
    try:
        assert proc.returncode != 0
        assert not workdir.exists(), list(workdir.rglob("*"))
        assert pid is None or gone(pid), out[-2000:]
    finally:
        if pid is not None and not gone(pid):
            os.kill(pid, signal.SIGKILL)     # the pcscd the demo leaked (and only that)


def test_keep_keeps_the_folder_and_says_where(tmp_path):
    proc = demo(tmp_path, "--keep")
    try:
        out = read_until(proc, r"^=== readers")
        proc.send_signal(signal.SIGINT)
        out += proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    workdir = Path(re.search(r"working in (\S+)", out).group(1))
    assert workdir.is_dir() and (workdir / "card.json").exists()
    assert f"kept {workdir}" in out


def test_a_stack_that_does_not_come_up_is_one_line_and_exit_3(tmp_path, monkeypatch, capsys):
    """No traceback when the PC/SC stack fails to start (a busy port, pcscd exiting): one
    line with the harness's reason, exit 3 (no PC/SC), and the folder is still removed."""
    from tests import demo as demo_module
    from tests.harness import HarnessError, PcscStack

    def fail(self):
        raise HarnessError("vpcd port 35963 (reader 'Virtual PCD 00 00') is held by pid 1")
    monkeypatch.setattr(PcscStack, "start", fail)
    monkeypatch.setattr(demo_module.tempfile, "tempdir", str(tmp_path))
    assert demo_module.main([]) == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "simtool demo: error: vpcd port 35963 (reader 'Virtual PCD 00 00') is held by pid 1"]
    assert list(tmp_path.iterdir()) == []
