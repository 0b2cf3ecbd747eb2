#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root): the apt packages simtool's demo
# and tests need, a virtualenv in .venv with simtool installed editable plus its test extras.
# Sourced or run by scripts/demo.sh and scripts/test.sh; safe to run again (it only does what is
# missing).  Every program the code, the tests and these scripts run comes from one of these
# packages or from the base system (tests/test_bootstrap_programs.py checks that).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# python3 + python3-venv: a fresh debian:12 has no Python.  python3-dev + gcc + swig +
# libpcsclite-dev: pyscard builds from source.  pcscd + vsmartcard-vpcd: the real PC/SC stack
# the virtual card plugs into (pcsc-tools: pcsc_scan, to look at it by hand; the harness runs a
# private pcscd under `unshare`, from util-linux, which every Debian has).  postgresql: the
# multi-station journal tests (initdb, pg_ctl, postgres; pg_config, through postgresql-common
# and postgresql-client, to find them).  chromium + poppler-utils + zbar-tools: the label sheet printed
# to PDF, its barcodes decoded.  osmo-hlr: the OsmoHLR import loaded into a real HLR
# (tests/test_osmo_hlr.py).  nodejs (`node`): the Open5GS mongosh import run against a stand-in
# database (Debian packages neither mongosh nor Open5GS).
APT_PACKAGES=(python3 python3-venv python3-dev gcc swig libpcsclite-dev pcscd pcsc-tools
              vsmartcard-vpcd postgresql chromium poppler-utils zbar-tools osmo-hlr nodejs)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: missing apt packages: ${missing[*]} (run as root, or install them)" >&2
        exit 1
    fi
    echo "bootstrap: installing apt packages: ${missing[*]} …" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package starts a cluster service on install; the tests run their own
# server on a private socket and do not need it.

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.simtool-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    # pip's own output (and setuptools' boxed note on editable installs) goes to a log; one
    # line says what is going on, the log is shown only when the install fails
    log=.venv/pip-install.log
    echo "bootstrap: installing simtool and its test extras into .venv (pyscard builds from source, about a minute) …" >&2
    .venv/bin/python -m pip install -q --upgrade pip >"$log" 2>&1 || true
    if ! .venv/bin/python -m pip install -q -e '.[test]' >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "bootstrap: pip install failed (full log: $log)" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
    echo "bootstrap: .venv ready" >&2
fi
