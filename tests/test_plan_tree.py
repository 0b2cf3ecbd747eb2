"""The SJA2 write plan comes from the card tree: keyed by codec classes, written at the plain
files, read back through the links, SFIs from the tree; a file the tree lacks is an error, never
a silently skipped write; and a file removed from the tree leaves the write plan and ``info``
together (the emulator half waits behind :func:`virtual_card_from_tree`)."""

from __future__ import annotations

import pytest

from simtool.cardtree import ADM_ADM, CardTree, raw
from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.ef import EfAd, EfImsi
from simtool.errors import DataError, FileNotFound
from simtool.info import read_card_info
from simtool.provision.plan import CardSecrets, FileWrite, places, plan_steps
from simtool.provision.program import STEPS, Outcome
from simtool.provision.sja2 import Sja2Driver
from tests.test_program import insert, make_batch, programmer
from tests.virtual_card import VirtualUicc
from tests.virtual_card.image import default_state

SJA2 = SYSMO_ISIM_SJA2
G, T, U = 0x7F20, 0x7F10, 0x7FFF  # oracle paths: TS 51.011 §10.7, TS 102 221 §8.4.2


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    b = make_batch(tmp_path_factory.mktemp("plan") / "b", 1)
    yield b
    b.journal.close()


def plan_for(batch, tree: CardTree | None = None) -> dict[str, list[FileWrite]]:
    card_type = SJA2 if tree is None else SJA2.with_tree(tree)
    rec = next(iter(batch.records.values()))
    return plan_steps(Sja2Driver(card_type), batch.card, rec,
                      CardSecrets.from_record(rec, card_type))


def standard(plan) -> dict[str, tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]]:
    return {fw.name: (fw.path, fw.also_check) for step in STEPS for fw in plan[step]
            if not fw.secret and step != "isim"}


def touched(plan) -> set[tuple[int, ...]]:
    """Every path the plan writes or reads back."""
    return {p for step in STEPS for fw in plan[step] for p in (fw.path, *fw.also_check)}


# --- the plan from the tree ---------------------------------------------------------------------

def test_the_plan_writes_the_standard_files_where_the_sja2_has_them(batch):
    # the paths the SJA2 driver wrote before the tree existed (TS 51.011 §10, TS 31.102 §4.2)
    assert standard(plan_for(batch)) == {
        "EF.ICCID": ((0x2FE2,), ()),
        "EF.IMSI": ((G, 0x6F07), ((U, 0x6F07),)),
        "EF.SPN": ((G, 0x6F46), ((U, 0x6F46),)),
        "EF.MSISDN": ((T, 0x6F40), ((U, 0x6F40),)),
        "EF.AD": ((G, 0x6FAD), ()),
        "EF.AD (ADF.USIM)": ((U, 0x6FAD), ()),
        "EF.ACC": ((G, 0x6F78), ((U, 0x6F78),)),
        "EF.PLMNwAcT": ((G, 0x6F60), ((U, 0x6F60),)),
        "EF.OPLMNwACT": ((G, 0x6F61), ((U, 0x6F61),)),
        "EF.HPLMNwAcT": ((G, 0x6F62), ((U, 0x6F62),)),
        "EF.PLMNsel": ((G, 0x6F30), ()),
        "EF.EHPLMN": ((U, 0x6FD9), ()),
    }


def test_every_write_is_a_plain_file_and_every_read_back_a_link_to_it(batch):
    tree = SJA2.tree
    # 7FFF means the application the write names (fw.app: the ISIM's AID; None: ADF.USIM)
    by_path = {(loc.adf, loc.path): loc for loc in tree.files()}

    def adf(fw, path):
        return None if path[0] != 0x7FFF else "ADF.ISIM" if fw.app else "ADF.USIM"

    for step in STEPS:
        for fw in plan_for(batch)[step]:
            target = by_path[adf(fw, fw.path), fw.path]
            assert target.node.link is None, fw.name
            for path in fw.also_check:  # a link to it, or a file of the same key store
                other = by_path[adf(fw, path), path]
                assert (tree.target(other) == target
                        or (other.node.store and other.node.store == target.node.store)), fw.name


