/*
 * ca/ca.c - the CA engine: set-up, issuance, renewal, revocation, CRLs,
 * tokens and queries, on top of the pure policy (ca/profile.c), the DER
 * encoders (ca/x509.c), the linter (ca/lint.c), the signer (ca/keys.c) and
 * the store (db/).
 *
 * Issuance follows "record before you hand out":
 *   1. validate (CSR signature, key, policy) - nothing stored yet;
 *   2. build the TBS and lint it;
 *   3. transaction: consume a token use, reserve the serial (status
 *      issuing, with names, validity and key hash) - short, no signing;
 *   4. sign, outside any transaction, so workers sign in parallel;
 *   5. transaction: store the DER (issuing -> valid), decide the request,
 *      link renewals, write the audit row;
 *   6. only then return the certificate.
 * A crash between 3 and 5 leaves an "issuing" row that admins see and can
 * revoke; nobody ever received that certificate.
 */
#include "ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "ca/ca_int.h"
#include "ca/csr.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/profile.h"
#include "ca/x509.h"
#include "util/hex.h"
#include "util/log.h"

#define PASS_MAX 4096
#define ROOT_SKEW 3600          /* root notBefore backdated one hour */

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
secure_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static int
path_join(char *out, size_t size, const char *dir, const char *file)
{
	int n = snprintf(out, size, "%s/%s", dir, file);

	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* --------------------------------------------------------- serials ---- */

int
ca_serial_parse(const char *in, char out[DB_SERIAL_MAX], struct mica_err *err)
{
	char digits[64];
	size_t n = 0, start = 0;

	if (in == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "a serial number is required");
	if (strlen(in) > 80)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "serial number too long");
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (const char *c = in; *c != '\0'; c++) {
		if (*c == ':')
			continue;
		if (mica_hex_val((unsigned char)*c) < 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
					    "a serial number is hexadecimal (digits 0-9, a-f, optional ':')");
		if (n >= 40 + 2)
			return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
					    "serial number longer than 20 octets");
		digits[n++] = (char)((*c >= 'A' && *c <= 'F') ? *c - 'A' + 'a' : *c);
	}
	digits[n] = '\0';
	while (start < n && digits[start] == '0')
		start++;
	if (start == n)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "serial number must be a positive hexadecimal number");
	n -= start;
	if (n > 40)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "serial number longer than 20 octets");
	if (n % 2 == 1) {
		out[0] = '0';
		memcpy(out + 1, digits + start, n + 1);
	} else {
		memcpy(out, digits + start, n + 1);
	}
	return 0;
}

/* A fresh serial: 16 random octets, top bit clear and first octet non-zero,
 * so the INTEGER is positive, minimally encoded in 16 octets, with 120+
 * bits of entropy (RFC 5280 4.1.2.2; CA/B Forum asks for 64). */
static int
new_serial(unsigned char serial[16], char hex[DB_SERIAL_MAX],
	   struct mica_err *err)
{
	do {
		if (ca_random(serial, 16, err) != 0)
			return -1;
		serial[0] &= 0x7f;
	} while (serial[0] == 0);
	mica_hex_encode(serial, 16, hex);
	return 0;
}

/* ---------------------------------------------------------- reasons --- */

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

int
ca_reason_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < (int)(sizeof(reason_names) / sizeof(reason_names[0])); i++) {
		/* removeFromCRL (8) only exists in delta CRLs. */
		if (reason_names[i] == NULL || i == 8)
			continue;
		if (strcasecmp(s, reason_names[i]) == 0)
			return i;
	}
	return -1;
}

const char *
ca_reason_name(int reason)
{
	if (reason < 0 || reason >= (int)(sizeof(reason_names) / sizeof(reason_names[0])) ||
	    reason_names[reason] == NULL)
		return "unknown";
	return reason_names[reason];
}

/* -------------------------------------------------------- principals -- */

void
ca_principal_cli(struct ca_principal *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = CA_PRINCIPAL_CLI;
	snprintf(p->actor, sizeof(p->actor), "cli");
	snprintf(p->client, sizeof(p->client), "local");
}

void
ca_principal_anon(struct ca_principal *p, const char *client)
{
	memset(p, 0, sizeof(*p));
	p->kind = CA_PRINCIPAL_ANON;
	snprintf(p->client, sizeof(p->client), "%s", client ? client : "unknown");
	snprintf(p->actor, sizeof(p->actor), "anon@%s", p->client);
}

void
ca_principal_free(struct ca_principal *p)
{
	if (p == NULL)
		return;
	free(p->scope_profile);
	if (p->scope_names != NULL) {
		for (size_t i = 0; i < p->nscope_names; i++)
			free(p->scope_names[i]);
		free(p->scope_names);
	}
	p->scope_profile = NULL;
	p->scope_names = NULL;
	p->nscope_names = 0;
}

static int
is_admin(const struct ca_principal *p)
{
	return p != NULL && (p->kind == CA_PRINCIPAL_ADMIN ||
			     p->kind == CA_PRINCIPAL_CLI);
}

static int
require_admin(const struct ca_principal *p, struct mica_err *err)
{
	if (is_admin(p))
		return 0;
	if (p == NULL || p->kind == CA_PRINCIPAL_ANON)
		return mica_err_set(err, MICA_E_UNAUTH, "admin_required",
				    "this needs an admin token (Authorization: Bearer ...)");
	return mica_err_set(err, MICA_E_FORBIDDEN, "admin_required",
			    "this needs an admin token; an enrollment token is not enough");
}

/* Split a '\n'-separated list into a heap array of heap strings. */
static int
split_lines(const char *s, char ***out, size_t *n)
{
	char **v = NULL, *copy, *save = NULL, *tok;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return 0;
	if ((copy = strdup(s)) == NULL)
		return -1;
	for (tok = strtok_r(copy, "\n", &save); tok != NULL;
	     tok = strtok_r(NULL, "\n", &save)) {
		char **nv = realloc(v, (count + 1) * sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		if ((v[count] = strdup(tok)) == NULL)
			goto fail;
		count++;
	}
	free(copy);
	*out = v;
	*n = count;
	return 0;
fail:
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
	free(copy);
	return -1;
}

/* Join names into the store's '\n'-separated form. */
static char *
join_names(const struct ca_name *names, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i].value) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	p = s;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i].value);
		memcpy(p, names[i].value, l);
		p += l;
		if (i + 1 < n)
			*p++ = '\n';
	}
	*p = '\0';
	return s;
}

/* Parse the store's names back. *out heap. */
static int
parse_stored_names(const char *s, struct ca_name **out, size_t *n,
		   struct mica_err *err)
{
	char **v = NULL;
	size_t count = 0;
	struct ca_name *names = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (split_lines(s, &v, &count) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (count == 0 || (names = calloc(count, sizeof(*names))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			     "stored certificate has no names");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		if (ca_name_parse(v[i], 0, &names[i], err) != 0)
			goto out;
	*out = names;
	*n = count;
	names = NULL;
	rc = 0;
out:
	free(names);
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
	return rc;
}

int
ca_authenticate(struct ca *ca, const char *token, const char *client,
		struct ca_principal *out, struct mica_err *err)
{
	/* Token: "mica_" 16 hex (id) "_" 64 hex (32-octet secret). */
	static const unsigned char dummy[32];
	struct db_token t;
	struct mica_err dberr;
	unsigned char secret[32], hash[32];
	char id[CA_ID_MAX];
	const unsigned char *want = dummy;
	int found = 0, good = 0, rc = -1;
	size_t len;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	ca_principal_anon(out, client);
	len = token != NULL ? strnlen(token, CA_TOKEN_MAX) : 0;
	if (len != 5 + 16 + 1 + 64 || strncmp(token, "mica_", 5) != 0 ||
	    token[21] != '_')
		goto out;
	memcpy(id, token + 5, 16);
	id[16] = '\0';
	for (int i = 0; i < 16; i++)
		if (mica_hex_val((unsigned char)id[i]) < 0 || (id[i] >= 'A' && id[i] <= 'F'))
			goto out;
	/* One spelling per token: lowercase hex only. */
	for (int i = 22; i < 86; i++)
		if (token[i] >= 'A' && token[i] <= 'F')
			goto out;
	if (mica_hex_decode(token + 22, secret, 32) != 0)
		goto out;
	ca_sha256(secret, sizeof(secret), hash);
	explicit_bzero(secret, sizeof(secret));
	if (db_token_get(ca->db, id, &t, &dberr) == 0) {
		found = 1;
		want = t.hash;
	} else if (dberr.kind != MICA_E_NOTFOUND) {
		*err = dberr;
		return -1;
	}
	/* Compare even for unknown ids, so both paths cost the same. */
	good = ca_ct_equal(hash, want, 32) && found;
	explicit_bzero(hash, sizeof(hash));
	if (!good || t.revoked || (t.expires_at != 0 && t.expires_at <= now_s()))
		goto out;
	if (t.kind == DB_TOKEN_ADMIN) {
		out->kind = CA_PRINCIPAL_ADMIN;
		snprintf(out->actor, sizeof(out->actor), "admin:%s", t.id);
	} else {
		if (t.uses_left == 0)
			goto out;
		out->kind = CA_PRINCIPAL_ENROLL;
		snprintf(out->actor, sizeof(out->actor), "enroll:%s", t.id);
		if (t.profile != NULL && (out->scope_profile = strdup(t.profile)) == NULL)
			goto oom;
		if (t.names != NULL &&
		    split_lines(t.names, &out->scope_names, &out->nscope_names) != 0)
			goto oom;
	}
	snprintf(out->token_id, sizeof(out->token_id), "%s", t.id);
	rc = 0;
out:
	if (rc != 0)
		mica_err_set(err, MICA_E_UNAUTH, "bad_token",
			     "the token is not valid (unknown, revoked, expired or used up)");
	db_token_free(&t);
	return rc;
oom:
	ca_principal_free(out);
	ca_principal_anon(out, client);
	db_token_free(&t);
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
}

/* ------------------------------------------------------ passphrases -- */

/* Read a passphrase file: must be a regular file not accessible by group or
 * others; the first line (up to PASS_MAX) is the passphrase. *out heap,
 * caller zeroizes (secure_free). */
static int
read_pass_file(const char *path, char **out, struct mica_err *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd = -1, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "cannot open the passphrase file: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file is not a regular file");
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
			     "the passphrase file is readable by group or others; run chmod 600 on it");
		goto out;
	}
	if ((buf = calloc(1, PASS_MAX + 2)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	while (len < PASS_MAX + 1 &&
	       (n = read(fd, buf + len, PASS_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (len > PASS_MAX) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file is larger than %d bytes", PASS_MAX);
		goto out;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file is empty");
		goto out;
	}
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, PASS_MAX + 2);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
get_passphrase(const char *datadir, const char *file, char **out,
	       struct mica_err *err)
{
	char path[PATH_MAX];
	const char *env;

	if (file != NULL)
		return read_pass_file(file, out, err);
	env = getenv("MICA_PASSPHRASE");
	if (env != NULL && env[0] != '\0') {
		if (strlen(env) > PASS_MAX)
			return mica_err_set(err, MICA_E_BADREQ, "passphrase",
					    "MICA_PASSPHRASE is longer than %d bytes", PASS_MAX);
		if ((*out = strdup(env)) == NULL)
			return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
					    "out of memory");
		return 0;
	}
	if (path_join(path, sizeof(path), datadir, CA_PASS_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
	if (access(path, F_OK) != 0)
		return mica_err_set(err, MICA_E_UNAUTH, "no_passphrase",
				    "no passphrase: set MICA_PASSPHRASE or use --passphrase-file "
				    "(no %s file in the data directory)", CA_PASS_FILE);
	return read_pass_file(path, out, err);
}

/* Write a fresh random passphrase to PATH (created 0600, must not exist). */
static int
generate_pass_file(const char *path, char **out, struct mica_err *err)
{
	unsigned char raw[32];
	char *pass = NULL, line[80];
	size_t off = 0;
	int fd = -1, rc = -1;

	if (ca_random(raw, sizeof(raw), err) != 0)
		goto out;
	if ((pass = malloc(65)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	mica_hex_encode(raw, sizeof(raw), pass);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       0600)) < 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
			     "cannot create the passphrase file: %s", strerror(errno));
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", pass);
	while (off < strlen(line)) {
		ssize_t n = write(fd, line + off, strlen(line) - off);
		if (n <= 0) {
			mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
				     "cannot write the passphrase file: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
			     "cannot sync the passphrase file: %s", strerror(errno));
		goto out;
	}
	*out = pass;
	pass = NULL;
	rc = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(line, sizeof(line));
	secure_free(pass);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && fd >= 0)
		unlink(path);
	return rc;
}

/* ------------------------------------------------------- open/close -- */

int
ca_exists(const char *datadir)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), datadir, CA_DB_FILE) != 0)
		return 0;
	return access(path, F_OK) == 0;
}

