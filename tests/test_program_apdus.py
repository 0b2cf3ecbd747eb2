"""Fewest APDUs per card, nothing less verified.

The APDU count is a property of the protocol, not a timing: programming + read-back of every
written file + AUTHENTICATE must fit in 64 APDUs on the SJA2 model, and every UPDATE must be
followed by a READ of the same file (directly, or through the path it is linked to).  A profile
with an IMS domain adds the ISIM's three files: 11 APDUs (SELECT ADF.ISIM, then SELECT, UPDATE,
READ of EF.IMPI, EF.IMPU and EF.DOMAIN, and SELECT ADF.USIM again for the read-back through
ADF.USIM's short file identifiers).  The selection memory of :class:`TrackedCard` is checked
against the emulator byte by byte.
"""

from __future__ import annotations

import dataclasses

import pytest

from simtool.apdu.channel import Channel
from simtool.card import USIM_AID_PREFIX, TrackedCard
from simtool.errors import FileNotFound
from simtool.provision.cardkeys import CardKeyFile
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from simtool.provision.program import Outcome, Programmer, open_batch
from simtool.secret import Secret
from tests.test_program import (FACTORY_ICCID, VENDOR_ADM, SeededRandom, Wire, insert,
                                make_batch, programmer)
from tests.virtual_card import VirtualUicc

BUDGET = 64
ISIM_APDUS = 11           # a profile with [network] ims_domain
USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")  # the emulator's ADF.USIM


