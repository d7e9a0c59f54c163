# tests/tools/host_lib.sh - helpers shared by the reliability and security
# end-to-end scripts (faults.sh, hostile.sh, secrets.sh, crl_expiry.sh).
# Sourced after tests/e2e/lib.sh, whose MICA, TMP, ok/fail, free_port,
# on_exit_kill/on_exit_forget, json_get and serve_start/serve_stop it uses.
#
# Provides:
#   host_ca DIR [init options...]      a new CA (domain contoso.test)
#   host_serve OUT DIR [VAR=VALUE...] -- [serve options...]
#                                      serve_start (lib.sh) without the
#                                      /healthz probe; 0 when it is ready
#                                      (HOST_PID), 1 when it exited first
#                                      (HOST_RC)
#   host_stop                          stop that daemon by PID (SIGTERM;
#                                      serve_stop), its exit status in HOST_RC
#   host_unregister PID                drop PID from lib.sh's exit-kill list
#                                      (once reaped: never signal a reused PID)
#   host_csr NAME CN                   $HOST_W/NAME.der and NAME.key
#   host_enroll URL TOKEN DERFILE      POST a DER CSR: $CODE, $HOST_W/body
#   host_sql DIR SQL                   one query on DIR/mica.db
#   host_ms                            milliseconds since the epoch (real)
#   host_sanitizers FILES...           no sanitizer report in those files

HOST_W=${HOST_W:-$TMP}
HOST_PID=
HOST_RC=

host_ca() { # host_ca DIR [init options...]
	local dir=$1
	shift
	env -u MICA_PASSPHRASE "$MICA" -d "$dir" init --name "Host Test Root CA" \
		--domain contoso.test --public-url http://127.0.0.1:1 "$@" \
		>"$HOST_W/init.out" 2>&1 || { cat "$HOST_W/init.out" >&2; die "mica init failed"; }
}

# Thin wrappers of lib.sh's serve_start/serve_stop/on_exit_forget, with
# the names and variables (HOST_PID, HOST_RC) these scripts use. No request
# is made to wait for start-up (SERVE_HEALTHZ=0): faults.sh counts the
# daemon's store accesses from the start of the process and needs its
# worker threads untouched; the last line the daemon prints ("https: ", or
# "http: " with --https none) marks the end of its start-up.
host_unregister() { on_exit_forget "$1"; }

host_serve() { # host_serve OUT DIR [VAR=VALUE...] -- [serve options...]
	local SERVE_HEALTHZ=0 rc=0
	serve_start "$@" || rc=1
	HOST_PID=$SERVE_PID
	HOST_RC=$SERVE_RC
	return $rc
}

host_stop() {
	[ -n "$HOST_PID" ] || return 0
	SERVE_PID=$HOST_PID
	serve_stop
	HOST_RC=$SERVE_RC
	HOST_PID=
}

host_csr() { # host_csr NAME CN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$HOST_W/$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-outform der -out "$HOST_W/$1.der" 2>/dev/null || die "openssl req $1"
}

host_enroll() { # host_enroll URL TOKEN DERFILE [curl options...]
	local url=$1 tok=$2 der=$3
	shift 3
	CODE=$(curl -s --max-time 30 -o "$HOST_W/body" -D "$HOST_W/hdr" -w '%{http_code}' \
		-H "Authorization: Bearer $tok" -H 'Content-Type: application/pkcs10' \
		--data-binary @"$der" "$@" "$url/api/v1/requests") || true
}



host_sql() { sqlite3 -batch "$1/mica.db" "$2"; }

host_ms() { echo $(($(date +%s%N) / 1000000)); }

# host_sanitizers FILES...: nothing from ASan/UBSan/LSan in the daemons'
# stderr (a sanitizer build reports there).
host_sanitizers() {
	local f hit=
	for f in "$@"; do
		[ -e "$f" ] || continue
		grep -q -e "Sanitizer" -e "runtime error" "$f" && hit="$hit $f"
	done
	if [ -z "$hit" ]; then
		ok "nothing from sanitizers on the daemons' stderr"
	else
		fail "sanitizer reports in$hit"
		for f in $hit; do grep -A5 -e "Sanitizer" -e "runtime error" "$f" | head -10; done
	fi
}
