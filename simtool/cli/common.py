"""What every ``simtool`` command shares: the CLI context (global options and a lazily opened
card), one way to print text or JSON, the secret prompt, and the options that mean the same in
every command (``-r/--reader``, ``--json``, ``--trace``, ``-p/--profile``).

The command modules import this module, never :mod:`simtool.cli.main`; ``main`` imports the
commands.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import click

from simtool.errors import PinBlocked, SimtoolError, WrongPin
from simtool.pin import PIN1, PIN2
from simtool.provision.conninfo import redact_conninfo


def ask_secret(label: str, *, confirm: bool = False) -> str:
    """A PIN/PUK/ADM from the person at the terminal, without echo (the prompt on stderr, so
    --json output stays clean), or the next line of standard input when it is a pipe."""
    if sys.stdin.isatty():
        return click.prompt(label, hide_input=True, confirmation_prompt=confirm, err=True)
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError(f"{label} needed: give it at the prompt or on standard input")
    return line.rstrip("\r\n")


SECRET_FORMS = ("file:PATH (a file only you can read, mode 0600; its first line) or env:VAR "
                "(an environment variable); a value typed here is visible to every user of "
                "the machine in the process list (ps), so prefer the prompt or those forms")


def _private_file_line(path: str, what: str) -> str:
    """The first line of a secret file that group and others cannot read (as key files)."""
    import os
    import stat

    from simtool.errors import DataError, SafetyRefusal

    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            raw = fh.read(4096)
    except OSError as exc:
        raise DataError(f"cannot read {what} file: {exc.strerror}", where=path) from None
    if os.name == "posix" and st.st_mode & 0o077:
        raise SafetyRefusal(f"{path}: {what} file is accessible by group/others "
                            f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it first")
    try:
        line = raw.decode("utf-8").splitlines()[0] if raw.strip() else ""
    except UnicodeDecodeError:
        raise DataError(f"{what} file is not UTF-8 text", where=path) from None
    if not line.strip():
        raise DataError(f"{what} file is empty", where=path)
    return line.strip()


def secret_value(spec: str, what: str, option: str) -> str:
    """A secret given to ``option`` as ``file:PATH``, ``env:VAR`` or, visible to everyone in
    the process list, as the value itself (then a warning on stderr)."""
    import os

    if spec.startswith("file:"):
        return _private_file_line(spec[5:], what)
    if spec.startswith("env:"):
        name = spec[4:]
        value = os.environ.get(name)
        if not name or value is None or not value.strip():
            raise click.UsageError(f"{option} env:{name}: the environment variable is not set")
        return value.strip()
    click.secho(f"WARNING: {option} on the command line is visible to other users (ps); "
                "give file:PATH, env:VAR or use the prompt", fg="red", err=True)
    return spec


JOURNAL_URL_HELP = (" Also file:PATH (mode 0600, the URL on its first line), env:VAR, or the "
                    "SIMTOOL_JOURNAL environment variable.  Keep the password out of the URL: "
                    "a URL on the command line is visible in the process list (ps); libpq "
                    "reads it from PGPASSWORD or a ~/.pgpass / PGPASSFILE file (mode 0600).")


def resolve_journal_url(ctx: click.Context, param: click.Parameter,
                        value: str | None) -> str | None:
    """click callback of ``--journal``: the URL itself, from a file or from a variable; a
    password written in a URL on the command line gets a warning (never echoed)."""
    from simtool.provision.conninfo import has_password

    if value is None:
        return None
    if value.startswith(("file:", "env:")):
        return secret_value(value, "journal URL", "--journal")
    source = ctx.get_parameter_source(param.name)  # type: ignore[arg-type]
    if has_password(value) and source is click.core.ParameterSource.COMMANDLINE:
        click.secho(f"WARNING: the journal URL {redact_conninfo(value)} holds a password, "
                    "visible to other users in the process list (ps): use PGPASSWORD, "
                    "PGPASSFILE or --journal file:PATH", fg="red", err=True)
    return value


def secret_option(name: str, label: str, *, confirm: bool = False, metavar: str = "DIGITS"):
    """``--NAME``: a secret from a file (``file:PATH``), an environment variable
    (``env:VAR``), the command line (visible in the process list) or, when omitted, asked
    with :func:`ask_secret`."""
    def resolve(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        if value is None:
            return ask_secret(label, confirm=confirm)
        return secret_value(value, label, f"--{name}")

    return click.option(f"--{name}", default=None, callback=resolve,
                        metavar=f"{metavar}|file:PATH|env:VAR",
                        help=f"{label}: {SECRET_FORMS}.  Asked without echo when omitted "
                             "(from a pipe: the next line of standard input).")


def say(text: str) -> None:
    """A line for the person at the terminal (stderr: stdout stays the command's result)."""
    click.echo(text, err=True)


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
        """Ask for PIN1 (:func:`ask_secret`) and VERIFY it, with the hints of
        :func:`guarded_try`."""
        from simtool.pin import encode_pin
        from simtool.secret import Secret

        with guarded_try(card, "pin1"):
            card.verify_pin(PIN1, encode_pin(Secret(ask_secret("PIN1"))))

    def close(self) -> None:
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # noqa: BLE001 - closing a vanished card is not an error
                pass

    def emit(self, data: Any, text: str | Callable[[], str]) -> None:
        """Print a result: JSON with --json, else the human text."""
        if self.json:
            click.echo(to_json_text(data))
        else:
            click.echo(text() if callable(text) else text)


def to_json_text(data: Any, *, lines: bool = False) -> str:
    """``data`` as JSON: indented, or one line each (JSON lines) with ``lines``."""
    if lines:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex().upper()
    if hasattr(obj, "to_json"):
        return obj.to_json()
    return str(obj)


def cli_context(ctx: click.Context | None = None) -> CliContext:
    """The :class:`CliContext` of this invocation; one is made (and closed with the root
    context) when a command group runs on its own, as in tests."""
    ctx = ctx or click.get_current_context()
    found = ctx.find_object(CliContext)
    if found is not None:
        return found
    root = ctx.find_root()
    root.obj = CliContext()
    root.call_on_close(root.obj.close)
    return root.obj


def pass_cli(f: Callable) -> Callable:
    """Like ``click.pass_obj``, for the :class:`CliContext` (made when missing)."""
    def wrapper(*args, **kwargs):
        return f(cli_context(), *args, **kwargs)

    return functools.update_wrapper(wrapper, f)


# --- options that mean the same on every command ------------------------------------------------

def _set_reader(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        cli_context(ctx).reader = value


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        cli_context(ctx).json = True


def _set_trace(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        cli_context(ctx).trace = True


READER_HELP = ("Reader index or name substring (default: the first reader with a card). "
               "Env: SIMTOOL_READER.")
JSON_HELP = "Machine-readable JSON output."
TRACE_HELP = "Log APDUs to stderr (PINs, keys redacted)."


def _global_params() -> list[click.Option]:
    return [
        click.Option(["-r", "--reader"], metavar="N|NAME", expose_value=False,
                     callback=_set_reader, help=READER_HELP),
        click.Option(["--json"], is_flag=True, expose_value=False, callback=_set_json,
                     help=JSON_HELP),
        click.Option(["--trace"], is_flag=True, expose_value=False, callback=_set_trace,
                     help=TRACE_HELP),
    ]


def global_options(cmd: click.Command) -> click.Command:
    """``-r/--reader``, ``--json`` and ``--trace`` on a command or group (a decorator above
    ``@….command()``), so they work after the command's name as well as before it
    (``simtool info --json`` = ``simtool --json info``); listed after its own options."""
    cmd.params.extend(_global_params())
    return cmd


def profile_option(*, required: bool = False, default: str | None = None, dest: str = "profile",
                   help: str = "Operator profile: a name from provisioning/profiles/ "
                               "(milo, citysat, halonet, idea24, plus) or a TOML file."):
    """``-p/--profile NAME|FILE``, the same spelling in every command."""
    return click.option("-p", "--profile", dest, metavar="NAME|FILE", required=required,
                        default=default, show_default=default is not None, help=help)


class AliasOption(click.Option):
    """An option with old spellings that still work but are not shown in ``--help``
    (``hidden_aliases``), kept so scripts written for an earlier release keep running."""

    def __init__(self, param_decls, *, hidden_aliases: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(list(param_decls) + list(hidden_aliases), **kwargs)
        self.hidden_aliases = hidden_aliases

    def get_help_record(self, ctx: click.Context):
        shown = [o for o in self.opts if o not in self.hidden_aliases]
        saved, self.opts = self.opts, shown
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = saved


# --- the moments a person needs a hint ----------------------------------------------------------

KEY_REFS = {"pin1": PIN1, "pin2": PIN2}
PUK_OF = {"pin1": "PUK1", "pin2": "PUK2"}


def unblock_hint(which: str) -> str:
    return (f"{which.upper()} is blocked: unblock it with 'simtool pin unblock {which.lower()}' "
            f"(asks for {PUK_OF[which.lower()]} and a new PIN)")


@contextmanager
def guarded_try(card, which: str, *, puk: bool = False) -> Iterator[None]:
    """Around a command that spends a try of ``which`` (pin1/pin2), or of its PUK: before it,
    refuse a blocked PIN with the way out, and warn when this is the last try (a person at a
    terminal confirms); after a wrong PIN that blocked it, name the way out (``exc.hint``,
    printed under the error by :mod:`simtool.cli.main`).  Reading a counter spends no try
    (VERIFY / UNBLOCK PIN without data, TS 102 221 §11.1.9, §11.1.13)."""
    which = which.lower()
    ref, pin_name, puk_name = KEY_REFS[which], which.upper(), PUK_OF[which]
    tries = card.puk_tries(ref) if puk else card.pin_tries(ref)
    if tries == 0 and not puk:
        raise PinBlockedHint(unblock_hint(which))
    if tries == 1:
        what = (f"a wrong {puk_name} blocks {pin_name} for good" if puk
                else f"a wrong PIN blocks {pin_name} (then only {puk_name} unblocks it)")
        say(f"warning: {puk_name if puk else pin_name} has 1 try left: {what}")
        if sys.stdin.isatty() and not click.confirm("Try it?", default=False, err=True):
            raise click.Abort()
    try:
        yield
    except (PinBlocked, WrongPin) as exc:
        if not puk and (isinstance(exc, PinBlocked) or exc.tries_left == 0):
            exc.hint = unblock_hint(which)
        raise


class PinBlockedHint(SimtoolError):
    """A blocked PIN, refused before any APDU is spent on it (exit 1: the card's state)."""

    exit_code = 1
