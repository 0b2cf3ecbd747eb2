"""``simtool info`` reads where the card tree says: ADF.USIM's files on a card with a USIM,
DF.GSM's and DF.TELECOM's without one, and nothing the tree lacks."""

from __future__ import annotations

import pytest

from simtool.apdu.channel import Channel
from simtool.card import Card
from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.ef import EfIccid, EfSpn
from simtool.info import place, read_card_info, read_iccid, read_msisdn
from tests.test_plan_tree import G, T, U, selected
from tests.test_program import Wire, insert
from tests.virtual_card import VirtualUicc

SJA2 = SYSMO_ISIM_SJA2


def test_info_takes_its_paths_from_the_tree():
    tree = SJA2.tree
    assert place(tree, EfIccid, usim=False) == (0x2FE2,)
    assert place(tree, EfSpn, usim=True) == (U, 0x6F46)
    assert place(tree, EfSpn, usim=False) == (G, 0x6F46)
    card, wire = insert(VirtualUicc.from_image(None))
    assert read_iccid(card) == "8948011234567890128"
    assert selected(wire.sent, (0x2FE2,))


@pytest.mark.parametrize("where", ["ADF.USIM/EF.SPN", "ADF.USIM/EF.IMSI", "ADF.USIM/EF.MSISDN"])
def test_removing_a_file_removes_it_from_infos_reads(where):
    gone = SJA2.tree.get(where).path
    seen = {}
    for name, tree in (("full", SJA2.tree), ("without", SJA2.tree.without(where))):
        card, wire = insert(VirtualUicc.from_image(None))
        info = read_card_info(card, tree=tree)
        seen[name] = (selected(wire.sent, gone), info)
    assert seen["full"][0] and not seen["without"][0]
    if where.endswith("EF.SPN"):
        assert (seen["full"][1].spn, seen["without"][1].spn) == ("Milo Telecom", None)


def test_without_a_usim_info_reads_dfgsm_and_dftelecom_from_the_tree():
    assert place(SJA2.tree, EfSpn, usim=False) == (G, 0x6F46)
    assert place(SJA2.tree, EfSpn, usim=True) == (U, 0x6F46)
    assert place(SJA2.tree.without("ADF.USIM/EF.SPN").without("DF.GSM/EF.SPN"), EfSpn,
                 usim=False) is None
    seen = []
    for tree in (SJA2.tree, SJA2.tree.without("ADF.USIM/EF.MSISDN")
                 .without("DF.TELECOM/EF.MSISDN")):
        vc = VirtualUicc.from_image(None)
        vc.reset()
        wire = Wire(vc)
        card = Card(Channel(wire), cla=0xA0)  # a GSM SIM: no USIM to select
        read_msisdn(card, tree=tree)
        seen.append(selected(wire.sent, (T, 0x6F40)))
    assert seen == [True, False]


