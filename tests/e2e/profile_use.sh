#!/bin/bash
# End-to-end: every certificate profile is used by the programs it is for,
# not only verified (relying_parties.sh verifies them). For an EC P-256
# and an RSA-2048 CA, with an EC P-256 and an RSA-2048 leaf of each
# profile:
#   client    OpenSSL's s_server demands a client certificate (-Verify 1
#             -verify_return_error) and s_client and curl get through with
#             it, and so does gnutls-cli (--x509certfile/--x509keyfile);
#             a server certificate offered as a client's is refused by
#             s_server (wrong purpose), a client certificate offered as a
#             server's by curl and gnutls-cli.
#   server    gnutls-cli connects to s_server serving it (curl and s_client
#             already do in other scripts).
#   email     openssl cms signs (verified with -purpose smimesign against
#             the root), encrypts to it and decrypts: RSA key transport for
#             an RSA key, ECDH key agreement for an EC key, whose keyUsage
#             must then hold keyAgreement (RFC 8551 4.4.2); certtool
#             verifies it for emailProtection and refuses it for serverAuth;
#             a server certificate's signature fails -purpose smimesign.
#   codesign  osslsigncode signs a PE executable (made here by Python) and
#             verifies it against the root and the CA's CRL; a tampered
#             executable, one signed with a server certificate, and the
#             signature once its certificate is revoked are refused.
#   ipsec     strongSwan's pki verifies it against the root (and not
#             against a look-alike root of the same name, nor with a bit
#             of its signature flipped) and reads the names and purposes
#             IKEv2 peers look for (serverAuth, and ipsecIKE as OpenSSL
#             shows).
# A missing tool (gnutls-cli, certtool, curl, osslsigncode, pki) makes its
# checks SKIP, never pass; scripts/setup test installs them all.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/profile_use.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl python3

export MICA_PASSPHRASE="profile use e2e passphrase"

have() { command -v "$1" >/dev/null 2>&1; }
# The package that brings each optional tool, for the skip messages.
pkg_of() {
	case $1 in
	gnutls-cli|certtool) echo gnutls-bin ;;
	pki) echo strongswan-pki ;;
	*) echo "$1" ;;
	esac
}
# skip_without TOOL DESCRIPTION: 0 when TOOL is here, else the check is
# counted as skipped and 1 returned.
skip_without() {
	have "$1" && return 0
	skip "$2" "$1 is not installed (Debian: $(pkg_of "$1"))"
	return 1
}

# pki_untrusted DESCRIPTION CERT CACERT: strongSwan's pki refuses CERT
# under CACERT as untrusted - its verdict, not a file it could not parse.
pki_untrusted() {
	if pki --verify --in "$2" --cacert "$3" >"$W/pki.out" 2>&1; then
		fail "$1: pki trusted it"
	elif grep -q '^certificate untrusted' "$W/pki.out"; then
		ok "$1"
	else
		fail "$1: refused, but not as untrusted"
		grep -v plugin "$W/pki.out" | sed 's/^/    /' | head -3
	fi
}

# csr NAME KIND SUBJ SAN: a request made by OpenSSL, key in $W/NAME.key.
csr() {
	local args=()
	case $2 in
	ec) args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa) args=(-newkey rsa:2048) ;;
	esac
	openssl req -new "${args[@]}" -nodes -keyout "$W/$1.key" -subj "$3" \
		-addext "subjectAltName=$4" -out "$W/$1.csr" 2>/dev/null || die "openssl req $1"
}

# leaf NAME PROFILE KIND SUBJ SAN: $W/NAME.pem and .key, issued by mica.
leaf() {
	csr "$1" "$3" "$4" "$5"
	"$MICA" -d "$D" issue --csr "$W/$1.csr" --profile "$2" --out "$W/$1.pem" \
		2>"$W/$1.err" || die "$CA: issue $1: $(cat "$W/$1.err")"
}

