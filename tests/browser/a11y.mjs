// Accessibility checks shared by the a11y_* scenarios: axe-core (the npm package pinned in
// package.json) run inside the page against the WCAG 2.0/2.1 A and AA rules (plus a few
// best-practice rules about landmarks and headings), a site with something on every page (an
// admin, a second user, bookmarks, folders, tags, shares, a team, an API token, a remembered
// go-link choice, audit log entries), and a tour of every page of the web UI with its dialogs.
// Violations are collected with where they were seen (page, theme, language, width) and reported
// together at the end, grouped by rule and element.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { ADMIN, assert, eventually } from './lib.mjs';
import { nextCode } from './totp.mjs';

const require = createRequire(import.meta.url);
// Evaluated in the page (not added as a <script>: the CSP allows no inline scripts).
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_VERSION = JSON.parse(fs.readFileSync(require.resolve('axe-core/package.json'), 'utf8')).version;

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
/** Best-practice rules the UI keeps as well: one main landmark, one h1, content in landmarks. */
export const EXTRA_RULES = ['landmark-one-main', 'landmark-no-duplicate-main', 'landmark-unique', 'page-has-heading-one', 'region'];

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 375, height: 812 };
/** What can be hovered or focused (the hover and focus colours are checked on these). */
const CONTROLS = 'a[href], button, summary, label, input, select, textarea, [tabindex], [role=option]';

export const BOB = { name: 'Bob Builder', email: 'bob@example.com', password: 'Bob-Passw0rd!23' };
export const CAROL = { name: 'Carol Chen', email: 'carol@example.com', password: 'Carol-Passw0rd!23' };

/** Runs axe in pages and keeps what it finds. */
export class Axe {
  constructor(t) {
    this.t = t;
    this.found = new Map(); // rule + element → { rule, impact, help, target, html, detail, where: Set }
    this.runs = 0;
    this.ms = 0;
    this.pages = new Set();
  }

  /**
   * Loads axe into every document `page` opens from now on, and shows the page in `theme` where
   * the theme follows the system (guests; the go-link pages).
   */
  async attach(page, theme) {
    await page.context().addInitScript({ content: AXE_SOURCE });
    await page.emulateMedia({ colorScheme: theme });
  }

