/*
 * util/err.h - the one error convention of mica.
 *
 * Every function that can fail returns int: 0 on success, -1 on failure,
 * and on failure fills a caller-provided struct mica_err with a kind (which
 * maps to an HTTP status in web/ and to an exit code in the CLI), a short
 * machine-readable code ("name_not_allowed") and a one-line human message.
 * Messages are shown to clients: they never contain secrets, SQL, file
 * paths of the server or library internals.
 */
#ifndef MICA_UTIL_ERR_H
#define MICA_UTIL_ERR_H

typedef enum {
	MICA_E_NONE = 0,
	MICA_E_BADREQ,      /* 400 malformed input */
	MICA_E_UNAUTH,      /* 401 missing or bad credentials (token, passphrase) */
	MICA_E_FORBIDDEN,   /* 403 authenticated but not allowed */
	MICA_E_NOTFOUND,    /* 404 */
	MICA_E_CONFLICT,    /* 409 state does not allow it (revoked twice...) */
	MICA_E_TOOLARGE,    /* 413 */
	MICA_E_UNSUPPORTED, /* 415 unsupported media type / format */
	MICA_E_POLICY,      /* 422 well-formed but refused by policy */
	MICA_E_RATE,        /* 429 too many attempts */
	MICA_E_INTERNAL,    /* 500 */
	MICA_E_UNAVAIL,     /* 503 store unavailable, disk full, read-only */
	MICA_E_USAGE,       /* CLI only: bad command line (exit 2) */
} mica_errkind;

struct mica_err {
	mica_errkind kind;
	char code[48];   /* snake_case, stable, for scripts and JSON "error" */
	char msg[256];   /* one line, for humans */
};

/* Fill *e (which may be NULL) and return -1, so callers can write
 * "return mica_err_set(err, MICA_E_BADREQ, "bad_csr", "...")". */
int mica_err_set(struct mica_err *e, mica_errkind kind, const char *code,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reset *e to "no error". Accepts NULL. */
void mica_err_clear(struct mica_err *e);

/* HTTP status for a kind (500 for unknown kinds). */
int mica_err_http_status(mica_errkind kind);

/* Default "error" code for a kind when none was set ("bad_request"...). */
const char *mica_err_kind_code(mica_errkind kind);

/*
 * Exit codes of the mica CLI, stable for scripts (documented in mica --help):
 *   0 ok, 1 internal error, 2 usage, 3 malformed input, 4 refused by policy,
 *   5 not found, 6 conflict, 7 authentication failed, 8 store unavailable,
 *   9 forbidden.
 */
int mica_err_exit_code(mica_errkind kind);

#endif
