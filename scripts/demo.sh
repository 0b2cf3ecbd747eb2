#!/usr/bin/env bash
# The main job end to end on the virtual card, no hardware: bootstrap (idempotent), start pcscd
# and the virtual card behind vpcd, run simtool against it, stop what was started (by PID).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m tests.demo "$@"