  /**
   * Checks the page as it is now. `where` names the page and its state; `context` narrows the
   * check to part of the page (an axe context, e.g. `'#palette'`).
   */
  async check(page, where, { context, rules } = {}) {
    const started = Date.now();
    const hasAxe = await page.evaluate(() => typeof window.axe === 'object');
    if (!hasAxe) await page.evaluate(AXE_SOURCE);
    const result = await page.evaluate(
      async ({ tags, extra, context, rules }) => {
        const ids = rules || [...window.axe.getRules(tags).map((r) => r.ruleId), ...extra];
        const res = await window.axe.run(context || document, {
          runOnly: { type: 'rule', values: [...new Set(ids)] },
          resultTypes: ['violations'],
        });
        return res.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => {
            const data = (n.any.find((c) => c.data) || n.all.find((c) => c.data) || n.none.find((c) => c.data) || {}).data;
            // What kind of element it is (tag and classes), so that one fault shown on many
            // elements and pages is reported once.
            const el = document.querySelector(n.target[0]);
            const sig = el ? el.tagName.toLowerCase() + [...el.classList].map((c) => `.${c}`).join('') : n.target.join(' ');
            return {
              sig,
              target: n.target.join(' '),
              html: n.html.replace(/\s+/g, ' ').slice(0, 160),
              detail:
                data && data.fgColor && data.bgColor
                  ? `${data.fgColor} on ${data.bgColor} = ${data.contrastRatio}:1 (needs ${data.expectedContrastRatio})`
                  : n.failureSummary.replace(/\s+/g, ' ').slice(0, 240),
            };
          }),
        }));
      },
      { tags: WCAG_TAGS, extra: EXTRA_RULES, context, rules },
    );
    this.runs += 1;
    this.ms += Date.now() - started;
    this.pages.add(where.split(' [')[0]);
    let n = 0;
    for (const v of result) {
      for (const node of v.nodes) {
        const key = `${v.id} ${node.sig} ${node.detail}`;
        let f = this.found.get(key);
        if (!f) {
          f = { rule: v.id, impact: v.impact, help: v.help, sig: node.sig, target: node.target, html: node.html, detail: node.detail, where: new Set() };
          this.found.set(key, f);
        }
        f.where.add(where);
        n += 1;
      }
    }
    if (n) this.t.log(`  ${n} violation(s) on ${where}`);
    return n;
  }

  /** Checks the page at desktop width and at 375 px (the same document, resized). */
  async checkWidths(page, where, opts) {
    let n = await this.check(page, `${where} desktop`, opts);
    await page.setViewportSize(PHONE);
    n += await this.check(page, `${where} 375px`, opts);
    await page.setViewportSize(DESKTOP);
    return n;
  }

  /**
   * The colours of every control while hovered, then while focused: each style rule for :hover
   * (:focus, :focus-visible, :focus-within) is copied for an attribute (not a class: that would
   * change what `:not([class])` matches), the attribute is put on every control at once, and axe
   * checks text contrast and links.
   */
  async checkStates(page, where, context) {
    let n = 0;
    for (const [state, pseudo] of [['hover', ['hover']], ['focus', ['focus-visible', 'focus-within', 'focus']]]) {
      await page.evaluate(
        ({ state, pseudo, controls }) => {
          const attr = `data-axe-${state}`;
          const re = new RegExp(`:(${pseudo.join('|')})(?![\\w-])`, 'g');
          // Each copy goes right after its rule, so that the cascade stays as it was.
          const copy = (host) => {
            for (let i = host.cssRules.length - 1; i >= 0; i -= 1) {
              const rule = host.cssRules[i];
              if (rule.cssRules && !rule.selectorText) copy(rule);
              else if (rule.selectorText && rule.selectorText.match(re)) {
                host.insertRule(`${rule.selectorText.replace(re, `[${attr}]`)} { ${rule.style.cssText} }`, i + 1);
              }
            }
          };
          for (const sheet of document.styleSheets) copy(sheet);
          for (const el of document.querySelectorAll(controls)) el.setAttribute(attr, "");
        },
        { state, pseudo, controls: CONTROLS },
      );
      n += await this.check(page, `${where} :${state}`, { context, rules: ['color-contrast', 'link-in-text-block'] });
      await page.evaluate((attr) => document.querySelectorAll(`[${attr}]`).forEach((el) => el.removeAttribute(attr)), `data-axe-${state}`);
    }
    return n;
  }

  /** Fails with every violation seen, grouped by rule and element, with where each was seen. */
  finish() {
    const t = this.t;
    t.log(`axe-core ${AXE_VERSION}: ${this.runs} checks of ${this.pages.size} page states in ${(this.ms / 1000).toFixed(1)} s`);
    if (!this.found.size) return;
    const byRule = new Map();
    for (const f of this.found.values()) {
      if (!byRule.has(f.rule)) byRule.set(f.rule, []);
      byRule.get(f.rule).push(f);
    }
    const lines = [];
    for (const [rule, list] of byRule) {
      lines.push(`${rule} (${list[0].impact}): ${list[0].help} — ${list.length} element(s)`);
      for (const f of list) {
        const where = [...f.where];
        lines.push(`  ${f.sig} (e.g. ${f.target})  ${f.detail}`);
        lines.push(`    ${f.html}`);
        lines.push(`    on ${where.slice(0, 6).join('; ')}${where.length > 6 ? `; … ${where.length - 6} more` : ''}`);
      }
    }
    t.log(lines.join('\n'));
    assert.fail(`${this.found.size} accessibility violation(s) (rule × element), listed above`);
  }
}

// ---- the site ---------------------------------------------------------------------------

async function ok(r, what) {
  assert.ok(r.status < 400, `${what}: ${r.status} ${r.text}`);
  return r.json;
}

