"""The package is usable outside the checkout: a built wheel carries the operator data.

Builds the wheel from this checkout, installs it into a fresh virtualenv in a temp folder, and
runs the commands a user would from a folder that is not the checkout: profiles, services and
menus must all come from the installed package (simtool.datadir), never from the source tree.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROVISIONING = REPO / "provisioning"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # the test extra installs the build backend, so the build needs no network
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, cwd=out)
    (whl,) = out.glob("simtool-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its bin/ folder.

    The dependencies are not downloaded again: a .pth line appends this test run's
    site-packages (pyscard, cryptography …) after the venv's own.  Only the new venv's own
    site-packages is a site dir, so the checkout's editable-install hook there never runs and
    ``simtool`` can only come from the wheel (the test asserts it)."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=True)
    py = root / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, cwd=root)
    own = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(own) / "simtool_test_deps.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    return root / "bin"


def test_wheel_lists_every_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"simtool/operator_data/{p.relative_to(PROVISIONING).as_posix()}"
                for p in PROVISIONING.rglob("*") if p.is_file() and p.suffix in (".toml", ".md")}
    assert expected and expected <= names
    # every Python package of the source tree is in the wheel (the package list is explicit)
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "simtool").rglob("__init__.py")}
    assert {f"{pkg}/__init__.py" for pkg in packages} <= names


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SIMTOOL_PROVISIONING", "PYTHONPATH")}
    return subprocess.run([str(bin_dir / a) if i == 0 else a for i, a in enumerate(args)],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_installed_wheel_reads_its_own_data(installed, tmp_path):
    where = _run(installed, tmp_path, "python", "-c",
                 "import simtool, simtool.datadir as d; print(simtool.__file__); "
                 "print(d.provisioning_dir())")
    assert where.returncode == 0, where.stderr
    module, data = where.stdout.splitlines()
    assert not Path(module).is_relative_to(REPO)
    assert Path(data).is_relative_to(installed.parent) and (Path(data) / "profiles" / "milo.toml").is_file()

    gen = _run(installed, tmp_path, "simtool", "--json", "batch", "generate", "--profile", "milo",
               "--count", "2", "--out", str(tmp_path / "b"), "--workers", "1")
    assert gen.returncode == 0, gen.stderr
    assert (tmp_path / "b" / "batch.toml").is_file()

    mmi = _run(installed, tmp_path, "simtool", "--json", "mmi", "explain", "*108#", "--profile", "milo")
    assert mmi.returncode == 0, mmi.stderr
    assert json.loads(mmi.stdout)["kind"] == "ussd"

    menu = _run(installed, tmp_path, "python", "-c",
                "from simtool.stk.menu import load_named_menu; m = load_named_menu('milo'); "
                "print(m.title); print(len(m.items))")
    assert menu.returncode == 0, menu.stderr
    title, count = menu.stdout.splitlines()
    source = tomllib.loads((PROVISIONING / "menus" / "milo.toml").read_text(encoding="utf-8"))
    assert (title, int(count)) == (source["title"], len(source["items"]))
