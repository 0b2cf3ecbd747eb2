"""The batch folder: its layout, atomic writes, and ``records.jsonl``.

Layout (architecture.md, "Provisioning")::

    DIR/batch.toml        profile, counts, card parameters, warnings; no secrets (0640)
    DIR/records.jsonl.enc one card per line, secrets included, sealed with the batch key
                          (simtool.provision.sealed); decrypted in memory by programming
    DIR/journal.sqlite    the provisioning journal (simtool.provision.journal)
    DIR/exports/          sealed pySim CSV and printer PIN/PUK list (plain only on request),
                          encrypted HSS imports, panel import, printer labels (0600)

A batch is built in a hidden staging folder beside DIR (mode 0700) and renamed to DIR once
complete, so DIR either holds a whole batch or nothing.  Single files are written as
temp + fsync + rename with the temp created by ``os.open(..., mode)``: a file with secrets is
0600 from its first byte.  Bulk files inside the staging folder (one barcode per card) are
written without one fsync each; :func:`commit_staging` syncs once before the rename.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import tomli_w

from simtool.errors import DataError, SafetyRefusal
from simtool.provision.atomicfile import (PRIVATE_MODE, SECRET_MODE, BulkWriter,  # noqa: F401
                                          atomic_open, atomic_write, create_new, fsync_dir,
                                          naming, write_new)
from simtool.provision.credentials import Credential, Scope
from simtool.provision.profile import CredentialKind
from simtool.secret import Secret

BATCH_TOML = "batch.toml"
RECORDS = "records.jsonl"
JOURNAL = "journal.sqlite"
EXPORTS = "exports"
#: batch.toml names the batch's ICCID range and profile: owner and group only.
BATCH_TOML_MODE = PRIVATE_MODE


# --- staging -------------------------------------------------------------------------------------


def create_staging(out: str | os.PathLike[str]) -> Path:
    """A fresh 0700 folder beside ``out``; refuses when ``out`` exists and is not empty."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise SafetyRefusal(f"{out} exists and is not a folder; refusing to overwrite it")
        if any(out.iterdir()):
            raise SafetyRefusal(f"{out} is not empty; refusing to overwrite a batch folder")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise DataError(f"{parent} does not exist")
    staging = parent / f".{out.name}.staging-{secrets.token_hex(4)}"
    try:
        staging.mkdir(mode=0o700)
        os.chmod(staging, 0o700)
    except OSError as exc:
        raise naming(exc, out) from None
    return staging


@contextmanager
def staging_errors(staging: Path, out: str | os.PathLike[str]) -> Iterator[None]:
    """Errors of the work inside ``staging`` name the file under ``out``, the folder the user
    asked for (``out/exports/pysim.csv``), not the hidden staging folder, which is removed."""
    try:
        yield
    except OSError as exc:
        name = exc.filename
        if isinstance(name, (str, os.PathLike)):
            try:
                rel = Path(name).absolute().relative_to(staging.absolute())
            except ValueError:
                raise exc from None
            raise naming(exc, Path(out) / rel) from None
        raise


def commit_staging(staging: Path, out: str | os.PathLike[str]) -> Path:
    """Flush everything to disk, then rename ``staging`` to ``out`` (an empty ``out`` is
    replaced; a non-empty one that appeared meanwhile is refused, and the caller discards the
    staging folder)."""
    out = Path(out).absolute()
    os.sync()  # the bulk files written by write_new; one call instead of one fsync per file
    if out.exists():
        try:
            out.rmdir()
        except OSError:
            raise SafetyRefusal(f"{out} is no longer empty (something was written there while "
                                "the batch was generated); the new batch was discarded") from None
    try:
        os.rename(staging, out)
    except OSError as exc:
        raise naming(exc, out) from None
    fsync_dir(out.parent)
    return out


def abort_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


