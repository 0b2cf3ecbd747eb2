"""The batch folder: its layout, atomic writes, and ``records.jsonl``.

Layout (architecture.md, "Provisioning")::

    DIR/batch.toml        profile, counts, card parameters, warnings; no secrets (0644)
    DIR/records.jsonl     one card per line, secrets included (0600), read by programming
    DIR/journal.sqlite    the provisioning journal (simtool.provision.journal)
    DIR/exports/          pySim CSV, encrypted HSS imports, panel import, printer files (0600)

A batch is built in a hidden staging folder beside DIR (mode 0700) and renamed to DIR once
complete, so DIR either holds a whole batch or nothing.  Single files are written as
temp + fsync + rename with the temp created by ``os.open(..., mode)``: a file with secrets is
0600 from its first byte.  Bulk files inside the staging folder (one barcode per card) are
written without one fsync each; :func:`commit_staging` syncs once before the rename.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import tomli_w

from simtool.errors import DataError, SafetyRefusal
from simtool.provision.credentials import Credential, Scope
from simtool.provision.profile import CredentialKind
from simtool.secret import Secret

BATCH_TOML = "batch.toml"
RECORDS = "records.jsonl"
JOURNAL = "journal.sqlite"
EXPORTS = "exports"
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


# --- atomic files --------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_open(path: str | os.PathLike[str], *, mode: int = SECRET_MODE, text: bool = True,
                newline: str | None = None) -> Iterator[IO[Any]]:
    """Write ``path`` through a temp file created with ``mode``; fsync and rename on success,
    remove the temp file on error.  An existing ``path`` is replaced atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)  # the umask must not widen or narrow what was asked
    try:
        with (os.fdopen(fd, "w", encoding="utf-8", newline=newline) if text
              else os.fdopen(fd, "wb")) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _naming(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error with the file it happened to (os.write does not say)."""
    if exc.filename is not None:
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *,
                 mode: int = SECRET_MODE) -> None:
    with atomic_open(path, mode=mode, text=isinstance(data, str), newline="") as fh:
        fh.write(data)


def write_new(path: Path, data: bytes, *, mode: int = SECRET_MODE) -> None:
    """Create a new file inside a staging folder (O_EXCL, no fsync: commit_staging syncs)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise _naming(exc, path) from None
    finally:
        os.close(fd)


class BulkWriter:
    """Creates many small new files (:func:`write_new`) from background threads, so the
    kernel's file-creation time overlaps the caller's work; the bounded queue keeps memory
    flat.  The first error is raised by the next :meth:`write` or by :meth:`close`."""

    def __init__(self, *, threads: int = 2, backlog: int = 512) -> None:
        self._queue: queue.Queue[tuple[Path, bytes] | None] = queue.Queue(maxsize=backlog)
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._run, name="bulk-writer", daemon=True)
                         for _ in range(threads)]
        for t in self._threads:
            t.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    write_new(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    self._error = exc

    def write(self, path: Path, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((path, data))

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    staging.mkdir(mode=0o700)
    os.chmod(staging, 0o700)
    return staging


def commit_staging(staging: Path, out: str | os.PathLike[str]) -> Path:
    """Flush everything to disk, then rename ``staging`` to ``out`` (an empty ``out`` is
    replaced; a non-empty one that appeared meanwhile is refused)."""
    out = Path(out).absolute()
    os.sync()  # the bulk files written by write_new; one call instead of one fsync per file
    if out.exists():
        try:
            out.rmdir()
        except OSError:
            raise SafetyRefusal(f"{out} is no longer empty; the batch stays in {staging}") from None
    os.rename(staging, out)
    _fsync_dir(out.parent)
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


def record_objects(path: str | os.PathLike[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(file:line, parsed JSON object)`` for each non-blank line of a ``records.jsonl``;
    a line that is not UTF-8 or not a JSON object is a DataError naming file:line."""
    from simtool.provision.validate import iter_lines, parse_record_line

    path = Path(path)
    with _open_binary(path, "records") as fh:
        for number, line in iter_lines(fh, str(path)):
            if line.strip():
                where = f"{path}:{number}"
                yield where, parse_record_line(line, where)


def read_records(path: str | os.PathLike[str]) -> Iterator[CardRecord]:
    """The records of a ``records.jsonl``, in order; DataError names file:line.  Only each
    record's shape is checked here: :func:`read_batch` checks the whole batch."""
    for where, obj in record_objects(path):
        yield record_from_json(obj, where=where)


# --- batch.toml ----------------------------------------------------------------------------------


def write_batch_toml(path: Path, info: dict[str, Any]) -> None:
    atomic_write(path, tomli_w.dumps(info), mode=PUBLIC_MODE)


def read_batch_info(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``batch.toml`` as parsed TOML (its fields are checked by :func:`read_batch`)."""
    from simtool.provision.validate import load_toml

    path = Path(folder) / BATCH_TOML
    return load_toml(_read_text(path, "batch info"), str(path))


def _read_text(path: Path, what: str) -> str:
    from simtool.provision.validate import decode_utf8

    with _open_binary(path, what) as fh:
        return decode_utf8(fh.read(), str(path))


def read_batch(folder: str | os.PathLike[str]) -> tuple[Any, dict[int, CardRecord]]:
    """``batch.toml`` and ``records.jsonl`` of ``folder``, every check of
    :mod:`simtool.provision.validate` passed: (BatchInfo, records by index).  DataError names
    file, line and field; a records file that group/others may read is refused."""
    from simtool.provision.crypto import check_key_file_mode
    from simtool.provision.validate import check_records, parse_batch_info

    folder = Path(folder)
    toml_path, records_path = folder / BATCH_TOML, folder / RECORDS
    _, info = parse_batch_info(_read_text(toml_path, "batch info"), str(toml_path))
    try:
        st = records_path.stat()
    except OSError as exc:
        raise DataError(f"cannot read records: {exc.strerror}",
                        where=str(records_path)) from None
    check_key_file_mode(records_path, st.st_mode, "the batch's records file (Ki, OPc, ADM1)")
    records = check_records(record_objects(records_path), info, source=str(records_path))
    return info, records
