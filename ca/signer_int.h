/*
 * ca/signer_int.h - private to the signing service (ca/signer*.c) and its
 * tests: the wire format between the front end and a signer, and the
 * process entry points.
 *
 * Every message, both ways, is a 16-octet header then LEN octets:
 *
 *   u32 magic "mcs1" | u16 type | u16 key | u32 id | u32 len
 *
 * big-endian. Requests: SIGN_LEAF (TBSCertificate, <= CA_SIGNER_LEAF_MAX),
 * SIGN_CRL (TBSCertList, <= CA_SIGNER_CRL_MAX), both with KEY the index of
 * the CA key to sign with (below CA_SIGNER_KEYS: a CA that rolled over
 * holds several, and its retired keys still sign their CRLs); SET_DOMAINS
 * (32-octet MAC then the canonical domain blob, <= CA_SIGNER_CONF_MAX);
 * and for OCSP (ca/ocsp.h): OCSP_KEY (empty; the reply is the
 * SubjectPublicKeyInfo of the OCSP key the keeper made at start, which
 * never leaves the signer side), OCSP_CERT (the TBSCertificate of the
 * delegated responder certificate for that key, <= CA_SIGNER_LEAF_MAX,
 * KEY the current CA key, re-checked by ca_signcheck_ocsp_cert), OCSP_SIGN
 * (a ResponseData, <= CA_OCSP_TBS_MAX, signed with the OCSP key after
 * ca_ocsp_tbs_check against the current key's issuer), OCSP_CA_SIGN (a
 * ResponseData, <= CA_OCSP_TBS_MAX, signed by CA key KEY itself after
 * ca_ocsp_tbs_check against that key's issuer and KeyHash: a retired key
 * whose CA certificate has not expired, or the current key when the
 * daemon was started with --ocsp-signer ca); and for SCEP (ca/scep.h), the same three for the RA
 * key: SCEP_KEY (empty; its SPKI), SCEP_CERT (the RA certificate's TBS,
 * KEY the current CA key, re-checked by ca_signcheck_scep_cert), SCEP_SIGN
 * (a CertRep's SignedAttributes SET, <= CA_SCEP_ATTRS_MAX, after
 * ca_scep_attrs_check), plus SCEP_DECRYPT (one octet, the content key's
 * length, then the encryptedKey: exactly the RA modulus long; the reply
 * is the content key, ca_key_decrypt's implicit rejection included), and
 * SCEP_NEXTCA (the content of a GetNextCACert reply, <=
 * CA_SCEP_NEXTCA_MAX, re-checked by ca_scep_nextca_check against the CA
 * certificates the keeper was given; the reply is the RA key's signature
 * over ca_scep_nextca_attrs of it, attributes the signer makes itself).
 * Replies carry the request's id: OK (the signature, <= CA_SIG_MAX, or
 * empty) or REFUSED (u64 crl floor, then "code" NUL "message", <=
 * CA_SIGNER_REFUSAL_MAX). KEY is 0 in every other message. Anything else -
 * a bad magic, an unknown type, a length over its type's bound, a key
 * index out of range, a short read - ends the connection; a key index in
 * range that the signer does not hold is refused.
 */
#ifndef MICA_CA_SIGNER_INT_H
#define MICA_CA_SIGNER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ca/ocsp.h"
#include "ca/scep.h"
#include "ca/signcheck.h"
#include "ca/signer.h"

#define CA_SIGNER_MAGIC        0x6d637331u   /* "mcs1" */
#define CA_SIGNER_HDR          16
#define CA_SIGNER_LEAF_MAX     (64u * 1024)
#define CA_SIGNER_CRL_MAX      (256u * 1024 * 1024)
#define CA_SIGNER_CONF_MAX     (64u * 1024)
#define CA_SIGNER_REFUSAL_MAX  512u

enum ca_signer_msg {
	CA_SMSG_SIGN_LEAF = 1,
	CA_SMSG_SIGN_CRL = 2,
	CA_SMSG_SET_DOMAINS = 3,
	CA_SMSG_OCSP_KEY = 4,
	CA_SMSG_OCSP_CERT = 5,
	CA_SMSG_OCSP_SIGN = 6,
	CA_SMSG_SCEP_KEY = 7,
	CA_SMSG_SCEP_CERT = 8,
	CA_SMSG_SCEP_SIGN = 9,
	CA_SMSG_SCEP_DECRYPT = 10,
	CA_SMSG_SCEP_NEXTCA = 11,
	CA_SMSG_OCSP_CA_SIGN = 12,
	CA_SMSG_OK = 0x81,
	CA_SMSG_REFUSED = 0x82,
};

struct ca_signer_hdr {
	uint16_t type;
	uint16_t key;      /* CA key index (SIGN_LEAF, SIGN_CRL, OCSP_CERT,
			    * OCSP_CA_SIGN, SCEP_CERT), else 0 */
	uint32_t id;
	uint32_t len;
};

/* Encode H into OUT[CA_SIGNER_HDR]. */
void ca_signer_hdr_put(const struct ca_signer_hdr *h,
		       unsigned char out[CA_SIGNER_HDR]);
/* Decode and bound a header: 0, or -1 if the magic, the type, the key
 * index or the length (for that type) is wrong. */
int ca_signer_hdr_get(const unsigned char in[CA_SIGNER_HDR],
		      struct ca_signer_hdr *h);
/* The largest LEN a message of TYPE may carry; 0 for unknown types. */
uint32_t ca_signer_max_len(uint16_t type);

/* Write all of BUF (retrying EINTR and short writes): 0 or -1. */
int ca_signer_write_all(int fd, const void *buf, size_t len);
/* Read exactly LEN octets: 0, 1 at a clean end of file before the first
 * octet, -1 on an error or a short read. TIMEOUT_MS < 0 waits forever. */
