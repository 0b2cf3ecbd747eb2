"""Fault injection: pulled cards, a restarted pcscd, a restarted PostgreSQL, a full disk, two
stations racing.

After every fault the card image still loads, the journal says where the card stands
(``partial``, or no claim at all), a rerun finishes the card (``verified``), no record is
issued to two cards and a card never gets a second ICCID.  The pulled-card sweep runs in
process at every APDU of one card's programming; through pcscd the emulator is SIGKILLed at a
sample of APDUs.  (Pulls that happen after the card executed a command but before its answer
arrived are swept in tests/test_program.py.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.card import Card
from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.errors import CardRemoved
from simtool.provision.batchdir import read_records
from simtool.provision.generate import generate_batch
from simtool.provision.journal import JournalError, RecordState
from simtool.provision.journal_open import open_journal
from simtool.provision.profile import load_profile
from simtool.provision.program import FixedAdm, Outcome, Programmer, open_batch
from simtool.provision.sja2 import EF_ADM1
from simtool.secret import Secret
from tests.background_cli import LINE_TIMEOUT, BackgroundCli
from tests.harness import REPO
from tests.pg import postgres_server  # noqa: F401 - fixture
from tests.virtual_card import VirtualUicc
from tests.virtual_card.defaults import swapped_bcd
from tests.virtual_card.image import default_state, load_image, save_image

VENDOR_ADM = "11223344"  # the emulator's default image
# the SJA2's ADM1 key file, A515/6F0A
ADM1_FILE = SYSMO_ISIM_SJA2.tree.get(EF_ADM1).node.fid.to_bytes(2, "big")


# --- helpers ---------------------------------------------------------------------------------

class Pull:
    """A transport to a virtual card that lets ``allow`` APDUs through and pulls the card
    before the next one reaches it; ``on_apdu(n)`` runs before APDU number n (1-based)."""

    def __init__(self, card: VirtualUicc, allow: int | None = None, on_apdu=None) -> None:
        self.inner = InProcessTransport(card)
        self.allow = allow
        self.on_apdu = on_apdu
        self.sent = 0

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if self.allow is not None and self.sent >= self.allow:
            raise CardRemoved("card pulled")
        self.sent += 1
        if self.on_apdu is not None:
            self.on_apdu(self.sent, apdu)
        return self.inner.transmit(apdu, secret=secret)

    def atr(self) -> bytes:
        return self.inner.atr()

    def reset(self) -> bytes:
        return self.inner.reset()

    def close(self) -> None:
        pass


def blank_image(path: Path, serial: int) -> Path:
    """A blank card image with its own factory ICCID (so the journal tells the cards apart)."""
    state = default_state()
    state.files["3F00/2FE2"] = swapped_bcd(f"8948011234{serial:08d}0", 10)
    save_image(path, state)
    return path


def image_iccid(path: Path) -> bytes:
    return load_image(path).files["3F00/2FE2"]


def power_up(path: Path, **kw) -> Card:
    """Insert the card: a fresh emulator over the image on disk (as a new process would)."""
    return Card(Channel(Pull(VirtualUicc.from_image(path), **kw)))


def programmer(batch, station: str = "faults") -> Programmer:
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station=station, allow_iccid_change=True)
    p.check_records()
    return p


def claims_per_record(journal) -> Counter:
    return Counter(e.index for e in journal.events() if e.event == "claim")


@pytest.fixture(scope="module")
def fast_dir():
    """Batch folders and card images on tmpfs when there is one: fsyncs are not under test."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    path = Path(tempfile.mkdtemp(prefix="simtool-faults-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_batch(folder: Path, count: int, journal_url: str | None = None):
    generate_batch(load_profile("milo"), count, folder, panel_import=False)
    return open_batch(folder, journal_url)


def reference_apdus(folder: Path) -> int:
    batch = make_batch(folder / "ref", 1)
    card = power_up(blank_image(folder / "ref.json", 0))
    assert programmer(batch).program(card).outcome is Outcome.VERIFIED
    batch.journal.close()
    return card.channel.transport.sent


# --- the card pulled at every APDU, in process -------------------------------------------------

