/*
 * ca/publish.c - publication to a directory (issue 15, item 4): the files
 * a relying party fetches, written so that any web server, object store
 * or CDN can serve them while the daemon only writes.
 *
 *   DIR/ca.crt ca.pem root.crt root.pem ca-chain.pem ca.p7b crl crl.pem
 *   DIR/root.crl                  (a two-tier CA, once imported)
 *   DIR/delta.crl                 (the latest delta CRL, when published;
 *                                  removed once there is none)
 *   DIR/ocsp/<base64 request>     (one per certificate: the pre-signed
 *                                  response, under the path a GET
 *                                  /ocsp/{base64} names once decoded; the
 *                                  base64's '/' are directories)
 *
 * Every file is written to a temporary name in its directory and renamed
 * over the old one, so a reader sees the old or the new file, never half
 * of one. A response is rewritten only when it changed (its file's
 * modification time is the response's thisUpdate), and the file of a
 * certificate whose response was dropped (a revocation) or expired is
 * removed, so the directory never says "good" for longer than one pass
 * after a revocation.
 *
 * A full pass looks at every certificate (mica publish; the daemon at
 * start and every hour). An incremental one (the daemon's other passes)
 * looks only at the responses stored or dropped after the change number
 * the last pass saw (schema/012), through an index: with nothing
 * changed it reads no row and stats no file. What it cannot see - a
 * response that went stale unrefreshed, a certificate that expired - the
 * next full pass reconciles.
 */
#include "ca/ca.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/ocsp.h"
#include "ca/x509.h"
#include "util/fault.h"
#include "util/hex.h"
#include "util/leftover.h"
#include "util/log.h"

/* Files of certificates that expired this long ago are still removed. */
#define EXPIRED_KEEP (INT64_C(30) * 86400)

static int
io_fail(struct mica_err *err, const char *what, const char *name)
{
	return mica_err_set(err, MICA_E_INTERNAL, "publish_failed",
			    "publishing: cannot %s %s: %s", what, name,
			    strerror(errno));
}

/* The temporary name of a file being published: in the publication
 * directory itself, whatever folder the file goes to, so that the sweep
 * (publish_lock) finds what a killed run left in one place. TMP_PREFIX,
 * the process id, '.', TMP_RANDOM hex digits, TMP_SUFFIX: the random part
 * keeps apart publishers of the same process id (in two containers
 * sharing the directory). */
#define TMP_PREFIX ".publish."
#define TMP_SUFFIX ".tmp"
#define TMP_RANDOM 8
#define TMP_TRIES 8
/* Folders below DIR/ocsp and DIR/keys a sweep goes down: deeper than any
 * the base64 of a request makes. */
#define SWEEP_DEPTH 64

/* A new temporary name into TMP (SIZE bytes). */
static void
tmp_new_name(char *tmp, size_t size)
{
	static _Atomic unsigned counter;
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)time(NULL) ^ (uint32_t)++counter * 2654435761u;
	snprintf(tmp, size, TMP_PREFIX "%ld.%0*" PRIx32 TMP_SUFFIX,
		 (long)getpid(), TMP_RANDOM, r);
}

/* Write DATA to NAME under the directory DFD, atomically, through a
 * temporary file in TDFD (the publication directory: DFD or above it);
 * MTIME (> 0) becomes its modification time. */
