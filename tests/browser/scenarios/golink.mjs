// Fresh instance → setup → a forwarding bookmark made in the form → /go/<slug> lands on its URL
// (a URL of the app itself, so no outside network is needed); a link saved through quick capture.
import { assert } from '../lib.mjs';

export default async function golink(t) {
  const page = await t.newPage();
  await t.setup(page);

  t.step('create a forwarding bookmark with a slug');
  const target = t.url('/api/health?via=golink');
  await t.visit(page, '/bookmarks?create=true', 'bookmark-form');
  await t.fillAndSubmit(
    page,
    'form#bookmark-form',
    { url: target, title: 'Health check', forwarding_enabled: true, slug: 'health' },
    'bookmark-created',
  );
  t.expectPath(page, '/bookmarks', 'saving a bookmark returns to the list');
  assert.ok((await t.flash(page)).length > 0, 'a .flash confirms the new bookmark');
  assert.equal(await page.locator('.flash').first().getAttribute('role'), 'status', '.flash has role=status');
  const titles = await t.texts(page, '#results .bookmark[data-id] .bookmark-title');
  assert.ok(titles.some((x) => x.includes('Health check')), `new bookmark in #results: ${JSON.stringify(titles)}`);

  t.step('Enter in the dialog saves (it is not taken by "Fetch title")');
  await t.visit(page, '/bookmarks?create=true', 'bookmark-form-enter');
  await t.fill(page, 'form#bookmark-form', { url: t.url('/api/version'), title: 'Version by Enter' });
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#bm-title').press('Enter')]);
  t.expectPath(page, '/bookmarks', 'Enter saved the bookmark');
  const after = await t.texts(page, '#results .bookmark[data-id] .bookmark-title');
  assert.ok(after.some((x) => x.includes('Version by Enter')), `saved by Enter: ${JSON.stringify(after)}`);

  t.step('quick capture: /bookmarks/new?url=… opens the form filled in, and Enter saves it');
  const captured = t.url('/api/version?via=capture');
  await t.visit(page, `/bookmarks/new?url=${encodeURIComponent(captured)}&title=${encodeURIComponent('Captured link')}`, 'quick-capture');
  assert.equal(await page.locator('#bm-url').inputValue(), captured, 'the URL is filled in');
  assert.equal(await page.locator('#bm-title').inputValue(), 'Captured link', 'the title is filled in');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#bm-title').press('Enter')]);
  t.expectPath(page, '/bookmarks', 'saving the captured link returns to the list');
  const withCaptured = await t.texts(page, '#results .bookmark[data-id] .bookmark-title');
  assert.ok(withCaptured.some((x) => x.includes('Captured link')), `captured: ${JSON.stringify(withCaptured)}`);

  t.step('/go/health forwards to the bookmark URL');
  await t.visit(page, '/go/health', 'go-health');
  assert.equal(page.url(), target, 'forwarded to the bookmark URL');
  assert.match(await page.locator('body').innerText(), /"status"\s*:\s*"ok"/);

  t.step('the slug matches without regard to case');
  await t.visit(page, '/go/HEALTH', 'go-health-upper');
  assert.equal(page.url(), target);
}