def test_card_pulled_before_every_apdu_resumes_on_its_own_record(fast_dir):
    total = reference_apdus(fast_dir)
    assert total > 50
    batch = make_batch(fast_dir / "every", total)
    p = programmer(batch)
    final_iccids = []
    for allow in range(total):
        image = blank_image(fast_dir / f"card-{allow}.json", allow + 1)
        factory = image_iccid(image)
        first = p.program(power_up(image, allow=allow))
        assert first.outcome in (Outcome.REMOVED, Outcome.PARTIAL), (allow, first)
        # consistent after the fault: the image loads, the journal knows the card's state
        after = image_iccid(image)
        if first.outcome is Outcome.REMOVED:
            assert first.index is None and after == factory
        else:
            rec = batch.journal.record(first.index)
            assert rec.state is RecordState.PARTIAL, (allow, rec)
            assert after in (factory, swapped_bcd(rec.iccid, 10)), allow
        second = p.program(power_up(image))
        assert second.outcome is Outcome.VERIFIED, (allow, first, second)
        if first.index is not None:
            assert second.index == first.index and second.resumed
        assert image_iccid(image) == swapped_bcd(second.iccid, 10)
        final_iccids.append(second.iccid)
    counts = batch.journal.status_counts()
    assert counts[RecordState.VERIFIED] == total and counts[RecordState.PENDING] == 0
    assert len(set(final_iccids)) == total
    assert set(claims_per_record(batch.journal).values()) == {1}
    batch.journal.close()


# --- the card process killed through pcscd ----------------------------------------------------

def insert(stack, image: Path) -> None:
    if stack.card is not None:
        stack.kill_card(signal.SIGTERM)
    stack.image = image
    stack.start_card()


def journal_of(folder: Path, batch_id: str):
    return open_journal(None, folder, batch_id=batch_id)


@pytest.mark.e2e
@pytest.mark.parametrize("fraction", [0.1, 0.4, 0.7, 0.9])  # 0.9: late, with a few APDUs left to race the kill
def test_emulator_killed_mid_programming_then_reinserted(pcsc_stack, tmp_path, fraction):
    stack = pcsc_stack
    total = reference_apdus(tmp_path)
    kill_at = max(1, int(total * fraction))
    folder = tmp_path / "batch"
    batch = make_batch(folder, 2)
    batch.journal.close()
    image = blank_image(tmp_path / "card.json", 1)
    factory = image_iccid(image)
    insert(stack, image)
    cli = BackgroundCli("-r", stack.reader, "--trace", "batch", "program", "--allow-iccid-change", str(folder), "--adm1",
              VENDOR_ADM, "--count", "1", "--json", "--poll", "0.05")
    try:
        cli.apdus(kill_at)
        stack.kill_card(signal.SIGKILL)  # returns once pcscd has seen the card go
        first = cli.result()
        assert first["outcome"] in ("partial", "removed"), first
        after = image_iccid(image)  # loads: written atomically
        with journal_of(folder, batch.batch_id) as journal:
            if first["outcome"] == "partial":
                assert journal.record(first["index"]).state is RecordState.PARTIAL
                assert after in (factory, swapped_bcd(first["iccid"], 10))
            else:
                assert after == factory
        stack.start_card()  # the same card goes back in
        second = cli.result(skip=("removed", "partial"))
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        log = cli.finish()
    assert second["outcome"] == "verified", log[-3000:]
    if first["outcome"] == "partial":
        assert second["index"] == first["index"] and second["iccid"] == first["iccid"]
    assert image_iccid(image) == swapped_bcd(second["iccid"], 10)
    with journal_of(folder, batch.batch_id) as journal:
        counts = journal.status_counts()
        assert counts[RecordState.VERIFIED] == 1 and counts[RecordState.PENDING] == 1
        assert set(claims_per_record(journal).values()) == {1}


