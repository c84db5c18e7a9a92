#!/usr/bin/env bash
# Installs the named Debian packages (after one apt-get update), as root or through sudo. The other scripts
# call it only for what is missing, so a machine that has everything is never touched.
set -euo pipefail
echo "installing Debian packages: $*"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