def test_places_group_the_links_under_the_file_they_show():
    (imsi,) = places(SJA2.tree, EfImsi)
    assert (imsi.name, imsi.path, imsi.also_check) == ("EF.IMSI", (G, 0x6F07), ((U, 0x6F07),))
    # the common tree has no links: EF.IMSI is two files there
    assert [(p.name, p.path) for p in places(SJA2.tree.without("ADF.USIM/EF.IMSI")
                                             .with_child("ADF.USIM", SJA2.tree.get(
                                                 "DF.GSM/EF.IMSI").node), EfImsi)] == [
        ("EF.IMSI", (G, 0x6F07)), ("EF.IMSI (ADF.USIM)", (U, 0x6F07))]


def test_short_file_ids_come_from_the_tree():
    sfis = Sja2Driver().short_file_ids
    # TS 31.102 §4.2: EF.IMSI 07, EF.ACC 06, EF.PLMNwAcT 0A, EF.OPLMNwACT 11, EF.HPLMNwAcT 13
    assert {p: sfis[p] for p in [(U, 0x6F07), (U, 0x6F78), (U, 0x6F60), (U, 0x6F61),
                                 (U, 0x6F62)]} == {
        (U, 0x6F07): 0x07, (U, 0x6F78): 0x06, (U, 0x6F60): 0x0A, (U, 0x6F61): 0x11,
        (U, 0x6F62): 0x13}
    assert (U, 0x6F46) not in sfis and (G, 0x6F07) not in sfis  # EF.SPN, DF.GSM: none
    without = Sja2Driver(SJA2.with_tree(SJA2.tree.without("ADF.USIM/EF.ACC"))).short_file_ids
    assert (U, 0x6F78) not in without


def test_a_file_the_plan_writes_missing_from_the_tree_is_an_error_naming_it(batch):
    """Before the tree, a location missing from the driver's table (or misspelled in
    ``std()``) returned [] and the write was skipped in silence."""
    tree = SJA2.tree.without("DF.GSM/EF.PLMNsel")
    with pytest.raises(DataError, match=r"no file EF\.PLMNsel"):
        plan_for(batch, tree)
    with pytest.raises(DataError, match=r"no file EF\.EHPLMN"):
        plan_for(batch, SJA2.tree.without("ADF.USIM/EF.EHPLMN"))


@pytest.mark.parametrize("where", ["DF.SYSTEM/EF.CHV2", "DF.SYSTEM/EF.ADM1",
                                   "ADF.USIM/EF.USIM_AUTH_KEY_2G"])
def test_the_sja2s_own_files_are_found_by_name_in_the_tree(batch, where):
    with pytest.raises(DataError, match=f"no file {where}"):
        plan_for(batch, SJA2.tree.without(where))


def test_the_sja2s_own_files_are_at_their_tree_paths(batch):
    plan = plan_for(batch)
    own = {fw.name: (fw.path, fw.also_check) for step in ("ki_opc", "pins", "adm1")
           for fw in plan[step]}
    tree = SJA2.tree
    assert own == {
        "EF.USIM_AUTH_KEY": (tree.get("ADF.USIM/EF.USIM_AUTH_KEY").path, ()),
        "EF.SIM_AUTH_KEY": ((0xA515, 0x6F20), ((U, 0xAF22),)),
        "EF.CHV1": (tree.get("DF.SYSTEM/EF.CHV1").path, ()),
        "EF.CHV2": ((0xA515, 0x6F81), ()),
        "EF.ADM1": ((0xA515, 0x6F0A), ()),
    }


def test_start_sqn_sends_nothing_even_when_the_tree_has_ef_usim_sqn():
    # The programmer starts at SEQ 1 and lets a card that has seen more answer with AUTS:
    # reading EF.USIM_SQN would cost two APDUs on every card.
    tree = SJA2.tree
    if not tree.has("ADF.USIM/EF.USIM_SQN"):
        tree = tree.with_child("ADF.USIM", raw("EF.USIM_SQN", 0xAF30, ADM_ADM, 206))
    card, wire = insert(VirtualUicc.from_image(None))
    sqn, ind_len = Sja2Driver(SJA2.with_tree(tree)).start_sqn(card)
    assert (sqn, ind_len, wire.sent) == (1 << 5, 5, [])