# tls_server OUT S_SERVER-ARGS...: openssl s_server -www on a free loopback
# port (S_SERVER_PORT), its output in OUT; returns once it listens, dies
# if it does not (lib.sh's s_server_start; s_server_stop ends it).
tls_server() {
	local out=$1
	shift
	s_server_start "$out" -www "$@" || die "s_server exited: $(head -5 "$out")"
}

# s_get CERT KEY NAME: an HTTP GET through openssl s_client to the server
# on S_SERVER_PORT as NAME, verifying it against the root, authenticating with
# CERT and KEY; the answer on standard output.
s_get() {
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout $((30 * TIME_SCALE)) openssl s_client -connect "127.0.0.1:$S_SERVER_PORT" \
			-servername "$3" -verify_hostname "$3" -CAfile "$W/root.pem" \
			-verify_return_error -cert "$1" -key "$2" -quiet 2>"$W/s_client.err"
}

# pem_body FILE: the base64 of the first certificate in FILE, on one line.
pem_body() { sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$1" | grep -v -- ----- | tr -d '\n\r'; }

# count_in FILE PATTERN: how many lines of FILE hold PATTERN.
count_in() { grep -c "$2" "$1" 2>/dev/null || true; }
more_in() { [ "$(count_in "$1" "$2")" -gt "$3" ]; }

# ---------------------------------------------------------------- client --

use_client() {
	local k before rc
	# The server: a mica server certificate, a client certificate of
	# this CA demanded.
	tls_server "$W/srv-auth.out" -cert "$W/server-ec.pem" -key "$W/server-ec.key" \
		-Verify 1 -verify_return_error -CAfile "$W/root.pem"
	for k in ec rsa; do
		if s_get "$W/client-$k.pem" "$W/client-$k.key" mail.contoso.test >"$W/page" &&
		   grep -q '^HTTP/1.0 200 ok' "$W/page"; then
			ok "$CA client-$k: s_server demanding a client certificate lets s_client in"
		else
			fail "$CA client-$k: s_client with the client certificate"
			sed 's/^/    /' "$W/s_client.err" "$W/srv-auth.out" | tail -8
		fi
		if skip_without curl "$CA client-$k: curl --cert through s_server -Verify"; then
			# s_server -www shows the certificate the client presented.
			if timeout $((30 * TIME_SCALE)) curl -sS --cacert "$W/root.pem" \
				--cert "$W/client-$k.pem" --key "$W/client-$k.key" \
				--resolve "mail.contoso.test:$S_SERVER_PORT:127.0.0.1" \
				"https://mail.contoso.test:$S_SERVER_PORT/" >"$W/page" 2>"$W/curl.err" &&
			   [ "$(sed -n '/Client certificate/,$p' "$W/page" | pem_body /dev/stdin)" = "$(pem_body "$W/client-$k.pem")" ]; then
				ok "$CA client-$k: curl --cert gets through, s_server saw this certificate"
			else
				fail "$CA client-$k: curl --cert"; sed 's/^/    /' "$W/curl.err" | head -5
			fi
		fi
		if skip_without gnutls-cli "$CA client-$k: gnutls-cli presents it to s_server -Verify"; then
			printf 'GET / HTTP/1.0\r\n\r\n' |
				timeout $((30 * TIME_SCALE)) gnutls-cli --x509cafile "$W/root.pem" \
					--x509certfile "$W/client-$k.pem" --x509keyfile "$W/client-$k.key" \
					-p "$S_SERVER_PORT" --verify-hostname mail.contoso.test 127.0.0.1 \
					>"$W/page" 2>"$W/gnutls.err"
			if grep -q '^HTTP/1.0 200 ok' "$W/page" &&
			   [ "$(sed -n '/Client certificate/,$p' "$W/page" | pem_body /dev/stdin)" = "$(pem_body "$W/client-$k.pem")" ]; then
				ok "$CA client-$k: gnutls-cli presents it and gets through, s_server saw it"
			else
				fail "$CA client-$k: gnutls-cli with the client certificate"
				grep -i 'error\|alert\|status' "$W/page" "$W/gnutls.err" | sed 's/^/    /' | head -5
			fi
		fi
		# A server certificate is not a client's: s_server must say why.
		before=$(count_in "$W/srv-auth.out" 'unsuitable certificate purpose')
		if s_get "$W/server-$k.pem" "$W/server-$k.key" mail.contoso.test >"$W/page" &&
		   grep -q '^HTTP/1.0 200' "$W/page"; then
			fail "$CA server-$k: s_server took a server certificate as a client's"
		elif wait_for "s_server's verdict" 10 more_in "$W/srv-auth.out" \
			'unsuitable certificate purpose' "$before"; then
			ok "$CA server-$k: refused as a client certificate (unsuitable purpose)"
		else
			fail "$CA server-$k: refused, but not for its purpose"
			sed 's/^/    /' "$W/srv-auth.out" | tail -5
		fi
	done
	s_server_stop

	# A client certificate is not a server's.
	for k in ec rsa; do
		tls_server "$W/srv-cli.out" -cert "$W/client-$k.pem" -key "$W/client-$k.key"
		if skip_without curl "$CA client-$k: curl refuses it as a server's"; then
			timeout $((30 * TIME_SCALE)) curl -sS --cacert "$W/root.pem" \
				--resolve "phone.contoso.test:$S_SERVER_PORT:127.0.0.1" \
				"https://phone.contoso.test:$S_SERVER_PORT/" >/dev/null 2>"$W/curl.err"
			rc=$?
			if [ "$rc" = 60 ] && grep -q 'unsuitable certificate purpose' "$W/curl.err"; then
				ok "$CA client-$k: curl refuses it as a server's (unsuitable purpose)"
			else
				fail "$CA client-$k: curl as a server's certificate: exit $rc"
				sed 's/^/    /' "$W/curl.err" | head -3
			fi
		fi
		if skip_without gnutls-cli "$CA client-$k: gnutls-cli refuses it as a server's"; then
			if timeout $((30 * TIME_SCALE)) gnutls-cli --x509cafile "$W/root.pem" \
				-p "$S_SERVER_PORT" --verify-hostname phone.contoso.test 127.0.0.1 \
				</dev/null >"$W/gnutls.out" 2>&1; then
				fail "$CA client-$k: gnutls-cli took it as a server's"
			elif grep -q 'does not match the intended purpose' "$W/gnutls.out"; then
				ok "$CA client-$k: gnutls-cli refuses it as a server's (intended purpose)"
			else
				fail "$CA client-$k: gnutls-cli refused it, but not for its purpose"
				grep -i 'status\|error' "$W/gnutls.out" | sed 's/^/    /' | head -3
			fi
		fi
		s_server_stop
	done
}

# ---------------------------------------------------------------- server --

use_server() {
	local k
	for k in ec rsa; do
		skip_without gnutls-cli "$CA server-$k: gnutls-cli connects to s_server" || continue
		tls_server "$W/srv-$k.out" -cert "$W/server-$k.pem" -key "$W/server-$k.key"
		if timeout $((30 * TIME_SCALE)) gnutls-cli --x509cafile "$W/root.pem" \
			-p "$S_SERVER_PORT" --verify-hostname mail.contoso.test 127.0.0.1 \
			</dev/null >"$W/gnutls.out" 2>&1 &&
		   grep -q 'Status: The certificate is trusted' "$W/gnutls.out" &&
		   grep -q 'Handshake was completed' "$W/gnutls.out"; then
			ok "$CA server-$k: gnutls-cli trusts it and completes the handshake"
		else
			fail "$CA server-$k: gnutls-cli"
			grep -i 'status\|error\|fail' "$W/gnutls.out" | sed 's/^/    /' | head -5
		fi
		s_server_stop
	done
}

# ----------------------------------------------------------------- email --

use_email() {
	local k want ri
	printf 'Subject: mica S/MIME test\r\n\r\nThe quarterly figures, signed and sealed.\r\n' >"$W/msg"
	for k in ec rsa; do
		# RFC 8551 4.4.2: an EC recipient's key agrees (ECDH); an RSA
		# one receives the content key (key transport).
		case $k in
		ec) want="Digital Signature, Key Agreement"; ri=kari ;;
		rsa) want="Digital Signature, Key Encipherment"; ri=ktri ;;
		esac
		is "$CA email-$k: keyUsage" \
			"$(openssl x509 -in "$W/email-$k.pem" -noout -ext keyUsage | sed -n '2s/^ *//p')" "$want"

		if openssl cms -sign -in "$W/msg" -signer "$W/email-$k.pem" -inkey "$W/email-$k.key" \
			-out "$W/signed.eml" 2>"$W/cms.err" &&
		   openssl cms -verify -in "$W/signed.eml" -CAfile "$W/root.pem" -purpose smimesign \
			-out "$W/verified" 2>>"$W/cms.err" && cmp -s "$W/msg" "$W/verified"; then
			ok "$CA email-$k: openssl cms signs, verifies with -purpose smimesign"
		else
			fail "$CA email-$k: cms sign/verify"; sed 's/^/    /' "$W/cms.err" | head -5
		fi
		if openssl cms -encrypt -aes256 -in "$W/msg" -out "$W/sealed.eml" "$W/email-$k.pem" \
			2>"$W/cms.err" &&
		   openssl cms -cmsout -print -in "$W/sealed.eml" 2>>"$W/cms.err" | grep -q "d\.$ri:" &&
		   openssl cms -decrypt -in "$W/sealed.eml" -recip "$W/email-$k.pem" \
			-inkey "$W/email-$k.key" -out "$W/opened" 2>>"$W/cms.err" &&
		   cmp -s "$W/msg" "$W/opened"; then
			ok "$CA email-$k: openssl cms encrypts to it ($ri) and decrypts"
		else
			fail "$CA email-$k: cms encrypt/decrypt ($ri)"; sed 's/^/    /' "$W/cms.err" | head -5
		fi
		# A server certificate's signature is no S/MIME signature.
		openssl cms -sign -in "$W/msg" -signer "$W/server-$k.pem" -inkey "$W/server-$k.key" \
			-out "$W/signed-srv.eml" 2>/dev/null || die "cms -sign with a server certificate"
		if openssl cms -verify -in "$W/signed-srv.eml" -CAfile "$W/root.pem" -purpose smimesign \
			-out /dev/null >"$W/cms.err" 2>&1; then
			fail "$CA server-$k: its S/MIME signature verified for smimesign"
		elif grep -q 'unsuitable certificate purpose' "$W/cms.err"; then
			ok "$CA server-$k: its S/MIME signature is refused (unsuitable purpose)"
		else
			fail "$CA server-$k: S/MIME signature refused, not for its purpose"
			sed 's/^/    /' "$W/cms.err" | head -3
		fi
		if skip_without certtool "$CA email-$k: certtool --verify-purpose emailProtection"; then
			# certtool's verdict for PURPOSE (an EKU OID) must say WANT.
			for t in "1.3.6.1.5.5.7.3.4|Chain verification output: Verified|verifies it for emailProtection" \
				 "1.3.6.1.5.5.7.3.1|does not match the intended purpose|refuses it for serverAuth"; do
				IFS='|' read -r purpose want what <<< "$t"
				certtool --verify --verify-purpose="$purpose" \
					--load-ca-certificate "$W/root.pem" --infile "$W/email-$k.pem" >"$W/g.out" 2>&1
				if grep -q "$want" "$W/g.out"; then
					ok "$CA email-$k: certtool $what"
				else
					fail "$CA email-$k: certtool $what"; grep -i verif "$W/g.out" | sed 's/^/    /'
				fi
			done
		fi
	done
}

