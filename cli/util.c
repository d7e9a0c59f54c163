#include "cli/cli.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/decimal.h"
#include "util/fsname.h"
#include "util/leftover.h"
#include "util/shown.h"

/* How long --out FIFO waits for a program to read it. */
#define FIFO_WAIT_MS 10000

/* The data directory of the command running (cli_take_data_dir), whose
 * own files --out never replaces. */
static const char *g_datadir;
/* The --passphrase-file of the command running (cli_passphrase_file):
 * outside the data directory too, --out never replaces it. */
static const char *g_passfile;
/* How many -d DIR were taken, before the command (cli_data_dir_given)
 * and after it (cli_take_data_dir): one at most. */
static int g_datadir_given;

void
cli_data_dir_given(void)
{
	g_datadir_given++;
}

const char *
cli_passphrase_file(const char *path)
{
	g_passfile = path;
	return path;
}

void
cli_put_shown(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t left = strlen(s);

	while (left > 0) {
		char c[MICA_SHOWN_CHAR_MAX + 1];
		size_t cl, n = mica_shown_char(u, left, c, &cl);

		fwrite(c, 1, cl, f);
		u += n;
		left -= n;
	}
}

/* FMT and AP formatted, shown as cli_put_shown does on F, one line (a
 * newline ending FMT is the line's own end, not shown as \x0a); -1 when
 * out of memory, nothing written. */
static int
shown_vline(FILE *f, const char *fmt, va_list ap)
{
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);

	if (n < 0)
		return -1;
	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
	cli_put_shown(f, s);
	fputc('\n', f);
	free(s);
	return 0;
}

void
cli_line(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = shown_vline(stdout, fmt, ap);
	va_end(ap);
	if (rc != 0)
		fputs("(out of memory)\n", stdout);
}

void
cli_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* Out of memory: a note is not worth failing for. */
	(void)shown_vline(stderr, fmt, ap);
	va_end(ap);
}

int
cli_fail(const struct mica_err *err)
{
	/* A message may carry a path or an argument as given: never a raw
	 * escape sequence to the terminal. */
	fputs("mica: error: ", stderr);
	cli_put_shown(stderr, err->msg[0] ? err->msg :
		      mica_err_kind_code(err->kind));
	fputc('\n', stderr);
	return mica_err_exit_code(err->kind);
}

int
cli_fail_issued(struct mica_err *err, const char *serial)
{
	/* The cause on its own line, whole (a long --out path cut it short
	 * when both shared one), then which certificate exists all the
	 * same. */
	int rc = cli_fail(err);

	cli_note("note: certificate %.40s was issued and recorded all the same: "
		 "'mica show %.40s --pem' prints it", serial, serial);
	return rc;
}

/* The most of a usage message shown, in bytes: a few lines' worth. */
#define USAGE_SHOWN_MAX 400

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		s = NULL;   /* undefined after a failure */
	/* An argument echoed whole could make the one line 100 KB (a
	 * pasted blob taken for an option): cut, marked. */
	if (n > USAGE_SHOWN_MAX)
		memcpy(s + USAGE_SHOWN_MAX - 3, "...", 4);
	fprintf(stderr, "mica %s: ", cmd);
	/* The arguments echoed (an unexpected operand, a subcommand) are
	 * the user's bytes: escaped, as cli_fail's. */
	cli_put_shown(stderr, n >= 0 ? s : "(out of memory)");
	fprintf(stderr, " (see 'mica %s --help')\n", cmd);
	free(s);
	return 2;
}

/* How SHORTOPTS takes the option letter C: -1 not at all (unknown),
 * else no_argument, required_argument or optional_argument. */
static int
short_option(const char *shortopts, int c)
{
	const char *p;

	if (shortopts[0] == '+' || shortopts[0] == '-')
		shortopts++;
	if (shortopts[0] == ':')
		shortopts++;
	if (c == ':' || c == ';' || c == '\0' || (p = strchr(shortopts, c)) == NULL)
		return -1;
	if (p[1] != ':')
		return no_argument;
	return p[2] == ':' ? optional_argument : required_argument;
}

