#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (run as root): the apt packages simtool's demo and
# tests need, a virtualenv in .venv with simtool installed editable plus its test extras.
# Sourced or run by scripts/demo.sh and scripts/test.sh; safe to run again (it only does what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# pcscd + vsmartcard-vpcd: the real PC/SC stack the virtual card plugs into.
# swig + libpcsclite-dev: pyscard builds from source.  postgresql: multi-station journal tests.
# chromium + poppler-utils + zbar-tools: the label sheet printed to PDF, its barcodes decoded.
# osmo-hlr: the OsmoHLR import loaded into a real HLR (tests/test_osmo_hlr.py).
APT_PACKAGES=(pcscd pcsc-tools vsmartcard-vpcd swig libpcsclite-dev postgresql python3-venv python3-dev gcc
              chromium poppler-utils zbar-tools osmo-hlr)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: missing apt packages: ${missing[*]} (run as root, or install them)" >&2
        exit 1
    fi
    echo "bootstrap: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$want" > "$stamp"
fi
