/*
 * ca/scep.c - the SCEP service (RFC 8894, ca_scep_* in ca/ca.h): the RA
 * certificate, GetCACert, and PKIOperation through the same policy as
 * every other issuance (tokens, pending requests, renewals, the
 * compromised-key list); GetCert and GetCRL read the store.
 *
 * SCEP encrypts to RSA; mica's CA key is EC by default. As Windows' NDES
 * does, an RA ("registration authority") RSA key decrypts what clients
 * send and signs what mica answers. It is never the CA key, whatever the
 * CA's type: in the daemon the keeper makes it at start and only the
 * signers hold it open (ca/signer.h), and the store keeps it sealed under
 * the CA's passphrase (scep_ra_key), so it outlives restarts; the CA key
 * certifies it for CA_SCEP_RA_DAYS with keyEncipherment and
 * digitalSignature only and the one extendedKeyUsage NDES gives its RA
 * (Microsoft's Certificate Request Agent), here, on first use, recorded
 * (scep_ra) before it is sent, reused after a restart, and renewed when
 * less than CA_SCEP_RA_RENEW_LEFT is left. GetNextCACert announces the certificate
 * 'mica install-ca' installed under a running daemon. The codec is
 * ca/scep.h.
 */
#include "ca/ca.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/csr.h"
#include "ca/p7.h"
#include "ca/profile.h"
#include "ca/scep.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/hex.h"
#include "util/log.h"

struct ca_scep_state {
	pthread_mutex_t mu;            /* the RA certificate */
	unsigned char *cert;           /* DER */
	size_t cert_len;
	int64_t not_before, not_after;
};

void
ca_scep_state_free(struct ca_scep_state *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->cert);
	free(s);
}

static struct ca_scep_state *
state(struct ca *ca, struct mica_err *err)
{
	struct ca_scep_state *s;

	pthread_mutex_lock(&ca->sh->lock);
	if (ca->sh->scep == NULL &&
	    (ca->sh->scep = calloc(1, sizeof(*ca->sh->scep))) != NULL)
		pthread_mutex_init(&ca->sh->scep->mu, NULL);
	s = ca->sh->scep;
	pthread_mutex_unlock(&ca->sh->lock);
	if (s == NULL)
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
	return s;
}

/* A new RA certificate for the RA key, recorded before anyone sees it.
 * Called with s->mu held. */
static int
certify(struct ca *ca, struct ca_scep_state *s, int64_t now,
	struct mica_err *err)
{
	static const struct ca_service ra = {
		.cn = CA_SCEP_RA_CN,
		.what = "an RA",
		.actor = "scep",
		.action = "scep.ra",
		.log_name = "RA",
		.days = CA_SCEP_RA_DAYS,
		.min_left = 3600,
		/* The RA signs CertRep (digitalSignature) and clients encrypt
		 * to it (keyEncipherment); RFC 8894 names no EKU for it, and
		 * without one its key would pass for a TLS client's or
		 * server's. */
		.key_usage = CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT,
		.eku = CA_EKU_CERT_REQUEST_AGENT,
		.key = ca_sign_scep_key,
		.sign = ca_sign_scep_cert,
		.add = db_scep_ra_add,
	};
	struct ca_service_cert c;

	if (ca_service_certify(ca, &ra, now, &c, err) != 0)
		return -1;
	free(s->cert);
	s->cert = c.der;
	s->cert_len = c.der_len;
	s->not_before = c.not_before;
	s->not_after = c.not_after;
	return 0;
}

/* Is an RA certificate valid until NOT_AFTER due for renewal at NOW? A
 * month before its end, unless it ends with the CA's path already: one
 * made then could last no longer. */
static int
ra_due(const struct ca *ca, int64_t not_after, int64_t now)
{
	return not_after - now < CA_SCEP_RA_RENEW_LEFT &&
	       not_after < ca->sh->path_not_after;
}

/* After a restart: the newest RA certificate in the store, if it is for
 * the RA key the signers hold (sealed in the store, ca/handle.c), signed
 * by this CA's current key and not yet due for renewal (ra_due: one that
 * ends with the CA's path is kept, or every start in the path's last
 * month would change the fingerprint devices pin). Called with
 * s->mu held. 0 when S->cert is set or there is nothing to reuse; -1 when
 * the store or the signers could not be asked (busy, slow to start):
 * then the caller must not certify another RA, or one slow answer under
 * load would replace the RA certificate every client has pinned.
 * The CA certificate is read with ca/cacert.h, not mbedTLS: an issuing
 * CA's carries critical name constraints, which mbedTLS 3.6 refuses to
 * parse, and the RA certificate would then be replaced at every start. */
static int
reuse(struct ca *ca, struct ca_scep_state *s, int64_t now,
      struct mica_err *err)
{
	struct ca_cert_info ra, cacrt;
	unsigned char spki[1024], *der = NULL;
	size_t spki_len = 0, len = 0;
	int64_t not_after = 0;
	struct mica_err e;
	int rc = -1;

