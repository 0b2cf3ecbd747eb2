"""The virtual card as a GlobalPlatform card, in process: its ISD (SCP02 / SCP03), the
registry (LOAD, INSTALL, DELETE, GET STATUS), the key retry rule, and the menu applet whose
menu is EF.MENU."""

from __future__ import annotations

import json
import secrets

import pytest

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.gp import scp02, scp03
from simtool.gp.cap import CapFile
from simtool.gp.commands import (ISD_AID, StatusSubset, delete, get_data, get_status,
                                 install_for_install, install_for_load, load_blocks,
                                 parse_get_status, parse_key_information, select)
from simtool.gp.install_params import InstallParameters, MenuEntry, ToolkitParameters
from simtool.secret import Secret
from simtool.stk.menu import Menu, MenuItem, Ussd, load_named_menu
from simtool.stk.menufile import decode_menu_file, encode_menu_file
from simtool.text import encode_alpha
from tests.test_gp_cap import OPAQUE, applet, build, header
from tests.virtual_card.gp import MENU_APPLET_AID, MENU_PACKAGE_AID, TEST_KEY, default_gp
from tests.virtual_card.image import EF_MENU, default_image, parse_image
from tests.virtual_card.uicc import VirtualUicc

ADM1 = "3131323233333434"
SELECT_USIM = bytes.fromhex("00A4040C10A0000000871002FFFFFFFF8907090000")


def select_menu_ef(card: VirtualUicc) -> None:
    assert card.process(SELECT_USIM) == b"\x90\x00"
    assert card.process(bytes.fromhex("00A4080C047FFFAF50")) == b"\x90\x00"
KEY = Secret(TEST_KEY)
SCP03_KEYS = scp03.Scp03Keys(KEY, KEY, KEY, 0x30)
SCP02_KEYS = scp02.Scp02Keys(KEY, KEY, KEY, 0x20)
WRONG = Secret(bytes(16))
TOOLKIT = InstallParameters(toolkit=ToolkitParameters(
    max_menu_text_length=16, menu_entries=(MenuEntry(0, 1),)))


def send(card: VirtualUicc, apdu: CommandApdu) -> ResponseApdu:
    return ResponseApdu.from_bytes(card.process(apdu.to_bytes()))


class Host:
    """An authenticated session with the card's ISD."""

    def __init__(self, card: VirtualUicc, scp: int = 3,
                 level: int = scp03.SecurityLevel.C_MAC | scp03.SecurityLevel.C_DECRYPTION):
        self.card = card
        assert send(card, select()).sw == 0x9000
        if scp == 3:
            hs = scp03.Scp03Handshake(SCP03_KEYS, secrets.token_bytes(8))
        else:
            hs = scp02.Scp02Handshake(SCP02_KEYS, secrets.token_bytes(8))
        r = send(card, hs.initialize_update())
        assert r.sw == 0x9000
        ext, self.channel = hs.complete(r.data, level)
        assert send(card, ext).sw == 0x9000

    def __call__(self, apdu: CommandApdu) -> ResponseApdu:
        return self.channel.unwrap(send(self.card, self.channel.wrap(apdu)))


def menu_cap() -> CapFile:
    """A structurally valid CAP of the menu applet's package (no real bytecode)."""
    parts = {"Header": header(MENU_PACKAGE_AID), "Applet": applet(MENU_APPLET_AID)}
    return CapFile.from_bytes(build({**parts, **OPAQUE}))


def card_without_menu_applet() -> VirtualUicc:
    doc = default_image()
    doc["gp"] = default_gp(menu_applet=False).to_json()
    doc["files"][EF_MENU] = "FF" * 8192
    return VirtualUicc(parse_image(doc))


def terminal_profile_menu(card: VirtualUicc) -> bytes | None:
    """TERMINAL PROFILE; the SET UP MENU fetched, or None when the card has no menu."""
    answer = card.process(bytes.fromhex("8010000014" + "FF" * 20))
    if answer[0] != 0x91:
        return None
    fetched = card.process(bytes((0x80, 0x12, 0, 0, answer[1])))
    assert fetched[fetched.index(b"\x81\x03\x01") + 3] == 0x25     # SET UP MENU
    return fetched


