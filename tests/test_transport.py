"""Transports: in-process card, the redacting tracer, the counter, and PC/SC (with a fake
``smartcard.scard`` module, plus one run of the real pyscard against an absent pcscd)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import smartcard.scard as real_scard  # pyscard is a dependency: no importorskip

from simtool.apdu import pcsc
from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu
from simtool.apdu.transport import (
    CountingTransport,
    InProcessTransport,
    TracingTransport,
    Transport,
    format_command,
    format_response,
)
from simtool.errors import CardRemoved, NoCard, NoReader, PcscUnavailable, TransportError
from simtool.secret import Secret


def h(text: str) -> bytes:
    return bytes.fromhex(text)


class EchoCard:
    """Answers every command with the response queued for it (default 90 00)."""

    atr = h("3B9F96801FC78031A073BE21136743200718000001A5")

    def __init__(self, responses: dict[bytes, bytes] | None = None) -> None:
        self.responses = responses or {}
        self.resets = 0
        self.powered = True

    def process(self, apdu: bytes) -> bytes:
        return self.responses.get(apdu, h("9000"))

    def reset(self):
        self.resets += 1
        return None  # some cards return nothing: the transport falls back to .atr

    def power_off(self) -> None:
        self.powered = False


class BareCard:
    atr = h("3B00")

    def process(self, apdu: bytes) -> bytes:
        return h("6D00")

    def reset(self) -> bytes:
        return h("3B01")


# --- InProcessTransport ----------------------------------------------------------------------


def test_in_process_transport_drives_the_card_object():
    card = EchoCard({h("00B0000002"): h("12349000")})
    t = InProcessTransport(card)
    assert isinstance(t, Transport)
    assert t.transmit(h("00B0000002")) == h("12349000")
    assert t.atr() == card.atr
    assert t.reset() == card.atr and card.resets == 1
    t.close()
    assert card.powered is False


def test_in_process_transport_without_power_off():
    t = InProcessTransport(BareCard())
    assert t.reset() == h("3B01")
    t.close()  # nothing to call, no error


# --- TracingTransport -------------------------------------------------------------------------

ADM = "3535353338343037"  # ADM1 "55538407" (sim-facts §9.4)
PIN = "31323334FFFFFFFF"  # PIN "1234" (sim-facts §9.3)
PUK = "3132333435363738"
KI = "465B5CE8B199B49FAA5F0A2EE238A6BC"
RAND = "23553CBE9637A89D218AE64DAE47BF35"
AUTN = "55F328B43577B9B94A9FFAC354DFAFB3"
RES = "DB08A54211D5E3BA50BF10B40BA9A3C58B2A05BBF0D987B21BF8CB10F769BCD751044604127672711C6D3441"

# (command, secret flag, card response, expected log lines)
TRACES = [
    ("00A40004023F00", False, "9000", [">> 00 A4 00 04 02 3F 00", "<< 90 00"]),
    ("00B0000002", False, "12349000", [">> 00 B0 00 00 02", "<< 12 34 90 00"]),
    ("0020000A08" + ADM, False, "9000", [">> 00 20 00 0A 08 [8 bytes redacted]", "<< 90 00"]),
    ("0020000108" + PIN, False, "63C2", [">> 00 20 00 01 08 [8 bytes redacted]", "<< 63 C2"]),
    ("A020000108" + PIN, False, "9804", [">> A0 20 00 01 08 [8 bytes redacted]", "<< 98 04"]),
    ("0024000110" + PIN + PIN, False, "9000",
     [">> 00 24 00 01 10 [16 bytes redacted]", "<< 90 00"]),
    ("0026000108" + PIN, False, "9000", [">> 00 26 00 01 08 [8 bytes redacted]", "<< 90 00"]),
    ("0028000108" + PIN, False, "9000", [">> 00 28 00 01 08 [8 bytes redacted]", "<< 90 00"]),
    ("002C000110" + PUK + PIN, False, "9000",
     [">> 00 2C 00 01 10 [16 bytes redacted]", "<< 90 00"]),
    ("00200001", False, "63C3", [">> 00 20 00 01", "<< 63 C3"]),  # counter query: no data
    ("0088008122" + "10" + RAND + "10" + AUTN + "00", False, RES + "9000",
     [">> 00 88 00 81 22 [34 bytes redacted] 00", "<< [44 bytes redacted] 90 00"]),
    ("0089008122" + "10" + RAND + "10" + AUTN, False, "6986",
     [">> 00 89 00 81 22 [34 bytes redacted]", "<< 69 86"]),
    ("00D6000010" + KI, True, "9000", [">> 00 D6 00 00 10 [16 bytes redacted]", "<< 90 00"]),
    ("00B0000010", True, KI + "9000", [">> 00 B0 00 00 10", "<< [16 bytes redacted] 90 00"]),
    ("00200001FF" + PIN, False, "6700", [">> 00 20 00 01 FF [8 bytes redacted]", "<< 67 00"]),
]


@pytest.mark.parametrize("command, secret, response, lines", TRACES)
def test_trace_lines(command, secret, response, lines):
    log: list[str] = []
    card = EchoCard({h(command): h(response)})
    t = TracingTransport(InProcessTransport(card), log.append)
    assert t.transmit(h(command), secret=secret) == h(response)
    assert log == lines


def test_trace_redacts_the_get_response_that_continues_a_secret_answer():
    """Even when the caller sends GET RESPONSE by hand (no secret flag)."""
    log: list[str] = []
    card = EchoCard({h("A088000010" + RAND): h("9F0C"), h("A0C000000C"): h("00" * 12 + "9000"),
                     h("00A40004023F00"): h("6102"), h("00C0000002"): h("ABCD9000")})
    t = TracingTransport(InProcessTransport(card), log.append)
    for command in ("A088000010" + RAND, "A0C000000C", "00A40004023F00", "00C0000002"):
        t.transmit(h(command))
    assert log == [
        ">> A0 88 00 00 10 [16 bytes redacted]", "<< 9F 0C",
        ">> A0 C0 00 00 0C", "<< [12 bytes redacted] 90 00",
        ">> 00 A4 00 04 02 3F 00", "<< 61 02",
        ">> 00 C0 00 00 02", "<< AB CD 90 00",
    ]


def _spellings(secret_hex: str) -> list[str]:
    raw = bytes.fromhex(secret_hex)
    out = [raw.hex().upper(), raw.hex(), raw.hex(" ").upper(), raw.hex(" ")]
    # every 4-byte window too, so no fragment of a key leaks either
    for i in range(len(raw) - 3):
        out.append(raw[i:i + 4].hex(" ").upper())
        out.append(raw[i:i + 4].hex().upper())
    try:
        out.append(raw.decode("ascii"))
    except UnicodeDecodeError:
        pass
    return out


def test_secrets_never_reach_the_log():
    """PIN, PUK, ADM, Ki and AUTHENTICATE data/results through a Channel with tracing on."""
    log: list[str] = []
    responses = {
        h("0088008122" + "10" + RAND + "10" + AUTN + "00"): h("612E"),
        h("00C000002E"): h(RES + "9000"),
        h("A088000010" + RAND): h("9F0C"),
        h("A0C000000C"): h("A54211D5E3BA50BF10B40BA99000"),
        h("00B0000010"): h(KI + "9000"),
    }
    channel = Channel(TracingTransport(InProcessTransport(EchoCard(responses)), log.append))
    adm, pin, puk = Secret(h(ADM)), Secret(h(PIN)), Secret(h(PUK))
    channel.send(CommandApdu(0x00, 0x20, 0x00, 0x0A, adm.reveal()), name="VERIFY ADM")
    channel.send(CommandApdu(0x00, 0x20, 0x00, 0x01, pin.reveal()))
    channel.send(CommandApdu(0x00, 0x2C, 0x00, 0x01, puk.reveal() + pin.reveal()))
    channel.send(CommandApdu(0x00, 0x24, 0x00, 0x01, pin.reveal() + pin.reveal()))
    channel.send(CommandApdu(0x00, 0xD6, 0x00, 0x00, h(KI)), secret=True)
    channel.send(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=16), secret=True)
    auth = channel.send(CommandApdu(0x00, 0x88, 0x00, 0x81, h("10" + RAND + "10" + AUTN), 0))
    assert auth.data == h(RES)
    gsm = channel.send(CommandApdu(0xA0, 0x88, 0x00, 0x00, h(RAND)))
    assert gsm.data == h("A54211D5E3BA50BF10B40BA9")
    text = "\n".join(log)
    assert len(log) == 20 and "redacted" in text
    for secret in (ADM, PIN, PUK, KI, RAND, AUTN, RES, "A54211D5E3BA50BF10B40BA9"):
        for spelling in _spellings(secret):
            assert spelling not in text, spelling


def test_trace_logs_failures_and_resets():
    log: list[str] = []

    class Broken:
        def transmit(self, apdu, *, secret=False):
            raise CardRemoved("card removed from Reader 0")

        def reset(self):
            return h("3B00")

    t = TracingTransport(Broken(), log.append)
    with pytest.raises(CardRemoved):
        t.transmit(h("00A40004023F00"))
    assert t.reset() == h("3B00")
    assert log == [">> 00 A4 00 04 02 3F 00", "!! CardRemoved: card removed from Reader 0",
                   "-- reset, ATR 3B 00"]


@pytest.mark.parametrize(
    "command, line",
    [
        ("0020000108" + PIN + "00" + "00", ">> 00 20 00 01 08 [10 bytes redacted]"),  # bad length
        ("0020000110" + PIN, ">> 00 20 00 01 10 [8 bytes redacted]"),  # Lc longer than data
        ("00200001", ">> 00 20 00 01"),
    ],
)
def test_malformed_secret_commands_are_fully_redacted(command, line):
    assert ">> " + format_command(h(command), redact=True) == line


@pytest.mark.parametrize("resp, text", [("", "[0 bytes redacted]"), ("90", "[1 byte redacted]"),
                                        ("9000", "90 00"), ("AB9000", "[1 byte redacted] 90 00")])
def test_format_response_redacted(resp, text):
    assert format_response(h(resp), redact=True) == text


# --- CountingTransport --------------------------------------------------------------------------


def test_counting_transport_counts_every_exchange():
    card = EchoCard({h("00A40004023F0000"): h("6102"), h("00C0000002"): h("ABCD9000")})
    counter = CountingTransport(InProcessTransport(card))
    channel = Channel(counter)
    channel.send(CommandApdu(0x00, 0xA4, 0x00, 0x04, h("3F00"), le=0))
    channel.send(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=2))
    assert counter.count == 3
    assert counter.by_ins == {0xA4: 1, 0xC0: 1, 0xB0: 1}
    assert counter.atr() == card.atr


# --- PC/SC with a fake smartcard.scard --------------------------------------------------------------


class FakeScard:
    """Just enough of ``smartcard.scard`` to drive pcsc.py: readers, cards, removal, waiting."""

    def __init__(self, readers: dict[str, EchoCard | None], *, service: bool = True,
                 insert_after_waits: int | None = None) -> None:
        for name in dir(real_scard):
            if name.startswith("SCARD_") and isinstance(getattr(real_scard, name), int):
                setattr(self, name, getattr(real_scard, name))
        self.readers = readers
        self.service = service
        self.insert_after_waits = insert_after_waits
        self.waits = 0
        self.contexts_open = 0
        self.handles: dict[int, str] = {}
        self.removed = False
        self.dispositions: list[int] = []
        self.sent: list[list[int]] = []

    def SCardGetErrorMessage(self, hr):
        return "fake PC/SC message"

    def SCardEstablishContext(self, scope):
        if not self.service:
            return [self.SCARD_E_NO_SERVICE, 0]
        self.contexts_open += 1
        return [self.SCARD_S_SUCCESS, 77]

    def SCardReleaseContext(self, context):
        self.contexts_open -= 1
        return self.SCARD_S_SUCCESS

    def SCardListReaders(self, context, groups):
        if not self.readers:
            return [self.SCARD_E_NO_READERS_AVAILABLE, []]
        return [self.SCARD_S_SUCCESS, list(self.readers)]

    def SCardGetStatusChange(self, context, timeout_ms, states):
        ((reader, _current),) = states
        self.waits += 1
        if reader not in self.readers:
            return [self.SCARD_E_UNKNOWN_READER, []]
        if self.insert_after_waits is not None and self.waits > self.insert_after_waits:
            self.readers[reader] = EchoCard()
        if self.readers[reader] is not None:
            return [self.SCARD_S_SUCCESS, [(reader, self.SCARD_STATE_PRESENT, [])]]
        if self.waits > 1:
            return [self.SCARD_E_TIMEOUT, []]
        return [self.SCARD_S_SUCCESS, [(reader, self.SCARD_STATE_EMPTY, [])]]

    def SCardConnect(self, context, reader, mode, protocols):
        assert mode == self.SCARD_SHARE_SHARED
        assert protocols == self.SCARD_PROTOCOL_T0 | self.SCARD_PROTOCOL_T1
        if reader not in self.readers:
            return [self.SCARD_E_UNKNOWN_READER, 0, 0]
        if self.readers[reader] is None:
            return [self.SCARD_E_NO_SMARTCARD, 0, 0]
        handle = 100 + len(self.handles)
        self.handles[handle] = reader
        return [self.SCARD_S_SUCCESS, handle, self.SCARD_PROTOCOL_T1]

    def SCardTransmit(self, handle, protocol, command):
        assert isinstance(command, list) and protocol == self.SCARD_PCI_T1
        if self.removed:
            return [self.SCARD_W_REMOVED_CARD, []]
        self.sent.append(command)
        return [self.SCARD_S_SUCCESS, list(self.readers[self.handles[handle]].process(bytes(command)))]

    def SCardStatus(self, handle):
        if self.removed:
            return [self.SCARD_W_REMOVED_CARD, "", 0, 0, []]
        card = self.readers[self.handles[handle]]
        return [self.SCARD_S_SUCCESS, self.handles[handle], 0, 2, list(card.atr)]

    def SCardReconnect(self, handle, mode, protocols, disposition):
        self.dispositions.append(disposition)
        return [self.SCARD_S_SUCCESS, self.SCARD_PROTOCOL_T1]

    def SCardDisconnect(self, handle, disposition):
        self.dispositions.append(disposition)
        del self.handles[handle]
        return self.SCARD_S_SUCCESS


READERS = ["Virtual PCD 00 00", "Virtual PCD 00 01", "ACS ACR39U ICC Reader 00 00"]


@pytest.fixture
def fake(monkeypatch):
    scard = FakeScard({READERS[0]: EchoCard(), READERS[1]: None, READERS[2]: EchoCard()})
    monkeypatch.setattr(pcsc, "_load_scard", lambda: scard)
    return scard


def test_list_readers(fake):
    assert pcsc.list_readers() == READERS
    assert fake.contexts_open == 0


def test_no_readers_is_an_empty_list(fake):
    fake.readers = {}
    assert pcsc.list_readers() == []


def test_service_down_names_pcscd(fake):
    fake.service = False
    with pytest.raises(PcscUnavailable, match=r"is pcscd running\? start it with `pcscd`"):
        pcsc.list_readers()


@pytest.mark.parametrize(
    "spec, name",
    [(None, READERS[0]), (1, READERS[1]), ("2", READERS[2]), ("acr39", READERS[2]),
     ("virtual pcd 00 01", READERS[1]), (" ACS ", READERS[2])],
)
def test_select_reader(fake, spec, name):
    assert pcsc.select_reader(spec) == name


@pytest.mark.parametrize("spec, why", [(3, "no reader number 3"), ("omnikey", "no reader matches"),
                                       ("Virtual", "matches 2 readers")])
def test_select_reader_names_the_available_readers(fake, spec, why):
    with pytest.raises(NoReader, match=why) as info:
        pcsc.select_reader(spec)
    assert "0: Virtual PCD 00 00, 1: Virtual PCD 00 01, 2: ACS ACR39U" in str(info.value)


def test_select_reader_with_no_readers(fake):
    fake.readers = {}
    with pytest.raises(NoReader, match="no PC/SC reader found"):
        pcsc.select_reader(None)


def test_connect_transmit_reset_close(fake):
    t = pcsc.PcscTransport.connect(READERS[0])
    assert t.protocol == "T=1"
    assert t.transmit(h("00A40004023F00")) == h("9000")
    assert fake.sent == [list(h("00A40004023F00"))]
    assert t.atr() == EchoCard.atr
    assert t.reset() == EchoCard.atr
    t.close()
    t.close()  # idempotent
    assert fake.dispositions == [fake.SCARD_RESET_CARD, fake.SCARD_RESET_CARD]
    assert fake.contexts_open == 0 and fake.handles == {}


def test_connect_without_a_card(fake):
    with pytest.raises(NoCard, match="no card in reader Virtual PCD 00 01: insert one"):
        pcsc.PcscTransport.connect(READERS[1])
    assert fake.contexts_open == 0


def test_connect_to_an_unknown_reader(fake):
    with pytest.raises(NoReader, match="'Gone' is not available; available readers: 0: Virtual"):
        pcsc.PcscTransport.connect("Gone")


def test_connect_waits_for_a_card(fake):
    fake.insert_after_waits = 1
    with pcsc.PcscTransport.connect(READERS[1], timeout=5) as t:
        assert t.transmit(h("00200001")) == h("9000")
    assert fake.waits == 2


def test_connect_wait_gives_up(fake):
    with pytest.raises(NoCard, match=r"insert one \(waited 0.5 s\)"):
        pcsc.PcscTransport.connect(READERS[1], timeout=0.5)


def test_removed_card_through_a_channel(fake):
    t = pcsc.PcscTransport.connect(READERS[0])
    fake.removed = True
    with pytest.raises(CardRemoved) as info:
        Channel(t).send(CommandApdu(0x00, 0xD6, 0x00, 0x00, h("0849")), name="UPDATE EF.IMSI")
    assert info.value.step == "UPDATE EF.IMSI"
    assert str(info.value) == "card removed from Virtual PCD 00 00 during UPDATE EF.IMSI"
    with pytest.raises(CardRemoved):
        t.atr()
    t.close()


@pytest.mark.parametrize("answer", ["empty", "not transacted"])
def test_a_card_dying_mid_command_is_card_removed(fake, monkeypatch, answer):
    """vpcd with the card process killed mid-APDU: transmit 'succeeds' with no bytes, or fails
    with SCARD_E_NOT_TRANSACTED.  Both mean the card is gone (resumable), not a PC/SC fault."""
    t = pcsc.PcscTransport.connect(READERS[0])
    reply = ([fake.SCARD_S_SUCCESS, []] if answer == "empty"
             else [fake.SCARD_E_NOT_TRANSACTED, []])
    monkeypatch.setattr(fake, "SCardTransmit", lambda *a: reply)
    with pytest.raises(CardRemoved):
        t.transmit(h("00A40004023F00"))
    t.close()


def test_other_pcsc_failures_are_transport_errors(fake, monkeypatch):
    t = pcsc.PcscTransport.connect(READERS[0])
    monkeypatch.setattr(fake, "SCardTransmit",
                        lambda *a: [fake.SCARD_F_COMM_ERROR, []])
    with pytest.raises(TransportError, match="during transmit on Virtual PCD 00 00") as info:
        t.transmit(h("00A40004023F00"))
    assert type(info.value) is TransportError
    monkeypatch.setattr(fake, "SCardTransmit", lambda *a: [fake.SCARD_E_NO_SERVICE, []])
    with pytest.raises(PcscUnavailable):
        t.transmit(h("00A40004023F00"))
    t.close()
    with pytest.raises(CardRemoved, match="closed"):
        t.transmit(h("00A40004023F00"))


# --- the real pyscard, without pcscd -----------------------------------------------------------


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


def test_importing_the_apdu_layer_does_not_load_pyscard():
    proc = _run("""
        import sys, simtool.apdu, simtool.apdu.pcsc
        print("smartcard" in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_real_pyscard_without_pcscd_raises_pcsc_unavailable(tmp_path):
    # libpcsclite's client reads its socket path from PCSCLITE_CSOCK_NAME: point it at nothing,
    # so the running machine's pcscd (if any) is neither used nor disturbed.
    proc = _run("""
        from simtool.apdu.pcsc import list_readers, select_reader
        from simtool.errors import PcscUnavailable
        for call in (list_readers, lambda: select_reader(None)):
            try:
                call()
            except PcscUnavailable as exc:
                print("PcscUnavailable:", exc)
    """, PCSCLITE_CSOCK_NAME=str(tmp_path / "no-pcscd.comm"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all("is pcscd running? start it with `pcscd`" in line for line in lines)


def test_reader_atrs_and_the_default_reader_is_the_first_with_a_card(fake):
    fake.readers[READERS[0]] = None  # 00 00 empty, 00 01 empty, the ACS reader has a card
    states = pcsc.reader_atrs()
    assert [(name, atr is not None) for name, atr in states] == [
        (READERS[0], False), (READERS[1], False), (READERS[2], True)]
    assert pcsc.select_reader(None) == READERS[2]
    assert fake.sent == [] and fake.dispositions == []  # no card was touched
    for name in READERS:
        fake.readers[name] = None
    assert pcsc.select_reader(None) == READERS[0]  # none has a card: the first reader
