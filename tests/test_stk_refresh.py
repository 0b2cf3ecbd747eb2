"""REFRESH (TS 102 223 §6.4.7 / §6.6.13) and File List (§8.18): byte-exact vectors, written
from the clauses (simtool.stk.refresh.EXAMPLES), both ways; malformed file lists refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import DecodeError, EncodeError
from simtool.stk.commands import decode_proactive
from simtool.stk.refresh import EXAMPLES, FileList, Refresh, RefreshMode


@pytest.mark.parametrize("obj,hexdata", EXAMPLES, ids=lambda v: str(v)[:40])
def test_examples_both_ways(obj, hexdata):
    data = bytes.fromhex(hexdata)
    assert obj.encode() == data
    if isinstance(obj, Refresh):
        assert decode_proactive(data) == obj
    else:
        assert FileList.decode(data) == obj


def test_the_menu_applets_refresh_byte_for_byte():
    """File change notification of EF.MENU (3F00/7FFF/AF50): D0 12, command details 81 03
    01 01 01 (number 1, REFRESH, qualifier 01), device identities 82 02 81 82 (UICC →
    terminal), file list 92 07 (CR set), one file, its path."""
    cmd = Refresh.file_change((0x3F00, 0x7FFF, 0xAF50))
    assert cmd.encode().hex().upper() == "D01281030101018202818292070" "13F007FFFAF50"
    assert cmd.mode is RefreshMode.FILE_CHANGE_NOTIFICATION and cmd.mode.lists_files
    assert cmd.describe() == "REFRESH #1 file change notification: 3F00/7FFF/AF50"


@pytest.mark.parametrize("hexdata,message", [
    ("9200", "count"),
    ("9203017FFF", "MF"),
    ("9205023F002FE2", "says 2 files, holds 1"),
    ("9204013F00AF", "2-byte"),
])
def test_malformed_file_lists_are_refused(hexdata, message):
    with pytest.raises(DecodeError, match=message):
        FileList.decode(bytes.fromhex(hexdata))


def test_a_path_must_start_at_the_mf():
    with pytest.raises(EncodeError, match="3F00"):
        FileList(((0x7FFF, 0xAF50),))


# --- the virtual card's menu applet announces a changed menu; the handset follows ----------

MILO_HEX_REFRESH = "D012 810301010182028182 9207 01 3F00 7FFF AF50"


def _running_handset(profile=None):
    from simtool.apdu.channel import Channel
    from simtool.apdu.transport import InProcessTransport
    from simtool.stk.handset import Handset, ScriptedUI
    from tests.test_stk_handset import FakeNetwork
    from simtool.stk.profile import DEFAULT
    from tests.virtual_card import VirtualUicc

    vc = VirtualUicc.from_image(None)
    channel = Channel(InProcessTransport(vc))
    hs = Handset(channel, FakeNetwork(), ScriptedUI(), profile or DEFAULT)
    assert hs.menu().title == "Milo Telecom"
    return vc, channel, hs


def _renamed_milo():
    import dataclasses

    from simtool.stk.menu import load_named_menu

    menu = load_named_menu("milo")
    first = dataclasses.replace(menu.items[0], title="Twój numer")
    return dataclasses.replace(menu, items=(first, *menu.items[1:]))


def _write_menu_with_adm1(channel, menu) -> None:
    """What ``batch program``'s menu step does: VERIFY ADM1, then simtool.provision.menuwrite
    (the header last)."""
    from simtool.card import Card
    from simtool.provision.menuwrite import MenuContent, write_menu
    from simtool.secret import Secret

    card = Card(channel)
    card.verify_adm(0x0A, Secret(b"11223344"), min_tries=2)
    assert write_menu(card, MenuContent.from_menu("renamed", menu))


def test_an_adm1_update_of_ef_menu_sends_refresh_then_the_new_menu():
    vc, channel, hs = _running_handset()
    _write_menu_with_adm1(channel, _renamed_milo())
    transcript = hs.poll()
    commands = transcript.commands
    assert [c.name for c in commands] == ["REFRESH", "SET UP MENU"]
    raw = [e.raw for e in transcript.events if e.kind == "proactive"]
    assert raw[0] == bytes.fromhex(MILO_HEX_REFRESH)
    assert any(e.kind == "refresh" and e.text.startswith("re-read 3F00/7FFF/AF50")
               for e in transcript.events)
    assert transcript.results == (0x00, 0x00)
    assert [e.title for e in hs.main_menu.items][0] == "Twój numer"
    assert hs.poll().events == ()                         # nothing more pending


def test_a_terminal_without_refresh_gets_only_the_new_set_up_menu():
    from simtool.stk.profile import DEFAULT

    vc, channel, hs = _running_handset(DEFAULT.without("refresh"))
    _write_menu_with_adm1(channel, _renamed_milo())
    assert [c.name for c in hs.poll().commands] == ["SET UP MENU"]
    assert hs.main_menu.items[0].title == "Twój numer"


def test_a_write_cut_short_announces_nothing_until_the_header_lands():
    """Body blocks without the header: the file does not decode, nothing is announced, the
    terminal keeps the old menu; the header's UPDATE then announces the new one."""
    from simtool.apdu.command import CommandApdu
    from simtool.card import Card
    from simtool.secret import Secret
    from simtool.stk.menufile import update_apdus

    vc, channel, hs = _running_handset()
    Card(channel).verify_adm(0x0A, Secret(b"11223344"), min_tries=2)
    Card(channel).select_usim()
    apdus = update_apdus(_renamed_milo())
    for apdu in apdus[:-1]:
        assert channel.send(apdu).sw == 0x9000
    assert hs.poll().events == () and hs.main_menu.items[0].title == "Mój numer"
    last = apdus[-1]
    assert channel.send(CommandApdu(last.cla, last.ins, last.p1, last.p2, last.data)
                        ).sw >> 8 == 0x91
    assert [c.name for c in hs.poll().commands] == ["REFRESH", "SET UP MENU"]


def test_deleting_the_menu_applet_removes_the_terminals_menu():
    from simtool.card import Card
    from simtool.gp.session import GpSession
    from tests.test_gp_virtual_card import SCP03_KEYS
    from tests.virtual_card.gp import MENU_APPLET_AID

    vc, channel, hs = _running_handset()
    session = GpSession(channel)
    session.select_isd()
    session.open(SCP03_KEYS)
    session.delete(MENU_APPLET_AID)
    Card(channel).select_usim()                # the terminal's own traffic again, not the ISD
    transcript = hs.poll()
    assert [e.raw for e in transcript.events if e.kind == "proactive"] == [
        bytes.fromhex("D00D 810301250082028182 8500 8F00")]   # SET UP MENU "remove menu"
    assert transcript.results == (0x00,)
    assert hs.main_menu is None and hs.menu().items == ()


_fid = st.integers(0, 0xFFFF).filter(lambda f: f != 0x3F00)
_path = st.lists(_fid, min_size=1, max_size=4).map(lambda p: (0x3F00, *p))


@given(st.lists(_path, min_size=1, max_size=6), st.sampled_from(list(RefreshMode)),
       st.integers(0, 255))
def test_refresh_round_trip(paths, mode, number):
    cmd = Refresh(number=number, qualifier=mode, file_list=FileList(tuple(paths)))
    assert decode_proactive(cmd.encode()) == cmd
