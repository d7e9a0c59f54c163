/* tests/crl_find.h - looking a serial up in a CRL's DER (a delta CRL's
 * too), for the unit tests that check what a CRL lists
 * (tests/test_engine.c, test_hier.c).
 * Needs <string.h>, <mbedtls/x509_crl.h> and util/hex.h. */
#ifndef MICA_TESTS_CRL_FIND_H
#define MICA_TESTS_CRL_FIND_H

/* Find BYTES in [P, END); pointer after them or NULL. */
static const unsigned char *
find_bytes(const unsigned char *p, const unsigned char *end,
	   const unsigned char *bytes, size_t n)
{
	for (; p != NULL && (size_t)(end - p) >= n; p++)
		if (memcmp(p, bytes, n) == 0)
			return p + n;
	return NULL;
}

/* Look SERIAL up in the CRL: 1 found (reason in *reason, -1 if the entry
 * has no reasonCode), 0 absent, -1 the CRL does not parse. */
static int
crl_find(const unsigned char *der, size_t len, const char *serial, int *reason)
{
	static const unsigned char oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x15 };
	mbedtls_x509_crl crl;
	const mbedtls_x509_crl_entry *e;
	char hex[2 * 32 + 1];
	int found = 0;

	*reason = -1;
	mbedtls_x509_crl_init(&crl);
	if (mbedtls_x509_crl_parse_der(&crl, der, len) != 0) {
		mbedtls_x509_crl_free(&crl);
		return -1;
	}
	for (e = &crl.entry; e != NULL && !found; e = e->next) {
		if (e->serial.len == 0 || e->serial.len > 32)
			continue;
		mica_hex_encode(e->serial.p, e->serial.len, hex);
		if (strcmp(hex, serial) != 0)
			continue;
		found = 1;
		/* Search the whole entry: mbedTLS's entry_ext.len counts the
		 * content of the SEQUENCE but entry_ext.p points at its tag. */
		if (e->raw.p != NULL) {
			const unsigned char *end = e->raw.p + e->raw.len;
			const unsigned char *p = find_bytes(e->raw.p, end, oid, sizeof(oid));
			/* extnValue OCTET STRING { ENUMERATED reason } */
			if (p != NULL && end - p >= 5 && p[0] == 0x04 && p[1] == 0x03 &&
			    p[2] == 0x0a && p[3] == 0x01)
				*reason = p[4];
		}
	}
	mbedtls_x509_crl_free(&crl);
	return found;
}

/* crl_find for a delta CRL, which mbedTLS does not parse (its Delta CRL
 * Indicator is critical): the entry of SERIAL found in the DER as
 * INTEGER, and the reasonCode in the few bytes after it. */
static int
delta_find(const unsigned char *der, size_t len, const char *serial,
	   int *reason)
{
	static const unsigned char oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x15 };
	unsigned char want[2 + 32];
	size_t n = strlen(serial) / 2;
	const unsigned char *p, *end = der + len, *r;

	*reason = -1;
	if (n == 0 || n > 32 || mica_hex_decode(serial, want + 2, n) != 0)
		return -1;
	want[0] = 0x02;
	want[1] = (unsigned char)n;
	if ((p = find_bytes(der, end, want, n + 2)) == NULL)
		return 0;
	r = find_bytes(p, end - p > 40 ? p + 40 : end, oid, sizeof(oid));
	if (r != NULL && end - r >= 5 && r[0] == 0x04 && r[1] == 0x03 &&
	    r[2] == 0x0a && r[3] == 0x01)
		*reason = r[4];
	return 1;
}

#endif
