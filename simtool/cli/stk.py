"""``simtool stk``: run a card's SIM Toolkit menu as a handset would.

The card is real (or the virtual card behind pcscd); the network is simtool's virtual network,
answering as the operator of the chosen profile would (its service codes are data in
``provisioning/services/``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

import click

from simtool.errors import DataError


def _network(profile: str, msisdn: str):
    """The operator's virtual network, for a subscriber who topped up the smallest allowed
    amount 30 days ago (so balance and validity codes have something to report)."""
    from simtool.stk.network import SubscriberState, TopUp, VirtualNetwork
    from simtool.stk.services import load_operator

    services = load_operator(profile)
    amount = min(services.topup.amounts) if services.topup else 5000
    now = datetime.now()
    subscriber = SubscriberState(msisdn=msisdn, balance=amount,
                                 top_ups=[TopUp(now - timedelta(days=30), amount)])
    return VirtualNetwork(services, subscriber, datetime.now)


def _handset(obj, profile: str, ui, no_ussd: bool, no_ss: bool, msisdn: str | None,
             pin1: bool):
    from simtool.stk.handset import Handset
    from simtool.stk.profile import DEFAULT

    card = obj.open_card()
    if pin1:
        obj.verify_pin1_prompted(card)
    if msisdn is None:  # the menu works without knowing the number
        from simtool.info import read_msisdn

        msisdn = (read_msisdn(card) or "").lstrip("+")
    terminal = DEFAULT
    if no_ussd:
        terminal = terminal.without("send_ussd")
    if no_ss:
        terminal = terminal.without("send_ss")
    trace = obj.trace_log if obj.trace else None
    return Handset(card.channel, _network(profile, msisdn), ui, terminal, trace=trace)


def _common(f):
    f = click.option("--profile", "-p", default="milo", show_default=True,
                     help="Operator whose virtual network answers (provisioning/services/).")(f)
    f = click.option("--no-ussd", is_flag=True,
                     help="Play a terminal without SEND USSD support.")(f)
    f = click.option("--no-ss", is_flag=True, help="Play a terminal without SEND SS support.")(f)
    f = click.option("--msisdn", default=None,
                     help="Subscriber number for the virtual network (default: EF.MSISDN).")(f)
    f = click.option("--pin1", is_flag=True,
                     help="Ask for PIN1 (no echo) and verify it first, as a phone does at "
                          "power-on, so EF.MSISDN can be read.")(f)
    return f


@click.group()
def stk() -> None:
    """The card's SIM Toolkit menu, run as a handset would.

    \b
    Examples:
      simtool stk menu
      simtool stk select 4                      # balance (*108#) on the Milo menu
      simtool stk select "Przekierowania" --choose 1 --input 600123456
      simtool stk session                       # interactive handset
    """


@stk.command()
@_common
@click.pass_obj
def menu(obj, profile, no_ussd, no_ss, msisdn, pin1) -> None:
    """Show the card's main menu (TERMINAL PROFILE → SET UP MENU).

    \b
    Example:
      simtool stk menu
    """
    from simtool.stk.handset import ScriptedUI

    listing = _handset(obj, profile, ScriptedUI(), no_ussd, no_ss, msisdn, pin1).menu()
    obj.emit(listing.to_json(), lambda: "\n".join(
        [listing.title or "(no title)"] + [f"  {e.id:>2}. {e.title}" for e in listing.items]))


def _resolve_item(listing, item: str) -> int:
    if item.isdigit():
        return int(item)
    matches = [e for e in listing.items if item.casefold() in e.title.casefold()]
    if len(matches) != 1:
        names = ", ".join(f"{e.id}={e.title}" for e in listing.items)
        raise DataError(f"{'no' if not matches else 'more than one'} menu item matches "
                        f"{item!r} (items: {names})")
    return matches[0].id


def _render_transcript(transcript) -> str:
    lines = []
    for e in transcript.events:
        if e.kind in ("terminal_profile",):
            continue
        lines.append(f"[{e.kind}] {e.text}")
    return "\n".join(lines)


@stk.command()
@click.argument("item")
@click.option("--input", "inputs", multiple=True, metavar="TEXT",
              help="Answer to a GET INPUT, in order (repeatable).")
@click.option("--choose", "choices", multiple=True, type=int, metavar="ID",
              help="Item to pick at a SELECT ITEM (submenu), in order (repeatable).")
@_common
@click.pass_obj
def select(obj, item: str, inputs: Sequence[str], choices: Sequence[int], profile, no_ussd,
           no_ss, msisdn, pin1) -> None:
    """Choose ITEM (its number or part of its title) and run the session to the end,
    printing each proactive command, what went to the network and the reply shown.
    A missing --input/--choose answer acts as the user pressing Back.

    \b
    Examples:
      simtool stk select 1
      simtool stk select Saldo
      simtool --json stk select "Przekierowania" --choose 1 --input 600123456
    """
    from simtool.stk.handset import ScriptedUI

    handset = _handset(obj, profile, ScriptedUI(choices=choices, inputs=inputs), no_ussd,
                       no_ss, msisdn, pin1)
    item_id = _resolve_item(handset.menu(), item)
    transcript = handset.select(item_id)
    obj.emit(transcript.to_json(), lambda: _render_transcript(transcript))


class TerminalUI:
    """The handset's screen and keypad on the terminal."""

    def display_text(self, text: str):
        click.echo(f"\n┌ {text}\n")
        return None

    def get_input(self, prompt: str, min_len: int, max_len: int, digits_only: bool, *,
                  hidden: bool = False):
        from simtool.stk.handset import UserAction

        hint = f" ({min_len}-{max_len} {'digits' if digits_only else 'chars'}, empty = back)"
        # "user input not revealed" (TS 102 223 §8.6): typed without echo, as a PIN
        value = click.prompt(prompt + hint, default="", show_default=False, hide_input=hidden)
        return value or UserAction.BACK

    def select_item(self, title: str, items):
        from simtool.stk.handset import UserAction

        click.echo(title)
        for e in items:
            click.echo(f"  {e.id:>2}. {e.title}")
        value = click.prompt("choice (empty = back)", default="", show_default=False)
        return int(value) if value.isdigit() else UserAction.BACK

    def notify(self, text: str) -> None:
        click.echo(f"({text})")


@stk.command()
@_common
@click.pass_obj
def session(obj, profile, no_ussd, no_ss, msisdn, pin1) -> None:
    """Interactive handset: pick menu items until you enter nothing.

    \b
    Example:
      simtool stk session --profile milo
    """
    handset = _handset(obj, profile, TerminalUI(), no_ussd, no_ss, msisdn, pin1)
    transcripts = []
    while True:
        listing = handset.menu()
        click.echo(listing.title)
        for e in listing.items:
            click.echo(f"  {e.id:>2}. {e.title}")
        choice = click.prompt("menu item (empty = quit)", default="", show_default=False)
        if not choice:
            break
        transcripts.append(handset.select(_resolve_item(listing, choice)))
    if obj.json:
        obj.emit([t.to_json() for t in transcripts], "")
