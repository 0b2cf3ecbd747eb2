"""SCP03 (GlobalPlatform Card Specification 2.3 Amendment D) against published traces.

Sources of the vectors (facts only, no code taken):

* [PYSIM] osmocom pySim, tests/unittests/test_globalplatform.py, classes SCP03_Test_AES*:
  traces of a real card (key sets 000102…/101112…/202122…, KVN 30/31/32) for AES-128/192/256
  at security levels 11, 03 and 33: INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, a wrapped GET DATA
  and its protected response, four wrapped APDUs of cases 1-4.
* [OMFGP] miketlk/omfgp, tests/omfgp/scp03_test.py and tests/omfgp/scp_test.py: KDF outputs
  for the key 404142…4F and context 68E9C879…BF, a pseudo-random card challenge, and traces at
  levels 01, 03, 13 with the GP default key 404142…4F for ENC, MAC and DEK.
* [OJC] openjavacard-tools, SCP03DerivationTest.testDeriveSCP03_000010: session keys for the
  GP default keys (S-ENC, S-MAC).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.errors import CryptogramMismatch, DecodeError, EncodeError, MacMismatch
from simtool.gp import scp03
from simtool.gp.scp03 import CardSession, InitializeUpdateResponse, Scp03Handshake, Scp03Keys
from simtool.secret import Secret

h = bytes.fromhex


def keyset(enc: str, mac: str, dek: str, kvn: int) -> Scp03Keys:
    return Scp03Keys(Secret(h(enc)), Secret(h(mac)), Secret(h(dek)), kvn)


GP_DEFAULT = keyset(*["404142434445464748494A4B4C4D4E4F"] * 3, 0x30)
AES128 = keyset("000102030405060708090a0b0c0d0e0f", "101112131415161718191a1b1c1d1e1f",
                "202122232425262728292a2b2c2d2e2f", 0x30)
AES192 = keyset("000102030405060708090a0b0c0d0e0f0001020304050607",
                "101112131415161718191a1b1c1d1e1f1011121314151617",
                "202122232425262728292a2b2c2d2e2f2021222324252627", 0x31)
AES256 = keyset("000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f",
                "101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f",
                "202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f", 0x32)

GET_EID = "80E2910006BF3E035C015A00"
EID = "bf3e125a1089882119900000000000000000000005"
CASES = ["80F22002", "80ca006600", "80F220020a4f0212345c054f9f70c5", "80f28002024f0000"]

# [PYSIM]: (keys, INITIALIZE UPDATE, its response, EXTERNAL AUTHENTICATE, wrapped GET DATA,
#           protected response, wrapped cases 1..4)
PYSIM = [
    (AES128, "8050300008b13e5f938fc108c400",
     "000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002",
     "84821100107d5f5826a993ebc89eea24957fa0b3ce", "84e291000ebf3e035c015a558d036518a2829700",
     "bf3e125a1089882119900000000000000000000005971be68992dbbdfa",
     ["84f220020863a63f8959827fb2", "84ca006608a0c6a4a74166f7ce00",
      "84f22002124f0212345c054f9f70c52249b50272656536", "84f280020a4f00e91443f6dce6b8ed00"]),
    (AES128, "80503000088e1552d0513c60f300",
     "0000000000000000000030037030760cd2c47c1dd395065fe5ead8a9d7000001",
     "8482030010fd4721a14d9b07003c451d2f8ae6bb21",
     "84e2910018ca9c00f6713d79bc8baa642bdff51c3f6a4082d3bd9ad26c00", EID,
     ["84f2200208c9811b11f1264cf1", "84ca006608e10ab60b3054798800",
      "84f22002184e2908bdb48b2315a55482e9e936ca122d6ecfae7d17416e",
      "84f28002180dd10a6b6193e5340b9e77d32d5a179cd710ac2773aefb2800"]),
    (AES128, "8050300008fdf38259a1e0de4400",
     "000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003",
     "84823300108c36f96bcc00724a4e13ad591d7da3f0",
     "84e2910018267a85dfe4a98fca6fb0527e0dfecce4914e40401433c87f00",
     "f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b9",
     ["84f2200208ac6a59024bed84cc", "84ca006608409912ad8fb7aed000",
      "84f22002185f3dafc3ac14c381536a488bf44e06d056df9d74dbd21e5a",
      "84f280021865165105be3373347d0424d4400af2ac393f569ec779389e00"]),
    (AES192, "80503100087396430b768b085b00",
     "000000000000000000003103708cfc23522ffdbf1e5df5542cac8fd866000003",
     "84821100102145ed30b146f5db252fb7e624cec244", "84e291000ebf3e035c015aff42cf801d14394400",
     "bf3e125a1089882119900000000000000000000005162fbd33e04940a9",
     ["84f22002084584e4f6784811ee", "84ca006608937776ebe190fa3000",
      "84f22002124f0212345c054f9f70c59a52bddf3040368c", "84f280020a4f009804b11411f7393d00"]),
    (AES192, "805031000869c65da8202bf19f00",
     "00000000000000000000310370b570a67be38446717729d6dd3d2ec5b1000001",
     "848203001065df4f1a356a887905466516d9e5b7c1",
     "84e2910018d2c6fb477c5d4afe4fd4d21f17eff10d3578ec1774a12a2d00", EID,
     ["84f2200208964e188f0b1bb697", "84ca006608f0820035a41d3e1800",
      "84f220021806b076ed452cd1fa84f77f5c08a146aa77a9286757dea791",
      "84f2800218d06527e39222dce091fabdb8e9b898417a67a6852d3577db00"]),
    (AES192, "80503100089b3f2eef0e8c937400",
     "00000000000000000000310370f6bb305a15bae1a68f79fb08212fbed7000002",
     "84823300109100bc22d58b45b86a26365ce39ff3cf",
     "84e29100188f7f946c84f70d17994bc6e8791251bb1bb1bf02cf8de58900",
     "c05176c1b6f72aae50c32cbee63b0e95998928fd4dfb2be9f27ffde8c8476f5909b4805cc4039599",
     ["84f2200208d5d97754b6b3d2ba", "84ca006608516c82b8e30adbeb00",
      "84f2200218cc247f4761e6944277a4e0d6e32e44025b1e31537e2fc668",
      "84f2800218ba22b63d509bef5d093b43e5eaed03ed23144ab2d9cb51de00"]),
    (AES256, "805032000811666d57866c6f5400",
     "0000000000000000000032037053ea8847efa7674e41498a4d66cf0dee000003",
     "84821100102f2ad190eff2fafc4908996d1cebd310", "84e291000ebf3e035c015af4b680372542b59d00",
     "bf3e125a10898821199000000000000000000000058012dd7f01f1c4c1",
     ["84f2200208d618b7da68d5fe52", "84ca0066088f3e055db23ad5e500",
      "84f22002124f0212345c054f9f70c5b6e15cc42404915e", "84f280020a4f00aa124aa74afe7f7500"]),
    (AES256, "8050320008c6066990fc426e1d00",
     "000000000000000000003203708682cd81bbd8919f2de3f2664581f118000001",
     "848203001077c493b632edadaf865a1e64acc07ce9",
     "84e29100183ddaa60594963befaada3525b492ede23c2ab2c1ce3afe4400", EID,
     ["84f2200208480ddc8e419da38d", "84ca0066083e9d6a6c0b2d732000",
      "84f22002183ebfef2da8b04af2a85f491f299b76973df76ff08a4031be",
      "84f2800218783fff80990f5585b1055010ea95094a26e4a8f1ef4b18e100"]),
    (AES256, "805032000897b2055fe58599fd00",
     "00000000000000000000320370a8439a22cedf045fa9f1903b2834f26e000002",
     "8482330010508a0fd959d2e547c6b33154a6be2057",
     "84e29100187a5ef717eaf1e135ae92fe54429d0e465decda65f5fe5aea00",
     "ea90dbfa648a67c5eb6abc57f8530b97d0cd5647c5e8732016b55203b078dd2ace7f8bc5d1c1cd99",
     ["84f2200208bcc5c17275545d93", "84ca00660804806aba9d543bb600",
      "84f2200218717222491556ec81a45f49ce48be33320024801a1c4cb0e0",
      "84f2800218561f105bccd3a1642904b251ccc1228beb80a82370a8637000"]),
]


@pytest.mark.parametrize("keys, iu, iu_resp, ext_auth, eid_cmd, eid_resp, cases", PYSIM)
def test_pysim_traces(keys, iu, iu_resp, ext_auth, eid_cmd, eid_resp, cases):
    level = h(ext_auth)[2]
    hs = Scp03Handshake(keys, h(iu)[5:-1])
    assert hs.initialize_update().to_bytes() == h(iu)
    ext, channel = hs.complete(h(iu_resp), level)
    assert ext.to_bytes() == h(ext_auth)
    assert channel.wrap(CommandApdu.from_bytes(h(GET_EID))).to_bytes() == h(eid_cmd)
    assert channel.unwrap(ResponseApdu(h(eid_resp), 0x9000)) == ResponseApdu(h(EID), 0x9000)
    for plain, wrapped in zip(CASES, cases):
        assert channel.wrap(CommandApdu.from_bytes(h(plain))).to_bytes() == h(wrapped)


# [OMFGP] scp_test.py: (host challenge, INITIALIZE UPDATE response, level, EXTERNAL AUTHENTICATE
# data, [(plain GET STATUS, wrapped, protected response data, plain response data)])
GS = "E3264F08A0000001510000009F700101C5039EFE80C407A0000001515350CC08A000000151000000"
OMFGP = [
    ("68E9C8799FF8CB46", "00008048007283073469FF0300F8D89D88BA1287BF9B5C9D42D5059430", 0x01,
     "F3C7624565B5894F16EF5681573C34A2",
     [("80F28002024F00", "84F280020A4F004C4C51B5DFA7A181", None, None),
      ("80F24002024F00", "84F240020A4F002108D3E0BA43B673", None, None)]),
    ("CC8A0407F63066E8", "00008048007283073469FF0300EF23AAB4C343EDDE5B283674A8983749", 0x03,
     "112355D07180C24547A5EB3BD470F7C5",
     [("80F28002024F00", "84F28002184EE4C1127567676E7E08833B785051FD96FDFE1EC5BD293F", None, None),
      ("80F24002024F00", "84F2400218E33CB507A6FFF09CE7A44EEB7498295D99F96B9F2470A782", None, None)]),
    ("F70E1C5D67085E4B", "000001362814059953823103707B9EAD94A8B88028F47137A2FB093F5E000021",
     0x13, "2E2057B873FCD25D175D4D63C5CD4CEB",
     [("80F28002024F00", "84F2800218E9170B7D79EA80AF507247375BB3F8EDE6F54FDD858BAE89",
       GS + "707D9895B36C6F6B", GS)]),
    ("0C980267C298D194", "00000136281405995382310370730BE014C03B4558A2155798D5B2C602000023",
     0x33, "9716680D938E0CE764738F77E5E39408",
     [("80F28002024F00", "84F2800218AFB12C966FF538690FA04199550D8E93AF7F2569E92DEC66",
       "0C7A219212D7B6E7B1F602BA291660368CA6E7C959E343FDBCDA20285A5A2A52"
       "143C8AA1ED5580A5DDB8A1D54730F461424520A6C56622FD", GS)]),
]


@pytest.mark.parametrize("host_challenge, iu_resp, level, ext_data, steps", OMFGP)
def test_omfgp_traces(host_challenge, iu_resp, level, ext_data, steps):
    r = InitializeUpdateResponse.decode(h(iu_resp))
    keys = Scp03Keys(GP_DEFAULT.enc, GP_DEFAULT.mac, GP_DEFAULT.dek, r.key_version)
    ext, channel = Scp03Handshake(keys, h(host_challenge)).complete(h(iu_resp), level)
    assert ext.to_bytes() == bytes((0x84, 0x82, level, 0, 0x10)) + h(ext_data)
    for plain, wrapped, protected, clear in steps:
        assert channel.wrap(CommandApdu.from_bytes(h(plain))).to_bytes() == h(wrapped)
        if protected:
            assert channel.unwrap(ResponseApdu(h(protected), 0x9000)).data == h(clear)
        # an error status word carries no R-MAC and passes through (Amendment D §6.2.5)
        assert channel.unwrap(ResponseApdu(b"", 0x6A88)) == ResponseApdu(b"", 0x6A88)


def test_kdf_vectors_omfgp():
    key, context = h("404142434445464748494A4B4C4D4E4F"), h("68E9C8799FF8CB46F8D89D88BA1287BF")
    assert scp03.derive(key, scp03.S_ENC, context, 128) == h("3C64070C595D1D72BDEE692DA99B7AE4")
    s_mac = scp03.derive(key, scp03.S_MAC, context, 128)
    assert s_mac == h("6E8468B74A707842E3D3696F338D2657")
    assert scp03.derive(key, scp03.S_RMAC, context, 128) == h("FDD1D7C84750994815D0082734C31D88")
    assert scp03.derive(s_mac, scp03.CARD_CRYPTOGRAM, context, 64) == h("9B5C9D42D5059430")
    assert scp03.derive(s_mac, scp03.HOST_CRYPTOGRAM, context, 64) == h("F3C7624565B5894F")
    challenge = scp03.pseudo_random_card_challenge(GP_DEFAULT, h("00002A"),
                                                   h("A000000018434D08090A0B0C000000"))
    assert challenge == h("A3F5F144D19BE66E")


def test_session_keys_openjavacard():
    sk = scp03.session_keys(GP_DEFAULT, h("A7F76C713F0A713D"), h("31900058C1C451A2"))
    assert sk.s_enc.reveal() == h("258a78866f41482bef482dc8ca976ccd")
    assert sk.s_mac.reveal() == h("053db6abc7fdf3b63a0d965ee16b0255")


# --- the card's side, round trips and the doubles that answer wrongly --------------------------


def _pair(keys, level, *, s16=False, card_keys=None):
    n = 16 if s16 else 8
    card = CardSession(card_keys or keys, bytes(range(0xC0, 0xC0 + n)), i=0x01 if s16 else 0x00)
    hs = Scp03Handshake(keys, bytes(range(n)))
    resp = card.initialize_update(hs.initialize_update())
    ext, channel = hs.complete(resp.data, level)
    assert card.external_authenticate(ext).sw == 0x9000
    return card, channel


apdus = st.builds(CommandApdu, st.sampled_from([0x80, 0x81, 0x00]), st.integers(0, 255),
                  st.integers(0, 255), st.integers(0, 255), st.binary(max_size=200),
                  st.none() | st.integers(0, 256))


@given(st.sampled_from([AES128, AES192, AES256]), st.sampled_from([0x01, 0x03, 0x11, 0x13, 0x33]),
       st.booleans(), st.lists(st.tuples(apdus, st.binary(max_size=200)), min_size=1, max_size=4))
def test_round_trip_with_card(keys, level, s16, exchanges):
    card, channel = _pair(keys, level, s16=s16)
    for apdu, answer in exchanges:
        assert card.unwrap_command(channel.wrap(apdu)) == apdu
        response = ResponseApdu(answer, 0x9000)
        assert channel.unwrap(card.wrap_response(response)) == response


def test_s16_mode_sizes():
    card, channel = _pair(AES256, 0x01, s16=True)
    wrapped = channel.wrap(CommandApdu(0x80, 0xF2, 0x80, 0x02, h("4F00")))
    assert len(wrapped.data) == 2 + 16  # a 16-byte C-MAC in S16 mode
    assert card.unwrap_command(wrapped).data == h("4F00")


def test_wrong_keys_refused_before_external_authenticate():
    wrong = keyset(*["404142434445464748494A4B4C4D4E40"] * 3, 0x30)
    card = CardSession(AES128, bytes(8))
    hs = Scp03Handshake(wrong, bytes(8))
    with pytest.raises(CryptogramMismatch):
        hs.complete(card.initialize_update(hs.initialize_update()).data)


def test_tampered_card_cryptogram_refused():
    resp = bytearray(h(PYSIM[0][2]))
    resp[28] ^= 0x01  # last byte of the card cryptogram
    with pytest.raises(CryptogramMismatch):
        Scp03Handshake(AES128, h(PYSIM[0][1])[5:-1]).complete(bytes(resp), 0x11)


def test_tampered_r_mac_refused():
    _, channel = Scp03Handshake(AES128, h(PYSIM[0][1])[5:-1]).complete(h(PYSIM[0][2]), 0x11)
    channel.wrap(CommandApdu.from_bytes(h(GET_EID)))
    bad = bytearray(h(PYSIM[0][5]))
    bad[-1] ^= 0x80
    with pytest.raises(MacMismatch):
        channel.unwrap(ResponseApdu(bytes(bad), 0x9000))


def test_card_refuses_tampered_c_mac_and_wrong_host_cryptogram():
    card, channel = _pair(AES128, 0x03)
    wrapped = channel.wrap(CommandApdu(0x80, 0xE4, 0x00, 0x80, h("4F07A0000000871002")))
    tampered = CommandApdu(wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2,
                           wrapped.data[:-1] + bytes((wrapped.data[-1] ^ 1,)), wrapped.le)
    with pytest.raises(MacMismatch):
        card.unwrap_command(tampered)
    # a replayed command (its MAC chained on an older value) does not verify either
    card.unwrap_command(wrapped)
    with pytest.raises(MacMismatch):
        card.unwrap_command(wrapped)

    card = CardSession(AES128, bytes(8))
    hs = Scp03Handshake(AES128, bytes(8))
    ext, _ = hs.complete(card.initialize_update(hs.initialize_update()).data, 0x01)
    bad = CommandApdu(ext.cla, ext.ins, ext.p1, ext.p2, bytes((ext.data[0] ^ 1,)) + ext.data[1:])
    assert card.external_authenticate(bad).sw == 0x6982
    assert card.security_level is None


def test_malformed_initialize_update_and_levels():
    with pytest.raises(DecodeError, match="SCP02"):
        InitializeUpdateResponse.decode(bytes(10) + h("3002") + bytes(16) + b"\0")
    with pytest.raises(DecodeError):
        InitializeUpdateResponse.decode(bytes(20))
    with pytest.raises(EncodeError):
        Scp03Handshake(AES128, bytes(8)).complete(h(PYSIM[0][2]), 0x02)


def test_keys_never_in_repr():
    _, channel = _pair(AES128, 0x33)
    for obj in (AES128, channel, Scp03Handshake(AES128, bytes(8)),
                scp03.session_keys(AES128, bytes(8), bytes(8))):
        text = repr(obj) + str(obj)
        assert "0001020304" not in text and "1011121314" not in text and "2021222324" not in text


def test_encrypt_key_for_put_key():
    # Amendment D §7.2.2: AES-CBC, zero ICV, with the static Key-DEK
    from simtool.gp.crypto import aes_cbc_decrypt
    _, channel = _pair(AES128, 0x01)
    new = Secret(bytes(range(0x50, 0x60)))
    assert aes_cbc_decrypt(AES128.dek.reveal(), channel.encrypt_key(new)) == new.reveal()
