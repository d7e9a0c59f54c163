/*
 * ca/signer.h - the CA key in a process of its own.
 *
 * `mica serve` parses network input (HTTP, TLS, JSON, CSRs, and later ACME,
 * SCEP and OCSP); none of that may share an address space with the CA's
 * private key. ca_signer_start() forks, before the daemon opens any
 * listener, a *keeper* process that unseals the key and then forks
 * single-threaded *signer* processes that hold it, each connected to the
 * front end by a socketpair (OpenSMTPD's ca process, OpenBSD acme-client's
 * keyproc). The front end never unseals the key: it hands the passphrase to
 * the keeper at the fork and wipes its copy.
 *
 *   front end --(socketpair, one per signer)--> signer: SIGN tbs -> signature
 *   front end <--(control socketpair, SCM_RIGHTS)-- keeper: new connections
 *
 * Each signer is confined with seccomp (read/write its socket, allocate
 * memory, read the clock and the kernel's randomness, exit; no open, no
 * socket, no exec), is not dumpable and makes no core dumps, and re-checks
 * everything it is asked to sign (ca/signcheck.h): a fully compromised front
 * end still cannot get a CA certificate, a name outside the allowed
 * domains, an absurd validity, or a CRL whose number does not increase.
 * The allowed domains are trusted only with a MAC made by the CA key
 * (ca_key_mac, label CA_SIGNER_DOMAINS_LABEL), which the command line
 * computes when it changes them; the front end cannot forge it.
 *
 * A CRL of a million entries keeps a signer busy for about half a second
 * (checking and hashing 45 MiB). A thread that runs at background priority
 * (util/thread.h mica_thread_background: the daemon's CRL publication)
 * has its CRLs of CA_SIGNER_CRL_BACKGROUND_MIN bytes or more signed by a
 * signer of its own, "mica-signer-crl", which runs MICA_THREAD_BACKGROUND_NICE
 * steps below the others and refuses anything but a CRL: the keeper starts
 * it when the first such CRL is asked for and restarts it like the others
 * after (a failure to start it is logged and retried, never fatal).
 * Certificates keep the other signers at the daemon's priority meanwhile,
 * and such a CRL never waits behind them for an idle signer; a new domain
 * list never waits for it either (it has no use for one). If that signer
 * cannot be had within CA_SIGNER_BACKGROUND_WAIT_MS, the CRL goes to the
 * others as any signature does, and for a minute after such a wait a CRL
 * goes to it only if it is idle at once. A CRL that finds its connection
 * broken before it could be sent (the signer was killed while idle) is
 * sent to its successor, once.
 *
 * When a signer dies (a bug, a malformed message, kill -9), the requests it
 * held fail with MICA_E_UNAVAIL (503), the keeper starts another, and the
 * front end gets its connection: the daemon recovers on its own, and
 * nothing the front end recorded is lost. When the keeper dies the signing
 * service is gone for good and every signature fails with MICA_E_UNAVAIL
 * (ca_signer_alive() tells the daemon to stop).
 *
 * The messages (ca/signer_msg.c) are few, fixed and length-bounded; a
 * malformed one closes that connection (its signer exits, the keeper starts
 * another), it never reaches a parser unbounded.
 */
#ifndef MICA_CA_SIGNER_H
#define MICA_CA_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ca/keys.h"
#include "util/err.h"

#define CA_SIGNER_MAX         16         /* most signer processes */
#define CA_SIGNER_CRL_BACKGROUND_MIN (1024 * 1024)  /* bytes of TBSCertList */
#define CA_SIGNER_BACKGROUND_WAIT_MS (10 * 1000)
#define CA_SIGNER_KEYS        16         /* CA key indexes 0..15 */
#define CA_SIGNER_DOMAINS_LABEL "allowed-domains"

/* What a signature is asked for. */
enum ca_sign_kind {
	CA_SIGN_LEAF = 1,     /* an end-entity TBSCertificate */
	CA_SIGN_CRL = 2,      /* a TBSCertList */
	CA_SIGN_CACERT = 3,   /* a CA's TBSCertificate: in-process on an
			       * offline root only (ca/sign.h); the signer
			       * processes have no such message */
	CA_SIGN_OCSP_CERT = 4,   /* the delegated OCSP responder's
				  * TBSCertificate, for the OCSP key */
	CA_SIGN_OCSP = 5,     /* a ResponseData, signed with the OCSP key */
	CA_SIGN_SCEP_CERT = 6,   /* SCEP's RA certificate's TBSCertificate,
				  * for the RA key (ca/scep.h) */
	CA_SIGN_SCEP = 7,     /* a CertRep's SignedAttributes (a SET),
			       * signed with the RA key */
	CA_SIGN_SCEP_NEXTCA = 8,  /* a GetNextCACert reply's content (the
				   * certs-only PKCS#7 of this CA's next
				   * certificate): the RA key signs the
				   * attributes the signer makes for it */
	CA_SIGN_OCSP_CA = 9,  /* a ResponseData signed by the CA key it
			       * answers for itself: the current key only
			       * with ocsp_by_ca, a retired key always */
};