static int64_t
x509_time_to_unix(const mbedtls_x509_time *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return (int64_t)timegm(&tm);
}

static void
shared_free(struct ca_shared *sh)
{
	if (sh == NULL)
		return;
	db_writer_close(sh->writer);
	ca_key_free(sh->key);
	free(sh->dbpath);
	free(sh->root_der);
	free(sh->root_pem);
	free(sh->subject);
	free(sh->name);
	free(sh->public_url);
	free(sh->crl_url);
	free(sh->aia_url);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

/* Fill the cached CA facts from the CA row. */
static int
shared_load(struct ca_shared *sh, const struct db_ca *row, struct mica_err *err)
{
	mbedtls_x509_crt crt;
	unsigned char fp[32];
	int rc = -1;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, row->cert_der, row->cert_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_root",
			     "the stored root certificate does not parse");
		goto out;
	}
	if ((sh->root_der = malloc(row->cert_len)) == NULL ||
	    (sh->subject = malloc(crt.subject_raw.len)) == NULL)
		goto oom;
	memcpy(sh->root_der, row->cert_der, row->cert_len);
	sh->root_len = row->cert_len;
	memcpy(sh->subject, crt.subject_raw.p, crt.subject_raw.len);
	sh->subject_len = crt.subject_raw.len;
	sh->not_before = x509_time_to_unix(&crt.valid_from);
	sh->not_after = x509_time_to_unix(&crt.valid_to);
	if (ca_x509_key_id(crt.pk_raw.p, crt.pk_raw.len, sh->ski, err) != 0)
		goto out;
	if (ca_pem_encode("CERTIFICATE", sh->root_der, sh->root_len,
			  &sh->root_pem, err) != 0)
		goto out;
	ca_sha256(sh->root_der, sh->root_len, fp);
	for (int i = 0; i < 32; i++)
		snprintf(sh->fingerprint + 3 * i, sizeof(sh->fingerprint) - 3 * (size_t)i,
			 i < 31 ? "%02X:" : "%02X", fp[i]);
	if ((sh->name = strdup(row->name)) == NULL ||
	    (sh->public_url = strdup(row->public_url)) == NULL)
		goto oom;
	if (asprintf(&sh->crl_url, "%s/crl", row->public_url) < 0) {
		sh->crl_url = NULL;
		goto oom;
	}
	if (asprintf(&sh->aia_url, "%s/ca.crt", row->public_url) < 0) {
		sh->aia_url = NULL;
		goto oom;
	}
	sh->crl_days = row->crl_days > 0 ? row->crl_days : 7;
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* Point the CA row's key fields at SEALED (which must outlive ROW). */
static void
row_set_sealed(struct db_ca *row, struct ca_sealed_key *sealed)
{
	row->key_salt = sealed->salt;
	row->key_salt_len = sizeof(sealed->salt);
	row->key_iter = sealed->iter;
	row->key_nonce = sealed->nonce;
	row->key_nonce_len = sizeof(sealed->nonce);
	row->key_ct = sealed->ct;
	row->key_ct_len = sealed->ct_len;
}

int
ca_open(const char *datadir, int flags, const char *passphrase_file,
	struct ca **out, struct mica_err *err)
{
	struct ca *ca = NULL;
	struct ca_shared *sh = NULL;
	struct db_ca row;
	struct ca_sealed_key sealed;
	char path[PATH_MAX], *pass = NULL;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	*out = NULL;
	if (path_join(path, sizeof(path), datadir, CA_DB_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	if (access(path, F_OK) != 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "no_ca",
				    "no CA in %s: run 'mica init' first", datadir);
	if ((ca = calloc(1, sizeof(*ca))) == NULL ||
	    (sh = calloc(1, sizeof(*sh))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	pthread_mutex_init(&sh->lock, NULL);
	sh->refs = 1;
	sh->flags = flags;
	ca->sh = sh;
	if ((sh->dbpath = strdup(path)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (db_open(path, (flags & CA_OPEN_READONLY) ? DB_OPEN_READONLY : 0,
		    &ca->db, err) != 0)
		goto out;
	if (db_ca_get(ca->db, &row, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "no_ca",
				     "the database in %s holds no CA", datadir);
		goto out;
	}
	if (shared_load(sh, &row, err) != 0)
		goto out;
	if (flags & CA_OPEN_UNLOCK) {
		if (get_passphrase(datadir, passphrase_file, &pass, err) != 0)
			goto out;
		if (row.key_salt_len != sizeof(sealed.salt) ||
		    row.key_nonce_len != sizeof(sealed.nonce)) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the sealed CA key record is damaged");
			goto out;
		}
		memcpy(sealed.salt, row.key_salt, sizeof(sealed.salt));
		memcpy(sealed.nonce, row.key_nonce, sizeof(sealed.nonce));
		sealed.iter = row.key_iter;
		sealed.ct = row.key_ct;
		sealed.ct_len = row.key_ct_len;
		if (ca_key_unseal(&sealed, pass, strlen(pass), &sh->key, err) != 0)
			goto out;
	}
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	secure_free(pass);
	db_ca_free(&row);
	ca_close(ca);
	return rc;
}

int
ca_clone(struct ca *parent, struct ca **out, struct mica_err *err)
{
	struct ca *ca;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	if (db_open(parent->sh->dbpath,
		    (parent->sh->flags & CA_OPEN_READONLY) ? DB_OPEN_READONLY : 0,
		    &ca->db, err) != 0) {
		free(ca);
		return -1;
	}
	pthread_mutex_lock(&parent->sh->lock);
	parent->sh->refs++;
	pthread_mutex_unlock(&parent->sh->lock);
	ca->sh = parent->sh;
	*out = ca;
	return 0;
}

void
ca_close(struct ca *ca)
{
	int last = 0;

	if (ca == NULL)
		return;
	db_close(ca->db);
	if (ca->sh != NULL) {
		pthread_mutex_lock(&ca->sh->lock);
		last = --ca->sh->refs == 0;
		pthread_mutex_unlock(&ca->sh->lock);
		if (last)
			shared_free(ca->sh);
	}
	free(ca);
}

int
ca_batch_writes(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->writer != NULL)
		return 0;
	if (ca->sh->flags & CA_OPEN_READONLY)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "a read-only CA does not write");
	return db_writer_open(ca->sh->dbpath, &ca->sh->writer, err);
}

struct db *
ca_db(struct ca *ca)
{
	return ca->db;
}

const unsigned char *
ca_root_der(struct ca *ca, size_t *len)
{
	*len = ca->sh->root_len;
	return ca->sh->root_der;
}

const char *ca_root_pem(struct ca *ca) { return ca->sh->root_pem; }
const char *ca_root_fingerprint(struct ca *ca) { return ca->sh->fingerprint; }
const char *ca_name(struct ca *ca) { return ca->sh->name; }
const char *ca_public_url(struct ca *ca) { return ca->sh->public_url; }
int64_t ca_not_after(struct ca *ca) { return ca->sh->not_after; }

static int
require_key(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->key == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "the CA key is not unlocked");
	return 0;
}

/* Sign TBS with the CA key and wrap it into a signed structure. */
static int
sign_wrap(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
	  unsigned char **out, size_t *out_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	const unsigned char *alg;
	size_t sig_len = 0, alg_len;

	if (ca_key_sign(ca->sh->key, tbs, tbs_len, sig, &sig_len, err) != 0)
		return -1;
	alg = ca_key_sig_alg(ca->sh->key, &alg_len);
	return ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, out,
			    out_len, err);
}

/* -------------------------------------------------------------- init -- */

static int
valid_url(const char *u)
{
	size_t n;

	if (u == NULL)
		return 0;
	n = strlen(u);
	if (n < 8 || n > 200)
		return 0;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f ||
		    u[i] == '"' || u[i] == '<' || u[i] == '>' || u[i] == '\\')
			return 0;
	return u[n - 1] != '/';
}