@pytest.mark.e2e
def test_pcscd_restarted_mid_run(pcscd, pcsc_stack, tmp_path):
    if pcscd.pcscd is None:
        pytest.skip("pcscd was already running: this test restarts only a pcscd it started")
    stack = pcsc_stack
    folder = tmp_path / "batch"
    batch = make_batch(folder, 2)
    batch.journal.close()
    image = blank_image(tmp_path / "card.json", 1)
    insert(stack, image)
    cli = BackgroundCli("-r", stack.reader, "--trace", "batch", "program", "--allow-iccid-change", str(folder), "--adm1",
              VENDOR_ADM, "--count", "1", "--json", "--poll", "0.05")
    try:
        cli.apdus(40)
        os.kill(pcscd.pcscd.pid, signal.SIGTERM)
        pcscd.pcscd.wait(timeout=30)
        pcscd.pcscd = None
        code = cli.proc.wait(timeout=LINE_TIMEOUT)
    finally:
        log = cli.finish()
        if pcscd.pcscd is None:  # pcscd comes back whatever happened above
            pcscd.ensure_pcscd()
    assert code == 3, log[-3000:]
    last = log.strip().splitlines()[-1]
    assert last.startswith("error: PC/SC") and "Traceback" not in log, log[-1500:]
    image_iccid(image)  # loads
    with journal_of(folder, batch.batch_id) as journal:
        states = journal.status_counts()
        assert states[RecordState.PARTIAL] + states[RecordState.WRITING] == 1, states
    # the card reconnects to the new pcscd by itself (or is started again); rerun finishes
    if stack.card is not None and stack.card.poll() is None:
        stack.wait_for_card()
    else:
        stack.start_card()
    cli = BackgroundCli("-r", stack.reader, "batch", "program", "--allow-iccid-change", str(folder), "--adm1", VENDOR_ADM,
              "--count", "1", "--json", "--poll", "0.05")
    try:
        result = cli.result(skip=("removed", "partial"))
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        log = cli.finish()
    assert result["outcome"] == "verified" and result["resumed"], log[-3000:]
    assert image_iccid(image) == swapped_bcd(result["iccid"], 10)
    with journal_of(folder, batch.batch_id) as journal:
        assert journal.status_counts()[RecordState.VERIFIED] == 1
        assert set(claims_per_record(journal).values()) == {1}


# --- PostgreSQL restarted mid-batch ------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("where", ["identify", "writing", "adm1-update", "authenticate"])
def test_postgres_restarted_mid_card(postgres_server, fast_dir, where):  # noqa: F811
    """The server restarts while a card is being programmed: the card's run ends with a clear
    journal error, the rerun resumes the same record and verifies it, nothing is claimed twice."""
    folder = fast_dir / f"pg-{where}"
    folder.mkdir()
    url = postgres_server.create_database()
    batch = make_batch(folder / "batch", 3, url)
    p = programmer(batch)
    # program one card normally, so the restart hits a batch in progress
    assert p.program(power_up(blank_image(folder / "c0.json", 1))).outcome is Outcome.VERIFIED

    seen: Counter = Counter()

    def trigger(n: int, apdu: bytes) -> bool:
        ins = apdu[1]
        if ins == 0xA4 and apdu[5:5 + apdu[4]].endswith(ADM1_FILE):
            seen["adm1 selected"] += 1
        seen[ins] += 1
        return {"identify": n == 1,
                "writing": ins == 0xD6 and seen[0xD6] == 3,
                "adm1-update": ins == 0xD6 and seen["adm1 selected"] == 1,
                "authenticate": ins == 0x88}[where]

    fired = []

    def restart(n: int, apdu: bytes) -> None:
        if not fired and trigger(n, apdu):
            fired.append(n)
            postgres_server.restart()

    image = blank_image(folder / "c1.json", 2)
    try:
        first = p.program(power_up(image, on_apdu=restart))
        error = None
    except JournalError as exc:
        first, error = None, exc
    assert fired, "the restart point was never reached"
    if error is None:
        assert first.outcome is Outcome.REFUSED and "journal" in first.reason, first
    else:
        assert "journal database error" in str(error) or "cannot connect" in str(error)
    image_iccid(image)  # loads
    second = p.program(power_up(image))
    assert second.outcome is Outcome.VERIFIED, (where, first, error, second)
    assert image_iccid(image) == swapped_bcd(second.iccid, 10)
    counts = batch.journal.status_counts()
    assert counts[RecordState.VERIFIED] == 2 and counts[RecordState.PENDING] == 1
    assert set(claims_per_record(batch.journal).values()) == {1}
    batch.journal.close()


