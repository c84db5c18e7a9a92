#!/usr/bin/env bash
# slokit in the project's own virtual environment, .venv/, installed editable (`pip install -e`) with the
# extras named in $1 (comma-separated, default: dashboards). A venv because Debian's python3 refuses
# `pip install` into itself (PEP 668); any python3 >= 3.11 first on PATH (or $PYTHON) works.
# Safe and fast to re-run: pip runs again only when pyproject.toml, the checkout's place or the extras change.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-dashboards}"
python="${PYTHON:-python3}"
venv=.venv
stamp="$venv/.slokit-installed"

fits() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# A venv made by hand without pip (Debian without python3-venv) or whose Python is gone is made anew.
if ! fits "$venv/bin/python" || ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  if ! fits "$python"; then
    found=$("$python" --version 2>&1) || found="$python not found"
    echo "scripts/install.sh: slokit needs Python >= 3.11 as python3 (or \$PYTHON); found: $found" >&2
    exit 1
  fi
  if ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
    # Debian and Ubuntu ship the venv's pip bootstrap separately, in pythonX.Y-venv.
    package=python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv
    command -v apt-get >/dev/null || { echo "scripts/install.sh: $python has no ensurepip (venv)" >&2; exit 1; }
    bash scripts/apt-install.sh "$package"
  fi
  echo "creating $venv with $("$python" --version) ($(command -v "$python"))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

key=$(cat pyproject.toml <(pwd) | sha256sum | cut -c1-16)
missing=()
for extra in slokit ${extras//,/ }; do
  grep -qx "$key $extra" "$stamp" 2>/dev/null || missing+=("$extra")
done
if ((${#missing[@]} == 0)) && [ -x "$venv/bin/slokit" ]; then
  echo "$venv is up to date (slokit with extras: ${extras:-none})"
  exit 0
fi

echo "installing slokit into $venv (extras: ${extras:-none})"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]"
{ grep "^$key " "$stamp" 2>/dev/null || true; for extra in slokit ${extras//,/ }; do echo "$key $extra"; done; } \
  | sort -u >"$stamp.new"
mv "$stamp.new" "$stamp"