def entries(host: Host, subset: StatusSubset) -> list:
    r = host(get_status(subset))
    return [] if r.sw == 0x6A88 else parse_get_status(r.data)


# --- the menu as card data ------------------------------------------------------------------


def test_an_updated_menu_file_shows_at_the_next_terminal_profile():
    card = VirtualUicc.from_image(None)
    assert encode_alpha("Milo Telecom") in terminal_profile_menu(card)
    new = Menu("Nowe menu", (MenuItem(1, "Stan konta", Ussd("*108#")),))
    content = encode_menu_file(new)
    card.process(bytes.fromhex("0020000A08" + ADM1))
    select_menu_ef(card)
    for offset in range(0, len(content), 128):
        apdu = (bytes((0x00, 0xD6, offset >> 8, offset & 0xFF, 128))
                + content[offset:offset + 128])
        # 91xx once the file holds the whole new menu: the running applet announces it
        assert card.process(apdu)[0] in (0x90, 0x91)
    fetched = terminal_profile_menu(card)
    assert encode_alpha("Nowe menu") in fetched and encode_alpha("Milo Telecom") not in fetched
    assert decode_menu_file(card.image_state().files[EF_MENU]) == new


def test_the_menu_file_is_read_always_and_updated_with_adm1_only():
    card = VirtualUicc.from_image(None)
    select_menu_ef(card)
    assert card.process(bytes.fromhex("00B0000004"))[:2] == b"\xe1\x82"
    assert card.process(bytes.fromhex("00D6000001FF")) == b"\x69\x82"


def test_an_erased_menu_file_gives_no_menu():
    card = VirtualUicc.from_image(None)
    card.process(bytes.fromhex("0020000A08" + ADM1))
    select_menu_ef(card)
    card.process(bytes.fromhex("00D6000004FFFFFFFF"))
    assert terminal_profile_menu(card) is None


# --- the ISD --------------------------------------------------------------------------------


@pytest.mark.parametrize("scp", [2, 3])
def test_secure_channel_and_get_status(scp):
    card = VirtualUicc.from_image(None)
    host = Host(card, scp)
    isd = entries(host, StatusSubset.ISD)
    assert [e.aid for e in isd] == [ISD_AID] and isd[0].life_cycle == 0x0F
    apps = entries(host, StatusSubset.APPLICATIONS)
    assert [(e.aid, e.life_cycle) for e in apps] == [(MENU_APPLET_AID, 0x07)]
    files = entries(host, StatusSubset.LOAD_FILES_AND_MODULES)
    assert [(e.aid, e.module_aids) for e in files] == [(MENU_PACKAGE_AID, (MENU_APPLET_AID,))]


def test_get_data_key_information_without_a_session():
    card = VirtualUicc.from_image(None)
    send(card, select())
    r = send(card, get_data(0x00E0))
    assert r.sw == 0x9000
    assert {(k.key_version, k.components[0][0]) for k in parse_key_information(r.data)} == {
        (0x30, 0x88), (0x20, 0x80)}


def test_commands_outside_a_session_are_refused():
    card = VirtualUicc.from_image(None)
    send(card, select())
    assert send(card, get_status(StatusSubset.APPLICATIONS)).sw == 0x6982
    assert send(card, delete(MENU_APPLET_AID)).sw == 0x6982
    assert card.image_state().gp.applications


