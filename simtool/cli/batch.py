"""``simtool batch``: generate provisioning batches and decrypt their HSS imports."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from simtool.cli.common import AliasOption, cli_context, global_options, profile_option
from simtool.cli.common import to_json_text
from simtool.cli.common import JOURNAL_URL_HELP, resolve_journal_url
from simtool.errors import SafetyRefusal

_PHASES = {"generate": "Generating cards", "hash": "Hashing panel credentials"}


def _want_json(ctx: click.Context, flag: bool = False) -> bool:
    return flag or cli_context(ctx).json


def _emit_json(data: Any) -> None:
    click.echo(to_json_text(data))


def rate_and_eta(done: int, total: int, seconds: float) -> str:
    """``"41.2/s, ETA 0:12"``: the rate so far and the time the rest takes at that rate."""
    if done <= 0 or seconds <= 0:
        return "ETA --:--"
    rate = done / seconds
    left = round(max(0, total - done) / rate)
    eta = f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}" if left >= 3600 \
        else f"{left // 60}:{left % 60:02d}"
    return f"{rate:,.1f}/s, ETA {eta}"


class _ProgressBars:
    """One click progress bar per phase, on stderr, with the rate and the ETA; a new phase
    closes the previous bar."""

    def __init__(self, clock=time.monotonic) -> None:
        self._phase: str | None = None
        self._bar: Any = None
        self._inner: ExitStack | None = None
        self._clock = clock
        self._start = 0.0
        self._done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self.close()
            self._inner = ExitStack()
            self._bar = self._inner.enter_context(click.progressbar(
                length=total, label=_PHASES.get(phase, phase), show_pos=True, show_eta=False,
                item_show_func=lambda text: text, file=sys.stderr))
            self._phase = phase
            self._start, self._done = self._clock(), 0
        self._done += done
        self._bar.update(done, rate_and_eta(self._done, total, self._clock() - self._start))

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None


@global_options
@click.group()
def batch() -> None:
    """Provisioning batches: generate cards' data and exports, decrypt and load HSS imports.

    \b
    Examples:
      simtool batch keygen op op.key
      simtool batch keygen transport transport.key
      simtool batch generate --profile milo --cards 20 --out batches/milo-02 \\
          --op-key-file op.key --transport-key-file transport.key
      simtool batch decrypt batches/milo-01/exports/osmo-hlr.vty.enc \\
          --transport-key-file transport.key --out osmo-hlr.vty
    """


@global_options
@batch.command()
@profile_option(required=True, dest="profile_name")
@click.option("--cards", "count", cls=AliasOption, hidden_aliases=("--count",), required=True,
              type=click.IntRange(1, 10_000_000), metavar="N",
              help="Number of cards to generate.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Batch folder to create (must not exist or be empty).")
@click.option("--first-serial", type=click.IntRange(min=0), default=None,
              help="First card serial (the ICCID's account number); default 1.")
@click.option("--op-key-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The operator's OP (16 bytes hex, mode 0600); OPc = Milenage OPc(K, OP). "
                   "Without it every card gets a random OPc.")
@click.option("--transport-key-file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="AES-256 transport key (32 bytes hex, mode 0600) that "
                                 "encrypts the HSS imports; without it they are not written.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes for Argon2id hashing (default: all cores).")
@click.option("--card-keys", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None,
              help="The vendor's card list (CSV: iccid + adm1 / pin_adm / pin_adm_hex): the "
                   "batch takes the cards' own ICCIDs, in file order. Needed for card types "
                   "whose factory ICCID must stay (sysmoISIM-SJA2/SJA5).")
@click.option("--programmer", type=click.Choice(["simtool", "pysim"]), default="simtool",
              show_default=True,
              help="Who writes the cards: simtool ('batch program': new PINs, PUKs, ADM1) or "
                   "pysim (pySim-prog from exports/pysim.csv: it keeps the vendor's PINs, PUKs "
                   "and ADM1, so the records and letters do too, taken from --card-keys).")
@click.option("--label-sheet", default=None,
              type=click.Choice(["a4-3x7", "a4-3x8", "a4-2x7"]),
              help="Label stock for printer/labels.html (default: the profile's [label] sheet): "
                   "a4-3x7 = 63.5 x 38.1 mm (L7160), a4-3x8 = 63.5 x 33.9 mm (L7159), "
                   "a4-2x7 = 99.1 x 38.1 mm (L7163).")
@click.option("--journal", "journal_url", default=None, metavar="URL",
              envvar="SIMTOOL_JOURNAL", callback=resolve_journal_url,
              help="A shared journal (postgresql://… or sqlite:////abs/path): the batch's "
                   "ICCIDs, IMSIs and MSISDNs are reserved in it before any card is generated, "
                   "so no other batch in it (even one generated at the same moment) has them."
                   + JOURNAL_URL_HELP)
@click.option("--plain-export", "plain_exports", multiple=True,
              type=click.Choice(["pysim", "printer", "panel"]),
              help="Also write this export in clear (0600, with a warning) for a consumer that "
                   "needs it: pysim (exports/pysim.csv: Ki, OPc, ADM1), printer "
                   "(exports/printer/cards.csv: PIN1, PUK1), panel (a PUK-grade panel import). "
                   "By default they are sealed with the batch key (*.enc). Repeatable.")
@click.option("--pepper-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A 32-byte server-side pepper (hex key file, mode 0600, e.g. from 'batch "
                   "keygen transport'): panel hashes are Argon2id(HMAC-SHA256(pepper, code)); "
                   "the panel keeps the pepper and checks logins the same way.")
@click.pass_context
def generate(ctx: click.Context, profile_name: str, count: int, out_dir: Path,
             first_serial: int | None, op_key_file: Path | None,
             transport_key_file: Path | None, workers: int | None, card_keys: Path | None,
             programmer: str, label_sheet: str | None, journal_url: str | None,
             plain_exports: tuple[str, ...], pepper_file: Path | None) -> None:
    """Generate a batch: records, pySim CSV, HSS imports, panel import, printer files.

    Writes OUT/batch.toml (no secrets), OUT/records.jsonl.enc (the cards' secrets, sealed
    with a new batch key kept outside OUT, in the key store $SIMTOOL_KEY_DIR or
    ~/.local/share/simtool/batch-keys) and OUT/exports/.  The summary names files and
    counts only; it never shows a key, PIN or password.

    \b
    Examples:
      simtool batch generate --profile plus --cards 30 --out plus-test
      simtool batch generate -p milo --cards 50 --first-serial 2000000 --out batches/milo-2025-06 \\
          --op-key-file op.key --transport-key-file transport.key --json
      simtool batch generate -p milo --cards 20 --card-keys sysmocom-keys.csv \\
          --out batches/milo-sja2 --op-key-file op.key
      simtool batch generate --profile milo --cards 20 --card-keys sysmocom-keys.csv \\
          --programmer pysim --out batches/milo-pysim --op-key-file op.key
    """
    from simtool.provision.crypto import OP_LEN, TRANSPORT_KEY_LEN, read_key_file
    from simtool.provision.generate import generate_batch
    from simtool.provision.profile import load_profile

    profile = load_profile(profile_name)
    op = read_key_file(op_key_file, OP_LEN, what="OP key") if op_key_file else None
    pepper = read_key_file(pepper_file, 32, what="pepper") if pepper_file else None
    transport = (read_key_file(transport_key_file, TRANSPORT_KEY_LEN, what="transport key")
                 if transport_key_file else None)
    card_list = None
    if card_keys is not None:
        from simtool.provision.cardkeys import read_card_keys

        card_list = read_card_keys(card_keys)
        for warning in card_list.warnings:
            click.secho(f"WARNING: {warning}", fg="red", err=True)
    bars = _ProgressBars()
    try:
        result = generate_batch(profile, count, out_dir, first_serial=first_serial, op=op,
                                transport_key=transport, workers=workers, progress=bars,
                                card_keys=card_list, journal_url=journal_url,
                                label_sheet=label_sheet, programmer=programmer,
                                plain_exports=plain_exports, pepper=pepper)
    except KeyboardInterrupt:
        bars.close()
        # generate_batch writes into a staging folder it removes on any interruption, and
        # gives back the numbers it reserved in a shared journal
        click.echo(f"\ninterrupted: nothing kept (no batch in {out_dir}, no journal "
                   "entry); run the command again to start over", err=True)
        ctx.exit(130)
    finally:
        bars.close()
    for warning in result.warnings:
        click.secho(f"WARNING: {warning}", fg="red", bold=True, err=True)
    if _want_json(ctx):
        _emit_json(result.to_json())
        return
    lines = [f"batch {result.batch_id}: {result.count} cards, profile {result.profile}",
             f"  folder:     {result.out_dir}",
             f"  ICCIDs:     {result.first_iccid} .. {result.last_iccid}",
             f"  OPc:        {result.opc_source}",
             f"  batch key:  {result.key_file or 'given'} (seals the records; keep it apart "
             "from the folder)",
             f"  generation: {result.generation_seconds:.2f} s "
             f"({result.cards_per_second:,.0f} cards/s)"]
    if result.hashing:
        h = result.hashing
        lines.append(f"  hashing:    {h.count} Argon2id hashes on {h.workers} processes in "
                     f"{h.seconds:.2f} s ({h.rate:,.1f}/s)")
    lines.append("  files:")
    lines += [f"    {f}" for f in result.files]
    lines += [f"  note: {n}" for n in result.notes]
    click.echo("\n".join(lines))


@global_options
@batch.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--transport-key-file", "--key-file", "key_file", default=None,
              type=click.Path(path_type=Path, dir_okay=False),
              help="The AES-256 key the file was sealed with: the transport key (HSS imports) "
                   "or a batch key file; default: the batch's key from the key store.")
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Plaintext file to create (mode 0600; an existing file is refused).")
@click.pass_context
def decrypt(ctx: click.Context, file: Path, key_file: Path | None, out_file: Path) -> None:
    """Decrypt a sealed file (*.enc: HSS import, pysim.csv, printer list, records, panel
    import) into a plaintext file (mode 0600).

    Fails, writing nothing, when the key is wrong, the file was modified, or OUT exists.

    \b
    Example:
      simtool batch decrypt batches/milo-01/exports/open5gs-subscribers.js.enc \\
          --transport-key-file transport.key --out open5gs-subscribers.js
    """
    from simtool.provision.crypto import (TRANSPORT_KEY_LEN, decrypt_export, export_header,
                                          read_key_file)
    from simtool.provision.sealed import decrypt_with_store

    blob = file.read_bytes()
    key = read_key_file(key_file, TRANSPORT_KEY_LEN, what="key") if key_file else None
    if out_file.exists():
        raise SafetyRefusal(f"{out_file} exists; refusing to overwrite it")
    if key is None:
        result = decrypt_with_store(blob, export_header(blob, where=str(file))[1],
                                    where=str(file))
    else:
        result = decrypt_export(blob, key, where=str(file))
    _create(out_file, result.plaintext.reveal(), "refusing to overwrite it")
    summary = {"file": str(file), "name": result.name, "batch_id": result.batch_id,
               "out": str(out_file), "bytes": len(result.plaintext)}
    if _want_json(ctx):
        _emit_json(summary)
    else:
        click.echo(f"decrypted {result.name} of batch {result.batch_id} to {out_file} "
                   f"({len(result.plaintext)} bytes, mode 0600)")


def _create(path: Path, data: str | bytes, refusal: str) -> None:
    """Create ``path`` (0600) that must not exist: checked when the name is made, so a file
    that appeared after the caller's early check survives (SafetyRefusal)."""
    from simtool.provision.atomicfile import create_new

    try:
        create_new(path, data)
    except FileExistsError:
        raise SafetyRefusal(f"{path} exists; {refusal}") from None