/** Signs in through the JSON API (no pages visited, no screenshots). */
export async function apiLogin(t, page, user) {
  const r = await t.api(page, 'POST', '/api/auth/login', { email: user.email, password: user.password });
  assert.ok(r.status < 400, `API login as ${user.email}: ${r.status} ${r.text}`);
  page._csrf = null; // a new session gets a new CSRF token
  return r.json;
}

/**
 * First-run setup (checking the setup page itself first), then data on every page: returns the
 * ids the tour needs. `admin` is the admin's page, signed in.
 */
export async function seedSite(t, axe, admin, { label, checkSetup }) {
  if (checkSetup) {
    t.step('first-run setup page');
    await admin.goto(t.url('/setup'));
    await axe.checkWidths(admin, `/setup [${label} guest]`);
  }
  await t.setup(admin);

  t.step('a site with something on every page');
  const me = await ok(await t.api(admin, 'GET', '/api/users/me'), 'GET /api/users/me');
  const bob = await ok(
    await t.api(admin, 'POST', '/api/admin/users', { name: BOB.name, email: BOB.email, password: BOB.password, is_admin: false }),
    'create Bob',
  );
  const carol = await ok(
    await t.api(admin, 'POST', '/api/admin/users', { name: CAROL.name, email: CAROL.email, password: CAROL.password, is_admin: false }),
    'create Carol',
  );
  const team = await ok(
    await t.api(admin, 'POST', '/api/admin/teams', { name: 'Platform', description: 'Infrastructure, tooling and on-call' }),
    'create team',
  );
  await t.api(admin, 'POST', '/api/admin/teams', { name: 'Design' });
  for (const u of [me, bob]) {
    await ok(await t.api(admin, 'POST', `/api/admin/teams/${team.id}/members`, { user_id: u.id }), 'add team member');
  }
  const reading = await ok(await t.api(admin, 'POST', '/api/folders', { name: 'Reading list', icon: 'book' }), 'folder');
  const work = await ok(await t.api(admin, 'POST', '/api/folders', { name: 'Work tools', icon: 'briefcase', team_ids: [team.id] }), 'folder');
  const tagIds = [];
  for (const name of ['rust', 'databases', 'design', 'docs', 'travel']) {
    tagIds.push((await ok(await t.api(admin, 'POST', '/api/tags', { name }), `tag ${name}`)).id);
  }
  // [title, URL, slug, folders, tags, pinned]
  const samples = [
    ['Rust documentation', 'https://doc.rust-lang.org/std/', 'rustdoc', [reading.id], [tagIds[0], tagIds[3]], true],
    ['PostgreSQL manual', 'https://www.postgresql.org/docs/current/', 'pg', [work.id], [tagIds[1], tagIds[3]], false],
    ['Team wiki', 'https://wiki.example.com/', 'Wiki', [work.id], [tagIds[3]], true],
    ['Design system', 'https://design.example.com/components', null, [], [tagIds[2]], false],
    ['Travel checklist', 'https://notes.example.com/travel', 'travel', [reading.id], [tagIds[4]], false],
    ['Calendar', 'https://calendar.example.org/team', 'cal', [], [], false],
    ['Weather', 'https://weather.example.com/', null, [], [], false],
  ];
  const bookmarks = [];
  for (const [title, url, slug, folder_ids, tag_ids, pinned] of samples) {
    bookmarks.push(
      await t.createBookmarkApi(admin, {
        title,
        url,
        ...(slug ? { slug, forwarding_enabled: true } : {}),
        folder_ids,
        tag_ids,
        pinned,
        description: `Notes on ${title.toLowerCase()}.`,
        ...(title === 'Team wiki' ? { team_ids: [team.id] } : {}),
      }),
    );
  }
  // Opened a few times: counts and "last opened" dates on the cards and the dashboard.
  for (const b of bookmarks.slice(0, 3)) await t.api(admin, 'POST', `/api/bookmarks/${b.id}/track-access`);

  // Bob shares a folder and bookmarks with the admin. His slug "WIKI" and the admin's "Wiki"
  // both match /go/wiki (ignoring case), so it asks which one; so do his "RUNBOOK" and
  // "Runbook" for /go/runbook, where the admin remembers a choice (the go preferences page).
  const bobPage = await t.newPage('bob');
  await apiLogin(t, bobPage, BOB);
  const bobFolder = await ok(await t.api(bobPage, 'POST', '/api/folders', { name: 'Bob’s picks', user_ids: [me.id] }), 'Bob folder');
  const bobWiki = await ok(
    await t.api(bobPage, 'POST', '/api/bookmarks', {
      title: 'Bob’s wiki page',
      url: 'https://wiki.example.com/bob',
      slug: 'WIKI',
      forwarding_enabled: true,
      user_ids: [me.id],
      folder_ids: [bobFolder.id],
    }),
    'Bob bookmark',
  );
  await ok(
    await t.api(bobPage, 'POST', '/api/bookmarks', { title: 'On-call runbook', url: 'https://runbook.example.com/', slug: 'RUNBOOK', forwarding_enabled: true, user_ids: [me.id] }),
    'Bob bookmark 2',
  );
  await ok(
    await t.api(bobPage, 'POST', '/api/bookmarks', { title: 'Runbook (old)', url: 'https://runbook.example.com/old', slug: 'Runbook', forwarding_enabled: true, user_ids: [me.id] }),
    'Bob bookmark 3',
  );
  await bobPage.context().close();

  // A remembered choice for /go/runbook (two of Bob's bookmarks match it).
  const runbook = await admin.context().request.get(t.url('/go/runbook'), { maxRedirects: 0 });
  assert.equal(runbook.status(), 200, '/go/runbook asks which bookmark');
  const choice = /\/go\/runbook\/remember\/([0-9a-f-]{36})/.exec(await runbook.text());
  assert.ok(choice, '/go/runbook offers "Always use this"');
  await admin.context().request.get(t.url(`/go/runbook/remember/${choice[1]}`), { maxRedirects: 0 });

  await ok(await t.api(admin, 'POST', '/api/tokens', { name: 'CI deploy script' }), 'API token');
  await ok(await t.api(admin, 'POST', '/api/tokens', { name: 'Old laptop', expires_at: '2031-01-01T00:00:00Z' }), 'API token 2');

  return { me, bob, carol, team, reading, work, tagIds, bookmarks, bobWiki };
}