/* The long option of OPTS whose val is VAL: the one NAME (LEN bytes, not
 * terminated) abbreviates if NAME is not NULL, else the first. */
static const struct option *
long_option_by_val(const struct option *opts, int val, const char *name,
		   size_t len)
{
	for (const struct option *o = opts; o->name != NULL; o++)
		if (o->flag == NULL && o->val == val &&
		    (name == NULL || strncmp(o->name, name, len) == 0))
			return o;
	return NULL;
}

int
cli_bad_option(const char *cmd, const char *shortopts,
	       const struct option *opts, char **argv, const char *hint)
{
	/* The argument getopt last moved past: a long option at fault is
	 * always that one; a short one is in it only if it ended it. */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *sep = hint != NULL ? " " : "", *tail = hint != NULL ? hint : "";
	const struct option *o;
	int is_long = strncmp(arg, "--", 2) == 0 && arg[2] != '\0';
	size_t len = is_long ? strcspn(arg + 2, "=") : 0;
	int has_value = is_long && arg[2 + len] == '=';

	if (optopt == 0) {
		/* A long option getopt does not know, or an abbreviation of
		 * more than one: glibc and musl set optopt to 0 then. */
		char also[200] = "";
		size_t used = 0;
		int n = 0;

		if (!is_long || len == 0)   /* "--=VALUE": its "--=" */
			return cli_usage(cmd, "unknown option '%.*s'%s%s",
					 (int)strcspn(arg, "=") + (len == 0 && has_value),
					 arg, sep, tail);
		for (o = opts; o->name != NULL; o++)
			if (strncmp(o->name, arg + 2, len) == 0) {
				int w = snprintf(also + used, sizeof(also) - used,
						 "%s--%s", n ? ", " : "", o->name);

				n++;
				if (w > 0 && (size_t)w < sizeof(also) - used)
					used += (size_t)w;
				else
					also[used] = '\0';   /* the ones that fit */
			}
		if (n > 1)
			return cli_usage(cmd, "ambiguous option '--%.*s': %s",
					 (int)len, arg + 2, also);
		return cli_usage(cmd, "unknown option '--%.*s'%s%s",
				 (int)len, arg + 2, sep, tail);
	}
	/* optopt is the val of a known long option that lacks its value or
	 * has one it does not take, else a short option's letter. The
	 * argument before a cluster ("--all -xq") could be a long option
	 * of that val only if it took no value and was given none: the
	 * checks of has_arg tell the cases apart. */
	if (is_long && (o = long_option_by_val(opts, optopt, arg + 2, len)) != NULL) {
		/* getopt takes the next argument as the value, whatever it
		 * is: a value is missing only at the end of the arguments
		 * (else ARG was another option's value: "--name --limit
		 * -lx" stops at the 'l' of the next cluster). */
		if (!has_value && o->has_arg == required_argument &&
		    argv[optind] == NULL)
			return cli_usage(cmd, "--%s needs a value", o->name);
		if (has_value && o->has_arg == no_argument)
			return cli_usage(cmd, "--%s takes no value", o->name);
	}
	if (short_option(shortopts, optopt) == required_argument) {
		if ((o = long_option_by_val(opts, optopt, NULL, 0)) != NULL)
			return cli_usage(cmd, "-%c (--%s) needs a value", optopt, o->name);
		return cli_usage(cmd, "-%c needs a value", optopt);
	}
	if (optopt > ' ' && optopt < 0x7f)
		return cli_usage(cmd, "unknown option '-%c'%s%s", optopt, sep, tail);
	return cli_usage(cmd, "unknown option (byte 0x%02x)%s%s",
			 (unsigned)optopt & 0xffu, sep, tail);
}