static int
put_file(int tdfd, int dfd, const char *name, const void *data, size_t len,
	 int64_t mtime, struct mica_err *err)
{
	char tmp[64];
	const unsigned char *p = data;
	size_t left = len;
	int fd, tries = 0, moved = 0, r;

again:
	p = data;
	left = len;
	do {
		tmp_new_name(tmp, sizeof(tmp));
		fd = openat(tdfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			    O_NOFOLLOW, 0644);
	} while (fd < 0 && errno == EEXIST && ++tries < TMP_TRIES);
	if (fd < 0)
		return io_fail(err, "create a file for", name);
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			io_fail(err, "write", name);
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (mtime > 0) {
		struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

		if (futimens(fd, ts) != 0) {
			io_fail(err, "date", name);
			goto fail;
		}
	}
	/* Readable by the web server whatever the umask. */
	if (fchmod(fd, 0644) != 0 || close(fd) != 0) {
		fd = -1;
		io_fail(err, "close", name);
		goto fail;
	}
	fd = -1;
	/* Tests hold a run whose temporary file is in a mounted folder
	 * (below), to kill it there (util/fault.h). */
	if (moved)
		MICA_TEST_GATE("MICA_TEST_PUBLISH_GATE");
	/* The fault point "publish_exdev" stands in for a folder mounted
	 * from another file system. */
	if (tdfd != dfd && MICA_FAULT("publish_exdev")) {
		errno = EXDEV;
		r = -1;
	} else {
		r = renameat(tdfd, tmp, dfd, name);
	}
	if (r != 0) {
		/* A folder mounted inside the directory: written in that
		 * folder instead (a full pass's sweep looks there too). */
		if (errno == EXDEV && tdfd != dfd) {
			unlinkat(tdfd, tmp, 0);
			tdfd = dfd;
			moved = 1;
			goto again;
		}
		io_fail(err, "rename into place", name);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(tdfd, tmp, 0);
	return -1;
}

/* 1 if NAME is one put_file makes (".publish.", a process id, '.', eight
 * hex digits, ".tmp"), or one older versions made (without the '.' and
 * hex digits). */
static int
tmp_name(const char *name)
{
	const char *d = name + sizeof(TMP_PREFIX) - 1;
	size_t n = 0, h = 0;

	if (strncmp(name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
		return 0;
	while (d[n] >= '0' && d[n] <= '9')
		n++;
	if (n < 1 || n > 10)
		return 0;
	if (strcmp(d + n, TMP_SUFFIX) == 0)
		return 1;
	if (d[n] != '.')
		return 0;
	d += n + 1;
	while ((d[h] >= '0' && d[h] <= '9') || (d[h] >= 'a' && d[h] <= 'f'))
		h++;
	return h == TMP_RANDOM && strcmp(d + h, TMP_SUFFIX) == 0;
}

/* Remove the temporary files of killed runs in the folder FD (PATH, for
 * the log; SIZE bytes, restored on return), and, when DEPTH > 0, in its
 * folders, DEPTH levels down (at the top, DEPTH 0 and TOP set: only in
 * DIR/ocsp and DIR/keys, the folders a publication makes). A run writes
 * its temporary file in DIR, but in the folder itself where that folder
 * is mounted from another file system (put_file, EXDEV): those are found
 * only by going down. */
static void
sweep_dir(int fd, char *path, size_t size, int depth, int top)
{
	struct dirent *de;
	struct stat sb;
	size_t len = strlen(path);
	DIR *d;
	int dfd, sub;

	if ((dfd = dup(fd)) < 0)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		int isdir = de->d_type == DT_DIR, isreg = de->d_type == DT_REG;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* Some file systems do not say: ask. */
		if (de->d_type == DT_UNKNOWN &&
		    fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			isdir = S_ISDIR(sb.st_mode);
			isreg = S_ISREG(sb.st_mode);
		}
		if (isreg && tmp_name(de->d_name)) {
			if (unlinkat(fd, de->d_name, 0) == 0)
				mica_log(MICA_LOG_INFO, "removed %s/%s, left by "
					 "an interrupted publication", path,
					 de->d_name);
			continue;
		}
		if (!isdir || (top ? strcmp(de->d_name, "ocsp") != 0 &&
			       strcmp(de->d_name, "keys") != 0 : depth <= 0))
			continue;
		/* PATH is only for the log: a folder whose name does not
		 * fit is still swept, its lines naming it cut short. */
		(void)snprintf(path + len, size - len, "/%s", de->d_name);
		sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
			     O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0) {
			sweep_dir(sub, path, size, top ? SWEEP_DEPTH : depth - 1,
				  0);
			close(sub);
		}
		path[len] = '\0';
	}
	closedir(d);
}

/* Take DFD's (the publication directory DIR's) lock for this pass, shared
 * with every other publisher (the daemon's --publish and 'mica publish'
 * run side by side); when no other holds it, no temporary file under DIR
 * is being written, and those killed runs left go first: in DIR, and, for
 * a full pass (FULL), in the folders below DIR/ocsp and DIR/keys too
 * (an incremental pass touches no more files than changed). 0, or -1 with
 * ERR. */
static int
publish_lock(int dfd, const char *dir, int full, struct mica_err *err)
{
	char path[PATH_MAX];

	if (mica_flock(dfd, LOCK_EX | LOCK_NB) == 0 &&
	    (size_t)snprintf(path, sizeof(path), "%s", dir) < sizeof(path))
		sweep_dir(dfd, path, sizeof(path), 0, full);
	/* From the exclusive lock, or waiting for a sweep to end. A file
	 * system without locks (mica_flock_unsupported) has no sweep
	 * either: the pass goes on unlocked, as before there were sweeps. */
	while (mica_flock(dfd, LOCK_SH) != 0)
		if (errno != EINTR) {
			if (mica_flock_unsupported(errno))
				return 0;
			return io_fail(err, "lock", dir);
		}
	return 0;
}

/* Does NAME under DFD hold exactly DATA? */
static int
same_file(int dfd, const char *name, const void *data, size_t len)
{
	struct stat st;
	unsigned char buf[65536];
	const unsigned char *p = data;
	size_t off = 0;
	int fd, same = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		return 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			same = n == 0 && off == len;
			break;
		}
		if (off + (size_t)n > len || memcmp(buf, p + off, (size_t)n) != 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return same;
}

/* Write NAME unless it already holds DATA. */
static int
publish_file(int tdfd, int dfd, const char *name, const void *data,
	     size_t len, struct ca_publish_stats *st, struct mica_err *err)
{
	if (same_file(dfd, name, data, len))
		return 0;
	if (put_file(tdfd, dfd, name, data, len, 0, err) != 0)
		return -1;
	st->files++;
	return 0;
}

struct walk {
	struct ca *ca;
	int top;                        /* DIR, for temporary files */
	int dfd;                        /* DIR/ocsp */
	struct ca_ocsp_issuer is;
	const struct ca_ocsp_key *keys; /* those published (changes) */
	size_t nkeys;
	int64_t now;
	struct ca_publish_stats *st;
	struct mica_err *err;
};

/* Open (creating) the directories of the relative PATH's leading
 * components under DFD; *LEAF points at its last component. The
 * returned descriptor is DFD itself when there are none (not to close). */
static int
open_parent(int dfd, char *path, const char **leaf, int create)
{
	char *p = path, *slash;
	int cur = dfd;

	while ((slash = strchr(p, '/')) != NULL) {
		int next, made = 0;

		*slash = '\0';
		if (create && mkdirat(cur, p, 0755) == 0)
			made = 1;
		else if (create && errno != EEXIST)
			goto fail;
		next = openat(cur, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
			      O_NOFOLLOW);
		*slash = '/';
		if (next < 0)
			goto fail;
		/* 0755 whatever the umask (mica's is 077): a web server
		 * serves these files. */
		if (made && fchmod(next, 0755) != 0) {
			close(next);
			goto fail;
		}
		if (cur != dfd)
			close(cur);
		cur = next;
		p = slash + 1;
	}
	*leaf = p;
	return cur;
fail:
	if (cur != dfd)
		close(cur);
	return -1;
}

/* Write PATH (relative, its folders made as needed) under DFD unless it
 * already holds DATA. */
static int
publish_path(int dfd, const char *path, const void *data, size_t len,
	     struct ca_publish_stats *st, struct mica_err *err)
{
	char buf[64];
	const char *leaf;
	int pfd, rc;

	snprintf(buf, sizeof(buf), "%s", path);
	if ((pfd = open_parent(dfd, buf, &leaf, 1)) < 0)
		return io_fail(err, "create the folder of", path);
	rc = publish_file(dfd, pfd, leaf, data, len, st, err);
	if (pfd != dfd)
		close(pfd);
	return rc;
}

/* CRL, published as FILE, if its nextUpdate is not after NOW: relying
 * parties refuse it from then on (RFC 5280 5.1.2.5), so the caller must be
 * told, once per CRL (ST->nstale). ROOT: the root's CRL, imported. */
static void
stale_note(struct ca_publish_stats *st, const char *file,
	   const struct ca_crl *crl, int root, int64_t now)
{
	struct ca_publish_stale *s;
	size_t n = st->nstale < CA_PUBLISH_STALE_MAX ? st->nstale :
		   CA_PUBLISH_STALE_MAX;

	if (crl->next_update <= 0 || crl->next_update > now)
		return;
	for (size_t i = 0; i < n; i++)
		if (st->stale[i].root == root &&
		    st->stale[i].number == crl->number)
			return;   /* keys/0/crl is crl */
	if (st->nstale++ >= CA_PUBLISH_STALE_MAX)
		return;
	s = &st->stale[n];
	snprintf(s->file, sizeof(s->file), "%s", file);
	s->number = crl->number;
	s->next_update = crl->next_update;
	s->delta = crl->delta_base > 0;
	s->root = root;
}

/* PATH (relative to DFD) is no longer published: a delta CRL after the
 * CA turned deltas off and the last one expired. Left in place, the web
 * server would go on serving it, expired, where the daemon says 404. */
static int
publish_gone(int dfd, const char *path, struct mica_err *err)
{
	if (unlinkat(dfd, path, 0) != 0 && errno != ENOENT)
		return io_fail(err, "remove", path);
	return 0;
}

/* Key IDX's CRL as GET gives it (none: nothing to publish, and a file
 * published before is removed), at keys/IDX/NAME. */
static int
publish_key_crl(struct ca *ca, int dfd, int idx,
		int (*get)(struct ca *, int, struct ca_crl *, struct mica_err *),
		const char *name, struct ca_publish_stats *st,
		struct mica_err *err)
{
	struct ca_crl crl;
	struct mica_err e;
	char path[64];
	int rc;

	memset(&crl, 0, sizeof(crl));
	snprintf(path, sizeof(path), "keys/%d/%s", idx, name);
	if (get(ca, idx, &crl, &e) != 0) {
		if (e.kind == MICA_E_NOTFOUND)
			return publish_gone(dfd, path, err);
		if (err != NULL)
			*err = e;
		return -1;
	}
	rc = publish_path(dfd, path, crl.der, crl.der_len, st, err);
	if (rc == 0)
		stale_note(st, path, &crl, 0, ca_now());
	ca_crl_free(&crl);
	return rc;
}

/* After a rollover, each key's CA certificate, CRL and latest delta, at
 * keys/N/ca.crt, keys/N/crl and keys/N/delta.crl: what the daemon serves
 * at /ca/N.crt, /crl/N and /delta.crl/N, the URLs the certificates of key
 * N name (a file named crl cannot also be the folder of crl/N: the web
 * server maps them, README). A CA with one key, never rolled over, names
 * only the top-level files. */
static int
publish_keys(struct ca *ca, int dfd, struct ca_publish_stats *st,
	     struct mica_err *err)
{
	int idx[CA_KEYS_MAX];
	size_t n = ca_crl_keys(ca, idx), len;
	const unsigned char *der;
	char path[64];

	if (n == 0 || (n == 1 && idx[0] == 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((der = ca_key_cert(ca, idx[i], &len)) != NULL) {
			snprintf(path, sizeof(path), "keys/%d/ca.crt", idx[i]);
			if (publish_path(dfd, path, der, len, st, err) != 0)
				return -1;
		}
		if (publish_key_crl(ca, dfd, idx[i], ca_crl_current_key, "crl",
				    st, err) != 0 ||
		    publish_key_crl(ca, dfd, idx[i], ca_crl_delta_current_key,
				    "delta.crl", st, err) != 0)
			return -1;
	}
	return 0;
}

/* Collapse every run of '/' in S into one, in place. */
static void
merge_slashes(char *s)
{
	char *r = s, *w = s;

	for (; *r != '\0'; r++)
		if (*r != '/' || w == s || w[-1] != '/')
			*w++ = *r;
	*w = '\0';
}

static int
ocsp_one(void *ctx, const char *serial, int64_t not_after, const void *der,
	 size_t der_len, const char *responder, int64_t this_update)
{
	struct walk *w = ctx;
	unsigned char *resp = NULL;
	size_t resp_len = 0;
	int rc = -1;
	unsigned char mag[20], certid[CA_OCSP_CERTID_MAX], req[256];
	unsigned char b64[512];
	size_t n = strlen(serial) / 2, cid_len, req_len, b64_len;
	const char *leaf;
	struct stat sb;
	int pfd = -1;

	if (n == 0 || n > sizeof(mag) || mica_hex_decode(serial, mag, n) != 0) {
		mica_err_set(w->err, MICA_E_INTERNAL, "bad_record",
			     "a stored serial is malformed");
		return -1;
	}
	if (ca_ocsp_certid_encode(CA_OCSP_SHA1, &w->is, mag, n, certid,
				  &cid_len, w->err) != 0 ||
	    ca_ocsp_req_encode(certid, cid_len, req, sizeof(req), &req_len,
			       w->err) != 0)
		return -1;
	if (mbedtls_base64_encode(b64, sizeof(b64), &b64_len, req,
				  req_len) != 0) {
		mica_err_set(w->err, MICA_E_INTERNAL, "publish_failed",
			     "base64 failed");
		return -1;
	}
	b64[b64_len] = '\0';
	/* A name ending in '/' cannot be a file: that rare request is left
	 * to the daemon (the web server's fallback). */
	if (b64_len == 0 || b64[b64_len - 1] == '/') {
		w->st->ocsp_skipped++;
		return 0;
	}
	/* Nor can a directory have an empty name: "//" is written as "/",
	 * where web servers look for it (nginx merges slashes in the path,
	 * %2F%2F too, before it maps it to a file). Two requests of this CA
	 * would need four more such runs in one than in the other to share
	 * a name. */
	merge_slashes((char *)b64);
	if (der == NULL || not_after <= w->now || this_update > w->now) {
		/* Dropped (revoked, not re-signed yet), expired, or dated
		 * after now (the clock was set back since it was signed: a
		 * relying party with the right time refuses it; the next
		 * refresh signs it again): nothing may be served from
		 * here. */
		if ((pfd = open_parent(w->dfd, (char *)b64, &leaf, 0)) < 0)
			return 0;   /* never published */
		if (unlinkat(pfd, leaf, 0) == 0)
			w->st->ocsp_removed++;
		else if (errno != ENOENT) {
			io_fail(w->err, "remove", "an OCSP response");
			if (pfd != w->dfd)
				close(pfd);
			return -1;
		}
		if (pfd != w->dfd)
			close(pfd);
		return 0;
	}
	/* The whole response, with the responder certificate the store
	 * keeps apart (schema/009). */
	if (ca_ocsp_stored_response(w->ca, der, der_len, responder, &resp,
				    &resp_len, w->err) != 0)
		return -1;
	if ((pfd = open_parent(w->dfd, (char *)b64, &leaf, 1)) < 0) {
		io_fail(w->err, "create the directories of", "an OCSP response");
		goto out;
	}
	/* Its thisUpdate as the file's time: the same response is not
	 * written again. */
	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode) && (size_t)sb.st_size == resp_len &&
	    (int64_t)sb.st_mtime == this_update) {
		w->st->ocsp_kept++;
	} else if (put_file(w->top, pfd, leaf, resp, resp_len, this_update,
			    w->err) != 0) {
		goto out;
	} else {
		w->st->ocsp_written++;
	}
	rc = 0;
out:
	if (pfd >= 0 && pfd != w->dfd)
		close(pfd);
	free(resp);
	return rc;
}

