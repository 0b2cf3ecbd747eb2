"""Logical channels and several applications in the virtual card (tests/virtual_card/channels.py):
byte transcripts of MANAGE CHANNEL, CLA-coded channels 1-3, per-channel selection, and ADF.USIM
and ADF.ISIM selected side by side.

Expected bytes are written out here as an oracle: ETSI TS 102 221 §11.1.17 (MANAGE CHANNEL),
§8.7 Table 8.3 (where a new channel starts), Table 10.3 (CLA b2b1), §10.2.1 (6881, 6A81, 6A86),
§9.4/§9.5.1 (global and local key references).
"""

from __future__ import annotations

import pytest

from simtool.cardtree import COMMON, PIN_ADM, PIN_PIN2, CardTree, DfNode, raw
from simtool.cardtypes import SJA2_ISIM_FILES, SYSMO_ISIM_SJA2
from tests.test_virtual_card import AID, ICCID, IMSI, PIN1, PIN2, h, run
from tests.virtual_card import VirtualUicc
from tests.virtual_card.channels import (BASIC_ONLY, ChannelCapabilities, channel_capabilities,
                                         historical_bytes)
from tests.virtual_card.image import default_state
from tests.virtual_card.layout import SJA2_ATR

ISIM_AID = (COMMON.get("ADF.ISIM").node.aid.hex().upper() if COMMON.has("ADF.ISIM")
            else "A0000000871004FFFFFFFF8907090000")      # a real SJA2's
IMPI = b"\x80\x1b" + b"260011234567890@milo.example"[:27]


def test_the_sja2_atr_advertises_four_channels_both_ways_of_opening():
    # historical bytes 80 31E0 73FE211B 674A4C7530 34054B: card capabilities FE 21 1B,
    # third byte 1B = b5 card assigns, b4 terminal assigns, b3..b1 011 = 4 channels
    assert historical_bytes(SJA2_ATR) == h("8031E073FE211B674A4C753034054B")
    assert channel_capabilities(SJA2_ATR) == ChannelCapabilities(4, True, True)
    # sysmoUSIM-SJS1: 73 BE 21 13, 4 channels the card assigns only
    sjs1 = h("3B9F96801FC78031A073BE21136743200718000001A5")
    assert channel_capabilities(sjs1) == ChannelCapabilities(4, True, False)
    # card capabilities 00: no logical channels; no capabilities at all: the basic one only
    gialer = h("3B9F95801FC78031A073B6A10067CF3215CA9CD70920")
    assert channel_capabilities(gialer) == BASIC_ONLY
    assert channel_capabilities(h("3B9F96801F878031E0674A4C753034054B0000")) == BASIC_ONLY


MANAGE_CHANNEL = [
    ("0070000001", "019000"),            # the card picks 1 (Le 01: the number)
    ("0070000200", "9000"),              # the terminal names 2 (T=0: P3 00)
    ("0070000001", "039000"),
    ("0070000001", "6A81"),              # none left
    ("00700001", "6A81"),                # 1 is open already
    ("00700004", "6881"),                # the card has 0..3
    ("00700014", "6A86"),                # beyond what CLA can name
    ("00700100", "6A86"),                # P1 neither open nor close
    ("00708000", "6A86"),                # the basic channel cannot be closed
    ("0070800200", "9000"),
    ("00708002", "6881"),                # closed already
    ("0070800101", "6700"),              # close has no Le
    ("02A4000C023F00", "6881"),          # a command on the closed channel
    ("02B000000A", "6881"),
    ("0070000001", "029000"),            # the lowest free number again
    ("03708001", "9000"),                # closing another channel
    ("02708002", "9000"),                # ... or the channel itself
    ("01B000000A", "6881"), ("02B000000A", "6881"),
    ("03B000000A", "6986"),              # 3 is still open: at the MF, no EF
]


def test_manage_channel_opens_and_closes_as_ts_102_221_says():
    run(VirtualUicc.from_image(None), MANAGE_CHANNEL)


def test_a_card_whose_atr_advertises_no_channels_opens_none():
    state = default_state()
    state.atr = h("3B9F96801F878031E0674A4C753034054B0000")  # no card capabilities object
    run(VirtualUicc(state), [("0070000001", "6881"), ("00700001", "6881"),
                             ("01A4000C023F00", "6881"), ("00A4000C023F00", "9000")])