/** The user's language and theme (what the pages follow for a signed-in user). */
export async function setPrefs(t, page, { lang, theme }) {
  await ok(await t.api(page, 'PUT', '/api/users/me', { language: lang, theme }), `language ${lang}, theme ${theme}`);
}

/**
 * Every page a signed-in admin sees, with its states and dialogs, in two parts: the library
 * (dashboard, bookmarks, folders, tags, go links) and the account (profile, admin, the rest).
 * Each is `{ p, states, variant }`: `states` — the hover and focus colours are checked there too
 * (one page for each kind of control); `variant` — another state of a page checked just before,
 * whose sidebar and top bar are the same: only its content is checked.
 */
export function signedInPages(ids, part) {
  const b = ids.bookmarks[0].id;
  const f = ids.reading.id;
  const tag = ids.tagIds[0];
  const page = (p, more = {}) => ({ p, states: false, variant: false, ...more });
  const states = { states: true };
  const variant = { variant: true };
  if (part === 'library') {
    return [
      page('/', states),
      page('/bookmarks', states),
      page('/bookmarks?view=list', { ...variant, ...states }),
      page('/bookmarks?view=table', { ...variant, ...states }),
      page('/bookmarks?scope=shared_with_me', variant),
      page(`/bookmarks?pinned=true&tag_id=${ids.tagIds[3]}`, { ...variant, ...states }),
      page(`/bookmarks?scope=shared_by_me&pinned=true&tag_id=${tag}&q=doc&folder_id=${f}`, { ...variant, ...states }),
      page('/bookmarks?limit=3&page=2', { ...variant, ...states }),
      page('/bookmarks?q=nothing-matches-this', variant),
      page('/bookmarks?create=true'),
      page(`/bookmarks?edit=${b}`),
      page(`/bookmarks?share=${b}`),
      page('/bookmarks?import=true'),
      page(`/bookmarks?delete=${b}`),
      page('/folders', states),
      page('/folders?scope=shared_with_me', variant),
      page('/folders?create=true'),
      page(`/folders?edit=${f}`),
      page(`/folders?share=${f}`),
      page(`/folders?delete=${f}`),
      page('/tags'),
      page(`/tags?tag=${tag}`, { ...variant, ...states }),
      page('/tags?create=true'),
      page(`/tags?edit=${tag}`),
      page(`/tags?delete=${tag}`),
      page('/go/wiki'),
      page('/go/no-such-link'),
    ];
  }
  return [
    page('/profile', states),
    page('/profile/security', states),
    page('/profile/tokens', states),
    page('/go-preferences', states),
    page('/search-engine-guide', states),
    page('/admin/members', states),
    page('/admin/members?create=true'),
    page(`/admin/members?edit=${ids.bob.id}`),
    page(`/admin/members?teams=${ids.bob.id}`),
    page('/admin/teams', states),
    page('/admin/teams?create=true'),
    page(`/admin/teams?edit=${ids.team.id}`),
    page(`/admin/teams/${ids.team.id}`, { ...variant, ...states }),
    page('/admin/settings', states),
    page('/admin/audit-log', states),
    page('/logout', states),
    page('/no-such-page'),
  ];
}

