// "Forgot password" end to end: a member asks for a reset link on the sign-in page, the link
// arrives at a real SMTP server (tests/mail/smtp_sink.py; its messages are JSON files in
// $MAIL_DIR), the member follows it, chooses a new password and signs in with it. The link then
// no longer works.
import fs from 'node:fs';
import path from 'node:path';
import { assert, eventually } from '../lib.mjs';

const MEMBER = { name: 'Mia Member', email: 'mia@example.com', password: 'Old-Passw0rd!' };
const NEW_PASSWORD = 'Fresh-Passw0rd!2';

/** The messages the SMTP server received so far, oldest first. */
function mails() {
  const dir = process.env.MAIL_DIR;
  assert.ok(dir, 'MAIL_DIR is set (tests/browser.rs starts the SMTP sink)');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

export default async function forgotPassword(t) {
  const page = await t.newPage();
  await t.setup(page);

  t.step('an admin creates a member with a password');
  const created = await t.api(page, 'POST', '/api/admin/users', {
    email: MEMBER.email,
    name: MEMBER.name,
    password: MEMBER.password,
  });
  assert.equal(created.status, 201, `create member: ${created.text}`);
  await t.logout(page);

  t.step('"Forgot password?" on the sign-in page');
  const guest = await t.newPage('guest');
  await t.visit(guest, '/login', 'login');
  await Promise.all([guest.waitForNavigation({ waitUntil: 'load' }), guest.click('a[href="/reset-password"]')]);
  t.expectPath(guest, '/reset-password');
  await t.shot(guest, 'reset-request');
  await t.fillAndSubmit(guest, 'form#recovery-email-form', { email: MEMBER.email }, 'reset-requested');
  const notice = await guest.locator('#recovery-notice').innerText();
  assert.match(notice, /reset link has been sent/, `the page says a link is on its way: ${notice}`);

  t.step('the reset mail arrives');
  const mail = await eventually(
    'the reset mail',
    () => mails().find((m) => m.rcpt_tos[0] === MEMBER.email && m.parsed.subject === 'Password Reset Request - SlugBase'),
    { timeout: 60_000, interval: 200 },
  );
  const link = mail.parsed.text.match(/https?:\/\/\S+\/reset-password\?token=[0-9a-f]{64}/)?.[0];
  assert.ok(link, `a reset link in the mail: ${mail.parsed.text}`);
  assert.ok(link.startsWith(t.base), `the link points at this server: ${link}`);

  t.step('the link opens the new-password form');
  await t.visit(guest, link.slice(t.base.length), 'reset-form');
  await t.fillAndSubmit(
    guest,
    'form#reset-password-form',
    { password: NEW_PASSWORD, confirm_password: NEW_PASSWORD },
    'password-set',
  );
  t.expectPath(guest, '/login', 'after setting the password the member signs in');
  assert.match(await t.flash(guest), /password is set/i);

  t.step('the old password no longer works, the new one does');
  await t.fillAndSubmit(guest, 'form#login-form', { email: MEMBER.email, password: MEMBER.password }, 'old-password');
  t.expectPath(guest, '/login', 'the old password is refused');
  await t.login(guest, { ...MEMBER, password: NEW_PASSWORD }, 'signed-in');
  t.expectPath(guest, '/', 'the new password signs in');

  t.step('the link works once');
  const again = await t.newPage('again');
  await t.visit(again, link.slice(t.base.length), 'link-again', { status: 400 });
  assert.ok((await again.locator('form#reset-password-form').count()) === 0, 'no password form for a used link');
  const error = (await t.texts(again, '[role=alert]')).join(' ');
  assert.match(error, /invalid or has expired/i, `the page says the link is used up: ${error}`);
}