SELECTION = [
    # channel 0 goes to DF.GSM/EF.IMSI
    (f"0020000108{PIN1}", "9000"), ("00A4080C047F206F07", "9000"),
    ("0070000001", "019000"),
    # channel 1 starts at the MF (opened from the basic channel): EF.ICCID is its child
    ("01A4000C022FE2", "9000"), ("01B000000A", ICCID + "9000"),
    # channel 0 kept its EF
    ("00B0000009", IMSI + "9000"),
    # the 80-class on channel 1: STATUS of its current DF, the MF (83 02 3F00)
    # (PS template: PIN1, PIN2, ADM1, ADM2 enabled; key references 01 81 0A 0B)
    ("81F2000000", "622C820278218302" "3F00A50980017183040000800" "08A01058B032F0601"
                   "C60F9001F083010183018183010A83010B" "9000"),
    # applications are per channel: USIM on 1, none on 0
    (f"01A4040C10{AID}", "9000"), ("81F2000112", f"8410{AID}9000"),
    ("80F2000100", "9000"),
    ("00A4000C027FFF", "6A82"), ("01A4000C027FFF", "9000"),
    # SFI 07 in ADF.USIM on channel 1; channel 0 still reads its EF.IMSI
    ("01B0870009", IMSI + "9000"), ("00B0000009", IMSI + "9000"),
    # a channel opened from channel 1 starts where channel 1 is (Table 8.3): in ADF.USIM
    ("0170000001", "029000"), ("81F2000112", f"8410{AID}9000"),
    ("82F2000112", f"8410{AID}9000"), ("02B0870009", IMSI + "9000"),
    # T=0 case 4 on channel 2: 61xx, and GET RESPONSE on that channel
    ("02A40904022FE2", "6A82"), ("02A4000402" + "6F07", "6119"),
    ("00C0000019", "6F00"),              # the data is channel 2's
    ("02A4000402" + "6F07", "6119"), ("02C0000019", "6217" + "X" * 46 + "9000"),
    # CLA A0 is the basic channel
    ("A0A40000026F07", "9F0F"), ("A0B0000009", IMSI + "9000"),
]


def test_each_channel_has_its_own_current_file_and_application():
    run(VirtualUicc.from_image(None), SELECTION)


def test_a_warm_reset_closes_every_channel_but_the_basic_one():
    card = VirtualUicc.from_image(None)
    run(card, [("0070000001", "019000"), ("01A4000C022FE2", "9000")])
    card.reset()
    run(card, [("01A4000C022FE2", "6881"), ("0070000001", "019000"),
                ("01B000000A", "6986")])


# --- several applications ---------------------------------------------------------------

TEST_PIN2 = raw("EF.TEST_PIN2", 0x6FF0, PIN_PIN2, 1)   # a PIN2-protected file of the test's


def isim_tree() -> CardTree:
    """The SJA2's tree with an ADF.ISIM holding EF.IMPI (PIN1 read), the SJA2's ISIM files and
    a PIN2-protected file, to see the local PIN per application: the tree's own ISIM when it
    has one, else a small stand-in."""
    tree = SYSMO_ISIM_SJA2.tree
    if not tree.has("ADF.ISIM"):
        tree = tree.with_child("", DfNode("ADF.ISIM", None, (
            raw("EF.IMPI", 0x6F02, PIN_ADM, len(IMPI)),), aid=h(ISIM_AID)))
        for parent, node in SJA2_ISIM_FILES:
            tree = tree.with_child(parent, node)
    return tree.with_child("ADF.ISIM", TEST_PIN2)


@pytest.fixture
def card_with_isim() -> VirtualUicc:
    """The emulator built from that tree: it has both applications."""
    card = VirtualUicc(default_state(), tree=isim_tree())
    impi = card._nodes["ADF.ISIM/EF.IMPI"].content
    impi.data = IMPI.ljust(len(impi.data), b"\xff")
    return card


def test_isim_on_one_channel_and_usim_on_another(card_with_isim):
    run(card_with_isim, [
        (f"0020000108{PIN1}", "9000"),
        (f"00A4040C10{AID}", "9000"),
        ("0070000001", "019000"),
        # a right-truncated AID selects (TS 102 221 §11.1.1.2): RID + 1004 is the ISIM
        ("01A4040C07A0000000871004", "9000"), ("81F2000112", f"8410{ISIM_AID}9000"),
        ("80F2000112", f"8410{AID}9000"),
        # 7FFF is each channel's own application
        ("01A4080C047FFF6F02", "9000"), ("01B000001D", IMPI.hex().upper() + "9000"),
        ("00A4080C047FFF6F07", "9000"), ("00B0000009", IMSI + "9000"),
        ("00A4080C047FFF6F02", "6A82"),     # no EF.IMPI in ADF.USIM
        # the RID alone matches both: the first is the USIM, the next occurrence the ISIM
        ("00A4040C05A000000087", "9000"), ("80F2000112", f"8410{AID}9000"),
        ("00A4040E05A000000087", "9000"), ("80F2000112", f"8410{ISIM_AID}9000"),
        ("00A4040E05A000000087", "6A82"),
        ("00A4040C07A0000000871005", "6A82"),
    ])


