"""The ``simtool`` command: global options, lazy card opening, one place for errors.

Exit codes: 0 ok · 1 the card answered with an error · 2 usage · 3 no PC/SC / reader / card ·
4 bad input data · 5 safety refusal (see simtool.errors).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import click

from simtool import __version__
from simtool.errors import SimtoolError

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  the card answered with an error (wrong PIN, file not found, ...)
  2  usage error
  3  no PC/SC service, no reader, no card, or the card was removed
  4  bad input data (malformed file, hex, profile, batch), or a file that
     cannot be written (disk full, permissions)
  5  safety refusal (ADM tries too low, unknown card type, ...)
"""


def ask_secret(label: str, *, confirm: bool = False) -> str:
    """A PIN/PUK/ADM from the person at the terminal, without echo (the prompt on stderr, so
    --json output stays clean), or the next line of standard input when it is a pipe."""
    if sys.stdin.isatty():
        return click.prompt(label, hide_input=True, confirmation_prompt=confirm, err=True)
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError(f"{label} needed: give it at the prompt or on standard input")
    return line.rstrip("\r\n")


def secret_option(name: str, label: str, *, confirm: bool = False, metavar: str = "DIGITS"):
    """``--NAME``: a secret given on the command line (visible in the process list) or, when
    omitted, asked with :func:`ask_secret`."""
    def ask_if_missing(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        return value if value is not None else ask_secret(label, confirm=confirm)

    return click.option(f"--{name}", default=None, callback=ask_if_missing, metavar=metavar,
                        help=f"{label}; asked without echo when omitted (from a pipe: the "
                             "next line of standard input).")


@dataclass
class CliContext:
    """What every command gets in ``ctx.obj``: global options and a lazily opened card."""

    reader: str | None = None
    json: bool = False
    trace: bool = False
    _card: Any = None
    _transport: Any = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def trace_log(self, line: str) -> None:
        click.echo(line, err=True)

    def open_transport(self):
        """Connect to the selected reader (index or name substring) through PC/SC."""
        if self._transport is None:
            from simtool.apdu.pcsc import PcscTransport, select_reader
            from simtool.apdu.transport import TracingTransport

            name = select_reader(self.reader)
            transport = PcscTransport.connect(name)
            self._closers.append(transport.close)
            if self.trace:
                transport = TracingTransport(transport, self.trace_log)
            self._transport = transport
        return self._transport

    def open_card(self):
        if self._card is None:
            from simtool.apdu.channel import Channel
            from simtool.card import Card

            self._card = Card(Channel(self.open_transport()))
        return self._card

    def verify_pin1_prompted(self, card) -> None:
        """Ask for PIN1 (:func:`ask_secret`) and VERIFY it."""
        from simtool.pin import encode_pin
        from simtool.secret import Secret

        card.verify_pin(0x01, encode_pin(Secret(ask_secret("PIN1"))))

    def close(self) -> None:
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # noqa: BLE001 - closing a vanished card is not an error
                pass

    def emit(self, data: Any, text: str | Callable[[], str]) -> None:
        """Print a result: JSON with --json, else the human text."""
        if self.json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))
        else:
            click.echo(text() if callable(text) else text)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex().upper()
    if hasattr(obj, "to_json"):
        return obj.to_json()
    return str(obj)


@click.group(epilog=EXIT_CODES_HELP)
@click.option("-r", "--reader", envvar="SIMTOOL_READER", metavar="N|NAME",
              help="Reader index or name substring (default: the first reader with a card). "
                   "Env: SIMTOOL_READER.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.option("--trace", is_flag=True, help="Log APDUs to stderr (PINs, keys redacted).")
@click.version_option(__version__, prog_name="simtool")
@click.pass_context
def cli(ctx: click.Context, reader: str | None, as_json: bool, trace: bool) -> None:
    """simtool: read, provision and test SIM/UICC cards.

    \b
    Examples:
      simtool readers
      simtool -r "Virtual PCD" --json info
      simtool --trace apdu 00A40004023F00
    """
    ctx.obj = CliContext(reader=reader, json=as_json, trace=trace)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from simtool.cli import batch, card, mmi, pin, stk
    from simtool.cli.batch_program import program

    batch.batch.add_command(program)
    for cmd in (card.readers, card.info, card.apdu, pin.pin, mmi.mmi, stk.stk, batch.batch):
        cli.add_command(cmd)


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        rc = cli.main(args=argv, prog_name="simtool", standalone_mode=False)
    except click.exceptions.Abort as exc:
        click.echo("aborted", err=True)
        # click turns Ctrl-C inside a command into Abort: keep the shell's 128 + SIGINT for it
        return 130 if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt) else 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SimtoolError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:  # disk full, permissions, a vanished folder: one line, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or exc}", err=True)
        return 4
    except KeyboardInterrupt:
        return 130
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
