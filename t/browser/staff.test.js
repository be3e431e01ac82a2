// Staff page against the in-memory stand-in server (lib/fake-server.js): every state of the
// page, including the invitation and representative flows, keyboard use, errors, 360 px
// and axe. Runs anywhere chromium is installed; e2e.test.js covers the real server.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer } from './lib/fake-server.js';
import {
  launch, watchedPage, assertNoProblems, checkA11y, screenshot, assertNoHorizontalScroll, DESKTOP, PHONE,
  assertBlocked, waitUnblocked, INVITE_CLIENT, INVITE_OR_REINVITE_CLIENT, CHANGE_CLIENT_EMAIL, INVITE_REPRESENTATIVE,
} from './lib/browser.js';

let server;
let browser;

before(async () => {
  server = await startFakeServer({ deliveryDelayMs: 800 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function staffPage({ user = 'admin', viewport = DESKTOP } = {}) {
  const context = await browser.newContext({ viewport, httpCredentials: { username: user, password: 'pw' } });
  const page = await watchedPage(context);
  await page.goto(server.baseURL + '/portal-manager/');
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  return page;
}

async function pickClient(page, query, optionText) {
  const box = page.getByRole('combobox', { name: 'Client' });
  await box.fill(query);
  const option = page.getByRole('option', { name: optionText });
  await option.first().waitFor();
  await option.first().click();
  await page.locator('#client-panel:not([hidden])').waitFor();
  await page.locator('#client-panel:not([aria-busy])').waitFor();
}

const apiCalls = (re) => server.requests.filter((r) => re.test(r.method + ' ' + r.path));

describe('staff page', () => {
  test('header: who is signed in; settings link only for admins; axe clean', async () => {
    const page = await staffPage();
    await assert.doesNotReject(page.getByText('Signed in as Ada Admin').waitFor());
    assert.equal(await page.getByRole('link', { name: 'Client portal settings' }).getAttribute('href'), 'settings.html');
    await checkA11y(page, 'staff initial');
    await screenshot(page, 'staff-initial');
    assertNoProblems(page);
    await page.context().close();

    const clin = await staffPage({ user: 'clin1' });
    await clin.getByText('Signed in as Cleo Clinician').waitFor();
    assert.equal(await clin.getByRole('link', { name: 'Client portal settings' }).isVisible(), false);
    await clin.context().close();
  });

  test('client search is debounced, shows only what the API returns, pages with "more"', async () => {
    const page = await staffPage();
    const box = page.getByRole('combobox', { name: 'Client' });
    const SEARCH = /^POST \/portal-manager\/api\/clients\/search$/;
    const before = apiCalls(SEARCH).length;
    await box.pressSequentially('Smi', { delay: 40 });
    await page.getByRole('option', { name: /Smith, Ann/ }).waitFor();
    const searches = apiCalls(SEARCH).slice(before);
    assert.equal(searches.length, 1, 'typing quickly sends one search: ' + searches.map((r) => r.body));
    assert.equal(JSON.parse(searches[0].body).q, 'Smi', 'the search text goes in the body');
    assert.equal(apiCalls(/Smi/).length, 0,
      'the search text never appears in a URL');
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    const names = await page.locator('#client-listbox .option-name').allTextContents();
    assert.deepEqual(names, ['Smith, Ann', 'Smith, Bob', 'Smithers, Carla']);
    assert.match(await page.getByRole('option', { name: /Smith, Bob/ }).textContent(), /Client declined portal access/);
    await checkA11y(page, 'staff listbox open');
    await screenshot(page, 'staff-search');

    // whole caseload, paged by next_cursor
    await box.fill('');
    await page.locator('#client-listbox .option-name').nth(24).waitFor();
    assert.equal(await page.locator('#client-listbox .option-name').count(), 25);
    const more = page.getByRole('option', { name: 'Show more clients…' });
    await more.click();
    await page.locator('#client-listbox .option-name').nth(49).waitFor();
    await more.click();
    await page.locator('#client-listbox .option-name').nth(63).waitFor();
    assert.equal(await page.locator('#client-listbox .option-name').count(), 64);
    assert.equal(await more.count(), 0, 'no "more" after the last page');
    assert.ok(JSON.parse(apiCalls(SEARCH).at(-1).body).cursor, 'the last page was asked for with a cursor');

    // keyboard: arrows + Enter choose; Escape closes
    await box.fill('Zo');
    await page.getByRole('option', { name: /Núñez, Zoë/ }).waitFor();
    await box.press('ArrowDown');
    await page.waitForFunction(() => document.getElementById('client-search').getAttribute('aria-activedescendant') === 'client-opt-1');
    assert.deepEqual(await page.locator('#client-listbox .option-name').allTextContents(), ['Núñez, Zoë']);
    await box.press('Enter');
    await page.getByRole('heading', { name: 'Zoë Núñez' }).waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    await box.fill('xyz');
    await page.getByText('No clients match “xyz”.').waitFor();
    await box.press('Escape');
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    assertNoProblems(page);
    await page.context().close();
  });

  test('client view: the language of the client\'s emails (from the roster) is shown', async () => {
    server.clients.get(11).preferred_language = 'es';
    try {
      const page = await staffPage();
      await page.goto(server.baseURL + '/portal-manager/#client=11');
      const lang = page.locator('#client-language');
      await lang.filter({ hasText: 'Español' }).waitFor();
      assert.equal(await lang.getAttribute('lang'), 'es', 'the name is marked as Spanish for screen readers');
      await page.context().close();
    } finally {
      delete server.clients.get(11).preferred_language;
    }
  });

  // The demo walk-through: a Spanish-speaking family's parent got English emails because the
  // representative form left "Language of the emails" at the practice's default although the
  // client's own panel said Español.
  test('invite client representative: the language of the emails starts as the client\'s own', async () => {
    server.clients.get(25).preferred_language = 'es';   // Avery Diaz
    try {
      const page = await staffPage();
      await pickClient(page, 'Diaz', /Diaz, Avery/);
      await page.locator('#client-language').filter({ hasText: 'Español' }).waitFor();
      const open = page.getByRole('button', { name: 'invite client representative' });
      const language = page.getByLabel('Language of the emails');
      await open.click();
      assert.equal(await language.inputValue(), 'es', 'the client\'s language is chosen for the new representative');
      // staff may still choose otherwise, and that choice survives closing the form
      await language.selectOption('en');
      await page.keyboard.press('Escape');
      await open.click();
      assert.equal(await language.inputValue(), 'en', 'what staff chose stays chosen');
      await language.selectOption('es');
      await page.getByLabel('E-mail:').fill('lucia.diaz@example.org');
      await page.getByLabel('First name:').fill('Lucía');
      await page.getByLabel('Last name:').fill('Diaz');
      await page.locator('#rep-form').getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
      await page.locator('.rep-item').filter({ hasText: 'Lucía Diaz' }).getByText('Español').waitFor();
      const post = apiCalls(/^POST \/portal-manager\/api\/clients\/25\/representatives$/).at(-1);
      assert.equal(JSON.parse(post.body).preferred_language, 'es', 'the invitation goes in the client\'s language');
      // the next representative starts from the client's language again
      await open.click();
      assert.equal(await language.inputValue(), 'es');
      await page.keyboard.press('Escape');

      // a client without a language of their own: the practice's default, as before
      await pickClient(page, 'Diaz', /Diaz, Blake/);
      await open.click();
      assert.equal(await language.inputValue(), '', 'no language of the client: the practice\'s default');
      assert.equal(await language.locator('option:checked').textContent(), 'The practice’s default (English)',
        'the default is named');
      assert.equal(await page.locator('#client-language').textContent(), 'The practice’s default (English)');
      assertNoProblems(page);
      await page.context().close();
    } finally {
      delete server.clients.get(25).preferred_language;
    }
  });

  test('Enter opens the client when exactly one matches; with several the arrow keys choose', async () => {
    const page = await staffPage();
    const box = page.getByRole('combobox', { name: 'Client' });
    // typed and Enter at once, before the debounce: the answer opens the only match
    await box.fill('Zo');
    await box.press('Enter');
    await page.getByRole('heading', { name: 'Zoë Núñez' }).waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    // the list is open with one client: Enter opens it
    await box.fill('Smithers');
    await page.getByRole('option', { name: /Smithers, Carla/ }).waitFor();
    await page.locator('#status').filter({ hasText: '1 client found. Press Enter to open it.' }).waitFor();
    await box.press('Enter');
    await page.getByRole('heading', { name: 'Carla Smithers' }).waitFor();
    assert.equal(await box.inputValue(), 'Smithers, Carla');
    // several: Enter opens nobody until one is chosen
    await box.fill('Smi');
    await page.getByRole('option', { name: /Smith, Bob/ }).waitFor();
    await page.locator('#status').filter({ hasText: '3 clients found. Use the arrow keys to choose.' }).waitFor();
    await box.press('Enter');
    await page.waitForTimeout(400);
    assert.equal(await page.locator('#client-name').textContent(), 'Carla Smithers');
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    assertNoProblems(page);
    await page.context().close();
  });

  test('#client=N opened directly reads the client once (one client.view), and once more on a hash change', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    const VIEW = (id) => new RegExp('^GET /portal-manager/api/clients/' + id + '$');
    const before12 = apiCalls(VIEW(12)).length;
    await page.goto(server.baseURL + '/portal-manager/#client=12');
    await page.locator('#client-number').filter({ hasText: /^12$/ }).waitFor();
    await page.locator('#client-panel:not([aria-busy])').waitFor();
    await page.waitForTimeout(500);
    assert.equal(apiCalls(VIEW(12)).length - before12, 1, 'one GET clients/12 for one opening');
    const before11 = apiCalls(VIEW(11)).length;
    await page.evaluate(() => { location.hash = '#client=11'; });
    await page.locator('#client-number').filter({ hasText: /^11$/ }).waitFor();
    await page.locator('#client-panel:not([aria-busy])').waitFor();
    await page.waitForTimeout(500);
    assert.equal(apiCalls(VIEW(11)).length - before11, 1, 'one GET clients/11 for the switch');
    assert.equal(apiCalls(VIEW(12)).length - before12, 1, 'client 12 not read again');
    assertNoProblems(page);
    await context.close();
  });

  test('#client=N of a client not on the list: words that do not tell missing from not visible', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'clin1', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(server.baseURL + '/portal-manager/#client=99999');
    const alert = page.locator('#page-error');
    await alert.filter({ hasText: 'No client with this number is on your list.' }).waitFor();
    assert.doesNotMatch(await alert.textContent(), /There is no client/);
    assert.equal(await page.locator('#client-panel').isVisible(), false);
    await checkA11y(page, 'staff client not on the list');
    assertNoProblems(page);
    await context.close();
  });

  test('client view: details, email change with errors next to the field, nothing in URL or storage', async () => {
    const page = await staffPage();
    await pickClient(page, 'Ann', /Smith, Ann/);
    await page.getByRole('heading', { name: 'Ann Smith' }).waitFor();
    // the number the Outbox filter asks for, under the name, as the portal's id (she has no
    // chart number: none is shown, and the portal's id is never called a client number)
    const viewed = apiCalls(/^GET .*\/clients\/\d+$/).at(-1).path.match(/(\d+)$/)[1];
    assert.equal(await page.locator('.portal-id').textContent(), 'Portal id ' + viewed);
    assert.equal(await page.locator('#client-chart').isVisible(), false, 'no chart number: no line for it');
    assert.doesNotMatch(await page.locator('#client-panel').textContent(), /Client no\./);
    assert.match(await page.locator('#client-dob').textContent(), /1980/);
    assert.equal(await page.locator('#client-status').textContent(), 'Not invited yet');
    // the language of her emails: none of her own, so the practice's default
    assert.equal(await page.locator('#client-language').textContent(), 'The practice’s default (English)');
    const email = page.getByLabel('Email:');
    assert.equal(await email.inputValue(), 'ann@example.org');

    await email.fill('ann@@example');
    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    const err = page.locator('#client-email-error');
    await err.waitFor();
    assert.match(await err.textContent(), /complete email address/);
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    assert.equal(await email.inputValue(), 'ann@@example', 'the form keeps what was typed');
    await checkA11y(page, 'staff email error');

    // a network failure keeps the form too
    await page.route('**/api/clients/*/email', (route) => route.abort('connectionreset'), { times: 1 });
    await email.fill('ann.smith@example.org');
    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    await page.locator('#client-email-error').filter({ hasText: 'Could not reach the server' }).waitFor();
    assert.equal(await email.inputValue(), 'ann.smith@example.org');

    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    await page.locator('#status').filter({ hasText: 'Email changed to ann.smith@example.org' }).waitFor();
    assert.equal(await err.isVisible(), false);
    assert.equal(server.clients.get(2).email, 'ann.smith@example.org');
    const put = apiCalls(/^PUT \/portal-manager\/api\/clients\/2\/email$/).at(-1);
    assert.equal(put.headers['x-requested-with'], 'portal-manager');
    assert.match(put.headers['content-type'], /^application\/json/);
    assert.deepEqual(JSON.parse(put.body), { email: 'ann.smith@example.org' });

    assert.equal(new URL(page.url()).hash, '');
    assert.equal(new URL(page.url()).search, '');
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0]);
    assertNoProblems(page);
    await page.context().close();
  });

  test('invite client: queued turns sent without reload; resend too soon; revoke → reinvite client', async () => {
    const page = await staffPage();
    await pickClient(page, 'Zo', /Núñez, Zoë/);
    const invite = page.getByRole('button', { name: INVITE_CLIENT });
    await invite.click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Waiting to be emailed').waitFor();
    await latest.getByText('Email queued, sending shortly').waitFor();
    const post = apiCalls(/^POST \/portal-manager\/api\/clients\/1\/invitations$/).at(-1);
    assert.equal(post.headers['x-requested-with'], 'portal-manager');
    assert.equal(post.headers['content-type'], undefined, 'no Content-Type without a body');
    assert.equal(post.body, '');
    await assertBlocked(page, invite, /An invitation is waiting for a reply/, 'invite while one waits');

    // the delivery worker's change appears by itself (polling), and is announced
    await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    await latest.getByText('Email sent').waitFor();
    await page.locator('#status').filter({ hasText: 'was sent' }).waitFor();
    assert.equal(await page.locator('#client-status').textContent(), 'Invited, waiting for a reply');
    // polling stops once nothing is queued
    const polls = apiCalls(/^GET \/portal-manager\/api\/clients\/1$/).length;
    await page.waitForTimeout(3500);
    assert.equal(apiCalls(/^GET \/portal-manager\/api\/clients\/1$/).length, polls, 'no polling when nothing is queued');
    await checkA11y(page, 'staff invitation sent');
    await screenshot(page, 'staff-invited');

    // resend right away: unavailable before pressing (resend_available_at), the time beside it,
    // and what to check first beside "Email sent"
    const resends = apiCalls(/\/resend$/).length;
    await assertBlocked(page, latest.getByRole('button', { name: /Resend/ }), /^Resend possible at \d{1,2}:\d\d\s?[AP]M\.$/, 'resend within the cooldown');
    assert.equal(apiCalls(/\/resend$/).length, resends, 'no resend was asked for');
    await latest.getByText('Not arrived? Ask them to check their spam folder and that the address above is right.').waitFor();

    // revoke asks first; Keep it backs out
    await latest.getByRole('button', { name: /Revoke/ }).click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    assert.equal(await page.getByRole('button', { name: /^Revoke invitation to \S+@\S+$/ }).count(), 0);
    await latest.getByRole('button', { name: /Revoke/ }).click();
    assert.match(await page.evaluate(() => document.activeElement.textContent), /^Keep it\b/, 'focus on the safe button');
    await page.getByRole('button', { name: /^Revoke invitation to \S+@\S+$/ }).click();
    await latest.getByText('Revoked by staff', { exact: true }).waitFor();
    assert.ok((await latest.locator('dt').allTextContents()).includes('Revoked'), 'the end is dated as "Revoked"');
    const reinvite = page.getByRole('button', { name: 'reinvite client' });
    await reinvite.waitFor();
    assert.equal(await reinvite.isEnabled(), true);
    assert.equal(await page.locator('#client-status').textContent(), 'Invitation revoked by staff');

    // reinvite: a new invitation on top, the old one under "Earlier invitations"
    await reinvite.click();
    await page.locator('#client-invitations .inv-item').first().getByText('Waiting to be emailed').waitFor();
    await page.getByText('Earlier invitations (1)').waitFor();
    await page.locator('#client-invitations .inv-item').first().getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    assertNoProblems(page);
    await page.context().close();
  });

  test('times are shown on the practice\'s clock (GET api/me time_zone), not the browser\'s', async () => {
    server.storedSettings.time_zone = 'America/Chicago';
    try {
      const context = await browser.newContext({
        viewport: DESKTOP, timezoneId: 'Asia/Tokyo', httpCredentials: { username: 'admin', password: 'pw' },
      });
      const page = await watchedPage(context);
      await page.goto(server.baseURL + '/portal-manager/');
      await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
      // Zoë has invitations from the invite test above
      await pickClient(page, 'Zo', /Núñez, Zoë/);
      const time = page.locator('#client-invitations .inv-item time').first();
      await time.waitFor();
      const iso = await time.getAttribute('datetime');
      const chicago = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'America/Chicago' })
        .format(new Date(iso));
      const tokyo = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' })
        .format(new Date(iso));
      const zoneName = new Intl.DateTimeFormat('en', { timeZone: 'America/Chicago', timeZoneName: 'short' })
        .formatToParts(new Date(iso)).find((p) => p.type === 'timeZoneName').value;
      assert.notEqual(chicago, tokyo);
      assert.match(zoneName, /^C[SD]T$/);
      assert.equal(await time.textContent(), `${chicago} ${zoneName}`,
        'the invitation\'s time on Chicago\'s clock in a Tokyo browser, naming the zone');
      await context.close();

      // a browser on the practice's own clock: no zone name to read past
      const local = await browser.newContext({
        viewport: DESKTOP, timezoneId: 'America/Chicago', httpCredentials: { username: 'admin', password: 'pw' },
      });
      const page2 = await watchedPage(local);
      await page2.goto(server.baseURL + '/portal-manager/');
      await page2.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
      await pickClient(page2, 'Zo', /Núñez, Zoë/);
      const time2 = page2.locator('#client-invitations .inv-item time').first();
      await time2.waitFor();
      assert.equal(await time2.textContent(), chicago, 'in a Chicago browser: the time alone');
      await local.close();
    } finally {
      delete server.storedSettings.time_zone;
    }
  });

  test('the open client refreshes by an unaudited status check (304), reading the view again only on a change', async () => {
    const page = await staffPage();
    const delay = server.options.deliveryDelayMs;
    server.options.deliveryDelayMs = 8000;
    try {
      await pickClient(page, 'Hughes', /Hughes, Drew/);
      const id = [...server.clients.values()].find((c) => c.first_name === 'Drew' && c.last_name === 'Hughes').id;
      const STATUS = new RegExp('^GET /portal-manager/api/clients/' + id + '/status$');
      await page.getByRole('button', { name: INVITE_CLIENT }).click();
      const latest = page.locator('#client-invitations .inv-item').first();
      await latest.waitFor();
      const views = () => server.clientViews.filter((v) => v === id).length;
      const viewsBefore = views();
      // two refreshes while the email waits: each a 304, no new view read
      for (let i = 0; i < 100 && apiCalls(STATUS).length < 2; i += 1) await page.waitForTimeout(100);
      assert.ok(apiCalls(STATUS).length >= 2, 'the page asks the status route');
      assert.equal(views(), viewsBefore, 'no audited view read while nothing changed');
      // the email goes out: the next refresh sees the change and reads the view once
      await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 15000 });
      assert.equal(views(), viewsBefore + 1, 'one view read after the change');
    } finally {
      server.options.deliveryDelayMs = delay;
    }
    assertNoProblems(page);
    await page.context().close();
  });

  test('invite waits while the Email field differs from the saved address (press change first)', async () => {
    const page = await staffPage();
    await pickClient(page, 'Foster', /Foster, Avery/);
    const id = [...server.clients.values()].find((c) => c.first_name === 'Avery' && c.last_name === 'Foster').id;
    const INVITE = new RegExp('^POST /portal-manager/api/clients/' + id + '/invitations$');
    const invite = page.getByRole('button', { name: INVITE_CLIENT });
    assert.equal(await invite.isEnabled(), true);
    await page.getByLabel('Email:').fill('avery.new@example.org');
    await page.locator('#invite-client-hint').filter({ hasText: 'Press “change” to save the new address first' }).waitFor();
    await assertBlocked(page, invite, /Press “change” to save the new address first/, 'invite while the field is not saved');
    await checkA11y(page, 'staff unsaved email');
    assert.equal(apiCalls(INVITE).length, 0, 'nothing was sent to the old address');
    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    await waitUnblocked(page, '#invite-client');
    await invite.click();
    await page.locator('#client-invitations .inv-item').first().waitFor();
    assert.equal(server.latestInvitation(id).email, 'avery.new@example.org', 'the invitation went to the saved new address');
    assertNoProblems(page);
    await page.context().close();
  });

  test('an invitation ended by an email change says when it ended, not "Answered"', async () => {
    const base = { date_of_birth: '1982-02-02', declined_at: null, declined_by: null, declined_note: null, statement_notifications: true };
    server.clients.set(911, { ...base, id: 911, first_name: 'Iris', last_name: 'Wren', email: 'iris.wren@example.org' });
    const page = await staffPage();
    await pickClient(page, 'Wren', /Wren, Iris/);
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Waiting to be emailed').waitFor();
    // nobody replies; the address changes while the invitation waits
    await page.getByLabel('Email:').fill('iris.new@example.org');
    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    await latest.getByText('Ended: the email address was changed').waitFor();
    assert.ok(server.latestInvitation(911).responded_at > 0, 'the stand-in, like the module, records when it ended');
    const terms = await latest.locator('dt').allTextContents();
    assert.ok(terms.includes('Ended'), 'the end is dated as "Ended": ' + terms);
    assert.ok(!terms.includes('Answered'), 'not "Answered": nobody replied: ' + terms);
    await checkA11y(page, 'staff invitation ended by an email change');
    assertNoProblems(page);
    await page.context().close();
  });

  test('client declined with a portal account asks to turn the account off too', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Blake' && x.last_name === 'Garcia');
    server.accounts.set('blake.garcia', { password: 'x', client_id: c.id, representative_id: null, active: true });
    const page = await staffPage();
    await pickClient(page, 'Garcia', /Garcia, Blake/);
    const DECLINED = new RegExp('^POST /portal-manager/api/clients/' + c.id + '/declined$');
    await page.getByRole('button', { name: 'client declined', exact: true }).click();
    const box = page.getByLabel(/Turn it off too/);
    await box.waitFor();
    await page.getByRole('button', { name: 'Record client declined' }).click();
    await page.locator('#declined-disable-error').filter({ hasText: 'Tick the box' }).waitFor();
    assert.equal(apiCalls(DECLINED).length, 0, 'nothing recorded without the answer');
    await checkA11y(page, 'staff declined with account');
    await box.check();
    await page.getByRole('button', { name: 'Record client declined' }).click();
    await page.locator('#declined-on:not([hidden])').waitFor();
    assert.equal(JSON.parse(apiCalls(DECLINED).at(-1).body).disable_account, true);
    assert.equal(server.accounts.get('blake.garcia').active, false, 'the account was turned off');
    assert.equal(await page.locator('#client-status').textContent(), 'Client declined portal access');
    assertNoProblems(page);
    await page.context().close();
  });

  test('email change of a person with a portal account: a checkbox withholds the note to the old address (client and representative); axe clean', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Emery' && x.last_name === 'Foster');
    const WITHHOLD = /Don’t email the old address \(for example, someone else may read it\)/;
    const PUT_EMAIL = new RegExp('^PUT /portal-manager/api/clients/' + c.id + '/email$');
    // no account: no choice (nothing would go to the old address)
    let page = await staffPage();
    await pickClient(page, 'Foster', /Foster, Emery/);
    assert.equal(await page.getByRole('checkbox', { name: WITHHOLD }).isVisible(), false, 'no account: no checkbox');
    await page.context().close();

    server.accounts.set('emery.foster', { password: 'x', client_id: c.id, representative_id: null, active: true });
    const rep = { id: 9101, client_id: c.id, email: 'rowan.foster@example.org', first_name: 'Rowan', last_name: 'Foster', relationship: 'parent', preferred_language: null, removed_at: null, scopes: ['messages'], starts_at: null, ends_at: null };
    const rep2 = { ...rep, id: 9102, email: 'sky.foster@example.org', first_name: 'Sky' };
    server.representatives.set(rep.id, rep);
    server.representatives.set(rep2.id, rep2);
    server.accounts.set('rowan.foster', { password: 'x', client_id: c.id, representative_id: rep.id, active: true });
    // a representative whose access here ended, the login still on: the server still sends
    // the note to their old address, so the choice is offered there too
    const rep3 = { ...rep, id: 9103, email: 'sam.foster@example.org', first_name: 'Sam' };
    server.representatives.set(rep3.id, rep3);
    const nowSec = Math.floor(Date.now() / 1000);
    server.invitations.set(99103, { id: 99103, client_id: c.id, representative_id: rep3.id, email: rep3.email, status: 'accepted',
      delivery: 'sent', delivery_error: null, created_at: nowSec - 86400, created_by: 'admin', sent_at: nowSec - 86400,
      expires_at: nowSec + 86400, responded_at: nowSec - 3600, send_count: 1, verify_failures: 0, token: null, kind: 'invite',
      last_queued_at: nowSec - 86400 });
    server.accounts.set('sam.foster', { password: 'x', client_id: c.id, representative_id: rep3.id, active: true,
      access_ended: { at: nowSec - 60, by: 'admin', reason: 'staff', note: null } });
    try {
      page = await staffPage();
      await pickClient(page, 'Foster', /Foster, Emery/);
      const box = page.getByRole('checkbox', { name: WITHHOLD });
      await box.waitFor();
      assert.equal(await box.isChecked(), false, 'unticked by default');
      assert.equal(await box.evaluate((e) => e.tagName + ':' + e.type + ':' + (e.labels[0] ? 'label' : 'none')), 'INPUT:checkbox:label',
        'a real checkbox with its label');
      assert.match(await box.evaluate((e) => document.getElementById(e.getAttribute('aria-describedby')).textContent),
        /unless\s+you tick “Don’t email the old address”,\s+the old address gets a short note/, 'the hint says what happens otherwise');
      await checkA11y(page, 'staff email change with the withhold choice');

      // keyboard: the field, "change", then the checkbox; Space ticks it
      const email = page.getByLabel('Email:');
      await email.fill('emery.new@example.org');
      await email.focus();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'client-email-withhold');
      await page.keyboard.press('Space');
      assert.equal(await box.isChecked(), true);
      await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
      await page.locator('#status').filter({ hasText: 'Email changed to emery.new@example.org. The old address was not told of the change.' }).waitFor();
      assert.deepEqual(JSON.parse(apiCalls(PUT_EMAIL).at(-1).body), { email: 'emery.new@example.org', notify_old_address: false });
      assert.deepEqual(server.addressNotices.at(-1), { client_id: c.id, representative_id: null, to: 'emery.foster@example.org', withheld: true });
      assert.equal(await box.isChecked(), false, 'the choice was for that change only');

      // unticked: today's behaviour, and the toast says the old address is told
      await email.fill('emery.newer@example.org');
      await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
      await page.locator('#status').filter({ hasText: 'The old address gets a short note that the address was changed.' }).waitFor();
      assert.deepEqual(JSON.parse(apiCalls(PUT_EMAIL).at(-1).body), { email: 'emery.newer@example.org' });
      assert.equal(server.addressNotices.at(-1).withheld, false);

      // a representative with an account: the same choice on "Change email"
      const PUT_REP = /^PUT \/portal-manager\/api\/representatives\/9101$/;
      await page.getByRole('button', { name: 'Change email of Rowan Foster' }).click();
      const field = page.getByLabel('New email address of Rowan Foster');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-9101-email-input', 'focus on the field');
      await field.fill('rowan.new@example.org');
      const repBox = page.locator('#rep-9101-email-form').getByRole('checkbox', { name: WITHHOLD });
      assert.equal(await repBox.isChecked(), false, 'unticked by default');
      await checkA11y(page, 'staff representative email change');
      await repBox.check();
      await page.getByRole('button', { name: 'Save email' }).click();
      await page.locator('#status').filter({ hasText: 'Email of Rowan Foster changed to rowan.new@example.org. The old address was not told of the change.' }).waitFor();
      assert.deepEqual(JSON.parse(apiCalls(PUT_REP).at(-1).body), { email: 'rowan.new@example.org', notify_old_address: false });
      assert.deepEqual(server.addressNotices.at(-1), { client_id: c.id, representative_id: 9101, to: 'rowan.foster@example.org', withheld: true });
      await page.locator('.rep-item').filter({ hasText: 'Rowan Foster' }).getByText('rowan.new@example.org').waitFor();

      // access ended, login on: offered; unticked, the toast does not promise a note it cannot know of
      await page.getByRole('button', { name: 'Change email of Sam Foster' }).click();
      await page.getByLabel('New email address of Sam Foster').fill('sam.new@example.org');
      const samBox = page.locator('#rep-9103-email-form').getByRole('checkbox', { name: WITHHOLD });
      assert.equal(await samBox.isVisible(), true, 'access ended, login on: the choice is offered');
      await samBox.check();
      await page.locator('#rep-9103-email-form').getByRole('button', { name: 'Save email' }).click();
      await page.locator('#status').filter({ hasText: 'Email of Sam Foster changed to sam.new@example.org. The old address was not told of the change.' }).waitFor();
      assert.deepEqual(JSON.parse(apiCalls(/^PUT \/portal-manager\/api\/representatives\/9103$/).at(-1).body),
        { email: 'sam.new@example.org', notify_old_address: false });

      // a representative without an account: no choice; Escape backs out
      await page.getByRole('button', { name: 'Change email of Sky Foster' }).click();
      await page.getByLabel('New email address of Sky Foster').waitFor();
      assert.equal(await page.locator('#rep-9102-email-form').getByRole('checkbox').count(), 0, 'no account: no checkbox');
      await page.keyboard.press('Escape');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-9102-email-edit', 'focus back on the button');
      assertNoProblems(page);
      await page.context().close();
    } finally {
      server.accounts.delete('emery.foster');
      server.accounts.delete('rowan.foster');
      server.accounts.delete('sam.foster');
      rep.removed_at = 1;
      rep2.removed_at = 1;
      rep3.removed_at = 1;
    }
  });

  test('a client discharged while open: invite refused, the page says discharged and offers no invitation', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Avery' && x.last_name === 'Khan');
    const page = await staffPage();
    try {
      await pickClient(page, 'Khan', /Khan, Avery/);
      assert.equal(await page.locator('#client-discharged').isVisible(), false, 'an active client: no banner');
      c.active = false;                          // the EHR's roster sync discharges them meanwhile
      await page.getByRole('button', { name: INVITE_CLIENT }).click();
      await page.locator('#invite-client-error').filter({ hasText: 'discharged from the practice’s roster' }).waitFor();
      await page.locator('#client-discharged:not([hidden])').waitFor();
      await assertBlocked(page, page.getByRole('button', { name: INVITE_CLIENT }), /discharged clients cannot be invited/, 'invite a discharged client');
      assert.equal(await page.getByRole('button', { name: 'client declined' }).isVisible(), false,
        'no "client declined" for a client who has left care');
      assert.match(await page.locator('#invite-client-hint').textContent(), /discharged/);
      assert.equal(await page.locator('#rep-open').isVisible(), false, 'no representative invitation either');
      await checkA11y(page, 'staff discharged client');
      const box = page.getByRole('combobox', { name: 'Client' });
      await box.fill('Khan');
      await page.getByRole('option', { name: /Khan, Blake/ }).first().waitFor();
      assert.equal(await page.getByRole('option', { name: /Khan, Avery/ }).count(), 0, 'not offered by search');
      assertNoProblems(page);
    } finally {
      c.active = true;                           // readmitted: the other cases use them
      await page.context().close();
    }
  });

  test('portal accounts: owner and status, disable with a reason, enable, a stale list explained; axe clean', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Casey' && x.last_name === 'Hughes');
    server.accounts.set('casey.hughes', {
      id: 9001, username: 'Casey.Hughes', password: 'x', client_id: c.id, representative_id: null, active: true,
      created_at: Math.floor(Date.now() / 1000) - 86400,
    });
    const page = await staffPage();
    await pickClient(page, 'Hughes', /Hughes, Casey/);
    const item = page.locator('li[data-account-id="9001"]');
    await item.getByRole('heading', { name: 'Casey.Hughes' }).waitFor();
    assert.match(await item.textContent(), /The client’s own account/);
    assert.match(await item.textContent(), /Active: can sign in/);
    await checkA11y(page, 'staff accounts');

    const DISABLE = /^POST \/portal-manager\/api\/accounts\/9001\/disable$/;
    await page.getByRole('button', { name: 'Turn off account Casey.Hughes' }).click();
    const reason = page.getByLabel('Reason (optional)');
    await reason.waitFor();
    assert.equal(await reason.evaluate((el) => el === document.activeElement), true, 'focus moves to the reason');
    assert.equal(apiCalls(DISABLE).length, 0, 'nothing changes before the confirmation');
    // Escape backs out, to the button that opened it
    await page.keyboard.press('Escape');
    await reason.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9001-disable', 'Escape returns to the button');
    await page.getByRole('button', { name: 'Turn off account Casey.Hughes' }).click();
    await reason.waitFor();
    await reason.fill('Moved to another practice');
    await checkA11y(page, 'staff account disable confirmation');
    await page.getByRole('button', { name: /^Turn off account \S+ now$/ }).click();
    await item.getByText('Turned off: cannot sign in').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9001-enable',
      'focus on the button that took the pressed one\'s place');
    assert.deepEqual(JSON.parse(apiCalls(DISABLE).at(-1).body), { client_id: c.id, reason: 'Moved to another practice' },
      'the card names its client');
    assert.equal(server.accounts.get('casey.hughes').active, false, 'the account was turned off');
    assert.match(await item.textContent(), /by Ada Admin/);
    assert.match(await item.textContent(), /Moved to another practice/);

    await page.getByRole('button', { name: 'Turn on account Casey.Hughes' }).click();
    await item.getByText('Active: can sign in').waitFor();
    assert.equal(server.accounts.get('casey.hughes').active, true, 'the account is active again');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9001-disable', 'focus stays on the account');

    // someone else turned it off meanwhile: the refusal is explained and the list refreshed
    Object.assign(server.accounts.get('casey.hughes'), { active: false, disabled_at: Math.floor(Date.now() / 1000), disabled_by: 'clin1' });
    await page.getByRole('button', { name: 'Turn off account Casey.Hughes' }).click();
    await page.getByRole('button', { name: /^Turn off account \S+ now$/ }).click();
    await item.getByText(/already turned off/).waitFor();
    await item.getByRole('button', { name: 'Turn on account Casey.Hughes' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9001-enable', 'focus stays on the account');
    assert.match(await item.textContent(), /by Cleo Clinician/);
    // an invitation to the same person is open (sent while the account was off): it stays
    // off, and the page says what to do
    const openOne = () => [...server.invitations.values()].find((i) => i.client_id === c.id
      && i.representative_id === null && i.kind === 'invite' && i.status === 'pending');
    await page.locator('#invite-client').click();
    for (let i = 0; i < 100 && !openOne(); i++) await new Promise((r) => setTimeout(r, 50));
    const open = openOne();
    assert.ok(open, 'the invitation is open');
    await page.getByRole('button', { name: 'Turn on account Casey.Hughes' }).click();
    await item.getByText(/has an open invitation, so this account stays off\. Revoke the invitation first/).waitFor();
    assert.equal(server.accounts.get('casey.hughes').active, false, 'the account stays off');
    open.status = 'revoked';
    await screenshot(page, 'staff-accounts');
    // "invite client" turned enabled with the account off: let its colour transition end
    await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
    await checkA11y(page, 'staff account error');
    assertNoProblems(page);
    await page.context().close();
  });

  test('portal accounts: a login shared with another client is turned off for this client only; axe clean', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Avery' && x.last_name === 'Jensen');
    server.accounts.set('pat.shared', {
      id: 9010, username: 'Pat.Shared', password: 'x', client_id: c.id, representative_id: null, active: true,
      created_at: Math.floor(Date.now() / 1000) - 86400, other_clients: 1,
    });
    try {
      const page = await staffPage();
      await pickClient(page, 'Jensen', /Jensen, Avery/);
      const item = page.locator('li[data-account-id="9010"]');
      await item.getByText('Also signs in for').waitFor();
      assert.match(await item.textContent(), /1 other client of the practice/);
      await page.getByRole('button', { name: 'Turn off account Pat.Shared' }).click();
      const question = item.getByText(/for this client\? It also signs in for 1 other client of the practice: it keeps those and no longer reaches Avery Jensen\./);
      await question.waitFor();
      await page.getByLabel('Reason (optional)').fill('Asked us to stop it for Avery');
      await checkA11y(page, 'staff shared account confirmation');
      await page.getByRole('button', { name: /^Turn off for this client \(/ }).click();
      await item.getByText('No longer reaches this client').waitFor();
      const DISABLE = /^POST \/portal-manager\/api\/accounts\/9010\/disable$/;
      assert.deepEqual(JSON.parse(apiCalls(DISABLE).at(-1).body), { client_id: c.id, reason: 'Asked us to stop it for Avery' });
      assert.equal(server.accounts.get('pat.shared').active, true, 'the login itself stays on');
      assert.match(await item.textContent(), /Access to this client ended.*by Ada Admin \(turned off for this client\)/);
      assert.match(await item.textContent(), /Asked us to stop it for Avery/);
      await page.getByText(/no longer reaches this client\. It still signs in for its other clients\./).first().waitFor();
      assert.equal(await item.getByRole('button').count(), 0, 'no Turn off, Turn on or Reset password for a login that is not this client’s');
      assert.doesNotMatch(await item.textContent(), /Active: can sign in/);
      // "invite client" may be mid-way through its colour transition: let it end
      await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
      await checkA11y(page, 'staff shared account ended here');
      assertNoProblems(page);
      await page.context().close();
    } finally {
      server.accounts.delete('pat.shared');
    }
  });

  // Coming of age: the note's error came last in the account's item, below the Turn off and
  // Reset buttons, outside the yellow review box it belongs to, and was not read out.
  test('access review: "Keep access" without a note says so inside the review\'s box, read out', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Avery' && x.last_name === 'Carter');
    const rep = { id: 9200, client_id: c.id, email: 'pat.carter@example.org', first_name: 'Pat', last_name: 'Carter',
      relationship: 'parent', preferred_language: null, removed_at: null, scopes: ['messages', 'billing', 'forms', 'appointments'],
      starts_at: null, ends_at: null };
    server.representatives.set(rep.id, rep);
    server.accounts.set('pat.carter', {
      id: 9201, username: 'pat.carter', password: 'x', client_id: c.id, representative_id: rep.id, active: true,
      created_at: Math.floor(Date.now() / 1000) - 86400, grant_id: 77, review_due: true,
    });
    const page = await staffPage();
    try {
      await pickClient(page, 'Carter', /Carter, Avery/);
      const item = page.locator('li[data-account-id="9201"]');
      await item.getByText('Access review due').waitFor();
      await item.getByRole('button', { name: 'Keep access of Pat Carter' }).click();
      const form = item.locator('form.confirm');
      await form.getByLabel('Why the access continues').waitFor();
      await form.getByRole('button', { name: /^Keep access of .* with this reason$/ }).click();
      const error = item.getByText('Please say why the access continues.');
      await error.waitFor();
      assert.equal(await form.getByRole('alert').textContent(), 'Please say why the access continues.',
        'the error is in the review\'s form, as an alert');
      const [e, f] = [await error.boundingBox(), await form.boundingBox()];
      assert.ok(e.x >= f.x && e.y >= f.y && e.x + e.width <= f.x + f.width && e.y + e.height <= f.y + f.height,
        'the error is drawn inside the review\'s box: ' + JSON.stringify({ error: e, box: f }));
      const note = form.getByLabel('Why the access continues');
      assert.equal(await note.getAttribute('aria-invalid'), 'true');
      assert.equal(await note.getAttribute('aria-describedby'), await error.getAttribute('id'), 'the note names its error');
      assert.equal(await note.evaluate((el) => el === document.activeElement), true, 'focus on the note');
      await checkA11y(page, 'staff access review error');
      await screenshot(page, 'staff-review-error');
      // Cancel: the question and its error go
      await form.getByRole('button', { name: 'Cancel' }).click();
      await item.getByRole('button', { name: 'Keep access of Pat Carter' }).waitFor();
      assert.equal(await item.getByText('Please say why the access continues.').count(), 0, 'the error went with its question');
      // End access asks with the focus on Cancel, and Escape backs out
      await item.getByRole('button', { name: 'End access of Pat Carter' }).click();
      await item.getByRole('button', { name: /^End access of .* now$/ }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9201-review-end-no', 'focus on Cancel, not End access');
      await page.keyboard.press('Escape');
      await item.getByRole('button', { name: /^End access of .* now$/ }).waitFor({ state: 'detached' });
      assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9201-review-end', 'Escape returns to the button');
      assertNoProblems(page);
    } finally {
      server.accounts.delete('pat.carter');
      server.representatives.delete(rep.id);
      await page.context().close();
    }
  });

  test('portal accounts: reset password names where the email goes, shows the open link, cooldown explained; axe clean', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Drew' && x.last_name === 'Lopez');
    server.accounts.set('drew.lopez', {
      id: 9002, username: 'Drew.Lopez', password: 'x', client_id: c.id, representative_id: null, active: true,
      created_at: Math.floor(Date.now() / 1000) - 86400,
    });
    server.accounts.set('drew.off', {
      id: 9003, username: 'Drew.Off', password: 'x', client_id: c.id, representative_id: null, active: false,
      created_at: Math.floor(Date.now() / 1000) - 86400 * 9, disabled_at: Math.floor(Date.now() / 1000) - 86400, disabled_by: 'clin1',
    });
    const page = await staffPage();
    await pickClient(page, 'Lopez', /Lopez, Drew/);
    const item = page.locator('li[data-account-id="9002"]');
    await item.getByRole('heading', { name: 'Drew.Lopez' }).waitFor();
    assert.equal(await page.locator('li[data-account-id="9003"]').getByRole('button', { name: /Reset password/ }).count(), 0,
      'no reset button on a turned-off account');

    const RESET = /^POST \/portal-manager\/api\/accounts\/9002\/password-reset$/;
    await item.getByRole('button', { name: 'Reset password Drew.Lopez' }).click();
    const yes = item.getByRole('button', { name: 'Send reset email' });
    await yes.waitFor();
    assert.equal(await yes.evaluate((el) => el === document.activeElement), true, 'focus moves to the confirmation');
    assert.match(await item.textContent(), /to drew\.lopez@example\.org\?/, 'names the address the page shows');
    assert.equal(apiCalls(RESET).length, 0, 'nothing is sent before the confirmation');
    await checkA11y(page, 'staff account reset confirmation');
    await yes.click();
    await item.getByText(/link emailed, works until/).waitFor();
    assert.equal(apiCalls(RESET).length, 1, 'one request');
    assert.equal(apiCalls(RESET)[0].body || '', '', 'no body');
    await page.locator('#status').filter({ hasText: 'password reset email for Drew.Lopez is on its way to drew.lopez@example.org' }).waitFor();
    assert.equal(await item.getByRole('button', { name: 'Reset password Drew.Lopez' }).count(), 1, 'the button is back');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'acct-9002-reset', 'focus on it, not the page body');

    // again within the cooldown: explained next to the account, nothing else changes
    await item.getByRole('button', { name: 'Reset password Drew.Lopez' }).click();
    await item.getByRole('button', { name: 'Send reset email' }).click();
    await item.getByText(/A password reset email was sent very recently\. You can resend it in about 10 minutes\./).waitFor();
    await screenshot(page, 'staff-account-reset');
    await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
    await checkA11y(page, 'staff account reset error');

    // cancel leaves everything as it was
    await item.getByRole('button', { name: 'Cancel' }).click();
    await item.getByRole('button', { name: 'Reset password Drew.Lopez' }).waitFor();
    assert.equal(apiCalls(RESET).length, 2, 'cancel sends nothing');
    assertNoProblems(page);
    await page.context().close();
  });

  test('display names, delayed delivery in words, resend hidden at the send limit, representatives off', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Casey' && x.last_name === 'Ibrahim');
    const page = await staffPage();
    await pickClient(page, 'Ibrahim', /Ibrahim, Casey/);
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    await latest.getByText(/by Ada Admin/).waitFor();
    assert.equal(await latest.getByRole('button', { name: /Resend/ }).count(), 1, 'resend offered below the limit');
    // the mail server refused for now: the card says why and when the next try is
    const inv = server.latestInvitation(c.id);
    Object.assign(inv, { delivery: 'queued', delivery_error: '451 4.7.1 greylisted, try later', next_attempt_at: Math.floor(Date.now() / 1000) + 600 });
    await pickClient(page, 'Ibrahim', /Ibrahim, Casey/);
    await latest.getByText(/Delivery delayed: the mail server said “451 4\.7\.1 greylisted, try later”\. Next try /).waitFor();
    // the cooldown: resend unavailable before pressing, with its time; no "Not arrived?" while queued
    await assertBlocked(page, latest.getByRole('button', { name: /Resend/ }), /^Resend possible at /, 'resend of a delayed email within the cooldown');
    assert.equal(await latest.locator('.not-arrived').count(), 0, 'nothing to check while the email has not gone');
    // the send limit reached: no resend button
    Object.assign(inv, { delivery: 'sent', delivery_error: null, next_attempt_at: null, send_count: server.settings().max_sends_per_invitation });
    await pickClient(page, 'Ibrahim', /Ibrahim, Casey/);
    await latest.getByText('Sent, waiting for a reply').waitFor();
    assert.equal(await latest.getByRole('button', { name: /Resend/ }).count(), 0, 'no resend at the send limit');
    assert.equal(await page.getByRole('button', { name: 'invite client representative' }).isVisible(), true);
    await page.context().close();

    server.storedSettings.representatives_enabled = false;
    try {
      const off = await staffPage();
      await pickClient(off, 'Ibrahim', /Ibrahim, Casey/);
      assert.equal(await off.getByRole('button', { name: 'invite client representative' }).isVisible(), false,
        'representatives turned off: not offered');
      await checkA11y(off, 'staff representatives off');
      assertNoProblems(off);
      await off.context().close();
    } finally {
      delete server.storedSettings.representatives_enabled;
    }
  });

  test('a bounced invitation: the reason, no resend, invite held until the address changes; a soft bounce is a note', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Drew' && x.last_name === 'Khan');
    const page = await staffPage();
    await pickClient(page, 'Khan', /Khan, Drew/);
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    // a soft bounce: still sent, with the relay's words as a note
    const inv = server.latestInvitation(c.id);
    inv.bounce = { type: 'soft', reason: '452 4.2.2 mailbox full', at: new Date().toISOString() };
    await pickClient(page, 'Khan', /Khan, Drew/);
    await latest.getByText(/Email sent; the recipient’s mail server reported a problem it may get past: “452 4\.2\.2 mailbox full”/).waitFor();
    assert.equal(await latest.getByRole('button', { name: /Resend/ }).count(), 1, 'a soft bounce still allows resend');
    // a hard bounce: the reason, no resend, invite held with the reason why
    Object.assign(inv, { delivery: 'bounced', delivery_error: '550 5.1.1 <***@example.org>: User unknown',
      bounce: { type: 'hard', reason: '550 5.1.1 <***@example.org>: User unknown', at: new Date().toISOString() } });
    await pickClient(page, 'Khan', /Khan, Drew/);
    await latest.getByText('The email bounced', { exact: true }).waitFor();
    await latest.getByText(/The email bounced: 550 5\.1\.1 <\*\*\*@example\.org>: User unknown\. Check the address/).waitFor();
    assert.equal(await latest.getByRole('button', { name: /Resend/ }).count(), 0, 'no resend to a bounced address');
    const invite = page.getByRole('button', { name: INVITE_OR_REINVITE_CLIENT });
    await page.locator('#invite-client-hint').filter({ hasText: /bounced: the address does not work\. Check it with the client, then change it \(or, if they say it works now, save it again with “change”\)/ }).waitFor();
    await assertBlocked(page, invite, /bounced: the address does not work/, 'invite to a bounced address');
    await checkA11y(page, 'staff bounced invitation');
    // the same address saved again (the client fixed the mailbox): the bounce is cleared,
    // invite and resend are offered again, the history still says it bounced
    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    await waitUnblocked(page, '#invite-client');
    assert.equal(await page.locator('#invite-client-hint').filter({ hasText: /bounced/ }).count(), 0, 'no bounce hint once cleared');
    await latest.getByRole('button', { name: /Resend/ }).waitFor();
    await latest.getByText('The email bounced', { exact: true }).waitFor();
    // a new address: invite is offered again
    await page.locator('#client-email').fill('drew.khan.new@example.org');
    await page.getByRole('button', { name: CHANGE_CLIENT_EMAIL }).click();
    await waitUnblocked(page, '#invite-client');
    assertNoProblems(page);
    await page.context().close();
  });

  test('mail server down: the card says "To", not "Sent to", and a past next try reads "waiting for the mail server"', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Avery' && x.last_name === 'Evans');
    const page = await staffPage();
    await pickClient(page, 'Evans', /Evans, Avery/);
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    const labels = () => latest.locator('dt').allTextContents();
    assert.ok((await labels()).includes('Emailed to'), 'sent: "Emailed to" ' + (await labels()).join('|'));
    // the relay refuses connections: the module keeps the row queued, attempts 0, its
    // next_attempt_at at its creation (minutes ago), and sends once the relay answers
    const inv = server.latestInvitation(c.id);
    Object.assign(inv, { delivery: 'queued', delivery_error: 'Couldn\'t connect to server', sent_at: null,
      next_attempt_at: inv.created_at - 300 });
    await pickClient(page, 'Evans', /Evans, Avery/);
    await latest.getByText('Waiting to be emailed').waitFor();
    const delivery = latest.locator('dt:text-is("Delivery") + dd');
    assert.equal(await delivery.textContent(),
      'Delivery delayed: the mail server said “Couldn\'t connect to server”. Retrying: waiting for the mail server.');
    assert.ok(!(await labels()).includes('Sent to'), 'nothing was sent: ' + (await labels()).join('|'));
    assert.ok((await labels()).includes('To'), 'addressed "To": ' + (await labels()).join('|'));
    assert.equal(await latest.getByText(/Next try/).count(), 0, 'no next try in the past');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a failed invitation (550): "Could not be delivered to", reinvite offered and no resend beside it', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Blake' && x.last_name === 'Jensen');
    const page = await staffPage();
    await pickClient(page, 'Jensen', /Jensen, Blake/);
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    const inv = server.latestInvitation(c.id);
    Object.assign(inv, { delivery: 'failed', delivery_error: '550 5.1.1 mailbox unavailable', sent_at: null });
    await pickClient(page, 'Jensen', /Jensen, Blake/);
    await latest.getByText('Email not delivered', { exact: true }).waitFor();
    const labels = await latest.locator('dt').allTextContents();
    assert.ok(labels.includes('Could not be delivered to'), labels.join('|'));
    assert.ok(!labels.includes('Sent to') && !labels.includes('Emailed to'), labels.join('|'));
    await latest.getByText('Email could not be delivered: 550 5.1.1 mailbox unavailable').waitFor();
    // one clear action: reinvite client (it replaces this invitation), no resend beside it
    assert.equal(await latest.getByRole('button', { name: /Resend/ }).count(), 0, 'no resend after a 550');
    const reinvite = page.getByRole('button', { name: /^reinvite client / });
    assert.equal(await reinvite.isEnabled(), true, 'reinvite client offered');
    await reinvite.click();
    await page.locator(`#client-invitations .inv-item[data-invitation-id="${inv.id}"]`)
      .getByText('Replaced by a newer invitation').waitFor({ state: 'attached', timeout: 10000 });
    assert.notEqual(server.latestInvitation(c.id).id, inv.id, 'a new invitation replaced the failed one');
    assertNoProblems(page);
    await page.context().close();
  });

  test('dates in the page\'s language (English), not the browser\'s (es-ES)', async () => {
    const context = await browser.newContext({
      viewport: DESKTOP, locale: 'es-ES', httpCredentials: { username: 'admin', password: 'pw' },
    });
    const page = await watchedPage(context);
    assert.equal(await page.evaluate(() => navigator.language), 'es-ES', 'a Spanish browser');
    await page.goto(server.baseURL + '/portal-manager/');
    await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
    await pickClient(page, 'Zo', /Núñez, Zoë/);
    assert.equal(await page.locator('#client-dob').textContent(), 'January 2, 1990');
    const time = page.locator('#client-invitations .inv-item time').first();
    if (await time.count()) {
      const iso = await time.getAttribute('datetime');
      assert.equal(await time.textContent(),
        new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)));
    }
    assertNoProblems(page);
    await context.close();
  });

  test('the toast never covers the control just used or the error on screen (390 px)', async () => {
    const page = await staffPage({ viewport: { width: 390, height: 640 } });
    await pickClient(page, 'Jensen', /Jensen, Drew/);
    const change = page.getByRole('button', { name: CHANGE_CLIENT_EMAIL });
    const overlap = async (locator) => {
      const [a, b] = await Promise.all([page.locator('#toast').boundingBox(), locator.boundingBox()]);
      return !!a && !!b && a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    };
    for (const block of ['end', 'start']) {
      await page.getByLabel('Email:').fill('drew.' + block + '@example.org');
      await change.evaluate((el, blk) => el.scrollIntoView({ block: blk }), block);
      await change.click();
      await page.locator('#toast:not([hidden])').filter({ hasText: 'drew.' + block }).waitFor();
      assert.equal(await overlap(change), false, 'the toast does not cover “change” at the ' + block + ' of the window');
      const active = page.locator(':focus');
      if (await active.count()) assert.equal(await overlap(active), false, 'nor the focused control');
    }
    await checkA11y(page, 'staff toast at 390 px');
    assertNoProblems(page);
    await page.context().close();
  });

  // "Showing <client>." came up at the bottom of a phone's window over the representative
  // form opened just after: only the focused field was kept clear, the others were covered.
  test('the "Showing …" toast covers none of the representative form\'s fields (390 px)', async () => {
    const page = await staffPage({ viewport: { width: 390, height: 844 } });
    await pickClient(page, 'Jensen', /Jensen, Drew/);
    await page.locator('#toast:not([hidden])').filter({ hasText: 'Showing' }).waitFor();
    await page.getByRole('button', { name: 'invite client representative' }).click();
    await page.locator('#rep-form:not([hidden])').waitFor();
    const covered = async () => page.evaluate(() => {
      const toast = document.getElementById('toast');
      if (toast.hidden || !toast.getClientRects().length) return [];
      const t = toast.getBoundingClientRect();
      return [...document.querySelectorAll('#rep-form input, #rep-form select, #rep-form textarea, #rep-form button')]
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width && t.left < r.right && r.left < t.right && t.top < r.bottom && r.top < t.bottom;
        }).map((el) => el.id || el.name || el.textContent);
    });
    assert.deepEqual(await covered(), [], 'the toast covers no field of the open form');
    // nor after scrolling the form through the window
    for (const block of ['end', 'center', 'start']) {
      await page.locator('#rep-form').evaluate((el, blk) => el.scrollIntoView({ block: blk }), block);
      await page.waitForTimeout(50);
      assert.deepEqual(await covered(), [], 'the toast covers no field with the form at the ' + block);
    }
    assertNoProblems(page);
    await page.context().close();
  });

  // The demo walk-through: "Showing Mateo Hernández." stayed over the "Remove representative"
  // button of a phone's window; only form fields and errors were kept clear.
  test('the toast covers no button or link (390 px), closes with its button or Escape, waits while pointed at', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Casey' && x.last_name === 'Diaz');
    const rep = { id: 9300, client_id: c.id, email: 'rosa.diaz@example.org', first_name: 'Rosa', last_name: 'Diaz',
      relationship: 'parent', preferred_language: 'es', removed_at: null, scopes: ['messages', 'billing', 'forms', 'appointments'],
      starts_at: null, ends_at: null };
    server.representatives.set(rep.id, rep);
    const page = await staffPage({ viewport: { width: 390, height: 640 } });
    try {
      await pickClient(page, 'Diaz', /Diaz, Casey/);
      const toast = page.locator('#toast');
      await toast.filter({ hasText: 'Showing Casey Diaz.' }).waitFor();
      await page.locator('#status').filter({ hasText: 'Showing Casey Diaz.' }).waitFor();
      assert.equal(await page.locator('#toast-text').getAttribute('aria-hidden'), 'true',
        'screen readers hear it once, from the status region');
      const covered = () => page.evaluate(() => {
        const el = document.getElementById('toast');
        if (el.hidden) return [];
        const t = el.getBoundingClientRect();
        return [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
          .filter((x) => !el.contains(x))
          .filter((x) => {
            const r = x.getBoundingClientRect();
            return r.width && r.height && t.left < r.right && r.left < t.right && t.top < r.bottom && r.top < t.bottom;
          }).map((x) => x.id || x.textContent.trim());
      });
      const remove = page.getByRole('button', { name: 'Remove representative Rosa Diaz' });
      for (const block of ['end', 'center', 'start']) {
        await remove.evaluate((el, blk) => el.scrollIntoView({ block: blk }), block);
        await page.waitForTimeout(50);
        assert.deepEqual(await covered(), [], 'the toast covers no control with “Remove representative” at the ' + block);
      }
      await remove.evaluate((el) => el.scrollIntoView({ block: 'end' }));
      await page.waitForTimeout(50);
      if (await toast.isVisible()) await checkA11y(page, 'staff toast with its close button');

      // the close button (in a window taller than the page, so the toast has room at the bottom)
      await page.setViewportSize({ width: 1024, height: 2400 });
      const change = page.getByRole('button', { name: CHANGE_CLIENT_EMAIL });
      const said = 'That is already the client’s email address.';
      await change.click();
      await toast.filter({ hasText: said }).waitFor();
      const close = page.getByRole('button', { name: 'Close this message' });
      await close.click();
      await toast.waitFor({ state: 'hidden' });
      // (the status region takes its text 50 ms after the toast: a fresh node to announce)
      await page.waitForFunction((t) => document.getElementById('status').textContent === t, said, { timeout: 2000 })
        .catch(() => {});
      assert.equal(await page.locator('#status').textContent(), said, 'what it said stays said');

      // Escape inside it closes it and puts focus back where it was
      await change.focus();
      await page.keyboard.press('Enter');
      await toast.filter({ hasText: said }).waitFor();
      await close.focus();
      await page.keyboard.press('Escape');
      await toast.waitFor({ state: 'hidden' });
      assert.equal(await change.evaluate((el) => el === document.activeElement), true, 'focus back on “change”');

      // it goes by itself, but not while the pointer is on it
      await page.keyboard.press('Enter');
      await toast.filter({ hasText: said }).waitFor();
      await toast.hover();
      await page.waitForTimeout(7000);
      assert.equal(await toast.isVisible(), true, 'kept while pointed at');
      await page.mouse.move(5, 5);
      await toast.waitFor({ state: 'hidden', timeout: 9000 });
      assertNoProblems(page);
    } finally {
      server.representatives.delete(rep.id);
      await page.context().close();
    }
  });

  test('resend after the cool-down sends a new email; not_pending is explained', async () => {
    const page = await staffPage();
    await pickClient(page, 'Emery', /Adams, Emery/);
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Sent, waiting for a reply').waitFor({ timeout: 10000 });
    const inv = server.latestInvitation(14);
    server.ageSent(inv.id, 3600);
    // back to the window: the open client is checked (unaudited), the view read again
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await waitUnblocked(page, '#inv-' + inv.id + '-resend');
    await latest.getByRole('button', { name: /Resend/ }).click();
    await page.locator('#status').filter({ hasText: 'A new invitation email' }).waitFor();
    await latest.getByText('(sent 2 times)').waitFor({ timeout: 10000 });

    // someone else revoked it meanwhile (once the new email's cooldown is over)
    server.ageSent(inv.id, 3600);
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await waitUnblocked(page, '#inv-' + inv.id + '-resend');
    server.invitations.get(inv.id).status = 'revoked';
    await latest.getByRole('button', { name: /Resend/ }).click();
    await page.locator('.inv-item .field-error').filter({ hasText: 'already been answered or closed' }).waitFor();
    await latest.getByText('Revoked by staff', { exact: true }).waitFor();
    assertNoProblems(page);
    await page.context().close();
  });

  test('representative access: scopes and days on the invite form, changed in place; only enabled scopes offered', async () => {
    const page = await staffPage();
    await pickClient(page, 'Blake', /Adams, Blake/);
    await page.getByRole('button', { name: 'invite client representative' }).click();
    const form = page.locator('#rep-form');
    const scopes = form.getByRole('group', { name: 'What they may use in the portal' });
    for (const name of ['Messages', 'Billing', 'Forms', 'Appointments']) {
      assert.equal(await scopes.getByRole('checkbox', { name }).isChecked(), true, name + ' checked by default');
    }
    await page.getByLabel('E-mail:').fill('court@example.org');
    await page.getByLabel('First name:').fill('Cora');
    await page.getByLabel('Last name:').fill('Adams');
    await scopes.getByRole('checkbox', { name: 'Billing' }).uncheck();
    await page.getByLabel('Access starts').fill('2099-01-15');
    await page.getByLabel('Access ends').fill('2099-01-10');
    // the date fields are styled like the form's other fields
    const look = (el) => el.evaluate((e) => { const s = getComputedStyle(e); return [s.minHeight, s.borderRadius, s.paddingLeft]; });
    assert.deepEqual(await look(page.getByLabel('Access starts')), await look(page.getByLabel('E-mail:')),
      'a date field looks like the email field');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-ends-at-error').filter({ hasText: 'ending on or after the day it starts' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-ends-at', 'focus on the end day');
    await checkA11y(page, 'staff rep access error');
    await page.getByLabel('Access ends').fill('2099-06-30');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    const rep = page.locator('.rep-item').filter({ hasText: 'Cora Adams' });
    await rep.getByText('Portal access: Messages, Forms, Appointments, from January 15, 2099 through June 30, 2099').waitFor();
    const post = apiCalls(/^POST \/portal-manager\/api\/clients\/11\/representatives$/).at(-1);
    const sent = JSON.parse(post.body);
    assert.deepEqual([sent.scopes, sent.starts_at, sent.ends_at], [['messages', 'forms', 'appointments'], '2099-01-15', '2099-06-30']);

    // change in place: Billing on, Forms off, no end day
    await rep.getByRole('button', { name: 'Change access of Cora Adams' }).click();
    const edit = rep.getByRole('form', { name: 'Portal access of Cora Adams' });
    await edit.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.type), 'checkbox', 'focus moves into the form');
    await checkA11y(page, 'staff rep access form');
    await edit.getByRole('checkbox', { name: 'Billing' }).check();
    await edit.getByRole('checkbox', { name: 'Forms' }).uncheck();
    await edit.getByLabel('Access ends').fill('');
    await edit.getByRole('button', { name: 'Save access' }).click();
    await rep.getByText('Portal access: Messages, Billing, Appointments, from January 15, 2099').waitFor();
    const put = apiCalls(/^PUT \/portal-manager\/api\/representatives\/\d+$/).at(-1);
    assert.deepEqual(JSON.parse(put.body), { scopes: ['messages', 'billing', 'appointments'], starts_at: '2099-01-15', ends_at: null });
    await page.locator('#status').filter({ hasText: 'Portal access of Cora Adams saved' }).waitFor();

    // a module turned off in the settings: its scope is not offered on the invite form
    server.offerScopes(['messages', 'billing', 'appointments']);
    try {
      const off = await staffPage();
      await pickClient(off, 'Blake', /Adams, Blake/);
      await off.getByRole('button', { name: 'invite client representative' }).click();
      const group = off.locator('#rep-form').getByRole('group', { name: 'What they may use in the portal' });
      assert.equal(await group.getByRole('checkbox', { name: 'Forms' }).isVisible(), false, 'Forms not offered');
      assert.equal(await group.getByRole('checkbox', { name: 'Billing' }).isVisible(), true);
      await off.context().close();
    } finally {
      server.offerScopes(null);
    }
    await rep.getByRole('button', { name: 'Remove representative Cora Adams' }).click();
    await page.getByRole('button', { name: 'Remove Cora Adams' }).click();
    await rep.waitFor({ state: 'detached' });
    await page.context().close();
  });

  test('invite client representative: field errors in place, list, reinvite and remove', async () => {
    const page = await staffPage();
    await pickClient(page, 'Blake', /Adams, Blake/);
    const open = page.getByRole('button', { name: 'invite client representative' });
    await open.click();
    assert.equal(await open.getAttribute('aria-expanded'), 'true');
    const form = page.locator('#rep-form');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-email');

    // empty: caught on the page
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-email-error').filter({ hasText: 'email address' }).waitFor();
    await page.locator('#rep-first-name-error').waitFor();
    await page.locator('#rep-last-name-error').waitFor();
    await checkA11y(page, 'staff rep form errors');

    // server-side invalid_email lands next to E-mail:, the names stay
    await page.getByLabel('E-mail:').fill('not-an-email');
    await page.getByLabel('First name:').fill('Rita');
    await page.getByLabel('Last name:').fill('Adams');
    await page.getByLabel('Relationship').selectOption('guardian');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-email-error').filter({ hasText: 'complete email address' }).waitFor();
    assert.equal(await page.locator('#rep-first-name-error').isVisible(), false);
    assert.equal(await page.getByLabel('First name:').inputValue(), 'Rita');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-email');

    // a name the server refuses for its characters: the server's reason, by Last name:
    await page.getByLabel('E-mail:').fill('rita@example.org');
    await page.getByLabel('Last name:').fill('Adams2');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-last-name-error').filter({ hasText: 'only contain letters' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-last-name');
    assert.equal(await page.getByLabel('E-mail:').inputValue(), 'rita@example.org');

    await page.getByLabel('Last name:').fill('Adams');
    await page.getByLabel('Language of the emails').selectOption('es');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    const rep = page.locator('.rep-item').filter({ hasText: 'Rita Adams' });
    await rep.waitFor();
    assert.equal(await form.isVisible(), false);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-open');
    await rep.getByText('Guardian').waitFor();
    await rep.getByText('rita@example.org').first().waitFor();
    await rep.getByText('Email sent').waitFor({ timeout: 10000 });
    const repPost = apiCalls(/^POST \/portal-manager\/api\/clients\/11\/representatives$/).at(-1);
    assert.deepEqual(JSON.parse(repPost.body), {
      email: 'rita@example.org', first_name: 'Rita', last_name: 'Adams', relationship: 'guardian', preferred_language: 'es',
      scopes: ['messages', 'billing', 'forms', 'appointments'],
    });
    await rep.getByText('Español').waitFor();
    await rep.getByText('Portal access: Messages, Billing, Forms, Appointments').waitFor();

    // duplicate
    await open.click();
    await page.getByLabel('E-mail:').fill('RITA@example.org');
    await page.getByLabel('First name:').fill('Rita');
    await page.getByLabel('Last name:').fill('Adams');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-email-error').filter({ hasText: 'already a representative' }).waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();

    // the recipient declines → representative shows Declined and can be reinvited
    const repId = [...server.representatives.values()].find((r) => r.email === 'rita@example.org').id;
    server.latestInvitation(11, repId).status = 'declined';
    await page.getByRole('combobox', { name: 'Client' }).fill('Blake');
    await page.getByRole('option', { name: /Adams, Blake/ }).click();
    await rep.getByText('Declined the invitation').waitFor();
    await rep.getByRole('button', { name: 'Reinvite Rita Adams' }).click();
    await rep.getByText('Invited, waiting for a reply').waitFor();
    await checkA11y(page, 'staff with representative');
    await screenshot(page, 'staff-representative');

    // the client's own address: a warning first, nothing sent; a second press goes ahead
    const own = server.clients.get(11).email;
    assert.ok(own, 'Blake Adams has an email on file');
    await open.click();
    await page.getByLabel('E-mail:').fill(own.toUpperCase());
    await page.getByLabel('First name:').fill('Sam');
    await page.getByLabel('Last name:').fill('Adams');
    const repPosts = apiCalls(/^POST \/portal-manager\/api\/clients\/11\/representatives$/).length;
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-email-warning').filter({ hasText: 'the client’s own email address' }).waitFor();
    assert.equal(apiCalls(/^POST \/portal-manager\/api\/clients\/11\/representatives$/).length, repPosts, 'nothing sent on the warning');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'rep-email');
    await checkA11y(page, 'staff rep shared email warning');
    await form.getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('.rep-item').filter({ hasText: 'Sam Adams' }).waitFor();
    assert.equal(apiCalls(/^POST \/portal-manager\/api\/clients\/11\/representatives$/).length, repPosts + 1);
    await open.click();
    assert.equal(await page.locator('#rep-email-warning').isVisible(), false, 'the warning went with the saved form');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.rep-item').filter({ hasText: 'Sam Adams' }).getByRole('button', { name: 'Remove representative Sam Adams' }).click();
    await page.getByRole('button', { name: 'Remove Sam Adams' }).click();
    await page.locator('.rep-item').filter({ hasText: 'Sam Adams' }).waitFor({ state: 'detached' });

    // remove asks first
    await rep.getByRole('button', { name: 'Remove representative Rita Adams' }).click();
    await page.getByRole('button', { name: 'Remove Rita Adams' }).click();
    await page.getByText('No representatives yet.').waitFor();
    assert.ok(server.representatives.get(repId).removed_at);
    assertNoProblems(page);
    await page.context().close();
  });

  // The demo walk-through: after Revoke or Reinvite focus fell back to <body>, and the revoke
  // question opened on "Revoke invitation", so a double Enter revoked.
  test('keyboard: revoke asks with the focus on Keep, Escape backs out; after Revoke and Reinvite focus stays on the card', async () => {
    const page = await staffPage();
    await pickClient(page, 'Diaz', /Diaz, Blake/);
    const focused = () => page.evaluate(() => document.activeElement.id || document.activeElement.tagName);
    await page.getByRole('button', { name: 'invite client representative' }).click();
    await page.getByLabel('E-mail:').fill('marta.diaz@example.org');
    await page.getByLabel('First name:').fill('Marta');
    await page.getByLabel('Last name:').fill('Diaz');
    await page.locator('#rep-form').getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    const card = page.locator('.rep-item').filter({ hasText: 'Marta Diaz' });
    await card.getByText('Email sent').waitFor({ timeout: 10000 });
    const repId = Number(await card.getAttribute('data-representative-id'));
    const inv = server.latestInvitation(26, repId);

    // the question opens on the safe button: Enter, Enter keeps the invitation
    const revoke = card.getByRole('button', { name: 'Revoke invitation to Marta Diaz' });
    await revoke.focus();
    await page.keyboard.press('Enter');
    await card.getByRole('button', { name: 'Keep it' }).waitFor();
    assert.equal(await focused(), 'inv-' + inv.id + '-revoke-no', 'focus on “Keep it”');
    await page.keyboard.press('Enter');
    await card.getByRole('button', { name: 'Keep it' }).waitFor({ state: 'detached' });
    assert.equal(server.invitations.get(inv.id).status, 'pending', 'a double Enter revokes nothing');
    assert.equal(await focused(), 'inv-' + inv.id + '-revoke', 'back on Revoke');
    // Escape backs out too
    await page.keyboard.press('Enter');
    await card.getByRole('button', { name: 'Keep it' }).waitFor();
    await page.keyboard.press('Escape');
    await card.getByRole('button', { name: 'Keep it' }).waitFor({ state: 'detached' });
    assert.equal(await focused(), 'inv-' + inv.id + '-revoke', 'Escape returns to Revoke');
    // the same for Remove representative
    await card.getByRole('button', { name: 'Remove representative Marta Diaz' }).focus();
    await page.keyboard.press('Enter');
    await card.getByRole('button', { name: 'Remove Marta Diaz' }).waitFor();
    assert.equal(await focused(), 'rep-' + repId + '-remove-no', 'focus on “Keep”');
    await page.keyboard.press('Escape');
    await card.getByRole('button', { name: 'Remove Marta Diaz' }).waitFor({ state: 'detached' });
    assert.equal(await focused(), 'rep-' + repId + '-remove', 'Escape returns to Remove representative');

    // revoke for real: focus lands on the Reinvite the card now offers
    await revoke.focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(), 'inv-' + inv.id + '-revoke-yes');
    await page.keyboard.press('Enter');
    await card.getByText('Invitation revoked by staff').waitFor();
    await page.waitForFunction(() => document.activeElement !== document.body);
    assert.equal(await focused(), 'rep-' + repId + '-reinvite', 'after Revoke: the card\'s Reinvite, not the page');
    // reinvite: focus on the representative's name, ahead of the new invitation's buttons
    await page.keyboard.press('Enter');
    await card.getByText('Invited, waiting for a reply').waitFor();
    await page.waitForFunction(() => document.activeElement !== document.body);
    assert.equal(await focused(), 'rep-' + repId + '-name', 'after Reinvite: the representative\'s name');
    await page.keyboard.press('Tab');
    assert.match(await page.evaluate(() => document.activeElement.textContent), /^(Change email|Resend|Revoke|Change access)/,
      'Tab goes on within the card');

    // the client's own invitation: after Revoke, focus on "reinvite client"
    await page.getByRole('button', { name: INVITE_CLIENT }).click();
    const latest = page.locator('#client-invitations .inv-item').first();
    await latest.getByText('Email sent').waitFor({ timeout: 10000 });
    await latest.getByRole('button', { name: /^Revoke/ }).focus();
    await page.keyboard.press('Enter');
    await latest.getByRole('button', { name: 'Keep it' }).waitFor();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await latest.getByText('Revoked by staff', { exact: true }).waitFor();
    await page.waitForFunction(() => document.activeElement !== document.body);
    assert.equal(await focused(), 'invite-client', 'after Revoke: “reinvite client”');
    assert.equal(await page.locator('#invite-client-words').textContent(), 'reinvite client');
    await checkA11y(page, 'staff focus after revoke');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a representative whose access ended with the login kept: the words, and how a reinvite joins that login', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Emery' && x.last_name === 'Khan');
    const made = await server.staffRequest('POST', 'clients/' + c.id + '/representatives',
      { email: 'kit.khan@example.org', first_name: 'Kit', last_name: 'Khan' });
    assert.equal(made.status, 201);
    const repId = made.body.representative.id;
    server.latestInvitation(c.id, repId).status = 'accepted';
    // a review's End access: the login stays, its grant here ended
    server.accounts.set('kit.khan', { id: 9001, username: 'kit.khan', password: 'pw', client_id: c.id,
      representative_id: repId, active: true, created_at: Math.floor(Date.now() / 1000),
      access_ended: { at: Math.floor(Date.now() / 1000), by: 'clin1', reason: 'review', note: null } });
    const page = await staffPage();
    await pickClient(page, 'Khan', /Khan, Emery/);
    const item = page.locator('.rep-item').filter({ hasText: 'Kit Khan' });
    await item.getByText('Access to this client ended; the portal account is kept').waitFor();
    await item.getByText(/Kit Khan still has a portal account\. If you reinvite them, ask them to enter that account’s username and password/).waitFor();
    await item.getByRole('button', { name: 'Reinvite Kit Khan' }).waitFor();
    await checkA11y(page, 'staff rep access ended');

    // while the grant is open the account is active and there is nothing to explain
    delete server.accounts.get('kit.khan').access_ended;
    await page.reload();
    await pickClient(page, 'Khan', /Khan, Emery/);
    await item.getByText('Has a portal account').waitFor();
    assert.equal(await page.locator('#rep-' + repId + '-kept-hint').count(), 0);
    assertNoProblems(page);
    await page.context().close();
    server.accounts.delete('kit.khan');
  });

  test('client declined: note, who and when, invite blocked, undo', async () => {
    const page = await staffPage();
    await pickClient(page, 'Casey', /Baker, Casey/);
    await page.getByRole('button', { name: 'client declined', exact: true }).click();
    const note = page.getByLabel('Note (optional)');
    await note.fill('draft');
    await page.keyboard.press('Escape');
    assert.equal(await note.isVisible(), false, 'Escape closes the note form');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'declined-open');
    await page.keyboard.press('Enter');
    assert.equal(await note.inputValue(), 'draft', 'and keeps what was typed');
    await note.fill('x'.repeat(20));
    await page.getByText('20 of 500 characters').waitFor();
    assert.equal(await note.getAttribute('maxlength'), '500');
    await note.fill('Prefers phone calls.');
    await page.getByRole('button', { name: 'Record client declined' }).click();
    await page.getByText('Client declined portal access.', { exact: true }).waitFor();
    await page.getByText(/Recorded by Ada Admin on .*\d/).waitFor();
    await page.getByText('Note: Prefers phone calls.').waitFor();
    assert.equal(await page.locator('#client-status').textContent(), 'Client declined portal access');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'declined-undo');
    await assertBlocked(page, page.getByRole('button', { name: INVITE_CLIENT }), /The client declined portal access\. Undo that first/, 'invite a client who declined');
    await checkA11y(page, 'staff declined');
    await screenshot(page, 'staff-declined');

    // undo erases the note: asked first, naming it, with the focus on Keep; Escape and Keep back out
    const deletes = () => apiCalls(/^DELETE \/portal-manager\/api\/clients\/\d+\/declined$/).length;
    const before = deletes();
    const undo = page.getByRole('button', { name: 'Undo client declined', exact: true });
    await undo.click();
    const question = page.locator('#declined-undo-question');
    await question.filter({ hasText: /^Undo client declined\? The note recorded on .*\d.* will be removed: “Prefers phone calls\.”$/ }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'declined-undo-no', 'focus on Keep it');
    await page.keyboard.press('Enter');
    assert.equal(await question.isVisible(), false, 'Keep it closes the question');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'declined-undo', 'back on Undo');
    await page.keyboard.press('Enter');
    await question.waitFor();
    await page.keyboard.press('Escape');
    assert.equal(await question.isVisible(), false, 'Escape closes the question');
    assert.equal(deletes(), before, 'nothing undone yet');
    await page.getByText('Note: Prefers phone calls.').waitFor();
    await checkA11y(page, 'staff undo declined asked');
    await undo.click();
    await page.getByRole('button', { name: /^Undo client declined for .* now$/ }).click();
    await page.getByRole('button', { name: 'client declined', exact: true }).waitFor();
    assert.equal(await page.locator('#client-status').textContent(), 'Not invited yet');
    const del = apiCalls(/^DELETE \/portal-manager\/api\/clients\/\d+\/declined$/).at(-1);
    assert.equal(del.headers['x-requested-with'], 'portal-manager');
    assert.equal(del.headers['content-type'], undefined);
    assertNoProblems(page);
    await page.context().close();
  });

  test('API errors in receptionist words: 503, no_email, csrf', async () => {
    const page = await staffPage();
    server.inject({ method: 'GET', path: /^clients\/1$/ });
    await pickClient(page, 'Zo', /Núñez, Zoë/);
    await page.locator('#client-error').filter({ hasText: 'database is not answering' }).waitFor();
    await page.context().close();

    const page2 = await staffPage();
    await pickClient(page2, 'Carla', /Smithers, Carla/);
    const invite = page2.getByRole('button', { name: INVITE_CLIENT });
    await assertBlocked(page2, invite, /Add the client’s email address above to invite them/, 'invite without an email');
    server.inject({ method: 'POST', path: /representatives$/, status: 403, body: { error: { code: 'csrf', message: 'x' }, request_id: 'r' } });
    await page2.getByRole('button', { name: 'invite client representative' }).click();
    await page2.getByLabel('E-mail:').fill('pat@example.org');
    await page2.getByLabel('First name:').fill('Pat');
    await page2.getByLabel('Last name:').fill('Smithers');
    await page2.locator('#rep-form').getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page2.locator('#rep-form-error').filter({ hasText: 'blocked for security reasons' }).waitFor();
    assert.equal(await page2.getByLabel('E-mail:').inputValue(), 'pat@example.org');
    await page2.context().close();
  });

  test('not staff: a clear message and no search', async () => {
    server.inject({ method: 'GET', path: /^me$/, status: 403, body: { error: { code: 'not_staff', message: 'x' }, request_id: 'r' } });
    const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'clin1', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(server.baseURL + '/portal-manager/');
    await page.getByRole('alert').filter({ hasText: 'Your access to the Client Portal Manager is not set up or was turned off. Ask the practice’s portal champion or IT contact.' }).waitFor();
    assert.equal(await page.getByRole('combobox', { name: 'Client' }).isDisabled(), true);
    await checkA11y(page, 'staff not_staff');
    assertNoProblems(page);
    await context.close();
  });

  test('keyboard only: search, choose, invite a representative', async () => {
    const page = await staffPage();
    await page.keyboard.press('Tab'); // skip link
    await page.keyboard.press('Tab'); // email notices
    assert.equal(await page.evaluate(() => document.activeElement.id), 'notify');
    await page.keyboard.press('Tab'); // settings link
    await page.keyboard.press('Tab'); // outbox link
    assert.equal(await page.evaluate(() => document.activeElement.id), 'outbox-link');
    await page.keyboard.press('Tab'); // audit trail link
    assert.equal(await page.evaluate(() => document.activeElement.id), 'audit-link');
    await page.keyboard.press('Tab'); // overview link
    assert.equal(await page.evaluate(() => document.activeElement.id), 'overview-link');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'client-search');
    await page.keyboard.type('Carter', { delay: 20 });
    await page.keyboard.press('ArrowDown'); // before the debounce is over: searches at once
    await page.keyboard.press('ArrowDown');
    await page.locator('[role="option"][aria-selected="true"]').filter({ hasText: 'Carter, Blake' }).waitFor();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Blake Carter' }).waitFor();
    const order = [];
    for (let i = 0; i < 6; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent));
    }
    assert.deepEqual(order, ['declined-open', 'client-email', order[2], 'invite-client', 'rep-open', order[5]]);
    // rep form by keyboard
    await page.locator('#rep-open').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.type('sam@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Sam');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Carter');
    await page.keyboard.press('Tab'); // relationship
    await page.keyboard.press('Tab'); // language of the emails
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('.rep-item').filter({ hasText: 'Sam Carter' }).waitFor();
    assertNoProblems(page);
    await page.context().close();
  });

  test('overview: client invited and a representative, both sent (README picture)', async () => {
    const auth = { Authorization: 'Basic ' + Buffer.from('admin:pw').toString('base64'), 'X-Requested-With': 'portal-manager' };
    const post = (p, body) => fetch(server.baseURL + '/portal-manager/api/' + p, {
      method: 'POST', headers: body ? { ...auth, 'Content-Type': 'application/json' } : auth, body: body && JSON.stringify(body),
    });
    // Emery Evans (id 34): an earlier invitation that expired, a current one, and a parent
    assert.equal((await post('clients/34/invitations')).status, 201);
    await new Promise((r) => setTimeout(r, 1000));
    const old = server.latestInvitation(34);
    server.ageSent(old.id, 8 * 86400);
    server.expire(old.id);
    assert.equal((await post('clients/34/invitations')).status, 201);
    assert.equal((await post('clients/34/representatives', { email: 'jordan.evans@example.org', first_name: 'Jordan', last_name: 'Evans', relationship: 'parent' })).status, 201);
    await new Promise((r) => setTimeout(r, 1000));
    const page = await staffPage();
    await pickClient(page, 'Evans', /Evans, Emery/);
    await page.getByText('Earlier invitations (1)').click();
    await page.locator('.rep-item').getByText('Email sent', { exact: true }).waitFor();
    await page.mouse.move(0, 0);
    await checkA11y(page, 'staff overview');
    await screenshot(page, 'staff-overview');
    assertNoProblems(page);
    await page.context().close();
  });

  test('invite several clients: select within the search, count, confirm, results in words (390 px); axe clean', async () => {
    const base = { date_of_birth: '1979-01-01', declined_at: null, declined_by: null, declined_note: null, statement_notifications: true };
    server.clients.set(901, { ...base, id: 901, first_name: 'Ava', last_name: 'Quill', email: 'ava.quill@example.org' });
    server.clients.set(902, { ...base, id: 902, first_name: 'Ben', last_name: 'Quill', email: null });
    server.clients.set(903, { ...base, id: 903, first_name: 'Cat', last_name: 'Quill', email: 'cat.quill@example.org', declined_at: 1, declined_by: 'admin' });
    server.clients.set(904, { ...base, id: 904, first_name: 'Eve', last_name: 'Quill', email: 'eve.quill@example.org' });
    const page = await staffPage({ viewport: { width: 390, height: 800 } });
    await page.getByRole('combobox', { name: 'Client' }).fill('Quill');
    await page.getByRole('option', { name: /Quill, Ava/ }).waitFor();
    await page.keyboard.press('Escape');          // closes the list; the search text stays
    await page.getByRole('button', { name: 'Select clients without a portal account' }).click();

    const group = page.getByRole('group', { name: /3 clients without a portal account matching “Quill”/ });
    await group.waitFor();
    for (const name of [/Quill, Ava/, /Quill, Ben/, /Quill, Eve/]) {
      assert.equal(await group.getByRole('checkbox', { name }).isChecked(), true, String(name));
    }
    assert.equal(await group.getByRole('checkbox', { name: /Quill, Cat/ }).count(), 0, 'the client who declined is not offered');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'bulk-c-901', 'focus on the first client');
    await page.locator('#bulk-count').filter({ hasText: '3 clients selected.' }).waitFor();
    await group.getByRole('checkbox', { name: /Quill, Eve/ }).uncheck();
    await page.locator('#bulk-count').filter({ hasText: '2 clients selected.' }).waitFor();

    await page.getByRole('button', { name: 'Invite selected' }).click();
    const confirm = page.getByRole('group', { name: /Send an invitation email to 2 clients\?/ });
    await confirm.waitFor();
    const yes = confirm.getByRole('button', { name: 'Send 2 invitations' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'bulk-confirm-yes');
    assert.equal(apiCalls(/^POST \/portal-manager\/api\/invitations\/bulk$/).length, 0, 'nothing sent before the confirmation');
    await checkA11y(page, 'bulk invite confirm');
    await yes.click();

    await page.getByRole('heading', { name: 'Invitation results' }).waitFor();
    await page.locator('#bulk-summary').filter({ hasText: '1 invitation created; the email is on its way. 1 client skipped.' }).waitFor();
    const items = await page.locator('#bulk-result-list li').allTextContents();
    assert.deepEqual(items, ['Quill, Ava: invitation email on its way', 'Quill, Ben: not invited: no email address on file']);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'bulk-results-heading', 'focus on the results');
    await page.locator('#status').filter({ hasText: '1 invitation created; the email is on its way.' }).waitFor();
    const calls = apiCalls(/^POST \/portal-manager\/api\/invitations\/bulk$/);
    assert.equal(calls.length, 1);
    assert.deepEqual(JSON.parse(calls[0].body).client_ids, [901, 902]);
    assert.equal(server.latestInvitation(901)?.status, 'pending', 'Ava invited');
    assert.equal(server.latestInvitation(904), null, 'Eve (unticked) not invited');
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'bulk invite results');
    await screenshot(page, 'staff-bulk-results');

    // the same search again: Ava has an invitation waiting now, so she is not offered; Ben,
    // skipped for having no address, is listed but not ticked again, and says why
    await page.getByRole('button', { name: 'Select clients without a portal account' }).click();
    const again = page.getByRole('group', { name: /2 clients without a portal account/ });
    await again.waitFor();
    assert.equal(await again.getByRole('checkbox', { name: /Quill, Ben/ }).isChecked(), false, 'Ben not ticked again');
    assert.equal(await again.getByRole('checkbox', { name: /Quill, Eve/ }).isChecked(), true, 'Eve still offered');
    assert.equal(await page.locator('#bulk-c-902-why').textContent(), 'Skipped earlier: no email address was on file. Add one on the client’s page first.');
    await page.locator('#bulk-count').filter({ hasText: '1 client selected.' }).waitFor();
    assertNoProblems(page);
    await page.context().close();
  });

  // the database fails partway through a bulk invite: the clients before it stay invited (each
  // its own transaction), so the page does not say "nothing was changed" as other screens do
  test('invite several clients: the database down partway says some may have gone, and to tell IT', async () => {
    const base = { date_of_birth: '1980-02-02', declined_at: null, declined_by: null, declined_note: null, statement_notifications: true };
    server.clients.set(931, { ...base, id: 931, first_name: 'Ada', last_name: 'Tern', email: 'ada.tern@example.org' });
    server.clients.set(932, { ...base, id: 932, first_name: 'Bo', last_name: 'Tern', email: 'bo.tern@example.org' });
    const page = await staffPage();
    await page.getByRole('combobox', { name: 'Client' }).fill('Tern');
    await page.getByRole('option', { name: /Tern, Ada/ }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Select clients without a portal account' }).click();
    await page.locator('#bulk-count').filter({ hasText: '2 clients selected.' }).waitFor();
    server.inject({ method: 'POST', path: /^invitations\/bulk$/ });
    await page.getByRole('button', { name: 'Invite selected' }).click();
    await page.getByRole('button', { name: 'Send 2 invitations' }).click();
    const error = page.locator('#bulk-error:not([hidden])');
    await error.waitFor();
    assert.equal(await error.textContent(), 'The portal’s database stopped answering partway: some invitations may have '
      + 'been sent; find the clients again to see who is left. Tell your IT contact; try again in a few minutes.');
    assertNoProblems(page);
    await page.context().close();
  });

  test('invite several clients: a locked or declined invitation is listed but not offered, even by Select all', async () => {
    const base = { date_of_birth: '1979-01-01', declined_at: null, declined_by: null, declined_note: null, statement_notifications: true };
    server.clients.set(911, { ...base, id: 911, first_name: 'Ada', last_name: 'Wren', email: 'ada.wren@example.org' });
    server.clients.set(912, { ...base, id: 912, first_name: 'Bo', last_name: 'Wren', email: 'bo.wren@example.org' });
    server.clients.set(913, { ...base, id: 913, first_name: 'Cy', last_name: 'Wren', email: 'cy.wren@example.org' });
    for (const [cid, status] of [[912, 'locked'], [913, 'declined']]) {
      assert.equal((await server.staffRequest('POST', 'clients/' + cid + '/invitations')).status, 201);
      server.latestInvitation(cid).status = status;
    }
    const page = await staffPage();
    await page.getByRole('combobox', { name: 'Client' }).fill('Wren');
    await page.getByRole('option', { name: /Wren, Ada/ }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Select clients without a portal account' }).click();
    const group = page.getByRole('group', { name: /3 clients without a portal account matching “Wren”/ });
    await group.waitFor();
    for (const name of [/Wren, Bo/, /Wren, Cy/]) {
      const box = group.getByRole('checkbox', { name });
      assert.equal(await box.isDisabled(), true, String(name) + ': listed, not offered');
      assert.equal(await box.getAttribute('aria-describedby') !== null, true, String(name) + ': says why');
    }
    await group.getByText('Reinvite on the client’s own page, after checking with them.').first().waitFor();
    await page.getByRole('button', { name: 'Select all' }).click();
    await page.locator('#bulk-count').filter({ hasText: '1 client selected.' }).waitFor();
    assert.equal(await group.getByRole('checkbox', { name: /Wren, Bo/ }).isChecked(), false, 'Select all leaves the locked one');
    await checkA11y(page, 'bulk invite needs a look');
    // the server skips them too (a request made without the page)
    const r = await server.staffRequest('POST', 'invitations/bulk', { client_ids: [912, 913] });
    assert.deepEqual(r.body.results.map((x) => x.reason), ['reinvite_on_own_page', 'reinvite_on_own_page']);
    assertNoProblems(page);
    await page.context().close();
  });

  test('the EHR chart number: on the card as "Chart no.", in the search rows, and found by search', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Blake' && x.last_name === 'Lopez');
    c.external_id = 'MRN-0012';
    try {
      const page = await staffPage();
      const box = page.getByRole('combobox', { name: 'Client' });
      await box.fill('mrn-0012');
      const option = page.getByRole('option', { name: /Lopez, Blake/ });
      await option.waitFor();
      assert.match(await option.textContent(), /chart MRN-0012/);
      await option.click();
      await page.getByRole('heading', { name: 'Blake Lopez' }).waitFor();
      assert.equal(await page.locator('#client-chart').textContent(), 'Chart no. MRN-0012');
      assert.equal(await page.locator('.portal-id').textContent(), 'Portal id ' + c.id);
      assert.doesNotMatch(await page.locator('#client-panel').textContent(), /Client no\./);
      await checkA11y(page, 'staff chart number');
      assertNoProblems(page);
      await page.context().close();
    } finally {
      delete c.external_id;
    }
  });

  test('an email not sent because the address changed (or a newer invitation came) says so, not "could not be delivered"', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Blake' && x.last_name === 'Lopez');
    assert.equal((await server.staffRequest('POST', 'clients/' + c.id + '/invitations')).status, 201);
    const inv = server.latestInvitation(c.id);
    Object.assign(inv, { delivery: 'cancelled', delivery_error: 'not sent: the invitation was superseded before delivery' });
    const page = await staffPage();
    await pickClient(page, 'Lopez', /Lopez, Blake/);
    const panel = page.locator('#client-panel');
    const words = { address_changed: 'Not sent: the address was changed before it went.',
      superseded: 'Not sent: a newer invitation replaced it.' };
    for (const [status, text] of Object.entries(words)) {
      const view = (await server.staffRequest('GET', 'clients/' + c.id)).body;
      view.invitations = view.invitations.map((i) => (i.id === inv.id ? { ...i, status } : i));
      await page.route('**/portal-manager/api/clients/' + c.id, (route) => route.fulfill({
        status: 200, contentType: 'application/json', body: JSON.stringify(view) }));
      await page.evaluate(() => { location.hash = ''; });
      await page.evaluate((id) => { location.hash = '#client=' + id; }, c.id);
      await panel.getByText(text).first().waitFor();
      assert.doesNotMatch(await panel.textContent(), /could not be delivered/i, status);
      await page.unroute('**/portal-manager/api/clients/' + c.id);
    }
    await panel.getByText('Not sent to').first().waitFor();
    assertNoProblems(page);
    await page.context().close();
    assert.equal((await server.staffRequest('POST', 'invitations/' + inv.id + '/revoke')).status, 200);
  });

  test('an invitation whose email a champion cancelled says so, not "could not be delivered"; Resend is offered', async () => {
    const c = [...server.clients.values()].find((x) => x.first_name === 'Blake' && x.last_name === 'Lopez');
    assert.equal((await server.staffRequest('POST', 'clients/' + c.id + '/invitations')).status, 201);
    Object.assign(server.latestInvitation(c.id), { delivery: 'cancelled', delivery_error: 'not sent: cancelled by staff' });
    const page = await staffPage();
    await pickClient(page, 'Lopez', /Lopez, Blake/);
    assert.equal(await page.locator('#client-status').textContent(), 'Invitation email cancelled before it went');
    const panel = page.locator('#client-panel');
    await panel.getByText('Email cancelled by staff in the Outbox before it went. Resend it, or revoke the invitation.').waitFor();
    assert.doesNotMatch(await panel.textContent(), /could not be delivered/i);
    await panel.getByText('Not sent to').first().waitFor();
    await panel.getByRole('button', { name: /^Resend/ }).first().waitFor();
    assert.match(await page.locator('#invite-client-hint').textContent(), /cancelled before it went/);
    await checkA11y(page, 'staff cancelled email');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a #client=ID link opens the client and leaves the address clean, so the same link opens it again later', async () => {
    const page = await staffPage();
    const views = () => apiCalls(/^GET \/portal-manager\/api\/clients\/(1|2)$/).length;
    const before = views();
    await page.evaluate(() => { location.hash = '#client=1'; });   // a notice's or the audit trail's link
    await page.locator('#client-name').filter({ hasText: 'Núñez' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'nothing of the client stays in the address');
    await pickClient(page, 'Ann', /Smith, Ann/);
    assert.equal(views(), before + 2);
    await page.evaluate(() => { location.hash = '#client=1'; });   // the same link, followed again
    await page.locator('#client-name').filter({ hasText: 'Núñez' }).waitFor();
    assert.equal(views(), before + 3, 'the same link opened the first client again, read once');
    assertNoProblems(page);
    await page.context().close();
  });

  test('360 px wide: no sideways scrolling, axe clean', async () => {
    const page = await staffPage({ viewport: PHONE });
    await pickClient(page, 'Zo', /Núñez, Zoë/);
    await page.getByRole('button', { name: 'invite client representative' }).click();
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'staff 360px');
    await screenshot(page, 'staff-360');
    assertNoProblems(page);
    await page.context().close();
  });
});