def test_pin1_is_global_pin2_belongs_to_its_application(card_with_isim):
    run(card_with_isim, [
        ("0070000001", "019000"), ("0070000001", "029000"),
        (f"00A4040C10{AID}", "9000"), (f"01A4040C10{ISIM_AID}", "9000"),
        (f"02A4040C10{AID}", "9000"),
        # PIN1 (01, global) verified on channel 0 opens the ISIM's EF.IMPI on channel 1
        ("01A4000C026F02", "9000"), ("01B000001D", "6982"),
        (f"0020000108{PIN1}", "9000"), ("01B000001D", IMPI.hex().upper() + "9000"),
        # PIN2 (81, local) verified in the USIM on channel 0 ...
        (f"0020008108{PIN2}", "9000"), ("00A4000C026F56", "9000"), ("00D6000001FF", "9000"),
        # ... is the USIM's on every channel (2 has the USIM too) ...
        ("02A4000C026F56", "9000"), ("02D6000001FE", "9000"),
        ("0220008100", "9000"),
        # ... but not the ISIM's, on channel 1
        ("01A4000C026FF0", "9000"), ("01D6000001FF", "6982"), ("0120008100", "63C3"),
        (f"0120008108{PIN2}", "9000"), ("01D6000001FF", "9000"),
        # a warm reset forgets both
    ])
    card_with_isim.reset()
    run(card_with_isim, [(f"00A4040C10{AID}", "9000"), ("0020008100", "63C3")])


def test_outside_any_application_pin2_is_the_first_applications(card_with_isim):
    # a GSM session verifies CHV2 with no ADF selected; ADF.USIM (EF.DIR's first) sees it
    run(card_with_isim, [
        (f"A020000208{PIN2}", "9000"), (f"00A4040C10{AID}", "9000"), ("0020008100", "9000"),
        (f"00A4040C10{ISIM_AID}", "9000"), ("0020008100", "63C3"),
    ])


def test_the_isd_stays_selected_on_its_channel_while_another_selects_the_usim():
    cplc = "9F7F2A" + "X" * 84 + "9000"
    run(VirtualUicc.from_image(None), [
        ("00A4040008A00000015100000000", "6F108408A000000151000000A5049F6501FF9000"),
        ("80CA9F7F00", cplc),
        ("0070000001", "019000"), (f"01A4040C10{AID}", "9000"),
        ("80CA9F7F00", cplc),              # channel 0 still talks to the ISD
        ("81CA9F7F00", "6D00"),            # channel 1 to the USIM, which has no GET DATA
        ("0070800100", "9000"), ("80CA9F7F00", cplc),
        (f"00A4040C10{AID}", "9000"), ("80CA9F7F00", "6D00"),   # the USIM replaced it
    ])


def test_the_sja2_isim_files_come_with_an_isim_in_the_tree(card_with_isim):
    """SJA2_ISIM_FILES join the tree with ADF.ISIM; the emulator built from it shows the ISIM's
    EF.ISIM_SQN (AF30) from the same SQN state as the USIM's, on its channel."""
    assert isim_tree().get("ADF.ISIM/EF.ISIM_SQN").key == "3F00/ADF.ISIM/AF30"
    card = card_with_isim
    card._auth.sqn = 0x42
    sqn_start = "1003" + "00" * 12 + "000000000042"
    run(card, [
        ("0020000A083131323233333434", "9000"), ("0070000001", "019000"),
        (f"01A4040C10{ISIM_AID}", "9000"), ("01A4000C02AF30", "9000"),
        ("01B0000014", sqn_start + "9000"),
        (f"00A4040C10{AID}", "9000"), ("00A4000C02AF30", "9000"),
        ("00B0000014", sqn_start + "9000"),
        ("01A4000C02AF20", "9000"), ("01B0000001", "149000"),   # ISIM_AUTH_KEY: the USIM's
    ])
