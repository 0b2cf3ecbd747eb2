"""The menu applet's states (simtool.stk.applet.AppletState): the list of them, and each one
reached, checked against the command it waits on, and left by its TERMINAL RESPONSE."""

from __future__ import annotations

import pytest

from simtool.stk.applet import AppletState, AppletStatus, MenuApplet
from simtool.stk.commands import (DisplayText, GetInput, SelectItem, SendSs, SendUssd,
                                  SetUpCall, SetUpMenu)
from simtool.stk.envelopes import MenuSelection
from simtool.stk.menu import load_named_menu
from simtool.stk.objects import GeneralResult as R
from simtool.stk.profile import DEFAULT
from simtool.stk.responses import TerminalResponse
from tests.test_stk_applet import Driver
from tests.stk_menus import milo_with_ss_forwarding

S = AppletState


def test_the_states_are_these():
    assert list(AppletState) == [S.IDLE, S.INSTALLING_MENU, S.SHOWING_TEXT, S.SELECTING_ITEM,
                                 S.AWAITING_INPUT, S.AWAITING_NETWORK, S.AWAITING_CALL]


def _installing() -> Driver:
    return Driver(milo_with_ss_forwarding(), install=False)   # SET UP MENU fetched, unanswered


def _idle() -> Driver:
    return Driver()


def _showing() -> Driver:
    d = Driver()
    d.select(3, help=True)
    return d


def _selecting() -> Driver:
    d = Driver()
    d.select(7)
    return d


def _awaiting_input() -> Driver:
    d = _selecting()
    d.answer(R.OK, item=1, expect=SelectItem)
    return d


def _awaiting_network() -> Driver:
    d = Driver()
    d.select(3)
    return d


def _awaiting_call() -> Driver:
    d = Driver(load_named_menu("citysat"))
    d.select(1)
    d.answer(R.OK, item=7, expect=SelectItem)
    return d


# state -> (how to reach it, the command it waits on, its answer, the state that follows)
DRIVES = {
    S.IDLE: (_idle, None, None, S.AWAITING_NETWORK),
    S.INSTALLING_MENU: (_installing, SetUpMenu, dict(general=R.OK), S.IDLE),
    S.SHOWING_TEXT: (_showing, DisplayText, dict(general=R.OK), S.IDLE),
    S.SELECTING_ITEM: (_selecting, SelectItem, dict(general=R.OK, item=1), S.AWAITING_INPUT),
    S.AWAITING_INPUT: (_awaiting_input, GetInput, dict(general=R.OK, text="600123456"),
                       S.AWAITING_NETWORK),
    S.AWAITING_NETWORK: (_awaiting_network, SendUssd, dict(general=R.OK, text="Saldo 5"),
                         S.SHOWING_TEXT),
    S.AWAITING_CALL: (_awaiting_call, SetUpCall, dict(general=R.OK), S.IDLE),
}


def test_every_state_has_a_drive():
    assert set(DRIVES) == set(AppletState)


@pytest.mark.parametrize("state", list(AppletState), ids=lambda s: s.name)
def test_each_state_is_reached_and_left(state):
    reach, waits_on, answer, after = DRIVES[state]
    d = reach()
    assert d.applet.state is state
    assert d.applet.busy == (state is not S.IDLE)
    if waits_on is None:                      # IDLE: a MENU SELECTION starts a session
        assert not d.card.busy
        assert isinstance(d.select(3), SendUssd)
    else:
        assert isinstance(d.last, waits_on) and d.card.busy and not d.card.pending_length()
        d.answer(**answer)
    assert d.applet.state is after


@pytest.mark.parametrize("state", list(AppletState), ids=lambda s: s.name)
def test_terminal_profile_leads_back_from_every_state(state):
    d = DRIVES[state][0]()
    d.card.terminal_profile(DEFAULT.without("set_up_menu").data)
    assert d.applet.state is S.IDLE and not d.card.busy
    d.card.terminal_profile(DEFAULT.data)
    assert d.applet.state is S.INSTALLING_MENU and d.card.pending_length()


def test_busy_in_every_state_but_idle():
    for state, (reach, *_rest) in DRIVES.items():
        d = reach()
        if state is S.IDLE:
            continue
        with pytest.raises(AppletStatus) as exc:
            d.card.envelope(MenuSelection.of(1).encode())
        assert exc.value.sw == 0x9300 and d.applet.state is state


def test_the_ss_path_and_the_network_state_after_input():
    d = _awaiting_input()
    assert isinstance(d.answer(R.OK, text="600123456"), SendSs)
    assert d.applet.state is S.AWAITING_NETWORK


def test_a_response_in_idle_is_refused_by_the_applet_itself():
    applet = MenuApplet(milo_with_ss_forwarding())
    menu = SetUpMenu.of("x", [(1, "y")])
    with pytest.raises(AppletStatus) as exc:
        applet.terminal_response(TerminalResponse.to(menu, R.OK))
    assert exc.value.sw == 0x6985 and applet.state is S.IDLE
