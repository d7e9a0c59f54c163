/*
 * mica web pages: /admin - the administrator's console over the JSON API.
 *
 * The admin token is pasted once, kept in sessionStorage (this tab only,
 * gone when it closes) and sent as "Authorization: Bearer". There is no
 * cookie, so another site cannot make this browser act for the admin
 * (no cross-site request forgery), and the API never sees a session.
 * Everything the API returns is put into the page as text.
 */
'use strict';

(function () {
  var mica = window.mica;
  var el = mica.el;
  var KEY = 'mica.adminToken';
  var PAGE = 50;
  /* The certificate listing on screen: Q, the query it was searched
     with (the filter as it was when Search was pressed: "Show more" and
     a reload after an action go on with that, never with what was typed
     since, whose cursor would be another listing's), null when none is
     shown; CURSOR, where its next page starts; GEN, which listing it is:
     a new search moves it on, and an answer to an older one (a "Show
     more" still under way) is dropped rather than appended to the new
     list (the lists read by pager() keep theirs in the pager). */
  var certList = { q: null, cursor: null, gen: 0 };
  /* The other certificates of a revoked key named in the message after a
     keyCompromise (the rest counted). */
  var ALSO_NAMED = 5;
  /* The reasons a revocation is raised from to keyCompromise when the key
   * is found compromised later (docs/API.md, ca_reason_raisable). */
  var RAISABLE = ['unspecified', 'affiliationChanged', 'superseded', 'cessationOfOperation',
    'privilegeWithdrawn'];
  var memToken = null;     /* when sessionStorage is unavailable */
  /* Counts sign-outs: an answer to a call made before the last one is
     dropped, so it neither fills the console for the next admin nor, as
     a call made without a token, reports the sign-out as a refusal. */
  var session = 0;

  function $(id) {
    return document.getElementById(id);
  }

  /* ---- the token and API calls ---- */

  function token() {
    try {
      return sessionStorage.getItem(KEY);
    } catch (e) {
      return null;
    }
  }

  function setToken(t) {
    try {
      if (t)
        sessionStorage.setItem(KEY, t);
      else
        sessionStorage.removeItem(KEY);
    } catch (e) {
      /* Storage disabled: the console works until the page is left. */
    }
    memToken = t;
  }

  /* An admin API call; a rejected token ends the session. */
  function call(path, opts) {
    var s = session;
    var stale = function () { return new Promise(function () {}); };
    opts = opts || {};
    opts.token = token() || memToken;
    if (!opts.token)
      return stale();
    return mica.api(path, opts).then(function (res) {
      if (s === session)
        return res;
      // Dropped: the admin signed out meanwhile. An answer that made a
      // secret nobody will now see withdraws it (opts.late).
      if (opts.late)
        opts.late(res, opts.token);
      return stale();
    }, function (err) {
      if (s !== session)
        return stale();
      if (err.status === 401) {
        signOut('Your token is no longer accepted (' + err.message + '). Sign in again.');
      }
      throw err;
    });
  }

  /* For call()'s opts.late: a token (or an ACME credential, an
     enrollment token too) made by a call whose answer came after sign-out
     is revoked, with the token that call was made with: nobody saw its
     secret, and an unseen credential left usable is one nobody will
     think of revoking. IDOF picks its id from the answer (its data, its
     headers). */
  function revokeLate(idOf) {
    return function (res, cred) {
      var id = res ? idOf(res.data || {}, res.headers) : null;
      if (typeof id === 'string' && /^[0-9a-f]{1,64}$/.test(id))
        mica.api('/api/v1/tokens/' + encodeURIComponent(id), { method: 'DELETE', token: cred })
          .then(null, function () {});
    };
  }

  /* A message; an error, or one STICKY, stays until the next. The same
     text goes to the live region #live for a screen reader to read out,
     as a new node each time, so a message said twice is read twice. */
  function flash(kind, text, sticky) {
    var f = $('flash');
    mica.notice(f, kind, text);
    mica.clear($('live')).appendChild(el('p', null, text));
    clearTimeout(flash.timer);
    if (kind !== 'error' && !sticky) {
      flash.timer = setTimeout(function () { f.hidden = true; }, 8000);
    }
  }

  /* The message line and the live region emptied as an action starts:
     what they said was of the one before (an error stays until then, and
     no longer: a refusal left beside a later success reads as its
     outcome). */
  function unflash() {
    clearTimeout(flash.timer);
    mica.clear($('flash')).hidden = true;
    mica.clear($('live'));
  }

  /* TEXT for a screen reader alone: what the page shows elsewhere than
     in the message line (a secret's box), read out. */
  function say(text) {
    mica.clear($('live')).appendChild(el('p', null, text));
  }

  function fail(what) {
    return function (err) {
      if (err.status !== 401)
        flash('error', what + ': ' + mica.errorText(err));
    };
  }

  /* ---- sign in and out ---- */

  function showSignIn(message) {
    $('console').hidden = true;
    $('signin').hidden = false;
    var msg = $('signin-msg');
    if (message)
      mica.notice(msg, 'error', message);
    else
      msg.hidden = true;
    $('admin-token').focus();
  }

  /* Nothing the last admin saw or typed stays in the page for the next
     one who signs in on this tab: above all not a secret shown once (a
     new token, an ACME credential's HMAC key). The console is put back as
     the page came: its lists, facts and counts empty, its forms reset,
     its notices and the confirmation closed. */
  function signOut(message) {
    var con = $('console');
    session++;
    setToken(null);
    certList.q = certList.cursor = null;
    certList.gen++;
    [tokens, audit, acmeAccounts, acmeOrders].forEach(function (p) { p.reset(); });
    ['certs-more', 'tokens-more', 'audit-more', 'acme-accounts-more', 'acme-orders-more']
      .forEach(function (id) { $(id).hidden = true; });
    Array.prototype.forEach.call(con.querySelectorAll('tbody'), mica.clear);
    ['ca-facts', 'ca-warning', 'crl-facts', 'flash', 'live'].forEach(function (id) { mica.clear($(id)); });
    Array.prototype.forEach.call(con.querySelectorAll('form'), function (f) { f.reset(); });
    // A button a dropped call had disabled (Create token...) works again.
    Array.prototype.forEach.call(con.querySelectorAll('button'), function (b) { b.disabled = false; });
    ['token-value', 'eab-kid', 'eab-hmac'].forEach(function (id) { $(id).value = ''; });
    ['token-created', 'eab-created', 'token-warning', 'eab-warning', 'ca-warning', 'flash']
      .forEach(function (id) { $(id).hidden = true; });
    ['stat-valid', 'stat-revoked', 'stat-expired', 'stat-pending'].forEach(function (id) {
      $(id).textContent = '–';
    });
    $('ca-name').textContent = 'Administration';
    document.title = 'Administration - mica';
    if ($('confirm').open)
      $('confirm').close();
    showSignIn(message);
  }

  function signIn(ev) {
    ev.preventDefault();
    var input = $('admin-token');
    var t = input.value.trim();
    var btn = $('signin-btn');
    if (!/^[A-Za-z0-9._~+\/=-]{8,200}$/.test(t)) {
      mica.notice($('signin-msg'), 'error', 'Paste the admin token (it starts with mica_).');
      return;
    }
    btn.disabled = true;
    mica.api('/api/v1/status', { token: t }).then(function (res) {
      input.value = '';
      setToken(t);
      enterConsole(res.data);
    }, function (err) {
      var text = err.status === 401 ? 'This token was not accepted.'
        : err.status === 403 ? 'This token may not administer the CA (' + err.message + ').'
        : mica.errorText(err);
      mica.notice($('signin-msg'), 'error', text);
    }).then(function () {
      btn.disabled = false;
    });
  }

  function enterConsole(status) {
    $('signin').hidden = true;
    $('console').hidden = false;
    if (status)
      renderStatus(status);
    else
      loadStatus();
    loadPending();
    searchCerts();
    loadTokens();
    loadAcme();
    loadAudit();
  }

  /* ---- status, counts, CRL ---- */

  function renderStatus(s) {
    var c = s.counts || {};
    var crl = s.crl || {};
    $('ca-name').textContent = s.name || 'Administration';
    document.title = (s.name ? s.name + ' - ' : '') + 'administration - mica';
    var facts = mica.clear($('ca-facts'));
    facts.appendChild(document.createTextNode('CA certificate valid until ' + mica.fmtTime(s.not_after) +
      ' · root SHA-256 '));
    mica.fingerprint(facts.appendChild(el('span', { 'class': 'id', id: 'ca-fingerprint' })),
      s.fingerprint_sha256 || '');
    // The end of this CA's certificate (or of one above it) near or past.
    var cw = $('ca-warning');
    cw.textContent = s.warning || '';
    cw.hidden = !s.warning;
    $('stat-valid').textContent = String(c.valid != null ? c.valid : '–');
    $('stat-revoked').textContent = String(c.revoked != null ? c.revoked : '–');
    $('stat-expired').textContent = String(c.expired != null ? c.expired : '–');
    $('stat-pending').textContent = String(c.pending_requests != null ? c.pending_requests : '–');
    var dl = mica.clear($('crl-facts'));
    // thisUpdate is not when the CRL was published: the CA dates it a
    // few minutes back (ca/crl.c CRL_BACKDATE), so that a client whose
    // clock is behind takes it; the API gives no publication time.
    [['Number', crl.number, 'number'], ['Valid from', mica.fmtTime(crl.this_update), 'this-update'],
     ['Next update', mica.fmtTime(crl.next_update), 'next-update'],
     ['Served at', (s.public_url || '') + '/crl', 'served-at']]
      .forEach(function (p) {
        dl.appendChild(el('dt', null, p[0]));
        dl.appendChild(el('dd', { 'data-field': 'crl-' + p[2] }, p[1] == null ? '' : String(p[1])));
      });
  }

  function loadStatus() {
    return call('/api/v1/status').then(function (res) {
      renderStatus(res.data || {});
    }, fail('Status'));
  }

  function publishCrl() {
    var btn = $('crl-publish');
    unflash();
    btn.disabled = true;
    call('/api/v1/crl', { method: 'POST', body: {} }).then(function (res) {
      flash('ok', 'Published CRL number ' + (res.data && res.data.number) +
        ', next update ' + mica.fmtTime(res.data && res.data.next_update) + '.');
      loadStatus();
      loadAudit();
    }, fail('Publishing the CRL')).then(function () {
      btn.disabled = false;
    });
  }

  /* ---- tables ---- */

  /* A row of cells; each cell gets its column's header as data-label,
   * which the phone layout shows beside the value. */
  function row(table, cells) {
    var heads = table.tHead.rows[0].cells;
    var tr = el('tr');
    cells.forEach(function (c, i) {
      var td = el('td', { 'data-label': heads[i] ? heads[i].textContent : null });
      if (c instanceof Element && c.classList.contains('row-actions'))
        td.className = 'cell-actions';
      if (c instanceof Node)
        td.appendChild(c);
      else if (c != null)
        td.textContent = String(c);
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(tbodyId, emptyId, items, make) {
    var tb = mica.clear($(tbodyId));
    var table = tb.parentNode;
    items.forEach(function (it) {
      tb.appendChild(make(table, it));
    });
    $(emptyId).hidden = items.length > 0;
    table.hidden = items.length === 0;
  }

  function names(list) {
    return Array.isArray(list) ? list.join(', ') : '';
  }

  function badge(status, extra) {
    return el('span', { 'class': 'badge b-' + String(status).replace(/[^a-z_]/g, '') },
      String(status) + (extra ? ' (' + extra + ')' : ''));
  }

  function when(iso) {
    return el('span', { 'class': 'nowrap' }, mica.fmtTime(iso));
  }

  function shortId(s) {
    s = String(s || '');
    return el('code', { title: s, 'class': 'id' }, s.length > 16 ? s.slice(0, 16) + '…' : s);
  }

  /* ---- focus after a row action ---- */

  /* A row's action (approve, revoke...) loads its list again, which takes
     the button that had focus out of the page, and focus would fall back
     to <body>: a keyboard or screen reader user would lose their place.
     Each list with actions: its message when empty and its heading, both
     focusable from script (tabindex=-1 in admin.html). */
  var LISTS = {
    'pending-rows': { empty: 'pending-empty', title: 'pending-title' },
    'cert-rows': { empty: 'certs-empty', title: 'certs-title' },
    'token-rows': { empty: 'tokens-empty', title: 'tokens-title' },
    'acme-account-rows': { empty: 'acme-accounts-empty', title: 'acme-accounts-title' }
  };

  /* Where BTN, the button of ACTION (its class) in a row, is: taken as
     it is pressed, before the list changes. */
  function rowPlace(btn, action) {
    var tr = btn.closest('tr');
    var tb = tr.parentNode;
    return { tbody: tb.id, index: Array.prototype.indexOf.call(tb.children, tr), action: action };
  }

  /* Once the list is loaded again: focus the same action in the row now
     at PLACE (the one that took the acted-on row's place), else in the
     nearest row after it, else before it; in a list left empty, its
     message; in one where no row has that action, its heading. Only when
     focus was lost: someone who moved on meanwhile keeps their place. */
  function refocus(place) {
    var a = document.activeElement;
    var rows = $(place.tbody).children;
    var n = rows.length;
    var start = Math.min(place.index, n - 1);
    var target = null, i;
    if (a && a !== document.body)
      return;
    for (i = start; i >= 0 && i < n && !target; i++)
      target = rows[i].querySelector('button.' + place.action);
    for (i = start - 1; i >= 0 && !target; i--)
      target = rows[i].querySelector('button.' + place.action);
    if (!target)
      target = $(n === 0 ? LISTS[place.tbody].empty : LISTS[place.tbody].title);
    target.focus();
  }

  /* The accessible name of a row's button: the action and which row
     (a screen reader lists the buttons of a page by name, and "Revoke",
     "Revoke", "Revoke" say nothing). Set as an attribute, never as
     markup. */
  function label(btn, text) {
    btn.setAttribute('aria-label', text);
    return btn;
  }

  /* ---- confirmation dialog ---- */

  /* Ask before acting: O = {title, text, ok, reason (revocation reason
   * select), warn (a function of the reason chosen: the warning to show
   * with it, or null), note (free text), act}. Resolves to {reason, note}
   * or null. With ACT (a function of {reason, note} returning a promise)
   * the dialog stays open until ACT resolves; a rejection is said in the
   * dialog, with what was typed kept to be corrected, rather than lost
   * with a dialog closed before the server answered. */
  function ask(o) {
    var d = $('confirm');
    var sel = $('confirm-reason');
    var ok = $('confirm-ok');
    var refused = $('confirm-error');
    $('confirm-title').textContent = o.title;
    $('confirm-text').textContent = o.text;
    ok.textContent = o.ok || 'Confirm';
    ok.disabled = false;
    $('confirm-reason-field').hidden = !o.reason;
    // A certificate on hold is revoked for good: not on hold again; one
    // revoked already takes only the reason it is raised to (O.only).
    Array.prototype.forEach.call(sel.options, function (opt) {
      opt.disabled = (!!o.held && opt.value === 'certificateHold') ||
        (!!o.only && opt.value !== o.only);
    });
    $('confirm-text-field').hidden = !o.note;
    sel.value = o.only || 'unspecified';
    $('confirm-note').value = '';
    refused.textContent = '';
    refused.hidden = true;
    // The warning follows the reason as it is chosen: what a reason does
    // beyond this one certificate is said before it is done.
    sel.onchange = function () {
      var w = o.warn ? o.warn(sel.value) : null;
      $('confirm-warning').textContent = w || '';
      $('confirm-warning').hidden = !w;
    };
    sel.onchange();
    if (typeof d.showModal !== 'function') {
      /* Very old browsers: the platform's own dialog (ACT's refusal,
       * with no dialog left to say it in, goes to the message line). */
      var yes = window.confirm(o.title + '\n\n' + o.text) ? { reason: 'unspecified', note: '' } : null;
      if (yes && o.act)
        return o.act(yes).then(function () { return yes; }, function (err) {
          fail(o.ok || 'Confirm')(err);
          return null;
        });
      return Promise.resolve(yes);
    }
    return new Promise(function (resolve) {
      var done = null;
      // This dialog's own state: closed (Cancel, Escape) while ACT still
      // runs, its answer must reach neither the next dialog opened in
      // the same element nor be lost - a refusal goes to the message
      // line, and the promise settles when ACT does (a deny that went
      // through is then reloaded by its caller as any other).
      var closed = false, busy = false;
      var answer = function () {
        return { reason: $('confirm-reason').value, note: $('confirm-note').value.trim() };
      };
      var finish = function () {
        resolve(o.act ? done : d.returnValue === 'ok' ? answer() : null);
      };
      d.returnValue = '';
      $('confirm-form').onsubmit = o.act ? function (ev) {
        var a = answer();
        ev.preventDefault();
        if (ok.disabled || closed)
          return;
        ok.disabled = true;
        busy = true;
        refused.hidden = true;
        o.act(a).then(function () {
          busy = false;
          done = a;
          if (!closed)
            d.close('ok');
          else
            finish();
        }, function (err) {
          busy = false;
          if (closed) {
            fail(o.ok || 'Confirm')(err);
            finish();
            return;
          }
          ok.disabled = false;
          mica.notice(refused, 'error', 'Not accepted: ' + mica.errorText(err));
          (o.note ? $('confirm-note') : ok).focus();
        });
      } : null;
      d.addEventListener('close', function onClose() {
        d.removeEventListener('close', onClose);
        closed = true;
        $('confirm-form').onsubmit = null;
        ok.disabled = false;
        if (!busy)
          finish();
      });
      d.showModal();
      (o.note ? $('confirm-note') : o.reason ? $('confirm-reason') : $('confirm-cancel')).focus();
    });
  }

  /* ---- pending requests ---- */

  // Every pending request on one page: the CA holds at most 1000 at once
  // (CA_PENDING_MAX), the most one page of the listing gives.
  function loadPending() {
    return call('/api/v1/requests?status=pending&limit=1000').then(function (res) {
      var list = (res.data && res.data.requests) || [];
      fill('pending-rows', 'pending-empty', list, pendingRow);
    }, fail('Pending requests'));
  }

  function pendingRow(table, r) {
    var approve = el('button', { type: 'button', 'class': 'btn small primary approve' }, 'Approve');
    var deny = el('button', { type: 'button', 'class': 'btn small subtle deny' }, 'Deny');
    var what = 'request ' + r.id + ' for ' + (names(r.names) || String(r.subject || 'no name'));
    label(approve, 'Approve ' + what);
    label(deny, 'Deny ' + what);
    var tr = row(table, [
      when(r.submitted_at),
      el('span', { 'class': 'subject' }, String(r.subject || '')),
      el('span', { 'class': 'names' }, names(r.names)),
      // What an approver weighs beside the names: the profile, the days
      // asked for (else its default), the key.
      String(r.profile || '') + (r.days ? ', ' + r.days + ' days' : '') +
        (r.key ? ', ' + r.key : ''),
      r.client,
      el('span', { 'class': 'row-actions' }, approve, deny)
    ]);
    tr.setAttribute('data-id', String(r.id));
    approve.addEventListener('click', function () {
      var place = rowPlace(approve, 'approve');
      unflash();
      approve.disabled = deny.disabled = true;
      call('/api/v1/requests/' + encodeURIComponent(r.id) + '/approve', { method: 'POST', body: {} })
        .then(function (res) {
          flash('ok', 'Approved: certificate ' + (res.data && res.data.serial) + ' issued for ' +
            names(r.names) + '.');
          refreshAll(place);
        }, function (err) {
          if (err.status === 409) {
            decidedMeanwhile('Approving', err, place);
            return;
          }
          approve.disabled = deny.disabled = false;
          // A disabled button loses focus: give it back.
          if (document.activeElement === document.body)
            approve.focus();
          fail('Approving')(err);
        });
    });
    deny.addEventListener('click', function () {
      var place = rowPlace(deny, 'deny');
      ask({ title: 'Deny this request?', text: 'Request for ' + names(r.names) +
        ' from ' + (r.client || 'unknown') + '. The requester sees the reason.', ok: 'Deny', note: true,
        act: function (a) {
          var body = a.note ? { reason: a.note } : {};
          unflash();
          return call('/api/v1/requests/' + encodeURIComponent(r.id) + '/deny', { method: 'POST', body: body })
            .then(function () {
              flash('ok', 'Denied the request for ' + names(r.names) + '.');
              loadPending().then(function () { refocus(place); });
              loadStatus();
              loadAudit();
            }, function (err) {
              // Decided meanwhile: nothing to correct in the dialog.
              if (err.status === 409)
                decidedMeanwhile('Denying', err, place);
              else
                throw err;
            });
        } });
    });
    return tr;
  }

  /* A request another admin (or an approval whose answer was lost)
     decided meanwhile: said, and the list and counts loaded again, as
     after a decision here; its row, with buttons that can only fail,
     goes. */
  function decidedMeanwhile(what, err, place) {
    fail(what)(err);
    refreshAll(place);
  }

  /* ---- certificates ---- */

  /* The query of the filter as typed; throws an Error saying what is
     wrong with it. */
  function certQuery() {
    var q = ['limit=' + PAGE];
    var st = $('cert-status').value;
    var nm = $('cert-name').value.trim().toLowerCase();
    var ex = $('cert-expiring').value.trim();
    var tk = $('cert-token').value.trim().toLowerCase();
    if (st && st !== 'all')
      q.push('status=' + encodeURIComponent(st));
    if (nm !== '') {
      // What a name mica issues may hold (an e-mail address's local part:
      // alice+tag@..., o'brien@...): printable ASCII, no blank and none of
      // " < > \ `. The server decides the rest (a trailing * is a prefix).
      if (!/^[!#-;=?-\[\]-_a-~]{1,254}$/.test(nm))
        throw new Error('A name filter is letters, digits and the other printable characters ' +
          'but blanks and " < > \\ `.');
      q.push('name=' + encodeURIComponent(nm));
    }
    if (tk !== '') {
      // A whole token pasted here is a secret: out of the field at once,
      // and never sent.
      if (/^mica_/.test(tk)) {
        $('cert-token').value = '';
        throw new Error('Issued with token: its id, as the Tokens list shows it - not the token itself.');
      }
      if (!/^[0-9a-f]{1,39}$/.test(tk))
        throw new Error('Issued with token: its id, hexadecimal, as the Tokens list shows it.');
      q.push('token=' + encodeURIComponent(tk));
    }
    if (ex !== '') {
      if (!/^\d{1,4}$/.test(ex) || +ex < 1 || +ex > 3650)
        throw new Error('Expiring within: a number of days from 1 to 3650.');
      // As a number: the API refuses "030" (one spelling per number),
      // which a number field keeps as typed.
      q.push('expiring_days=' + String(+ex));
    }
    return q;
  }

  /* A search with the filter as typed: the listing shown from then on.
     One refused, in the page or by the server, leaves no list: the last
     one's rows under the new filter would pass for its answer. */
  function searchCerts() {
    var q;
    try {
      q = certQuery();
    } catch (e) {
      certsRefused();
      flash('error', e.message);
      return Promise.resolve();
    }
    certList.q = q;
    return loadCerts(false);
  }

  function certsRefused() {
    certList.q = certList.cursor = null;
    certList.gen++;
    mica.clear($('cert-rows'));
    $('certs-table').hidden = true;
    $('certs-more').hidden = true;
    $('certs-empty').textContent = 'Nothing listed: the search was refused (see the message above).';
    $('certs-empty').hidden = false;
  }

  // The listing searched (searchCerts): its first page again, or with
  // MORE its next one. A filtered listing looks at a bounded number of
  // certificates per request (docs/API.md), so a page may come back
  // short, even empty, with a cursor: go on by itself a few pages before
  // showing "more".
  function loadCerts(more, hops) {
    var q = certList.q;
    if (q === null)
      return Promise.resolve();      // none shown: nothing to go on with
    if (more === true && certList.cursor != null)
      q = q.concat('cursor=' + encodeURIComponent(certList.cursor));
    else
      more = false;
    if (!more) {
      // A first page begins a listing: the last one's cursor and its
      // "Show more" go (clicked meanwhile, it would ask for the new
      // filter from the old listing's place).
      certList.gen++;
      certList.cursor = null;
      $('certs-more').hidden = true;
    }
    var gen = certList.gen;
    return call('/api/v1/certificates?' + q.join('&')).then(function (res) {
      var list = (res.data && res.data.certificates) || [];
      if (gen !== certList.gen)
        return;
      if (more) {
        append('cert-rows', 'certs-empty', list, certRow);
      } else {
        $('certs-empty').textContent = 'No certificate matches.';
        fill('cert-rows', 'certs-empty', list, certRow);
      }
      certList.cursor = res.data && res.data.next_cursor != null ? res.data.next_cursor : null;
      $('certs-more').hidden = certList.cursor == null;
      if (list.length === 0 && certList.cursor != null && (hops || 0) < 20)
        return loadCerts(true, (hops || 0) + 1);
    }, function (err) {
      if (gen !== certList.gen)
        return;
      // A further page refused leaves the pages shown; a first page
      // refused (4xx: the query), none. A failure of the server or the
      // network keeps the listing and its rows, to be reloaded.
      if (!more && err.status >= 400 && err.status < 500 && err.status !== 401 &&
          err.status !== 429)
        certsRefused();
      fail('Certificates')(err);
    });
  }

  /* " in 3 days", " in 5 hours", " in under an hour", " expired": how
   * long a certificate has left, never "in 0 days". */
  function leftText(iso) {
    var ms = Date.parse(iso) - Date.now();
    var d, h;
    if (isNaN(ms))
      return '';
    if (ms <= 0)
      return ' expired';
    d = Math.floor(ms / 86400000);
    if (d >= 1)
      return ' in ' + d + ' day' + (d === 1 ? '' : 's');
    h = Math.floor(ms / 3600000);
    return h >= 1 ? ' in ' + h + ' hour' + (h === 1 ? '' : 's') : ' in under an hour';
  }

  /* "www.contoso.test (serial 3F...)": a certificate as a button's name
     says it; a serial alone for one known only from a CRL. */
  function certName(c) {
    var n = names(c.names);
    return n ? n + ' (serial ' + c.serial + ')' : 'serial ' + c.serial;
  }

  function certRow(table, c) {
    var actions = el('span', { 'class': 'row-actions' });
    var left = mica.daysUntil(c.not_after);
    var until = el('span', null, when(c.not_after));
    // A renewed certificate needs nothing more, however soon it expires,
    // as long as its renewal (or a renewal of that) is still valid: the
    // server says so in "renewed", as expiring_days leaves such rows out.
    if (c.status === 'valid' && c.renewed)
      until.appendChild(el('span', { 'class': 'renewed', title: 'renewed by ' + c.renewed_by + ' or a renewal of it' }, ' renewed'));
    else if (c.status === 'valid' && left != null && left <= 30)
      until.appendChild(el('span', { 'class': 'soon' }, leftText(c.not_after)));
    if (c.status === 'valid') {
      var rv = label(el('button', { type: 'button', 'class': 'btn small danger revoke' }, 'Revoke'),
        'Revoke ' + certName(c));
      rv.addEventListener('click', function () { revoke(c, rowPlace(rv, 'revoke')); });
      actions.appendChild(rv);
    } else if (c.status === 'revoked' && c.revocation_reason === 'certificateHold') {
      // A hold ends either way: released, or revoked for good (the key
      // found compromised after all), as the API and 'mica revoke' let it.
      var rh = label(el('button', { type: 'button', 'class': 'btn small danger revoke' }, 'Revoke'),
        'Revoke ' + certName(c) + ' for good');
      rh.addEventListener('click', function () { revoke(c, rowPlace(rh, 'revoke')); });
      actions.appendChild(rh);
      var ur = label(el('button', { type: 'button', 'class': 'btn small subtle unrevoke' }, 'Release hold'),
        'Release hold on ' + certName(c));
      ur.addEventListener('click', function () { unrevoke(c, rowPlace(ur, 'unrevoke')); });
      actions.appendChild(ur);
    } else if (c.status === 'revoked' && RAISABLE.indexOf(c.revocation_reason) >= 0 &&
        c.profile !== 'from-crl') {
      // Its key found compromised after it was revoked for a reason that
      // said nothing of the key: raised to keyCompromise, as the API and
      // 'mica revoke' do (its date kept).
      var rk = label(el('button', { type: 'button', 'class': 'btn small danger raise' }, 'Key compromised'),
        'Raise the revocation of ' + certName(c) + ' to keyCompromise');
      rk.addEventListener('click', function () { revoke(c, rowPlace(rk, 'raise')); });
      actions.appendChild(rk);
    }
    // The certificate with its chain, as Windows installs it (certreq
    // -accept, IIS, Exchange), for one still valid.
    if (c.status === 'valid') {
      var dl = label(el('button', { type: 'button', 'class': 'btn small subtle p7b' }, 'Download .p7b'),
        'Download .p7b of ' + certName(c) + ': the certificate with its chain');
      dl.addEventListener('click', function () { downloadP7b(c, dl); });
      actions.appendChild(dl);
    }
    var tr = row(table, [
      shortId(c.serial),
      el('span', { 'class': 'names', title: String(c.subject || '') }, names(c.names)),
      c.profile,
      badge(c.status, c.status === 'revoked' ? c.revocation_reason : null),
      until,
      actions
    ]);
    tr.setAttribute('data-serial', String(c.serial));
    return tr;
  }

  function downloadP7b(c, btn) {
    btn.disabled = true;
    call('/api/v1/certificates/' + encodeURIComponent(c.serial) + '/chain.p7b', { blob: true })
      .then(function (res) {
        var url = URL.createObjectURL(res.data);
        var a = el('a', { href: url, download: fileName(res.headers, String(c.serial) + '.p7b') });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      }, fail('Downloading the certificate')).then(function () {
        btn.disabled = false;
      });
  }

  function revoke(c, place) {
    var held = c.status === 'revoked' && c.revocation_reason === 'certificateHold';
    var raise = c.status === 'revoked' && !held;
    ask({ title: held ? 'Revoke this certificate for good?' :
      raise ? 'Was its key compromised?' : 'Revoke this certificate?',
      ok: raise ? 'Raise to keyCompromise' : 'Revoke', reason: true, held: held,
      only: raise ? 'keyCompromise' : null,
      text: 'Certificate ' + c.serial + ' for ' + names(c.names) + (held ?
        ' is on hold. Revoked for good, dated now, it can no longer be released.' :
        raise ? ' was revoked (' + c.revocation_reason + '). Its reason becomes keyCompromise, ' +
        'its revocation date kept.' :
        '. Clients that check the CRL will refuse it; only certificateHold can be released later.'),
      warn: function (reason) {
        return reason === 'keyCompromise'
          ? 'keyCompromise revokes every other certificate of this key too, and the key is ' +
            'refused from then on: no certificate is ever issued for it again. Its servers ' +
            'need a new key.'
          : null;
      } })
      .then(function (a) {
        if (!a)
          return;
        unflash();
        call('/api/v1/certificates/' + encodeURIComponent(c.serial) + '/revoke',
          { method: 'POST', body: { reason: a.reason } })
          .then(function (res) {
            var also = res.data && Array.isArray(res.data.also_revoked) ? res.data.also_revoked : [];
            var from = res.data && res.data.reason_raised_from;
            var done = from ? 'Raised ' + names(c.names) + ' from ' + from + ' to ' + a.reason :
              'Revoked ' + names(c.names) + ' (' + a.reason + ')';
            if (also.length === 0) {
              flash('ok', done + '; a new CRL was published.');
              refreshAll(place);
              return;
            }
            return alsoRevoked(also).then(function (text) {
              flash('ok', done + ' and, as certificates of the same key, ' + text +
                '. The key is refused from now on. A new CRL was published.', true);
              refreshAll(place);
            });
          }, fail('Revoking'));
      });
  }

  /* "2 others: SERIAL (NAMES), SERIAL (NAMES)" for the serials a
   * revocation took besides the one asked for: the first ALSO_NAMED with
   * their names (fetched; a serial alone if that fails), the rest
   * counted. */
  function alsoRevoked(serials) {
    var first = serials.slice(0, ALSO_NAMED);
    return Promise.all(first.map(function (s) {
      return call('/api/v1/certificates/' + encodeURIComponent(s)).then(function (res) {
        var n = res.data ? names(res.data.names) : '';
        return n ? s + ' (' + n + ')' : String(s);
      }, function () {
        return String(s);
      });
    })).then(function (parts) {
      var rest = serials.length - first.length;
      return serials.length + ' other' + (serials.length === 1 ? '' : 's') + ': ' + parts.join(', ') +
        (rest > 0 ? ' and ' + rest + ' more (see the revoked certificates)' : '');
    });
  }

  function unrevoke(c, place) {
    /* One known only from a CRL carried in (mica restore --crl) has no
     * certificate here: released, it is forgotten, not made valid. */
    var standin = c.profile === 'from-crl';
    ask({ title: 'Release the hold?', ok: 'Release', text: standin ?
      'Serial ' + c.serial + ' is known here only from a CRL of this CA: released, it is ' +
      'no longer listed as revoked, and forgotten.' :
      'Certificate ' + c.serial + ' for ' + names(c.names) + ' becomes valid again.' })
      .then(function (a) {
        if (!a)
          return;
        unflash();
        call('/api/v1/certificates/' + encodeURIComponent(c.serial) + '/unrevoke',
          { method: 'POST', body: {} })
          .then(function () {
            flash('ok', 'Released ' + (standin ? c.serial : names(c.names)) + '.');
            refreshAll(place);
          }, fail('Releasing'));
      });
  }

  /* ---- tokens ---- */

  /* The box of a secret shown once (BOX, its FIELDS, its WARNING) shut
     and emptied as a creation starts: one that fails then leaves no
     earlier secret on screen as if it were its own. */
  function shutSecret(box, fields, warning) {
    $(box).hidden = true;
    fields.forEach(function (id) { $(id).value = ''; });
    $(warning).textContent = '';
    $(warning).hidden = true;
  }

  /* The API's "warning" of a creation (a name outside the CA's allowed
     domains: made, but no certificate for it until the domain is added)
     into the box's WARNING element; none hides it. */
  function showWarning(warning, text) {
    $(warning).textContent = typeof text === 'string' ? text : '';
    $(warning).hidden = $(warning).textContent === '';
  }

  function createToken(ev) {
    ev.preventDefault();
    var btn = $('tok-create');
    var body = { kind: 'enroll' };
    var prof = $('tok-profile').value;
    var nm = $('tok-names').value.split(/[\s,]+/).filter(function (s) { return s !== ''; });
    var uses = $('tok-uses').value.trim();
    var comment = $('tok-comment').value.trim();
    if (prof)
      body.profile = prof;
    if (nm.length > 0)
      body.names = nm;
    unflash();
    shutSecret('token-created', ['token-value'], 'token-warning');
    if (uses !== '') {
      // The API's bound (CA_TOKEN_USES_MAX, docs/API.md), the field's max.
      if (!/^\d{1,10}$/.test(uses) || +uses < 1 || +uses > 1000000000) {
        flash('error', 'Uses: a number from 1 to 1000000000.');
        return;
      }
      body.uses = +uses;
    }
    body.expires_in = +$('tok-expires').value;
    if (comment)
      body.comment = comment;
    btn.disabled = true;
    call('/api/v1/tokens', {
      method: 'POST', body: body, late: revokeLate(function (d) { return d.id; })
    }).then(function (res) {
      var d = res.data || {};
      $('token-value').value = typeof d.token === 'string' ? d.token : '';
      showWarning('token-warning', d.warning);
      $('token-created').hidden = false;
      $('token-value').select();
      say('Token created: copy it now, it is not shown again.' +
        (typeof d.warning === 'string' ? ' ' + d.warning : ''));
      $('tok-names').value = '';
      $('tok-comment').value = '';
      loadTokens();
      loadAudit();
    }, fail('Creating the token')).then(function () {
      btn.disabled = false;
    });
  }

  /* ---- an iPhone/Mac profile ---- */

  /* The file name the server gave (Content-Disposition), else one. */
  function fileName(headers, fallback) {
    var cd = headers.get('Content-Disposition') || '';
    var m = /filename="([A-Za-z0-9._-]{1,80})"/.exec(cd);
    return m ? m[1] : fallback;
  }

  function downloadMobileconfig(ev) {
    ev.preventDefault();
    var btn = $('mc-download');
    var name = $('mc-name').value.trim();
    unflash();
    if (name === '') {
      flash('error', 'Device name: the name the device\'s certificate is for.');
      return;
    }
    var body = { name: name, profile: $('mc-profile').value, expires_in: +$('mc-expires').value };
    btn.disabled = true;
    call('/api/v1/scep/mobileconfig', {
      method: 'POST', body: body, blob: true,
      late: revokeLate(function (d, h) { return h && h.get('X-Mica-Token-Id'); })
    }).then(function (res) {
      var url = URL.createObjectURL(res.data);
      var a = el('a', { href: url, download: fileName(res.headers, 'device.mobileconfig') });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      flash('ok', 'Profile for ' + name + ' downloaded; its one-use challenge is listed under Tokens.');
      loadTokens();
      loadAudit();
    }, fail('Making the profile')).then(function () {
      btn.disabled = false;
    });
  }

  /* Add ITEMS to a listing already shown, as fill does to an empty one. */
  function append(tbodyId, emptyId, items, make) {
    var tb = $(tbodyId);
    items.forEach(function (it) {
      tb.appendChild(make(tb.parentNode, it));
    });
    $(emptyId).hidden = tb.children.length > 0;
    tb.parentNode.hidden = tb.children.length === 0;
  }

  // One page of the tokens still usable (or, when asked, of all of
  // them), never the whole table: an MDM's used-up one-use challenges
  // run to hundreds of thousands. The usable listing looks at a bounded
  // number of tokens per request (docs/API.md), so a page may come back
  // short, even empty, with a cursor: go on by itself a few pages before
  // showing "more".
  var tokens = pager({
    url: '/api/v1/tokens', key: 'tokens', what: 'Tokens',
    rows: 'token-rows', empty: 'tokens-empty', more: 'tokens-more',
    row: tokenRow,
    query: function () {
      return ['status=' + ($('tok-show').value === 'all' ? 'all' : 'active')];
    },
    emptyText: function (q) {
      return q.indexOf('status=all') >= 0 ? 'No token yet.'
        : 'No usable token. Show all to see the revoked, expired and used-up ones.';
    },
    again: 20
  });
  var loadTokens = tokens.load;

  /* The certificates a token issued (what to revoke when it leaked):
     the certificate list, filtered by it alone, every status. */
  function certsOfToken(id) {
    unflash();
    $('cert-name').value = '';
    $('cert-expiring').value = '';
    $('cert-status').value = 'all';
    $('cert-token').value = String(id);
    searchCerts().then(function () {
      $('certs-title').focus();
      $('certs').scrollIntoView();
    });
  }

  /* The id of the token this console is signed in with, or null. */
  function ownTokenId() {
    var m = /^mica_([0-9a-f]+)_/.exec(token() || memToken || '');
    return m ? m[1] : null;
  }

  function tokenRow(table, t) {
    var actions = el('span', { 'class': 'row-actions' });
    var scope = t.kind === 'admin' ? 'everything'
      : (t.profile || 'any profile') + ': ' + (Array.isArray(t.names) && t.names.length ? names(t.names) : 'any name in the domains');
    // Revoking the token this console runs on ends its session: the row
    // says which one that is, and the confirmation says what follows.
    var own = t.id === ownTokenId();
    if (t.status === 'active') {
      var rv = label(el('button', { type: 'button', 'class': 'btn small subtle revoke' }, 'Revoke'),
        'Revoke token ' + t.id + (t.comment ? ' (' + t.comment + ')' : '') +
        (own ? ', the token of this session' : ''));
      rv.addEventListener('click', function () {
        var place = rowPlace(rv, 'revoke');
        ask({ title: 'Revoke this token?', ok: 'Revoke', text: 'Token ' + t.id +
          (t.comment ? ' (' + t.comment + ')' : '') + ' stops working at once.',
          warn: own ? function () {
            return 'It is the token this console is signed in with: revoking it ends this session ' +
              'at once. Sign in again with another admin token.';
          } : null })
          .then(function (a) {
            if (!a)
              return;
            unflash();
            call('/api/v1/tokens/' + encodeURIComponent(t.id), { method: 'DELETE' })
              .then(function () {
                if (own) {
                  signOut('You revoked the token this session was signed in with (' + t.id +
                    '). Sign in with another admin token.');
                  return;
                }
                flash('ok', 'Token ' + t.id + ' revoked.');
                loadTokens().then(function () { refocus(place); });
                loadAudit();
              }, fail('Revoking the token'));
          });
      });
      actions.appendChild(rv);
    }
    if (t.kind === 'enroll') {
      var ct = label(el('button', { type: 'button', 'class': 'btn small subtle certs' }, 'Certificates'),
        'Certificates issued with token ' + t.id + (t.comment ? ' (' + t.comment + ')' : ''));
      ct.addEventListener('click', function () { certsOfToken(t.id); });
      actions.appendChild(ct);
    }
    var id = el('span', null, shortId(t.id));
    if (own)
      id.appendChild(el('span', { 'class': 'badge b-self' }, 'this session'));
    if (t.comment)
      id.appendChild(el('span', { 'class': 'sub names' }, String(t.comment)));
    var tr = row(table, [
      id,
      t.kind,
      el('span', { 'class': 'names' }, scope),
      t.uses_left == null ? 'unlimited' : String(t.uses_left),
      t.expires_at ? when(t.expires_at) : 'never',
      badge(t.status),
      actions
    ]);
    tr.setAttribute('data-id', String(t.id));
    return tr;
  }

  /* ---- ACME ---- */

  function createEab(ev) {
    ev.preventDefault();
    var btn = $('eab-create');
    var body = {};
    var nm = $('eab-names').value.split(/[\s,]+/).filter(function (s) { return s !== ''; });
    var comment = $('eab-comment').value.trim();
    if (nm.length > 0)
      body.names = nm;
    if (comment)
      body.comment = comment;
    unflash();
    shutSecret('eab-created', ['eab-kid', 'eab-hmac'], 'eab-warning');
    btn.disabled = true;
    call('/api/v1/acme/eab', {
      method: 'POST', body: body, late: revokeLate(function (d) { return d.eab_kid; })
    }).then(function (res) {
      var d = res.data || {};
      $('eab-kid').value = typeof d.eab_kid === 'string' ? d.eab_kid : '';
      $('eab-hmac').value = typeof d.eab_hmac_key === 'string' ? d.eab_hmac_key : '';
      showWarning('eab-warning', d.warning);
      $('eab-created').hidden = false;
      say('ACME credential created: copy its key id and HMAC key now, the HMAC key is not ' +
        'shown again.' + (typeof d.warning === 'string' ? ' ' + d.warning : ''));
      $('eab-names').value = '';
      $('eab-comment').value = '';
      loadTokens();
      loadAudit();
    }, fail('Creating the ACME credential')).then(function () {
      btn.disabled = false;
    });
  }

  function loadAcme() {
    $('acme-dir').textContent = window.location.origin + '/acme/directory';
    return Promise.all([loadAcmeAccounts(false), loadAcmeOrders(false)]);
  }

  // The ACME accounts and every account's orders, newest first, a page at
  // a time.
  var acmeAccounts = pager({
    url: '/api/v1/acme/accounts', key: 'accounts', what: 'ACME accounts',
    rows: 'acme-account-rows', empty: 'acme-accounts-empty', more: 'acme-accounts-more',
    row: acmeAccountRow
  });
  var loadAcmeAccounts = acmeAccounts.load;
  var acmeOrders = pager({
    url: '/api/v1/acme/orders', key: 'orders', what: 'ACME orders',
    rows: 'acme-order-rows', empty: 'acme-orders-empty', more: 'acme-orders-more',
    row: acmeOrderRow
  });
  var loadAcmeOrders = acmeOrders.load;

  function acmeOrderRow(table, o) {
    var tr = row(table, [shortId(o.id), el('span', { 'class': 'names' }, names(o.names)), when(o.created_at),
      o.serial ? shortId(o.serial) : '-', badge(o.status, o.error || null)]);
    tr.setAttribute('data-id', String(o.id));
    return tr;
  }

  function acmeAccountRow(table, a) {
    var actions = el('span', { 'class': 'row-actions' });
    if (a.status === 'valid') {
      var contact = names(a.contact);
      var dv = label(el('button', { type: 'button', 'class': 'btn small subtle deactivate' }, 'Deactivate'),
        'Deactivate ACME account ' + a.id + (contact ? ' (' + contact + ')' : ''));
      dv.addEventListener('click', function () {
        var place = rowPlace(dv, 'deactivate');
        ask({ title: 'Deactivate this ACME account?', ok: 'Deactivate', text: 'Account ' + a.id +
          ' can no longer order, renew or revoke. Its certificates stay valid until revoked.' })
          .then(function (x) {
            if (!x)
              return;
            unflash();
            call('/api/v1/acme/accounts/' + encodeURIComponent(a.id) + '/deactivate',
              { method: 'POST', body: {} })
              .then(function () {
                flash('ok', 'ACME account ' + a.id + ' deactivated.');
                loadAcme().then(function () { refocus(place); });
                loadAudit();
              }, fail('Deactivating the account'));
          });
      });
      actions.appendChild(dv);
    }
    var tr = row(table, [shortId(a.id), a.token_id ? shortId(a.token_id) : 'open',
      el('span', { 'class': 'names' }, names(a.contact)), when(a.created_at), badge(a.status), actions]);
    tr.setAttribute('data-id', String(a.id));
    return tr;
  }

  /* ---- audit ---- */

  // The newest page of the audit trail; "Show more" goes back a page at
  // a time (before=the next page's id).
  var audit = pager({
    url: '/api/v1/audit', key: 'audit', what: 'Audit trail',
    rows: 'audit-rows', empty: 'audit-empty', more: 'audit-more',
    row: auditRow,
    param: 'before', next: 'next_before'
  });
  var loadAudit = audit.load;

  /* A list read a page at a time, newest first: load(false) a search,
     its first page, load(true) the next page of the listing shown ("Show
     more"). SPEC: url and key (the listing and its array in the answer),
     rows, empty and more (the ids of its table body, its empty message
     and its button), row (a row's builder), what (for errors); param and
     next (the cursor's query parameter and answer member: cursor and
     next_cursor unless said), query (more query terms: read as a search
     starts, and kept with its listing as the certificate list keeps
     certList.q, so "Show more" goes on with the terms its cursor belongs
     to, never with a field changed since), emptyText (the empty
     message for those terms), again (how many pages that come back empty
     with a cursor to fetch on by itself: a listing that looks at a
     bounded number of rows per request, such as the usable tokens).
     A search drops the last listing's cursor and hides its "Show more"
     at once, and moves GEN on: an answer to an older search, or to a
     "Show more" of one, is dropped, its error too, rather than put into
     the new listing. */
  function pager(spec) {
    var p = { q: null, cursor: null, gen: 0 };
    p.load = function (more, hops) {
      var q;
      if (more === true) {
        if (p.q === null || p.cursor == null)
          return Promise.resolve();  // no listing to go on with
        q = p.q.concat((spec.param || 'cursor') + '=' + encodeURIComponent(p.cursor));
      } else {
        more = false;
        p.q = q = ['limit=' + PAGE].concat(spec.query ? spec.query() : []);
        p.gen++;
        p.cursor = null;
        $(spec.more).hidden = true;
      }
      var gen = p.gen;
      return call(spec.url + '?' + q.join('&')).then(function (res) {
        var list = (res.data && res.data[spec.key]) || [];
        var next = res.data ? res.data[spec.next || 'next_cursor'] : null;
        if (gen !== p.gen)
          return;
        if (!more && spec.emptyText)
          $(spec.empty).textContent = spec.emptyText(q);
        (more ? append : fill)(spec.rows, spec.empty, list, spec.row);
        p.cursor = next != null ? next : null;
        $(spec.more).hidden = p.cursor == null;
        if (list.length === 0 && p.cursor != null && (hops || 0) < (spec.again || 0))
          return p.load(true, (hops || 0) + 1);
      }, function (err) {
        if (gen !== p.gen)
          return;
        fail(spec.what)(err);
      });
    };
    /* Sign-out: no listing, and an answer still under way dropped. */
    p.reset = function () {
      p.q = p.cursor = null;
      p.gen++;
    };
    return p;
  }

  /* A "Show more" button: one page at a time, so a double click does not
     fetch the same cursor twice and append its page twice. Sign-out
     enables it again if its answer is dropped. */
  function moreButton(id, load) {
    $(id).addEventListener('click', function () {
      var b = $(id);
      var done = function () { b.disabled = false; };
      if (b.disabled)
        return;
      unflash();
      b.disabled = true;
      Promise.resolve(load(true)).then(done, done);
    });
  }

  function auditRow(table, a) {
    var tr = row(table, [when(a.at), a.actor, a.action,
      el('span', { 'class': 'id names' }, String(a.target || '')),
      el('span', { 'class': 'names' }, a.detail == null ? '' : String(a.detail))]);
    tr.setAttribute('data-id', String(a.id));
    return tr;
  }

  /* Everything an approval or a revocation changes; then, with PLACE
     (rowPlace), focus back where the action was. */
  function refreshAll(place) {
    var lists;
    loadStatus();
    // The certificate listing searched, from its first page (not the
    // filter as typed since: that is a search of its own).
    lists = Promise.all([loadPending(), loadCerts(false)]);
    loadAudit();
    if (place)
      lists.then(function () { refocus(place); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', function () { signOut(null); });
    $('pending-refresh').addEventListener('click', function () {
      unflash();
      loadPending();
    });
    $('audit-refresh').addEventListener('click', function () {
      unflash();
      loadAudit(false);
    });
    moreButton('audit-more', loadAudit);
    $('cert-filter').addEventListener('submit', function (ev) {
      ev.preventDefault();
      unflash();
      searchCerts();
    });
    moreButton('certs-more', loadCerts);
    moreButton('tokens-more', loadTokens);
    $('tok-show').addEventListener('change', function () {
      unflash();
      loadTokens(false);
    });
    $('token-filter').addEventListener('submit', function (ev) { ev.preventDefault(); });
    $('crl-publish').addEventListener('click', publishCrl);
    $('confirm-cancel').addEventListener('click', function () { $('confirm').close('cancel'); });
    $('token-form').addEventListener('submit', createToken);
    $('mc-form').addEventListener('submit', downloadMobileconfig);
    $('eab-form').addEventListener('submit', createEab);
    $('acme-refresh').addEventListener('click', function () {
      unflash();
      loadAcme();
    });
    moreButton('acme-accounts-more', loadAcmeAccounts);
    moreButton('acme-orders-more', loadAcmeOrders);
    $('eab-kid-copy').addEventListener('click', function () {
      mica.copy($('eab-kid').value, $('eab-kid'), $('eab-kid-copy'));
    });
    $('eab-hmac-copy').addEventListener('click', function () {
      mica.copy($('eab-hmac').value, $('eab-hmac'), $('eab-hmac-copy'));
    });
    $('token-copy').addEventListener('click', function () {
      mica.copy($('token-value').value, $('token-value'), $('token-copy'));
    });
    if (token())
      enterConsole(null);
    else
      showSignIn(null);
  });
})();
