// Outbox page (htdocs/staff/outbox.html, issue 15) against the real server (run.sh): a queued
// invitation is listed with its client's name, cancelled from the page (after the
// confirmation), found again by the status filter; axe clean; the links between the staff
// page, settings and the outbox are shown to champions only. Skipped unless PM_BASE_URL is set.
//
// To keep an email queued while the worker runs, the test sets max_emails_per_minute to 1,
// sends one test email (the minute's only one), then invites a client; the setting is put
// back at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as playwrightRequest } from 'playwright-core';
import { launch, watchedPage, assertNoProblems, checkA11y, screenshot, DESKTOP } from './lib/browser.js';
import { startFakeServer } from './lib/fake-server.js';

const env = process.env;
const BASE = env.PM_BASE_URL ? env.PM_BASE_URL.replace(/\/+$/, '') : null;
const STAFF_URL = BASE && BASE + (env.PM_STAFF_PATH || '/portal-manager/');
const STAFF = { username: env.PM_STAFF_USER || 'clin1', password: env.PM_STAFF_PASS || 'pw' };
const ADMIN = { username: env.PM_ADMIN_USER || 'admin', password: env.PM_ADMIN_PASS || 'pw' };
const RUN = Date.now().toString(36);
const skip = BASE ? false : 'PM_BASE_URL not set (the outbox page needs the real server)';
const CSRF = { 'X-Requested-With': 'portal-manager' };

let browser;
let admin;
let staff;

before(async () => {
  if (!BASE) return;
  browser = await launch();
  admin = await playwrightRequest.newContext({ baseURL: STAFF_URL, httpCredentials: ADMIN });
  // a new connection per request: a kept-alive one that idled through the page tests could
  // be closed by httpd just as it was reused (ECONNRESET, seen once in CI)
  staff = await playwrightRequest.newContext({ baseURL: STAFF_URL, httpCredentials: STAFF,
                                               extraHTTPHeaders: { Connection: 'close' } });
});

after(async () => {
  if (admin) {
    await admin.put('api/admin/settings', { headers: CSRF, data: { max_emails_per_minute: 120 } });
    await admin.dispose();
  }
  await staff?.dispose();
  await browser?.close();
});

async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function outboxEntry(id) {
  const r = await admin.get('api/admin/outbox');
  assert.equal(r.status(), 200);
  return (await r.json()).entries.find((e) => e.id === id);
}