int
cli_once(struct cli_once *o, const char *cmd, int c, const char *shortopts,
	 const struct option *opts, const char *repeatable)
{
	const struct option *lo;
	unsigned bit;

	/* '?' and ':' are getopt's own errors, for cli_bad_option. */
	if (c <= 0 || c >= 256 || c == '?' || c == ':')
		return 0;
	if (repeatable != NULL && strchr(repeatable, c) != NULL)
		return 0;
	bit = 1u << (c % 8);
	if ((o->seen[c / 8] & bit) == 0) {
		o->seen[c / 8] |= (unsigned char)bit;
		return 0;
	}
	lo = long_option_by_val(opts, c, NULL, 0);
	if (shortopts != NULL && short_option(shortopts, c) >= 0)
		return lo != NULL ?
			cli_usage(cmd, "-%c (--%s) given twice", c, lo->name) :
			cli_usage(cmd, "-%c given twice", c);
	return cli_usage(cmd, "--%s given twice", lo != NULL ? lo->name : "?");
}

/* Whether ARG, an argument of a command parsed with SHORTOPTS and OPTS,
 * is an option that takes the argument after it as its value, as
 * getopt_long would read it: "--days" (or an abbreviation of one
 * option only) with no "=value", or a cluster "-xo" ending in a letter
 * that takes a value. */
static int
takes_next(const char *arg, const char *shortopts, const struct option *opts)
{
	const struct option *o, *found = NULL;
	int ambiguous = 0;

	if (arg[0] != '-' || arg[1] == '\0')
		return 0;   /* an operand, or "-" */
	/* "--" ends the options: as the empty abbreviation of every long
	 * one, it took the argument after it for the value of a command's
	 * only long option ('domain -- list -d B' then opened B). */
	if (strcmp(arg, "--") == 0)
		return 0;
	if (arg[1] == '-') {
		size_t len = strlen(arg + 2);

		if (opts == NULL || strchr(arg + 2, '=') != NULL)
			return 0;
		/* An exact name wins wherever it stands in the table, as
		 * getopt_long has it; two abbreviated ones are ambiguous,
		 * which getopt refuses. */
		for (o = opts; o->name != NULL; o++) {
			if (strncmp(o->name, arg + 2, len) != 0)
				continue;
			if (o->name[len] == '\0')
				return o->has_arg == required_argument;
			ambiguous |= found != NULL;
			found = o;
		}
		return !ambiguous && found != NULL &&
		       found->has_arg == required_argument;
	}
	if (shortopts == NULL)
		return 0;
	for (const char *p = arg + 1; *p != '\0'; p++) {
		int how = short_option(shortopts, (unsigned char)*p);

		if (how == optional_argument)
			return 0;   /* its value only ever attached */
		if (how == required_argument)
			return p[1] == '\0';   /* else the rest is the value */
		if (how < 0)
			return 0;   /* getopt refuses the cluster */
	}
	return 0;
}

int
cli_take_data_dir(int argc, char **argv, const char *shortopts,
		  const struct option *opts, const char **datadir)
{
	int i, n = 1;

	assert(argc >= 1 && argv != NULL && datadir != NULL);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		/* The value of the option before it, whatever it looks
		 * like ('--comment -d'), as getopt takes it. */
		if (takes_next(a, shortopts, opts) && i + 1 < argc) {
			argv[n++] = argv[i++];
			argv[n++] = argv[i];
			continue;
		}

		if (strcmp(a, "--") == 0) {
			/* Everything from here on is an operand: keep it all. */
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(a, "-d") == 0 || strcmp(a, "--data-dir") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "mica %s: %s needs a directory "
					"(see 'mica %s --help')\n", argv[0], a,
					argv[0]);
				return -1;
			}
			if (g_datadir_given++ > 0) {
				(void)cli_usage(argv[0], "-d/--data-dir given twice");
				return -1;
			}
			*datadir = argv[++i];
			continue;
		}
		if (strncmp(a, "--data-dir=", 11) == 0) {
			if (a[11] == '\0') {
				fprintf(stderr, "mica %s: --data-dir= needs a "
					"directory (see 'mica %s --help')\n",
					argv[0], argv[0]);
				return -1;
			}
			if (g_datadir_given++ > 0) {
				(void)cli_usage(argv[0], "-d/--data-dir given twice");
				return -1;
			}
			*datadir = a + 11;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	g_datadir = *datadir;
	return n;
}

