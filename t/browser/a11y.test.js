// Accessibility of every page against the in-memory stand-in server (lib/fake-server.js):
// axe-core (no serious or critical violation; no rule is turned off) on each page in its
// main states, the recipient page in any brand colour a champion may pick and at 320 px
// with text at 200 %, and keyboard-only walks of the two main flows — staff: find a client,
// invite, revoke (Escape keeps); recipient: open the link, fix the errors, accept — checking
// where focus goes and what the status region announces after each step.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer } from './lib/fake-server.js';
import {
  launch, watchedPage, assertNoProblems, checkA11y, assertNoHorizontalScroll, DESKTOP, PHONE,
  assertBlocked, INVITE_REPRESENTATIVE, CHANGE_CLIENT_EMAIL,
} from './lib/browser.js';

let browser;
const servers = [];

before(async () => { browser = await launch(); });

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
});

async function server(options = {}) {
  const s = await startFakeServer({ deliveryDelayMs: 100, resendCooldownSec: 0, ...options });
  servers.push(s);
  return s;
}

const focused = (page) => page.evaluate(() => document.activeElement.id);
const status = (page) => page.locator('#status');

async function staffPage(srv, file = '', { viewport = DESKTOP } = {}) {
  const context = await browser.newContext({ viewport, httpCredentials: { username: 'admin', password: 'pw' } });
  const page = await watchedPage(context);
  await page.goto(srv.baseURL + '/portal-manager/' + file);
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  return page;
}

async function invite(srv, clientId) {
  const r = await srv.staffRequest('POST', 'clients/' + clientId + '/invitations');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (let i = 0; i < 100 && !srv.tokenOf(r.body.invitation.id); i += 1) await new Promise((res) => setTimeout(res, 20));
  return srv.tokenOf(r.body.invitation.id);
}

async function openLink(srv, token, { viewport = { width: 320, height: 700 }, locale = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport, locale });
  const page = await watchedPage(context);
  await page.goto(srv.baseURL + '/portal/invitation/' + (token === null ? '' : '#t=' + token));
  await page.locator('#view-loading[hidden]').waitFor({ state: 'attached' });
  return page;
}

// Press a key, wait for focus to land on `id`.
async function press(page, key, id) {
  await page.keyboard.press(key);
  await page.waitForFunction((want) => document.activeElement?.id === want, id, { timeout: 5000 })
    .catch(() => {});
  assert.equal(await focused(page), id, `after ${key}: focus`);
}

// The contrast of a button as drawn: a screenshot of it less its rounded corners (the page
// shows there), its commonest colour taken as the background and the pixel farthest from
// that as the text (solid in the letters' stems).
async function drawnContrast(page, button) {
  const png = await button.screenshot({ animations: 'disabled' });
  const blank = await browser.newPage();
  const pixels = await blank.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    [c.width, c.height] = [img.width, img.height];
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const inset = 8;
    return Array.from(ctx.getImageData(inset, inset, img.width - 2 * inset, img.height - 2 * inset).data);
  }, png.toString('base64'));
  await blank.close();
  const lum = (c) => {
    const l = c.map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const counts = new Map();
  for (let i = 0; i < pixels.length; i += 4) {
    const k = pixels.slice(i, i + 3).join();
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  const background = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0].split(',').map(Number);
  let text = background, best = 1;
  for (const k of counts.keys()) {
    const c = k.split(',').map(Number);
    const r = ratio(c, background);
    if (r > best) [text, best] = [c, r];
  }
  return { background, text, ratio: best };
}