static void
unlink_db(const char *dbpath)
{
	char p[PATH_MAX + 8];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

int
ca_init(const struct ca_init_opts *o, struct ca_init_result *res,
	struct mica_err *err)
{
	enum ca_key_type kt;
	struct ca_key *key = NULL;
	struct ca_sealed_key sealed;
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect ex;
	struct db *db = NULL;
	struct db_ca row;
	struct ca *ca = NULL;
	struct ca_principal cli;
	unsigned char serial[16], sig[CA_SIG_MAX], fp[32];
	unsigned char *spki = NULL, *subject = NULL, *tbs = NULL, *cert = NULL;
	size_t spki_len = 0, subject_len = 0, tbs_len = 0, cert_len = 0, sig_len = 0;
	size_t alg_len;
	const unsigned char *alg;
	char dbpath[PATH_MAX], passpath[PATH_MAX], serial_hex[DB_SERIAL_MAX];
	char *pass = NULL;
	struct ca_name *doms = NULL;
	int days = o->days > 0 ? o->days : 3650;
	int generated = 0, created = 0, rc = -1;
	int64_t now = now_s();
	mode_t old_umask;

	memset(&sealed, 0, sizeof(sealed));
	memset(&row, 0, sizeof(row));
	memset(res, 0, sizeof(*res));
	if (o->name == NULL || o->name[0] == '\0')
		return mica_err_set(err, MICA_E_USAGE, "bad_name",
				    "the CA needs a name (--name \"Contoso Root CA\")");
	if (o->public_url == NULL || !valid_url(o->public_url))
		return mica_err_set(err, MICA_E_USAGE, "bad_url",
				    "--public-url must be an http:// or https:// URL without a trailing slash, "
				    "such as http://ca.contoso.test:8080");
	if (ca_key_type_parse(o->key_type ? o->key_type : "ec-p256", &kt) != 0)
		return mica_err_set(err, MICA_E_USAGE, "bad_key_type",
				    "--key must be one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096");
	if (days < 1 || days > 36500)
		return mica_err_set(err, MICA_E_USAGE, "bad_days",
				    "--days must be between 1 and 36500");
	if (o->crl_days < 0 || o->crl_days > 365)
		return mica_err_set(err, MICA_E_USAGE, "bad_days",
				    "--crl-days must be between 1 and 365");
	if (o->ndomains > 100)
		return mica_err_set(err, MICA_E_USAGE, "bad_domain", "at most 100 domains");
	if (o->ndomains > 0 && (doms = calloc(o->ndomains, sizeof(*doms))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < o->ndomains; i++) {
		if (ca_name_parse(o->domains[i], CA_NAME_DNS, &doms[i], err) != 0 ||
		    doms[i].value[0] == '*') {
			mica_err_set(err, MICA_E_USAGE, "bad_domain",
				     "--domain %s is not a valid DNS domain", o->domains[i]);
			goto out;
		}
	}

	old_umask = umask(077);
	if (mkdir(o->datadir, 0700) != 0 && errno != EEXIST) {
		umask(old_umask);
		mica_err_set(err, MICA_E_UNAVAIL, "datadir",
			     "cannot create the data directory: %s", strerror(errno));
		goto out;
	}
	umask(old_umask);
	if (path_join(dbpath, sizeof(dbpath), o->datadir, CA_DB_FILE) != 0 ||
	    path_join(passpath, sizeof(passpath), o->datadir, CA_PASS_FILE) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
		goto out;
	}
	if (access(dbpath, F_OK) == 0) {
		mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
			     "%s already holds a CA; refusing to overwrite it", o->datadir);
		goto out;
	}

	/* Passphrase first: a failure here leaves nothing behind. */
	if (o->passphrase_file != NULL) {
		if (read_pass_file(o->passphrase_file, &pass, err) != 0)
			goto out;
	} else if (getenv("MICA_PASSPHRASE") != NULL &&
		   getenv("MICA_PASSPHRASE")[0] != '\0') {
		if (get_passphrase(o->datadir, NULL, &pass, err) != 0)
			goto out;
	} else {
		if (access(passpath, F_OK) == 0) {
			mica_err_set(err, MICA_E_CONFLICT, "passphrase_exists",
				     "%s/%s exists; use --passphrase-file to use it, or remove it",
				     o->datadir, CA_PASS_FILE);
			goto out;
		}
		if (generate_pass_file(passpath, &pass, err) != 0)
			goto out;
		generated = 1;
		snprintf(res->passphrase_path, sizeof(res->passphrase_path), "%s", passpath);
	}

	/* The root: fresh key, self-signed, linted before it is signed. */
	if (ca_key_generate(kt, &key, err) != 0 ||
	    ca_key_spki(key, &spki, &spki_len, err) != 0 ||
	    ca_x509_name(o->name, o->org, &subject, &subject_len, err) != 0 ||
	    new_serial(serial, serial_hex, err) != 0)
		goto out;
	alg = ca_key_sig_alg(key, &alg_len);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = subject;
	t.issuer_len = subject_len;
	t.subject = subject;
	t.subject_len = subject_len;
	t.not_before = now - ROOT_SKEW;
	t.not_after = now + (int64_t)days * 86400;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = 1;
	t.path_len = -1;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN | CA_KU_DIGITAL_SIGNATURE;
	if (ca_x509_key_id(spki, spki_len, t.ski, err) != 0)
		goto out;
	t.has_aki = 1;
	memcpy(t.aki, t.ski, sizeof(t.aki));
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.issuer = subject;
	ex.issuer_len = subject_len;
	ex.issuer_not_before = t.not_before;
	ex.issuer_not_after = t.not_after;
	ex.is_ca = 1;
	ex.key_usage = t.key_usage;
	ex.aki = t.aki;
	if (ca_lint_cert(tbs, tbs_len, &ex, err) != 0)
		goto out;
	if (ca_key_sign(key, tbs, tbs_len, sig, &sig_len, err) != 0 ||
	    ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, &cert,
			 &cert_len, err) != 0)
		goto out;
	if (ca_key_seal(key, pass, strlen(pass),
			o->kdf_iter > 0 ? o->kdf_iter : CA_KDF_DEFAULT_ITER,
			&sealed, err) != 0)
		goto out;

	if (db_open(dbpath, DB_OPEN_CREATE, &db, err) != 0)
		goto out;
	created = 1;
	row.name = (char *)o->name;
	row.public_url = (char *)o->public_url;
	row.key_type = (char *)ca_key_type_name(kt);
	row.cert_der = cert;
	row.cert_len = cert_len;
	row_set_sealed(&row, &sealed);
	row.crl_days = o->crl_days > 0 ? o->crl_days : 7;
	row.created_at = now;
	if (db_begin(db, err) != 0)
		goto out;
	if (db_ca_insert(db, &row, err) != 0)
		goto rollback;
	for (size_t i = 0; i < o->ndomains; i++)
		if (db_domain_add(db, doms[i].value, err) != 0)
			goto rollback;
	{
		char detail[256];
		snprintf(detail, sizeof(detail), "root %s, key %s, %d days",
			 serial_hex, ca_key_type_name(kt), days);
		if (db_audit_add(db, now, "cli", "ca.init", o->name, detail, err) != 0)
			goto rollback;
	}
	if (db_commit(db, err) != 0)
		goto out;
	db_close(db);
	db = NULL;
	memset(&row, 0, sizeof(row));

	/* The first CRL, through the normal path (with MICA_PASSPHRASE set,
	 * ca_open finds it in the environment again). */
	if (ca_open(o->datadir, CA_OPEN_UNLOCK,
		    generated ? passpath : o->passphrase_file, &ca, err) != 0)
		goto out;
	ca_principal_cli(&cli);
	if (ca_crl_publish(ca, &cli, NULL, err) != 0)
		goto out;
	ca_sha256(cert, cert_len, fp);
	for (int i = 0; i < 32; i++)
		snprintf(res->fingerprint + 3 * i, sizeof(res->fingerprint) - 3 * (size_t)i,
			 i < 31 ? "%02X:" : "%02X", fp[i]);
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	ca_close(ca);
	db_close(db);
	if (rc != 0 && created)
		unlink_db(dbpath);
	if (rc != 0 && generated) {
		unlink(passpath);
		res->passphrase_path[0] = '\0';
	}
	secure_free(pass);
	ca_sealed_key_free(&sealed);
	ca_key_free(key);
	explicit_bzero(sig, sizeof(sig));
	free(spki);
	free(subject);
	free(tbs);
	free(cert);
	free(doms);
	return rc;
}

