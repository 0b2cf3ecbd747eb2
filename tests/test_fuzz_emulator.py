"""The virtual card never crashes: a seeded, bounded fuzz run (the CI version of
bench/fuzz_emulator.py) and hypothesis on single commands.

Oracles (tests/fuzzing/): ``process`` answers every command without a logged internal error;
the status word is one TS 102 221 §10.2 / TS 51.011 §9.4 allow for that command; a rejected
command leaves the image file and the card's persistent state unchanged; a T=0 follow-up
(6Cxx → re-send, 61xx/9Fxx → GET RESPONSE) gets the announced data; what FETCH returns
decodes; the image still loads and matches the card at the end of every episode; vpcd frames
(short, empty, cut, controls) never break the frame handler.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import (
    KNOWN_DEVIATIONS,
    VPCD_CONTROLS,
    Deviation,
    EmulatorFuzz,
    FakeSocket,
    Finding,
    PcscFuzz,
    command_info,
    followup,
    is_known,
    matches,
    may_change_image,
    mutate,
    sw_allowed,
)
from tests.harness import REPO

#: SIMTOOL_FUZZ_SCALE=N multiplies the hypothesis examples (random seeds) for a deeper run.
SCALE = int(os.environ.get("SIMTOOL_FUZZ_SCALE", "1"))
MENU = tomllib.loads((REPO / "provisioning" / "menus" / "milo.toml").read_text(encoding="utf-8"))
CI_APDUS = 20_000


@pytest.fixture(scope="module")
def workdir():
    """tmpfs when there is one: every accepted UPDATE fsyncs the image."""
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as d:
        yield Path(d)


@pytest.fixture(scope="module")
def fuzz(workdir):
    return EmulatorFuzz(0, workdir, menu=MENU)


def test_seeded_run_finds_only_known_deviations(workdir):
    stats = EmulatorFuzz(20240605, workdir, menu=MENU, episode=1000).run(CI_APDUS)
    assert stats.apdus >= CI_APDUS
    unexpected = stats.unexpected()
    assert not unexpected, "\n".join(f.reproducer() for f in unexpected)
    # the run reached what it is meant to reach
    assert stats.image_checks > CI_APDUS // 2 and stats.followups > 100
    assert stats.vpcd_frames > 500 and stats.fetched > 50 and stats.episodes >= 20
    assert {"SELECT", "AUTHENTICATE", "ENVELOPE", "GSM RUN GSM ALGORITHM",
            "TERMINAL RESPONSE", "UNBLOCK PIN"} <= set(stats.by_command)


def test_known_deviations_still_reproduce(fuzz):
    """An entry that no longer reproduces was fixed: remove it from KNOWN_DEVIATIONS.

    One test over the whole list rather than one per entry: parametrized over an empty list
    (there is no known deviation today) pytest would report a skip on every run."""
    gone = []
    for deviation in KNOWN_DEVIATIONS:
        found = fuzz.replay([bytes.fromhex(s) for s in deviation.steps.split()])
        if not any(matches(deviation, f) for f in found):
            gone.append((deviation, [f.reproducer() for f in found]))
    assert not gone, gone


def test_a_deviation_matches_its_finding_only():
    finding = Finding("sw", "SELECT", bytes.fromhex("00A40004023F00"), 0x6A88, "x")
    assert matches(Deviation("sw", "SELECT", "6AXX", "00A40004023F00", "why"), finding)
    assert not matches(Deviation("sw", "SELECT", "6A82", "00A40004023F00", "why"), finding)
    assert not matches(Deviation("sw", "STATUS", "6AXX", "80F2000000", "why"), finding)


@settings(max_examples=400 * SCALE, deadline=None, derandomize=SCALE == 1,
          suppress_health_check=[HealthCheck.too_slow])
@given(apdu=st.binary(max_size=270))
def test_any_bytes_get_an_allowed_answer(fuzz, apdu):
    for finding in fuzz.replay([apdu]):
        assert is_known(finding), finding.reproducer()


@settings(max_examples=300 * SCALE, deadline=None, derandomize=SCALE == 1)
@given(head=st.sampled_from(["00A40004023F00", "00B0000000", "0020000108" + "31323334FFFFFFFF",
                             "80F2000000", "00A4000C027FFF", "A0A40000027F20", "80120000",
                             "80C2000009D30782020181900101", "0088008111" + "10" + "00" * 16]),
       ops=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 1 << 16),
                              st.integers(0, 255)), min_size=1, max_size=5))
def test_mutated_commands_get_an_allowed_answer(fuzz, head, ops):
    steps = [bytes.fromhex("00A4040407A0000000871002"), bytes.fromhex(head)]
    steps.append(mutate(steps[-1], ops))
    for finding in fuzz.replay(steps):
        assert is_known(finding), finding.reproducer()


# --- the oracles themselves ------------------------------------------------------------------

@pytest.mark.parametrize("apdu,sw,allowed", [
    ("00A40004023F00", 0x6A82, True),          # SELECT: file not found
    ("00A40004023F00", 0x9862, False),         # an AUTHENTICATE status word
    ("0020000108", 0x63C2, True),              # VERIFY: 2 tries left
    ("00B0000000", 0x63C2, False),             # 63Cx belongs to the PIN commands
    ("A0B0000000", 0x9402, True),              # GSM READ BINARY: out of range
    ("A0B0000000", 0x6A82, False),             # a UICC status word under CLA A0
    ("00EE000000", 0x6D00, True),              # unknown INS
    ("00EE000000", 0x9000, False),
    ("B0A4000000", 0x6E00, True),              # unknown class
    ("80C2000000", 0x9300, True),              # ENVELOPE: toolkit busy
    ("00A4", 0x6700, True),                    # no header
])
def test_sw_table(apdu, sw, allowed):
    assert sw_allowed(bytes.fromhex(apdu), sw) is allowed, command_info(bytes.fromhex(apdu))


def test_only_success_or_a_spent_try_may_change_the_image():
    assert may_change_image(bytes.fromhex("00D6000001AA"), 0x9000)
    assert may_change_image(bytes.fromhex("0020000108"), 0x63C1)
    assert may_change_image(bytes.fromhex("A020000108"), 0x9804)
    assert not may_change_image(bytes.fromhex("00B0000001"), 0x9804)
    assert not may_change_image(bytes.fromhex("00880081"), 0x6C35)


def test_followup_of_procedure_bytes():
    assert followup(bytes.fromhex("00B0000010"), b"\x6c\x0a") == (bytes.fromhex("00B000000A"), 10)
    assert followup(bytes.fromhex("00A40004023F00"), b"\x61\x20") == (bytes.fromhex("00C0000020"),
                                                                       32)
    assert followup(bytes.fromhex("A0A40000027F20"), b"\x9f\x16") == (bytes.fromhex("A0C0000016"),
                                                                       22)
    assert followup(bytes.fromhex("00B0000010"), b"\x90\x00") is None


def test_fake_socket_keeps_what_a_short_read_leaves():
    sock = FakeSocket([b"abcdef", b"g"])
    assert sock.recv(4) == b"abcd" and sock.recv(10) == b"ef" and sock.recv(1) == b"g"
    assert sock.recv(1) == b""


# --- vpcd's 1-byte frames ----------------------------------------------------------------------

def _serve(frames: list[bytes]) -> list[bytes]:
    """The answers ``VpcdClient.serve`` sends for ``frames`` (a fresh built-in card)."""
    from tests.virtual_card.uicc import VirtualUicc
    from tests.virtual_card.vpcd import VpcdClient

    sock = FakeSocket([b"".join(len(f).to_bytes(2, "big") + f for f in frames)])
    VpcdClient(VirtualUicc.from_image(None)).serve(sock)   # type: ignore[arg-type]
    out, answers = bytes(sock.sent), []
    while out:
        n = int.from_bytes(out[:2], "big")
        answers.append(out[2:2 + n])
        out = out[2 + n:]
    return answers


@pytest.mark.parametrize("byte", [b for b in range(256) if b not in VPCD_CONTROLS])
def test_a_one_byte_apdu_is_answered_wrong_length(byte):
    """vpcd frames a 1-byte APDU as it frames a control: every 1-byte frame that is not one of
    the four controls must be answered (6700, ISO/IEC 7816-4 wrong length), or vpcd waits for
    ever and every client of the reader with it."""
    assert _serve([b"\x01", bytes((byte,))]) == [b"\x67\x00"]


def test_the_four_controls_stay_controls():
    from tests.virtual_card.uicc import VirtualUicc
    atr = VirtualUicc.from_image(None).atr
    assert _serve([b"\x00", b"\x01", b"\x02", b"\x04", b"\x89"]) == [atr, b"\x67\x00"]


# --- through pcscd + vpcd, with a deadline per APDU -------------------------------------------

PCSC_APDUS = 400


def test_fuzz_through_pcscd_answers_every_apdu_in_time(pcsc_stack):
    """Part of the fuzz through the real stack (pyscard → pcscd → vpcd → card process): every
    APDU, a quarter of them 1-4 bytes long, is answered within 5 s with an allowed status word
    (bench/fuzz_emulator.py --pcscd N runs more)."""
    stats = PcscFuzz(pcsc_stack, 20241204, deadline=5.0).run(PCSC_APDUS)
    assert stats.apdus == PCSC_APDUS
    assert not stats.unexpected(), "\n".join(f.reproducer() for f in stats.unexpected())
    assert stats.short > PCSC_APDUS // 5 and stats.by_length[1] > 20
    assert pcsc_stack.card.poll() is None and stats.restarts == 0


def test_a_hang_through_pcscd_is_a_finding_and_the_run_goes_on(pcsc_stack):
    """The deadline works: a 1-byte APDU 02 is vpcd's reset control, so the card answers
    nothing and vpcd waits: reported as a hang, the card is replaced, the next APDU answered."""
    fuzz = PcscFuzz(pcsc_stack, 1, deadline=2.0)
    try:
        finding = fuzz.exchange(b"\x02")
        assert finding is not None and finding.kind == "hang", finding
        assert fuzz.stats.restarts == 1
        assert fuzz.exchange(bytes.fromhex("00A40004023F00")) is None
    finally:
        fuzz.close()