# -------------------------------------------------------------- codesign --

# pe_exe OUT: a minimal valid PE32 executable (DOS header, PE header,
# optional header with its 16 data directories, one .text section holding
# "built by contoso" at file offset 0x201). A PE rather than a PowerShell
# script: Debian 12's osslsigncode (2.5) signs PE, CAB and MSI files only
# (scripts from 2.8 on), and a PE needs no tool beyond Python.
pe_exe() {
	python3 - "$1" <<'PY' || die "pe_exe: python3"
import struct, sys
text = b"\xc3built by contoso\0"  # ret, then the text a tamper changes
dos = b"MZ" + bytes(58) + struct.pack("<I", 0x40)  # e_lfanew at 0x3c
coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 224, 0x0102)  # i386, EXE
opt = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
    0x10B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x2000,  # PE32, code at 0x1000
    0x400000, 0x1000, 0x200, 6, 0, 0, 0, 6, 0, 0,
    0x2000, 0x200, 0, 3, 0x8140, 0x100000, 0x1000, 0x100000, 0x1000,
    0, 16) + bytes(16 * 8)  # 16 empty directories; 4 is the signature's
assert len(opt) == 224
sect = struct.pack("<8sIIIIIIHHI", b".text", len(text), 0x1000, 0x200, 0x200,
    0, 0, 0, 0, 0x60000020)
