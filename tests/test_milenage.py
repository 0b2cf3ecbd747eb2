"""Milenage against 3GPP TS 35.208 §4.3 test sets 1-4 (OPc also TS 35.207 §4.3), plus the
AUTN / AUTS / Kc / SRES derived from test set 1 (../shared/reference/sim-facts.md §8.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool import milenage
from simtool.errors import DataError
from simtool.milenage import Milenage, autn, auts, gsm_kc, gsm_sres, opc

FIELDS = "k rand sqn amf op opc f1 f1star f2 f3 f4 f5 f5star".split()

# TS 35.208 §4.3, one row per test set, columns as FIELDS.
TEST_SETS = {
    1: "465b5ce8b199b49faa5f0a2ee238a6bc 23553cbe9637a89d218ae64dae47bf35 ff9bb4d0b607 b9b9 "
       "cdc202d5123e20f62b6d676ac72cb318 cd63cb71954a9f4e48a5994e37a02baf 4a9ffac354dfafb3 "
       "01cfaf9ec4e871e9 a54211d5e3ba50bf b40ba9a3c58b2a05bbf0d987b21bf8cb "
       "f769bcd751044604127672711c6d3441 aa689c648370 451e8beca43b",
    2: "0396eb317b6d1c36f19c1c84cd6ffd16 c00d603103dcee52c4478119494202e8 fd8eef40df7d af17 "
       "ff53bade17df5d4e793073ce9d7579fa 53c15671c60a4b731c55b4a441c0bde2 5df5b31807e258b0 "
       "a8c016e51ef4a343 d3a628ed988620f0 58c433ff7a7082acd424220f2b67c556 "
       "21a8c1f929702adb3e738488b9f5c5da c47783995f72 30f1197061c1",
    3: "fec86ba6eb707ed08905757b1bb44b8f 9f7c8d021accf4db213ccff0c7f71a6a 9d0277595ffc 725c "
       "dbc59adcb6f9a0ef735477b7fadf8374 1006020f0a478bf6b699f15c062e42b3 9cabc3e99baf7281 "
       "95814ba2b3044324 8011c48c0c214ed2 5dbdbb2954e8f3cde665b046179a5098 "
       "59a92d3b476a0443487055cf88b2307b 33484dc2136b deacdd848cc6",
    4: "9e5944aea94b81165c82fbf9f32db751 ce83dbc54ac0274a157c17f80d017bd6 0b604a81eca8 9e09 "
       "223014c5806694c007ca1eeef57f004f a64a507ae1a2a98bb88eb4210135dc87 74a58220cba84c49 "
       "ac2cc74a96871837 f365cd683cd92e96 e203edb3971574f5a94b0d61b816345d "
       "0c4524adeac041c4dd830d20854fc46b f0b9c08ad02e 6085a86c6f63",
}


def _vector(n: int) -> dict[str, bytes]:
    return {name: bytes.fromhex(v) for name, v in zip(FIELDS, TEST_SETS[n].split(), strict=True)}


@pytest.mark.parametrize("n", sorted(TEST_SETS))
def test_ts_35_208_test_set(n):
    v = _vector(n)
    assert opc(v["k"], v["op"]) == v["opc"]
    m = Milenage(v["k"], v["opc"])
    assert m.f1(v["rand"], v["sqn"], v["amf"]) == v["f1"]
    assert m.f1star(v["rand"], v["sqn"], v["amf"]) == v["f1star"]
    assert m.f2345(v["rand"]) == (v["f2"], v["f3"], v["f4"], v["f5"])
    assert m.f5star(v["rand"]) == v["f5star"]


def test_derived_values_of_test_set_1():
    v = _vector(1)
    assert autn(v["k"], v["opc"], v["rand"], v["sqn"], v["amf"]).hex() == (
        "55f328b43577" "b9b9" "4a9ffac354dfafb3")
    assert gsm_kc(v["f3"], v["f4"]).hex() == "eae4be823af9a08b"
    assert gsm_sres(v["f2"]).hex() == "46f8416a"
    assert auts(v["k"], v["opc"], v["rand"], v["sqn"]).hex() == (
        "ba853f3c123c" "cf44e93596e355c6")


keys = st.binary(min_size=16, max_size=16)


@given(k=keys, op_c=keys, rand=keys, sqn=st.binary(min_size=6, max_size=6),
       amf=st.binary(min_size=2, max_size=2))
def test_autn_is_verifiable_by_the_usim(k, op_c, rand, sqn, amf):
    """What a USIM does with AUTN (TS 33.102 §6.3.3): unmask SQN with AK, recompute MAC-A."""
    token = autn(k, op_c, rand, sqn, amf)
    m = Milenage(k, op_c)
    ak = m.f2345(rand)[3]
    recovered = bytes(a ^ b for a, b in zip(token[:6], ak))
    assert recovered == sqn
    assert token[6:8] == amf
    assert m.f1(rand, recovered, amf) == token[8:]


@given(k=keys, op_c=keys, rand=keys, sqn_ms=st.binary(min_size=6, max_size=6))
def test_auts_is_verifiable_by_the_network(k, op_c, rand, sqn_ms):
    token = auts(k, op_c, rand, sqn_ms)
    m = Milenage(k, op_c)
    recovered = bytes(a ^ b for a, b in zip(token[:6], m.f5star(rand)))
    assert recovered == sqn_ms
    assert m.f1star(rand, recovered, b"\x00\x00") == token[6:]


@pytest.mark.parametrize("call", [
    lambda: Milenage(b"\x00" * 15, b"\x00" * 16),
    lambda: Milenage(b"\x00" * 16, b"\x00" * 17),
    lambda: Milenage(b"\x00" * 16, b"\x00" * 16).f2345(b"\x00" * 8),
    lambda: Milenage(b"\x00" * 16, b"\x00" * 16).f1(b"\x00" * 16, b"\x00" * 5, b"\x00\x00"),
    lambda: opc(b"", b"\x00" * 16),
    lambda: gsm_kc(b"\x00" * 16, b"\x00" * 8),
    lambda: gsm_sres(b"\x00" * 4),
    lambda: autn(b"\x00" * 16, b"\x00" * 16, b"\x00" * 16, b"\x00" * 6, b"\x00"),
])
def test_wrong_sizes_raise_data_error(call):
    with pytest.raises(DataError):
        call()


def test_repr_hides_key_material():
    m = Milenage(bytes(range(16)), bytes(range(16, 32)))
    assert repr(m) == "Milenage(***)"
    assert "000102" not in repr(m)


# --- wrong inputs: one line naming the value and its length -------------------------------------

_K, _B16, _B6, _B2, _B8 = b"\x01" * 16, b"\x02" * 16, b"\x03" * 6, b"\x04" * 2, b"\x05" * 8


@pytest.mark.parametrize("name,size,call", [
    ("K", 16, lambda bad: milenage.opc(bad, _B16)),
    ("OP", 16, lambda bad: milenage.opc(_K, bad)),
    ("K", 16, lambda bad: milenage.Milenage(bad, _B16)),
    ("OPc", 16, lambda bad: milenage.Milenage(_K, bad)),
    ("RAND", 16, lambda bad: milenage.Milenage(_K, _B16).f2345(bad)),
    ("RAND", 16, lambda bad: milenage.Milenage(_K, _B16).f5star(bad)),
    ("SQN", 6, lambda bad: milenage.Milenage(_K, _B16).f1(_B16, bad, _B2)),
    ("AMF", 2, lambda bad: milenage.Milenage(_K, _B16).f1star(_B16, _B6, bad)),
    ("SQN", 6, lambda bad: milenage.autn(_K, _B16, _B16, bad, _B2)),
    ("AMF", 2, lambda bad: milenage.autn(_K, _B16, _B16, _B6, bad)),
    ("SQN_MS", 6, lambda bad: milenage.auts(_K, _B16, _B16, bad)),
    ("CK", 16, lambda bad: milenage.gsm_kc(bad, _B16)),
    ("IK", 16, lambda bad: milenage.gsm_kc(_B16, bad)),
    ("RES", 8, lambda bad: milenage.gsm_sres(bad)),
])
def test_a_wrong_input_is_named_with_its_size(name, size, call):
    with pytest.raises(DataError) as info:
        call(b"\x00" * (size - 1))
    assert str(info.value) == f"Milenage: {name} must be {size} bytes, got {size - 1}"
    with pytest.raises(DataError) as info:
        call("00" * size)  # hex text instead of bytes
    assert str(info.value) == f"Milenage: {name} must be {size} bytes, got str"


def test_key_holders_never_show_their_key():
    m = milenage.Milenage(_K, _B16)
    assert repr(m) == "Milenage(***)"
    assert repr(m._aes) == "_Aes(***)"  # noqa: SLF001
