"""Shared fixtures: the real PC/SC stack with the virtual card (end-to-end tier) and the
hardware tier's ``--reader`` option."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys

import pytest
from hypothesis import settings

from tests.components import missing
from tests.harness import (REPO, SOCKET_ENV, SYSTEM_SOCKET, VPCD_DRIVER, PcscStack,
                           private_pcscd_possible)

# Property tests assert behaviour, never speed: no per-example deadline (a loaded CI machine
# must not turn a slow example into a failure).  In CI the examples are derandomized, so a run
# is repeatable; locally each run explores new ones.
settings.register_profile("simtool", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "simtool")


def pytest_configure(config):
    """Batch keys (simtool.provision.sealed) go to a key store of this session, never to the
    user's ~/.local/share, and so does the virtual network's state file; CLI subprocesses
    inherit both.

    PC/SC: the hardware tier talks to the machine's pcscd (the real readers are its);
    otherwise, as root, the harness starts a private pcscd on first use, and its socket is
    named here, before any test runs: libpcsclite reads PCSCLITE_CSOCK_NAME once per process,
    so an in-process PC/SC call made before the pcscd fixture would otherwise stick to the
    machine's socket for the whole session."""
    import tempfile

    if config.getoption("--reader"):
        os.environ[SOCKET_ENV] = str(SYSTEM_SOCKET)
    elif SOCKET_ENV not in os.environ and private_pcscd_possible():
        config._simtool_pcscd_dir = tempfile.mkdtemp(prefix="simtool-pcscd-")
        os.environ[SOCKET_ENV] = os.path.join(config._simtool_pcscd_dir, "pcscd.comm")

    if "SIMTOOL_KEY_DIR" not in os.environ:
        config._simtool_key_dir = tempfile.mkdtemp(prefix="simtool-test-keys-")
        os.environ["SIMTOOL_KEY_DIR"] = config._simtool_key_dir
        # the virtual network's subscriber records, likewise (simtool.stk.state); tests that
        # need a network of their own set SIMTOOL_NETWORK_STATE themselves
        os.environ.setdefault("SIMTOOL_NETWORK_STATE",
                              os.path.join(config._simtool_key_dir, "network.json"))


def pytest_unconfigure(config):
    pcscd_dir = getattr(config, "_simtool_pcscd_dir", None)
    if pcscd_dir:
        shutil.rmtree(pcscd_dir, ignore_errors=True)
        os.environ.pop(SOCKET_ENV, None)
    key_dir = getattr(config, "_simtool_key_dir", None)
    if key_dir:
        shutil.rmtree(key_dir, ignore_errors=True)
        os.environ.pop("SIMTOOL_KEY_DIR", None)
        os.environ.pop("SIMTOOL_NETWORK_STATE", None)


def pytest_addoption(parser):
    parser.addoption("--reader", default=None,
                     help="name (substring) of a real PC/SC reader for the hardware tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--reader"):
        return
    skip = pytest.mark.skip(reason="hardware test: run with --reader NAME")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


def _stack_available() -> str | None:
    if not shutil.which("pcscd"):
        return "pcscd is not installed (scripts/bootstrap.sh installs it)"
    if not VPCD_DRIVER.exists():
        return "vsmartcard-vpcd is not installed (scripts/bootstrap.sh installs it)"
    return None


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory):
    """pcscd for the whole session: a private one (as root), else the machine's (started here
    when none is running); what was started here is stopped by its PID."""
    why = _stack_available()
    if why:
        missing(why)  # skip; under CI=true, fail
    owner = PcscStack(tmp_path_factory.mktemp("pcscd"))
    owner.ensure_pcscd()
    yield owner
    owner.stop()


@pytest.fixture
def pcsc_stack(pcscd, tmp_path):
    """A fresh virtual card (default image in tmp_path/card.json) behind vpcd, for one test."""
    stack = PcscStack(tmp_path / "stack")
    stack.workdir.mkdir()
    stack.start_card()
    yield stack
    stack.stop()


def run_simtool(*args: str, reader: str | None = None, input: str | None = None,
                check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real ``simtool`` CLI in a subprocess (CLI → pyscard → pcscd → vpcd → card)."""
    cmd = [sys.executable, "-m", "simtool"]
    if reader:
        cmd += ["-r", reader]
    cmd += list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"simtool {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def simtool_cli(pcsc_stack):
    def run(*args, **kw):
        return run_simtool(*args, reader=pcsc_stack.reader, **kw)
    return run


class SeededRandom:
    """A repeatable stand-in for the CSPRNG (the generator's RandomSource), for tests."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._r.randbytes(n)

    def randbelow(self, n: int) -> int:
        return self._r.randrange(n)


class ScriptedCard:
    """A card double that answers each expected command APDU (hex) with its scripted response
    (hex: data + SW1 SW2); any other or extra command fails the test.  ``seen`` keeps what
    was sent."""

    atr = bytes.fromhex("3B9F96801FC78031A073BE21136743200718000001A5")

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = [(bytes.fromhex(c), bytes.fromhex(r)) for c, r in script]
        self.seen: list[bytes] = []

    def process(self, apdu: bytes) -> bytes:
        assert self.script, f"unexpected extra command {apdu.hex().upper()}"
        expected, response = self.script.pop(0)
        assert apdu.hex().upper() == expected.hex().upper()
        self.seen.append(apdu)
        return response

    def reset(self) -> bytes:
        return self.atr
