#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine (tmux,
# sqlite3, hledger and ledger, for the tests that drive the real binary and
# read its exports), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# tmux: the end-to-end tests drive finbox in it. sqlite3: the tests of
# several processes on one store use it as a backup tool would. hledger and
# ledger: the tests read finbox's journal export with them.
missing=""
for tool in tmux sqlite3 hledger ledger; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "== installing$missing"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
fi

# `test-hooks`: the end-to-end tests inject a feed panic into the real binary.
cargo test --locked --features test-hooks "$@"
