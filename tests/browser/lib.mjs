// The harness the scenarios run in: one headless Chromium (Debian's, driven by playwright-core),
// contexts that record console errors and requests to other origins, numbered screenshots of
// every page visited, form helpers keyed on the UI's stable ids and names, and the common flows
// (first-run setup, login, logout, the JSON API with the session cookie).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export { assert };

export const ADMIN = { name: 'Ada Admin', email: 'admin@example.com', password: 'Browser-Passw0rd!' };

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];

// Any submit control of a form: <button> without a type is a submit button too.
const SUBMIT = ':is(button:not([type]), button[type=submit], input[type=submit])';

export class Harness {
  constructor({ scenario, base, shotDir }) {
    this.scenario = scenario;
    this.base = base.replace(/\/+$/, '');
    this.origin = new URL(this.base).origin;
    this.shotDir = shotDir;
    this.shots = 0;
    this.contexts = [];
    this.pages = [];
    this.lastPage = null;
    this.consoleErrors = [];
    this.foreignRequests = [];
    this.failedRequests = [];
  }

  async start() {
    fs.mkdirSync(this.shotDir, { recursive: true });
    this.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: LAUNCH_ARGS,
    });
    this.log(`Chromium ${this.browser.version()} against ${this.base}`);
  }

  async close() {
    if (this.browser) await this.browser.close().catch(() => {});
  }

  log(...args) {
    console.log(...args);
  }

  step(text) {
    console.log(`• ${text}`);
  }

  url(p) {
    return p.startsWith('http') ? p : `${this.base}${p}`;
  }

  /** A new browser context (own cookies) with one page; `label` names it in reports. */
  async newPage(label = 'main', options = {}) {
    const context = await this.browser.newContext({
      viewport: { width: 1280, height: 860 },
      locale: 'en-US',
      timezoneId: 'UTC',
      ...options,
    });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(20_000);
    this.contexts.push(context);
    const page = await context.newPage();
    page.label = label;
    this.watch(page);
    this.pages.push(page);
    this.lastPage = page;
    return page;
  }

  watch(page) {
    const label = page.label;
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        const loc = msg.location();
        this.consoleErrors.push({ label, url: page.url(), text: msg.text(), source: loc?.url || '' });
      }
    });
    page.on('pageerror', (err) => {
      this.consoleErrors.push({ label, url: page.url(), text: `uncaught ${err.name}: ${err.message}` });
    });
    page.on('request', (req) => {
      let u;
      try {
        u = new URL(req.url());
      } catch {
        return;
      }
      if (['data:', 'blob:', 'about:', 'chrome-extension:'].includes(u.protocol)) return;
      if (u.origin !== this.origin) {
        this.foreignRequests.push({ label, from: page.url(), url: req.url(), type: req.resourceType() });
      }
    });
    page.on('requestfailed', (req) => {
      this.failedRequests.push({ label, url: req.url(), error: req.failure()?.errorText });
    });
  }

  /** Saves `<scenario>-NN-<name>.png` (full page). */
  async shot(page, name) {
    this.lastPage = page;
    this.shots += 1;
    const safe = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'page';
    const file = path.join(this.shotDir, `${this.scenario}-${String(this.shots).padStart(2, '0')}-${safe}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** Opens `p`, checks the final status is below 400 (unless `status` says otherwise), screenshots. */
  async visit(page, p, name, { status } = {}) {
    this.lastPage = page;
    const res = await page.goto(this.url(p), { waitUntil: 'load' });
    const got = res ? res.status() : 0;
    await this.shot(page, name);
    if (status === undefined) {
      assert.ok(res && got < 400, `GET ${p}: status ${got} (ended at ${page.url()})`);
    } else if (status !== null) {
      assert.equal(got, status, `GET ${p}: status (ended at ${page.url()})`);
    }
    return res;
  }

  /**
   * Fills fields of `form` by name: strings go into text inputs and selects (a select takes a value
   * or a label, an array for `multiple`), booleans set checkboxes, `{radio: value}` picks a radio.
   */
  async fill(page, form, values) {
    const f = page.locator(form);
    await f.waitFor({ state: 'attached' });
    for (const [name, value] of Object.entries(values)) {
      if (value && typeof value === 'object' && 'radio' in value) {
        await f.locator(`input[type=radio][name="${name}"][value="${value.radio}"]`).check();
        continue;
      }
      const field = f.locator(`[name="${name}"]`).first();
      const count = await f.locator(`[name="${name}"]`).count();
      assert.ok(count > 0, `${form} has no field named "${name}" on ${page.url()}`);
      const tag = await field.evaluate((el) => el.tagName.toLowerCase());
      const type = await field.evaluate((el) => (el.getAttribute('type') || '').toLowerCase());
      if (tag === 'select') {
        const wanted = Array.isArray(value) ? value : [value];
        const options = await field.locator('option').evaluateAll((os) =>
          os.map((o) => ({ value: o.value, label: o.textContent.trim() })),
        );
        const pick = wanted.map((w) => {
          const o = options.find((x) => x.value === w) || options.find((x) => x.label === w);
          assert.ok(o, `${form} select "${name}" has no option ${JSON.stringify(w)} (has ${JSON.stringify(options)})`);
          return o.value;
        });
        await field.selectOption(pick);
      } else if (type === 'checkbox') {
        await field.setChecked(Boolean(value));
      } else {
        await field.fill(String(value));
      }
    }
  }

  /**
   * Clicks the form's submit button and waits for the page that answers; returns that response.
   * Screenshots the result as `name`.
   */
  async submit(page, form, name, { button } = {}) {
    this.lastPage = page;
    // The form's primary button when it has one (a form may have others, such as "Fetch title").
    const primary = page.locator(`${form} ${SUBMIT}.primary`);
    const btn = button
      ? page.locator(button)
      : (await primary.count()) > 0
        ? primary.first()
        : page.locator(`${form} ${SUBMIT}`).first();
    const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), btn.click()]);
    await this.shot(page, name);
    return res;
  }

  /** Fills `form` with `values` and submits it. */
  async fillAndSubmit(page, form, values, name, opts) {
    await this.fill(page, form, values);
    return this.submit(page, form, name, opts);
  }

  pathOf(page) {
    return new URL(page.url()).pathname;
  }

  expectPath(page, p, why = '') {
    assert.equal(this.pathOf(page), p, `expected to be on ${p}${why ? ` (${why})` : ''}, but at ${page.url()}`);
  }

  async texts(page, selector) {
    return page.locator(selector).allInnerTexts();
  }

  async flash(page) {
    return (await this.texts(page, '.flash')).join(' | ');
  }

  async htmlAttrs(page) {
    return page.evaluate(() => ({
      lang: document.documentElement.getAttribute('lang'),
      theme: document.documentElement.getAttribute('data-theme'),
    }));
  }

  // ---- flows -----------------------------------------------------------------------------

  /** First-run setup on a fresh instance: `/` must lead to /setup; ends signed in on `/`. */
  async setup(page, user = ADMIN) {
    this.step(`first-run setup as ${user.email}`);
    const login = await page.goto(this.url('/login'));
    assert.ok(login && login.status() < 400, `GET /login on a fresh instance: ${login?.status()}`);
    this.expectPath(page, '/setup', 'a fresh instance sends /login to the setup page');
    await this.visit(page, '/', 'start');
    this.expectPath(page, '/setup', 'a fresh instance sends / to the setup page');
    await this.fillAndSubmit(
      page,
      'form#setup-form',
      { name: user.name, email: user.email, password: user.password, confirm_password: user.password },
      'after-setup',
    );
    this.expectPath(page, '/', 'setup signs in and lands on /');
  }

  /** Login form; returns the response of the page it lands on (check the path yourself). */
  async login(page, user, name = 'after-login') {
    this.step(`log in as ${user.email}`);
    await this.visit(page, '/login', 'login');
    this.expectPath(page, '/login');
    return this.fillAndSubmit(page, 'form#login-form', { email: user.email, password: user.password }, name);
  }

  async logout(page) {
    this.step('log out');
    await this.visit(page, '/logout', 'logout');
    await this.submit(page, 'form#logout-form', 'after-logout');
    this.expectPath(page, '/login', 'logging out lands on /login');
  }

  /** A JSON API call with the page's cookies (session) and the double-submit CSRF header. */
  async api(page, method, p, body) {
    const req = page.context().request;
    if (!page._csrf) {
      const r = await req.get(this.url('/api/csrf-token'));
      assert.ok(r.ok(), `GET /api/csrf-token: ${r.status()}`);
      page._csrf = (await r.json()).csrfToken;
    }
    const res = await req.fetch(this.url(p), {
      method,
      headers: { 'X-CSRF-Token': page._csrf, Accept: 'application/json' },
      data: body,
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status(), json, text };
  }

  async createBookmarkApi(page, body) {
    const r = await this.api(page, 'POST', '/api/bookmarks', body);
    assert.equal(r.status, 201, `POST /api/bookmarks ${JSON.stringify(body)} → ${r.status} ${r.text}`);
    return r.json;
  }

  // ---- reporting -----------------------------------------------------------------------

  report() {
    if (this.consoleErrors.length) {
      this.log(`console errors (${this.consoleErrors.length}):`);
      for (const e of this.consoleErrors) this.log(`  [${e.label}] ${e.url}: ${e.text} ${e.source}`);
    }
    if (this.foreignRequests.length) {
      this.log(`requests to other origins (${this.foreignRequests.length}):`);
      for (const r of this.foreignRequests) this.log(`  [${r.label}] ${r.from} → ${r.type} ${r.url}`);
    }
    const failed = this.failedRequests.filter((r) => r.error !== 'net::ERR_ABORTED');
    if (failed.length) {
      this.log(`failed requests (${failed.length}):`);
      for (const r of failed) this.log(`  [${r.label}] ${r.url}: ${r.error}`);
    }
  }

  /** After a failure: `<scenario>-FAIL.png` of the page last worked on (others as -FAIL-<label>). */
  async failureEvidence() {
    const pages = this.pages.filter((p) => !p.isClosed());
    const main = this.lastPage && !this.lastPage.isClosed() ? this.lastPage : pages[0];
    for (const p of pages) {
      const suffix = p === main ? '' : `-${p.label}`;
      const file = path.join(this.shotDir, `${this.scenario}-FAIL${suffix}.png`);
      try {
        await p.screenshot({ path: file, fullPage: true, timeout: 10_000 });
        this.log(`failure screenshot: ${file} (${p.label}, at ${p.url()})`);
        const info = await p.evaluate(() => ({
          title: document.title,
          flash: [...document.querySelectorAll('.flash')].map((e) => e.innerText.trim()),
          fieldErrors: [...document.querySelectorAll('.field-error')].map((e) => e.innerText.trim()),
          text: (document.body?.innerText || '').replace(/\s+/g, ' ').slice(0, 800),
        }));
        this.log(`  title: ${info.title}`);
        if (info.flash.length) this.log(`  .flash: ${info.flash.join(' | ')}`);
        if (info.fieldErrors.length) this.log(`  .field-error: ${info.fieldErrors.join(' | ')}`);
        this.log(`  text: ${info.text}`);
      } catch (e) {
        this.log(`(no failure screenshot of ${p.label}: ${e.message})`);
      }
    }
  }
}

/** Polls `fn` until it returns a truthy value (returned) or `timeout` ms pass (throws `what`). */
export async function eventually(what, fn, { timeout = 10_000, interval = 100 } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > until) throw new assert.AssertionError({ message: `timed out waiting for ${what} (last: ${JSON.stringify(last)})` });
    await new Promise((r) => setTimeout(r, interval));
  }
}
