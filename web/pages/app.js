/*
 * mica web pages: helpers shared by every page, and the small enhancements
 * of the root certificate page (which works without JavaScript: the daemon
 * renders it).
 *
 * Rule for every script here: data that came from the network is put into
 * the page with textContent or as attribute values of elements made with
 * createElement, never with innerHTML. The Content-Security-Policy forbids
 * inline script, so this also keeps working if a value slips through.
 */
'use strict';

(function () {
  var mica = {};

  /* Make an element. ATTRS: plain attributes, except "class", "text"
   * (textContent) and "on<event>" (listeners). CHILDREN: nodes or strings
   * (strings become text nodes), null/undefined skipped. */
  mica.el = function (tag, attrs) {
    var e = document.createElement(tag);
    var k, i, c;
    attrs = attrs || {};
    for (k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null)
        continue;
      if (k === 'class')
        e.className = attrs[k];
      else if (k === 'text')
        e.textContent = String(attrs[k]);
      else if (k.slice(0, 2) === 'on' && typeof attrs[k] === 'function')
        e.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] === true)
        e.setAttribute(k, '');
      else if (attrs[k] !== false)
        e.setAttribute(k, String(attrs[k]));
    }
    for (i = 2; i < arguments.length; i++) {
      c = arguments[i];
      if (c == null)
        continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number'
        ? document.createTextNode(String(c)) : c);
    }
    return e;
  };

  /* Remove every child of NODE. */
  mica.clear = function (node) {
    while (node.firstChild)
      node.removeChild(node.firstChild);
    return node;
  };

  /* An error from the API or the network, with the API's code. */
  function ApiError(status, code, message) {
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);
  mica.ApiError = ApiError;

  /*
   * Call the JSON API. OPTS: method, body (object -> JSON, or a
   * string/ArrayBuffer/Blob sent as is with opts.type), type, token (Bearer).
   * Resolves to {status, data, headers}; rejects with an ApiError carrying
   * the API's {"error", "message"} or a network error. Same origin only;
   * no cookies are sent or accepted.
   */
  mica.api = function (path, opts) {
    opts = opts || {};
    var headers = { 'Accept': 'application/json' };
    var body;
    /* A token never crosses the network in clear: the daemon serves the
     * pages that take one over HTTPS only, and this holds even if a page
     * got here otherwise (loopback http:// counts as secure). */
    if (opts.token && !window.isSecureContext)
      return Promise.reject(new ApiError(0, 'https_required',
        'Tokens are sent over HTTPS only: open this page with https://.'));
    if (opts.token)
      headers['Authorization'] = 'Bearer ' + opts.token;
    if (opts.body !== undefined) {
      if (opts.type) {
        headers['Content-Type'] = opts.type;
        body = opts.body;
      } else {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
    }
    return fetch(path, {
      method: opts.method || (body !== undefined ? 'POST' : 'GET'),
      headers: headers,
      body: body,
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error'
    }).then(function (res) {
      /* opts.blob: a file to download (the body as a Blob when OK). */
      if (opts.blob && res.ok)
        return res.blob().then(function (b) {
          return { status: res.status, data: b, headers: res.headers };
        });
      return res.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = null;
        }
        if (!res.ok) {
          var code = data && typeof data.error === 'string' ? data.error : 'http_' + res.status;
          var msg = data && typeof data.message === 'string' ? data.message
            : 'the server answered ' + res.status + ' ' + res.statusText;
          throw new ApiError(res.status, code, msg);
        }
        return { status: res.status, data: data, headers: res.headers };
      });
    }, function () {
      throw new ApiError(0, 'network', 'the server could not be reached');
    });
  };

  /* "2026-11-24T17:30:00Z" -> "2026-11-24 17:30 UTC"; '' for null. */
  mica.fmtTime = function (iso) {
    if (typeof iso !== 'string' || iso === '')
      return '';
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
    return m ? m[1] + ' ' + m[2] + ' UTC' : iso;
  };

  /* Whole days from now until ISO (negative when past), or null. */
  mica.daysUntil = function (iso) {
    var t = Date.parse(iso);
    if (isNaN(t))
      return null;
    return Math.floor((t - Date.now()) / 86400000);
  };

  /* The DER bytes inside the first PEM block of TEXT, or null. */
  mica.pemToDer = function (text) {
    var m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/.exec(text || '');
    if (!m)
      return null;
    try {
      var bin = atob(m[1].replace(/\s+/g, ''));
      var out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++)
        out[i] = bin.charCodeAt(i);
      return out;
    } catch (e) {
      return null;
    }
  };

  /* Base64 of BYTES (Uint8Array). */
  mica.toBase64 = function (bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i += 0x8000)
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  };

  /* A download link for DATA (string or bytes) saved as NAME. */
  mica.downloadLink = function (label, name, data, type, cls) {
    var url = URL.createObjectURL(new Blob([data], { type: type }));
    return mica.el('a', { 'class': cls || 'btn', href: url, download: name }, label);
  };

  /* Copy TEXT to the clipboard; falls back to selecting INPUT (if given). */
  mica.copy = function (text, input, button) {
    function done(ok) {
      if (!button)
        return;
      var old = button.getAttribute('data-label') || button.textContent;
      button.setAttribute('data-label', old);
      button.textContent = ok ? 'Copied' : 'Press Ctrl+C to copy';
      setTimeout(function () { button.textContent = old; }, 2000);
    }
    if (input) {
      input.focus();
      input.select();
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); },
        function () { done(false); });
    } else {
      var ok = false;
      try {
        ok = document.execCommand('copy');
      } catch (e) {
        ok = false;
      }
      done(ok);
    }
  };

  /* Show TEXT as a message of KIND ('error', 'ok', 'info') in BOX,
   * replacing what it held. */
  mica.notice = function (box, kind, text) {
    mica.clear(box);
    box.className = 'notice ' + kind;
    box.hidden = false;
    box.appendChild(document.createTextNode(text));
    return box;
  };
  /* The text of an ApiError, an Error or anything else. */
  mica.errorText = function (err) {
    if (err && err.message)
      return err.message + (err.code && err.code !== 'network' ? ' (' + err.code + ')' : '');
    return String(err);
  };

  /* Append fingerprint FP ("AB:CD:...") to NODE in groups of eight bytes
   * that wrap as a whole on narrow screens (without JavaScript, the line
   * of the root page may break anywhere). */
  mica.fingerprint = function (node, fp) {
    var hex = String(fp || '').split(':');
    for (var i = 0; i < hex.length; i += 8) {
      if (i > 0)
        node.appendChild(mica.el('wbr'));
      node.appendChild(mica.el('span', { 'class': 'fp-group' },
        hex.slice(i, i + 8).join(':') + (i + 8 < hex.length ? ':' : '')));
    }
    return node;
  };

  window.mica = mica;

  /* ---- the root certificate page ---- */

  function enhanceIndex() {
    var fp = document.getElementById('fingerprint');
    if (fp && /^[0-9A-F]{2}(:[0-9A-F]{2})*$/i.test(fp.textContent.trim())) {
      var text = fp.textContent.trim();
      mica.fingerprint(mica.clear(fp), text);
      var btn = mica.el('button', { type: 'button', 'class': 'btn small', id: 'copy-fp' }, 'Copy');
      btn.addEventListener('click', function () {
        mica.copy(text, null, btn);
      });
      fp.parentNode.insertBefore(btn, fp.nextSibling);
    }
    /* Open the install steps of the platform this browser runs on. */
    var ua = navigator.userAgent || '';
    var id = /iPhone|iPad|iPod/.test(ua) ? 'os-ios'
      : /Android/.test(ua) ? 'os-android'
      : /Windows/.test(ua) ? 'os-windows'
      : /Macintosh|Mac OS X/.test(ua) ? (navigator.maxTouchPoints > 1 ? 'os-ios' : 'os-macos')
      : /Linux|X11|Firefox/.test(ua) ? 'os-linux' : null;
    var d = id ? document.getElementById(id) : null;
    if (d)
      d.open = true;
  }

  document.addEventListener('DOMContentLoaded', function () {
    if (document.body.getAttribute('data-page') === 'index')
      enhanceIndex();
  });
})();