@global_options
@batch.command()
@click.argument("kind", type=click.Choice(["op", "transport"]))
@click.argument("out_file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def keygen(ctx: click.Context, kind: str, out_file: Path) -> None:
    """Create a random key file (mode 0600): the operator's OP (16 bytes) or a transport key
    (AES-256, 32 bytes) for the encrypted HSS imports.  An existing file is refused.

    \b
    Examples:
      simtool batch keygen op op.key
      simtool batch keygen transport transport.key
    """
    import secrets

    from simtool.provision.crypto import OP_LEN, TRANSPORT_KEY_LEN, key_file_text, key_id
    from simtool.secret import Secret

    if out_file.exists():
        raise SafetyRefusal(f"{out_file} exists; refusing to overwrite a key")
    length = OP_LEN if kind == "op" else TRANSPORT_KEY_LEN
    key = Secret(secrets.token_bytes(length))
    what = "operator OP (Milenage)" if kind == "op" else "transport key (AES-256-GCM)"
    _create(out_file, key_file_text(key, comment=f"simtool {what}"), "refusing to overwrite a key")
    summary = {"file": str(out_file), "kind": kind, "key_id": key_id(key)}
    if _want_json(ctx):
        _emit_json(summary)
    else:
        click.echo(f"wrote {what} to {out_file} (mode 0600, key id {summary['key_id']})")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise click.BadParameter(f"{text!r} is not HOST:PORT", param_hint="--vty")
    return host.strip("[]"), int(port)


@global_options
@batch.command("load-osmo-hlr")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--vty", default="127.0.0.1:4258", show_default=True, metavar="HOST:PORT",
              help="OsmoHLR's VTY (telnet) address.")
