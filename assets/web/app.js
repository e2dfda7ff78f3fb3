// SlugBase web UI: progressive enhancement only. Every page works without this file.
// Command palette, copy/download buttons, confirmations, password strength, search as you
// type, bulk selection, open tracking, modal focus and a few keyboard niceties.
(() => {
  'use strict';

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const debounce = (fn, ms) => {
    let t;
    return (...args) => {
      clearTimeout(t);
      t = setTimeout(() => fn(...args), ms);
    };
  };
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const icon = (name) => {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    const use = document.createElementNS(NS, 'use');
    use.setAttribute('href', '#' + name);
    svg.append(use);
    return svg;
  };

  let data = {};
  try {
    const src = $('#palette-data');
    if (src) data = JSON.parse(src.textContent) || {};
  } catch (_) {
    data = {};
  }
  const S = data.strings || {};

  // A polite live region for short announcements ("Copied").
  let live;
  const announce = (text) => {
    if (!live) {
      live = el('div', 'sr-only');
      live.setAttribute('aria-live', 'polite');
      document.body.append(live);
    }
    live.textContent = '';
    setTimeout(() => { live.textContent = text; }, 30);
  };

  const track = (id) => {
    if (id && navigator.sendBeacon) {
      try { navigator.sendBeacon('/bookmarks/' + encodeURIComponent(id) + '/open'); } catch (_) { /* ignore */ }
    }
  };

  const openUrl = (url, newTab) => {
    if (newTab) window.open(url, '_blank', 'noopener');
    else location.href = url;
  };

  // ---------------------------------------------------------------- copy & download
  const copyText = async (text) => {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) { /* fall back */ }
    const ta = el('textarea', 'sr-only');
    ta.value = text;
    ta.setAttribute('readonly', '');
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    ta.remove();
    return ok;
  };

  const showCopied = (btn) => {
    if (btn._copyTimer) clearTimeout(btn._copyTimer);
    else btn._copyHtml = btn.innerHTML;
    const text = S.copied || '✓';
    const iconOnly = btn.classList.contains('icon-button');
    btn.textContent = iconOnly ? '✓' : text;
    btn.classList.add('is-copied');
    announce(text);
    btn._copyTimer = setTimeout(() => {
      btn.innerHTML = btn._copyHtml;
      btn.classList.remove('is-copied');
      btn._copyTimer = null;
    }, 1500);
  };

  const download = (btn) => {
    const src = $(btn.getAttribute('data-download-source'));
    if (!src) return;
    const items = $$('li', src);
    const text = items.length
      ? items.map((li) => li.textContent.trim()).join('\n')
      : ('value' in src && typeof src.value === 'string' ? src.value : src.textContent.trim());
    const url = URL.createObjectURL(new Blob([text + '\n'], { type: 'text/plain;charset=utf-8' }));
    const a = el('a');
    a.href = url;
    a.download = btn.getAttribute('data-download') || 'download.txt';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  // ---------------------------------------------------------------- command palette
  const palette = (() => {
    if (!$('#palette-data')) return null;
    const nav = (data.nav || []).map((n) => ({ kind: 'nav', label: n.label, url: n.url, meta: n.url }));
    const actions = (data.actions || []).map((n) => ({ kind: 'action', label: n.label, url: n.url }));
    const ICONS = { nav: 'i-list', action: 'i-plus', bookmark: 'i-bookmark', folder: 'i-folder', tag: 'i-tag', go: 'i-zap' };
    const NAV_ICONS = { '/': 'i-home', '/bookmarks': 'i-bookmark', '/folders': 'i-folder', '/tags': 'i-tag', '/profile': 'i-users', '/go-preferences': 'i-star', '/search-engine-guide': 'i-zap', '/admin/members': 'i-users', '/admin/teams': 'i-team', '/admin/settings': 'i-settings', '/admin/audit-log': 'i-list' };
    const itemIcon = (it) => it.kind === 'action'
      ? (/import/.test(it.url) ? 'i-upload' : /export/.test(it.url) ? 'i-download' : 'i-plus')
      : it.kind === 'nav' ? NAV_ICONS[it.url] || 'i-link' : ICONS[it.kind];
    const GO = /^(?:go\s+|\/?go\/)(\S+)\s*$/i;

    const dlg = el('dialog', 'palette');
    dlg.id = 'palette';
    dlg.setAttribute('aria-label', S.placeholder || 'Search');
    const bar = el('div', 'palette-bar');
    const input = el('input');
    input.type = 'text';
    input.id = 'palette-input';
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.placeholder = S.placeholder || '';
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-controls', 'palette-list');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-label', S.placeholder || 'Search');
    const esc = el('kbd', 'hide-sm', 'Esc');
    bar.append(icon('i-search'), input, esc);
    const list = el('div', 'palette-list');
    list.id = 'palette-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', S.placeholder || 'Search');
    const foot = el('div', 'palette-foot hide-sm');
    foot.setAttribute('aria-hidden', 'true');
    for (const [k, t] of [['↑ ↓', ''], ['↵', ''], ['Ctrl ↵', '↗'], ['Esc', '×']]) {
      const s = el('span');
      s.append(el('kbd', '', k));
      if (t) s.append(' ' + t);
      foot.append(s);
    }
    dlg.append(bar, list, foot);
    document.body.append(dlg);

    let items = [];
    let active = -1;
    let opener = null;
    let ctrl = null;
    let seq = 0;

    const select = (i) => {
      const opts = $$('[role=option]', list);
      if (!opts.length) {
        active = -1;
        input.removeAttribute('aria-activedescendant');
        return;
      }
      active = (i + opts.length) % opts.length;
      opts.forEach((o, k) => o.setAttribute('aria-selected', k === active ? 'true' : 'false'));
      input.setAttribute('aria-activedescendant', opts[active].id);
      opts[active].scrollIntoView({ block: 'nearest' });
    };

    const render = (groups) => {
      list.textContent = '';
      items = [];
      let g = 0;
      for (const [label, entries] of groups) {
        if (!entries.length) continue;
        const group = el('div');
        group.setAttribute('role', 'group');
        const head = el('div', 'palette-group', label);
        head.id = 'palette-g' + g++;
        group.setAttribute('aria-labelledby', head.id);
        group.append(head);
        for (const it of entries) {
          const opt = el('div', 'palette-item');
          opt.id = 'palette-o' + items.length;
          opt.setAttribute('role', 'option');
          opt.setAttribute('aria-selected', 'false');
          opt.dataset.index = items.length;
          opt.append(icon(itemIcon(it)), el('span', 'pi-label', it.label));
          if (it.meta) opt.append(el('span', 'pi-meta', it.meta));
          group.append(opt);
          items.push(it);
        }
        list.append(group);
      }
      if (!items.length) list.append(el('div', 'palette-empty', S.empty || '—'));
      select(0);
    };

    const matches = (arr, q) => {
      const l = q.toLowerCase();
      return arr.filter((n) => n.label.toLowerCase().includes(l));
    };

    const host = (url) => {
      try { return new URL(url).host; } catch (_) { return url; }
    };

    const goItem = (q) => {
      const m = GO.exec(q);
      if (!m || !data.go) return null;
      return { kind: 'go', label: (S.open_go || 'Open') + ': /go/' + m[1], url: data.go + encodeURIComponent(m[1]).replace(/%2F/g, '/'), meta: '', newTab: true, slug: m[1] };
    };

    const fetchResults = debounce((q, id) => {
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      fetch('/api/bookmarks/search?q=' + encodeURIComponent(q), {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
        signal: ctrl.signal,
      })
        .then((r) => (r.ok ? r.json() : []))
        .then((res) => {
          if (id !== seq || !dlg.open) return;
          const rows = Array.isArray(res) ? res : [];
          const of = (type) => rows.filter((r) => r.type === type);
          const bm = of('bookmark').map((b) => ({
            kind: 'bookmark', label: b.title || b.url, url: b.url, newTab: true, id: b.id,
            meta: b.slug ? '/go/' + b.slug : host(b.url),
          }));
          const fo = of('folder').map((f) => ({ kind: 'folder', label: f.title, url: '/bookmarks?folder_id=' + encodeURIComponent(f.id) }));
          const tg = of('tag').map((t) => ({ kind: 'tag', label: t.title, url: '/bookmarks?tag_id=' + encodeURIComponent(t.id) }));
          build(input.value.trim(), [[S.bookmarks || 'Bookmarks', bm], [S.folders || 'Folders', fo], [S.tags || 'Tags', tg]]);
        })
        .catch(() => { /* aborted or offline: keep the local matches */ });
    }, 250);

    const build = (q, remote) => {
      const go = goItem(q);
      render([
        ...(go ? [[S.open_go || 'Go', [go]]] : []),
        ...remote,
        [S.navigation || 'Navigation', matches(nav, q)],
        [S.actions || 'Actions', matches(actions, q)],
      ]);
    };

    const update = () => {
      const q = input.value.trim();
      seq++;
      if (!q) {
        if (ctrl) ctrl.abort();
        render([[S.navigation || 'Navigation', nav], [S.actions || 'Actions', actions]]);
        return;
      }
      build(q, []);
      const m = GO.exec(q);
      fetchResults(m ? m[1] : q, seq);
    };

    const activate = (i, newTab) => {
      const it = items[i];
      if (!it) {
        const q = input.value.trim();
        if (!q) return;
        close();
        openUrl('/bookmarks?q=' + encodeURIComponent(q), newTab);
        return;
      }
      if (it.kind === 'bookmark') track(it.id);
      close();
      openUrl(it.url, newTab || it.newTab);
    };

    let refocusing = false;
    const open = (from, text) => {
      if (dlg.open) return;
      opener = from || document.activeElement;
      const t = $('#nav-toggle');
      if (t) t.checked = false;
      input.value = text || '';
      update();
      dlg.showModal();
      document.body.classList.add('palette-open');
      input.focus();
      const len = input.value.length;
      input.setSelectionRange(len, len);
    };
    const close = () => {
      if (dlg.open) dlg.close();
    };
    dlg.addEventListener('close', () => {
      document.body.classList.remove('palette-open');
      if (ctrl) ctrl.abort();
      seq++;
      if (opener && document.contains(opener) && typeof opener.focus === 'function') {
        refocusing = true;
        opener.focus();
        setTimeout(() => { refocusing = false; }, 0);
      }
    });
    dlg.addEventListener('click', (e) => {
      if (e.target === dlg) close();
      const opt = e.target.closest('[role=option]');
      if (opt) activate(+opt.dataset.index, e.ctrlKey || e.metaKey);
    });
    list.addEventListener('mousemove', (e) => {
      const opt = e.target.closest('[role=option]');
      if (opt && +opt.dataset.index !== active) select(+opt.dataset.index);
    });
    input.addEventListener('input', update);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        select(active + (e.key === 'ArrowDown' ? 1 : -1));
      } else if (e.key === 'Enter') {
        e.preventDefault();
        const q = input.value.trim();
        const go = goItem(q);
        if (go && (active < 0 || items[active] && items[active].kind === 'go')) {
          close();
          openUrl(go.url, true);
          return;
        }
        activate(active, e.ctrlKey || e.metaKey);
      }
    });

    document.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key === 'k' || e.key === 'K')) {
        e.preventDefault();
        if (dlg.open) close();
        else open(document.activeElement);
      }
    });
    document.addEventListener('click', (e) => {
      const b = e.target.closest('[data-palette-open]');
      if (b) {
        e.preventDefault();
        open(b);
      }
    });
    for (const inp of $$('input[data-palette-input]')) {
      inp.addEventListener('focus', () => {
        if (!refocusing) open(inp, inp.value);
      });
      inp.addEventListener('input', () => open(inp, inp.value));
      inp.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !dlg.open) {
          e.preventDefault();
          open(inp, inp.value);
        }
      });
    }
    return { open, close, dialog: dlg };
  })();

  // ---------------------------------------------------------------- bulk selection
  const bulkForm = $('form#bulk-form');
  const bulkUpdate = () => {
    if (!bulkForm) return;
    const boxes = $$('input[name=ids]', bulkForm);
    const n = boxes.filter((b) => b.checked).length;
    for (const bar of $$('.bulk-bar')) bar.hidden = n === 0;
    for (const c of $$('[data-bulk-count]')) {
      const tpl = c.getAttribute('data-bulk-count');
      if (tpl && tpl.includes('{0}')) c.textContent = tpl.replace('{0}', n);
      else if (/\d+/.test(c.textContent)) c.textContent = c.textContent.replace(/\d+/, n);
      else c.textContent = String(n);
    }
    for (const all of $$('input[type=checkbox][data-select-all]')) {
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  };
  if (bulkForm) {
    bulkForm.addEventListener('change', (e) => {
      if (e.target.matches('input[name=ids]')) bulkUpdate();
    });
    bulkUpdate();
  }
  const selectAll = (ctl) => {
    if (!bulkForm) return;
    const boxes = $$('input[name=ids]', bulkForm);
    const on = ctl.matches('input[type=checkbox]') ? ctl.checked : !boxes.every((b) => b.checked);
    for (const b of boxes) b.checked = on;
    bulkUpdate();
  };

  // ---------------------------------------------------------------- search as you type
  const filters = $('form#filters');
  const results = $('#results');
  if (filters && results) {
    let ctrl = null;
    const refresh = () => {
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(filters)) {
        if (typeof v === 'string' && v !== '' && k !== 'fragment') params.append(k, v);
      }
      params.delete('page');
      params.delete('offset');
      const path = new URL(filters.getAttribute('action') || location.pathname, location.href).pathname;
      const qs = params.toString();
      const url = path + (qs ? '?' + qs : '');
      if (ctrl) ctrl.abort();
      const mine = (ctrl = new AbortController());
      results.setAttribute('aria-busy', 'true');
      fetch(url + (qs ? '&' : '?') + 'fragment=results', {
        credentials: 'same-origin',
        headers: { Accept: 'text/html' },
        signal: mine.signal,
      })
        .then((r) => {
          if (!r.ok) throw new Error(String(r.status));
          return r.text();
        })
        .then((html) => {
          if (mine !== ctrl) return;
          results.innerHTML = html;
          results.removeAttribute('aria-busy');
          history.replaceState(history.state, '', url);
          bulkUpdate();
        })
        .catch((e) => {
          if (e.name !== 'AbortError' && mine === ctrl) results.removeAttribute('aria-busy');
        });
    };
    const later = debounce(refresh, 300);
    const search = $('#search', filters) || $('input#search');
    if (search) search.addEventListener('input', later);
  }
  document.addEventListener('change', (e) => {
    const t = e.target;
    if (t.matches('[data-select-all]')) {
      selectAll(t);
      return;
    }
    if (t.matches('[data-autosubmit], form#filters select') && t.form) {
      if (t.form.requestSubmit) t.form.requestSubmit();
      else t.form.submit();
    }
  });

  // ---------------------------------------------------------------- password strength
  const strength = (p) => {
    if (!p) return 0;
    let s = 0;
    if (p.length >= 8) s++;
    if (p.length >= 12) s++;
    if (/[a-z]/.test(p) && /[A-Z]/.test(p)) s++;
    if (/\d/.test(p)) s++;
    if (/[^A-Za-z0-9]/.test(p)) s++;
    if (p.length < 8) s = Math.min(s, 1);
    return Math.min(s, 4);
  };
  for (const inp of $$('input[data-strength]')) {
    const meter = document.getElementById(inp.getAttribute('data-strength'));
    if (!meter) continue;
    const upd = () => {
      const s = strength(inp.value);
      meter.value = s;
      meter.setAttribute('data-score', s);
      meter.hidden = false;
    };
    inp.addEventListener('input', upd);
    if (inp.value) upd();
  }

  // ---------------------------------------------------------------- confirmations
  document.addEventListener('submit', (e) => {
    const form = e.target;
    const btn = e.submitter;
    const msg = (btn && btn.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // ---------------------------------------------------------------- clicks
  document.addEventListener('click', (e) => {
    const t = e.target;
    const copy = t.closest('[data-copy]');
    if (copy) {
      e.preventDefault();
      copyText(copy.getAttribute('data-copy')).then((ok) => ok && showCopied(copy));
      return;
    }
    const dl = t.closest('[data-download][data-download-source]');
    if (dl) {
      e.preventDefault();
      download(dl);
      return;
    }
    const all = t.closest('[data-select-all]');
    if (all && !all.matches('input')) {
      e.preventDefault();
      selectAll(all);
      return;
    }
    const tr = t.closest('a[data-track]');
    if (tr) track(tr.getAttribute('data-track'));
    // Close open dropdown menus when clicking elsewhere.
    for (const d of $$('details.menu[open]')) if (!d.contains(t)) d.open = false;
  });
  document.addEventListener('auxclick', (e) => {
    const tr = e.button === 1 && e.target.closest('a[data-track]');
    if (tr) track(tr.getAttribute('data-track'));
  });

  // ---------------------------------------------------------------- modal pages
  const modal = $('dialog.modal[open]');
  if (modal) {
    const fields = () => $$('input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])', modal)
      .filter((f) => f.offsetParent !== null || f === document.activeElement);
    const first = $('[autofocus]', modal) ||
      fields().find((f) => f.matches('input, select, textarea') && !f.closest('.modal-head')) ||
      fields().find((f) => !f.closest('.modal-head')) || fields()[0];
    if (first) first.focus();
    modal.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      const f = fields();
      if (!f.length) return;
      const i = f.indexOf(document.activeElement);
      if (e.shiftKey && i <= 0) {
        e.preventDefault();
        f[f.length - 1].focus();
      } else if (!e.shiftKey && i === f.length - 1) {
        e.preventDefault();
        f[0].focus();
      }
    });
    modal.addEventListener('cancel', (e) => e.preventDefault());
  }

  // ---------------------------------------------------------------- Escape
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    if (palette && palette.dialog.open) return;
    const menus = $$('details.menu[open]');
    if (menus.length) {
      for (const d of menus) {
        d.open = false;
        const s = $('summary', d);
        if (d.contains(document.activeElement) && s) s.focus();
      }
      return;
    }
    const toggle = $('#nav-toggle');
    if (toggle && toggle.checked) {
      toggle.checked = false;
      return;
    }
    const m = $('dialog.modal[open]');
    const closeLink = m && $('.modal-head a[href]', m);
    if (closeLink) {
      e.preventDefault();
      location.href = closeLink.href;
    }
  });
})();
