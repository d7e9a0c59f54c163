#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
mica_err_set(struct mica_err *e, mica_errkind kind, const char *code,
	     const char *fmt, ...)
{
	char ncode[sizeof(e->code)], nmsg[sizeof(e->msg)];
	va_list ap;

	if (e == NULL)
		return -1;
	/* Made aside first: the arguments may be E's own code or message
	 * ("%s", e->msg to change only the kind), and snprintf into the
	 * buffer it reads is undefined (glibc leaves it empty). */
	snprintf(ncode, sizeof(ncode), "%s",
		 code != NULL ? code : mica_err_kind_code(kind));
	va_start(ap, fmt);
	vsnprintf(nmsg, sizeof(nmsg), fmt, ap);
	va_end(ap);
	e->kind = kind;
	memcpy(e->code, ncode, sizeof(ncode));
	memcpy(e->msg, nmsg, sizeof(nmsg));
	return -1;
}

void
mica_err_clear(struct mica_err *e)
{
	if (e == NULL)
		return;
	e->kind = MICA_E_NONE;
	e->code[0] = '\0';
	e->msg[0] = '\0';
}

int
mica_err_http_status(mica_errkind kind)
{
	switch (kind) {
	case MICA_E_NONE:        return 200;
	case MICA_E_BADREQ:      return 400;
	case MICA_E_USAGE:       return 400;
	case MICA_E_UNAUTH:      return 401;
	case MICA_E_FORBIDDEN:   return 403;
	case MICA_E_NOTFOUND:    return 404;
	case MICA_E_CONFLICT:    return 409;
	case MICA_E_TOOLARGE:    return 413;
	case MICA_E_UNSUPPORTED: return 415;
	case MICA_E_POLICY:      return 422;
	case MICA_E_RATE:        return 429;
	case MICA_E_UNAVAIL:     return 503;
	case MICA_E_INTERNAL:    break;
	}
	return 500;
}

const char *
mica_err_kind_code(mica_errkind kind)
{
	switch (kind) {
	case MICA_E_NONE:        return "ok";
	case MICA_E_BADREQ:      return "bad_request";
	case MICA_E_USAGE:       return "usage";
	case MICA_E_UNAUTH:      return "unauthorized";
	case MICA_E_FORBIDDEN:   return "forbidden";
	case MICA_E_NOTFOUND:    return "not_found";
	case MICA_E_CONFLICT:    return "conflict";
	case MICA_E_TOOLARGE:    return "too_large";
	case MICA_E_UNSUPPORTED: return "unsupported_media_type";
	case MICA_E_POLICY:      return "policy_refused";
	case MICA_E_RATE:        return "too_many_requests";
	case MICA_E_UNAVAIL:     return "unavailable";
	case MICA_E_INTERNAL:    break;
	}
	return "internal";
}

int
mica_err_exit_code(mica_errkind kind)
{
	switch (kind) {
	case MICA_E_NONE:        return 0;
	case MICA_E_USAGE:       return 2;
	case MICA_E_BADREQ:
	case MICA_E_TOOLARGE:
	case MICA_E_UNSUPPORTED: return 3;
	case MICA_E_POLICY:      return 4;
	case MICA_E_NOTFOUND:    return 5;
	case MICA_E_CONFLICT:    return 6;
	case MICA_E_UNAUTH:      return 7;
	case MICA_E_RATE:
	case MICA_E_UNAVAIL:     return 8;
	case MICA_E_FORBIDDEN:   return 9;
	case MICA_E_INTERNAL:    break;
	}
	return 1;
}
