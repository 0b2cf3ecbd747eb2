"""The key file of simtool gp / ota: what it accepts, and errors that name the field, never a
key."""

from __future__ import annotations

import os

import pytest

from simtool.errors import DataError, SafetyRefusal
from simtool.gp.keyfile import read_key_file
from simtool.gp.scp02 import Scp02Keys
from simtool.gp.scp03 import Scp03Keys
from simtool.ota.packet import Algorithm

KEY = "404142434445464748494A4B4C4D4E4F"
GOOD = f"""
[scp]
protocol = 3
kvn = 0x30
enc = "{KEY}"
mac = "{KEY}"
dek = "{KEY}"

[ota]
index = 2
algorithm = "3des"
kic = "{KEY}"
kid = "{KEY}"
"""


def write(tmp_path, text, mode=0o600):
    path = tmp_path / "k.keys"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_reads_both_tables(tmp_path):
    keys = read_key_file(write(tmp_path, GOOD))
    assert isinstance(keys.scp, Scp03Keys) and keys.scp.version == 0x30
    assert keys.ota.kic.index == 2 and keys.ota.kid.algorithm is Algorithm.TDES_2KEY
    assert KEY not in repr(keys) and KEY.lower() not in repr(keys)


def test_scp02_and_a_missing_table(tmp_path):
    keys = read_key_file(write(tmp_path, GOOD.replace("protocol = 3", "protocol = 2")
                               .split("[ota]")[0]))
    assert isinstance(keys.scp, Scp02Keys)
    with pytest.raises(DataError, match=r"no \[ota\] table"):
        keys.require_ota()


@pytest.mark.parametrize("change,message", [
    (("kvn = 0x30", "kvn = 0"), "'kvn' must be an integer"),
    (("protocol = 3", "protocol = 4"), "'protocol' must be an integer 2..3"),
    ((f'dek = "{KEY}"', 'dek = "4041"'), "'dek' must be 16 or 24 or 32 bytes"),
    ((f'mac = "{KEY}"', 'mac = "zz"'), "'mac' is not hex"),
    (('algorithm = "3des"', 'algorithm = "des"'), "'algorithm' must be"),
    (("index = 2", "index = 16"), "'index' must be an integer 1..15"),
    (("[ota]", "[ota]\nextra = 1"), "unknown keys"),
    (("[scp]", "[scpx]"), "unknown tables"),
])
def test_errors_name_the_file_and_field_not_the_key(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(DataError, match=message) as err:
        read_key_file(path)
    assert str(path) in str(err.value) and KEY not in str(err.value)


def test_a_key_file_others_can_read_is_refused(tmp_path):
    with pytest.raises(SafetyRefusal, match="chmod 600"):
        read_key_file(write(tmp_path, GOOD, 0o640))
