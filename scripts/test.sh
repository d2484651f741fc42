#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (tmux and
# sqlite3, for the tests that drive the real binary), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# tmux: the end-to-end tests drive finbox in it. sqlite3: the tests of
# several processes on one store use it as a backup tool would.
missing=""
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
if [ -n "$missing" ]; then
  echo "== installing$missing"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
fi

cargo test --locked "$@"
