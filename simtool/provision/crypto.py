"""Key files and the encrypted export container (AES-256-GCM with a transport key).

Key file: UTF-8 text holding the key as hex digits (spaces and ``:`` allowed), ``#`` comment
lines ignored; mode 0600 — a key file that group or others may read is refused.  The operator's
OP is 16 bytes (32 hex digits, 3GPP TS 35.206 §4.1), a transport key 32 bytes (64 hex digits).

Encrypted export (``*.enc``), all lengths in bytes::

    offset    size  field
    0         8     magic "SIMTENC1"
    8         1     N = length of the file name
    9         N     file name of the plaintext (UTF-8), e.g. "osmo-hlr.vty"
    9+N       1     B = length of the batch id
    10+N      B     batch id (ASCII)
    10+N+B    12    nonce, random for every file
    22+N+B    rest  AES-256-GCM ciphertext followed by the 16-byte tag

The associated data is the header (magic through batch id), so the file name and batch id are
authenticated: a changed header, ciphertext or tag, or a wrong key, fails decryption.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from simtool.errors import DataError, SafetyRefusal
from simtool.secret import Secret

MAGIC = b"SIMTENC1"
NONCE_LEN = 12
TAG_LEN = 16
TRANSPORT_KEY_LEN = 32
OP_LEN = 16


def read_key_file(path: str | os.PathLike[str], length: int, *, what: str = "key",
                  check_mode: bool = True) -> Secret[bytes]:
    """Read a hex key file of exactly ``length`` bytes; DataError/SafetyRefusal otherwise."""
    path = Path(path)
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{what} file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {what} file: {exc.__class__.__name__}",
                        where=str(path)) from None
    if check_mode:
        check_key_file_mode(path, st.st_mode, f"{what} file")
    lines = [ln.split("#", 1)[0] for ln in text.splitlines()]
    digits = re.sub(r"[\s:]", "", "".join(lines))
    if not re.fullmatch(r"[0-9A-Fa-f]*", digits):
        raise DataError(f"{what} file must hold hex digits only", where=str(path))
    if len(digits) != 2 * length:
        raise DataError(f"{what} must be {length} bytes ({2 * length} hex digits), "
                        f"found {len(digits)} hex digits", where=str(path))
    return Secret(bytes.fromhex(digits))


def check_key_file_mode(path: str | os.PathLike[str], st_mode: int, what: str, *,
                        readable: str = "refuse") -> str | None:
    """Refuse (SafetyRefusal) a file holding keys that group or others may access.  With
    ``readable="warn"`` only write access is refused, and read access gives back a warning
    for the caller to show (a vendor's key list, often handed out 0644).  Not on Windows."""
    if os.name != "posix":
        return None
    mode = stat.S_IMODE(st_mode)
    strict = readable != "warn"
    if mode & (0o077 if strict else 0o022):
        kind = "accessible" if strict else "writable"
        raise SafetyRefusal(f"{path}: {what} is {kind} by group/others (mode {mode:04o}); "
                            "chmod 600 it first")
    if mode & 0o044:
        return (f"{path}: {what} is readable by group/others (mode {mode:04o}); "
                "chmod 600 it")
    return None


def key_file_text(key: Secret[bytes], comment: str | None = None) -> str:
    head = f"# {comment}\n" if comment else ""
    return f"{head}{key.reveal().hex().upper()}\n"


def key_id(key: Secret[bytes]) -> str:
    """A short public name for a key (first 8 bytes of SHA-256 over a label and the key), to
    tell which key a batch used; it reveals nothing usable about a random 128/256-bit key."""
    return hashlib.sha256(b"simtool key id\x00" + key.reveal()).hexdigest()[:16]


def _header(name: str, batch_id: str) -> bytes:
    raw_name = name.encode("utf-8")
    raw_id = batch_id.encode("ascii")
    if not 1 <= len(raw_name) <= 255 or not 1 <= len(raw_id) <= 255:
        raise DataError("export name and batch id must be 1..255 bytes")
    return MAGIC + bytes([len(raw_name)]) + raw_name + bytes([len(raw_id)]) + raw_id


def encrypt_export(plaintext: bytes, *, name: str, batch_id: str, key: Secret[bytes],
                   nonce: bytes | None = None) -> bytes:
    """The container above; ``nonce`` is random unless given (tests only)."""
    if len(key) != TRANSPORT_KEY_LEN:
        raise DataError(f"the transport key must be {TRANSPORT_KEY_LEN} bytes (AES-256)")
    header = _header(name, batch_id)
    nonce = os.urandom(NONCE_LEN) if nonce is None else nonce
    if len(nonce) != NONCE_LEN:
        raise DataError(f"nonce must be {NONCE_LEN} bytes")
    return header + nonce + AESGCM(key.reveal()).encrypt(nonce, plaintext, header)


@dataclass(frozen=True)
class Decrypted:
    name: str
    batch_id: str
    plaintext: Secret[bytes]


def export_header(blob: bytes, *, where: str | None = None) -> tuple[str, str]:
    """(file name, batch id) of a container, read without a key (they are not secret, and
    authenticated when the body is decrypted); DataError on a malformed header."""
    name, batch_id, _ = _parse_header(blob, where)
    return name, batch_id


def _parse_header(blob: bytes, where: str | None) -> tuple[str, str, int]:
    if not blob.startswith(MAGIC):
        raise DataError("not a simtool encrypted export (bad magic)", where=where)
    pos = len(MAGIC)
    try:
        n = blob[pos]
        name = blob[pos + 1:pos + 1 + n].decode("utf-8")
        pos += 1 + n
        b = blob[pos]
        batch_id = blob[pos + 1:pos + 1 + b].decode("ascii")
        pos += 1 + b
    except (IndexError, UnicodeDecodeError):
        raise DataError("truncated or malformed export header", where=where) from None
    if len(name.encode()) != n or len(batch_id) != b:
        raise DataError("truncated encrypted export", where=where)
    return name, batch_id, pos


def decrypt_export(blob: bytes, key: Secret[bytes], *, where: str | None = None) -> Decrypted:
    """Check and decrypt a container; DataError on a malformed, tampered or wrong-key file."""
    if len(key) != TRANSPORT_KEY_LEN:
        raise DataError(f"the transport key must be {TRANSPORT_KEY_LEN} bytes (AES-256)")
    name, batch_id, pos = _parse_header(blob, where)
    header = blob[:pos]
    nonce = blob[pos:pos + NONCE_LEN]
    body = blob[pos + NONCE_LEN:]
    if len(nonce) != NONCE_LEN or len(body) < TAG_LEN:
        raise DataError("truncated encrypted export", where=where)
    try:
        plaintext = AESGCM(key.reveal()).decrypt(nonce, body, header)
    except InvalidTag:
        raise DataError("authentication failed: wrong transport key (or batch key), or the "
                        "file was modified", where=where) from None
    return Decrypted(name, batch_id, Secret(plaintext))
