/*
 * ca/requests.c - certificate requests: submitting a CSR (issued at once
 * for an admin or an enrollment token, left pending for an anonymous
 * client), and the pending requests' status, list, approval and denial.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/csr.h"
#include "ca/keys.h"
#include "util/hex.h"

/* Whether each of A[0..NA) is among B[0..NB) (ca_name_same). */
static int
names_within(const struct ca_name *a, size_t na, const struct ca_name *b,
	     size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		int found = 0;

		for (size_t j = 0; j < nb && !found; j++)
			found = ca_name_same(&a[i], &b[j]);
		if (!found)
			return 0;
	}
	return 1;
}

/* Whether NAMES[0..N) are, as a set, the CSR's own names (in any order,
 * spelling or repetition: each parsed once to its canonical form): 1 or
 * 0, -1 out of memory. */
static int
names_are_the_csr(const char *const *names, size_t n, const struct ca_csr *csr)
{
	struct ca_name *v;
	int same = 0;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ca_name_parse(names[i], 0, &v[i], NULL) != 0)
			goto out;
	same = names_within(v, n, csr->names, csr->nnames) &&
	       names_within(csr->names, csr->nnames, v, n);
out:
	free(v);
	return same;
}

/* Names: the caller's override (admin only: anyone else may only repeat
 * the CSR's) or the CSR's. *out heap. */
static int
collect_names(const struct ca_principal *p, const struct ca_submit *s,
	      const struct ca_csr *csr, struct ca_name **out, size_t *n,
	      struct mica_err *err)
{
	struct ca_name *v;
	size_t nnames = s->nnames, count;

