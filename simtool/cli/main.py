"""The ``simtool`` command: global options, lazy card opening, one place for errors.

Exit codes: 0 ok · 1 the card answered with an error · 2 usage · 3 no PC/SC / reader / card ·
4 bad input data · 5 safety refusal · 6 journal database unreachable (see simtool.errors).
"""

from __future__ import annotations

import sys

import click

from simtool import __version__
from simtool.cli import batch, batch_program, card, gp, mmi, network, ota, pin, stk
from simtool.cli.common import JSON_HELP, READER_HELP, TRACE_HELP, CliContext
from simtool.errors import SimtoolError
from simtool.provision.conninfo import redact_conninfo

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  the card answered with an error (wrong PIN, file not found, ...)
  2  usage error
  3  no PC/SC service, no reader, no card, or the card was removed
  4  bad input data (malformed file, hex, profile, batch), or a file that
     cannot be written (disk full, permissions)
  5  safety refusal (ADM tries too low, unknown card type, ...)
  6  the provisioning journal's database cannot be reached
"""


@click.group(epilog=EXIT_CODES_HELP)
@click.option("-r", "--reader", envvar="SIMTOOL_READER", metavar="N|NAME", help=READER_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("--trace", is_flag=True, help=TRACE_HELP)
@click.version_option(__version__, prog_name="simtool")
@click.pass_context
def cli(ctx: click.Context, reader: str | None, as_json: bool, trace: bool) -> None:
    """simtool: read, provision and test SIM/UICC cards.

    -r/--reader, --json and --trace may also follow the command's name.

    \b
    Examples:
      simtool readers
      simtool -r "Virtual PCD 00 00" --json info
      simtool info --json
      simtool --trace apdu 00A40004023F00
    """
    ctx.obj = CliContext(reader=reader, json=as_json, trace=trace)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    """Attach every command to ``simtool`` (idempotent: adding a command twice replaces it)."""
    batch.batch.add_command(batch_program.program)
    for cmd in (card.readers, card.info, card.apdu, pin.pin, mmi.mmi, stk.stk, batch.batch,
                network.network, gp.gp, ota.ota):
        cli.add_command(cmd)


_register()


def main(argv: list[str] | None = None) -> int:
    try:
        rc = cli.main(args=argv, prog_name="simtool", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C inside a command into Abort: keep the shell's 128 + SIGINT for it
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            return 130
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SimtoolError as exc:
        click.echo(redact_conninfo(f"error: {exc}"), err=True)
        if getattr(exc, "hint", None):  # what to do next, when the CLI knows (cli.common)
            click.echo(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except OSError as exc:  # disk full, permissions, a vanished folder: one line, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(redact_conninfo(f"error: {where}{exc.strerror or exc}"), err=True)
        return 4
    except KeyboardInterrupt:
        return 130
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
