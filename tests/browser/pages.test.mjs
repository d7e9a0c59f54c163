// Browser tests of mica's web enrollment pages (issue 4): Debian's Chromium,
// headless, driven by playwright-core, against `mica serve` on loopback.
//
// The browser trusts the daemon's HTTPS the way a user's machine would: the
// root, exported with `mica export-root`, goes into a fresh NSS database
// under a private $HOME, so no certificate error is ignored anywhere; curl
// and openssl use --cacert/-CAfile with the same root.
//
// Environment: MICA_BIN (the mica binary), MICA_SRCDIR (the source tree),
// MICA_NODE_MODULES (where playwright-core is installed, if not here),
// MICA_TEST_OUT (screenshots and artefacts; default tests/browser/out),
// MICA_BROWSER_STUB=1 (serve the pages straight from web/pages through
// stub.mjs in front of the daemon, to try page changes without rebuilding
// mica; the daemon's own page routes are then not tested),
// MICA_UPDATE_SCREENSHOTS=1 (copy the README screenshots to
// docs/screenshots/), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startStub, urlPath, render } from './stub.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// run.sh installs playwright-core beside this file, or under the output
// directory when the source tree is read-only (make distcheck).
const { chromium } = process.env.MICA_NODE_MODULES
  ? await import(pathToFileURL(path.join(process.env.MICA_NODE_MODULES, 'playwright-core', 'index.mjs')).href)
  : await import('playwright-core');
const SRCDIR = path.resolve(process.env.MICA_SRCDIR || path.join(HERE, '..', '..'));
const PAGES = path.join(SRCDIR, 'web', 'pages');
const MICA = path.resolve(process.env.MICA_BIN || path.join(SRCDIR, 'mica'));
const OUT = path.resolve(process.env.MICA_TEST_OUT || path.join(HERE, 'out'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STUB = process.env.MICA_BROWSER_STUB === '1';
const DOMAIN = 'contoso.test';
const XSS_CN = '<script>alert(1)</script>';
const XSS_O = '<img src=x onerror=alert(1)>';
const XSS_REASON = '<img src=x onerror=alert(2)>';

const S = { procs: [] };  // shared state of the scenarios, in order
const events = { dialogs: [], pageErrors: [], consoleErrors: [] };

// ---------------------------------------------------------------- helpers --

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 30000, ...opts });
  } catch (e) {
    const err = new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ? e.stderr.toString() : e.message}`);
    err.status = e.status;
    err.stdout = e.stdout ? e.stdout.toString() : '';
    err.stderr = e.stderr ? e.stderr.toString() : '';
    throw err;
  }
}

function mica(...args) {
  return run(MICA, ['-d', S.data, ...args]);
}

/** GET URL with curl (--cacert root.pem; never -k): {status, headers, body}.
 * Asynchronous, so the stub server in this process can answer. */
let curlSeq = 0;
async function curl(url, extra = []) {
  const n = ++curlSeq;
  const hdr = path.join(S.tmp, `curl${n}.h`);
  const body = path.join(S.tmp, `curl${n}.b`);
  await new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '15', '--cacert', S.rootPem, '-D', hdr, '-o', body, ...extra, url],
      (e, stdout, stderr) => (e ? reject(new Error(`curl ${url}: ${stderr || e.message}`)) : resolve()));
  });
  const blocks = fs.readFileSync(hdr, 'latin1').split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
  const lines = blocks[blocks.length - 1].split(/\r?\n/);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0)
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const res = {
    status: Number(lines[0].split(' ')[1]),
    headers,
    body: fs.existsSync(body) ? fs.readFileSync(body) : Buffer.alloc(0),
  };
  fs.rmSync(hdr, { force: true });
  fs.rmSync(body, { force: true });
  return res;
}

async function apiAdmin(pathname) {
  const r = await curl(S.https + pathname, ['-H', 'Authorization: Bearer ' + S.admin]);
  assert.equal(r.status, 200, `${pathname}: ${r.body}`);
  return JSON.parse(r.body.toString('utf8'));
}

/** POST (or METHOD) BODY as JSON to PATHNAME with TOKEN (the suite's admin
 * token unless given): {status, body} (the body parsed, or null). */
async function apiSend(pathname, body, token = S.admin, method = 'POST') {
  const f = path.join(S.tmp, `send${++curlSeq}.json`);
  fs.writeFileSync(f, JSON.stringify(body));
  const r = await curl(S.https + pathname, ['-X', method, '-H', 'Authorization: Bearer ' + token,
    '-H', 'Content-Type: application/json', '--data-binary', '@' + f]);
  const text = r.body.toString('utf8');
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** A request made without a token for NAME: its id. */
async function pendingRequest(tag, name) {
  const { csr } = makeCsr(tag, name);
  const r = await curl(S.https + '/api/v1/requests', ['-H', 'Content-Type: application/pkcs10',
    '--data-binary', '@' + csr]);
  assert.equal(r.status, 202, r.body.toString());
  return JSON.parse(r.body).id;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Deadlines are generous: the tests must hold on a busy machine.
async function waitFor(what, fn, ms = 60000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v)
        return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

/** A key and a CSR for NAME (SAN DNS:NAME) with SUBJ; returns the paths. */
function makeCsr(tag, name, subj) {
  const key = path.join(S.tmp, tag + '.key');
  const csr = path.join(S.tmp, tag + '.csr');
  run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-subj', subj || '/CN=' + name, '-addext', 'subjectAltName=DNS:' + name,
    '-out', csr]);
  return { key, csr, pem: fs.readFileSync(csr, 'utf8') };
}

/** openssl verify against the root (and a CRL); {ok, out}. */
function verify(certFile, crlFile) {
  const args = ['verify', '-CAfile', S.rootPem];
  if (crlFile)
    args.push('-crl_check', '-CRLfile', crlFile);
  args.push(certFile);
  try {
    return { ok: true, out: run('openssl', args).toString() };
  } catch (e) {
    return { ok: false, out: e.stdout + e.stderr };
  }
}

function normSerial(s) {
  return String(s).replace(/[^0-9a-f]/gi, '').replace(/^0+/, '').toUpperCase();
}

async function newContext(opts = {}) {
  const ctx = await S.browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, ...opts });
  if (opts.javaScriptEnabled !== false) {
    // Runs before any page script, outside the page's CSP: collects
    // violations, which would mean something tried to run or load.
    await ctx.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
      });
    });
  }
  return ctx;
}

async function newPage(ctx) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on('dialog', (d) => {
    events.dialogs.push(`${d.type()}: ${d.message()} on ${page.url()}`);
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => events.pageErrors.push(`${e.message} on ${page.url()}`));
  page.on('console', (m) => {
    // A failed API call (401, 404...) is logged by Chromium as "Failed
    // to load resource"; the tests provoke some on purpose.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      events.consoleErrors.push(`${m.text()} on ${page.url()}`);
  });
  return page;
}

async function cspViolations(page) {
  return page.evaluate(() => window.__csp || []);
}

/** Screenshots of PAGE at desktop and phone sizes; the phone layout must
 * not scroll sideways. */
async function shots(page, name) {
  for (const [w, h, tag] of [[1280, 800, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await page.evaluate(() => new Promise((r) => {
      window.scrollTo(0, 0);
      requestAnimationFrame(() => requestAnimationFrame(r));
    }));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name} at ${w}px scrolls sideways by ${overflow}px`);
    await page.screenshot({ path: path.join(OUT, `${name}-${tag}.png`) });
    await page.screenshot({ path: path.join(OUT, `${name}-${tag}-full.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function download(page, selector, file) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const dest = path.join(S.tmp, file);
  await dl.saveAs(dest);
  return dest;
}

async function adminSignIn(page) {
  await page.goto(S.pages + '/admin');
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#admin-token', S.admin);
  await page.click('#signin-btn');
  await page.waitForSelector('#console:not([hidden])');
}

/** Record every fetch the page's scripts make from now on, in
 * window.__fetches: {url, settled}, settled set a task after the fetch
 * settled, when the page's handlers of a failure have run. Synchronous,
 * so what a click asked for is known as the click returns. */
async function traceFetches(page) {
  await page.evaluate(() => {
    window.__fetches = [];
    const f = window.fetch;
    window.fetch = function (url) {
      const rec = { url: String(url), settled: false };
      window.__fetches.push(rec);
      const p = f.apply(this, arguments);
      p.then(() => {}, () => {}).then(() => setTimeout(() => { rec.settled = true; }, 0));
      return p;
    };
  });
}

/** Wait until the admin page's message line says RE (kind: ok, error). */
async function expectFlash(page, kind, re) {
  await page.waitForFunction(([k, src]) => {
    const f = document.getElementById('flash');
    return !f.hidden && f.classList.contains(k) && new RegExp(src).test(f.textContent);
  }, [kind, re.source]);
}

// ------------------------------------------------------------- set-up --

/**
 * Start `mica -d DATA serve` on free loopback ports (HTTPS too unless
 * NOHTTPS), with EXTRA options; wait for /healthz (and, with TOKEN, for the
 * admin token on stdout). A port taken in between: try again. Resolves to
 * {proc, http, https, stdout}; the log goes to OUT/NAME.log.
 */
async function startDaemon(name, data, extra, token, nohttps = false) {
  for (let attempt = 0; ; attempt++) {
    const httpPort = await freePort();
    const httpsPort = nohttps ? 0 : await freePort();
    if (token)
      fs.rmSync(data, { recursive: true, force: true });
    const log = fs.openSync(path.join(OUT, name + '.log'), 'w');
    const proc = spawn(MICA, ['-d', data, 'serve', '--http', `127.0.0.1:${httpPort}`,
      '--https', nohttps ? 'none' : `127.0.0.1:${httpsPort}`, '--threads', '2', ...extra],
    { stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    S.procs.push(proc);
    const d = { proc, http: `http://127.0.0.1:${httpPort}`, https: `https://127.0.0.1:${httpsPort}`, stdout: '' };
    proc.stdout.on('data', (b) => { d.stdout += b; });
    const exited = new Promise((r) => proc.once('exit', () => r(false)));
    const up = await Promise.race([
      waitFor(`${name}'s /healthz`, async () => {
        run('curl', ['-sf', '--max-time', '2', d.http + '/healthz']);
        return !token || /admin token: \S+/.test(d.stdout);
      }, 60000).then(() => true),
      exited,
    ]);
    if (up)
      return d;
    if (attempt === 2)
      throw new Error(`mica serve did not start; see ${path.join(OUT, name + '.log')}`);
  }
}

async function stopDaemon(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null)
    return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
  await gone;
  clearTimeout(t);
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  S.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mica-browser-'));
  S.data = path.join(S.tmp, 'data');
  assert.ok(fs.existsSync(MICA), `no mica binary at ${MICA} (set MICA_BIN)`);

  // The daemon creates the CA and prints the first admin token once.
  const d = await startDaemon('daemon', S.data, ['--domain', DOMAIN], true);
  S.http = d.http;
  S.https = d.https;
  S.admin = /admin token: (\S+)/.exec(d.stdout)[1];

  S.rootDer = path.join(S.tmp, 'root.der');
  S.rootPem = path.join(S.tmp, 'root.pem');
  fs.writeFileSync(S.rootDer, mica('export-root', '--der'));
  fs.writeFileSync(S.rootPem, mica('export-root', '--pem'));
  S.fingerprint = /=([0-9A-F:]+)/.exec(run('openssl',
    ['x509', '-in', S.rootPem, '-noout', '-fingerprint', '-sha256']).toString())[1];
  S.status = await apiAdmin('/api/v1/status');

  if (STUB) {
    const stub = await startStub({ pages: PAGES, upstream: S.https,
      ca: fs.readFileSync(S.rootPem), admin: S.admin });
    S.stub = stub.server;
    S.pages = stub.url;
    S.indexBases = [stub.url];
  } else {
    S.pages = S.https;
    S.indexBases = [S.http, S.https];
  }

  // The root in a fresh NSS database under a private HOME: Chromium then
  // checks the daemon's certificate against it like any installed root.
  S.home = path.join(S.tmp, 'home');
  const nss = path.join(S.home, '.pki', 'nssdb');
  fs.mkdirSync(nss, { recursive: true });
  run('certutil', ['-N', '-d', 'sql:' + nss, '--empty-password']);
  run('certutil', ['-A', '-d', 'sql:' + nss, '-n', 'mica test root', '-t', 'C,,', '-i', S.rootPem]);

  // Playwright launches Chromium with --headless and a fresh temporary
  // --user-data-dir of its own.
  S.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env: { ...process.env, HOME: S.home },
  });
});

after(async () => {
  if (S.browser)
    await S.browser.close();
  if (S.stub)
    S.stub.close();
  for (const proc of S.procs)
    await stopDaemon(proc);
  if (S.tmp && process.env.MICA_KEEP_TMP !== '1')
    fs.rmSync(S.tmp, { recursive: true, force: true });
});

// ----------------------------------------------------------- scenarios --

