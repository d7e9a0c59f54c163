/*
 * db/writer.c - transaction bodies and group commit (see db.h).
 *
 * One connection writes; the callers take turns driving it (leader and
 * followers, as in PostgreSQL's and MySQL's group commit). A caller queues
 * a job (a body and its argument, on its own stack). If no one is running
 * a batch, that caller becomes the leader: it takes every job queued so
 * far (up to BATCH_MAX), opens one transaction, runs each body inside
 * SAVEPOINT mica_job, commits once, and goes on until its own job has run;
 * then it hands the lead to the oldest job still queued, if any. The
 * others sleep until their job is done or the lead is handed to them.
 * Nothing ever sleeps to wait for company: jobs that arrive while a batch
 * runs form the next one, so batches grow with load, and a lone caller
 * runs its body on its own thread, with no thread hand-off at all.
 *
 * Durability is moved off the write lock: the connection commits with
 * synchronous = NORMAL (frames are written to the WAL, the lock is
 * released, no sync), and a durable job then waits for an fdatasync() of
 * the WAL file that began after its commit. Syncs have a leader too: a
 * committed job whose sync has not begun, finding no sync running, takes
 * every committed job waiting for one, syncs once for all of them and
 * releases them; jobs committed meanwhile form the next group, whose
 * oldest job is woken to lead it. A durable caller therefore returns after
 * its commit record is on disk, exactly as with synchronous = FULL, but one
 * sync covers every transaction written before it began, and the next batch
 * is written while the disk works. SQLite's own header and checkpoint syncs
 * are unchanged.
 *
 * Failure rules: a body that fails is rolled back to its savepoint and
 * only its caller sees the error. If SQLite rolls the whole transaction
 * back by itself (I/O error, full disk), or BEGIN or COMMIT fails, every
 * job of the batch that had not failed on its own gets that store error:
 * nothing of the batch was committed, and each caller says so. If the sync
 * fails, the transactions are committed but not known to be on disk; their
 * callers get a store error and hand nothing out, and the writer refuses
 * every later job until it is reopened (a restart): after a failed
 * fdatasync the kernel may report the next one as a success although the
 * failed pages never reached the disk.
 *
 * Readers: a commit becomes visible to other connections before it is
 * synced, so db_cert_get() syncs the WAL itself before it returns a
 * certificate; no certificate is seen anywhere before it is on disk.
 *
 * The writer shares SQLite's file lock with every other connection (a
 * revocation publishing its CRL, the CLI in another process): its BEGIN
 * IMMEDIATE waits for them up to the busy timeout, and if that runs out
 * the whole batch gets a 503 (each caller may retry).
 *
 * The connection does not checkpoint at its commits (that would put page
 * writes and syncs on the commit path); a WAL hook wakes a checkpoint
 * thread with its own connection each time CHECKPOINT_FRAMES more frames
 * have been written, and that thread runs PASSIVE checkpoints, which never
 * block the writer. Batching them matters: one checkpoint after every
 * commit wrote each hot page again and again (twice the bytes written per
 * certificate).
 *
 * Passive checkpoints alone never let the WAL start over under a steady
 * load: SQLite reuses the file from its start only when a transaction
 * begins with every frame already copied into the database (and synced),
 * and with commits arriving every millisecond or two a checkpoint never
 * catches up with the end. The WAL then grew by about 24 MB a second of
 * issuance, without bound, until the load paused. So once it holds
 * RESTART_FRAMES frames the checkpoint thread catches up on purpose: it
 * checkpoints and syncs the database file (nobody waits), then holds the
 * next batch back (paused) while it copies the few frames written
 * meanwhile, which SQLite follows with the database sync that lets the
 * next transaction start the log over, unless a reader still uses older
 * frames: then it tries again after RESTART_FRAMES / 2 more frames. The
 * pause measured 2 to 6 ms on a store of 92k certificates and up to 9 ms
 * at 1M, about once a second at full issuance. A WAL that grew past
 * DB_WAL_LIMIT meanwhile (a long reader: a backup, a CRL signed from a
 * snapshot) is cut back to it when the log starts over.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/fault.h"
#include "util/log.h"
#include "util/thread.h"

#define BATCH_MAX          64
#define CHECKPOINT_FRAMES  1000   /* SQLite's own auto-checkpoint default */
#define RESTART_FRAMES     16384  /* 64 MiB of 4 KiB pages */

