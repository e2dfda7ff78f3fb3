// Sign-in through an identity provider: the admin adds the provider on /admin/oidc, then a visitor
// clicks "Sign in with testidp" on /login, signs in on the provider's own login page (another site:
// the provider runs on 127.0.0.2) and lands in SlugBase with a new account; the profile names the
// link. tests/browser.rs starts the provider and passes OIDC_ISSUER, OIDC_CLIENT_ID and
// OIDC_CLIENT_SECRET.
import { assert } from '../lib.mjs';

export default async function oidc(t) {
  const issuer = process.env.OIDC_ISSUER;
  const clientId = process.env.OIDC_CLIENT_ID;
  const secret = process.env.OIDC_CLIENT_SECRET;
  assert.ok(issuer && clientId && secret, 'OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are set');
  const idpOrigin = new URL(issuer).origin;

  const admin = await t.newPage('admin');
  await t.setup(admin);

  t.step('the admin adds the provider on /admin/oidc');
  await t.visit(admin, '/admin/oidc', 'providers-empty');
  await t.visit(admin, '/admin/oidc?create=true', 'provider-form');
  await t.fillAndSubmit(
    admin,
    'form#oidc-form',
    { provider_key: 'testidp', issuer_url: issuer, client_id: clientId, client_secret: secret },
    'provider-added',
  );
  t.expectPath(admin, '/admin/oidc', 'back on the list after adding');
  const rows = (await t.texts(admin, '#oidc-providers tbody tr')).join(' | ');
  assert.ok(rows.includes('testidp') && rows.includes(issuer), `the provider is listed: ${rows}`);
  assert.ok(!(await admin.content()).includes(secret), 'the client secret is never shown');

  t.step('a visitor signs in through the provider');
  const page = await t.newPage('visitor');
  await t.visit(page, '/login', 'login-with-provider');
  const button = page.locator('#sign-in-providers a[data-provider="testidp"]');
  assert.equal(await button.count(), 1, 'one button for the provider');
  await Promise.all([page.waitForURL((u) => u.origin === idpOrigin), button.click()]);
  await t.shot(page, 'provider-login-page');
  await page.locator('#username').fill('alice');
  await Promise.all([
    page.waitForURL((u) => u.origin === t.origin, { waitUntil: 'load' }),
    page.locator('#submit').click(),
  ]);
  await t.shot(page, 'signed-in');
  t.expectPath(page, '/', 'the provider sends the visitor into the app');

  const me = await page.context().request.get(t.url('/api/auth/me'));
  assert.equal(me.status(), 200, 'signed in (session cookie after the cross-site redirect back)');
  const who = await me.json();
  assert.equal(who.email, 'alice@example.com');
  assert.equal(who.oidc_provider, 'testidp');
  assert.equal(who.is_admin, false, 'a new account of a user-role provider is no admin');

  t.step('the profile names the linked provider');
  await t.visit(page, '/profile', 'profile');
  const linked = (await t.texts(page, '#oidc-linked')).join(' ');
  assert.ok(linked.includes('testidp'), `the profile shows the link: ${JSON.stringify(linked)}`);

  t.step('a failed sign-in is explained on the sign-in page');
  await t.logout(page);
  await t.visit(page, '/login?error=auto_create_disabled', 'login-error');
  const alert = (await t.texts(page, '[role=alert]')).join(' ');
  assert.ok(alert.includes('may not create'), `the reason is shown: ${JSON.stringify(alert)}`);
}