/* -------------------------------------------------------- issuance -- */

void
ca_issued_free(struct ca_issued *r)
{
	if (r == NULL)
		return;
	free(r->der);
	memset(r, 0, sizeof(*r));
}

static int
profile_days(struct ca *ca, const struct ca_profile *prof, int *def, int *max,
	     struct mica_err *err)
{
	struct mica_err e;

	if (db_profile_get_days(ca->db, prof->name, def, max, &e) == 0)
		return 0;
	if (e.kind != MICA_E_NOTFOUND) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	*def = prof->default_days;
	*max = prof->max_days;
	return 0;
}

/* Everything the policy needs that comes from the store; DOMAINS heap. */
static int
run_policy(struct ca *ca, const struct ca_principal *p,
	   const struct ca_profile *prof, const struct ca_name *names,
	   size_t nnames, int key_kind, int key_bits, int days,
	   struct ca_policy_decision *d, struct mica_err *err)
{
	struct ca_policy_input in;
	char **domains = NULL;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	in.profile = prof;
	if (profile_days(ca, prof, &in.default_days, &in.max_days, err) != 0)
		goto out;
	if (db_domain_list(ca->db, &domains, err) != 0)
		goto out;
	for (char **dp = domains; *dp != NULL; dp++)
		in.ndomains++;
	in.domains = (const char *const *)domains;
	in.names = names;
	in.nnames = nnames;
	if (p->kind == CA_PRINCIPAL_ENROLL) {
		in.scoped = 1;
		in.scope_profile = p->scope_profile;
		in.scope_names = (const char *const *)p->scope_names;
		in.nscope_names = p->nscope_names;
	}
	in.key_kind = key_kind;
	in.key_bits = key_bits;
	in.requested_days = days;
	in.now = now_s();
	in.ca_not_after = ca->sh->not_after;
	rc = ca_policy_check(&in, d, err);
out:
	db_strv_free(domains);
	return rc;
}

static int crl_publish_tx(struct ca *ca, const char *actor, struct db_crl *out,
			  struct mica_err *err);

struct issue_job {
	const struct ca_principal *p;
	const struct ca_profile *prof;
	const unsigned char *spki; size_t spki_len;
	const unsigned char *spki_hash;     /* 32 octets */
	const struct ca_name *names; size_t nnames;
	const struct ca_policy_decision *d;
	const char *request_id;             /* decide this request, or NULL */
	const char *renewal_of;             /* link, or NULL */
	int supersede;                      /* revoke renewal_of as superseded */
	const char *consume_token;          /* token id to consume, or NULL */
	const char *action;                 /* audit action */
	struct db_request *record;          /* store this request as issued
					     * (serial filled in), or NULL */
};

/* issue()'s store transactions, as bodies for db_run_tx(). */
struct reserve_tx {
	const struct issue_job *j;
	const struct db_cert *rec;
	int failed_at;              /* 1 consuming the token, 2 reserving */
};

static int
reserve_body(struct db *db, void *arg, struct mica_err *err)
{
	struct reserve_tx *x = arg;

	if (x->j->consume_token != NULL &&
	    db_token_consume(db, x->j->consume_token, now_s(), err) != 0) {
		x->failed_at = 1;
		return -1;
	}
	if (db_cert_reserve(db, x->rec, err) != 0) {
		x->failed_at = 2;
		return -1;
	}
	return 0;
}

struct complete_tx {
	struct ca *ca;
	const struct issue_job *j;
	const char *serial_hex;
	const unsigned char *cert;
	size_t cert_len;
	const char *detail;
};

static int
complete_body(struct db *db, void *arg, struct mica_err *err)
{
	struct complete_tx *x = arg;
	const struct issue_job *j = x->j;

	if (db_cert_complete(db, x->serial_hex, x->cert, x->cert_len, err) != 0)
		return -1;
	if (j->request_id != NULL &&
	    db_req_decide(db, j->request_id, DB_REQ_ISSUED, j->p->actor,
			  x->serial_hex, NULL, now_s(), err) != 0)
		return -1;
	if (j->record != NULL) {
		snprintf(j->record->serial, sizeof(j->record->serial), "%s", x->serial_hex);
		j->record->decided_at = now_s();
		if (db_req_insert(db, j->record, err) != 0)
			return -1;
	}
	if (j->renewal_of != NULL) {
		if (db_cert_link_renewal(db, j->renewal_of, x->serial_hex, err) != 0)
			return -1;
		if (j->supersede) {
			/* crl_publish_tx works on the handle's own connection:
			 * issue() runs a superseding renewal there, never on
			 * the writer. */
			if (db != x->ca->db)
				return mica_err_set(err, MICA_E_INTERNAL, "internal",
						    "superseding renewal on the wrong connection");
			if (db_cert_revoke(db, j->renewal_of, 4 /* superseded */,
					   now_s(), err) != 0 ||
			    crl_publish_tx(x->ca, j->p->actor, NULL, err) != 0)
				return -1;
		}
	}
	return db_audit_add(db, now_s(), j->p->actor, j->action, x->serial_hex,
			    x->detail, err);
}

struct discard_tx {
	const char *serial_hex;
	const char *token;          /* give one use back, or NULL */
};

static int
discard_body(struct db *db, void *arg, struct mica_err *err)
{
	struct discard_tx *x = arg;

	if (db_cert_discard(db, x->serial_hex, err) != 0)
		return -1;
	return x->token != NULL ? db_token_refund(db, x->token, err) : 0;
}

/* Build, lint, record, sign, store: the one path by which mica issues an
 * end-entity certificate. On success OUT holds the certificate. */
static int
issue(struct ca *ca, const struct issue_job *j, struct ca_issued *out,
      struct mica_err *err)
{
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect ex;
	struct db_cert rec;
	unsigned char serial[16], *subject = NULL, *tbs = NULL, *cert = NULL;
	size_t subject_len = 0, tbs_len = 0, cert_len = 0, alg_len;
	const unsigned char *alg;
	char serial_hex[DB_SERIAL_MAX], subj_disp[300], detail[300];
	char *names_joined = NULL;
	const char *cn = NULL;
	int reserved = 0, consumed = 0, rc = -1, tries = 0;
	struct mica_err e2;
	struct reserve_tx rx;
	struct complete_tx cx;
	struct discard_tx dx;

	if (require_key(ca, err) != 0)
		return -1;
	memset(&rec, 0, sizeof(rec));
	/* Subject: CN = the first name when it fits the 64-character bound;
	 * otherwise an empty subject with a critical SAN (RFC 5280 4.2.1.6). */
	if (strlen(j->names[0].value) <= 64)
		cn = j->names[0].value;
	if (cn != NULL) {
		if (ca_x509_name(cn, NULL, &subject, &subject_len, err) != 0)
			goto out;
		snprintf(subj_disp, sizeof(subj_disp), "CN=%s", cn);
	} else {
		static const unsigned char empty_name[] = { 0x30, 0x00 };
		if ((subject = malloc(2)) == NULL)
			goto oom;
		memcpy(subject, empty_name, 2);
		subject_len = 2;
		subj_disp[0] = '\0';
	}
	if ((names_joined = join_names(j->names, j->nnames)) == NULL)
		goto oom;
	alg = ca_key_sig_alg(ca->sh->key, &alg_len);

again:
	if (new_serial(serial, serial_hex, err) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = ca->sh->subject;
	t.issuer_len = ca->sh->subject_len;
	t.subject = subject;
	t.subject_len = subject_len;
	t.not_before = j->d->not_before;
	t.not_after = j->d->not_after;
	t.spki = j->spki;
	t.spki_len = j->spki_len;
	t.is_ca = 0;
	t.path_len = -1;
	t.key_usage = j->d->key_usage;
	t.eku = j->d->eku;
	t.names = j->names;
	t.nnames = j->nnames;
	if (ca_x509_key_id(j->spki, j->spki_len, t.ski, err) != 0)
		goto out;
	t.has_aki = 1;
	memcpy(t.aki, ca->sh->ski, sizeof(t.aki));
	t.crl_url = ca->sh->crl_url;
	t.aia_url = ca->sh->aia_url;
	free(tbs);
	tbs = NULL;
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.issuer = ca->sh->subject;
	ex.issuer_len = ca->sh->subject_len;
	ex.issuer_not_before = ca->sh->not_before;
	ex.issuer_not_after = ca->sh->not_after;
	ex.key_usage = t.key_usage;
	ex.eku = t.eku;
	ex.names = j->names;
	ex.nnames = j->nnames;
	ex.aki = ca->sh->ski;
	if (ca_lint_cert(tbs, tbs_len, &ex, err) != 0) {
		/* Never sign what fails the lint; leave a trace for admins. */
		snprintf(detail, sizeof(detail), "refused before signing: %s", err ? err->msg : "lint");
		db_audit_add(ca->db, now_s(), j->p->actor, "lint.refused",
			     names_joined, detail, NULL);
		mica_log(MICA_LOG_ERR, "lint refused a certificate for %s: %s",
			 j->names[0].value, err ? err->msg : "");
		goto out;
	}

	/* Record the intent (and consume the token use) before signing. */
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", serial_hex);
	rec.profile = (char *)j->prof->name;
	rec.subject = subj_disp;
	rec.names = names_joined;
	rec.request_id = (char *)j->request_id;
	rec.not_before = t.not_before;
	rec.not_after = t.not_after;
	memcpy(rec.spki_sha256, j->spki_hash, 32);
	rec.status = DB_CERT_ISSUING;
	rec.reason = -1;
	rec.created_at = now_s();
	rx.j = j;
	rx.rec = &rec;
	rx.failed_at = 0;
	if (db_run_tx(ca->sh->writer, ca->db, 0, reserve_body, &rx, err) != 0) {
		if (rx.failed_at == 1) {
			/* Used up or gone meanwhile: the client's token is bad.
			 * A failing store stays a store failure (503). */
			if (err != NULL && (err->kind == MICA_E_FORBIDDEN ||
					    err->kind == MICA_E_NOTFOUND))
				mica_err_set(err, MICA_E_UNAUTH, "bad_token",
					     "the token is not valid (unknown, revoked, expired or used up)");
		} else if (rx.failed_at == 2 && err != NULL &&
			   err->kind == MICA_E_CONFLICT && ++tries < 4) {
			goto again;    /* a 2^-120 serial collision: draw again */
		}
		goto out;
	}
	reserved = 1;
	consumed = j->consume_token != NULL;

	/* Sign outside any transaction. */
	if (sign_wrap(ca, tbs, tbs_len, &cert, &cert_len, err) != 0)
		goto out;

	/* Store it; only a committed certificate leaves this function. A
	 * renewal that supersedes publishes a CRL in the same transaction, on
	 * this handle's connection, so it does not hold up the batch. */
	snprintf(detail, sizeof(detail), "profile %s, %d days%s%s%s",
		 j->prof->name, j->d->days,
		 j->renewal_of ? ", renews " : "", j->renewal_of ? j->renewal_of : "",
		 j->d->clamped ? ", clamped to the CA's notAfter" : "");
	cx.ca = ca;
	cx.j = j;
	cx.serial_hex = serial_hex;
	cx.cert = cert;
	cx.cert_len = cert_len;
	cx.detail = detail;
	if (db_run_tx(j->supersede ? NULL : ca->sh->writer, ca->db, DB_TX_DURABLE,
		      complete_body, &cx, err) != 0)
		goto out;
	reserved = 0;

	snprintf(out->serial, sizeof(out->serial), "%s", serial_hex);
	out->status = DB_REQ_ISSUED;
	out->der = cert;
	out->der_len = cert_len;
	cert = NULL;
	out->not_before = t.not_before;
	out->not_after = t.not_after;
	out->clamped = j->d->clamped;
	if (j->d->clamped)
		snprintf(out->notice, sizeof(out->notice),
			 "validity was shortened to end with the CA certificate");
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	if (rc != 0 && reserved) {
		/* Nothing left the process: forget the reservation and give the
		 * token use back. If the store is failing this may fail too; the
		 * row then stays "issuing", visible to admins and revocable. */
		dx.serial_hex = serial_hex;
		dx.token = consumed ? j->consume_token : NULL;
		db_run_tx(ca->sh->writer, ca->db, 0, discard_body, &dx, &e2);
	}
	if (cert != NULL)
		explicit_bzero(cert, cert_len);
	free(cert);
	free(tbs);
	free(subject);
	free(names_joined);
	return rc;
}

/* Key kind of a SubjectPublicKeyInfo (for keyUsage). */
static int
spki_key_kind(const unsigned char *spki, size_t len, int *kind,
	      struct mica_err *err)
{
	mbedtls_pk_context pk;
	int rc = -1;