enum job_state {
	JOB_QUEUED,               /* waiting for a batch */
	JOB_COMMITTED,            /* committed, waiting for a sync */
	JOB_DONE                  /* finished: rc and err are final */
};

struct job {
	db_tx_fn fn;
	void *arg;
	int flags;
	int rc;
	enum job_state state;
	pthread_cond_t cv;        /* its caller: done, or the lead handed over */
	struct mica_err err;
	struct job *next;
};

struct db_writer {
	struct db *db;
	pthread_mutex_t mu;
	struct job *head, *tail;  /* queued */
	int leading;              /* a caller is running batches on db */
	int stop;
	pthread_cond_t idle;      /* closing: no job queued, led or syncing */

	struct job *sync_head, *sync_tail;   /* committed, awaiting a sync */
	int syncing;              /* a caller is syncing the WAL */
	struct db_walsync wal;
	int broken;               /* a sync failed: refuse work until restart */

	struct db *ckpt_db;
	pthread_cond_t ckpt_work;
	int ckpt_due;             /* checkpoint: ckpt_frames more frames */
	int restart_due;          /* catch up so that the log starts over */
	int ckpt_mark;            /* frames in the WAL at the last ckpt_due */
	int restart_at;           /* frames at which to set restart_due */
	int ckpt_frames, restart_frames;   /* the defines; tests lower them */
	int in_batch;             /* the leader is running a batch */
	int paused;               /* the checkpoint thread holds batches back */
	pthread_cond_t pause_cv;  /* in_batch or paused cleared */
	pthread_t ckpt_thread;
	int ckpt_up;
};

/* Fail every job of the batch that has not failed by itself. */
static void
fail_batch(struct job **jobs, size_t n, const struct mica_err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (jobs[i]->rc == 0) {
			jobs[i]->rc = -1;
			jobs[i]->err = *e;
		}
	}
}

/* BROKEN: a sync has failed (read under the lock by the caller). */
static void
run_batch(struct db_writer *w, struct job **jobs, size_t n, int broken)
{
	struct mica_err e;
	size_t i, ok = 0;

	mica_err_clear(&e);
	for (i = 0; i < n; i++)
		jobs[i]->rc = 0;
	if (broken) {
		mica_err_set(&e, MICA_E_UNAVAIL, "store_unavailable",
			     "the certificate store could not be synced to disk; "
			     "restart mica once the disk is sound");
		fail_batch(jobs, n, &e);
		return;
	}
	if (db_begin(w->db, &e) != 0) {
		fail_batch(jobs, n, &e);
		return;
	}
	for (i = 0; i < n; i++) {
		struct job *j = jobs[i];

		/* SQLite may have rolled the transaction back by itself; a
		 * SAVEPOINT now would open a new one that RELEASE commits. */
		if (!db_int_in_tx(w->db))
			break;
		if (db_int_exec(w->db, DB_INT_JOB_BEGIN, &j->err) != 0) {
			j->rc = -1;
			continue;
		}
		mica_err_clear(&j->err);
		if (j->fn(w->db, j->arg, &j->err) != 0) {
			j->rc = -1;
			if (!db_int_in_tx(w->db))
				break;
			db_int_exec(w->db, DB_INT_JOB_ROLLBACK, NULL);
			db_int_exec(w->db, DB_INT_JOB_RELEASE, NULL);
			continue;
		}
		if (db_int_exec(w->db, DB_INT_JOB_RELEASE, &e) != 0) {
			j->rc = -1;
			j->err = e;
			if (!db_int_in_tx(w->db))
				break;
			/* Its writes must not ride along with the batch. */
			db_int_exec(w->db, DB_INT_JOB_ROLLBACK, NULL);
			db_int_exec(w->db, DB_INT_JOB_RELEASE, NULL);
			continue;
		}
		ok++;
	}
	if (!db_int_in_tx(w->db)) {
		/* SQLite rolled everything back: nobody's work is stored. */
		mica_err_set(&e, MICA_E_UNAVAIL, "store_unavailable",
			     "the certificate store failed to write; nothing was stored");
		fail_batch(jobs, n, &e);
		return;
	}
	if (ok == 0) {
		db_rollback(w->db);
		return;
	}
	if (db_commit(w->db, &e) != 0)
		fail_batch(jobs, n, &e);
}

