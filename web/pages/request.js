/*
 * mica web pages: /request - submit a CSR, show the certificate or the
 * pending request, and the status page of a request (/request#id=...).
 *
 * The request id is the capability to see a request, so it travels in the
 * fragment: browsers never send a fragment to a server, so it stays out of
 * access logs and Referer headers.
 */
'use strict';

(function () {
  var mica = window.mica;
  var el = mica.el;
  var ID_RE = /^[0-9a-f]{8,64}$/;
  var POLL_MS = 30000;
  var pollTimer = null;

  function $(id) {
    return document.getElementById(id);
  }

  /* A definition list from [label, value] pairs; empty values skipped. */
  function facts(pairs) {
    var dl = el('dl', { 'class': 'facts' });
    pairs.forEach(function (p) {
      if (p[1] == null || p[1] === '')
        return;
      dl.appendChild(el('dt', null, p[0]));
      dl.appendChild(el('dd', { 'data-field': p[2] || null }, String(p[1])));
    });
    return dl;
  }

  function namesText(names) {
    return Array.isArray(names) ? names.join(', ') : '';
  }

  /* Save BLOB as NAME, as a download link does. */
  function saveBlob(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = el('a', { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  /* A certificate R that was revoked or has expired since (the status's
   * certificate_status, docs/API.md), into BOX: what became of it, and
   * nothing to install. */
  function renderGone(box, r) {
    var revoked = r.certificate_status === 'revoked';
    // A hold may be released by the CA: said so, not "submit anew".
    var hold = revoked && r.revocation_reason === 'certificateHold';
    box.appendChild(el('div', { 'class': 'notice error', role: 'alert',
      id: revoked ? 'revoked-msg' : 'expired-msg' },
      hold ? 'The certificate issued for this request was put on hold on ' +
        mica.fmtTime(r.revoked_at) + ': clients that check revocation refuse it until the CA ' +
        'releases it. Ask the CA\'s administrator.'
        : revoked ? 'The certificate issued for this request was revoked on ' + mica.fmtTime(r.revoked_at) +
        ' (' + String(r.revocation_reason || 'unspecified') + '). Clients that check revocation refuse ' +
        'it: do not install it, submit a new request.'
        : 'The certificate issued for this request expired on ' + mica.fmtTime(r.not_after) +
        ': submit a new request.'));
    box.appendChild(facts([
      ['Serial', r.serial, 'serial'],
      ['Certificate', r.certificate_status, 'certificate_status'],
      ['Revoked', revoked ? mica.fmtTime(r.revoked_at) : null, 'revoked_at'],
      ['Reason', revoked ? r.revocation_reason : null, 'revocation_reason'],
      ['Invalid since', revoked && r.invalidity_date ? mica.fmtTime(r.invalidity_date) : null,
        'invalidity_date'],
      ['Valid from', mica.fmtTime(r.not_before), 'not_before'],
      ['Valid until', mica.fmtTime(r.not_after), 'not_after'],
      ['Names', namesText(r.names), 'names'],
      ['Profile', r.profile, 'profile']
    ]));
  }

  /* The issued certificate R (201 of POST /requests, or an issued request)
   * with its download links, into BOX; one revoked or expired since, as
   * renderGone says. */
  function renderIssued(box, r) {
    var pem = typeof r.certificate === 'string' ? r.certificate : '';
    var der = mica.pemToDer(pem);
    var chain = Array.isArray(r.chain) ? r.chain.filter(function (c) {
      return typeof c === 'string';
    }) : [];
    // One name for every download of a certificate: cert-SERIAL16 and
    // the kind's ending (the .p7b too, whatever name the server gives).
    var base = 'cert-' + String(r.serial || 'new').slice(0, 16);
    var links = el('p', { 'class': 'actions', id: 'downloads' });

    if (r.certificate_status === 'revoked' || r.certificate_status === 'expired') {
      renderGone(box, r);
      return;
    }
    if (der)
      links.appendChild(mica.downloadLink('Download .crt', base + '.crt', der,
        'application/pkix-cert', 'btn primary dl-crt'));
    links.appendChild(mica.downloadLink('Download .pem', base + '.pem', pem,
      'application/x-pem-file', 'btn dl-pem'));
    if (chain.length > 0) {
      var full = pem.replace(/\s*$/, '\n') + chain.map(function (c) {
        return c.replace(/\s*$/, '\n');
      }).join('');
      links.appendChild(mica.downloadLink('Download chain (.pem)', base + '-chain.pem',
        full, 'application/x-pem-file', 'btn dl-chain'));
    }
    /* Windows completes its request from a .p7b of the certificate and
     * its chain (certreq -accept, IIS, Exchange): the daemon makes it,
     * for whoever has the request's id, as this page does. */
    if (typeof r.id === 'string' && /^[0-9a-f]{1,64}$/.test(r.id)) {
      // Fetched and saved here: a link would save it under the server's
      // Content-Disposition name (SERIAL.p7b), which a download
      // attribute does not override. So is a middle click (auxclick),
      // and a click with a key held (a new tab or window, Alt's "save
      // link"), which would load the link itself. The browser's own
      // menu on the link (Open in new tab, Save link as) is not caught:
      // that may still give the server's name.
      var p7b = el('a', { 'class': 'btn dl-p7b', download: base + '.p7b',
        href: '/api/v1/requests/' + r.id + '/certificate.p7b' }, 'Download .p7b (Windows)');
      var getP7b = function (ev) {
        var last = $('p7b-msg');
        ev.preventDefault();
        // The last try's error goes as this one starts: a success then
        // leaves none, and a failure is announced anew.
        if (last)
          last.hidden = true;
        mica.api(p7b.getAttribute('href'), { blob: true }).then(function (res) {
          saveBlob(res.data, base + '.p7b');
        }, function (err) {
          // An alert, as the form's errors are: a screen reader says it.
          var note = $('p7b-msg') || links.parentNode.insertBefore(
            el('div', { id: 'p7b-msg', role: 'alert' }), links.nextSibling);
          mica.notice(note, 'error', 'The .p7b could not be fetched: ' + mica.errorText(err));
        });
      };
      p7b.addEventListener('click', getP7b);
      p7b.addEventListener('auxclick', function (ev) {
        if (ev.button === 1)
          getP7b(ev);
      });
      links.appendChild(p7b);
    }
    box.appendChild(el('div', { 'class': 'notice ok', id: 'issued-msg' },
      'Certificate issued.'));
    box.appendChild(facts([
      ['Serial', r.serial, 'serial'],
      ['Certificate', r.certificate_status, 'certificate_status'],
      ['Valid from', mica.fmtTime(r.not_before), 'not_before'],
      ['Valid until', mica.fmtTime(r.not_after), 'not_after'],
      ['Names', namesText(r.names), 'names'],
      ['Profile', r.profile, 'profile'],
      ['Note', r.notice, 'notice']
    ]));
    box.appendChild(links);
    var ta = el('textarea', { 'class': 'pem', id: 'cert-pem', rows: 8, readonly: true,
      spellcheck: 'false', 'aria-label': 'Certificate (PEM)' });
    ta.value = pem;
    box.appendChild(ta);
    var copy = el('button', { type: 'button', 'class': 'btn small' }, 'Copy PEM');
    copy.addEventListener('click', function () {
      mica.copy(pem, ta, copy);
    });
    box.appendChild(el('p', { 'class': 'actions' }, copy));
    box.appendChild(el('p', { 'class': 'small' },
      'Install the certificate with its private key on the server; the chain file ' +
      'adds the root for servers that want to send it. On the Windows server that ' +
      'made the request, the .p7b (the certificate and its chain) completes it: ' +
      'certreq -accept, IIS Manager\'s Complete Certificate Request, or Exchange\'s ' +
      'Import-ExchangeCertificate.'));
  }

  function statusLink(id) {
    return location.pathname + '#id=' + id;
  }

  /* The pending request ID (202 of POST /requests) into BOX. */
  function renderPending(box, id) {
    var href = statusLink(id);
    var link = el('a', { href: href, id: 'status-link' }, 'status of request ' + id.slice(0, 8) + '…');
    box.appendChild(el('div', { 'class': 'notice info', id: 'pending-msg' },
      'Request received. It waits for an administrator\'s approval.'));
    box.appendChild(facts([['Request id', id, 'id']]));
    box.appendChild(el('p', null, 'Keep this link to check the status and fetch the ' +
      'certificate once it is approved: ', link));
    // The address already names the request (submit): following the link
    // changes no fragment, so no hashchange says to show its status.
    link.addEventListener('click', function (ev) {
      if (location.hash !== '#id=' + id)
        return;
      ev.preventDefault();
      loadStatus();
      $('status-title').focus();
    });
  }

  function showForm(show) {
    $('req-form').hidden = !show;
  }

  /* ---- submission ---- */

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var fr = new FileReader();
      fr.onload = function () { resolve(new Uint8Array(fr.result)); };
      fr.onerror = function () { reject(new Error('the file could not be read')); };
      fr.readAsArrayBuffer(file);
    });
  }

  function submit(ev) {
    ev.preventDefault();
    var msg = $('form-msg');
    var btn = $('submit');
    var text = $('csr').value.trim();
    var file = $('csr-file').files && $('csr-file').files[0];
    var profile = $('profile').value;
    var daysRaw = $('days').value.trim();
    /* Never over plain HTTP (mica.api refuses it too). */
    var token = window.isSecureContext ? $('token').value.trim() : '';
    var days = null;

    msg.hidden = true;
    if (daysRaw !== '') {
      if (!/^\d{1,4}$/.test(daysRaw) || +daysRaw < 1 || +daysRaw > 3650) {
        mica.notice(msg, 'error', 'Validity must be a number of days from 1 to 3650.');
        $('days').focus();
        return;
      }
      days = +daysRaw;
    }
    if (text === '' && !file) {
      mica.notice(msg, 'error', 'Paste a CSR or choose a CSR file.');
      $('csr').focus();
      return;
    }
    // A file is sent only when the text box is empty (below).
    if (file && text === '' && file.size > 64 * 1024) {
      mica.notice(msg, 'error', 'That file is too large for a CSR (64 KiB at most).');
      return;
    }

    var send;
    if (text !== '') {
      var body = { csr: text, profile: profile };
      if (days !== null)
        body.days = days;
      send = Promise.resolve({ body: body });
    } else {
      /* A file goes as it is (DER, base64 or PEM): the API's
       * application/pkcs10 form takes all three. */
      send = readFile(file).then(function (bytes) {
        var q = '?profile=' + encodeURIComponent(profile) + (days !== null ? '&days=' + days : '');
        return { body: bytes, type: 'application/pkcs10', query: q };
      });
    }

    btn.disabled = true;
    btn.textContent = 'Submitting…';
    send.then(function (s) {
      return mica.api('/api/v1/requests' + (s.query || ''), {
        method: 'POST', body: s.body, type: s.type, token: token || null
      });
    }).then(function (res) {
      return withStatus(res.data || {});
    }).then(function (r) {
      var box = mica.clear($('result'));
      var title = el('h2', { id: 'result-title', tabindex: '-1' },
        r.status === 'issued' ? 'Your certificate' : 'Request submitted');
      box.hidden = false;
      box.appendChild(title);
      // The address names the request from now on: a reload shows its
      // status instead of an empty form (and the id stays in the
      // fragment, which no server sees).
      if (typeof r.id === 'string' && ID_RE.test(r.id) && window.history && history.replaceState)
        history.replaceState(null, '', statusLink(r.id));
      if (r.status === 'issued' && typeof r.certificate === 'string') {
        renderIssued(box, r);
      } else if (r.status === 'pending' && typeof r.id === 'string' && ID_RE.test(r.id)) {
        renderPending(box, r.id);
      } else {
        box.appendChild(el('div', { 'class': 'notice error' }, 'Unexpected answer from the server.'));
      }
      $('token').value = '';
      showForm(false);
      box.appendChild(el('p', { 'class': 'actions' },
        el('a', { 'class': 'btn subtle', href: location.pathname, id: 'another' }, 'Submit another request')));
      box.scrollIntoView({ block: 'start' });
      // The form that had focus is gone: focus would fall to <body>.
      title.focus();
    }, function (err) {
      mica.notice(msg, 'error', 'Not accepted: ' + mica.errorText(err));
    }).then(function () {
      btn.disabled = false;
      btn.textContent = 'Submit request';
    });
  }

  /* A 201's request R with what only its status has (the names, the
   * profile, the certificate's status): the status page and this result
   * then say the same. R as it is when that cannot be read. */
  function withStatus(r) {
    if (r.status !== 'issued' || typeof r.id !== 'string' || !ID_RE.test(r.id))
      return Promise.resolve(r);
    return mica.api('/api/v1/requests/' + r.id).then(function (res) {
      var st = res.data || {};
      ['names', 'profile', 'certificate_status'].forEach(function (k) {
        if (st[k] != null && r[k] == null)
          r[k] = st[k];
      });
      return r;
    }, function () {
      return r;
    });
  }

  function onFile() {
    var f = $('csr-file').files && $('csr-file').files[0];
    var note = $('file-note');
    note.textContent = f ? f.name + ' (' + f.size + ' bytes) will be sent' +
      ($('csr').value.trim() !== '' ? ' unless the text box above is filled' : '') : '';
  }

  /* ---- status of a request ---- */

  function idFromHash() {
    var m = /^#id=([0-9a-f]+)$/.exec(location.hash || '');
    return m && ID_RE.test(m[1]) ? m[1] : null;
  }

  function loadStatus() {
    var id = idFromHash();
    var box = $('status-box');
    if (pollTimer) {
      clearTimeout(pollTimer);
      pollTimer = null;
    }
    if (!id) {
      $('status-view').hidden = true;
      showForm(true);
      return;
    }
    showForm(false);
    $('result').hidden = true;
    $('status-view').hidden = false;
    mica.notice(mica.clear(box).appendChild(el('div')), 'info', 'Loading…');
    mica.api('/api/v1/requests/' + id).then(function (res) {
      var r = res.data || {};
      mica.clear(box);
      if (r.status === 'issued') {
        renderIssued(box, r);
      } else if (r.status === 'denied') {
        box.appendChild(el('div', { 'class': 'notice error', id: 'denied-msg' },
          'The request was denied.'));
        box.appendChild(facts([
          ['Reason', r.reason, 'reason'],
          ['Decided', mica.fmtTime(r.decided_at), 'decided_at']
        ]));
      } else {
        box.appendChild(el('div', { 'class': 'notice info', id: 'pending-msg' },
          'Waiting for an administrator\'s approval. This page checks again every 30 seconds.'));
        pollTimer = setTimeout(loadStatus, POLL_MS);
      }
      box.appendChild(facts([
        ['Request id', r.id, 'id'],
        ['Status', r.status, 'status'],
        ['Subject (from the CSR)', r.status === 'issued' ? null : r.subject, 'req_subject'],
        ['Names', r.status === 'issued' ? null : namesText(r.names), 'req_names'],
        ['Profile', r.status === 'issued' ? null : r.profile, 'req_profile'],
        ['Submitted', mica.fmtTime(r.submitted_at), 'submitted_at']
      ]));
    }, function (err) {
      mica.clear(box);
      box.appendChild(el('div', { 'class': 'notice error' },
        err.status === 404 ? 'No request with this id.' : mica.errorText(err)));
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    /* The daemon serves this page over HTTPS only; should it be reached
     * otherwise, it takes no token. */
    if (!window.isSecureContext)
      $('token').parentNode.hidden = true;
    $('req-form').addEventListener('submit', submit);
    $('csr-file').addEventListener('change', onFile);
    $('status-refresh').addEventListener('click', loadStatus);
    window.addEventListener('hashchange', loadStatus);
    loadStatus();
  });
})();
