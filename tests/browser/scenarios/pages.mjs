// Every page, in English and in German: status below 400, <html lang> and data-theme as promised,
// no console errors, no request to another origin. Then the weight of /bookmarks with 50
// bookmarks, as transferred (compressed, as sent), must stay under 150 KB.
import { ADMIN, assert } from '../lib.mjs';

const SIGNED_IN = [
  '/',
  '/bookmarks',
  '/bookmarks?create=true',
  '/bookmarks?import=true',
  '/bookmarks?view=list',
  '/bookmarks?view=table',
  '/bookmarks?scope=shared_with_me',
  '/folders',
  '/folders?create=true',
  '/tags',
  '/tags?create=true',
  '/profile',
  '/profile/security',
  '/profile/tokens',
  '/go-preferences',
  '/search-engine-guide',
  '/admin/members',
  '/admin/teams',
  '/admin/settings',
  '/admin/audit-log',
];
const SIGNED_OUT = ['/login', '/signup', '/reset-password', '/password-reset', '/verify-email', '/verify-email-required'];
const BYTES_LIMIT = 150_000;
const BOOKMARKS = 50;

function shotName(lang, p) {
  return `${lang}${p === '/' ? '-home' : p.replace(/[/?=&]+/g, '-')}`;
}

/** Visits `p`, checks lang/theme and that the visit logged no console error. */
async function tour(t, page, lang, paths, { strictLang = true, notes }) {
  for (const p of paths) {
    const errorsBefore = t.consoleErrors.length;
    const foreignBefore = t.foreignRequests.length;
    await t.visit(page, p, shotName(lang, p));
    const { lang: got, theme } = await t.htmlAttrs(page);
    assert.ok(['auto', 'light', 'dark'].includes(theme), `${p}: <html data-theme> is auto|light|dark, got ${theme}`);
    if (strictLang) {
      assert.equal(got, lang, `${p}: <html lang>`);
    } else if (got !== lang) {
      notes.push(`${p} (signed out, Accept-Language: ${lang}) answers in <html lang="${got}">`);
    }
    const errors = t.consoleErrors.slice(errorsBefore);
    assert.deepEqual(errors.map((e) => `${e.text} ${e.source}`), [], `${p}: console errors`);
    const foreign = t.foreignRequests.slice(foreignBefore);
    assert.deepEqual(foreign.map((r) => r.url), [], `${p}: requests to other origins`);
  }
}

async function measureBookmarks(t, context) {
  const page = await context.newPage();
  page.label = 'bytes';
  t.watch(page);
  t.pages.push(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const requests = new Map();
  cdp.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId) || {};
    Object.assign(r, {
      url: e.response.url,
      type: e.type,
      headerBytes: e.response.encodedDataLength || 0,
      encoding: e.response.headers['content-encoding'] || e.response.headers['Content-Encoding'] || '',
    });
    requests.set(e.requestId, r);
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId) || {};
    r.total = e.encodedDataLength;
    requests.set(e.requestId, r);
  });
  await page.goto(t.url('/bookmarks'), { waitUntil: 'networkidle' });
  await t.shot(page, 'bytes-bookmarks');
  const listed = await page.locator('#results .bookmark[data-id]').count();
  let body = 0;
  let total = 0;
  t.log(`/bookmarks with ${BOOKMARKS} bookmarks (${listed} listed on the page), cache disabled:`);
  for (const r of requests.values()) {
    if (r.total === undefined) continue;
    const bodyBytes = Math.max(0, r.total - (r.headerBytes || 0));
    body += bodyBytes;
    total += r.total;
    t.log(`  ${String(bodyBytes).padStart(7)} B body  ${String(r.total).padStart(7)} B total  ${r.type || ''} ${r.encoding || 'identity'} ${r.url}`);
  }
  t.log(`transferred: ${body} bytes of response bodies (${(body / 1000).toFixed(1)} KB), ${total} bytes with headers, limit ${BYTES_LIMIT} bytes`);
  assert.ok(listed > 0, '/bookmarks lists bookmarks');
  assert.ok(body <= BYTES_LIMIT, `/bookmarks transfers ${body} bytes of bodies, more than ${BYTES_LIMIT}`);
  await cdp.detach();
  await page.close();
}

export default async function pages(t) {
  const notes = [];
  const page = await t.newPage('en', { locale: 'en-US' });
  await t.setup(page);

  t.step(`${BOOKMARKS} bookmarks through the API`);
  for (let i = 1; i <= BOOKMARKS; i += 1) {
    await t.createBookmarkApi(page, {
      title: `Bookmark number ${i} about topic ${['rust', 'databases', 'design', 'travel', 'cooking'][i % 5]}`,
      url: `https://site${i}.example.com/articles/${i}/a-reasonably-long-path-segment`,
      description: i % 3 === 0 ? `Notes for bookmark ${i}: why it matters and what to read first.` : undefined,
      ...(i % 4 === 0 ? { slug: `link-${i}`, forwarding_enabled: true } : {}),
      pinned: i % 10 === 0,
    });
  }

  t.step('every signed-in page in English');
  await tour(t, page, 'en', SIGNED_IN, { notes });

  t.step('Ctrl+K opens the command palette');
  await t.visit(page, '/bookmarks', 'before-palette');
  await page.keyboard.press('Control+k');
  await page.locator('#palette').waitFor({ state: 'visible', timeout: 5_000 });
  assert.ok((await page.locator('#palette input').count()) > 0, '#palette has an input');
  await t.shot(page, 'palette');
  const focused = await page.evaluate(() => Boolean(document.activeElement?.closest('#palette')));
  if (!focused) notes.push('Ctrl+K opens #palette but its input does not have the focus');
  await page.keyboard.press('Escape');

  t.step('weight of /bookmarks');
  await measureBookmarks(t, page.context());

  await t.logout(page);
  t.step('signed-out pages in English');
  await tour(t, page, 'en', SIGNED_OUT, { notes });

  t.step('switch the account to German');
  const res = await t.login(page, ADMIN);
  assert.ok(res && res.status() < 400);
  t.expectPath(page, '/', 'login lands on /');
  await t.visit(page, '/profile', 'profile');
  await t.fillAndSubmit(page, 'form#profile-form', { language: 'de' }, 'profile-de');

  t.step('every signed-in page in German');
  await tour(t, page, 'de', SIGNED_IN, { notes });
  await t.logout(page);

  t.step('signed-out pages for a German browser');
  const de = await t.newPage('de', { locale: 'de-DE' });
  await tour(t, de, 'de', SIGNED_OUT, { strictLang: false, notes });

  assert.deepEqual(t.consoleErrors.map((e) => `${e.url}: ${e.text}`), [], 'no console errors anywhere');
  assert.deepEqual(t.foreignRequests.map((r) => r.url), [], 'no request left the origin');
  for (const n of notes) t.log(`note: ${n}`);
}
