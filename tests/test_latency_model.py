"""The real-card timing model of the virtual card (tests/virtual_card/latency.py), by hand."""

from __future__ import annotations

import pytest

from tests.virtual_card import VirtualUicc
from tests.virtual_card.latency import LatencyModel, SlowCard

MODEL = LatencyModel(apdu_ms=3.0, byte_us=48.0, write_ms=5.0, auth_ms=10.0)


@pytest.mark.parametrize(("command", "response", "ms"), [
    # SELECT 2FE2 without FCP: 7 command bytes + SW (2) + procedure byte = 10 bytes
    ("00a4000c022fe2", "9000", 3 + 10 * 0.048),
    # UPDATE BINARY of 2 bytes: 7 + 2 + 1 bytes and one EEPROM write
    ("00d60000020102", "9000", 3 + 10 * 0.048 + 5),
    # VERIFY with a PIN: the card writes its retry counter
    ("002000010831323334ffffffff", "9000", 3 + 16 * 0.048 + 5),
    # a counter query (VERIFY with no data) writes nothing
    ("0020000a", "63c3", 3 + 7 * 0.048),
    # AUTHENTICATE: 5 + 34 data + Le, 55 bytes back
    ("0088008122" + "10" + "00" * 16 + "10" + "00" * 16 + "00", "00" * 53 + "9000",
     3 + (40 + 55 + 1) * 0.048 + 10),
])
def test_delay_known_answers(command, response, ms):
    assert MODEL.delay(bytes.fromhex(command), bytes.fromhex(response)) == pytest.approx(ms / 1000)


def test_slow_card_sleeps_after_answering_and_passes_everything_else_through():
    slept: list[float] = []
    card = SlowCard(VirtualUicc.from_image(None), MODEL, sleep=slept.append)
    card.reset()
    response = card.process(bytes.fromhex("00a4000c023f00"))
    assert response == b"\x90\x00"
    assert slept == [pytest.approx(MODEL.delay(bytes.fromhex("00a4000c023f00"), response))]
    assert card.atr == VirtualUicc.from_image(None).atr
