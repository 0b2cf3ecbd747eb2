"""The key file of ``simtool gp`` and ``simtool ota``: a card's ISD key set and OTA key set.

Keys never go on the command line (the process list shows it to every user): they live in a
TOML file that only its owner may read (mode 0600, refused otherwise as the other key files of
simtool, :func:`simtool.provision.crypto.check_key_file_mode`)::

    # the ISD's secure channel keys (GlobalPlatform 2.3 Annex E / Amendment D)
    [scp]
    protocol = 3            # 2: SCP02 (i=55, two-key 3DES), 3: SCP03 (AES-128/192/256)
    kvn = 0x30              # key version number of the set
    enc = "404142434445464748494A4B4C4D4E4F"
    mac = "404142434445464748494A4B4C4D4E4F"
    dek = "404142434445464748494A4B4C4D4E4F"

    # OTA (ETSI TS 102 225): the key set index of KIc / KID and its keys
    [ota]
    index = 1
    algorithm = "aes"       # or "3des" (two-key 3DES-CBC, CBC-MAC)
    kic = "11111111111111111111111111111111"
    kid = "22222222222222222222222222222222"

Either table may be missing when a command does not need it.  Errors name the file and the
field, never a key's value; the keys are :class:`~simtool.secret.Secret` from here on.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simtool.errors import DataError, EncodeError
from simtool.gp.scp02 import Scp02Keys
from simtool.gp.scp03 import Scp03Keys
from simtool.ota.packet import Algorithm, OtaKey, OtaKeyset
from simtool.secret import Secret

_OTA_ALGORITHMS = {"aes": Algorithm.AES, "3des": Algorithm.TDES_2KEY}


@dataclass(frozen=True)
class KeyFile:
    path: str
    scp: Scp02Keys | Scp03Keys | None = None
    ota: OtaKeyset | None = None

    def __repr__(self) -> str:
        return f"KeyFile({self.path!r}, scp={self.scp!r}, ota=...)"

    def require_scp(self) -> Scp02Keys | Scp03Keys:
        if self.scp is None:
            raise DataError("no [scp] table: the ISD's keys are needed", where=self.path)
        return self.scp

    def require_ota(self) -> OtaKeyset:
        if self.ota is None:
            raise DataError("no [ota] table: the OTA keys are needed", where=self.path)
        return self.ota


def _key(table: dict[str, Any], name: str, where: str, sizes: tuple[int, ...]) -> Secret:
    value = table.get(name)
    if not isinstance(value, str):
        raise DataError(f"{name!r} must be a hex string", where=where)
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise DataError(f"{name!r} is not hex", where=where) from None
    if len(raw) not in sizes:
        raise DataError(f"{name!r} must be {' or '.join(map(str, sizes))} bytes, "
                        f"got {len(raw)}", where=where)
    return Secret(raw)


def _int(table: dict[str, Any], name: str, where: str, low: int, high: int) -> int:
    value = table.get(name)
    if type(value) is not int or not low <= value <= high:
        raise DataError(f"{name!r} must be an integer {low}..{high}", where=where)
    return value


def _scp(table: Any, where: str) -> Scp02Keys | Scp03Keys:
    if not isinstance(table, dict):
        raise DataError("[scp] must be a table", where=where)
    unknown = set(table) - {"protocol", "kvn", "enc", "mac", "dek"}
    if unknown:
        raise DataError(f"unknown keys {sorted(unknown)}", where=where)
    protocol = _int(table, "protocol", where, 2, 3)
    kvn = _int(table, "kvn", where, 1, 0xFF)
    sizes = (16,) if protocol == 2 else (16, 24, 32)
    enc, mac, dek = (_key(table, n, where, sizes) for n in ("enc", "mac", "dek"))
    try:
        return (Scp02Keys(enc, mac, dek, kvn) if protocol == 2
                else Scp03Keys(enc, mac, dek, kvn))
    except EncodeError as exc:
        raise DataError(str(exc), where=where) from None


def _ota(table: Any, where: str) -> OtaKeyset:
    if not isinstance(table, dict):
        raise DataError("[ota] must be a table", where=where)
    unknown = set(table) - {"index", "algorithm", "kic", "kid"}
    if unknown:
        raise DataError(f"unknown keys {sorted(unknown)}", where=where)
    index = _int(table, "index", where, 1, 15)
    name = table.get("algorithm")
    if name not in _OTA_ALGORITHMS:
        raise DataError("'algorithm' must be \"aes\" or \"3des\"", where=where)
    alg = _OTA_ALGORITHMS[name]
    sizes = (16, 24, 32) if alg is Algorithm.AES else (16,)
    return OtaKeyset(OtaKey(index, alg, _key(table, "kic", where, sizes)),
                     OtaKey(index, alg, _key(table, "kid", where, sizes)))


def read_key_file(path: str | os.PathLike[str]) -> KeyFile:
    """Read and check a key file (mode 0600 on POSIX: SafetyRefusal otherwise)."""
    from simtool.provision.crypto import check_key_file_mode

    path = Path(path)
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("key file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the key file: {exc.__class__.__name__}",
                        where=str(path)) from None
    check_key_file_mode(path, st.st_mode, "key file")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", where=str(path)) from None
    unknown = set(doc) - {"scp", "ota"}
    if unknown:
        raise DataError(f"unknown tables {sorted(unknown)}", where=str(path))
    scp = _scp(doc["scp"], f"{path}: [scp]") if "scp" in doc else None
    ota = _ota(doc["ota"], f"{path}: [ota]") if "ota" in doc else None
    return KeyFile(str(path), scp, ota)