int
cli_read_file(const char *path, size_t max, unsigned char **out, size_t *len,
	      struct mica_err *err)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, fifo = 0, is_stdin = strcmp(path, "-") == 0;

	*out = NULL;
	/* "--csr=" or "--csr $UNSET": a usage error, as an option with no
	 * value is, not a file that cannot be read (exit 3). */
	if (path[0] == '\0')
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "an empty file name was given");
	*len = 0;
	/* O_NONBLOCK: a FIFO that no program has open for writing must not
	 * hang the command at open(2), as it would a plain open; the reads
	 * below block again, so that a pipe with a writer (the shell's
	 * <(openssl req ...)) is read to its end. */
	if (is_stdin)
		fd = 0;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			    O_NONBLOCK)) < 0)
		return mica_err_set(err, MICA_E_BADREQ, "cannot_read",
				    "cannot read %s: %s", path, strerror(errno));
	/* Not "fd != 0": with standard input closed the file opens as
	 * descriptor 0, and must still be made blocking and closed. */
	if (!is_stdin) {
		int fl = fcntl(fd, F_GETFL);

		if (fstat(fd, &st) != 0 || fl < 0 ||
		    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
			int e = errno;

			close(fd);
			return mica_err_set(err, MICA_E_BADREQ, "cannot_read",
					    "cannot read %s: %s", path, strerror(e));
		}
		fifo = S_ISFIFO(st.st_mode);
	}
	if ((buf = malloc(max + 1)) == NULL) {
		if (!is_stdin)
			close(fd);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* A directory, say: not "an empty file". */
			int e = errno;

			if (!is_stdin)
				close(fd);
			free(buf);
			return mica_err_set(err, MICA_E_BADREQ, "cannot_read",
					    "cannot read %s: %s", path, strerror(e));
		}
		n += (size_t)r;
	}
	if (!is_stdin)
		close(fd);
	if (n > max) {
		free(buf);
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "%s is larger than %zu bytes", path, max);
	}
	if (n == 0 && fifo) {
		/* Opened with no writer, a FIFO reads as empty at once: say
		 * which it was rather than "an empty CSR". */
		free(buf);
		return mica_err_set(err, MICA_E_BADREQ, "cannot_read",
				    "cannot read %s: a FIFO that nothing wrote "
				    "to", path);
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Write all of DATA to FD. */
static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* PATH as an absolute path with its folders' symbolic links resolved,
 * and its own if it exists, into OUT; 0 if that cannot be done. */
static int
resolve_path(const char *path, char out[PATH_MAX])
{
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/');
	size_t have;

	if (realpath(path, out) != NULL)
		return 1;
	if (errno != ENOENT || mica_dir_of(path, dir, sizeof(dir)) != 0 ||
	    realpath(dir, out) == NULL)
		return 0;
	base = base != NULL ? base + 1 : path;
	have = strlen(out);
	return snprintf(out + have, PATH_MAX - have, "/%s", base) <
	       (int)(PATH_MAX - have);
}

/* Is the resolved path CHILD the resolved folder DIR or under it (on a
 * name boundary: /srv/ca-www is not under /srv/ca)? */
static int
path_under(const char *child, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return child[0] == '/';
	return n > 0 && strncmp(child, dir, n) == 0 &&
	       (child[n] == '/' || child[n] == '\0');
}

/* Is REAL, a file --out would replace, one of the data directory's own:
 * the store and its journals, the CRLs' bodies, the passphrase, the
 * daemon's lock - or the --passphrase-file given? (An export-root --out
 * DIR/passphrase put the root where the only copy of an init's
 * passphrase was.) */
static int
store_file(const char *real)
{
	static const char *const own[] = {
		CA_DB_FILE, CA_DB_FILE "-wal", CA_DB_FILE "-shm",
		CA_DB_FILE "-journal", CA_PASS_FILE, CA_SERVE_LOCK_FILE,
		CA_FIRST_START_FILE,
	};
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX];
	struct stat sr, sp;

	/* The passphrase file given, by any name (a link, a hard link
	 * too): a certificate written over the only copy of the
	 * passphrase (on a USB stick, as the README advises) loses the
	 * CA key for good. */
	if (g_passfile != NULL && stat(real, &sr) == 0 &&
	    stat(g_passfile, &sp) == 0 && sr.st_dev == sp.st_dev &&
	    sr.st_ino == sp.st_ino)
		return 1;
	if (g_datadir == NULL || !resolve_path(real, a))
		return 0;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", g_datadir, own[i]);
		if (resolve_path(p, b) && strcmp(a, b) == 0)
			return 1;
	}
	snprintf(p, sizeof(p), "%s/" CA_DB_FILE "-crls", g_datadir);
	return resolve_path(p, b) && path_under(a, b);
}

