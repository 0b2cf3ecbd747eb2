"""Batch files sealed at rest, and the batch keys that seal them.

A batch's card records (Ki, OPc, PINs, PUKs, ADM1) and the exports that repeat them (the pySim
CSV, the printer's PIN/PUK list) are written in the same authenticated container as the HSS
imports (:mod:`simtool.provision.crypto`: AES-256-GCM, header = file name + batch id as
associated data), as ``NAME.enc`` beside where ``NAME`` would be.  They are sealed with the
*batch key*: 32 random bytes made for the batch and kept **outside** the batch folder, in the
key store (``$SIMTOOL_KEY_DIR``, else ``$XDG_DATA_HOME/simtool/batch-keys``, else
``~/.local/share/simtool/batch-keys``; folder 0700, one ``<batch id>.<key id>.key`` file
0600 in the key-file format; the key id is :func:`~simtool.provision.crypto.key_id`, also in
``batch.toml`` as ``records_key_id``).  A copy of the batch folder (a backup, a share, a mail
to the printer) is therefore useless without the key; ``batch program`` decrypts the records in memory only.

A station that programs a batch generated elsewhere gets the key file by a separate way and
names it (``--key-file``), or puts it in its own key store.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from simtool.errors import DataError
from simtool.provision.atomicfile import atomic_open, atomic_write, create_new
from simtool.provision.crypto import (TRANSPORT_KEY_LEN, Decrypted, decrypt_export,
                                      encrypt_export, export_header, key_file_text, key_id,
                                      read_key_file)
from simtool.secret import Secret

KEY_DIR_ENV = "SIMTOOL_KEY_DIR"
SUFFIX = ".enc"
BATCH_KEY_LEN = TRANSPORT_KEY_LEN  # AES-256


def key_dir() -> Path:
    """The key store folder (not created here)."""
    if os.environ.get(KEY_DIR_ENV):
        return Path(os.environ[KEY_DIR_ENV])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return Path(base) / "simtool" / "batch-keys"


def _check_batch_id(batch_id: str) -> None:
    if not batch_id or "/" in batch_id or batch_id.startswith(".") or "*" in batch_id:
        raise DataError(f"not a batch id: {batch_id!r}")


def batch_key_path(batch_id: str, key_ident: str, directory: Path | None = None) -> Path:
    _check_batch_id(batch_id)
    return (directory or key_dir()) / f"{batch_id}.{key_ident}.key"


def batch_key_files(batch_id: str, directory: Path | None = None) -> list[Path]:
    """The key store's key files for ``batch_id`` (normally one)."""
    _check_batch_id(batch_id)
    folder = directory or key_dir()
    return sorted(folder.glob(f"{batch_id}.*.key")) if folder.is_dir() else []


def new_batch_key(batch_id: str, directory: Path | None = None) -> tuple[Secret[bytes], Path]:
    """A fresh random batch key, stored (0600, never overwriting) in the key store."""
    key = Secret(os.urandom(BATCH_KEY_LEN))
    path = batch_key_path(batch_id, key_id(key), directory)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    create_new(path, key_file_text(key, comment=f"simtool batch key of {batch_id} "
                                                "(AES-256-GCM, seals records.jsonl.enc)"))
    return key, path


def load_batch_keys(batch_id: str) -> list[Secret[bytes]]:
    """The batch's keys from the key store; DataError naming where they were looked for
    when there is none."""
    files = batch_key_files(batch_id)
    if not files:
        raise DataError(f"the key of batch {batch_id} is not in the key store {key_dir()} "
                        f"(${KEY_DIR_ENV}): give the batch key file with --key-file")
    return [read_key_file(path, BATCH_KEY_LEN, what="batch key") for path in files]