def test_load_install_and_delete_register_and_remove_the_menu():
    card = card_without_menu_applet()
    assert terminal_profile_menu(card) is None
    cap = menu_cap()
    host = Host(card)
    assert host(install_for_load(cap.package_aid)).sw == 0x9000
    for block in load_blocks(cap.load_file_data_block(), 64):
        assert host(block).sw == 0x9000
    files = entries(host, StatusSubset.LOAD_FILES_AND_MODULES)
    assert [(e.aid, e.module_aids) for e in files] == [(MENU_PACKAGE_AID, (MENU_APPLET_AID,))]
    r = host(install_for_install(cap.package_aid, MENU_APPLET_AID, MENU_APPLET_AID,
                                 parameters=TOOLKIT))
    assert r.sw == 0x9000
    # installed, but EF.MENU is still erased on this card: no menu yet
    assert terminal_profile_menu(card) is None
    card.process(bytes.fromhex("0020000A08" + ADM1))
    select_menu_ef(card)
    content = encode_menu_file(load_named_menu("milo"))
    end = len(content.rstrip(b"\xff"))
    for offset in range(0, end, 255):
        chunk = content[offset:min(offset + 255, end)]
        apdu = bytes((0x00, 0xD6, offset >> 8, offset & 0xFF, len(chunk))) + chunk
        assert card.process(apdu)[0] in (0x90, 0x91)          # 91xx: the menu announced
    assert encode_alpha("Milo Telecom") in terminal_profile_menu(card)
    host = Host(card)
    assert host(delete(MENU_PACKAGE_AID)).sw == 0x6985          # it has an application
    # 91xx: the terminal that showed the menu gets SET UP MENU "remove menu"
    assert host(delete(MENU_PACKAGE_AID, related=True)).sw >> 8 == 0x91
    assert card.image_state().gp.applications == []
    assert terminal_profile_menu(card) is None
    assert entries(host, StatusSubset.APPLICATIONS) == []


def test_install_without_toolkit_parameters_registers_no_menu():
    card = VirtualUicc.from_image(None)
    host = Host(card)
    assert host(delete(MENU_APPLET_AID)).sw == 0x9000
    assert host(install_for_install(MENU_PACKAGE_AID, MENU_APPLET_AID, MENU_APPLET_AID)).sw \
        == 0x9000
    assert terminal_profile_menu(card) is None


@pytest.mark.parametrize("apdu,sw", [
    (install_for_install(MENU_PACKAGE_AID, MENU_APPLET_AID, MENU_APPLET_AID), 0x6985),
    (install_for_install(bytes.fromhex("F0000000AA"), MENU_APPLET_AID,
                         bytes.fromhex("F0000000AA01")), 0x6A88),
    (install_for_load(MENU_PACKAGE_AID), 0x6985),
    (delete(bytes.fromhex("F0000000AA")), 0x6A88),
    (delete(ISD_AID), 0x6985),
    (load_blocks(b"\xc4\x01\x00")[0], 0x6985),
])
def test_refused_commands_change_nothing(apdu, sw, tmp_path):
    path = tmp_path / "card.json"
    card = VirtualUicc.from_image(path)
    before = json.loads(path.read_text())["gp"]
    host = Host(card)
    assert host(apdu).sw == sw
    after = json.loads(path.read_text())["gp"]
    assert after["applications"] == before["applications"]
    assert after["load_files"] == before["load_files"]


def test_a_malformed_load_file_is_refused_and_not_stored():
    card = card_without_menu_applet()
    host = Host(card)
    assert host(install_for_load(MENU_PACKAGE_AID)).sw == 0x9000
    assert host(load_blocks(b"\xc4\x03\x01\x00\x09")[0]).sw == 0x6A80
    assert card.image_state().gp.load_files == []


def test_wrong_keys_cost_a_try_and_the_card_locks_at_zero(tmp_path):
    path = tmp_path / "card.json"
    card = VirtualUicc.from_image(path)
    doc = json.loads(path.read_text())
    doc["gp"]["key_tries"] = doc["gp"]["key_max_tries"] = 2
    path.write_text(json.dumps(doc))
    card = VirtualUicc.from_image(path)

    def bad_authenticate() -> int:
        send(card, select())
        hs = scp03.Scp03Handshake(SCP03_KEYS, secrets.token_bytes(8))
        r = send(card, hs.initialize_update())
        if r.sw != 0x9000:
            return r.sw
        ext, _ = hs.complete(r.data)
        tampered = CommandApdu(ext.cla, ext.ins, ext.p1, ext.p2,
                               bytes((ext.data[0] ^ 1,)) + ext.data[1:])
        return send(card, tampered).sw

    assert bad_authenticate() == 0x6982
    assert json.loads(path.read_text())["gp"]["key_tries"] == 1
    Host(card)                                             # success restores the tries
    assert json.loads(path.read_text())["gp"]["key_tries"] == 2
    assert bad_authenticate() == 0x6982 and bad_authenticate() == 0x6982
    assert bad_authenticate() == 0x6983                    # blocked: no more attempts
    with pytest.raises(AssertionError):
        Host(card)


