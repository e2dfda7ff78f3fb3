// Passkeys end to end in Chromium with a virtual authenticator (DevTools protocol: ctap2, internal
// transport, resident keys, user verification): add a passkey on the security tab, sign out, sign
// in with the passkey alone; then, with password + passkey, get the passkey as the MFA step; remove
// the passkey and see it refused. The server runs as http://localhost:<port> (tests/browser.rs).
import { ADMIN, assert } from '../lib.mjs';

export default async function passkeys(t) {
  const page = await t.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  page.on('dialog', (d) => d.accept());
  await t.setup(page);

  t.step('security tab: add a passkey');
  await t.visit(page, '/profile/security', 'security');
  assert.equal(await page.locator('#passkeys-empty').count(), 1, 'no passkeys yet');
  await page.fill('#passkey-name', 'Work laptop');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/profile/security' && u.hash === '#passkeys', { waitUntil: 'load' }),
    page.click('form#passkey-add-form button[type=submit]'),
  ]);
  await page.locator('#passkeys-table').waitFor();
  await t.shot(page, 'passkey-added');
  const rows = await t.texts(page, '#passkeys-table tbody tr');
  assert.equal(rows.length, 1, `one passkey listed: ${JSON.stringify(rows)}`);
  assert.equal(await page.inputValue('#passkeys-table tbody input[name=name]'), 'Work laptop');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator holds the credential');
  assert.ok(credentials[0].isResidentCredential, 'a discoverable credential (resident key)');

  await t.logout(page);

  t.step('sign in with the passkey alone');
  await t.visit(page, '/login', 'login');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/', { waitUntil: 'load' }),
    page.click('#passkey-login'),
  ]);
  await t.shot(page, 'in-with-passkey');
  t.expectPath(page, '/', 'the passkey signs in');
  const me = await page.context().request.get(t.url('/api/auth/me'));
  assert.equal(me.status(), 200, 'signed in');
  assert.equal((await me.json()).email, ADMIN.email);

  await t.logout(page);

  t.step('password + passkey: the passkey is the MFA step');
  await t.login(page, ADMIN, 'mfa-step');
  t.expectPath(page, '/mfa', 'an account with a passkey needs a second factor');
  assert.equal(await page.locator('form#mfa-form').count(), 0, 'no TOTP on this account: no code form');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/', { waitUntil: 'load' }),
    page.click('#passkey-mfa'),
  ]);
  await t.shot(page, 'in-with-password-and-passkey');
  t.expectPath(page, '/', 'the passkey completes the sign-in');

  t.step('rename, then remove the passkey');
  await t.visit(page, '/profile/security', 'security-2');
  const lastUsed = (await t.texts(page, '#passkeys-table tbody td:nth-child(3)'))[0];
  assert.ok(!/never/i.test(lastUsed), `last used is shown: ${lastUsed}`);
  await page.fill('#passkeys-table tbody input[name=name]', 'Old laptop');
  await t.submit(page, '#passkeys-table tbody form.passkey-rename', 'renamed');
  assert.equal(await page.inputValue('#passkeys-table tbody input[name=name]'), 'Old laptop');
  await t.submit(page, '#passkeys-table tbody form[data-confirm]', 'removed');
  assert.equal(await page.locator('#passkeys-empty').count(), 1, 'the passkey is gone from the list');
  assert.match(await t.flash(page), /removed/i);

  await t.logout(page);

  t.step('a removed passkey no longer signs in');
  await t.visit(page, '/login', 'login-2');
  await page.click('#passkey-login');
  const error = page.locator('#passkey-error');
  await error.waitFor({ state: 'visible' });
  await t.shot(page, 'removed-passkey-refused');
  assert.match(await error.innerText(), /not registered/i);
  t.expectPath(page, '/login', 'still on the sign-in page');
  const after = await page.context().request.get(t.url('/api/auth/me'));
  assert.equal(after.status(), 401, 'not signed in');

  t.step('the password alone signs in again');
  await t.login(page, ADMIN, 'password-again');
  t.expectPath(page, '/', 'without passkeys there is no MFA step');
}
