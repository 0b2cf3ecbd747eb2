"""One grammar for every ``simtool`` command: the global options also after the command's
name, ``-p/--profile`` spelled one way, counts named for what they count, and each ``pin``
command offering only the keys it applies to.  In process, no card needed."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from simtool.cli.common import CliContext
from simtool.cli.main import cli

CLI_DIR = Path(__file__).resolve().parent.parent / "simtool" / "cli"


def walk(group: click.Command, path: tuple[str, ...] = ()):
    yield path, group
    if isinstance(group, click.Group):
        for name, cmd in sorted(group.commands.items()):
            yield from walk(cmd, path + (name,))


COMMANDS = [(" ".join(p), c) for p, c in walk(cli) if p]


def opts(cmd: click.Command) -> dict[str, click.Parameter]:
    return {o: p for p in cmd.params for o in getattr(p, "opts", [])}


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_takes_the_global_options_after_its_name(name, cmd):
    have = opts(cmd)
    for flag in ("-r", "--reader", "--json", "--trace"):
        assert flag in have, f"simtool {name} lacks {flag}"
    # the command's own --json would shadow the global one: there is only the shared one
    assert have["--json"].expose_value is False


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_profile_is_spelled_one_way(name, cmd):
    profile = [p for p in cmd.params if "--profile" in getattr(p, "opts", [])]
    for p in profile:
        assert set(p.opts) == {"-p", "--profile"} and p.metavar == "NAME|FILE", name


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, obj=None)


@pytest.mark.parametrize("args", [
    ["--json", "mmi", "explain", "*#21#"],
    ["mmi", "explain", "*#21#", "--json"],
    ["mmi", "--json", "explain", "*#21#"],
])
def test_json_before_or_after_the_command(args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["procedure"] == "interrogation"


def test_info_takes_json_and_reader_after_its_name():
    # "No such option" was a usage error (2); now the options are parsed and the reader is
    # looked up: no PC/SC here is exit 3 territory, never a usage error
    result = invoke("info", "--json", "-r", "No Such Reader")
    assert "No such option" not in result.output
    assert result.exit_code != 2


def test_reader_after_the_command_wins(monkeypatch):
    seen = {}

    def fake_open_card(self):
        seen["reader"] = self.reader
        raise click.ClickException("stop here")

    monkeypatch.setattr(CliContext, "open_card", fake_open_card)
    invoke("-r", "first", "pin", "status", "-r", "second")
    assert seen["reader"] == "second"
    invoke("-r", "first", "pin", "status")
    assert seen["reader"] == "first"


def test_counts_are_named_for_what_they_count():
    generate = opts(cli.commands["batch"].commands["generate"])
    program = opts(cli.commands["batch"].commands["program"])
    assert "--cards" in generate and "--stop-after" in program
    help_generate = invoke("batch", "generate", "--help").output
    help_program = invoke("batch", "program", "--help").output
    # the old spelling still works for scripts, but is not offered
    assert "--count" not in help_generate and "--count" not in help_program
    assert generate["--count"] is generate["--cards"]
    assert program["--count"] is program["--stop-after"]


@pytest.mark.parametrize("command,keys", [
    ("verify", ["adm1", "pin1", "pin2"]),
    ("change", ["pin1", "pin2"]),
    ("unblock", ["pin1", "pin2"]),
    ("enable", ["pin1", "pin2"]),
    ("disable", ["pin1", "pin2"]),
])
def test_pin_commands_offer_only_the_keys_they_apply_to(command, keys):
    which = next(p for p in cli.commands["pin"].commands[command].params if p.name == "which")
    assert sorted(which.type.choices) == keys
    if "adm1" not in keys:
        result = invoke("pin", command, "adm1")
        assert result.exit_code == 2 and "'adm1' is not one of" in result.output


def test_no_command_module_imports_main():
    for path in CLI_DIR.glob("*.py"):
        if path.name == "main.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "simtool.cli.main", path.name
                if node.module == "simtool.cli":
                    assert "main" not in [a.name for a in node.names], path.name
