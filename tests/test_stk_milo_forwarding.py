"""Milo's forwarding item as the document says (seed 000, PRZEKIEROWANIA): the code
``*21*numer#`` is dialled on the customer's *previous* phone, so the Milo card never sends it;
its menu shows the exact code with the Milo card's own number, and the ``#21#`` reminder."""

from __future__ import annotations

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.stk.applet import MenuApplet
from simtool.stk.commands import SendSs, SendUssd
from simtool.stk.handset import Handset, ScriptedUI
from simtool.stk.menu import load_named_menu
from simtool.stk.objects import GeneralResult as R

SEED = "seed 000 PRZEKIEROWANIA 1, 4"


class NoNetwork:
    def send_ussd(self, ussd):
        raise AssertionError(f"nothing may be sent, got USSD {ussd}")

    def send_ss(self, ss):
        raise AssertionError(f"nothing may be sent, got SS {ss}")


def run(card, choice):
    ui = ScriptedUI(choices=[choice])
    hs = Handset(Channel(InProcessTransport(card)), NoNetwork(), ui)
    return hs.select(7), ui


def test_virtual_card_shows_the_old_phone_code_with_its_own_number():
    virtual_card = pytest.importorskip("tests.virtual_card")
    card = virtual_card.VirtualUicc.from_image(None)    # EF.MSISDN 48531234567, Milo menu
    t, ui = run(card, 1)
    assert t.displayed == ("Na dotychczasowym telefonie wpisz kod *21*+48531234567# i wciśnij "
                           "OK. Po powrocie odwołaj tam kodem #21#.",), SEED
    assert t.sent == ()
    assert not any(isinstance(c, (SendSs, SendUssd)) for c in t.commands)
    assert set(t.results) == {R.OK}


def test_the_return_reminder():
    virtual_card = pytest.importorskip("tests.virtual_card")
    t, _ = run(virtual_card.VirtualUicc.from_image(None), 2)
    assert t.sent == ()
    assert "#21#" in t.displayed[0] and "Po powrocie" in t.displayed[0], SEED


@pytest.mark.parametrize("number,shown", [
    ("48531234567", "*21*+48531234567#"),
    ("+48600123456", "*21*+48600123456#"),
    (None, "*21*numer_tej_karty#"),       # EF.MSISDN empty: a placeholder, never a wrong number
])
def test_applet_fills_the_number_it_reads(number, shown):
    from tests.test_stk_handset import FakeCard

    applet = MenuApplet(load_named_menu("milo"), own_number=lambda: number)
    hs = Handset(Channel(InProcessTransport(FakeCard(applet))), NoNetwork(), ScriptedUI(
        choices=[1]))
    t = hs.select(7)
    assert shown in t.displayed[0]
