/*
 * tests/bench/ceiling.c - the crypto ceiling of one issuance (bench only).
 *
 * Every certificate mica issues costs at least one CSR signature
 * verification (the requester proves possession of its key, RFC 2986 4.2)
 * and one certificate signature by the CA key (RFC 5280 4.1.1.3). Nothing
 * a daemon does can make it faster than those two operations, so
 *
 *     ceiling = cores / (t_verify + t_sign)
 *
 * is the most certificates per second the machine can issue. This program
 * times both operations per core with the mbedTLS mica links against, the
 * same way mica calls them (ca/csr.c verify_sig: SHA-256 of the
 * CertificationRequestInfo then mbedtls_pk_verify_ext; ca/keys.c
 * ca_key_sign: SHA-256 of the TBSCertificate then mbedtls_pk_sign with a
 * getrandom() RNG, deterministic ECDSA), over a real CSR made with
 * mbedtls_x509write_csr.
 *
 * Each figure is the median of RUNS runs of SECONDS each, timed in the
 * thread's CPU time (so other work on the machine does not count as the
 * operations' cost). A second,
 * independent figure runs JOBS threads doing verify+sign pairs at once
 * (what the cores really deliver together on this machine right now), and
 * the CPU time one pair took in those threads (parallel_cpu_us: what the
 * pair costs while every core is busy, as it is under a server's load;
 * cores that share a physical core or its caches make it dearer than
 * verify_us + sign_us measured alone).
 *
 * Output: comment lines starting with '#', then CSV with a header:
 *   key,verify_per_s,sign_per_s,verify_us,sign_us,cores,ceiling_per_s,
 *   parallel_per_s,parallel_cpu_us
 *
 * Usage: ceiling [-r RUNS] [-s SECONDS] [-j JOBS] [-k p256|rsa2048|all]
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o ceiling tests/bench/ceiling.c \
 *            -lmbedtls -lmbedx509 -lmbedcrypto -lpthread
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/build_info.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_csr.h>
#include <psa/crypto.h>

#define MAX_RUNS 101
#define TBS_LEN  620   /* about the size of a server certificate's TBS */

struct keyset {
	const char *name;
	mbedtls_pk_context ca;        /* the CA key: signs */
	mbedtls_pk_context req;       /* the requester's key: signs the CSR */
	mbedtls_pk_context csr_pub;   /* the CSR's key, as parsed from it */
	unsigned char csr[4096];
	size_t csr_len;
	const unsigned char *cri;     /* CertificationRequestInfo, with header */
	size_t cri_len;
	const unsigned char *sig;     /* signature value (BIT STRING content) */
	size_t sig_len;
	mbedtls_pk_type_t sig_pk;     /* ECDSA or RSA (PKCS#1 v1.5) */
	unsigned char tbs[TBS_LEN];
};

/* The RNG mica uses (ca/keys.c mica_rng): no state, getrandom(). */
static int
rng(void *ctx, unsigned char *buf, size_t len)
{
	size_t done = 0;

	(void)ctx;
	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MBEDTLS_ERR_ERROR_GENERIC_ERROR;
		}
		done += (size_t)n;
	}
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time. */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int
gen_key(mbedtls_pk_context *pk, int rsa)
{
	int ret;

	mbedtls_pk_init(pk);
	if (rsa) {
		ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
		if (ret == 0)
			ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), rng, NULL,
						  2048, 65537);
	} else {
		ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (ret == 0)
			ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
						  mbedtls_pk_ec(*pk), rng, NULL);
	}
	return ret;
}

