"""``simtool gp``: GlobalPlatform card content management through the card's ISD.

Every command selects the ISD, opens a secure channel (SCP02 or SCP03, C-MAC and C-DEC) with
the key set of ``--keys FILE`` (:mod:`simtool.gp.keyfile`; keys never on the command line),
and runs one library call of :class:`simtool.gp.session.GpSession`.  A wrong key set is
caught by the card cryptogram before EXTERNAL AUTHENTICATE, so it costs none of the card's
authentication tries; an ISD that says it allows fewer than 2 more failures is not opened
(exit 5).
"""

from __future__ import annotations

from pathlib import Path

import click

from simtool.cli.common import global_options, pass_cli
from simtool.errors import DataError

KEYS_HELP = ("Key file (TOML, mode 0600): the ISD's key set in [scp] (protocol 2 or 3, kvn, "
             "enc, mac, dek).  Keys are never taken from the command line.")


def _aid(value: str, what: str) -> bytes:
    try:
        aid = bytes.fromhex(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not hex", param_hint=what) from None
    if not 5 <= len(aid) <= 16:
        raise click.BadParameter(f"an AID is 5..16 bytes, got {len(aid)}", param_hint=what)
    return aid


def _open(obj, keys_path: str):
    from simtool.gp.keyfile import read_key_file
    from simtool.gp.session import GpSession

    keys = read_key_file(keys_path).require_scp()
    session = GpSession(obj.open_card().channel)
    session.select_isd()
    session.open(keys)
    return session


def _keys_option(f):
    return click.option("--keys", "keys_path", required=True, metavar="FILE",
                        type=click.Path(dir_okay=False), help=KEYS_HELP)(f)


@global_options
@click.group()
def gp() -> None:
    """GlobalPlatform: the card's registry, loading and installing applets, keys.

    The virtual card runs no Java Card bytecode: LOAD stores a load file as data, and the
    one application it can run is simtool's STK menu applet (package F073696D746F6F6C01,
    applet F073696D746F6F6C0101), whose menu is EF.MENU.

    \b
    Examples:
      simtool gp info --keys isd.keys
      simtool gp list --keys isd.keys
      simtool gp delete --keys isd.keys F073696D746F6F6C01 --related
    """


def _entry_json(entry, subset) -> dict:
    from simtool.gp.commands import life_cycle_name

    out = {"aid": entry.aid.hex().upper(), "life_cycle": life_cycle_name(subset, entry.life_cycle)}
    if entry.privileges is not None:
        out["privileges"] = list(entry.privileges.names)
    if entry.module_aids:
        out["modules"] = [m.hex().upper() for m in entry.module_aids]
    return out


@global_options
@gp.command()
@_keys_option
@pass_cli
def info(obj, keys_path) -> None:
    """The ISD: its key sets (GET DATA key information) and CPLC.

    \b
    Examples:
      simtool gp info --keys isd.keys
      simtool gp info --keys isd.keys --json
    """
    from simtool.gp.commands import ISD_AID, KEY_TYPES

    session = _open(obj, keys_path)
    keys = session.key_information()
    cplc = session.cplc()
    data = {"isd": ISD_AID.hex().upper(),
            "keys": [{"id": k.key_id, "version": k.key_version,
                      "components": [{"type": KEY_TYPES.get(t, f"{t:02X}"), "length": n}
                                     for t, n in k.components]} for k in keys],
            "cplc": None if cplc is None else {
                "ic_fabricator": cplc.ic_fabricator.hex().upper(),
                "ic_type": cplc.ic_type.hex().upper(),
                "ic_serial_number": cplc.ic_serial_number.hex().upper()}}

    def text() -> str:
        lines = [f"ISD {data['isd']}"]
        for k in data["keys"]:
            parts = ", ".join(f"{c['type']} {c['length']} bytes" for c in k["components"])
            lines.append(f"  key version {k['version']:02X} id {k['id']}: {parts}")
        if data["cplc"]:
            c = data["cplc"]
            lines.append(f"CPLC: IC fabricator {c['ic_fabricator']}, IC type {c['ic_type']}, "
                         f"serial {c['ic_serial_number']}")
        return "\n".join(lines)

    obj.emit(data, text)


@global_options
@gp.command("list")
@_keys_option
@pass_cli
def list_(obj, keys_path) -> None:
    """The card's registry (GET STATUS): ISD, applications, load files and their modules.

    \b
    Examples:
      simtool gp list --keys isd.keys
      simtool --json gp list --keys isd.keys
    """
    from simtool.gp.commands import StatusSubset

    registry = _open(obj, keys_path).registry()
    data = {"isd": [_entry_json(e, StatusSubset.ISD) for e in registry.isd],
            "applications": [_entry_json(e, StatusSubset.APPLICATIONS)
                             for e in registry.applications],
            "load_files": [_entry_json(e, StatusSubset.LOAD_FILES_AND_MODULES)
                           for e in registry.load_files]}

    def text() -> str:
        lines = []
        for title, key in (("ISD", "isd"), ("Applications", "applications"),
                           ("Load files", "load_files")):
            lines.append(f"{title}:" if data[key] else f"{title}: none")
            for e in data[key]:
                lines.append(f"  {e['aid']}  {e['life_cycle']}")
                for m in e.get("modules", []):
                    lines.append(f"    module {m}")
        return "\n".join(lines)

    obj.emit(data, text)


@global_options
@gp.command()
@_keys_option
@click.argument("cap_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--block-size", type=click.IntRange(16, 230), default=200, show_default=True,
              help="Bytes of load file per LOAD command.")
@pass_cli
def load(obj, keys_path, cap_file, block_size) -> None:
    """Load a CAP file's package (INSTALL [for load], LOAD blocks).

    \b
    Examples:
      simtool gp load --keys isd.keys milo-menu.cap
    """
    from simtool.gp.cap import CapFile

    cap = CapFile.from_path(cap_file)
    blocks = _open(obj, keys_path).load(cap, block_size=block_size)
    obj.emit({"package": cap.package_aid.hex().upper(), "blocks": blocks,
              "applets": [a.hex().upper() for a in cap.applet_aids]},
             f"loaded package {cap.package_aid.hex().upper()} in {blocks} LOAD blocks")


@global_options
@gp.command()
@_keys_option
@click.argument("package")
@click.option("--applet", "module", metavar="AID",
              help="The applet (module) to instantiate; default: the CAP file's first applet.")
@click.option("--instance", metavar="AID", help="The new application's AID (default: the "
                                                "applet's).")
@click.option("--menu-entry", "menu_entries", multiple=True, type=click.IntRange(0, 255),
              metavar="POSITION",
              help="A toolkit menu entry at this position of SET UP MENU (TS 102 226 toolkit "
                   "parameters; repeatable).  Without it no toolkit parameters are sent.")
@click.option("--max-text-length", type=click.IntRange(0, 255), default=16, show_default=True,
              help="Toolkit parameters: longest menu entry text.")
@click.option("--priority", type=click.IntRange(1, 255), default=1, show_default=True,
              help="Toolkit parameters: priority level.")
@pass_cli
def install(obj, keys_path, package, module, instance, menu_entries, max_text_length,
            priority) -> None:
    """Install and make selectable an application from a loaded package.  PACKAGE is the
    CAP file that was loaded, or the package AID in hex.

    \b
    Examples:
      simtool gp install --keys isd.keys milo-menu.cap --menu-entry 1
    """
    from simtool.gp.install_params import InstallParameters, MenuEntry, ToolkitParameters

    if Path(package).is_file():
        from simtool.gp.cap import CapFile

        cap = CapFile.from_path(package)
        package_aid = cap.package_aid
        if module is None:
            if not cap.applet_aids:
                raise DataError("the CAP file has no applet to install", where=package)
            module_aid = cap.applet_aids[0]
        else:
            module_aid = _aid(module, "--applet")
    else:
        package_aid = _aid(package, "PACKAGE")
        if module is None:
            raise click.UsageError("--applet AID is needed when PACKAGE is an AID")
        module_aid = _aid(module, "--applet")
    instance_aid = _aid(instance, "--instance") if instance else module_aid
    toolkit = None
    if menu_entries:
        toolkit = ToolkitParameters(priority=priority, max_menu_text_length=max_text_length,
                                    menu_entries=tuple(MenuEntry(p, 0) for p in menu_entries))
    _open(obj, keys_path).install(package_aid, module_aid, instance_aid,
                                  parameters=InstallParameters(toolkit=toolkit))
    obj.emit({"application": instance_aid.hex().upper(), "package": package_aid.hex().upper(),
              "module": module_aid.hex().upper(), "toolkit": toolkit is not None},
             f"installed {instance_aid.hex().upper()} (SELECTABLE)")


@global_options
@gp.command()
@_keys_option
@click.argument("aid")
@click.option("--related", is_flag=True,
              help="Also delete what depends on it (a package with its applications).")
@pass_cli
def delete(obj, keys_path, aid, related) -> None:
    """Delete an application or a load file (DELETE).

    \b
    Examples:
      simtool gp delete --keys isd.keys F073696D746F6F6C0101
      simtool gp delete --keys isd.keys F073696D746F6F6C01 --related
    """
    target = _aid(aid, "AID")
    _open(obj, keys_path).delete(target, related=related)
    obj.emit({"deleted": target.hex().upper(), "related": related},
             f"deleted {target.hex().upper()}" + (" and its related objects" if related else ""))


@global_options
@gp.command("put-key")
@_keys_option
@click.option("--new-keys", "new_path", required=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Key file (mode 0600) whose [scp] table holds the new key set and its kvn.")
@click.option("--replace", is_flag=True,
              help="Replace the key set of --keys instead of adding a new one.")
@pass_cli
def put_key(obj, keys_path, new_path, replace) -> None:
    """Put a new key set on the ISD (PUT KEY), checked against the card's key check values.
    Keep the new key file: without it the card cannot be managed again.

    \b
    Examples:
      simtool gp put-key --keys isd.keys --new-keys isd-v31.keys
    """
    from simtool.gp.keyfile import read_key_file

    new = read_key_file(new_path).require_scp()
    session = _open(obj, keys_path)
    old = session.keys
    if type(new) is not type(old):
        raise DataError("the new key set must be for the same protocol as the current one",
                        where=new_path)
    kvn, kcvs = session.put_key(new.version, [new.enc, new.mac, new.dek],
                                replace_version=old.version if replace else 0)
    obj.emit({"kvn": kvn, "kcv": [k.hex().upper() for k in kcvs]},
             f"key set {kvn:02X} stored (check values {' '.join(k.hex().upper() for k in kcvs)})")
