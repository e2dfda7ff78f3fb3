// Import a Netscape bookmark file (fixtures/bookmarks.html: two folders, six links) through the
// form; the flash counts them, the list and /folders show them, and live search narrows #results
// in place without a navigation.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, eventually } from '../lib.mjs';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bookmarks.html');
const TITLES = [
  'Zebrafish Handbook',
  'Build Dashboard',
  'Issue Board',
  'Notes on Ownership',
  'Morning News',
  'Weather Forecast',
];

export default async function importScenario(t) {
  const page = await t.newPage();
  await t.setup(page);

  t.step('import the Netscape file');
  await t.visit(page, '/bookmarks?import=true', 'import-form');
  const file = page.locator('form#import-form input[type=file][name=file]');
  const accept = (await file.getAttribute('accept')) || '';
  for (const ext of ['.json', '.html']) {
    assert.ok(accept.split(',').map((a) => a.trim()).includes(ext), `the file input accepts ${ext}: accept="${accept}"`);
  }
  assert.equal(await page.locator('form#import-form').getAttribute('enctype'), 'multipart/form-data', 'the import form is multipart');
  await file.setInputFiles(FIXTURE);
  await t.submit(page, 'form#import-form', 'imported');
  t.expectPath(page, '/bookmarks', 'the import returns to the list');
  const flash = await t.flash(page);
  assert.match(flash, /\b6\b/, `the .flash counts the 6 imported bookmarks: ${JSON.stringify(flash)}`);

  const items = page.locator('#results .bookmark[data-id]');
  const titles = await page.locator('#results .bookmark[data-id] .bookmark-title').allInnerTexts();
  for (const title of TITLES) {
    assert.ok(titles.some((x) => x.includes(title)), `"${title}" in #results: ${JSON.stringify(titles)}`);
  }
  assert.equal(await items.count(), TITLES.length, 'one .bookmark per imported link');

  t.step('the file’s folders are folders');
  await t.visit(page, '/folders', 'folders');
  const folders = (await t.texts(page, '.folder-card .folder-name')).map((x) => x.trim());
  for (const name of ['Work Projects', 'Reading List']) {
    assert.ok(folders.includes(name), `folder "${name}" on /folders: ${JSON.stringify(folders)}`);
  }

  t.step('live search narrows the list in place');
  await t.visit(page, '/bookmarks', 'bookmarks');
  await eventually('all imported bookmarks listed', async () => (await items.count()) === TITLES.length);
  const before = new URL(page.url());
  let loads = 0;
  page.on('load', () => (loads += 1));
  // A real navigation would take this marker with the old document.
  await page.evaluate(() => (window.__sameDocument = true));
  await page.locator('input#search').click();
  await page.locator('input#search').pressSequentially('Zebrafish', { delay: 60 });
  await eventually(
    'a single result for "Zebrafish"',
    async () => (await items.count()) === 1,
    { timeout: 8_000 },
  );
  await t.shot(page, 'search-narrowed');
  const only = await page.locator('#results .bookmark[data-id] .bookmark-title').allInnerTexts();
  assert.deepEqual(only.map((x) => x.trim()), ['Zebrafish Handbook']);
  assert.equal(await page.evaluate(() => window.__sameDocument === true), true, 'no navigation: the document survived');
  assert.equal(loads, 0, 'no page load while searching');
  assert.equal(new URL(page.url()).pathname, before.pathname, 'still on /bookmarks');

  t.step('clearing the search brings everything back');
  await page.locator('input#search').fill('');
  await eventually('the full list again', async () => (await items.count()) === TITLES.length, { timeout: 8_000 });
  await t.shot(page, 'search-cleared');
}