def test_a_wrong_c_mac_ends_the_session():
    card = VirtualUicc.from_image(None)
    host = Host(card, level=scp03.SecurityLevel.C_MAC)
    wrapped = host.channel.wrap(delete(MENU_APPLET_AID))
    tampered = CommandApdu(wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2,
                           wrapped.data[:-1] + bytes((wrapped.data[-1] ^ 1,)), wrapped.le)
    assert send(card, tampered).sw == 0x6982
    assert host(get_status(StatusSubset.APPLICATIONS)).sw == 0x6982   # no session any more
    assert card.image_state().gp.applications


# --- the GpSession glue over a Channel, against the card in process ------------------------


def _session(card: VirtualUicc, keys=SCP03_KEYS):
    from simtool.apdu.channel import Channel
    from simtool.apdu.transport import InProcessTransport
    from simtool.gp.session import GpSession

    session = GpSession(Channel(InProcessTransport(card)))
    session.select_isd()
    session.open(keys)
    return session


@pytest.mark.parametrize("keys", [SCP03_KEYS, SCP02_KEYS])
def test_gp_session_load_install_delete_and_registry(keys):
    card = card_without_menu_applet()
    session = _session(card, keys)
    assert session.registry().applications == ()
    assert session.load(menu_cap(), block_size=40) > 1
    session.install(MENU_PACKAGE_AID, MENU_APPLET_AID, MENU_APPLET_AID, parameters=TOOLKIT)
    registry = session.registry()
    assert [a.aid for a in registry.applications] == [MENU_APPLET_AID]
    assert [f.module_aids for f in registry.load_files] == [(MENU_APPLET_AID,)]
    session.delete(MENU_PACKAGE_AID, related=True)
    assert session.registry().applications == ()


@pytest.mark.parametrize("keys", [SCP03_KEYS, SCP02_KEYS])
def test_put_key_adds_a_key_set_that_opens_a_session(keys):
    card = VirtualUicc.from_image(None)
    session = _session(card, keys)
    new = [Secret(bytes([n]) * 16) for n in (1, 2, 3)]
    kvn, _ = session.put_key(0x31, new)
    assert kvn == 0x31
    cls = type(keys)
    _session(card, cls(new[0], new[1], new[2], 0x31)).registry()


def test_wrong_keys_never_reach_external_authenticate():
    from simtool.errors import CryptogramMismatch

    card = VirtualUicc.from_image(None)
    with pytest.raises(CryptogramMismatch):
        _session(card, scp03.Scp03Keys(WRONG, WRONG, WRONG, 0x30))
    assert card.image_state().gp.key_tries == card.image_state().gp.key_max_tries


def test_the_isd_also_answers_to_the_open_platform_aid():
    """pySim-shell's ADF.ISD selects A000000003000000 (Open Platform / GP 2.1)."""
    card = VirtualUicc.from_image(None)
    r = send(card, select(bytes.fromhex("A000000003000000")))
    assert r.sw == 0x9000 and ISD_AID in r.data
    assert send(card, select(bytes.fromhex("A000000003000001"))).sw == 0x6A82


def test_a_long_registry_comes_in_pages_and_the_session_follows_them():
    """GET STATUS answers 6310 while entries remain (GP 2.3 §11.4.2.2); GpSession asks for
    the next occurrence until 9000."""
    from simtool.apdu.channel import Channel
    from simtool.gp.session import GpSession

    card = card_without_menu_applet()
    answers: list[int] = []

    class Recording:
        def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
            r = card.process(apdu)
            answers.append(int.from_bytes(r[-2:], "big"))
            return r

    session = GpSession(Channel(Recording()))
    session.select_isd()
    session.open(SCP03_KEYS)
    aids = [MENU_PACKAGE_AID[:-1] + bytes((n,)) for n in range(2, 14)]
    for aid in aids:
        parts = {"Header": header(aid), "Applet": applet(aid + b"\x01")}
        session.load(CapFile.from_bytes(build({**parts, **OPAQUE})))
    answers.clear()
    assert [f.aid for f in session.registry().load_files] == aids
    assert 0x6310 in answers