/* Caller holds w->mu. Wake J's caller unless it is ME (awake already). */
static void
wake(struct job *j, const struct job *me)
{
	if (j != me)
		pthread_cond_signal(&j->cv);
}

/* Caller holds w->mu. Wake whoever must act next now that a lead or a
 * sync has been given up, and a closing writer when all is quiet. */
static void
hand_over(struct db_writer *w, const struct job *me)
{
	if (!w->leading && w->head != NULL)
		wake(w->head, me);
	/* A committed ME is about to lead the next sync itself. */
	if (!w->syncing && w->sync_head != NULL && me->state != JOB_COMMITTED)
		wake(w->sync_head, me);
	if (w->stop && w->head == NULL && !w->leading &&
	    w->sync_head == NULL && !w->syncing)
		pthread_cond_broadcast(&w->idle);
}

/*
 * Caller holds w->mu, ME is queued and nobody leads: run batches from the
 * head of the queue until ME has run. Jobs queued before ME run first.
 */
static void
lead(struct db_writer *w, struct job *me)
{
	struct job *batch[BATCH_MAX];
	size_t n;
	int broken, exempt;

	/* The batch is everyone's work: its fault points count whichever
	 * thread leads, as they did on the writer thread this replaced. */
	exempt = MICA_FAULT_EXEMPT_SWAP(0);
	w->leading = 1;
	while (me->state == JOB_QUEUED) {
		while (w->paused)
			pthread_cond_wait(&w->pause_cv, &w->mu);
		w->in_batch = 1;
		for (n = 0; n < BATCH_MAX && w->head != NULL; n++) {
			batch[n] = w->head;
			w->head = w->head->next;
		}
		if (w->head == NULL)
			w->tail = NULL;
		broken = w->broken;
		pthread_mutex_unlock(&w->mu);

		run_batch(w, batch, n, broken);

		pthread_mutex_lock(&w->mu);
		w->in_batch = 0;
		if (w->paused)
			pthread_cond_broadcast(&w->pause_cv);
		for (size_t i = 0; i < n; i++) {
			struct job *j = batch[i];

			j->next = NULL;
			if (j->rc == 0 && (j->flags & DB_TX_DURABLE)) {
				j->state = JOB_COMMITTED;
				if (w->sync_tail != NULL)
					w->sync_tail->next = j;
				else
					w->sync_head = j;
				w->sync_tail = j;
			} else {
				j->state = JOB_DONE;
				wake(j, me);
			}
		}
	}
	w->leading = 0;
	hand_over(w, me);
	(void)MICA_FAULT_EXEMPT_SWAP(exempt);
}

/*
 * Caller holds w->mu, ME is committed and no sync runs: sync the WAL once
 * for every committed job waiting, ME among them (each committed, that is
 * wrote its frames, before this sync begins, so it covers all of them).
 */
