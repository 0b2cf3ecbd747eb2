"""``simtool pin``: PIN state and the PIN commands of ETSI TS 102 221 §11.1.9-§11.1.13."""

from __future__ import annotations

import click

from simtool.cli.main import secret_option

from simtool.secret import Secret

KEY_REFS = {"pin1": 0x01, "pin2": 0x81, "adm1": 0x0A}
KEY_NAMES = {v: k.upper() for k, v in KEY_REFS.items()}
# Never VERIFY an ADM key with fewer tries left than this (a blocked ADM1 is unrecoverable).
ADM_MIN_TRIES = 2

which_arg = click.argument("which", type=click.Choice(sorted(KEY_REFS), case_sensitive=False),
                           default="pin1")


def _pin(value: str) -> Secret[bytes]:
    from simtool.pin import encode_pin

    return encode_pin(Secret(value))


@click.group()
def pin() -> None:
    """PIN1/PIN2/ADM1 state and commands.

    \b
    Examples:
      simtool pin status
      simtool pin verify pin1            # prompts for the PIN
      simtool --json pin status
    """


@pin.command()
@click.pass_obj
def status(obj) -> None:
    """Retry counters of PIN1, PIN2, ADM1, PUK1, PUK2, read without spending a try.

    \b
    Example:
      simtool --json pin status
    """
    from simtool.info import read_counters

    counters = read_counters(obj.open_card())
    obj.emit({c.name: c.tries_left for c in counters},
             lambda: "\n".join(f"{c.name:5} {c.render()}" for c in counters))


@pin.command()
@which_arg
@secret_option("pin", "PIN")
@click.pass_obj
def verify(obj, which: str, pin: str) -> None:
    """VERIFY a PIN (ADM1 only when at least 2 tries are left; never retried).

    \b
    Examples:
      simtool pin verify pin1          # prompts without echo
      simtool pin verify adm1
    """
    card = obj.open_card()
    ref = KEY_REFS[which.lower()]
    if ref == 0x0A:
        card.verify_adm(ref, _adm(pin), min_tries=ADM_MIN_TRIES)
    else:
        card.verify_pin(ref, _pin(pin))
    obj.emit({"verified": which.upper()}, f"{which.upper()} verified")


def _adm(value: str) -> Secret[bytes]:
    from simtool.pin import encode_adm

    return encode_adm(Secret(value))[0]


@pin.command()
@which_arg
@secret_option("old", "Current PIN")
@secret_option("new", "New PIN", confirm=True)
@click.pass_obj
def change(obj, which: str, old: str, new: str) -> None:
    """CHANGE PIN: replace PIN1 or PIN2.

    \b
    Example:
      simtool pin change pin1          # prompts for the current and the new PIN
    """
    ref = _user_pin(which)
    obj.open_card().change_pin(ref, _pin(old), _pin(new))
    obj.emit({"changed": which.upper()}, f"{which.upper()} changed")


@pin.command()
@which_arg
@secret_option("puk", "PUK")
@secret_option("new", "New PIN", confirm=True)
@click.pass_obj
def unblock(obj, which: str, puk: str, new: str) -> None:
    """UNBLOCK PIN with the PUK and set a new PIN.

    \b
    Example:
      simtool pin unblock pin1         # prompts for the PUK and the new PIN
    """
    from simtool.pin import encode_puk

    ref = _user_pin(which)
    obj.open_card().unblock_pin(ref, encode_puk(Secret(puk)), _pin(new))
    obj.emit({"unblocked": which.upper()}, f"{which.upper()} unblocked")


@pin.command()
@which_arg
@secret_option("pin", "PIN")
@click.pass_obj
def enable(obj, which: str, pin: str) -> None:
    """ENABLE PIN verification.

    \b
    Example:
      simtool pin enable pin1
    """
    ref = _user_pin(which)
    obj.open_card().enable_pin(ref, _pin(pin))
    obj.emit({"enabled": which.upper()}, f"{which.upper()} enabled")


@pin.command()
@which_arg
@secret_option("pin", "PIN")
@click.pass_obj
def disable(obj, which: str, pin: str) -> None:
    """DISABLE PIN verification.

    \b
    Example:
      simtool pin disable pin1
    """
    ref = _user_pin(which)
    obj.open_card().disable_pin(ref, _pin(pin))
    obj.emit({"disabled": which.upper()}, f"{which.upper()} disabled")


def _user_pin(which: str) -> int:
    ref = KEY_REFS[which.lower()]
    if ref == 0x0A:
        raise click.BadParameter("ADM1 is verified only (use 'simtool pin verify adm1')",
                                 param_hint="WHICH")
    return ref
