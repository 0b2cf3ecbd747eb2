"""The panel import's Argon2id: costs raised per profile (never lowered below the floor), an
optional server-side pepper with the panel's way of checking a login, and Idea24's PUK-grade
import (issue 14.7)."""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import argon2
import pytest

from simtool.errors import DataError
from simtool.provision.batchdir import read_batch_info, read_records
from simtool.provision.crypto import key_id
from simtool.provision.generate import PUK_PANEL_WARNING, generate_batch
from simtool.provision.hashing import MIN_MEMORY_KIB, HashParams, verify
from simtool.provision.profile import default_provisioning_dir, load_profile, parse_profile
from simtool.provision.sealed import sealed_path
from simtool.secret import Secret

PEPPER = Secret(bytes.fromhex("5A" * 32))


def milo_text(extra: str = "") -> str:
    text = (default_provisioning_dir() / "profiles" / "milo.toml").read_text()
    return text + "\n" + extra


def test_a_profile_raises_the_argon2id_costs():
    profile = parse_profile(milo_text("[panel_hash]\nmemory_kib = 65536\ntime_cost = 3\n"))
    assert profile.panel_hash == HashParams(memory_kib=65536, time_cost=3, parallelism=1)
    assert load_profile("milo").panel_hash == HashParams()  # the floor by default


@pytest.mark.parametrize(("field", "value"), [("memory_kib", MIN_MEMORY_KIB - 1),
                                              ("time_cost", 1), ("parallelism", 0)])
def test_a_profile_can_never_lower_them(field, value):
    with pytest.raises(DataError) as exc:
        parse_profile(milo_text(f"[panel_hash]\n{field} = {value}\n"), "low.toml")
    assert f"panel_hash.{field}" in str(exc.value) and "never lowered" in str(exc.value)
    assert "low.toml:" in str(exc.value)


def test_the_idea24_profile_uses_raised_costs():
    params = load_profile("idea24").panel_hash
    assert params.memory_kib > MIN_MEMORY_KIB and params.time_cost > 2


def _panel(out: Path) -> dict:
    return json.loads((out / "exports/panel.json").read_text())


def test_a_batch_hashes_with_the_profiles_costs(tmp_path):
    profile = parse_profile(milo_text("[panel_hash]\nmemory_kib = 32768\ntime_cost = 3\n"))
    generate_batch(profile, 2, tmp_path / "b", workers=1)
    panel = _panel(tmp_path / "b")
    assert panel["hash"]["memory_kib"] == 32768 and panel["hash"]["time_cost"] == 3
    phc = panel["subscribers"][0]["credentials"][0]["hash"]
    assert phc.startswith("$argon2id$v=19$m=32768,t=3,p=1$")


def test_a_peppered_panel_import_and_how_the_panel_checks_a_login(tmp_path):
    out = tmp_path / "b"
    generate_batch(load_profile("milo"), 2, out, workers=1, pepper=PEPPER)
    panel = _panel(out)
    assert panel["hash"]["pepper"] == {"scheme": "hmac-sha256-hex", "key_id": key_id(PEPPER)}
    assert read_batch_info(out)["panel_pepper_id"] == key_id(PEPPER)
    rec = next(iter(read_records(out / "records.jsonl")))
    phc = panel["subscribers"][0]["credentials"][0]["hash"]
    password = rec.credentials[0].value
    # without the pepper the stored hash matches nothing: a stolen import cannot be searched
    assert not verify(phc, password)
    assert verify(phc, password, PEPPER)
    assert not verify(phc, Secret("0" * len(password.reveal())), PEPPER)
    # the panel's side, exactly as documented (hashing.py, provisioning/README.md)
    candidate = hmac.new(PEPPER.reveal(), password.reveal().encode("utf-8"),
                         "sha256").hexdigest()
    assert argon2.PasswordHasher().verify(phc, candidate)


def test_idea24_panel_import_is_puk_grade_unless_peppered(tmp_path):
    plain = generate_batch(load_profile("idea24"), 1, tmp_path / "a", workers=1)
    assert PUK_PANEL_WARNING in plain.warnings
    assert "PUK" in read_batch_info(tmp_path / "a")["warnings"][-1]
    for name in ("panel.csv", "panel.json"):
        assert sealed_path(tmp_path / "a/exports" / name).exists()
        assert not (tmp_path / "a/exports" / name).exists()
    peppered = generate_batch(load_profile("idea24"), 1, tmp_path / "b", workers=1,
                              pepper=PEPPER)
    assert PUK_PANEL_WARNING not in peppered.warnings
    assert (tmp_path / "b/exports/panel.json").exists()  # 0600, like every panel import
