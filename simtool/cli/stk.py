"""``simtool stk``: run a card's SIM Toolkit menu as a handset would.

The card is real (or the virtual card behind pcscd); the network is simtool's virtual network,
answering as the operator of the chosen profile would (its service codes are data in
``provisioning/services/``).
"""

from __future__ import annotations

from typing import Sequence

import click

from simtool.cli.common import global_options, pass_cli, profile_option
from simtool.errors import DataError, SimtoolError


class NoToolkitMenu(SimtoolError):
    """The card installed no SET UP MENU (no toolkit applet, or it removed its menu)."""

    exit_code = 1


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
    f = profile_option(default="milo",
                       help="Operator profile whose virtual network answers: a name from "
                            "provisioning/profiles/ or a services .toml file.")(f)
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


def _main_menu(handset):
    """The card's main menu, or :class:`NoToolkitMenu` when it installed none."""
    listing = handset.menu()
    if not listing.items:
        raise NoToolkitMenu("the card has no SIM Toolkit menu (no SET UP MENU after "
                            "TERMINAL PROFILE): nothing to select")
    return listing


def _items_text(listing) -> str:
    return "\n".join([listing.title] + [f"  {e.id:>2}. {e.title}" for e in listing.items])


@global_options
@click.group()
def stk() -> None:
    """The card's SIM Toolkit menu, run as a handset would.

    \b
    Examples:
      simtool stk menu
      simtool stk select 3                      # balance (*108#) on the Milo menu
      simtool stk select "Przekierowania" --choose 1 --input 600123456
      simtool stk session                       # interactive handset
      simtool stk call +48531234567             # Milo call-back through call control
    """


@global_options
@stk.command()
@_common
@pass_cli
def menu(obj, profile, no_ussd, no_ss, msisdn, pin1) -> None:
    """Show the card's main menu (TERMINAL PROFILE → SET UP MENU).  Exits with 1 when the
    card has no toolkit menu.

    \b
    Examples:
      simtool stk menu
      simtool stk menu --json
    """
    from simtool.stk.handset import ScriptedUI

    listing = _main_menu(_handset(obj, profile, ScriptedUI(), no_ussd, no_ss, msisdn, pin1))
    obj.emit(listing.to_json(), lambda: _items_text(listing))


def _match_item(items, item: str) -> tuple[int | None, str]:
    """The id of the item ``item`` names (its number, or a unique part of its title,
    ignoring case and Polish diacritics), or None and why not."""
    item = item.strip()
    ids = [e.id for e in items]
    if item.isdigit():
        if int(item) in ids:
            return int(item), ""
        return None, f"no item {item}"
    key = _fold(item)
    matches = [e for e in items if key in _fold(e.title)]
    if len(matches) == 1:
        return matches[0].id, ""
    if not matches:
        return None, f"no item matches {item!r}"
    return None, f"{item!r} matches " + ", ".join(f"{e.id} ({e.title})" for e in matches)


