/*
 * cli/cli.h - the mica command line: shared helpers of the commands.
 *
 * Each command is int cmd_X(const char *datadir, int argc, char **argv)
 * with argv[0] the command name, returning the process exit status
 * (mica_err_exit_code of the failure, 0 on success).
 */
#ifndef MICA_CLI_H
#define MICA_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ca/ca.h"
#include "util/err.h"
#include "util/jstr.h"

int cmd_init(const char *datadir, int argc, char **argv);
int cmd_issue(const char *datadir, int argc, char **argv);
int cmd_renew(const char *datadir, int argc, char **argv);
int cmd_revoke(const char *datadir, int argc, char **argv);
int cmd_unrevoke(const char *datadir, int argc, char **argv);
int cmd_crl(const char *datadir, int argc, char **argv);
int cmd_publish(const char *datadir, int argc, char **argv);
int cmd_ocsp_sign(const char *datadir, int argc, char **argv);
int cmd_list(const char *datadir, int argc, char **argv);
int cmd_show(const char *datadir, int argc, char **argv);
int cmd_export_root(const char *datadir, int argc, char **argv);
int cmd_audit(const char *datadir, int argc, char **argv);
int cmd_request(const char *datadir, int argc, char **argv);
int cmd_token(const char *datadir, int argc, char **argv);
int cmd_profile(const char *datadir, int argc, char **argv);
int cmd_config(const char *datadir, int argc, char **argv);
int cmd_domain(const char *datadir, int argc, char **argv);
int cmd_backup(const char *datadir, int argc, char **argv);
int cmd_restore(const char *datadir, int argc, char **argv);
int cmd_passphrase(const char *datadir, int argc, char **argv);
int cmd_serve(const char *datadir, int argc, char **argv);
int cmd_install_ca(const char *datadir, int argc, char **argv);
int cmd_sign_ca(const char *datadir, int argc, char **argv);
int cmd_renew_ca(const char *datadir, int argc, char **argv);
int cmd_import_crl(const char *datadir, int argc, char **argv);
int cmd_export_chain(const char *datadir, int argc, char **argv);
int cmd_acme(const char *datadir, int argc, char **argv);
int cmd_scep(const char *datadir, int argc, char **argv);

/* 'mica token create --enroll --acme': an EAB credential with SPEC's
 * scope, printed once (cli/cmd_acme.c). Returns the exit status. */
int cli_token_acme(const char *datadir, const struct ca_principal *p,
		   const struct ca_token_spec *spec);

/* Write S to F with every byte a terminal could act on (C0 and C1
 * controls, DEL, bytes of no well-formed UTF-8 character) or that could
 * make a name read as another (bidirectional controls, invisible and
 * other format characters: mica_cp_hidden) shown as \xNN, as git and
 * ls -b show them: text that came from the command line, a file name or
 * a certificate never moves the cursor, retitles a window or reads
 * backwards. */
void cli_put_shown(FILE *f, const char *s);
/* One line of a listing (FMT ends with its one "\n") on standard output,
 * every byte a terminal could act on - in the values, such as a comment
 * or a name from the store - shown as \xNN and a backslash as \\, as
 * cli_put_shown does (a subject's "O=Contoso\, Inc" reads
 * "O=Contoso\\, Inc"). */
void cli_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line on stderr: FMT's text, shown by cli_put_shown, then LF. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "mica: error: MSG" (shown) and return the exit code for ERR. */
int cli_fail(const struct mica_err *err);
/* After a token was made for SPEC: a warning on stderr if its scope names
 * something no certificate can be issued for (ca_token_scope_unreachable). */
void cli_scope_warn(struct ca *ca, const struct ca_token_spec *spec);
/* cli_fail() for a certificate issued (and recorded) that could not be
 * written out: the cause, then a note naming SERIAL and how to get it
 * again. */
int cli_fail_issued(struct mica_err *err, const char *serial);
/* Print a usage error ("mica CMD: MSG; see mica CMD --help") and return 2. */
int cli_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct option;
/*
 * The usage error for getopt_long() returning '?' (or ':') while parsing
 * with SHORTOPTS and OPTS (all with flag NULL and a non-zero val) over
 * ARGV (NULL after its last argument): it reads optopt, argv[optind - 1]
 * and argv[optind] to name the option at fault, which
 * argv[optind - 1] alone does not (in "mica show -zz 01" getopt stops at
 * the first 'z' before moving past "-zz": argv[optind - 1] is "show"):
 *   "unknown option '-x'"            a letter SHORTOPTS does not have
 *   "unknown option '--foo'"         a long option OPTS does not have
 *   "ambiguous option '--p': ..."    an abbreviation of several
 *   "--days needs a value"           a long option given as the last argument
 *   "-o (--out) needs a value"       a short one (its long name, if any)
 *   "--json takes no value"          --json=...
 * An option's "=value" is never printed (it may be a secret). HINT, if
 * not NULL, is appended to an unknown option's message. Opterr must be 0
 * (main sets it) so that getopt prints nothing itself. Returns 2.
 */
