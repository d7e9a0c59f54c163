/*
 * db/certs.c - the certificate table: reserving a serial before signing,
 * completing or discarding it, revocation and hold, renewal links, the
 * paged listing, the walk the CRL is built from, and the dashboard counts.
 *
 * Where db.h leaves room:
 *  - A certificate on hold may be revoked again only with another reason;
 *    hold -> hold is "already_revoked".
 *  - db_counts: valid = VALID and not expired at NOW; expired = VALID past
 *    notAfter; revoked = all revoked; issuing = all ISSUING.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

/* Renewed by a certificate still valid at ?3, of the row c: the one its
 * renewed_by names, or, where that one was revoked or has expired, one
 * that renewed it in turn (a renewal revoked as superseded by a newer
 * one), RENEWAL_DEPTH links down at most. Only renewed rows look, and
 * most stop at the first link, still valid: one lookup by serial, as
 * before there was a walk. Past it, the walk goes one link a step and
 * stops at the first valid certificate.
 *
 * Every lookup is a scalar subquery of one table, by serial (unique),
 * never a join: on a store with statistics (ANALYZE), SQLite gives a
 * join of the walk's rows with certificate a Bloom filter, built by
 * reading every certificate, at each row of the listing (a listing of
 * what expires went from 0.4 s to 11 s at a million certificates). */
#define RENEWAL_DEPTH "16"
#define RENEWAL_VALID(r) "(" r ".status = 1 AND " r ".not_after > ?3)"
#define RENEWAL_VALID_SERIAL(s) \
	"EXISTS (SELECT 1 FROM certificate AS r WHERE r.serial = " s \
	" AND " RENEWAL_VALID("r") ")"
#define RENEWAL_LIVE \
	"(c.renewed_by IS NOT NULL AND (" RENEWAL_VALID_SERIAL("c.renewed_by") \
	" OR EXISTS (WITH RECURSIVE chain(s, n) AS (" \
	"  SELECT (SELECT r.renewed_by FROM certificate AS r " \
	"          WHERE r.serial = c.renewed_by), 2 " \
	"  UNION ALL SELECT (SELECT r.renewed_by FROM certificate AS r " \
	"          WHERE r.serial = chain.s AND NOT " RENEWAL_VALID("r") "), " \
	"   chain.n + 1 FROM chain " \
	"  WHERE chain.s IS NOT NULL AND chain.n < " RENEWAL_DEPTH ") " \
	" SELECT 1 FROM chain WHERE chain.s IS NOT NULL AND " \
	RENEWAL_VALID_SERIAL("chain.s") ")))"

/* The columns cert_read() reads, in its order, of the row c, with
 * renewal_live (RENEWAL_LIVE where the statement binds ?3 to now, else
 * 0) at column 17. */
#define CERT_COLS_AT(live) \
	"c.id, c.serial, c.profile, c.subject, c.names, c.request_id, " \
	"c.not_before, c.not_after, c.spki_sha256, c.status, c.revoked_at, " \
	"c.reason, c.renewal_of, c.renewed_by, c.created_at, c.key_idx, " \
	"coalesce(c.invalid_at, 0), " live
#define CERT_COLS CERT_COLS_AT(RENEWAL_LIVE)

#define LIST_MAX      1000       /* certificates per page */
/* A name search looks up the certificates of the matching names and sorts
 * them when there are fewer names than this; with more, it walks the
 * listing's own index and checks each certificate's names. Either way a
 * page reads a few thousand rows at most while the matches are either
 * few or common (see db_cert_list). */
#define NAMES_SORT_MAX 4000

/* The filters of the listing, as each statement checks them. */
#define LIST_STATUS \
	"(?2 = -1 OR (?2 IN (0, 1, 2) AND status = ?2) " \
	" OR (?2 = 10 AND status = 1 AND not_after <= ?3) " \
	" OR (?2 = 11 AND status = 1 AND not_after > ?3))"
/* Expiring: what someone has to renew, so not what a certificate still
 * valid renewed already (RENEWAL_LIVE). */
#define LIST_NOT_RENEWED "(NOT " RENEWAL_LIVE ")"
#define LIST_EXPIRING \
	"(?4 = 0 OR (not_after < ?4 AND not_after > ?3 AND " LIST_NOT_RENEWED "))"
#define LIST_NAME \
	"(?5 IS NULL OR EXISTS (SELECT 1 FROM cert_name AS n " \
	" WHERE n.serial = c.serial AND n.name >= ?5 AND n.name < ?7))"
/* The sort pair of S_CERT_LIST_NAMES, ascending in every order. */
#define NAMES_K1 \
	"(CASE ?10 WHEN 0 THEN -id WHEN 1 THEN not_after ELSE -not_after END)"
#define NAMES_K2 "(CASE ?10 WHEN 0 THEN 0 WHEN 1 THEN id ELSE -id END)"

