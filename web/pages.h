/*
 * web/pages.h - the web pages (web/assets.h) as answers: "/" rendered with
 * the CA's facts, the other pages and files byte for byte, and the rule
 * that the pages taking a token (/request, /admin) are served over HTTPS
 * only.
 */
#ifndef MICA_WEB_PAGES_H
#define MICA_WEB_PAGES_H

#include "util/err.h"
#include "web/reply.h"

struct web_server;

/*
 * Answer a GET or HEAD of a page or page file at the decoded PATH through
 * REP. TLS says whether the request came over HTTPS; HOST is its Host
 * header (NULL if none), where a page that takes a token redirects plain
 * HTTP to. A page with a slash after its name ("/admin/") is moved (301)
 * to its name, with QUERY (the raw query string, or NULL) kept when it is
 * printable and fits. Returns 0 if answered, 1 if PATH is not a page (or
 * the method is not GET/HEAD), -1 with ERR filled if it is one but cannot
 * be served.
 */
int web_page_serve(struct web_server *srv, int tls, const char *method,
		   const char *path, const char *query, const char *host,
		   struct web_reply *rep, struct mica_err *err);
/* Is the decoded PATH a page or page file (served for GET and HEAD)? */
int web_page_exists(const char *path);

#endif