export const GUEST_PAGES = ['/signup', '/login', '/reset-password', '/password-reset', '/verify-email', '/verify-email-required'];

/** Pages that show a dialog over a page checked on its own: only the dialog is checked. */
const DIALOG = /[?&](create|edit|share|import|delete|teams)=/;

/**
 * Opens `p` and checks it at both widths: in `page` resized, or, given a `twin` (the same user at
 * 375 px, see `phoneTwin`), in both pages side by side.
 */
export async function visitAndCheck(t, axe, page, p, label, { states = false, variant = false, twin } = {}) {
  const open = async (pg) => {
    const res = await pg.goto(t.url(p), { waitUntil: 'load' });
    const status = res ? res.status() : 0;
    assert.ok(status < 400 || p.includes('no-such'), `GET ${p}: ${status}`);
    if (variant) return { exclude: ['.sidebar', '.topbar'] };
    if (!DIALOG.test(p)) return undefined;
    assert.equal(await pg.locator('dialog.modal[open]').count(), 1, `${p} shows a dialog`);
    return 'dialog.modal';
  };
  const where = `${p} [${label}]`;
  let n = 0;
  if (twin) {
    const counts = await Promise.all([
      (async () => {
        const context = await open(page);
        let k = await axe.check(page, `${where} desktop`, { context });
        if (states && !DIALOG.test(p)) k += await axe.checkStates(page, where, context);
        return k;
      })(),
      (async () => axe.check(twin, `${where} 375px`, { context: await open(twin) }))(),
    ]);
    n = counts[0] + counts[1];
    if (counts[1]) await t.shot(twin, `${label}-375${p}`);
  } else {
    const context = await open(page);
    n = await axe.checkWidths(page, where, { context });
    if (states && !DIALOG.test(p)) n += await axe.checkStates(page, where, context);
  }
  if (n) await t.shot(page, `${label}${p}`);
  return n;
}

/** The same user in a second browser context (same session) at 375 px. */
export async function phoneTwin(t, axe, page, { theme, lang }) {
  const twin = await t.newPage(`${page.label}-375`, {
    viewport: PHONE,
    locale: lang === 'de' ? 'de-DE' : 'en-US',
    storageState: await page.context().storageState(),
  });
  await axe.attach(twin, theme);
  return twin;
}

