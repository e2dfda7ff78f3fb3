// The harness itself, independent of the web pages: Chromium reaches the server, the JSON API works
// with the browser's cookies and CSRF token, and a go link forwards inside the browser.
import { ADMIN, assert } from '../lib.mjs';

export default async function smoke(t) {
  const page = await t.newPage();

  t.step('health check');
  await t.visit(page, '/api/health', 'health');
  assert.match(await page.locator('body').innerText(), /"status"\s*:\s*"ok"/);

  t.step('first-run setup through the API, in the browser context');
  const setup = await page.context().request.post(t.url('/api/auth/setup'), {
    data: { name: ADMIN.name, email: ADMIN.email, password: ADMIN.password },
  });
  assert.equal(setup.status(), 200, `setup: ${await setup.text()}`);

  t.step('a forwarding bookmark through the API (cookie session + X-CSRF-Token)');
  const target = t.url('/api/health?from=smoke');
  await t.createBookmarkApi(page, { title: 'Health', url: target, slug: 'health', forwarding_enabled: true });

  t.step('/go/health forwards');
  await t.visit(page, '/go/health', 'go-health');
  assert.equal(page.url(), target);

  await t.visit(page, '/', 'home');
}