/* Where --out PATH writes: *INTO 1 for a device or FIFO (written into,
 * as a shell redirection would: /dev/null, /dev/stdout, a pipe), else
 * 0 with REAL the file to replace atomically - PATH itself, or for a
 * symlink the file it names (the link stays a link). A directory, or a
 * symlink that names nothing, is refused. */
static int
out_target(const char *path, char real[PATH_MAX], int *into,
	   struct mica_err *err)
{
	struct stat st;

	*into = 0;
	if (mica_planted(path))
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "%s is a symbolic link or FIFO another user "
				    "made in a shared folder: refusing to write "
				    "through it (name a file of yours)", path);
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return mica_err_set(err, MICA_E_USAGE, "bad_path",
					    "%s is a directory: --out takes a "
					    "file name", path);
		if (!S_ISREG(st.st_mode)) {
			*into = 1;
			return 0;
		}
	} else if (errno != ENOENT) {
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "cannot write %s: %s", path, strerror(errno));
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (realpath(path, real) == NULL)
			return mica_err_set(err, MICA_E_USAGE, "bad_path",
					    "%s is a symbolic link to nothing "
					    "(%s)", path, strerror(errno));
	} else {
		if (strlen(path) >= PATH_MAX)
			return mica_err_set(err, MICA_E_USAGE, "bad_path",
					    "path too long");
		memcpy(real, path, strlen(path) + 1);
	}
	if (store_file(real))
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "%s is one of the CA's own files (its store, "
				    "CRLs, passphrase or lock): --out must name "
				    "another file", path);
	return 0;
}

int
cli_own_file(const char *path)
{
	char real[PATH_MAX];

	if (path == NULL || strlen(path) >= PATH_MAX)
		return 0;
	if (realpath(path, real) == NULL)
		memcpy(real, path, strlen(path) + 1);
	return store_file(real);
}

