"""``simtool pin``: PIN state and the PIN commands of ETSI TS 102 221 §11.1.9-§11.1.13."""

from __future__ import annotations

import click

from simtool.cli.common import global_options, guarded_try, pass_cli, secret_option
from simtool.pin import ADM1, ADM_MIN_TRIES, PIN1, PIN2
from simtool.secret import Secret

KEY_REFS = {"pin1": PIN1, "pin2": PIN2, "adm1": ADM1}
KEY_NAMES = {v: k.upper() for k, v in KEY_REFS.items()}


def which_arg(*keys: str):
    """WHICH: only the keys the command applies to (``pin unblock`` takes pin1/pin2)."""
    return click.argument("which", type=click.Choice(keys, case_sensitive=False),
                          default="pin1")


def _pin(value: str) -> Secret[bytes]:
    from simtool.pin import encode_pin

    return encode_pin(Secret(value))


@global_options
@click.group()
def pin() -> None:
    """PIN1/PIN2/ADM1 state and commands.

    \b
    Examples:
      simtool pin status
      simtool pin verify pin1            # prompts for the PIN
      simtool pin status --json
    """


@global_options
@pin.command()
@pass_cli
def status(obj) -> None:
    """Retry counters of PIN1, PIN2, ADM1, PUK1, PUK2, read without spending a try.

    \b
    Examples:
      simtool pin status
      simtool --json pin status
    """
    from simtool.info import read_counters

    counters = read_counters(obj.open_card())
    obj.emit({c.name: c.tries_left for c in counters},
             lambda: "\n".join(f"{c.name:5} {c.render()}" for c in counters))


@global_options
@pin.command()
@which_arg("pin1", "pin2", "adm1")
@secret_option("pin", "PIN")
@pass_cli
def verify(obj, which: str, pin: str) -> None:
    """VERIFY a PIN (ADM1 only when at least 2 tries are left; never retried).

    Before the last try of PIN1/PIN2 a warning says that a wrong PIN blocks it (at a
    terminal, you confirm).

    \b
    Examples:
      simtool pin verify pin1          # prompts without echo
      simtool pin verify pin1 --pin 1234
      simtool pin verify adm1 --pin 11223344
    """
    card = obj.open_card()
    which = which.lower()
    ref = KEY_REFS[which]
    if ref == ADM1:
        card.verify_adm(ref, _adm(pin), min_tries=_adm_min_tries(card))
    else:
        with guarded_try(card, which):
            card.verify_pin(ref, _pin(pin))
    obj.emit({"verified": which.upper()}, f"{which.upper()} verified")


def _adm_min_tries(card) -> int:
    """The ADM threshold of the card's type (by its ATR), else simtool's default."""
    from simtool.cardtypes import identify

    known = identify(card.atr)
    return known.adm_min_tries if known is not None else ADM_MIN_TRIES


def _adm(value: str) -> Secret[bytes]:
    from simtool.pin import encode_adm

    return encode_adm(Secret(value))[0]


@global_options
@pin.command()
@which_arg("pin1", "pin2")
@secret_option("old", "Current PIN")
@secret_option("new", "New PIN", confirm=True)
@pass_cli
def change(obj, which: str, old: str, new: str) -> None:
    """CHANGE PIN: replace PIN1 or PIN2.

    \b
    Examples:
      simtool pin change pin1          # prompts for the current and the new PIN
      simtool pin change pin2 --old 5678 --new 4321
    """
    card = obj.open_card()
    with guarded_try(card, which):
        card.change_pin(KEY_REFS[which.lower()], _pin(old), _pin(new))
    obj.emit({"changed": which.upper()}, f"{which.upper()} changed")


@global_options
@pin.command()
@which_arg("pin1", "pin2")
@secret_option("puk", "PUK")
@secret_option("new", "New PIN", confirm=True)
@pass_cli
def unblock(obj, which: str, puk: str, new: str) -> None:
    """UNBLOCK PIN with the PUK (PUK1 for PIN1, PUK2 for PIN2) and set a new PIN.

    Before the PUK's last try a warning says that a wrong PUK blocks the PIN for good.

    \b
    Examples:
      simtool pin unblock pin1         # prompts for the PUK and the new PIN
      simtool pin unblock pin2 --puk 87654321 --new 4321
    """
    from simtool.pin import encode_puk

    card = obj.open_card()
    with guarded_try(card, which, puk=True):
        card.unblock_pin(KEY_REFS[which.lower()], encode_puk(Secret(puk)), _pin(new))
    obj.emit({"unblocked": which.upper()}, f"{which.upper()} unblocked")


@global_options
@pin.command()
@which_arg("pin1", "pin2")
@secret_option("pin", "PIN")
@pass_cli
def enable(obj, which: str, pin: str) -> None:
    """ENABLE PIN verification.

    \b
    Example:
      simtool pin enable pin1
    """
    card = obj.open_card()
    with guarded_try(card, which):
        card.enable_pin(KEY_REFS[which.lower()], _pin(pin))
    obj.emit({"enabled": which.upper()}, f"{which.upper()} enabled")


@global_options
@pin.command()
@which_arg("pin1", "pin2")
@secret_option("pin", "PIN")
@pass_cli
def disable(obj, which: str, pin: str) -> None:
    """DISABLE PIN verification.

    \b
    Example:
      simtool pin disable pin1
    """
    card = obj.open_card()
    with guarded_try(card, which):
        card.disable_pin(KEY_REFS[which.lower()], _pin(pin))
    obj.emit({"disabled": which.upper()}, f"{which.upper()} disabled")

