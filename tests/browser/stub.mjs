// A stand-in for the daemon's page routes, for developing the pages before
// (or without) a `mica serve` that embeds them: serves web/pages/ exactly as
// web/assets.h says the daemon must (URL paths, content types, the CSP and
// nosniff headers, the placeholders of "/" filled in HTML-escaped), and
// forwards everything else (/api/v1, /ca.crt, /crl, ...) to a real daemon
// over HTTPS, checking its certificate against the CA root.
//
// Used by pages.test.mjs when MICA_BROWSER_STUB=1, to try changes to
// web/pages without rebuilding mica (and it was how the pages were tested
// before the daemon embedded them); it is no substitute for testing the
// daemon's own page routes, which the default run does.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
  "img-src 'self'; connect-src 'self'; object-src 'none'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** URL path of a page file, as scripts/embed-assets maps it. */
export function urlPath(file) {
  if (file === 'index.html')
    return '/';
  if (file.endsWith('.html'))
    return '/' + file.slice(0, -5);
  return '/' + file;
}

export function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

/** Fill the placeholders of TEXT from the daemon's /api/v1/status S. */
export function render(text, s) {
  const c = s.counts || {};
  const vars = {
    CA_NAME: s.name,
    FINGERPRINT: s.fingerprint_sha256,
    COUNT_VALID: c.valid,
    COUNT_REVOKED: c.revoked,
    COUNT_PENDING: c.pending_requests,
    PUBLIC_URL: s.public_url,
  };
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (m, k) =>
    Object.prototype.hasOwnProperty.call(vars, k) ? htmlEscape(vars[k] ?? '') : m);
}

/**
 * Start the stub on 127.0.0.1:PORT (0 = any). PAGES: the web/pages
 * directory; UPSTREAM: "https://127.0.0.1:8443"; CA: the root PEM;
 * ADMIN: an admin token (to read /api/v1/status for "/").
 * Resolves to {server, url}.
 */
export function startStub({ pages, upstream, ca, admin, port = 0 }) {
  const files = new Map();
  for (const f of fs.readdirSync(pages)) {
    const ext = path.extname(f);
    if (TYPES[ext])
      files.set(urlPath(f), { file: path.join(pages, f), type: TYPES[ext] });
  }
  const up = new URL(upstream);

  function forward(req, res) {
    const p = https.request({
      host: up.hostname, port: up.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: up.host }, ca,
    }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    p.on('error', () => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":"bad_gateway","message":"the daemon could not be reached"}');
    });
    req.pipe(p);
  }

  function status() {
    return new Promise((resolve, reject) => {
      https.get({ host: up.hostname, port: up.port, path: '/api/v1/status', ca,
        headers: { authorization: 'Bearer ' + admin } }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d) => { body += d; });
        r.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (e) {
            reject(e);
          }
        });
      }).on('error', reject);
    });
  }

  const server = http.createServer(async (req, res) => {
    const pathname = new URL(req.url, 'http://x').pathname;
    const f = files.get(pathname);
    if (!f || (req.method !== 'GET' && req.method !== 'HEAD'))
      return forward(req, res);
    let body = fs.readFileSync(f.file);
    if (pathname === '/') {
      try {
        body = Buffer.from(render(body.toString('utf8'), await status()), 'utf8');
      } catch (e) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end('status unavailable');
      }
    }
    res.writeHead(200, {
      'content-type': f.type,
      'content-length': body.length,
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': pathname === '/' ? 'no-store' : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      resolve({ server, url: 'http://127.0.0.1:' + server.address().port });
    });
  });
}
