"""Every example in every ``simtool … --help`` runs as written: through bash (pipes and
quoting as a user would type them), CLI → pyscard → pcscd → vpcd → the virtual card, in a
temporary folder holding the files the examples name.

What the examples may say in their ``  # comment`` (two spaces, then ``#``), for this test:

- ``Ctrl-C stops``: the command runs until interrupted; the test interrupts it (SIGINT) once it
  printed its first result and expects exit 130;
- ``(exit N)``: the example shows a refusal or an invalid input on purpose; exit N expected;
- a dialled code (``*108#``): the command's output must show it (``stk select 3  # balance
  (*108#)`` is then checked to be the balance item).

An example that asks for a PIN or reads a keypad gets its standard input from ``STDIN`` below;
one that needs the card in a given state first runs the ``SETUP`` commands.  Each example gets
a fresh virtual card (its default image: PIN1 1234, PIN2 5678, PUK1 12345678, PUK2 87654321,
ADM1 11223344) and a fresh copy of the files, so destructive examples harm nothing.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from simtool.cli.main import cli
from tests.harness import REPO

pytestmark = pytest.mark.e2e

VIRTUAL_ICCID = "8948011234567890128"  # the default image's (tests/virtual_card/defaults.py)
VIRTUAL_ADM1 = "11223344"
DOC_READER = "Virtual PCD 00 00"  # the reader the examples name

STDIN = {
    'simtool -r "Virtual PCD 00 00" info --pin1': "1234\n",
    "simtool pin verify pin1": "1234\n",
    "simtool pin change pin1": "1234\n4321\n",
    "simtool pin unblock pin1": "12345678\n4321\n",
    "simtool pin enable pin1": "1234\n",
    "simtool pin disable pin1": "1234\n",
    "simtool stk session": "3\n\n",
    "simtool stk session --profile milo": "6\n\n",
}
SETUP = {
    "simtool pin enable pin1": ["simtool pin disable pin1 --pin 1234"],
    # a call or a package is paid from the balance: top up first, as the subscriber would
    "simtool --json network call +48221234567 --seconds 95": ["simtool network top-up 50"],
    "simtool network call +48221234567 --seconds 95": ["simtool network top-up 50"],
    "simtool --json network call +12125551234 --seconds 61 --incoming":
        ["simtool network top-up 50"],
    "simtool network buy-package 500 --profile halonet --auto-renew":
        ["simtool network top-up 50 --profile halonet"],
    # the default card carries the menu applet: take it off first
    "simtool gp load --keys isd.keys milo-menu.cap":
        ["simtool gp delete --keys isd.keys F073696D746F6F6C01 --related"],
    "simtool gp install --keys isd.keys milo-menu.cap --menu-entry 1":
        ["simtool gp delete --keys isd.keys F073696D746F6F6C0101"],
}
# commands that talk to a card (the others get no virtual card started for them)
CARD_COMMANDS = {"readers", "info", "apdu", "pin", "stk", "batch program", "network", "gp",
                 "ota"}


@dataclass(frozen=True)
class Example:
    page: str      # the command whose --help shows it
    command: str   # as typed, continuation lines joined
    comment: str

    @property
    def expected_exit(self) -> int:
        found = re.search(r"\(exit (\d+)\)", self.comment)
        return int(found.group(1)) if found else 0

    @property
    def interrupted(self) -> bool:
        return "Ctrl-C stops" in self.comment

    def simtool_words(self) -> list[str]:
        """The command's words after ``simtool`` and the global options."""
        words = shlex.split(self.command, comments=True)
        words = words[words.index("simtool") + 1:]
        while words and words[0] in ("-r", "--reader", "--json", "--trace"):
            words = words[2:] if words[0] in ("-r", "--reader") else words[1:]
        return words

    @property
    def needs_card(self) -> bool:
        words = self.simtool_words()
        return bool(words) and (words[0] in CARD_COMMANDS
                                or " ".join(words[:2]) in CARD_COMMANDS)


def _walk(group: click.Command, path: tuple[str, ...] = ()):
    yield path, group
    if isinstance(group, click.Group):
        for name, cmd in sorted(group.commands.items()):
            yield from _walk(cmd, path + (name,))


def collect_examples() -> list[Example]:
    """The lines under ``Example:``/``Examples:`` in every command's help."""
    found: list[Example] = []
    for path, cmd in _walk(cli):
        page = " ".join(("simtool",) + path)
        text = cmd.get_help(click.Context(cmd, info_name=page))
        lines = iter(text.splitlines())
        for line in lines:
            if line.strip() not in ("Example:", "Examples:"):
                continue
            joined = ""
            for ex in lines:
                if not ex.strip():
                    break
                joined += ex.strip()
                if joined.endswith("\\"):
                    joined = joined[:-1].rstrip() + " "
                    continue
                command, _, comment = joined.partition("  #")
                command = " ".join(command.split())
                found.append(Example(page, command, comment.strip()))
                joined = ""
    return found


