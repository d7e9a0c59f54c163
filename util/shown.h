/*
 * util/shown.h - text from outside (a path, a header, a file name) as it
 * may be shown on a terminal or written into a log line: every byte a
 * terminal or a log reader could act on, or that could make one name
 * pass for another (a bidirectional control, an invisible character),
 * spelled \xNN, a backslash \\, as git and ls -b do.
 * Shared by the command line's messages and the daemon's log.
 */
#ifndef MICA_UTIL_SHOWN_H
#define MICA_UTIL_SHOWN_H

#include <stddef.h>
#include <stdint.h>

/* The well-formed UTF-8 character at S[0..LEN) (RFC 3629 3: no overlong
 * form, no surrogate, nothing above U+10FFFF): its code point into *CP
 * and its length (1 to 4), or 0 when there is none there (a byte of no
 * character, one cut by LEN, LEN 0). The one UTF-8 reader of mica. */
size_t mica_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* 1 if code point CP is one no text from outside may show: a control,
 * the line and paragraph separators, a bidirectional control, an
 * invisible formatting character (Default_Ignorable_Code_Point but the
 * variation selectors emoji need), another format character (Cf) or a
 * noncharacter - what would let one entry of a log or a list forge a
 * line or look like another (UTS #39, "Trojan Source"). Free text
 * refuses them (ca_text_check); a subject keeps them escaped, and so does
 * mica_shown_len. */
int mica_cp_hidden(uint32_t cp);

/* Length (1 to 4) of the well-formed UTF-8 character at S[0..LEN)
 * (RFC 3629 3) if it may be shown, else 0: a C0 control, DEL, a C1
 * control (U+0080-U+009F: 0x9b is CSI to some terminals), any other
 * character mica_cp_hidden hides (a bidirectional control such as
 * U+202E, an invisible one such as U+200B), a surrogate, an overlong
 * form, a byte of no character, or a character cut by LEN. */
size_t mica_shown_len(const unsigned char *s, size_t len);

/* The shown form of the character at S[0..LEN) (LEN >= 1) into OUT, with
 * a NUL: the character as it is when mica_shown_len takes it, a backslash
 * doubled, else its first byte as \xNN. Returns how many bytes of S it
 * stands for (1 to 4); *OUT_LEN gets its length (1 to 4). */
#define MICA_SHOWN_CHAR_MAX 4
size_t mica_shown_char(const unsigned char *s, size_t len,
		       char out[MICA_SHOWN_CHAR_MAX + 1], size_t *out_len);

/* Write IN[0..LEN) into OUT (SIZE bytes, at least 1) with every byte
 * mica_shown_len does not take written \xNN and a backslash doubled (so
 * that a literal "\x07" reads \\x07, never as the escape of BEL), and a
 * NUL. Stops at the last whole character or escape that fits, never in
 * the middle of one. Returns the length written (without the NUL). */
size_t mica_shown(const char *in, size_t len, char *out, size_t size);

#endif