/** The command palette, opened with Ctrl+K, empty and with a query that finds bookmarks. */
export async function checkPalette(t, axe, page, label) {
  await page.goto(t.url('/bookmarks'));
  await page.keyboard.press('Control+k');
  await page.locator('#palette').waitFor({ state: 'visible' });
  await axe.checkWidths(page, `palette (empty) [${label}]`);
  await page.keyboard.type('doc');
  await eventually('palette results', () => page.locator('#palette [role=option]').filter({ hasText: 'Rust documentation' }).count());
  await axe.checkWidths(page, `palette "doc" [${label}]`);
  await page.keyboard.press('Escape');
}

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), page.locator(button).click()]);
}

/** Search as you type on /bookmarks, and a bookmark form sent back with errors. */
export async function checkLibraryStates(t, axe, page, label) {
  await page.goto(t.url('/bookmarks'));
  await page.locator('#search').fill('rust');
  await eventually('search-as-you-type results', async () => (await page.locator('#results .bookmark').count()) === 1);
  await axe.checkWidths(page, `/bookmarks search as you type [${label}]`);

  await page.goto(t.url('/bookmarks?create=true'));
  await page.locator('#bm-url').fill('not a url');
  await submit(page, 'form#bookmark-form button.primary');
  await axe.checkWidths(page, `/bookmarks create with errors [${label}]`, { context: 'dialog.modal' });
}

/** The account states only a POST reaches: a new token, a saved profile (flash), form errors. */
export async function checkAccountStates(t, axe, page, label) {
  await page.goto(t.url('/profile/tokens'));
  await page.locator('#token-name').fill(`Token ${label}`);
  await submit(page, 'form#token-form button.primary');
  await axe.checkWidths(page, `/profile/tokens new token [${label}]`);

  await page.goto(t.url('/profile'));
  await submit(page, 'form#profile-form button.primary');
  assert.ok(await page.locator('main .flash').count(), 'saving the profile shows a flash message');
  await axe.checkWidths(page, `/profile saved (flash) [${label}]`);

  await page.goto(t.url('/profile/security'));
  await page.locator('#new_password').fill('short');
  await submit(page, 'form#password-form button.primary');
  await axe.checkWidths(page, `/profile/security password errors [${label}]`);
}

/** A member with nothing yet: the dashboard's first steps and the empty pages. */
export async function checkEmptyPages(t, axe, { theme, lang }) {
  const carol = await t.newPage('carol-empty');
  await axe.attach(carol, theme);
  await apiLogin(t, carol, CAROL);
  await setPrefs(t, carol, { lang, theme });
  for (const p of ['/', '/bookmarks', '/folders', '/tags', '/go-preferences']) {
    await visitAndCheck(t, axe, carol, p, `${theme} ${lang} member, empty`);
  }
  await carol.context().close();
}

/**
 * MFA: Carol's enrolment page (and the security page while it is pending), a wrong code, the
 * backup codes, the security page with MFA on, and her sign-in challenge as a guest.
 */
export async function checkMfa(t, axe, { theme, lang }) {
  const label = `${theme} ${lang}`;
  const carol = await t.newPage('carol');
  await axe.attach(carol, theme);
  await apiLogin(t, carol, CAROL);
  await setPrefs(t, carol, { lang, theme });
  await carol.goto(t.url('/profile/security'));
  await submit(carol, 'form#mfa-start-form button');
  const secret = (await carol.locator('#mfa-secret').innerText()).replace(/\s+/g, '');
  await visitAndCheck(t, axe, carol, '/profile/security/mfa', label);
  await visitAndCheck(t, axe, carol, '/profile/security', `${label} mfa pending`);
  await carol.goto(t.url('/profile/security/mfa'));
  await carol.locator('#code').fill('000000');
  await submit(carol, 'form#mfa-confirm-form button.primary');
  await axe.checkWidths(carol, `/profile/security/mfa wrong code [${label}]`);
  await carol.locator('#code').fill(await nextCode(secret, {}));
  await submit(carol, 'form#mfa-confirm-form button.primary');
  assert.equal(await carol.locator('#backup-codes li').count(), 10, 'backup codes shown');
  await axe.checkWidths(carol, `backup codes [${label}]`);
  await visitAndCheck(t, axe, carol, '/profile/security', `${label} mfa on`);
  await carol.context().close();

  const guest = await t.newPage('guest-mfa', { locale: lang === 'de' ? 'de-DE' : 'en-US' });
  await axe.attach(guest, theme);
  await guest.goto(t.url('/login'));
  await guest.locator('#email').fill(CAROL.email);
  await guest.locator('#password').fill(CAROL.password);
  await submit(guest, 'form#login-form button.primary');
  t.expectPath(guest, '/mfa', 'Carol has MFA on');
  await axe.checkWidths(guest, `/mfa [${label} guest]`);
  await guest.locator('#code').fill('000000');
  await submit(guest, 'form#mfa-form button.primary');
  await axe.checkWidths(guest, `/mfa wrong code [${label} guest]`);
  await guest.context().close();
}

