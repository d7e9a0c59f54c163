/*
 * ca/ca_int.h - private to ca/: the engine handle's layout.
 */
#ifndef MICA_CA_INT_H
#define MICA_CA_INT_H

#include <pthread.h>
#include <stdint.h>

#include "ca/ca.h"
#include "ca/keys.h"

/* What every handle on one data directory shares (refcounted). Immutable
 * after ca_open() except refs (and writer, set once before threads start). */
struct ca_shared {
	pthread_mutex_t lock;
	int refs;
	char *dbpath;
	int flags;
	struct ca_key *key;            /* NULL unless opened with CA_OPEN_UNLOCK */
	unsigned char *root_der; size_t root_len;
	char *root_pem;
	char fingerprint[96];
	unsigned char *subject; size_t subject_len;  /* raw Name of the root */
	unsigned char ski[20];
	int64_t not_before, not_after;
	char *name;
	char *public_url;
	char *crl_url;
	char *aia_url;
	int crl_days;
	struct db_writer *writer;      /* NULL unless ca_batch_writes() */
};

struct ca {
	struct ca_shared *sh;
	struct db *db;
};

#endif