	mica_err_clear(&e);
	if (db_scep_ra_latest(ca->db, now, &der, &len, &not_after, &e) != 0) {
		if (e.kind != MICA_E_NOTFOUND) {
			*err = e;
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (ca_sign_scep_key(ca, spki, sizeof(spki), &spki_len, err) != 0)
		goto out;
	rc = 0;
	mica_err_clear(&e);
	if (ra_due(ca, not_after, now) ||
	    ca_cert_info_read(der, len, &ra, &e) != 0 ||
	    ra.not_before > now ||
	    ra.spki_len != spki_len ||
	    memcmp(ra.spki, spki, spki_len) != 0 ||
	    ca_cert_info_read(ca->sh->cert_der, ca->sh->cert_len, &cacrt,
			      &e) != 0 ||
	    ca_cert_issued_by(&ra, &cacrt, &e) != 0)
		goto out;
	s->cert = der;
	s->cert_len = len;
	s->not_before = ra.not_before;
	s->not_after = not_after;
	der = NULL;
out:
	free(der);
	return rc;
}

/* Into SERIAL the hex by which the store knows the certificate whose
 * serial is the INTEGER contents P[0..N), its leading zero octets dropped;
 * 0 if no certificate of this CA can have it (over 20 octets). */
static int
serial_hex(const unsigned char *p, size_t n, char serial[CA_SERIAL_MAX])
{
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0 || n > 20)
		return 0;
	mica_hex_encode(p, n, serial);
	return 1;
}

/* A message encrypted to an earlier RA certificate of the RA key: the RA
 * certificate is renewed a month before its 90 days end, and a device
 * that fetched GetCACert before (pinned, or pending since) encrypts to the
 * one it has. Into *OUT (heap; NULL if none): the RA certificate a
 * recipient of M names by issuer and serial, if this CA recorded it, it
 * has not expired, and it certifies the key of RA, the current one (the
 * key the signers decrypt with; an RA key made anew - a store restored
 * elsewhere - cannot read what was encrypted to its predecessor). */
static int
earlier_ra(struct ca *ca, const struct ca_scep_msg *m, const unsigned char *ra,
	   size_t ra_len, unsigned char **out, size_t *out_len,
	   struct mica_err *err)
{
	mbedtls_x509_crt cur, old;
	int64_t now = ca_now(), not_after;
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	mbedtls_x509_crt_init(&cur);
	mbedtls_x509_crt_init(&old);
	if (mbedtls_x509_crt_parse_der(&cur, ra, ra_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			     "the RA certificate does not parse");
		goto out;
	}
	for (size_t i = 0; i < m->nrecips && *out == NULL; i++) {
		const struct ca_scep_recip *r = &m->recips[i];
		char serial[CA_SERIAL_MAX];
		struct mica_err e;

		/* A negative serial (its first octet's top bit set) is
		 * no certificate's. */
		if (r->issuer_len != cur.issuer_raw.len ||
		    memcmp(r->issuer, cur.issuer_raw.p, r->issuer_len) != 0 ||
		    r->serial_len == 0 || (r->serial[0] & 0x80) != 0 ||
		    !serial_hex(r->serial, r->serial_len, serial))
			continue;
		mica_err_clear(&e);
		if (db_scep_ra_get(ca->db, serial, &der, &len, &not_after,
				   &e) != 0) {
			if (e.kind != MICA_E_NOTFOUND) {
				*err = e;
				goto out;
			}
			continue;
		}
		mbedtls_x509_crt_free(&old);
		mbedtls_x509_crt_init(&old);
		if (now < not_after &&
		    mbedtls_x509_crt_parse_der(&old, der, len) == 0 &&
		    old.pk_raw.len == cur.pk_raw.len &&
		    memcmp(old.pk_raw.p, cur.pk_raw.p, cur.pk_raw.len) == 0) {
			*out = der;
			*out_len = len;
			der = NULL;
		}
		free(der);
		der = NULL;
	}
	rc = 0;
out:
	free(der);
	mbedtls_x509_crt_free(&cur);
	mbedtls_x509_crt_free(&old);
	return rc;
}

/* A copy of the current RA certificate (made or renewed when due). */
static int
ra_cert(struct ca *ca, unsigned char **der, size_t *len, struct mica_err *err)
{
	struct ca_scep_state *s;
	int64_t now = ca_now();
	int rc = -1;

	*der = NULL;
	*len = 0;
	if (ca_sign_ready(ca, err) != 0 || (s = state(ca, err)) == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (s->cert == NULL && reuse(ca, s, now, err) != 0)
		goto out;
	/* Also when the clock was set back before its notBefore (it ran
	 * ahead, then was corrected): a client with the right time would
	 * take the RA certificate for one not valid yet. */
	if ((s->cert == NULL || now < s->not_before ||
	     ra_due(ca, s->not_after, now)) &&
	    certify(ca, s, now, err) != 0)
		goto out;
	if ((*der = malloc(s->cert_len)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	memcpy(*der, s->cert, s->cert_len);
	*len = s->cert_len;
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
ca_scep_cacert(struct ca *ca, unsigned char **out, size_t *len,
	       struct mica_err *err)
{
	struct ca_p7_cert c[CA_P7_CERTS_MAX];
	unsigned char *ra = NULL;
	size_t ra_len = 0, n = ca_chain_count(ca), k = 0;
	int rc;

	*out = NULL;
	*len = 0;
	if (ra_cert(ca, &ra, &ra_len, err) != 0)
		return -1;
	c[k].der = ra;
	c[k++].len = ra_len;
	for (size_t i = 0; i < n && k < CA_P7_CERTS_MAX; i++) {
		c[k].der = ca_chain_der(ca, i, &c[k].len);
		k++;
	}
	rc = ca_p7_encode(c, k, out, len, err);
	free(ra);
	return rc;
}

/* ------------------------------------------------------------------ */
/* GetNextCACert                                                       */
/* ------------------------------------------------------------------ */

/* The certs-only message of the next CA certificate (*CONTENT heap): the
 * store's current certificate when it is not the one this handle signs
 * under and ca_scep_nextca_check, the signer's own rule, accepts it. */
static int
next_content(struct ca *ca, unsigned char **content, size_t *len,
	     struct mica_err *err)
{
	struct ca_p7_cert c;
	struct db_ca row;
	struct mica_err e;
	int rc = -1;

	*content = NULL;
	*len = 0;
	memset(&row, 0, sizeof(row));
	mica_err_clear(&e);
	/* A root rolls over by a new root and a cross-certificate, which
	 * GetNextCACert does not carry. */
	if (ca->sh->cert_der == NULL || ca->sh->nchain == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "no_next_ca",
			     "this CA has no next CA certificate");
		goto out;
	}
	if (db_ca_get(ca->db, &row, err) != 0)
		goto out;
	if (row.state != DB_CA_ACTIVE || row.cert_der == NULL ||
	    (row.cert_len == ca->sh->cert_len &&
	     memcmp(row.cert_der, ca->sh->cert_der, row.cert_len) == 0)) {
		mica_err_set(err, MICA_E_NOTFOUND, "no_next_ca",
			     "this CA has no next CA certificate");
		goto out;
	}
	c.der = row.cert_der;
	c.len = row.cert_len;
	if (ca_p7_encode(&c, 1, content, len, err) != 0)
		goto out;
	if (ca_scep_nextca_check(ca->sh->cert_der, ca->sh->cert_len,
				 ca->sh->chain[0].der, ca->sh->chain[0].len,
				 *content, *len, ca_now(), &e) != 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "no_next_ca",
			     "the CA certificate installed since this server "
			     "started is not one SCEP announces (%s)", e.msg);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*content);
		*content = NULL;
		*len = 0;
	}
	db_ca_free(&row);
	return rc;
}

int
ca_scep_next_pending(struct ca *ca)
{
	unsigned char *content = NULL;
	size_t len = 0;
	struct mica_err e;
	int r;

	r = next_content(ca, &content, &len, &e) == 0;
	free(content);
	return r;
}

static int
nextca_sign_cb(void *arg, const unsigned char *content, size_t len,
	       unsigned char *sig, size_t *sig_len, struct mica_err *err)
{
	return ca_sign_scep_nextca(arg, content, len, sig, sig_len, err);
}

int
ca_scep_nextcacert(struct ca *ca, unsigned char **out, size_t *len,
		   struct mica_err *err)
{
	unsigned char *content = NULL, *ra = NULL;
	size_t content_len = 0, ra_len = 0;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (next_content(ca, &content, &content_len, err) != 0 ||
	    ra_cert(ca, &ra, &ra_len, err) != 0 ||
	    ca_scep_nextca_encode(content, content_len, ra, ra_len,
				  nextca_sign_cb, ca, out, len, err) != 0)
		goto out;
	rc = 0;
out:
	free(content);
	free(ra);
	return rc;
}

/* ------------------------------------------------------------------ */
/* PKIOperation                                                        */
/* ------------------------------------------------------------------ */

static int
sign_cb(void *arg, const unsigned char *attrs, size_t attrs_len,
	unsigned char *sig, size_t *sig_len, struct mica_err *err)
{
	return ca_sign_scep(arg, attrs, attrs_len, sig, sig_len, err);
}

/* Is E a fault of the service (the store, the signers), not of the
 * request? Those are answered 5xx, never as a SCEP failure. */
static int
service_fault(const struct mica_err *e)
{
	return e->kind == MICA_E_INTERNAL || e->kind == MICA_E_UNAVAIL ||
	       e->kind == MICA_E_RATE;
}

struct op {
	struct ca *ca;
	const char *client;
	const struct ca_scep_msg *m;
	struct ca_scep_rep rep;
	unsigned char *content;        /* SUCCESS: degenerate PKCS#7, heap */
	size_t content_len;
};

static void
fail(struct op *o, int info, const char *why)
{
	o->rep.status = CA_SCEP_FAILURE;
	o->rep.fail_info = info;
	mica_log(MICA_LOG_INFO, "scep: %s refused (failInfo %d): %s",
		 o->client, info, why);
}

/* SUCCESS with O->content, a degenerate PKCS#7 already made. */
static void
success_content(struct op *o)
{
	o->rep.status = CA_SCEP_SUCCESS;
	o->rep.content = o->content;
	o->rep.content_len = o->content_len;
	o->rep.cipher = o->m->cipher;
	o->rep.recipient = o->m->signer_cert;
	o->rep.recipient_len = o->m->signer_cert_len;
}

/* SUCCESS with certificate DER. */
static int
success(struct op *o, const unsigned char *der, size_t len,
	struct mica_err *err)
{
	struct ca_p7_cert c = { der, len };

	if (ca_p7_encode(&c, 1, &o->content, &o->content_len, err) != 0)
		return -1;
	success_content(o);
	return 0;
}

/* Answer with what became of transaction TX. */
static int
tx_state(struct op *o, const struct db_scep_tx *tx, struct mica_err *err)
{
	struct ca_issued is;
	struct ca_request req;
	struct db_cert c;
	int rc = -1;

	memset(&is, 0, sizeof(is));
	memset(&req, 0, sizeof(req));
	memset(&c, 0, sizeof(c));
	if (tx->serial[0] != '\0') {
		struct mica_err e;

		mica_err_clear(&e);
		if (db_cert_get(o->ca->db, tx->serial, &c, &e) != 0) {
			/* Forgotten since it was looked up (the sweep of
			 * issuances left by a killed process takes the
			 * transaction with the row). */
			if (e.kind != MICA_E_NOTFOUND) {
				*err = e;
				goto out;
			}
			fail(o, CA_SCEP_BAD_REQUEST, "the issuance was "
			     "interrupted and given up; enroll again");
		} else if (c.status == DB_CERT_ISSUING) {
			/* Reserved, not yet stored: signed in another
			 * process on this store, or left by a process killed
			 * while signing, until the sweep gives the row up
			 * (CA_ISSUE_ABANDON_S) and the device's next message
			 * enrolls again. Either way the device waits. */
			mica_log(MICA_LOG_INFO, "scep: %s: transaction %s: "
				 "certificate %s is being issued (or was "
				 "interrupted): pending", o->client,
				 o->m->tid, tx->serial);
			o->rep.status = CA_SCEP_PENDING;
		} else if (c.der == NULL || c.status != DB_CERT_VALID) {
			fail(o, CA_SCEP_BAD_REQUEST, "certificate revoked or "
			     "never completed");
		} else if (success(o, c.der, c.der_len, err) != 0) {
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (ca_request_status(o->ca, tx->request_id, &is, &req, err) != 0)
		goto out;
	if (req.status == CA_REQ_PENDING) {
		o->rep.status = CA_SCEP_PENDING;
	} else if (req.status == CA_REQ_ISSUED && is.der != NULL) {
		/* Approved, then perhaps revoked before the device polled:
		 * as for a certificate issued at once, a revoked one is not
		 * handed out as the answer to the request. */
		if (db_cert_get(o->ca->db, is.serial, &c, err) != 0)
			goto out;
		if (c.status != DB_CERT_VALID)
			fail(o, CA_SCEP_BAD_REQUEST, "certificate revoked");
		else if (success(o, is.der, is.der_len, err) != 0)
			goto out;
	} else {
		fail(o, CA_SCEP_BAD_REQUEST, "the request was denied");
	}
	rc = 0;
out:
	ca_issued_free(&is);
	ca_request_free(&req);
	db_cert_free(&c);
	return rc;
}

struct scep_tx_rec {
	const char *tid;
	const unsigned char *signer;
	struct db_scep_tx tx;
};

/* A CSR enrolled already, asked again by its key under another
 * transactionID or certificate: this transaction recorded as an alias of
 * the first one of that CSR (FIRST, out), which it then answers with -
 * up to DB_SCEP_TX_PER_CSR transactions a CSR. */
struct alias_tx {
	const char *tid;
	const unsigned char *signer;
	const unsigned char *csr_hash;
	struct db_scep_tx first;
};

static int
alias_body(struct db *db, void *arg, struct mica_err *err)
{
	struct alias_tx *x = arg;
	struct db_scep_tx t;
	int full = 0;

	if (db_scep_tx_of_csr(db, x->csr_hash, &x->first, err) != 0 ||
	    db_scep_tx_csr_full(db, x->csr_hash, &full, err) != 0)
		return -1;
	/* A key's holder could otherwise record a row per transactionID it
	 * makes up: past the bound, answered without one (a CertPoll of
	 * such a transaction is then badCertId; its PKCSReq is answered). */
	if (full)
		return 0;
	t = x->first;
	t.created_at = ca_now();
	return db_scep_tx_add(db, x->tid, x->signer, &t, err);
}

/* ca_on_record's: the transaction is recorded in the transaction that
 * records what it became (the pending request, or the reserved serial of
 * the certificate issued at once), so that a process killed meanwhile
 * leaves both or neither. */
static int
tx_record(struct db *db, void *arg, const char *request_id,
	  const char *serial, struct mica_err *err)
{
	struct scep_tx_rec *x = arg;

	snprintf(x->tx.request_id, sizeof(x->tx.request_id), "%s", request_id);
	snprintf(x->tx.serial, sizeof(x->tx.serial), "%s", serial);
	x->tx.created_at = ca_now();
	return db_scep_tx_add(db, x->tid, x->signer, &x->tx, err);
}

/* The serial (hex) of certificate DER if this CA issued it and it is
 * current (valid, not revoked, not expired) and stored byte for byte. */
static int
own_current_cert(struct ca *ca, const unsigned char *der, size_t len,
		 char serial[CA_SERIAL_MAX])
{
	mbedtls_x509_crt crt;
	struct db_cert c;
	struct mica_err e;
	int64_t now = ca_now();
	int ok = 0;

	memset(&c, 0, sizeof(c));
	mica_err_clear(&e);
	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0)
		goto out;
	if (!serial_hex(crt.serial.p, crt.serial.len, serial))
		goto out;
	if (db_cert_get(ca->db, serial, &c, &e) != 0)
		goto out;
	if (c.status == DB_CERT_VALID && c.der != NULL && c.der_len == len &&
	    memcmp(c.der, der, len) == 0 && c.not_before <= now &&
	    now < c.not_after)
		ok = 1;
out:
	db_cert_free(&c);
	mbedtls_x509_crt_free(&crt);
	return ok;
}

/* May CSR renew certificate SERIAL (a current one of this CA, whose key
 * signed the message)? Names that are all the certificate's (at least
 * one), or none at all with the certificate's key: a renewal issues the
 * certificate's names whatever the CSR asks, so a CSR that asks for
 * others - with the same key too - is not one (a device enrolling for new
 * or more names with its certificate as signer would get the old names
 * and be told SUCCESS), and anyone's CSR wrapped by the holder of some
 * certificate would otherwise bind that certificate's names to another's
 * key. 1 yes, 0 no, -1 ERR. */
static int
csr_renews(struct ca *ca, const char *serial, const struct ca_csr *csr,
	   struct mica_err *err)
{
	struct db_cert c;
	struct ca_name *names = NULL;
	size_t n = 0;
	int yes = 0;

	memset(&c, 0, sizeof(c));
	if (db_cert_get(ca->db, serial, &c, err) != 0)
		return -1;
	if (csr->nnames == 0) {
		yes = memcmp(csr->spki_sha256, c.spki_sha256, 32) == 0;
	} else {
		if (ca_stored_names_parse(c.names, &names, &n, err) != 0) {
			db_cert_free(&c);
			return -1;
		}
		yes = 1;
		for (size_t i = 0; i < csr->nnames && yes; i++) {
			size_t k;

			for (k = 0; k < n; k++)
				if (names[k].kind == csr->names[i].kind &&
				    strcmp(names[k].value, csr->names[i].value) == 0)
					break;
			yes = k < n;
		}
		free(names);
	}
	db_cert_free(&c);
	return yes;
}

/* Enrollments under way in this process, each by two keys: its
 * transactionID and signer, and its CSR. A message that races its twin (a
 * client resending on a timeout, a replay) or another message carrying
 * the same CSR (a copy signed again by someone else) waits until the
 * first is recorded, then is judged by that record - one message, one
 * certificate, one use of the challenge. */
#define INFLIGHT_MAX 64

static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inflight_cond = PTHREAD_COND_INITIALIZER;
static unsigned char inflight[INFLIGHT_MAX][32];
static unsigned inflight_n;

static int
inflight_find(const unsigned char key[32])
{
	for (unsigned i = 0; i < inflight_n; i++)
		if (memcmp(inflight[i], key, 32) == 0)
			return (int)i;
	return -1;
}

/* Wait until no enrollment holds either key of (TID, SIGNER, CSR_HASH),
 * then take both (KEYS[0], KEYS[1]): all or nothing, so two waiters never
 * hold one key each. */
static void
inflight_enter(const char *tid, const unsigned char signer[32],
	       const unsigned char csr_hash[32], unsigned char keys[2][32])
{
	unsigned char buf[CA_SCEP_TID_MAX + 33];
	size_t tl = strnlen(tid, CA_SCEP_TID_MAX);

	buf[0] = 't';
	memcpy(buf + 1, signer, 32);
	memcpy(buf + 33, tid, tl);
	ca_sha256(buf, 33 + tl, keys[0]);
	buf[0] = 'c';
	memcpy(buf + 1, csr_hash, 32);
	ca_sha256(buf, 33, keys[1]);
	pthread_mutex_lock(&inflight_lock);
	while (inflight_find(keys[0]) >= 0 || inflight_find(keys[1]) >= 0 ||
	       inflight_n + 2 > INFLIGHT_MAX)
		pthread_cond_wait(&inflight_cond, &inflight_lock);
	memcpy(inflight[inflight_n++], keys[0], 32);
	memcpy(inflight[inflight_n++], keys[1], 32);
	pthread_mutex_unlock(&inflight_lock);
}

static void
inflight_leave(unsigned char keys[2][32])
{
	int i;

	pthread_mutex_lock(&inflight_lock);
	for (int k = 0; k < 2; k++)
		if ((i = inflight_find(keys[k])) >= 0)
			memcpy(inflight[i], inflight[--inflight_n], 32);
	pthread_cond_broadcast(&inflight_cond);
	pthread_mutex_unlock(&inflight_lock);
}

static int enroll_once(struct op *o, const unsigned char *csr_der,
		       size_t csr_len, const unsigned char csr_hash[32],
		       struct mica_err *err);

/* PKCSReq and RenewalReq: CSR is the decrypted content. */
static int
enroll(struct op *o, const unsigned char *csr_der, size_t csr_len,
       struct mica_err *err)
{
	unsigned char keys[2][32], csr_hash[32];
	int rc;

	ca_sha256(csr_der, csr_len, csr_hash);
	inflight_enter(o->m->tid, o->m->signer_hash, csr_hash, keys);
	rc = enroll_once(o, csr_der, csr_len, csr_hash, err);
	inflight_leave(keys);
	return rc;
}

/* Is the message signed with the key the CSR certifies? */
static int
signed_by_csr_key(const struct ca_scep_msg *m, const struct ca_csr *csr)
{
	mbedtls_x509_crt crt;
	unsigned char buf[1024];
	int n, same = 0;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, m->signer_cert,
				       m->signer_cert_len) == 0 &&
	    (n = mbedtls_pk_write_pubkey_der(&crt.pk, buf, sizeof(buf))) > 0)
		same = (size_t)n == csr->spki_len &&
		       memcmp(buf + sizeof(buf) - n, csr->spki, csr->spki_len) == 0;
	mbedtls_x509_crt_free(&crt);
	return same;
}

static int
enroll_once(struct op *o, const unsigned char *csr_der, size_t csr_len,
	    const unsigned char csr_hash[32], struct mica_err *err)
{
	const struct ca_scep_msg *m = o->m;
	struct ca_csr csr;
	struct ca_principal p;
	struct ca_submit sub;
	struct ca_issued is;
	struct scep_tx_rec x;
	struct ca_on_record rec = { tx_record, &x };
	struct mica_err e;
	char old_serial[CA_SERIAL_MAX];
	int rc = -1, renewal = 0, own = 0, authed = 0, seen = 0, r;

	memset(&csr, 0, sizeof(csr));
	memset(&p, 0, sizeof(p));
	memset(&is, 0, sizeof(is));
	memset(&x, 0, sizeof(x));
	mica_err_clear(&e);

	/* The CSR is read before the store is asked anything: content that
	 * decrypts to garbage (a padding oracle's probe, see ca_scep_pkiop)
	 * is then answered as fast as content that does not decrypt. A
	 * transaction on record had a CSR that parsed. */
	if (ca_csr_parse(csr_der, csr_len, &csr, &e) != 0) {
		if (service_fault(&e)) {
			*err = e;
			goto out;
		}
		fail(o, CA_SCEP_BAD_REQUEST, e.msg);
		rc = 0;
		goto out;
	}
	/* The same transaction again, from the same key: what became of it. */
	r = db_scep_tx_get(o->ca->db, m->tid, m->signer_hash, &x.tx, &e);
	if (r == 0) {
		if (!ca_ct_equal(x.tx.csr_hash, csr_hash, 32)) {
			fail(o, CA_SCEP_BAD_REQUEST, "a known transactionID "
			     "with another CSR");
			rc = 0;
			goto out;
		}
		rc = tx_state(o, &x.tx, err);
		goto out;
	}
	if (e.kind != MICA_E_NOTFOUND) {
		*err = e;
		goto out;
	}
	memset(&sub, 0, sizeof(sub));
	sub.csr = csr_der;
	sub.csr_len = csr_len;
	sub.on_record = &rec;
	x.tid = m->tid;
	x.signer = m->signer_hash;
	memcpy(x.tx.csr_hash, csr_hash, 32);
	own = (m->type == CA_SCEP_RENEWALREQ || m->type == CA_SCEP_PKCSREQ) &&
	      own_current_cert(o->ca, m->signer_cert, m->signer_cert_len,
			       old_serial);
	if (own && (r = csr_renews(o->ca, old_serial, &csr, &e)) <= 0) {
		if (r < 0) {
			*err = e;
			goto out;
		}
		if (m->type == CA_SCEP_RENEWALREQ) {
			fail(o, CA_SCEP_BAD_REQUEST, "a renewal asks only for "
			     "names of the certificate it renews");
			rc = 0;
			goto out;
		}
		own = 0;    /* a PKCSReq for other names: an enrollment */
	}
	renewal = own && m->type == CA_SCEP_RENEWALREQ;
	/* A PKCSReq signed with a current certificate of this CA, for its
	 * key or names, is how certmonger renews (the re-enrollment of the
	 * SCEP drafts before RenewalReq, which NDES and other servers take
	 * as a renewal too), with its first CSR's challenge, spent by then:
	 * a renewal as RenewalReq is, unless the challenge is a valid
	 * enrollment token - then it asks for a new certificate in that
	 * token's scope. */
	if (own && !renewal) {
		if (csr.has_challenge && csr.challenge[0] != '\0') {
			if (ca_authenticate(o->ca, csr.challenge, o->client, &p,
					    &e) == 0)
				authed = p.kind == CA_PRINCIPAL_ENROLL;
			else if (service_fault(&e)) {
				*err = e;
				goto out;
			}
		}
		if (!authed) {
			ca_principal_free(&p);
			renewal = 1;
		}
	}
	/* A CSR enrolled already, in another transaction: asked again by
	 * its key's holder (a client that made itself a new self-signed
	 * certificate), or a copy of the message signed again by someone
	 * who could read none of it (the envelope is encrypted to the RA)
	 * but would spend its challenge. Only the key's holder is served.
	 * A renewal proves itself with the certificate it renews. */
	if (!renewal) {
		if (db_scep_tx_seen(o->ca->db, csr_hash, &seen, err) != 0)
			goto out;
		if (seen && !signed_by_csr_key(m, &csr)) {
			mica_log(MICA_LOG_INFO, "scep: %s: a CSR enrolled "
				 "already, signed again by another key: "
				 "refused", o->client);
			fail(o, CA_SCEP_BAD_REQUEST, "this CSR was enrolled "
			     "already; only its own key may ask again");
			rc = 0;
			goto out;
		}
		/* Asked again by its key's holder: what became of it the
		 * first time - not a second certificate, nor a challenge
		 * checked again, which that enrollment spent (a copy of the
		 * message signed by someone else may have come first). This
		 * transaction is recorded as the first one's alias, so that
		 * the device's CertPoll finds it (told PENDING, it polls
		 * with this transactionID and certificate). */
		if (seen) {
			struct alias_tx a;
			struct mica_err e2;

			memset(&a, 0, sizeof(a));
			a.tid = m->tid;
			a.signer = m->signer_hash;
			a.csr_hash = csr_hash;
			mica_err_clear(&e2);
			if (ca_tx(o->ca, CA_TX_DURABLE, alias_body, &a,
				  &e2) == 0) {
				mica_log(MICA_LOG_INFO, "scep: %s: a CSR "
					 "enrolled already, asked again by "
					 "its key", o->client);
				rc = tx_state(o, &a.first, err);
				goto out;
			}
			/* Forgotten meanwhile (an interrupted issuance
			 * given up): enrolled anew below. */
			if (e2.kind != MICA_E_NOTFOUND) {
				*err = e2;
				goto out;
			}
		}
	}
	if (renewal) {
		/* Signed with the certificate it renews: that is the proof
		 * of possession (the signature was verified). A challenge
		 * in the CSR (scepclient reuses its first CSR) is not
		 * needed. */
		ca_principal_anon(&p, o->client);
		r = ca_renew_proved(o->ca, &p, old_serial, csr_der, csr_len,
				    &rec, &is, &e);
	} else if (csr.has_challenge) {
		/* The challengePassword is an enrollment token. One that is
		 * no printable ASCII (a token with a line end pasted along,
		 * accented letters: ca/csr.c keeps it as present but empty)
		 * is a wrong challenge like any other - FAILURE, nothing
		 * stored -, not a request without one left for an admin. */
		if (!authed && (csr.challenge[0] == '\0' ||
				ca_authenticate(o->ca, csr.challenge, o->client,
						&p, &e) != 0)) {
			if (service_fault(&e)) {
				*err = e;
				goto out;
			}
			fail(o, CA_SCEP_BAD_REQUEST, "the challenge is not a "
			     "valid enrollment token");
			rc = 0;
			goto out;
		}
		if (p.kind != CA_PRINCIPAL_ENROLL) {
			fail(o, CA_SCEP_BAD_REQUEST, "only an enrollment token "
			     "is a challenge");
			rc = 0;
			goto out;
		}
		sub.profile = p.scope_profile != NULL ? p.scope_profile :
			      "client";
		r = ca_submit_csr(o->ca, &p, &sub, &is, &e);
	} else if (m->type == CA_SCEP_RENEWALREQ) {
		fail(o, CA_SCEP_BAD_REQUEST, "a renewal must be signed with a "
		     "current certificate of this CA");
		rc = 0;
		goto out;
	} else {
		/* No challenge: a request an admin approves. */
		ca_principal_anon(&p, o->client);
		sub.profile = "client";
		r = ca_submit_csr(o->ca, &p, &sub, &is, &e);
	}
	if (r != 0 && e.kind == MICA_E_CONFLICT &&
	    strcmp(e.code, "scep_tx_exists") == 0) {
		struct db_scep_tx other;

		/* The same message raced in twice, through another process
		 * on this store (twins in this one wait for each other, see
		 * inflight_enter): the first one recorded answers for both;
		 * the second recorded nothing (its transaction, which would
		 * have reserved a certificate, was rolled back). */
		mica_err_clear(&e);
		if (db_scep_tx_get(o->ca->db, m->tid, m->signer_hash, &other,
				   &e) != 0) {
			if (e.kind != MICA_E_NOTFOUND) {
				*err = e;
				goto out;
			}
			/* Given up since (its issuance interrupted). */
			fail(o, CA_SCEP_BAD_REQUEST, "the same transaction "
			     "was interrupted meanwhile; send it again");
			rc = 0;
			goto out;
		}
		if (!ca_ct_equal(other.csr_hash, csr_hash, 32)) {
			fail(o, CA_SCEP_BAD_REQUEST, "a known transactionID "
			     "with another CSR");
			rc = 0;
		} else {
			rc = tx_state(o, &other, err);
		}
		goto out;
	}
	if (r != 0) {
		if (service_fault(&e)) {
			*err = e;
			goto out;
		}
		fail(o, CA_SCEP_BAD_REQUEST, e.msg);
		rc = 0;
		goto out;
	}
	if (is.status == CA_REQ_PENDING) {
		o->rep.status = CA_SCEP_PENDING;
		mica_log(MICA_LOG_INFO, "scep: %s: request %s pending",
			 o->client, is.request_id);
	} else if (is.status == CA_REQ_ISSUED && is.der != NULL) {
		if (success(o, is.der, is.der_len, err) != 0)
			goto out;
		mica_log(MICA_LOG_INFO, "scep: %s: %s %s", o->client,
			 renewal ? "renewed as" : "issued", is.serial);
	} else {
		fail(o, CA_SCEP_BAD_REQUEST, "not issued");
	}
	rc = 0;
out:
	ca_csr_free(&csr);
	ca_principal_free(&p);
	ca_issued_free(&is);
	return rc;
}

/* CertPoll: IssuerAndSubject; the transaction is found by its id and key. */
static int
poll_tx(struct op *o, const unsigned char *c, size_t n, struct mica_err *err)
{
	const unsigned char *a, *b;
	size_t al, bl;
	struct db_scep_tx tx;
	struct mica_err e;

	mica_err_clear(&e);
	if (ca_scep_pair_parse(c, n, 0, &a, &al, &b, &bl, &e) != 0) {
		fail(o, CA_SCEP_BAD_REQUEST, e.msg);
		return 0;
	}
	if (db_scep_tx_get(o->ca->db, o->m->tid, o->m->signer_hash, &tx,
			   &e) != 0) {
		if (e.kind != MICA_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		fail(o, CA_SCEP_BAD_CERT_ID, "no such transaction");
		return 0;
	}
	return tx_state(o, &tx, err);
}

/* The serial (hex) of the certificate an IssuerAndSerialNumber (decrypted
 * content C) names, if its issuer is this CA; 0 with a FAILURE set in O
 * otherwise (and 0 with SERIAL filled when it is). */
static int
ias_serial(struct op *o, const unsigned char *c, size_t n,
	   char serial[CA_SERIAL_MAX])
{
	const unsigned char *issuer, *sn;
	size_t il, sl;
	struct mica_err e;

	mica_err_clear(&e);
	serial[0] = '\0';
	if (ca_scep_pair_parse(c, n, 1, &issuer, &il, &sn, &sl, &e) != 0) {
		fail(o, CA_SCEP_BAD_REQUEST, e.msg);
		return 0;
	}
	if (il != o->ca->sh->subject_len ||
	    memcmp(issuer, o->ca->sh->subject, il) != 0 ||
	    !serial_hex(sn, sl, serial))
		fail(o, CA_SCEP_BAD_CERT_ID, "not a certificate of this CA");
	return 0;
}

/* GetCert: IssuerAndSerialNumber of a certificate this CA issued. */
static int
get_cert(struct op *o, const unsigned char *c, size_t n, struct mica_err *err)
{
	char hex[CA_SERIAL_MAX];
	struct db_cert cert;
	struct mica_err e;
	int rc = -1;

	memset(&cert, 0, sizeof(cert));
	mica_err_clear(&e);
	if (ias_serial(o, c, n, hex) != 0 || hex[0] == '\0')
		return 0;
	if (db_cert_get(o->ca->db, hex, &cert, &e) != 0) {
		if (e.kind != MICA_E_NOTFOUND) {
			*err = e;
			goto out;
		}
		fail(o, CA_SCEP_BAD_CERT_ID, "no such certificate");
	} else if (cert.der == NULL) {
		fail(o, CA_SCEP_BAD_CERT_ID, "certificate never completed");
	} else if (success(o, cert.der, cert.der_len, err) != 0) {
		goto out;
	}
	rc = 0;
out:
	db_cert_free(&cert);
	return rc;
}

/* GetCRL (RFC 8894 3.3.4): IssuerAndSerialNumber of a certificate this CA
 * issued; the answer is the current CRL of the CA key that signed it (a
 * rollover leaves each key its own CRL), as published (never signed per
 * request), in a degenerate PKCS#7's crls. An expired CRL is not handed
 * out, as /crl does not serve one. */
static int
get_crl(struct op *o, const unsigned char *c, size_t n, struct mica_err *err)
{
	char hex[CA_SERIAL_MAX];
	struct db_cert cert;
	struct ca_crl crl;
	struct mica_err e;
	int rc = -1;

	memset(&cert, 0, sizeof(cert));
	memset(&crl, 0, sizeof(crl));
	mica_err_clear(&e);
	if (ias_serial(o, c, n, hex) != 0 || hex[0] == '\0')
		return 0;
	if (db_cert_get(o->ca->db, hex, &cert, &e) != 0) {
		if (e.kind != MICA_E_NOTFOUND) {
			*err = e;
			goto out;
		}
		fail(o, CA_SCEP_BAD_CERT_ID, "no such certificate");
		rc = 0;
		goto out;
	}
	if (ca_crl_current_key(o->ca, cert.key_idx, &crl, &e) != 0) {
		if (e.kind != MICA_E_NOTFOUND) {
			*err = e;
			goto out;
		}
		fail(o, CA_SCEP_BAD_REQUEST, "no CRL published yet");
		rc = 0;
		goto out;
	}
	if (crl.der == NULL || crl.next_update <= ca_now()) {
		fail(o, CA_SCEP_BAD_TIME, "the current CRL has expired");
		rc = 0;
		goto out;
	}
	if (ca_p7_encode_crl(crl.der, crl.der_len, &o->content,
			     &o->content_len, err) != 0)
		goto out;
	success_content(o);
	mica_log(MICA_LOG_INFO, "scep: %s: GetCRL for %s: CRL %lld",
		 o->client, hex, (long long)crl.number);
	rc = 0;
out:
	ca_crl_free(&crl);
	db_cert_free(&cert);
	return rc;
}

int
ca_scep_pkiop(struct ca *ca, const char *client, const unsigned char *msg,
	      size_t len, unsigned char **out, size_t *out_len,
	      struct mica_err *err)
{
	struct ca_scep_msg m;
	struct op o;
	struct mica_err e;
	unsigned char *ra = NULL, *content = NULL, key[CA_SCEP_KEY_MAX];
	unsigned char *to = NULL;
	size_t ra_len = 0, content_len = 0, klen, to_len = 0;
	const char *why = NULL;
	int rc = -1, ri, fi;

	*out = NULL;
	*out_len = 0;
	memset(&o, 0, sizeof(o));
	mica_err_clear(&e);
	if (ca_scep_msg_parse(msg, len, &m, err) != 0)
		return -1;
	if (ra_cert(ca, &ra, &ra_len, err) != 0)
		goto out;
	o.ca = ca;
	o.client = client != NULL ? client : "?";
	o.m = &m;
	o.rep.tid = m.tid;
	o.rep.recipient_nonce = m.nonce;
	o.rep.recipient_nonce_len = m.nonce_len;
	/* Encrypted to an earlier RA certificate of the same key: looked up
	 * for a signed message only. */
	if (m.sig_ok && ca_scep_msg_recip(&m, ra, ra_len) < 0 &&
	    earlier_ra(ca, &m, ra, ra_len, &to, &to_len, err) != 0)
		goto out;
	/* Everything decided before the RA decrypts anything: the
	 * algorithms (badAlg), the signature, the type, the recipient. */
	if (ca_scep_msg_check(&m, to != NULL ? to : ra,
			      to != NULL ? to_len : ra_len, &ri, &fi,
			      &why) != 0) {
		fail(&o, fi, why);
		goto reply;
	}
	klen = ca_scep_cipher_key_len(m.cipher);
	if (ca_sign_scep_decrypt(ca, m.recips[ri].ekey, m.recips[ri].ekey_len,
				 klen, key, &e) != 0) {
		if (service_fault(&e)) {
			*err = e;
			goto out;
		}
		fail(&o, CA_SCEP_BAD_MESSAGE_CHECK, "the key transport is not "
		     "to the RA key");
		goto reply;
	}
	/* Bad CBC padding is answered as content that decrypts to garbage
	 * (a CSR or IssuerAndSerialNumber that does not parse): anyone may
	 * sign a captured envelope again under a certificate of their own,
	 * and two answers would be a padding oracle that reads the
	 * captured CSR, challengePassword included, a byte per hundred
	 * messages (Vaudenay 2002). */
	if (ca_scep_decrypt(&m, key, &content, &content_len, &e) != 0) {
		fail(&o, CA_SCEP_BAD_REQUEST, "the content does not decrypt");
		goto reply;
	}
	switch (m.type) {
	case CA_SCEP_PKCSREQ:
	case CA_SCEP_RENEWALREQ:
		if (enroll(&o, content, content_len, err) != 0)
			goto out;
		break;
	case CA_SCEP_CERTPOLL:
		if (poll_tx(&o, content, content_len, err) != 0)
			goto out;
		break;
	case CA_SCEP_GETCERT:
		if (get_cert(&o, content, content_len, err) != 0)
			goto out;
		break;
	case CA_SCEP_GETCRL:
		if (get_crl(&o, content, content_len, err) != 0)
			goto out;
		break;
	default:
		/* Refused before the decryption above; kept so that a type
		 * added there and not here is refused, never a crash. */
		fail(&o, CA_SCEP_BAD_REQUEST, "an unknown messageType");
		break;
	}
reply:
	if (ca_scep_rep_encode(&o.rep, ra, ra_len, sign_cb, ca, out, out_len,
			       err) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	if (content != NULL) {
		mbedtls_platform_zeroize(content, content_len);
		free(content);
	}
	free(o.content);
	free(ra);
	free(to);
	ca_scep_msg_free(&m);
	return rc;
}