/* Split a CSR (RFC 2986 4.2) into the signed part and the signature. */
static int
split_csr(struct keyset *k)
{
	unsigned char *p = k->csr, *end = k->csr + k->csr_len, *q;
	size_t len;

	if (mbedtls_asn1_get_tag(&p, end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	end = p + len;
	k->cri = p;
	q = p;
	if (mbedtls_asn1_get_tag(&q, end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	k->cri_len = (size_t)(q + len - p);
	p = q + len;
	if (mbedtls_asn1_get_tag(&p, end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	p += len;   /* signatureAlgorithm: we know what we wrote */
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_BIT_STRING) ||
	    len < 2 || *p != 0)
		return -1;
	k->sig = p + 1;
	k->sig_len = len - 1;
	return p + len == end ? 0 : -1;
}

static int
keyset_make(struct keyset *k, const char *name, int rsa)
{
	mbedtls_x509write_csr w;
	unsigned char buf[4096];
	int ret;

	memset(k, 0, sizeof(*k));
	k->name = name;
	k->sig_pk = rsa ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECDSA;
	if (gen_key(&k->ca, rsa) != 0 || gen_key(&k->req, rsa) != 0)
		return -1;
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, &k->req);
	ret = mbedtls_x509write_csr_set_subject_name(&w,
		"CN=bench.mica.contoso.test");
	if (ret == 0)
		ret = mbedtls_x509write_csr_der(&w, buf, sizeof(buf), rng, NULL);
	mbedtls_x509write_csr_free(&w);
	if (ret <= 0)
		return -1;
	/* The DER is written at the end of the buffer. */
	k->csr_len = (size_t)ret;
	memcpy(k->csr, buf + sizeof(buf) - k->csr_len, k->csr_len);
	if (split_csr(k) != 0)
		return -1;
	/* The verifier uses the key as parsed from the CSR, as mica does. */
	mbedtls_pk_init(&k->csr_pub);
	{
		unsigned char *p = (unsigned char *)k->cri, *end = p + k->cri_len;
		size_t len;
		int v;

		if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
					 MBEDTLS_ASN1_SEQUENCE) ||
		    mbedtls_asn1_get_int(&p, end, &v) ||
		    mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
					 MBEDTLS_ASN1_SEQUENCE))
			return -1;
		p += len;   /* subject */
		if (mbedtls_pk_parse_subpubkey(&p, end, &k->csr_pub) != 0)
			return -1;
	}
	if (rng(NULL, k->tbs, sizeof(k->tbs)) != 0)
		return -1;
	return 0;
}

static void
keyset_free(struct keyset *k)
{
	mbedtls_pk_free(&k->ca);
	mbedtls_pk_free(&k->req);
	mbedtls_pk_free(&k->csr_pub);
}

/* One CSR check as ca/csr.c does it: hash the CRI, verify. */
static int
op_verify(struct keyset *k)
{
	unsigned char hash[32];

	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
		       k->cri, k->cri_len, hash) != 0)
		return -1;
	return mbedtls_pk_verify_ext(k->sig_pk, NULL, &k->csr_pub,
				     MBEDTLS_MD_SHA256, hash, sizeof(hash),
				     k->sig, k->sig_len) == 0 ? 0 : -1;
}

/* One certificate signature as ca/keys.c does it: hash the TBS, sign. */
static int
op_sign(struct keyset *k)
{
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len;

	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
		       k->tbs, sizeof(k->tbs), hash) != 0)
		return -1;
	return mbedtls_pk_sign(&k->ca, MBEDTLS_MD_SHA256, hash, sizeof(hash),
			       sig, sizeof(sig), &sig_len, rng, NULL) == 0 ? 0 : -1;
}

/* CPU seconds per operation over one run of about SECS seconds of this
 * thread's CPU time: what the operation costs the core that runs it,
 * whatever else the machine runs meanwhile (a wall clock would count the
 * time other processes took the core as the operation's). */
static double
time_op(int (*op)(struct keyset *), struct keyset *k, double secs)
{
	double t0 = cpu_s(), t;
	long n = 0;

	do {
		if (op(k) != 0) {
			fprintf(stderr, "ceiling: %s operation failed\n", k->name);
			exit(1);
		}
		n++;
		t = cpu_s();
	} while (t - t0 < secs);
	return (t - t0) / (double)n;
}

struct job {
	struct keyset *k;
	double secs;
	long pairs;
	double elapsed;
	double cpu;                 /* the thread's CPU seconds */
	int failed;
};

static void *
job_run(void *arg)
{
	struct job *j = arg;
	double c0 = cpu_s(), t0 = now_s(), t;

	do {
		if (op_verify(j->k) != 0 || op_sign(j->k) != 0) {
			j->failed = 1;
			break;
		}
		j->pairs++;
		t = now_s();
	} while (t - t0 < j->secs);
	j->elapsed = now_s() - t0;
	j->cpu = cpu_s() - c0;
	return NULL;
}

