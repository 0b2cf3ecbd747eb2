"""The virtual card's OTA receiver, in process: SMS-PP DOWNLOAD envelopes with TS 102 225
command packets, RFM over the file system (EF.MENU), RAM to the ISD, and the PoR statuses of
refused packets (nothing changes on the card)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.transport import InProcessTransport
from simtool.errors import PorError
from simtool.gp.commands import StatusSubset, delete, get_status, parse_get_status
from simtool.ota.packet import (Algorithm, CounterPolicy, Integrity, OtaKey, OtaKeyset,
                                PorRequest, RemoteResponse, Spi, build_command_packet,
                                open_response_packet)
from simtool.ota.remote import ExpandedResponse, compact_script, expanded_script
from simtool.ota.smspp import Address, por_from_response, sms_pp_download
from simtool.secret import Secret
from simtool.stk.menu import load_named_menu
from simtool.stk.menufile import decode_menu_file, encode_menu_file
from simtool.text import encode_alpha
from tests.virtual_card.gp import MENU_APPLET_AID
from tests.virtual_card.image import EF_MENU
from tests.virtual_card.uicc import VirtualUicc

h = bytes.fromhex
RFM_USIM, RFM_UICC, RAM = h("B00011"), h("B00000"), h("000000")
AES_KEYS = OtaKeyset(OtaKey(1, Algorithm.AES, Secret(h("11" * 16))),
                     OtaKey(1, Algorithm.AES, Secret(h("22" * 16))))
TDES_KEYS = OtaKeyset(OtaKey(2, Algorithm.TDES_2KEY, Secret(h("33" * 16))),
                      OtaKey(2, Algorithm.TDES_2KEY, Secret(h("44" * 16))))
SPI = Spi(Integrity.CC, True, CounterPolicy.HIGHER, PorRequest.ALWAYS, Integrity.CC)
SENDER = Address("1234")


def exchange(card: VirtualUicc, apdu: bytes) -> bytes:
    """One command as a terminal sends it: the response (data + SW1 SW2) completed by
    simtool's Channel (61xx → GET RESPONSE ...), the one place those rules live."""
    return Channel(InProcessTransport(card)).send_raw(apdu).to_bytes()


def ota(card: VirtualUicc, tar: bytes, script: bytes, counter: int, *, keys=AES_KEYS,
        spi=SPI, tamper=None):
    """Send one command packet; the opened PoR (checked against the command's TAR and
    counter), or None when the card answered without one."""
    packet = build_command_packet(tar, script, spi, keys, counter)
    if tamper is not None:
        packet = tamper(bytearray(packet))
    answer = b""
    for env in sms_pp_download(bytes(packet), SENDER):
        answer = exchange(card, env.to_bytes())
        assert answer[-2:] in (b"\x90\x00", b"\x91\x00") or answer[-2] == 0x91, answer.hex()
    if len(answer) == 2:
        return None
    udh, raw = por_from_response(answer[:-2])
    return open_response_packet(raw, spi, keys, udh=udh, tar=tar, counter=counter)


def menu_update_script(new_title: str) -> tuple[bytes, bytes, int]:
    """SELECT EF.MENU, UPDATE BINARY of the bytes that change when item 3 gets
    ``new_title``; the new file content; the number of commands."""
    menu = load_named_menu("milo")
    items = list(menu.items)
    items[2] = dataclasses.replace(items[2], title=new_title)
    old, new = encode_menu_file(menu), encode_menu_file(dataclasses.replace(
        menu, items=tuple(items)))
    start = next(i for i in range(len(new)) if old[i] != new[i])
    end = max(len(old.rstrip(b"\xff")), len(new.rstrip(b"\xff")))
    apdus = [CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("AF50"))]
    for offset in range(start, end, 200):
        chunk = new[offset:min(offset + 200, end)]
        apdus.append(CommandApdu(0x00, 0xD6, offset >> 8, offset & 0xFF, chunk))
    return compact_script(apdus), new, len(apdus)


def menu_title(card: VirtualUicc) -> bytes | None:
    answer = card.process(h("8010000014" + "FF" * 20))
    if answer[0] != 0x91:
        return None
    return card.process(bytes((0x80, 0x12, 0, 0, answer[1])))


