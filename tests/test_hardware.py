"""Tier 4: a real card in a real reader, read-only (never a VERIFY: no try is ever spent).

    bash scripts/test.sh -m hardware --reader "Reader name substring"
"""

from __future__ import annotations

import json

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.pcsc import PcscTransport, select_reader
from simtool.card import Card
from simtool.info import read_card_info
from tests.conftest import run_simtool

pytestmark = pytest.mark.hardware


@pytest.fixture
def reader(request) -> str:
    return select_reader(request.config.getoption("--reader"))


def test_info_reads_a_real_card(reader):
    with PcscTransport.connect(reader) as transport:
        info = read_card_info(Card(Channel(transport)))
    assert info.iccid is not None and len(info.iccid) in (19, 20)
    from stdnum import luhn

    assert luhn.is_valid(info.iccid)
    assert all(c.tries_left is None or 0 <= c.tries_left <= 15 for c in info.counters)


def test_cli_info_and_pin_status_agree(reader):
    info = json.loads(run_simtool("--json", "info", reader=reader, check=True).stdout)
    status = json.loads(run_simtool("--json", "pin", "status", reader=reader, check=True).stdout)
    assert info["tries_left"] == status