test('every page and file is served as in web/pages, with CSP and nosniff', async () => {
  const files = fs.readdirSync(PAGES).filter((f) => !f.startsWith('.'));
  assert.ok(files.includes('index.html') && files.includes('admin.html'));
  const bases = STUB ? [S.pages] : [S.http, S.https];
  for (const base of bases) {
    for (const f of files) {
      const p = urlPath(f);
      if ((p === '/admin' || p === '/request') && base === S.http)
        continue;          // they take tokens, so HTTPS only: tested below
      const r = await curl(base + p);
      assert.equal(r.status, 200, `${base}${p}`);
      const csp = r.headers['content-security-policy'] || '';
      assert.match(csp, /script-src 'self'/, `${p}: CSP ${csp}`);
      assert.match(csp, /frame-ancestors 'none'/, `${p}: CSP ${csp}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${p}: CSP ${csp}`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
      const want = fs.readFileSync(path.join(PAGES, f));
      if (p === '/') {
        const text = r.body.toString('utf8');
        assert.doesNotMatch(text, /\{\{[A-Z_]+\}\}/, 'placeholders left in /');
        assert.equal(text, render(want.toString('utf8'), await apiAdmin('/api/v1/status')),
          '/ is index.html with the placeholders filled in, HTML-escaped');
      } else {
        assert.ok(r.body.equals(want), `${base}${p} differs from web/pages/${f}`);
      }
      const type = r.headers['content-type'] || '';
      const ext = path.extname(f);
      const types = { '.html': /^text\/html/, '.css': /^text\/css/, '.js': /^(text|application)\/javascript/, '.svg': /^image\/svg\+xml/ };
      if (types[ext])
        assert.match(type, types[ext], `${p}: Content-Type ${type}`);
    }
  }
});

test('/admin and /request, which take tokens, are only served over HTTPS', { skip: STUB && 'the stub has one listener' }, async () => {
  for (const [p, field] of [['/admin', /admin-token/], ['/request', /id="token"/]]) {
    for (const suffix of ['', '#id=0123456789abcdef']) {
      const r = await curl(S.http + p + suffix);
      if (r.status >= 300 && r.status < 400) {
        assert.equal(r.headers.location, S.https + p, `http://...${p} redirects to the HTTPS page`);
      } else {
        assert.equal(r.status, 403, `GET http://...${p} answered ${r.status}`);
      }
      assert.doesNotMatch(r.body.toString('utf8'), field, `${p}: the page itself is not sent over HTTP`);
    }
  }
});

// A form the page's script did not take over (JavaScript off, the script
// not loaded yet or failed) is submitted by the browser itself, as a GET of
// the page with every named field in the query: a token would land in the
// address bar, the history and the log of any proxy in front.
test('a token typed into /request or /admin never lands in a URL, even if the script did not run', async () => {
  const ctx = await newContext({ javaScriptEnabled: false });
  const page = await newPage(ctx);
  const urls = [];
  page.on('request', (rq) => urls.push(rq.url()));
  const secret = 'mica_0123456789abcdef_' + 'f'.repeat(64);
  for (const [p, form, field] of [['/request', '#req-form', '#token'], ['/admin', '#signin-form', '#admin-token']]) {
    await page.goto(S.pages + p);
    assert.equal(await page.isVisible(form), false, `${p}: without JavaScript the form is not offered`);
    assert.deepEqual(await page.$$eval('input[type=password][name]', (l) => l.map((e) => e.name)), [],
      `${p}: a secret field has no name, so no form submission carries it`);
    // As if the script had not run yet: the form shown, filled and sent.
    await page.$eval(form, (f) => {
      for (let e = f; e; e = e.parentElement)
        e.hidden = false;
    });
    if (p === '/request')
      await page.fill('#csr', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----');
    await page.fill(field, secret);
    await Promise.all([page.waitForNavigation().catch(() => null), page.press(field, 'Enter')]);
  }
  const leaked = urls.filter((u) => u.includes(secret.slice(0, 20)) || u.includes('csr='));
  assert.deepEqual(leaked, [], 'no URL carried the token or the form\'s fields');
  await ctx.close();
});

// HSTS holds for every port of a host name, and a browser keeps the port
// when it upgrades http:// to https:// (RFC 6797 8.3): sent from HTTPS on
// 8443 beside plain HTTP on 8080, it would turn http://HOST:8080/ into
// https://HOST:8080/, where nothing speaks TLS, for a year.
test('after a visit over HTTPS, the root page and the root over plain HTTP still open', { skip: STUB && 'the stub has one listener' }, async () => {
  const host = 'ca.' + DOMAIN;
  const data = path.join(S.tmp, 'data-hsts');
  // A CA whose URL names HOST: the daemon's certificate names it too.
  run(MICA, ['-d', data, 'init', '--name', 'HSTS Root CA', '--domain', DOMAIN,
    '--public-url', `http://${host}:8080`]);
  const d = await startDaemon('hsts', data, [], false);
  const home = path.join(S.tmp, 'home-hsts');
  const nss = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(nss, { recursive: true });
  const rootPem = path.join(S.tmp, 'hsts-root.pem');
  fs.writeFileSync(rootPem, run(MICA, ['-d', data, 'export-root', '--pem']));
  run('certutil', ['-N', '-d', 'sql:' + nss, '--empty-password']);
  run('certutil', ['-A', '-d', 'sql:' + nss, '-n', 'mica hsts root', '-t', 'C,,', '-i', rootPem]);
  // Chromium applies HSTS to host names only, never to an address.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--host-resolver-rules=MAP ${host} 127.0.0.1`],
    env: { ...process.env, HOME: home },
  });
  try {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(15000);
    const httpBase = d.http.replace('127.0.0.1', host);
    const httpsBase = d.https.replace('127.0.0.1', host);
    assert.equal((await page.goto(httpsBase + '/')).status(), 200, 'the page over HTTPS');
    const r = await page.goto(httpBase + '/');
    assert.equal(page.url(), httpBase + '/', 'not upgraded to https on the plain HTTP port');
    assert.equal(r.status(), 200);
    const crt = await curl(httpBase + '/ca.crt', ['--resolve', `${host}:${new URL(d.http).port}:127.0.0.1`]);
    assert.equal(crt.status, 200);
    assert.ok(!('strict-transport-security' in (await curl(httpsBase + '/',
      ['--cacert', rootPem, '--resolve', `${host}:${new URL(d.https).port}:127.0.0.1`])).headers),
    'no HSTS from HTTPS on a port other than 443');
  } finally {
    await browser.close();
    await stopDaemon(d.proc);
  }
});

test('/ shows the root, its fingerprint and counts with JavaScript off; .crt equals mica export-root --der', async () => {
  const ctx = await newContext({ javaScriptEnabled: false });
  const page = await newPage(ctx);
  for (const base of S.indexBases) {
    const res = await page.goto(base + '/');
    assert.equal(res.status(), 200);
    assert.equal((await page.textContent('#ca-name')).trim(), S.status.name);
    assert.equal((await page.textContent('#fingerprint')).trim(), S.fingerprint);
    assert.equal(await page.title(), `${S.status.name} - certificate authority`);
    for (const id of ['count-valid', 'count-revoked', 'count-pending'])
      assert.match((await page.textContent('#' + id)).trim(), /^\d+$/, id);
    assert.equal((await page.textContent('#crl-url')).trim(), S.status.public_url + '/crl');
    assert.ok(!(await page.content()).includes('{{'), 'no placeholder left');

    const crt = await download(page, '#dl-crt', 'dl-root.crt');
    assert.ok(fs.readFileSync(crt).equals(fs.readFileSync(S.rootDer)),
      `${base}: the downloaded .crt is not the bytes of mica export-root --der`);
    const pem = await download(page, '#dl-pem', 'dl-root.pem');
    assert.equal(fs.readFileSync(pem, 'utf8'), fs.readFileSync(S.rootPem, 'utf8'));
    const crl = await curl(base + '/crl');
    assert.equal(crl.status, 200);
    assert.match(crl.headers['content-type'], /application\/pkix-crl/);
  }
  await ctx.close();

  // With JavaScript on: the same page, plus a copy button and the steps of
  // this platform opened; nothing in it may break the CSP.
  const ctx2 = await newContext();
  const p2 = await newPage(ctx2);
  await p2.goto(S.indexBases[0] + '/');
  await p2.waitForSelector('#copy-fp');
  assert.equal(await p2.getAttribute('#os-linux', 'open'), '', 'the Linux steps are opened on Linux');
  await p2.click('#os-windows summary');
  await shots(p2, 'index');
  assert.deepEqual(await cspViolations(p2), []);
  await ctx2.close();
});

test('/ shows a CA name full of markup as text (server-side HTML escaping)', { skip: STUB && 'the stub is not the daemon' }, async () => {
  const name = `<script>alert(3)</script> & 'Root' "CA"`;
  const data = path.join(S.tmp, 'data-name');
  run(MICA, ['-d', data, 'init', '--name', name, '--domain', DOMAIN,
    '--public-url', 'http://ca.' + DOMAIN], { timeout: 60000 });
  const d = await startDaemon('daemon-name', data, [], false, true);
  try {
    const html = (await curl(d.http + '/')).body.toString('utf8');
    assert.ok(!html.includes('<script>alert(3)'), 'the name went out as markup');
    assert.ok(html.includes('&lt;script&gt;alert(3)&lt;/script&gt; &amp; '), 'the name is not HTML-escaped');
    const ctx = await newContext();
    const page = await newPage(ctx);
    await page.goto(d.http + '/');
    assert.equal(await page.textContent('#ca-name'), name);
    assert.equal(await page.title(), name + ' - certificate authority');
    assert.equal(await page.evaluate(() => document.scripts.length), 1, 'only /app.js');
    assert.deepEqual(await cspViolations(page), []);
    await ctx.close();
  } finally {
    await stopDaemon(d.proc);
  }
  assert.deepEqual(events.dialogs, []);
});

test('an enrollment token made on /admin gets a certificate on /request that openssl verify accepts', async () => {
  const ctx = await newContext();
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: S.pages });
  const admin = await newPage(ctx);

  // A wrong token is refused and nothing is stored.
  await admin.goto(S.pages + '/admin');
  await admin.waitForSelector('#signin:not([hidden])');
  await shots(admin, 'admin-signin');
  await admin.fill('#admin-token', 'mica_0123456789abcdef_' + '0'.repeat(64));
  await admin.click('#signin-btn');
  await admin.waitForSelector('#signin-msg.error:not([hidden])');
  assert.equal(await admin.evaluate(() => sessionStorage.getItem('mica.adminToken')), null);

  await admin.fill('#admin-token', S.admin);
  await admin.click('#signin-btn');
  await admin.waitForSelector('#console:not([hidden])');
  assert.equal(await admin.evaluate(() => sessionStorage.getItem('mica.adminToken')), S.admin,
    'the token is kept in sessionStorage');
  assert.deepEqual(await ctx.cookies(), [], 'no cookie is set');
  assert.equal((await admin.textContent('#ca-name')).trim(), S.status.name);

  // Create a one-use token for web1 on the page; it is shown once.
  await admin.selectOption('#tok-profile', 'server');
  await admin.fill('#tok-names', 'web1.' + DOMAIN);
  await admin.fill('#tok-uses', '1');
  await admin.fill('#tok-comment', 'browser test');
  await admin.click('#tok-create');
  await admin.waitForSelector('#token-created:not([hidden])');
  const token = await admin.inputValue('#token-value');
  assert.match(token, /^mica_[0-9a-f]+_[0-9a-f]+$/);
  await admin.click('#token-copy');
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), token, 'Copy puts the token on the clipboard');
  await admin.waitForSelector('#token-rows tr');
  assert.match(await admin.textContent('#token-rows'), /browser test/);
  S.adminCtx = ctx;
  S.adminPage = admin;
  S.web1Token = token;

  // Submit the CSR with the token on /request.
  const { key, pem } = makeCsr('web1', 'web1.' + DOMAIN);
  const req = await newPage(ctx);
  await req.goto(S.pages + '/request');
  await shots(req, 'request');
  await req.fill('#csr', pem);
  await req.selectOption('#profile', 'server');
  await req.fill('#token', token);
  await req.click('#submit');
  await req.waitForSelector('#issued-msg');
  const serial = (await req.textContent('[data-field="serial"]')).trim();
  assert.match(serial, /^[0-9a-f]+$/i);
  const certPem = await download(req, '#downloads .dl-pem', 'web1.pem');
  const v = verify(certPem);
  assert.ok(v.ok, 'openssl verify: ' + v.out);
  assert.match(run('openssl', ['x509', '-in', certPem, '-noout', '-ext', 'subjectAltName']).toString(), /DNS:web1\.contoso\.test/);
  // The certificate is for the CSR's key.
  const pub = (f, args) => run('openssl', args.concat(f)).toString();
  assert.equal(pub(certPem, ['x509', '-noout', '-pubkey', '-in']), pub(key, ['pkey', '-pubout', '-in']));
  const crt = await download(req, '#downloads .dl-crt', 'web1.crt');
  assert.equal(run('openssl', ['x509', '-inform', 'DER', '-in', crt]).toString(), fs.readFileSync(certPem, 'utf8'));
  const chain = fs.readFileSync(await download(req, '#downloads .dl-chain', 'web1-chain.pem'), 'utf8');
  assert.equal((chain.match(/BEGIN CERTIFICATE/g) || []).length, 2);
  assert.ok(chain.includes(fs.readFileSync(S.rootPem, 'utf8').trim()), 'the chain ends with the root');
  // The .p7b Windows completes its request with: the certificate and its
  // chain, as OpenSSL reads it.
  const p7 = await download(req, '#downloads .dl-p7b', 'web1.p7b');
  const p7certs = run('openssl', ['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs']).toString();
  assert.equal((p7certs.match(/BEGIN CERTIFICATE/g) || []).length, 2);
  assert.ok(p7certs.includes(fs.readFileSync(certPem, 'utf8').trim()), 'the .p7b holds the certificate');
  assert.ok(p7certs.includes(fs.readFileSync(S.rootPem, 'utf8').trim()), 'the .p7b holds the root');
  await shots(req, 'request-issued');

  // The one-use token is spent: a second CSR with it is refused, in the page.
  const again = makeCsr('web1b', 'web1.' + DOMAIN);
  await req.click('#another');
  await req.waitForSelector('#req-form:not([hidden])');
  await req.fill('#csr', again.pem);
  await req.fill('#token', token);
  await req.click('#submit');
  await req.waitForSelector('#form-msg.error:not([hidden])');
  assert.match(await req.textContent('#form-msg'), /Not accepted/);
  assert.deepEqual(await cspViolations(req), []);
  await req.close();
  S.web1Serial = serial;
});

// Another site's page cannot make a browser file a request: a no-cors
// POST of a raw CSR as text/plain needs no preflight, and would come from
// the browser's address, inside the network (Sec-Fetch-Site: cross-site).
test('a page of another site cannot make the browser submit a CSR', async () => {
  const name = 'csrf.' + DOMAIN;
  const csr = makeCsr('csrf', name);
  const target = S.pages + '/api/v1/requests?profile=server';
  const html = `<!doctype html><title>-</title><script>
fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors',
  headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(csr.pem)} })
  .then(() => { document.title = 'sent'; }, (e) => { document.title = 'failed ' + e; });
</script>`;
  const evil = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  const ctx = await newContext({ javaScriptEnabled: true });
  const page = await newPage(ctx);
  const answered = page.waitForResponse((r) => r.url() === target);
  try {
    await page.goto(`http://127.0.0.1:${evil.address().port}/`);
    await page.waitForFunction(() => document.title !== '-');
    assert.equal(await page.title(), 'sent', 'the browser sent the POST');
    await answered;
  } finally {
    await ctx.close();
    await new Promise((r) => evil.close(r));
  }
  const pending = await apiAdmin('/api/v1/requests?status=pending&limit=1000');
  assert.deepEqual(pending.requests.filter((r) => (r.names || []).includes(name)), [],
    'no request was filed for the other site');
});