# --- records.jsonl -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardRecord:
    """Everything programmed into, printed for, and handed out with one card."""

    index: int  # 0-based position in the batch
    iccid: str  # 19/20 digits with the Luhn digit (ITU-T E.118)
    imsi: str  # MCC ‖ MNC ‖ MSIN, ≤ 15 digits (3GPP TS 23.003 §2.2)
    msisdn: str  # E.164 digits without '+', e.g. 48531234567
    acc: int  # EF.ACC value, 1 << (last IMSI digit) (3GPP TS 31.102 §4.2.15)
    ki: Secret[bytes]  # 16 bytes
    opc: Secret[bytes]  # 16 bytes
    pin1: Secret[str]
    puk1: Secret[str]
    pin2: Secret[str]
    puk2: Secret[str]
    adm1: Secret[str]  # 8 decimal digits or 16 hex digits (profile adm_format)
    barcode: Secret[str]  # the number printed under the barcode
    account: str  # customer account id (several numbers may share one)
    credentials: tuple[Credential, ...] = ()
    # the ISIM's identities when the profile names an IMS domain (simtool.provision.ims)
    impi: str | None = None
    impu: str | None = None

    @property
    def panel_login(self) -> str:
        """The panel login: the number as 48XXXXXXXXX (Milo's leaflet)."""
        return self.msisdn

    def __repr__(self) -> str:
        return f"CardRecord(index={self.index}, iccid={self.iccid}, imsi={self.imsi})"


def record_to_json(rec: CardRecord) -> str:
    return json.dumps({
        "index": rec.index, "iccid": rec.iccid, "imsi": rec.imsi, "msisdn": rec.msisdn,
        "acc": f"{rec.acc:04X}", "ki": rec.ki.reveal().hex().upper(),
        "opc": rec.opc.reveal().hex().upper(), "pin1": rec.pin1.reveal(),
        "puk1": rec.puk1.reveal(), "pin2": rec.pin2.reveal(), "puk2": rec.puk2.reveal(),
        "adm1": rec.adm1.reveal(), "barcode": rec.barcode.reveal(), "account": rec.account,
        "credentials": [{"kind": c.kind.value, "value": c.value.reveal(), "scope": c.scope.value,
                         "must_change": c.must_change, "read_only": c.read_only}
                        for c in rec.credentials],
        **({"impi": rec.impi, "impu": rec.impu} if rec.impi is not None else {}),
    }, separators=(",", ":"))