# --- a file removed from the tree: gone from the plan, from info, from the emulator ------------

#: files whose removal leaves a consistent SJA2 tree: a place of EF.AD (the other stays), a
#: link (EF.ACC, EF.SPN, EF.MSISDN read through DF.GSM/DF.TELECOM's file no more)
REMOVABLE = ["ADF.USIM/EF.AD", "DF.GSM/EF.AD", "ADF.USIM/EF.ACC", "ADF.USIM/EF.SPN",
             "ADF.USIM/EF.MSISDN"]


def virtual_card_from_tree(tree: CardTree) -> VirtualUicc:
    """The virtual card whose file system is built from ``tree`` (its default image)."""
    return VirtualUicc(default_state(), tree=tree)


@pytest.mark.parametrize("where", REMOVABLE)
def test_removing_a_file_removes_it_from_the_write_plan(batch, where):
    gone = SJA2.tree.get(where).path
    full, reduced = plan_for(batch), plan_for(batch, SJA2.tree.without(where))
    assert gone in touched(full)
    assert touched(reduced) == touched(full) - {gone}


def selected(sent: list[bytes], path: tuple[int, ...]) -> bool:
    """Whether a SELECT reached ``path``: by path (P1 08), or FID by FID (CLA A0)."""
    raw_path = b"".join(p.to_bytes(2, "big") for p in path)
    fids = [a[5:5 + a[4]] for a in sent if a[1] == 0xA4]
    if any(f == raw_path for f in fids):
        return True
    return any(fids[i:i + len(path)] == [p.to_bytes(2, "big") for p in path]
               for i in range(len(fids)))


@pytest.mark.parametrize("where", ["ADF.USIM/EF.AD", "ADF.USIM/EF.ACC"])
def test_programming_along_a_tree_without_a_file_never_touches_it(tmp_path, where):
    """The plan half end to end: a driver on the reduced tree programs and verifies the
    (complete) virtual card without selecting the removed file."""
    tree = SJA2.tree.without(where)
    b = make_batch(tmp_path / "b", 1)
    card, wire = insert(VirtualUicc.from_image(None))
    result = programmer(b, drivers=(Sja2Driver(SJA2.with_tree(tree)),)).program(card)
    b.journal.close()
    assert result.outcome is Outcome.VERIFIED, result.reason
    gone = SJA2.tree.get(where)
    assert not selected(wire.sent, gone.path)
    if gone.node.sfi is not None:  # nor read by its short file identifier
        assert not any(a[1] == 0xB0 and a[2] == 0x80 | gone.node.sfi for a in wire.sent)


@pytest.mark.parametrize("where", REMOVABLE)
def test_removing_a_file_removes_it_from_the_emulator_too(tmp_path, where):
    """The emulator half: the virtual card built from the reduced tree lacks the file, and a
    driver and ``info`` on the same tree program and read it without an error."""
    tree = SJA2.tree.without(where)
    vc = virtual_card_from_tree(tree)
    gone = SJA2.tree.get(where).path
    card, _ = insert(vc)
    with pytest.raises(FileNotFound):
        card.select_path(gone)
    b = make_batch(tmp_path / "b", 1)
    card, wire = insert(vc)
    result = programmer(b, drivers=(Sja2Driver(SJA2.with_tree(tree)),)).program(card)
    b.journal.close()
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert not selected(wire.sent, gone)
    card, _ = insert(vc)
    read_card_info(card, tree=tree)  # no error for the missing file


def test_the_ad_of_both_places_is_written_once_each(batch):
    plan = plan_for(batch)
    assert [fw.path for fw in plan["ad"]] == [loc.path for loc in SJA2.tree.of(EfAd)]