/* A certificate whose response changed (db_ocsp_changed): as in a full
 * pass, with the issuer of its key; a key no longer published is left to
 * the full reconcile. */
static int
ocsp_changed_one(void *ctx, const char *serial, int key_idx, int64_t not_after,
		 const void *der, size_t der_len, const char *responder,
		 int64_t this_update)
{
	struct walk *w = ctx;

	w->st->ocsp_read++;
	for (size_t i = 0; i < w->nkeys; i++)
		if (w->keys[i].idx == key_idx) {
			w->is = w->keys[i].issuer;
			return ocsp_one(w, serial, not_after, der, der_len,
					responder, this_update);
		}
	return 0;
}

/* Count a certificate of a full pass, then as ocsp_one. */
static int
ocsp_full_one(void *ctx, const char *serial, int64_t not_after,
	      const void *der, size_t der_len, const char *responder,
	      int64_t this_update)
{
	struct walk *w = ctx;

	w->st->ocsp_read++;
	return ocsp_one(w, serial, not_after, der, der_len, responder,
			this_update);
}

int
ca_publish(struct ca *ca, const char *dir, struct ca_publish_stats *st,
	   struct mica_err *err)
{
	int64_t seq = -1;

	return ca_publish_since(ca, dir, &seq, st, err);
}

