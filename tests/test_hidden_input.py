"""``stk session``: a GET INPUT with "user input not revealed" (TS 102 223 §8.6, qualifier b3)
is typed without echo at the terminal (issue 14.6)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from simtool.cli.stk import TerminalUI


@click.command()
@click.option("--hidden", is_flag=True)
def ask(hidden: bool) -> None:
    answer = TerminalUI().get_input("Kod", 4, 8, True, hidden=hidden)
    click.echo(f"got {len(answer)} digits")


@pytest.mark.parametrize("hidden", [False, True])
def test_terminal_ui_echoes_only_revealed_input(hidden):
    result = CliRunner().invoke(ask, ["--hidden"] if hidden else [], input="4711\n")
    assert result.exit_code == 0, result.output
    assert "Kod (4-8 digits" in result.output and "got 4 digits" in result.output
    assert ("4711" in result.output) is not hidden
