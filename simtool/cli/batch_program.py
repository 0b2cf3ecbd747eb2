"""``simtool batch program``: program and verify the cards of a batch, at one reader or at
several at once (``-r all`` or a comma list: one worker per reader, simtool.provision.station)."""

from __future__ import annotations

import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from simtool.cli.common import AliasOption, ask_secret, cli_context, global_options
from simtool.cli.common import to_json_text
from simtool.cli.common import (JOURNAL_URL_HELP, SECRET_FORMS, resolve_journal_url,
                                secret_value)
from simtool.errors import NoCard, TransportError


def _echo_json(data: Any) -> None:
    click.echo(to_json_text(data, lines=True))


class _Display:
    """What the desk's readers do (simtool.provision.station.ReaderEvent), for the operator.

    One reader: the steps of the card on one stderr line, its result on stdout.  Several: a
    stderr line per event, prefixed by the reader; results on stdout, prefixed too.  With
    --json: one JSON object per card on stdout (with its reader), prompts on stderr."""

    def __init__(self, readers: list[str], as_json: bool) -> None:
        self.several = len(readers) > 1
        self.as_json = as_json
        self.open = False
        self.results: list = []  # every card's result, also when Ctrl-C ends the desk

    def __call__(self, event) -> None:
        from simtool.provision.station import DeskState

        state = event.state
        if state is DeskState.PROGRAMMING:
            if self.as_json:
                return
            if self.several:
                click.echo(event.render(), err=True)
            else:
                click.echo(("" if self.open else "  ") + event.step + " ", nl=False, err=True)
                self.open = True
            return
        self.end()
        who = f"{event.reader}: " if self.several else ""
        if state is DeskState.RESULT:
            self.results.append(event.result)
            if self.as_json:
                _echo_json({**event.result.to_json(), "reader": event.reader})
            else:
                click.echo(who + event.result.render())
        elif state is DeskState.WAITING:
            click.echo(f"{who}waiting for a card in {event.reader} (Ctrl-C stops) ...",
                       err=True)
        elif state is DeskState.REMOVE:
            click.echo(f"{who}take the card out (Ctrl-C stops)", err=True)
        elif state is DeskState.STOPPED and self.several:
            click.echo(f"{who}stopped", err=True)

    def end(self) -> None:
        if self.open:
            click.echo("", err=True)
            self.open = False


class _PcscDesk:
    """Waiting at the desk's readers through pcscd (station.ReaderIo)."""

    def __init__(self, poll: float, say) -> None:
        self.poll, self.say = poll, say

    def wait_for_card(self, reader: str, stop):
        return _wait_for_card(reader, self.poll, self.say, stop)

    def wait_for_removal(self, reader: str, stop) -> None:
        _wait_for_removal(reader, self.poll, self.say, stop)


def _wait_for_card(reader: str, poll: float, say, stop) -> Any:
    """The next card, connected exclusively: from the first VERIFY to the reset of
    ``close()`` no other PC/SC client can reach the card (and its verified ADM1).  None
    once ``stop`` is set."""
    from simtool.apdu.pcsc import CardInUse, PcscTransport

    told = False
    while not stop.is_set():
        try:
            return PcscTransport.connect(reader, timeout=poll, exclusive=True)
        except NoCard:
            continue
        except CardInUse as exc:
            if not told:
                say(f"{exc}; waiting")
                told = True
            time.sleep(poll)
    return None


def _wait_for_removal(reader: str, poll: float, say, stop) -> None:
    """Wait until the card is taken out: a new connection (the card was reset when the last
    one closed, so no ADM1 verification outlives the programming) watched until the reader
    reports the card gone (or ``stop`` is set)."""
    from simtool.apdu.pcsc import PcscTransport

    while not stop.is_set():
        try:
            transport = PcscTransport.connect(reader)
        except NoCard:
            return
        try:
            while not stop.is_set():
                transport.atr()
                time.sleep(poll)
        except TransportError:
            # gone, or reset by another program (then the next connect finds it again)
            time.sleep(poll)
        finally:
            transport.close()


