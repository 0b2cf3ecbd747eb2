#!/usr/bin/env bash
# Run the whole test suite: bootstrap (idempotent), then pytest.  The end-to-end tests start their
# own pcscd (when none is running), the virtual card and PostgreSQL, and stop them by PID.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q "$@"
