"""``simtool readers``, ``simtool info``, ``simtool apdu``: looking at a card."""

from __future__ import annotations

import click

from simtool.cli.common import global_options, pass_cli, unblock_hint
from simtool.errors import DataError


@global_options
@click.command()
@pass_cli
def readers(obj) -> None:
    """List PC/SC readers and whether a card is present.

    \b
    Example:
      simtool readers
    """
    from simtool.apdu.pcsc import reader_atrs

    rows = []
    for i, (name, atr) in enumerate(reader_atrs()):  # asks pcscd; no card is touched
        rows.append({"index": i, "name": name, "card_present": atr is not None,
                     "atr": atr.hex().upper() if atr else None})

    def text() -> str:
        if not rows:
            return ("no PC/SC readers: plug in a reader (or start the virtual card, see README); "
                    "pcscd is running")
        return "\n".join(f"{r['index']}: {r['name']}  " +
                         (f"card ATR {r['atr']}" if r["card_present"] else "(no card)")
                         for r in rows)

    obj.emit(rows, text)


@global_options
@click.command()
@click.option("--pin1", "ask_pin1", is_flag=True,
              help="Ask for PIN1 (no echo) and verify it first, so PIN-protected files "
                   "(IMSI, MSISDN) can be read when PIN1 is enabled.")
@pass_cli
def info(obj, ask_pin1: bool) -> None:
    """ATR, card type, ICCID, IMSI, MSISDN, SPN and PIN/PUK/ADM1 tries left.

    Reading the counters never spends a try (VERIFY/UNBLOCK with no data).

    \b
    Examples:
      simtool info
      simtool info --json
      simtool -r "Virtual PCD 00 00" info --pin1       # asks for PIN1 (no echo)
    """
    from simtool.info import read_card_info

    card = obj.open_card()
    if ask_pin1:
        obj.verify_pin1_prompted(card)
    result = read_card_info(card)
    hints = _info_hints(result, ask_pin1)
    data = {**result.to_json(), "hints": hints}
    obj.emit(data, lambda: "\n".join([result.render()] + [f"hint: {h}" for h in hints]))


def _info_hints(result, asked_pin1: bool) -> list[str]:
    """What to do next: verify PIN1 to read the protected files, or, when PIN1 is blocked,
    unblock it (a blocked PIN cannot be verified)."""
    tries = {c.name: c.tries_left for c in result.counters}
    hints = []
    if tries.get("PIN1") == 0:
        hints.append(unblock_hint("pin1"))
    elif not asked_pin1 and any("needs PIN1" in n for n in result.notes):
        hints.append("verify PIN1 to read them: 'simtool info --pin1' (asks for it)")
    if tries.get("PIN2") == 0:
        hints.append(unblock_hint("pin2"))
    return hints


@global_options
@click.command()
@click.argument("apdus", nargs=-1, required=True, metavar="HEX...")
@pass_cli
def apdu(obj, apdus: tuple[str, ...]) -> None:
    """Send raw APDUs (hex, spaces allowed inside quotes) and show each response.

    61xx / 6Cxx / 9Fxx are followed up (GET RESPONSE / resend with Le); the status word is
    shown with its meaning and is not treated as an error.  As in --trace, the data of the PIN
    commands (VERIFY, CHANGE, DISABLE, ENABLE, UNBLOCK PIN) and both sides of AUTHENTICATE /
    RUN GSM ALGORITHM are shown as their length only.

    \b
    Examples:
      simtool apdu 00A40004023F00
      simtool --json apdu "00 A4 00 04 02 2F E2" 00B000000A
    """
    from simtool.apdu.sw import describe
    from simtool.apdu.transport import format_command, format_data, redaction

    raws = []
    for i, text in enumerate(apdus, 1):
        cleaned = "".join(text.split())
        try:
            raws.append(bytes.fromhex(cleaned))
        except ValueError:
            raise DataError(f"not hex: {text!r}", where=f"APDU #{i}") from None
    channel = obj.open_card().channel
    results = []
    for raw in raws:
        resp = channel.send_raw(raw)
        secret_cmd, secret_resp = redaction(raw)
        results.append({"command": format_command(raw, redact=secret_cmd, sep=""),
                        "data": format_data(resp.data, redact=secret_resp, sep=""),
                        "sw": f"{resp.sw:04X}", "meaning": describe(resp.sw)})
    obj.emit(results, lambda: "\n".join(
        f"> {r['command']}\n< {r['data']} {r['sw']} ({r['meaning']})".replace("<  ", "< ")
        for r in results))