/* Is OUT, an --out path, a terminal (/dev/tty, /dev/stdout on one)? */
static int
path_is_tty(const char *out)
{
	struct stat st;
	int fd, tty;

	if (stat(out, &st) != 0 || !S_ISCHR(st.st_mode))
		return 0;
	fd = open(out, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	tty = isatty(fd);
	close(fd);
	return tty;
}

int
cli_binary_out_check(const char *cmd, const char *out)
{
	if (((out == NULL || strcmp(out, "-") == 0) && isatty(STDOUT_FILENO)) ||
	    (out != NULL && strcmp(out, "-") != 0 && path_is_tty(out)))
		return cli_usage(cmd, "the output is binary (DER): not written "
				 "to a terminal; %s", strcmp(cmd, "show") == 0 ?
				 "redirect standard output to a file" :
				 "give --out FILE, or redirect standard output");
	return 0;
}

int
cli_in_data_dir(const char *dir)
{
	char a[PATH_MAX], b[PATH_MAX], self[PATH_MAX];
	size_t n;

	if (dir == NULL || g_datadir == NULL || (n = strlen(dir)) == 0 ||
	    n >= sizeof(self))
		return 0;
	/* "out/" is out; a folder not made yet is judged by its parent's
	 * resolved path. */
	memcpy(self, dir, n + 1);
	while (n > 1 && self[n - 1] == '/')
		self[--n] = '\0';
	if (!resolve_path(self, a) || !resolve_path(g_datadir, b))
		return 0;
	/* Nor a folder that holds it: a web server serving that folder
	 * serves the store and the passphrase below it as well. */
	return path_under(a, b) || path_under(b, a);
}

int
cli_out_check(const char *path, struct mica_err *err)
{
	char real[PATH_MAX];
	int into;

	if (path == NULL || strcmp(path, "-") == 0)
		return 0;
	if (*path == '\0')
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "--out needs a file name");
	if (out_target(path, real, &into, err) != 0)
		return -1;
	if (into)
		return access(path, W_OK) == 0 ? 0 :
		       mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "cannot write %s: %s", path, strerror(errno));
	/* The temporary file goes beside the target. */
	return cli_folder_writable(path, real, err);
}

int
cli_folder_writable(const char *shown, const char *file, struct mica_err *err)
{
	char dir[PATH_MAX];

	if (mica_dir_of(file, dir, sizeof(dir)) != 0)
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "path too long");
	if (access(dir, W_OK | X_OK) != 0)
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "cannot write %s: %s: %s", shown, dir,
				    strerror(errno));
	return 0;
}

int
cli_write_file(const char *path, const void *data, size_t len, int mode,
	       struct mica_err *err)
{
	char real[PATH_MAX], tmp[PATH_MAX + 32];
	int fd, into;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			int e = errno;

