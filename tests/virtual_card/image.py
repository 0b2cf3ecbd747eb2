"""The card image: a JSON file holding everything the card remembers across power cycles.

::

    {"format": "simtool-virtual-card/1",
     "atr": "3B9F...",                               (optional; default: SJA2 variant 1)
     "pins": {"PIN1": {"value": "1234", "enabled": true, "tries": 3, "max_tries": 3,
                       "puk": "12345678", "puk_tries": 10, "puk_max_tries": 10}, "PIN2": ...,
              "ADM1": {"value": "11223344", ...}},
     "auth": {"usim": {"cfg": "14", "ki": "<32 hex>", "op_opc": "<32 hex>"},   (EF.USIM_AUTH_KEY)
              "gsm":  {"cfg": "14", "ki": ..., "op_opc": ...},                 (EF.SIM_AUTH_KEY)
              "sqn": "<12 hex: highest SQN accepted>", "sqn_window": null | <int>},
     "files": {"<image key>": "<hex>", "<image key>": ["<record hex>", ...], ...},
     "gp": {...},                    (GlobalPlatform key sets and registry, see :mod:`.gp`)
     "ota": {...}}                   (OTA key sets and counters, see :mod:`.ota`)

The image key of a file is its path of FIDs from the MF, as the card tree gives it
(``Located.key``: DF.GSM's EF.IMSI is MF FID / DF.GSM FID / EF.IMSI FID, slash-separated);
the file's structure and size are the tree's.

The STK menu is card data: EF.MENU (ADF.USIM, :mod:`simtool.stk.menufile`), shown
when the registry holds the menu applet (:meth:`.gp.GpState.menu_registered`).  An older image
may still carry ``"stk_menu"`` (a :class:`simtool.stk.menu.Menu` dict) instead: it is read as
that menu in EF.MENU with the menu applet installed (an invalid one leaves EF.MENU erased), and
written back in the new form.  An image without ``"gp"`` / ``"ota"`` gets the default key sets.

Files missing from ``files`` get the built-in default content.  The image holds secrets, so it
is created with mode 0600 and rewritten atomically (temporary file in the same directory,
fsync, rename, fsync of the directory): a reader — or a restarted emulator — sees either the
old image or the new one, never a mix.
"""

from __future__ import annotations

import json
import logging
import os
import secrets as _random
from dataclasses import dataclass, field
from pathlib import Path

from simtool.errors import DataError

from .defaults import EF_MENU, default_files, default_image
from .gp import GpState, default_gp
from .ota import OtaState, default_ota
from .layout import AUTH_GSM, AUTH_USIM, SJA2_ATR, check_shape, image_files
from .pins import Pin

log = logging.getLogger("tests.virtual_card")

FORMAT = "simtool-virtual-card/1"
PIN_NAMES = ("PIN1", "PIN2", "ADM1", "ADM2")
#: an image written before the card had ADM2 (key reference 0B) gets the default one
OPTIONAL_PINS = ("ADM2",)
_TOP_KEYS = {"format", "atr", "pins", "auth", "files", "gp", "ota", "stk_menu"}
__all__ = ["EF_MENU", "ImageState", "default_state", "load_image", "parse_image", "save_image"]


@dataclass
class ImageState:
    """A validated image, as the card uses it."""

    atr: bytes
    pins: dict[str, Pin]
    auth: dict[str, bytes] = field(repr=False)   # AUTH_USIM / AUTH_GSM -> key file content
    sqn: int
    sqn_window: int | None
    files: dict[str, bytes | list[bytes]] = field(repr=False)
    gp: GpState = field(default_factory=lambda: default_gp(False), repr=False)
    ota: OtaState = field(default_factory=default_ota, repr=False)