def test_rfm_update_of_the_menu_file_changes_the_menu():
    card = VirtualUicc.from_image(None)
    script, new, count = menu_update_script("Saldo")
    por = ota(card, RFM_USIM, script, counter=1).check()
    response = RemoteResponse.decode(por.data)
    assert (response.commands_executed, response.last_sw) == (count, 0x9000)
    assert card.image_state().files[EF_MENU] == new
    fetched = menu_title(card)
    assert encode_alpha("Saldo") in fetched and encode_alpha("Stan konta") not in fetched


def test_rfm_reads_with_its_own_selection_and_leaves_the_terminals_alone():
    card = VirtualUicc.from_image(None)
    card.process(h("00A4000C027F20"))
    card.process(h("00A4000C026F46"))                         # the terminal: EF.SPN
    script = compact_script([CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("2FE2")),
                             CommandApdu(0x00, 0xB0, 0x00, 0x00, b"", 10)])
    por = ota(card, RFM_UICC, script, counter=1, keys=TDES_KEYS).check()
    response = RemoteResponse.decode(por.data)
    assert (response.commands_executed, response.last_sw) == (2, 0x9000)
    assert response.last_data == card.image_state().files["3F00/2FE2"]
    assert card.process(h("00B0000011"))[:17] == card.image_state().files["3F00/7F20/6F46"]
    assert card.process(h("00D6000001FF")) == h("6982")        # still no ADM1 for the terminal


def test_expanded_script_gets_an_expanded_response():
    card = VirtualUicc.from_image(None)
    script = expanded_script([CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("AF50")),
                              CommandApdu(0x00, 0xB0, 0x00, 0x00, b"", 2)])
    por = ota(card, RFM_USIM, script, counter=1).check()
    response = ExpandedResponse.decode(por.data)
    assert response.executed == 2 and response.last == ResponseApdu(h("E182"), 0x9000)


def test_a_failing_command_ends_the_script():
    card = VirtualUicc.from_image(None)
    script = compact_script([CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("6FFF")),
                             CommandApdu(0x00, 0xD6, 0x00, 0x00, b"\x00")])
    response = RemoteResponse.decode(ota(card, RFM_USIM, script, counter=1).check().data)
    assert (response.commands_executed, response.last_sw) == (1, 0x6A82)


def test_ram_deletes_the_menu_applet():
    card = VirtualUicc.from_image(None)
    assert menu_title(card) is not None
    por = ota(card, RAM, compact_script([delete(MENU_APPLET_AID)]), counter=1).check()
    assert RemoteResponse.decode(por.data).last_sw == 0x9000
    assert menu_title(card) is None
    status = ota(card, RAM, compact_script([get_status(StatusSubset.LOAD_FILES)]), counter=2)
    files = parse_get_status(RemoteResponse.decode(status.check().data).last_data)
    assert [f.aid.hex().upper() for f in files] == ["F073696D746F6F6C01"]


def _flip_last(packet: bytearray) -> bytearray:
    packet[-1] ^= 0x01
    return packet


WRONG_KID = OtaKeyset(AES_KEYS.kic, OtaKey(1, Algorithm.AES, Secret(h("23" * 16))))
WRONG_KIC = OtaKeyset(OtaKey(1, Algorithm.AES, Secret(h("12" * 16))), AES_KEYS.kid)
SIGNED_ONLY = Spi(Integrity.CC, False, CounterPolicy.HIGHER, PorRequest.ALWAYS, Integrity.CC)


