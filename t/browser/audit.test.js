// Audit trail screen (issue 15) against the real httpd (PM_BASE_URL, see e2e.test.js's
// header): a champion filters, a client's name links to the client view on the staff page,
// the CSV link carries the filter, the client view's History lists its entries, axe clean; a clinician sees no link and no data.
// Download CSV takes the form's filter at the click (not the last Show's), is off with its
// reason while the filter is one Show refuses, says a failed export (503) as the screen does
// and saves nothing then; the file's last column is at_practice_time.
// The client filter searches names in a POST body: the access log (PM_ACCESS_LOG, set by
// run.sh) must show no search text in any request line. At 390 px no page scrolls sideways.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as playwrightRequest } from 'playwright-core';
import { launch, watchedPage, assertNoProblems, checkA11y, screenshot, DESKTOP } from './lib/browser.js';

const env = process.env;
const BASE = env.PM_BASE_URL ? env.PM_BASE_URL.replace(/\/+$/, '') : null;
const STAFF_URL = BASE && BASE + (env.PM_STAFF_PATH || '/portal-manager/');
const STAFF = { username: env.PM_STAFF_USER || 'clin1', password: env.PM_STAFF_PASS || 'pw' };
const ADMIN = { username: env.PM_ADMIN_USER || 'admin', password: env.PM_ADMIN_PASS || 'pw' };
const skip = BASE ? false : 'PM_BASE_URL not set (needs the real server)';

let browser;
let client;                  // a client the admin viewed, so the trail names it
let clientEmails;            // what GET /clients/{id}/emails said of it
let clientEmail;             // its address, from its view

before(async () => {
  if (!BASE) return;
  browser = await launch();
  const api = await playwrightRequest.newContext({ baseURL: STAFF_URL, httpCredentials: ADMIN });
  const list = await (await api.get('api/clients')).json();
  // a client not invited yet, invited now, so its History has an email to list
  client = list.clients.find((c) => c.portal_status === 'not_invited');
  assert.ok(client, 'the demo data has a client not invited yet');
  const view = await api.get('api/clients/' + client.id);
  assert.equal(view.status(), 200);
  clientEmail = (await view.json()).email;
  const invite = await api.post('api/clients/' + client.id + '/invitations',
    { headers: { 'X-Requested-With': 'portal-manager' }, data: {} });
  assert.equal(invite.status(), 201, 'invite: ' + (await invite.text()));
  clientEmails = (await (await api.get('api/clients/' + client.id + '/emails')).json()).entries;
  assert.ok(clientEmails.length >= 1, 'the invitation is among the client\'s emails');
  await api.dispose();
});

after(async () => { await browser?.close(); });

const PHONE_390 = { width: 390, height: 844 };

async function pageAs(who, path, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, httpCredentials: who });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + path);
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  return page;
}