// What a clinician with a caseload met in a day's use (the report of 2026-12-07).
describe('staff page: a day with a caseload', () => {
  const client = (first, last) => [...server.clients.values()].find((x) => x.first_name === first && x.last_name === last);
  // nothing of the client left anywhere on the page (the hidden panel included)
  const shownNothingOf = async (page, c) => {
    const text = await page.evaluate(() => document.body.innerText + ' ' + [...document.querySelectorAll('input')].map((i) => i.value).join(' '));
    for (const bit of [c.first_name, c.last_name, c.email, c.date_of_birth]) {
      assert.ok(!text.includes(bit), 'nothing of the client is left on screen: ' + bit);
    }
    const hidden = await page.locator('#client-panel').evaluate((el) => el.textContent);
    assert.ok(!hidden.includes(c.last_name), 'nor in the hidden panel');
  };

  test('a client taken off the caseload: an action\'s 404 says so and clears the panel; coming back to the window shows it without an action', async () => {
    const c = client('Casey', 'Garcia');
    const page = await staffPage({ user: 'clin1' });
    try {
      await pickClient(page, 'Garcia', /Garcia, Casey/);
      server.clients.delete(c.id);               // portal-manager-admin staff revoke: a 404 from now on
      await page.getByRole('button', { name: 'client declined', exact: true }).click();
      await page.getByLabel('Note (optional)').fill('Called; prefers paper.');
      await page.getByRole('button', { name: 'Record client declined' }).click();
      const gone = page.getByRole('alert').filter({ hasText: /^This client is no longer available to you: they left your caseload or were removed, or you no longer have access to them\./ });
      await gone.waitFor();
      assert.equal(await page.locator('#client-panel').isVisible(), false, 'the client panel is closed');
      assert.equal(await page.getByText('There is no client with this id.').count(), 0, 'not the API\'s words');
      await shownNothingOf(page, c);
      await page.locator('#status').filter({ hasText: 'no longer available to you' }).waitFor();
      await checkA11y(page, 'staff client gone');

      // again, with no action: back to the window, the open client is checked (unaudited status)
      server.clients.set(c.id, c);
      await pickClient(page, 'Garcia', /Garcia, Casey/);
      assert.equal(await gone.isVisible(), false, 'choosing a client takes the notice away');
      server.clients.delete(c.id);
      const checks = apiCalls(new RegExp('^GET /portal-manager/api/clients/' + c.id + '/status$')).length;
      await page.evaluate(() => { window.dispatchEvent(new Event('focus')); });
      await gone.waitFor();
      assert.ok(apiCalls(new RegExp('^GET /portal-manager/api/clients/' + c.id + '/status$')).length > checks, 'the status was asked');
      await shownNothingOf(page, c);

      // a discharge by the roster shows the same way (visibility, not only focus)
      server.clients.set(c.id, c);
      await pickClient(page, 'Garcia', /Garcia, Casey/);
      c.active = false;
      await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
      await page.locator('#client-discharged:not([hidden])').waitFor();
      assertNoProblems(page);
    } finally {
      server.clients.set(c.id, c);
      c.active = true;
      await page.context().close();
    }
  });

  test('access turned off while working (403 not_staff): words for that, the panel cleared; 401 warns that typed text is lost', async () => {
    const c = client('Drew', 'Garcia');
    const page = await staffPage({ user: 'clin1' });
    await pickClient(page, 'Garcia', /Garcia, Drew/);
    await page.getByRole('button', { name: 'invite client representative' }).click();
    await page.getByLabel('E-mail:').fill('rita.rep@example.org');
    await page.getByLabel('First name:').fill('Rita');
    await page.getByLabel('Last name:').fill('Garcia');
    server.inject({ method: 'POST', path: /representatives$/, status: 401, body: { error: { code: 'not_authenticated', message: 'x' }, request_id: 'r' } });
    await page.locator('#rep-form').getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#rep-form-error').filter({ hasText: /Reload the page to sign in; copy anything you typed first/ }).waitFor();
    assert.equal(await page.getByLabel('E-mail:').inputValue(), 'rita.rep@example.org', 'what was typed stays');

    server.inject({ method: 'POST', path: /representatives$/, status: 403, body: { error: { code: 'not_staff', message: 'x' }, request_id: 'r' } });
    await page.locator('#rep-form').getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
    await page.locator('#page-error').filter({ hasText: 'Your access to the Client Portal Manager is not set up or was turned off. Ask the practice’s portal champion or IT contact.' }).waitFor();
    assert.equal(await page.locator('#client-panel').isVisible(), false, 'the client panel is closed');
    assert.equal(await page.getByRole('combobox', { name: 'Client' }).isDisabled(), true, 'no more searching');
    await shownNothingOf(page, c);
    assertNoProblems(page);
    await page.context().close();
  });

  test('the search box: the hint names birth dates and emails; after a choice the next name typed replaces the chosen one', async () => {
    const page = await staffPage({ user: 'clin1' });
    assert.equal(await page.locator('#client-search-hint').textContent(),
      'Name, date of birth (1990-12-10 or 12/10/1990), email or chart number, then choose from the list.');
    await pickClient(page, 'Garcia', /Garcia, Avery/);
    const box = page.getByRole('combobox', { name: 'Client' });
    assert.equal(await box.inputValue(), 'Garcia, Avery');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'client-search');
    await page.keyboard.type('Smi');
    assert.equal(await box.inputValue(), 'Smi', 'typing replaces the chosen name');
    await page.getByRole('option', { name: /Smith, Ann/ }).waitFor();
    await page.getByRole('option', { name: /Smith, Ann/ }).click();
    await page.getByRole('heading', { name: 'Ann Smith' }).waitFor();
    await page.keyboard.type('Zo');
    assert.equal(await box.inputValue(), 'Zo', 'also after a click on the list');
    assertNoProblems(page);
    await page.context().close();
  });

  test('discharged while the representative form is filled: the client is read again, the banner shows, what was typed stays', async () => {
    const c = client('Emery', 'Garcia');
    const page = await staffPage({ user: 'clin1' });
    try {
      await pickClient(page, 'Garcia', /Garcia, Emery/);
      await page.getByRole('button', { name: 'invite client representative' }).click();
      await page.getByLabel('E-mail:').fill('parent.garcia@example.org');
      await page.getByLabel('First name:').fill('Pat');
      await page.getByLabel('Last name:').fill('Garcia');
      c.active = false;
      await page.locator('#rep-form').getByRole('button', { name: INVITE_REPRESENTATIVE }).click();
      await page.locator('#client-discharged:not([hidden])').waitFor();
      await page.locator('#status').filter({ hasText: 'discharged' }).waitFor();
      await assertBlocked(page, page.getByRole('button', { name: INVITE_CLIENT }), /discharged clients cannot be invited/, 'invite after the refused representative');
      assert.equal(await page.locator('#rep-email').inputValue(), 'parent.garcia@example.org', 'the typed address is kept');
      assert.equal(await page.locator('#rep-first-name').inputValue(), 'Pat');
      assertNoProblems(page);
    } finally {
      c.active = true;
      await page.context().close();
    }
  });

  test('access reviews that could not be loaded say so, with a retry', async () => {
    server.inject({ method: 'GET', path: /^reviews$/ });
    const page = await staffPage({ user: 'clin1' });
    const notice = page.locator('#reviews-failed');
    await notice.filter({ hasText: /The list of access reviews due could not be loaded\. The portal’s database is not answering/ }).waitFor();
    await checkA11y(page, 'staff reviews failed');
    const gets = apiCalls(/^GET \/portal-manager\/api\/reviews$/).length;
    await page.getByRole('button', { name: 'Try again loading the access reviews due' }).click();
    await notice.waitFor({ state: 'hidden' });
    assert.equal(apiCalls(/^GET \/portal-manager\/api\/reviews$/).length, gets + 1, 'asked again');
    assertNoProblems(page);
    await page.context().close();
  });

  test('history: counts in words that agree, colleagues by display name', async () => {
    const c = client('Blake', 'Evans');
    assert.equal((await server.staffRequest('POST', 'clients/' + c.id + '/invitations', undefined, 'admin')).status, 201);
    const page = await staffPage({ user: 'clin1' });
    await pickClient(page, 'Evans', /Evans, Blake/);
    await page.getByRole('button', { name: 'Show this client\'s history' }).click();
    await page.locator('#status').filter({ hasText: /^1 email and 1 history entry shown\.$/ }).waitFor();
    const who = await page.locator('#history-body tr td:nth-child(2)').allTextContents();
    assert.deepEqual(who, ['Ada Admin'], 'the display name, as elsewhere on the page');
    assertNoProblems(page);
    await page.context().close();
  });
});
