"""The ``applet`` step of ``batch program`` (simtool.provision.appletstep), in process against
the virtual card's ISD: a profile's [applet] goes into batch.toml (with the CAP's SHA-256), the
step installs the applet on a card that lacks it (LOAD + INSTALL with the toolkit parameters),
costs only the registry check on a card that has it, is refused without ISD keys, leaves the
record resumable when the ISD cannot be opened, and resumes a card pulled at any APDU."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from simtool.errors import DataError
from simtool.gp import scp03
from simtool.provision.generate import generate_batch
from simtool.provision.journal import RecordState
from simtool.provision.profile import parse_profile
from simtool.provision.program import FixedAdm, Outcome, Programmer, open_batch
from simtool.secret import Secret
from simtool.stk.menu import load_named_menu
from simtool.stk.menufile import decode_menu_file
from tests.conftest import SeededRandom
from tests.harness import REPO
from tests.test_gp_virtual_card import card_without_menu_applet
from tests.test_program import VENDOR_ADM, insert
from tests.virtual_card import VirtualUicc
from tests.virtual_card.gp import MENU_APPLET_AID, MENU_PACKAGE_AID, TEST_KEY
from tests.virtual_card.image import EF_MENU

KEYS = scp03.Scp03Keys(Secret(TEST_KEY), Secret(TEST_KEY), Secret(TEST_KEY), 0x30)
APPLET_TABLE = """
[applet]
cap = "applets/milo-menu.cap"
menu_entries = [1]
max_text_length = 20
"""


def applet_batch(tmp_path: Path, count: int = 1, table: str = APPLET_TABLE):
    root = tmp_path / "provisioning"
    (root / "profiles").mkdir(parents=True)
    (root / "applets").mkdir()
    (root / "applets" / "milo-menu.cap").write_bytes(_cap())
    source = root / "profiles" / "milo.toml"
    source.write_text((REPO / "provisioning/profiles/milo.toml").read_text(encoding="utf-8")
                      + table, encoding="utf-8")
    profile = parse_profile(source.read_text(encoding="utf-8"), str(source))
    folder = tmp_path / "batch"
    generate_batch(profile, count, folder, panel_import=False, rng=SeededRandom(5))
    return open_batch(folder), root


def _cap() -> bytes:
    from tests.test_gp_cap import OPAQUE, applet, build, header

    return build({"Header": header(MENU_PACKAGE_AID), "Applet": applet(MENU_APPLET_AID),
                  **OPAQUE})


def programmer(batch, **kw) -> Programmer:
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="applet", token_bytes=random.Random(7).randbytes,
                   allow_iccid_change=True, **{"gp_keys": KEYS, **kw})
    p.check_records()
    return p


def _steps(p_kw, batch, vc):
    card, wire = insert(vc)
    marks: list[tuple[str, int]] = []
    result = programmer(batch, progress=lambda s: marks.append((s, len(wire.sent))),
                        **p_kw).program(card)
    names = [n for n, _ in marks]
    per = {}
    for i, (name, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else len(wire.sent)
        per[name] = wire.sent[start:end]
    return result, per, names


def test_the_profiles_applet_goes_into_batch_toml_with_the_caps_digest(tmp_path):
    batch, root = applet_batch(tmp_path)
    spec = batch.card.applet
    assert spec.cap == (root / "applets" / "milo-menu.cap").resolve()
    assert spec.cap_sha256 and spec.toolkit.menu_entries[0].position == 1
    assert spec.toolkit.max_menu_text_length == 20
    batch.journal.close()


def test_a_card_without_the_applet_gets_it_installed_then_its_menu(tmp_path):
    batch, _ = applet_batch(tmp_path)
    vc = card_without_menu_applet()
    result, per, names = _steps({}, batch, vc)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert names.index("applet") < names.index("menu") < names.index("adm1")
    applet = per["applet"]
    assert any(a[1] == 0xE8 for a in applet)                  # LOAD
    assert sum(1 for a in applet if a[1] == 0xE6) == 2        # INSTALL for load, for install
    state = vc.image_state()
    assert [a.aid for a in state.gp.applications] == [MENU_APPLET_AID]
    assert decode_menu_file(state.files[EF_MENU]) == load_named_menu("milo")
    assert batch.journal.record(result.index).state is RecordState.VERIFIED
    batch.journal.close()


def test_a_card_with_the_applet_costs_only_the_registry_check(tmp_path):
    """The default image has the menu applet: SELECT ISD, GET DATA (tries), INITIALIZE
    UPDATE, EXTERNAL AUTHENTICATE, GET STATUS (applications), nothing installed."""
    batch, _ = applet_batch(tmp_path)
    result, per, _ = _steps({}, batch, VirtualUicc.from_image(None))
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert [a[1] for a in per["applet"]] == [0xA4, 0xCA, 0x50, 0x82, 0xF2]
    batch.journal.close()


def test_a_batch_with_an_applet_needs_the_isd_keys(tmp_path):
    batch, _ = applet_batch(tmp_path)
    with pytest.raises(DataError, match="--gp-keys"):
        programmer(batch, gp_keys=None)
    batch.journal.close()


def test_a_cap_changed_since_generation_is_refused(tmp_path):
    batch, root = applet_batch(tmp_path)
    cap = root / "applets" / "milo-menu.cap"
    cap.write_bytes(cap.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="cap_sha256"):
        programmer(batch)
    batch.journal.close()


def test_wrong_isd_keys_leave_the_record_resumable_and_the_card_untouched(tmp_path):
    batch, _ = applet_batch(tmp_path)
    vc = card_without_menu_applet()
    wrong = scp03.Scp03Keys(Secret(bytes(16)), Secret(bytes(16)), Secret(bytes(16)), 0x30)
    card, _ = insert(vc)
    result = programmer(batch, gp_keys=wrong).program(card)
    assert result.outcome is Outcome.PARTIAL and result.step == "applet", result
    assert "ISD was not opened" in result.reason
    state = vc.image_state()
    assert state.gp.applications == [] and state.gp.key_tries == state.gp.key_max_tries
    card, _ = insert(vc)
    again = programmer(batch).program(card)
    assert again.outcome is Outcome.VERIFIED and again.resumed, again
    batch.journal.close()


def test_card_pulled_at_every_apdu_of_the_applet_step_resumes(tmp_path):
    batch, _ = applet_batch(tmp_path, count=1)
    result, per, names = _steps({}, batch, card_without_menu_applet())
    assert result.outcome is Outcome.VERIFIED
    start = sum(len(per[n]) for n in names[:names.index("applet")])
    span = range(start + 1, start + len(per["applet"]) + 1)
    batch.journal.close()
    for executed in (False, True):
        sweep, _ = applet_batch(tmp_path / f"sweep-{executed}", count=len(span))
        p = programmer(sweep)
        for pull_at in span:
            vc = card_without_menu_applet()
            card, _ = insert(vc, pull_at=pull_at, executed=executed)
            first = p.program(card)
            assert first.outcome is Outcome.PARTIAL and first.step == "applet", (pull_at, first)
            card, _ = insert(vc)
            second = p.program(card)
            assert second.outcome is Outcome.VERIFIED, (pull_at, executed, second)
            assert [a.aid for a in vc.image_state().gp.applications] == [MENU_APPLET_AID]
        sweep.journal.close()