def _fold(text: str) -> str:
    """Case- and accent-free text, so 'waznosc' finds 'Ważność' (ł has no decomposition)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ł", "l"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _choices_text(items) -> str:
    return ", ".join(f"{e.id} {e.title}" for e in items)


def _resolve_item(listing, item: str) -> int:
    found, why = _match_item(listing.items, item)
    if found is None:
        raise DataError(f"{why}: the menu has {_choices_text(listing.items)}")
    return found


def _render_transcript(transcript) -> str:
    lines = []
    for e in transcript.events:
        if e.kind in ("terminal_profile",):
            continue
        lines.append(f"[{e.kind}] {e.text}")
    return "\n".join(lines)


@global_options
@stk.command()
@click.argument("item")
@click.option("--input", "inputs", multiple=True, metavar="TEXT",
              help="Answer to a GET INPUT, in order (repeatable).")
@click.option("--choose", "choices", multiple=True, type=int, metavar="ID",
              help="Item to pick at a SELECT ITEM (submenu), in order (repeatable).")
@_common
@pass_cli
def select(obj, item: str, inputs: Sequence[str], choices: Sequence[int], profile, no_ussd,
           no_ss, msisdn, pin1) -> None:
    """Choose ITEM (its number or part of its title) and run the session to the end,
    printing each proactive command, what went to the network and the reply shown.
    A missing --input/--choose answer acts as the user pressing Back.

    \b
    Examples:
      simtool stk select 1
      simtool stk select "Stan konta"           # balance, by part of the item's title
      simtool stk select "Przekierowania" --choose 1 --input 600123456 --json
    """
    from simtool.stk.handset import ScriptedUI

    handset = _handset(obj, profile, ScriptedUI(choices=choices, inputs=inputs), no_ussd,
                       no_ss, msisdn, pin1)
    item_id = _resolve_item(_main_menu(handset), item)
    transcript = handset.select(item_id)
    obj.emit(transcript.to_json(), lambda: _render_transcript(transcript))


class TerminalUI:
    """The handset's screen and keypad on the terminal.  As on a phone, a key that is not
    on the menu, or an answer of the wrong length, asks again; nothing ends the session but
    the user (an empty answer goes back)."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def display_text(self, text: str):
        self.shown.append(text)
        click.echo(f"\n┌ {text}\n")
        return None

    def get_input(self, prompt: str, min_len: int, max_len: int, digits_only: bool, *,
                  hidden: bool = False):
        from simtool.stk.handset import UserAction

        kind = "digits" if digits_only else "characters"
        size = f"{min_len}" if min_len == max_len else f"{min_len}-{max_len}"
        while True:
            # "user input not revealed" (TS 102 223 §8.6): typed without echo, as a PIN
            value = click.prompt(f"{prompt.rstrip(' :')} ({size} {kind}, empty = back)",
                                 default="", show_default=False, hide_input=hidden)
            if not value:
                return UserAction.BACK
            if digits_only and not value.isdigit():
                click.echo(f"  digits only: enter {size} digits (empty = back)")
            elif not min_len <= len(value) <= max_len:
                click.echo(f"  {len(value)} {kind}: enter {size} (empty = back)")
            else:
                return value

    def select_item(self, title: str, items):
        from simtool.stk.handset import UserAction

        click.echo(title)
        for e in items:
            click.echo(f"  {e.id:>2}. {e.title}")
        return _ask_item(items, "back") or UserAction.BACK

    def notify(self, text: str) -> None:
        click.echo(f"({text})")


def _ask_item(items, empty: str) -> int | None:
    """An item of ``items`` from the keypad: its number or part of its title; None for an
    empty line.  Anything else says what can be chosen and asks again."""
    ids = [e.id for e in items]
    span = f"{min(ids)}-{max(ids)}" if ids == list(range(min(ids), max(ids) + 1)) else \
        ", ".join(map(str, ids))
    while True:
        value = click.prompt(f"Item {span} (empty = {empty})", default="",
                             show_default=False)
        if not value.strip():
            return None
        found, why = _match_item(items, value)
        if found is not None:
            return found
        click.echo(f"  {why}: choose {span} (empty = {empty})")


def _full_replies(transcript, shown: list[str]) -> list[str]:
    """Network replies the card cut to fit its screen (one DISPLAY TEXT holds ~240 bytes):
    the handset has the whole text, so the session shows it."""
    out = []
    for reply in (e.text for e in transcript.events if e.kind == "network_reply"):
        cut = [t for t in shown if t.endswith("...") and reply.startswith(t[:-3])
               and t[:-3] != reply]
        if cut:
            out.append(reply)
    return out


@global_options
@stk.command()
@_common
@pass_cli
def session(obj, profile, no_ussd, no_ss, msisdn, pin1) -> None:
    """Interactive handset: pick menu items until you enter nothing.

    Items are chosen by number or by part of their title; a key that is not on the menu
    asks again.  Standard input may be a script (one answer a line).

    \b
    Examples:
      simtool stk session --profile milo
      printf '6\\n\\n' | simtool stk session      # customer care, then quit
    """
    ui = TerminalUI()
    handset = _handset(obj, profile, ui, no_ussd, no_ss, msisdn, pin1)
    transcripts = []
    while True:
        listing = _main_menu(handset)
        click.echo(_items_text(listing))
        choice = _ask_item(listing.items, "quit")
        if choice is None:
            break
        ui.shown.clear()
        transcript = handset.select(choice)
        transcripts.append(transcript)
        for reply in _full_replies(transcript, ui.shown):
            click.echo(f"┌ the network's whole reply:\n  {reply}\n")
    if obj.json:
        obj.emit([t.to_json() for t in transcripts], "")


@global_options
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