	mbedtls_pk_init(&pk);
	if (mbedtls_pk_parse_public_key(&pk, spki, len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_key", "the public key does not parse");
		goto out;
	}
	*kind = mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA ? CA_PUBKEY_RSA
							   : CA_PUBKEY_EC_P256;
	rc = 0;
out:
	mbedtls_pk_free(&pk);
	return rc;
}

static const struct ca_profile *
find_profile(const char *name, struct mica_err *err)
{
	const struct ca_profile *prof = ca_profile_find(name ? name : "server");

	if (prof == NULL)
		mica_err_set(err, MICA_E_BADREQ, "unknown_profile",
			     "unknown profile (see 'mica profile list')");
	return prof;
}

/* Names: the caller's override (admin only) or the CSR's. *out heap. */
static int
collect_names(const struct ca_principal *p, const struct ca_submit *s,
	      const struct ca_csr *csr, struct ca_name **out, size_t *n,
	      struct mica_err *err)
{
	struct ca_name *v;
	size_t count = s->nnames > 0 ? s->nnames : csr->nnames;

	*out = NULL;
	*n = 0;
	if (s->nnames > 0 && !is_admin(p))
		return mica_err_set(err, MICA_E_FORBIDDEN, "names_override",
				    "only an admin may set names other than the CSR's");
	if (count == 0)
		return mica_err_set(err, MICA_E_POLICY, "no_names",
				    "the CSR names nothing: add a subjectAltName (or a CN that is a host name)");
	if (count > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_POLICY, "too_many_names",
				    "at most %d names per certificate", CA_NAMES_MAX);
	if ((v = calloc(count, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < count; i++) {
		if (s->nnames > 0) {
			if (ca_name_parse(s->names[i], 0, &v[i], err) != 0) {
				free(v);
				return -1;
			}
		} else {
			v[i] = csr->names[i];
		}
	}
	/* Drop duplicates (the same name given twice). */
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		int dup = 0;
		for (size_t m = 0; m < k; m++)
			if (v[m].kind == v[i].kind && strcmp(v[m].value, v[i].value) == 0)
				dup = 1;
		if (!dup)
			v[k++] = v[i];
	}
	*out = v;
	*n = k;
	return 0;
}

static int
new_request_id(char id[CA_ID_MAX], struct mica_err *err)
{
	unsigned char raw[16];

	if (ca_random(raw, sizeof(raw), err) != 0)
		return -1;
	mica_hex_encode(raw, sizeof(raw), id);
	return 0;
}

int
ca_submit_csr(struct ca *ca, const struct ca_principal *p,
	      const struct ca_submit *s, struct ca_issued *out,
	      struct mica_err *err)
{
	struct ca_csr csr;
	struct ca_name *names = NULL;
	size_t nnames = 0;
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct issue_job j;
	struct db_request rec;
	char *joined = NULL;
	int rc = -1;

	memset(&csr, 0, sizeof(csr));
	memset(out, 0, sizeof(*out));
	if ((prof = find_profile(s->profile, err)) == NULL)
		return -1;
	if (s->days < 0 || s->days > 36500)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "days must be a positive number");
	if (ca_csr_load(s->csr, s->csr_len, &csr, err) != 0)
		goto out;
	if (collect_names(p, s, &csr, &names, &nnames, err) != 0)
		goto out;
	if (run_policy(ca, p, prof, names, nnames, csr.key_kind, csr.key_bits,
		       s->days, &d, err) != 0)
		goto out;