int cli_bad_option(const char *cmd, const char *shortopts,
		   const struct option *opts, char **argv, const char *hint);

/*
 * An option given twice is a usage error, not "the last one wins" (for a
 * CA, '--profile server --profile client' must not quietly issue a client
 * certificate). A command's getopt loop zeroes a struct cli_once before
 * it and calls cli_once() first for each C getopt_long returns while
 * parsing with SHORTOPTS (may be NULL) and OPTS (vals 1-255, flag NULL):
 * 0 the first time C is seen, or always when C is in REPEATABLE (the vals
 * of the options that accumulate, "n" for --name; NULL for none), and
 * for getopt's own '?' and ':'; else it prints "mica CMD: --profile given
 * twice" (cli_usage) and returns 2, before the command did anything.
 */
struct cli_once {
	unsigned char seen[256 / 8];   /* a bit per option val */
};
int cli_once(struct cli_once *o, const char *cmd, int c, const char *shortopts,
	     const struct option *opts, const char *repeatable);

/*
 * The data directory may also follow the command ('mica issue -d DIR ...'):
 * take every -d DIR, --data-dir DIR and --data-dir=DIR out of the command's
 * ARGV (ARGV[0] the command name, ARGV[ARGC] NULL), setting *DATADIR to the
 * last one given (pointing into ARGV), and compact the rest in place, still
 * NULL-terminated. Nothing after "--" is taken, nor the value of an option
 * of the command's SHORTOPTS and OPTS (the getopt_long tables it parses
 * with; either may be NULL): in '--comment -d' the "-d" is the comment, as
 * getopt reads it. Each command calls it before it parses. Returns the
 * new ARGC, or -1 after printing a usage error when one has no directory
 * or when a second one is given (here, or here and before the command:
 * cli_data_dir_given), as cli_once refuses any option given twice.
 */
int cli_take_data_dir(int argc, char **argv, const char *shortopts,
		      const struct option *opts, const char **datadir);
/* main took a -d DIR before the command: one more is a usage error. */
void cli_data_dir_given(void);

/* Read a whole file ("-" = stdin) of at most MAX bytes. *out heap. A
 * FIFO that no program writes to is refused, not waited for. */
int cli_read_file(const char *path, size_t max, unsigned char **out,
		  size_t *len, struct mica_err *err);
/* CRL files given to a command (restore --crl, revoke --from-crl): up to
 * CLI_CRLS_MAX, '-' (standard input) at most once. */
#define CLI_CRLS_MAX 32
struct cli_crls {
	const char *path[CLI_CRLS_MAX];
	unsigned char *buf[CLI_CRLS_MAX];
	struct ca_crl_file f[CLI_CRLS_MAX];
	size_t n;
};
/* Take PATH as one more CRL of CMD's OPTION: 0, or a usage error's exit
 * status (2) after saying it. */
int cli_crls_add(struct cli_crls *c, const char *cmd, const char *option,
		 const char *path);
/* Read every file taken (cli_read_file, 16 MiB each) into C->f. */
int cli_crls_read(struct cli_crls *c, struct mica_err *err);
void cli_crls_free(struct cli_crls *c);
/* Say on standard error what carrying CRLs in did (W, as the engine
 * returned it). */
void cli_carried_note(const struct ca_carried *w);

/* Write DATA to PATH atomically (temp file + rename, mode exactly MODE),
 * or to stdout if PATH is NULL or "-". A symlink is followed (the file it
 * names is replaced, the link kept); a device or FIFO (/dev/null,
 * /dev/stdout) is written into; a directory is refused. */
int cli_write_file(const char *path, const void *data, size_t len, int mode,
		   struct mica_err *err);
/* Before a command changes anything: can --out PATH (NULL or "-" for
 * stdout) be written? MICA_E_USAGE naming what is wrong if not (a
 * directory, a missing or read-only folder, a dangling symlink). */