def _files_touched(sent: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(paths updated, paths read) as the card saw them: the selected path, or for a READ
    BINARY by SFI (P1 b8 = 1) the SFI under the last selected DF."""
    current = b""
    updated, read = [], []
    for apdu in sent:
        ins, p1 = apdu[1], apdu[2]
        if ins == 0xA4:
            current = apdu[5 : 5 + apdu[4]]
        elif ins in (0xD6, 0xDC):
            updated.append(current)
        elif ins in (0xB0, 0xB2):
            read.append(bytes((0x80, p1 & 0x1F)) if ins == 0xB0 and p1 & 0x80 else current)
    return updated, read


def test_a_blank_card_in_at_most_64_apdus_with_every_write_read_back(tmp_path):
    batch = make_batch(tmp_path / "b", 1)
    assert batch.card.ims_domain is None                 # milo: no ISIM step
    card, wire = insert(VirtualUicc.from_image(None))
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert len(wire.sent) <= BUDGET, len(wire.sent)
    updated, read = _files_touched(wire.sent)
    # linked files are read back through their other path, by SFI under ADF.USIM
    aliases = {b"\x7f\x20\x6f\x07": bytes((0x80, 0x07)), b"\x7f\x20\x6f\x78": bytes((0x80, 0x06)),
               b"\x7f\x20\x6f\x60": bytes((0x80, 0x0A)), b"\x7f\x20\x6f\x61": bytes((0x80, 0x11)),
               b"\x7f\x20\x6f\x62": bytes((0x80, 0x13)), b"\x7f\x20\x6f\x46": b"\x7f\xff\x6f\x46",
               b"\x7f\x10\x6f\x40": b"\x7f\xff\x6f\x40", b"\xa5\x15\x6f\x20": b"\x7f\xff\xaf\x22"}
    for path in updated:
        assert aliases.get(path, path) in read, f"{path.hex()} written but never read back"
    assert len(updated) == 17  # every file of the plan, EF.ICCID included
    assert sum(1 for a in wire.sent if a[1] == 0x88) == 1


def test_an_ims_domain_adds_the_isim_files_and_nothing_else(tmp_path):
    plain = make_batch(tmp_path / "p", 1)
    card, wire = insert(VirtualUicc.from_image(None))
    assert programmer(plain).program(card).outcome is Outcome.VERIFIED
    isim_select = [a for a in wire.sent
                   if a[1] == 0xA4 and a[2] == 0x04 and a[5:12] == bytes.fromhex("A0000000871004")]
    assert not isim_select
    without = len(wire.sent)
    profile = dataclasses.replace(load_profile("milo"),
                                  ims_domain="ims.mnc097.mcc260.3gppnetwork.org")
    batch = make_batch(tmp_path / "b", 1, profile=profile)
    card, wire = insert(VirtualUicc.from_image(None))
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert len(wire.sent) == without + ISIM_APDUS, (len(wire.sent), without)
    updated, read = _files_touched(wire.sent)
    assert len(updated) == 20  # the three ISIM files more, each read back
    for fid in (b"\x6f\x02", b"\x6f\x03", b"\x6f\x04"):
        assert b"\x7f\xff" + fid in updated and b"\x7f\xff" + fid in read


def test_a_card_that_keeps_its_factory_iccid_is_not_written_there(tmp_path):
    """The SJA2 flow (batch generated from the vendor's list): EF.ICCID already holds the
    record's ICCID, read before VERIFY, so it is neither written nor read again (EF.IMSI is
    read before the claim instead: a card programmed by a lost journal's batch shows it)."""
    folder = tmp_path / "b"
    keys = CardKeyFile("keys.csv", {FACTORY_ICCID: Secret(VENDOR_ADM)})
    generate_batch(load_profile("milo"), 1, folder, panel_import=False, rng=SeededRandom(3),
                   iccids=[FACTORY_ICCID])
    batch = open_batch(folder)
    card, wire = insert(VirtualUicc.from_image(None))
    result = Programmer(batch.journal, batch.records, batch.card, keys, station="s",
                        factory_iccids=batch.factory_iccids).program(card)
    assert result.outcome is Outcome.VERIFIED, result.reason
    updated, _ = _files_touched(wire.sent)
    assert b"\x2f\xe2" not in updated
    assert len(wire.sent) <= BUDGET + ISIM_APDUS


def test_a_link_that_does_not_hold_fails_the_card(tmp_path):
    """ADF.USIM's EF.ACC answers with its own content instead of DF.GSM's: the read-back
    through the link finds the difference."""

    class BrokenLink(Wire):
        def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
            if apdu[1] == 0xB0 and apdu[2] == 0x80 | 0x06:  # READ BINARY by SFI 06 (EF.ACC)
                self.sent.append(apdu)
                return b"\x00\x00\x90\x00"
            return super().transmit(apdu, secret=secret)

    batch = make_batch(tmp_path / "b", 1)
    vc = VirtualUicc.from_image(None)
    vc.reset()
    result = programmer(batch).program(TrackedCard(Channel(BrokenLink(vc))))
    assert result.outcome is Outcome.FAILED
    assert "EF.ACC (written at 7F20/6F78, read at 7FFF/6F78) reads back different" in result.reason


# --- the selection memory ---------------------------------------------------------------------

def _tracked() -> tuple[TrackedCard, Wire]:
    vc = VirtualUicc.from_image(None)
    vc.reset()
    wire = Wire(vc)
    return TrackedCard(Channel(wire)), wire


def test_a_current_file_is_not_selected_again_and_its_fcp_is_remembered():
    card, wire = _tracked()
    first = card.select_path((0x7F20, 0x6F07))
    again = card.select_path((0x7F20, 0x6F07))
    assert first == again and len(wire.sent) == 1
    card.select_path((0x7F20, 0x6F78), fcp=False)
    card.select_path((0x7F20, 0x6F07))
    assert [a.hex() for a in wire.sent[1:]] == ["00a4080c047f206f78", "00a4080404" "7f206f0700"]
    assert card.cached_fcp((0x7F20, 0x6F07)) == first


def test_usim_selected_by_partial_aid_without_reading_ef_dir():
    card, wire = _tracked()
    fcp = card.select_usim()
    assert card.usim_aid == USIM_AID and fcp
    assert wire.sent == [bytes.fromhex("00a4040407") + USIM_AID_PREFIX + b"\x00"]
    card.select_usim()  # the ADF is the current DF: nothing sent
    assert len(wire.sent) == 1


def test_usim_falls_back_to_ef_dir_when_partial_selection_is_refused():
    class NoPartialAid(Wire):
        def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
            if apdu[1] == 0xA4 and apdu[2] == 0x04 and apdu[4] < 16:
                self.sent.append(apdu)
                return b"\x6a\x82"
            return super().transmit(apdu, secret=secret)

    vc = VirtualUicc.from_image(None)
    vc.reset()
    wire = NoPartialAid(vc)
    card = TrackedCard(Channel(wire))
    card.select_usim()
    assert card.usim_aid == USIM_AID
    assert any(a[1] == 0xB2 for a in wire.sent)  # EF.DIR was read


def test_read_by_sfi_selects_the_df_only_when_it_is_not_current():
    card, wire = _tracked()
    card.select_usim()
    ad = card.read_binary_sfi((0x7FFF,), 0x03, 4)  # EF.AD, SFI 03 (TS 31.102 §4.2.18)
    assert wire.sent[-1] == bytes.fromhex("00b0830004")
    card.select_path((0x7F20,), fcp=False)  # DF.GSM: the SFI belongs to ADF.USIM
    assert card.read_binary_sfi((0x7FFF,), 0x03, 4) == ad
    assert [a.hex() for a in wire.sent[-2:]] == ["00a4080c027fff", "00b0830004"]
    card.select_path((0x7FFF, 0x6FAD))
    assert card.read_binary(4) == ad


def test_a_file_not_found_keeps_the_selection_other_errors_forget_it():
    class Fails(Wire):
        def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
            if apdu[1] == 0xA4 and apdu.endswith(b"\x6f\x42\x00"):
                self.sent.append(apdu)
                return b"\x6f\x00"  # technical problem: what is current now is not known
            return super().transmit(apdu, secret=secret)

    vc = VirtualUicc.from_image(None)
    vc.reset()
    wire = Fails(vc)
    card = TrackedCard(Channel(wire))
    card.select_path((0x7F20, 0x6F07))
    with pytest.raises(FileNotFound):
        card.select_path((0x7F20, 0x6F99))
    card.select_path((0x7F20, 0x6F07))
    assert len(wire.sent) == 2  # the failed SELECT left EF.IMSI current (TS 102 221)
    with pytest.raises(Exception):
        card.select_path((0x7F10, 0x6F42))
    card.select_path((0x7F20, 0x6F07))
    assert len(wire.sent) == 4 and wire.sent[-1][5:9] == b"\x7f\x20\x6f\x07"