def decrypt_with_store(blob: bytes, batch_id: str, *, where: str) -> Decrypted:
    """Decrypt with the key store's key of ``batch_id`` (the one that authenticates)."""
    keys = load_batch_keys(batch_id)
    for key in keys[:-1]:
        try:
            return decrypt_export(blob, key, where=where)
        except DataError:
            continue
    return decrypt_export(blob, keys[-1], where=where)


def sealed_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


@dataclass(frozen=True)
class Sealer:
    """Seals the files of one batch with one key."""

    batch_id: str
    key: Secret[bytes] = field(repr=False)

    def seal(self, name: str, data: bytes) -> bytes:
        return encrypt_export(data, name=name, batch_id=self.batch_id, key=self.key)

    def write(self, path: str | os.PathLike[str], data: str | bytes) -> Path:
        """Write ``path``'s content sealed, as ``path.enc`` (0600, atomic)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        out = sealed_path(path)
        atomic_write(out, self.seal(Path(path).name, raw))
        return out


@contextmanager
def sealed_open(path: str | os.PathLike[str], sealer: Sealer | None, *,
                newline: str | None = None) -> Iterator[IO[str]]:
    """A text stream for ``path``: written sealed to ``path.enc`` when ``sealer`` is given
    (the text gathers in memory and is encrypted at the end), else written plain, 0600,
    through :func:`~simtool.provision.atomicfile.atomic_open`."""
    if sealer is None:
        with atomic_open(path, newline=newline) as fh:
            yield fh
        return
    buf = io.StringIO(newline=newline)
    yield buf
    sealer.write(path, buf.getvalue())


def unseal(path: str | os.PathLike[str], *, name: str | None = None,
           key: Secret[bytes] | None = None) -> tuple[str, Secret[bytes]]:
    """(batch id, plaintext) of the sealed file ``path``; ``name`` the file name it must
    carry (a sealed export renamed to ``records.jsonl.enc`` is refused); ``key`` None: the
    batch key from the key store."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", where=str(path)) from None
    inner, batch_id = export_header(blob, where=str(path))
    if name is not None and inner != name:
        raise DataError(f"holds {inner!r}, not {name!r}", where=str(path))
    if key is None:
        return batch_id, decrypt_with_store(blob, batch_id, where=str(path)).plaintext
    return batch_id, decrypt_export(blob, key, where=str(path)).plaintext


