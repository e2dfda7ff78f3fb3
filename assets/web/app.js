// SlugBase web UI, progressive enhancement only: every page works without this file.
// Command palette, copy/download buttons, confirmations, password strength, search as you type,
// bulk selection, open tracking, modal dialogs (focus moved in, kept there and given back, Escape
// closes), the first error of a failed form focused, passkey ceremonies, and Escape handling.
(() => {
  'use strict';
  const $ = (s, r = document) => r.querySelector(s);
  const $$ = (s, r = document) => Array.from(r.querySelectorAll(s));
  const on = (t, ev, fn, opt) => t.addEventListener(ev, fn, opt);
  const debounce = (fn, ms) => {
    let t;
    return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
  };
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const attrs = (e, map) => { for (const k in map) e.setAttribute(k, map[k]); return e; };
  const icon = (name) => '<svg class="icon" aria-hidden="true"><use href="#i-' + name + '"/></svg>';

  const dataEl = $('#palette-data');
  let data = {};
  try { data = (dataEl && JSON.parse(dataEl.textContent)) || {}; } catch (_) { /* no palette data */ }
  const S = data.strings || {};

  let live;
  const announce = (text) => {
    if (!live) document.body.append(live = attrs(el('div', 'sr-only'), { 'aria-live': 'polite' }));
    live.textContent = '';
    setTimeout(() => { live.textContent = text; }, 30);
  };
  const track = (id) => {
    try { if (id && navigator.sendBeacon) navigator.sendBeacon('/bookmarks/' + encodeURIComponent(id) + '/open'); } catch (_) { /* best effort */ }
  };
  const go = (url, newTab) => {
    if (newTab) window.open(url, '_blank', 'noopener');
    else location.href = url;
  };

  // --- copy & download
  const copyText = async (text) => {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) { /* fall back below */ }
    const ta = el('textarea', 'sr-only');
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (_) { /* unsupported */ }
    ta.remove();
    return ok;
  };
  const copied = (b) => {
    if (b._t) clearTimeout(b._t);
    else b._html = b.innerHTML;
    const text = S.copied || '✓';
    b.textContent = b.classList.contains('icon-button') ? '✓' : text;
    b.classList.add('is-copied');
    announce(text);
    b._t = setTimeout(() => { b.innerHTML = b._html; b.classList.remove('is-copied'); b._t = null; }, 1500);
  };
  const download = (b) => {
    const src = $(b.getAttribute('data-download-source'));
    if (!src) return;
    const lis = $$('li', src);
    const text = lis.length ? lis.map((li) => li.textContent.trim()).join('\n')
      : typeof src.value === 'string' ? src.value : src.textContent.trim();
    const url = URL.createObjectURL(new Blob([text + '\n'], { type: 'text/plain;charset=utf-8' }));
    const a = el('a');
    a.href = url;
    a.download = b.getAttribute('data-download') || 'download.txt';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  // --- command palette
  const palette = dataEl && (() => {
    const item = (kind) => (n) => ({ kind, label: n.label, url: n.url, meta: kind === 'nav' ? n.url : '' });
    const nav = (data.nav || []).map(item('nav'));
    const actions = (data.actions || []).map(item('action'));
    const iconOf = (it) => (it.kind === 'nav'
      ? { '': 'home', bookmarks: 'bookmark', folders: 'folder', tags: 'tag', profile: 'users', admin: 'settings' }[it.url.split('/')[1]] || 'link'
      : it.kind === 'action' ? (/import/.test(it.url) ? 'upload' : /export/.test(it.url) ? 'download' : 'plus')
        : { bookmark: 'bookmark', folder: 'folder', tag: 'tag', go: 'zap' }[it.kind]);
    const GO = /^(?:go\s+|\/?go\/)(\S+)\s*$/i;
    const label = S.placeholder || 'Search';

    const dlg = attrs(el('dialog', 'palette'), { id: 'palette', 'aria-label': label });
    dlg.innerHTML = '<div class="palette-bar">' + icon('search') +
      '<input id="palette-input" type="text" autocomplete="off" spellcheck="false" role="combobox" aria-expanded="true" aria-controls="palette-list" aria-autocomplete="list">' +
      '<kbd class="hide-sm">Esc</kbd></div><div class="palette-list" id="palette-list" role="listbox"></div>' +
      '<div class="sr-only" id="palette-status" role="status"></div>' +
      '<div class="palette-foot hide-sm" aria-hidden="true"><span><kbd>↑</kbd> <kbd>↓</kbd></span><span><kbd>↵</kbd></span>' +
      '<span><kbd>Ctrl ↵</kbd> ↗</span><span><kbd>Esc</kbd> ×</span></div>';
    const input = attrs($('input', dlg), { placeholder: label, 'aria-label': label });
    const list = attrs($('.palette-list', dlg), { 'aria-label': label });
    const status = $('#palette-status', dlg);
    document.body.append(dlg);
    // The number of results, said by screen readers once typing pauses (inside the dialog: the
    // page behind a modal dialog is inert, its live regions too).
    const count = (n) => (n === 1 ? dataEl.dataset.resultOne || '1' : (dataEl.dataset.results || '{0}').replace('{0}', n));
    const say = debounce((text) => {
      status.textContent = text;
    }, 500);

    let items = [];
    let active = -1;
    let opener = null;
    let ctrl = null;
    let seq = 0;
    let refocusing = false;

    const select = (i) => {
      const opts = $$('[role=option]', list);
      active = opts.length ? (i + opts.length) % opts.length : -1;
      opts.forEach((o, k) => o.setAttribute('aria-selected', String(k === active)));
      if (active < 0) return input.removeAttribute('aria-activedescendant');
      input.setAttribute('aria-activedescendant', opts[active].id);
      opts[active].scrollIntoView({ block: 'nearest' });
    };
    const render = (groups) => {
      list.textContent = '';
      items = [];
      groups.forEach(([name, entries], g) => {
        if (!entries.length) return;
        const head = attrs(el('div', 'palette-group', name), { id: 'palette-g' + g });
        const group = attrs(el('div'), { role: 'group', 'aria-labelledby': head.id });
        group.append(head);
        for (const it of entries) {
          const opt = attrs(el('div', 'palette-item'), { id: 'palette-o' + items.length, role: 'option', 'aria-selected': 'false', 'data-index': items.length });
          opt.innerHTML = icon(iconOf(it));
          opt.append(el('span', 'pi-label', it.label));
          if (it.meta) opt.append(el('span', 'pi-meta', it.meta));
          group.append(opt);
          items.push(it);
        }
        list.append(group);
      });
      if (!items.length) list.append(el('div', 'palette-empty', S.empty || '—'));
      select(0);
      if (input.value.trim()) say(items.length ? count(items.length) : S.empty || '0');
    };
    const filter = (arr, q) => arr.filter((n) => n.label.toLowerCase().includes(q.toLowerCase()));
    const host = (url) => { try { return new URL(url).host; } catch (_) { return url; } };
    const goItem = (q) => {
      const m = GO.exec(q);
      const url = m && data.go && data.go + encodeURIComponent(m[1]);
      return url ? { kind: 'go', label: '/go/' + m[1], url, meta: url, newTab: true } : null;
    };
    const build = (q, remote) => {
      const g = goItem(q);
      render([[S.open_go, g ? [g] : []], ...remote,
        [S.navigation, filter(nav, q)], [S.actions, filter(actions, q)]]);
    };
    const search = debounce((q, id) => {
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      fetch('/api/bookmarks/search?q=' + encodeURIComponent(q), { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: ctrl.signal })
        .then((r) => (r.ok ? r.json() : []))
        .then((rows) => {
          if (id !== seq || !dlg.open) return;
          const of = (type) => (Array.isArray(rows) ? rows : []).filter((r) => r.type === type);
          build(input.value.trim(), [
            [S.bookmarks, of('bookmark').map((b) => ({ kind: 'bookmark', id: b.id, label: b.title || b.url, url: b.url, newTab: true, meta: b.slug ? '/go/' + b.slug : host(b.url) }))],
            [S.folders, of('folder').map((f) => ({ kind: 'folder', label: f.title, url: '/bookmarks?folder_id=' + encodeURIComponent(f.id) }))],
            [S.tags, of('tag').map((t) => ({ kind: 'tag', label: t.title, url: '/bookmarks?tag_id=' + encodeURIComponent(t.id) }))],
          ]);
        })
        .catch(() => { /* aborted or offline: the local matches stay */ });
    }, 250);
    const update = () => {
      const q = input.value.trim();
      seq++;
      if (!q) {
        if (ctrl) ctrl.abort();
        return render([[S.navigation, nav], [S.actions, actions]]);
      }
      build(q, []);
      const m = GO.exec(q);
      search(m ? m[1] : q, seq);
    };
    const activate = (newTab) => {
      const it = items[active];
      const q = input.value.trim();
      if (!it && !q) return;
      dlg.close();
      if (!it) return go('/bookmarks?q=' + encodeURIComponent(q), newTab);
      if (it.kind === 'bookmark') track(it.id);
      go(it.url, newTab || it.newTab);
    };
    const open = (from, text) => {
      if (dlg.open) return;
      opener = from || document.activeElement;
      const t = $('#nav-toggle');
      if (t) t.checked = false;
      input.value = text || '';
      status.textContent = '';
      update();
      dlg.showModal();
      document.body.classList.add('palette-open');
      input.focus();
    };

    on(dlg, 'close', () => {
      document.body.classList.remove('palette-open');
      if (ctrl) ctrl.abort();
      seq++;
      if (opener && opener.isConnected && opener.focus) {
        refocusing = true;
        opener.focus();
        setTimeout(() => { refocusing = false; });
      }
    });
    on(dlg, 'click', (e) => {
      if (e.target === dlg) return dlg.close();
      const opt = e.target.closest('[role=option]');
      if (opt) {
        select(+opt.dataset.index);
        activate(e.ctrlKey || e.metaKey);
      }
    });
    on(input, 'input', update);
    on(input, 'keydown', (e) => {
      const step = { ArrowDown: 1, ArrowUp: -1 }[e.key];
      if (step) {
        e.preventDefault();
        select(active + step);
      } else if (e.key === 'Enter') {
        e.preventDefault();
        activate(e.ctrlKey || e.metaKey);
      }
    });
    on(document, 'keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        if (dlg.open) dlg.close();
        else open(document.activeElement);
      }
    });
    on(document, 'click', (e) => {
      const b = e.target.closest('[data-palette-open]');
      if (b) {
        e.preventDefault();
        open(b);
      }
    });
    // Typing in (or clicking) the dashboard's search field opens the palette; tabbing through
    // the page does not (focus alone must not open a dialog).
    for (const inp of $$('input[data-palette-input]')) {
      on(inp, 'click', () => refocusing || open(inp, inp.value));
      on(inp, 'input', () => open(inp, inp.value));
      on(inp, 'keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          open(inp, inp.value);
        }
      });
    }
    return dlg;
  })();

  // --- bulk selection
  const bulk = $('form#bulk-form');
  const boxes = () => (bulk ? $$('input[name=ids]', bulk) : []);
  const bulkUpdate = () => {
    if (!bulk) return;
    const all = boxes();
    const n = all.filter((b) => b.checked).length;
    for (const bar of $$('.bulk-bar')) bar.hidden = !n;
    for (const c of $$('[data-bulk-count]')) {
      const tpl = c.getAttribute('data-bulk-count');
      c.textContent = tpl.includes('{0}') ? tpl.replace('{0}', n) : S.selected ? S.selected.replace('{0}', n) : n + ' / ' + all.length;
    }
    for (const a of $$('input[type=checkbox][data-select-all]')) {
      a.checked = all.length > 0 && n === all.length;
      a.indeterminate = n > 0 && n < all.length;
    }
  };
  const selectAll = (ctl) => {
    const all = boxes();
    const state = ctl.type === 'checkbox' ? ctl.checked : !all.every((b) => b.checked);
    for (const b of all) b.checked = state;
    bulkUpdate();
  };
  if (bulk) {
    on(bulk, 'change', (e) => e.target.name === 'ids' && bulkUpdate());
    bulkUpdate();
  }

  // --- search as you type
  const filters = $('form#filters');
  const results = $('#results');
  const query = filters && $('input#search', filters);
  if (query && results) {
    let ctrl = null;
    on(query, 'input', debounce(() => {
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(filters)) {
        if (typeof v === 'string' && v !== '' && !['fragment', 'page', 'offset'].includes(k)) params.append(k, v);
      }
      const qs = params.toString();
      const url = new URL(filters.getAttribute('action') || location.pathname, location.href).pathname + (qs ? '?' + qs : '');
      if (ctrl) ctrl.abort();
      const mine = (ctrl = new AbortController());
      results.setAttribute('aria-busy', 'true');
      fetch(url + (qs ? '&' : '?') + 'fragment=results', { credentials: 'same-origin', signal: mine.signal })
        .then((r) => {
          if (!r.ok) throw new Error(r.status);
          return r.text();
        })
        .then((html) => {
          if (mine !== ctrl) return;
          // The answer may be the whole <div id="results">: keep only its inside.
          const t = document.createElement('template');
          t.innerHTML = html;
          const inner = t.content.querySelector('#results');
          results.innerHTML = inner ? inner.innerHTML : html;
          history.replaceState(history.state, '', url);
          bulkUpdate();
          // Screen readers hear how many bookmarks match (the list itself is not live: too long).
          const said = $('#results-status');
          const summary = $('.result-count, .empty-state h2', results);
          if (said) said.textContent = summary ? summary.textContent.trim() : '';
        })
        .catch(() => { /* aborted or failed: keep the current results */ })
        .finally(() => mine === ctrl && results.removeAttribute('aria-busy'));
    }, 300));
  }
  on(document, 'change', (e) => {
    const t = e.target;
    if (t.matches('[data-select-all]')) selectAll(t);
    else if (t.form && t.matches('[data-autosubmit], form#filters select')) {
      if (t.form.requestSubmit) t.form.requestSubmit();
      else t.form.submit();
    }
  });

  // --- password strength
  for (const inp of $$('input[data-strength]')) {
    const meter = document.getElementById(inp.getAttribute('data-strength'));
    if (!meter) continue;
    const upd = () => {
      const p = inp.value;
      let s = (p.length >= 8) + (p.length >= 12) + (/[a-z]/.test(p) && /[A-Z]/.test(p)) + /\d/.test(p) + /[^A-Za-z0-9]/.test(p);
      if (p.length < 8) s = Math.min(s, 1);
      meter.value = Math.min(s, 4);
      meter.setAttribute('data-score', meter.value);
      attrs(meter, { low: 2, high: 3, optimum: 4 });
      meter.hidden = false;
    };
    on(inp, 'input', upd);
    if (inp.value) upd();
  }

  // --- confirmations
  on(document, 'submit', (e) => {
    const msg = (e.submitter && e.submitter.getAttribute('data-confirm')) || e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // --- clicks
  on(document, 'click', (e) => {
    const t = e.target;
    const c = t.closest('[data-copy]');
    const d = t.closest('[data-download][data-download-source]');
    const s = t.closest('[data-select-all]:not(input)');
    const tr = t.closest('a[data-track]');
    if (c) {
      e.preventDefault();
      copyText(c.getAttribute('data-copy')).then((ok) => ok && copied(c));
    } else if (d) {
      e.preventDefault();
      download(d);
    } else if (s) {
      e.preventDefault();
      selectAll(s);
    } else if (tr) track(tr.getAttribute('data-track'));
    for (const m of $$('details.menu[open]')) if (!m.contains(t)) m.open = false;
  });
  // Menus inside a scrolling table: placed with fixed coordinates so the scroll box does not clip
  // them (flipped upwards near the bottom); closed when anything scrolls.
  on(document, 'toggle', (e) => {
    const d = e.target;
    const list = d.matches && d.matches('details.menu[open]') && d.closest('.table-wrap') && $('.menu-list', d);
    if (!list) return;
    const r = $('summary', d).getBoundingClientRect();
    const h = list.offsetHeight;
    list.style.transform = 'none';
    list.style.left = Math.max(8, r.right - list.offsetWidth) + 'px';
    list.style.top = (r.bottom + 6 + h > innerHeight && r.top > h + 6 ? r.top - 6 - h : r.bottom + 6) + 'px';
  }, true);
  on(window, 'scroll', () => {
    for (const m of $$('.table-wrap details.menu[open]')) m.open = false;
  }, { capture: true, passive: true });
  on(document, 'auxclick', (e) => {
    const a = e.button === 1 && e.target.closest('a[data-track]');
    if (a) track(a.getAttribute('data-track'));
  });

  // --- server-rendered modals
  // A page with ?create=, ?edit=, ?share=… renders an open <dialog>. The script makes it modal
  // (the page behind becomes inert), moves the focus in (the first field with an error, else the
  // autofocus or first field), keeps Tab inside, and closes it with Escape or a click beside it by
  // going to its close link. The link that opened it is remembered, and gets the focus back on
  // the page the dialog returns to.
  const OPENER = 'slugbase.dialog-opener';
  const modal = $('dialog.modal[open]');
  const tabbables = (root) => $$('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]', root)
    .filter((f) => !f.disabled && f.tabIndex >= 0 && f.getClientRects().length && !f.closest('[inert], [hidden]'));
  if (modal) {
    const closeLink = $('.modal-head a[href]', modal);
    const leave = () => { if (closeLink) location.href = closeLink.href; };
    modal.close();
    modal.showModal();
    for (const b of $$('.modal-backdrop')) b.hidden = true;
    on(modal, 'cancel', (e) => {
      e.preventDefault();
      leave();
    });
    // Closed without a cancel event (browsers may skip it); not the close() above: open again by then.
    on(modal, 'close', () => modal.open || leave());
    on(modal, 'click', (e) => { if (e.target === modal) leave(); });
    on(modal, 'keydown', (e) => {
      if (e.key !== 'Tab') return;
      const all = tabbables(modal);
      if (!all.length) return;
      const [first, last] = [all[0], all[all.length - 1]];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    });
    const first = $('[aria-invalid=true]', modal) || $('[autofocus]', modal) ||
      $$('input:not([type=hidden]):not([disabled]), select, textarea, button, a[href]', modal)
        .filter((f) => !f.closest('.modal-head') && f.getClientRects().length)
        .sort((a, b) => b.matches('input, select, textarea') - a.matches('input, select, textarea'))[0];
    if (first) first.focus();
  } else {
    // Back from a dialog: the link that opened it (or the menu it was in) gets the focus.
    let back = null;
    try { back = JSON.parse(sessionStorage.getItem(OPENER) || 'null'); } catch (_) { /* storage off */ }
    try { sessionStorage.removeItem(OPENER); } catch (_) { /* storage off */ }
    if (back && Date.now() - back.at < 10 * 60 * 1000) {
      const same = $$('a[href]').filter((a) => a.getAttribute('href') === back.href);
      const target = same[back.path === location.pathname ? back.index : 0] || same[0];
      const menu = target && target.closest('details.menu');
      const focus = menu ? $('summary', menu) : target;
      if (focus) focus.focus();
    } else {
      // A form sent back with errors: the first field in error gets the focus (else the error).
      const bad = $('form [aria-invalid=true]');
      const alert = $('form .alert-error[role=alert]');
      if (bad) bad.focus();
      else if (alert) {
        alert.tabIndex = -1;
        alert.focus();
      }
    }
  }
  // Remember which link opens a dialog (the dialog page then knows nothing about it).
  on(document, 'click', (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || modal) return;
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin || ![...u.searchParams.keys()].some((k) => /^(create|edit|share|import|delete|teams)$/.test(k))) return;
    const same = $$('a[href]').filter((x) => x.getAttribute('href') === a.getAttribute('href'));
    try {
      sessionStorage.setItem(OPENER, JSON.stringify({ href: a.getAttribute('href'), index: same.indexOf(a), path: location.pathname, at: Date.now() }));
    } catch (_) { /* storage off */ }
  }, true);

  // --- Passkeys: the JSON API runs the ceremonies; this turns its base64url fields into the
  // buffers navigator.credentials takes, and the authenticator's answer back into JSON.
  const b64u = {
    dec: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer,
    enc: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  };
  const credentialJSON = (cred) => {
    const r = cred.response;
    const response = { clientDataJSON: b64u.enc(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64u.enc(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = b64u.enc(r.authenticatorData);
      response.signature = b64u.enc(r.signature);
      if (r.userHandle) response.userHandle = b64u.enc(r.userHandle);
    }
    return { id: cred.id, rawId: b64u.enc(cred.rawId), type: cred.type, response, extensions: {} };
  };
  let csrf;
  const apiPost = async (url, body) => {
    if (!csrf) csrf = (await (await fetch('/api/csrf-token', { credentials: 'same-origin' })).json()).csrfToken;
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body || {}),
    });
    const v = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(v.error || String(res.status)), { code: v.code });
    return v;
  };
  const passkeyMessage = (host, e) => {
    const d = host.dataset;
    if (e && (e.name === 'NotAllowedError' || e.name === 'AbortError')) return d.msgCancelled;
    const byCode = {
      REAUTH_REQUIRED: d.msgReauth,
      INVALID_PASSWORD: d.msgPassword,
      PASSKEY_UNKNOWN: d.msgUnknown,
      MFA_PENDING_INVALID: d.msgExpired,
    };
    return (e && byCode[e.code]) || d.msgGeneric;
  };
  const passkeyCeremony = async (host, run) => {
    const box = $('#passkey-error');
    if (box) box.hidden = true;
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (box) { box.textContent = host.dataset.msgUnsupported; box.hidden = false; }
      return;
    }
    const busy = host.matches('form') ? $('button[type=submit]', host) : host;
    busy.disabled = true;
    try {
      await run();
    } catch (e) {
      if (box) { box.textContent = passkeyMessage(host, e); box.hidden = false; box.setAttribute('tabindex', '-1'); box.focus(); }
    } finally {
      busy.disabled = false;
    }
  };
  const requestOptions = (pk) => {
    pk.challenge = b64u.dec(pk.challenge);
    for (const c of pk.allowCredentials || []) c.id = b64u.dec(c.id);
    return pk;
  };
  const passkeyForm = $('form[data-passkey=register]');
  if (passkeyForm) {
    on(passkeyForm, 'submit', (e) => {
      e.preventDefault();
      passkeyCeremony(passkeyForm, async () => {
        const field = (n) => { const f = passkeyForm.elements[n]; return f && f.value ? f.value : undefined; };
        const opts = await apiPost('/api/auth/passkeys/register/begin', { password: field('password'), code: field('code') });
        const pk = opts.publicKey;
        pk.challenge = b64u.dec(pk.challenge);
        pk.user.id = b64u.dec(pk.user.id);
        for (const c of pk.excludeCredentials || []) c.id = b64u.dec(c.id);
        const cred = await navigator.credentials.create({ publicKey: pk });
        await apiPost('/api/auth/passkeys/register/finish', { name: field('name') || '', credential: credentialJSON(cred) });
        location.assign('/profile/security/passkeys/added');
      });
    });
  }
  for (const button of $$('button[data-passkey=login], button[data-passkey=mfa]')) {
    const base = button.dataset.passkey === 'login' ? '/api/auth/passkeys/login/' : '/api/auth/mfa/passkey/';
    on(button, 'click', () => passkeyCeremony(button, async () => {
      const opts = await apiPost(base + 'begin');
      const cred = await navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
      await apiPost(base + 'finish', { credential: credentialJSON(cred) });
      location.assign(button.dataset.redirect || '/');
    }));
  }

  // --- Escape
  on(document, 'keydown', (e) => {
    if (e.key !== 'Escape' || (palette && palette.open)) return;
    const menus = $$('details.menu[open]');
    const toggle = $('#nav-toggle');
    const close = $('dialog.modal[open] .modal-head a[href]');
    if (menus.length) {
      for (const m of menus) {
        if (m.contains(document.activeElement)) $('summary', m).focus();
        m.open = false;
      }
    } else if (toggle && toggle.checked) {
      toggle.checked = false;
      toggle.focus();
    } else if (close) {
      e.preventDefault();
      location.href = close.href;
    }
  });
})();
