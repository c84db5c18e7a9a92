#!/usr/bin/env bash
# CI: the ways to install slokit, each from a fresh clone of HEAD with the machine's own Python, so none can
# regress unseen: the README's first command as written (PATH=/usr/sbin:/usr/bin:/sbin:/bin, so Debian's
# python3, which refuses `pip install` into itself, PEP 668), then again (must not reinstall); a built wheel
# in a clean venv; `pipx install`. Every install must generate the same files as the README's command.
set -euo pipefail
cd "$(dirname "$0")/.."

stock=/usr/sbin:/usr/bin:/sbin:/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }
# Runs a command quietly: its output is shown only when it fails.
quiet() { local out; out=$("$@" 2>&1) || { echo "$out" >&2; fail "failed: $*"; }; }
# The machine's environment with the stock PATH and no Python overrides from the caller.
plain() { env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME PATH="$stock" "$@"; }
# The generated files must be the same; the dashboard cache's index (OUT/.slokit-cache) records where each
# install's jsonnet library lives, so it differs by design.
same() { diff -r --exclude=lib --exclude='bdist.*' --exclude=.slokit-cache "$clone/build" "$1" >/dev/null || fail "$2 generated other files"; }

command=$(awk '/^```sh$/ { getline; print; exit }' README.md)
[ -n "$command" ] || fail "no command in README.md's first sh block"
clone="$work/clone"
git clone -q "$PWD" "$clone"
echo "check-install: README's first command with PATH=$stock ($(plain python3 --version)): $command"

start=$SECONDS
(cd "$clone" && plain bash -c "$command")
echo "check-install: first run took $((SECONDS - start))s"
grep -qx 'home = /usr/bin' "$clone/.venv/pyvenv.cfg" || fail ".venv was not made by /usr/bin/python3"
ls "$clone"/build/rules/*.yml "$clone"/build/dashboards/*.json >/dev/null || fail "no rules or dashboards in build/"
plain "$clone/.venv/bin/slokit" --version

start=$SECONDS
again=$(cd "$clone" && plain bash -c "$command" 2>&1) || { echo "$again"; fail "second run failed"; }
grep -q "is up to date" <<<"$again" || { echo "$again"; fail "second run installed again"; }
echo "check-install: second run took $((SECONDS - start))s (nothing reinstalled)"

# A wheel in a clean venv, run away from the source tree: the jsonnet library must come with it.
start=$SECONDS
quiet plain "$clone/.venv/bin/python" -m pip wheel -q --no-deps -w "$work/wheels" "$clone"
wheel=$(ls "$work"/wheels/slokit-*.whl)
plain python3 -m venv "$work/wheel-venv"
quiet plain "$work/wheel-venv/bin/python" -m pip install -q "$wheel[dashboards]"
lib=$(cd "$work" && plain "$work/wheel-venv/bin/python" -c 'from slokit.generate import dashboards; print(dashboards.LIB_DIR)')
[ "$lib" = "$(realpath "$work/wheel-venv/share/slokit/dashboards")" ] || fail "installed slokit reads its jsonnet library from $lib"
(cd "$work" && quiet plain "$work/wheel-venv/bin/slokit" generate "$clone/examples" --out "$work/wheel-out")
same "$work/wheel-out" "the wheel"
echo "check-install: wheel $(basename "$wheel") in a clean venv took $((SECONDS - start))s"

# pipx, the way users who only want the command install it (Debian's pipx; installed like test.sh's tools).
PATH="$stock" command -v pipx >/dev/null || bash scripts/apt-install.sh pipx
start=$SECONDS
(cd "$clone" && quiet plain env PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx/bin" pipx install ".[dashboards]")
(cd "$work" && quiet plain "$work/pipx/bin/slokit" generate "$clone/examples" --out "$work/pipx-out")
same "$work/pipx-out" "pipx's slokit"
echo "check-install: pipx install took $((SECONDS - start))s"
echo "check-install: README command (twice), wheel and pipx installs all work"
