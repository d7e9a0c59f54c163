/*
 * tests/bench/bulkload.c - fill a mica store with revoked certificates
 * (bench only: the CRL benchmark needs 10k..1M of them, which mica itself
 * would take hours to issue and revoke one by one).
 *
 * Usage: bulkload [-s SEED] [-g PCT] [-o SERIALS.tsv] [-Q]
 *                 [-G [-t TEMPLATE.der]] DB N
 *
 * DB must be a store made by 'mica init' (schema/001_init.sql applied) and
 * not in use. In one transaction it inserts N certificate rows in the
 * revoked state and their cert_name rows, consistent with the schema's
 * CHECKs and with what mica writes for an issued-then-revoked certificate:
 *
 *   serial       16 random octets, top bit clear, first octet non-zero,
 *                lowercase hex, unique (with -G: as ca/serial.c
 *                ca_serial_new makes them, the not_before in
 *                milliseconds then 10 random octets)
 *   profile      server; subject CN=hNNN.mica.contoso.test; names the same
 *   not_before   1..300 days ago; not_after 1..365 days ahead (so every
 *                one of them belongs on the CRL, RFC 5280 5.1.2.6)
 *   status 2, revoked_at between not_before and now, reason one of
 *                unspecified(0), keyCompromise(1), affiliationChanged(3),
 *                superseded(4), cessationOfOperation(5) (RFC 5280 5.3.1)
 *   der          NULL: the schema allows it for a revoked row (a
 *                certificate revoked while it was being signed), and CRL
 *                generation reads only the certificate_crl covering
 *                index, never the DER. spki_sha256 is random.
 *
 * With -g PCT, PCT percent of the rows (chosen at random) are valid
 * instead (status 1, no revocation): the OCSP benchmark pre-signs a mix
 * of good and revoked responses. The schema wants a DER for a valid row;
 * it gets a placeholder (an empty SEQUENCE, 30 00): the responder and the
 * publication read the serial and the state, never the certificate.
 *
 * With -o, one line per certificate is written to SERIALS.tsv:
 *   serial_hex TAB revoked_at TAB reason TAB not_after
 * (revoked_at 0 and reason -1 for a valid row)
 * so that the same revocations can be fed to openssl ca and cfssl gencrl.
 *
 * With -G (the growth benchmark: a store as years of use leave it) the
 * rows are instead what mica keeps for a real population, PCT percent
 * valid (-g, default 90) and the rest revoked:
 *   names        1 to 3 per certificate, h<i>.d<i%50>.contoso.test and
 *                sometimes www<i>... and mail<i>... (cert_name rows too)
 *   not_before   spread over the 400 days before now in row order (older
 *                rows first, as issuance leaves them), validity 90 days
 *                (40%), 365 (50%) or 398 (10%): a part has expired, and
 *                what expires within 30 days was issued long ago
 *   der          the bytes of TEMPLATE.der (a real certificate of mica's,
 *                so that the store has its real size; the serial inside
 *                is the template's), else 700 random octets in a SEQUENCE
 *   ocsp_response one fresh row per unexpired certificate, 300 octets,
 *                as the daemon's background refresh keeps them in steady
 *                state (a cold store would make the daemon sign millions
 *                of responses first). These rows are placeholders: the
 *                growth benchmark never asks /ocsp about them.
 *   revoked_at   between not_before and now; reasons as above
 *   created_at   not_before
 * Rows print a line to SERIALS.tsv as above (-o), plus the first name.
 * The revoked rows keep a DER too (an issued certificate revoked later).
 * With -Q (implied by -G) the store is left as a running daemon's OCSP
 * refresh leaves it: the marks the inserts made (schema/012's triggers
 * mark every certificate inserted valid or revoked, for the refresh to
 * sign) are removed, and the CA's key is recorded as walked, so a
 * daemon started on the store does not spend its first minutes signing
 * a response for every row (without -G the rows then have none: the
 * responder signs one on demand). Without -Q a daemon signs them all,
 * which is what the OCSP benchmarks measure.
 * With -s the content is reproducible (a seeded generator, not a CSPRNG:
 * these serials protect nothing).
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o bulkload tests/bench/bulkload.c -lsqlite3
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SERIAL_LEN 16
#define MAX_N      20000000L

static uint64_t rng_state;

/* splitmix64: fast, seedable, good enough for test data. */
static uint64_t
next64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t
rand_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next64() % (uint64_t)(hi - lo + 1));
}

