"""Operator profiles: the seed operators load, malformed profiles name file, line and reason."""

from __future__ import annotations

import textwrap

import pytest

from simtool.errors import DataError
from simtool.pin import AdmFormat
from simtool.provision.profile import (BarcodeScheme, CredentialKind, default_provisioning_dir,
                                       list_profiles, load_profile, parse_profile, profile_path)

SEED_OPERATORS = ["milo", "halonet", "citysat", "idea24", "plus"]

# What the seed texts say each operator hands out (see provisioning/README.md).
EXPECTED_CREDENTIALS = {
    "milo": (CredentialKind.PANEL_PASSWORD,),
    "halonet": (CredentialKind.PANEL_PASSWORD,),
    "citysat": (CredentialKind.VOICEMAIL_PIN,),
    "idea24": (CredentialKind.SUBSCRIBER_CODE, CredentialKind.ACCOUNT_SUBSCRIBER_CODE,
               CredentialKind.TEMPORARY_PASSWORD),
    "plus": (CredentialKind.PLUS_KOD5, CredentialKind.PLUS_KOD4),
}


@pytest.mark.parametrize("name", SEED_OPERATORS)
def test_seed_profile_loads(name):
    p = load_profile(name)
    assert p.name == name
    assert p.mcc == "260"
    assert p.iccid_prefix.startswith("8948")  # 89 telecom, 48 Poland (E.118)
    assert p.credentials == EXPECTED_CREDENTIALS[name]
    assert p.barcode is BarcodeScheme.HMAC
    # only Milo and City-Sat documents give handset codes for an STK menu
    assert p.menu == (name if name in ("milo", "citysat") else None)
    assert p.services == name
    if p.menu is not None:
        assert p.menu_path() == default_provisioning_dir() / "menus" / f"{name}.toml"
    assert p.services_path() == default_provisioning_dir() / "services" / f"{name}.toml"
    assert all(r.first <= r.last for r in p.msisdn_pool)
    assert all(str(r.first).startswith("48") for r in p.msisdn_pool)


def test_list_and_path():
    assert set(SEED_OPERATORS) <= set(list_profiles())
    assert profile_path("milo").name == "milo.toml"
    assert str(profile_path("some/dir/x.toml")) == "some/dir/x.toml"


def test_plus_groups_numbers_and_uses_hex_adm():
    p = load_profile("plus")
    assert p.numbers_per_account == 3
    assert p.adm_format is AdmFormat.HEX16


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(DataError, match="known profiles: .*milo"):
        load_profile("nosuchoperator")


VALID = """\
name = "test"
operator = "Test Operator"
menu = "test"

[network]
mcc = "260"
mnc = "97"

[iccid]
prefix = "894897"
length = 19

[spn]
name = "Test"

[[msisdn_pool]]
first = "48531000000"
last = "48531000099"

[[msisdn_pool]]
first = "48531000200"
last = "48531000299"

[pin]
length = 4

[card]
adm_format = "decimal8"

[credentials]
derive = ["panel_password"]
"""


def test_valid_base_profile_parses():
    p = parse_profile(VALID, "t.toml")
    assert p.msisdn_capacity == 200
    assert p.serial_digits == 10
    assert p.spn_display_condition == 1


# Each case replaces one line of VALID (old → new); the error must point at the line marked
# with "# <-" in the result and mention the reason.
MALFORMED = [
    ('mnc = "97"', 'mnc = "97  # <-', "TOML syntax error"),
    ('menu = "test"', 'menu = "test"\ncolour = "red"  # <-', "colour: unknown key"),
    ('mnc = "97"', 'mnc = "9x"  # <-', "network.mnc: must be 2..3 decimal digits"),
    ('mcc = "260"', 'mcc = 260  # <-', "network.mcc: must be a string"),
    ('prefix = "894897"', 'prefix = "994897"  # <-', "must start with 89"),
    ("length = 19", "length = 21  # <-", "iccid.length: must be 19 or 20"),
    ('name = "Test"', 'name = "Bardzo długa nazwa sieci"  # <-', "spn.name: does not fit"),
    ('last = "48531000099"', 'last = "4853100009"  # <-', "as many digits as first"),
    ('first = "48531000200"', 'first = "48531000050"', "overlaps an earlier range"),
    ('first = "48531000000"', 'first = "0001"  # <-', "8..15 decimal digits"),
    ("length = 4", "length = 3  # <-", "pin.length: must be 4..8"),
    ("length = 4", "length = true  # <-", "pin.length: must be a integer"),
    ('adm_format = "decimal8"', 'adm_format = "octal"  # <-', "must be one of"),
    ('derive = ["panel_password"]', 'derive = ["pin_mailer"]  # <-', "unknown credential"),
    ('derive = ["panel_password"]', 'derive = ["panel_password"]\nnumbers_per_account = 0  # <-',
     "numbers_per_account: must be 1..100"),
    ('menu = "test"', 'menu = "../etc/passwd"  # <-', "menu: must be a lower-case name"),
    ('name = "test"', 'name = "test"\nformat = 2  # <-', "unsupported profile format 2"),
    ('mnc = "97"', 'mnc = "97"\nmnc = "98"  # <-', "TOML syntax error"),
    ('adm_format = "decimal8"', 'type = "sysmoISIM-SJA2"\nadm_format = "hex16"  # <-',
     "sysmoISIM-SJA2 cards take ADM1 as decimal8"),
    # a multi-line string whose text looks like a key must not be taken for that key
    ('operator = "Test Operator"', 'operator = """Op\nmnc = "zz"\n"""', None),
]


@pytest.mark.parametrize("old,new,reason", MALFORMED)
def test_malformed_profile_names_file_line_and_reason(old, new, reason):
    assert old in VALID
    text = VALID.replace(old, new, 1)
    if reason is None:  # the multi-line case: then break the real mnc
        text = text.replace('mnc = "97"', 'mnc = "9"  # <-')
        reason = "network.mnc"
    if "# <-" in text:
        line = next(i for i, ln in enumerate(text.splitlines(), 1) if "# <-" in ln)
    else:  # the overlap case points at the second [[msisdn_pool]] header
        line = [i for i, ln in enumerate(text.splitlines(), 1) if ln == "[[msisdn_pool]]"][1]
    with pytest.raises(DataError) as info:
        parse_profile(text, "bad.toml")
    assert info.value.where == f"bad.toml:{line}"
    assert reason in str(info.value)


def test_missing_required_key_names_the_key():
    text = VALID.replace('operator = "Test Operator"\n', "")
    with pytest.raises(DataError, match="operator: missing") as info:
        parse_profile(text, "bad.toml")
    assert info.value.where == "bad.toml"


def test_missing_key_in_table_points_at_the_table():
    text = VALID.replace('mcc = "260"\n', "")
    lines = text.splitlines()
    with pytest.raises(DataError, match="network.mcc: missing") as info:
        parse_profile(text, "bad.toml")
    assert info.value.where == f"bad.toml:{lines.index('[network]') + 1}"


def test_load_profile_from_file_reports_its_path(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(textwrap.dedent(VALID).replace('mnc = "97"', 'mnc = "X"'), encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_profile(str(path))
    assert info.value.where == f"{path}:7"


@pytest.mark.parametrize("name", ["milo", "halonet", "citysat", "idea24", "plus"])
def test_menu_and_services_references_resolve_to_files(name):
    """A profile naming a menu or services file that does not exist would fail only at
    programming or STK time; catch it here."""
    profile = load_profile(name)
    for path in (profile.menu_path(), profile.services_path()):
        assert path is None or path.is_file(), path
