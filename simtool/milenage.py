"""Milenage: the 3GPP authentication and key generation functions f1, f1*, f2, f3, f4, f5, f5*.

3GPP TS 35.206 §4.1 defines every function from one 128-bit block cipher E_K (AES-128,
TS 35.206 §4.1 / TS 35.205 §2) and an operator constant OPc::

    OPc  = OP xor E_K(OP)
    TEMP = E_K(RAND xor OPc)
    OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc   IN1 = SQN || AMF || SQN || AMF
    OUTn = E_K(rot(TEMP xor OPc, rn) xor cn) xor OPc            n = 2..5

with r1..r5 = 64, 0, 32, 64, 96 bits and c1..c5 = 0, 1, 2, 4, 8 (in the last byte).
f1 = OUT1[0..63], f1* = OUT1[64..127], f5 = OUT2[0..47], f2 = OUT2[64..127], f3 = OUT3,
f4 = OUT4, f5* = OUT5[0..47].

AUTN and AUTS are assembled per 3GPP TS 33.102 §6.3.2 / §6.3.3, and the GSM conversion
functions c2 / c3 per TS 33.102 §6.8.1.2.  Test vectors: TS 35.208 §4.3 (tests/test_milenage.py).

The cipher object is built once per key, so an instance costs one key schedule and each
function a handful of AES block encryptions.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from simtool.errors import DataError

__all__ = ["Milenage", "opc", "autn", "auts", "gsm_kc", "gsm_sres"]

_MASK128 = (1 << 128) - 1
# TS 35.206 §4.1: rotation amounts (bits) and constants c1..c5 of OUT1..OUT5.
_R = (64, 0, 32, 64, 96)
_C = (0, 1, 2, 4, 8)


def _check(name: str, value: bytes, size: int) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        got = len(value) if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise DataError(f"Milenage: {name} must be {size} bytes, got {got}")
    return bytes(value)


def _rot(x: int, r: int) -> int:
    """Cyclic left rotation of a 128-bit integer by ``r`` bits (TS 35.206 §4.1 'rot')."""
    r %= 128
    return ((x << r) | (x >> (128 - r))) & _MASK128 if r else x


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


class _Aes:
    """E_K: single-block AES-128 encryption with a reusable key schedule."""

    __slots__ = ("_enc",)

    def __init__(self, k: bytes) -> None:
        self._enc = Cipher(algorithms.AES(k), modes.ECB()).encryptor()

    def block(self, data: int) -> int:
        out = self._enc.update(data.to_bytes(16, "big"))
        return int.from_bytes(out, "big")

    def __repr__(self) -> str:  # never show key material
        return "_Aes(***)"


def opc(k: bytes, op: bytes) -> bytes:
    """OPc = OP xor E_K(OP) (TS 35.206 §4.1)."""
    k = _check("K", k, 16)
    op = _check("OP", op, 16)
    e = _Aes(k).block(int.from_bytes(op, "big"))
    return (e ^ int.from_bytes(op, "big")).to_bytes(16, "big")


class Milenage:
    """The Milenage functions for one subscriber key K and operator constant OPc.

    Instances hold key material; ``repr`` never shows it.
    """

    __slots__ = ("_aes", "_opc")

    def __init__(self, k: bytes, opc: bytes) -> None:
        self._aes = _Aes(_check("K", k, 16))
        self._opc = int.from_bytes(_check("OPc", opc, 16), "big")

    def __repr__(self) -> str:
        return "Milenage(***)"

    def _temp(self, rand: bytes) -> int:
        return self._aes.block(int.from_bytes(_check("RAND", rand, 16), "big") ^ self._opc)

    def _out(self, temp: int, n: int) -> int:
        """OUTn for n = 2..5 (TS 35.206 §4.1)."""
        x = _rot(temp ^ self._opc, _R[n - 1]) ^ _C[n - 1]
        return self._aes.block(x) ^ self._opc

    def _out1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        sqn = _check("SQN", sqn, 6)
        amf = _check("AMF", amf, 2)
        temp = self._temp(rand)
        in1 = int.from_bytes(sqn + amf + sqn + amf, "big")
        x = temp ^ _rot(in1 ^ self._opc, _R[0]) ^ _C[0]
        return (self._aes.block(x) ^ self._opc).to_bytes(16, "big")

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-A, the network authentication code (8 bytes)."""
        return self._out1(rand, sqn, amf)[:8]

    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-S, the resynchronisation authentication code (8 bytes)."""
        return self._out1(rand, sqn, amf)[8:]

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES 8, CK 16, IK 16, AK 6) for ``rand``."""
        temp = self._temp(rand)
        out2 = self._out(temp, 2).to_bytes(16, "big")
        ck = self._out(temp, 3).to_bytes(16, "big")
        ik = self._out(temp, 4).to_bytes(16, "big")
        return out2[8:], ck, ik, out2[:6]

    def f5star(self, rand: bytes) -> bytes:
        """AK* (6 bytes), the anonymity key used in AUTS."""
        return self._out(self._temp(rand), 5).to_bytes(16, "big")[:6]


def autn(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
    """AUTN = (SQN xor AK) || AMF || MAC-A (TS 33.102 §6.3.2), 16 bytes."""
    m = Milenage(k, opc)
    ak = m.f2345(rand)[3]
    return _xor(_check("SQN", sqn, 6), ak) + _check("AMF", amf, 2) + m.f1(rand, sqn, amf)


def auts(k: bytes, opc: bytes, rand: bytes, sqn_ms: bytes) -> bytes:
    """AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S computed with AMF = 0000 (TS 33.102 §6.3.3)."""
    m = Milenage(k, opc)
    sqn_ms = _check("SQN_MS", sqn_ms, 6)
    return _xor(sqn_ms, m.f5star(rand)) + m.f1star(rand, sqn_ms, b"\x00\x00")


def gsm_kc(ck: bytes, ik: bytes) -> bytes:
    """Conversion function c3: Kc = CK1 xor CK2 xor IK1 xor IK2 (TS 33.102 §6.8.1.2)."""
    ck = _check("CK", ck, 16)
    ik = _check("IK", ik, 16)
    return _xor(_xor(ck[:8], ck[8:]), _xor(ik[:8], ik[8:]))


def gsm_sres(res: bytes) -> bytes:
    """Conversion function c2: SRES = RES[0..3] xor RES[4..7] for an 8-byte RES
    (TS 33.102 §6.8.1.2)."""
    res = _check("RES", res, 8)
    return _xor(res[:4], res[4:])