	/* Every submission is recorded as a request the client can poll: a
	 * pending one waits for an admin, an issued one is written in the
	 * same transaction as its certificate. */
	memset(&rec, 0, sizeof(rec));
	if ((joined = join_names(names, nnames)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (new_request_id(rec.id, err) != 0)
		goto out;
	rec.profile = (char *)prof->name;
	rec.csr_der = csr.der;
	rec.csr_len = csr.der_len;
	rec.names = joined;
	rec.subject = csr.subject;
	rec.days = s->days;
	rec.client = (char *)p->client;
	rec.submitted_at = now_s();

	if (p->kind == CA_PRINCIPAL_ANON) {
		/* Manager approval: store the request, sign nothing. */
		int64_t pending = 0;
		char detail[200];

		rec.status = DB_REQ_PENDING;
		snprintf(detail, sizeof(detail), "profile %s from %s", prof->name, p->client);
		if (db_begin(ca->db, err) != 0)
			goto out;
		if (db_req_count_pending(ca->db, &pending, err) != 0)
			goto anon_fail;
		if (pending >= CA_PENDING_MAX) {
			mica_err_set(err, MICA_E_RATE, "too_many_pending",
				     "too many requests are waiting for approval; try again later");
			goto anon_fail;
		}
		if (db_req_insert(ca->db, &rec, err) != 0 ||
		    db_audit_add(ca->db, now_s(), p->actor, "request.submit", rec.id,
				 detail, err) != 0)
			goto anon_fail;
		if (db_commit(ca->db, err) != 0)
			goto out;
		snprintf(out->request_id, sizeof(out->request_id), "%s", rec.id);
		out->status = DB_REQ_PENDING;
		rc = 0;
		goto out;
anon_fail:
		db_rollback(ca->db);
		goto out;
	}

	rec.status = DB_REQ_ISSUED;
	rec.decided_by = (char *)p->actor;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.prof = prof;
	j.spki = csr.spki;
	j.spki_len = csr.spki_len;
	j.spki_hash = csr.spki_sha256;
	j.names = names;
	j.nnames = nnames;
	j.d = &d;
	j.consume_token = p->kind == CA_PRINCIPAL_ENROLL ? p->token_id : NULL;
	j.action = "cert.issue";
	j.record = &rec;
	rc = issue(ca, &j, out, err);
	if (rc == 0)
		snprintf(out->request_id, sizeof(out->request_id), "%s", rec.id);
out:
	free(joined);
	free(names);
	ca_csr_free(&csr);
	return rc;
}

int
ca_issue_for_spki(struct ca *ca, const struct ca_principal *p,
		  const char *profile, const unsigned char *spki,
		  size_t spki_len, const char *const *names, size_t nnames,
		  int days, struct ca_issued *out, struct mica_err *err)
{
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct ca_name *v = NULL;
	struct issue_job j;
	unsigned char hash[32];
	int64_t now = now_s();
	int def, max, kind, rc = -1;

	memset(out, 0, sizeof(*out));
	if (require_admin(p, err) != 0)
		return -1;
	if ((prof = find_profile(profile, err)) == NULL)
		return -1;
	if (nnames == 0 || nnames > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "no_names", "1 to %d names", CA_NAMES_MAX);
	if ((v = calloc(nnames, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < nnames; i++) {
		/* An admin may name the local host: the daemon's own TLS
		 * certificate does, so that https://localhost works on the CA
		 * machine. Requests never can (the parser wants two labels). */
		if (names[i] != NULL && strcasecmp(names[i], "localhost") == 0) {
			v[i].kind = CA_NAME_DNS;
			snprintf(v[i].value, sizeof(v[i].value), "localhost");
			continue;
		}
		if (ca_name_parse(names[i], 0, &v[i], err) != 0)
			goto out;
	}
	if (profile_days(ca, prof, &def, &max, err) != 0)
		goto out;
	memset(&d, 0, sizeof(d));
	d.days = days > 0 ? days : def;
	d.not_before = now - 300;
	d.not_after = d.not_before + (int64_t)d.days * 86400;
	if (d.not_after > ca->sh->not_after) {
		d.not_after = ca->sh->not_after;
		d.clamped = 1;
	}
	if (spki_key_kind(spki, spki_len, &kind, err) != 0)
		goto out;
	d.key_usage = kind == CA_PUBKEY_RSA ? prof->ku_rsa : prof->ku_ec;
	d.eku = prof->eku;
	ca_sha256(spki, spki_len, hash);
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.prof = prof;
	j.spki = spki;
	j.spki_len = spki_len;
	j.spki_hash = hash;
	j.names = v;
	j.nnames = nnames;
	j.d = &d;
	j.action = "cert.issue";
	rc = issue(ca, &j, out, err);
out:
	free(v);
	return rc;
}

/* --------------------------------------------------------- requests -- */

static int
valid_id(const char *id)
{
	size_t n = id != NULL ? strnlen(id, CA_ID_MAX) : 0;

	if (n == 0 || n >= CA_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (mica_hex_val((unsigned char)id[i]) < 0 || (id[i] >= 'A' && id[i] <= 'F'))
			return 0;
	return 1;
}

int
ca_request_status(struct ca *ca, const char *id, struct ca_issued *out,
		  struct db_request *req, struct mica_err *err)
{
	struct db_cert c;

	memset(out, 0, sizeof(*out));
	memset(req, 0, sizeof(*req));
	if (!valid_id(id))
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such request");
	if (db_req_get(ca->db, id, req, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such request");
		return -1;
	}
	snprintf(out->request_id, sizeof(out->request_id), "%s", req->id);
	out->status = req->status;
	if (req->status != DB_REQ_ISSUED)
		return 0;
	memset(&c, 0, sizeof(c));
	if (db_cert_get(ca->db, req->serial, &c, err) != 0) {
		db_req_free(req);
		return -1;
	}
	snprintf(out->serial, sizeof(out->serial), "%s", c.serial);
	out->der = c.der;
	out->der_len = c.der_len;
	c.der = NULL;
	out->not_before = c.not_before;
	out->not_after = c.not_after;
	db_cert_free(&c);
	return 0;
}

int
ca_request_list(struct ca *ca, const struct ca_principal *p, int status,
		int limit, struct db_request **out, size_t *n,
		struct mica_err *err)
{
	*out = NULL;
	*n = 0;
	if (require_admin(p, err) != 0)
		return -1;
	if (limit <= 0 || limit > 1000)
		limit = 1000;
	return db_req_list(ca->db, status, limit, out, n, err);
}

int
ca_request_approve(struct ca *ca, const struct ca_principal *p, const char *id,
		   struct ca_issued *out, struct mica_err *err)
{
	struct db_request r;
	struct ca_csr csr;
	struct ca_name *names = NULL;
	size_t nnames = 0;
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct issue_job j;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&csr, 0, sizeof(csr));
	if (require_admin(p, err) != 0)
		return -1;
	if (!valid_id(id))
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such request");
	if (db_req_get(ca->db, id, &r, err) != 0)
		return -1;
	if (r.status != DB_REQ_PENDING) {
		mica_err_set(err, MICA_E_CONFLICT, "already_decided",
			     "request %s was already %s", id,
			     r.status == DB_REQ_ISSUED ? "issued" : "denied");
		goto out;
	}
	if ((prof = find_profile(r.profile, err)) == NULL)
		goto out;
	/* Re-check everything: domains or overrides may have changed. */
	if (ca_csr_parse(r.csr_der, r.csr_len, &csr, err) != 0 ||
	    parse_stored_names(r.names, &names, &nnames, err) != 0 ||
	    run_policy(ca, p, prof, names, nnames, csr.key_kind, csr.key_bits,
		       r.days, &d, err) != 0)
		goto out;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.prof = prof;
	j.spki = csr.spki;
	j.spki_len = csr.spki_len;
	j.spki_hash = csr.spki_sha256;
	j.names = names;
	j.nnames = nnames;
	j.d = &d;
	j.request_id = r.id;
	j.action = "request.approve";
	if (issue(ca, &j, out, err) != 0)
		goto out;
	snprintf(out->request_id, sizeof(out->request_id), "%s", r.id);
	rc = 0;
out:
	free(names);
	ca_csr_free(&csr);
	db_req_free(&r);
	return rc;
}

static int
clean_text(const char *in, size_t max, char *out, size_t outsize)
{
	size_t n = 0;

	if (in == NULL) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(in) > max)
		return -1;
	for (const char *c = in; *c != '\0' && n + 1 < outsize; c++)
		out[n++] = ((unsigned char)*c < 0x20 || *c == 0x7f) ? ' ' : *c;
	out[n] = '\0';
	return 0;
}

int
ca_request_deny(struct ca *ca, const struct ca_principal *p, const char *id,
		const char *reason, struct mica_err *err)
{
	char why[512];

	if (require_admin(p, err) != 0)
		return -1;
	if (!valid_id(id))
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such request");
	if (clean_text(reason, 500, why, sizeof(why)) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "the reason is longer than 500 characters");
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_req_decide(ca->db, id, DB_REQ_DENIED, p->actor, NULL,
			  why[0] ? why : "denied", now_s(), err) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor, "request.deny", id,
			 why[0] ? why : NULL, err) != 0) {
		db_rollback(ca->db);
		return -1;
	}
	return db_commit(ca->db, err);
}

/* ---------------------------------------------------------- renewal -- */


int
ca_renew(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	 const unsigned char *csr_in, size_t csr_len, int days, int supersede,
	 struct ca_issued *out, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];
	struct db_cert old;
	struct ca_csr csr;
	struct ca_name *names = NULL;
	size_t nnames = 0;
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct issue_job j;
	mbedtls_x509_crt crt;
	unsigned char *spki = NULL, hash[32];
	size_t spki_len = 0;
	int key_kind = 0, key_bits = 0, same_key = 0, rc = -1;
	struct ca_principal eff;

	memset(out, 0, sizeof(*out));
	memset(&old, 0, sizeof(old));
	memset(&csr, 0, sizeof(csr));
	mbedtls_x509_crt_init(&crt);
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (days < 0 || days > 36500)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days", "days must be positive");
	if (db_cert_get(ca->db, serial, &old, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		goto out;
	}
	if (old.der == NULL) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issued",
			     "certificate %s was never completed; revoke it instead", serial);
		goto out;
	}
	if ((prof = find_profile(old.profile, err)) == NULL ||
	    parse_stored_names(old.names, &names, &nnames, err) != 0)
		goto out;
	if (csr_in == NULL) {
		/* Reuse the old key: the caller proves nothing, so admin only. */
		if (require_admin(p, err) != 0)
			goto out;
		if (mbedtls_x509_crt_parse_der(&crt, old.der, old.der_len) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the stored certificate does not parse");
			goto out;
		}
		spki_len = crt.pk_raw.len;
		if ((spki = malloc(spki_len)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			goto out;
		}
		memcpy(spki, crt.pk_raw.p, spki_len);
		key_kind = mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_RSA ? CA_PUBKEY_RSA : 0;
		key_bits = (int)mbedtls_pk_get_bitlen(&crt.pk);
		if (key_kind == 0)
			key_kind = key_bits > 256 ? CA_PUBKEY_EC_P384 : CA_PUBKEY_EC_P256;
		memcpy(hash, old.spki_sha256, 32);
		same_key = 1;
	} else {
		if (ca_csr_load(csr_in, csr_len, &csr, err) != 0)
			goto out;
		same_key = memcmp(csr.spki_sha256, old.spki_sha256, 32) == 0;
		if ((spki = malloc(csr.spki_len)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			goto out;
		}
		memcpy(spki, csr.spki, csr.spki_len);
		spki_len = csr.spki_len;
		key_kind = csr.key_kind;
		key_bits = csr.key_bits;
		memcpy(hash, csr.spki_sha256, 32);
	}
	/* A key revoked as compromised is never certified again, by anyone. */
	if (same_key && old.status == DB_CERT_REVOKED &&
	    (old.reason == 1 /* keyCompromise */ || old.reason == 2 /* cACompromise */)) {
		mica_err_set(err, MICA_E_POLICY, "key_compromised",
			     "certificate %s was revoked for key compromise; renew with a new key (--csr)",
			     serial);
		goto out;
	}
	/* Who may renew: an admin always; with the same key (proved by the
	 * CSR's signature) anyone while the old certificate is current; a new
	 * key needs an enrollment token whose scope covers the names. */
	if (!is_admin(p)) {
		if (old.status == DB_CERT_REVOKED) {
			mica_err_set(err, MICA_E_CONFLICT, "revoked",
				     "certificate %s is revoked and cannot be renewed", serial);
			goto out;
		}
		if (old.not_after <= now_s()) {
			mica_err_set(err, MICA_E_CONFLICT, "expired",
				     "certificate %s has expired; request a new one", serial);
			goto out;
		}
		if (!same_key && p->kind != CA_PRINCIPAL_ENROLL) {
			mica_err_set(err, MICA_E_UNAUTH, "token_required",
				     "renewing with a new key needs an enrollment or admin token");
			goto out;
		}
		/* Supersede revokes the old certificate: allowed to whoever
		 * proved possession of its key (same-key CSR) or holds an
		 * enrollment token covering its names, as checked above. */
	}
	/* Same-key renewal by a client without a token: policy as for an
	 * anonymous request (domains still apply), no token consumed. */
	eff = *p;
	if (eff.kind == CA_PRINCIPAL_ANON) {
		eff.kind = CA_PRINCIPAL_CLI;  /* for the policy's scope only */
	}
	if (p->kind == CA_PRINCIPAL_ENROLL && same_key)
		eff.kind = CA_PRINCIPAL_CLI;  /* same names, same key: no scope */
	if (run_policy(ca, &eff, prof, names, nnames, key_kind, key_bits, days,
		       &d, err) != 0)
		goto out;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.prof = prof;
	j.spki = spki;
	j.spki_len = spki_len;
	j.spki_hash = hash;
	j.names = names;
	j.nnames = nnames;
	j.d = &d;
	j.renewal_of = serial;
	j.supersede = supersede;
	j.consume_token = (p->kind == CA_PRINCIPAL_ENROLL && !same_key) ? p->token_id : NULL;
	j.action = "cert.renew";
	if (issue(ca, &j, out, err) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_x509_crt_free(&crt);
	free(spki);
	free(names);
	ca_csr_free(&csr);
	db_cert_free(&old);
	return rc;
}

/* ------------------------------------------------------- revocation -- */

int
ca_revoke(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	  int reason, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];

	if (require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (reason < 0 || reason > 10 || reason == 7 || reason == 8)
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason");
	if (require_key(ca, err) != 0)
		return -1;
	/* The revocation and the CRL that lists it commit together: if the
	 * CRL cannot be made, the revocation is refused and nothing changes,
	 * so a revoked certificate is never missing from the served CRL. */
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_cert_revoke(ca->db, serial, reason, now_s(), err) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor, "cert.revoke", serial,
			 ca_reason_name(reason), err) != 0 ||
	    crl_publish_tx(ca, p->actor, NULL, err) != 0) {
		db_rollback(ca->db);
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	return db_commit(ca->db, err);
}

int
ca_unrevoke(struct ca *ca, const struct ca_principal *p,
	    const char *serial_in, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];

	if (require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (require_key(ca, err) != 0)
		return -1;
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_cert_unrevoke(ca->db, serial, err) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor, "cert.unrevoke", serial,
			 NULL, err) != 0 ||
	    crl_publish_tx(ca, p->actor, NULL, err) != 0) {
		db_rollback(ca->db);
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	return db_commit(ca->db, err);
}

/* ------------------------------------------------------------- CRLs -- */

struct crl_collect {
	struct ca_crl_entry *v;
	size_t n, cap;
	int bad;
};

static int
crl_collect_cb(void *ctx, const char *serial_hex, int64_t revoked_at, int reason)
{
	struct crl_collect *c = ctx;
	struct ca_crl_entry *e;
	size_t len = strlen(serial_hex);

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct ca_crl_entry *nv = realloc(c->v, cap * sizeof(*nv));
		if (nv == NULL)
			return 1;
		c->v = nv;
		c->cap = cap;
	}
	e = &c->v[c->n];
	if (len == 0 || len % 2 != 0 || len > 40 ||
	    mica_hex_decode(serial_hex, e->serial, len / 2) != 0) {
		c->bad = 1;
		return 1;
	}
	e->serial_len = (unsigned char)(len / 2);
	e->reason = (signed char)(reason > 0 && reason <= 10 ? reason : 0);
	e->revoked_at = revoked_at;
	c->n++;
	return 0;
}

/* Publish a CRL: the read of the revoked set, the number, the signature
 * and the insert all happen in one write transaction, so CRL numbers
 * strictly increase with content and a revocation committed before this
 * starts is always in it. A CRL is signed once here and served stored. */
/* Publish inside the caller's write transaction (which must be open):
 * read the revoked set, take the next number, sign and insert. The caller
 * commits, so a revocation and the CRL that lists it land together. */
static int
crl_publish_tx(struct ca *ca, const char *actor, struct db_crl *out,
	       struct mica_err *err)
{
	struct crl_collect col;
	struct ca_tbs_crl t;
	struct db_crl crl;
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len = 0, der_len = 0, alg_len;
	int64_t last = 0, now;
	char detail[128];
	int rc = -1;

