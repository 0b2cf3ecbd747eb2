"""``simtool batch program`` end to end: CLI → pyscard → pcscd → vpcd → virtual SJA2.

One CLI process programs a generated batch while the test plays the operator: after each card's
result it takes the card out (stops the emulator) and inserts a fresh blank one (a new image
file).  Each card's final image is then checked against its record with the emulator's own
encoders.  A second test pulls a card in the middle of its programming and re-inserts it.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from simtool.provision.batchdir import read_records
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from tests.background_cli import LINE_TIMEOUT, BackgroundCli
from tests.virtual_card.defaults import imsi_bytes, swapped_bcd
from tests.virtual_card.image import load_image
from tests.virtual_card.pins import pin_block

pytestmark = pytest.mark.e2e

SIMTOOL = [sys.executable, "-m", "simtool"]
VENDOR_ADM = "11223344"


@pytest.fixture
def stack(pcsc_stack):
    return pcsc_stack


def pull(stack, sig: int = signal.SIGTERM) -> None:
    """Take the card out (the harness waits until pcscd has seen it go)."""
    stack.kill_card(sig)


def insert(stack, image: Path) -> None:
    stack.image = image
    stack.start_card()


def batch_of(tmp_path: Path, count: int) -> tuple[Path, dict]:
    folder = tmp_path / "batch"
    generate_batch(load_profile("milo"), count, folder, panel_import=False)
    return folder, {r.index: r for r in read_records(folder / "records.jsonl")}


def check_image(image: Path, rec) -> None:
    state = load_image(image)
    assert state.files["3F00/2FE2"] == swapped_bcd(rec.iccid, 10)
    assert state.files["3F00/7F20/6F07"] == imsi_bytes(rec.imsi)
    assert state.auth["auth.usim"][1:] == rec.ki.reveal() + rec.opc.reveal()
    assert state.pins["ADM1"].value.reveal() == pin_block(rec.adm1.reveal())
    assert state.pins["PIN1"].value.reveal() == pin_block(rec.pin1.reveal())


def test_twenty_cards_one_after_another(stack, tmp_path):
    count = 20
    folder, records = batch_of(tmp_path, count)
    images = [stack.image] + [tmp_path / f"card-{i:02d}.json" for i in range(1, count)]
    cli = BackgroundCli("-r", stack.reader, "batch", "program", "--allow-iccid-change", str(folder), "--adm1", VENDOR_ADM,
              "--count", str(count), "--json", "--poll", "0.05", "--station", "e2e")
    try:
        results = []
        for i in range(count):
            results.append(cli.result(skip=("removed", "partial")))
            if i + 1 < count:
                # as the operator does: take the card out, insert the next one when asked
                # (a swap faster than the CLI's poll looks like the same card staying in)
                cli.stderr_until("take the card out")
                pull(stack)
                cli.stderr_until("waiting for a card")
                insert(stack, images[i + 1])
        summary = json.loads(cli.out.get(timeout=LINE_TIMEOUT))["summary"]
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        stderr = cli.stop()
    assert [r["outcome"] for r in results] == ["verified"] * count, stderr
    assert [r["index"] for r in results] == list(range(count))
    assert summary["cards"] == {"verified": count}
    assert summary["journal"]["verified"] == count
    for image, result in zip(images, results):
        check_image(image, records[result["index"]])
    assert len({r["iccid"] for r in results}) == count


def test_card_pulled_mid_write_is_finished_when_reinserted(stack, tmp_path):
    folder, records = batch_of(tmp_path, 2)
    image = stack.image  # the blank card the stack started with
    cli = BackgroundCli("-r", stack.reader, "--trace", "batch", "program", "--allow-iccid-change", str(folder), "--adm1",
              VENDOR_ADM, "--count", "1", "--json", "--poll", "0.05")
    try:
        cli.stderr_until(">> 00 D6")  # the first UPDATE BINARY (EF.ICCID) is on its way
        pull(stack, signal.SIGKILL)  # pulled: the emulator dies without a word
        first = cli.result(skip=("removed",))
        insert(stack, image)  # the same card goes back in
        second = cli.result(skip=("removed", "partial"))
        summary = json.loads(cli.out.get(timeout=LINE_TIMEOUT))["summary"]
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        stderr = cli.stop()
    assert first["outcome"] == "partial", stderr[-3000:]
    assert "re-insert" in first["reason"]
    assert second["outcome"] == "verified" and second["resumed"], stderr[-3000:]
    assert second["index"] == first["index"] == 0 and second["iccid"] == first["iccid"]
    assert summary["journal"]["verified"] == 1 and summary["journal"]["pending"] == 1
    check_image(image, records[0])
    # the trace showed every APDU, but no key, PIN or ADM1
    rec = records[0]
    shown = (stderr + json.dumps([first, second, summary])).upper().replace(" ", "")
    assert ">>00D6" in shown and "REDACTED" in shown
    for secret in (rec.ki.reveal().hex(), rec.opc.reveal().hex(),
                   pin_block(rec.adm1.reveal()).hex(), pin_block(rec.pin1.reveal()).hex(),
                   pin_block(VENDOR_ADM).hex()):
        assert secret.upper() not in shown