ALL_EXAMPLES = collect_examples()
EXAMPLES = list({e.command: e for e in reversed(ALL_EXAMPLES)}.values())[::-1]  # each once


def test_every_command_has_an_example():
    pages = {e.page for e in ALL_EXAMPLES}
    for path, _ in _walk(cli):
        assert " ".join(("simtool",) + path) in pages, f"simtool {' '.join(path)}: no example"


def _luhn(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str(-total % 10)


def _simtool(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)


@pytest.fixture(scope="module")
def example_files(tmp_path_factory) -> Path:
    """The files the examples name: key files, the vendor's card list (the virtual card's
    ICCID first), a batch made from it with an HSS import, and a plain batch."""
    root = tmp_path_factory.mktemp("example-files")
    _simtool("batch", "keygen", "op", str(root / "op.key"))
    _simtool("batch", "keygen", "transport", str(root / "transport.key"))
    rows = [VIRTUAL_ICCID] + [_luhn(f"894801123456789{n:03d}") for n in range(100, 119)]
    (root / "sysmocom-keys.csv").write_text(
        "iccid,adm1\n" + "".join(f"{iccid},{VIRTUAL_ADM1}\n" for iccid in rows))
    (root / "batches").mkdir()
    _simtool("batch", "generate", "-p", "milo", "--cards", "20", "--card-keys",
             str(root / "sysmocom-keys.csv"), "--out", str(root / "batches/milo-01"),
             "--op-key-file", str(root / "op.key"), "--transport-key-file",
             str(root / "transport.key"), "--workers", "1")
    _simtool("batch", "generate", "-p", "milo", "--cards", "1", "--out",
             str(root / "batches/virtual"), "--op-key-file", str(root / "op.key"),
             "--workers", "1")
    # simtool gp / ota: the virtual card's key sets, a new one, the menu applet's CAP file
    from tests.test_e2e_gp import menu_cap_bytes, write_keys
    write_keys(root / "isd.keys")
    write_keys(root / "isd-v31.keys", kvn="0x31")
    (root / "milo-menu.cap").write_bytes(menu_cap_bytes())
    return root


def _shell_env(tmp: Path) -> dict[str, str]:
    """``simtool`` on PATH as this interpreter's module; no reader preset."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "simtool"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m simtool "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "SIMTOOL_READER"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    # as on a station: the vendor's ADM1 in the environment (examples say --adm1 env:VENDOR_ADM1),
    # and the virtual network's state in this example's own file
    env["VENDOR_ADM1"] = VIRTUAL_ADM1
    env["SIMTOOL_NETWORK_STATE"] = str(tmp / "network.json")
    return env


def _prepare(work: Path, example: Example) -> None:
    """Files an example creates must not be there yet (keygen refuses to overwrite)."""
    words = example.simtool_words()
    if words[:2] == ["batch", "keygen"]:
        (work / words[-1]).unlink(missing_ok=True)


def _run_until_first_result(command: str, cwd: Path, env: dict) -> tuple[int, str]:
    # its own process group, which gets the SIGINT, as a terminal's Ctrl-C would send it
    proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "no result within 120 s"
        first = proc.stdout.readline()
        time.sleep(0.5)  # now waiting for the next card
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        return proc.returncode, first + out + err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.command for e in EXAMPLES])
def test_help_example_runs_as_written(example: Example, request, tmp_path, example_files):
    command = example.command
    if example.needs_card:
        stack = request.getfixturevalue("pcsc_stack")
        if stack.reader != DOC_READER:  # the other vpcd port was busy
            command = command.replace(f'"{DOC_READER}"', shlex.quote(stack.reader))
    work = tmp_path / "work"
    shutil.copytree(example_files, work)
    _prepare(work, example)
    env = _shell_env(tmp_path)
    for setup in SETUP.get(example.command, []):
        done = subprocess.run(["bash", "-c", setup], cwd=work, env=env, text=True,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, (setup, done.stdout, done.stderr)
    if example.interrupted:
        rc, output = _run_until_first_result(command, work, env)
        assert rc == 130, output
        assert "(Ctrl-C stops)" in output  # it said how to stop while it waited
        return
    proc = subprocess.run(["bash", "-c", command], cwd=work, env=env, text=True,
                          input=STDIN.get(example.command, ""), capture_output=True,
                          timeout=180)
    assert proc.returncode == example.expected_exit, (
        f"{example.page} --help: {example.command}\nexit {proc.returncode}\n"
        f"{proc.stdout}\n{proc.stderr}")
    assert "Traceback" not in proc.stderr
    for code in re.findall(r"\*[\d*]+#", example.comment):
        assert code in proc.stdout + proc.stderr, f"{example.command}: {code} not shown"