def record_from_json(line: str | dict[str, Any], *, where: str | None = None) -> CardRecord:
    """A record from its JSON line (or the line already parsed); DataError, never echoing the
    line (it holds keys).  :mod:`simtool.provision.validate` checks each field's form."""
    try:
        d = json.loads(line) if isinstance(line, str) else line
        if not isinstance(d, dict):
            raise TypeError("not an object")
        creds = tuple(Credential(CredentialKind(c["kind"]), Secret(str(c["value"])),
                                 Scope(c["scope"]), bool(c["must_change"]), bool(c["read_only"]))
                      for c in d.get("credentials", []))
        ki, opc = bytes.fromhex(d["ki"]), bytes.fromhex(d["opc"])
        if len(ki) != 16 or len(opc) != 16:
            raise ValueError("ki and opc must be 16 bytes")
        fields = {k: d[k] for k in ("iccid", "imsi", "msisdn", "account")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise TypeError("iccid, imsi, msisdn and account must be strings")
        ims = {k: d[k] for k in ("impi", "impu") if d.get(k) is not None}
        if not all(isinstance(v, str) for v in ims.values()):
            raise TypeError("impi and impu must be strings")
        fields.update(ims)
        return CardRecord(
            index=int(d["index"]), acc=int(d["acc"], 16), ki=Secret(ki), opc=Secret(opc),
            pin1=Secret(str(d["pin1"])), puk1=Secret(str(d["puk1"])), pin2=Secret(str(d["pin2"])),
            puk2=Secret(str(d["puk2"])), adm1=Secret(str(d["adm1"])),
            barcode=Secret(str(d["barcode"])), credentials=creds, **fields)
    except (ValueError, KeyError, TypeError) as exc:
        # never echo the line: it holds keys
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise DataError(f"malformed card record ({reason})", where=where) from None


def _open_binary(path: Path, what: str) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read {what}: {exc.strerror}", where=str(path)) from None


def records_file(path: str | os.PathLike[str]) -> Path:
    """The file :func:`read_records` reads for ``path`` (``records.jsonl``): its sealed form
    ``records.jsonl.enc`` when there, else ``path`` itself (for mode checks and messages)."""
    from simtool.provision.sealed import sealed_path

    sealed = sealed_path(path)
    return sealed if sealed.exists() else Path(path)


def record_lines(path: str | os.PathLike[str], *,
                 key: Secret[bytes] | None = None) -> Iterator[tuple[str, str]]:
    """(``file:line``, text) of every non-blank line of the records, sealed or plain; text
    that is not UTF-8 is a DataError naming file, line and byte offset."""
    from simtool.provision.sealed import unseal
    from simtool.provision.validate import iter_lines

    path = Path(path)
    sealed = records_file(path)
    if sealed != path:
        _, plaintext = unseal(sealed, name=path.name, key=key)
        source, fh = sealed, io.BytesIO(plaintext.reveal())
    else:
        source, fh = path, _open_binary(path, "records")
    with fh:
        for number, line in iter_lines(fh, str(source)):
            if line.strip():
                yield f"{source}:{number}", line


def record_objects(path: str | os.PathLike[str], *,
                   key: Secret[bytes] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(file:line, parsed JSON object)`` for each non-blank line of the records (sealed or
    plain); a line that is not UTF-8 or not a JSON object is a DataError naming file:line."""
    from simtool.provision.validate import parse_record_line

    for where, line in record_lines(path, key=key):
        yield where, parse_record_line(line, where)


def read_records(path: str | os.PathLike[str], *,
                 key: Secret[bytes] | None = None) -> Iterator[CardRecord]:
    """The records of a ``records.jsonl``, in order; DataError names file:line.  Only each
    record's shape is checked here: :func:`read_batch` checks the whole batch.

    ``path`` names the plain file; when its sealed form ``records.jsonl.enc`` is there it is
    decrypted in memory (with ``key``, else the batch key from the key store,
    :mod:`simtool.provision.sealed`) and read instead."""
    for where, obj in record_objects(path, key=key):
        yield record_from_json(obj, where=where)


# --- batch.toml ----------------------------------------------------------------------------------


def write_batch_toml(path: Path, info: dict[str, Any]) -> None:
    atomic_write(path, tomli_w.dumps(info), mode=BATCH_TOML_MODE)


def read_batch_info(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``batch.toml`` as parsed TOML (its fields are checked by :func:`read_batch`)."""
    from simtool.provision.validate import load_toml

    path = Path(folder) / BATCH_TOML
    return load_toml(_read_text(path, "batch info"), str(path))


def _read_text(path: Path, what: str) -> str:
    from simtool.provision.validate import decode_utf8

    with _open_binary(path, what) as fh:
        return decode_utf8(fh.read(), str(path))


def read_batch(folder: str | os.PathLike[str], *,
               key: Secret[bytes] | None = None) -> tuple[Any, dict[int, CardRecord]]:
    """``batch.toml`` and the records of ``folder`` (sealed ``records.jsonl.enc``, decrypted in
    memory with ``key`` or the key store's batch key, or a plain ``records.jsonl``), every
    check of :mod:`simtool.provision.validate` passed: (BatchInfo, records by index).
    DataError names file, line and field; a records file that group/others may read is
    refused."""
    from simtool.provision.crypto import check_key_file_mode
    from simtool.provision.validate import check_records, parse_batch_info

    folder = Path(folder)
    toml_path = folder / BATCH_TOML
    _, info = parse_batch_info(_read_text(toml_path, "batch info"), str(toml_path))
    stored = records_file(folder / RECORDS)
    try:
        st = stored.stat()
    except OSError as exc:
        raise DataError(f"cannot read records: {exc.strerror}", where=str(stored)) from None
    check_key_file_mode(stored, st.st_mode, "the batch's records file (Ki, OPc, ADM1)")
    records = check_records(record_objects(folder / RECORDS, key=key), info,
                            source=str(stored))
    return info, records
