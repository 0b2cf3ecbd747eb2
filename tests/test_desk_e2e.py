"""Two readers at one desk, end to end: one ``simtool -r all batch program`` drives both
virtual readers of pcscd + vpcd at once (simtool.provision.station), one journal, each record
claimed once; a card pulled at one reader leaves the other reader's card alone."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.background_cli import BackgroundCli
from tests.harness import PcscStack
from tests.test_faults import blank_image, image_iccid, journal_of, make_batch

pytestmark = pytest.mark.e2e

VENDOR_ADM = "11223344"  # the virtual card's default image


@pytest.fixture
def two_readers(pcsc_stack, tmp_path, monkeypatch):
    """Both vpcd readers of the session's pcscd, each with a blank card of its own; the
    vendor's ADM1 in the environment, as `--adm1 env:DESK_ADM1` reads it."""
    monkeypatch.setenv("DESK_ADM1", VENDOR_ADM)
    first = pcsc_stack
    first.kill_card(signal.SIGTERM)
    first.image = blank_image(tmp_path / "card-a.json", 1)
    first.start_card()
    second = PcscStack(tmp_path / "stack-b", image=blank_image(tmp_path / "card-b.json", 2))
    second.workdir.mkdir()
    second.start_card()  # the port with no card: the other reader
    assert {first.reader, second.reader} == set(first.readers.values())
    yield first, second
    second.stop()


def _desk(folder: Path, *extra: str) -> BackgroundCli:
    return BackgroundCli("-r", "all", "--json", "batch", "program", "--allow-iccid-change",
                         str(folder), "--adm1", "env:DESK_ADM1", "--poll", "0.05", *extra)


def test_one_batch_program_drives_two_readers_and_claims_each_record_once(two_readers,
                                                                          tmp_path):
    a, b = two_readers
    folder = tmp_path / "batch"
    batch = make_batch(folder, 4)
    batch.journal.close()
    cli = _desk(folder, "--stop-after", "2")
    try:
        results = [cli.result(), cli.result()]
        err = cli.finish()
    finally:
        cli.stop()
    assert [r["outcome"] for r in results] == ["verified", "verified"], err
    assert {r["reader"] for r in results} == {a.reader, b.reader}
    with journal_of(folder, batch.batch_id) as journal:
        claims = Counter(e.index for e in journal.events() if e.event == "claim")
        assert sorted(claims.values()) == [1, 1] and set(claims) == {r["index"] for r in results}
        for r in results:  # each reader's worker is a station of its own in the journal
            assert journal.record(r["index"]).station.endswith("/" + r["reader"])
    keys = [json.loads(x.image.read_text())["auth"]["usim"]["ki"] for x in (a, b)]
    assert keys[0] != keys[1]


def test_a_card_pulled_at_one_reader_leaves_the_other_alone(two_readers, tmp_path):
    """Reader A's card answers slowly (50 ms per APDU, the emulator's latency model), so it is
    surely pulled mid-way: once its EF.ICCID was written.  B's card is programmed meanwhile;
    A's is finished when it is put back."""
    a, b = two_readers
    folder = tmp_path / "batch"
    batch = make_batch(folder, 4)
    batch.journal.close()
    a.kill_card(signal.SIGTERM)
    a.card_args = ("--apdu-ms", "50")
    factory = image_iccid(a.image)
    a.start_card()
    cli = _desk(folder, "--stop-after", "2")
    try:
        deadline = time.monotonic() + 60
        while image_iccid(a.image) == factory:  # the image is saved on every write
            assert time.monotonic() < deadline, "reader A's card was never written"
            time.sleep(0.02)
        a.kill_card(signal.SIGKILL)
        results = [cli.result()]
        a.card_args = ()
        a.start_card()
        results += [cli.result(), cli.result()]
        err = cli.finish()
    finally:
        cli.stop()
    at_a = [r for r in results if r["reader"] == a.reader]
    at_b = [r for r in results if r["reader"] == b.reader]
    assert [r["outcome"] for r in at_b] == ["verified"], err
    assert [r["outcome"] for r in at_a] == ["partial", "verified"], err
    assert at_a[0]["index"] == at_a[1]["index"] != at_b[0]["index"] and at_a[1]["resumed"]
    with journal_of(folder, batch.batch_id) as journal:
        assert {journal.record(r["index"]).state.value for r in results} == {"verified"}