int cli_out_check(const char *path, struct mica_err *err);
/* Is PATH (through a symbolic link) one of the data directory's own files
 * (the store and its journals, CRL bodies, passphrase, lock), or the
 * passphrase file the command was given? 1 or 0. */
int cli_own_file(const char *path);
/* PATH, the command's --passphrase-file (NULL: none), is one of the CA's
 * own files from now on for cli_out_check and cli_own_file (not copied:
 * PATH must outlive the command, as argv does). Returns PATH. */
const char *cli_passphrase_file(const char *path);
/* Is DIR (a publication directory: served by a web server) the data
 * directory, a folder inside it, or one that holds it - where the store
 * and the passphrase are, or above them? 1 or 0. */
int cli_in_data_dir(const char *dir);
/* Would binary output (DER, PKCS#7) for --out OUT (NULL or "-": standard
 * output) go to a terminal? Then CMD's usage error (exit 2, as curl
 * does: raw bytes there garble the terminal and help no one), before
 * anything is done; else 0. */
int cli_binary_out_check(const char *cmd, const char *out);
/* Is the folder that holds FILE there and writable (a file is to be made
 * in it)? MICA_E_USAGE "cannot write SHOWN: FOLDER: why" if not. */
int cli_folder_writable(const char *shown, const char *file,
			struct mica_err *err);

/* Parse a decimal in [MIN, MAX] as mica_decimal does (no '+', blank or
 * leading zero); 0 ok, -1 bad. */
/* A request or token id as typed: one in hexadecimal of either case is
 * copied into BUF in lower case, as ids are written (a serial is taken in
 * any case too); anything else is returned as it is, for the engine to
 * refuse with its own message. */
const char *cli_id(const char *arg, char buf[CA_ID_MAX]);
int cli_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parse a duration "3600", "90s", "30m", "12h", "7d" into seconds: 1 s
 * to CA_TOKEN_LIFE_MAX (ten years). */
int cli_parse_duration(const char *s, int64_t *out);

/* "warning: ..." on stderr when CA's certificate is within
 * CA_EXPIRY_WARN_DAYS of its end or past it (ca_expiry_warning). */
void cli_expiry_warn(struct ca *ca);
/* "2026-11-24T17:30:00Z" into BUF[21]. */
const char *cli_time(int64_t t, char buf[32]);
/* The secret of token ID (an enrollment or admin token, an ACME
 * credential), just made, could not be written to standard output (errno
 * says why): nobody will ever have it, so it is revoked rather than left
 * valid and unseen, and standard error says so. Returns 1 (the exit
 * status). */
int cli_token_unseen(struct ca *ca, const struct ca_principal *p, const char *id);
/* A time as --json shows it (the API's form), or null for none (0). */
json_t *cli_jtime(int64_t t);

const char *cli_cert_status(const struct ca_cert *c, int64_t now);

/* A listing's text form that matched nothing (--json prints []): standard
 * output gets nothing, not even the header (a script or pipe reads no
 * line, as from ls), and, when standard output is a terminal, standard
 * error says "no WHAT", so that a person does not wonder whether the
 * command ran. */
void cli_list_empty(const char *what);

/* --json output. cli_jput sets KEY of O to V (the reference is taken),
 * cli_jpush appends V to ARR; a NULL O, ARR or V (out of memory) sets
 * *BAD, so that a record is never silently left out. Text read from
 * the store goes through mica_jstr (util/jstr.h): never NULL for text
 * that is not UTF-8. cli_jprint prints V indented on standard output
 * and drops it: 0, or 1 (internal error, said on stderr) when BAD or it
 * cannot be rendered. */
void cli_jput(json_t *o, const char *key, json_t *v, int *bad);
void cli_jpush(json_t *arr, json_t *v, int *bad);
int cli_jprint(json_t *v, int bad);

/* A JSON array printed as its items come, for listings too long to hold
 * at once: the same text cli_jprint would print for the whole array.
 * cli_jstream_item prints V (NULL or BAD set: out of memory) and drops
 * it; cli_jstream_end closes the array. Each returns 0, or 1 (said on
 * stderr) when the item cannot be rendered: the array is then left
 * unclosed, so that nothing reads a cut listing as a whole one. */
struct cli_jstream {
	size_t n;      /* items printed */
};
int cli_jstream_item(struct cli_jstream *js, json_t *v, int bad);
int cli_jstream_end(struct cli_jstream *js);

#endif
