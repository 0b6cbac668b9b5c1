#!/usr/bin/env bash
# Make sure the browser tests (tests/browser) have a headless Chromium.
#
# They drive the system's Chromium through Playwright, at $KOPICHAT_CHROMIUM (default
# /usr/bin/chromium, Debian's `chromium` package). `playwright install` is never used: it
# downloads a browser build of its own, which a machine that reaches only package registries
# cannot do. When Chromium is missing, this installs Debian's package if it can (root and
# apt-get); otherwise it says what to do and carries on: the browser tests then skip, or fail
# when CI is set.
set -euo pipefail

chromium=${KOPICHAT_CHROMIUM:-/usr/bin/chromium}

if [ -x "$chromium" ]; then
  exit 0
fi

if [ -n "${KOPICHAT_CHROMIUM:-}" ]; then
  echo "kopichat: KOPICHAT_CHROMIUM=$chromium is not an executable file; the browser tests need a Chromium or Chrome binary there" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "kopichat: installing Debian's chromium for the browser tests (apt-get, about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null \
    && [ -x "$chromium" ]; then
    echo "kopichat: $("$chromium" --version 2>/dev/null || echo chromium) installed at $chromium"
    exit 0
  fi
  echo "kopichat: apt-get could not install chromium at $chromium (see apt-get's messages above)." >&2
  echo "kopichat: the browser tests skip until it is there (and fail when CI is set)." >&2
  exit 0
fi

echo "kopichat: no Chromium at $chromium, and this user cannot install it (not root, or no apt-get)."
echo "kopichat:   Debian/Ubuntu: sudo apt-get install chromium   (then make test)"
echo "kopichat:   elsewhere: KOPICHAT_CHROMIUM=/path/to/chromium-or-chrome make test"
echo "kopichat: until then the browser tests skip (and fail when CI is set)."