def _hex(value: object, where: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise DataError("must be a hex string", where=where)
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise DataError("is not valid hex", where=where) from None
    if size is not None and len(raw) != size:
        raise DataError(f"must be {size} bytes, got {len(raw)}", where=where)
    return raw


def _auth_key(doc: object, where: str) -> bytes:
    if not isinstance(doc, dict) or set(doc) != {"cfg", "ki", "op_opc"}:
        raise DataError('must be {"cfg": .., "ki": .., "op_opc": ..}', where=where)
    return (_hex(doc["cfg"], f"{where}.cfg", 1) + _hex(doc["ki"], f"{where}.ki", 16)
            + _hex(doc["op_opc"], f"{where}.op_opc", 16))


def _auth_json(content: bytes) -> dict:
    return {"cfg": content[:1].hex().upper(), "ki": content[1:17].hex().upper(),
            "op_opc": content[17:33].hex().upper()}


def parse_image(doc: object) -> ImageState:
    """Validate a decoded JSON image; DataError names the offending field."""
    if not isinstance(doc, dict):
        raise DataError("a card image must be a JSON object")
    if doc.get("format") != FORMAT:
        raise DataError(f'format must be "{FORMAT}"', where="format")
    if set(doc) - _TOP_KEYS:
        raise DataError(f"unknown keys {sorted(set(doc) - _TOP_KEYS)}")
    atr = _hex(doc["atr"], "atr") if "atr" in doc else SJA2_ATR
    if not 2 <= len(atr) <= 33:
        raise DataError("an ATR is 2..33 bytes", where="atr")

    pins_doc = doc.get("pins")
    required = set(PIN_NAMES) - set(OPTIONAL_PINS)
    if not isinstance(pins_doc, dict) or not required <= set(pins_doc) <= set(PIN_NAMES):
        raise DataError(f"must hold {', '.join(PIN_NAMES)} (ADM2 may be left out)",
                        where="pins")
    defaults = default_image()["pins"]
    pins = {name: Pin.from_json(name, pins_doc[name] if name in pins_doc else defaults[name])
            for name in PIN_NAMES}

    auth_doc = doc.get("auth")
    if not isinstance(auth_doc, dict) or set(auth_doc) != {"usim", "gsm", "sqn", "sqn_window"}:
        raise DataError('must hold "usim", "gsm", "sqn" and "sqn_window"', where="auth")
    auth = {AUTH_USIM: _auth_key(auth_doc["usim"], "auth.usim"),
            AUTH_GSM: _auth_key(auth_doc["gsm"], "auth.gsm")}
    sqn = int.from_bytes(_hex(auth_doc["sqn"], "auth.sqn", 6), "big")
    window = auth_doc["sqn_window"]
    if window is not None and (not isinstance(window, int) or isinstance(window, bool)
                               or not 0 < window < 1 << 48):
        raise DataError("must be null or a positive integer below 2^48", where="auth.sqn_window")

    files_doc = doc.get("files", {})
    if not isinstance(files_doc, dict):
        raise DataError("must be an object", where="files")
    files = default_files()
    known = image_files()
    for key, value in files_doc.items():
        if key not in known:
            raise DataError("no such file on this card", where=f"files.{key}")
        if isinstance(value, list):
            files[key] = [_hex(r, f"files.{key}[{i}]") for i, r in enumerate(value)]
        else:
            files[key] = _hex(value, f"files.{key}")
        check_shape(known[key], files[key])

    menu = doc.get("stk_menu")
    if menu is not None and not isinstance(menu, dict):
        raise DataError("must be an object", where="stk_menu")
    if "gp" in doc:
        gp = GpState.from_json(doc["gp"])
    else:
        gp = default_gp(menu_applet=menu is not None)
    if menu is not None:
        files[EF_MENU] = _legacy_menu(menu)
    ota = OtaState.from_json(doc["ota"]) if "ota" in doc else default_ota()
    return ImageState(atr, pins, auth, sqn, window, files, gp, ota)


def _legacy_menu(menu: dict) -> bytes:
    """EF.MENU for an older image's ``stk_menu``; erased when it is no valid menu."""
    size = image_files()[EF_MENU].node.size
    try:
        from simtool.stk.menu import Menu
        from simtool.stk.menufile import encode_menu_file
        return encode_menu_file(Menu.from_dict(menu, source="stk_menu"), size)
    except Exception as exc:   # noqa: BLE001 - a bad menu must not kill the card
        log.error("the image's stk_menu is no menu: %s", exc)
        return b"\xff" * size


def image_document(state: ImageState) -> dict:
    doc: dict = {"format": FORMAT}
    if state.atr != SJA2_ATR:
        doc["atr"] = state.atr.hex().upper()
    doc["pins"] = {name: state.pins[name].to_json() for name in PIN_NAMES}
    doc["auth"] = {"usim": _auth_json(state.auth[AUTH_USIM]),
                   "gsm": _auth_json(state.auth[AUTH_GSM]),
                   "sqn": state.sqn.to_bytes(6, "big").hex().upper(),
                   "sqn_window": state.sqn_window}
    doc["files"] = {key: (value.hex().upper() if isinstance(value, bytes)
                          else [r.hex().upper() for r in value])
                    for key, value in state.files.items()}
    doc["gp"] = state.gp.to_json()
    doc["ota"] = state.ota.to_json()
    return doc


def default_state() -> ImageState:
    return parse_image(default_image())


def load_image(path: Path) -> ImageState:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the card image: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError:
        raise DataError("the card image is not UTF-8 text", where=str(path)) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON: {exc.msg} (line {exc.lineno})", where=str(path)) from None
    try:
        return parse_image(doc)
    except DataError as exc:
        raise DataError(str(exc), where=str(path)) from None


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: new file 0600 in the same directory, fsync, rename,
    fsync the directory.  On any failure the old file is untouched and the temp file removed."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_image(path: Path, state: ImageState) -> None:
    write_atomic(path, json.dumps(image_document(state), indent=1) + "\n")