static void
sync_lead(struct db_writer *w, struct job *me)
{
	struct job *list = w->sync_head;
	struct mica_err e;
	int rc, exempt;

	exempt = MICA_FAULT_EXEMPT_SWAP(0);   /* as in lead() */
	w->syncing = 1;
	w->sync_head = w->sync_tail = NULL;
	pthread_mutex_unlock(&w->mu);

	mica_err_clear(&e);
	rc = db_walsync_run(&w->wal, &e);

	pthread_mutex_lock(&w->mu);
	if (rc != 0 && !w->broken) {
		/* After a failed fdatasync Linux may report the next one as a
		 * success although the failed pages are lost: trust nothing
		 * written from here on (PostgreSQL does the same). */
		w->broken = 1;
		mica_log(MICA_LOG_ERR, "db: the write-ahead log could not be synced to "
			 "disk; refusing to issue until mica is restarted");
	}
	while (list != NULL) {
		struct job *j = list;

		list = j->next;
		if (rc != 0) {
			j->rc = -1;
			j->err = e;
		}
		j->state = JOB_DONE;
		wake(j, me);
	}
	w->syncing = 0;
	hand_over(w, me);
	(void)MICA_FAULT_EXEMPT_SWAP(exempt);
}

/* ------------------------------------------------------ checkpoints -- */

/* sqlite3_wal_hook: runs on the batch leader's thread after each commit;
 * FRAMES is the number of frames in the WAL. */
static int
wal_hook(void *arg, sqlite3 *h, const char *dbname, int frames)
{
	struct db_writer *w = arg;

	(void)h;
	(void)dbname;
	pthread_mutex_lock(&w->mu);
	if (frames < w->ckpt_mark) {
		/* The log started over. */
		w->ckpt_mark = 0;
		w->restart_at = w->restart_frames;
	}
	if (frames - w->ckpt_mark >= w->ckpt_frames) {
		w->ckpt_mark = frames;
		w->ckpt_due = 1;
		pthread_cond_signal(&w->ckpt_work);
	}
	if (frames >= w->restart_at) {
		w->restart_at = frames + w->restart_frames / 2;
		w->restart_due = 1;
		pthread_cond_signal(&w->ckpt_work);
	}
	pthread_mutex_unlock(&w->mu);
	return SQLITE_OK;
}

static void
checkpoint(struct db_writer *w)
{
	struct mica_err e;

	if (db_int_checkpoint(w->ckpt_db, &e) != 0)
		mica_log(MICA_LOG_WARN, "db: checkpoint: %s", e.msg);
}

/* Caller holds w->mu. Copy the rest of the WAL with no batch running, so
 * that the next transaction can start the log over (see the top). */
static void
catch_up(struct db_writer *w)
{
	struct mica_err e;

	pthread_mutex_unlock(&w->mu);
	checkpoint(w);
	/* The database pages the checkpoints copied so far, this one's too,
	 * written out now rather than by SQLite's sync inside the pause. */
	if (db_int_db_sync(w->ckpt_db, &e) != 0)
		mica_log(MICA_LOG_WARN, "db: checkpoint: %s", e.msg);
	pthread_mutex_lock(&w->mu);
	if (w->stop)
		return;
	w->paused = 1;
	while (w->in_batch)
		pthread_cond_wait(&w->pause_cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	checkpoint(w);
	pthread_mutex_lock(&w->mu);
	w->paused = 0;
	pthread_cond_broadcast(&w->pause_cv);
}

static void *
ckpt_main(void *arg)
{
	struct db_writer *w = arg;

	mica_thread_name("mica-ckpt");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->ckpt_due && !w->restart_due && !w->stop)
			pthread_cond_wait(&w->ckpt_work, &w->mu);
		if (w->stop)
			break;
		if (w->restart_due) {
			w->ckpt_due = w->restart_due = 0;
			catch_up(w);
			continue;
		}
		w->ckpt_due = 0;
		pthread_mutex_unlock(&w->mu);
		checkpoint(w);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ------------------------------------------------------------ public -- */

int
db_writer_open(const char *path, struct db_writer **out, struct mica_err *err)
{
	struct db_writer *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	w->wal.fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->idle, NULL);
	pthread_cond_init(&w->ckpt_work, NULL);
	pthread_cond_init(&w->pause_cv, NULL);
	w->ckpt_frames = CHECKPOINT_FRAMES;
	w->restart_frames = w->restart_at = RESTART_FRAMES;
	if (db_open(path, 0, &w->db, err) != 0 ||
	    db_open(path, 0, &w->ckpt_db, err) != 0 ||
	    db_walsync_init(&w->wal, w->db, err) != 0)
		goto fail;
	/* Durable callers sync the WAL themselves (see the top). */
	if (db_int_exec(w->db, DB_INT_SYNC_NORMAL, err) != 0 ||
	    db_int_exec(w->db, DB_INT_CACHE_WRITER, err) != 0)
		goto fail;
	db_int_wal_hook(w->db, wal_hook, w);
	if (pthread_create(&w->ckpt_thread, NULL, ckpt_main, w) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "thread", "cannot start the store checkpointer");
		goto fail;
	}
	w->ckpt_up = 1;
	*out = w;
	return 0;