@global_options
@click.command("program")
@click.argument("batch_dir", metavar="DIR",
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--journal", "journal_url", metavar="URL", default=None,
              envvar="SIMTOOL_JOURNAL", callback=resolve_journal_url,
              help="sqlite:///file (in DIR), sqlite:////abs/path or postgresql://... "
                   "(default: DIR/journal.sqlite).  Stations sharing a journal never give "
                   "one record to two cards." + JOURNAL_URL_HELP)
@click.option("--station", default=None, metavar="NAME",
              help="This programming station's name in the journal (default: host name).")
@click.option("--adm1", "adm1", default=None, metavar="KEY|file:PATH|env:VAR",
              help="The cards' current ADM1 (8 digits or 16 hex), the same for every card: "
                   + SECRET_FORMS + ".")
@click.option("--card-keys", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="The vendor's key file (CSV: iccid + adm1 / pin_adm / "
                                 "pin_adm_hex), matched on each card's factory ICCID.")
@click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The batch key that seals DIR/records.jsonl.enc (32 bytes hex, mode 0600); "
                   "default: the batch's key in this machine's key store.")
@click.option("--stop-after", "count", cls=AliasOption, hidden_aliases=("--count",),
              type=click.IntRange(min=1), default=None, metavar="CARDS",
              help="Stop after this many cards (default: until the batch is done or Ctrl-C).")
@click.option("--gp-keys", "gp_keys_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="FILE",
              help="Key file of `simtool gp` (mode 0600) whose [scp] table holds the cards' "
                   "ISD key set: needed by a batch whose profile names an [applet].")
@click.option("--allow-iccid-change", is_flag=True,
              help="Write the batch's ICCID even on card types whose vendor ties the card's "
                   "licence to the factory ICCID (sysmoISIM-SJA2/SJA5). Without it such cards "
                   "are refused unless their own ICCID is the record's. The virtual card needs it.")
@click.option("--poll", type=click.FloatRange(0.05, 10), default=0.5, show_default=True,
              help="Seconds between reader checks while waiting for a card.")