test('a request without a token waits, is approved on /admin and is then issued', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page of the previous test');
  const ctx = await newContext();
  const req = await newPage(ctx);
  // This one is uploaded as a DER file (the application/pkcs10 form).
  const { csr } = makeCsr('web2', 'web2.' + DOMAIN);
  const der = path.join(S.tmp, 'web2.der');
  run('openssl', ['req', '-in', csr, '-outform', 'DER', '-out', der]);
  await req.goto(S.pages + '/request');
  await req.setInputFiles('#csr-file', der);
  await req.waitForFunction(() => /web2\.der/.test(document.getElementById('file-note').textContent));
  await req.click('#submit');
  await req.waitForSelector('#pending-msg');
  const href = await req.getAttribute('#status-link', 'href');
  const id = /#id=([0-9a-f]+)$/.exec(href)[1];
  await req.click('#status-link');
  await req.waitForSelector('#status-view:not([hidden]) #pending-msg');
  assert.equal((await req.textContent('[data-field="status"]')).trim(), 'pending');
  await shots(req, 'request-pending');

  const admin = S.adminPage;
  await admin.reload();            // sessionStorage keeps the session
  await admin.waitForSelector('#console:not([hidden])');
  const row = `#pending-rows tr[data-id="${id}"]`;
  await admin.waitForSelector(row);
  assert.match(await admin.textContent(row), /web2\.contoso\.test/);
  assert.match(await admin.textContent(row), /server(, \d+ days)?, EC P-256/, 'the row names the profile and the key');
  await admin.click(`${row} .approve`);
  await expectFlash(admin, 'ok', /Approved: certificate [0-9a-f]+ issued/);
  await admin.waitForSelector(row, { state: 'detached' });

  await req.click('#status-refresh');
  await req.waitForSelector('#status-box #issued-msg');
  const serial = (await req.textContent('#status-box [data-field="serial"]')).trim();
  const certPem = await download(req, '#downloads .dl-pem', 'web2.pem');
  const v = verify(certPem);
  assert.ok(v.ok, 'openssl verify: ' + v.out);
  // A fresh visit of the status link shows the certificate too.
  const req2 = await newPage(ctx);
  await req2.goto(S.pages + '/request#id=' + id);
  await req2.waitForSelector('#status-box #issued-msg');
  assert.equal((await req2.textContent('#status-box [data-field="serial"]')).trim(), serial);
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
  S.web2 = { serial, certPem };
});

test('a certificate revoked on /admin is in the CRL', async () => {
  assert.ok(S.web2, 'needs the certificate of the previous test');
  const admin = S.adminPage;
  await admin.fill('#cert-name', 'web2.' + DOMAIN);
  await admin.selectOption('#cert-status', 'valid');
  await admin.click('#cert-search');
  const row = `#cert-rows tr[data-serial="${S.web2.serial}"]`;
  // The name search finds exactly web2 (the table held every valid one).
  await admin.waitForFunction((sel) => document.querySelectorAll('#cert-rows tr').length === 1 &&
    document.querySelector(sel) !== null, row);

  // Cancelling the confirmation changes nothing.
  await admin.click(`${row} .revoke`);
  await admin.waitForSelector('#confirm[open]');
  await admin.click('#confirm-cancel');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  assert.equal((await apiAdmin('/api/v1/certificates/' + S.web2.serial)).status, 'valid');

  await admin.click(`${row} .revoke`);
  await admin.waitForSelector('#confirm[open]');
  await admin.selectOption('#confirm-reason', 'keyCompromise');
  await shots(admin, 'admin-revoke-dialog');
  await admin.click('#confirm-ok');
  await expectFlash(admin, 'ok', /Revoked web2\.contoso\.test \(keyCompromise\)/);
  await admin.waitForSelector(row, { state: 'detached' });
  await admin.selectOption('#cert-status', 'revoked');
  await admin.click('#cert-search');
  await admin.waitForSelector(row);
  assert.match(await admin.textContent(row), /revoked \(keyCompromise\)/);

  // The CRL served over plain HTTP names it; openssl then refuses the
  // certificate.
  const crl = await curl((STUB ? S.pages : S.http) + '/crl');
  assert.equal(crl.status, 200);
  const crlDer = path.join(S.tmp, 'crl.der');
  const crlPem = path.join(S.tmp, 'crl.pem');
  fs.writeFileSync(crlDer, crl.body);
  run('openssl', ['crl', '-inform', 'DER', '-in', crlDer, '-out', crlPem]);
  const text = run('openssl', ['crl', '-in', crlPem, '-noout', '-text', '-CAfile', S.rootPem]).toString();
  const listed = [...text.matchAll(/Serial Number: ([0-9A-Fa-f]+)/g)].map((m) => normSerial(m[1]));
  assert.ok(listed.includes(normSerial(S.web2.serial)), `serial ${S.web2.serial} not in the CRL:\n${text}`);
  assert.match(text, /Key Compromise/);
  const v = verify(S.web2.certPem, crlPem);
  assert.ok(!v.ok && /revoked/.test(v.out), 'openssl verify -crl_check: ' + v.out);

  // Publish now: the CRL number moves on.
  const before = Number((await admin.textContent('[data-field="crl-number"]')).trim());
  await admin.click('#crl-publish');
  await expectFlash(admin, 'ok', /Published CRL number \d+/);
  await waitFor('a new CRL number', async () =>
    Number((await admin.textContent('[data-field="crl-number"]')).trim()) > before);
  assert.deepEqual(await cspViolations(admin), []);
});

test('keyCompromise on /admin warns that the key\'s other certificates go too, then names them', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  const admin = S.adminPage;
  // Two certificates of one key (kc1, kc2), issued at once with a
  // two-use enrollment token, as a server renewing with its old key does.
  const kc1 = makeCsr('kc1', 'kc1.' + DOMAIN);
  const kc2csr = path.join(S.tmp, 'kc2.csr');
  run('openssl', ['req', '-new', '-key', kc1.key, '-subj', '/CN=kc2.' + DOMAIN,
    '-addext', 'subjectAltName=DNS:kc2.' + DOMAIN, '-out', kc2csr]);
  const tbody = path.join(S.tmp, 'kc-token.json');
  fs.writeFileSync(tbody, JSON.stringify({ kind: 'enroll', uses: 2, comment: 'key twice' }));
  const tr = await curl(S.https + '/api/v1/tokens', ['-X', 'POST', '-H', 'Authorization: Bearer ' + S.admin,
    '-H', 'Content-Type: application/json', '--data-binary', '@' + tbody]);
  assert.equal(tr.status, 201, tr.body.toString());
  const tok = JSON.parse(tr.body.toString('utf8'));
  const serials = [];
  for (const csr of [kc1.csr, kc2csr]) {
    const body = path.join(S.tmp, 'kc-req.json');
    fs.writeFileSync(body, JSON.stringify({ csr: fs.readFileSync(csr, 'utf8') }));
    const r = await curl(S.https + '/api/v1/requests', ['-X', 'POST', '-H', 'Authorization: Bearer ' + tok.token,
      '-H', 'Content-Type: application/json', '--data-binary', '@' + body]);
    assert.equal(r.status, 201, r.body.toString());
    serials.push(JSON.parse(r.body.toString('utf8')).serial);
  }

  S.kcToken = tok.id;

  await admin.fill('#cert-name', 'kc1.' + DOMAIN);
  await admin.selectOption('#cert-status', 'valid');
  await admin.click('#cert-search');
  const row = `#cert-rows tr[data-serial="${serials[0]}"]`;
  await admin.waitForFunction((sel) => document.querySelectorAll('#cert-rows tr').length === 1 &&
    document.querySelector(sel) !== null, row);
  await admin.click(`${row} .revoke`);
  await admin.waitForSelector('#confirm[open]');
  // No warning for a reason that takes this certificate only; one, said
  // before anything is done, for keyCompromise.
  assert.equal(await admin.isHidden('#confirm-warning'), true);
  await admin.selectOption('#confirm-reason', 'keyCompromise');
  await admin.waitForSelector('#confirm-warning:not([hidden])');
  assert.match(await admin.textContent('#confirm-warning'),
    /every other certificate of this key too.*refused from then on/);
  await admin.selectOption('#confirm-reason', 'superseded');
  await admin.waitForSelector('#confirm-warning', { state: 'hidden' });
  await admin.selectOption('#confirm-reason', 'keyCompromise');
  await admin.waitForSelector('#confirm-warning:not([hidden])');
  await shots(admin, 'admin-revoke-keycompromise');
  await admin.click('#confirm-ok');
  // The message names the other certificate the revocation took.
  const other = serials[1].replace(/[^0-9a-f]/g, '');
  await expectFlash(admin, 'ok', new RegExp('Revoked kc1\\.contoso\\.test \\(keyCompromise\\) and, as certificates ' +
    'of the same key, 1 other: ' + other + ' \\(kc2\\.contoso\\.test\\)\\. The key is refused from now on'));
  assert.equal((await apiAdmin('/api/v1/certificates/' + serials[1])).status, 'revoked');
  // Cancelling a later dialog leaves no warning behind for another reason.
  await admin.selectOption('#cert-status', 'all');
  await admin.fill('#cert-name', '');
  await admin.click('#cert-search');
  await admin.waitForSelector('#cert-rows tr .revoke');
  await admin.click('#cert-rows tr .revoke');
  await admin.waitForSelector('#confirm[open]');
  assert.equal(await admin.isHidden('#confirm-warning'), true);
  await admin.click('#confirm-cancel');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  assert.deepEqual(await cspViolations(admin), []);
});

test('the admin console lists the usable tokens a page at a time, all of them when asked', async () => {
  assert.ok(S.adminPage && S.kcToken, 'needs the signed-in admin page and the used-up token of the previous test');
  const admin = S.adminPage;
  const used = `#token-rows tr:has(code[title="${S.kcToken}"])`;
  // One page of the usable ones: the console asks for no more.
  const asked = [];
  const seen = (r) => { if (r.url().includes('/api/v1/tokens')) asked.push(r.url()); };
  admin.on('request', seen);
  await admin.reload();
  await admin.waitForSelector('#console:not([hidden])');
  await admin.waitForSelector('#token-rows tr');
  admin.off('request', seen);
  assert.ok(asked.length > 0 && asked.every((u) => /[?&]status=active(&|$)/.test(u) && /[?&]limit=50(&|$)/.test(u)),
    'the console asks for a page of the active tokens: ' + asked.join(' '));
  assert.equal(await admin.locator(used).count(), 0, 'a used-up token is not listed as usable');
  assert.equal(await admin.isHidden('#tokens-more'), true, 'one page holds them');
  await admin.selectOption('#tok-show', 'all');
  await admin.waitForSelector(used);
  assert.match(await admin.textContent(used), /used_up/);
  await admin.selectOption('#tok-show', 'active');
  await admin.waitForSelector(used, { state: 'detached' });
  assert.deepEqual(await cspViolations(admin), []);
});

test('the admin console lists what a token issued, and gives a certificate with its chain as a .p7b', async () => {
  assert.ok(S.adminPage && S.web1Token && S.web1Serial, 'needs the admin page and the token and certificate of web1');
  const admin = S.adminPage;
  const id = S.web1Token.split('_')[1];
  await admin.selectOption('#tok-show', 'all');
  const tokRow = `#token-rows tr[data-id="${id}"]`;
  await admin.waitForSelector(tokRow);
  await admin.click(`${tokRow} button.certs`);
  await admin.waitForFunction((v) => document.getElementById('cert-token').value === v, id);
  await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 1);
  assert.equal(await admin.getAttribute('#cert-rows tr', 'data-serial'), S.web1Serial,
    'the one certificate the one-use token issued');
  assert.equal(await admin.evaluate(() => document.activeElement && document.activeElement.id), 'certs-title');
  // Its .p7b: the certificate and the root, as OpenSSL reads it.
  const p7 = await download(admin, `#cert-rows tr[data-serial="${S.web1Serial}"] button.p7b`, 'web1-admin.p7b');
  const certs = run('openssl', ['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs']).toString();
  assert.equal((certs.match(/BEGIN CERTIFICATE/g) || []).length, 2);
  assert.ok(certs.includes(fs.readFileSync(S.rootPem, 'utf8').trim()), 'the .p7b holds the root');
  assert.match(run('openssl', ['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs', '-noout']).toString(),
    /subject=CN ?= ?web1\./);
  // A whole token typed in the filter is taken out of the page, never sent.
  const sent = [];
  const seen = (r) => { if (r.url().includes('/api/v1/certificates')) sent.push(r.url()); };
  admin.on('request', seen);
  await admin.fill('#cert-token', S.web1Token);
  await admin.click('#cert-search');
  await expectFlash(admin, 'error', /not the token itself/);
  admin.off('request', seen);
  assert.deepEqual(sent, [], 'no listing was asked for with the token');
  assert.equal(await admin.inputValue('#cert-token'), '', 'the token is out of the field');
  await admin.selectOption('#cert-status', 'valid');
  await admin.click('#cert-search');
  await admin.selectOption('#tok-show', 'active');
  assert.deepEqual(await cspViolations(admin), []);
});

test('the admin console reads the audit trail back a page at a time', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  const admin = S.adminPage;
  // More entries than two pages: 55 tokens made and revoked at once (so
  // the usable token list is as it was).
  const made = await admin.evaluate(async () => {
    const h = { 'Authorization': 'Bearer ' + sessionStorage.getItem('mica.adminToken'),
      'Content-Type': 'application/json' };
    const ids = [];
    for (let i = 0; i < 55; i++) {
      const r = await fetch('/api/v1/tokens', { method: 'POST', headers: h,
        body: JSON.stringify({ kind: 'enroll', expires_in: 3600, comment: 'audit page ' + i }) });
      const id = (await r.json()).id;
      await fetch('/api/v1/tokens/' + id, { method: 'DELETE', headers: h });
      ids.push(id);
    }
    return ids;
  });
  assert.equal(made.length, 55);
  const total = (await apiAdmin('/api/v1/audit?limit=10000')).audit.length;
  assert.ok(total > 100, `${total} entries`);
  await admin.click('#audit-refresh');
  await admin.waitForFunction((id) => document.querySelector('#audit-rows tr:first-child').textContent.includes(id),
    made[54]);
  assert.equal(await admin.locator('#audit-rows tr').count(), 50);
  // Each "Show more" appends the page before, none twice, to the first.
  for (let n = 100; ; n += 50) {
    await admin.waitForSelector('#audit-more:not([hidden])');
    await admin.click('#audit-more');
    await admin.waitForFunction((k) => document.querySelectorAll('#audit-rows tr').length >= k, Math.min(n, total));
    if (n >= total)
      break;
  }
  await admin.waitForSelector('#audit-more', { state: 'hidden' });
  const ids = await admin.$$eval('#audit-rows tr', (trs) => trs.map((t) => Number(t.dataset.id)));
  assert.equal(ids.length, total);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first, each once');
  assert.equal(new Set(ids).size, total);
  // Refresh starts again from the newest page.
  await admin.click('#audit-refresh');
  await admin.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length === 50);
  assert.equal(await admin.isHidden('#audit-more'), false);
  // A double click fetches the next page once: one request, 100 rows.
  const pages = [];
  const onReq = (r) => { if (r.url().includes('/api/v1/audit?') && r.url().includes('before=')) pages.push(r.url()); };
  admin.on('request', onReq);
  await admin.dblclick('#audit-more');
  await admin.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length >= 100 &&
    !document.querySelector('#audit-more').disabled);
  admin.off('request', onReq);
  assert.equal(pages.length, 1, pages.join(' '));
  const ids2 = await admin.$$eval('#audit-rows tr', (trs) => trs.map((t) => Number(t.dataset.id)));
  assert.equal(ids2.length, 100);
  assert.equal(new Set(ids2).size, 100);
  assert.deepEqual(await cspViolations(admin), []);
});

