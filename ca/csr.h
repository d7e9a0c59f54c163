/*
 * ca/csr.h - certificate signing requests (PKCS#10, RFC 2986) from outside.
 *
 * Everything here handles hostile bytes: bounded, fail-closed, and never
 * echoes input back in messages.
 */
#ifndef MICA_CA_CSR_H
#define MICA_CA_CSR_H

#include <stddef.h>

#include "ca/names.h"
#include "util/err.h"

#define CA_CSR_MAX (64 * 1024)   /* largest encoded CSR accepted */
#define CA_CSR_CHALLENGE_MAX 255 /* pkcs-9-ub-challengePassword (RFC 2985) */

/*
 * Turn IN (PEM with "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"
 * labels, bare base64 with or without line breaks/CRLF, or DER) into DER.
 * A PEM private key ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
 * "ENCRYPTED PRIVATE KEY") is refused with MICA_E_BADREQ code
 * "private_key_not_csr" and a message telling the user to send the CSR,
 * never the key; other garbage -> MICA_E_BADREQ "bad_csr". Larger than
 * CA_CSR_MAX -> MICA_E_TOOLARGE. *der is heap, caller frees.
 */
int ca_csr_decode(const unsigned char *in, size_t len, unsigned char **der,
		  size_t *der_len, struct mica_err *err);

struct ca_csr {
	unsigned char *der;        /* the CSR, DER */
	size_t der_len;
	char *subject;             /* display form of the subject ("CN=..., O=...") */
	char *cn;                  /* subject commonName or NULL */
	struct ca_name *names;     /* SAN names (DNS, IP, email), canonical;
				    * if the CSR has no SAN, the CN when it is
				    * a valid DNS name, IP or email, else the
				    * subject's emailAddress attributes */
	size_t nnames;
	/* Why the subject's emailAddress attributes, which would have been
	 * the names, are not (one is no valid address): kind MICA_E_NONE
	 * when nothing was refused. Not a refusal of the CSR, which an
	 * admin may still issue with other names, a CA may still sign and
	 * a renewal may still take the key of; the refusal of a request
	 * that has no other names to go by (ca/requests.c). */
	struct mica_err names_err;
	unsigned char *spki;       /* SubjectPublicKeyInfo, DER */
	size_t spki_len;
	unsigned char spki_sha256[32];
	int key_kind;              /* enum ca_pubkey_kind (ca/profile.h) */
	int key_bits;
	/* The challengePassword attribute (PKCS#9, RFC 2985 5.4.1), signed
	 * with the rest: a renewal's fresh proof of possession carries its
	 * nonce here. has_challenge is 1 when the attribute is present;
	 * challenge holds its value when that is printable ASCII in a UTF8,
	 * Printable or IA5 string, "" otherwise. Never logged or stored;
	 * zeroized by ca_csr_free. */
	int has_challenge;
	char challenge[CA_CSR_CHALLENGE_MAX + 1];
};

/*
 * Parse DER (the whole input must be one CSR), verify its self-signature
 * explicitly (proof of possession; mbedTLS's parser does not), and check the
 * key: RSA 2048..4096 bits with an odd public exponent >= 65537, or EC on
 * P-256 / P-384 only. Signature algorithms: RSA PKCS#1 v1.5 or RSASSA-PSS
 * (MGF1 over the same hash) with SHA-256/384/512 and ECDSA with
 * SHA-256/384/512.
 * Errors: MICA_E_BADREQ "bad_csr" (unparsable), "bad_signature",
 * "unsupported_signature" (unknown algorithms, RSASSA-PSS parameters
 * mica does not verify); MICA_E_POLICY "weak_signature" (SHA-1, MD5,
 * RSASSA-PSS included), "weak_key" (RSA < 2048,
 * exponent), "unsupported_key"
 * (other curves, DSA, Ed25519...), "bad_name" (a SAN entry that is not a
 * valid name), "too_many_names". Attributes other than the extension
 * request and one challengePassword (1..255 octets, one value) are
 * skipped; a malformed or repeated challengePassword is "bad_csr".
 * On success *out owns its fields; free with ca_csr_free.
 */
int ca_csr_parse(const unsigned char *der, size_t der_len, struct ca_csr *out,
		 struct mica_err *err);

/*
 * The check a CSR's RSA key gets (2048..4096 bits; an odd public exponent
 * of at least 65537 and at most 256 bits), for an RSA key from elsewhere
 * before any costly use of it: a SCEP message's signer certificate, which
 * anyone may send, would otherwise have the server verify with an 8192-bit
 * modulus and an exponent as long (half a second of CPU each). 0, or -1
 * with ERR (MICA_E_POLICY "weak_key", or "unsupported_key" also for a key
 * that is not RSA; MICA_E_BADREQ "bad_csr" for an invalid one).
 */
struct mbedtls_pk_context;
int ca_rsa_key_check(const struct mbedtls_pk_context *pk,
		     struct mica_err *err);

/*
 * The Name DN (a list as mbedtls_x509_get_names() builds it) written as
 * mbedtls_x509_dn_gets() writes it, octet for octet, but without its
 * limit of 255 characters a value (a UTF8String O of 43 Cyrillic letters,
 * where RFC 5280 allows 64, is 258): attributes "SHORT=value" joined by
 * ", ", or " + " before the Nth node (counting every node from 0) when
 * MERGED (NULL, or one entry a node) has MERGED[N] set: one RDN's
 * attributes (mbedTLS's own list says so in a private field, which
 * mbedtls_x509_dn_get_next reads; a list mica builds cannot set it);
 * the value of a UTF8String,
 * PrintableString or IA5String with RFC 4514 2.4's escapes ("\,") and
 * each octet below 0x20 or past 0x7e as "\XX"; a value of any other type,
 * or of an attribute mbedTLS has no short name for (then shown as its
 * dotted OID), as "#" and the hex of its DER. Returns the length written
 * into BUF (NUL-terminated); -1 when it does not fit in SIZE octets, -2
 * for a NUL in a string value.
 */
struct mbedtls_asn1_named_data;
int ca_dn_print(char *buf, size_t size,
		const struct mbedtls_asn1_named_data *dn,
		const unsigned char *merged);

/* Decode + parse in one call. */
int ca_csr_load(const unsigned char *in, size_t len, struct ca_csr *out,
		struct mica_err *err);

/* Free the fields of *c and zero it. Accepts NULL. */
void ca_csr_free(struct ca_csr *c);

/* The key of the CSR DER (DER_LEN octets, one mica stored: accepted once)
 * as people name it - "EC P-256", "EC P-384", "RSA 3072" - into BUF (SIZE
 * bytes; 16 suffice), without checking its signature: for showing a
 * request to the admin who decides it. 0, or -1 and "" for a key of no
 * such kind or a CSR that does not parse. */
int ca_csr_key_text(const unsigned char *der, size_t der_len, char *buf,
		    size_t size);

#endif
