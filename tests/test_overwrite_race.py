"""'Refuses to overwrite' under races, and errors that name the user's path (issue 14.5, 8.10).

The race is made, not waited for: a hook inside the writer creates the victim file after the
command's early ``exists()`` check and before the final name is made.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from simtool.cli.batch import batch as batch_group
from simtool.errors import SafetyRefusal
from simtool.provision import atomicfile
from simtool.provision.atomicfile import atomic_write, create_new
from simtool.provision.crypto import encrypt_export
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from simtool.secret import Secret

VICTIM = "an OP key that must survive\n"
KEY = Secret(bytes(range(32)))


def race_on_fsync(monkeypatch, victim: Path) -> list[Path]:
    """Create ``victim`` the first time the writer syncs its temp file: after every check the
    command made, before the final name exists."""
    real = os.fsync
    made: list[Path] = []

    def fsync(fd: int) -> None:
        real(fd)
        if not made:
            victim.write_text(VICTIM)
            made.append(victim)

    monkeypatch.setattr(atomicfile.os, "fsync", fsync)
    return made


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_create_new_refuses_a_file_that_appears_meanwhile(tmp_path, monkeypatch):
    target = tmp_path / "op.key"
    made = race_on_fsync(monkeypatch, target)
    with pytest.raises(FileExistsError) as exc:
        create_new(target, "00" * 16 + "\n")
    assert made and target.read_text() == VICTIM
    assert exc.value.filename == str(target)
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("kind", ["op", "transport"])
def test_keygen_race_keeps_the_file_created_between_check_and_rename(tmp_path, monkeypatch,
                                                                    kind):
    target = tmp_path / f"{kind}.key"
    made = race_on_fsync(monkeypatch, target)
    result = CliRunner().invoke(batch_group, ["keygen", kind, str(target)])
    assert made, "the race hook never ran"
    assert isinstance(result.exception, SafetyRefusal), result.output
    assert "refusing to overwrite" in str(result.exception)
    assert target.read_text() == VICTIM
    assert no_temp_files(tmp_path)


def test_decrypt_race_keeps_the_file_created_between_check_and_rename(tmp_path, monkeypatch):
    key_file = tmp_path / "transport.key"
    key_file.write_text(KEY.reveal().hex() + "\n")
    key_file.chmod(0o600)
    enc = tmp_path / "osmo-hlr.vty.enc"
    enc.write_bytes(encrypt_export(b"subscriber imsi 1 create\n", name="osmo-hlr.vty",
                                   batch_id="b-1", key=KEY))
    out = tmp_path / "out" / "osmo-hlr.vty"
    out.parent.mkdir()
    made = race_on_fsync(monkeypatch, out)
    result = CliRunner().invoke(batch_group, ["decrypt", str(enc), "--key-file", str(key_file),
                                              "--out", str(out)])
    assert made, "the race hook never ran"
    assert isinstance(result.exception, SafetyRefusal), result.output
    assert out.read_text() == VICTIM
    assert no_temp_files(out.parent)
    # without the race the same command writes the file, 0600
    out.unlink()
    monkeypatch.undo()
    result = CliRunner().invoke(batch_group, ["decrypt", str(enc), "--key-file", str(key_file),
                                              "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"subscriber imsi 1 create\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


# --- errors name the user's path, not the writer's temp names ----------------------------------

def test_atomic_write_errors_name_the_target_not_the_temp_file(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(OSError) as exc:  # rename of the temp file over a folder
        atomic_write(folder, "x")
    assert exc.value.filename == str(folder) and ".tmp" not in str(exc.value)
    missing = tmp_path / "nowhere" / "op.key"
    with pytest.raises(FileNotFoundError) as exc:  # creating the temp file
        atomic_write(missing, "x")
    assert exc.value.filename == str(missing) and ".tmp" not in str(exc.value)
    assert no_temp_files(tmp_path)


def test_generate_errors_name_the_batch_folder_not_the_staging_folder(tmp_path, monkeypatch):
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomicfile.os, "fsync", disk_full)
    out = tmp_path / "b"
    with pytest.raises(OSError) as exc:  # seal_key given: nothing goes to the key store
        generate_batch(load_profile("milo"), 2, out, panel_import=False, seal_key=KEY)
    name = str(exc.value.filename)
    assert name.startswith(str(out) + os.sep), name
    assert ".staging-" not in str(exc.value) and ".tmp" not in str(exc.value)
    assert list(tmp_path.iterdir()) == []  # nothing left: no staging folder, no batch


def test_a_folder_filled_meanwhile_is_refused_without_naming_the_removed_staging(tmp_path,
                                                                                monkeypatch):
    out = tmp_path / "b"
    real_sync = os.sync

    def sync() -> None:  # commit_staging's sync: someone writes into the empty target now
        out.mkdir(exist_ok=True)
        (out / "theirs").write_text("keep me")
        real_sync()

    monkeypatch.setattr(os, "sync", sync)
    with pytest.raises(SafetyRefusal) as exc:
        generate_batch(load_profile("milo"), 2, out, panel_import=False, seal_key=KEY)
    assert ".staging-" not in str(exc.value) and "discarded" in str(exc.value)
    assert (out / "theirs").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