test('a renewed certificate is marked renewed on /admin and is not what expires, until its renewal is revoked', async () => {
  assert.ok(S.web1Serial && S.adminPage, 'needs web1 and the signed-in admin page');
  const admin = S.adminPage;
  // Renew web1 with its own key and a fresh proof, as docs/API.md shows.
  const ch = await curl(S.https + '/api/v1/certificates/' + S.web1Serial + '/renew-challenge', ['-X', 'POST']);
  assert.equal(ch.status, 200, ch.body.toString());
  const challenge = JSON.parse(ch.body.toString('utf8')).challenge;
  const cnf = path.join(S.tmp, 'renew.cnf');
  fs.writeFileSync(cnf, '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n' +
    `[dn]\nCN = web1.${DOMAIN}\n[attrs]\nchallengePassword = ${challenge}\n`);
  const csr = path.join(S.tmp, 'web1-renew.csr');
  run('openssl', ['req', '-new', '-key', path.join(S.tmp, 'web1.key'), '-config', cnf, '-out', csr]);
  const body = path.join(S.tmp, 'web1-renew.json');
  fs.writeFileSync(body, JSON.stringify({ csr: fs.readFileSync(csr, 'utf8') }));
  const r = await curl(S.https + '/api/v1/certificates/' + S.web1Serial + '/renew',
    ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '@' + body]);
  assert.equal(r.status, 201, r.body.toString());
  const renewal = JSON.parse(r.body.toString('utf8')).serial;
  const old = `#cert-rows tr[data-serial="${S.web1Serial}"]`;
  const neu = `#cert-rows tr[data-serial="${renewal}"]`;

  await admin.fill('#cert-name', 'web1.' + DOMAIN);
  await admin.selectOption('#cert-status', 'valid');
  await admin.fill('#cert-expiring', '');
  await admin.click('#cert-search');
  await admin.waitForFunction(([o, n]) => document.querySelector(o) !== null &&
    document.querySelector(n) !== null, [old, neu]);
  assert.match(await admin.textContent(old), /renewed/);
  assert.doesNotMatch(await admin.textContent(neu), /renewed/);
  // What expires within 400 days: the renewal, not the certificate it renewed.
  // Typed with a leading zero, which a number field keeps and the API
  // refuses (one spelling per number): the page sends 400.
  await admin.fill('#cert-expiring', '0400');
  await admin.click('#cert-search');
  await admin.waitForFunction(([o, n]) => document.querySelector(o) === null &&
    document.querySelector(n) !== null, [old, neu]);
  // The renewal revoked: web1 is to renew again, and no longer marked.
  const rv = await curl(S.https + '/api/v1/certificates/' + renewal + '/revoke',
    ['-X', 'POST', '-H', 'Authorization: Bearer ' + S.admin,
      '-H', 'Content-Type: application/json', '--data-binary', '{"reason":"cessationOfOperation"}']);
  assert.equal(rv.status, 200, rv.body.toString());
  assert.equal((await apiAdmin('/api/v1/certificates/' + S.web1Serial)).renewed, false);
  await admin.click('#cert-search');
  await admin.waitForFunction(([o, n]) => document.querySelector(o) !== null &&
    document.querySelector(n) === null, [old, neu]);
  assert.doesNotMatch(await admin.textContent(old), /renewed/);
  await admin.fill('#cert-expiring', '');
  assert.deepEqual(await cspViolations(admin), []);
});

test('a certificate with under a day left says hours, not "in 0 days"', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  const admin = S.adminPage;
  // One day of validity, begun five minutes ago: some 23 hours left.
  const day = makeCsr('day1', 'day1.' + DOMAIN);
  const body = path.join(S.tmp, 'day1.json');
  fs.writeFileSync(body, JSON.stringify({ csr: day.pem, days: 1 }));
  const r = await curl(S.https + '/api/v1/requests', ['-X', 'POST', '-H', 'Authorization: Bearer ' + S.admin,
    '-H', 'Content-Type: application/json', '--data-binary', '@' + body]);
  assert.equal(r.status, 201, r.body.toString());
  const serial = JSON.parse(r.body.toString('utf8')).serial;
  const row = `#cert-rows tr[data-serial="${serial}"]`;
  await admin.fill('#cert-name', 'day1.' + DOMAIN);
  await admin.selectOption('#cert-status', 'valid');
  await admin.fill('#cert-expiring', '');
  await admin.click('#cert-search');
  await admin.waitForFunction((sel) => document.querySelector(sel) !== null, row);
  const text = await admin.textContent(row);
  assert.match(text, /in (2[0-3]|1?[0-9]) hours?/);
  assert.doesNotMatch(text, /0 days/);
  await admin.fill('#cert-name', '');
  assert.deepEqual(await cspViolations(admin), []);
});

test('a certificate on hold is revoked for good on /admin, and a revoked one raised to keyCompromise', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  const admin = S.adminPage;
  const hold = makeCsr('hold1', 'hold1.' + DOMAIN);
  const r = await apiSend('/api/v1/requests', { csr: hold.pem });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const serial = r.body.serial;
  const h = await apiSend('/api/v1/certificates/' + serial + '/revoke', { reason: 'certificateHold' });
  assert.equal(h.status, 200, JSON.stringify(h.body));
  const row = `#cert-rows tr[data-serial="${serial}"]`;
  await admin.fill('#cert-name', 'hold1.' + DOMAIN);
  await admin.selectOption('#cert-status', 'revoked');
  await admin.fill('#cert-expiring', '');
  await admin.click('#cert-search');
  await admin.waitForFunction((sel) => document.querySelector(sel) !== null, row);
  assert.ok(await admin.isVisible(`${row} .unrevoke`), 'the hold can be released');
  // The key found compromised while on hold: revoked for good from here,
  // as the API and 'mica revoke' allow, and not put on hold again.
  await admin.click(`${row} .revoke`);
  await admin.waitForSelector('#confirm[open]');
  assert.match(await admin.textContent('#confirm-title'), /for good/);
  assert.equal(await admin.isDisabled('#confirm-reason option[value="certificateHold"]'), true);
  await admin.selectOption('#confirm-reason', 'keyCompromise');
  await admin.click('#confirm-ok');
  await expectFlash(admin, 'ok', /Revoked hold1\.contoso\.test \(keyCompromise\)/);
  const c = await apiAdmin('/api/v1/certificates/' + serial);
  assert.equal(c.status, 'revoked');
  assert.equal(c.revocation_reason, 'keyCompromise');
  await admin.click('#cert-search');
  await admin.waitForFunction((sel) => {
    const tr = document.querySelector(sel);
    return tr !== null && /keyCompromise/.test(tr.textContent) && tr.querySelector('.revoke') === null &&
      tr.querySelector('.unrevoke') === null;
  }, row);

  // One revoked as superseded whose key is found compromised later: its
  // reason is raised from its row, its revocation date kept.
  const sup = makeCsr('sup1', 'sup1.' + DOMAIN);
  const r2 = await apiSend('/api/v1/requests', { csr: sup.pem });
  assert.equal(r2.status, 201, JSON.stringify(r2.body));
  const s2 = r2.body.serial;
  const v2 = await apiSend('/api/v1/certificates/' + s2 + '/revoke', { reason: 'superseded' });
  assert.equal(v2.status, 200, JSON.stringify(v2.body));
  const row2 = `#cert-rows tr[data-serial="${s2}"]`;
  await admin.fill('#cert-name', 'sup1.' + DOMAIN);
  await admin.click('#cert-search');
  await admin.waitForFunction((sel) => document.querySelector(sel) !== null, row2);
  await admin.click(`${row2} .raise`);
  await admin.waitForSelector('#confirm[open]');
  assert.equal(await admin.inputValue('#confirm-reason'), 'keyCompromise');
  assert.equal(await admin.isDisabled('#confirm-reason option[value="unspecified"]'), true);
  assert.equal(await admin.isDisabled('#confirm-reason option[value="certificateHold"]'), true);
  await admin.click('#confirm-ok');
  await expectFlash(admin, 'ok', /Raised sup1\.contoso\.test from superseded to keyCompromise/);
  const c2 = await apiAdmin('/api/v1/certificates/' + s2);
  assert.equal(c2.revocation_reason, 'keyCompromise');
  assert.equal(c2.revoked_at, v2.body.revoked_at, 'the revocation date is kept');
  await admin.click('#cert-search');
  await admin.waitForFunction((sel) => {
    const tr = document.querySelector(sel);
    return tr !== null && /keyCompromise/.test(tr.textContent) && tr.querySelector('.raise') === null;
  }, row2);
  await admin.fill('#cert-name', '');
  assert.deepEqual(await cspViolations(admin), []);
});

test('a subject containing <script> is shown as text and runs nothing', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  const ctx = await newContext();
  const req = await newPage(ctx);
  // openssl -subj takes '/' as a separator: escape the one in </script>.
  const { pem } = makeCsr('xss', 'xss.' + DOMAIN,
    '/CN=' + XSS_CN.replace('/', '\\/') + '/O=' + XSS_O);
  await req.goto(S.pages + '/request');
  await req.fill('#csr', pem);
  await req.click('#submit');
  await req.waitForSelector('#pending-msg');
  const id = /#id=([0-9a-f]+)$/.exec(await req.getAttribute('#status-link', 'href'))[1];
  await req.click('#status-link');
  await req.waitForSelector('#status-view:not([hidden]) #pending-msg');
  const apiSubject = (await apiAdmin('/api/v1/requests/' + id)).subject;
  assert.match(apiSubject, /<script/, 'the API keeps the subject as submitted');
  assert.equal((await req.textContent('[data-field="req_subject"]')).trim(), apiSubject);

  const admin = S.adminPage;
  await admin.click('#pending-refresh');
  const row = `#pending-rows tr[data-id="${id}"]`;
  await admin.waitForSelector(row);
  const cell = admin.locator(`${row} .subject`);
  assert.equal(await cell.textContent(), apiSubject, 'the subject is shown exactly, as text');
  assert.equal(await cell.evaluate((e) => e.children.length), 0, 'no element was made from the subject');
  assert.equal(await admin.locator('main img, main script, main iframe').count(), 0);

  // Deny it with a reason that is markup too; the audit trail and the
  // requester's status page show the reason as text.
  await admin.click(`${row} .deny`);
  await admin.waitForSelector('#confirm[open]');
  await admin.fill('#confirm-note', XSS_REASON);
  // Enter in the reason field denies, as Enter in a form does (it once
  // cancelled: Cancel was the dialog form's first submit button).
  await admin.press('#confirm-note', 'Enter');
  await expectFlash(admin, 'ok', /Denied/);
  await admin.click('#audit-refresh');
  await waitFor('the deny in the audit trail', async () =>
    (await admin.textContent('#audit-rows')).includes(XSS_REASON));
  assert.equal(await admin.locator('main img, main script, main iframe').count(), 0);
  await req.click('#status-refresh');
  await req.waitForSelector('#denied-msg');
  assert.equal((await req.textContent('[data-field="reason"]')).trim(), XSS_REASON);
  assert.equal(await req.locator('main img, main script').count(), 0);
  for (const p of [req, admin])
    assert.deepEqual(await cspViolations(p), [], 'nothing tried to run or load');
  assert.deepEqual(events.dialogs, [], 'no alert, confirm or prompt dialog opened');
  await ctx.close();
});

test('the admin page\'s SCEP button downloads an iPhone profile with the root and a one-use challenge', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  const admin = S.adminPage;
  const before = (await admin.locator('#token-rows tr').count());
  // No name: the page says so and asks nothing of the server.
  await admin.fill('#mc-name', '');
  await admin.click('#mc-download');
  await admin.waitForSelector('#flash.error:not([hidden])');
  // A name outside the CA's domains: the server's refusal, in the page.
  await admin.fill('#mc-name', 'iphone-x.elsewhere.test');
  await admin.click('#mc-download');
  await admin.waitForFunction(() => /Making the profile/.test(document.getElementById('flash').textContent));
  await admin.fill('#mc-name', 'iphone-anna.' + DOMAIN);
  await admin.selectOption('#mc-profile', 'client');
  await admin.selectOption('#mc-expires', '86400');
  await admin.locator('#devices').scrollIntoViewIfNeeded();
  const dl = await download(admin, '#mc-download', 'anna.mobileconfig');
  assert.ok(fs.statSync(dl).size > 500);
  const out = run('python3', ['-c', [
    'import plistlib, sys',
    'd = plistlib.load(open(sys.argv[1], "rb"))',
    'root, scep = d["PayloadContent"]',
    'assert d["PayloadType"] == "Configuration"',
    'assert root["PayloadType"] == "com.apple.security.root"',
    'assert root["PayloadContent"] == open(sys.argv[2], "rb").read(), "not the root"',
    'c = scep["PayloadContent"]',
    'assert scep["PayloadType"] == "com.apple.security.scep"',
    'assert c["Subject"] == [[["CN", sys.argv[3]]]], c["Subject"]',
    'assert c["URL"].endswith("/scep"), c["URL"]',
    'print(c["Challenge"])'].join('\n'), dl, S.rootDer, 'iphone-anna.' + DOMAIN]).toString().trim();
  assert.match(out, /^mica_[0-9a-f]+_[0-9a-f]+$/, 'the challenge is an enrollment token');
  // Its challenge is a stored (hashed) one-use token for that name.
  await admin.waitForFunction((n) => document.getElementById('token-rows').querySelectorAll('tr').length > n, before);
  assert.match(await admin.textContent('#token-rows'), /iphone-anna\.contoso\.test/);
  assert.ok(!run('sqlite3', [path.join(S.data, 'mica.db'), '.dump token']).toString().includes(out.split('_')[2]),
    'the token\'s secret is not in the store (only its hash)');
  await admin.evaluate(() => document.getElementById('devices').scrollIntoView());
  await admin.screenshot({ path: path.join(OUT, 'admin-scep-desktop.png') });
  assert.deepEqual(await cspViolations(admin), []);
  if (process.env.MICA_UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(SRCDIR, 'docs', 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(OUT, 'admin-scep-desktop.png'), path.join(dir, 'admin-scep.png'));
  }
});