static const char *const cert_sql[S__COUNT] = {
	[S_CERT_RESERVE] =
	"INSERT INTO certificate (serial, profile, subject, names, request_id, "
	"not_before, not_after, spki_sha256, status, renewal_of, renewed_by, "
	"created_at, key_idx, token_id) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12, ?13)",
	[S_CERT_NAME_ADD] =
	"INSERT OR IGNORE INTO cert_name (serial, name) VALUES (?1, lower(?2))",
	[S_CERT_COMPLETE] =
	"UPDATE certificate SET der = ?2, status = 1 "
	"WHERE serial = ?1 AND status = 0",
	/* Revoked while it was being signed: keep the DER (it exists, it must
	 * be accounted for), leave it revoked. */
	[S_CERT_COMPLETE_LATE] =
	"UPDATE certificate SET der = ?2 "
	"WHERE serial = ?1 AND status = 2 AND der IS NULL",
	[S_CERT_STATE] =
	"SELECT status, reason FROM certificate WHERE serial = ?1",
	[S_CERT_DISCARD] =
	"DELETE FROM certificate WHERE serial = ?1 AND status = 0",
	/* Issuing rows are few: the status index's first column finds them. */
	[S_CERT_STALE] =
	"SELECT serial, coalesce(token_id, ''), names FROM certificate "
	"WHERE status = 0 AND created_at < ?1 "
	"AND created_at >= (SELECT coalesce(max(restored_at), 0) FROM ca) "
	"ORDER BY created_at, id LIMIT ?2",
	/* The SCEP transaction recorded with the reservation (ca/scep.c):
	 * with the row gone, the device's next message enrolls again. */
	[S_CERT_DISCARD_SCEP] =
	"DELETE FROM scep_tx WHERE serial = ?1",
	/* The certificate it was renewing must not point at it any more. */
	[S_CERT_DISCARD_UNLINK] =
	"UPDATE certificate SET renewed_by = NULL WHERE serial = "
	"(SELECT renewal_of FROM certificate WHERE serial = ?1) "
	"AND renewed_by = ?1",
	[S_CERT_GET] =
	"SELECT " CERT_COLS_AT("0") ", c.der FROM certificate AS c "
	"WHERE c.serial = ?1",
	/* The same, with renewal_live at ?3. */
	[S_CERT_GET_AT] =
	"SELECT " CERT_COLS ", c.der FROM certificate AS c "
	"WHERE c.serial = ?1",
	/*
	 * The listing (db_cert_list). Every statement takes the same
	 * parameters, whatever it uses of them:
	 *   ?1 cursor id, ?2 status filter, ?3 now, ?4 expiring_before (0
	 *   none), ?5 ?7 the name range [?5, ?7) or NULL, ?6 limit,
	 *   ?8 ?9 the cursor's sort key (each statement says how).
	 * Each one pins the index it walks, in the order of its page, so
	 * that a page costs the same at any store size whatever the
	 * planner guesses; the other filters are checked on the way.
	 */
	/* Newest first: the table itself, by rowid, down from the cursor. */
	[S_CERT_LIST] =
	"SELECT " CERT_COLS " FROM certificate AS c NOT INDEXED "
	"WHERE id < ?1 AND id >= ?11 AND " LIST_STATUS " AND " LIST_EXPIRING
	" AND " LIST_NAME " ORDER BY id DESC LIMIT ?6",
	/* The highest id: where a bounded walk (scan_max) of the first page
	 * starts. */
	[S_CERT_MAX_ID] =
	"SELECT coalesce(max(id), 0) FROM certificate",
	/* Few rows are ever being signed: their index, then a small sort. */
	[S_CERT_LIST_ISSUING] =
	"SELECT " CERT_COLS " FROM certificate AS c "
	"INDEXED BY certificate_by_status "
	"WHERE status = 0 AND id < ?1 AND " LIST_EXPIRING " AND " LIST_NAME
	" ORDER BY id DESC LIMIT ?6",
	/* Soonest expiry first: ?8 the lower bound of not_after (after now,
	 * from the cursor on), ?9 the cursor's not_after (rows at it come
	 * after the cursor's id). */
	[S_CERT_LIST_EXPIRING] =
	"SELECT " CERT_COLS " FROM certificate AS c "
	"INDEXED BY certificate_by_expiry "
	"WHERE not_after >= ?8 AND not_after < ?4 AND (not_after > ?9 OR id > ?1) "
	"AND " LIST_NOT_RENEWED " AND " LIST_STATUS " AND " LIST_NAME
	" ORDER BY not_after, id LIMIT ?6",
	/* Most recently expired first: ?8 the upper bound of not_after (at
	 * most now, up to the cursor), ?9 the cursor's not_after. */
	[S_CERT_LIST_EXPIRED] =
	"SELECT " CERT_COLS " FROM certificate AS c "
	"INDEXED BY certificate_by_status "
	"WHERE status = 1 AND not_after <= ?8 AND (not_after < ?9 OR id < ?1) "
	"AND " LIST_NAME " AND ?2 = 10 AND ?4 = 0 "
	"ORDER BY not_after DESC, id DESC LIMIT ?6",
	/* The certificates of the names in [?5, ?7), when they are few:
	 * looked up one by one, sorted. The order is a computed pair, ?10
	 * (0 newest first, 1 soonest expiry first, 2 most recently expired
	 * first), and (?8, ?9) is the cursor in that pair's terms. */
	[S_CERT_LIST_NAMES] =
	"SELECT " CERT_COLS " FROM certificate AS c "
	"WHERE c.serial IN (SELECT serial FROM cert_name "
	"                   WHERE name >= ?5 AND name < ?7) "
	"AND " LIST_STATUS " AND " LIST_EXPIRING " "
	"AND (" NAMES_K1 ", " NAMES_K2 ") > (?8, ?9) "
	"ORDER BY " NAMES_K1 ", " NAMES_K2 " LIMIT ?6",
	/* The certificates of the token ?12, newest first: its index (which
	 * ends in the rowid) down from the cursor, bounded below by ?11. */
	[S_CERT_LIST_TOKEN] =
	"SELECT " CERT_COLS " FROM certificate AS c "
	"INDEXED BY certificate_by_token "
	"WHERE token_id = ?12 AND id < ?1 AND id >= ?11 AND " LIST_STATUS
	" AND " LIST_EXPIRING " AND " LIST_NAME " ORDER BY id DESC LIMIT ?6",
	/* The same in an expiry order: the token's certificates, sorted by
	 * the pair of S_CERT_LIST_NAMES. */
	[S_CERT_LIST_TOKEN_SORTED] =
	"SELECT " CERT_COLS " FROM certificate AS c "
	"INDEXED BY certificate_by_token "
	"WHERE token_id = ?12 AND " LIST_STATUS " AND " LIST_EXPIRING " AND "
	LIST_NAME " AND (" NAMES_K1 ", " NAMES_K2 ") > (?8, ?9) "
	"ORDER BY " NAMES_K1 ", " NAMES_K2 " LIMIT ?6",
	/* How many names fall in [?1, ?2), counting no further than ?3. */
	[S_CERT_NAME_COUNT] =
	"SELECT count(*) FROM (SELECT 1 FROM cert_name "
	"WHERE name >= ?1 AND name < ?2 LIMIT ?3)",
	/* certificateHold (6) may be turned into a final revocation. */
	[S_CERT_REVOKE] =
	"UPDATE certificate SET status = 2, revoked_at = ?2, reason = ?3 "
	"WHERE serial = ?1 AND (status IN (0, 1) "
	"                       OR (status = 2 AND reason = 6 AND ?3 <> 6))",
	[S_CERT_UNREVOKE] =
	"UPDATE certificate SET status = CASE WHEN der IS NULL THEN 0 ELSE 1 END, "
	"revoked_at = 0, reason = -1 "
	"WHERE serial = ?1 AND status = 2 AND reason = 6",
	/* Revoked for ?2, now for ?3; the revocation date stays. */
	[S_CERT_REASON_SET] =
	"UPDATE certificate SET reason = ?3 "
	"WHERE serial = ?1 AND status = 2 AND reason = ?2",
	/* The invalidity date (RFC 5280 5.3.2) only moves earlier, and is
	 * never after the revocation date. */
	[S_CERT_INVALID_SET] =
	"UPDATE certificate SET invalid_at = ?2 "
	"WHERE serial = ?1 AND status = 2 AND reason <> 6 "
	"AND ?2 <= revoked_at AND (invalid_at IS NULL OR ?2 < invalid_at)",
	/* The others of ?1's key that a keyCompromise still changes: being
	 * signed, valid, on hold, or revoked for a reason that says nothing
	 * of the key (ca_reason_raisable: unspecified, affiliationChanged,
	 * superseded, cessationOfOperation, privilegeWithdrawn), and not
	 * expired at ?2 - or of profile ?3, expired or not. */
	[S_CERT_SAME_KEY] =
	"SELECT c.serial FROM certificate k "
	"JOIN certificate c INDEXED BY certificate_by_spki "
	"ON substr(c.spki_sha256, 1, 8) = substr(k.spki_sha256, 1, 8) "
	"AND c.spki_sha256 = k.spki_sha256 "
	"WHERE k.serial = ?1 AND c.serial <> ?1 "
	"AND (c.not_after > ?2 OR c.profile = ?3) "
	"AND (c.status IN (0, 1) "
	"     OR (c.status = 2 AND c.reason IN (0, 3, 4, 5, 6, 9))) "
	"ORDER BY c.id",
	/* The valid certificates of key ?1 with profile ?2 made since ?3
	 * and not expired at ?4, newest first. */
	[S_CERT_OF_KEY] =
	"SELECT c.serial FROM certificate c INDEXED BY certificate_by_spki "
	"WHERE substr(c.spki_sha256, 1, 8) = substr(?1, 1, 8) "
	"AND c.spki_sha256 = ?1 AND c.profile = ?2 AND c.status = 1 "
	"AND c.created_at >= ?3 AND c.not_after > ?4 ORDER BY c.id DESC",
	[S_CERT_ANY_OF_KEY] =
	"SELECT c.serial FROM certificate c INDEXED BY certificate_by_spki "
	"WHERE substr(c.spki_sha256, 1, 8) = substr(?1, 1, 8) "
	"AND c.spki_sha256 = ?1 ORDER BY c.id DESC LIMIT 1",
	[S_CERT_LINK_OLD] =
	"UPDATE certificate SET renewed_by = ?2 WHERE serial = ?1",
	[S_CERT_SET_REQUEST] =
	"UPDATE certificate SET request_id = ?2 "
	"WHERE serial = ?1 AND request_id IS NULL",
	[S_CERT_LINK_NEW] =
	"UPDATE certificate SET renewal_of = ?1 WHERE serial = ?2",
	[S_CERT_UNLINK_OLD] =
	"UPDATE certificate SET renewed_by = NULL "
	"WHERE serial = ?1 AND renewed_by = ?2",
	[S_CERT_UNLINK_NEW] =
	"UPDATE certificate SET renewal_of = NULL "
	"WHERE serial = ?2 AND renewal_of = ?1",
	/* Pinned to the partial covering index certificate_crl: no
	 * table access and no sort, whatever the planner's statistics say
	 * (left to itself it may sort every revoked row in a temp B-tree). */
	[S_REVOKED] =
	"SELECT serial, revoked_at, reason, coalesce(invalid_at, 0) "
	"FROM certificate "
	"INDEXED BY certificate_crl "
	"WHERE status = 2 AND (not_after > ?1 OR profile = ?3) ORDER BY serial",
	[S_REVOKED_KEY] =
	"SELECT serial, revoked_at, reason, coalesce(invalid_at, 0) "
	"FROM certificate "
	"INDEXED BY certificate_crl_by_key "
	"WHERE status = 2 AND key_idx = ?2 AND (not_after > ?1 OR profile = ?3) "
	"ORDER BY serial",
	[S_COUNTS] =
	"SELECT (SELECT count(*) FROM certificate WHERE status = 0), "
	"(SELECT count(*) FROM certificate WHERE status = 1 AND not_after > ?1), "
	"(SELECT count(*) FROM certificate WHERE status = 2), "
	"(SELECT count(*) FROM certificate WHERE status = 1 AND not_after <= ?1), "
	"(SELECT count(*) FROM request WHERE status = 0)",
};