@pytest.mark.postgres
def test_two_stations_race_on_postgres(postgres_server, fast_dir):  # noqa: F811
    """Two programming loops (threads, each its own journal connection and card supply) run the
    same batch to its end: every record is programmed once, onto one card."""
    folder = fast_dir / "race"
    folder.mkdir()
    url = postgres_server.create_database()
    records = 12
    make_batch(folder / "batch", records, url).journal.close()
    results: dict[str, list] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def station(name: str, first_serial: int) -> None:
        batch = open_batch(folder / "batch", url)
        try:
            p = programmer(batch, station=name)
            barrier.wait()
            for i in range(records + 1):
                image = blank_image(folder / f"{name}-{i}.json", first_serial + i)
                result = p.program(power_up(image))
                results[name].append((result, image))
                if result.outcome is Outcome.NO_RECORD:
                    return
        finally:
            batch.journal.close()

    threads = [threading.Thread(target=station, args=(n, s)) for n, s in (("a", 1), ("b", 500))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done = [(r, img) for rs in results.values() for r, img in rs
            if r.outcome is Outcome.VERIFIED]
    assert all(rs and rs[-1][0].outcome is Outcome.NO_RECORD for rs in results.values())
    assert sorted(r.index for r, _ in done) == list(range(records))
    assert results["a"][:-1] and results["b"][:-1], "both stations programmed cards"
    iccids = {image_iccid(img) for _, img in done}
    assert len(iccids) == records
    with open_batch(folder / "batch", url).journal as journal:
        assert journal.status_counts()[RecordState.VERIFIED] == records
        assert set(claims_per_record(journal).values()) == {1}
        stations = {journal.record(i).station for i in range(records)}
    assert stations == {"a", "b"}


@pytest.mark.e2e
@pytest.mark.postgres
def test_postgres_restart_stops_the_cli_loop_clearly(postgres_server, pcsc_stack,  # noqa: F811
                                                     tmp_path):
    stack = pcsc_stack
    url = postgres_server.create_database()
    folder = tmp_path / "batch"
    batch = make_batch(folder, 2, url)
    batch.journal.close()
    image = blank_image(tmp_path / "card.json", 1)
    insert(stack, image)
    args = ("-r", stack.reader, "batch", "program", "--allow-iccid-change", str(folder), "--journal", url, "--adm1",
            VENDOR_ADM, "--count", "1", "--json", "--poll", "0.05")
    cli = BackgroundCli("--trace", *args)
    try:
        cli.apdus(30)
        postgres_server.restart()
        code = cli.proc.wait(timeout=LINE_TIMEOUT)
    finally:
        log = cli.finish()
    assert code != 0 and "error: journal" in log, log[-3000:]
    assert "Traceback" not in log
    cli = BackgroundCli(*args)
    try:
        result = cli.result(skip=("removed", "partial"))
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        log = cli.finish()
    assert result["outcome"] == "verified" and result["resumed"], log[-3000:]
    with open_batch(folder, url).journal as journal:
        assert journal.status_counts()[RecordState.VERIFIED] == 1
        assert set(claims_per_record(journal).values()) == {1}


# --- disk full while writing a batch ---------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def generate_into(folder: Path, count: int = 100) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simtool", "batch", "generate", "--profile", "milo", "--count",
         str(count), "--out", str(folder / "batch"), "--workers", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120)


def test_disk_full_while_generating_leaves_nothing_half_written(small_tmpfs, tmp_path):
    earlier = small_tmpfs / "earlier-batch.toml"
    earlier.write_text("batch_id = 'earlier'\n")
    proc = generate_into(small_tmpfs)
    assert proc.returncode in (1, 4), proc.stderr[-2000:]
    assert "No space left on device" in proc.stderr, proc.stderr[-2000:]
    # no batch folder, no staging folder, no temporary file; what was there is intact
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["earlier-batch.toml"]
    assert earlier.read_text() == "batch_id = 'earlier'\n"
    assert shutil.disk_usage(small_tmpfs).used <= 8192
    # the same batch fits elsewhere: nothing about the failure sticks
    ok = generate_into(tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert len(list(read_records(tmp_path / "batch" / "records.jsonl"))) == 100


def test_disk_full_is_one_clear_error_line_naming_the_file(small_tmpfs):
    """An OSError (ENOSPC here) is one 'error: <file>: <reason>' line, exit 4, no traceback."""
    proc = generate_into(small_tmpfs)
    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert str(small_tmpfs) in line and "No space left on device" in line