hdr = (dos + b"PE\0\0" + coff + opt + sect).ljust(0x200, b"\0")
with open(sys.argv[1], "wb") as f:
    f.write(hdr + text.ljust(0x200, b"\0"))
PY
}

# osc_verify FILE: osslsigncode verify against the root and the CA's CRL
# ($W/crl.pem), its output in $W/osc.out. Its own fetch of the CRL from
# the distribution point (ca.contoso.test) cannot work here: 2.9 and later
# are told not to try (-ignore-cdp); 2.5 has no such option and only
# prints the point.
osc_verify() {
	local cdp=()
	osslsigncode --help 2>&1 | grep -q -- -ignore-cdp && cdp=(-ignore-cdp)
	osslsigncode verify -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "${cdp[@]}" \
		-in "$1" >"$W/osc.out" 2>&1
}

use_codesign() {
	local k serial
	skip_without osslsigncode "$CA codesign: osslsigncode" || return 0
	pe_exe "$W/deploy.exe"
	"$MICA" -d "$D" crl --out "$W/crl.der" >/dev/null 2>&1 || die "$CA: mica crl"
	openssl crl -inform DER -in "$W/crl.der" -out "$W/crl.pem" || die "$CA: CRL to PEM"
	for k in ec rsa; do
		rm -f "$W/signed.exe"
		if ! osslsigncode sign -certs "$W/codesign-$k.pem" -key "$W/codesign-$k.key" \
			-in "$W/deploy.exe" -out "$W/signed.exe" >"$W/osc.out" 2>&1; then
			fail "$CA codesign-$k: osslsigncode sign"; sed 's/^/    /' "$W/osc.out" | tail -5
			continue
		fi
		# The CRL line shows the CRL was read and the signer is not on it.
		if osc_verify "$W/signed.exe" &&
		   grep -q 'Signature CRL verification: ok' "$W/osc.out" &&
		   grep -q 'Signature verification: ok' "$W/osc.out"; then
			ok "$CA codesign-$k: osslsigncode signs a PE executable, verify accepts it"
		else
			fail "$CA codesign-$k: osslsigncode verify"; sed 's/^/    /' "$W/osc.out" | tail -8
		fi
		# One byte of the code changed: the digest no longer matches.
		cp "$W/signed.exe" "$W/tampered.exe"
		printf 'C' | dd of="$W/tampered.exe" bs=1 seek=$((0x201)) conv=notrunc 2>/dev/null
		if osc_verify "$W/tampered.exe"; then
			fail "$CA codesign-$k: a tampered executable verified"
		elif grep -q 'Calculated message digest.*MISMATCH' "$W/osc.out"; then
			ok "$CA codesign-$k: a tampered executable is refused (digest mismatch)"
		else
			fail "$CA codesign-$k: tampered executable refused, not for its digest"
			sed 's/^/    /' "$W/osc.out" | tail -5
		fi
		rm -f "$W/signed-srv.exe"
		osslsigncode sign -certs "$W/server-$k.pem" -key "$W/server-$k.key" \
			-in "$W/deploy.exe" -out "$W/signed-srv.exe" >/dev/null 2>&1 ||
			die "osslsigncode sign with a server certificate"
		if osc_verify "$W/signed-srv.exe"; then
			fail "$CA server-$k: an executable signed with it verified"
		elif grep -q "certificate purpose" "$W/osc.out"; then
			ok "$CA server-$k: an executable signed with it is refused (purpose)"
		else
			fail "$CA server-$k: signed executable refused, not for its purpose"
			sed 's/^/    /' "$W/osc.out" | tail -5
		fi
		# Revoked, the same signature is refused: the CRL is consulted.
		serial=$(openssl x509 -in "$W/codesign-$k.pem" -noout -serial | sed 's/^serial=//')
		"$MICA" -d "$D" revoke "$serial" --reason superseded >/dev/null 2>&1 ||
			die "$CA: revoke codesign-$k"
		"$MICA" -d "$D" crl --out "$W/crl.der" >/dev/null 2>&1 || die "$CA: mica crl"
		openssl crl -inform DER -in "$W/crl.der" -out "$W/crl.pem" || die "$CA: CRL to PEM"
		if osc_verify "$W/signed.exe"; then
			fail "$CA codesign-$k: verified after its certificate was revoked"
		elif grep -qi 'revoked' "$W/osc.out"; then
			ok "$CA codesign-$k: refused once revoked (the CRL is read)"
		else
			fail "$CA codesign-$k: refused once revoked, but not as revoked"
			sed 's/^/    /' "$W/osc.out" | tail -5
		fi
	done
}

