// AI suggestions against a local stand-in for an OpenAI-compatible server (AI_FAKE_BASE, started
// by tests/browser.rs): the admin saves the endpoint on the settings page, lists its models and
// tests it; "Suggest" in the create dialog fills title, slug and tags, which then save; the
// profile's switch hides the button. Each new control is checked with axe-core.
import { assert } from '../lib.mjs';
import { Axe } from '../a11y.mjs';

export default async function aiSuggest(t) {
  const base = process.env.AI_FAKE_BASE;
  assert.ok(base, 'AI_FAKE_BASE is set');
  const page = await t.newPage();
  const axe = new Axe(t);
  await t.setup(page);

  t.step('without AI configured the create dialog has no Suggest button');
  await t.visit(page, '/bookmarks?create=true', 'dialog-without-ai');
  assert.equal(await page.locator('#bm-suggest').count(), 0, 'no Suggest button yet');

  t.step('the admin configures a local OpenAI-compatible server');
  await t.visit(page, '/admin/settings', 'admin-settings');
  await t.fillAndSubmit(
    page,
    'form#ai-form',
    { ai_enabled: true, ai_provider: 'openai-compatible', ai_base_url: base, ai_model: 'llama3.2' },
    'ai-saved',
  );
  t.expectPath(page, '/admin/settings');
  assert.ok((await t.flash(page)).length > 0, 'saving confirms');
  assert.equal((await page.locator('#ai-status').innerText()).trim().length > 0, true);
  await t.submit(page, 'form[action="/admin/settings/ai/models"]', 'ai-models', { button: '#ai-list-models' });
  const models = await t.texts(page, '#ai-models li');
  assert.deepEqual(models, ['llama3.2', 'qwen2.5:7b'], 'the server lists its models');
  await axe.check(page, 'admin settings with AI models', { context: '#ai' });
  await t.submit(page, 'form[action="/admin/settings/ai/test"]', 'ai-test', { button: '#ai-test' });
  assert.match(await t.flash(page), /llama3\.2/, 'the test names the model that answered');

  t.step('"Suggest" in the create dialog fills title, slug and tags');
  await t.visit(page, '/bookmarks?create=true', 'dialog-with-ai');
  assert.equal(await page.locator('#bm-suggest').count(), 1, 'Suggest button');
  await axe.check(page, 'create dialog with Suggest', { context: 'dialog' });
  await t.fill(page, 'form#bookmark-form', { url: 'http://192.168.50.5/docs?session=abc' });
  await t.submit(page, 'form#bookmark-form', 'suggested', { button: '#bm-suggest' });
  assert.equal(await page.locator('#bm-url').inputValue(), 'http://192.168.50.5/docs?session=abc', 'the URL stays');
  assert.equal(await page.locator('#bm-title').inputValue(), 'Example Domain');
  assert.equal(await page.locator('#bookmark-slug').inputValue(), 'example-domain');
  assert.equal(await page.locator('#bm-tags').inputValue(), 'docs, reference');
  await axe.check(page, 'create dialog after Suggest', { context: 'dialog' });
  await t.submit(page, 'form#bookmark-form', 'saved');
  t.expectPath(page, '/bookmarks', 'the suggestion saves');
  const titles = await t.texts(page, '#results .bookmark[data-id] .bookmark-title');
  assert.ok(titles.some((x) => x.includes('Example Domain')), `saved: ${JSON.stringify(titles)}`);

  t.step('the profile switch turns the button off');
  await t.visit(page, '/profile', 'profile');
  await axe.check(page, 'profile with the AI switch', { context: '#profile-form' });
  await t.fillAndSubmit(page, 'form#profile-form', { ai_suggestions_enabled: false }, 'profile-saved');
  await t.visit(page, '/bookmarks?create=true', 'dialog-switched-off');
  assert.equal(await page.locator('#bm-suggest').count(), 0, 'no Suggest button after switching off');
  axe.finish();
}
