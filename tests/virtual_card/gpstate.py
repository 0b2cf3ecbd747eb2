"""The virtual card's GlobalPlatform state: key sets, the registry (load files, applications
and their life-cycle states), the authentication retry counter, as kept in the image's
``gp`` section (see :mod:`.gp` for the format and the ISD that works on it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from simtool.apdu.tlv import ber_decode
from simtool.errors import DataError, DecodeError
from simtool.gp.install_params import InstallParameters, ToolkitParameters

#: The STK menu applet's package and instance AIDs (ISO/IEC 7816-5 category F, proprietary:
#: F0 "simtool" 01 01); simtool's choice.
MENU_PACKAGE_AID = bytes.fromhex("F073696D746F6F6C01")
MENU_APPLET_AID = bytes.fromhex("F073696D746F6F6C0101")

LOADED, INSTALLED, SELECTABLE = 0x01, 0x03, 0x07
ISD_LIFE_CYCLE = 0x0F                       # SECURED (GP 2.3 §11.1.1 Table 11-5)

# The default key sets (the well-known GP test keys 40..4F, as on unpersonalised cards).
TEST_KEY = bytes(range(0x40, 0x50))
DEFAULT_KEY_TRIES = 10


@dataclass
class KeySet:
    scp: int                # 2 or 3
    kvn: int
    enc: bytes = field(repr=False)
    mac: bytes = field(repr=False)
    dek: bytes = field(repr=False)

    def to_json(self) -> dict:
        return {"scp": self.scp, "kvn": self.kvn, "enc": self.enc.hex().upper(),
                "mac": self.mac.hex().upper(), "dek": self.dek.hex().upper()}


@dataclass
class LoadFile:
    aid: bytes
    modules: tuple[bytes, ...]
    data: bytes = field(repr=False)
    life_cycle: int = LOADED


@dataclass
class Application:
    aid: bytes
    load_file: bytes
    module: bytes
    privileges: bytes
    parameters: bytes
    life_cycle: int = SELECTABLE


@dataclass
class GpState:
    keys: list[KeySet]
    sequence_counter: int = 0
    key_tries: int = DEFAULT_KEY_TRIES
    key_max_tries: int = DEFAULT_KEY_TRIES
    load_files: list[LoadFile] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)

    def copy(self) -> GpState:
        return GpState(list(self.keys), self.sequence_counter, self.key_tries,
                       self.key_max_tries, list(self.load_files), list(self.applications))

    def to_json(self) -> dict:
        return {"keys": [k.to_json() for k in self.keys],
                "sequence_counter": self.sequence_counter, "key_tries": self.key_tries,
                "key_max_tries": self.key_max_tries,
                "load_files": [{"aid": f.aid.hex().upper(), "life_cycle": f.life_cycle,
                                "modules": [m.hex().upper() for m in f.modules],
                                "data": f.data.hex().upper()} for f in self.load_files],
                "applications": [{"aid": a.aid.hex().upper(), "load_file": a.load_file.hex().upper(),
                                  "module": a.module.hex().upper(), "life_cycle": a.life_cycle,
                                  "privileges": a.privileges.hex().upper(),
                                  "parameters": a.parameters.hex().upper()}
                                 for a in self.applications]}

    @classmethod
    def from_json(cls, doc: object, where: str = "gp") -> GpState:
        try:
            if not isinstance(doc, dict):
                raise TypeError("must be an object")
            keys = [KeySet(int(k["scp"]), int(k["kvn"]), bytes.fromhex(k["enc"]),
                           bytes.fromhex(k["mac"]), bytes.fromhex(k["dek"]))
                    for k in doc["keys"]]
            files = [LoadFile(bytes.fromhex(f["aid"]),
                              tuple(bytes.fromhex(m) for m in f["modules"]),
                              bytes.fromhex(f["data"]), int(f["life_cycle"]))
                     for f in doc.get("load_files", [])]
            apps = [Application(bytes.fromhex(a["aid"]), bytes.fromhex(a["load_file"]),
                                bytes.fromhex(a["module"]), bytes.fromhex(a["privileges"]),
                                bytes.fromhex(a["parameters"]), int(a["life_cycle"]))
                    for a in doc.get("applications", [])]
            state = cls(keys, int(doc.get("sequence_counter", 0)),
                        int(doc.get("key_tries", DEFAULT_KEY_TRIES)),
                        int(doc.get("key_max_tries", DEFAULT_KEY_TRIES)), files, apps)
        except (TypeError, KeyError, ValueError) as exc:
            raise DataError(f"malformed GlobalPlatform section: {exc}", where=where) from None
        for k in state.keys:
            if k.scp not in (2, 3) or not 0 < k.kvn <= 0xFF:
                raise DataError(f"key set {k.kvn}: scp must be 2 or 3, kvn 01..FF", where=where)
        return state

    def menu_registered(self) -> bool:
        """An instance of the menu applet, selectable, with a toolkit menu entry."""
        for app in self.applications:
            if app.aid == MENU_APPLET_AID and app.life_cycle >= SELECTABLE:
                try:
                    toolkit = InstallParameters.decode(app.parameters).toolkit
                    if isinstance(toolkit, bytes):
                        toolkit = ToolkitParameters.decode(toolkit)
                except DecodeError:
                    return False
                return toolkit is not None and bool(toolkit.menu_entries)
        return False


def menu_toolkit_parameters() -> InstallParameters:
    """The install parameters the default image's menu applet was installed with."""
    from simtool.gp.install_params import MenuEntry

    return InstallParameters(toolkit=ToolkitParameters(
        priority=0x01, max_timers=0, max_menu_text_length=0x10,
        menu_entries=(MenuEntry(0x00, 0x01),)))