	memset(&col, 0, sizeof(col));
	if (require_key(ca, err) != 0)
		return -1;
	/* Read the clock under the write lock: a publisher that waited for
	 * the lock must not give a higher number an earlier thisUpdate
	 * (RFC 5280 5.1.2.4, 5.2.3). */
	now = now_s();
	if (db_crl_last_number(ca->db, &last, err) != 0)
		goto out;
	if (db_revoked_foreach(ca->db, now, crl_collect_cb, &col, err) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "crl_failed",
			     col.bad ? "a stored serial is malformed" : "out of memory");
		goto out;
	}
	memset(&t, 0, sizeof(t));
	t.sig_alg = ca_key_sig_alg(ca->sh->key, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = ca->sh->subject;
	t.issuer_len = ca->sh->subject_len;
	t.this_update = now;
	t.next_update = now + (int64_t)ca->sh->crl_days * 86400;
	t.crl_number = last + 1;
	memcpy(t.aki, ca->sh->ski, sizeof(t.aki));
	t.entries = col.v;
	t.nentries = col.n;
	/* A large CRL is tens of megabytes in each form (entries, TBS, signed
	 * DER): free each as soon as the next exists, so that at most two
	 * are alive at once. */
	if (ca_x509_tbs_crl(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	free(col.v);
	col.v = NULL;
	if (ca_lint_crl(tbs, tbs_len, ca->sh->subject, ca->sh->subject_len, err) != 0 ||
	    sign_wrap(ca, tbs, tbs_len, &der, &der_len, err) != 0)
		goto out;
	free(tbs);
	tbs = NULL;
	memset(&crl, 0, sizeof(crl));
	crl.number = t.crl_number;
	crl.this_update = t.this_update;
	crl.next_update = t.next_update;
	crl.der = der;
	crl.der_len = der_len;
	snprintf(detail, sizeof(detail), "number %lld, %zu entries",
		 (long long)crl.number, col.n);
	if (db_crl_insert(ca->db, &crl, err) != 0 ||
	    db_audit_add(ca->db, now, actor, "crl.publish", NULL, detail, err) != 0)
		goto out;
	if (out != NULL) {
		*out = crl;
		der = NULL;
	}
	rc = 0;
out:
	free(col.v);
	free(tbs);
	free(der);
	return rc;
}

/* Publish a CRL in a transaction of its own. The read of the revoked set,
 * the number, the signature and the insert all happen under one write
 * lock, so CRL numbers strictly increase with content and a revocation
 * committed before this starts is always in it. A CRL is signed once here
 * and served stored. */
static int
crl_publish(struct ca *ca, const char *actor, struct db_crl *out,
	    struct mica_err *err)
{
	struct db_crl crl;

	memset(&crl, 0, sizeof(crl));
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (crl_publish_tx(ca, actor, &crl, err) != 0) {
		db_rollback(ca->db);
		return -1;
	}
	if (db_commit(ca->db, err) != 0) {
		db_crl_free(&crl);
		return -1;
	}
	if (out != NULL)
		*out = crl;
	else
		db_crl_free(&crl);
	return 0;
}

int
ca_crl_publish(struct ca *ca, const struct ca_principal *p, struct db_crl *out,
	       struct mica_err *err)
{
	if (require_admin(p, err) != 0)
		return -1;
	return crl_publish(ca, p->actor, out, err);
}

int
ca_crl_current(struct ca *ca, struct db_crl *out, struct mica_err *err)
{
	return db_crl_latest(ca->db, out, err);
}

int
ca_crl_info(struct ca *ca, struct db_crl *out, struct mica_err *err)
{
	return db_crl_latest_info(ca->db, out, err);
}

/* ---------------------------------------------------------- queries -- */

int
ca_cert_get(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	    struct db_cert *out, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];

	memset(out, 0, sizeof(*out));
	if (require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (db_cert_get(ca->db, serial, out, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	return 0;
}

int
ca_cert_list(struct ca *ca, const struct ca_principal *p,
	     const struct db_cert_filter *f, struct db_cert **out, size_t *n,
	     int64_t *next_cursor, struct mica_err *err)
{
	*out = NULL;
	*n = 0;
	*next_cursor = 0;
	if (require_admin(p, err) != 0)
		return -1;
	if (f->name != NULL && strlen(f->name) > CA_NAME_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name", "name filter too long");
	return db_cert_list(ca->db, f, out, n, next_cursor, err);
}

int
ca_counts(struct ca *ca, struct db_counts *out, struct mica_err *err)
{
	return db_counts(ca->db, now_s(), out, err);
}

int
ca_audit_list(struct ca *ca, const struct ca_principal *p, int64_t since,
	      int64_t before_id, int limit, struct db_audit **out, size_t *n,
	      struct mica_err *err)
{
	*out = NULL;
	*n = 0;
	if (require_admin(p, err) != 0)
		return -1;
	if (limit <= 0 || limit > 10000)
		limit = 100;
	return db_audit_list(ca->db, since, before_id, limit, out, n, err);
}

/* ----------------------------------------------------------- tokens -- */

int
ca_token_create(struct ca *ca, const struct ca_principal *p,
		const struct ca_token_spec *spec, char token[CA_TOKEN_MAX],
		struct db_token *info, struct mica_err *err)
{
	unsigned char idraw[8], secret[32];
	char secret_hex[65], comment[256], *joined = NULL;
	struct db_token t;
	struct ca_name *v = NULL;
	int rc = -1;

	token[0] = '\0';
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (require_admin(p, err) != 0)
		return -1;
	if (spec->kind != DB_TOKEN_ENROLL && spec->kind != DB_TOKEN_ADMIN)
		return mica_err_set(err, MICA_E_BADREQ, "bad_kind",
				    "token kind must be enroll or admin");
	if (spec->kind == DB_TOKEN_ADMIN && (spec->profile != NULL || spec->nnames > 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_scope",
				    "an admin token has no profile or names scope");
	if (spec->profile != NULL && ca_profile_find(spec->profile) == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "unknown_profile",
				    "unknown profile (see 'mica profile list')");
	if (spec->uses < -1 || spec->uses > 1000000000)
		return mica_err_set(err, MICA_E_BADREQ, "bad_uses",
				    "uses must be a positive number (or -1 for unlimited)");
	if (spec->expires_in < 0 || spec->expires_in > (int64_t)3650 * 86400)
		return mica_err_set(err, MICA_E_BADREQ, "bad_expiry",
				    "expires_in must be between 1 second and 10 years");
	if (spec->nnames > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "too_many_names",
				    "at most %d names in a token scope", CA_NAMES_MAX);
	if (clean_text(spec->comment, 200, comment, sizeof(comment)) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_comment",
				    "comment longer than 200 characters");
	if (spec->nnames > 0) {
		if ((v = calloc(spec->nnames, sizeof(*v))) == NULL)
			return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		for (size_t i = 0; i < spec->nnames; i++)
			if (ca_name_parse(spec->names[i], 0, &v[i], err) != 0)
				goto out;
		if ((joined = join_names(v, spec->nnames)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			goto out;
		}
	}
	if (ca_random(idraw, sizeof(idraw), err) != 0 ||
	    ca_random(secret, sizeof(secret), err) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	mica_hex_encode(idraw, sizeof(idraw), t.id);
	ca_sha256(secret, sizeof(secret), t.hash);
	t.kind = spec->kind;
	t.profile = (char *)spec->profile;
	t.names = joined;
	t.uses_left = spec->kind == DB_TOKEN_ADMIN ? -1 : (spec->uses ? spec->uses : 1);
	t.created_at = now_s();
	t.expires_at = spec->expires_in > 0 ? t.created_at + spec->expires_in : 0;
	t.created_by = (char *)p->actor;
	t.comment = comment[0] ? comment : NULL;
	if (db_begin(ca->db, err) != 0)
		goto out;
	if (db_token_insert(ca->db, &t, err) != 0 ||
	    db_audit_add(ca->db, t.created_at, p->actor, "token.create", t.id,
			 spec->kind == DB_TOKEN_ADMIN ? "admin" : "enroll", err) != 0) {
		db_rollback(ca->db);
		goto out;
	}
	if (db_commit(ca->db, err) != 0)
		goto out;
	mica_hex_encode(secret, sizeof(secret), secret_hex);
	snprintf(token, CA_TOKEN_MAX, "mica_%s_%s", t.id, secret_hex);
	explicit_bzero(secret_hex, sizeof(secret_hex));
	if (info != NULL && db_token_get(ca->db, t.id, info, err) != 0)
		goto out;
	rc = 0;
out:
	explicit_bzero(secret, sizeof(secret));
	if (rc != 0)
		explicit_bzero(token, CA_TOKEN_MAX);
	free(joined);
	free(v);
	return rc;
}

int
ca_token_list(struct ca *ca, const struct ca_principal *p,
	      struct db_token **out, size_t *n, struct mica_err *err)
{
	*out = NULL;
	*n = 0;
	if (require_admin(p, err) != 0)
		return -1;
	return db_token_list(ca->db, out, n, err);
}

int
ca_token_revoke(struct ca *ca, const struct ca_principal *p, const char *id,
		struct mica_err *err)
{
	if (require_admin(p, err) != 0)
		return -1;
	if (!valid_id(id))
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such token");
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_token_revoke(ca->db, id, err) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor, "token.revoke", id, NULL, err) != 0) {
		db_rollback(ca->db);
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such token");
		return -1;
	}
	return db_commit(ca->db, err);
}

/* ----------------------------------------------------------- backup -- */

int
ca_backup(struct ca *ca, const char *dest, struct mica_err *err)
{
	if (access(dest, F_OK) == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "exists",
				    "%s exists; refusing to overwrite it", dest);
	if (db_backup(ca->db, dest, err) != 0)
		return -1;
	return db_audit_add(ca->db, now_s(), "cli", "ca.backup", NULL, NULL, err);
}

int
ca_restore(const char *datadir, const char *file, struct mica_err *err)
{
	struct db *src = NULL, *dst = NULL;
	struct db_ca row;
	char dbpath[PATH_MAX];
	mode_t old_umask;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (path_join(dbpath, sizeof(dbpath), datadir, CA_DB_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
	if (access(dbpath, F_OK) == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
				    "%s already holds a CA; restore into an empty directory", datadir);
	old_umask = umask(077);
	if (mkdir(datadir, 0700) != 0 && errno != EEXIST) {
		umask(old_umask);
		return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "cannot create the data directory: %s", strerror(errno));
	}
	umask(old_umask);
	if (db_open(file, DB_OPEN_READONLY, &src, err) != 0)
		goto out;
	if (db_integrity_check(src, err) != 0)
		goto out;
	if (db_ca_get(src, &row, err) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "not_a_backup",
			     "%s holds no mica CA", file);
		goto out;
	}
	if (db_backup(src, dbpath, err) != 0)
		goto out;
	/* Reopen read-write: applies any newer migrations and checks it. */
	if (db_open(dbpath, 0, &dst, err) != 0 || db_integrity_check(dst, err) != 0)
		goto out;
	if (db_audit_add(dst, now_s(), "cli", "ca.restore", NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_ca_free(&row);
	db_close(src);
	db_close(dst);
	if (rc != 0 && access(dbpath, F_OK) == 0 && src != NULL)
		unlink_db(dbpath);
	return rc;
}

/* ---------------------------------------------------- configuration -- */

int
ca_domain_list(struct ca *ca, char ***out, struct mica_err *err)
{
	return db_domain_list(ca->db, out, err);
}

static int
domain_change(struct ca *ca, const struct ca_principal *p, const char *domain,
	      int add, struct mica_err *err)
{
	struct ca_name n;

	if (require_admin(p, err) != 0)
		return -1;
	if (ca_name_parse(domain, CA_NAME_DNS, &n, err) != 0 || n.value[0] == '*')
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "not a valid DNS domain");
	if (db_begin(ca->db, err) != 0)
		return -1;
	if ((add ? db_domain_add(ca->db, n.value, err)
		 : db_domain_remove(ca->db, n.value, err)) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor,
			 add ? "domain.add" : "domain.remove", n.value, NULL, err) != 0) {
		db_rollback(ca->db);
		return -1;
	}
	return db_commit(ca->db, err);
}

int
ca_domain_add(struct ca *ca, const struct ca_principal *p, const char *domain,
	      struct mica_err *err)
{
	return domain_change(ca, p, domain, 1, err);
}

int
ca_domain_remove(struct ca *ca, const struct ca_principal *p,
		 const char *domain, struct mica_err *err)
{
	return domain_change(ca, p, domain, 0, err);
}

int
ca_profile_days(struct ca *ca, const char *profile, int *def, int *max,
		struct mica_err *err)
{
	const struct ca_profile *prof = find_profile(profile, err);

	if (prof == NULL)
		return -1;
	return profile_days(ca, prof, def, max, err);
}

int
ca_profile_set_days(struct ca *ca, const struct ca_principal *p,
		    const char *profile, int def, int max, struct mica_err *err)
{
	const struct ca_profile *prof;
	char detail[64];

	if (require_admin(p, err) != 0)
		return -1;
	if ((prof = find_profile(profile, err)) == NULL)
		return -1;
	if (def < 1 || max < def || max > 3650)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "need 1 <= default days <= max days <= 3650");
	snprintf(detail, sizeof(detail), "default %d, max %d days", def, max);
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_profile_set_days(ca->db, prof->name, def, max, err) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor, "profile.set", prof->name,
			 detail, err) != 0) {
		db_rollback(ca->db);
		return -1;
	}
	return db_commit(ca->db, err);
}

int
ca_passphrase_change(struct ca *ca, const struct ca_principal *p,
		     const char *new_file, struct mica_err *err)
{
	struct ca_sealed_key sealed;
	struct db_ca row;
	char *pass = NULL;
	int rc = -1;

	memset(&sealed, 0, sizeof(sealed));
	memset(&row, 0, sizeof(row));
	if (require_admin(p, err) != 0 || require_key(ca, err) != 0)
		return -1;
	if (read_pass_file(new_file, &pass, err) != 0)
		return -1;
	if (ca_key_seal(ca->sh->key, pass, strlen(pass), CA_KDF_DEFAULT_ITER,
			&sealed, err) != 0)
		goto out;
	row_set_sealed(&row, &sealed);
	if (db_begin(ca->db, err) != 0)
		goto out;
	if (db_ca_update_key(ca->db, &row, err) != 0 ||
	    db_audit_add(ca->db, now_s(), p->actor, "ca.passphrase", NULL,
			 "key re-sealed under a new passphrase", err) != 0) {
		db_rollback(ca->db);
		goto out;
	}
	if (db_commit(ca->db, err) != 0)
		goto out;
	rc = 0;
out:
	secure_free(pass);
	ca_sealed_key_free(&sealed);
	return rc;
}