test('an answer that comes after signing out is dropped, not shown to the next admin', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  await admin.waitForSelector('#token-rows tr');
  // The token is made while the admin signs out: its answer arrives late.
  let release;
  const held = new Promise((r) => { release = r; });
  await admin.route('**/api/v1/tokens', async (route) => {
    await held;
    await route.continue();
  });
  await admin.fill('#tok-comment', 'made while signing out');
  await admin.click('#tok-create');
  await admin.click('#signout');
  await admin.waitForSelector('#signin:not([hidden])');
  const after = [];
  admin.on('request', (r) => { if (r.url().includes('/api/v1/')) after.push(r.method() + ' ' + r.url()); });
  const answered = admin.waitForResponse((r) => r.url().endsWith('/api/v1/tokens') && r.request().method() === 'POST');
  // The token nobody saw is revoked with the credential it was made with.
  const revoked = admin.waitForResponse((r) => r.url().includes('/api/v1/tokens/') &&
    r.request().method() === 'DELETE', { timeout: 30000 });
  release();
  const made = await answered;
  assert.equal(made.status(), 201);
  const madeId = (await made.json()).id;
  assert.equal((await revoked).status(), 200, 'the late token is revoked');
  // Give the page's handlers their turn.
  await admin.evaluate(() => new Promise((r) => setTimeout(r, 500)));
  assert.equal(await admin.isHidden('#signin-msg'), true,
    'signing out is no refusal: ' + await admin.textContent('#signin-msg'));
  assert.deepEqual(after, [`DELETE ${S.pages}/api/v1/tokens/${madeId}`],
    'nothing more is asked but the late token\'s revocation');
  const listed = await apiAdmin('/api/v1/tokens?status=all&limit=1000');
  const late = listed.tokens.find((t) => t.id === madeId);
  assert.equal(late && late.revoked, true, 'the store has it revoked');
  assert.equal(await admin.inputValue('#token-value'), '', 'the late token is not put in the page');
  assert.equal(await admin.isHidden('#token-created'), true);
  // The next admin signs in to a console with nothing of it, and can act.
  await admin.unroute('**/api/v1/tokens');
  await admin.fill('#admin-token', S.admin);
  await admin.click('#signin-btn');
  await admin.waitForSelector('#console:not([hidden])');
  assert.equal(await admin.isHidden('#token-created'), true);
  assert.equal(await admin.isEnabled('#tok-create'), true, 'Create token works again');
  await ctx.close();
});

test('an iPhone profile made while signing out: its one-use challenge is revoked', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  await admin.waitForSelector('#token-rows tr');
  let release;
  const held = new Promise((r) => { release = r; });
  await admin.route('**/api/v1/scep/mobileconfig', async (route) => {
    await held;
    await route.continue();
  });
  await admin.fill('#mc-name', 'iphone-late.' + DOMAIN);
  await admin.click('#mc-download');
  await admin.click('#signout');
  await admin.waitForSelector('#signin:not([hidden])');
  const answered = admin.waitForResponse((r) => r.url().endsWith('/api/v1/scep/mobileconfig'));
  const revoked = admin.waitForResponse((r) => r.url().includes('/api/v1/tokens/') &&
    r.request().method() === 'DELETE', { timeout: 30000 });
  release();
  const made = await answered;
  assert.equal(made.status(), 200);
  const id = made.headers()['x-mica-token-id'];
  assert.match(id || '', /^[0-9a-f]+$/, 'the answer names the challenge\'s token');
  assert.equal((await revoked).status(), 200, 'the unseen challenge is revoked');
  assert.ok((await revoked).url().endsWith('/api/v1/tokens/' + id));
  const listed = await apiAdmin('/api/v1/tokens?status=all&limit=1000');
  const late = listed.tokens.find((t) => t.id === id);
  assert.equal(late && late.revoked, true, 'the store has it revoked');
  await admin.unroute('**/api/v1/scep/mobileconfig');
  await ctx.close();
});