/* Verify+sign pairs per second with JOBS threads at once (each thread its
 * own keys, as mica's per-slot key copies); *CPU_US, the CPU time of one
 * pair in those threads. */
static double
parallel_rate(const char *name, int rsa, int jobs, double secs,
	      double *cpu_us)
{
	struct keyset *ks = calloc((size_t)jobs, sizeof(*ks));
	struct job *js = calloc((size_t)jobs, sizeof(*js));
	pthread_t *th = calloc((size_t)jobs, sizeof(*th));
	double rate = 0, cpu = 0;
	long pairs = 0;
	int i;

	if (ks == NULL || js == NULL || th == NULL)
		exit(1);
	for (i = 0; i < jobs; i++) {
		if (keyset_make(&ks[i], name, rsa) != 0) {
			fprintf(stderr, "ceiling: key set-up failed\n");
			exit(1);
		}
		js[i].k = &ks[i];
		js[i].secs = secs;
	}
	for (i = 0; i < jobs; i++)
		if (pthread_create(&th[i], NULL, job_run, &js[i]) != 0)
			exit(1);
	for (i = 0; i < jobs; i++) {
		pthread_join(th[i], NULL);
		if (js[i].failed) {
			fprintf(stderr, "ceiling: %s operation failed\n", name);
			exit(1);
		}
		rate += (double)js[i].pairs / js[i].elapsed;
		cpu += js[i].cpu;
		pairs += js[i].pairs;
		keyset_free(&ks[i]);
	}
	free(ks);
	free(js);
	free(th);
	*cpu_us = pairs > 0 ? cpu * 1e6 / (double)pairs : 0;
	return rate;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ceiling [-r RUNS] [-s SECONDS] [-j JOBS] "
		"[-k p256|rsa2048|all]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct { const char *name; int rsa; } kinds[] = {
		{ "p256", 0 }, { "rsa2048", 1 },
	};
	double tv[MAX_RUNS], ts[MAX_RUNS], secs = 0.5;
	const char *only = "all";
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int runs = 5, jobs, c, r;
	size_t i;

	if (cores < 1)
		cores = 1;
	jobs = (int)cores;
	while ((c = getopt(argc, argv, "r:s:j:k:h")) != -1) {
		switch (c) {
		case 'r': runs = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'j': jobs = atoi(optarg); break;
		case 'k': only = optarg; break;
		default: usage();
		}
	}
	if (runs < 1 || runs > MAX_RUNS || secs <= 0 || secs > 60 ||
	    jobs < 1 || jobs > 256)
		usage();
	if (psa_crypto_init() != PSA_SUCCESS) {
		fprintf(stderr, "ceiling: psa_crypto_init failed\n");
		return 1;
	}
	printf("# %s, %ld cores online, median of %d runs of %.2f s, "
	       "parallel with %d threads\n", MBEDTLS_VERSION_STRING_FULL,
	       cores, runs, secs, jobs);
	printf("key,verify_per_s,sign_per_s,verify_us,sign_us,cores,"
	       "ceiling_per_s,parallel_per_s,parallel_cpu_us\n");
	fflush(stdout);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct keyset k;
		double v, s, par, par_cpu;

		if (strcmp(only, "all") != 0 && strcmp(only, kinds[i].name) != 0)
			continue;
		if (keyset_make(&k, kinds[i].name, kinds[i].rsa) != 0) {
			fprintf(stderr, "ceiling: key set-up failed\n");
			return 1;
		}
		/* Interleave verify and sign runs so that a burst of load from
		 * elsewhere on a shared machine hits both alike. */
		for (r = 0; r < runs; r++) {
			tv[r] = time_op(op_verify, &k, secs);
			ts[r] = time_op(op_sign, &k, secs);
		}
		v = median(tv, runs);
		s = median(ts, runs);
		keyset_free(&k);
		par = parallel_rate(kinds[i].name, kinds[i].rsa, jobs, secs * 2,
				    &par_cpu);
		printf("%s,%.0f,%.0f,%.1f,%.1f,%ld,%.0f,%.0f,%.1f\n",
		       kinds[i].name, 1.0 / v, 1.0 / s, v * 1e6, s * 1e6, cores,
		       (double)cores / (v + s), par, par_cpu);
		fflush(stdout);
	}
	mbedtls_psa_crypto_free();
	return 0;
}
