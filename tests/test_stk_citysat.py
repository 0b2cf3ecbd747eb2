"""City-Sat forwarding from the menu (seed 002): the card asks for the full number with the
leading 0 and the area code, and says so in Polish when it is not."""

from __future__ import annotations

from datetime import datetime

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.stk.applet import MenuApplet
from simtool.stk.handset import Handset, ScriptedUI
from simtool.stk.menu import load_named_menu
from simtool.stk.network import SubscriberState, VirtualNetwork
from tests.test_stk_handset import FakeCard


def test_forwarding_to_a_number_asks_again_until_it_is_full():
    state = SubscriberState(msisdn="48775500100")
    network = VirtualNetwork.for_operator("citysat", state, lambda: datetime(2026, 1, 15, 10))
    ui = ScriptedUI(choices=[1], inputs=["3220158800", "0322015880"])
    hs = Handset(Channel(InProcessTransport(FakeCard(MenuApplet(load_named_menu("citysat"))))),
                 network, ui)
    t = hs.select(5)
    assert ui.shown[0] == "Podaj pełny numer z 0 i numerem kierunkowym, np. 0322015880."
    assert t.sent == ("SS *21*0322015880#",)
    assert ("21", None) in state.forwarding and state.forwarding[("21", None)].number == \
        "0322015880"