test('row actions on /admin name their row and, done from the keyboard, leave focus in the list', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  // Three requests waiting, made without a token.
  const ids = [];
  for (const n of ['a11y1', 'a11y2', 'a11y3']) {
    const { csr } = makeCsr(n, n + '.' + DOMAIN);
    const r = await curl(S.https + '/api/v1/requests', ['-H', 'Content-Type: application/pkcs10',
      '--data-binary', '@' + csr]);
    assert.equal(r.status, 202, r.body.toString());
    ids.push(JSON.parse(r.body).id);
  }
  // Two tokens to revoke, the newer listed first.
  const toks = [];
  for (const c of ['a11y token A', 'a11y token B']) {
    const r = await curl(S.https + '/api/v1/tokens', ['-X', 'POST', '-H', 'Authorization: Bearer ' + S.admin,
      '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ kind: 'enroll', comment: c })]);
    assert.equal(r.status, 201, r.body.toString());
    toks.push(JSON.parse(r.body).id);
  }
  await adminSignIn(admin);
  const prow = (id) => `#pending-rows tr[data-id="${id}"]`;
  await admin.waitForSelector(prow(ids[2]));
  await admin.waitForSelector(`#token-rows tr[data-id="${toks[1]}"]`);

  // Every button of a row says which row it acts on: its action first (the
  // visible text), then the row's id or serial and names.
  const unnamed = await admin.evaluate(() => {
    const bad = [];
    for (const tb of ['pending-rows', 'cert-rows', 'token-rows', 'acme-account-rows']) {
      for (const tr of document.getElementById(tb).children) {
        const key = tr.dataset.id || tr.dataset.serial;
        const nm = tr.querySelector('.names') ? tr.querySelector('.names').textContent.split(', ')[0] : '';
        for (const b of tr.querySelectorAll('button')) {
          const l = b.getAttribute('aria-label') || '';
          const text = b.textContent.trim();
          if (!key || !l.startsWith(text + ' ') || !l.includes(key) ||
              (tb !== 'token-rows' && tb !== 'acme-account-rows' && !l.includes(nm)))
            bad.push(`${tb} ${key}: "${text}" named "${l}"`);
        }
      }
    }
    return bad;
  });
  assert.deepEqual(unnamed, []);
  assert.match(await admin.getAttribute(`${prow(ids[0])} .approve`, 'aria-label'),
    new RegExp(`^Approve request ${ids[0]} for a11y1\\.contoso\\.test$`));
  assert.match(await admin.getAttribute(`${prow(ids[0])} .deny`, 'aria-label'),
    new RegExp(`^Deny request ${ids[0]} for a11y1\\.contoso\\.test$`));
  assert.equal(await admin.getAttribute(`#token-rows tr[data-id="${toks[0]}"] .revoke`, 'aria-label'),
    `Revoke token ${toks[0]} (a11y token A)`);

  const focused = () => admin.evaluate(() => {
    const a = document.activeElement;
    const tr = a && a.closest('tr');
    return { id: a ? a.id : null, tag: a ? a.tagName : null, cls: a ? a.className : '',
      row: tr ? (tr.dataset.id || tr.dataset.serial) : null, label: a ? a.getAttribute('aria-label') : null };
  });
  const waitFocus = async (what, pred) => {
    await waitFor(what, async () => pred(await focused()), 15000).catch(async (e) => {
      throw new Error(`${e.message}; focus is on ${JSON.stringify(await focused())}`);
    });
  };

  // Approve the first with Enter: focus goes to Approve in the row that
  // took its place, and the outcome is in the live region.
  await admin.focus(`${prow(ids[0])} .approve`);
  await admin.keyboard.press('Enter');
  await admin.waitForSelector(prow(ids[0]), { state: 'detached' });
  await waitFocus('Approve of the next request', (f) => f.row === ids[1] && /\bapprove\b/.test(f.cls));
  assert.match(await admin.textContent('#live'), /Approved: certificate [0-9a-f]+ issued for a11y1\.contoso\.test/);
  assert.equal(await admin.getAttribute('#live', 'role'), 'status');

  // Deny the next from the keyboard too (Enter in the reason field denies):
  // Deny of the one after it.
  await admin.focus(`${prow(ids[1])} .deny`);
  await admin.keyboard.press('Enter');
  await admin.waitForSelector('#confirm[open]');
  await admin.keyboard.type('not ours');
  await admin.keyboard.press('Enter');
  await admin.waitForSelector(prow(ids[1]), { state: 'detached' });
  await waitFocus('Deny of the next request', (f) => f.row === ids[2] && /\bdeny\b/.test(f.cls));
  assert.match(await admin.textContent('#live'), /Denied the request for a11y2\.contoso\.test/);

  // Shift+Tab to its Approve; approving the last one waiting leaves the
  // list empty: focus on its message.
  assert.equal(await admin.locator('#pending-rows tr').count(), 1, 'only a11y3 waits');
  await admin.keyboard.press('Shift+Tab');
  assert.equal((await focused()).row, ids[2]);
  await admin.keyboard.press('Enter');
  await waitFocus('the empty pending list\'s message', (f) => f.id === 'pending-empty');
  assert.equal(await admin.isVisible('#pending-empty'), true);

  // Revoke a11y3, then a11y1, newest first, each from the keyboard.
  await admin.fill('#cert-name', 'a11y*');
  await admin.selectOption('#cert-status', 'valid');
  await admin.fill('#cert-expiring', '');
  await admin.click('#cert-search');
  await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 2);
  const serials = await admin.$$eval('#cert-rows tr', (trs) => trs.map((t) => t.dataset.serial));
  const l0 = await admin.getAttribute(`#cert-rows tr[data-serial="${serials[0]}"] .revoke`, 'aria-label');
  assert.equal(l0, `Revoke a11y3.${DOMAIN} (serial ${serials[0]})`);
  await admin.focus(`#cert-rows tr[data-serial="${serials[0]}"] .revoke`);
  await admin.keyboard.press('Enter');
  await admin.waitForSelector('#confirm[open]');
  await admin.focus('#confirm-ok');
  await admin.keyboard.press('Enter');
  await waitFocus('Revoke of the certificate now first', (f) => f.row === serials[1] && /\brevoke\b/.test(f.cls));
  assert.match(await admin.textContent('#live'), /Revoked a11y3\.contoso\.test \(unspecified\)/);
  await admin.keyboard.press('Enter');
  await admin.waitForSelector('#confirm[open]');
  await admin.focus('#confirm-ok');
  await admin.keyboard.press('Enter');
  await waitFocus('the empty certificate list\'s message', (f) => f.id === 'certs-empty');
  await admin.fill('#cert-name', '');

  // Revoke token B: focus on Revoke of token A, the row now in its place.
  const trow = (id) => `#token-rows tr[data-id="${id}"]`;
  await admin.focus(`${trow(toks[1])} .revoke`);
  await admin.keyboard.press('Enter');
  await admin.waitForSelector('#confirm[open]');
  await admin.focus('#confirm-ok');
  await admin.keyboard.press('Enter');
  await admin.waitForSelector(trow(toks[1]), { state: 'detached' });
  await waitFocus('Revoke of the next token', (f) => f.row === toks[0] && /\brevoke\b/.test(f.cls));
  assert.match(await admin.textContent('#live'), new RegExp(`Token ${toks[1]} revoked`));
  // Tidy up: token A revoked over the API.
  const d = await curl(S.https + '/api/v1/tokens/' + toks[0], ['-X', 'DELETE', '-H', 'Authorization: Bearer ' + S.admin]);
  assert.equal(d.status, 200);
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('the admin console, at desktop and phone widths', async () => {
  assert.ok(S.adminPage, 'needs the signed-in admin page');
  // One request waiting, so the screenshot shows the whole console.
  const ctx = await newContext();
  const req = await newPage(ctx);
  await req.goto(S.pages + '/request');
  await req.fill('#csr', makeCsr('intranet', 'intranet.' + DOMAIN).pem);
  await req.click('#submit');
  await req.waitForSelector('#pending-msg');
  await ctx.close();

  const admin = S.adminPage;
  await admin.reload();
  await admin.waitForSelector('#pending-rows tr');
  await admin.selectOption('#cert-status', 'all');
  await admin.fill('#cert-name', '');
  await admin.click('#cert-search');
  await admin.waitForSelector('#cert-rows tr .revoke');
  await admin.waitForSelector('#audit-rows tr');
  await admin.evaluate(() => window.scrollTo(0, 0));
  await shots(admin, 'admin');

  // A request for the longest name a CSR may carry (four labels of 63,
  // 253 characters): its row stays within the page at both widths, with
  // its buttons in reach (the table once grew to twice the window).
  const label = 'l'.repeat(63);
  const longName = [label, label, label, 'x'.repeat(60 - DOMAIN.length)].join('.') + '.' + DOMAIN;
  assert.equal(longName.length, 253);
  const long = makeCsr('longname', longName, '/CN=long name');
  const sent = await curl(S.https + '/api/v1/requests', ['-H', 'Content-Type: application/pkcs10',
    '--data-binary', '@' + long.csr]);
  assert.equal(sent.status, 202, sent.body);
  const longId = JSON.parse(sent.body).id;
  await admin.click('#pending-refresh');
  await admin.waitForSelector(`#pending-rows tr[data-id="${longId}"]`);
  for (const w of [1280, 390]) {
    await admin.setViewportSize({ width: w, height: 800 });
    const r = await admin.evaluate((id) => {
      const b = document.querySelector(`#pending-rows tr[data-id="${id}"] .deny`).getBoundingClientRect();
      return { overflow: document.documentElement.scrollWidth - window.innerWidth,
        deny: Math.round(b.right), width: document.getElementById('pending').getBoundingClientRect().right };
    }, longId);
    assert.ok(r.overflow <= 0 && r.deny <= r.width,
      `a 253-character name at ${w}px: the page scrolls sideways by ${r.overflow}px, Deny ends at ${r.deny} (card ${r.width})`);
  }
  await admin.setViewportSize({ width: 1280, height: 800 });

  // An ACME credential's HMAC key is shown once, in the page; a notice
  // and a half-filled form are there too.
  await admin.fill('#eab-names', 'signout.' + DOMAIN);
  await admin.click('#eab-create');
  await admin.waitForSelector('#eab-created:not([hidden])');
  assert.ok((await admin.inputValue('#eab-hmac')).length >= 40, 'the HMAC key is shown');
  await admin.fill('#tok-comment', 'typed, not sent');
  await admin.fill('#cert-name', 'web1.' + DOMAIN);

  // Signing out forgets the token, and leaves nothing the admin saw or
  // typed for the next one to sign in on this tab: the console as the
  // page came (every field at its default, every list, fact, count and
  // notice empty), whatever element a later change adds to it.
  await admin.click('#signout');
  await admin.waitForSelector('#signin:not([hidden])');
  assert.equal(await admin.evaluate(() => sessionStorage.getItem('mica.adminToken')), null);
  const left = await admin.evaluate(() => {
    const con = document.getElementById('console');
    const q = (sel) => Array.from(con.querySelectorAll(sel));
    return {
      fields: q('input, textarea').filter((f) => f.value !== f.defaultValue)
        .map((f) => f.id || f.name),
      selects: q('select').filter((f) => Array.from(f.options).some((o) => o.selected !== o.defaultSelected))
        .map((f) => f.id),
      rows: q('tbody').filter((t) => t.children.length > 0).map((t) => t.id),
      shown: q('.secret, .notice').filter((e) => !e.hidden).map((e) => e.id),
      facts: ['ca-facts', 'crl-facts'].filter((id) => document.getElementById(id).textContent.trim() !== ''),
      counts: q('.stat-n').map((e) => e.textContent).filter((t) => t !== '–'),
      title: document.title,
    };
  });
  assert.deepEqual(left, { fields: [], selects: [], rows: [], shown: [], facts: [], counts: [],
    title: 'Administration - mica' });
  await S.adminCtx.close();

  if (process.env.MICA_UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(SRCDIR, 'docs', 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(OUT, 'index-desktop.png'), path.join(dir, 'index.png'));
    fs.copyFileSync(path.join(OUT, 'admin-desktop.png'), path.join(dir, 'admin.png'));
  }
});

test('the admin console shows ACME accounts and orders a page at a time, "Show more" fetching each once', async () => {
  // 120 accounts and 70 orders straight into the store: more than two
  // pages of accounts and one of orders, with no ACME client to run.
  const db = path.join(S.data, 'mica.db');
  run('sqlite3', ['-cmd', '.timeout 30000', db,
    'WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 120) ' +
    "INSERT INTO acme_account (id, thumbprint, jwk, contact, created_at) SELECT printf('e%03x', i), " +
    "randomblob(32), '{}', 'mailto:acme' || i || '@contoso.test', strftime('%s', 'now') FROM seq; " +
    'WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 70) ' +
    "INSERT INTO acme_order (id, account_id, names, profile, expires, created_at, updated_at) " +
    "SELECT printf('f%03x', i), 'e001', 'o' || i || '.contoso.test', 'server', strftime('%s', 'now') + 86400, " +
    "strftime('%s', 'now'), strftime('%s', 'now') FROM seq;"]);
  const allAccounts = (await apiAdmin('/api/v1/acme/accounts?limit=10000')).accounts.map((a) => a.id);
  const allOrders = (await apiAdmin('/api/v1/acme/orders?limit=10000')).orders.map((o) => o.id);
  assert.ok(allAccounts.length >= 120 && allOrders.length >= 70);

  const ctx = await newContext();
  const admin = await newPage(ctx);
  const asked = [];
  admin.on('request', (r) => { if (r.url().includes('/api/v1/acme/')) asked.push(r.url()); });
  await adminSignIn(admin);
  const count = (tb) => admin.locator(`#${tb} tr`).count();
  await admin.waitForFunction(() => document.querySelectorAll('#acme-account-rows tr').length === 50 &&
    document.querySelectorAll('#acme-order-rows tr').length === 50);
  assert.equal(await admin.isHidden('#acme-accounts-more'), false);
  assert.equal(await admin.isHidden('#acme-orders-more'), false);
  assert.equal(await admin.getAttribute('#acme-accounts-more', 'aria-label'), 'Show more ACME accounts');

  // A double click fetches the next page once: one request, 100 rows.
  asked.length = 0;
  await admin.dblclick('#acme-accounts-more');
  await admin.waitForFunction(() => document.querySelectorAll('#acme-account-rows tr').length >= 100 &&
    !document.querySelector('#acme-accounts-more').disabled);
  const pages = asked.filter((u) => /\/acme\/accounts\?.*cursor=/.test(u));
  assert.equal(pages.length, 1, pages.join(' '));
  assert.equal(await count('acme-account-rows'), 100);
  // To the end: every account once, in the API's order, and no more button.
  for (let i = 0; i < 10 && !(await admin.isHidden('#acme-accounts-more')); i++) {
    const before = await count('acme-account-rows');
    await admin.click('#acme-accounts-more');
    await admin.waitForFunction((n) => document.querySelectorAll('#acme-account-rows tr').length > n, before);
  }
  await admin.waitForSelector('#acme-accounts-more', { state: 'hidden' });
  assert.deepEqual(await admin.$$eval('#acme-account-rows tr', (trs) => trs.map((t) => t.dataset.id)), allAccounts);
  // The orders likewise.
  await admin.dblclick('#acme-orders-more');
  await admin.waitForFunction((n) => document.querySelectorAll('#acme-order-rows tr').length === n, allOrders.length);
  await admin.waitForSelector('#acme-orders-more', { state: 'hidden' });
  assert.equal(asked.filter((u) => /\/acme\/orders\?.*cursor=/.test(u)).length, 1);
  assert.deepEqual(await admin.$$eval('#acme-order-rows tr', (trs) => trs.map((t) => t.dataset.id)), allOrders);

  // Each Deactivate names its account; done from the keyboard, focus goes
  // to Deactivate of the account now in its place.
  const rowOf = (id) => `#acme-account-rows tr[data-id="${id}"]`;
  const first = allAccounts[0];
  assert.equal(await admin.getAttribute(`${rowOf(first)} .deactivate`, 'aria-label'),
    `Deactivate ACME account ${first} (mailto:acme${parseInt(first.slice(1), 16)}@contoso.test)`);
  await admin.focus(`${rowOf(first)} .deactivate`);
  await admin.keyboard.press('Enter');
  await admin.waitForSelector('#confirm[open]');
  await admin.focus('#confirm-ok');
  await admin.keyboard.press('Enter');
  await expectFlash(admin, 'ok', new RegExp(`ACME account ${first} deactivated`));
  await waitFor('focus on the next account\'s Deactivate', () => admin.evaluate((id) => {
    const a = document.activeElement;
    return a && a.classList.contains('deactivate') && a.closest('tr').dataset.id === id;
  }, allAccounts[1]), 15000);
  // The list started again from its first page.
  assert.equal(await count('acme-account-rows'), 50);
  assert.match(await admin.textContent(rowOf(first)), /deactivated/);
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin: "Show more" goes on with the listing searched, not with the filter as typed since', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  // 55 certificates named more-N, more than a page: one CSR, the names
  // given by the admin.
  const { pem } = makeCsr('more', 'more-0.' + DOMAIN);
  const made = await admin.evaluate(async ([csr, domain]) => {
    const h = { 'Authorization': 'Bearer ' + sessionStorage.getItem('mica.adminToken'),
      'Content-Type': 'application/json' };
    let n = 0;
    for (let i = 1; i <= 55; i++) {
      const r = await fetch('/api/v1/requests', { method: 'POST', headers: h,
        body: JSON.stringify({ csr, names: [`more-${i}.${domain}`] }) });
      n += r.status === 201 ? 1 : 0;
    }
    return n;
  }, [pem, DOMAIN]);
  assert.equal(made, 55);
  await admin.fill('#cert-name', 'more-*');
  await admin.selectOption('#cert-status', 'valid');
  await admin.click('#cert-search');
  await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 50);
  await admin.waitForSelector('#certs-more:not([hidden])');

  // Another name typed but not searched: "Show more" goes on with more-*.
  const asked = [];
  const seen = (r) => { if (r.url().includes('/api/v1/certificates?')) asked.push(r.url()); };
  admin.on('request', seen);
  await admin.fill('#cert-name', 'web1.' + DOMAIN);
  await admin.click('#certs-more');
  await admin.waitForSelector('#certs-more', { state: 'hidden' });
  admin.off('request', seen);
  assert.ok(asked.length > 0 && asked.every((u) => new URL(u).searchParams.get('name') === 'more-*'),
    'every page asked for is of the listing searched: ' + asked.join(' '));
  const names = await admin.$$eval('#cert-rows tr', (trs) => trs.map((t) => t.querySelector('.names').textContent));
  assert.equal(names.length, 55);
  assert.deepEqual(names.filter((n) => !/^more-\d+\.contoso\.test$/.test(n)), [], 'only the names searched');
  assert.equal(new Set(names).size, 55, 'each once');

  // A search the server refuses (no token of that id) empties the list:
  // nothing of the last one stays under the new filter.
  await admin.fill('#cert-name', '');
  await admin.fill('#cert-token', 'ffffffffffffffff');
  await admin.click('#cert-search');
  await expectFlash(admin, 'error', /token_not_found/);
  await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 0);
  assert.equal(await admin.isHidden('#certs-more'), true);
  assert.equal(await admin.isVisible('#certs-empty'), true);
  assert.match(await admin.textContent('#certs-empty'), /refused/);
  // One that succeeds then clears the message, in the live region too.
  await admin.fill('#cert-token', '');
  await admin.fill('#cert-name', 'more-7.' + DOMAIN);
  await admin.click('#cert-search');
  await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 1);
  await admin.waitForSelector('#flash', { state: 'hidden' });
  assert.doesNotMatch(await admin.textContent('#live'), /token_not_found/);
  assert.equal((await admin.textContent('#certs-empty')).trim(), 'No certificate matches.');

  // E-mail names mica issues go to the server as typed, which decides;
  // what no name holds is refused in the page and asked of nobody.
  const sent = [];
  const out = (r) => { if (r.url().includes('/api/v1/certificates?')) sent.push(new URL(r.url()).searchParams.get('name')); };
  admin.on('request', out);
  for (const nm of [`alice+tag@${DOMAIN}`, `o'brien@${DOMAIN}`, 'alice+*']) {
    await admin.fill('#cert-name', nm);
    await admin.click('#cert-search');
    await waitFor(`the search for ${nm}`, () => sent.includes(nm), 15000);
    await admin.waitForTimeout(100);
    assert.doesNotMatch(await admin.textContent('#flash'), /A name filter/, nm);
  }
  sent.length = 0;
  for (const nm of ['a b', 'x<y', 'a"b', 'back\\slash', 'tick`s', 'x>y']) {
    await admin.fill('#cert-name', nm);
    await admin.click('#cert-search');
    await expectFlash(admin, 'error', /A name filter/);
    await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 0);
  }
  admin.off('request', out);
  assert.deepEqual(sent, [], 'no refused filter was sent');
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin: a search begun hides "Show more" at once; a deny cancelled under way touches no other dialog', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  await admin.fill('#cert-name', 'more-*');
  await admin.selectOption('#cert-status', 'valid');
  await admin.click('#cert-search');
  await admin.waitForFunction(() => document.querySelectorAll('#cert-rows tr').length === 50);
  await admin.waitForSelector('#certs-more:not([hidden])');
  // The next first page held until released: meanwhile the last
  // listing's "Show more" is gone, so its cursor is never sent with the
  // new filter, and the rows that come are the new search's alone.
  let release;
  const held = new Promise((r) => { release = r; });
  const asked = [];
  await admin.route('**/api/v1/certificates?*', async (route) => {
    asked.push(new URL(route.request().url()).searchParams);
    await held;
    await route.continue();
  });
  await admin.fill('#cert-name', 'more-4*');
  await admin.click('#cert-search');
  assert.equal(await admin.isHidden('#certs-more'), true, '"Show more" hidden while the search runs');
  release();
  await admin.waitForFunction(() => [...document.querySelectorAll('#cert-rows tr')]
    .every((t) => /^more-4/.test(t.querySelector('.names').textContent)) &&
    document.querySelectorAll('#cert-rows tr').length > 0);
  const names = await admin.$$eval('#cert-rows tr', (trs) => trs.map((t) => t.querySelector('.names').textContent));
  assert.equal(new Set(names).size, names.length, 'no row twice: ' + names.join(' '));
  assert.ok(asked.every((p) => !(p.get('name') === 'more-4*' && p.has('cursor'))),
    'the new filter never went with a cursor of the old listing');
  await admin.unroute('**/api/v1/certificates?*');

  // A deny held, then its dialog cancelled; another request's dialog
  // opened meanwhile stays open with what is typed in it when the first
  // answer comes - and a refused one's error goes to the message line,
  // not into that other dialog.
  const a = await pendingRequest('heldok', 'heldok.' + DOMAIN);
  const b = await pendingRequest('heldother', 'heldother.' + DOMAIN);
  const c = await pendingRequest('heldbad', 'heldbad.' + DOMAIN);
  await admin.click('#pending-refresh');
  const prow = (id) => `#pending-rows tr[data-id="${id}"]`;
  await admin.waitForSelector(prow(c));
  let go;
  let gate = new Promise((r) => { go = r; });
  let denies = 0;
  await admin.route('**/deny', async (route) => { denies++; await gate; await route.continue(); });
  await admin.click(`${prow(a)} .deny`);
  await admin.fill('#confirm-note', 'fine');
  await admin.press('#confirm-note', 'Enter');
  await waitFor('the deny sent', () => denies === 1, 15000);
  await admin.click('#confirm-cancel');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  await admin.click(`${prow(b)} .deny`);
  await admin.waitForSelector('#confirm[open]');
  await admin.fill('#confirm-note', 'typing for b');
  go();
  await admin.waitForSelector(prow(a), { state: 'detached' });
  assert.equal((await apiAdmin('/api/v1/requests/' + a)).status, 'denied');
  assert.equal(await admin.evaluate(() => document.getElementById('confirm').open), true,
    "the other request's dialog stays open");
  assert.equal(await admin.inputValue('#confirm-note'), 'typing for b');
  await admin.click('#confirm-cancel');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  gate = new Promise((r) => { go = r; });
  await admin.click(`${prow(c)} .deny`);
  await admin.fill('#confirm-note', 'bad\u200breason');
  await admin.press('#confirm-note', 'Enter');
  await waitFor('the refused deny sent', () => denies === 2, 15000);
  await admin.keyboard.press('Escape');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  await admin.click(`${prow(b)} .deny`);
  await admin.waitForSelector('#confirm[open]');
  go();
  await expectFlash(admin, 'error', /bad_text/);
  assert.equal(await admin.isHidden('#confirm-error'), true, "no other request's refusal in this dialog");
  assert.equal(await admin.evaluate(() => document.getElementById('confirm').open), true);
  await admin.click('#confirm-cancel');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  await admin.unroute('**/deny');
  assert.equal((await apiAdmin('/api/v1/requests/' + b)).status, 'pending');
  assert.equal((await apiAdmin('/api/v1/requests/' + c)).status, 'pending');
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin: tokens and the audit trail go on with the listing shown; a new one drops the last one\'s "Show more" and late answers', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  // More tokens than a page when all are shown: revoked ones, so the
  // usable list stays one page.
  await admin.evaluate(async () => {
    const h = { 'Authorization': 'Bearer ' + sessionStorage.getItem('mica.adminToken'),
      'Content-Type': 'application/json' };
    const all = await (await fetch('/api/v1/tokens?status=all&limit=1000', { headers: h })).json();
    for (let i = all.tokens.length; i < 55; i++) {
      const r = await fetch('/api/v1/tokens', { method: 'POST', headers: h,
        body: JSON.stringify({ kind: 'enroll', expires_in: 3600, comment: 'pager ' + i }) });
      await fetch('/api/v1/tokens/' + (await r.json()).id, { method: 'DELETE', headers: h });
    }
  });
  const active = (await apiAdmin('/api/v1/tokens?status=active&limit=1000')).tokens.map((t) => t.id);
  assert.ok(active.length > 0 && active.length < 50, `${active.length} usable tokens: one page`);
  await admin.selectOption('#tok-show', 'all');
  await admin.waitForFunction(() => document.querySelectorAll('#token-rows tr').length === 50);
  await admin.waitForSelector('#tokens-more:not([hidden])');
  await traceFetches(admin);

  // Back to the usable ones, their first page held: meanwhile the "all"
  // listing's "Show more" is gone, and with it its cursor - even a click
  // that reaches the hidden button (a script's) asks for nothing, where
  // it used to ask for the usable tokens after the "all" listing's place
  // and append them.
  let release;
  const held = new Promise((r) => { release = r; });
  const asked = [];
  await admin.route('**/api/v1/tokens?*', async (route) => {
    asked.push(new URL(route.request().url()).searchParams);
    await held;
    await route.continue();
  });
  await admin.selectOption('#tok-show', 'active');
  await waitFor('the usable tokens asked for', () => asked.length === 1, 15000);
  assert.equal(asked[0].get('status'), 'active');
  assert.equal(asked[0].has('cursor'), false);
  assert.equal(await admin.isHidden('#tokens-more'), true, '"Show more" hidden while the new listing loads');
  const sent = await admin.evaluate(() => {
    const n = window.__fetches.length;
    document.getElementById('tokens-more').click();
    return window.__fetches.slice(n).map((f) => f.url);
  });
  assert.deepEqual(sent, [], 'no page of the last listing asked for');
  release();
  await admin.waitForFunction((n) => document.querySelectorAll('#token-rows tr').length === n, active.length);
  assert.equal(await admin.isHidden('#tokens-more'), true);
  assert.deepEqual((await admin.$$eval('#token-rows tr', (trs) => trs.map((t) => t.dataset.id))).sort(),
    [...active].sort(), 'the usable tokens, each once, nothing of the "all" listing');
  assert.ok(asked.every((p) => !(p.get('status') === 'active' && p.has('cursor'))),
    'the usable listing never went with a cursor: ' + asked.map(String).join(' '));
  assert.match(await admin.textContent('#tokens-empty'), /No usable token/);
  await admin.unroute('**/api/v1/tokens?*');

  // The audit trail: a refresh held, then another; the first one's
  // answer, a failure, comes last and is dropped - no error for a
  // listing no longer shown, which the second one's rows replaced.
  await admin.click('#audit-refresh');
  await admin.waitForSelector('#audit-more:not([hidden])');
  let fail1;
  const gate = new Promise((r) => { fail1 = r; });
  let n = 0;
  await admin.route('**/api/v1/audit?*', async (route) => {
    if (++n === 1) {
      await gate;
      await route.abort();
    } else {
      await route.continue();
    }
  });
  const traced = await admin.evaluate(() => window.__fetches.length);
  await admin.click('#audit-refresh');
  await waitFor('the first refresh held', () => n === 1, 15000);
  assert.equal(await admin.isHidden('#audit-more'), true, '"Show more" hidden while the refresh runs');
  assert.deepEqual(await admin.evaluate(() => {
    const k = window.__fetches.length;
    document.getElementById('audit-more').click();
    return window.__fetches.slice(k).map((f) => f.url);
  }), [], 'no page after the last listing\'s cursor asked for');
  await admin.$$eval('#audit-rows tr', (trs) => trs.forEach((t) => { t.dataset.old = '1'; }));
  await admin.click('#audit-refresh');
  await admin.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length === 50 &&
    !document.querySelector('#audit-rows tr[data-old]') &&
    !document.getElementById('audit-more').hidden);
  fail1();
  await admin.waitForFunction((k) => window.__fetches[k].settled, traced);
  assert.equal(await admin.isHidden('#flash'), true,
    'no error of the refresh overtaken: ' + await admin.textContent('#flash'));
  assert.equal(await admin.locator('#audit-rows tr').count(), 50);
  assert.equal(await admin.isHidden('#audit-more'), false, 'the listing shown goes on');
  await admin.unroute('**/api/v1/audit?*');
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin: a failed token or ACME credential leaves no earlier secret on screen; the API\'s warning is shown', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  await admin.waitForSelector('#token-rows tr');
  const ids = [];

  // Uses: what the API takes (up to 10^9), not a bound of the page's own.
  assert.equal(await admin.getAttribute('#tok-uses', 'max'), '1000000000');
  await admin.fill('#tok-names', 'uses.' + DOMAIN);
  await admin.fill('#tok-uses', '1000000');
  await admin.fill('#tok-comment', 'a million uses');
  await admin.click('#tok-create');
  await admin.waitForSelector('#token-created:not([hidden])');
  const first = await admin.inputValue('#token-value');
  ids.push(first.split('_')[1]);
  const listed = (await apiAdmin('/api/v1/tokens?status=all&limit=1000')).tokens.find((t) => t.id === ids[0]);
  assert.equal(listed.uses_left, 1000000);
  assert.equal(await admin.isHidden('#token-warning'), true, 'no warning for a name in the domains');

  // Refused (a bidirectional override in the comment: bad_text): the
  // token shown before is gone, not offered as the new one.
  await admin.fill('#tok-comment', 'evil\u202etxt');
  await admin.click('#tok-create');
  await expectFlash(admin, 'error', /Creating the token.*bad_text/);
  assert.equal(await admin.isHidden('#token-created'), true);
  assert.equal(await admin.inputValue('#token-value'), '');

  // A name outside the CA's domains: made, with the API's warning, and
  // the refusal's message gone.
  await admin.fill('#tok-comment', 'elsewhere');
  await admin.fill('#tok-names', 'www.elsewhere.test');
  await admin.click('#tok-create');
  await admin.waitForSelector('#token-created:not([hidden])');
  await admin.waitForSelector('#token-warning:not([hidden])');
  assert.match(await admin.textContent('#token-warning'),
    /www\.elsewhere\.test is not under any of the CA's allowed domains/);
  assert.notEqual(await admin.inputValue('#token-value'), first);
  ids.push((await admin.inputValue('#token-value')).split('_')[1]);
  assert.ok(await admin.isHidden('#flash') || !/bad_text/.test(await admin.textContent('#flash')),
    'the refusal\'s message went with the next creation');
  // The next creation starts without the last one's warning.
  await admin.fill('#tok-names', 'plain.' + DOMAIN);
  await admin.click('#tok-create');
  await admin.waitForFunction((old) => document.getElementById('token-value').value !== '' &&
    !document.getElementById('token-value').value.includes(old), ids[1]);
  ids.push((await admin.inputValue('#token-value')).split('_')[1]);
  assert.equal(await admin.isHidden('#token-warning'), true);

  // The ACME credential alike.
  await admin.fill('#eab-names', 'acme.' + DOMAIN);
  await admin.click('#eab-create');
  await admin.waitForSelector('#eab-created:not([hidden])');
  ids.push(await admin.inputValue('#eab-kid'));
  assert.equal(await admin.isHidden('#eab-warning'), true);
  await admin.fill('#eab-comment', 'evil\u202etxt');
  await admin.click('#eab-create');
  await expectFlash(admin, 'error', /Creating the ACME credential.*bad_text/);
  assert.equal(await admin.isHidden('#eab-created'), true);
  assert.equal(await admin.inputValue('#eab-hmac'), '');
  assert.equal(await admin.inputValue('#eab-kid'), '');
  await admin.fill('#eab-comment', 'elsewhere');
  await admin.fill('#eab-names', 'acme.elsewhere.test');
  await admin.click('#eab-create');
  await admin.waitForSelector('#eab-created:not([hidden])');
  await admin.waitForSelector('#eab-warning:not([hidden])');
  assert.match(await admin.textContent('#eab-warning'), /acme\.elsewhere\.test is not under any/);
  ids.push(await admin.inputValue('#eab-kid'));
  await shots(admin, 'admin-token-warning');
  await admin.locator('#acme').screenshot({ path: path.join(OUT, 'admin-eab-warning.png') });

  for (const id of ids) {
    const d = await curl(S.https + '/api/v1/tokens/' + id, ['-X', 'DELETE', '-H', 'Authorization: Bearer ' + S.admin]);
    assert.equal(d.status, 200, `revoking ${id}: ${d.body}`);
  }
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin: a request decided meanwhile reloads the list and counts; a refused deny reason stays in the dialog', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  const raced = await pendingRequest('race', 'race.' + DOMAIN);
  const denied = await pendingRequest('denyme', 'denyme.' + DOMAIN);
  await adminSignIn(admin);
  const prow = (id) => `#pending-rows tr[data-id="${id}"]`;
  await admin.waitForSelector(prow(raced));
  await admin.waitForSelector(prow(denied));
  await admin.waitForFunction(() => /^\d+$/.test(document.getElementById('stat-pending').textContent));
  const waiting = Number(await admin.textContent('#stat-pending'));

  // Another admin approves it first: the 409 is said, the row goes and
  // the counts follow, as after an approval here.
  const ap = await curl(S.https + '/api/v1/requests/' + raced + '/approve',
    ['-X', 'POST', '-H', 'Authorization: Bearer ' + S.admin]);
  assert.equal(ap.status, 200, ap.body.toString());
  await admin.click(`${prow(raced)} .approve`);
  await expectFlash(admin, 'error', /Approving: .*already_decided/);
  await admin.waitForSelector(prow(raced), { state: 'detached' });
  await waitFor('the pending count', async () =>
    Number(await admin.textContent('#stat-pending')) === waiting - 1, 15000);

  // A reason the server refuses (a zero-width space: bad_text): the
  // dialog stays, says why, and keeps what was typed.
  await admin.click(`${prow(denied)} .deny`);
  await admin.waitForSelector('#confirm[open]');
  await admin.fill('#confirm-note', 'not\u200bours');
  await admin.press('#confirm-note', 'Enter');
  await admin.waitForSelector('#confirm-error:not([hidden])');
  assert.match(await admin.textContent('#confirm-error'), /bad_text/);
  assert.equal(await admin.evaluate(() => document.getElementById('confirm').open), true);
  assert.equal(await admin.inputValue('#confirm-note'), 'not\u200bours');
  assert.equal((await apiAdmin('/api/v1/requests/' + denied)).status, 'pending');
  await admin.fill('#confirm-note', 'not ours');
  await admin.press('#confirm-note', 'Enter');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  await expectFlash(admin, 'ok', /Denied the request for denyme\.contoso\.test/);
  await admin.waitForSelector(prow(denied), { state: 'detached' });
  const r = await apiAdmin('/api/v1/requests/' + denied);
  assert.equal(r.status, 'denied');
  assert.equal(r.reason, 'not ours');
  // The next dialog starts clean.
  const next = await pendingRequest('denyme2', 'denyme2.' + DOMAIN);
  await admin.click('#pending-refresh');
  await admin.waitForSelector(prow(next));
  await admin.click(`${prow(next)} .deny`);
  await admin.waitForSelector('#confirm[open]');
  assert.equal(await admin.isHidden('#confirm-error'), true);
  assert.equal(await admin.inputValue('#confirm-note'), '');
  await admin.click('#confirm-cancel');
  await admin.waitForSelector('#confirm', { state: 'hidden' });
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin marks the token of this session; revoking it says that it ends the session, and does', async () => {
  // A second admin token, so that the suite's own stays.
  const made = await apiSend('/api/v1/tokens', { kind: 'admin', comment: 'second admin' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await admin.goto(S.pages + '/admin');
  await admin.waitForSelector('#signin:not([hidden])');
  await admin.fill('#admin-token', made.body.token);
  await admin.click('#signin-btn');
  await admin.waitForSelector('#console:not([hidden])');
  const row = `#token-rows tr[data-id="${made.body.id}"]`;
  await admin.waitForSelector(row);
  assert.match(await admin.textContent(row), /this session/);
  assert.deepEqual(await admin.$$eval('#token-rows tr', (trs, id) => trs.filter((t) => t.dataset.id !== id &&
    /this session/.test(t.textContent)).map((t) => t.dataset.id), made.body.id), [], 'no other row is marked');
  assert.match(await admin.getAttribute(`${row} .revoke`, 'aria-label'), /this session/);

  await admin.click(`${row} .revoke`);
  await admin.waitForSelector('#confirm[open]');
  await admin.waitForSelector('#confirm-warning:not([hidden])');
  assert.match(await admin.textContent('#confirm-warning'), /ends this session/);
  await admin.click('#confirm-ok');
  await admin.waitForSelector('#signin:not([hidden])');
  assert.match(await admin.textContent('#signin-msg'), /revoked the token this session/);
  assert.equal(await admin.evaluate(() => sessionStorage.getItem('mica.adminToken')), null);
  const t = (await apiAdmin('/api/v1/tokens?status=all&limit=1000')).tokens.find((x) => x.id === made.body.id);
  assert.equal(t.status, 'revoked');
  assert.deepEqual(await cspViolations(admin), []);
  await ctx.close();
});

test('/admin names the CRL\'s thisUpdate for what it is, not its publication', async () => {
  const ctx = await newContext();
  const admin = await newPage(ctx);
  await adminSignIn(admin);
  await admin.waitForSelector('#crl-facts dt');
  const st = await apiAdmin('/api/v1/status');
  assert.deepEqual(await admin.$$eval('#crl-facts dt', (l) => l.map((e) => e.textContent)),
    ['Number', 'Valid from', 'Next update', 'Served at']);
  assert.equal(await admin.textContent('[data-field="crl-this-update"]'),
    st.crl.this_update.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}).*$/, '$1 $2 UTC'));
  await ctx.close();
});

