"""SCP02 (GlobalPlatform Card Specification 2.3 Annex E) against published vectors.

Sources (facts only, no code taken):

* [OJC] openjavacard-tools, SCP02DerivationTest: session keys S-ENC, C-MAC and DEK for the
  GP default key 404142…4F and sequence counters 0000, 0001, 007F, FFFF.
* [OMFGP] miketlk/omfgp, tests/omfgp/scp02_test.py: C-MAC, R-MAC and S-ENC session keys for
  the key 404142…4F and the sequence counter 0007.
* [PYSIM] osmocom pySim, tests/unittests/test_globalplatform.py, SCP02_Test: a card trace with
  the keys 100102…/101102…/102102…: INITIALIZE UPDATE response, EXTERNAL AUTHENTICATE and
  C-MAC'd APDUs of cases 1-4.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.errors import CryptogramMismatch, DecodeError, EncodeError, MacMismatch
from simtool.gp import scp02
from simtool.gp.crypto import tdes_ecb_decrypt
from simtool.gp.scp02 import CardSession, Scp02Handshake, Scp02Keys
from simtool.secret import Secret

h = bytes.fromhex
GP_DEFAULT = Scp02Keys(*[Secret(h("404142434445464748494A4B4C4D4E4F"))] * 3)
PYSIM_KEYS = Scp02Keys(Secret(h("100102030405060708090a0b0c0d0e0f")),
                       Secret(h("101102030405060708090a0b0c0d0e0f")),
                       Secret(h("102102030405060708090a0b0c0d0e0f")), 0x20)


@pytest.mark.parametrize("seq, enc, mac, dek", [
    ("0000", "010b0371d78377b801f2d62afc671d95", "d1c28c601652a4770d67ad82d2d2e1c4",
     "e11987ee331b417a5d67d760692f89d4"),
    ("0001", "25c9794a1205ff244f5fa0378d2f8d59", "9bed98891580c3b245fe9ec58bfa8d2a",
     "0e51fdf196141f227a57bd154012fd39"),
    ("007F", "f463d35410fd6ed925c7b07b333cfaf9", "161c8aa468e658c45ae3eca8387dfb19",
     "369a67c04590b93101ca413613db706a"),
    ("FFFF", "e75adaaf916de18a01ab9acc6ef84b8b", "66f6b778a1fafccc9de6c253233be33d",
     "3c750e0f60899ffc8f0d26d860ae6c95"),
])
def test_session_keys_openjavacard(seq, enc, mac, dek):
    sk = scp02.session_keys(GP_DEFAULT, h(seq))
    assert (sk.s_enc.reveal(), sk.c_mac.reveal(), sk.dek.reveal()) == (h(enc), h(mac), h(dek))


def test_session_keys_omfgp():
    sk = scp02.session_keys(GP_DEFAULT, h("0007"))
    assert sk.c_mac.reveal() == h("7A227D376A9DBE23AB50B7DCB45B2093")
    assert sk.r_mac.reveal() == h("EF14C57DB4BB9015E88963D9D920A588")
    assert sk.s_enc.reveal() == h("A2268F71917EFE0F33CC6166E1154E27")


IU_RESP = "00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3"


def test_pysim_trace():
    hs = Scp02Handshake(PYSIM_KEYS, h("40A62C37FA6304F8"))
    assert hs.initialize_update().to_bytes() == h("805020000840A62C37FA6304F800")
    ext, channel = hs.complete(h(IU_RESP), 0x01)
    assert ext.to_bytes() == h("8482010010BA6961667737C5BCEBECE14C7D6A4376")
    for plain, wrapped in [
        ("80F22002", "84F220020814DB34FA4341DCA8"),
        ("80ca006600", "84CA00660855ED7C5FF069512B00"),
        ("80F220020a4f0212345c054f9f70c5", "84F22002124F0212345C054F9F70C58FC1B380C4228AF8"),
        ("80f28002024f0000", "84F280020A4F003B95F09317DE6A4E00"),
    ]:
        assert channel.wrap(CommandApdu.from_bytes(h(plain))).to_bytes() == h(wrapped)


def test_wrong_card_cryptogram():
    bad = bytearray(h(IU_RESP))
    bad[-1] ^= 0xFF
    with pytest.raises(CryptogramMismatch):
        Scp02Handshake(PYSIM_KEYS, h("40A62C37FA6304F8")).complete(bytes(bad))
    with pytest.raises(CryptogramMismatch):
        Scp02Handshake(GP_DEFAULT, h("40A62C37FA6304F8")).complete(h(IU_RESP))


def _pair(level, i=0x55):
    card = CardSession(GP_DEFAULT, h("002A"), h("0102030405 06".replace(" ", "")), i=i)
    hs = Scp02Handshake(GP_DEFAULT, bytes(range(8)), i=i)
    ext, channel = hs.complete(card.initialize_update(hs.initialize_update()).data, level)
    assert card.external_authenticate(ext).sw == 0x9000
    return card, channel


apdus = st.builds(CommandApdu, st.sampled_from([0x80, 0x81]), st.integers(0, 255),
                  st.integers(0, 255), st.integers(0, 255), st.binary(max_size=230),
                  st.none() | st.integers(0, 256))


@given(st.sampled_from([0x01, 0x03]), st.sampled_from([0x15, 0x55]),
       st.lists(apdus, min_size=1, max_size=4))
def test_round_trip_with_card(level, i, commands):
    card, channel = _pair(level, i)
    for apdu in commands:
        assert card.unwrap_command(channel.wrap(apdu)) == apdu
    assert channel.unwrap(ResponseApdu(b"\x01", 0x9000)) == ResponseApdu(b"\x01", 0x9000)


def test_c_dec_hides_data_and_icv_chains():
    card, channel = _pair(0x03)
    plain = CommandApdu(0x80, 0xE6, 0x0C, 0x00, b"secret install parameters")
    wrapped = channel.wrap(plain)
    assert b"secret" not in wrapped.data and len(wrapped.data) == 32 + 8
    assert card.unwrap_command(wrapped) == plain
    with pytest.raises(MacMismatch):  # replayed: its MAC's ICV is the previous C-MAC
        card.unwrap_command(wrapped)


def test_card_refuses_tampered_mac_and_host_cryptogram():
    card, channel = _pair(0x01)
    w = channel.wrap(CommandApdu(0x80, 0xE4, 0, 0x80, h("4F05A000000001")))
    with pytest.raises(MacMismatch):
        card.unwrap_command(CommandApdu(w.cla, w.ins, w.p1, w.p2 ^ 0x80, w.data, w.le))
    card = CardSession(GP_DEFAULT, h("0001"), bytes(6))
    hs = Scp02Handshake(GP_DEFAULT, bytes(8))
    ext, _ = hs.complete(card.initialize_update(hs.initialize_update()).data)
    bad = CommandApdu(ext.cla, ext.ins, ext.p1, ext.p2, bytes((ext.data[0] ^ 1,)) + ext.data[1:])
    assert card.external_authenticate(bad).sw == 0x6982 and card.security_level is None


def test_bad_inputs():
    with pytest.raises(DecodeError, match="28"):
        scp02.InitializeUpdateResponse.decode(bytes(29))
    with pytest.raises(DecodeError, match="SCP03"):
        scp02.InitializeUpdateResponse.decode(bytes(11) + b"\x03" + bytes(16))
    with pytest.raises(EncodeError):
        Scp02Handshake(GP_DEFAULT, bytes(8), i=0x05)
    with pytest.raises(EncodeError):
        Scp02Handshake(GP_DEFAULT, bytes(8)).complete(h(IU_RESP), 0x13)


def test_encrypt_key_and_reprs():
    _, channel = _pair(0x03)
    new = Secret(bytes(range(16)))
    dek = scp02.session_keys(GP_DEFAULT, h("002A")).dek.reveal()
    assert tdes_ecb_decrypt(dek, channel.encrypt_key(new)) == new.reveal()
    text = repr(GP_DEFAULT) + repr(channel) + repr(scp02.session_keys(GP_DEFAULT, h("0001")))
    assert "4041424344" not in text.replace(" ", "") and "Secret(***)" in text
