// A phone-sized screen (375×812, touch, device scale 2): no page scrolls sideways.
import { assert } from '../lib.mjs';

const PAGES = [
  ['/bookmarks', 'bookmarks'],
  ['/', 'home'],
  ['/bookmarks?create=true', 'bookmark-form'],
  ['/folders', 'folders'],
  ['/profile', 'profile'],
];

export default async function phone(t) {
  const page = await t.newPage('phone', {
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  await t.setup(page);

  t.step('a few bookmarks through the API (long titles and URLs on purpose)');
  const samples = [
    ['Rust Documentation', 'https://doc.rust-lang.org/std/collections/hash_map/struct.HashMap.html#method.entry', 'rustdoc'],
    ['An uncommonly long bookmark title that goes on and on to see whether it wraps on a small screen', 'https://example.com/a/very/long/path/that/keeps/going/and/going/without/any/natural/break/points/at/all?with=query&and=more', null],
    ['Team calendar', 'https://calendar.example.org/team', 'cal'],
    ['Supercalifragilisticexpialidocious-unbreakable-word-without-spaces-in-the-title', 'https://example.net/', null],
    ['Weather', 'https://weather.example.com/', 'weather'],
  ];
  for (const [title, url, slug] of samples) {
    await t.createBookmarkApi(page, { title, url, ...(slug ? { slug, forwarding_enabled: true } : {}) });
  }

  for (const [p, name] of PAGES) {
    t.step(`${p} fits the width`);
    await t.visit(page, p, name);
    const m = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    assert.ok(m.scrollWidth <= m.innerWidth, `${p}: scrollWidth ${m.scrollWidth} > innerWidth ${m.innerWidth}`);
    // One-line controls keep a one-line height (a stretched flex item shows up here).
    const tall = await page.evaluate(() =>
      [...document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select:not([multiple]), button')]
        .filter((el) => el.offsetParent !== null)
        .map((el) => ({ el: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.name ? `[name=${el.name}]` : ''}`, h: Math.round(el.getBoundingClientRect().height) }))
        .filter((x) => x.h > 72),
    );
    assert.deepEqual(tall, [], `${p}: one-line controls taller than 72 px`);
    if (p === '/bookmarks') {
      assert.equal(await page.locator('#results .bookmark[data-id]').count(), samples.length, 'all bookmarks listed');
    }
  }
}
