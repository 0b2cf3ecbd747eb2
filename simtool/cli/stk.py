"""``simtool stk``: run a card's SIM Toolkit menu as a handset would.

The card is real (or the virtual card behind pcscd); the network is simtool's virtual network,
answering as the operator of the chosen profile would (its service codes are data in
``provisioning/services/``).
"""

from __future__ import annotations

from typing import Sequence

import click

from simtool.errors import DataError


def _network(obj, profile: str, msisdn: str | None):
    """The operator's virtual network for the card in the reader, from the network's own
    records (the state file of ``simtool network``): the subscriber is found by the card's
    ICCID, and the number is the record's (``--msisdn`` when the record is created), never
    read from EF.MSISDN.  The file is written after every request."""
    from simtool.cli.network import card_identity, open_hlr
    from simtool.stk.hlr import SavingNetwork

    hlr = open_hlr(None)
    record = hlr.subscriber(card_identity(obj, None, None), profile, msisdn=msisdn)
    return SavingNetwork(hlr, hlr.network(record))


def _handset(obj, profile: str, ui, no_ussd: bool, no_ss: bool, msisdn: str | None,
             pin1: bool):
    from simtool.stk.handset import Handset
    from simtool.stk.profile import DEFAULT

    card = obj.open_card()
    if pin1:
        obj.verify_pin1_prompted(card)
    terminal = DEFAULT
    if no_ussd:
        terminal = terminal.without("send_ussd")
    if no_ss:
        terminal = terminal.without("send_ss")
    trace = obj.trace_log if obj.trace else None
    return Handset(card.channel, _network(obj, profile, msisdn), ui, terminal, trace=trace)


def _common(f):
    f = click.option("--profile", "-p", default="milo", show_default=True,
                     help="Operator whose virtual network answers (provisioning/services/).")(f)
    f = click.option("--no-ussd", is_flag=True,
                     help="Play a terminal without SEND USSD support.")(f)
    f = click.option("--no-ss", is_flag=True, help="Play a terminal without SEND SS support.")(f)
    f = click.option("--msisdn", default=None,
                     help="Number the virtual network records for a card it has not seen "
                          "before (default: the next free number of the operator's pool). "
                          "The records: simtool network, $SIMTOOL_NETWORK_STATE.")(f)
    f = click.option("--pin1", is_flag=True,
                     help="Ask for PIN1 (no echo) and verify it first, as a phone does at "
                          "power-on.")(f)
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
      simtool stk call +48531234567             # Milo call-back through call control
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

    def get_input(self, prompt: str, min_len: int, max_len: int, digits_only: bool):
        from simtool.stk.handset import UserAction

        hint = f" ({min_len}-{max_len} {'digits' if digits_only else 'chars'}, empty = back)"
        value = click.prompt(prompt + hint, default="", show_default=False)
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


@stk.command("call")
@click.argument("number")
@click.option("--seconds", type=click.IntRange(0), default=None,
              help="Answer the call-back and talk this long (the network bills it).")
@_common
@click.pass_obj
def call_command(obj, number: str, seconds, profile, no_ussd, no_ss, msisdn, pin1) -> None:
    """Dial NUMBER on a handset with call control by USIM (3GPP TS 31.111 §7.3.1.6): the
    card sees the call first (ENVELOPE CALL CONTROL).  On a Milo card a call to +<country
    code><number> becomes the USSD call-back request; the network confirms it with the price
    of one minute, the call ends, and the network calls back.

    \b
    Examples:
      simtool stk call +48531234567
      simtool --json stk call +48531234567 --seconds 95
    """
    from simtool.stk.handset import ScriptedUI
    from simtool.stk.profile import WITH_CALL_CONTROL

    handset = _handset(obj, profile, ScriptedUI(), no_ussd, no_ss, msisdn, pin1)
    handset.profile = WITH_CALL_CONTROL.without("send_ussd") if no_ussd else WITH_CALL_CONTROL
    transcript = handset.call(number, seconds=seconds)
    obj.emit(transcript.to_json(), lambda: _render_transcript(transcript))