describe('audit trail screen', { skip }, () => {
  test('champion: filter by action and client, name links to the client view, CSV carries the filter, axe clean', async () => {
    const staff = await pageAs(ADMIN, '');
    assert.equal(await staff.getByRole('link', { name: 'Audit trail' }).getAttribute('href'), 'audit.html');
    await staff.context().close();

    const page = await pageAs(ADMIN, 'audit.html');
    await page.locator('#entries-body tr').first().waitFor();
    await checkA11y(page, 'audit initial');
    await page.getByLabel('Client (search by name)').fill(String(client.id));
    // the action as its suggestion words it, in any case: the page sends the code
    const suggestions = await page.locator('#f-action-list option').evaluateAll((os) => os.map((o) => [o.value, o.label]));
    assert.ok(suggestions.length >= 40, 'every action is suggested (' + suggestions.length + ')');
    assert.ok(suggestions.some(([v, l]) => v === 'invitation.create' && l === 'Invitation created'), 'with its words');
    await page.getByLabel('Action').fill('Client Viewed');
    await page.getByLabel('Result').selectOption('ok');
    await Promise.all([
      page.waitForResponse((r) => /admin\/audit\?.*action=client.view/.test(r.url())),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    // the filtered page replaces the first one (or this times out and fails)
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('#entries-body tr td:nth-child(3)')];
      return cells.length > 0 && cells.every((c) => c.textContent === 'Client viewed (client.view)');
    }, null, { timeout: 5000 });
    const actions = await page.locator('#entries-body tr td:nth-child(3)').allTextContents();
    assert.ok(actions.length >= 1, 'the admin\'s view is listed');
    assert.ok(actions.every((a) => a === 'Client viewed (client.view)'),
      'only client.view rows, in words with the code: ' + actions.join(','));
    const results = await page.locator('#entries-body tr td:nth-child(5)').allTextContents();
    assert.ok(results.every((r) => r === 'ok'));
    // what an entry recorded is on the screen, in words: the invitation made in before() was
    // created with {reinvite: false}
    await page.getByLabel('Action').fill('invitation.create');
    await Promise.all([
      page.waitForResponse((r) => /admin\/audit\?.*action=invitation.create/.test(r.url())),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    await page.waitForFunction(() => [...document.querySelectorAll('#entries-body tr td:nth-child(3)')]
      .every((c) => c.textContent === 'Invitation created (invitation.create)'), null, { timeout: 5000 });
    assert.equal(await page.locator('thead th:nth-child(6)').textContent(), 'Details');
    assert.equal(await page.locator('#entries-body tr').first().locator('td:nth-child(6)').textContent(),
      'reinvite: no', 'the detail in words');
    await page.getByLabel('Action').fill('Client Viewed');
    await Promise.all([
      page.waitForResponse((r) => /admin\/audit\?.*action=client.view/.test(r.url())),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    await page.waitForFunction(() => [...document.querySelectorAll('#entries-body tr td:nth-child(3)')]
      .every((c) => c.textContent === 'Client viewed (client.view)'), null, { timeout: 5000 });
    const csv = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    const qs = new URLSearchParams(csv.split('?')[1]);
    assert.equal(qs.get('format'), 'csv');
    assert.equal(qs.get('client_id'), String(client.id));
    assert.equal(qs.get('action'), 'client.view');
    assert.equal(qs.get('result'), 'ok');
    await checkA11y(page, 'audit filtered');
    await screenshot(page, 'audit-filtered');

    const name = client.first_name + ' ' + client.last_name;
    const link = page.getByRole('link', { name }).first();
    assert.equal(await link.getAttribute('href'), './#client=' + client.id);
    await link.click();
    await page.locator('#client-panel:not([hidden])').waitFor();
    assert.equal((await page.locator('#client-name').textContent()).trim(), name);

    // the client view's History lists this client's audit entries
    await page.getByRole('button', { name: "Show this client's history" }).click();
    await page.locator('#history:not([hidden]) #history-body tr').first().waitFor();
    const hist = await page.locator('#history-body tr td:nth-child(3)').allTextContents();
    assert.ok(hist.includes('Client viewed'), 'history lists the view: ' + hist.join(','));
    // every action in words (client.emails_view, the emails read just now, among them), no raw code
    assert.ok(hist.includes('Emails viewed'), 'the emails read: ' + hist.join(','));
    assert.deepEqual(hist.filter((t) => /^[a-z_]+\.[a-z_]+$/.test(t)), [], 'no raw action codes');
    const histResults = await page.locator('#history-body tr td:nth-child(4)').allTextContents();
    assert.ok(histResults.every((t) => /^[A-Z]/.test(t)), 'results in words: ' + histResults.join(','));
    // ... and its emails, as many as the API listed, each with its kind in words
    assert.equal(await page.locator('#history-emails:not([hidden]) #history-emails-body tr').count(),
      clientEmails.length);
    const first = await page.locator('#history-emails-body tr').first().locator('td').allTextContents();
    assert.equal(first[1], clientEmail, 'to the client\'s address');
    assert.equal(first[2], 'Invitation to the client');
    assert.match(first[3], /^(Queued|Sending|Retrying|Sent|Failed|Cancelled)$/, 'the email\'s status in words');
    assert.ok(await page.locator('#history-emails-empty').isHidden(), 'no "no emails" line beside them');
    await checkA11y(page, 'client history');
    assertNoProblems(page);
    await page.context().close();
  });

  test('client filter: the typed name finds suggestions, the one chosen shows only that client\'s entries', async () => {
    const page = await pageAs(ADMIN, 'audit.html');
    await page.locator('#entries-body tr').first().waitFor();
    const name = client.first_name + ' ' + client.last_name;
    const label = `${name} (${client.date_of_birth}, #${client.id})`;
    const box = page.getByLabel('Client (search by name)');
    const [search] = await Promise.all([
      page.waitForResponse((r) => /\/api\/clients\/search$/.test(r.url()), { timeout: 5000 }),
      box.pressSequentially(name),
    ]);
    assert.equal(search.request().method(), 'POST');
    assert.equal(search.status(), 200);
    assert.equal(search.request().postDataJSON().q, name, 'the name rides in the body');
    await page.locator(`#client-options option[value="${label}"]`).waitFor({ state: 'attached', timeout: 5000 });
    await checkA11y(page, 'audit client suggestions');
    // choosing a suggestion (what the browser does when one is picked) filters at once
    await Promise.all([
      page.waitForResponse((r) => new RegExp('admin/audit\\?(.*&)?client_id=' + client.id + '(&|$)').test(r.url())),
      box.fill(label),
    ]);
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('#entries-body tr')];
      return rows.length > 0 && rows.every((tr) => tr.cells[3].querySelector('a')?.getAttribute('href') === './#client=' + id);
    }, client.id, { timeout: 5000 });
    const cells = await page.locator('#entries-body tr td:nth-child(4)').allTextContents();
    assert.ok(cells.length >= 2, 'the view and the invitation are listed: ' + cells.length);
    assert.ok(cells.every((c) => c === name), 'only this client\'s entries: ' + cells.join(','));
    const csv = new URLSearchParams((await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href')).split('?')[1]);
    assert.equal(csv.get('client_id'), String(client.id));
    assert.equal(await page.locator('#client-search-error').isHidden(), true);
    await screenshot(page, 'audit-client-chosen');

    // a name typed but not chosen is not a filter that quietly shows everyone
    await box.fill('');
    await box.pressSequentially('zz');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#client-search-error:not([hidden])')
      .filter({ hasText: 'Choose the client from the suggestions' }).waitFor();
    assertNoProblems(page);
    await page.context().close();
  });

  // The staff filter wanted the user name ("clinician1") while colleagues know each other
  // by name: the Who column shows both now, and the filter takes the name too.
  test('staff filter: the Who column shows the name and the user name; the filter takes either', async () => {
    const other = await playwrightRequest.newContext({ baseURL: STAFF_URL, httpCredentials: STAFF });
    assert.equal((await other.get('api/clients?limit=1')).status(), 200, 'a row by ' + STAFF.username);
    const me = await (await other.get('api/me')).json();
    await other.dispose();
    assert.ok(me.display_name, STAFF.username + ' has a display name');
    const page = await pageAs(ADMIN, 'audit.html');
    const who = `${me.display_name} (${STAFF.username})`;
    await page.locator('#entries-body tr td:first-child').filter({ hasText: who }).first().waitFor();
    const suggested = await page.locator('#f-username-list option').evaluateAll((os) => os.map((o) => [o.value, o.label]));
    assert.ok(suggested.some(([v, l]) => v === STAFF.username && l === me.display_name), 'suggested by name: ' + JSON.stringify(suggested));
    await page.getByLabel('Staff member').fill(me.display_name.toUpperCase());
    const [response] = await Promise.all([
      page.waitForResponse((r) => /admin\/audit\?/.test(r.url())),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    assert.equal(new URL(response.url()).searchParams.get('username'), STAFF.username, 'the name is sent as the user name');
    await page.waitForFunction((w) => {
      const cells = [...document.querySelectorAll('#entries-body tr td:first-child')];
      return cells.length > 0 && cells.every((c) => c.textContent === w);
    }, who, { timeout: 5000 });
    await checkA11y(page, 'audit staff filter');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a failed client search is shown next to the field', async () => {
    const page = await pageAs(ADMIN, 'audit.html');
    await page.route('**/api/clients/search', (route) => route.fulfill({
      status: 503, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'database_unavailable', message: 'The database is not available. Try again in a minute.' } }),
    }));
    await page.getByLabel('Client (search by name)').pressSequentially('Sm');
    await page.locator('#client-search-error:not([hidden])')
      .filter({ hasText: 'The client search failed: The portal’s database is not answering; nothing was changed.' }).waitFor({ timeout: 5000 });
    assert.equal(await page.getByLabel('Client (search by name)').getAttribute('aria-invalid'), 'true');
    await checkA11y(page, 'audit client search failed');
    await page.context().close();
  });

  test('no search text in the access log: no request line carries q=', { skip: env.PM_ACCESS_LOG ? false : 'PM_ACCESS_LOG not set (run.sh sets it)' }, () => {
    const lines = readFileSync(env.PM_ACCESS_LOG, 'utf8').split('\n').filter(Boolean);
    const leaks = lines.filter((l) => /"[A-Z]+ [^" ]*[?&]q=/.test(l));
    assert.deepEqual(leaks, [], 'request lines with q=');
    assert.ok(lines.some((l) => /"POST [^"]*\/api\/clients\/search /.test(l)), 'the name searches are in the log');
    const name = client.first_name + ' ' + client.last_name;
    assert.deepEqual(lines.filter((l) => l.includes(encodeURIComponent(name)) || l.includes(client.last_name)), [],
      'the client\'s name is in no log line');
  });

  test('on a phone (390 px) the audit trail does not widen the page', async () => {
    const page = await pageAs(ADMIN, 'audit.html', PHONE_390);
    await page.locator('#entries-body tr').first().waitFor();
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(await width() <= 390, 'audit.html is ' + (await width()) + ' px wide');
    // the table scrolls in its own box, which the keyboard can reach
    assert.equal(await page.getByRole('region', { name: 'Entries table' }).getAttribute('tabindex'), '0');
    await checkA11y(page, 'audit 390px');
    await screenshot(page, 'audit-390');
    assertNoProblems(page);
    await page.context().close();
  });

  // The table scrolled sideways in its box (763 px in 345 px): Client, Result and Request id
  // off-screen, dates on 4-5 lines. Below 34rem each entry is a card, as on the Outbox.
  test('on a phone (390 px) each entry is a card: the first one\'s Client on screen, no sideways scroll', async () => {
    const page = await pageAs(ADMIN, 'audit.html', PHONE_390);
    const first = page.locator('#entries-body tr').first();
    await first.waitFor();
    const box = await page.evaluate(() => {
      const wrap = document.querySelector('.table-wrap');
      return { scroll: wrap.scrollWidth, client: wrap.clientWidth };
    });
    assert.ok(box.scroll <= box.client, 'the table\'s box does not scroll sideways: ' + JSON.stringify(box));
    const clientCell = first.locator('td').nth(3);
    const b = await clientCell.boundingBox();
    assert.ok(b && b.x >= 0 && b.x + b.width <= 390, 'the first entry\'s Client is within the 390 px window: ' + JSON.stringify(b));
    // each value still says which column it is
    assert.equal(await clientCell.evaluate((el) => getComputedStyle(el, '::before').content), '"Client"');
    const when = await first.locator('td').nth(1).evaluate((el) => el.getBoundingClientRect().height
      / parseFloat(getComputedStyle(el).lineHeight));
    assert.ok(when < 2.5, 'the date is on one or two lines, not ' + when.toFixed(1));
    await checkA11y(page, 'audit 390px cards');
    await screenshot(page, 'audit-390-cards');
    assertNoProblems(page);
    await page.context().close();
  });

  test('on a phone (390 px) a client\'s history does not widen the staff page', async () => {
    const page = await pageAs(ADMIN, '#client=' + client.id, PHONE_390);
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    await page.locator('#client-panel:not([hidden])').waitFor();
    assert.equal(await page.getByRole('region', { name: 'Audit entries table' }).count(), 0,
      'no empty scroll box before the history is shown');
    await page.getByRole('button', { name: "Show this client's history" }).click();
    await page.locator('#history:not([hidden]) #history-body tr').first().waitFor();
    await page.locator('#history-emails:not([hidden]) #history-emails-body tr').first().waitFor();
    assert.ok(await width() <= 390, 'the staff page with the history open is ' + (await width()) + ' px wide');
    assert.equal(await page.getByRole('region', { name: 'Audit entries table' }).getAttribute('tabindex'), '0');
    await checkA11y(page, 'client history 390px');
    await screenshot(page, 'client-history-390');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a bad date range is explained next to its field, in words, and shows no rows or count', async () => {
    const page = await pageAs(ADMIN, 'audit.html');
    await page.locator('#entries-body tr').first().waitFor();   // the unfiltered page's rows
    await page.locator('#status').filter({ hasText: 'entries shown' }).waitFor();
    await page.getByLabel('From (date)').fill('2026-05-02');
    await page.getByLabel('To (date, inclusive)').fill('2026-05-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#f-to-error:not([hidden])').waitFor();
    assert.equal(await page.locator('#f-to-error').textContent(), 'The To date is before the From date.');
    assert.equal(await page.getByLabel('To (date, inclusive)').getAttribute('aria-invalid'), 'true');
    // the previous filter's rows and count are not this filter's answer
    assert.equal(await page.locator('#entries-body tr').count(), 0, 'no rows under a refused filter');
    assert.equal(await page.locator('#next-page').isHidden(), true);
    assert.equal(await page.locator('#empty').textContent(), 'No entries shown: fix the dates.');
    assert.equal(await page.locator('#empty').isVisible(), true);
    await page.locator('#status').filter({ hasText: 'The To date is before the From date.' }).waitFor();
    assert.doesNotMatch(await page.locator('#toast').textContent(), /entries shown/);
    // fixed: rows again
    await page.getByLabel('To (date, inclusive)').fill('');
    await page.getByLabel('From (date)').fill('');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#entries-body tr').first().waitFor();
    assert.equal(await page.locator('#empty').isHidden(), true);
    assertNoProblems(page);
    await page.context().close();
  });

  test('Download CSV: the filter the form holds at the click, not the last Show\'s; the file has the practice time', async () => {
    const page = await pageAs(ADMIN, 'audit.html');
    await page.locator('#entries-body tr').first().waitFor();
    await page.getByLabel('Action').fill('Invitation created');     // typed, Show not clicked
    const [request, download] = await Promise.all([
      page.waitForRequest((r) => /admin\/audit\?(.*&)?format=csv/.test(r.url()), { timeout: 5000 }),
      page.waitForEvent('download', { timeout: 5000 }),
      page.getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    assert.equal(new URL(request.url()).searchParams.get('action'), 'invitation.create', 'the action as typed at the click');
    assert.match(download.suggestedFilename(), /^audit-\d{4}-\d\d-\d\d\.csv$/, 'named for the practice\'s day');
    const [head, ...lines] = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').trim().split('\r\n');
    assert.match(head, /^id,at,username,action,.*,display_name,at_practice_time$/, 'at_practice_time the last column');
    assert.ok(lines.length >= 1, 'the invitation is exported');
    assert.deepEqual([...new Set(lines.map((l) => l.split(',')[3]))], ['invitation.create'], 'only the typed action\'s rows');
    assert.match(lines[0].split(',').at(-1), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/, 'the practice time with its offset');
    await page.locator('#status').filter({ hasText: 'Downloaded audit-' }).waitFor();
    // the hint names the zone of at_practice_time
    const me = await page.evaluate(() => fetch('api/me').then((r) => r.json()));
    await page.locator('#csv-zone').filter({ hasText: me.time_zone }).waitFor({ timeout: 5000 });
    assertNoProblems(page);
    await page.context().close();
  });

  test('Download CSV is off, with its reason, while the filter is one Show refuses', async () => {
    const page = await pageAs(ADMIN, 'audit.html');
    await page.locator('#entries-body tr').first().waitFor();
    const link = page.locator('#csv-link');
    let asked = 0;
    let saved = 0;
    page.on('request', (r) => { if (/format=csv/.test(r.url())) asked += 1; });
    page.on('download', () => { saved += 1; });
    await page.getByLabel('From (date)').fill('2026-05-02');
    await page.getByLabel('To (date, inclusive)').fill('2026-05-01');
    await page.waitForFunction(() => document.getElementById('csv-link').getAttribute('aria-disabled') === 'true',
      null, { timeout: 3000 });
    assert.equal(await link.getAttribute('href'), null, 'no URL to follow');
    await page.locator('#csv-off:not([hidden])').filter({ hasText: 'The To date is before the From date.' }).waitFor();
    assert.match(await link.getAttribute('aria-describedby'), /\bcsv-off\b/, 'the reason describes the link');
    await checkA11y(page, 'audit CSV off');
    await link.click({ force: true });
    await page.waitForTimeout(800);
    assert.equal(asked, 0, 'no export asked for');
    assert.equal(saved, 0, 'nothing saved');
    // fixed: on again, with the form's filter
    await page.getByLabel('To (date, inclusive)').fill('');
    await page.locator('#csv-off').waitFor({ state: 'hidden' });
    assert.equal(await link.getAttribute('aria-disabled'), null);
    assert.equal(new URLSearchParams((await link.getAttribute('href')).split('?')[1]).get('from'), '2026-05-02');
    // a name typed but not chosen from the suggestions: off too
    await page.getByLabel('Client (search by name)').pressSequentially('zz');
    await page.locator('#csv-off:not([hidden])').filter({ hasText: 'Choose the client from the suggestions' }).waitFor();
    assert.equal(await link.getAttribute('aria-disabled'), 'true');
    await page.context().close();
  });

  test('a failed CSV export (database down) is said on the page, and nothing is saved', async () => {
    const page = await pageAs(ADMIN, 'audit.html');
    await page.locator('#entries-body tr').first().waitFor();
    await page.route(/\/api\/admin\/audit\?(.*&)?format=csv/, (route) => route.fulfill({
      status: 503, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'database_unavailable', message: 'The database is not available. Try again in a minute.' } }),
    }));
    let saved = 0;
    page.on('download', () => { saved += 1; });
    await page.getByRole('link', { name: 'Download CSV' }).click();
    await page.locator('#page-error:not([hidden])')
      .filter({ hasText: 'The portal’s database is not answering; nothing was changed. Tell your IT contact' })
      .waitFor({ timeout: 5000 });
    await page.locator('#status').filter({ hasText: 'The portal’s database is not answering' }).waitFor();
    await page.waitForTimeout(500);
    assert.equal(saved, 0, 'the JSON error is not saved as the file');
    await page.context().close();
  });

  test('clinician: no audit link, and the screen shows no entries', async () => {
    const staff = await pageAs(STAFF, '');
    assert.equal(await staff.getByRole('link', { name: 'Audit trail' }).isVisible(), false);
    await staff.context().close();
    const page = await pageAs(STAFF, 'audit.html');
    await page.locator('#page-error:not([hidden])').waitFor();
    assert.equal(await page.locator('#entries-body tr').count(), 0);
    await page.context().close();
  });
});
