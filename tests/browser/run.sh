#!/bin/sh
# Browser tests of the web enrollment pages: headless Debian Chromium driven
# by playwright-core against `mica serve` on loopback ports.
#
# Usage: sh tests/browser/run.sh            (from anywhere)
# Environment:
#   MICA_BIN        the mica binary (default: build/plain/mica of the
#                   source tree, else build/run/mica)
#   MICA_TEST_OUT   screenshots, daemon log (default tests/browser/out)
#   MICA_BROWSER_STUB=1        serve web/pages straight from the source tree
#                              through tests/browser/stub.mjs in front of the
#                              daemon (try page edits without rebuilding);
#                              the API is still the daemon's
#   MICA_UPDATE_SCREENSHOTS=1  also copy the README screenshots to
#                              docs/screenshots/{index,admin}.png
#   MICA_NODE_MODULES          where playwright-core is installed (default
#                              build/npm/node_modules of the source tree)
#
# Installs nothing: scripts/setup test (or 'scripts/setup deps test')
# installs chromium, libnss3-tools (certutil: the root goes into a private
# NSS database so the browser checks the daemon's certificate for real),
# curl, openssl, nodejs, npm, and playwright-core at the version
# package-lock.json pins. When something is missing this says what and
# fails.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)

missing=''
need() {   # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
need certutil libnss3-tools
need curl curl
need openssl openssl
need node nodejs
need npm npm
if [ -n "$missing" ]; then
	echo "browser tests: missing:$missing; install them with 'sh scripts/setup deps test' (as root)" >&2
	exit 1
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

# playwright-core, the version package.json pins, where scripts/setup put it.
MICA_NODE_MODULES=${MICA_NODE_MODULES:-$srcdir/build/npm/node_modules}
want=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' "$here/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
	"$MICA_NODE_MODULES/playwright-core/package.json" 2>/dev/null | head -n 1)
if [ "$have" != "$want" ]; then
	echo "browser tests: playwright-core $want is not in $MICA_NODE_MODULES${have:+ (found $have)};" \
		"install it with 'sh scripts/setup deps test'" >&2
	exit 1
fi

if [ -z "${MICA_BIN:-}" ]; then
	for b in "$srcdir/build/plain/mica" "$srcdir/build/run/mica"; do
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
# A test build (--enable-test-kdf) then seals the CA key with 1,000 PBKDF2
# iterations, as the end-to-end tests do (tests/e2e/lib.sh); others ignore it.
MICA_TEST_INSECURE_KDF_ITER=${MICA_TEST_INSECURE_KDF_ITER-1000}
export MICA_BIN MICA_SRCDIR MICA_TEST_OUT MICA_NODE_MODULES MICA_TEST_INSECURE_KDF_ITER

cd "$here"
exec node --test --test-reporter=spec pages.test.mjs