def read_text(path: str | os.PathLike[str], *, key: Secret[bytes] | None = None) -> Secret[str]:
    """A batch file's text, from ``path`` itself or, sealed, from ``path.enc`` (in memory)."""
    path = Path(path)
    sealed = sealed_path(path)
    if sealed.exists():
        raw = unseal(sealed, name=path.name, key=key)[1].reveal()
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read: {exc.strerror}", where=str(path)) from None
    try:
        return Secret(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", where=str(path)) from None


# --- seal and purge a batch folder ----------------------------------------------------------------

#: Files of a batch folder that hold card secrets (relative paths of their plain form).
SECRET_FILES = ("records.jsonl", "exports/pysim.csv", "exports/printer/cards.csv")
#: Sealed with the transport key for the HSS, not with the batch key; never touched here.
HSS_EXPORTS = ("osmo-hlr.vty.enc", "open5gs-dbctl.sh.enc")
PANEL_FILES = ("exports/panel.csv", "exports/panel.json")


def _batch_id(folder: Path) -> tuple[str, dict]:
    from simtool.provision.batchdir import read_batch_info

    info = read_batch_info(folder)
    batch_id = info.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id:
        raise DataError("batch.toml has no batch_id", where=str(folder / "batch.toml"))
    return batch_id, info


def seal_batch(folder: str | os.PathLike[str], *, key: Secret[bytes] | None = None
               ) -> tuple[list[str], Path | None]:
    """Seal every plain secret file of ``folder`` (records, pySim CSV, printer PIN/PUK list,
    a PUK-grade panel import) into ``NAME.enc`` and remove the plain file once the sealed one
    reads back equal.  The key: ``key``, else the batch key in the key store, else a new one
    stored there (a batch written before records were sealed).  Returns the files sealed and
    the new key file (None when an existing key was used)."""
    folder = Path(folder)
    batch_id, info = _batch_id(folder)
    new_key = None
    if key is None:
        known = info.get("records_key_id")
        path = batch_key_path(batch_id, known) if isinstance(known, str) else None
        if path is not None and path.exists():
            key = read_key_file(path, BATCH_KEY_LEN, what="batch key")
        else:
            key, new_key = new_batch_key(batch_id)
    sealer = Sealer(batch_id, key)
    names = list(SECRET_FILES)
    if "subscriber_code" in info.get("credentials", []):
        names += PANEL_FILES
    done = []
    for rel in names:
        plain = folder / rel
        if not plain.exists():
            continue
        data = plain.read_bytes()
        sealed = sealed_path(plain)
        if sealed.exists():
            _, existing = unseal(sealed, name=plain.name, key=key)
            if existing.reveal() != data:
                raise DataError(f"{sealed} exists and differs from {plain}: resolve by hand")
        else:
            sealer.write(plain, data)
            if unseal(sealed, name=plain.name, key=key)[1].reveal() != data:
                raise DataError("sealed file does not read back equal", where=str(sealed))
        plain.unlink()
        done.append(rel)
    if info.get("records_key_id") != key_id(key):
        from simtool.provision.batchdir import BATCH_TOML, write_batch_toml

        write_batch_toml(folder / BATCH_TOML, {**info, "records_key_id": key_id(key)})
    return done, new_key


@dataclass(frozen=True)
class PurgeResult:
    removed: tuple[str, ...]
    key_removed: Path | None
    states: dict[str, int]


def purge_batch(folder: str | os.PathLike[str], *, journal_url: str | None = None,
                force: bool = False, keep_printer: bool = False) -> PurgeResult:
    """Remove what a programmed batch no longer needs: the card records, the pySim CSV and
    (unless ``keep_printer``) the printer's PIN/PUK list, sealed or plain, and the batch key
    once nothing sealed with it is left.  The journal keeps identifiers only (ICCID, IMSI,
    MSISDN, states).  Refused (:class:`SafetyRefusal`) while a record of the batch is not
    ``verified`` or ``failed`` in the journal, unless ``force``."""
    from simtool.errors import SafetyRefusal
    from simtool.provision.journal import RecordState
    from simtool.provision.journal_open import open_journal

    folder = Path(folder)
    batch_id, info = _batch_id(folder)
    journal = open_journal(journal_url, folder, batch_id=batch_id)
    try:
        counts = journal.status_counts()
    finally:
        journal.close()
    states = {str(state): n for state, n in counts.items() if n}
    total = sum(counts.values())
    open_records = total - counts.get(RecordState.VERIFIED, 0) - counts.get(RecordState.FAILED, 0)
    if not force and (total == 0 or open_records):
        what = (f"{open_records} of its {total} records are not programmed and verified"
                if total else "no card of it was programmed (the journal has no records)")
        raise SafetyRefusal(f"batch {batch_id}: {what}; purging would lose the keys of cards "
                            "still to program (--force to purge anyway)")
    names = [rel for rel in SECRET_FILES
             if not (keep_printer and rel == "exports/printer/cards.csv")]
    removed = []
    for rel in names:
        for path in (folder / rel, sealed_path(folder / rel)):
            if path.exists():
                path.unlink()
                removed.append(os.path.relpath(path, folder))
    left = [p for p in folder.rglob("*" + SUFFIX) if p.name not in HSS_EXPORTS]
    key_removed = None
    known = info.get("records_key_id")
    path = batch_key_path(batch_id, known) if isinstance(known, str) else None
    if not left and path is not None and path.exists():
        path.unlink()
        key_removed = path
    return PurgeResult(tuple(removed), key_removed, states)
