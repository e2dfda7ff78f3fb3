// Keyboard only: sign in, create a bookmark in the dialog, find it with the command palette, open
// its go link, enrol MFA — with Tab, Shift+Tab, Enter, Space, Escape and the arrow keys (and
// typing into fields), never the mouse. On the way: every Tab stop shows a focus ring of at least
// 3:1 against what is behind it; the skip link leads to the main content; dialogs take the focus,
// keep it on Tab and Shift+Tab, close on Escape and give it back to the link that opened them; a
// form sent back with errors focuses its first field in error; the palette and search as you
// type say how many results there are; menus close on Escape; the phone menu works; reduced
// motion turns transitions off.
import { ADMIN, assert, eventually } from '../lib.mjs';
import { nextCode } from '../totp.mjs';

const KEYS = new Set(['Tab', 'Shift+Tab', 'Enter', 'Space', 'Escape', 'ArrowDown', 'ArrowUp', 'ArrowLeft', 'ArrowRight']);
const TITLE = 'Keyboard only bookmark';
const SLUG = 'kbd-link';

/** What has the focus, for matching and for messages. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body', desc: 'body' };
    const text = (el.getAttribute('aria-label') || el.innerText || el.value || '').replace(/\s+/g, ' ').trim().slice(0, 60);
    const info = {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      name: el.getAttribute('name') || '',
      type: el.getAttribute('type') || '',
      href: el.getAttribute('href') || '',
      text,
      inDialog: Boolean(el.closest('dialog[open]')),
      opensPalette: el.matches('[data-palette-open]'),
      inUserMenu: Boolean(el.closest('.user-menu')),
      form: el.form ? el.form.id : '',
    };
    info.desc = `${info.tag}${info.id ? `#${info.id}` : ''}${info.href ? `[href="${info.href}"]` : ''}${info.name ? `[name=${info.name}]` : ''} "${text}"`;
    return info;
  });
}

/**
 * How the focused element shows its focus: an outline (or the outline of the label drawn for a
 * visually hidden input, or the palette bar's inset line), and the outline's contrast with the
 * colour behind it (WCAG 1.4.11: 3:1).
 */