static void
new_serial(unsigned char s[SERIAL_LEN])
{
	uint64_t a, b;

	do {
		a = next64();
		b = next64();
		memcpy(s, &a, 8);
		memcpy(s + 8, &b, 8);
		s[0] &= 0x7f;
	} while (s[0] == 0);
}

/* -G: what ca/serial.c ca_serial_new makes at time AT (seconds): six
 * octets of milliseconds since 1970, then ten random ones. */
static void
time_serial(unsigned char s[SERIAL_LEN], int64_t at)
{
	uint64_t ms = (uint64_t)at * 1000 + (uint64_t)rand_range(0, 999);
	uint64_t a = next64(), b = next64();

	for (int k = 5; k >= 0; k--, ms >>= 8)
		s[k] = (unsigned char)ms;
	memcpy(s + 6, &a, 8);
	memcpy(s + 14, &b, SERIAL_LEN - 14);
	s[0] &= 0x7f;
	if (s[0] == 0)
		s[0] = 1;
}

static int
sync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		fprintf(stderr, "bulkload: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static int
cmp_serial(const void *a, const void *b)
{
	return memcmp(a, b, SERIAL_LEN);
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bulkload: %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Prepare SQL on DB into *ST, saying what failed. */
static int
prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bulkload: prepare: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int
step(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "bulkload: %s: %s\n", what, sqlite3_errmsg(db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

/* -G: N rows of a store in steady use (see the header). */
static int
load_growth(sqlite3 *db, unsigned char *serials, long n, int64_t now,
	    int good_pct, const unsigned char *der, size_t der_len, FILE *out)
{
	static const int reasons[] = { 0, 1, 1, 3, 4, 4, 4, 5, 5, 5 };
	static unsigned char ocsp[300];
	sqlite3_stmt *ins = NULL, *name = NULL, *resp = NULL;
	const int64_t span = 400 * 86400;
	int rc = -1;
	long i;

	/* A placeholder OCSPResponse: a SEQUENCE of the size of a real one. */
	ocsp[0] = 0x30;
	ocsp[1] = 0x82;
	ocsp[2] = (sizeof(ocsp) - 4) >> 8;
	ocsp[3] = (sizeof(ocsp) - 4) & 0xff;
	for (size_t k = 4; k < sizeof(ocsp); k++)
		ocsp[k] = (unsigned char)next64();
	if (prep(db, "INSERT INTO certificate (serial, profile, subject, names, "
		 "request_id, not_before, not_after, der, spki_sha256, status, "
		 "revoked_at, reason, created_at) VALUES "
		 "(?1, 'server', ?2, ?3, NULL, ?4, ?5, ?9, ?6, ?10, ?7, ?8, ?4)",
		 &ins) != 0 ||
	    prep(db, "INSERT INTO cert_name (serial, name) VALUES (?1, ?2)",
		 &name) != 0 ||
	    prep(db, "INSERT INTO ocsp_response (serial, status, revoked_at, "
		 "reason, this_update, next_update, der) VALUES "
		 "(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &resp) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		char sh[2 * SERIAL_LEN + 1], names[3][64], joined[200], subj[80];
		unsigned char spki[32];
		int64_t nb = now - span + (int64_t)((double)span * i / n) -
			     rand_range(0, 3600);
		int64_t r100 = rand_range(0, 99);
		int64_t days = r100 < 40 ? 90 : r100 < 90 ? 365 : 398;
		int64_t na = nb + days * 86400;
		int good = (int)(next64() % 100) < good_pct;
		int64_t rev = good ? 0 : rand_range(nb, now - 1);
		int reason = good ? -1 :
			     reasons[next64() % (sizeof(reasons) / sizeof(reasons[0]))];
		int nn = 1, k;
		size_t jl = 0;

		/* As ca_serial_new makes them: the issue time in
		 * milliseconds, then random octets. */
		time_serial(serials + i * SERIAL_LEN, nb);
		hex(serials + i * SERIAL_LEN, SERIAL_LEN, sh);
		snprintf(names[0], sizeof(names[0]), "h%ld.d%ld.contoso.test",
			 i, i % 50);
		if (next64() % 10 < 3)
			snprintf(names[nn++], sizeof(names[0]),
				 "www%ld.d%ld.contoso.test", i, i % 50);
		if (next64() % 10 < 1)
			snprintf(names[nn++], sizeof(names[0]),
				 "mail%ld.d%ld.contoso.test", i, i % 50);
		joined[0] = '\0';
		for (k = 0; k < nn; k++)
			jl += (size_t)snprintf(joined + jl, sizeof(joined) - jl,
					       "%s%s", k ? "\n" : "", names[k]);
		snprintf(subj, sizeof(subj), "CN=%s", names[0]);
		for (k = 0; k < 4; k++) {
			uint64_t r = next64();

			memcpy(spki + 8 * k, &r, 8);
		}
		sqlite3_bind_text(ins, 1, sh, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, subj, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, joined, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 4, nb);
		sqlite3_bind_int64(ins, 5, na);
		sqlite3_bind_blob(ins, 6, spki, sizeof(spki), SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 7, rev);
		sqlite3_bind_int(ins, 8, reason);
		sqlite3_bind_blob(ins, 9, der, (int)der_len, SQLITE_STATIC);
		sqlite3_bind_int(ins, 10, good ? 1 : 2);
		if (step(db, ins, "insert") != 0)
			goto out;
		for (k = 0; k < nn; k++) {
			sqlite3_bind_text(name, 1, sh, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(name, 2, names[k], -1, SQLITE_TRANSIENT);
			if (step(db, name, "insert name") != 0)
				goto out;
		}
		if (na > now) {
			sqlite3_bind_text(resp, 1, sh, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(resp, 2, good ? 1 : 2);
			sqlite3_bind_int64(resp, 3, rev);
			sqlite3_bind_int(resp, 4, reason);
			sqlite3_bind_int64(resp, 5, now);
			sqlite3_bind_int64(resp, 6, now + 7 * 86400);
			sqlite3_bind_blob(resp, 7, ocsp, sizeof(ocsp), SQLITE_STATIC);
			if (step(db, resp, "insert OCSP response") != 0)
				goto out;
		}
		if (out != NULL)
			fprintf(out, "%s\t%" PRId64 "\t%d\t%" PRId64 "\t%s\n", sh,
				rev, reason, na, names[0]);
	}
	rc = 0;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(name);
	sqlite3_finalize(resp);
	return rc;
}

/* The whole of file PATH into *BUF (at most 64 KiB). */
static int
read_file(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL || (*buf = malloc(65536)) == NULL) {
		fprintf(stderr, "bulkload: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	n = fread(*buf, 1, 65536, f);
	fclose(f);
	if (n == 0 || n == 65536) {
		fprintf(stderr, "bulkload: %s: empty or too large\n", path);
		free(*buf);
		*buf = NULL;
		return -1;
	}
	*len = n;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bulkload [-s SEED] [-g PCT] [-o SERIALS.tsv] "
		"[-Q] [-G [-t TEMPLATE.der]] DB N\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	/* The reasons 'openssl ca' can also record (it has no
	 * privilegeWithdrawn), so every tool gets the same CRL content. */
	static const int reasons[] = { 0, 1, 1, 3, 4, 4, 4, 5, 5, 5 };
	const char *out_path = NULL, *db_path;
	unsigned char *serials = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL, *name = NULL, *chk = NULL;
	FILE *out = NULL;
	static const unsigned char placeholder[2] = { 0x30, 0x00 };
	int have_seed = 0, c, rc = 1, good_pct = -1, growth = 0;
	int quiet = 0;
	const char *tmpl_path = NULL;
	unsigned char *tmpl = NULL;
	size_t tmpl_len = 0;
	uint64_t seed = 0;
	long n, i;
	int64_t now = (int64_t)time(NULL);
	struct timespec t0, t1;

	while ((c = getopt(argc, argv, "s:g:o:QGt:h")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		case 'g':
			good_pct = atoi(optarg);
			if (good_pct < 0 || good_pct > 100)
				usage();
			break;
		case 'o': out_path = optarg; break;
		case 'G': growth = 1; quiet = 1; break;
		case 'Q': quiet = 1; break;
		case 't': tmpl_path = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || (tmpl_path != NULL && !growth))
		usage();
	if (good_pct < 0)
		good_pct = growth ? 90 : 0;
	if (growth) {
		if (tmpl_path != NULL) {
			if (read_file(tmpl_path, &tmpl, &tmpl_len) != 0)
				return 1;
		} else {
			/* 700 octets: a SEQUENCE the size of a real one. */
			tmpl_len = 700;
			if ((tmpl = malloc(tmpl_len)) == NULL)
				return 1;
			tmpl[0] = 0x30;
			tmpl[1] = 0x82;
			tmpl[2] = (unsigned char)((tmpl_len - 4) >> 8);
			tmpl[3] = (unsigned char)((tmpl_len - 4) & 0xff);
			for (size_t k = 4; k < tmpl_len; k++)
				tmpl[k] = (unsigned char)(k * 131 + 7);
		}
	}
	db_path = argv[optind];
	n = strtol(argv[optind + 1], NULL, 10);
	if (n < 1 || n > MAX_N)
		usage();
	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		fprintf(stderr, "bulkload: getrandom: %s\n", strerror(errno));
		return 1;
	}
	rng_state = seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* Serials sorted, so that the inserts append to the indexes; the
	 * CRL walk reads the serial-ordered index whatever the row order.
	 * With -G each row makes its own, from its notBefore (load_growth):
	 * only the room for them here. */
	if ((serials = malloc((size_t)n * SERIAL_LEN)) == NULL) {
		fprintf(stderr, "bulkload: out of memory\n");
		goto out;
	}
	if (!growth) {
		for (i = 0; i < n; i++)
			new_serial(serials + i * SERIAL_LEN);
		for (;;) {
			int dup = 0;

			qsort(serials, (size_t)n, SERIAL_LEN, cmp_serial);
			for (i = 1; i < n; i++)
				if (memcmp(serials + (i - 1) * SERIAL_LEN,
					   serials + i * SERIAL_LEN, SERIAL_LEN) == 0) {
					new_serial(serials + i * SERIAL_LEN);
					dup = 1;
				}
			if (!dup)
				break;
		}
	}

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "bulkload: %s: %s\n", db_path,
			db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE "
			       "type = 'table' AND name IN ('certificate', "
			       "'cert_name')", -1, &chk, NULL) != SQLITE_OK ||
	    sqlite3_step(chk) != SQLITE_ROW || sqlite3_column_int(chk, 0) != 2) {
		fprintf(stderr, "bulkload: %s is not a mica store "
			"(run 'mica init' first)\n", db_path);
		goto out;
	}
	sqlite3_finalize(chk);
	chk = NULL;
	/* Bench data only: no need to survive a power cut while loading.
	 * -G writes gigabytes: straight into the file, not through the WAL
	 * (which would write every page twice); WAL again at the end. */
	if ((growth && exec(db, "PRAGMA journal_mode = OFF")) ||
	    exec(db, "PRAGMA synchronous = OFF") ||
	    exec(db, growth ? "PRAGMA cache_size = -1048576" :
		 "PRAGMA cache_size = -262144") ||
	    exec(db, "PRAGMA foreign_keys = ON") ||
	    exec(db, "BEGIN IMMEDIATE"))
		goto out;
	if (sqlite3_prepare_v2(db,
		"INSERT INTO certificate (serial, profile, subject, names, "
		"request_id, not_before, not_after, der, spki_sha256, status, "
		"revoked_at, reason, created_at) VALUES "
		"(?1, 'server', ?2, ?3, NULL, ?4, ?5, ?9, ?6, ?10, ?7, ?8, ?4)",
		-1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"INSERT INTO cert_name (serial, name) VALUES (?1, ?2)",
		-1, &name, NULL) != SQLITE_OK) {
		fprintf(stderr, "bulkload: prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "bulkload: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	if (growth && load_growth(db, serials, n, now, good_pct, tmpl, tmpl_len,
				  out) != 0)
		goto out;
	for (i = 0; !growth && i < n; i++) {
		char sh[2 * SERIAL_LEN + 1], host[64], subj[80];
		unsigned char spki[32];
		int64_t nb = now - rand_range(1, 300) * 86400 - rand_range(0, 86399);
		int64_t na = now + rand_range(1, 365) * 86400 + rand_range(0, 86399);
		int64_t rev = rand_range(nb, now - 1);
		int reason = reasons[next64() % (sizeof(reasons) / sizeof(reasons[0]))];
		/* Drawn only with -g: without it the data of a seed is what
		 * it always was. */
		int good = good_pct > 0 && (int)(next64() % 100) < good_pct;
		int k;

		if (good) {
			rev = 0;
			reason = -1;
		}

		hex(serials + i * SERIAL_LEN, SERIAL_LEN, sh);
		snprintf(host, sizeof(host), "h%ld.mica.contoso.test", i);
		snprintf(subj, sizeof(subj), "CN=%s", host);
		for (k = 0; k < 4; k++) {
			uint64_t r = next64();

			memcpy(spki + 8 * k, &r, 8);
		}
		sqlite3_bind_text(ins, 1, sh, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, subj, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, host, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 4, nb);
		sqlite3_bind_int64(ins, 5, na);
		sqlite3_bind_blob(ins, 6, spki, sizeof(spki), SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 7, rev);
		sqlite3_bind_int(ins, 8, reason);
		if (good)
			sqlite3_bind_blob(ins, 9, placeholder, sizeof(placeholder),
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 9);
		sqlite3_bind_int(ins, 10, good ? 1 : 2);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "bulkload: insert: %s\n",
				sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(name, 1, sh, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(name, 2, host, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(name) != SQLITE_DONE) {
			fprintf(stderr, "bulkload: insert name: %s\n",
				sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(name);
		if (out != NULL)
			fprintf(out, "%s\t%" PRId64 "\t%d\t%" PRId64 "\n", sh, rev,
				reason, na);
	}
	if (quiet && (exec(db, "DELETE FROM ocsp_dirty") ||
		      exec(db, "INSERT OR REPLACE INTO ocsp_walked "
			   "(key_idx, by_ca) VALUES (0, 0)")))
		goto out;
	if (exec(db, "COMMIT"))
		goto out;
	if (out != NULL && fclose(out) != 0) {
		out = NULL;
		fprintf(stderr, "bulkload: %s: write failed\n", out_path);
		goto out;
	}
	out = NULL;
	/* Leave a store with an empty WAL, as mica leaves it on close. */
	if ((growth && exec(db, "PRAGMA journal_mode = WAL")) ||
	    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"))
		goto out;
	/* And on the disk: written with synchronous = OFF, gigabytes of the
	 * store would otherwise still wait in the page cache, and the first
	 * fsync of whatever comes next (mica crl, the daemon's close) would
	 * pay for writing them - a 10M store's first daemon took over 20 s
	 * to stop. */
	if (sync_file(db_path) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "bulkload: %ld certificates (%d%% valid, the rest "
		"revoked) in %.2f s\n", n, good_pct,
		(double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = 0;
out:
	if (out != NULL)
		fclose(out);
	sqlite3_finalize(chk);
	sqlite3_finalize(ins);
	sqlite3_finalize(name);
	if (db != NULL && sqlite3_get_autocommit(db) == 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	free(serials);
	free(tmpl);
	return rc;
}
