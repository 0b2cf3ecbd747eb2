"""Block-cipher primitives of the GlobalPlatform secure channels and of OTA security.

Thin wrappers over pyca/cryptography, named as the specifications name the operations:

* padding method 2 of ISO/IEC 9797-1 (``80`` then ``00`` bytes), used by SCP02 (GP Card
  Specification 2.3 Annex E.4.3), SCP03 (Amendment D §6.2.6) and for no other thing;
* DES/3DES in ECB and CBC (two- and three-key), AES in ECB and CBC;
* the ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC) and algorithm 3 (the "retail MAC": single DES
  over every block, 3DES on the last), AES-CMAC (NIST SP 800-38B);
* the NIST SP 800-108 counter-mode KDF with AES-CMAC as SCP03 lays out its derivation data.

Keys are plain ``bytes`` here: the callers unwrap their :class:`~simtool.secret.Secret` at the
last moment and never keep the result.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # cryptography ≥ 43 keeps TripleDES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

from simtool.errors import DecodeError, EncodeError

__all__ = [
    "pad80", "unpad80", "des_ecb", "tdes_ecb", "tdes_cbc_encrypt", "tdes_cbc_decrypt",
    "aes_ecb", "aes_cbc_encrypt", "aes_cbc_decrypt", "aes_cmac", "tdes_cbc_mac",
    "retail_mac", "kdf_counter_cmac",
]


def pad80(data: bytes, block: int, *, always: bool = True) -> bytes:
    """ISO/IEC 9797-1 padding method 2: ``80`` and as many ``00`` as fill the last block.

    With ``always=False`` data that is already a multiple of ``block`` is left alone (SCP03
    C-DECRYPTION pads always; a few callers only pad when needed)."""
    if not always and data and len(data) % block == 0:
        return bytes(data)
    out = bytes(data) + b"\x80"
    return out + b"\x00" * (-len(out) % block)


def unpad80(data: bytes) -> bytes:
    """Remove ISO/IEC 9797-1 method 2 padding; :class:`DecodeError` when there is none."""
    stripped = bytes(data).rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise DecodeError("decrypted data carries no ISO/IEC 9797-1 method 2 padding (80 00…)")
    return stripped[:-1]


def _check(data: bytes, block: int, what: str) -> None:
    if len(data) % block:
        raise EncodeError(f"{what}: {len(data)} bytes is not a multiple of the {block}-byte block")


def _tdes_key(key: bytes) -> TripleDES:
    if len(key) not in (8, 16, 24):
        raise EncodeError(f"a DES/3DES key is 8, 16 or 24 bytes, got {len(key)}")
    key = bytes(key)
    # single DES is 3DES with K1 = K2 = K3, two-key 3DES is K1 K2 K1: spelled out in 24 bytes,
    # the form cryptography keeps supporting
    return TripleDES(key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key)


def des_ecb(key: bytes, data: bytes) -> bytes:
    """Single DES in ECB mode (3DES with K1 = K2 = K3)."""
    if len(key) < 8:
        raise EncodeError(f"a DES key is 8 bytes, got {len(key)}")
    return tdes_ecb(bytes(key[:8]), data)


def _run(algorithm, mode, data: bytes, what: str, *, decrypt: bool = False) -> bytes:
    """One cipher pass over whole blocks of ``data`` (``what`` names it in the error)."""
    _check(data, algorithm.block_size // 8, what)
    cipher = Cipher(algorithm, mode)
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(bytes(data)) + op.finalize()


def tdes_ecb(key: bytes, data: bytes) -> bytes:
    return _run(_tdes_key(key), modes.ECB(), data, "3DES-ECB")


def tdes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    return _run(_tdes_key(key), modes.ECB(), data, "3DES-ECB", decrypt=True)


def tdes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    return _run(_tdes_key(key), modes.CBC(bytes(iv)), data, "3DES-CBC")


def tdes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    return _run(_tdes_key(key), modes.CBC(bytes(iv)), data, "3DES-CBC", decrypt=True)


def _aes(key: bytes) -> algorithms.AES:
    if len(key) not in (16, 24, 32):
        raise EncodeError(f"an AES key is 16, 24 or 32 bytes, got {len(key)}")
    return algorithms.AES(bytes(key))


def aes_ecb(key: bytes, data: bytes) -> bytes:
    return _run(_aes(key), modes.ECB(), data, "AES-ECB")


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    return _run(_aes(key), modes.CBC(bytes(iv)), data, "AES-CBC")


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    return _run(_aes(key), modes.CBC(bytes(iv)), data, "AES-CBC", decrypt=True)


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), the full 16 bytes."""
    c = cmac.CMAC(_aes(key))
    c.update(bytes(data))
    return c.finalize()


def tdes_cbc_mac(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 1 with 3DES: the last block of 3DES-CBC.  ``data`` must
    already be padded."""
    return tdes_cbc_encrypt(key, data, iv)[-8:]


def retail_mac(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC"): DES-CBC with K1 over every block, the last
    block also decrypted with K2 and encrypted with K1 (i.e. 3DES).  ``data`` must already be
    padded; ``key`` is a two-key 3DES key."""
    _check(data, 8, "retail MAC")
    if len(key) != 16:
        raise EncodeError(f"the retail MAC takes a 16-byte two-key 3DES key, got {len(key)}")
    k1 = bytes(key[:8])
    head, last = bytes(data[:-8]), bytes(data[-8:])
    h = bytes(iv)
    if head:
        h = tdes_cbc_encrypt(k1, head, h)[-8:]
    return tdes_ecb(key, bytes(a ^ b for a, b in zip(h, last)))


def kdf_counter_cmac(key: bytes, label: bytes, context: bytes, length_bits: int) -> bytes:
    """NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF, with the fixed input data of
    GP Card Specification 2.3 Amendment D §6.2.2: ``label`` (12 bytes: 11 × ``00`` and the
    derivation constant) ‖ ``00`` (separation indicator) ‖ L (2 bytes, bits) ‖ i (1-byte
    counter from 1) ‖ ``context``.  The counter sits inside the fixed data, after L."""
    if length_bits <= 0 or length_bits % 8:
        raise EncodeError(f"KDF output length must be a positive number of bytes, got {length_bits} bits")
    n = -(-length_bits // 128)
    if n > 255:
        raise EncodeError("KDF output too long for a 1-byte counter")
    prefix = bytes(label) + b"\x00" + length_bits.to_bytes(2, "big")
    out = b"".join(aes_cmac(key, prefix + bytes((i,)) + bytes(context)) for i in range(1, n + 1))
    return out[: length_bits // 8]