def test_installing_the_menu_applet_after_terminal_profile_announces_the_menu():
    """EF.MENU holds a menu, the terminal has sent its profile: INSTALL of the menu applet
    is answered 91xx, and the terminal fetches SET UP MENU at once."""
    card = VirtualUicc.from_image(None)
    session = _session(card)
    session.delete(MENU_APPLET_AID)
    assert terminal_profile_menu(card) is None
    session = _session(card)
    session.install(MENU_PACKAGE_AID, MENU_APPLET_AID, MENU_APPLET_AID, parameters=TOOLKIT)
    pending = card.toolkit.pending_length()
    assert pending
    fetched = card.process(bytes((0x80, 0x12, 0, 0, pending)))
    assert encode_alpha("Milo Telecom") in fetched


# --- the card's retry counter, respected before INITIALIZE UPDATE ----------------------------


class _Logged:
    """The in-process transport, logging the INS of every command."""

    def __init__(self, card: VirtualUicc, refuse_tries_tag: bool = False) -> None:
        from simtool.apdu.transport import InProcessTransport

        self.inner = InProcessTransport(card)
        self.refuse_tries_tag = refuse_tries_tag
        self.ins: list[int] = []

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        self.ins.append(apdu[1])
        if self.refuse_tries_tag and apdu[1] == 0xCA and apdu[2:4] == b"\xdf\x71":
            return b"\x6a\x88"                  # a card that keeps its counter to itself
        return self.inner.transmit(apdu, secret=secret)

    def atr(self) -> bytes:
        return self.inner.atr()

    def reset(self) -> bytes:
        return self.inner.reset()

    def close(self) -> None:
        pass


def _card_with_tries(tmp_path, tries: int) -> VirtualUicc:
    path = tmp_path / "card.json"
    VirtualUicc.from_image(path)
    doc = json.loads(path.read_text())
    doc["gp"]["key_tries"] = tries
    path.write_text(json.dumps(doc))
    return VirtualUicc.from_image(path)


@pytest.mark.parametrize("tries", [0, 1])
def test_a_session_below_the_minimum_of_tries_is_refused_before_initialize_update(tmp_path,
                                                                                   tries):
    from simtool.apdu.channel import Channel
    from simtool.gp.session import MIN_KEY_TRIES, GpKeyTriesTooLow, GpSession

    card = _card_with_tries(tmp_path, tries)
    wire = _Logged(card)
    session = GpSession(Channel(wire))
    session.select_isd()
    with pytest.raises(GpKeyTriesTooLow) as refused:
        session.open(SCP03_KEYS)
    assert refused.value.exit_code == 5 and refused.value.tries_left == tries
    assert f"minimum of {MIN_KEY_TRIES}" in str(refused.value)
    assert 0x50 not in wire.ins and 0x82 not in wire.ins   # no INITIALIZE UPDATE / EXT AUTH
    assert card.image_state().gp.key_tries == tries


def test_the_counter_is_read_outside_a_session_and_enough_tries_open_it(tmp_path):
    from simtool.apdu.channel import Channel
    from simtool.gp.session import MIN_KEY_TRIES, GpSession

    card = _card_with_tries(tmp_path, MIN_KEY_TRIES)
    session = GpSession(Channel(_Logged(card)))
    session.select_isd()
    assert session.key_tries() == MIN_KEY_TRIES
    session.open(SCP03_KEYS)
    assert card.image_state().gp.key_tries == card.image_state().gp.key_max_tries


def test_a_card_that_does_not_tell_its_counter_is_opened_as_before(tmp_path):
    from simtool.apdu.channel import Channel
    from simtool.gp.session import GpSession

    card = _card_with_tries(tmp_path, 1)
    session = GpSession(Channel(_Logged(card, refuse_tries_tag=True)))
    session.select_isd()
    assert session.key_tries() is None
    session.open(SCP03_KEYS)                   # unknown: the cryptogram check still guards
    assert [e.aid for e in session.registry().isd] == [ISD_AID]
