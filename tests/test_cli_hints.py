"""The hints of ``simtool.cli.common.guarded_try`` and the handset session's item matching,
in process, against a card that only answers counters."""

from __future__ import annotations

import pytest

from simtool.cli.common import PinBlockedHint, guarded_try
from simtool.cli.stk import _fold, _match_item
from simtool.errors import PinBlocked, WrongPin
from simtool.stk.handset import MenuEntry


class Counters:
    """A card whose PIN/PUK counters are given; records the commands it was asked for."""

    def __init__(self, pin: int | None, puk: int | None = 10) -> None:
        self.pin, self.puk, self.asked = pin, puk, []

    def pin_tries(self, ref: int) -> int | None:
        self.asked.append(("pin", ref))
        return self.pin

    def puk_tries(self, ref: int) -> int | None:
        self.asked.append(("puk", ref))
        return self.puk


def test_a_blocked_pin_is_refused_before_any_try_with_the_way_out():
    card, sent = Counters(pin=0), []
    with pytest.raises(PinBlockedHint) as err:
        with guarded_try(card, "pin2"):
            sent.append("VERIFY")
    assert sent == []
    assert "simtool pin unblock pin2" in str(err.value) and "PUK2" in str(err.value)
    assert err.value.exit_code == 1


def test_the_last_try_is_announced_before_it_is_spent(capsys):
    with guarded_try(Counters(pin=1), "pin1"):
        # stdin is not a terminal here: the warning is given and the try goes ahead
        assert "warning: PIN1 has 1 try left: a wrong PIN blocks PIN1" in capsys.readouterr().err
    with guarded_try(Counters(pin=2), "pin1"):
        assert capsys.readouterr().err == ""


def test_the_last_puk_try_says_the_pin_blocks_for_good(capsys):
    with guarded_try(Counters(pin=0, puk=1), "pin1", puk=True):  # a blocked PIN is its use
        pass
    assert "PUK1 has 1 try left: a wrong PUK1 blocks PIN1 for good" in capsys.readouterr().err


@pytest.mark.parametrize("error", [WrongPin(0x63C0, "VERIFY PIN", 0),
                                   PinBlocked(0x6983, "VERIFY PIN")])
def test_the_try_that_blocks_names_unblock(error):
    with pytest.raises(type(error)) as err:
        with guarded_try(Counters(pin=1), "pin1"):
            raise error
    assert "simtool pin unblock pin1" in err.value.hint


def test_a_wrong_pin_with_tries_left_gets_no_unblock_hint():
    with pytest.raises(WrongPin) as err:
        with guarded_try(Counters(pin=3), "pin1"):
            raise WrongPin(0x63C2, "VERIFY PIN", 2)
    assert getattr(err.value, "hint", None) is None


MILO = (MenuEntry(1, "Mój numer"), MenuEntry(3, "Stan konta"),
        MenuEntry(4, "Ważność środków"), MenuEntry(7, "Przekierowania"))


@pytest.mark.parametrize("typed,found", [
    ("3", 3), (" 7 ", 7), ("stan", 3), ("WAZNOSC", 4), ("ważność", 4), ("mój", 1),
    ("moj numer", 1), ("2", None), ("9", None), ("x", None), ("n", None),
])
def test_items_are_found_by_number_or_part_of_the_title(typed, found):
    assert _match_item(MILO, typed)[0] == found


def test_an_ambiguous_part_names_the_candidates():
    found, why = _match_item(MILO, "n")
    assert found is None and "1 (Mój numer)" in why and "3 (Stan konta)" in why


def test_fold_drops_case_and_polish_diacritics():
    assert _fold("Łódź ŚWIĘTA Żółć") == "lodz swieta zolc"