# ----------------------------------------------------------------- ipsec --

# pki_reads_ec: whether strongSwan's pki parses an EC P-256 certificate
# made by OpenSSL (asked once).
PKI_EC=
pki_reads_ec() {
	if [ -z "$PKI_EC" ]; then
		PKI_EC=no
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$TMP/probe.key" -subj /CN=probe -out "$TMP/probe.pem" 2>/dev/null ||
			die "openssl req: an EC certificate for pki"
		pki --print --in "$TMP/probe.pem" >/dev/null 2>&1 && PKI_EC=yes
	fi
	[ "$PKI_EC" = yes ]
}

use_ipsec() {
	local k eku f
	for k in ec rsa; do
		# What IKEv2 peers look for, as OpenSSL reads it (strongSwan
		# 5.9 names serverAuth and clientAuth but not ipsecIKE).
		eku=$(openssl x509 -in "$W/ipsec-$k.pem" -noout -ext extendedKeyUsage | sed -n '2s/^ *//p')
		case $eku in
		*"TLS Web Server Authentication"*"ipsec Internet Key Exchange"*)
			ok "$CA ipsec-$k: extendedKeyUsage serverAuth and ipsecIKE ($eku)" ;;
		*) fail "$CA ipsec-$k: extendedKeyUsage is '$eku'" ;;
		esac
		is "$CA ipsec-$k: subjectAltName (the gateway's identity)" \
			"$(openssl x509 -in "$W/ipsec-$k.pem" -noout -ext subjectAltName | sed -n '2s/^ *//p')" \
			"DNS:vpn.contoso.test, IP Address:10.0.0.1, email:vpn@contoso.test"
		skip_without pki "$CA ipsec-$k: strongSwan pki --verify" || continue
		# Debian's libstrongswan parses EC keys only with the openssl
		# plugin (libstrongswan-standard-plugins). Whether it can is
		# asked of a certificate OpenSSL made: one of mica's that pki
		# cannot parse is a failure, not a missing plugin.
		if { [ "$CA" = ec-p256 ] || [ "$k" = ec ]; } && ! pki_reads_ec; then
			skip "$CA ipsec-$k: strongSwan pki --verify" \
				"pki cannot parse EC keys here (Debian: libstrongswan-standard-plugins)"
			continue
		fi
		for f in root ipsec-$k; do
			pki --print --in "$W/$f.pem" >"$W/pki.out" 2>&1 ||
				{ fail "$CA $f: pki cannot parse it"; grep -v plugin "$W/pki.out" | sed 's/^/    /' | head -3; }
		done
		# Without a CA it could parse, pki trusts the certificate itself:
		# the root must be named as the anchor.
		if pki --verify --in "$W/ipsec-$k.pem" --cacert "$W/root.pem" >"$W/pki.out" 2>&1 &&
		   grep -q "using trusted ca certificate \"CN=$ROOT_CN\"" "$W/pki.out" &&
		   grep -q 'certificate trusted, lifetimes valid' "$W/pki.out"; then
			ok "$CA ipsec-$k: strongSwan pki verifies it against the root"
		else
			fail "$CA ipsec-$k: pki --verify"; grep -v 'plugin' "$W/pki.out" | sed 's/^/    /' | head -6
		fi
		# Refusals must be pki's verdict, not a file it could not parse.
		pki_untrusted "$CA ipsec-$k: pki refuses it under a look-alike root of the same name" \
			"$W/ipsec-$k.pem" "$W/fake-root.pem"
		# strongSwan finds an issuer by key identifier, so the look-alike
		# is never tried; a flipped bit in the signature (the last byte
		# of the DER) makes it check the true root's signature and fail.
		openssl x509 -in "$W/ipsec-$k.pem" -outform DER -out "$W/ipsec-bad.der"
		python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[1], "wb").write(b)' \
			"$W/ipsec-bad.der" || die "flip a signature bit"
		pki_untrusted "$CA ipsec-$k: pki refuses it with one bit of its signature flipped" \
			"$W/ipsec-bad.der" "$W/root.pem"
		pki --print --in "$W/ipsec-$k.pem" >"$W/pki.out" 2>&1
		if grep -q '^ *altNames: *vpn\.contoso\.test, 10\.0\.0\.1' "$W/pki.out" &&
		   grep -q '^ *flags: .*serverAuth' "$W/pki.out"; then
			ok "$CA ipsec-$k: pki --print shows the DNS and IP names and serverAuth"
		else
			fail "$CA ipsec-$k: pki --print"; grep -E 'altNames|flags' "$W/pki.out" | sed 's/^/    /'
		fi
	done
}

