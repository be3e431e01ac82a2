// Settings page (htdocs/staff/settings.html) against the in-memory stand-in server
// (lib/fake-server.js): loading, saving only what changed, errors by the field with nothing
// lost (every refused field at once; an email text's in its own language), the logo,
// preview and test email, modules and rules, non-admins, keyboard, 360 px and axe.
// e2e.test.js covers the real server.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer, SETTINGS } from './lib/fake-server.js';
import { makePng } from './lib/images.js';
import {
  launch, watchedPage, assertNoProblems, checkA11y, screenshot, assertNoHorizontalScroll, DESKTOP, PHONE,
} from './lib/browser.js';

// a 1×1 PNG, and an SVG (refused: it can carry scripts)
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#2f5d62"/></svg>');

let server;
let browser;

before(async () => {
  server = await startFakeServer({ deliveryDelayMs: 600 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function settingsPage({ user = 'admin', viewport = DESKTOP, wait = true } = {}) {
  const context = await browser.newContext({ viewport, httpCredentials: { username: user, password: 'pw' } });
  const page = await watchedPage(context);
  await page.goto(server.baseURL + '/portal-manager/settings.html');
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  if (wait) {
    await page.locator('#settings:not([hidden])').waitFor();
    await page.locator('#preview:not([aria-busy])').waitFor();
  }
  return page;
}

const puts = () => server.requests.filter((r) => r.method === 'PUT' && r.path === '/portal-manager/api/admin/settings');
const lastPut = () => JSON.parse(puts().at(-1).body);

// Reset the stand-in's settings between tests.
function resetSettings() {
  for (const k of Object.keys(server.storedSettings)) delete server.storedSettings[k];
}

describe('settings page', () => {
  test('reached from the staff page; shows every setting; axe clean', async () => {
    resetSettings();
    const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(server.baseURL + '/portal-manager/');
    await page.getByRole('link', { name: 'Client portal settings' }).click();
    await page.getByRole('heading', { name: 'Client portal settings', level: 1 }).waitFor();
    await page.locator('#settings:not([hidden])').waitFor();

    assert.equal(await page.getByLabel('Practice name').inputValue(), 'Riverside Counseling');
    assert.equal(await page.getByLabel('Link to the client portal').inputValue(), server.baseURL + '/portal/account/');
    assert.equal(await page.getByLabel('Brand colour').inputValue(), '');
    assert.equal(await page.locator('#logo-none').isVisible(), true);
    const clientBox = page.getByRole('group', { name: 'Email to clients' });
    assert.equal(await clientBox.getByLabel('Subject').inputValue(), '{{practice_name}}: your invitation to the client portal');
    assert.match(await clientBox.getByLabel('Message').inputValue(), /\{\{link\}\}/);
    for (const p of ['{{recipient_first_name}}', '{{practice_name}}', '{{link}}', '{{expires_at}}']) {
      await page.locator('.placeholder-list code', { hasText: p }).waitFor();
    }
    for (const name of ['Send and receive secure messages', 'See their statements', 'Get an email when a new statement is ready',
      'Request appointments', 'Make payments', 'Fill in forms', /Staff can invite client representatives/]) {
      assert.equal(await page.getByRole('checkbox', { name }).isChecked(), true, String(name));
    }
    assert.equal(await page.getByLabel('Invitation links work for (hours)').inputValue(), '168');
    assert.equal(await page.getByLabel('Wait before a resend (minutes)').inputValue(), '10');
    assert.equal(await page.getByLabel('Emails per invitation, at most').inputValue(), '5');
    assert.equal(await page.getByLabel('Shortest portal password (characters)').inputValue(), '12');

    // the preview (saved settings) is there from the start
    await page.locator('#preview-subject').filter({ hasText: 'Riverside Counseling: your invitation to the client portal' }).waitFor();
    await page.locator('#preview-html').getByText('Hello Alex,').waitFor();
    assert.equal(await page.locator('[data-dirty]:visible').count(), 0);
    await checkA11y(page, 'settings initial');
    await screenshot(page, 'settings');
    assertNoProblems(page);
    await context.close();
  });

  test('invitation emails: only the changed subject is sent; the preview follows; errors by the field, nothing lost', async () => {
    resetSettings();
    const page = await settingsPage();
    const clientBox = page.getByRole('group', { name: 'Email to clients' });
    const subject = clientBox.getByLabel('Subject');
    const message = clientBox.getByLabel('Message');
    const form = page.locator('#invitations-form');

    // an unsaved edit elsewhere must survive everything below
    await page.getByLabel('Practice name').fill('Riverside Counseling Center');

    await subject.fill('Your portal invitation from {{practice_name}}');
    await form.getByText('Unsaved changes').waitFor();
    await page.locator('#preview-unsaved').waitFor();
    await checkA11y(page, 'settings unsaved');

    // unknown placeholder → 422 invalid_setting next to the subject, focus there, text kept
    await subject.fill('Hello {{first_name}}');
    const before = puts().length;
    await form.getByRole('button', { name: 'Save invitation emails' }).click();
    const err = page.locator('#client-subject-error');
    await err.filter({ hasText: 'unknown placeholder {{first_name}}' }).waitFor();
    assert.equal(puts().length, before + 1);
    assert.deepEqual(lastPut(), { client_invitation_subject: { en: 'Hello {{first_name}}' } });
    assert.equal(await subject.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'client-subject');
    assert.equal(await subject.inputValue(), 'Hello {{first_name}}');
    assert.equal(await page.getByLabel('Practice name').inputValue(), 'Riverside Counseling Center');
    await page.locator('#status').filter({ hasText: /not saved/ }).waitFor();
    await checkA11y(page, 'settings field error');
    await screenshot(page, 'settings-error');

    // a message without {{link}}: explained by the message
    await subject.fill('Your portal invitation from {{practice_name}}');
    await message.fill('Hello {{recipient_first_name}}, welcome.');
    await form.getByRole('button', { name: 'Save invitation emails' }).click();
    await page.locator('#client-message-error').filter({ hasText: 'must contain {{link}}' }).waitFor();
    assert.equal(await page.locator('#client-subject-error').isVisible(), false, 'the old error is gone');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'client-message');

    // put the message back (Undo restores the saved texts), change only the subject, save
    await form.getByRole('button', { name: 'Undo changes' }).click();
    assert.equal(await subject.inputValue(), '{{practice_name}}: your invitation to the client portal');
    assert.equal(await page.locator('#client-message-error').isVisible(), false);
    await subject.fill('Your portal invitation from {{practice_name}}');
    await subject.press('Enter');   // Enter in a field submits its section
    await page.locator('#status').filter({ hasText: 'Invitation emails saved.' }).waitFor();
    assert.deepEqual(lastPut(), { client_invitation_subject: { en: 'Your portal invitation from {{practice_name}}' } });
    assert.equal(server.settings().client_invitation_subject.en, 'Your portal invitation from {{practice_name}}');
    const put = puts().at(-1);
    assert.equal(put.headers['x-requested-with'], 'portal-manager');
    assert.match(put.headers['content-type'], /^application\/json/);
    assert.equal(await form.getByText('Unsaved changes').isVisible(), false);
    await page.locator('#preview-subject').filter({ hasText: 'Your portal invitation from Riverside Counseling' }).waitFor();

    // the branding edit is still unsaved, so the preview warns
    assert.equal(await page.locator('#preview-unsaved').isVisible(), true);
    assert.equal(await page.getByLabel('Practice name').inputValue(), 'Riverside Counseling Center');

    // a failure of the server keeps everything
    server.inject({ method: 'PUT', path: /^admin\/settings$/, status: 503 });
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#branding-form-error').filter({ hasText: 'database is not answering' }).waitFor();
    assert.equal(await page.getByLabel('Practice name').inputValue(), 'Riverside Counseling Center');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { practice_name: 'Riverside Counseling Center' });
    await page.locator('#preview-subject').filter({ hasText: 'Riverside Counseling Center' }).waitFor();
    assert.equal(await page.locator('#preview-unsaved').isVisible(), false);

    // representative kind
    await page.getByRole('radio', { name: 'To a representative' }).check();
    await page.locator('#preview-subject').filter({ hasText: 'you are invited to the client portal' }).waitFor();
    const preview = server.requests.filter((r) => r.path.endsWith('/admin/settings/preview')).at(-1);
    assert.deepEqual(JSON.parse(preview.body), { kind: 'representative', language: 'en' });
    await page.locator('#preview-text').evaluate((el) => el.closest('details').open = true);
    assert.match(await page.locator('#preview-text').textContent(), /#t=TEST-EMAIL-THIS-LINK-DOES-NOT-WORK/);

    // Spanish: its own texts, the English edit kept; the preview follows the language
    await page.getByRole('radio', { name: 'To a client' }).check();
    await page.getByLabel('Language of the texts below').selectOption('es');
    assert.equal(await subject.inputValue(), '{{practice_name}}: su invitación al portal de clientes');
    await page.locator('#preview-subject').filter({ hasText: 'su invitación al portal de clientes' }).waitFor();
    assert.equal(JSON.parse(server.requests.filter((r) => r.path.endsWith('/admin/settings/preview')).at(-1).body).language, 'es');
    await subject.fill('Invitación de {{practice_name}}');
    await form.getByText('Unsaved changes').waitFor();
    await page.getByLabel('Language of the texts below').selectOption('en');
    assert.equal(await subject.inputValue(), 'Your portal invitation from {{practice_name}}', 'the English text is back');
    await form.getByRole('button', { name: 'Save invitation emails' }).click();
    await page.locator('#status').filter({ hasText: 'Invitation emails saved.' }).waitFor();
    assert.deepEqual(lastPut(), { client_invitation_subject: { en: 'Your portal invitation from {{practice_name}}', es: 'Invitación de {{practice_name}}' } });
    await page.getByLabel('Language of the texts below').selectOption('es');
    assert.equal(await subject.inputValue(), 'Invitación de {{practice_name}}', 'the saved Spanish text');
    await page.locator('#preview-subject').filter({ hasText: 'Invitación de Riverside Counseling Center' }).waitFor();
    await checkA11y(page, 'settings in Spanish');
    assertNoProblems(page);
    await page.context().close();
  });

  test('branding: logo upload with preview, size and type checks, clear; colour; URL', async () => {
    resetSettings();
    const page = await settingsPage();
    const file = page.getByLabel('Choose a logo file');
    const img = page.locator('#logo-img');

    // too large: refused on the page, nothing sent
    const before = puts().length;
    await file.setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.concat([PNG, Buffer.alloc(110 * 1024)]) });
    await page.locator('#logo-error').filter({ hasText: 'at most 100 KB' }).waitFor();
    await file.setInputFiles({ name: 'logo.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') });
    await page.locator('#logo-error').filter({ hasText: 'PNG or JPEG' }).waitFor();
    await file.setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: SVG });
    await page.locator('#logo-error').filter({ hasText: 'Please choose a PNG or JPEG image. “logo.svg” is not one.' }).waitFor();
    await file.setInputFiles({ name: 'fake.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a jpeg') });
    await page.locator('#logo-error').filter({ hasText: 'does not look like a JPEG' }).waitFor();
    assert.equal(await file.getAttribute('accept'), 'image/png,image/jpeg,.png,.jpg,.jpeg');
    assert.match(await page.locator('#logo-hint').textContent(), /A PNG or JPEG image of at most 100 KB/);
    await file.setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not a png at all') });
    await page.locator('#logo-error').filter({ hasText: 'does not look like a PNG' }).waitFor();
    // a PNG cut off in its image data, and one too wide: said when chosen, with the size
    await file.setInputFiles({ name: 'cut.png', mimeType: 'image/png', buffer: PNG.subarray(0, 45) });
    await page.locator('#logo-error').filter({ hasText: '“cut.png” could not be read as an image; the file may be damaged or cut off.' }).waitFor();
    await file.setInputFiles({ name: 'banner.png', mimeType: 'image/png', buffer: makePng(3000, 100) });
    await page.locator('#logo-error').filter({ hasText: '“banner.png” is 3000 × 100 pixels; a logo can be at most 2048 pixels wide and high.' }).waitFor();
    assert.equal(await img.isVisible(), false);
    assert.equal(puts().length, before);

    // a PNG: previewed (through a blob: URL the page's CSP allows), then saved as a data: URL
    await file.setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: PNG });
    await img.waitFor();
    assert.equal(await page.locator('#logo-error').isVisible(), false);
    await page.waitForFunction(() => document.getElementById('logo-img').complete && document.getElementById('logo-img').naturalWidth > 0);
    assert.match(await img.getAttribute('src'), /^blob:/);
    await page.getByText('New logo chosen; save the branding to use it.').waitFor();
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { logo: 'data:image/png;base64,' + PNG.toString('base64') });
    await page.getByText('This logo is in use.').waitFor();
    // the email preview shows it in place of the cid: image
    await page.locator('#preview-html img.email-logo').waitFor();
    await checkA11y(page, 'settings logo');

    // a JPEG (drawn by the browser itself) replaces it
    const JPEG = Buffer.from(await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 120; c.height = 40;
      const g = c.getContext('2d');
      g.fillStyle = '#2f5d62'; g.fillRect(0, 0, 120, 40);
      return c.toDataURL('image/jpeg').split(',')[1];
    }), 'base64');
    await file.setInputFiles({ name: 'logo.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.getByText('New logo chosen; save the branding to use it.').waitFor();
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { logo: 'data:image/jpeg;base64,' + JPEG.toString('base64') });
    await page.waitForFunction(() => document.getElementById('logo-img').naturalWidth === 120);

    // clear
    await page.getByRole('button', { name: 'Remove the logo' }).click();
    await page.getByText('Logo removed; save the branding to make it final.').waitFor();
    assert.equal(await img.isVisible(), false);
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { logo: null });
    assert.equal(server.settings().logo, null);
    await page.getByText('No logo is in use.').waitFor();

    // colour: the server's refusal by the field; the picker follows the text
    const colour = page.getByLabel('Brand colour');
    await colour.fill('#12345');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#brand-color-error').filter({ hasText: 'This must be a colour written #rrggbb.' }).waitFor();
    assert.equal(await colour.inputValue(), '#12345');
    await colour.fill('#7a1f5c');
    assert.equal(await page.getByLabel('Colour picker').inputValue(), '#7a1f5c');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { brand_color: '#7a1f5c' });
    // six hex digits without the # (as colour tools copy them) are that colour
    await colour.fill('1D5B7F');
    assert.equal(await page.getByLabel('Colour picker').inputValue(), '#1d5b7f', 'the picker follows');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { brand_color: '#1D5B7F' });
    // link colour of the email preview
    await page.waitForFunction(() => {
      const a = document.querySelector('#preview-html .email-link');
      return a && getComputedStyle(a).color === 'rgb(29, 91, 127)';
    }, null, { timeout: 10000 });

    // portal URL
    await page.getByLabel('Link to the client portal').fill('portal.example.org');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#portal-url-error').filter({ hasText: 'URL' }).waitFor();
    await page.getByLabel('Link to the client portal').fill('https://portal.example.org/');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { portal_url: 'https://portal.example.org/' });
    assertNoProblems(page);
    await page.context().close();
  });

  // The preview (POST api/admin/settings/preview: language, subject, text, html) shows no
  // sender: a champion who renamed the practice was surprised that emails still came from
  // the old name (PortalMailFrom's display name always wins). A note under the preview says so.
  test('the preview says who the email comes from is set by the server (PortalMailFrom)', async () => {
    const page = await settingsPage();
    await page.locator('#preview-subject').filter({ hasText: 'Riverside Counseling' }).waitFor();
    assert.equal(await page.locator('#preview-from').textContent(), 'Riverside Counseling <no-reply@example.org>',
      'the preview shows the From line the server sets');
    const note = page.locator('#preview-from-note');
    assert.equal(await note.isVisible(), true, 'the note is shown with the preview');
    const text = await note.textContent();
    assert.match(text, /PortalMailFrom/);
    assert.match(text, /practice name/i);
    assert.ok(await note.evaluate((el) => {
      const preview = document.getElementById('preview');
      return !!(preview.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) && !preview.contains(el)
        && el.closest('section') === preview.closest('section');
    }), 'under the preview, in its section');
    assertNoProblems(page);
    await page.context().close();
  });

  test('practice phone: optional, saved alone, cleared to nothing', async () => {
    resetSettings();
    const page = await settingsPage();
    const phone = page.getByLabel('Practice phone');
    assert.equal(await phone.inputValue(), '');
    // styled like the other fields (a tel input is not a text input to CSS)
    const look = (el) => el.evaluate((e) => { const s = getComputedStyle(e); return [s.minHeight, s.borderRadius, s.width]; });
    assert.deepEqual(await look(phone), await look(page.getByLabel('Practice name')), 'the phone field looks like the name field');
    await phone.fill('(555) 010-4477');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { practice_phone: '(555) 010-4477' });
    assert.equal(server.settings().practice_phone, '(555) 010-4477');
    await phone.fill('');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/admin/settings')),
      page.getByRole('button', { name: 'Save branding' }).click(),
    ]);
    assert.deepEqual(lastPut(), { practice_phone: null });
    assert.equal(server.settings().practice_phone, null);
    await page.close();
  });

  test('branding: three refused fields are shown at once, each by its own field, in one status message', async () => {
    resetSettings();
    const page = await settingsPage();
    const phone = page.getByLabel('Practice phone');
    const colour = page.getByLabel('Brand colour');
    const url = page.getByLabel('Link to the client portal');
    await phone.fill('call us maybe');
    await colour.fill('blue');
    await url.fill('portal.example.org');
    const before = puts().length;
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding not saved.' }).waitFor();
    assert.equal(puts().length, before + 1, 'one request');
    assert.deepEqual(lastPut(), { practice_phone: 'call us maybe', brand_color: 'blue', portal_url: 'portal.example.org' });
    const phoneText = 'This must be a phone number, such as (555) 010-0100 or +34 912 345 678, optionally with an extension (ext. 12).';
    assert.equal(await page.locator('#practice-phone-error').textContent(), phoneText);
    assert.equal(await page.locator('#brand-color-error').textContent(), 'This must be a colour written #rrggbb.');
    assert.match(await page.locator('#portal-url-error').textContent(), /^This must be .*URL/);
    for (const input of [phone, colour, url]) assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'practice-phone', 'the first refused field has the focus');
    const status = await page.locator('#status').textContent();
    for (const part of ['Practice phone: ' + phoneText, 'Brand colour: This must be a colour', 'Link to the client portal: This must be']) {
      assert.ok(status.includes(part), 'the status names ' + part + ' (' + status + ')');
    }
    assert.equal(server.settings().practice_phone, null, 'nothing stored');
    assert.equal(await phone.inputValue(), 'call us maybe', 'nothing typed is lost');
    await checkA11y(page, 'settings three errors');

    // all three put right: saved, and every error gone
    await phone.fill('+34 912 345 678 ext. 12');
    await colour.fill('#2f5d62');
    await url.fill('https://portal.example.org/');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.equal(server.settings().practice_phone, '+34 912 345 678 ext. 12');
    assert.equal(await page.locator('#branding-form .field-error:visible').count(), 0);
    assert.equal(await page.locator('#branding-form [aria-invalid]').count(), 0);
    assertNoProblems(page);
    await page.context().close();
  });

  test('an email text refused in another language: the page shows that language and says it plainly', async () => {
    resetSettings();
    const page = await settingsPage();
    const language = page.getByLabel('Language of the texts below');
    const clientBox = page.getByRole('group', { name: 'Email to clients' });
    const subject = clientBox.getByLabel('Subject');
    const message = clientBox.getByLabel('Message');
    await language.selectOption('es');
    await message.fill('Hola {{recipient_first_name}}, bienvenido.');
    await language.selectOption('en');
    await subject.fill('Welcome from {{practice_name}}');
    await page.getByRole('button', { name: 'Save invitation emails' }).click();
    const text = 'The Spanish (es) text must contain {{link}}, where the invitation link goes.';
    await page.locator('#client-message-error').filter({ hasText: text }).waitFor();
    assert.equal(await page.locator('#client-message-error').textContent(), text);
    assert.equal(lastPut().client_invitation_message.es, 'Hola {{recipient_first_name}}, bienvenido.');
    assert.equal(await language.inputValue(), 'es', 'the page switched to Spanish');
    assert.equal(await message.inputValue(), 'Hola {{recipient_first_name}}, bienvenido.', 'the Spanish text at fault is shown');
    assert.equal(await message.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'client-message');
    await page.locator('#status').filter({ hasText: 'Invitation emails not saved.' }).waitFor();
    assert.match(await page.locator('#status').textContent(), /Spanish \(es\).*must contain \{\{link\}\}/);
    await page.locator('#preview-subject').filter({ hasText: 'su invitación al portal de clientes' }).waitFor();
    // the English draft is kept
    await language.selectOption('en');
    assert.equal(await subject.inputValue(), 'Welcome from {{practice_name}}', 'the unsaved English subject is still there');
    await language.selectOption('es');
    await message.fill('Hola {{recipient_first_name}}: {{link}}');
    await page.getByRole('button', { name: 'Save invitation emails' }).click();
    await page.locator('#status').filter({ hasText: 'Invitation emails saved.' }).waitFor();
    assert.equal(server.settings().client_invitation_subject.en, 'Welcome from {{practice_name}}');
    assert.equal(server.settings().client_invitation_message.es, 'Hola {{recipient_first_name}}: {{link}}');
    assertNoProblems(page);
    await page.context().close();
  });

  test('practice address: several lines kept, its length from the definition, cleared to nothing', async () => {
    resetSettings();
    const page = await settingsPage();
    const defs = Object.fromEntries(SETTINGS.map((d) => [d.name, d]));
    const address = page.getByLabel('Practice address');
    assert.equal(await address.inputValue(), '');
    assert.equal(await address.getAttribute('maxlength'), String(defs.practice_address.max_length));
    await address.fill('12 Main Street, Suite 4\nSpringfield, IL 62701');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#status').filter({ hasText: 'Branding saved.' }).waitFor();
    assert.deepEqual(lastPut(), { practice_address: '12 Main Street, Suite 4\nSpringfield, IL 62701' });
    assert.equal(server.settings().practice_address, '12 Main Street, Suite 4\nSpringfield, IL 62701');
    await address.fill('  ');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/admin/settings')),
      page.getByRole('button', { name: 'Save branding' }).click(),
    ]);
    assert.deepEqual(lastPut(), { practice_address: null });
    await page.close();
  });

  test('modules and rules: the whole modules object, numbers checked in place', async () => {
    resetSettings();
    const page = await settingsPage();
    await page.getByRole('checkbox', { name: 'Make payments' }).uncheck();
    await page.locator('#modules-form').getByText('Unsaved changes').waitFor();
    await page.getByRole('button', { name: 'Save modules' }).click();
    await page.locator('#status').filter({ hasText: 'Portal modules saved.' }).waitFor();
    assert.deepEqual(lastPut(), {
      modules: { messaging: true, statements: true, statement_email_notifications: true, appointment_requests: true, payments: false, forms: true },
    });
    await page.getByRole('checkbox', { name: /Staff can invite client representatives/ }).uncheck();
    // turning representatives off is asked first: "no" saves nothing
    let question = null;
    page.once('dialog', (d) => { question = d.message(); d.dismiss(); });
    const sent = puts().length;
    await page.getByRole('button', { name: 'Save modules' }).click();
    await page.locator('#status').filter({ hasText: 'Portal modules not saved.' }).waitFor();
    assert.match(question || '', /^Stop inviting client representatives\?.*already sent can still be answered/s);
    assert.equal(puts().length, sent, 'dismissed: nothing sent');
    // the first save's status still reads "saved": wait for this save's PUT itself
    page.once('dialog', (d) => d.accept());
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/admin/settings')),
      page.getByRole('button', { name: 'Save modules' }).click(),
    ]);
    assert.deepEqual(lastPut(), { representatives_enabled: false });
    assert.equal(server.settings().modules.payments, false);

    // every module off: asked too (a colour change is not)
    for (const m of ['Send and receive secure messages', 'Make payments']) await page.getByRole('checkbox', { name: m }).uncheck();
    for (const box of await page.locator('#modules-form input[name^="modules."]').all()) await box.uncheck();
    question = null;
    page.once('dialog', (d) => { question = d.message(); d.dismiss(); });
    await page.getByRole('button', { name: 'Save modules' }).click();
    await page.locator('#status').filter({ hasText: 'Portal modules not saved.' }).waitFor();
    assert.match(question || '', /^Turn off every portal module\?/);
    await page.locator('#modules-form [data-undo]').click();

    // nothing changed: nothing sent
    const before = puts().length;
    await page.getByRole('button', { name: 'Save modules' }).click();
    await page.locator('#status').filter({ hasText: 'Portal modules has no changes' }).waitFor();
    assert.equal(puts().length, before);

    const ttl = page.getByLabel('Invitation links work for (hours)');
    await ttl.fill('0');
    await page.getByLabel('Shortest portal password (characters)').fill('');
    await page.getByRole('button', { name: 'Save invitation rules' }).click();
    await page.locator('#ttl-hours-error').filter({ hasText: 'whole number from 1 to 720' }).waitFor();
    await page.locator('#password-min-error').filter({ hasText: 'whole number from 8 to 128' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'ttl-hours');
    assert.equal(puts().length, before, 'caught on the page');
    await checkA11y(page, 'settings rules errors');

    await ttl.fill('72');
    await page.getByLabel('Shortest portal password (characters)').fill('14');
    await page.getByRole('button', { name: 'Save invitation rules' }).click();
    await page.locator('#status').filter({ hasText: 'Invitation rules saved.' }).waitFor();
    assert.deepEqual(lastPut(), { invitation_ttl_hours: 72, password_min_length: 14 });
    assert.equal(await page.locator('#ttl-hours-error').isVisible(), false);
    assertNoProblems(page);
    await page.context().close();
  });

  test('language and time, email delivery, roster and records: the saved values shown, changes saved', async () => {
    resetSettings();
    Object.assign(server.storedSettings, {
      default_language: 'es', time_zone: 'America/Chicago', collation_locale: 'es',
      max_emails_per_minute: 200, disable_accounts_on_discharge: true, audit_retention_days: 3650,
      staff_notice_max_idle_days: 14,
    });
    const page = await settingsPage();
    const language = page.getByLabel('Default language');
    const zone = page.getByLabel('Time zone');
    const order = page.getByLabel('Alphabetical order of the client list');
    const pace = page.getByLabel('Emails sent per minute, at most');
    const idle = page.getByLabel('Stop staff notices after this many days without a sign-in');
    const discharge = page.getByRole('checkbox', { name: 'Turn off portal accounts when a client is discharged' });
    const retention = page.getByLabel('Keep the audit trail for (days)');
    assert.equal(await language.inputValue(), 'es');
    assert.deepEqual(await language.locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent])),
      [['en', 'English (en)'], ['es', 'Spanish (es)']]);
    assert.equal(await zone.inputValue(), 'America/Chicago');
    assert.equal(await order.inputValue(), 'es');
    assert.equal(await pace.inputValue(), '200');
    assert.equal(await idle.inputValue(), '14');
    assert.equal(await discharge.isChecked(), true);
    assert.equal(await retention.inputValue(), '3650');
    // the time zone offers names while typing; the hints say what each is for
    assert.equal(await zone.getAttribute('list'), 'time-zone-list');
    const zones = await page.locator('#time-zone-list option').evaluateAll((os) => os.map((o) => o.value));
    for (const z of ['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Pacific/Honolulu', 'Europe/Madrid']) {
      assert.ok(zones.includes(z), z + ' offered');
    }
    await page.locator('#time-zone-hint').filter({ hasText: 'server' }).waitFor();
    await page.locator('#collation-locale-hint').filter({ hasText: 'es for Spanish' }).waitFor();
    await page.locator('#max-emails-hint').filter({ hasText: '1 to 10000' }).waitFor();
    await page.locator('#notice-idle-hint').filter({ hasText: '0 to 3650' }).waitFor();
    await page.locator('#notice-idle-hint').filter({ hasText: '0: never stop' }).waitFor();
    await page.locator('#audit-retention-hint').filter({ hasText: '2190 to 36500' }).waitFor();
    assert.equal(await page.locator('[data-dirty]:visible').count(), 0);

    // language and time: only what changed
    const langForm = page.locator('#language-form');
    await language.selectOption('en');
    await zone.fill('Europe/Madrid');
    await langForm.getByText('Unsaved changes').waitFor();
    await page.getByRole('button', { name: 'Save language and time' }).click();
    await page.locator('#status').filter({ hasText: 'Language and time saved.' }).waitFor();
    assert.deepEqual(lastPut(), { default_language: 'en', time_zone: 'Europe/Madrid' });
    assert.equal(server.settings().time_zone, 'Europe/Madrid');
    assert.equal(await langForm.getByText('Unsaved changes').isVisible(), false);

    // a blank time zone is the server's own: null
    await zone.fill('');
    await order.fill('sv');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/admin/settings')),
      page.getByRole('button', { name: 'Save language and time' }).click(),
    ]);
    assert.deepEqual(lastPut(), { time_zone: null, collation_locale: 'sv' });
    assert.equal(server.settings().time_zone, null);
    assert.equal(await zone.inputValue(), '');

    // email delivery
    await pace.fill('60');
    await idle.fill('0');
    await page.locator('#delivery-form').getByText('Unsaved changes').waitFor();
    await page.getByRole('button', { name: 'Save email delivery' }).click();
    await page.locator('#status').filter({ hasText: 'Email delivery saved.' }).waitFor();
    assert.deepEqual(lastPut(), { max_emails_per_minute: 60, staff_notice_max_idle_days: 0 });
    assert.equal(server.settings().staff_notice_max_idle_days, 0);

    // roster and records
    await discharge.uncheck();
    await retention.fill('2555');
    await page.locator('#records-form').getByText('Unsaved changes').waitFor();
    await page.getByRole('button', { name: 'Save roster and records' }).click();
    await page.locator('#status').filter({ hasText: 'Roster and records saved.' }).waitFor();
    assert.deepEqual(lastPut(), { disable_accounts_on_discharge: false, audit_retention_days: 2555 });
    assert.equal(server.settings().disable_accounts_on_discharge, false);
    assert.equal(server.settings().audit_retention_days, 2555);
    assertNoProblems(page);
    await page.context().close();
  });

  test('language and time, delivery, records: refusals by their own fields; axe clean; no scroll at 390 px', async () => {
    resetSettings();
    const page = await settingsPage({ viewport: { width: 390, height: 844 } });
    assert.equal(await page.getByLabel('Default language').inputValue(), 'en');
    assert.equal(await page.getByLabel('Time zone').inputValue(), '', 'unset: the server’s own zone');
    assert.equal(await page.getByLabel('Alphabetical order of the client list').inputValue(), 'en');
    assert.equal(await page.getByLabel('Emails sent per minute, at most').inputValue(), '120');
    assert.equal(await page.getByLabel('Stop staff notices after this many days without a sign-in').inputValue(), '30');
    assert.equal(await page.getByRole('checkbox', { name: 'Turn off portal accounts when a client is discharged' }).isChecked(), false);
    assert.equal(await page.getByLabel('Keep the audit trail for (days)').inputValue(), '2190');
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'settings 390 new sections');

    // out-of-range numbers: caught on the page, next to their fields, nothing sent
    const before = puts().length;
    await page.getByLabel('Emails sent per minute, at most').fill('0');
    await page.getByRole('button', { name: 'Save email delivery' }).click();
    await page.locator('#max-emails-error').filter({ hasText: 'whole number from 1 to 10000' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'max-emails');
    await page.getByLabel('Emails sent per minute, at most').fill('120');
    await page.getByLabel('Stop staff notices after this many days without a sign-in').fill('-1');
    await page.getByRole('button', { name: 'Save email delivery' }).click();
    await page.locator('#notice-idle-error').filter({ hasText: 'whole number from 0 to 3650' }).waitFor();
    await page.getByLabel('Keep the audit trail for (days)').fill('365');
    await page.getByRole('button', { name: 'Save roster and records' }).click();
    await page.locator('#audit-retention-error').filter({ hasText: 'whole number from 2190 to 36500' }).waitFor();
    assert.equal(await page.getByLabel('Keep the audit trail for (days)').getAttribute('aria-invalid'), 'true');
    assert.equal(puts().length, before, 'caught on the page');

    // a time zone and an order the server does not know: both refused, each by its field
    await page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await page.getByLabel('Alphabetical order of the client list').fill('not a locale');
    await page.getByRole('button', { name: 'Save language and time' }).click();
    await page.locator('#time-zone-error').filter({ hasText: 'IANA time zone name' }).waitFor();
    await page.locator('#collation-locale-error').filter({ hasText: 'such as en, fr_CA, sv or el' }).waitFor();
    assert.deepEqual(lastPut(), { time_zone: 'Mars/Olympus_Mons', collation_locale: 'not a locale' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'time-zone');
    assert.equal(await page.getByLabel('Time zone').inputValue(), 'Mars/Olympus_Mons', 'nothing typed is lost');
    assert.equal(server.settings().time_zone, null, 'nothing stored');
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'settings 390 new sections errors');
    await screenshot(page, 'settings-language-390');
    assertNoProblems(page);
    await page.context().close();
  });

  test('the test email and the preview use the language chosen above the texts, as the page says', async () => {
    resetSettings();
    const page = await settingsPage();
    await page.locator('#test-to-hint').filter({ hasText: 'Language of the texts below' }).waitFor();
    assert.doesNotMatch(await page.locator('#test-to-hint').textContent(), /default\s+language/);
    await page.getByLabel('Language of the texts below').selectOption('es');
    await page.getByLabel('Email address').fill('champion@example.org');
    await page.getByRole('button', { name: 'Send test email' }).click();
    await page.locator('#test-result').filter({ hasText: 'champion@example.org' }).waitFor();
    const req = server.requests.filter((r) => r.path.endsWith('/admin/settings/test-email')).at(-1);
    assert.equal(JSON.parse(req.body).language, 'es');
    assertNoProblems(page);
    await page.context().close();
  });

  test('ranges and lengths come from the server’s definitions, not the page', async () => {
    resetSettings();
    let page = await settingsPage();
    const get = server.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/portal-manager/api/admin/settings')).at(-1);
    assert.equal(get.path, '/portal-manager/api/admin/settings?include=definitions');
    const defs = Object.fromEntries(SETTINGS.map((d) => [d.name, d]));
    const pw = page.getByLabel('Shortest portal password (characters)');
    assert.deepEqual([await pw.getAttribute('min'), await pw.getAttribute('max')],
      [String(defs.password_min_length.min), String(defs.password_min_length.max)]);
    await page.locator('#password-min-hint').filter({ hasText: defs.password_min_length.min + ' to ' + defs.password_min_length.max }).waitFor();
    assert.equal(await page.getByLabel('Practice phone').getAttribute('maxlength'), String(defs.practice_phone.max_length));
    await page.context().close();

    // a server whose definition says 8 to 64: the page says and checks 8 to 64
    const doc = await (await fetch(server.baseURL + '/portal-manager/api/admin/settings?include=definitions', {
      headers: { Authorization: 'Basic ' + Buffer.from('admin:pw').toString('base64') },
    })).json();
    doc.definitions = doc.definitions.map((d) => (d.name === 'password_min_length' ? { ...d, max: 64 } : d));
    server.inject({ method: 'GET', path: /^admin\/settings$/, status: 200, body: doc });
    page = await settingsPage();
    await page.locator('#password-min-hint').filter({ hasText: '8 to 64' }).waitFor();
    const before = puts().length;
    await page.getByLabel('Shortest portal password (characters)').fill('65');
    await page.getByRole('button', { name: 'Save invitation rules' }).click();
    await page.locator('#password-min-error').filter({ hasText: 'whole number from 8 to 64' }).waitFor();
    assert.equal(puts().length, before, 'caught on the page');
    await page.context().close();
  });

  test('test email: checked, queued, then sent or failed with the server’s reply', async () => {
    resetSettings();
    const page = await settingsPage();
    const to = page.getByLabel('Email address');
    const send = page.getByRole('button', { name: 'Send test email' });
    await send.click();
    await page.locator('#test-to-error').filter({ hasText: 'enter the email address' }).waitFor();
    await to.fill('not-an-email');
    await send.click();
    await page.locator('#test-to-error').filter({ hasText: 'complete email address' }).waitFor();
    assert.equal(await to.inputValue(), 'not-an-email');

    await page.getByRole('radio', { name: 'To a representative' }).check();
    await to.fill('champion@example.org');
    await send.click();
    await page.locator('#test-result').filter({ hasText: 'Test email sent to champion@example.org.' }).waitFor();
    const req = server.requests.filter((r) => r.path.endsWith('/admin/settings/test-email')).at(-1);
    assert.deepEqual(JSON.parse(req.body), { to: 'champion@example.org', kind: 'representative', language: 'en' });
    assert.equal(req.headers['x-requested-with'], 'portal-manager');
    assert.equal(server.outbox.at(-1).kind, 'representative');
    // following it asks for its own row, not a page of every client's emails
    const polls = server.requests.filter((r) => r.method === 'GET' && r.path.includes('/admin/outbox'));
    assert.ok(polls.length > 0, 'the page followed the test email');
    for (const p of polls) assert.equal(p.path, '/portal-manager/api/admin/outbox?id=' + server.outbox.at(-1).id);

    await to.fill('nobody@bounce.example');
    await send.click();
    await page.locator('#test-result').filter({ hasText: 'could not be delivered. The mail server said: 550 5.1.1 mailbox unavailable' }).waitFor();
    await checkA11y(page, 'settings test email failed');
    assertNoProblems(page);
    await page.context().close();
  });

  // The page followed a test email for 60 s and then said "queued; sending…" for ever, while
  // it waited its turn behind invitations at the practice's emails per minute.
  test('a test email still queued after a minute: the page says it waits its turn, links the Outbox, and keeps checking', async () => {
    resetSettings();
    const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.clock.install();
    await page.goto(server.baseURL + '/portal-manager/settings.html');
    await page.locator('#settings:not([hidden])').waitFor();
    // the email stays queued while the page looks (the row as the API gives it)
    const queued = { entries: [{ id: 0, status: 'queued', attempts: 0, last_error: null }], counts: {}, counts_cap: 100 };
    server.inject({ method: 'GET', path: /^admin\/outbox$/, status: 200, body: queued, times: 1000 });
    await page.getByLabel('Email address').fill('champion@example.org');
    await page.getByRole('button', { name: 'Send test email' }).click();
    await page.locator('#test-result').filter({ hasText: 'queued; sending' }).waitFor();
    const id = server.outbox.at(-1).id;
    queued.entries[0].id = id;
    await page.clock.runFor(30000);
    assert.match(await page.locator('#test-result').textContent(), /queued; sending/, 'half a minute: still "sending"');
    await page.clock.fastForward(31000);
    await page.locator('#test-result').filter({ hasText: 'is still waiting its turn' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'See it in the Outbox' }).getAttribute('href'), 'outbox.html');
    // ... and it keeps checking: once the email is out, it says so
    server.clearInjected();
    server.outbox.at(-1).status = 'sent';
    await page.clock.fastForward(11000);
    await page.locator('#test-result').filter({ hasText: 'Test email sent to champion@example.org.' }).waitFor();
    await checkA11y(page, 'settings test email waiting');
    assertNoProblems(page);
    await context.close();
  });

  test('not an admin: no settings link, a clear message, and the API refuses', async () => {
    const staff = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'clin1', password: 'pw' } });
    const home = await watchedPage(staff);
    await home.goto(server.baseURL + '/portal-manager/');
    await home.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
    assert.equal(await home.getByRole('link', { name: 'Client portal settings' }).isVisible(), false);

    const page = await settingsPage({ user: 'clin1', wait: false });
    await page.locator('#page-error').filter({ hasText: 'Only portal administrators' }).waitFor();
    assert.equal(await page.locator('#settings').isVisible(), false);
    for (const name of ['Audit trail', 'Outbox', 'Overview']) {
      assert.equal(await page.getByRole('link', { name }).isVisible(), false, 'no ' + name + ' link that would answer 403');
    }
    const status = await page.evaluate(async () => (await fetch('api/admin/settings', {
      method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'portal-manager' }, body: '{"brand_color":"#000000"}',
    })).status);
    assert.equal(status, 403);
    await checkA11y(page, 'settings not admin');
    await staff.close();
  });

  test('keyboard only, 360 px wide, axe clean', async () => {
    resetSettings();
    const page = await settingsPage({ viewport: PHONE });
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'settings 360');
    await screenshot(page, 'settings-360');

    // Tab from the section links to Modules and toggle a module with the keyboard
    await page.getByRole('link', { name: 'Portal modules' }).focus();
    await page.keyboard.press('Enter');
    const box = page.getByRole('checkbox', { name: 'Send and receive secure messages' });
    for (let i = 0; i < 80 && !(await box.evaluate((el) => el === document.activeElement)); i += 1) await page.keyboard.press('Tab');
    assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the first module checkbox is reachable with Tab');
    await page.keyboard.press('Space');
    assert.equal(await box.isChecked(), false);
    const save = page.getByRole('button', { name: 'Save modules' });
    for (let i = 0; i < 20 && !(await save.evaluate((el) => el === document.activeElement)); i += 1) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('#status').filter({ hasText: 'Portal modules saved.' }).waitFor();
    assert.equal(lastPut().modules.messaging, false);

    // a field error at 360 px still fits
    await page.getByLabel('Brand colour').fill('blue');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await page.locator('#brand-color-error:not([hidden])').waitFor();
    await assertNoHorizontalScroll(page);
    assertNoProblems(page);
    await page.context().close();
  });
});