			/* Said here, with its cause: not again by main's
			 * check of standard output (cli/main.c). */
			clearerr(stdout);
			return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
					    "cannot write to standard output: %s",
					    strerror(e));
		}
		return 0;
	}
	/* A file that cannot be written (a full disk) is exit 1, as standard
	 * output is (cli/main.c): what failed is the output, not the store
	 * (exit 8). */
	if (out_target(path, real, &into, err) != 0)
		return -1;
	if (into) {
		/* A FIFO no program reads would block the open for ever,
		 * the certificate issued: a reader gets FIFO_WAIT_MS to
		 * come (one started beside mica), then it is an error. */
		struct stat fst;
		int fifo = stat(path, &fst) == 0 && S_ISFIFO(fst.st_mode);

		for (int waited = 0;; waited += 50) {
			fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0 || errno != ENXIO || !fifo || waited >= FIFO_WAIT_MS)
				break;
			nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
		}
		if (fd < 0 && errno == ENXIO && fifo)
			return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
					    "cannot write %s: it is a FIFO that no "
					    "program read within %d seconds", path,
					    FIFO_WAIT_MS / 1000);
		if (fd >= 0) {
			int fl = fcntl(fd, F_GETFL);

			if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
				int e = errno;

				close(fd);
				return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
						    "cannot write %s: %s", path,
						    strerror(e));
			}
		}
		if (fd < 0 || write_all(fd, data, len) != 0) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
					    "cannot write %s: %s", path, strerror(e));
		}
		if (close(fd) != 0)
			return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
					    "cannot write %s: %s", path, strerror(errno));
		return 0;
	}
	/* What killed runs left beside it goes first: a file of the name
	 * below that no process holds locked. */
	(void)mica_tmp_sweep(real, ".tmp.", "an interrupted mica command");
	/* A name no other run can have: one named by the PID alone, left by
	 * a run that was killed, would refuse every later run given the
	 * same PID (a container's commands all start as the same one).
	 * Locked until it is renamed, so that no sweep takes it. */
	if ((fd = mica_tmp_create(real, ".tmp.", tmp, sizeof(tmp))) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
				    "cannot create a file beside %s: %s", path,
				    strerror(errno));
	/* MODE exactly: a certificate or CRL is for others to read (the
	 * process's umask of 077 is for the store's own files). */
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
				    "cannot write %s: %s", path, strerror(e));
	}
	/* Renamed before it is closed: the lock holds until then. Its data
	 * is synced, so close has nothing left to report. */
	if (rename(tmp, real) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return mica_err_set(err, MICA_E_INTERNAL, "write_failed",
				    "cannot write %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

int
cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	/* As the API's query parameters (util/decimal.h): strtoll alone
	 * would take " 10", "+10" and "010" too. */
	return mica_decimal(s, min, max, out);
}

int
cli_parse_duration(const char *s, int64_t *out)
{
	char num[32];
	size_t n;
	int64_t v, mult = 1;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; num[n - 1] = '\0'; break;
	case 'm': mult = 60; num[n - 1] = '\0'; break;
	case 'h': mult = 3600; num[n - 1] = '\0'; break;
	case 'd': mult = 86400; num[n - 1] = '\0'; break;
	default: break;
	}
	if (cli_parse_int(num, 1, CA_TOKEN_LIFE_MAX, &v) != 0 ||
	    v > CA_TOKEN_LIFE_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

const char *
cli_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

int
cli_token_unseen(struct ca *ca, const struct ca_principal *p, const char *id)
{
	struct mica_err err;
	int e = errno;

	/* Said here, with what follows: not again by main's check of
	 * standard output (cli/main.c). */
	clearerr(stdout);
	if (ca_token_revoke(ca, p, id, &err) == 0)
		fprintf(stderr, "mica: error: cannot write the new token's secret to "
			"standard output (%s); nobody has it, so token %s is revoked "
			"at once\n", e != 0 ? strerror(e) : "write error", id);
	else
		fprintf(stderr, "mica: error: cannot write the new token's secret to "
			"standard output (%s), nor revoke it (%s): revoke it with "
			"'mica token revoke %s'\n", e != 0 ? strerror(e) : "write error",
			err.msg, id);
	return 1;
}

json_t *
cli_jtime(int64_t t)
{
	char buf[32];

	return t != 0 ? json_string(cli_time(t, buf)) : json_null();
}

const char *
cli_cert_status(const struct ca_cert *c, int64_t now)
{
	switch (c->status) {
	case CA_CERT_ISSUING: return "issuing";
	case CA_CERT_REVOKED: return "revoked";
	default: break;
	}
	return c->not_after <= now ? "expired" : "valid";
}

void
cli_list_empty(const char *what)
{
	if (isatty(STDOUT_FILENO))
		fprintf(stderr, "no %s\n", what);
}

void
cli_jput(json_t *o, const char *key, json_t *v, int *bad)
{
	/* jansson drops V when it cannot set it (a NULL O included). */
	if (json_object_set_new(o, key, v) != 0)
		*bad = 1;
}

void
cli_jpush(json_t *arr, json_t *v, int *bad)
{
	if (json_array_append_new(arr, v) != 0)
		*bad = 1;
}

/* V as --json prints it (indented), V dropped; NULL (said on stderr)
 * when BAD or it cannot be rendered. */
static char *
jrender(json_t *v, int bad)
{
	char *s = NULL;

	if (!bad && v != NULL)
		s = json_dumps(v, JSON_INDENT(2));
	json_decref(v);
	if (s == NULL)
		fprintf(stderr, "mica: error: out of memory rendering the "
			"JSON output\n");
	return s;
}

int
cli_jprint(json_t *v, int bad)
{
	char *s = jrender(v, bad);

	if (s == NULL)
		return 1;
	puts(s);
	free(s);
	return 0;
}

int
cli_jstream_item(struct cli_jstream *js, json_t *v, int bad)
{
	char *s = jrender(v, bad);

	if (s == NULL)
		return 1;
	/* jansson's own layout of an array of two-space indents: each item
	 * on lines of its own, one level in. A string in it never holds a
	 * raw newline (JSON escapes them), so every newline is layout. */
	fputs(js->n == 0 ? "[\n  " : ",\n  ", stdout);
	for (const char *p = s; *p != '\0'; p++) {
		putchar(*p);
		if (*p == '\n')
			fputs("  ", stdout);
	}
	free(s);
	js->n++;
	return 0;
}

int
cli_jstream_end(struct cli_jstream *js)
{
	puts(js->n == 0 ? "[]" : "\n]");
	return 0;
}

void
cli_scope_warn(struct ca *ca, const struct ca_token_spec *spec)
{
	char warning[CA_SCOPE_WARNING_MAX];

	if (ca_token_scope_unreachable(ca, spec->names, spec->nnames, warning,
				       sizeof(warning)))
		cli_note("warning: %s ('mica domain add')", warning);
}

void
cli_expiry_warn(struct ca *ca)
{
	char warning[CA_EXPIRY_WARNING_MAX];

	/* The first may name a CA above by its certificate's subject. */
	if (ca_expiry_warning(ca, (int64_t)time(NULL), warning,
			      sizeof(warning)) != 0)
		cli_note("warning: %s", warning);
	if (ca_root_crl_warning(ca, (int64_t)time(NULL), warning,
				sizeof(warning)) != 0)
		cli_note("warning: %s", warning);
}

const char *
cli_id(const char *arg, char buf[CA_ID_MAX])
{
	size_t n = strnlen(arg, CA_ID_MAX);

	if (n == 0 || n >= CA_ID_MAX)
		return arg;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)arg[i];

		if (!isxdigit(c))
			return arg;
		buf[i] = (char)tolower(c);
	}
	buf[n] = '\0';
	return buf;
}

