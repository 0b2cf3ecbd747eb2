"""Fault injection in the ``menu`` step of ``batch program``: the card pulled at every APDU of
the EF.MENU write — before the card sees the command, and after it executed it but before
its answer arrived — then re-inserted; and, through pcscd, the card process killed mid-write.

After every pull the card never shows a wrong menu (EF.MENU is erased, still the old menu,
refused as written in part, or the whole new menu), the journal has the record ``partial``
(with ``menu:writing`` once an UPDATE may have reached the card), and a rerun finishes the
card with the new menu.
"""

from __future__ import annotations

import pytest

from simtool.errors import DecodeError
from simtool.provision.journal import RecordState
from simtool.provision.menuwrite import MENU_WRITING, MenuContent
from simtool.provision.program import Outcome
from simtool.stk.menu import load_named_menu
from simtool.stk.menufile import decode_menu_file
from simtool.apdu.channel import Channel
from simtool.card import Card
from tests.test_program import Wire, blank_card, insert, make_batch, programmer
from tests.virtual_card import VirtualUicc
from tests.virtual_card.image import EF_MENU

MILO = load_named_menu("milo")


def _card(serial: int, old: bytes | None) -> VirtualUicc:
    card = blank_card(serial)
    state = card.image_state()
    size = len(state.files[EF_MENU])
    state.files[EF_MENU] = (old or b"").ljust(size, b"\xff")
    return VirtualUicc(state)


def _menu_range(batch, old: bytes | None) -> range:
    """The APDU numbers (1-based) of the menu step on a reference card."""
    card, wire = insert(_card(0, old))
    marks: list[tuple[str, int]] = []
    result = programmer(batch, progress=lambda s: marks.append((s, len(wire.sent)))
                        ).program(card)
    assert result.outcome is Outcome.VERIFIED, result.reason
    names = [name for name, _ in marks]
    start = marks[names.index("menu")][1]
    end = marks[names.index("menu") + 1][1]
    assert end - start > 10
    return range(start + 1, end + 1)


@pytest.mark.parametrize("old", ["erased", "citysat"])
@pytest.mark.parametrize("executed", [False, True])
def test_card_pulled_at_every_apdu_of_the_menu_write_resumes(tmp_path, old, executed):
    old_content = None if old == "erased" else MenuContent.named("citysat").content
    old_menu = None if old_content is None else load_named_menu("citysat")
    ref = make_batch(tmp_path / "ref", 1)
    apdus = _menu_range(ref, old_content)
    ref.journal.close()
    batch = make_batch(tmp_path / "b", len(apdus))
    p = programmer(batch)
    for n, pull_at in enumerate(apdus, 1):
        vc = _card(n, old_content)
        card, wire = insert(vc, pull_at=pull_at, executed=executed)
        first = p.program(card)
        assert first.outcome is Outcome.PARTIAL and first.step == "menu", (pull_at, first)
        rec = batch.journal.record(first.index)
        assert rec.state is RecordState.PARTIAL
        assert "menu" not in rec.steps
        if any(a[1] == 0xD6 for a in wire.sent[apdus.start - 1:]):
            assert MENU_WRITING in rec.steps, pull_at
        try:
            shown = decode_menu_file(vc.image_state().files[EF_MENU])
        except DecodeError as exc:
            assert "digest" in str(exc) or "padding" in str(exc), (pull_at, exc)
        else:
            assert shown in (old_menu, MILO), pull_at
        card, _ = insert(vc)
        second = p.program(card)
        assert second.outcome is Outcome.VERIFIED, (pull_at, second)
        assert second.index == first.index and second.resumed
        assert decode_menu_file(vc.image_state().files[EF_MENU]) == MILO
    assert batch.journal.status_counts()[RecordState.VERIFIED] == len(apdus)
    batch.journal.close()


def test_a_card_without_ef_menu_is_left_partial_not_failed(tmp_path):
    """No EF.MENU on the card (its SELECT answers 6A82): nothing is written there, the record
    stays resumable (exit 5) instead of being given up."""

    class NoMenuFile(Wire):
        def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
            if apdu[1] == 0xA4 and apdu[5:5 + apdu[4]].endswith(b"\xaf\x50"):
                self.sent.append(apdu)
                return b"\x6a\x82"
            return super().transmit(apdu, secret=secret)

    batch = make_batch(tmp_path / "b", 1)
    vc = _card(1, None)
    vc.reset()
    wire = NoMenuFile(vc)
    result = programmer(batch).program(Card(Channel(wire)))
    assert result.outcome is Outcome.PARTIAL and result.exit_code == 5, result
    assert "no EF.MENU (7FFF/AF50)" in result.reason
    assert batch.journal.record(result.index).state is RecordState.PARTIAL
    assert wire.sent[-1][1] == 0xA4 and b"\xaf\x50" in wire.sent[-1]  # nothing after it
    card, _ = insert(vc)                                     # EF.MENU there: finished
    assert programmer(batch).program(card).outcome is Outcome.VERIFIED
    batch.journal.close()


@pytest.mark.e2e
def test_emulator_killed_mid_menu_write_through_pcscd_then_reinserted(pcsc_stack, tmp_path):
    """Through pcscd: the card process is SIGKILLed two APDUs into the EF.MENU write; the
    CLI reports the card partial at the menu step, the re-inserted card is finished and shows
    the Milo menu."""
    import signal

    from simtool.provision.journal_open import open_journal
    from tests.background_cli import LINE_TIMEOUT, BackgroundCli
    from tests.test_faults import blank_image, insert as insert_image
    from tests.virtual_card.image import load_image, save_image

    image = blank_image(tmp_path / "card.json", 1)
    state = load_image(image)
    state.files[EF_MENU] = b"\xff" * len(state.files[EF_MENU])
    save_image(image, state)
    folder = tmp_path / "batch"
    batch = make_batch(folder, 1)
    batch.journal.close()
    insert_image(pcsc_stack, image)
    cli = BackgroundCli("-r", pcsc_stack.reader, "--trace", "batch", "program",
                        "--allow-iccid-change", str(folder), "--adm1", "11223344",
                        "--count", "1", "--json", "--poll", "0.05")
    try:
        cli.stderr_until(">> 00 D6 00 19 FF")          # the first UPDATE after the header
        cli.apdus(2)
        pcsc_stack.kill_card(signal.SIGKILL)
        first = cli.result()
        assert first["outcome"] == "partial" and first["step"] == "menu", first
        shown = load_image(image).files[EF_MENU]
        with pytest.raises(DecodeError):               # half written: no menu, no wrong one
            decode_menu_file(shown)
        pcsc_stack.start_card()
        second = cli.result(skip=("removed", "partial"))
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        log = cli.finish()
    assert second["outcome"] == "verified" and second["index"] == first["index"], log[-2000:]
    assert decode_menu_file(load_image(image).files[EF_MENU]) == MILO
    with open_journal(None, folder, batch_id=batch.batch_id) as journal:
        assert MENU_WRITING in journal.record(first["index"]).steps
