"""Channel over InProcessTransport and a scripted card: 61xx/6Cxx/9Fxx chains byte-exact, the
typed errors, raw APDUs and lost cards.  (PIN counter queries are the card model's:
tests/test_card.py.)"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.channel import MAX_EXCHANGES, Channel
from simtool.apdu.command import CommandApdu
from simtool.apdu.sw import describe
from simtool.apdu.transport import InProcessTransport, TracingTransport
from simtool.errors import (
    AuthenticationFailed,
    CardError,
    CardRemoved,
    DecodeError,
    FileNotFound,
    NotSupported,
    PinBlocked,
    RecordNotFound,
    SecurityNotSatisfied,
    WrongLength,
    WrongPin,
)
from tests.conftest import ScriptedCard


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def channel_for(script):
    card = ScriptedCard(script)
    return Channel(InProcessTransport(card)), card


FCP = "62 1A 82 02 78 21 83 02 3F 00 A5 03 80 01 71 8A 01 05 8B 03 2F 06 01 C6 03 90 01 40"
SRES_KC = "11 22 33 44 01 02 03 04 05 06 07 08"
RAND = "23553cbe9637a89d218ae64dae47bf35"

# (command, script of (command, response), expected data, expected SW)
CHAINS = [
    (  # 61xx → GET RESPONSE with the length (TS 102 221 §7.3.1.1.4)
        CommandApdu(0x00, 0xA4, 0x00, 0x04, h("3F00"), le=0),
        [("00A40004023F0000", "611C"), ("00C000001C", FCP + "9000")],
        FCP,
        0x9000,
    ),
    (  # 61xx repeated: data of every GET RESPONSE is concatenated
        CommandApdu(0x00, 0xB2, 0x01, 0x04, le=0x15),
        [("00B2010415", "6110"), ("00C0000010", "00" * 16 + "6105"),
         ("00C0000005", "11" * 5 + "9000")],
        "00" * 16 + "11" * 5,
        0x9000,
    ),
    (  # 61 00 means 256 bytes: GET RESPONSE with Le = 00
        CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256),
        [("00B0000000", "6100"), ("00C0000000", "AB" * 256 + "9000")],
        "AB" * 256,
        0x9000,
    ),
    (  # 6Cxx → resend with Le = xx (TS 102 221 Table 7.1)
        CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256),
        [("00B0000000", "6C0A"), ("00B000000A", "98 10 32 54 76 98 10 32 54 F6 9000")],
        "98 10 32 54 76 98 10 32 54 F6",
        0x9000,
    ),
    (  # 6Cxx on a case 1 command: Le is appended
        CommandApdu(0x80, 0xF2, 0x00, 0x00),
        [("80F20000", "6C16"), ("80F2000016", "CD" * 22 + "9000")],
        "CD" * 22,
        0x9000,
    ),
    (  # 6Cxx answering the GET RESPONSE: the GET RESPONSE is resent with the new Le
        CommandApdu(0x00, 0xA4, 0x00, 0x04, h("3F00"), le=0),
        [("00A40004023F0000", "6120"), ("00C0000020", "6C1C"), ("00C000001C", FCP + "9000")],
        FCP,
        0x9000,
    ),
    (  # GSM SIM: 9Fxx → GET RESPONSE A0 C0 00 00 xx (TS 51.011 §9.4.1)
        CommandApdu(0xA0, 0xA4, 0x00, 0x00, h("3F00")),
        [("A0A40000023F00", "9F16"), ("A0C0000016", "00" * 22 + "9000")],
        "00" * 22,
        0x9000,
    ),
    (  # RUN GSM ALGORITHM (sim-facts §8.3)
        CommandApdu(0xA0, 0x88, 0x00, 0x00, h(RAND)),
        [("A088000010" + RAND, "9F0C"), ("A0C000000C", SRES_KC + "9000")],
        SRES_KC,
        0x9000,
    ),
    (  # 9Fxx on the UICC class is followed up too
        CommandApdu(0x00, 0xA4, 0x00, 0x04, h("3F00")),
        [("00A40004023F00", "9F1C"), ("00C000001C", FCP + "9000")],
        FCP,
        0x9000,
    ),
    (  # after a TS 102 221 command of class 80 (ENVELOPE), GET RESPONSE is interindustry:
        # class 00 (TS 102 221 §10.1.1 Table 10.5: GET RESPONSE is 0X/4X/6X)
        CommandApdu(0x80, 0xC2, 0x00, 0x00, h("D30782020181900102")),
        [("80C2000009D30782020181900102", "6102"), ("00C0000002", "ABCD9000")],
        "ABCD",
        0x9000,
    ),
    (  # GET RESPONSE keeps the command's logical channel
        CommandApdu(0x01, 0xB0, 0x00, 0x00, le=2),
        [("01B0000002", "6102"), ("01C0000002", "ABCD9000")],
        "ABCD",
        0x9000,
    ),
    (  # the final SW of a chain is the SW of the last GET RESPONSE (91xx: proactive pending)
        CommandApdu(0x80, 0xC2, 0x00, 0x00, h("D30782020181900102")),
        [("80C2000009D30782020181900102", "6102"), ("00C0000002", "ABCD9121")],
        "ABCD",
        0x9121,
    ),
    (  # 6Cxx repeated for the corrected command is final, not a loop
        CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4),
        [("00B0000004", "6C02"), ("00B0000002", "6C02")],
        "",
        0x6C02,
    ),
]


@pytest.mark.parametrize("apdu, script, data, sw", CHAINS)
def test_procedure_bytes_are_followed_byte_exact(apdu, script, data, sw):
    channel, card = channel_for(script)
    resp = channel.send(apdu, check=False)
    assert (resp.data, resp.sw) == (h(data), sw)
    assert card.script == []


@pytest.mark.parametrize("apdu, script, data, sw", CHAINS)
def test_send_raw_follows_the_same_chains(apdu, script, data, sw):
    channel, card = channel_for(script)
    resp = channel.send_raw(apdu.to_bytes())
    assert (resp.data, resp.sw) == (h(data), sw)
    assert card.script == []


def test_send_raw_returns_failing_status_words():
    channel, _ = channel_for([("00A40004026F07", "6A82")])
    resp = channel.send_raw(h("00A40004026F07"))
    assert (resp.data, resp.sw) == (b"", 0x6A82)


def test_send_raw_needs_a_header():
    channel, _ = channel_for([])
    with pytest.raises(DecodeError):
        channel.send_raw(h("00A4"))


VERIFY_1234 = CommandApdu(0x00, 0x20, 0x00, 0x01, h("31323334FFFFFFFF"))
READ = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=9)
AUTH = CommandApdu(0x00, 0x88, 0x00, 0x81, bytes(34), le=0)

# (command, SW, error class, attributes to check)
ERRORS = [
    (VERIFY_1234, "63C2", WrongPin, {"tries_left": 2}),
    (CommandApdu(0x00, 0x24, 0x00, 0x01, bytes(16)), "63C0", WrongPin, {"tries_left": 0}),
    (CommandApdu(0x00, 0x2C, 0x00, 0x01, bytes(16)), "63C9", WrongPin, {"tries_left": 9}),
    (CommandApdu(0x00, 0x26, 0x00, 0x01, bytes(8)), "63C1", WrongPin, {"tries_left": 1}),
    (CommandApdu(0x00, 0x28, 0x00, 0x01, bytes(8)), "63C1", WrongPin, {"tries_left": 1}),
    (VERIFY_1234, "6983", PinBlocked, {}),
    (CommandApdu(0xA0, 0x20, 0x00, 0x01, bytes(8)), "9840", PinBlocked, {}),
    (READ, "6982", SecurityNotSatisfied, {}),
    (CommandApdu(0xA0, 0x20, 0x00, 0x01, bytes(8)), "9804", SecurityNotSatisfied, {}),
    (CommandApdu(0x00, 0xA4, 0x00, 0x04, h("6F07")), "6A82", FileNotFound, {}),
    (CommandApdu(0xA0, 0xA4, 0x00, 0x00, h("6F07")), "9404", FileNotFound, {}),
    (CommandApdu(0x00, 0xB2, 0x05, 0x04, le=26), "6A83", RecordNotFound, {}),
    (CommandApdu(0xA0, 0xB2, 0x05, 0x04, le=26), "9402", RecordNotFound, {}),
    (READ, "6700", WrongLength, {}),
    (READ, "6781", WrongLength, {}),
    (READ, "6D00", NotSupported, {}),
    (READ, "6E00", NotSupported, {}),
    (CommandApdu(0xA0, 0xF2, 0x00, 0x00, le=22), "6E00", NotSupported, {}),
    # TS 102 221 §10.2.1.5: function not supported, and the 68xx "functions in CLA" family
    (CommandApdu(0x00, 0xA4, 0x04, 0x04, h("A0000000871002"), le=0), "6A81", NotSupported, {}),
    (CommandApdu(0x01, 0xB0, 0x00, 0x00, le=9), "6881", NotSupported, {}),
    (CommandApdu(0x04, 0xB0, 0x00, 0x00, le=9), "6882", NotSupported, {}),
    (AUTH, "9862", AuthenticationFailed, {}),
    (READ, "6A86", CardError, {}),
    (READ, "6581", CardError, {}),
    (CommandApdu(0x80, 0xC2, 0x00, 0x00, h("D30782020181900102")), "9300", CardError, {}),
    (CommandApdu(0xA0, 0xD6, 0x00, 0x00, bytes(9)), "9240", CardError, {}),
]


@pytest.mark.parametrize("apdu, sw, error, attrs", ERRORS)
def test_failing_status_words_raise_typed_errors(apdu, sw, error, attrs):
    channel, _ = channel_for([(apdu.to_bytes().hex(), sw)])
    with pytest.raises(CardError) as info:
        channel.send(apdu, name="STEP X")
    exc = info.value
    assert type(exc) is error
    assert exc.sw == int(sw, 16)
    assert exc.command == "STEP X"
    assert str(exc).startswith(f"STEP X: {sw} ")
    for key, value in attrs.items():
        assert getattr(exc, key) == value


@pytest.mark.parametrize("apdu, sw, error, attrs", ERRORS)
def test_check_false_returns_the_status_word(apdu, sw, error, attrs):
    channel, _ = channel_for([(apdu.to_bytes().hex(), sw)])
    assert channel.send(apdu, check=False).sw == int(sw, 16)


SUCCESSES = [
    (READ, "9000"),
    (READ, "9130"),  # proactive command pending
    (READ, "9203"),  # GSM: done after 3 retries
    (READ, "6282"),  # warning: end of file
    (READ, "62F1"),
    (CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(9)), "63C1"),  # not a PIN command
    (CommandApdu(0x00, 0x20, 0x00, 0x01), "63C3"),  # VERIFY without data is a query
    (CommandApdu(0x00, 0x2C, 0x00, 0x01), "63CA"),
]


@pytest.mark.parametrize("apdu, sw", SUCCESSES)
def test_success_and_warnings_do_not_raise(apdu, sw):
    channel, _ = channel_for([(apdu.to_bytes().hex(), sw)])
    assert channel.send(apdu).sw == int(sw, 16)


def test_error_message_names_the_step_or_the_instruction():
    channel, _ = channel_for([("00D6000009" + "00" * 9, "6982"), ("00B0000009", "6982")])
    with pytest.raises(SecurityNotSatisfied, match=r"^UPDATE BINARY EF.IMSI: 6982 security"):
        channel.send(CommandApdu(0x00, 0xD6, 0, 0, bytes(9)), name="UPDATE BINARY EF.IMSI")
    with pytest.raises(SecurityNotSatisfied, match=r"^READ BINARY: 6982"):
        channel.send(READ)


# --- secrets and lost cards -------------------------------------------------------------------------


class RecordingTransport(InProcessTransport):
    def __init__(self, card) -> None:
        super().__init__(card)
        self.flags: list[bool] = []

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        self.flags.append(secret)
        return super().transmit(apdu, secret=secret)


def test_authenticate_and_its_get_response_are_secret():
    card = ScriptedCard([(AUTH.to_bytes().hex(), "6104"), ("00C0000004", "DB0201029000")])
    transport = RecordingTransport(card)
    Channel(transport).send(AUTH)
    assert transport.flags == [True, True]


def test_secret_flag_reaches_every_exchange_of_a_chain():
    apdu = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(16))
    card = ScriptedCard([(apdu.to_bytes().hex(), "6C00"), (apdu.to_bytes().hex() + "00", "9000")])
    transport = RecordingTransport(card)
    Channel(transport).send(apdu, secret=True)
    assert transport.flags == [True, True]


def test_gsm_algorithm_response_is_redacted_in_a_trace():
    lines: list[str] = []
    card = ScriptedCard([("A088000010" + RAND, "9F0C"), ("A0C000000C", SRES_KC + "9000")])
    channel = Channel(TracingTransport(InProcessTransport(card), lines.append))
    resp = channel.send(CommandApdu(0xA0, 0x88, 0x00, 0x00, h(RAND)))
    assert resp.data == h(SRES_KC)
    assert lines == [
        ">> A0 88 00 00 10 [16 bytes redacted]",
        "<< 9F 0C",
        ">> A0 C0 00 00 0C",
        "<< [12 bytes redacted] 90 00",
    ]


class FailingTransport:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        raise self.exc


@pytest.mark.parametrize(
    "exc, message",
    [
        (CardRemoved(), "card removed during UPDATE BINARY EF.IMSI"),
        (CardRemoved("card removed from Reader 0"),
         "card removed from Reader 0 during UPDATE BINARY EF.IMSI"),
        (CardRemoved(step="inner"), "card removed during UPDATE BINARY EF.IMSI"),
        (ConnectionResetError("peer reset"),
         "connection to the card lost (peer reset) during UPDATE BINARY EF.IMSI"),
    ],
)
def test_lost_card_becomes_card_removed_with_the_step(exc, message):
    channel = Channel(FailingTransport(exc))
    with pytest.raises(CardRemoved) as info:
        channel.send(CommandApdu(0x00, 0xD6, 0, 0, b"\x01"), name="UPDATE BINARY EF.IMSI")
    assert info.value.step == "UPDATE BINARY EF.IMSI"
    assert str(info.value) == message


def test_lost_card_without_a_name_uses_the_instruction():
    channel = Channel(FailingTransport(CardRemoved()))
    with pytest.raises(CardRemoved) as info:
        channel.send(READ)
    assert info.value.step == "READ BINARY"


def test_short_response_is_a_decode_error():
    channel, _ = channel_for([("00B0000009", "90")])
    with pytest.raises(DecodeError, match="SW1 SW2"):
        channel.send(READ)


class EndlessCard:
    atr = b""

    def __init__(self) -> None:
        self.count = 0

    def process(self, apdu: bytes) -> bytes:
        self.count += 1
        return h("6101")


def test_a_card_that_never_finishes_is_cut_off():
    card = EndlessCard()
    with pytest.raises(DecodeError, match="6101"):
        Channel(InProcessTransport(card)).send(READ)
    assert card.count == MAX_EXCHANGES + 1


class ChunkingCard:
    """Answers a case-4 command with 61xx and serves ``data`` in GET RESPONSEs of at most
    ``chunk`` bytes, announcing the remainder each time (TS 102 221 §7.3.1.1.4)."""

    atr = b""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk, self.pos = data, chunk, 0

    def _next(self) -> bytes:
        left = len(self.data) - self.pos
        return bytes((0x61, min(left, self.chunk) & 0xFF))

    def process(self, apdu: bytes) -> bytes:
        if apdu[1] != 0xC0:
            return self._next()
        n = apdu[4] or 256
        assert n == min(len(self.data) - self.pos, self.chunk)
        part = self.data[self.pos:self.pos + n]
        self.pos += n
        return part + (self._next() if self.pos < len(self.data) else b"\x90\x00")


@given(st.binary(min_size=1, max_size=700), st.integers(1, 256))
def test_get_response_chains_reassemble_any_data(data, chunk):
    channel = Channel(InProcessTransport(ChunkingCard(data, chunk)))
    resp = channel.send(CommandApdu(0x00, 0xCB, 0x00, 0x00, b"\x5c\x00", le=0))
    assert resp.data == data and resp.sw == 0x9000


# --- edges the mutation run found undefended ---------------------------------------------------

@pytest.mark.parametrize("apdu,resent", [
    ("00B00000", "00B0000010"),                  # case 1: Le appended
    ("00B0000000", "00B0000010"),                # case 2: Le replaced
    ("00D6000002AABB", "00D6000002AABB10"),      # case 3: Le appended after the data
    ("00A40004023F0000", "00A40004023F0010"),    # case 4: Le replaced
])
def test_6cxx_resends_with_the_corrected_le(apdu, resent):
    channel, card = channel_for([(apdu, "6C10"), (resent, "01" * 16 + "9000")])
    resp = channel.send_raw(h(apdu))
    assert resp.data == b"\x01" * 16 and resp.sw == 0x9000
    assert [a.hex().upper() for a in card.seen] == [apdu.upper(), resent.upper()]


def test_a_second_6cxx_for_the_corrected_command_is_final():
    channel, card = channel_for([("00B0000000", "6C10"), ("00B0000010", "6C08")])
    assert channel.send_raw(h("00B0000000")).sw == 0x6C08
    assert len(card.seen) == 2


@pytest.mark.parametrize("sw,error,message", [
    (0x6D42, NotSupported, None),
    (0x6E12, NotSupported, None),
    (0x9804, SecurityNotSatisfied, None),
])
def test_status_word_families(sw, error, message):
    channel, _ = channel_for([("00B0000009", f"{sw:04X}")])
    with pytest.raises(error):
        channel.send(READ)


def test_9804_answering_a_pin_command_says_wrong_chv():
    verify = CommandApdu(0xA0, 0x20, 0x00, 0x01, b"1234" + b"\xff" * 4)
    channel, _ = channel_for([(verify.to_bytes().hex(), "9804")])
    with pytest.raises(SecurityNotSatisfied) as info:
        channel.send(verify)
    assert str(info.value) == ("VERIFY PIN: 9804 wrong CHV (at least one attempt left) or "
                               "access condition not fulfilled")
    channel, _ = channel_for([("A0B0000009", "9804")])
    with pytest.raises(SecurityNotSatisfied) as info:
        channel.send(CommandApdu(0xA0, 0xB0, 0, 0, le=9))
    assert str(info.value) == f"READ BINARY: 9804 {describe(0x9804)}"


def test_an_unknown_instruction_is_named_by_its_byte():
    channel, _ = channel_for([("005A000000", "6A82")])
    with pytest.raises(FileNotFound) as info:
        channel.send(CommandApdu(0x00, 0x5A, 0, 0, le=0))
    assert str(info.value) == f"INS 5A: 6A82 {describe(0x6A82)}"


def test_the_channel_only_sends_what_it_is_given():
    """The class byte and the PIN counter queries are the card model's (simtool.card.Card):
    a command goes out with its own CLA, and GET RESPONSE takes that CLA too."""
    assert not hasattr(Channel(InProcessTransport(ScriptedCard([]))), "cla")
    assert not hasattr(Channel, "pin_tries")
    channel, card = channel_for([("A0B0000009", "9F09"), ("A0C0000009", "00" * 9 + "9000")])
    assert channel.send(CommandApdu(0xA0, 0xB0, 0, 0, le=9)).data == bytes(9)
    assert card.script == []


def test_short_responses_are_named_exactly():
    channel, _ = channel_for([("00B0000009", "")])
    with pytest.raises(DecodeError) as info:
        channel.send(READ)
    assert str(info.value) == "card answered nothing: a response needs at least SW1 SW2"
    channel, _ = channel_for([("00B0000009", "9a")])
    with pytest.raises(DecodeError) as info:
        channel.send(READ)
    assert str(info.value) == "card answered 9A: a response needs at least SW1 SW2"


def test_secret_flags_of_plain_and_raw_commands():
    card = ScriptedCard([("00B0000009", "9000"), ("00B0000009", "9000"),
                         ("0088008110" + RAND, "9862")])
    transport = RecordingTransport(card)
    channel = Channel(transport)
    channel.send(READ)
    channel.send_raw(h("00B0000009"))
    channel.send_raw(h("0088008110" + RAND))
    assert transport.flags == [False, False, True]


def test_send_raw_errors_name_the_apdu():
    channel, _ = channel_for([])
    with pytest.raises(DecodeError) as info:
        channel.send_raw(h("00B000"))
    assert str(info.value) == "a command APDU needs at least 4 bytes, got 3"
    channel = Channel(FailingTransport(CardRemoved()))
    with pytest.raises(CardRemoved) as info:
        channel.send_raw(h("00b0000009"))
    assert str(info.value) == "card removed during raw APDU 00 B0 00 00"


def test_removed_message_keeps_the_inner_text_once():
    inner = CardRemoved("card pulled", step="READ BINARY")   # "card pulled during READ BINARY"
    channel = Channel(FailingTransport(inner))
    with pytest.raises(CardRemoved) as info:
        channel.send(READ, name="READ BINARY EF.ICCID")
    assert str(info.value) == "card pulled during READ BINARY EF.ICCID"
    plain = CardRemoved("reader unplugged during the night")  # no step: kept whole
    with pytest.raises(CardRemoved) as info:
        Channel(FailingTransport(plain)).send(READ, name="X")
    assert str(info.value) == "reader unplugged during the night during X"
    empty = CardRemoved("")
    with pytest.raises(CardRemoved) as info:
        Channel(FailingTransport(empty)).send(READ, name="X")
    assert str(info.value) == "card removed during X"


def test_endless_61xx_is_reported_with_its_status_word():
    card = ScriptedCard([("00B0000009", "6101")] + [("00C0000001", "AA6101")] * MAX_EXCHANGES)
    channel = Channel(InProcessTransport(card))
    with pytest.raises(DecodeError) as info:
        channel.send(READ)
    assert str(info.value) == f"card still answered 6101 after {MAX_EXCHANGES} exchanges"


def test_a_lost_connection_without_a_name_uses_the_instruction():
    channel = Channel(FailingTransport(ConnectionResetError("peer reset")))
    with pytest.raises(CardRemoved) as info:
        channel.send(READ)
    assert str(info.value) == "connection to the card lost (peer reset) during READ BINARY"


def test_endless_9fxx_names_the_status_word_in_upper_case():
    card = ScriptedCard([("A0B0000009", "9F0A")] + [("A0C000000A", "9F0A")] * MAX_EXCHANGES)
    with pytest.raises(DecodeError) as info:
        Channel(InProcessTransport(card)).send(CommandApdu(0xA0, 0xB0, 0, 0, le=9))
    assert str(info.value) == f"card still answered 9F0A after {MAX_EXCHANGES} exchanges"
