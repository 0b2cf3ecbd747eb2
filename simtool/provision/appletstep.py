"""The ``applet`` step of ``batch program``: a toolkit applet installed through the card's
ISD (:class:`simtool.gp.session.GpSession`) when the profile names one and the card lacks it.

The profile's ``[applet]`` table (copied into ``batch.toml`` by ``batch generate``)::

    [applet]
    cap = "applets/milo-menu.cap"   # the CAP file (relative: to provisioning/), or "on-card":
                                    # the package is on the card already, only INSTALL
    package = "F073696D746F6F6C01"  # the load file AID (default: the CAP's package)
    applet = "F073696D746F6F6C0101" # the module to instantiate (default: the CAP's first)
    instance = "F073696D746F6F6C0101"   # the application's AID (default: the applet's)
    menu_entries = [1]              # TS 102 226 toolkit parameters: positions in SET UP MENU
    max_text_length = 16
    priority = 1

The step opens a secure channel with ``batch program --gp-keys FILE`` (the key file of
``simtool gp``; the ISD's retry counter is checked first, as ``simtool gp`` does), reads the
registry, and does only what is missing: LOAD when the load file is absent (and a CAP is
given), INSTALL [for install and make selectable] when the application is absent; then the
registry must show it SELECTABLE.  A card pulled at any point is resumed the same way: an
interrupted LOAD leaves no load file (the card drops it with the session), so it is sent
again.  Cost: the session (SELECT ISD, GET DATA tries, INITIALIZE UPDATE, EXTERNAL
AUTHENTICATE) and GET STATUS of the applications = 5 APDUs when the applet is there; else
GET STATUS of the load files, INSTALL [for load], the LOAD blocks, INSTALL [for install], GET
STATUS again: 9 + the LOAD blocks (``tests/test_program_applet.py``).

The virtual card needs the menu applet's package and applet AIDs for its Python model to run
(:data:`tests.virtual_card.gp.MENU_APPLET_AID`); a real card runs the CAP's bytecode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simtool.card import Card, TrackedCard
from simtool.errors import CardError, DataError, SafetyRefusal, SecureChannelError
from simtool.gp.install_params import InstallParameters, MenuEntry, ToolkitParameters

class IsdNotOpened(SafetyRefusal):
    """No secure channel (wrong keys, too few tries left, a locked ISD): nothing was
    installed; the record stays resumable."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: ``cap = "on-card"``: the package is loaded already.
ON_CARD = "on-card"
SELECTABLE = 0x07
_KEYS = {"cap", "cap_sha256", "package", "applet", "instance", "menu_entries",
         "max_text_length", "priority"}


def _aid(table: Mapping[str, Any], key: str, where: str) -> bytes | None:
    value = table.get(key)
    if value is None:
        return None
    try:
        aid = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        aid = None
    if aid is None or not 5 <= len(aid) <= 16:
        raise DataError(f"applet.{key}: an AID is 5..16 bytes of hex, got {value!r}",
                        where=where)
    return aid


def _int(table: Mapping[str, Any], key: str, where: str, default: int, low: int,
         high: int) -> int:
    value = table.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise DataError(f"applet.{key}: must be an integer {low}..{high}", where=where)
    return value


@dataclass(frozen=True)
class AppletSpec:
    """What the ``applet`` step installs (see the module's docstring)."""

    cap: Path | None                     # None: on the card already
    package: bytes | None = None
    module: bytes | None = None
    instance: bytes | None = None
    toolkit: ToolkitParameters | None = None
    cap_sha256: str | None = field(default=None, compare=False)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str,
                   root: Path | None = None) -> AppletSpec:
        """A profile's or batch.toml's ``[applet]``; DataError naming ``where`` and the key."""
        if not isinstance(table, Mapping):
            raise DataError("applet: must be a table", where=where)
        unknown = set(table) - _KEYS
        if unknown:
            raise DataError(f"applet: unknown keys {sorted(unknown)} (allowed: "
                            f"{', '.join(sorted(_KEYS))})", where=where)
        cap_value = table.get("cap")
        if not isinstance(cap_value, str) or not cap_value:
            raise DataError(f'applet.cap: a CAP file path or "{ON_CARD}"', where=where)
        cap = None if cap_value == ON_CARD else Path(cap_value)
        if cap is not None and not cap.is_absolute() and root is not None:
            cap = root / cap
        package, module = _aid(table, "package", where), _aid(table, "applet", where)
        if cap is None and (package is None or module is None):
            raise DataError(f'applet: with cap = "{ON_CARD}" both package and applet AIDs '
                            "are needed", where=where)
        entries = table.get("menu_entries", [])
        if not isinstance(entries, list) or any(type(p) is not int or not 0 <= p <= 255
                                                for p in entries):
            raise DataError("applet.menu_entries: a list of positions 0..255", where=where)
        toolkit = None
        if entries:
            toolkit = ToolkitParameters(
                priority=_int(table, "priority", where, 1, 1, 255),
                max_menu_text_length=_int(table, "max_text_length", where, 16, 0, 255),
                menu_entries=tuple(MenuEntry(p, 0) for p in entries))
        digest = table.get("cap_sha256")
        if digest is not None and not isinstance(digest, str):
            raise DataError("applet.cap_sha256: a hex string", where=where)
        return cls(cap, package, module, _aid(table, "instance", where), toolkit, digest)

    def to_table(self) -> dict[str, Any]:
        """For batch.toml: the CAP's absolute path and SHA-256 (checked when programming)."""
        out: dict[str, Any] = {"cap": ON_CARD if self.cap is None else str(self.cap.resolve())}
        if self.cap is not None:
            out["cap_sha256"] = _sha256(self.cap)
        for key, aid in (("package", self.package), ("applet", self.module),
                         ("instance", self.instance)):
            if aid is not None:
                out[key] = aid.hex().upper()
        if self.toolkit is not None:
            out["menu_entries"] = [e.position for e in self.toolkit.menu_entries]
            out["max_text_length"] = self.toolkit.max_menu_text_length
            out["priority"] = self.toolkit.priority
        return out


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise DataError(f"cannot read the CAP file: {exc.strerror}", where=str(path)) from None