// A queued invitation: the minute's one email goes first, so the invitation waits.
async function queuedInvitation() {
  let r = await admin.put('api/admin/settings', { headers: CSRF, data: { max_emails_per_minute: 1 } });
  assert.equal(r.status(), 200, 'set max_emails_per_minute: ' + (await r.text()));
  r = await admin.post('api/admin/settings/test-email', { headers: CSRF, data: { to: `pace.${RUN}@example.test` } });
  assert.equal(r.status(), 202, 'test email: ' + (await r.text()));
  const testId = (await r.json()).outbox_id;
  // at one a minute, an email another test sent within the last minute holds this one
  // back until that minute is over
  await until(async () => (await outboxEntry(testId))?.status === 'sent', 'the test email to be sent', 75000);
  let client = null;
  let cursor = null;
  do {
    r = await staff.get('api/clients?limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    assert.equal(r.status(), 200, 'GET api/clients: ' + (await r.text()));
    const body = await r.json();
    client = body.clients.find((c) => c.portal_status === 'not_invited');
    cursor = body.next_cursor;
  } while (!client && cursor);
  assert.ok(client, STAFF.username + ' needs a client that is not invited yet');
  r = await staff.post(`api/clients/${client.id}/invitations`, { headers: CSRF, data: {} });
  assert.equal(r.status(), 201, 'invite: ' + (await r.text()));
  const list = await (await admin.get(`api/admin/outbox?client_id=${client.id}`)).json();
  const entry = list.entries[0];
  assert.ok(entry, 'the invitation is in the outbox');
  await until(async () => (await outboxEntry(entry.id))?.status === 'queued', 'the invitation to wait, queued', 5000);
  return { client, id: entry.id };
}

test('the outbox lists a queued invitation, cancels it and filters by status', { skip }, async () => {
  const { client, id } = await queuedInvitation();
  const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: ADMIN });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + 'outbox.html');
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  await assert.doesNotReject(row.getByRole('cell', { name: `${client.first_name} ${client.last_name} (number ${client.id})`, exact: true }).waitFor());
  assert.equal(await row.locator('td').first().textContent(), 'Queued');
  assert.equal(await row.locator('td[data-label="Kind"]').textContent(), 'Invitation to the client');
  assert.equal(await page.getByRole('link', { name: 'Client portal settings' }).isVisible(), true, 'settings link for champions');
  assert.equal(await page.getByRole('link', { name: 'Audit trail' }).getAttribute('href'), 'audit.html');
  assert.equal(await page.getByRole('link', { name: 'Overview' }).getAttribute('href'), 'overview.html');
  await checkA11y(page, 'outbox with a queued email');
  await screenshot(page, 'outbox-queued');

  let question = null;
  page.once('dialog', (d) => { question = d.message(); d.accept(); });
  await row.getByRole('button', { name: /^Cancel: / }).click();
  await page.locator(`tr[data-id="${id}"] td`).first().filter({ hasText: 'Cancelled' }).waitFor();
  assert.match(question || '', /Cancel the email to .* It will not be sent\./);
  const stored = await outboxEntry(id);
  assert.equal(stored.status, 'cancelled', 'the API says cancelled too');
  assert.equal(await page.locator(`tr[data-id="${id}"] button`).count(), 0, 'a cancelled email has no buttons');

  await page.getByLabel('Status').selectOption('sent');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.locator(`tr[data-id="${id}"]`).waitFor({ state: 'detached' });
  const statuses = await page.locator('#rows tr td:first-child').allTextContents();
  assert.ok(statuses.length > 0 && statuses.every((s) => s === 'Sent'), 'status filter sent: ' + statuses.join(','));

  await page.getByLabel('Status').selectOption('cancelled');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.locator(`tr[data-id="${id}"]`).waitFor();
  const cancelled = await page.locator('#rows tr td:first-child').allTextContents();
  assert.ok(cancelled.every((s) => s === 'Cancelled'), 'status filter cancelled: ' + cancelled.join(','));

  await page.getByLabel('Client (name or number)').fill('abc');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByText('Choose the client from the suggestions, or type the client number.').waitFor();
  await checkA11y(page, 'outbox filtered, with a field error');
  assertNoProblems(page);
  await context.close();
});

test('on a phone (390 px) each email is a card: nothing scrolls sideways', { skip }, async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, httpCredentials: ADMIN });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + 'outbox.html');
  await page.locator('#rows tr').first().waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, 'outbox.html is ' + width + ' px wide');
  // the table's box is still a labelled region the keyboard can reach; the cards fit in it
  const region = page.getByRole('region', { name: 'Emails table' });
  assert.equal(await region.getAttribute('tabindex'), '0');
  const box = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  assert.ok(box.scroll <= box.client, 'the cards fit their box (' + JSON.stringify(box) + ')');
  await checkA11y(page, 'outbox 390px');
  await screenshot(page, 'outbox-390');
  assertNoProblems(page);
  await context.close();
});