/* A CA key the CA has retired (after a rollover): it signs the CRL of the
 * certificates it issued, nothing else. */
struct ca_signer_key {
	unsigned idx;                         /* its index, < CA_SIGNER_KEYS */
	const struct ca_sealed_key *sealed;
	const unsigned char *cert;            /* its CA certificate, DER */
	size_t cert_len;
};

struct ca_signer;

struct ca_signer_config {
	const struct ca_sealed_key *sealed;   /* the current CA key, sealed */
	unsigned key_idx;                     /* its index (< CA_SIGNER_KEYS) */
	const struct ca_signer_key *retired;  /* the CA's retired keys */
	size_t nretired;
	char *pass; size_t pass_len;          /* its passphrase, in writable
					       * memory: the keeper wipes its
					       * copy, the caller its own */
	const unsigned char *ca_cert;         /* the current key's CA
					       * certificate, DER */
	size_t ca_cert_len;
	const unsigned char *issuer_cert;     /* the CA certificate that
					       * issued it, DER; NULL for a
					       * root (SCEP's GetNextCACert
					       * checks against it) */
	size_t issuer_cert_len;
	const char *const *domains;           /* allowed domains */
	size_t ndomains;
	const unsigned char *domains_mac;     /* 32 bytes, or NULL if the
					       * store has none yet */
	uint64_t crl_number;                  /* last CRL number published */
	const struct ca_sealed_key *scep_sealed;   /* SCEP's RA key as the
					       * store keeps it (sealed under
					       * the same passphrase); NULL:
					       * the keeper makes one */
	int nsigners;                         /* 0 = one per core */
	int ocsp_by_ca;                       /* the current CA key signs
					       * OCSP responses itself
					       * (mica serve --ocsp-signer
					       * ca), not the OCSP key */
	int64_t ocsp_ca_from;                 /* and from then on (the CA
					       * path ends within
					       * CA_OCSP_DELEGATE_LEFT; 0:
					       * never) */
};

/*
 * Fork the keeper, which unseals every key, checks each matches its CA
 * certificate and that the domain list carries the current key's MAC,
 * then starts the signers. Returns when they are ready (or failed): wrong passphrase ->
 * MICA_E_UNAUTH "wrong_passphrase"; a domain list whose MAC does not match
 * -> MICA_E_FORBIDDEN "domains_not_sealed". The caller must have no other
 * threads yet (it forks). When C->domains_mac is NULL the keeper computes
 * the MAC of the list it was given (first start after an upgrade) and
 * returns it in MAC_OUT (32 bytes, may be NULL) for the caller to store;
 * *SEALED (may be NULL) is then 1.
 */
int ca_signer_start(const struct ca_signer_config *c, struct ca_signer **out,
		    unsigned char mac_out[32], int *sealed,
		    struct mica_err *err);

/*
 * Sign TBS as KIND (CA_SIGN_LEAF or CA_SIGN_CRL) with the current CA key.
 * SIG must hold CA_SIG_MAX bytes.
 * Thread-safe: each call takes an idle signer. A refusal by the signer's
 * checks -> MICA_E_POLICY "signer_refused" (message "signer: <rule>"); a
 * CRL number the signer has already seen -> MICA_E_CONFLICT
 * "crl_number_used" with *CRL_FLOOR (may be NULL) the highest number
 * signed; a signer that died or the service gone -> MICA_E_UNAVAIL
 * "signer_unavailable". Fault point "sign".
 */
int ca_signer_sign(struct ca_signer *s, enum ca_sign_kind kind,
		   const unsigned char *tbs, size_t tbs_len,
		   unsigned char *sig, size_t *sig_len, uint64_t *crl_floor,
		   struct mica_err *err);
/* The same with the key of index KEY_IDX (the signers refuse a leaf with
 * any key but the current one). */
