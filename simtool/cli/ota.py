"""``simtool ota``: send an RFM / RAM script to the card as an OTA platform would, in SMS-PP
DOWNLOAD envelopes through the reader (ETSI TS 102 225 / 102 226, 3GPP TS 31.115), and show
the card's Proof of Receipt."""

from __future__ import annotations

import click

from simtool.cli.common import global_options, pass_cli
from simtool.errors import DataError

TARS = {"usim": "B00011", "uicc": "B00000", "isd": "000000"}


def _apdu(text: str, where: str):
    from simtool.apdu.command import CommandApdu

    try:
        raw = bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        raise DataError(f"{text!r} is not a hex APDU", where=where) from None
    if len(raw) < 5 or (len(raw) > 5 and len(raw) != 5 + raw[4]):
        raise DataError(f"{text!r} is not CLA INS P1 P2 P3 [data of P3 bytes]", where=where)
    if len(raw) == 5:
        return CommandApdu(raw[0], raw[1], raw[2], raw[3], b"", raw[4] or 256)
    return CommandApdu(raw[0], raw[1], raw[2], raw[3], raw[5:])


@global_options
@click.command()
@click.option("--keys", "keys_path", required=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Key file (TOML, mode 0600) with the OTA key set in [ota] (index, "
                   "algorithm aes|3des, kic, kid).")
@click.option("--counter", required=True, type=click.IntRange(1, 0xFF_FFFF_FFFF),
              help="The packet's counter: higher than the last one the card accepted.")
@click.option("--tar", default="usim", show_default=True, metavar="usim|uicc|isd|HEX",
              help="Target application: RFM of ADF.USIM (B00011), of the UICC (B00000), or "
                   "RAM of the ISD (000000).")
@click.option("--apdu", "apdus", multiple=True, metavar="HEX",
              help="A command of the script, T=0 form (repeatable, in order).")
@click.option("--script", "script_file", type=click.File("r"),
              help="A file of commands, one hex APDU per line (# comments).")
@click.option("--menu", "menu", metavar="NAME|FILE",
              help="Write this STK menu (provisioning/menus/NAME.toml or a .toml file) to "
                   "EF.MENU (RFM of ADF.USIM).")
@click.option("--expanded", is_flag=True, help="Send the expanded format (TS 102 226 §5.2).")
@pass_cli
def ota(obj, keys_path, counter, tar, apdus, script_file, menu, expanded) -> None:
    """Send a remote file/applet management script over SMS-PP and show the PoR.

    Exit 1 when the card refuses the packet (the PoR status says why: 01 checksum, 02
    counter too low, ...); nothing on the card changed then.

    \b
    Examples:
      simtool ota --keys isd.keys --counter 1 --apdu 00A4000C02AF50 --apdu 00B0000004
      simtool ota --keys isd.keys --counter 2 --menu milo
    """
    from simtool.gp.keyfile import read_key_file
    from simtool.ota.session import send_script

    commands = [_apdu(a, f"--apdu {n}") for n, a in enumerate(apdus, 1)]
    if script_file is not None:
        for n, line in enumerate(script_file, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                commands.append(_apdu(line, f"{script_file.name}:{n}"))
    if menu is not None:
        from pathlib import Path

        from simtool.stk.menu import load_menu, load_named_menu
        from simtool.stk.menufile import update_apdus

        loaded = load_menu(menu) if Path(menu).suffix == ".toml" else load_named_menu(menu)
        commands += update_apdus(loaded)
        tar = "usim"
    if not commands:
        raise click.UsageError("nothing to send: give --apdu, --script or --menu")
    tar_hex = TARS.get(tar.lower(), tar)
    try:
        tar_bytes = bytes.fromhex(tar_hex)
    except ValueError:
        tar_bytes = b""
    if len(tar_bytes) != 3:
        raise click.BadParameter("a TAR is usim, uicc, isd or 3 bytes of hex", param_hint="--tar")
    keys = read_key_file(keys_path).require_ota()
    result = send_script(obj.open_card().channel, tar_bytes, commands, keys, counter,
                         expanded=expanded)
    data: dict = {"tar": tar_bytes.hex().upper(), "counter": counter,
                  "envelopes": result.envelopes, "por": None}
    response = result.response
    if result.por is not None:
        data["por"] = {"status": result.por.status, "text": result.por.status_text}
    if response is not None and hasattr(response, "commands_executed"):
        data.update(executed=response.commands_executed, last_sw=f"{response.last_sw:04X}",
                    last_data=response.last_data.hex().upper())
    elif response is not None:
        data.update(executed=response.executed,
                    responses=[r.to_bytes().hex().upper() for r in response.responses])

    def text() -> str:
        lines = [f"sent {len(commands)} command(s) to TAR {data['tar']} in "
                 f"{data['envelopes']} envelope(s), counter {counter}"]
        if data["por"] is None:
            lines.append("no PoR")
        else:
            lines.append(f"PoR: {data['por']['text']}")
        if "last_sw" in data:
            lines.append(f"executed {data['executed']}, last SW {data['last_sw']}"
                         + (f", data {data['last_data']}" if data["last_data"] else ""))
        elif "responses" in data:
            lines += [f"  {r}" for r in data["responses"]]
        return "\n".join(lines)

    obj.emit(data, text)
