#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (tmux, for
# the end-to-end tests that drive the real binary), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux >/dev/null 2>&1; then
  echo "== installing tmux (the end-to-end tests drive finbox in it)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq tmux >/dev/null
fi

cargo test --locked "$@"