test('/request says a revoked certificate was revoked, and offers it for no install', async () => {
  const { pem } = makeCsr('gone', 'gone.' + DOMAIN);
  const r = await apiSend('/api/v1/requests', { csr: pem });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const ctx = await newContext();
  const req = await newPage(ctx);
  await req.goto(S.pages + '/request#id=' + r.body.id);
  await req.waitForSelector('#status-box #issued-msg');
  assert.equal((await req.textContent('#status-box [data-field="certificate_status"]')).trim(), 'valid');

  const rv = await apiSend(`/api/v1/certificates/${r.body.serial}/revoke`,
    { reason: 'superseded', invalidity_date: '2026-01-02T03:04:05Z' });
  assert.equal(rv.status, 200, JSON.stringify(rv.body));
  await req.click('#status-refresh');
  await req.waitForSelector('#status-box #revoked-msg');
  assert.match(await req.textContent('#revoked-msg'), /revoked/);
  assert.equal(await req.getAttribute('#revoked-msg', 'role'), 'alert', 'announced when found by "Check again"');
  assert.equal((await req.textContent('[data-field="invalidity_date"]')).trim(), '2026-01-02 03:04 UTC');
  assert.equal(await req.locator('#status-box #issued-msg').count(), 0, 'not "Certificate issued."');
  assert.equal(await req.locator('#status-box #downloads').count(), 0, 'nothing to install');
  assert.equal((await req.textContent('[data-field="revocation_reason"]')).trim(), 'superseded');
  assert.match((await req.textContent('[data-field="revoked_at"]')).trim(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  assert.equal((await req.textContent('[data-field="serial"]')).trim(), r.body.serial);
  await shots(req, 'request-revoked');
  // On hold: said so, and that the CA may release it - not "submit anew".
  const { pem: pem2 } = makeCsr('held', 'held.' + DOMAIN);
  const r2 = await apiSend('/api/v1/requests', { csr: pem2 });
  assert.equal(r2.status, 201, JSON.stringify(r2.body));
  assert.equal((await apiSend(`/api/v1/certificates/${r2.body.serial}/revoke`,
    { reason: 'certificateHold' })).status, 200);
  await req.goto(S.pages + '/request#id=' + r2.body.id);
  await req.waitForSelector('#status-box #revoked-msg');
  assert.match(await req.textContent('#revoked-msg'), /on hold.*until the CA releases it/);
  assert.doesNotMatch(await req.textContent('#revoked-msg'), /submit a new request/);
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
});

test('/request saves every download of a certificate under one name, cert-SERIAL', async () => {
  const name = 'saved.' + DOMAIN;
  const tok = await apiSend('/api/v1/tokens', { kind: 'enroll', profile: 'server', names: [name], uses: 1 });
  assert.equal(tok.status, 201);
  const ctx = await newContext();
  const req = await newPage(ctx);
  await req.goto(S.pages + '/request');
  await req.fill('#csr', makeCsr('saved', name).pem);
  await req.fill('#token', tok.body.token);
  await req.click('#submit');
  await req.waitForSelector('#result #issued-msg');
  const serial = (await req.textContent('#result [data-field="serial"]')).trim();
  // The .p7b too, which the server would name SERIAL.p7b.
  for (const [sel, ext] of [['.dl-crt', '.crt'], ['.dl-pem', '.pem'], ['.dl-chain', '-chain.pem'], ['.dl-p7b', '.p7b']]) {
    const [dl] = await Promise.all([req.waitForEvent('download'), req.click('#result #downloads ' + sel)]);
    assert.equal(dl.suggestedFilename(), `cert-${serial.slice(0, 16)}${ext}`, sel);
    if (ext === '.p7b') {
      const f = path.join(S.tmp, 'saved.p7b');
      await dl.saveAs(f);
      const certs = run('openssl', ['pkcs7', '-inform', 'DER', '-in', f, '-print_certs']).toString();
      assert.equal((certs.match(/BEGIN CERTIFICATE/g) || []).length, 2, 'the .p7b: the certificate and the root');
    }
  }
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
});

/** The next download in CTX, in whichever of its pages (a tab a link
 * opened too) it starts; rejects after MS. */
function nextDownload(ctx, ms = 15000) {
  let done;
  const pages = new Set();
  const got = new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('no download within ' + ms + ' ms')), ms);
    const onDownload = (d) => done(null, d);
    const watch = (p) => { pages.add(p); p.on('download', onDownload); };
    done = (err, d) => {
      clearTimeout(timer);
      ctx.off('page', watch);
      pages.forEach((p) => p.off('download', onDownload));
      if (err) reject(err); else resolve(d);
    };
    ctx.pages().forEach(watch);
    ctx.on('page', watch);
  });
  return got;
}