function focusRing(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { ok: false, why: 'nothing has the focus' };
    const rgba = (c) => {
      const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = c;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
      return [r, g, b, a / 255];
    };
    // The colour behind `node`: its background and its ancestors', composited.
    const behind = (node) => {
      const layers = [];
      for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
        const c = rgba(getComputedStyle(n).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      let out = [255, 255, 255];
      for (const [r, g, b, a] of layers.reverse()) out = [r * a + out[0] * (1 - a), g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
      return out;
    };
    const lum = (c) => {
      const [r, g, b] = c.map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    let shown = el;
    const box = el.getBoundingClientRect();
    if (Number(getComputedStyle(el).opacity) === 0 || box.width <= 1 || box.height <= 1) {
      shown = el.labels?.[0] && el.labels[0].getClientRects().length ? el.labels[0] : el.nextElementSibling || el.parentElement;
    }
    const bar = el.closest('.palette-bar');
    if (bar) {
      const shadow = getComputedStyle(bar).boxShadow;
      return { ok: shadow && shadow !== 'none', why: `palette bar box-shadow ${shadow}` };
    }
    const cs = getComputedStyle(shown);
    const width = parseFloat(cs.outlineWidth);
    if (cs.outlineStyle === 'none' || width < 2) return { ok: false, why: `outline ${cs.outlineStyle} ${cs.outlineWidth} on ${shown.tagName}` };
    const ring = rgba(cs.outlineColor);
    const back = parseFloat(cs.outlineOffset) < 0 ? behind(shown) : behind(shown.parentElement);
    const r = ratio(ring.slice(0, 3), back);
    return { ok: r >= 3, why: `outline ${cs.outlineColor} against rgb(${back.map(Math.round).join(', ')}) = ${r.toFixed(2)}:1`, ratio: r };
  });
}

export default async function keyboard(t) {
  const ringFailures = [];
  const stops = { n: 0 };

  async function press(page, key) {
    assert.ok(KEYS.has(key), `${key} is not one of the keys this scenario may use`);
    await page.keyboard.press(key);
    if (key === 'Tab' || key === 'Shift+Tab') {
      stops.n += 1;
      const ring = await focusRing(page);
      if (!ring.ok) {
        const f = await focused(page);
        ringFailures.push(`${t.pathOf(page)}: ${f.desc}: ${ring.why}`);
      }
    }
  }

  /** Presses Tab (or Shift+Tab) until the focus is on what `match` accepts; returns it. */
  async function tabTo(page, what, match, { back = false, max = 60 } = {}) {
    const path = [];
    for (let i = 0; i < max; i += 1) {
      await press(page, back ? 'Shift+Tab' : 'Tab');
      const f = await focused(page);
      path.push(f.desc);
      if (await match(f)) return f;
    }
    throw new assert.AssertionError({ message: `${back ? 'Shift+Tab' : 'Tab'} never reached ${what} on ${page.url()}; went through:\n  ${path.join('\n  ')}` });
  }

  /** Enter on something that loads a page (a link, a form field, a submit button). */
  async function enter(page) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), press(page, 'Enter')]);
  }

  async function expectFocus(page, what, match) {
    const f = await focused(page);
    assert.ok(match(f), `${what} has the focus on ${page.url()}, not ${f.desc}`);
    return f;
  }

  t.step('first-run setup through the API (not part of the keyboard flow)');
  const setup = await t.newPage('setup');
  const made = await setup.context().request.post(t.url('/api/auth/setup'), { data: { name: ADMIN.name, email: ADMIN.email, password: ADMIN.password } });
  assert.ok(made.ok(), `POST /api/auth/setup: ${made.status()}`);
  await setup.context().close();

  const page = await t.newPage('keyboard');

  t.step('sign in: a wrong password puts the focus on the field in error');
  await t.visit(page, '/login', 'login');
  await expectFocus(page, 'the e-mail field (autofocus)', (f) => f.id === 'email');
  await page.keyboard.type(ADMIN.email);
  await tabTo(page, 'the password field', (f) => f.id === 'password');
  await page.keyboard.type('not the password');
  await enter(page);
  await t.shot(page, 'login-failed');
  const invalid = await expectFocus(page, 'the first field in error', (f) => f.id === 'email');
  assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true', '#email is marked invalid');
  const describedBy = await page.locator('#email').getAttribute('aria-describedby');
  assert.ok(describedBy && (await page.locator(`#${describedBy.split(' ').pop()}`).innerText()).trim(), `#email is described by its error (${describedBy})`);
  t.log(`  focus after the failed sign-in: ${invalid.desc}`);
  await tabTo(page, 'the password field', (f) => f.id === 'password');
  await page.keyboard.type(ADMIN.password);
  await enter(page);
  t.expectPath(page, '/', 'signed in');
  await t.shot(page, 'signed-in');

  t.step('the skip link leads to the main content');
  await press(page, 'Tab');
  const skip = await expectFocus(page, 'the skip link', (f) => f.href === '#main');
  const skipBox = await page.locator('.skip-link').boundingBox();
  assert.ok(skipBox && skipBox.y >= 0 && skipBox.height > 0, `the skip link is visible when focused (${JSON.stringify(skipBox)})`);
  await t.shot(page, 'skip-link');
  await press(page, 'Enter');
  await expectFocus(page, 'main', (f) => f.tag === 'main');
  t.log(`  ${skip.desc} → main`);

  t.step('create a bookmark in the dialog');
  const isCreate = (f) => f.href === '/bookmarks?create=true';
  await tabTo(page, '"Create bookmark" in the top bar (backwards from main)', isCreate, { back: true });
  await enter(page);
  t.expectPath(page, '/bookmarks');
  assert.equal(await page.locator('dialog.modal[open]').count(), 1, 'the dialog is open');
  assert.ok(await page.evaluate(() => document.querySelector('dialog.modal').matches(':modal')), 'the dialog is modal (the page behind is inert)');
  await expectFocus(page, 'the URL field', (f) => f.id === 'bm-url');
  await t.shot(page, 'dialog-open');
  // The focus stays in the dialog, both ways round.
  for (const key of ['Tab', 'Shift+Tab']) {
    const seen = new Set();
    for (let i = 0; i < 30; i += 1) {
      await press(page, key);
      const f = await focused(page);
      assert.ok(f.inDialog, `${key} #${i + 1} left the dialog: ${f.desc}`);
      seen.add(f.desc);
    }
    assert.ok(seen.size >= 8, `${key} goes round the dialog's controls (${seen.size} seen)`);
  }
  await tabTo(page, 'the URL field', (f) => f.id === 'bm-url');
  await page.keyboard.type(t.url('/api/health?keyboard=1'));
  await enter(page); // no title yet: sent back with an error
  await t.shot(page, 'dialog-error');
  await expectFocus(page, 'the title field (first in error)', (f) => f.id === 'bm-title');
  assert.equal(await page.locator('#bm-title').getAttribute('aria-invalid'), 'true', '#bm-title is marked invalid');
  assert.equal(await page.locator('#bm-url').inputValue(), t.url('/api/health?keyboard=1'), 'the URL was kept');
  await page.keyboard.type(TITLE);
  await tabTo(page, 'the forwarding checkbox', (f) => f.id === 'bm-forwarding');
  await press(page, 'Space');
  assert.equal(await page.locator('#bm-forwarding').isChecked(), true, 'Space ticks "Enable forwarding"');
  await tabTo(page, 'the slug field', (f) => f.id === 'bookmark-slug');
  await page.keyboard.type(SLUG);
  await enter(page);
  await t.shot(page, 'bookmark-created');
  t.expectPath(page, '/bookmarks', 'saving closes the dialog');
  assert.equal(await page.locator('dialog.modal[open]').count(), 0, 'the dialog is closed');
  assert.match(await t.flash(page), /./, 'a flash message says it was saved');
  assert.ok((await t.texts(page, '#results .bookmark-title')).some((x) => x.includes(TITLE)), 'the new bookmark is listed');
  await expectFocus(page, 'the link that opened the dialog', isCreate);

  t.step('Escape closes a dialog and gives the focus back');
  const isImport = (f) => f.href === '/bookmarks?import=true';
  await tabTo(page, 'the "Import" button', isImport);
  await enter(page);
  assert.equal(await page.locator('dialog.modal[open]').count(), 1, 'the import dialog is open');
  await expectFocus(page, 'a control in the import dialog', (f) => f.inDialog);
  await t.shot(page, 'import-dialog');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), press(page, 'Escape')]);
  assert.equal(await page.locator('dialog.modal[open]').count(), 0, 'Escape closed the dialog');
  await expectFocus(page, 'the "Import" button again', isImport);

  t.step('search as you type says how many bookmarks match');
  await tabTo(page, 'the search field', (f) => f.id === 'search');
  await page.keyboard.type('Keyboard only');
  await eventually('one result', async () => (await page.locator('#results .bookmark').count()) === 1);
  const said = await eventually('#results-status', async () => (await page.locator('#results-status').innerText()).trim());
  assert.match(said, /1/, `#results-status says how many: ${JSON.stringify(said)}`);
  t.log(`  #results-status: ${JSON.stringify(said)}`);

  t.step('find it with the command palette');
  await tabTo(page, 'a search button (it opens the palette)', (f) => f.opensPalette, { back: true });
  await press(page, 'Enter');
  await page.locator('#palette').waitFor({ state: 'visible' });
  await expectFocus(page, 'the palette input', (f) => f.id === 'palette-input');
  await page.keyboard.type('Keyboard only');
  const option = page.locator('#palette [role=option]').filter({ hasText: TITLE });
  await eventually('the bookmark in the palette', () => option.count());
  const optionId = await option.first().getAttribute('id');
  for (let i = 0; i < 12; i += 1) {
    if ((await page.locator('#palette-input').getAttribute('aria-activedescendant')) === optionId) break;
    await press(page, 'ArrowDown');
  }
  assert.equal(await page.locator('#palette-input').getAttribute('aria-activedescendant'), optionId, 'the arrow keys select the bookmark');
  await press(page, 'ArrowUp');
  await press(page, 'ArrowDown');
  assert.equal(await page.locator('#palette-input').getAttribute('aria-activedescendant'), optionId, 'ArrowUp and ArrowDown move the selection');
  const status = await eventually('#palette-status', async () => (await page.locator('#palette-status').innerText()).trim());
  assert.match(status, /\d/, `#palette-status says how many results: ${JSON.stringify(status)}`);
  t.log(`  #palette-status: ${JSON.stringify(status)}`);
  await t.shot(page, 'palette-found');
  await press(page, 'Escape');
  await page.locator('#palette').waitFor({ state: 'hidden' });
  await expectFocus(page, 'the button that opened the palette', (f) => f.opensPalette);

  t.step('open its go link from the palette');
  await press(page, 'Enter');
  await page.locator('#palette').waitFor({ state: 'visible' });
  await page.keyboard.type(`go ${SLUG}`);
  await eventually('the go-link entry', () => page.locator('#palette [role=option]').filter({ hasText: `/go/${SLUG}` }).count());
  const [popup] = await Promise.all([page.context().waitForEvent('page'), press(page, 'Enter')]);
  await popup.waitForLoadState('load');
  assert.match(popup.url(), /\/api\/health\?keyboard=1$/, `/go/${SLUG} forwarded to the bookmark: ${popup.url()}`);
  t.log(`  /go/${SLUG} → ${popup.url()}`);
  await popup.close();

  t.step('menus: Space opens, Escape closes and keeps the focus');
  await page.bringToFront();
  await expectFocus(page, 'the button that opened the palette', (f) => f.opensPalette);
  await tabTo(page, 'the account menu', (f) => f.tag === 'summary' && f.inUserMenu, { back: true });
  await press(page, 'Space');
  assert.equal(await page.locator('.user-menu').getAttribute('open'), '', 'Space opens the account menu');
  await press(page, 'Escape');
  assert.equal(await page.locator('.user-menu').getAttribute('open'), null, 'Escape closes it');
  await expectFocus(page, 'the account menu button', (f) => f.tag === 'summary' && f.inUserMenu);
  await press(page, 'Space');

  t.step('enrol MFA');
  await tabTo(page, '"Profile" in the account menu', (f) => f.href === '/profile');
  await enter(page);
  t.expectPath(page, '/profile');
  await tabTo(page, 'the "Security" tab', (f) => f.href === '/profile/security');
  await enter(page);
  t.expectPath(page, '/profile/security');
  await tabTo(page, 'the MFA set-up button', (f) => f.form === 'mfa-start-form');
  await enter(page);
  await t.shot(page, 'mfa-enrol');
  await expectFocus(page, 'the code field', (f) => f.id === 'code');
  const secret = (await page.locator('#mfa-secret').innerText()).replace(/\s+/g, '');
  await page.keyboard.type(await nextCode(secret, {}));
  await enter(page);
  await t.shot(page, 'backup-codes');
  assert.equal(await page.locator('#backup-codes li').count(), 10, 'ten backup codes');
  await tabTo(page, '"I have saved these codes"', (f) => f.id === 'codes-saved');
  await enter(page);
  t.expectPath(page, '/profile/security');
  assert.equal(await page.locator('#mfa-status.badge-ok').count(), 1, 'MFA is on');
  await t.shot(page, 'mfa-on');

  t.step('the phone menu, by keyboard');
  await page.setViewportSize({ width: 375, height: 812 });
  await t.visit(page, '/', 'phone');
  await tabTo(page, 'the menu button', (f) => f.id === 'nav-toggle');
  await press(page, 'Space');
  assert.ok(await page.locator('#sidebar').isVisible(), 'Space opens the menu');
  await tabTo(page, 'the first link of the menu', (f) => f.href === '/' && f.text.includes('SlugBase'));
  await t.shot(page, 'phone-menu');
  await press(page, 'Escape');
  await expectFocus(page, 'the menu button again', (f) => f.id === 'nav-toggle');
  assert.equal(await page.locator('#nav-toggle').isChecked(), false, 'Escape closed the menu');

  t.step('reduced motion turns transitions off');
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const durations = await page.evaluate(() => [...document.querySelectorAll('.button, .sidebar, #results')].map((e) => getComputedStyle(e).transitionDuration));
  assert.ok(durations.length && durations.every((d) => d.split(',').every((x) => parseFloat(x) === 0)), `no transitions: ${durations.join(' ')}`);

  t.log(`${stops.n} Tab stops checked for a focus ring`);
  assert.deepEqual(ringFailures, [], 'every Tab stop shows a focus ring of at least 3:1');
}
