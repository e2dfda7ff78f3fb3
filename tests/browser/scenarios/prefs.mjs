// Preferences stick: German and the dark theme chosen on /profile apply after the reload.
import { assert } from '../lib.mjs';

export default async function prefs(t) {
  const page = await t.newPage();
  await t.setup(page);

  t.step('English and the automatic theme at first');
  await t.visit(page, '/profile', 'profile-en');
  const first = await t.htmlAttrs(page);
  assert.equal(first.lang, 'en', '<html lang> before the change');
  assert.ok(['auto', 'light', 'dark'].includes(first.theme), `<html data-theme> is auto|light|dark: ${first.theme}`);

  t.step('switch to German and dark');
  await t.fillAndSubmit(page, 'form#profile-form', { language: 'de', theme: { radio: 'dark' } }, 'profile-saved');
  t.expectPath(page, '/profile', 'saving reloads /profile');
  let attrs = await t.htmlAttrs(page);
  assert.equal(attrs.lang, 'de', '<html lang> after saving');
  assert.equal(attrs.theme, 'dark', '<html data-theme> after saving');

  t.step('still German and dark on the next page load');
  await t.visit(page, '/bookmarks', 'bookmarks-de-dark');
  attrs = await t.htmlAttrs(page);
  assert.deepEqual(attrs, { lang: 'de', theme: 'dark' });
  const nav = (await t.texts(page, 'nav')).join(' ');
  assert.match(nav, /Lesezeichen/, `the navigation is German: ${JSON.stringify(nav.slice(0, 300))}`);
  await t.visit(page, '/profile', 'profile-de');
  assert.equal(await page.locator('form#profile-form select[name=language]').inputValue(), 'de');
  assert.equal(await page.locator('form#profile-form input[name=theme][value=dark]').isChecked(), true);
  // The dark theme really paints dark: the page background is not light.
  const bg = await page.evaluate(() => {
    // Any CSS colour (rgb, oklch, color-mix…) as sRGB bytes, through a canvas pixel.
    const rgba = (c) => {
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.fillStyle = c;
      ctx.fillRect(0, 0, 1, 1);
      return [...ctx.getImageData(0, 0, 1, 1).data];
    };
    let c = 'none (white)';
    let px = [255, 255, 255, 255];
    for (const el of [document.body, document.documentElement]) {
      const v = getComputedStyle(el).backgroundColor;
      const p = rgba(v);
      if (p[3] > 0) {
        c = v;
        px = p;
        break;
      }
    }
    return { c, luminance: (0.2126 * px[0] + 0.7152 * px[1] + 0.0722 * px[2]) / 255 };
  });
  assert.ok(bg.luminance < 0.5, `dark theme background is dark: ${bg.c}`);
}
