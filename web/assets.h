/*
 * web/assets.h - the web enrollment pages (the files of web/pages/),
 * embedded in the binary at build time by scripts/embed-assets into
 * web/assets_data.c, which is generated: never edit it.
 *
 * No framework and no build step: three HTML pages, one stylesheet, plain
 * JavaScript that calls the JSON API, and an icon.
 *
 *   URL path      file              listeners      what
 *   /             index.html        HTTP + HTTPS   the root certificate,
 *                                                  its fingerprint, install
 *                                                  steps; works without JS
 *   /request      request.html      HTTPS only     submit a CSR, see the
 *                                                  result or a request's
 *                                                  status (/request#id=...)
 *   /admin        admin.html        HTTPS only     the admin console
 *   (the pages that take a token; over plain HTTP they redirect to HTTPS
 *   unless --api-over-http says a TLS-terminating proxy is in front)
 *   /style.css    style.css         both
 *   /app.js       app.js            both           shared helpers
 *   /request.js   request.js        both
 *   /admin.js     admin.js          both
 *   /favicon.svg  favicon.svg       both
 *
 * The pages contain no inline script, no inline style and no style or
 * event-handler attributes, so they work under WEB_PAGES_CSP; every value
 * the scripts take from the API goes into the page as text (textContent or
 * createElement), never as HTML.
 *
 * Server-side placeholders. The "/" page is rendered by the daemon, so it
 * shows everything with JavaScript off. Before sending it, the daemon
 * replaces every occurrence of these placeholders, each with its value
 * HTML-escaped (& < > " ' as &amp; &lt; &gt; &quot; &#39;; the values are
 * admin-chosen text and must never be able to add markup):
 *
 *   {{CA_NAME}}        the CA's name (ca_name())
 *   {{FINGERPRINT}}    the root's SHA-256 fingerprint, "AB:CD:..."
 *                      (ca_root_fingerprint())
 *   {{COUNT_VALID}}    certificates valid now          (struct ca_counts)
 *   {{COUNT_REVOKED}}  revoked certificates
 *   {{COUNT_PENDING}}  requests waiting for approval
 *   {{PUBLIC_URL}}     the CRL/AIA base URL, no trailing slash
 *                      (ca_public_url())
 *
 * Placeholders appear only in "/" (index.html) and only in text or in
 * double-quoted attribute values. Other assets are sent byte for byte.
 */
#ifndef MICA_WEB_ASSETS_H
#define MICA_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path;           /* URL path: "/", "/admin", "/style.css" */
	const char *content_type;   /* full Content-Type header value */
	const unsigned char *data;  /* the bytes; data[len] is a NUL not
				     * counted in len */
	size_t len;
};

/* Every embedded asset, sorted by file name (web/assets_data.c). */
extern const struct web_asset web_assets[];
extern const size_t web_nassets;

/*
 * The Content-Security-Policy the pages are written for: nothing inline,
 * nothing from another origin, no framing, no plugins, forms and API calls
 * to this origin only. Send it (with "X-Content-Type-Options: nosniff") on
 * every asset and page response.
 */
#define WEB_PAGES_CSP \
	"default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; connect-src 'self'; object-src 'none'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/*
 * The asset served at PATH (a decoded URL path, without the query; exact
 * match, so "/admin/" or "/index.html" are not found), or NULL. The result
 * points into static storage. PATH may be NULL (NULL is returned).
 */
const struct web_asset *web_asset_find(const char *path);

#endif
