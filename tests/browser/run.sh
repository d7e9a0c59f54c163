#!/bin/sh
# Browser tests of the web enrollment pages: headless Debian Chromium driven
# by playwright-core against `mica serve` on loopback ports.
#
# Usage: sh tests/browser/run.sh            (from anywhere)
# Environment:
#   MICA_BIN        the mica binary (default: ./mica of the source tree,
#                   else build/plain/mica)
#   MICA_TEST_OUT   screenshots, daemon log (default tests/browser/out)
#   MICA_BROWSER_STUB=1        serve web/pages straight from the source tree
#                              through tests/browser/stub.mjs in front of the
#                              daemon (try page edits without rebuilding);
#                              the API is still the daemon's
#   MICA_UPDATE_SCREENSHOTS=1  also copy the README screenshots to
#                              docs/screenshots/{index,admin}.png
#   MICA_BROWSER_NO_INSTALL=1  never install anything: fail if missing
#
# Installs what is missing (as root, with apt-get and npm): chromium,
# libnss3-tools (certutil: the root goes into a private NSS database so the
# browser checks the daemon's certificate for real), curl, openssl, nodejs,
# npm, and playwright-core (the version pinned in package.json).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)

apt_missing=''
need() {   # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || apt_missing="$apt_missing $2"
}
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || apt_missing="$apt_missing chromium"
need certutil libnss3-tools
need curl curl
need openssl openssl
need node nodejs
need npm npm
if [ -n "$apt_missing" ]; then
	if [ "${MICA_BROWSER_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
		echo "browser tests: missing packages:$apt_missing (apt-get install -y$apt_missing)" >&2
		exit 1
	fi
	echo "browser tests: installing$apt_missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y -q $apt_missing >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $apt_missing >/dev/null; }
fi

# playwright-core 1.60 runs on Node.js 18 (Debian 12's own) and later.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
	echo "browser tests: Node.js 18 or later is needed (this is $(node --version))" >&2
	exit 1
fi

MICA_TEST_OUT=${MICA_TEST_OUT:-$here/out}
mkdir -p "$MICA_TEST_OUT"
MICA_TEST_OUT=$(cd "$MICA_TEST_OUT" && pwd)

# playwright-core, the version package.json pins, beside the tests; in the
# output directory when the source tree is read-only (make distcheck).
moddir=$here
if [ ! -w "$here" ]; then
	moddir=$MICA_TEST_OUT/npm
	mkdir -p "$moddir"
	cp "$here/package.json" "$moddir/package.json"
fi
want=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' "$here/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
	"$moddir/node_modules/playwright-core/package.json" 2>/dev/null | head -n 1)
if [ "$have" != "$want" ]; then
	if [ "${MICA_BROWSER_NO_INSTALL:-0}" = 1 ]; then
		echo "browser tests: playwright-core $want is not installed in $moddir/node_modules" >&2
		exit 1
	fi
	echo "browser tests: installing playwright-core $want" >&2
	(cd "$moddir" && npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null)
fi
MICA_NODE_MODULES=$moddir/node_modules

if [ -z "${MICA_BIN:-}" ]; then
	for b in "$srcdir/mica" "$srcdir/build/plain/mica"; do
		if [ -x "$b" ]; then
			MICA_BIN=$b
			break
		fi
	done
fi
if [ -z "${MICA_BIN:-}" ] || [ ! -x "$MICA_BIN" ]; then
	echo "browser tests: no mica binary (build it, or set MICA_BIN)" >&2
	exit 1
fi
MICA_SRCDIR=${MICA_SRCDIR:-$srcdir}
export MICA_BIN MICA_SRCDIR MICA_TEST_OUT MICA_NODE_MODULES

cd "$here"
exec node --test --test-reporter=spec pages.test.mjs
