/*
 * ca/tx.c - the engine's one write path.
 *
 * Every change the engine makes to the store is a transaction body (a
 * db_tx_fn: writes on the connection it is given, no BEGIN or COMMIT of
 * its own) handed to ca_tx(), which alone decides where it runs:
 *
 *   - on the group-commit writer when ca_batch_writes() is on (the
 *     daemon): batched with the other threads' bodies, one commit and one
 *     sync for the batch (db/writer.c);
 *   - otherwise (the command line, or a body that must stay on this
 *     handle's connection) in a transaction of its own on the handle's
 *     connection.
 *
 * Either way a body that fails is rolled back completely, and a durable
 * body is on disk when ca_tx() returns.
 */
#include "ca/ca.h"

#include <assert.h>
#include <stddef.h>

#include "ca/ca_int.h"

int
ca_tx(struct ca *ca, int flags, db_tx_fn body, void *arg, struct mica_err *err)
{
	struct db_writer *w = NULL;

	assert(ca != NULL && ca->db != NULL && body != NULL);
	assert((flags & ~(CA_TX_DURABLE | CA_TX_OWN)) == 0);
	/* A bootstrap handle (ca_init, ca_restore) has no shared state and
	 * never a writer. */
	if (ca->sh != NULL && !(flags & CA_TX_OWN))
		w = ca->sh->writer;
	return db_run_tx(w, ca->db, (flags & CA_TX_DURABLE) ? DB_TX_DURABLE : 0,
			 body, arg, err);
}