# ----------------------------------------------------------- one CA each --

for CA in ec-p256 rsa-2048; do
	echo "# CA key $CA"
	W=$(mktmp)
	D=$W/data
	ROOT_CN="Profile Use Root $CA"
	"$MICA" -d "$D" init --name "$ROOT_CN" --domain contoso.test \
		--public-url http://ca.contoso.test:8080 --key "$CA" >"$W/init.out" 2>&1 ||
		die "$CA: init: $(cat "$W/init.out")"
	"$MICA" -d "$D" export-root --pem --out "$W/root.pem" 2>/dev/null || die "$CA: export-root"
	for k in ec rsa; do
		leaf "server-$k" server "$k" /CN=mail.contoso.test "DNS:mail.contoso.test"
		leaf "client-$k" client "$k" /CN=alice "email:alice@contoso.test,DNS:phone.contoso.test"
		leaf "email-$k" email "$k" "/CN=Alice Example" "email:alice@contoso.test"
		leaf "ipsec-$k" ipsec "$k" /CN=vpn.contoso.test \
			"DNS:vpn.contoso.test,IP:10.0.0.1,email:vpn@contoso.test"
		leaf "codesign-$k" codesign "$k" /CN=build.contoso.test "DNS:build.contoso.test"
	done
	# A root with the same name and another key of the same type, for
	# pki to refuse.
	case $CA in
	ec-p256) fake=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa-2048) fake=(-newkey rsa:2048) ;;
	esac
	openssl req -x509 "${fake[@]}" -nodes -keyout "$W/fake.key" -subj "/CN=$ROOT_CN" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$W/fake-root.pem" 2>/dev/null || die "openssl req: a look-alike root"
	use_client
	use_server
	use_email
	use_codesign
	use_ipsec
done

finish
