// Sharing between two people in two browser contexts: the admin creates Bob, a folder with a
// bookmark in it, and shares the folder with Bob; Bob sees the bookmark; the admin disables Bob,
// whose next page load lands on /login.
import { assert } from '../lib.mjs';

const BOB = { name: 'Bob Builder', email: 'bob@example.com', password: 'Bob-Passw0rd!23' };
const FOLDER = 'Team Handbooks';
const TITLE = 'Shared Onboarding Guide';

export default async function sharing(t) {
  const admin = await t.newPage('admin');
  await t.setup(admin);

  t.step('admin creates Bob');
  await t.visit(admin, '/admin/members?create=true', 'member-form');
  await t.fillAndSubmit(
    admin,
    'form#member-create-form',
    { name: BOB.name, email: BOB.email, password: BOB.password, is_admin: false },
    'member-created',
  );
  await t.visit(admin, '/admin/members', 'members');
  assert.equal(await admin.locator(`tr[data-email="${BOB.email}"]`).count(), 1, `a row tr[data-email="${BOB.email}"]`);

  t.step('admin creates a folder');
  await t.visit(admin, '/folders?create=true', 'folder-form');
  await t.fillAndSubmit(admin, 'form#folder-form', { name: FOLDER }, 'folder-created');
  await t.visit(admin, '/folders', 'folders');
  const card = admin.locator('.folder-card[data-id]').filter({ has: admin.locator('.folder-name', { hasText: FOLDER }) });
  assert.equal(await card.count(), 1, `one .folder-card[data-id] named "${FOLDER}"`);
  const folderId = await card.getAttribute('data-id');
  assert.ok(folderId, 'the folder card carries its id');

  t.step('admin adds a bookmark to the folder');
  await t.visit(admin, '/bookmarks?create=true', 'bookmark-form');
  await t.fillAndSubmit(
    admin,
    'form#bookmark-form',
    { url: t.url('/api/health?shared=1'), title: TITLE, folder_ids: [FOLDER], tags: 'onboarding, shared' },
    'bookmark-created',
  );
  t.expectPath(admin, '/bookmarks');

  t.step('admin shares the folder with Bob');
  await t.visit(admin, `/folders?share=${encodeURIComponent(folderId)}`, 'share-form');
  const bobId = await admin.locator('form#share-form input[name=user_ids]').evaluateAll((inputs, email) => {
    const labelOf = (i) => [...(i.labels || [])].map((l) => l.innerText).join(' ') || i.closest('label')?.innerText || i.parentElement?.innerText || '';
    const hit = inputs.find((i) => labelOf(i).includes(email));
    return hit ? hit.value : null;
  }, BOB.email);
  assert.ok(bobId, `a user_ids checkbox labelled with ${BOB.email} in form#share-form`);
  await admin.locator(`form#share-form input[name=user_ids][value="${bobId}"]`).check();
  await t.submit(admin, 'form#share-form', 'shared');

  t.step('Bob signs in and sees the shared bookmark');
  const bob = await t.newPage('bob');
  await t.login(bob, BOB, 'bob-signed-in');
  assert.notEqual(t.pathOf(bob), '/login', 'Bob is signed in');
  await t.visit(bob, '/bookmarks', 'bob-bookmarks');
  const titles = await t.texts(bob, '#results .bookmark[data-id] .bookmark-title');
  assert.ok(titles.some((x) => x.includes(TITLE)), `Bob sees "${TITLE}": ${JSON.stringify(titles)}`);

  t.step('admin disables Bob');
  await t.visit(admin, '/admin/members', 'members-again');
  const row = admin.locator(`tr[data-email="${BOB.email}"]`);
  await t.submit(admin, `tr[data-email="${BOB.email}"] form.toggle-disabled`, 'bob-disabled');
  assert.equal(await row.count(), 1, 'Bob is still listed');

  t.step('Bob’s next page load lands on /login');
  await t.visit(bob, '/bookmarks', 'bob-after-disable');
  t.expectPath(bob, '/login', 'a disabled account is signed out');

  t.step('and Bob cannot sign in again');
  await t.login(bob, BOB, 'bob-login-refused');
  t.expectPath(bob, '/login', 'a disabled account cannot sign in');
}
