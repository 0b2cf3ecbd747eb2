"""Batch generation: uniqueness, exclusions, card values, the batch folder and its modes."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import luhn

from simtool import milenage
from simtool.errors import DataError, SafetyRefusal
from simtool.pin import AdmFormat, encode_adm, encode_pin, encode_puk
from simtool.provision.sealed import read_text
from simtool.provision.batchdir import (read_batch_info, read_records, record_from_json,
                                        record_to_json)
from simtool.provision.generate import (LEGACY_WARNING, NO_TRANSPORT_KEY_WARNING, PUK_PANEL_WARNING,
                                        Exclusions,
                                        generate_batch, generate_cards)
from simtool.provision.hashing import verify
from simtool.provision.profile import CredentialKind, load_profile, parse_profile
from simtool.provision.pysim import pysim_no_row_warning
from simtool.secret import Secret
from tests.conftest import SeededRandom

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


SMALL = """\
name = "small"
operator = "Small"
[network]
mcc = "260"
mnc = "97"
[iccid]
prefix = "894897"
length = 19
[spn]
name = "Small"
[[msisdn_pool]]
first = "48531000000"
last = "48531000039"
[[msisdn_pool]]
first = "48600000000"
last = "48600000019"
[card]
adm_format = "decimal8"
[credentials]
derive = ["panel_password"]
"""


def small_profile(**replace: str):
    text = SMALL
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_profile(text, "small.toml")


def cards(profile, count, **kw):
    kw.setdefault("rng", SeededRandom(7))
    return list(generate_cards(profile, count, batch_id="B1", **kw))


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(1, 40), first=st.integers(0, 10**6), data=st.data())
def test_values_are_unique_and_never_excluded(count, first, data):
    profile = small_profile()
    ex_serials = data.draw(st.sets(st.integers(first, first + 60), max_size=10))
    ex_imsi_serials = data.draw(st.sets(st.integers(first, first + 60), max_size=5))
    ex_msisdns = data.draw(st.sets(st.integers(0, 59), max_size=20 - max(0, count - 40)))
    pool = [f"48531{n:06d}" for n in range(40)] + [f"48600{n:06d}" for n in range(20)]
    exclude = Exclusions(
        iccids=frozenset(f"894897{s:012d}" + luhn.calc_check_digit(f"894897{s:012d}")
                         for s in ex_serials),
        imsis=frozenset(f"26097{s:010d}" for s in ex_imsi_serials),
        msisdns=frozenset(pool[i] for i in ex_msisdns))
    recs = cards(profile, count, first_serial=first, exclude=exclude)
    assert len(recs) == count
    for field in ("iccid", "imsi", "msisdn"):
        values = [getattr(r, field) for r in recs]
        assert len(set(values)) == count
        assert not set(values) & set(getattr(exclude, field + "s"))
    assert all(luhn.is_valid(r.iccid) and len(r.iccid) == 19 for r in recs)
    assert all(r.imsi.startswith("26097") and len(r.imsi) == 15 for r in recs)
    assert all(r.msisdn in pool for r in recs)
    assert [r.index for r in recs] == list(range(count))


def test_values_follow_the_serial():
    recs = cards(small_profile(), 3, first_serial=41)
    assert [r.iccid[:-1] for r in recs] == ["894897000000000041", "894897000000000042",
                                            "894897000000000043"]
    assert [r.imsi for r in recs] == ["260970000000041", "260970000000042", "260970000000043"]
    assert [r.msisdn for r in recs] == ["48531000000", "48531000001", "48531000002"]
    assert [r.acc for r in recs] == [0x0002, 0x0004, 0x0008]  # 1 << last IMSI digit
    for r in recs:  # printed number = ICCID serial ‖ 10 digits; password = those 10 digits
        printed = r.barcode.reveal()
        assert printed[:12] == r.iccid[6:-1] and len(printed) == 22
        (cred,) = r.credentials
        assert cred.kind is CredentialKind.PANEL_PASSWORD
        assert cred.value.reveal() == printed[-10:]


def test_card_secrets_have_the_right_formats():
    for adm_format, profile in ((AdmFormat.DECIMAL8, small_profile()),
                                (AdmFormat.HEX16, small_profile(decimal8="hex16"))):
        for r in cards(profile, 10):
            assert len(r.ki) == 16 and len(r.opc) == 16 and r.ki != r.opc
            assert len(r.pin1.reveal()) == 4 and len(r.pin2.reveal()) == 4
            assert len(r.puk1.reveal()) == 8 and len(r.puk2.reveal()) == 8
            encode_pin(r.pin1), encode_pin(r.pin2), encode_puk(r.puk1), encode_puk(r.puk2)
            assert encode_adm(r.adm1).format is adm_format
    longer = cards(small_profile(**{"[card]": "[pin]\nlength = 6\n[card]"}), 5)
    assert all(len(r.pin1.reveal()) == 6 for r in longer)


def test_opc_is_derived_from_the_operators_op():
    op = bytes.fromhex("CDC202D5123E20F62B6D676AC72CB318")
    for r in cards(small_profile(), 5, op=Secret(op)):
        assert r.opc.reveal() == milenage.opc(r.ki.reveal(), op)
    with pytest.raises(DataError, match="16 bytes"):
        cards(small_profile(), 1, op=Secret(b"short"))


def test_same_rng_and_secret_give_the_same_batch_other_secret_other_passwords():
    secret = Secret(b"s" * 32)
    a = [record_to_json(r) for r in cards(small_profile(), 8, batch_secret=secret)]
    b = [record_to_json(r) for r in cards(small_profile(), 8, batch_secret=secret)]
    assert a == b
    c = cards(small_profile(), 8, batch_secret=Secret(b"t" * 32))
    for x, y in zip(a, c, strict=True):
        assert json.loads(x)["barcode"][-10:] != y.barcode.reveal()[-10:]


def test_idea24_code_is_the_end_of_puk1_and_plus_groups_accounts():
    idea = cards(load_profile("idea24"), 6)
    for r in idea:
        (code,) = [c for c in r.credentials if c.kind is CredentialKind.SUBSCRIBER_CODE]
        assert code.value.reveal() == r.puk1.reveal()[-6:]
    plus = cards(load_profile("plus"), 7)
    assert [r.account[-2:] for r in plus] == ["01", "01", "01", "02", "02", "02", "03"]


def test_exhaustion_is_a_data_error():
    with pytest.raises(DataError, match="holds 60 numbers, fewer than 61"):
        cards(small_profile(), 61)
    with pytest.raises(DataError, match="MSISDN pool .* exhausted after 59"):
        cards(small_profile(), 60, exclude=Exclusions(msisdns={"48600000019"}))
    with pytest.raises(DataError, match="serial space .* exhausted after 2"):
        cards(small_profile(), 3, first_serial=10**10 - 2)


def test_record_json_round_trip():
    for r in cards(load_profile("plus"), 4):
        line = record_to_json(r)
        assert record_to_json(record_from_json(line)) == line
        assert r.ki.reveal().hex() not in repr(r)


def test_malformed_record_line_names_file_and_line_but_not_the_secrets(tmp_path):
    good = record_to_json(cards(small_profile(), 1)[0])
    bad = json.loads(good)
    del bad["opc"]
    path = tmp_path / "records.jsonl"
    path.write_text(good + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError) as info:
        list(read_records(path))
    assert info.value.where == f"{path}:2"
    assert bad["ki"] not in str(info.value)


# --- the batch folder ----------------------------------------------------------------------------

KEY = Secret(bytes(range(32)))
SEEDS = ["milo", "halonet", "citysat", "idea24", "plus"]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("name", SEEDS)
def test_seed_profile_batch(tmp_path, name):
    out = tmp_path / "batch"
    profile = load_profile(name)
    result = generate_batch(profile, 7, out, transport_key=KEY, rng=SeededRandom(3), now=NOW,
                            workers=2 if name == "plus" else 1)
    puk_grade = name == "idea24"  # its subscriber code is 6 of the 8 PUK digits
    # a SJA2 batch without the vendor's card list: pySim-prog would find no row
    sysmo_isim = (profile.card_type or "").startswith("sysmoISIM")
    assert result.warnings == (((pysim_no_row_warning(profile.card_type),) if sysmo_isim else ())
                               + ((PUK_PANEL_WARNING,) if puk_grade else ()))
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    recs = list(read_records(out / "records.jsonl"))
    assert len(recs) == 7
    assert {f"exports/printer/barcodes/{r.iccid}.svg" for r in recs} <= files
    panel = ".enc" if puk_grade else ""
    expected = {"batch.toml", "records.jsonl.enc", "exports/pysim.csv.enc",
                "exports/osmo-hlr.vty.enc", "exports/open5gs-subscribers.js.enc",
                f"exports/panel.csv{panel}", f"exports/panel.json{panel}",
                "exports/printer/cards.csv.enc", "exports/printer/labels.html"}
    assert expected <= files
    assert len(files) == len(expected) + 7  # nothing else (no temp files left)
    assert _mode(out) == 0o700
    for f in files - {"batch.toml"}:
        assert _mode(out / f) == 0o600, f
    assert _mode(out / "batch.toml") == 0o640
    assert not list(tmp_path.glob(".batch.staging-*"))

    info = read_batch_info(out)
    assert info["batch_id"] == result.batch_id and info["count"] == 7
    assert info["card"]["mcc"] == "260" and info["card"]["mnc"] == profile.mnc
    assert info["transport_key_id"] == result.transport_key_id

    # every credential of the profile is in the panel import, hashed
    panel = json.loads(read_text(out / "exports/panel.json").reveal())
    kinds = {c["kind"] for s in panel["subscribers"] for c in s["credentials"]}
    kinds |= {c["kind"] for a in panel["accounts"] for c in a["credentials"]}
    assert kinds == {k.value for k in profile.credentials}
    assert panel["hash"]["algorithm"] == "argon2id" and panel["hash"]["memory_kib"] >= 19456
    first = panel["subscribers"][0]
    rec = recs[0]
    assert first["iccid"] == rec.iccid and first["login"] == rec.msisdn
    number_creds = [c for c in rec.credentials if c.scope.value == "number"]
    for item, cred in zip(first["credentials"], number_creds, strict=True):
        assert verify(item["hash"], cred.value)
    assert result.hashing is not None
    assert result.hashing.count == sum(len(s["credentials"]) for s in panel["subscribers"]) + \
        sum(len(a["credentials"]) for a in panel["accounts"])


def test_plus_panel_has_one_kod5_per_account(tmp_path):
    generate_batch(load_profile("plus"), 7, tmp_path / "b", rng=SeededRandom(1), now=NOW,
                   workers=1)
    panel = json.loads((tmp_path / "b/exports/panel.json").read_text())
    assert [len(a["logins"]) for a in panel["accounts"]] == [3, 3, 1]
    for account in panel["accounts"]:
        (kod5,) = account["credentials"]
        assert kod5["kind"] == "plus_kod5" and kod5["must_change"] is True
    for sub in panel["subscribers"]:
        (kod4,) = sub["credentials"]
        assert kod4["kind"] == "plus_kod4" and kod4["read_only"] is True


def test_refuses_a_non_empty_folder_accepts_an_empty_one(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(SafetyRefusal, match="not empty"):
        generate_batch(small_profile(), 2, tmp_path / "full", workers=1)
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    generate_batch(small_profile(), 2, tmp_path / "empty", workers=1)
    assert (tmp_path / "empty" / "records.jsonl.enc").exists()


def test_a_failed_batch_leaves_nothing_behind(tmp_path):
    with pytest.raises(DataError, match="exhausted"):
        generate_batch(small_profile(), 60, tmp_path / "b", workers=1,
                       exclude=Exclusions(msisdns={"48531000000"}))
    assert list(tmp_path.iterdir()) == []


def test_legacy_scheme_and_missing_transport_key_are_warned(tmp_path):
    profile = small_profile(**{"[credentials]": '[barcode]\nscheme = "legacy-iccid"\n'
                                                "[credentials]"})
    result = generate_batch(profile, 3, tmp_path / "b", workers=1, now=NOW)
    assert result.warnings == (LEGACY_WARNING, NO_TRANSPORT_KEY_WARNING)
    info = tomllib.loads((tmp_path / "b/batch.toml").read_text())
    assert info["warnings"] == [LEGACY_WARNING, NO_TRANSPORT_KEY_WARNING]
    assert info["barcode_scheme"] == "legacy-iccid"
    assert not list((tmp_path / "b/exports").glob("*.vty.enc"))
    assert not list((tmp_path / "b/exports").glob("*.sh.enc"))
    for r in read_records(tmp_path / "b/records.jsonl"):
        assert r.barcode.reveal() == r.iccid
        assert r.credentials[0].value.reveal() == r.iccid[-10:]


def test_progress_reports_every_card_and_hash(tmp_path):
    seen: dict[str, int] = {}

    def progress(phase, done, total):
        seen[phase] = seen.get(phase, 0) + done
        assert seen[phase] <= total

    generate_batch(load_profile("plus"), 300, tmp_path / "b", progress=progress, workers=1,
                   panel_import=False)
    assert seen == {"generate": 300}
    seen.clear()
    generate_batch(small_profile(), 5, tmp_path / "c", progress=progress, workers=1)
    assert seen == {"generate": 5, "hash": 5}


# --- a batch from the vendor's card list (cards that keep their factory ICCID) ---------------

CARD_LIST = ["8948011234567890128", "8988211000000467343", "89445310150011013678"]


def test_card_list_iccids_are_the_records_iccids_in_order():
    cards = list(generate_cards(load_profile("milo"), 3, batch_id="b", iccids=CARD_LIST,
                                rng=SeededRandom(1)))
    assert [c.iccid for c in cards] == CARD_LIST
    assert len({c.imsi for c in cards}) == 3


@pytest.mark.parametrize("iccids, why", [
    (CARD_LIST[:2], "fewer than 3"),
    (["8948011234567890127", *CARD_LIST[1:]], "valid Luhn"),
    ([CARD_LIST[0], CARD_LIST[0], CARD_LIST[2]], "listed twice"),
])
def test_a_bad_card_list_is_refused_before_any_card(iccids, why):
    with pytest.raises(DataError, match=why):
        next(generate_cards(load_profile("milo"), 3, batch_id="b", iccids=iccids))


def test_a_card_list_iccid_already_issued_is_refused():
    with pytest.raises(DataError, match="already issued"):
        next(generate_cards(load_profile("milo"), 3, batch_id="b", iccids=CARD_LIST,
                            exclude=Exclusions(iccids=frozenset({CARD_LIST[1]}))))


# --- a batch whose numbers a shared journal reserves ---------------------------------------------

def journal_rows(path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT batch_id, idx, iccid, imsi, msisdn, state"
                            " FROM journal_records ORDER BY batch_id, idx").fetchall()


def test_a_journal_batch_is_registered_with_the_numbers_of_its_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    first = generate_batch(small_profile(), 4, tmp_path / "a", workers=1, journal_url=url,
                           exclude=Exclusions(msisdns={"48531000001"}))
    second = generate_batch(small_profile(), 3, tmp_path / "b", workers=1, journal_url=url)
    rows = journal_rows(tmp_path / "shared.sqlite")
    expected = []
    for result, name in ((first, "a"), (second, "b")):
        expected += [(result.batch_id, r.index, r.iccid, r.imsi, r.msisdn, "pending")
                     for r in read_records(tmp_path / name / "records.jsonl")]
    assert sorted(rows) == sorted(expected)
    assert "48531000001" not in [row[4] for row in rows if row[0] == first.batch_id]
    assert len({row[4] for row in rows}) == 7
    assert len({row[2] for row in rows}) == len({row[3] for row in rows}) == 7


def test_a_failed_journal_batch_leaves_no_folder_and_gives_its_numbers_back(tmp_path):
    from simtool.provision.journal_open import open_journal

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    batches = tmp_path / "batches"
    batches.mkdir()

    def fail_while_hashing(phase, done, total):
        if phase == "hash":
            raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space"):
        generate_batch(small_profile(), 5, batches / "a", workers=1, journal_url=url,
                       progress=fail_while_hashing)
    assert list(batches.iterdir()) == []  # neither the folder nor its staging folder
    assert journal_rows(tmp_path / "shared.sqlite") == []
    # the next batch gets the numbers the failed one had reserved
    done = generate_batch(small_profile(), 5, batches / "b", workers=1, journal_url=url)
    assert done.first_iccid == generate_batch(small_profile(), 5, batches / "c",
                                              workers=1).first_iccid
    with open_journal(url, tmp_path, batch_id=done.batch_id) as journal:
        assert [e.event for e in journal.events()] == ["reserve"]


def test_a_journal_run_that_cannot_reserve_makes_no_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    generate_batch(small_profile(), 50, tmp_path / "a", workers=1, journal_url=url)
    with pytest.raises(DataError, match="MSISDN pool .* exhausted"):  # 60 numbers, 50 issued
        generate_batch(small_profile(), 20, tmp_path / "b", workers=1, journal_url=url)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "shared.sqlite"]
    assert len(journal_rows(tmp_path / "shared.sqlite")) == 50