test('the client number the filter asks for is the one under the name in the client view', { skip }, async () => {
  const { clients } = await (await admin.get('api/clients?limit=1')).json();
  const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: ADMIN });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + '#client=' + clients[0].id);
  await page.locator('#client-panel:not([hidden]):not([aria-busy])').waitFor();
  const shown = await page.locator('.portal-id').textContent();
  assert.equal(shown, 'Portal id ' + clients[0].id);
  await page.goto(STAFF_URL + 'outbox.html');
  await page.locator('#client-filter-hint').filter({ hasText: 'Portal id' }).waitFor();
  await page.getByLabel('Client (name or number)').fill(shown.replace('Portal id ', ''));
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('admin/outbox?') && r.url().includes('client_id=' + clients[0].id)),
    page.getByRole('button', { name: 'Show' }).click(),
  ]);
  assertNoProblems(page);
  await context.close();
});

// The filter took only a client number; a champion knows the name. Typed, it is searched in a
// request body (never in a URL), offered as a suggestion, and choosing it shows that
// client's emails.
test('the client filter takes a name chosen from the suggestions', { skip }, async () => {
  const { clients } = await (await admin.get('api/clients?limit=1')).json();
  const c = clients[0];
  const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: ADMIN });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + 'outbox.html');
  await page.locator('#outbox:not([hidden])').waitFor();
  const label = `${c.first_name} ${c.last_name} (${c.date_of_birth}, #${c.id})`;
  const field = page.getByLabel('Client (name or number)');
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/clients/search') && r.request().method() === 'POST'),
    field.fill(c.last_name),
  ]);
  await page.locator(`#client-filter-options option[value="${label}"]`).waitFor({ state: 'attached' });
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('admin/outbox?') && r.url().includes('client_id=' + c.id)),
    field.fill(label),                       // what choosing the suggestion puts in the field
  ]);
  assert.equal(await page.locator('#client-filter-error').isVisible(), false, 'no error');
  assertNoProblems(page);
  await context.close();
});

