/*
 * db/crls.c - the CRL table: each CRL the CA issued, numbered upwards
 * (RFC 5280 5.2.3), and the latest one. Since schema 013 a CRL's body may
 * live beside the store, in mica.db-crls/NUMBER.crl, its row keeping its
 * length and SHA-256 (db_crl_body_put).
 */
#include "db/db.h"
#include "db/db_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "util/bigmem.h"
#include "util/fault.h"
#include "util/fsname.h"
#include "util/log.h"

static const char *const crl_sql[S__COUNT] = {
	[S_CRL_LAST] = "SELECT COALESCE(MAX(number), 0) FROM crl",
	[S_CRL_LINEAGE] =
	"SELECT COALESCE(MAX(number), 0) FROM crl "
	"WHERE key_idx = ?1 AND delta_base = 0 AND (?2 = 0 OR "
	"(SELECT restored_floor FROM ca WHERE id = 1) = 0 OR "
	"number <= (SELECT restored_floor FROM ca WHERE id = 1))",
	[S_CRL_LAST_DATE] =
	"SELECT this_update FROM crl ORDER BY number DESC LIMIT 1",
	/* A full scan, for a rare admin action (deltas turned off). */
	[S_CRL_MAX_NEXT] =
	"SELECT coalesce(max(next_update), 0) FROM crl WHERE delta_base = 0",
	/* Set by a restore (schema 019). */
	[S_CA_CRL_FLOOR] = "SELECT crl_floor FROM ca WHERE id = 1",
	[S_CA_RESTORED_FLOOR] =
	"SELECT restored_floor FROM ca WHERE id = 1",
	/* RFC 5280 5.2.3: monotonically increasing, checked in the same
	 * statement so that two writers cannot both pass a separate check. */
	[S_CRL_INSERT] =
	"INSERT INTO crl (number, this_update, next_update, der, key_idx, "
	"delta_base, body_len, body_sha256) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",   /* number checked first,
						      * same tx */
	/* The complete CRLs (delta_base 0), and the deltas (schema 007). */
	[S_CRL_LATEST] =
	"SELECT number, this_update, next_update, der, delta_base, body_len, "
	"body_sha256 FROM crl "
	"WHERE key_idx = ?1 AND delta_base = 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_INFO] =
	"SELECT number, this_update, next_update, NULL, delta_base FROM crl "
	"WHERE key_idx = ?1 AND delta_base = 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_DELTA] =
	"SELECT number, this_update, next_update, der, delta_base, body_len, "
	"body_sha256 FROM crl "
	"WHERE key_idx = ?1 AND delta_base > 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_DELTA_INFO] =
	"SELECT number, this_update, next_update, NULL, delta_base FROM crl "
	"WHERE key_idx = ?1 AND delta_base > 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_DELTA_GET] = "SELECT hours FROM crl_delta WHERE id = 1",
	[S_CRL_DELTA_SET] =
	"INSERT OR REPLACE INTO crl_delta (id, hours) VALUES (1, ?1)",
	[S_CRL_DELTA_OFF] = "DELETE FROM crl_delta",
	/* The bodies beside the store still needed, for key ?1: its two
	 * newest complete CRLs and two newest deltas (a reader may have just
	 * looked up the one before the newest). Each walks crl_by_key down
	 * from the top, whatever the number of CRLs stored. */
	[S_CRL_BODIES_KEEP] =
	"SELECT number FROM (SELECT number FROM crl WHERE key_idx = ?1 AND "
	"delta_base = 0 ORDER BY number DESC LIMIT 2) UNION ALL "
	"SELECT number FROM (SELECT number FROM crl WHERE key_idx = ?1 AND "
	"delta_base > 0 ORDER BY number DESC LIMIT 2)",
};

/* A body beside the store is at most this large: far above any CRL mica
 * makes (a million entries take some 45 MiB), and a bound on what a
 * damaged file can make a reader allocate. */
#define CRL_BODY_MAX  ((int64_t)1 << 30)
/* The folder beside the store's file, named after it. */
#define CRL_BODY_DIR  "-crls"

