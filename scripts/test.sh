#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what the tests run for real
# (Prometheus's promtool/prometheus, Alertmanager/amtool, VictoriaMetrics, jsonnet, Chromium), the Python
# package with its test extras in .venv/, then runs mypy, ruff and pytest. Safe to re-run: installed parts are
# skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in promtool:prometheus amtool:prometheus-alertmanager victoria-metrics:victoria-metrics \
            chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
if ((${#need[@]})); then bash scripts/apt-install.sh "${need[@]}"; fi

# The project's own venv (.venv/, see scripts/install.sh), used as if activated: tests start sys.executable
# and tools from PATH.
bash scripts/install.sh test,otel,dashboards
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
# Types (strict on slokit/) and lint first: both are part of the suite, and fail it.
python -m mypy
python -m ruff check slokit tests bench examples
exec python -m pytest "$@"