test('champions see the links; clinicians see none and no outbox', { skip }, async () => {
  const champ = await browser.newContext({ viewport: DESKTOP, httpCredentials: ADMIN });
  let page = await watchedPage(champ);
  await page.goto(STAFF_URL);
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  await page.getByRole('link', { name: 'Outbox' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Outbox' }).getAttribute('href'), 'outbox.html');
  await page.goto(STAFF_URL + 'settings.html');
  await page.getByRole('link', { name: 'Outbox' }).waitFor();
  assertNoProblems(page);
  await champ.close();

  const clin = await browser.newContext({ viewport: DESKTOP, httpCredentials: STAFF });
  page = await watchedPage(clin);
  await page.goto(STAFF_URL);
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Outbox' }).isVisible(), false, 'no outbox link on the staff page');
  await page.goto(STAFF_URL + 'outbox.html');
  await page.getByText('Only portal administrators can see the outbox.').waitFor();
  assert.equal(await page.locator('#outbox').isVisible(), false, 'no list');
  assert.equal(await page.getByRole('link', { name: 'Client portal settings' }).isVisible(), false, 'no settings link');
  assert.equal(await page.getByRole('link', { name: 'Overview' }).isVisible(), false, 'no overview link');
  const r = await staff.get('api/admin/outbox');
  assert.equal(r.status(), 403, 'the API refuses the clinician');
  await checkA11y(page, 'outbox refused');
  assertNoProblems(page);
  await clin.close();
});

// An email held by a mail server outage (the module leaves a queued row's next_attempt_at
// at its creation, attempts 0, and sends once the relay answers): its next try, already
// past, reads "As soon as the mail server answers", not a time minutes ago; a retry still to
// come shows its time.
test('a next try already past reads "As soon as the mail server answers" (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  const row = { invitation_id: 7, client_id: 10, client_first_name: 'James', client_last_name: 'Smith',
    purpose: 'invitation', kind: 'client_invitation', to: 'james.smith@example.org' };
  fake.outbox.push({ ...row, id: 1, status: 'retrying', attempts: 2, last_error: '451 4.7.1 greylisted, try later',
    created_at: now - 900, next_attempt_at: now + 1800 });
  fake.outbox.push({ ...row, id: 2, status: 'queued', attempts: 0, last_error: 'Couldn\'t connect to server',
    created_at: now - 300, next_attempt_at: now - 300 });
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#rows tr').nth(1).waitFor();
    const cells = async (id) => page.locator(`#rows tr[data-id="${id}"] td`).allTextContents();
    const outage = await cells(2);
    assert.deepEqual(outage.slice(0, 7), ['Queued', 'James Smith (number 10)', 'james.smith@example.org',
      'Invitation to the client', '0', 'As soon as the mail server answers', 'Couldn\'t connect to server']);
    const later = await cells(1);
    assert.equal(later[5], new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' })
      .format(new Date((now + 1800) * 1000)), 'a retry to come shows its time');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// "Did the email go?": each email says when it was queued and, once out, when the mail
// server took it, in the practice's clock.
test('each email says when it was queued and when it was sent (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  const row = { invitation_id: 7, client_id: 10, client_first_name: 'James', client_last_name: 'Smith',
    purpose: 'invitation', kind: 'client_invitation', to: 'james.smith@example.org' };
  fake.outbox.push({ ...row, id: 1, status: 'sent', attempts: 1, created_at: now - 7200, sent_at: now - 7100 });
  fake.outbox.push({ ...row, id: 2, status: 'queued', attempts: 0, created_at: now - 60 });
  const at = (t) => new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(t * 1000));
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#rows tr').nth(1).waitFor();
    const when = (id) => page.locator(`#rows tr[data-id="${id}"] td[data-label="Queued and sent"] .when`).allTextContents();
    assert.deepEqual(await when(1), ['Queued ' + at(now - 7200), 'Sent ' + at(now - 7100)]);
    assert.deepEqual(await when(2), ['Queued ' + at(now - 60)], 'not sent yet: no sent time');
    assert.equal(await page.getByRole('columnheader', { name: 'Queued and sent' }).isVisible(), true);
    await checkA11y(page, 'outbox with queued and sent times');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// A queued email never tried and without an error is waiting its turn (the worker is woken
// at once; the pace may hold it): not "As soon as the mail server answers", which speaks of
// an outage nobody has seen.
test('a fresh queued email, never tried, reads "Waiting its turn (not tried yet)" (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  fake.outbox.push({ id: 1, invitation_id: 7, client_id: 10, client_first_name: 'James', client_last_name: 'Smith',
    purpose: 'invitation', kind: 'client_invitation', to: 'james.smith@example.org',
    status: 'queued', attempts: 0, last_error: null, created_at: now - 5, next_attempt_at: now - 5 });
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#rows tr[data-id="1"]').waitFor();
    const cells = await page.locator('#rows tr[data-id="1"] td').allTextContents();
    assert.deepEqual(cells.slice(0, 7), ['Queued', 'James Smith (number 10)', 'james.smith@example.org',
      'Invitation to the client', '0', 'Waiting its turn (not tried yet)', '']);
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// At 390 px the table was wider than the phone: Cancel sat far to the right, reached only by
// scrolling the table's box sideways. Each email is a card there now, its buttons inside.
test('on a phone (390 px) the first email\'s Cancel is on screen without scrolling sideways (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  const row = { invitation_id: 7, client_id: 10, client_first_name: 'Maximiliana', client_last_name: 'Featherstonehaugh-Whittington',
    purpose: 'invitation', kind: 'representative_invitation', to: 'someone@example.org' };
  fake.outbox.push({ ...row, id: 1, status: 'failed', attempts: 5, last_error: '550 5.1.1 <someone@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
    created_at: now - 9000, next_attempt_at: now - 9000 });
  fake.outbox.push({ ...row, id: 2, status: 'retrying', attempts: 2, last_error: '451 4.7.1 greylisted, please try again later',
    created_at: now - 900, next_attempt_at: now + 1800 });
  try {
    const context = await own.newContext({ viewport: { width: 390, height: 844 }, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    const first = page.locator('#rows tr').first();
    await first.waitFor();
    assert.equal(await first.getAttribute('data-id'), '2', 'newest first');
    const cancel = first.getByRole('button', { name: /^Cancel: / });
    // down to it, and only down: sideways is what a phone's user does not see to do
    await cancel.evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 200));
    const b = await cancel.boundingBox();
    assert.ok(b && b.x >= 0 && b.x + b.width <= 390, 'Cancel is within the 390 px window: ' + JSON.stringify(b));
    const scroll = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth, x: window.scrollX,
      box: document.querySelector('.table-wrap').scrollLeft,
      boxWidth: [document.querySelector('.table-wrap').scrollWidth, document.querySelector('.table-wrap').clientWidth],
    }));
    assert.ok(scroll.page <= 390 && scroll.x === 0, 'the page does not scroll sideways: ' + JSON.stringify(scroll));
    assert.ok(scroll.box === 0 && scroll.boxWidth[0] <= scroll.boxWidth[1], 'nor the table\'s box: ' + JSON.stringify(scroll));
    // each value still says which column it is
    assert.equal(await first.locator('td').first().evaluate((el) => getComputedStyle(el, '::before').content), '"Status"');
    await checkA11y(page, 'outbox 390px cards');
    await screenshot(page, 'outbox-390-cards');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// The counts line against the stand-in server: a count at the server's cap (counts_cap)