int
cli_crls_add(struct cli_crls *c, const char *cmd, const char *option,
	     const char *path)
{
	if (path[0] == '\0')
		return cli_usage(cmd, "%s is empty", option);
	if (c->n == CLI_CRLS_MAX)
		return cli_usage(cmd, "at most %d %s", CLI_CRLS_MAX, option);
	if (strcmp(path, "-") == 0)
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->path[i], "-") == 0)
				return cli_usage(cmd, "%s - (standard input) "
						 "given twice", option);
	c->path[c->n++] = path;
	return 0;
}

int
cli_crls_read(struct cli_crls *c, struct mica_err *err)
{
	for (size_t i = 0; i < c->n; i++) {
		size_t len = 0;

		if (cli_read_file(c->path[i], 16u * 1024 * 1024, &c->buf[i],
				  &len, err) != 0)
			return -1;
		c->f[i].data = c->buf[i];
		c->f[i].len = len;
		c->f[i].name = strcmp(c->path[i], "-") == 0 ? "standard input" :
			       c->path[i];
	}
	return 0;
}

void
cli_crls_free(struct cli_crls *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->buf[i]);
		c->buf[i] = NULL;
	}
}

void
cli_carried_note(const struct ca_carried *w)
{
	cli_note("carried forward from %zu CRL(s)%s: %zu certificate(s) "
		 "revoked, %zu serial(s) this store never issued recorded as "
		 "revoked, %zu revoked here already", w->crls,
		 w->deltas > 0 ? " (deltas among them)" : "", w->revoked,
		 w->unknown, w->already);
	if (w->raised > 0)
		cli_note("note: %zu certificate(s) revoked here for another reason "
			 "are keyCompromise in the CRLs given: raised to it, their "
			 "revocation dates kept, and their keys refused from now on",
			 w->raised);
	if (w->dated > 0)
		cli_note("note: %zu certificate(s) revoked here already have an "
			 "earlier invalidity date in the CRLs given: taken",
			 w->dated);
	if (w->expired > 0)
		cli_note("note: %zu of the CRLs had expired (past their "
			 "nextUpdate); what they list was revoked all the same, "
			 "and is carried forward", w->expired);
	if (w->still_held > 0)
		cli_note("note: %zu certificate(s) on hold here were released "
			 "since, or expired, by the CRLs given: left on hold "
			 "('mica unrevoke SERIAL' releases one)", w->still_held);
}
