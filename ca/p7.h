/*
 * ca/p7.h - PKCS#7 / CMS "certs-only" messages: a degenerate SignedData
 * (RFC 5652 5, RFC 2315 9) that carries certificates and nothing else.
 * It is what Windows' certreq returns for a CA certificate with its chain
 * (.p7b), and what Windows and IIS import as a chain; the daemon serves
 * its own chain this way at /ca.p7b (application/x-pkcs7-certificates).
 *
 * Both directions work on mica's own DER code (ca/der.h): the decoder
 * reads hostile bytes with the fail-closed cursor, bounded in the number
 * and size of certificates, and requires the whole input consumed; the
 * encoder writes with the bounded writer. Nothing here parses a
 * certificate beyond its outer shape: callers read them (ca/cacert.h).
 */
#ifndef MICA_CA_P7_H
#define MICA_CA_P7_H

#include <stddef.h>

#include "util/err.h"

#define CA_P7_CERTS_MAX 16               /* certificates in one message */
#define CA_P7_MAX       (256 * 1024)     /* largest message accepted */

/* One certificate of a message: its whole DER element. */
struct ca_p7_cert {
	const unsigned char *der;
	size_t len;
};

/*
 * Read DER[0..LEN) as ContentInfo { signedData, SignedData { version 1,
 * digestAlgorithms (AlgorithmIdentifiers, normally none), encapContentInfo
 * { id-data } without content, certificates [0] of 1..CA_P7_CERTS_MAX
 * Certificates (SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING }), no crls,
 * signerInfos empty } } and nothing after it. CERTS[0..*N) point into DER,
 * in the order of the message (DER sorts a SET OF, so this need not be
 * the order of a chain). Anything else - another content type, signers,
 * CRLs, attribute certificates, an indefinite length, a certificate set
 * too large - is MICA_E_BADREQ "bad_pkcs7" with the rule in the message.
 */
int ca_p7_decode(const unsigned char *der, size_t len,
		 struct ca_p7_cert certs[CA_P7_CERTS_MAX], size_t *n,
		 struct mica_err *err);

/*
 * Encode CERTS[0..N) (1..CA_P7_CERTS_MAX whole certificates) as that
 * certs-only message, the SET OF certificates in DER order (X.690 11.6).
 * *OUT heap. MICA_E_BADREQ "bad_pkcs7" if a certificate is not one DER
 * SEQUENCE.
 */
int ca_p7_encode(const struct ca_p7_cert *certs, size_t n,
		 unsigned char **out, size_t *out_len, struct mica_err *err);

/*
 * The same degenerate SignedData carrying one CRL (whole DER
 * CertificateList) in its crls [1] and no certificates: what a SCEP
 * GetCRL answers with (RFC 8894 3.3.2). *OUT heap. MICA_E_BADREQ
 * "bad_pkcs7" if CRL is not one DER SEQUENCE of that shape. (ca_p7_decode
 * reads certificates only and refuses this.)
 */
int ca_p7_encode_crl(const unsigned char *crl, size_t crl_len,
		     unsigned char **out, size_t *out_len,
		     struct mica_err *err);

#endif