// reads "100+", the others as they are (with thousands written 1,234).
test('outbox counts at the cap read "100+" (stand-in server)', async () => {
  const fake = await startFakeServer({ outboxCounts: { queued: 100, failed: 3, sent_last_7_days: 100 } });
  const own = browser || await launch();
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#counts').filter({ hasText: 'waiting' }).waitFor();
    assert.equal(await page.locator('#counts').textContent(),
      '100+ waiting, 3 failed or cancelled; 100+ sent in the last 7 days.');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// Cancel's accessible name said the outbox row's id as "number 19" where the row shows the
// client's number: it names the client's number now, and no number for a test email.
test('Cancel is named with the client\'s number, a test email\'s with none (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  fake.outbox.push({ id: 19, invitation_id: 7, client_id: 10, client_first_name: 'Ethan', client_last_name: 'Davis',
    purpose: 'invitation', kind: 'client_invitation', to: 'ethan.davis@example.org',
    status: 'queued', attempts: 0, last_error: null, created_at: now - 5, next_attempt_at: now - 5 });
  fake.outbox.push({ id: 20, kind: 'client', to: 'champion@example.org',
    status: 'queued', attempts: 0, last_error: null, created_at: now - 4, next_attempt_at: now - 4 });
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#rows tr[data-id="20"]').waitFor();
    const name = (id) => page.locator(`#rows tr[data-id="${id}"] button`).getAttribute('aria-label');
    assert.equal(await name(19), 'Cancel: the email to Ethan Davis (number 10) at ethan.davis@example.org');
    assert.equal(await name(20), 'Cancel: the test email to champion@example.org');
    // the address has its own column; the client's name links to the client view
    assert.equal(await page.locator('#rows tr[data-id="20"] td[data-label="To"]').textContent(), 'champion@example.org');
    assert.equal(await page.locator('#rows tr[data-id="19"] td[data-label="To"]').textContent(), 'ethan.davis@example.org');
    assert.equal(await page.locator('#rows tr[data-id="19"]').getByRole('link', { name: 'Ethan Davis' }).getAttribute('href'),
      './#client=10');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// After Cancel the row said "Cancelled" while the counts above still counted the email as
// waiting: they are read again with the row.
test('after Cancel the counts line counts the email as cancelled, not waiting (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  for (const id of [1, 2]) {
    fake.outbox.push({ id, invitation_id: 7, client_id: 10, client_first_name: 'James', client_last_name: 'Smith',
      purpose: 'invitation', kind: 'client_invitation', to: 'james.smith@example.org',
      status: 'queued', attempts: 0, last_error: null, created_at: now - 10 + id, next_attempt_at: now - 10 + id });
  }
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    page.on('dialog', (d) => d.accept());
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#counts').filter({ hasText: 'waiting' }).waitFor();
    assert.equal(await page.locator('#counts').textContent(), '2 waiting, 0 failed or cancelled; 0 sent in the last 7 days.');
    // by keyboard: Enter on the first row's Cancel; focus then waits on the next row's Cancel
    await page.locator('#rows tr[data-id="2"]').getByRole('button', { name: /^Cancel: / }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#rows tr[data-id="2"] td').first().filter({ hasText: 'Cancelled' }).waitFor();
    await page.locator('#counts').filter({ hasText: '1 waiting' }).waitFor({ timeout: 3000 });
    assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.id), '1',
      'focus moved to the next email\'s Cancel, not to the top of the page');
    assert.match(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), /^Cancel: /);
    assert.equal(await page.locator('#counts').textContent(), '1 waiting, 1 failed or cancelled; 0 sent in the last 7 days.');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});