fail:
	db_writer_close(w);
	return -1;
}

void
db_int_writer_frames(struct db_writer *w, int ckpt, int restart)
{
	pthread_mutex_lock(&w->mu);
	w->ckpt_frames = ckpt;
	w->restart_frames = w->restart_at = restart;
	pthread_mutex_unlock(&w->mu);
}

void
db_writer_close(struct db_writer *w)
{
	struct mica_err e;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	/* Calls already made are carried out; new ones are refused. */
	while (w->head != NULL || w->leading || w->sync_head != NULL ||
	       w->syncing)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_cond_broadcast(&w->ckpt_work);
	pthread_mutex_unlock(&w->mu);
	if (w->ckpt_up)
		pthread_join(w->ckpt_thread, NULL);
	/* Leave the WAL synced: the last batches may have been non-durable. */
	if (w->db != NULL && db_walsync_run(&w->wal, &e) != 0)
		mica_log(MICA_LOG_ERR, "db: the last writes may not be on disk: %s", e.msg);
	db_walsync_clear(&w->wal);
	db_close(w->ckpt_db);
	db_close(w->db);
	pthread_cond_destroy(&w->ckpt_work);
	pthread_cond_destroy(&w->pause_cv);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Unbatched: BEGIN IMMEDIATE, body, COMMIT on the caller's connection. */
static int
run_direct(struct db *db, int flags, db_tx_fn fn, void *arg,
	   struct mica_err *err)
{
	int relaxed = !(flags & DB_TX_DURABLE), rc = -1;

	if (relaxed && db_int_exec(db, DB_INT_SYNC_NORMAL, err) != 0)
		return -1;
	if (db_begin(db, err) != 0)
		goto out;
	if (fn(db, arg, err) != 0) {
		db_rollback(db);
		goto out;
	}
	if (db_commit(db, err) != 0)
		goto out;
	rc = 0;
out:
	if (relaxed && db_int_exec(db, DB_INT_SYNC_FULL, NULL) != 0)
		mica_log(MICA_LOG_WARN, "db: cannot restore synchronous = FULL");
	return rc;
}

int
db_run_tx(struct db_writer *w, struct db *db, int flags, db_tx_fn fn,
	  void *arg, struct mica_err *err)
{
	struct job j;

	if (fn == NULL || (w == NULL && db == NULL) || (flags & ~DB_TX_DURABLE))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "bad arguments to the store");
	if (w == NULL)
		return run_direct(db, flags, fn, arg, err);

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	j.flags = flags;
	j.state = JOB_QUEUED;
	pthread_mutex_lock(&w->mu);
	if (w->stop) {
		pthread_mutex_unlock(&w->mu);
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "the certificate store is closing");
	}
	pthread_cond_init(&j.cv, NULL);
	if (w->tail != NULL)
		w->tail->next = &j;
	else
		w->head = &j;
	w->tail = &j;
	for (;;) {
		if (j.state == JOB_QUEUED && !w->leading)
			lead(w, &j);
		else if (j.state == JOB_COMMITTED && !w->syncing)
			sync_lead(w, &j);
		else if (j.state == JOB_DONE)
			break;
		else
			pthread_cond_wait(&j.cv, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&j.cv);
	if (j.rc != 0 && err != NULL)
		*err = j.err;
	return j.rc;
}