/** A certificate issued on /request in a new context: {ctx, req, serial}. */
async function issuedOnRequest(tag) {
  const name = tag + '.' + DOMAIN;
  const tok = await apiSend('/api/v1/tokens', { kind: 'enroll', profile: 'server', names: [name], uses: 1 });
  assert.equal(tok.status, 201);
  const ctx = await newContext();
  const req = await newPage(ctx);
  await req.goto(S.pages + '/request');
  await req.fill('#csr', makeCsr(tag, name).pem);
  await req.fill('#token', tok.body.token);
  await req.click('#submit');
  await req.waitForSelector('#result #issued-msg');
  const serial = (await req.textContent('#result [data-field="serial"]')).trim();
  return { ctx, req, serial };
}

test('/request: the .p7b is saved as cert-SERIAL.p7b however the link is used, and opens no tab', async () => {
  const { ctx, req, serial } = await issuedOnRequest('p7bways');
  const want = `cert-${serial.slice(0, 16)}.p7b`;
  const link = '#result #downloads .dl-p7b';
  const opened = [];
  ctx.on('page', (p) => opened.push(p));
  // A middle click, or one with a key that opens a tab or a window or
  // saves the link, would otherwise load the link itself: the server's
  // name, SERIAL.p7b.
  const ways = [
    ['a click', () => req.click(link)],
    ['a middle click', () => req.click(link, { button: 'middle' })],
    ['Ctrl+click', () => req.click(link, { modifiers: ['Control'] })],
    ['Shift+click', () => req.click(link, { modifiers: ['Shift'] })],
    ['Meta+click', () => req.click(link, { modifiers: ['Meta'] })],
    ['Alt+click', () => req.click(link, { modifiers: ['Alt'] })],
    ['Enter', async () => { await req.focus(link); await req.keyboard.press('Enter'); }],
  ];
  for (const [how, act] of ways) {
    const [dl] = await Promise.all([nextDownload(ctx), act()]);
    assert.equal(dl.suggestedFilename(), want, how);
    const f = path.join(S.tmp, 'ways.p7b');
    await dl.saveAs(f);
    const certs = run('openssl', ['pkcs7', '-inform', 'DER', '-in', f, '-print_certs']).toString();
    assert.equal((certs.match(/BEGIN CERTIFICATE/g) || []).length, 2, how + ': the certificate and the root');
  }
  assert.deepEqual(opened.map((p) => p.url()), [], 'no tab or window opened');
  // A right click still opens the browser's menu, which the page leaves
  // alone (its "Save link as" may give the server's name).
  const menu = await req.evaluate((sel) => {
    const a = document.querySelector(sel);
    return a.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, button: 2 }));
  }, link);
  assert.equal(menu, true, 'the context menu is not taken away');
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
});

test('/request: a .p7b that could not be fetched says so as an alert, and a later download clears it', async () => {
  const { ctx, req, serial } = await issuedOnRequest('p7bfail');
  const link = '#result #downloads .dl-p7b';
  let refuse = true;
  let gate = Promise.resolve();
  await req.route('**/certificate.p7b', async (route) => {
    await gate;
    if (refuse)
      await route.fulfill({ status: 503, contentType: 'application/json',
        body: JSON.stringify({ error: 'unavailable', message: 'try again later' }) });
    else
      await route.continue();
  });
  await req.click(link);
  await req.waitForSelector('#p7b-msg:not([hidden])');
  assert.match(await req.textContent('#p7b-msg'), /could not be fetched: try again later \(unavailable\)/);
  assert.equal(await req.getAttribute('#p7b-msg', 'role'), 'alert', 'a screen reader announces it');
  assert.match(await req.getAttribute('#p7b-msg', 'class'), /\berror\b/);
  // Tried again: the last error goes as the try starts (held here), and
  // a failure is then shown, and announced, anew.
  let release;
  gate = new Promise((r) => { release = r; });
  await req.click(link);
  assert.equal(await req.isHidden('#p7b-msg'), true, 'the last error goes while the next try runs');
  release();
  await req.waitForSelector('#p7b-msg:not([hidden])');
  assert.equal(await req.getAttribute('#p7b-msg', 'role'), 'alert');
  assert.equal(await req.locator('[id="p7b-msg"]').count(), 1, 'one note, not one per try');
  refuse = false;
  const [dl] = await Promise.all([nextDownload(ctx), req.click(link)]);
  assert.equal(dl.suggestedFilename(), `cert-${serial.slice(0, 16)}.p7b`);
  assert.equal(await req.isVisible('#p7b-msg'), false, 'the error of the last try is gone');
  await req.unroute('**/certificate.p7b');
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
});

test('/request: a result keeps its id in the URL, takes focus and says what was certified', async () => {
  const name = 'focus.' + DOMAIN;
  const tok = await apiSend('/api/v1/tokens', { kind: 'enroll', profile: 'server', names: [name], uses: 1 });
  assert.equal(tok.status, 201);
  const ctx = await newContext();
  const req = await newPage(ctx);
  await req.goto(S.pages + '/request');
  await req.fill('#csr', makeCsr('focus', name).pem);
  await req.fill('#token', tok.body.token);
  await req.click('#submit');
  await req.waitForSelector('#result #issued-msg');
  const headingFocused = () => req.evaluate(() => {
    const a = document.activeElement;
    return a && a.tagName === 'H2' && a.closest('#result:not([hidden]), #status-view:not([hidden])') !== null;
  });
  await waitFor('focus on the result\'s heading', headingFocused, 15000);
  await req.waitForSelector('#result [data-field="names"]');
  assert.equal((await req.textContent('#result [data-field="names"]')).trim(), name);
  assert.equal((await req.textContent('#result [data-field="profile"]')).trim(), 'server');
  const id = /#id=([0-9a-f]{32})$/.exec(req.url());
  assert.ok(id, 'the URL names the request: ' + req.url());
  const serial = (await req.textContent('#result [data-field="serial"]')).trim();
  // A reload shows the request's status, the certificate with it.
  await req.reload();
  await req.waitForSelector('#status-view:not([hidden]) #issued-msg');
  assert.equal((await req.textContent('#status-box [data-field="serial"]')).trim(), serial);
  assert.equal((await req.textContent('#status-box [data-field="id"]')).trim(), id[1]);

  // Without a token: pending, the same; its status link shows it too.
  await req.goto(S.pages + '/request');
  await req.waitForSelector('#req-form:not([hidden])');
  await req.fill('#csr', makeCsr('focus2', 'focus2.' + DOMAIN).pem);
  await req.click('#submit');
  await req.waitForSelector('#result #pending-msg');
  await waitFor('focus on the result\'s heading', headingFocused, 15000);
  const pid = /#id=([0-9a-f]{32})$/.exec(req.url());
  assert.ok(pid, 'the URL names the request: ' + req.url());
  await req.click('#status-link');
  await req.waitForSelector('#status-view:not([hidden]) #pending-msg');
  await req.reload();
  await req.waitForSelector('#status-view:not([hidden]) #pending-msg');
  assert.equal((await req.textContent('#status-box [data-field="id"]')).trim(), pid[1]);
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
});

test('/request sends the pasted CSR whatever file is chosen beside it; a large file alone is refused', async () => {
  const ctx = await newContext();
  const req = await newPage(ctx);
  const big = { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(70 * 1024, 0x41) };
  await req.goto(S.pages + '/request');
  await req.setInputFiles('#csr-file', big);
  await req.click('#submit');
  await req.waitForSelector('#form-msg.error:not([hidden])');
  assert.match(await req.textContent('#form-msg'), /too large/);
  await req.fill('#csr', makeCsr('bigfile', 'bigfile.' + DOMAIN).pem);
  await req.click('#submit');
  await req.waitForSelector('#result #pending-msg');
  assert.deepEqual(await cspViolations(req), []);
  await ctx.close();
});

test('/admin/ and /request/ move to the pages, the query and the fragment kept', async () => {
  for (const p of ['/admin', '/request']) {
    const r = await curl(S.pages + p + '/?x=1');
    assert.equal(r.status, 301, `${p}/: ${r.status} ${r.body}`);
    assert.equal(r.headers.location, p + '?x=1');
  }
  const id = await pendingRequest('slash', 'slash.' + DOMAIN);
  const ctx = await newContext();
  const page = await newPage(ctx);
  await page.goto(S.pages + '/request/#id=' + id);
  assert.equal(page.url(), S.pages + '/request#id=' + id);
  await page.waitForSelector('#status-view:not([hidden]) #pending-msg');
  await page.goto(S.pages + '/admin/');
  assert.equal(page.url(), S.pages + '/admin');
  await page.waitForSelector('#signin:not([hidden])');
  await ctx.close();
});

test('no page opened a dialog, threw, or logged an error', () => {
  assert.deepEqual(events.dialogs, []);
  assert.deepEqual(events.pageErrors, []);
  assert.deepEqual(events.consoleErrors, []);
});