@click.pass_context
def load_osmo_hlr(ctx: click.Context, file: Path, vty: str) -> None:
    """Load a decrypted osmo-hlr.vty into a running OsmoHLR, safely more than once.

    Asks 'show subscriber imsi X' for every subscriber and sends only what is missing or
    different: a subscriber already present with the same K, OPc and MSISDN is left alone,
    so its SQN is kept (the VTY's 'update aud3g' would reset it).

    \b
    Example:
      simtool batch decrypt batches/milo-01/exports/osmo-hlr.vty.enc \\
          --transport-key-file transport.key --out hlr.vty && \\
          simtool batch load-osmo-hlr hlr.vty --vty 127.0.0.1:4258  # with no OsmoHLR there: (exit 1)
    """
    from collections import Counter

    from simtool.errors import DataError
    from simtool.provision.osmo_hlr import Outcome, VtyClient, load, parse_script

    host, port = _host_port(vty)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the script: {exc}", where=str(file)) from None
    subscribers = parse_script(text, where=str(file))
    counts: Counter[str] = Counter({o.value: 0 for o in Outcome})
    with VtyClient(host, port) as client:
        for _imsi, outcome in load(subscribers, client):
            counts[outcome.value] += 1
    if _want_json(ctx):
        _emit_json({"file": str(file), "vty": vty, **counts})
    else:
        click.echo(f"{len(subscribers)} subscribers: " +
                   ", ".join(f"{n} {o}" for o, n in counts.items()))