/* *OUT: the first column of the one row statement ID gives, 0 if none. */
static int
crl_scalar(struct db *db, enum db_stmt_id id, int64_t *out,
	   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, id, crl_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_last_number(struct db *db, int64_t *out, struct mica_err *err)
{
	return crl_scalar(db, S_CRL_LAST, out, err);
}

int
db_crl_lineage(struct db *db, int key_idx, int before_restore, int64_t *out,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, S_CRL_LINEAGE, crl_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	db_bind_i64(st, 2, before_restore != 0, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_crl_floor(struct db *db, int64_t *out, struct mica_err *err)
{
	return crl_scalar(db, S_CA_CRL_FLOOR, out, err);
}

int
db_ca_restored_floor(struct db *db, int64_t *out, struct mica_err *err)
{
	return crl_scalar(db, S_CA_RESTORED_FLOOR, out, err);
}

int
db_crl_last_date(struct db *db, int64_t *out, struct mica_err *err)
{
	return crl_scalar(db, S_CRL_LAST_DATE, out, err);
}

int
db_crl_max_next_update(struct db *db, int64_t *out, struct mica_err *err)
{
	return crl_scalar(db, S_CRL_MAX_NEXT, out, err);
}

/* Write DATA into the zero-filled blob TABLE.COLUMN of row ROWID (inserted
 * by the caller in its open transaction). */
static int
blob_fill(sqlite3 *h, const char *table, const char *column,
	  sqlite3_int64 rowid, const unsigned char *data, size_t len,
	  struct mica_err *err)
{
	sqlite3_blob *blob = NULL;
	size_t off = 0, n;
	int rc;

	rc = sqlite3_blob_open(h, "main", table, column, rowid, 1, &blob);
	while (rc == SQLITE_OK && off < len) {
		n = len - off > (1u << 20) ? (1u << 20) : len - off;
		rc = sqlite3_blob_write(blob, data + off, (int)n, (int)off);
		off += n;
	}
	if (rc != SQLITE_OK) {
		sqlite3_blob_close(blob);
		return db_fail(NULL, rc, NULL, NULL, err);
	}
	if ((rc = sqlite3_blob_close(blob)) != SQLITE_OK)
		return db_fail(NULL, rc, NULL, NULL, err);
	return 0;
}

/* The folder of CRL bodies of the store H (FILE-crls beside its FILE, as
 * SQLite's FILE-wal) into OUT; -1 for a store in memory (its bodies stay
 * in the rows) or a path too long. */
static int
body_dir(sqlite3 *h, char *out, size_t size)
{
	const char *f = sqlite3_db_filename(h, "main");
	int n;

	if (f == NULL || f[0] == '\0' || db_is_memory(f))
		return -1;
	n = snprintf(out, size, "%s" CRL_BODY_DIR, f);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* "DIR/NUMBER.crl" into OUT. */
static int
body_path(const char *dir, int64_t number, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%lld.crl", dir, (long long)number);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Read back the body of CRL NUMBER from DIR, checked against the LEN and
 * SHA-256 its row recorded: *OUT (heap), or -1 with ERR set. ENOENT is
 * told apart (*GONE, and logged only if LOG_GONE) so that a reader can
 * look the newest CRL up again. */
static int
body_read(const char *dir, int64_t number, int64_t len,
	  const unsigned char sha[32], unsigned char **out, int *gone,
	  int log_gone, struct mica_err *err)
{
	char path[PATH_MAX];
	unsigned char got[32], *buf = NULL;
	struct stat sb;
	size_t off = 0;
	int fd = -1, rc = -1, busy = 0;   /* busy: the errno that kept it */

	*out = NULL;
	*gone = 0;
	if (len <= 0 || len > CRL_BODY_MAX ||
	    body_path(dir, number, path, sizeof(path)) != 0)
		goto bad;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		*gone = errno == ENOENT;
		/* Out of descriptors or memory, interrupted, denied for now:
		 * not the body's fault. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == EINTR || errno == EAGAIN || errno == EACCES)
			busy = errno;
		if (!*gone || log_gone)
			mica_log(MICA_LOG_ERR, "db: CRL %lld: cannot open %s: %s",
				 (long long)number, path, strerror(errno));
		goto bad;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != len) {
		mica_log(MICA_LOG_ERR, "db: CRL %lld: %s is not the %lld octets "
			 "recorded", (long long)number, path, (long long)len);
		goto bad;
	}
	if ((buf = malloc((size_t)len)) == NULL) {
		close(fd);
		return db_oom(err);
	}
	mica_mem_big(buf, (size_t)len);
	while (off < (size_t)len) {
		ssize_t r = read(fd, buf + off, (size_t)len - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0 && (errno == ENOMEM || errno == EAGAIN))
				busy = errno;
			mica_log(MICA_LOG_ERR, "db: CRL %lld: reading %s: %s",
				 (long long)number, path,
				 r < 0 ? strerror(errno) : "short file");
			goto bad;
		}
		off += (size_t)r;
	}
	if (mbedtls_sha256(buf, (size_t)len, got, 0) != 0 ||
	    memcmp(got, sha, 32) != 0) {
		mica_log(MICA_LOG_ERR, "db: CRL %lld: %s does not match the hash "
			 "recorded", (long long)number, path);
		goto bad;
	}
	*out = buf;
	buf = NULL;
	rc = 0;
	goto out;
bad:
	if (busy)
		mica_err_set(err, MICA_E_UNAVAIL, "crl_body_unreadable",
			     "CRL %lld, kept beside the store as mica.db%s/"
			     "%lld.crl, cannot be read now (%s); try again",
			     (long long)number, CRL_BODY_DIR, (long long)number,
			     strerror(busy));
	else
		mica_err_set(err, MICA_E_INTERNAL, "crl_body_damaged",
			     "CRL %lld, kept beside the store as mica.db%s/"
			     "%lld.crl, is missing or damaged; publish a new CRL "
			     "('mica crl')", (long long)number, CRL_BODY_DIR,
			     (long long)number);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* Is NUMBER in the sorted list V of N? */
static int
kept(const int64_t *v, size_t n, int64_t number)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == number)
			return 1;
		if (v[mid] < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Remove from DIR the bodies no longer needed: those of numbers at most
 * the highest recorded (a higher one is being written by a publisher that
 * has not recorded it yet) that S_CRL_BODIES_KEEP does not list, and the
 * temporary files of such numbers a crash left (CRL_TMP_STALE_S old).
 * Best effort. */
#define CRL_TMP_STALE_S 600
static void
body_prune(struct db *db, const char *dir)
{
	sqlite3_stmt *st = NULL;
	struct mica_err e;
	int64_t last = 0, *keep = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int r;

	/* The highest number first: a CRL recorded between the two reads
	 * only makes the list of those kept newer. */
	if (db_crl_last_number(db, &last, &e) != 0)
		goto out;
	for (int key = 0; key < DB_KEYS_MAX; key++) {
		int b = SQLITE_OK;

		if ((st = db_stmt(db, S_CRL_BODIES_KEEP, crl_sql, &e)) == NULL)
			goto out;
		db_bind_i64(st, 1, key, &b);
		if (db_binds_ok(db, b, &e) != 0)
			goto out;
		while ((r = db_step_row(db, st, &e)) == 1) {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 16;
				int64_t *v = realloc(keep, c * sizeof(*v));

				if (v == NULL)
					goto out;
				keep = v;
				cap = c;
			}
			keep[n++] = sqlite3_column_int64(st, 0);
		}
		if (r < 0)
			goto out;
		db_stmt_done(st);
		st = NULL;
	}
	if (n > 1)
		qsort(keep, n, sizeof(*keep), cmp_i64);
	if ((d = opendir(dir)) == NULL)
		goto done;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long long num;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		num = strtoll(de->d_name, &end, 10);
		if (errno != 0 || end[0] != '.' || num > last ||
		    (strcmp(end, ".crl") == 0 && kept(keep, n, num)))
			continue;
		if (strcmp(end, ".crl") != 0 && strncmp(end, ".crl.", 5) != 0)
			continue;
		/* A temporary file may be another process's, being written
		 * for a number published meanwhile (it then fails to record
		 * it, and takes the next): only one older than any such
		 * write is what a crash left. */
		if (strcmp(end, ".crl") != 0) {
			struct stat sb;

			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
			    (int64_t)time(NULL) - (int64_t)sb.st_mtime < CRL_TMP_STALE_S)
				continue;
		}
		if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
			mica_log(MICA_LOG_WARN, "db: cannot remove %s/%s: %s",
				 dir, de->d_name, strerror(errno));
	}
	closedir(d);
	goto done;
out:
	db_stmt_done(st);
done:
	free(keep);
}

/* Write all of BUF to FD. */
static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The SHA-256 of a body, taken on a thread of its own while the body is
 * written and synced (at a million entries each takes 0.1-0.2 s). */
struct body_hash {
	const unsigned char *p;
	size_t n;
	unsigned char out[32];
	int rc;
};

static void *
body_hash_run(void *arg)
{
	struct body_hash *h = arg;

	h->rc = mbedtls_sha256(h->p, h->n, h->out, 0);
	return NULL;
}

/* Below this a thread costs more than it saves. */
#define BODY_HASH_THREAD_MIN ((size_t)1 << 20)

int
db_crl_body_put(struct db *db, struct db_crl *crl, struct mica_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	struct body_hash h;
	pthread_t hasher;
	int fd = -1, rc = -1, n, hashing = 0;

	if (db == NULL || crl == NULL || crl->der == NULL || crl->der_len == 0 ||
	    (int64_t)crl->der_len > CRL_BODY_MAX || crl->number < 1)
		return db_bad_arg(err);
	crl->body_put = 0;
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db->readonly || body_dir(db->h, dir, sizeof(dir)) != 0)
		return 0;   /* in memory: the body goes into the row */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		mica_log(MICA_LOG_ERR, "db: cannot create %s: %s", dir,
			 strerror(errno));
		return db_unavail(err, "cannot create the folder of CRLs "
				  "beside the store");
	}
	body_prune(db, dir);
	/* Unique whoever else writes (mkostemps below): a name made of the
	 * PID alone, left by a process that was killed, would collide with
	 * a later process given the same PID (in a container). */
	n = snprintf(tmp, sizeof(tmp), "%s/%lld.crl.XXXXXX.tmp", dir,
		     (long long)crl->number);
	if (n <= 0 || (size_t)n >= sizeof(tmp) ||
	    body_path(dir, crl->number, path, sizeof(path)) != 0)
		return db_unavail(err, "the store's path is too long");
	h.p = crl->der;
	h.n = crl->der_len;
	h.rc = -1;
	hashing = crl->der_len >= BODY_HASH_THREAD_MIN &&
		  pthread_create(&hasher, NULL, body_hash_run, &h) == 0;
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0 || write_all(fd, crl->der, crl->der_len) != 0 ||
	    fdatasync(fd) != 0) {
		mica_log(MICA_LOG_ERR, "db: writing %s: %s", tmp,
			 strerror(errno));
		db_unavail(err, errno == ENOSPC ?
			   "the disk holding the store is full" :
			   "cannot write a CRL beside the store");
		goto out;
	}
	close(fd);
	fd = -1;
	/* Never over another body of the same number: one may be recorded
	 * already (another process signed this number too; then this CRL
	 * goes into its row, or rather fails to, as a number used twice). */
	if (link(tmp, path) != 0) {
		if (errno == EEXIST) {
			rc = 0;
			goto out;
		}
		mica_log(MICA_LOG_ERR, "db: linking %s: %s", path,
			 strerror(errno));
		db_unavail(err, "cannot write a CRL beside the store");
		goto out;
	}
	/* The name is on disk before a row can point to it. */
	if (mica_sync_dir(dir) != 0) {
		mica_log(MICA_LOG_ERR, "db: syncing %s: %s", dir,
			 strerror(errno));
		unlink(path);
		db_unavail(err, "cannot write a CRL beside the store");
		goto out;
	}
	if (hashing) {
		pthread_join(hasher, NULL);
		hashing = 0;
	} else {
		body_hash_run(&h);
	}
	if (h.rc != 0) {
		unlink(path);
		db_unavail(err, "cannot hash a CRL");
		goto out;
	}
	memcpy(crl->body_sha256, h.out, sizeof(h.out));
	crl->body_put = 1;
	rc = 0;
out:
	/* The hasher reads CRL's bytes: never return while it runs. */
	if (hashing)
		pthread_join(hasher, NULL);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int
db_crl_insert(struct db *db, const struct db_crl *crl, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t last = 0;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || crl == NULL || crl->der == NULL || crl->der_len == 0)
		return db_bad_arg(err);
	if (crl->key_idx < 0 || crl->key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	if (crl->number < 1 || crl->next_update <= crl->this_update ||
	    crl->delta_base < 0 || crl->delta_base >= crl->number)
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "a CRL needs a positive number and "
				    "nextUpdate after thisUpdate");
	/* The row and its bytes land together or not at all, and the number
	 * is checked inside the same transaction. (INSERT ... SELECT ... WHERE
	 * would do it in one statement, but makes SQLite copy the blob.) */
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if (db_crl_last_number(db, &last, err) != 0)
		goto out;
	if (crl->number <= last) {
		mica_err_set(err, MICA_E_CONFLICT, "crl_number_not_increasing",
			     "the CRL number is not greater than the last one");
		goto out;
	}
	if ((st = db_stmt(db, S_CRL_INSERT, crl_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, crl->number, &b);
	db_bind_i64(st, 2, crl->this_update, &b);
	db_bind_i64(st, 3, crl->next_update, &b);
	db_bind_i64(st, 5, crl->key_idx, &b);
	db_bind_i64(st, 6, crl->delta_base, &b);
	if (crl->body_put) {
		/* The body is beside the store (db_crl_body_put): its length
		 * and hash, which a reader checks it against. */
		db_bind_i64(st, 7, (int64_t)crl->der_len, &b);
		db_bind_blob(st, 8, crl->body_sha256, 32, &b);
	} else if (b == SQLITE_OK) {
		/* Insert a zero-filled blob of the right size, then write the
		 * DER into it in place: binding the bytes themselves would make
		 * SQLite copy a large CRL twice more while building the row. */
		b = sqlite3_bind_zeroblob64(st, 4, crl->der_len);
	}
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "crl_number_not_increasing",
		      "the CRL number is not greater than the last one", err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;
	if (!crl->body_put &&
	    blob_fill(db->h, "crl", "der", crl->number, crl->der,
		      crl->der_len, err) != 0)
		goto out;
	in_sp = 0;
	if (db_sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	if (in_sp)
		db_sp_abort(db, own);
	return rc;
}

/* The latest complete CRL of KEY_IDX, or (DELTA) its latest delta. */
static int
latest(struct db *db, int key_idx, int with_der, int delta,
       struct db_crl *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r, b = SQLITE_OK;
	enum db_stmt_id id = delta ?
		(with_der ? S_CRL_LATEST_DELTA : S_CRL_LATEST_DELTA_INFO) :
		(with_der ? S_CRL_LATEST : S_CRL_LATEST_INFO);

	int64_t body_len = 0;
	unsigned char sha[32];
	int tries = 0, gone = 0;
	char dir[PATH_MAX];

	if (db == NULL || out == NULL || key_idx < 0 || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
again:
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, id, crl_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	out->key_idx = key_idx;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "crl_not_found",
			     delta ? "no delta CRL has been issued yet" :
			     "no CRL has been issued yet");
		goto out;
	}
	out->number = sqlite3_column_int64(st, 0);
	out->this_update = sqlite3_column_int64(st, 1);
	out->next_update = sqlite3_column_int64(st, 2);
	out->delta_base = sqlite3_column_int64(st, 4);
	if (with_der && sqlite3_column_type(st, 3) == SQLITE_NULL) {
		/* Beside the store (schema 013): read after the statement
		 * is done, so that no read transaction stays open meanwhile. */
		body_len = sqlite3_column_int64(st, 5);
		if (sqlite3_column_bytes(st, 6) != 32) {
			mica_err_set(err, MICA_E_INTERNAL, "crl_body_damaged",
				     "a CRL's recorded hash is malformed");
			goto out;
		}
		memcpy(sha, sqlite3_column_blob(st, 6), 32);
		db_stmt_done(st);
		st = NULL;
		if (body_dir(db->h, dir, sizeof(dir)) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "crl_body_damaged",
				     "a CRL kept beside the store is read "
				     "from a store in memory");
			goto out;
		}
		if (body_read(dir, out->number, body_len, sha, &out->der,
			      &gone, tries == 3, err) != 0) {
			/* Removed as two newer ones were published since the
			 * look-up: look again. */
			if (gone && tries++ < 3)
				goto again;
			goto out;
		}
		out->der_len = (size_t)body_len;
	} else if (with_der &&
		   db_col_blob(st, 3, &out->der, &out->der_len) != 0) {
		db_oom(err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_latest_key(struct db *db, int key_idx, int with_der,
		  struct db_crl *out, struct mica_err *err)
{
	return latest(db, key_idx, with_der, 0, out, err);
}

int
db_crl_latest_delta(struct db *db, int key_idx, int with_der,
		    struct db_crl *out, struct mica_err *err)
{
	return latest(db, key_idx, with_der, 1, out, err);
}

int
db_crl_delta_hours(struct db *db, int *hours, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || hours == NULL)
		return db_bad_arg(err);
	*hours = 0;
	if ((st = db_stmt(db, S_CRL_DELTA_GET, crl_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*hours = sqlite3_column_int(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_delta_hours_set(struct db *db, int hours, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || hours < 0 || hours > 168)
		return db_bad_arg(err);
	if ((st = db_stmt(db, hours > 0 ? S_CRL_DELTA_SET : S_CRL_DELTA_OFF,
			  crl_sql, err)) == NULL)
		goto out;
	if (hours > 0)
		db_bind_i64(st, 1, hours, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_latest(struct db *db, struct db_crl *out, struct mica_err *err)
{
	return db_crl_latest_key(db, 0, 1, out, err);
}

int
db_crl_latest_info(struct db *db, struct db_crl *out, struct mica_err *err)
{
	return db_crl_latest_key(db, 0, 0, out, err);
}

void
db_crl_free(struct db_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	memset(crl, 0, sizeof(*crl));
}

/* Run SQL on H (no parameters, no rows wanted). */
static int
exec_on(sqlite3 *h, const char *sql, struct mica_err *err)
{
	int r = sqlite3_exec(h, sql, NULL, NULL, NULL);

	return r == SQLITE_OK ? 0 : db_fail(NULL, r, NULL, NULL, err);
}

int
db_int_crl_inline(struct db *src, sqlite3 *dst, struct mica_err *err)
{
	/* Each row whose body is beside the source, and whether it is its
	 * key's newest complete CRL or newest delta (then it must be found). */
	static const char list_sql[] =
	"SELECT c.number, c.body_len, c.body_sha256, NOT EXISTS (SELECT 1 "
	"FROM crl AS n WHERE n.key_idx = c.key_idx AND "
	"(n.delta_base = 0) = (c.delta_base = 0) AND n.number > c.number) "
	"FROM crl AS c WHERE c.der IS NULL ORDER BY c.number";
	static const char set_sql[] =
	"UPDATE crl SET der = zeroblob(?2), body_len = NULL, "
	"body_sha256 = NULL WHERE number = ?1";
	sqlite3_stmt *ls = NULL, *up = NULL;
	char dir[PATH_MAX];
	int rc = -1, r, have_dir, in_tx = 0;

	have_dir = body_dir(src->h, dir, sizeof(dir)) == 0;
	/* A copy of a store older than schema 013 (opened read-only, not
	 * migrated) has no such columns, and no bodies beside it. */
	if (sqlite3_prepare_v2(dst, "SELECT body_len FROM crl LIMIT 0", -1,
			       &ls, NULL) != SQLITE_OK) {
		rc = 0;
		goto out;
	}
	sqlite3_finalize(ls);
	ls = NULL;
	if ((r = sqlite3_prepare_v2(dst, list_sql, -1, &ls, NULL)) != SQLITE_OK ||
	    (r = sqlite3_prepare_v2(dst, set_sql, -1, &up, NULL)) != SQLITE_OK) {
		db_fail(NULL, r, NULL, NULL, err);
		goto out;
	}
	if (exec_on(dst, "BEGIN IMMEDIATE", err) != 0)
		goto out;
	in_tx = 1;
	while ((r = sqlite3_step(ls)) == SQLITE_ROW) {
		int64_t number = sqlite3_column_int64(ls, 0);
		int64_t len = sqlite3_column_int64(ls, 1);
		int newest = sqlite3_column_int(ls, 3), gone = 0;
		unsigned char *der = NULL, sha[32];
		struct mica_err e;

		if (sqlite3_column_bytes(ls, 2) != 32)
			continue;   /* the CHECK of schema 013 forbids it */
		memcpy(sha, sqlite3_column_blob(ls, 2), 32);
		if (!have_dir ||
		    body_read(dir, number, len, sha, &der, &gone, 0,
			      &e) != 0) {
			if (!newest)
				continue;   /* an older CRL, removed already */
			if (!have_dir)
				mica_err_set(&e, MICA_E_INTERNAL,
					     "crl_body_damaged", "CRL %lld is "
					     "not in the store", (long long)number);
			if (err != NULL)
				*err = e;
			goto out;
		}
		sqlite3_bind_int64(up, 1, number);
		sqlite3_bind_int64(up, 2, len);
		r = sqlite3_step(up);
		sqlite3_reset(up);
		if (r != SQLITE_DONE ||
		    blob_fill(dst, "crl", "der", number, der, (size_t)len,
			      err) != 0) {
			free(der);
			if (r != SQLITE_DONE)
				db_fail(NULL, r, NULL, NULL, err);
			goto out;
		}
		free(der);
	}
	if (r != SQLITE_DONE) {
		db_fail(NULL, r, NULL, NULL, err);
		goto out;
	}
	sqlite3_finalize(ls);
	ls = NULL;
	in_tx = 0;
	if (exec_on(dst, "COMMIT", err) != 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(ls);
	sqlite3_finalize(up);
	if (in_tx)
		sqlite3_exec(dst, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