int
ca_publish_since(struct ca *ca, const char *dir, int64_t *seq,
		 struct ca_publish_stats *st, struct mica_err *err)
{
	struct ca_publish_stats local;
	int64_t top = 0;
	struct ca_ocsp_key keys[CA_KEYS_MAX];
	struct ca_crl crl;
	struct walk w;
	struct mica_err e;
	unsigned char *p7 = NULL;
	const unsigned char *der;
	char *pem = NULL;
	size_t len = 0, nkeys = 0;
	int dfd = -1, rc = -1, made = 0, made_ocsp = 0;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	st->past = -1;
	memset(&crl, 0, sizeof(crl));
	memset(&w, 0, sizeof(w));
	w.dfd = -1;
	if (dir == NULL || dir[0] == '\0')
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "no publication directory");
	if (ca_cert_der(ca, &len) == NULL)
		return mica_err_set(err, MICA_E_CONFLICT,
				    "awaiting_certificate",
				    "this CA has no certificate to publish yet");
	if (mkdir(dir, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		return io_fail(err, "create", dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return io_fail(err, "open", dir);
	/* A folder mica makes is for the web server to read: 0755 whatever
	 * the umask (one the admin made keeps its mode). */
	if (made && fchmod(dfd, 0755) != 0) {
		close(dfd);
		return io_fail(err, "create", dir);
	}
	if (publish_lock(dfd, dir, *seq < 0, err) != 0) {
		close(dfd);
		return -1;
	}
	w.top = dfd;

	der = ca_cert_der(ca, &len);
	if (publish_file(dfd, dfd, "ca.crt", der, len, st, err) != 0 ||
	    publish_file(dfd, dfd, "ca.pem", ca_cert_pem(ca),
			 strlen(ca_cert_pem(ca)), st, err) != 0)
		goto out;
	der = ca_root_der(ca, &len);
	if (publish_file(dfd, dfd, "root.crt", der, len, st, err) != 0 ||
	    publish_file(dfd, dfd, "root.pem", ca_root_pem(ca),
			 strlen(ca_root_pem(ca)), st, err) != 0 ||
	    publish_file(dfd, dfd, "ca-chain.pem", ca_chain_pem(ca),
			 strlen(ca_chain_pem(ca)), st, err) != 0)
		goto out;
	if (ca_chain_p7b(ca, &p7, &len, err) != 0 ||
	    publish_file(dfd, dfd, "ca.p7b", p7, len, st, err) != 0)
		goto out;
	if (ca_crl_current(ca, &crl, err) != 0 ||
	    publish_file(dfd, dfd, "crl", crl.der, crl.der_len, st, err) != 0 ||
	    ca_pem_encode("X509 CRL", crl.der, crl.der_len, &pem, err) != 0 ||
	    publish_file(dfd, dfd, "crl.pem", pem, strlen(pem), st, err) != 0)
		goto out;
	stale_note(st, "crl", &crl, 0, ca_now());
	ca_crl_free(&crl);
	/* The latest delta CRL, when the CA publishes them (key 0's, as
	 * /delta.crl: what its complete CRL's Freshest CRL names). */
	if (ca_crl_delta_current_key(ca, 0, &crl, &e) == 0) {
		if (publish_file(dfd, dfd, "delta.crl", crl.der, crl.der_len, st,
				 err) != 0)
			goto out;
		stale_note(st, "delta.crl", &crl, 0, ca_now());
		ca_crl_free(&crl);
	} else if (e.kind != MICA_E_NOTFOUND) {
		if (err != NULL)
			*err = e;
		goto out;
	} else if (publish_gone(dfd, "delta.crl", err) != 0) {
		goto out;
	}
	if (ca_root_crl_current(ca, &crl, &e) == 0) {
		if (publish_file(dfd, dfd, "root.crl", crl.der, crl.der_len, st,
				 err) != 0)
			goto out;
		/* A single-tier CA's root.crl is its own CRL. */
		stale_note(st, "root.crl", &crl, ca->sh->nchain > 0, ca_now());
	} else if (e.kind != MICA_E_NOTFOUND) {
		if (err != NULL)
			*err = e;
		goto out;
	}
	if (publish_keys(ca, dfd, st, err) != 0)
		goto out;

	/* The pre-signed responses of the certificates. */
	if (mkdirat(dfd, "ocsp", 0755) == 0)
		made_ocsp = 1;
	else if (errno != EEXIST) {
		io_fail(err, "create", "ocsp/");
		goto out;
	}
	if ((w.dfd = openat(dfd, "ocsp", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
			    O_NOFOLLOW)) < 0) {
		io_fail(err, "open", "ocsp/");
		goto out;
	}
	if (made_ocsp && fchmod(w.dfd, 0755) != 0) {
		io_fail(err, "create", "ocsp/");
		goto out;
	}
	w.ca = ca;
	w.now = ca_now();
	w.st = st;
	w.err = err;
	/* The current key's, and those of the retired keys whose CA
	 * certificates are valid (or expired lately: their files go). */
	if (ca_ocsp_keys(ca, w.now - EXPIRED_KEEP, keys, &nkeys, err) != 0)
		goto out;
	/* The counter only grows: a number past it never came from a pass
	 * on this store, and changes up to it would be skipped for good. */
	if (db_ocsp_seq(ca->db, &top, err) != 0)
		goto out;
	if (*seq > top) {
		st->past = *seq;
		*seq = -1;
	}
	if (*seq >= 0) {
		/* Only what was stored or dropped since the last pass. */
		w.keys = keys;
		w.nkeys = nkeys;
		if (db_ocsp_changed(ca->db, *seq, w.now, ocsp_changed_one, &w,
				    &top, err) != 0)
			goto out;
		*seq = top;
		rc = 0;
		goto out;
	}
	/* Every certificate; what changes during the walk has a higher
	 * number than the one read before it (TOP, read above), and is seen
	 * again next time. */
	for (size_t i = 0; i < nkeys; i++) {
		w.is = keys[i].issuer;
		if (db_ocsp_foreach(ca->db, keys[i].idx, w.now,
				    w.now - EXPIRED_KEEP, ocsp_full_one, &w,
				    err) != 0)
			goto out;
	}
	*seq = top;
	rc = 0;
out:
	if (w.dfd >= 0)
		close(w.dfd);
	/* A failed run leaves no empty folder it made (a full disk, say):
	 * only empty ones go, so nothing published is taken away. */
	if (rc != 0 && made_ocsp && dfd >= 0)
		unlinkat(dfd, "ocsp", AT_REMOVEDIR);
	if (dfd >= 0)
		close(dfd);
	if (rc != 0 && made)
		rmdir(dir);
	ca_crl_free(&crl);
	free(p7);
	free(pem);
	return rc;
}
