"""The virtual SJA2's PIN files in DF.SYSTEM (EF.CHV1 6F01, EF.CHV2 6F81, EF.ADM1 6F0A):
what they read, and that what is written there is what VERIFY / UNBLOCK then check."""

from __future__ import annotations

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.card import Card
from simtool.errors import CardError, SecurityNotSatisfied, WrongPin
from simtool.secret import Secret
from tests.virtual_card import VirtualUicc
from tests.virtual_card.image import load_image

ADM = Secret(b"11223344")


def blk(digits: str) -> bytes:
    return digits.encode().ljust(8, b"\xff")


def open_card(vc: VirtualUicc, *, adm: bool = True) -> Card:
    vc.reset()
    card = Card(Channel(InProcessTransport(vc)))
    if adm:
        card.verify_pin(0x0A, ADM)
    return card


def read(card: Card, fid: int) -> bytes:
    return card.read_transparent([0xA515, fid])


def write(card: Card, fid: int, data: bytes) -> None:
    card.select_path([0xA515, fid])
    card.update_binary(data)


DEFAULTS = [  # the default image's PINs as the files show them
    (0x6F01, "F00303" + blk("1234").hex() + "0A0A" + blk("12345678").hex()),
    (0x6F81, "F00303" + blk("5678").hex() + "0A0A" + blk("87654321").hex()),
    (0x6F0A, "C00303" + blk("11223344").hex()),
]


@pytest.mark.parametrize("fid, hexdata", DEFAULTS)
def test_pin_files_show_the_pins(fid, hexdata):
    card = open_card(VirtualUicc.from_image(None))
    assert read(card, fid) == bytes.fromhex(hexdata)


def test_pin_files_need_adm1():
    card = open_card(VirtualUicc.from_image(None), adm=False)
    with pytest.raises(SecurityNotSatisfied):
        read(card, 0x6F01)


def test_written_pin1_and_puk1_are_what_the_card_checks(tmp_path):
    image = tmp_path / "card.json"
    vc = VirtualUicc.from_image(image)
    card = open_card(vc)
    write(card, 0x6F01, bytes.fromhex("F10105") + blk("9876") + bytes.fromhex("0709")
          + blk("11112222"))
    assert read(card, 0x6F01)[:3] == bytes.fromhex("F10105")
    saved = load_image(image).pins["PIN1"]
    assert (saved.enabled, saved.tries, saved.max_tries, saved.puk_tries) == (False, 1, 5, 7)
    card = open_card(vc, adm=False)
    assert card.pin_tries(0x01) is None  # disabled: the counter query answers 9000
    write_back = open_card(vc)
    write(write_back, 0x6F01, bytes.fromhex("F00505") + blk("9876") + bytes.fromhex("0A0A")
          + blk("11112222"))
    card = open_card(vc, adm=False)
    with pytest.raises(WrongPin):
        card.verify_pin(0x01, Secret(blk("1234")))
    card.verify_pin(0x01, Secret(blk("9876")))
    card.unblock_pin(0x01, Secret(b"11112222"), Secret(blk("4444")))
    card = open_card(vc, adm=False)
    card.verify_pin(0x01, Secret(blk("4444")))


def test_written_adm1_replaces_the_old_one():
    vc = VirtualUicc.from_image(None)
    write(open_card(vc), 0x6F0A, bytes.fromhex("C00303") + blk("55538407"))
    card = open_card(vc, adm=False)
    card.verify_pin(0x0A, Secret(blk("55538407")))
    card = open_card(vc, adm=False)
    with pytest.raises(WrongPin):
        card.verify_pin(0x0A, ADM)


@pytest.mark.parametrize("fid, data", [
    (0x6F01, "F00303" + "31323334FFFF41FF" + "0A0A" + blk("12345678").hex()),  # not digits
    (0x6F01, "F00403" + blk("1234").hex() + "0A0A" + blk("12345678").hex()),  # tries > max
    (0x6F01, "F00303" + blk("1234").hex() + "0A0A" + blk("1234567").hex()),  # 7-digit PUK
    (0x6F01, "F00010" + blk("1234").hex() + "0A0A" + blk("12345678").hex()),  # max 16
    (0x6F0A, "C10303" + blk("11223344").hex()),  # ADM1 disabled
])
def test_values_a_pin_cannot_hold_are_refused(fid, data):
    vc = VirtualUicc.from_image(None)
    card = open_card(vc)
    before = read(card, fid)
    with pytest.raises(CardError) as exc:
        write(card, fid, bytes.fromhex(data))
    assert exc.value.sw == 0x6A80
    assert read(card, fid) == before