/* RFC 5280 5.3.1 CRLReason values a certificate can carry. */
static int
reason_ok(int r)
{
	return r >= 0 && r <= 10 && r != 7 && r != 8;
}

/* Fill C from a row of CERT_COLS (plus der at column 18 if WITH_DER). */
static int
cert_read(sqlite3_stmt *st, struct db_cert *c, int with_der,
	  struct mica_err *err)
{
	const void *spki;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	spki = sqlite3_column_blob(st, 8);
	if (db_col_fixed(st, 1, c->serial, sizeof(c->serial)) != 0 ||
	    db_col_fixed(st, 12, c->renewal_of, sizeof(c->renewal_of)) != 0 ||
	    db_col_fixed(st, 13, c->renewed_by, sizeof(c->renewed_by)) != 0 ||
	    spki == NULL || sqlite3_column_bytes(st, 8) != 32) {
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "a stored certificate record is malformed");
		goto out;
	}
	memcpy(c->spki_sha256, spki, 32);
	if (db_col_str(st, 2, &c->profile) != 0 ||
	    db_col_str(st, 3, &c->subject) != 0 ||
	    db_col_str(st, 4, &c->names) != 0 ||
	    db_col_str(st, 5, &c->request_id) != 0 ||
	    (with_der && db_col_blob(st, 18, &c->der, &c->der_len) != 0)) {
		db_oom(err);
		goto out;
	}
	c->not_before = sqlite3_column_int64(st, 6);
	c->not_after = sqlite3_column_int64(st, 7);
	c->status = sqlite3_column_int(st, 9);
	c->revoked_at = sqlite3_column_int64(st, 10);
	c->reason = sqlite3_column_int(st, 11);
	c->created_at = sqlite3_column_int64(st, 14);
	c->key_idx = sqlite3_column_int(st, 15);
	c->invalid_at = sqlite3_column_int64(st, 16);
	c->renewal_live = sqlite3_column_int(st, 17) != 0;
	rc = 0;