@global_options
@batch.command()
@click.argument("batch_dir", metavar="DIR",
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Seal with this 32-byte key file (default: the batch key in the key store, "
                   "a new one when there is none).")
@click.pass_context
def seal(ctx: click.Context, batch_dir: Path, key_file: Path | None) -> None:
    """Seal the plain secret files of batch DIR (records.jsonl, exports/pysim.csv,
    exports/printer/cards.csv, a PUK-grade panel import) into *.enc with the batch key, and
    remove the plain files once the sealed ones read back equal.

    \b
    Example:
      simtool batch seal batches/milo-01
    """
    from simtool.provision.crypto import TRANSPORT_KEY_LEN, read_key_file
    from simtool.provision.sealed import seal_batch

    key = read_key_file(key_file, TRANSPORT_KEY_LEN, what="key") if key_file else None
    sealed, new_key = seal_batch(batch_dir, key=key)
    summary = {"dir": str(batch_dir), "sealed": sealed,
               "new_key_file": str(new_key) if new_key else None}
    if _want_json(ctx):
        _emit_json(summary)
        return
    click.echo(f"sealed {len(sealed)} file(s) of {batch_dir}"
               + "".join(f"\n  {name} -> {name}.enc" for name in sealed))
    if new_key:
        click.echo(f"new batch key: {new_key} (mode 0600; keep it apart from the folder)")
    click.echo("note: removing a file does not erase its old blocks from the disk; a batch "
               "sealed from the start never had them", err=True)


@global_options
@batch.command()
@click.argument("batch_dir", metavar="DIR",
                type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--journal", "journal_url", metavar="URL", default=None,
              envvar="SIMTOOL_JOURNAL", callback=resolve_journal_url,
              help="The journal the batch was programmed with (default: DIR/journal.sqlite)."
                   + JOURNAL_URL_HELP)
@click.option("--keep-printer", is_flag=True,
              help="Keep the printer's PIN/PUK list (and the batch key that seals it).")
@click.option("--force", is_flag=True,
              help="Purge even though some records are not verified (their cards can then "
                   "never be programmed from this batch).")
@click.pass_context
def purge(ctx: click.Context, batch_dir: Path, journal_url: str | None, keep_printer: bool,
          force: bool) -> None:
    """Remove what a programmed batch no longer needs: the card records (Ki, OPc, PINs,
    PUKs, ADM1), the pySim CSV, the printer's PIN/PUK list, and the batch key once nothing
    sealed with it is left.  Kept: batch.toml, the journal (identifiers only), the HSS
    imports, the panel import and the labels.  Refused while a record is not verified (or
    failed) in the journal.

    \b
    Examples:
      simtool batch purge batches/milo-01  # refused while a card is left to program (exit 5)
      simtool batch purge batches/milo-01 --force --journal sqlite:///journal.sqlite
    """
    from simtool.provision.sealed import purge_batch

    result = purge_batch(batch_dir, journal_url=journal_url, force=force,
                         keep_printer=keep_printer)
    summary = {"dir": str(batch_dir), "removed": list(result.removed),
               "key_removed": str(result.key_removed) if result.key_removed else None,
               "journal": result.states}
    if _want_json(ctx):
        _emit_json(summary)
        return
    click.echo(f"purged {batch_dir}: removed {', '.join(result.removed) or 'nothing'}"
               + (f"; batch key {result.key_removed} removed" if result.key_removed else ""))