	*out = NULL;
	*n = 0;
	if (nnames > 0 && !ca_is_admin(p)) {
		int same = csr->nnames > 0 ?
			   names_are_the_csr(s->names, nnames, csr) : 0;

		if (same < 0)
			return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
					    "out of memory");
		if (same == 0)
			return mica_err_set(err, MICA_E_FORBIDDEN, "names_override",
					    "only an admin may set names other than the CSR's");
		nnames = 0;   /* the CSR's, as it has them */
	}
	count = nnames > 0 ? nnames : csr->nnames;
	if (count == 0) {
		struct mica_err why;
		struct ca_name cn_name;

		/* A CN that was meant as a host name (it has a dot) but is
		 * not a valid one: say what is wrong with it, rather than
		 * only that nothing was named. */
		/* The subject's emailAddress would have named it, but one
		 * is no address: say which (ca_csr_parse kept why). */
		if (csr->names_err.kind != MICA_E_NONE) {
			if (err != NULL)
				*err = csr->names_err;
			return -1;
		}
		mica_err_clear(&why);
		if (csr->cn != NULL && strchr(csr->cn, '.') != NULL &&
		    strchr(csr->cn, ':') == NULL &&
		    ca_name_parse(csr->cn, 0, &cn_name, &why) != 0)
			return mica_err_set(err, MICA_E_POLICY, "no_names",
					    "the CSR names nothing: its CN is not a valid host name (%s); "
					    "fix it or add a subjectAltName", why.msg);
		/* One with a colon was meant as an IPv6 address ("fe80::1%eth0":
		 * a zone names a link on one machine only). */
		if (csr->cn != NULL && strchr(csr->cn, ':') != NULL &&
		    ca_name_parse(csr->cn, CA_NAME_IP, &cn_name, &why) != 0)
			return mica_err_set(err, MICA_E_POLICY, "no_names",
					    "the CSR names nothing: its CN is not a valid IP address (%s); "
					    "fix it or add a subjectAltName", why.msg);
		return mica_err_set(err, MICA_E_POLICY, "no_names",
				    "the CSR names nothing: add a subjectAltName with its DNS "
				    "names, addresses or e-mail addresses (without one, a CN that "
				    "is a host name, address or e-mail address counts, else the "
				    "subject's emailAddress)");
	}
	if (count > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_POLICY, "too_many_names",
				    "at most %d names per certificate", CA_NAMES_MAX);
	if ((v = calloc(count, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < count; i++) {
		if (nnames > 0) {
			if (ca_name_parse(s->names[i], 0, &v[i], err) != 0) {
				free(v);
				return -1;
			}
		} else {
			v[i] = csr->names[i];
		}
	}
	/* Drop duplicates (the same name given twice). */
	*out = v;
	*n = ca_names_unique(v, count);
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

struct pending_tx {
	const struct db_request *rec;
	const unsigned char *spki; size_t spki_len;
	const unsigned char *spki_hash;
	const char *actor;
	char detail[200];
	char existing[CA_ID_MAX];   /* out: the request already pending */
	const struct ca_on_record *on_record;   /* or NULL */
};

/* Looked up and counted in the transaction that inserts, so that
 * concurrent submissions cannot overshoot the bounds, nor queue one CSR
 * twice, together. A request for a compromised key could never be
 * approved: refused at once. The same CSR again (a retry, or a flood of
 * one CSR) is the request already waiting: no new row. One client may
 * hold only CA_PENDING_PER_CLIENT of the CA_PENDING_MAX places, so a
 * flood from one address cannot shut everyone else out. */
static int
pending_body(struct db *db, void *arg, struct mica_err *err)
{
	struct pending_tx *x = arg;
	int64_t pending = 0;

	if (ca_key_certifiable(db, x->spki, x->spki_len, x->spki_hash,
			       err) != 0)
		return -1;
	if (db_req_find_pending(db, x->rec->profile, x->rec->csr_der,
				x->rec->csr_len, x->existing, err) != 0)
		return -1;
	if (x->existing[0] != '\0')
		return ca_on_record_run(x->on_record, db, x->existing, "",
					err);
	if (db_req_count_pending_client(db, x->rec->client, &pending, err) != 0)
		return -1;
	if (pending >= CA_PENDING_PER_CLIENT)
		return mica_err_set(err, MICA_E_RATE, "too_many_pending_from_client",
				    "%d requests from this address are already waiting for "
				    "approval; wait for an admin's decision",
				    CA_PENDING_PER_CLIENT);
	if (db_req_count_pending(db, &pending, err) != 0)
		return -1;
	if (pending >= CA_PENDING_MAX)
		return mica_err_set(err, MICA_E_RATE, "too_many_pending",
				    "too many requests are waiting for approval; try again later");
	if (db_req_insert(db, x->rec, err) != 0 ||
	    ca_on_record_run(x->on_record, db, x->rec->id, "", err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), x->actor, "request.submit", x->rec->id,
			    x->detail, err);
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
	struct ca_issue_job j;
	struct db_request rec;
	char *joined = NULL;
	int rc = -1;

	memset(&csr, 0, sizeof(csr));
	memset(out, 0, sizeof(*out));
	if ((prof = ca_profile_get(s->profile, err)) == NULL)
		return -1;
	if (s->days < 0 || s->days > CA_DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "days must be a positive number");
	if (ca_csr_load(s->csr, s->csr_len, &csr, err) != 0)
		goto out;
	if (collect_names(p, s, &csr, &names, &nnames, err) != 0)
		goto out;
	if (ca_run_policy(ca, p, prof, names, nnames, csr.key_kind, csr.key_bits,
			  s->days, 0, &d, err) != 0)
		goto out;

	/* Every submission is recorded as a request the client can poll: a
	 * pending one waits for an admin, an issued one is written in the
	 * same transaction as its certificate. */
	memset(&rec, 0, sizeof(rec));
	if ((joined = ca_join_names(names, nnames)) == NULL) {
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
	rec.submitted_at = ca_now();

	if (p->kind == CA_PRINCIPAL_ANON) {
		/* Manager approval: store the request, sign nothing. */
		struct pending_tx x;

		rec.status = DB_REQ_PENDING;
		x.rec = &rec;
		x.spki = csr.spki;
		x.spki_len = csr.spki_len;
		x.spki_hash = csr.spki_sha256;
		x.actor = p->actor;
		x.existing[0] = '\0';
		x.on_record = s->on_record;
		snprintf(x.detail, sizeof(x.detail), "profile %s from %s",
			 prof->name, p->client);
		if (ca_tx(ca, CA_TX_DURABLE, pending_body, &x, err) != 0)
			goto out;
		snprintf(out->request_id, sizeof(out->request_id), "%s",
			 x.existing[0] != '\0' ? x.existing : rec.id);
		out->status = CA_REQ_PENDING;
		rc = 0;
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
	j.on_record = s->on_record;
	rc = ca_issue(ca, &j, out, err);
	if (rc == 0)
		snprintf(out->request_id, sizeof(out->request_id), "%s", rec.id);
out:
	free(joined);
	free(names);
	ca_csr_free(&csr);
	return rc;
}

/* ------------------------------------------------- pending requests -- */

_Static_assert((int)CA_REQ_PENDING == (int)DB_REQ_PENDING &&
	       (int)CA_REQ_ISSUED == (int)DB_REQ_ISSUED &&
	       (int)CA_REQ_DENIED == (int)DB_REQ_DENIED, "request status");
_Static_assert(CA_ID_MAX == sizeof(((struct db_request *)0)->id), "request id");

/* Move the store's request IN into OUT; IN is left empty (freeable). */
static void
request_take(struct ca_request *out, struct db_request *in)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, in->id, sizeof(out->id));
	out->status = in->status;
	out->profile = in->profile;
	out->csr_der = in->csr_der;
	out->csr_len = in->csr_len;
	out->names = in->names;
	out->subject = in->subject;
	out->days = in->days;
	out->client = in->client;
	out->submitted_at = in->submitted_at;
	out->decided_at = in->decided_at;
	out->decided_by = in->decided_by;
	out->deny_reason = in->deny_reason;
	memcpy(out->serial, in->serial, sizeof(out->serial));
	in->profile = in->names = in->subject = in->client = NULL;
	in->decided_by = in->deny_reason = NULL;
	in->csr_der = NULL;
	in->csr_len = 0;
}

void
ca_request_free(struct ca_request *r)
{
	if (r == NULL)
		return;
	free(r->profile);
	free(r->csr_der);
	free(r->names);
	free(r->subject);
	free(r->client);
	free(r->decided_by);
	free(r->deny_reason);
	memset(r, 0, sizeof(*r));
}

void
ca_request_array_free(struct ca_request *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ca_request_free(&a[i]);
	free(a);
}

/* A request id that cannot be one (as the API's 400 bad_id). */
static int
bad_id(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_id",
			    "malformed request id (lowercase hexadecimal expected)");
}

int
ca_request_status(struct ca *ca, const char *id, struct ca_issued *out,
		  struct ca_request *req, struct mica_err *err)
{
	struct db_request r;
	struct db_cert c;

	memset(out, 0, sizeof(*out));
	memset(req, 0, sizeof(*req));
	memset(&r, 0, sizeof(r));
	if (!ca_valid_id(id))
		return bad_id(err);
	if (db_req_get(ca->db, id, &r, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such request");
		return -1;
	}
	snprintf(out->request_id, sizeof(out->request_id), "%s", r.id);
	out->status = r.status;
	if (r.status == DB_REQ_ISSUED) {
		memset(&c, 0, sizeof(c));
		if (db_cert_get(ca->db, r.serial, &c, err) != 0) {
			db_req_free(&r);
			return -1;
		}
		snprintf(out->serial, sizeof(out->serial), "%s", c.serial);
		out->der = c.der;
		out->der_len = c.der_len;
		out->key_idx = c.key_idx;
		c.der = NULL;
		out->not_before = c.not_before;
		out->not_after = c.not_after;
		if (c.status == DB_CERT_REVOKED) {
			out->revoked = 1;
			out->revoked_at = c.revoked_at;
			out->reason = c.reason;
			out->invalid_at = c.invalid_at;
		}
		db_cert_free(&c);
	}
	request_take(req, &r);
	db_req_free(&r);
	return 0;
}

int
ca_request_bundle(struct ca *ca, const char *id, int form,
		  char serial_out[CA_SERIAL_MAX], unsigned char **out,
		  size_t *out_len, struct mica_err *err)
{
	struct ca_issued is;
	struct ca_request req;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (ca_request_status(ca, id, &is, &req, err) != 0)
		return -1;
	/* What the poll says as "status", as a refusal: nothing to hand
	 * out yet, or ever. */
	if (is.status == CA_REQ_PENDING) {
		mica_err_set(err, MICA_E_CONFLICT, "request_pending",
			     "request %s waits for an admin's decision: no "
			     "certificate yet", req.id);
		goto out;
	}
	if (is.status != CA_REQ_ISSUED) {
		mica_err_set(err, MICA_E_CONFLICT, "request_denied",
			     "request %s was denied: it has no certificate",
			     req.id);
		goto out;
	}
	if (ca_bundle(ca, is.der, is.der_len, is.key_idx, form, out, out_len,
		      err) != 0)
		goto out;
	if (serial_out != NULL)
		memcpy(serial_out, is.serial, CA_SERIAL_MAX);
	rc = 0;
out:
	ca_issued_free(&is);
	ca_request_free(&req);
	return rc;
}

int
ca_request_list(struct ca *ca, const struct ca_principal *p, int status,
		const struct ca_cursor *after, int limit,
		struct ca_request **out, size_t *n, struct ca_cursor *next,
		struct mica_err *err)
{
	struct db_request *v = NULL;
	size_t count = 0;
	int more = 0;

	*out = NULL;
	*n = 0;
	memset(next, 0, sizeof(*next));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (after != NULL && after->id != 0 && (after->keyed || after->id < 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_cursor",
				    "this cursor is not one of a request listing");
	if (limit <= 0 || limit > 1000)
		limit = 1000;
	if (db_req_list(ca->db, status, after != NULL ? after->id : 0, limit,
			&v, &count, &more, err) != 0)
		return -1;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
		db_req_array_free(v, count);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	if (more && count > 0)
		next->id = v[count - 1].rowid;
	for (size_t i = 0; i < count; i++)
		request_take(&(*out)[i], &v[i]);
	db_req_array_free(v, count);
	*n = count;
	return 0;
}

/* MICA_E_CONFLICT "already_decided" for decided request R, with OUT
 * saying what it became: the serial of an issued one's certificate, so
 * that whoever approves again (a command killed after its commit, a
 * second admin) can fetch it. */
static void
decided_already(const struct db_request *r, struct ca_issued *out,
		struct mica_err *err)
{
	ca_issued_free(out);
	memset(out, 0, sizeof(*out));
	snprintf(out->request_id, sizeof(out->request_id), "%s", r->id);
	if (r->status == DB_REQ_ISSUED) {
		out->status = CA_REQ_ISSUED;
		snprintf(out->serial, sizeof(out->serial), "%s", r->serial);
		mica_err_set(err, MICA_E_CONFLICT, "already_decided",
			     "request %s was already issued: certificate %s",
			     r->id, r->serial);
	} else {
		out->status = CA_REQ_DENIED;
		mica_err_set(err, MICA_E_CONFLICT, "already_decided",
			     "request %s was already denied", r->id);
	}
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
	struct ca_issue_job j;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&csr, 0, sizeof(csr));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (!ca_valid_id(id))
		return bad_id(err);
	if (db_req_get(ca->db, id, &r, err) != 0)
		return -1;
	if (r.status != DB_REQ_PENDING) {
		decided_already(&r, out, err);
		goto out;
	}
	if ((prof = ca_profile_get(r.profile, err)) == NULL)
		goto out;
	/* Re-check everything: domains or overrides may have changed. */
	if (ca_csr_parse(r.csr_der, r.csr_len, &csr, err) != 0 ||
	    ca_stored_names_parse(r.names, &names, &nnames, err) != 0 ||
	    ca_run_policy(ca, p, prof, names, nnames, csr.key_kind, csr.key_bits,
			  r.days, 0, &d, err) != 0)
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
	if (ca_issue(ca, &j, out, err) != 0) {
		/* Another approval (or a denial) committed first: say what
		 * it decided, as for a request found decided above. */
		if (err != NULL && err->kind == MICA_E_CONFLICT &&
		    strcmp(err->code, "already_decided") == 0) {
			db_req_free(&r);
			memset(&r, 0, sizeof(r));
			if (db_req_get(ca->db, id, &r, err) == 0 &&
			    r.status != DB_REQ_PENDING)
				decided_already(&r, out, err);
		}
		goto out;
	}
	snprintf(out->request_id, sizeof(out->request_id), "%s", r.id);
	rc = 0;
out:
	free(names);
	ca_csr_free(&csr);
	db_req_free(&r);
	return rc;
}

struct deny_tx {
	const char *id;
	const char *actor;
	const char *why;            /* "" if none given */
};

static int
deny_body(struct db *db, void *arg, struct mica_err *err)
{
	struct deny_tx *x = arg;
	int64_t now = ca_now();

	if (db_req_decide(db, x->id, DB_REQ_DENIED, x->actor, NULL,
			  x->why[0] ? x->why : CA_DENY_REASON_DEFAULT, now, err) != 0)
		return -1;
	return db_audit_add(db, now, x->actor, "request.deny", x->id,
			    x->why[0] ? x->why : NULL, err);
}

int
ca_request_deny(struct ca *ca, const struct ca_principal *p, const char *id,
		const char *reason, struct mica_err *err)
{
	struct deny_tx x;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (!ca_valid_id(id))
		return bad_id(err);
	if (ca_text_check(reason, CA_TEXT_MAX, "reason", err) != 0)
		return -1;
	x.id = id;
	x.actor = p->actor;
	x.why = reason != NULL ? reason : "";
	return ca_tx(ca, CA_TX_DURABLE, deny_body, &x, err);
}
