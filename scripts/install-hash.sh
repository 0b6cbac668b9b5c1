#!/usr/bin/env bash
# The install stamp's content: one SHA-256 over the names and contents of the files that decide
# what `make install` puts into .venv (given as arguments). Content, not file times: a copied
# checkout (cp -r) or a fresh clone gets new times for the same files and must not reinstall;
# any edit to one of them must.
#
#   scripts/install-hash.sh pyproject.toml requirements.lock scripts/install-llama.sh ...
set -euo pipefail

if command -v sha256sum >/dev/null 2>&1; then
  sum() { sha256sum "$@"; }
else
  sum() { shasum -a 256 "$@"; }  # macOS
fi
# Nothing on stdout when a file is missing: the Makefile then stops instead of matching a stamp.
listing=$(sum "$@")
printf '%s\n' "$listing" | sum | cut -c1-64