describe('accessibility', () => {
  test('staff pages: axe clean in their main states (client page, lists, forms with errors, confirmations)', async () => {
    const srv = await server();
    const page = await staffPage(srv);
    await checkA11y(page, 'staff: nothing chosen');
    await page.getByRole('combobox', { name: 'Client' }).fill('Smi');
    await page.getByRole('option', { name: /Smith, Ann/ }).waitFor();
    await checkA11y(page, 'staff: suggestions open');
    await page.getByRole('option', { name: /Smith, Ann/ }).click();
    await page.locator('#client-panel:not([hidden]):not([aria-busy])').waitFor();
    await checkA11y(page, 'staff: client shown');
    await page.getByRole('button', { name: 'invite client representative' }).click();
    await page.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-email[aria-invalid="true"]').waitFor();
    await checkA11y(page, 'staff: representative form with errors');
    await page.getByRole('combobox', { name: 'Client' }).fill('Smi');   // the bulk search's clients
    await page.getByRole('option', { name: /Smith, Ann/ }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Select clients without a portal account' }).click();
    await page.locator('#bulk-form:not([hidden])').waitFor();
    await page.getByRole('button', { name: 'Invite selected' }).click();
    await page.locator('#bulk-confirm:not([hidden])').waitFor();
    await checkA11y(page, 'staff: bulk confirmation');
    assertNoProblems(page);
    await page.context().close();

    for (const [file, heading] of [['settings.html', 'Branding'], ['outbox.html', 'Outbox'], ['audit.html', 'Audit trail'], ['overview.html', 'Overview']]) {
      const p = await staffPage(srv, file);
      await p.getByRole('heading', { name: heading }).first().waitFor();
      await p.waitForLoadState('networkidle');
      await checkA11y(p, 'staff ' + file);
      assertNoProblems(p);
      await p.context().close();
    }
  });

  // The practice picks its colour in the settings; a light or middle one must still leave
  // the practice's name and the main button readable (4.5:1).
  for (const brand of ['#2f5d62', '#7c7c7c', '#7a7a7a', '#ffe066', '#ffffff', '#000000']) {
    test(`recipient page in brand colour ${brand}: text on it at least 4.5:1, axe clean`, async () => {
      const srv = await server({ brandColor: brand });
      const page = await openLink(srv, await invite(srv, 10));
      await page.getByRole('heading', { name: /^Welcome, / }).waitFor();
      for (const sel of ['#practice-name', '#accept-button']) {
        const ratio = await page.locator(sel).evaluate((el) => {
          const rgb = (s) => s.match(/\d+/g).slice(0, 3).map(Number);
          const lum = (c) => {
            const l = c.map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
          };
          let bg = el;
          while (getComputedStyle(bg).backgroundColor === 'rgba(0, 0, 0, 0)') bg = bg.parentElement;
          const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(rgb(getComputedStyle(bg).backgroundColor))].sort((x, y) => y - x);
          return (a + 0.05) / (b + 0.05);
        });
        assert.ok(ratio >= 4.5, `${sel} on ${brand}: contrast ${ratio.toFixed(2)}:1`);
      }
      await checkA11y(page, 'recipient, brand ' + brand);
      assertNoProblems(page);
      await page.context().close();
    });
  }

  // Under the pointer the main button changes colour, away from its text: the drawn pixels
  // (whatever CSS does it, a filter included) keep 4.5:1 for white and for black text.
  for (const brand of ['#2f5d62', '#7c7c7c', '#7a7a7a', '#767676', '#ffe066', '#ffffff', '#000000']) {
    test(`recipient page in brand colour ${brand}: the main button under the pointer keeps 4.5:1`, async () => {
      const srv = await server({ brandColor: brand });
      const page = await openLink(srv, await invite(srv, 10));
      const button = page.locator('#accept-button');
      await button.waitFor();
      const idle = await drawnContrast(page, button);
      await button.hover();
      const hovered = await drawnContrast(page, button);
      assert.notEqual(hovered.background.join(), idle.background.join(), `${brand}: the hover shows`);
      assert.ok(hovered.ratio >= 4.5, `${brand} under the pointer: text ${hovered.text} on ${hovered.background}, ${hovered.ratio.toFixed(2)}:1`);
      await page.context().close();
    });
  }

  test('recipient page: 320 px with text at 200 % scrolls only down; Spanish page says lang="es"; problem view axe clean', async () => {
    const srv = await server();
    const page = await openLink(srv, await invite(srv, 11));
    await page.getByRole('heading', { name: /^Welcome, / }).waitFor();
    await assertNoHorizontalScroll(page);
    await page.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
    await assertNoHorizontalScroll(page);
    await page.getByRole('button', { name: 'Decline invitation' }).click();
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'recipient: 200 % text, decline question open');
    await page.context().close();

    srv.clients.get(12).preferred_language = 'es';
    const es = await openLink(srv, await invite(srv, 12));
    await es.getByRole('heading', { name: /^Le damos la bienvenida/ }).waitFor();
    assert.equal(await es.evaluate(() => document.documentElement.lang), 'es');
    await checkA11y(es, 'recipient in Spanish');
    await es.context().close();

    const bad = await openLink(srv, 'not-a-real-token-0000000000000000');
    await bad.locator('#view-problem:not([hidden])').waitFor();
    assert.equal(await focused(bad), 'problem-heading', 'focus on what went wrong');
    await checkA11y(bad, 'recipient: problem');
    await bad.context().close();
  });

  test('keyboard only, staff: skip link, find a client from the suggestions, invite, revoke; focus and announcements', async () => {
    const srv = await server();
    const page = await staffPage(srv);
    await press(page, 'Tab', '');   // the skip link (it has no id)
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to client search');
    await press(page, 'Enter', 'client-search');
    await page.keyboard.type('Ann');
    await status(page).filter({ hasText: '1 client found. Press Enter to open it.' }).waitFor();
    await press(page, 'ArrowDown', 'client-search');
    const box = page.locator('#client-search');
    assert.equal(await box.getAttribute('aria-activedescendant'), 'client-opt-2');
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    await press(page, 'Enter', 'client-search');
    await status(page).filter({ hasText: 'Showing Ann Smith.' }).waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    // Enter again on the chosen name: to the client, not a search for "Smith, Ann"
    await press(page, 'Enter', 'client-name');
    assert.doesNotMatch(await status(page).textContent(), /No clients found/);
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Ann Smith');

    // Tab to "invite client": declined, email, change, invite
    await press(page, 'Tab', 'declined-open');
    await press(page, 'Tab', 'client-email');
    await page.keyboard.press('Tab');
    await press(page, 'Tab', 'invite-client');
    await press(page, 'Enter', 'inv-100-resend');
    await status(page).filter({ hasText: 'Invitation to ann@example.org queued.' }).waitFor();
    await status(page).filter({ hasText: 'The invitation email to ann@example.org was sent.' }).waitFor();

    // revoke asks first; Escape keeps it and returns to Revoke; Enter on "Revoke" revokes
    await press(page, 'Tab', 'inv-100-revoke');
    await press(page, 'Enter', 'inv-100-revoke-no');
    assert.equal(await page.getByRole('group', { name: 'Confirm revoke' }).isVisible(), true);
    await press(page, 'Escape', 'inv-100-revoke');
    assert.equal(await page.getByRole('group', { name: 'Confirm revoke' }).count(), 0);
    await press(page, 'Enter', 'inv-100-revoke-no');
    await press(page, 'Shift+Tab', 'inv-100-revoke-yes');
    await page.keyboard.press('Enter');
    await status(page).filter({ hasText: /revoked/i }).waitFor();
    assert.notEqual(await focused(page), '', 'focus stays on a control after the row is redrawn');

    assertNoProblems(page);
    await page.context().close();
  });

  test('keyboard only, staff: "Invite several clients" asks first; Escape is its Cancel, back to "Invite selected"', async () => {
    const srv = await server();
    const page = await staffPage(srv);
    await page.focus('#bulk-find');
    await page.keyboard.press('Enter');
    await page.locator('#bulk-form:not([hidden])').waitFor();
    await page.focus('#bulk-invite');
    await press(page, 'Enter', 'bulk-confirm-yes');
    await press(page, 'Escape', 'bulk-invite');
    assert.equal(await page.locator('#bulk-confirm').isHidden(), true, 'the question is closed');
    assertNoProblems(page);
    await page.context().close();
  });

  // A button that cannot be used now (issue 11) is aria-disabled, not disabled: Tab still
  // reaches it, its reason is read with it, and pressing it sends nothing.
  test('keyboard only, staff: "invite client" and "Invite selected" that cannot be used are reached by Tab, say why, send nothing', async () => {
    const srv = await server();
    const page = await staffPage(srv);
    await page.getByRole('combobox', { name: 'Client' }).fill('Carla');   // no email on file
    await page.getByRole('option', { name: /Smithers, Carla/ }).click();
    await page.locator('#client-panel:not([hidden]):not([aria-busy])').waitFor();
    await page.focus('#client-email');
    await page.keyboard.press('Tab');                                       // "change"
    assert.match(await page.evaluate(() => document.activeElement.textContent.replace(/\s+/g, ' ')), /^change email of Carla Smithers$/);
    await press(page, 'Tab', 'invite-client');
    const invite = page.locator('#invite-client');
    const before = srv.requests.filter((r) => r.method !== 'GET').length;
    await assertBlocked(page, invite, /^Add the client’s email address above to invite them\.$/, 'invite without an email');
    await status(page).filter({ hasText: 'Add the client’s email address above to invite them.' }).waitFor();
    assert.equal(srv.requests.filter((r) => r.method !== 'GET').length, before, 'the server got no request');
    assert.equal(await invite.evaluate((el) => el === document.activeElement), true, 'focus stays on it');
    await checkA11y(page, 'staff: invite that cannot be used');

    // "Invite selected" with nothing ticked
    await page.getByRole('combobox', { name: 'Client' }).fill('Smi');
    await page.getByRole('option', { name: /Smith, Ann/ }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Select clients without a portal account' }).click();
    await page.locator('#bulk-form:not([hidden])').waitFor();
    await page.getByRole('button', { name: 'Select none' }).click();
    await page.focus('#bulk-none');
    for (let i = 0; i < 20 && await focused(page) !== 'bulk-invite'; i += 1) await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'bulk-invite', 'Tab reaches "Invite selected"');
    const sent = srv.requests.filter((r) => r.method !== 'GET').length;
    await assertBlocked(page, page.locator('#bulk-invite'), /0 clients selected\. Tick at least one to invite\./, 'Invite selected, nothing ticked');
    assert.equal(await page.locator('#bulk-confirm').isHidden(), true, 'no question asked');
    assert.equal(srv.requests.filter((r) => r.method !== 'GET').length, sent, 'the server got no request');
    await checkA11y(page, 'staff: bulk invite that cannot be used');
    await page.getByRole('button', { name: 'Select all' }).click();
    assert.equal(await page.locator('#bulk-invite').getAttribute('aria-disabled'), null, 'ticked: it can be used');
    assertNoProblems(page);
    await page.context().close();
  });

  // Out of context (a screen reader's list of buttons) every button of a client's page says
  // what it does and to whom; the visible words start its name (what voice control users say).
  test('staff: every button on a busy client page has a name that says what and whom, starting with its visible words', async () => {
    const srv = await server();
    const rep = await srv.staffRequest('POST', 'clients/2/representatives', { email: 'rita@example.org', first_name: 'Rita', last_name: 'Rey' });
    assert.equal(rep.status, 201, JSON.stringify(rep.body));
    await invite(srv, 2);
    srv.accounts.set('ann.smith', { password: 'x', client_id: 2, representative_id: null, active: true });
    const page = await staffPage(srv);
    await page.getByRole('combobox', { name: 'Client' }).fill('Ann');
    await page.getByRole('option', { name: /Smith, Ann/ }).click();
    await page.locator('#client-panel:not([hidden]):not([aria-busy])').waitFor();
    await page.locator('#client-invitations .inv-item').first().waitFor();
    const BARE = /^(change|invite|reinvite|resend|revoke|remove|cancel|keep|keep it|save|save email|save access|turn off account|turn on account|reset password|send reset email|keep access|end access|revoke invitation|invite client|record client declined)$/i;
    const names = async (where) => {
      const buttons = await page.locator('#client-panel button:visible').all();
      const out = [];
      for (const b of buttons) {
        const visible = (await b.innerText()).replace(/\s+/g, ' ').trim();
        const snap = await b.ariaSnapshot();
        const name = (/button "(.*)"/.exec(snap) || [])[1] || '';
        out.push(name);
        assert.doesNotMatch(name, BARE, `${where}: "${name}" says only what, not whom`);
        assert.ok(name.toLowerCase().startsWith(visible.toLowerCase()), `${where}: "${name}" starts with its visible words "${visible}"`);
      }
      return out;
    };
    const hasName = (list, want) => assert.ok(list.includes(want), `"${want}" among ${JSON.stringify(list)}`);
    const shown = await names('client page');
    for (const want of ['change email of Ann Smith', 'invite client Ann Smith', 'Resend invitation to Ann Smith', 'Revoke invitation to Ann Smith',
      'Change email of Rita Rey', 'Remove representative Rita Rey', 'Turn off account ann.smith']) {
      assert.ok(shown.includes(want), `"${want}" among ${JSON.stringify(shown)}`);
    }
    await page.getByRole('button', { name: 'Revoke invitation to Ann Smith' }).click();
    hasName(await names('revoke question'), 'Revoke invitation to ann@example.org');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Remove representative Rita Rey' }).click();
    hasName(await names('remove question'), 'Keep Rita Rey as a representative');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Turn off account ann.smith' }).click();
    hasName(await names('turn-off question'), 'Keep it (the account ann.smith)');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'invite client representative' }).click();
    hasName(await names('representative form'), 'invite this representative of Ann Smith');
    await page.getByRole('button', { name: /^Cancel inviting a representative$/ }).click();
    await page.getByRole('button', { name: 'Change email of Rita Rey' }).click();
    hasName(await names('representative email form'), 'Cancel changing the email of Rita Rey');
    assertNoProblems(page);
    await page.context().close();
  });

  test('keyboard only, staff: change the email of a client with a portal account, the old address not told', async () => {
    const srv = await server();
    const c = srv.clients.get(2);   // Ann Smith
    srv.accounts.set('ann.smith', { password: 'x', client_id: c.id, representative_id: null, active: true });
    const page = await staffPage(srv);
    await page.focus('#client-search');
    await page.keyboard.type('Ann');
    await status(page).filter({ hasText: '1 client found.' }).waitFor();
    await page.keyboard.press('Enter');
    await status(page).filter({ hasText: 'Showing Ann Smith.' }).waitFor();
    // the field itself says that a checkbox after "change" decides about the old address
    const field = page.locator('#client-email');
    const described = await field.evaluate((el) => el.getAttribute('aria-describedby').split(' ')
      .map((id) => document.getElementById(id)).filter((e) => e && !e.hidden).map((e) => e.textContent).join(' '));
    assert.match(described, /unless\s+you tick “Don’t email the old address”/);
    await page.focus('#client-email');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('ann.new@example.org');
    await page.keyboard.press('Tab');                   // "change"
    await press(page, 'Tab', 'client-email-withhold');
    await page.keyboard.press('Space');
    assert.equal(await page.locator('#client-email-withhold').isChecked(), true);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await status(page).filter({ hasText: /Email changed to ann\.new@example\.org\. The old address was not told of the change\./ }).waitFor();
    assert.equal(srv.addressNotices.at(-1)?.withheld, true, 'the server was asked not to tell the old address');
    assertNoProblems(page);
    await page.context().close();
  });

  test('keyboard only, recipient: open the link, errors announced and tied to fields, decline question, accept', async () => {
    const srv = await server();
    const page = await openLink(srv, await invite(srv, 13));
    await page.getByRole('heading', { name: /^Welcome, / }).waitFor();
    assert.equal(await focused(page), 'welcome-heading', 'focus starts on the welcome');

    // submit empty: focus on the first field in error, every error announced, tied to its field
    await page.focus('#accept-button');
    await press(page, 'Enter', 'date-of-birth');
    await status(page).filter({ hasText: 'Please enter the date of birth.' }).waitFor();
    for (const id of ['date-of-birth', 'username', 'password']) {
      const input = page.locator('#' + id);
      assert.equal(await input.getAttribute('aria-invalid'), 'true', id + ' invalid');
      assert.ok((await input.getAttribute('aria-describedby')).split(' ').includes(id + '-error'));
      assert.equal(await page.locator('#' + id + '-error').isVisible(), true);
    }

    // the decline question: Escape is "No, go back", focus returns to its button
    await page.focus('#decline-open');
    await press(page, 'Enter', 'decline-no');
    await press(page, 'Escape', 'decline-open');
    assert.equal(await page.locator('#decline-confirm').isHidden(), true);
    assert.equal(await page.locator('#decline-open').getAttribute('aria-expanded'), 'false');

    // fill everything by keyboard: the date in the US order the browser's locale shows
    const dob = srv.clients.get(13).date_of_birth;
    const [y, m, d] = dob.split('-');
    await page.focus('#date-of-birth');
    await page.keyboard.type(m + d + y);
    // the date's own parts (month, day, year) take Tab before the next field
    for (let i = 0; i < 3 && await focused(page) !== 'username'; i += 1) await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'username');
    await page.keyboard.type('keyboard.user');
    await press(page, 'Tab', 'password');
    await page.keyboard.type('correct horse battery');
    await press(page, 'Tab', 'password2');
    await page.keyboard.type('correct horse battery');
    await press(page, 'Tab', 'show-passwords');
    await press(page, 'Tab', 'accept-button');
    await press(page, 'Enter', 'done-heading');
    assert.match(await page.locator('#done-heading').textContent(), /\S/);
    await checkA11y(page, 'recipient: accepted');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a phone, 360 px, the staff page: axe clean with a client open', async () => {
    const srv = await server();
    const page = await staffPage(srv, '', { viewport: PHONE });
    await page.getByRole('combobox', { name: 'Client' }).fill('Carla');
    await page.getByRole('option', { name: /Smithers, Carla/ }).click();
    await page.locator('#client-panel:not([hidden]):not([aria-busy])').waitFor();
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'staff 360 px');
    await page.context().close();
  });
});