out:
	if (rc != 0)
		db_cert_free(c);
	return rc;
}

/* cert_read as a db_row_fn, without the DER: the lists. */
static int
cert_row(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	return cert_read(st, row, 0, err);
}

/* Status and reason of SERIAL: 1 found, 0 unknown, -1 error. */
static int
cert_state(struct db *db, const char *serial, int *status, int *reason,
	   struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = db_stmt(db, S_CERT_STATE, cert_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0)
		r = -1;
	else if ((r = db_step_row(db, st, err)) == 1) {
		*status = sqlite3_column_int(st, 0);
		*reason = sqlite3_column_int(st, 1);
	}
	db_stmt_done(st);
	return r;
}

static int
cert_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "certificate_not_found",
			    "no certificate with this serial");
}

int
db_cert_reserve(struct db *db, const struct db_cert *c, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *p, *end = NULL;
	size_t len = 0;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || c == NULL || c->profile == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(c->serial) ||
	    (c->renewal_of[0] != '\0' && !db_serial_ok(c->renewal_of)) ||
	    (c->renewed_by[0] != '\0' && !db_serial_ok(c->renewed_by)))
		return db_bad_serial(err);
	if (!db_text_ok(c->profile) || !db_text_ok(c->subject) || !db_text_ok(c->names) ||
	    !db_text_ok(c->request_id) || !db_text_ok(c->token_id))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "certificate record too large");
	if (c->not_after < c->not_before)
		return mica_err_set(err, MICA_E_BADREQ, "bad_validity",
				    "notAfter precedes notBefore");
	if (c->key_idx < 0 || c->key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);

	/* The certificate and its name rows land together or not at all. */
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = db_stmt(db, S_CERT_RESERVE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, c->serial, &b);
	db_bind_text(st, 2, c->profile, &b);
	db_bind_text(st, 3, c->subject != NULL ? c->subject : "", &b);
	db_bind_text(st, 4, c->names != NULL ? c->names : "", &b);
	db_bind_text(st, 5, c->request_id, &b);
	db_bind_i64(st, 6, c->not_before, &b);
	db_bind_i64(st, 7, c->not_after, &b);
	db_bind_blob(st, 8, c->spki_sha256, sizeof(c->spki_sha256), &b);
	db_bind_serial_opt(st, 9, c->renewal_of, &b);
	db_bind_serial_opt(st, 10, c->renewed_by, &b);
	db_bind_i64(st, 11, c->created_at, &b);
	db_bind_i64(st, 12, c->key_idx, &b);
	db_bind_text(st, 13, c->token_id, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "serial_collision",
		      "a certificate with this serial already exists", err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;

	if ((st = db_stmt(db, S_CERT_NAME_ADD, cert_sql, err)) == NULL)
		goto out;
	for (p = c->names; p != NULL && *p != '\0'; p += len + (end != NULL)) {
		end = strchr(p, '\n');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			continue;  /* empty line */
		b = SQLITE_OK;
		db_bind_text(st, 1, c->serial, &b);
		db_bind_textn(st, 2, p, len, &b);
		if (db_binds_ok(db, b, err) != 0 ||
		    db_step_done(db, st, NULL, NULL, err) != 0)
			goto out;
		db_stmt_done(st);
	}
	db_stmt_done(st);
	st = NULL;
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

int
db_cert_complete(struct db *db, const char *serial, const unsigned char *der,
		 size_t der_len, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || der == NULL || der_len == 0)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_COMPLETE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_blob(st, 2, der, der_len, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);

	/* Not ISSUING. If it was revoked while being signed, the signed
	 * certificate still exists and must be on record. */
	if ((st = db_stmt(db, S_CERT_COMPLETE_LATE, cert_sql, err)) == NULL)
		goto out;
	b = SQLITE_OK;
	db_bind_text(st, 1, serial, &b);
	db_bind_blob(st, 2, der, der_len, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 1;
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate is not being issued");
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_discard(struct db *db, const char *serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = db_stmt(db, S_CERT_DISCARD_UNLINK, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	/* Its cert_name rows go by ON DELETE CASCADE. */
	if ((st = db_stmt(db, S_CERT_DISCARD, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
			goto out;
		if (r == 0)
			cert_not_found(err);
		else
			mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
				     "only a certificate that was never signed "
				     "can be discarded");
		goto out;
	}
	db_stmt_done(st);
	if ((st = db_stmt(db, S_CERT_DISCARD_SCEP, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;
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

/* db_cert_get, and db_cert_get_at when AT (renewal_live at NOW). */
static int
cert_get(struct db *db, const char *serial, int at, int64_t now,
	 struct db_cert *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || serial == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, at ? S_CERT_GET_AT : S_CERT_GET, cert_sql,
			  err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (at)
		db_bind_i64(st, 3, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		cert_not_found(err);
		goto out;
	}
	if (cert_read(st, out, 1, err) != 0)
		goto out;
	/* The group-commit writer makes a commit visible before its WAL
	 * sync; a certificate must be on disk before anyone receives it, so
	 * sync what we read (cheap when there is nothing left to write). */
	if (out->der != NULL && db_int_wal_sync(db, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	if (rc != 0)
		db_cert_free(out);
	return rc;
}

int
db_cert_get(struct db *db, const char *serial, struct db_cert *out,
	    struct mica_err *err)
{
	return cert_get(db, serial, 0, 0, out, err);
}

int
db_cert_get_at(struct db *db, const char *serial, int64_t now,
	       struct db_cert *out, struct mica_err *err)
{
	return cert_get(db, serial, 1, now, out, err);
}

int
db_cert_stale_list(struct db *db, int64_t before, size_t max,
		   struct db_cert_stale **out, size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_cert_stale *a = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || n == NULL || max == 0 || max > LIST_MAX)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if ((a = calloc(max, sizeof(*a))) == NULL)
		return db_oom(err);
	if ((st = db_stmt(db, S_CERT_STALE, cert_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, before, &b);
	db_bind_i64(st, 2, (int64_t)max, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	while (cnt < max) {
		if ((r = db_step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (db_col_fixed(st, 0, a[cnt].serial, sizeof(a[cnt].serial)) != 0 ||
		    db_col_fixed(st, 1, a[cnt].token_id, sizeof(a[cnt].token_id)) != 0) {
			cnt++;
			mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				     "an issuing certificate's row is damaged");
			goto out;
		}
		if (db_col_str(st, 2, &a[cnt].names) != 0) {
			cnt++;
			db_oom(err);
			goto out;
		}
		cnt++;
	}
	*out = a;
	*n = cnt;
	a = NULL;
	rc = 0;
out:
	db_stmt_done(st);
	db_cert_stale_free(a, cnt);
	return rc;
}

void
db_cert_stale_free(struct db_cert_stale *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(a[i].names);
	free(a);
}

void
db_cert_free(struct db_cert *c)
{
	if (c == NULL)
		return;
	free(c->profile);
	free(c->subject);
	free(c->names);
	free(c->request_id);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

/* The name filter S as the range [LO, HI) of cert_name.name: lowercase;
 * exact ("a.test": ["a.test", "a.test\1")) or, with a trailing '*', a
 * prefix ("a*": ["a", "b")). Names are printable ASCII without spaces. */
static int
name_range(const char *s, char lo[DB_NAME_FILTER_MAX + 2],
	   char hi[DB_NAME_FILTER_MAX + 2], struct mica_err *err)
{
	size_t n = strnlen(s, DB_NAME_FILTER_MAX + 1), i;
	int prefix;

	if (n > DB_NAME_FILTER_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "name filter too long");
	prefix = n > 0 && s[n - 1] == '*';
	if (prefix && --n == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "a name prefix needs at least one character before '*'");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
					    "a name filter is printable ASCII");
		lo[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	lo[n] = '\0';
	memcpy(hi, lo, n + 1);
	if (prefix) {
		/* The last octet is at most 0x7e: one more never wraps. */
		hi[n - 1] = (char)(hi[n - 1] + 1);
	} else {
		hi[n] = '\1';
		hi[n + 1] = '\0';
	}
	return 0;
}

/* A token's id as the store keeps it: 1..39 lowercase hex digits. */
static int
token_id_ok(const char *s)
{
	size_t n = strnlen(s, 40);

	if (n == 0 || n > 39)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The orders of a listing (see db_cert_list). */
enum list_order { ORDER_NEWEST, ORDER_EXPIRY, ORDER_EXPIRED };

/* Are there fewer than NAMES_SORT_MAX names in [LO, HI)? *FEW 1 or 0. */
static int
names_few(struct db *db, const char *lo, const char *hi, int *few,
	  struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = db_stmt(db, S_CERT_NAME_COUNT, cert_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, lo, &b);
	db_bind_text(st, 2, hi, &b);
	db_bind_i64(st, 3, NAMES_SORT_MAX, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0) {
		db_stmt_done(st);
		return -1;
	}
	*few = r == 1 && sqlite3_column_int64(st, 0) < NAMES_SORT_MAX;
	db_stmt_done(st);
	return 0;
}

/* Bind parameter I if the statement has it (they share one numbering). */
static void
bind_i64_opt(sqlite3_stmt *st, int i, int64_t v, int *b)
{
	if (i <= sqlite3_bind_parameter_count(st))
		db_bind_i64(st, i, v, b);
}

static void
bind_text_opt(sqlite3_stmt *st, int i, const char *s, int *b)
{
	if (i <= sqlite3_bind_parameter_count(st))
		db_bind_text(st, i, s, b);
}

/* The lowest id a walk from below TOP (0: the first page) may look at
 * when it looks at no more than SCAN ids: *LOW >= 1. */
static int
walk_floor(struct db *db, int64_t top, int64_t scan, int64_t *low,
	   struct mica_err *err)
{
	sqlite3_stmt *st;
	int r;

	if (top <= 0) {
		if ((st = db_stmt(db, S_CERT_MAX_ID, cert_sql, err)) == NULL)
			return -1;
		if ((r = db_step_row(db, st, err)) < 0) {
			db_stmt_done(st);
			return -1;
		}
		top = r == 1 ? sqlite3_column_int64(st, 0) + 1 : 1;
		db_stmt_done(st);
	}
	*low = top > scan ? top - scan : 1;
	return 0;
}

int
db_cert_list(struct db *db, const struct db_cert_filter *f,
	     struct db_cert **out, size_t *n, struct db_cert_cursor *next,
	     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_cert *a = NULL;
	const struct db_cert_cursor *cur;
	size_t cnt = 0;
	char lo[DB_NAME_FILTER_MAX + 2], hi[DB_NAME_FILTER_MAX + 2];
	int rc = -1, b = SQLITE_OK, limit, more, few = 0, named, tokened;
	enum list_order order;
	enum db_stmt_id id;
	int64_t k8, k9, low_id = 0;

	if (db == NULL || f == NULL || out == NULL || n == NULL || next == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	memset(next, 0, sizeof(*next));
	cur = &f->cursor;
	if (f->status != -1 && f->status != DB_CERT_ISSUING &&
	    f->status != DB_CERT_VALID && f->status != DB_CERT_REVOKED &&
	    f->status != DB_FILTER_EXPIRED && f->status != DB_FILTER_CURRENT)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "unknown certificate status filter");
	if (f->expiring_before < 0 || f->now < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "invalid date");
	if (f->scan_max < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "invalid scan bound");
	named = f->name != NULL && f->name[0] != '\0';
	if (named && name_range(f->name, lo, hi, err) != 0)
		return -1;
	tokened = f->token_id != NULL && f->token_id[0] != '\0';
	if (tokened && !token_id_ok(f->token_id))
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "a token filter is a token's id: 1 to 39 "
				    "characters of lowercase hexadecimal");
	order = f->expiring_before > 0 ? ORDER_EXPIRY :
		f->status == DB_FILTER_EXPIRED ? ORDER_EXPIRED : ORDER_NEWEST;
	/* A cursor is the last row of a page of the same order. */
	if (cur->id < 0 || cur->key < 0 || (cur->keyed != 0 && cur->keyed != 1) ||
	    (cur->id == 0 && (cur->keyed || cur->key != 0)) ||
	    (cur->id > 0 && cur->keyed != (order != ORDER_NEWEST)))
		return mica_err_set(err, MICA_E_BADREQ, "bad_cursor",
				    "this cursor does not belong to this listing");
	limit = db_clamp_limit(f->limit, LIST_MAX);
	/* Expired and expiring at once: nothing, without reading. */
	if (order == ORDER_EXPIRY && f->status == DB_FILTER_EXPIRED) {
		*out = NULL;
		return 0;
	}
	if (named && !tokened && names_few(db, lo, hi, &few, err) != 0)
		goto out;

	if (tokened && order == ORDER_NEWEST) {
		id = S_CERT_LIST_TOKEN;
		k8 = k9 = 0;
		/* Another filter may match few of the token's certificates:
		 * bound the walk as the whole table's. */
		if (f->scan_max > 0 &&
		    (named || f->status != -1 || f->expiring_before > 0) &&
		    walk_floor(db, cur->id, f->scan_max, &low_id, err) != 0)
			goto out;
	} else if (few || tokened) {
		id = tokened ? S_CERT_LIST_TOKEN_SORTED : S_CERT_LIST_NAMES;
		/* The cursor in the sort pair's terms (NAMES_K1, NAMES_K2). */
		if (cur->id == 0) {
			k8 = k9 = INT64_MIN;
		} else if (order == ORDER_NEWEST) {
			k8 = -cur->id;
			k9 = 0;
		} else if (order == ORDER_EXPIRY) {
			k8 = cur->key;
			k9 = cur->id;
		} else {
			k8 = -cur->key;
			k9 = -cur->id;
		}
	} else if (order == ORDER_EXPIRY) {
		id = S_CERT_LIST_EXPIRING;
		k9 = cur->id > 0 ? cur->key : INT64_MIN;
		k8 = k9 > f->now ? k9 : f->now + 1;
	} else if (order == ORDER_EXPIRED) {
		id = S_CERT_LIST_EXPIRED;
		k9 = cur->id > 0 ? cur->key : INT64_MAX;
		k8 = k9 < f->now ? k9 : f->now;
	} else {
		id = f->status == DB_CERT_ISSUING ? S_CERT_LIST_ISSUING :
		     S_CERT_LIST;
		k8 = k9 = 0;
		/* A filter may match few of the ids walked: bound the walk
		 * to ids in [low_id, the cursor's id). */
		if (id == S_CERT_LIST && f->scan_max > 0 &&
		    (named || f->status != -1 || f->expiring_before > 0) &&
		    walk_floor(db, cur->id, f->scan_max, &low_id, err) != 0)
			goto out;
	}

	if ((st = db_stmt(db, id, cert_sql, err)) == NULL)
		goto out;
	/* ?1: the cursor's id, or past every id in the page's direction. */
	bind_i64_opt(st, 1, cur->id > 0 ? cur->id :
		     order == ORDER_EXPIRY ? 0 : INT64_MAX, &b);
	bind_i64_opt(st, 2, f->status, &b);
	bind_i64_opt(st, 3, f->now, &b);
	bind_i64_opt(st, 4, f->expiring_before, &b);
	bind_text_opt(st, 5, named ? lo : NULL, &b);
	/* One more than asked: its presence says there is a next page. */
	bind_i64_opt(st, 6, (int64_t)limit + 1, &b);
	bind_text_opt(st, 7, named ? hi : NULL, &b);
	bind_i64_opt(st, 8, k8, &b);
	bind_i64_opt(st, 9, k9, &b);
	bind_i64_opt(st, 10, (int64_t)order, &b);
	bind_i64_opt(st, 11, low_id, &b);
	bind_text_opt(st, 12, tokened ? f->token_id : NULL, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), (size_t)limit, cert_row, (void **)&a,
		    &cnt, &more, err) != 0)
		goto out;
	if (more) {
		next->id = a[cnt - 1].id;
		next->keyed = order != ORDER_NEWEST;
		next->key = next->keyed ? a[cnt - 1].not_after : 0;
	} else if (low_id > 1) {
		/* The bounded walk stopped at LOW_ID (the page full or not,
		 * even empty): the ids below it were not looked at yet. */
		next->id = low_id;
	}
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_cert_array_free(a, cnt);
	if (rc != 0)
		memset(next, 0, sizeof(*next));
	return rc;
}

void
db_cert_array_free(struct db_cert *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_cert_free(&a[i]);
	free(a);
}

int
db_cert_revoke(struct db *db, const char *serial, int reason, int64_t at,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, old_reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if (!reason_ok(reason))
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason %d", reason);
	if ((st = db_stmt(db, S_CERT_REVOKE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, at, &b);
	db_bind_i64(st, 3, reason, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &old_reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "already_revoked",
			     old_reason == 6 ?
			     "the certificate is already on hold" :
			     "the certificate is already revoked");
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_reason_set(struct db *db, const char *serial, int from, int to,
		   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if (!reason_ok(from) || !reason_ok(to) || from == 6 || to == 6)
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "cannot change revocation reason %d to %d",
				    from, to);
	if ((st = db_stmt(db, S_CERT_REASON_SET, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, from, &b);
	db_bind_i64(st, 3, to, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_CONFLICT, "state_changed",
			     "the certificate is not revoked with reason %d",
			     from);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_invalid_set(struct db *db, const char *serial, int64_t at,
		    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if (at <= 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_invalidity_date",
				    "the invalidity date must be after "
				    "1970-01-01T00:00:00Z");
	if ((st = db_stmt(db, S_CERT_INVALID_SET, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, at, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;
	/* Not changed: an earlier date stands, or AT is after the
	 * revocation date (left as it is), unless the certificate is not
	 * revoked at all. */
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0) {
		cert_not_found(err);
		goto out;
	}
	if (status != 2 || reason == 6) {
		mica_err_set(err, MICA_E_CONFLICT, "state_changed",
			     "the certificate is not revoked (or is on hold)");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* db_rows reader: a serial, one column. */
static int
serial_row(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	return db_col_serial(st, 0, row, err);
}

/* The serials ST (bound, B its binding status) gives, at most MAX (0: all),
 * into *OUT (heap) and *N. Collected whole before the caller goes on: it
 * may change those rows on this connection, which must not happen under a
 * statement still stepping. ST is done with either way. */
static int
serial_rows(struct db *db, sqlite3_stmt *st, int b, size_t max,
	    char (**out)[DB_SERIAL_MAX], size_t *n, struct mica_err *err)
{
	char (*v)[DB_SERIAL_MAX] = NULL;
	size_t len = 0;
	int rc = -1;

	if (db_binds_ok(db, b, err) != 0 ||
	    db_rows(db, st, sizeof(*v), max, serial_row, (void **)&v, &len,
		    NULL, err) != 0)
		goto out;
	*out = v;
	*n = len;
	v = NULL;
	rc = 0;
out:
	free(v);
	db_stmt_done(st);
	return rc;
}

int
db_cert_same_key(struct db *db, const char *serial, int64_t now,
		 const char *keep, char (**out)[DB_SERIAL_MAX], size_t *n,
		 struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK;

	if (out == NULL || n == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_SAME_KEY, cert_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, now, &b);
	db_bind_text(st, 3, keep, &b);
	return serial_rows(db, st, b, 0, out, n, err);
}

int
db_cert_of_key(struct db *db, const unsigned char spki_sha256[32],
	       const char *profile, int64_t since, int64_t now, size_t max,
	       char (**out)[DB_SERIAL_MAX], size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK;

	if (out == NULL || n == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if (db == NULL || spki_sha256 == NULL || profile == NULL || max == 0)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_CERT_OF_KEY, cert_sql, err)) == NULL)
		return -1;
	db_bind_blob(st, 1, spki_sha256, 32, &b);
	db_bind_text(st, 2, profile, &b);
	db_bind_i64(st, 3, since, &b);
	db_bind_i64(st, 4, now, &b);
	return serial_rows(db, st, b, max, out, n, err);
}

int
db_cert_key_certified(struct db *db, const unsigned char spki_sha256[32],
		      char serial[DB_SERIAL_MAX], struct mica_err *err)
{
	char (*v)[DB_SERIAL_MAX] = NULL;
	sqlite3_stmt *st;
	size_t n = 0;
	int b = SQLITE_OK;

	if (db == NULL || spki_sha256 == NULL || serial == NULL)
		return db_bad_arg(err);
	serial[0] = '\0';
	if ((st = db_stmt(db, S_CERT_ANY_OF_KEY, cert_sql, err)) == NULL)
		return -1;
	db_bind_blob(st, 1, spki_sha256, 32, &b);
	if (serial_rows(db, st, b, 1, &v, &n, err) != 0)
		return -1;
	if (n == 1)
		memcpy(serial, v[0], DB_SERIAL_MAX);
	free(v);
	return n == 1 ? 1 : 0;
}

int
db_cert_unrevoke(struct db *db, const char *serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_UNREVOKE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "not_on_hold",
			     "only a certificate on hold (certificateHold) "
			     "can be reinstated");
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_set_request(struct db *db, const char *serial, const char *request_id,
		    struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, rc = -1;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || request_id == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_SET_REQUEST, cert_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, serial, &b);
	db_bind_text(st, 2, request_id, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no certificate %s without a request", serial);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* The two statements of a renewal link, LINK or its undoing, each on
 * (OLD, NEW), in one savepoint: both sides or neither. With LINK each
 * must change its row (both exist); an undoing changes only a side that
 * names the other. */
static int
renewal_pair(struct db *db, const char *old_serial, const char *new_serial,
	     int link, struct mica_err *err)
{
	static const enum db_stmt_id ids[2][2] = {
		{ S_CERT_UNLINK_OLD, S_CERT_UNLINK_NEW },
		{ S_CERT_LINK_OLD, S_CERT_LINK_NEW },
	};
	sqlite3_stmt *st = NULL;
	int rc = -1, b, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(old_serial) || !db_serial_ok(new_serial))
		return db_bad_serial(err);
	if (link && strcmp(old_serial, new_serial) == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "a certificate cannot renew itself");
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	for (int i = 0; i < 2; i++) {
		if ((st = db_stmt(db, ids[link][i], cert_sql, err)) == NULL)
			goto out;
		b = SQLITE_OK;
		db_bind_text(st, 1, old_serial, &b);
		db_bind_text(st, 2, new_serial, &b);
		if (db_binds_ok(db, b, err) != 0 ||
		    db_step_done(db, st, NULL, NULL, err) != 0)
			goto out;
		if (link && sqlite3_changes(db->h) != 1) {
			cert_not_found(err);
			goto out;
		}
		db_stmt_done(st);
		st = NULL;
	}
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

int
db_cert_link_renewal(struct db *db, const char *old_serial,
		     const char *new_serial, struct mica_err *err)
{
	return renewal_pair(db, old_serial, new_serial, 1, err);
}

int
db_cert_unlink_renewal(struct db *db, const char *old_serial,
		       const char *new_serial, struct mica_err *err)
{
	return renewal_pair(db, old_serial, new_serial, 0, err);
}

/* The walk of db_revoked_foreach(_key): KEY_IDX < 0 for every key. */
static int
revoked_walk(struct db *db, int key_idx, int64_t now, const char *keep,
	     db_revoked_cb cb, void *ctx, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *serial;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || cb == NULL || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	if ((st = db_stmt(db, key_idx < 0 ? S_REVOKED : S_REVOKED_KEY,
			  cert_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	/* (?2 is the key's, unused in the all-keys walk.) */
	if (key_idx >= 0)
		db_bind_i64(st, 2, key_idx, &b);
	db_bind_text(st, 3, keep, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	/* Rows are handed out straight from SQLite's buffers: nothing is
	 * allocated per certificate. */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((serial = sqlite3_column_text(st, 0)) == NULL) {
			db_oom(err);
			goto out;
		}
		if (cb(ctx, (const char *)serial, sqlite3_column_int64(st, 1),
		       sqlite3_column_int(st, 2),
		       sqlite3_column_int64(st, 3)) != 0)
			goto out;  /* stopped by the caller: err untouched */
	}
	if (r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_revoked_foreach(struct db *db, int64_t now, db_revoked_cb cb, void *ctx,
		   struct mica_err *err)
{
	return revoked_walk(db, -1, now, NULL, cb, ctx, err);
}

int
db_revoked_foreach_key(struct db *db, int key_idx, int64_t now,
		       const char *keep, db_revoked_cb cb, void *ctx,
		       struct mica_err *err)
{
	if (key_idx < 0)
		return db_bad_arg(err);
	return revoked_walk(db, key_idx, now, keep, cb, ctx, err);
}

int
db_counts(struct db *db, int64_t now, struct db_counts *out,
	  struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_COUNTS, cert_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		/* valid: not expired at NOW; expired: valid but past notAfter;
		 * revoked: all revoked, expired or not. */
		out->issuing = sqlite3_column_int64(st, 0);
		out->valid = sqlite3_column_int64(st, 1);
		out->revoked = sqlite3_column_int64(st, 2);
		out->expired = sqlite3_column_int64(st, 3);
		out->pending_requests = sqlite3_column_int64(st, 4);
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}