int ca_signer_read_all(int fd, void *buf, size_t len, int timeout_ms);

/* Parse a canonical domain blob (ca_signer_domains_blob) back into a
 * NULL-terminated heap vector (free with ca_signer_strv_free): -1 if it is
 * not exactly canonical. */
int ca_signer_domains_parse(const unsigned char *blob, size_t len,
			    char ***out, size_t *n);
void ca_signer_strv_free(char **v);

/* One CA key in a signer, and the rules it signs under (its own CA
 * certificate's subject, key identifier and validity). */
struct ca_signer_key_state {
	struct ca_key *key;               /* NULL: no key with this index */
	struct ca_sign_policy pol;
	unsigned char *subject;           /* pol.subject's storage */
	unsigned char *sig_alg;           /* pol.sig_alg's storage */
	struct ca_nc *nc;                 /* pol.nc's storage, or NULL */
	struct ca_ocsp_issuer ocsp_issuer;   /* what its OCSP CertIDs hash
					      * to; key1 is also its KeyHash */
};

/* What one signer process knows: its keys and the rules they sign under.
 * Leaves only with the current key; CRLs with any. */
struct ca_signer_state {
	struct ca_signer_key_state keys[CA_SIGNER_KEYS];
	unsigned current;                 /* index of the current key */
	char **domains;                   /* every pol.domains's storage */
	size_t ndomains;
	unsigned char domains_mac[32];
	_Atomic uint64_t *crl_floor;      /* shared by every signer */
	int log_fd;
	/* The OCSP key: made by the keeper at start, in memory only,
	 * inherited by every signer; what its responses may name. */
	struct ca_key *ocsp_key;
	unsigned char *ocsp_spki;
	size_t ocsp_spki_len;
	unsigned char ocsp_key_hash[20];
	struct ca_ocsp_issuer ocsp_issuer;   /* the current key's hashes */
	int ocsp_by_ca;                   /* the current CA key may sign
					   * OCSP responses (OCSP_CA_SIGN) */
	int64_t ocsp_ca_from;             /* and may from then on (0:
					   * never) */
	/* SCEP's RA key: unsealed (or made) by the keeper at start. */
	struct ca_key *scep_key;
	unsigned char *scep_spki;
	size_t scep_spki_len;
	/* The current CA certificate and its issuer's (NULL for a root):
	 * what a next CA certificate is checked against (GetNextCACert). */
	unsigned char *ca_cert;
	size_t ca_cert_len;
	unsigned char *issuer_cert;
	size_t issuer_cert_len;
	int crl_only;                     /* mica-signer-crl: SIGN_CRL only */
};

/* Serve one connection on FD until it ends or breaks: the signer's loop
 * (also run in-process by tests, without confinement). Returns 0 at a clean
 * end of file, -1 after a malformed message or an I/O error. */
int ca_signer_serve(struct ca_signer_state *st, int fd);

/* Answer one request already read (type, key index, payload): fill the
 * reply. For tests and for ca_signer_serve. *REPLY heap. */
int ca_signer_handle(struct ca_signer_state *st, uint16_t type, uint16_t key,
		     const unsigned char *p, size_t len, uint16_t *rtype,
		     unsigned char **reply, size_t *reply_len);

/* Control messages between the keeper and the front end (a SOCK_SEQPACKET
 * socketpair; one message per datagram; host byte order, same binary). */
enum ca_ctl_type {
	CA_CTL_READY = 1,        /* keeper -> front end, once */
	CA_CTL_NEWCONN = 2,      /* keeper -> front end, a signer's socket */
	CA_CTL_SET_DOMAINS = 3,  /* front end -> keeper, MAC + blob */
	CA_CTL_ACK = 4,          /* keeper -> front end, after SET_DOMAINS */
	CA_CTL_BACKGROUND = 5,   /* front end -> keeper: start the signer of
				  * lower priority for large CRLs (once;
				  * restarted like the others after) */
};
/* Connections the front end keeps: the signers, and the background one. */
#define CA_SIGNER_SLOTS (CA_SIGNER_MAX + 1)
#define CA_CTL_SCEP_CT_MAX 4096
struct ca_ctl_ready {
	uint32_t type, ok, kind, sealed;
	char code[48];
	char msg[256];
	unsigned char mac[32];   /* when sealed: the MAC to store */
	/* when scep_made: the RA key the keeper made, sealed, to store */
	uint32_t scep_made;
	uint32_t scep_ct_len;
	int64_t scep_iter;
	unsigned char scep_salt[16], scep_nonce[12];
	unsigned char scep_ct[CA_CTL_SCEP_CT_MAX];
};
struct ca_ctl_newconn {
	uint32_t type;
	int32_t pid;             /* the signer's; SCM_RIGHTS carries its fd */
	uint32_t background;     /* the signer of lower priority (CRLs) */
};
struct ca_ctl_ack {
	uint32_t type, ok;
};
#define CA_CTL_MSG_MAX (4 + 32 + CA_SIGNER_CONF_MAX)

/* The keeper's life (forked by ca_signer_start): never returns. CTL is its
 * end of the control socketpair, PARENT the front end's pid. */
_Noreturn void ca_signer_keeper(int ctl, const struct ca_signer_config *c,
				pid_t parent, int nsigners);

/* Tests only: take the pool's connection to signer PID for raw use (its
 * descriptor, or -1), and give it back broken (closed, removed). */
int ca_signer_test_fd(struct ca_signer *s, pid_t pid);
void ca_signer_test_fd_done(struct ca_signer *s, pid_t pid);

/* Confine the calling process to what a signer needs (seccomp, no core
 * dumps, not dumpable, no new privileges). 0 or -1. */
int ca_signer_confine(void);

#endif