@click.pass_context
def program(ctx: click.Context, batch_dir: Path, journal_url: str | None, station: str | None,
            adm1: str | None, card_keys: Path | None, key_file: Path | None, count: int | None,
            gp_keys_path: Path | None, allow_iccid_change: bool, poll: float) -> None:
    """Program the cards of batch DIR, verifying each: insert a card, wait, take it out.

    For each card: identify its type (ATR and files), read the ADM1 counter before any
    VERIFY (refusing cards near the end of their tries), claim its record in the journal,
    VERIFY ADM1 once (a wrong key is never sent again), write ICCID, IMSI, Ki/OPc, SPN,
    MSISDN, AD, ACC, PLMN lists, PINs/PUKs, the profile's toolkit applet through the ISD
    (--gp-keys; not when the card has it), EF.MENU (a profile with a menu; not written when
    the card holds that menu) and the batch's new ADM1, read every file back and
    AUTHENTICATE against Milenage.  A card pulled mid-way is finished when re-inserted.

    The current ADM1 comes from --card-keys, or --adm1 (best as file:PATH or env:VAR), or a
    prompt (no echo).  The card is held exclusively (no other PC/SC client can connect) from
    the connection, before the first VERIFY, to the reset that ends it.  Before the
    first card the whole batch is checked (batch.toml, every record, duplicates, counts, the
    records' digest, file modes): a fault is one line naming file, line and field (exit 4).
    A card showing the batch's ICCID that the journal does not know is refused without a
    VERIFY when its files say this batch programmed it.  Exit code: the gravest of the cards'
    (5 a safety refusal, 4 bad data, 1 a card that failed).  With --json,
    one JSON object per card, then a summary object (JSON lines).  Ctrl-C stops (exit 130)
    once the cards being programmed are finished.

    Several readers at once: -r all (every reader) or -r 0,1 (a list of numbers or names):
    one worker per reader, one journal, each record given to one card; a card pulled at one
    reader leaves the others alone.

    \b
    Examples:
      simtool batch program batches/milo-01 --card-keys sysmocom-keys.csv   # Ctrl-C stops
      simtool -r "Virtual PCD 00 00" batch program batches/virtual --adm1 env:VENDOR_ADM1 \\
          --allow-iccid-change --stop-after 1 --json      # the virtual card
      simtool -r all batch program batches/milo-01 --card-keys sysmocom-keys.csv  # Ctrl-C stops
      simtool batch program batches/milo-01 --station desk-2 --stop-after 1 \\
          --journal sqlite:///journal.sqlite --card-keys sysmocom-keys.csv
    """
    from simtool.apdu.pcsc import select_readers
    from simtool.apdu.transport import TracingTransport
    from simtool.provision.cardkeys import FixedAdm, read_card_keys
    from simtool.provision.journal_open import open_journal
    from simtool.provision.program import Outcome, Programmer, open_batch
    from simtool.provision.station import run_desk
    from simtool.secret import Secret

    obj = cli_context(ctx)
    as_json, trace = obj.json, obj.trace
    if adm1 is not None and card_keys is not None:
        raise click.UsageError("give --adm1 or --card-keys, not both")
    if card_keys is not None:
        adm_source = read_card_keys(card_keys)
        for warning in adm_source.warnings:
            click.secho(f"WARNING: {warning}", fg="red", err=True)
    else:
        if adm1 is None:
            adm1 = ask_secret("Current ADM1 of the cards")
        else:
            adm1 = secret_value(adm1, "ADM1", "--adm1")
        adm_source = FixedAdm(Secret(adm1.strip()))
    station = station or socket.gethostname() or "station"

    def say(text: str) -> None:  # prompts for the operator: stderr, with or without --json
        click.echo(text, err=True)

    records_key = None
    if key_file is not None:
        from simtool.provision.sealed import BATCH_KEY_LEN
        from simtool.provision.crypto import read_key_file

        records_key = read_key_file(key_file, BATCH_KEY_LEN, what="batch key")
    gp_keys = None
    if gp_keys_path is not None:
        from simtool.gp.keyfile import read_key_file as read_gp_keys

        gp_keys = read_gp_keys(gp_keys_path).require_scp()
    batch = open_batch(batch_dir, journal_url, records_key=records_key)
    ctx.call_on_close(batch.journal.close)
    Programmer(batch.journal, batch.records, batch.card, adm_source, station=station,
               allow_iccid_change=allow_iccid_change, factory_iccids=batch.factory_iccids,
               gp_keys=gp_keys).check_records()
    readers = select_readers(obj.reader)
    say(f"batch {batch.batch_id}: {len(batch.records)} records; station {station}; "
        f"reader{'s' if len(readers) > 1 else ''} {', '.join(readers)}")

    def programmer_for(reader: str, progress) -> Programmer:
        journal = open_journal(journal_url, batch_dir, batch_id=batch.batch_id)
        name = f"{station}/{reader}" if len(readers) > 1 else station
        return Programmer(journal, batch.records, batch.card, adm_source, station=name,
                          progress=progress, allow_iccid_change=allow_iccid_change,
                          factory_iccids=batch.factory_iccids, gp_keys=gp_keys)

    def wrap(transport):
        return TracingTransport(transport, obj.trace_log) if trace else transport

    display = _Display(readers, as_json)
    interrupted = False
    try:
        run_desk(readers, programmer_for, _PcscDesk(poll, say), display, count=count, wrap=wrap)
    except KeyboardInterrupt:  # the cards being programmed were finished first
        display.end()
        interrupted = True
    results = display.results
    outcomes: Counter[str] = Counter(r.outcome.value for r in results)
    # the gravest of the cards' codes (5 safety refusal > 4 bad data > 1 card error)
    exit_code = max((r.exit_code or 1 for r in results
                     if r.outcome in (Outcome.FAILED, Outcome.REFUSED)), default=0)
    states = {str(state): n for state, n in batch.journal.status_counts().items()}
    summary = {"batch_id": batch.batch_id, "station": station, "cards": dict(outcomes),
               "journal": states, "interrupted": interrupted}
    if as_json:
        _echo_json({"summary": summary})
    else:
        done = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "no cards"
        click.echo(f"{'stopped' if interrupted else 'done'}: {done}; journal: "
                   + ", ".join(f"{n} {k}" for k, n in states.items() if n), err=True)
    if interrupted:
        ctx.exit(130)
    if exit_code:
        ctx.exit(exit_code)
