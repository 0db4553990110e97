#!/usr/bin/env bash
# Fetch by name over HTTPS (cold and warm) against curl | gzip -dc | sha512sum + gpg --verify.
# MIB (default 256) and RUNS (default 3); needs root (network namespace).
source "$(dirname "$0")/lib.sh"
node dist/scripts/bench/fetch.js "${MIB:-256}" "$RUNS"
