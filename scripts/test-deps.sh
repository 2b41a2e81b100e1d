#!/usr/bin/env bash
# What the test suite needs beyond Python packages: Debian's chromium (page tests) and
# redis-server (the Redis store's tests), and npm (to install the JavaScript clients, which bring
# their own Node 22). Used by `make test` and by CI. Installs what is missing with apt-get when it
# can (root with apt-get); otherwise stops at once with one line naming what to install.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "make test needs ${missing[*]}: install them (e.g. sudo apt-get install ${missing[*]}) and run it again" >&2
exit 1