// A hard bounce (portal-manager-admin bounce) is no email sent: the row says "Bounced" with
// the recipient's server's diagnostic, the Status filter has "Bounced" (status=bounced on the
// server), and the counts line does not count it as sent. A soft bounce stays "Sent", noted.
test('a hard-bounced email reads "Bounced" with its reason and the Bounced filter finds it (stand-in server)', async () => {
  const fake = await startFakeServer();
  const own = browser || await launch();
  const now = Math.floor(Date.now() / 1000);
  const row = { invitation_id: 7, client_id: 10, client_first_name: 'James', client_last_name: 'Smith',
    purpose: 'invitation', kind: 'client_invitation', to: 'james.smith@example.org', attempts: 1,
    created_at: now - 7200, sent_at: now - 7100 };
  const reason = '550 5.1.1 <***@example.org>: Recipient address rejected: User unknown';
  fake.outbox.push({ ...row, id: 1, status: 'sent', bounce: { type: 'hard', reason } });
  fake.outbox.push({ ...row, id: 2, status: 'sent', bounce: { type: 'soft', reason: '452 4.2.2 Mailbox full' } });
  fake.outbox.push({ ...row, id: 3, status: 'sent' });
  try {
    const context = await own.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const page = await watchedPage(context);
    await page.goto(fake.baseURL + '/portal-manager/outbox.html');
    await page.locator('#rows tr').nth(2).waitFor();
    const cells = (id) => page.locator(`#rows tr[data-id="${id}"] td`).allTextContents();
    const bounced = await cells(1);
    assert.equal(bounced[0], 'Bounced', 'the status of a hard-bounced email');
    assert.equal(bounced[6], 'Bounced: ' + reason, 'with the diagnostic');
    const soft = await cells(2);
    assert.deepEqual([soft[0], soft[6]], ['Sent', 'Soft bounce (it may still arrive): 452 4.2.2 Mailbox full']);
    assert.equal(await page.locator('#counts').textContent(), '0 waiting, 0 failed or cancelled; 2 sent in the last 7 days.',
      'the bounced email is not counted as sent');
    await page.getByLabel('Status').selectOption('bounced');
    const [response] = await Promise.all([
      page.waitForResponse((r) => /admin\/outbox\?/.test(r.url())),
      page.getByRole('button', { name: 'Show' }).click(),
    ]);
    assert.equal(new URL(response.url()).searchParams.get('status'), 'bounced', 'the filter asks the server');
    await page.locator('#rows tr').first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 1);
    assert.deepEqual(await page.locator('#rows tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.id)), ['1'],
      'Bounced lists exactly the bounced email');
    await checkA11y(page, 'outbox bounced filter');
    await assertNoProblems(page);
    await context.close();
  } finally {
    if (own !== browser) await own.close();
    await fake.close();
  }
});