def default_gp(menu_applet: bool) -> GpState:
    state = GpState([KeySet(3, 0x30, TEST_KEY, TEST_KEY, TEST_KEY),
                     KeySet(2, 0x20, TEST_KEY, TEST_KEY, TEST_KEY)])
    if menu_applet:
        state.load_files.append(LoadFile(MENU_PACKAGE_AID, (MENU_APPLET_AID,), b""))
        state.applications.append(Application(
            MENU_APPLET_AID, MENU_PACKAGE_AID, MENU_APPLET_AID, b"\x00",
            menu_toolkit_parameters().encode()))
    return state


# --- the load file data block ------------------------------------------------------------------


def applet_aids(load_file_data_block: bytes) -> tuple[bytes, bytes, tuple[bytes, ...]]:
    """(package AID, applet AIDs) of a C4 load file data block (JCVM 3.0.5 §6.3, §6.5), or
    DecodeError.  The components are u1 tag, u2 size, info (§6.1)."""
    obj, rest = ber_decode(load_file_data_block)
    if obj.tag != 0xC4 or rest:
        raise DecodeError("not one C4 load file data block")
    data, pos, package, applets = obj.value, 0, b"", ()
    while pos < len(data):
        if pos + 3 > len(data):
            raise DecodeError(f"component header truncated at {pos}")
        tag, size = data[pos], int.from_bytes(data[pos + 1:pos + 3], "big")
        body = data[pos + 3:pos + 3 + size]
        if len(body) != size:
            raise DecodeError(f"component {tag} truncated")
        if tag == 1:                              # Header: magic, versions, flags, package
            if body[:4] != bytes.fromhex("DECAFFED") or len(body) < 10:
                raise DecodeError("Header component without its magic")
            n = body[9]
            package = body[10:10 + n]
        elif tag == 3:                            # Applet: count, (len, AID, u2 offset)*
            found, p = [], 1
            for _ in range(body[0] if body else 0):
                n = body[p]
                found.append(body[p + 1:p + 1 + n])
                p += 1 + n + 2
            applets = tuple(found)
        pos += 3 + size
    if not 5 <= len(package) <= 16:
        raise DecodeError("no package AID in the Header component")
    return obj.value, package, applets