/** The pages of signed-out visitors (a browser asking for `lang`), sign-up off and on. */
export async function checkGuestPages(t, axe, admin, { theme, lang }) {
  const label = `${theme} ${lang} guest`;
  const guest = await t.newPage(`guest-${lang}`, { locale: lang === 'de' ? 'de-DE' : 'en-US' });
  await axe.attach(guest, theme);
  for (const p of GUEST_PAGES) await visitAndCheck(t, axe, guest, p, label);
  await guest.goto(t.url('/login'));
  await guest.locator('#email').fill(ADMIN.email);
  await guest.locator('#password').fill('wrong password');
  await submit(guest, 'form#login-form button.primary');
  await axe.checkWidths(guest, `/login failed [${label}]`);
  await ok(await t.api(admin, 'POST', '/api/admin/settings', { key: 'registrations_enabled', value: true }), 'enable sign-up');
  await visitAndCheck(t, axe, guest, '/signup', `${label} sign-up on`);
  await submit(guest, 'form#signup-form button.primary');
  await axe.checkWidths(guest, `/signup with errors [${label}]`);
  await guest.context().close();
}

/**
 * One part of the tour in one theme and language, each page at desktop width and at 375 px:
 * - `library`: the setup page, dashboard, bookmarks (views, filters, pages, dialogs), folders,
 *   tags, the go-link pages, the palette, search as you type, a bookmark form with errors, and
 *   the empty pages of a new member (dashboard with first steps, bookmarks, folders, tags…);
 * - `account`: profile, security, tokens, go preferences, the search engine guide, the admin pages
 *   with their dialogs, sign-out, the error page, states after a POST, MFA enrolment and
 *   challenge, and the signed-out pages.
 */
export async function tour(t, { theme, lang, part }) {
  const axe = new Axe(t);
  const started = Date.now();
  const label = `${theme} ${lang}`;
  const admin = await t.newPage('admin', { locale: lang === 'de' ? 'de-DE' : 'en-US' });
  await axe.attach(admin, theme);
  const ids = await seedSite(t, axe, admin, { label, checkSetup: part === 'library' });
  await setPrefs(t, admin, { lang, theme });
  const pages = signedInPages(ids, part);
  t.step(`${pages.length} signed-in pages (${label}, desktop and 375 px)`);
  const twin = await phoneTwin(t, axe, admin, { theme, lang });
  // Hover and focus colours do not depend on the language: checked in English only.
  for (const { p, states, variant } of pages) {
    await visitAndCheck(t, axe, admin, p, label, { states: states && lang === 'en', variant, twin });
  }
  await twin.context().close();
  if (part === 'library') {
    t.step(`palette, search as you type, form errors (${label})`);
    await checkPalette(t, axe, admin, label);
    await checkLibraryStates(t, axe, admin, label);
    t.step(`a new member's empty pages (${label})`);
    await checkEmptyPages(t, axe, { theme, lang });
  } else {
    t.step(`a new token, a flash message, form errors (${label})`);
    await checkAccountStates(t, axe, admin, label);
    t.step(`MFA enrolment and challenge (${label})`);
    await checkMfa(t, axe, { theme, lang });
    t.step(`guest pages (${label})`);
    await checkGuestPages(t, axe, admin, { theme, lang });
  }
  t.log(`tour (${label}, ${part}) done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  axe.finish();
}
