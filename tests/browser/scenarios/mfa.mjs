// MFA end to end: enrol on /profile/security with a code computed from #mfa-secret, keep two backup
// codes, then sign in with a TOTP code, with a backup code, and see the used backup code refused.
import { ADMIN, assert } from '../lib.mjs';
import { nextCode } from '../totp.mjs';

export default async function mfa(t) {
  const page = await t.newPage();
  await t.setup(page);

  t.step('enrol: start');
  await t.visit(page, '/profile/security', 'security');
  await t.submit(page, 'form#mfa-start-form', 'mfa-secret');
  const secret = (await page.locator('#mfa-secret').innerText()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]+=*$/i, `#mfa-secret is base32: ${JSON.stringify(secret)}`);
  const totp = {}; // remembers the last step the server accepted (replay protection)

  t.step('enrol: confirm with a TOTP code');
  await t.fillAndSubmit(page, 'form#mfa-confirm-form', { code: await nextCode(secret, totp) }, 'backup-codes');
  const backup = (await page.locator('#backup-codes li').allInnerTexts()).map((c) => c.trim());
  assert.equal(backup.length, 10, `10 backup codes in #backup-codes: ${JSON.stringify(backup)}`);
  assert.equal(new Set(backup).size, 10, 'backup codes differ');
  const [first, second] = backup;

  await t.logout(page);

  t.step('login → MFA challenge → TOTP code');
  await t.login(page, ADMIN, 'mfa-challenge');
  t.expectPath(page, '/mfa', 'MFA is on: the password alone does not sign in');
  await t.fillAndSubmit(page, 'form#mfa-form', { code: await nextCode(secret, totp) }, 'in-with-totp');
  t.expectPath(page, '/', 'a good TOTP code signs in');
  await t.logout(page);

  t.step('login with a backup code');
  await t.login(page, ADMIN, 'mfa-challenge-2');
  t.expectPath(page, '/mfa');
  await t.fillAndSubmit(page, 'form#mfa-form', { code: first }, 'in-with-backup');
  t.expectPath(page, '/', 'a backup code signs in');
  await t.logout(page);

  t.step('the same backup code again is refused');
  await t.login(page, ADMIN, 'mfa-challenge-3');
  t.expectPath(page, '/mfa');
  const refused = await t.fillAndSubmit(page, 'form#mfa-form', { code: first }, 'backup-reused');
  t.expectPath(page, '/mfa', 'a used backup code does not sign in');
  // The contract names .field-error and .flash; a form-level alert (role=alert) says it as well.
  const errors = (await t.texts(page, '.field-error, .flash, [role=alert]')).join(' ').trim();
  assert.ok(errors.length > 0, `an error (.field-error, .flash or [role=alert]) explains the refusal (status ${refused?.status()})`);
  t.log(`  refused with status ${refused?.status()}: ${JSON.stringify(errors)}`);
  const me = await page.context().request.get(t.url('/api/auth/me'));
  assert.ok(me.status() >= 400, `still signed out after the refusal (GET /api/auth/me → ${me.status()})`);

  t.step('an unused backup code still works');
  await t.fillAndSubmit(page, 'form#mfa-form', { code: second }, 'in-with-second-backup');
  t.expectPath(page, '/', 'the second backup code signs in');
}