@pytest.mark.parametrize("case,kwargs,status", [
    ("replayed counter", dict(counter=5), 0x02),
    ("wrong KID key", dict(counter=9, keys=WRONG_KID), 0x01),
    ("wrong KIc key", dict(counter=9, keys=WRONG_KIC), 0x01),
    ("tampered checksum", dict(counter=9, spi=SIGNED_ONLY, tamper=_flip_last), 0x01),
    ("no checksum", dict(counter=9, spi=Spi(Integrity.NONE, False, CounterPolicy.HIGHER)), 0x0A),
    ("no counter check", dict(counter=9, spi=dataclasses.replace(
        SPI, counter=CounterPolicy.AVAILABLE)), 0x0A),
    ("unknown key set", dict(counter=9, keys=OtaKeyset(
        OtaKey(7, Algorithm.AES, Secret(h("11" * 16))),
        OtaKey(7, Algorithm.AES, Secret(h("22" * 16))))), 0x06),
    ("unknown TAR", dict(counter=9, tar=h("B0FFFF")), 0x09),
    ("one higher, skipped", dict(counter=9, spi=dataclasses.replace(
        SPI, counter=CounterPolicy.ONE_HIGHER)), 0x03),
])
def test_refused_packets_answer_their_por_status_and_change_nothing(case, kwargs, status,
                                                                     tmp_path):
    path = tmp_path / "card.json"
    card = VirtualUicc.from_image(path)
    script, _, _ = menu_update_script("Saldo")
    ota(card, RFM_USIM, compact_script([CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("AF50"))]),
        counter=5).check()
    before = json.loads(path.read_text())
    tar = kwargs.pop("tar", RFM_USIM)
    spi = kwargs.get("spi", SPI)
    keys = kwargs.get("keys", AES_KEYS)
    packet = build_command_packet(tar, script, spi, keys, kwargs["counter"])
    if "tamper" in kwargs:
        packet = bytes(kwargs["tamper"](bytearray(packet)))
    answer = b""
    for env in sms_pp_download(packet, SENDER):
        answer = exchange(card, env.to_bytes())
    udh, raw = por_from_response(answer[:-2])
    por = open_response_packet(raw, spi, keys, udh=udh, tar=tar)
    with pytest.raises(PorError) as err:
        por.check()
    assert err.value.status == status, case
    assert json.loads(path.read_text()) == before


def test_the_counter_survives_a_restart(tmp_path):
    path = tmp_path / "card.json"
    card = VirtualUicc.from_image(path)
    select = compact_script([CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("AF50"))])
    ota(card, RFM_USIM, select, counter=7).check()
    assert json.loads(path.read_text())["ota"]["keysets"][0]["counter"] == 7
    again = VirtualUicc.from_image(path)
    with pytest.raises(PorError) as err:
        ota(again, RFM_USIM, select, counter=7).check()
    assert err.value.status == 0x02
    ota(again, RFM_USIM, select, counter=8).check()


def test_no_por_when_the_spi_asks_for_none():
    card = VirtualUicc.from_image(None)
    spi = dataclasses.replace(SPI, por=PorRequest.NONE)
    script, new, _ = menu_update_script("Saldo")
    assert ota(card, RFM_USIM, script, counter=1, spi=spi) is None
    assert card.image_state().files[EF_MENU] == new
    assert decode_menu_file(new).items[2].title == "Saldo"


def test_a_running_menu_applet_announces_its_new_menu_after_the_update():
    """After TERMINAL PROFILE, an RFM update of EF.MENU makes the applet send SET UP MENU
    again: the ENVELOPE is answered 91xx and the new menu is fetched at once."""
    card = VirtualUicc.from_image(None)
    first = menu_title(card)
    assert encode_alpha("Stan konta") in first
    script, _, _ = menu_update_script("Saldo")
    packet = build_command_packet(RFM_USIM, script, SPI, AES_KEYS, 1)
    answers = [card.process(dataclasses.replace(env, le=256).to_bytes())
               for env in sms_pp_download(packet, SENDER)]
    assert answers[-1][-2] == 0x91
    fetched = card.process(bytes((0x80, 0x12, 0, 0, answers[-1][-1])))
    assert fetched[fetched.index(b"\x81\x03\x01") + 3] == 0x25          # SET UP MENU
    assert encode_alpha("Saldo") in fetched and encode_alpha("Stan konta") not in fetched


def test_no_new_set_up_menu_when_the_menu_did_not_change():
    card = VirtualUicc.from_image(None)
    menu_title(card)
    select = compact_script([CommandApdu(0x00, 0xA4, 0x00, 0x0C, h("AF50"))])
    packet = build_command_packet(RFM_USIM, select, SPI, AES_KEYS, 1)
    answer = card.process(dataclasses.replace(
        sms_pp_download(packet, SENDER)[0], le=256).to_bytes())
    assert answer[-2:] == h("9000")