int ca_signer_sign_key(struct ca_signer *s, enum ca_sign_kind kind,
		       unsigned key_idx, const unsigned char *tbs,
		       size_t tbs_len, unsigned char *sig, size_t *sig_len,
		       uint64_t *crl_floor, struct mica_err *err);

/*
 * The SubjectPublicKeyInfo of the OCSP key (ca/ocsp.h): made by the keeper
 * at start, in memory only, the same in every signer; the delegated
 * responder certificate certifies it (CA_SIGN_OCSP_CERT) and it signs
 * ResponseData (CA_SIGN_OCSP). SPKI must hold SIZE octets. Errors as
 * ca_signer_sign.
 */
int ca_signer_ocsp_key(struct ca_signer *s, unsigned char *spki, size_t size,
		       size_t *len, struct mica_err *err);

/*
 * SCEP (ca/scep.h). The RA key: an RSA-2048 key the keeper unseals (or,
 * the first time, makes and seals) at start, the same in every signer, certified by the CA key
 * (CA_SIGN_SCEP_CERT) and signing CertReps (CA_SIGN_SCEP).
 * ca_signer_scep_key: its SubjectPublicKeyInfo, as ca_signer_ocsp_key.
 * ca_signer_scep_decrypt: decrypt a client's RSA key transport EKEY
 * (exactly the RA modulus long) to a content-encryption key of WANT
 * (1..CA_SCEP_KEY_MAX) octets into OUT; a ciphertext that does not
 * decrypt to WANT octets gives WANT other octets (ca_key_decrypt), never
 * an error an attacker could tell apart. Errors as ca_signer_sign.
 */
int ca_signer_scep_key(struct ca_signer *s, unsigned char *spki, size_t size,
		       size_t *len, struct mica_err *err);
/* When the keeper made a new RA key at start (none was given, or the one
 * given did not open), its sealed form for the caller to store: 1 and
 * *OUT filled (OUT->ct heap, free with ca_sealed_key_free), else 0. */
int ca_signer_scep_new_sealed(struct ca_signer *s, struct ca_sealed_key *out);
int ca_signer_scep_decrypt(struct ca_signer *s, const unsigned char *ekey,
			   size_t ekey_len, size_t want, unsigned char *out,
			   struct mica_err *err);

/*
 * Tell every signer (and every signer started later) the allowed domains,
 * which only take effect with MAC, the current CA key's MAC of their
 * canonical form (ca_signer_domains_blob). A wrong MAC -> MICA_E_FORBIDDEN
 * "domains_not_sealed" and the signers keep the list they had.
 */
int ca_signer_set_domains(struct ca_signer *s, const char *const *domains,
			  size_t ndomains, const unsigned char mac[32],
			  struct mica_err *err);

/* Raise SIGNO in this process when the keeper is found gone (0: don't),
 * for a main loop that waits for signals. */
void ca_signer_notify(struct ca_signer *s, int signo);

/* 1 while the keeper lives (it may be between signers), else 0. */
int ca_signer_alive(struct ca_signer *s);

/* How long (ms) the oldest request now in flight to a signer other than
 * the CRL signer has waited for its answer, CRLs left out (a large one
 * is seconds of hashing); 0 if none waits. A certificate's or an OCSP
 * response's signature takes milliseconds: seconds mean a signer
 * stopped or starved. */
int64_t ca_signer_stalled_ms(struct ca_signer *s);
/* For a daemon that stops and would otherwise wait for the signer timeout
 * (a signer stopped or starved): the requests of ca_signer_stalled_ms's
 * kind in flight are given up (their callers fail at once,
 * MICA_E_UNAVAIL, as if the signer had died), and every later one but a
 * CRL's fails at once. For good: the daemon stops. */
void ca_signer_abandon(struct ca_signer *s);

/* PIDs, for tests and logs: the keeper's, and the live signers' (the CRL
 * signer's among them once started; up to MAX into PIDS; returns how
 * many). */
pid_t ca_signer_keeper_pid(struct ca_signer *s);
size_t ca_signer_pids(struct ca_signer *s, pid_t *pids, size_t max);

/* Stop the signers and the keeper and free S. Accepts NULL. */
void ca_signer_stop(struct ca_signer *s);

/*
 * The canonical form of a domain list that the MAC covers: the lowercase
 * domains, sorted, each followed by '\n', after a version line. *OUT heap
 * (caller frees). Used by the command line (which MACs it with the key)
 * and by the signers (which check it).
 */
int ca_signer_domains_blob(const char *const *domains, size_t ndomains,
			   unsigned char **out, size_t *out_len,
			   struct mica_err *err);

#endif
