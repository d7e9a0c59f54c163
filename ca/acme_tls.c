/*
 * ca/acme_tls.c - the TLS client of validation: tls-alpn-01 (RFC 8737)
 * and the https redirects of http-01 (RFC 8555 8.3).
 *
 * GnuTLS rather than mbedTLS's SSL client: a tls-alpn-01 responder's
 * certificate carries the critical id-pe-acmeIdentifier extension, and
 * mbedTLS's handshake parses the peer's certificate itself and aborts on an
 * unknown critical extension (unless built with
 * MBEDTLS_X509_ALLOW_UNSUPPORTED_CRITICAL_EXTENSION, which Debian's is
 * not). GnuTLS, which mica already loads through libmicrohttpd, completes
 * the handshake without judging the certificate and hands over its DER,
 * which mbedTLS then reads with an extension callback (acme_validate.c).
 * No certificate is verified here: what validation checks is the
 * certificate's content, not who signed it.
 */
#include "ca/acme.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "ca/acme_int.h"

/* TLS 1.2 and 1.3, as the daemon's own listener. %COMPAT: the key usage
 * of the responder's certificate is not enforced (among other leniencies
 * towards odd peers): nothing trusts that certificate, and responders make
 * it ad hoc - lego's allows only keyEncipherment, which GnuTLS would
 * refuse for a handshake signed with that key. */
#define PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%COMPAT"

struct ca_acme_tls {
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	int fd;
	const struct ca_acme_vctx *v;
};

void
ca_acme_tls_close(struct ca_acme_tls *t)
{
	if (t == NULL)
		return;
	gnutls_deinit(t->s);
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* After GNUTLS_E_AGAIN: wait for the direction GnuTLS needs. */
static int
tls_wait(struct ca_acme_tls *t)
{
	return ca_acme_wait(t->v, t->fd,
			    gnutls_record_get_direction(t->s) ? POLLOUT : POLLIN);
}

int
ca_acme_tls_open(const struct ca_acme_vctx *v, int fd, const char *sni,
		 const char *alpn, struct ca_acme_tls **out,
		 struct ca_acme_verr *e)
{
	struct ca_acme_tls *t;
	gnutls_datum_t proto, sel;
	int r;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ca_acme_vfail(e, "server_internal", "out of memory");
	t->fd = fd;
	t->v = v;
	if (gnutls_certificate_allocate_credentials(&t->cred) != GNUTLS_E_SUCCESS) {
		free(t);
		return ca_acme_vfail(e, "server_internal", "cannot start TLS");
	}
	if (gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) != GNUTLS_E_SUCCESS) {
		gnutls_certificate_free_credentials(t->cred);
		free(t);
		return ca_acme_vfail(e, "server_internal", "cannot start TLS");
	}
	proto.data = (unsigned char *)(uintptr_t)alpn;
	proto.size = (unsigned)strlen(alpn);
	if (gnutls_priority_set_direct(t->s, PRIORITIES, NULL) != GNUTLS_E_SUCCESS ||
	    gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->cred) != GNUTLS_E_SUCCESS ||
	    (sni != NULL &&
	     gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, sni, strlen(sni)) != GNUTLS_E_SUCCESS) ||
	    gnutls_alpn_set_protocols(t->s, &proto, 1, 0) != GNUTLS_E_SUCCESS) {
		ca_acme_tls_close(t);
		return ca_acme_vfail(e, "server_internal", "cannot set up TLS");
	}
	gnutls_transport_set_int(t->s, fd);
	for (;;) {
		r = gnutls_handshake(t->s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if ((r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) && tls_wait(t) == 0)
			continue;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			ca_acme_vfail(e, "tls", "the TLS handshake timed out");
		else
			ca_acme_vfail(e, "tls", "the TLS handshake failed: %s",
				      gnutls_strerror(r));
		ca_acme_tls_close(t);
		return -1;
	}
	/* RFC 8737 3: a responder that does not select acme-tls/1 is not
	 * answering the challenge. */
	if (strcmp(alpn, "acme-tls/1") == 0 &&
	    (gnutls_alpn_get_selected_protocol(t->s, &sel) != GNUTLS_E_SUCCESS ||
	     sel.size != proto.size || memcmp(sel.data, proto.data, proto.size) != 0)) {
		ca_acme_tls_close(t);
		return ca_acme_vfail(e, "tls", "the server did not select the "
				     "acme-tls/1 protocol");
	}
	*out = t;
	return 0;
}

int
ca_acme_tls_peer(struct ca_acme_tls *t, const unsigned char **der, size_t *len,
		 struct ca_acme_verr *e)
{
	const gnutls_datum_t *c;
	unsigned n = 0;

	*der = NULL;
	*len = 0;
	if ((c = gnutls_certificate_get_peers(t->s, &n)) == NULL || n == 0 ||
	    c[0].size == 0)
		return ca_acme_vfail(e, "tls", "the server sent no certificate");
	*der = c[0].data;
	*len = c[0].size;
	return 0;
}

int
ca_acme_tls_write(struct ca_acme_tls *t, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = gnutls_record_send(t->s, p, len);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
			if (tls_wait(t) != 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t
ca_acme_tls_read(struct ca_acme_tls *t, void *buf, size_t size)
{
	for (;;) {
		ssize_t r = gnutls_record_recv(t->s, buf, size);

		if (r >= 0)
			return r;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (tls_wait(t) != 0)
				return -1;
			continue;
		}
		/* Many servers close without close_notify: an end of
		 * stream for a "Connection: close" response. */
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		return -1;
	}
}