@dataclass(frozen=True)
class ResolvedApplet:
    """An :class:`AppletSpec` with its CAP read: the AIDs to use and the load file."""

    package: bytes
    module: bytes
    instance: bytes
    toolkit: ToolkitParameters | None
    cap: Any = field(default=None, repr=False)   # simtool.gp.cap.CapFile, None when on card

    @classmethod
    def of(cls, spec: AppletSpec) -> ResolvedApplet:
        """Read and check the CAP (its SHA-256 against batch.toml's): DataError naming it."""
        cap = None
        package, module = spec.package, spec.module
        if spec.cap is not None:
            from simtool.gp.cap import CapFile

            if spec.cap_sha256 is not None and _sha256(spec.cap) != spec.cap_sha256:
                raise DataError("the CAP file changed since the batch was generated "
                                "(cap_sha256 differs)", where=str(spec.cap))
            cap = CapFile.from_path(spec.cap)
            package = package or cap.package_aid
            if module is None:
                if not cap.applet_aids:
                    raise DataError("the CAP file has no applet to install", where=str(spec.cap))
                module = cap.applet_aids[0]
        assert package is not None and module is not None
        return cls(package, module, spec.instance or module, spec.toolkit, cap)


def install_applet(card: Card, applet: ResolvedApplet, keys: Any) -> bool:
    """Make ``applet`` SELECTABLE on ``card``; True when something was sent (LOAD and/or
    INSTALL), False when the card had it.  The card's selection is forgotten afterwards
    (the ISD was selected behind a :class:`TrackedCard`'s back)."""
    from simtool.gp.commands import StatusSubset
    from simtool.gp.session import GpSession

    session = GpSession(card.channel)
    try:
        session.select_isd()
        try:
            session.open(keys)
        except (SecureChannelError, SafetyRefusal, CardError) as exc:  # not CardRemoved
            raise IsdNotOpened(f"the ISD was not opened: {exc}", exc.exit_code) from None
        apps = {e.aid: e for e in session.get_status(StatusSubset.APPLICATIONS)}
        app = apps.get(applet.instance)
        if app is not None and app.life_cycle & SELECTABLE == SELECTABLE:
            return False
        if app is not None:
            raise DataError(f"application {applet.instance.hex().upper()} is on the card in "
                            f"life cycle {app.life_cycle:02X}, not SELECTABLE: left as it is")
        files = {e.aid for e in session.get_status(StatusSubset.LOAD_FILES_AND_MODULES)}
        if applet.package not in files:
            if applet.cap is None:
                raise DataError(f"load file {applet.package.hex().upper()} is not on the card "
                                'and the profile says cap = "on-card"')
            session.load(applet.cap)
        session.install(applet.package, applet.module, applet.instance,
                        parameters=InstallParameters(toolkit=applet.toolkit))
        apps = {e.aid: e for e in session.get_status(StatusSubset.APPLICATIONS)}
        app = apps.get(applet.instance)
        if app is None or app.life_cycle & SELECTABLE != SELECTABLE:
            from simtool.provision.plan import VerificationFailed

            raise VerificationFailed(f"application {applet.instance.hex().upper()} is not "
                                     "SELECTABLE after INSTALL")
        return True
    finally:
        if isinstance(card, TrackedCard):
            card.forget_selection()
