"""End to end: ``simtool gp`` and ``simtool ota`` → pyscard → pcscd → vpcd → the virtual card's
ISD and OTA receiver.  From a card without the menu applet: load a CAP built here, install the
menu applet with toolkit parameters, write the Milo menu into EF.MENU over OTA, see it with
``simtool stk menu``, change one item's title over OTA RFM, refuse a replayed packet, delete
the applet and see no menu."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.test_gp_cap import OPAQUE, applet, build, header
from tests.virtual_card.gp import MENU_APPLET_AID, MENU_PACKAGE_AID

pytestmark = pytest.mark.e2e

PACKAGE, APPLET = MENU_PACKAGE_AID.hex().upper(), MENU_APPLET_AID.hex().upper()
# the virtual card's default key sets (tests/virtual_card/gp.py, ota.py)
KEY_FILE = """\
[scp]
protocol = {protocol}
kvn = {kvn}
enc = "404142434445464748494A4B4C4D4E4F"
mac = "404142434445464748494A4B4C4D4E4F"
dek = "404142434445464748494A4B4C4D4E4F"

[ota]
index = 1
algorithm = "aes"
kic = "11111111111111111111111111111111"
kid = "22222222222222222222222222222222"
"""


def write_keys(path, protocol=3, kvn="0x30", mode=0o600):
    path.write_text(KEY_FILE.format(protocol=protocol, kvn=kvn))
    os.chmod(path, mode)
    return str(path)


def menu_cap_bytes() -> bytes:
    return build({"Header": header(MENU_PACKAGE_AID), "Applet": applet(MENU_APPLET_AID),
                  **OPAQUE})


@pytest.fixture(autouse=True)
def network_state(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMTOOL_NETWORK_STATE", str(tmp_path / "network.json"))


@pytest.fixture
def bare_card(pcsc_stack):
    """The card without the menu applet, EF.MENU erased."""
    pcsc_stack.kill_card()
    image = json.loads(pcsc_stack.image.read_text())
    image["gp"]["applications"], image["gp"]["load_files"] = [], []
    image["files"]["3F00/7FFF/AF50"] = "FF" * 8192
    pcsc_stack.image.write_text(json.dumps(image))
    pcsc_stack.start_card()
    return pcsc_stack


def menu_titles(simtool_cli) -> tuple[int, list[str]]:
    proc = simtool_cli("--json", "stk", "menu")
    if proc.returncode:
        return proc.returncode, []
    listing = json.loads(proc.stdout)
    return 0, [listing["title"]] + [i["title"] for i in listing["items"]]


def test_load_install_menu_over_ota_update_and_delete(bare_card, simtool_cli, tmp_path):
    keys = write_keys(tmp_path / "isd.keys")
    cap = tmp_path / "milo-menu.cap"
    cap.write_bytes(menu_cap_bytes())
    assert menu_titles(simtool_cli)[0] == 1                      # no menu applet yet

    simtool_cli("gp", "load", "--keys", keys, str(cap), check=True)
    simtool_cli("gp", "install", "--keys", keys, str(cap), "--menu-entry", "1", check=True)
    listing = json.loads(simtool_cli("--json", "gp", "list", "--keys", keys, check=True).stdout)
    assert [(a["aid"], a["life_cycle"]) for a in listing["applications"]] == [
        (APPLET, "SELECTABLE")]
    assert listing["load_files"][0]["modules"] == [APPLET]
    assert menu_titles(simtool_cli)[0] == 1                      # EF.MENU still erased

    sent = json.loads(simtool_cli("--json", "ota", "--keys", keys, "--counter", "1",
                                  "--menu", "milo", check=True).stdout)
    assert sent["por"]["status"] == 0 and sent["last_sw"] == "9000"
    rc, titles = menu_titles(simtool_cli)
    assert rc == 0 and titles[0] == "Milo Telecom" and titles[3] == "Stan konta"

    # one item's title changed over OTA RFM
    milo = (tmp_path / "milo.toml")
    from tests.harness import REPO
    source = (REPO / "provisioning/menus/milo.toml").read_text(encoding="utf-8")
    milo.write_text(source.replace('title = "Stan konta"', 'title = "Saldo"'), encoding="utf-8")
    simtool_cli("ota", "--keys", keys, "--counter", "2", "--menu", str(milo), check=True)
    rc, titles = menu_titles(simtool_cli)
    assert rc == 0 and titles[3] == "Saldo" and titles[1:3] == ["Mój numer", "Internet"]

    # the same counter again: refused (PoR status 02), the menu as it was
    replay = simtool_cli("ota", "--keys", keys, "--counter", "2", "--menu", "milo")
    assert replay.returncode == 1 and "PoR status 02" in replay.stderr
    assert menu_titles(simtool_cli)[1][3] == "Saldo"

    simtool_cli("gp", "delete", "--keys", keys, PACKAGE, "--related", check=True)
    assert menu_titles(simtool_cli)[0] == 1
    listing = json.loads(simtool_cli("--json", "gp", "list", "--keys", keys, check=True).stdout)
    assert listing["applications"] == [] and listing["load_files"] == []


def test_scp02_info_and_trace_without_keys(simtool_cli, tmp_path):
    keys = write_keys(tmp_path / "isd.keys", protocol=2, kvn="0x20")
    proc = simtool_cli("--trace", "gp", "info", "--keys", keys, check=True)
    assert "ISD A000000151000000" in proc.stdout
    assert "key version 20" in proc.stdout and "key version 30" in proc.stdout
    assert not re.search(r"40 ?41 ?42 ?43 ?44 ?45", proc.stderr)
    assert ">> 84 82" in proc.stderr and "redacted" in proc.stderr   # EXTERNAL AUTHENTICATE


def test_a_key_file_others_can_read_is_refused(simtool_cli, tmp_path):
    keys = write_keys(tmp_path / "isd.keys", mode=0o644)
    proc = simtool_cli("gp", "list", "--keys", keys)
    assert proc.returncode == 5 and "chmod 600" in proc.stderr


def test_wrong_keys_are_refused_before_the_card_counts_a_try(pcsc_stack, simtool_cli, tmp_path):
    keys = tmp_path / "wrong.keys"
    keys.write_text(KEY_FILE.format(protocol=3, kvn="0x30").replace("404142", "000000"))
    os.chmod(keys, 0o600)
    proc = simtool_cli("gp", "list", "--keys", str(keys))
    assert proc.returncode == 1 and "card cryptogram does not verify" in proc.stderr
    pcsc_stack.kill_card()
    image = json.loads(pcsc_stack.image.read_text())
    assert image["gp"]["key_tries"] == image["gp"]["key_max_tries"]


def test_an_isd_with_one_try_left_is_not_opened(pcsc_stack, simtool_cli, tmp_path):
    """Like ADM1's minimum of tries: the CLI reads the ISD's counter first and, with one
    failed authentication left, refuses (exit 5) without INITIALIZE UPDATE; nothing moves."""
    pcsc_stack.kill_card()
    image = json.loads(pcsc_stack.image.read_text())
    image["gp"]["key_tries"] = 1
    pcsc_stack.image.write_text(json.dumps(image))
    pcsc_stack.start_card()
    keys = write_keys(tmp_path / "isd.keys")
    proc = simtool_cli("--trace", "gp", "list", "--keys", keys)
    assert proc.returncode == 5, proc.stderr
    assert "1 more failed authentication(s), below the safe minimum of 2" in proc.stderr
    assert ">> 80 50" not in proc.stderr                   # no INITIALIZE UPDATE sent
    pcsc_stack.kill_card()
    after = json.loads(pcsc_stack.image.read_text())["gp"]
    assert after["key_tries"] == 1 and after["sequence_counter"] == image["gp"]["sequence_counter"]


def _readme() -> str:
    from tests.harness import REPO

    return (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_cap_installation_example_runs_as_written(pcsc_stack, simtool_cli, tmp_path):
    """README "Installing a vendor's or your own CAP file": the key file is the README's own
    TOML example, the commands its `gp-cap-example` block, in a folder holding isd.keys and
    milo-menu.cap (the menu applet's CAP built in the tests)."""
    import shlex

    section = _readme().split("## GlobalPlatform and OTA", 1)[1]
    keys = tmp_path / "isd.keys"
    keys.write_text(section.split("```toml\n", 1)[1].split("```", 1)[0])
    os.chmod(keys, 0o600)
    cap = tmp_path / "milo-menu.cap"
    cap.write_bytes(menu_cap_bytes())
    block = section.split("<!-- gp-cap-example -->", 1)[1].split("```sh\n", 1)[1]
    lines = [line for line in block.split("```", 1)[0].splitlines() if line.strip()]
    assert len(lines) == 7
    files = {"isd.keys": str(keys), "milo-menu.cap": str(cap)}
    out = []
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[0] == "simtool", line
        out.append(simtool_cli(*(files.get(w, w) for w in words[1:]), check=True).stdout)
    assert "key version 30" in out[0]
    assert f"{APPLET}  SELECTABLE" in out[4] and "module " + APPLET in out[4]
    assert "Milo Telecom" in out[6] and "Stan konta" in out[6]


def test_gp_installs_the_applet_and_batch_program_writes_its_menu(bare_card, simtool_cli,
                                                                  tmp_path):
    """Issue 10's path without OTA: from a card with no menu applet and an erased EF.MENU,
    `simtool gp` loads and installs the applet, `batch program` (a Milo batch) writes the
    menu in its `menu` step, and `simtool stk menu` shows it."""
    from simtool.provision.generate import generate_batch
    from simtool.provision.profile import load_profile

    keys = write_keys(tmp_path / "isd.keys")
    cap = tmp_path / "milo-menu.cap"
    cap.write_bytes(menu_cap_bytes())
    simtool_cli("gp", "load", "--keys", keys, str(cap), check=True)
    simtool_cli("gp", "install", "--keys", keys, str(cap), "--menu-entry", "1", check=True)
    assert menu_titles(simtool_cli)[0] == 1                      # EF.MENU still erased

    folder = tmp_path / "batch"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False)
    proc = simtool_cli("--json", "batch", "program", str(folder), "--adm1",
                       "env:VENDOR_ADM1", "--allow-iccid-change", "--stop-after", "1",
                       env={"VENDOR_ADM1": "11223344"})
    assert proc.returncode == 0, proc.stderr
    card = json.loads(proc.stdout.splitlines()[0])
    assert card["outcome"] == "verified" and "menu" in card["steps"], card
    rc, titles = menu_titles(simtool_cli)
    assert rc == 0 and titles[0] == "Milo Telecom" and titles[3] == "Stan konta"
