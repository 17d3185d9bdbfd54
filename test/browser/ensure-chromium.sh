#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when /usr/bin/chromium is
# missing. Needs root (apt-get); never downloads a browser of its own.
# Exit 0 when Chromium is there (or was installed), 1 when it is not.
set -u
CHROMIUM="${BATON_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
	exit 0
fi
if [ "$(id -u)" != "0" ]; then
	echo "ensure-chromium: $CHROMIUM is missing and this is not root: cannot apt-get install chromium" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-chromium: $CHROMIUM is missing and there is no apt-get" >&2
	exit 1
fi
echo "ensure-chromium: installing Debian's chromium (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >/tmp/ensure-chromium.log 2>&1 ||
	! apt-get install -y -q --no-install-recommends chromium fonts-liberation >>/tmp/ensure-chromium.log 2>&1; then
	echo "ensure-chromium: apt-get failed (log: /tmp/ensure-chromium.log):" >&2
	tail -5 /tmp/ensure-chromium.log >&2
	exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
	echo "ensure-chromium: apt-get ran but $CHROMIUM is still missing" >&2
	exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo installed)" >&2
