// Overview page (htdocs/staff/overview.html, issue 15) against the real server (run.sh): the
// two SVG charts have one group of bars per month and per day (7 bars a month: invited,
// delivered, accepted and the four stacked outcomes; 4 a day: sent, retried, failed and bounced), their
// title and description; the "Show data table" buttons reveal tables whose numbers are the
// API's; a new invitation shows up in this month's numbers; another period redraws; axe clean;
// champions have the links from the staff and settings pages, clinicians neither the links
// nor the data. Skipped unless PM_BASE_URL is set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as playwrightRequest } from 'playwright-core';
import { launch, watchedPage, assertNoProblems, checkA11y, screenshot, DESKTOP, PHONE } from './lib/browser.js';

const env = process.env;
const BASE = env.PM_BASE_URL ? env.PM_BASE_URL.replace(/\/+$/, '') : null;
const STAFF_URL = BASE && BASE + (env.PM_STAFF_PATH || '/portal-manager/');
const STAFF = { username: env.PM_STAFF_USER || 'clin1', password: env.PM_STAFF_PASS || 'pw' };
const ADMIN = { username: env.PM_ADMIN_USER || 'admin', password: env.PM_ADMIN_PASS || 'pw' };
const skip = BASE ? false : 'PM_BASE_URL not set (the overview page needs the real server)';
const CSRF = { 'X-Requested-With': 'portal-manager' };
const FUNNEL = ['invited', 'delivered', 'accepted', 'declined', 'expired', 'failed', 'bounced'];
// the table adds what the rest became, so that each month adds up
const FUNNEL_TABLE = [...FUNNEL, 'waiting', 'locked', 'ended'];
const DELIVERY = ['sent', 'retried', 'failed', 'bounced'];

let browser;
let admin;
let staff;

before(async () => {
  if (!BASE) return;
  browser = await launch();
  admin = await playwrightRequest.newContext({ baseURL: STAFF_URL, httpCredentials: ADMIN });
  staff = await playwrightRequest.newContext({ baseURL: STAFF_URL, httpCredentials: STAFF });
});

after(async () => {
  await admin?.dispose();
  await staff?.dispose();
  await browser?.close();
});

async function overview(query) {
  const r = await admin.get('api/admin/overview' + query);
  assert.equal(r.status(), 200, 'GET api/admin/overview' + query + ': ' + (await r.text()));
  return r.json();
}

async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) assert.fail('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// invites a client of the clinician's that has no invitation yet: this month's invited + 1
async function inviteOne() {
  let client = null;
  let cursor = null;
  do {
    const r = await staff.get('api/clients?limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    assert.equal(r.status(), 200, 'GET api/clients: ' + (await r.text()));
    const body = await r.json();
    client = body.clients.find((c) => c.portal_status === 'not_invited');
    cursor = body.next_cursor;
  } while (!client && cursor);
  assert.ok(client, STAFF.username + ' needs a client that is not invited yet');
  const r = await staff.post(`api/clients/${client.id}/invitations`, { headers: CSRF, data: {} });
  assert.equal(r.status(), 201, 'invite: ' + (await r.text()));
}

// the table's body as numbers, one array per row, in the API's column order
async function tableNumbers(page, id) {
  return page.locator(`#${id}-table tbody tr`).evaluateAll((rows) => rows.map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => Number(td.textContent.replace(/,/g, '')))));
}

async function showTable(page, id) {
  const button = page.locator(`#${id}-toggle`);
  assert.equal(await page.locator(`#${id}-table-wrap`).isVisible(), false, `${id}: the table starts hidden`);
  assert.equal(await button.getAttribute('aria-expanded'), 'false');
  await button.click();
  await page.locator(`#${id}-table`).waitFor();
  assert.equal(await button.getAttribute('aria-expanded'), 'true', `${id}: aria-expanded after the click`);
  assert.equal(await button.textContent(), 'Hide data table');
}

test('the overview draws both charts, and their tables hold the API\'s numbers', { skip }, async () => {
  const before12 = await overview('?months=12&days=30');
  const last = (o) => o.funnel[o.funnel.length - 1];
  await inviteOne();
  let d = null;
  await until(async () => {           // the worker sends it: delivered too, then nothing moves
    d = await overview('?months=12&days=30');
    return last(d).delivered === last(before12).delivered + 1;
  }, 'the invitation to be delivered');
  const thisMonth = last(d);
  assert.equal(thisMonth.invited, last(before12).invited + 1, 'the API counts the invitation');

  const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: ADMIN });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + 'overview.html');
  await page.locator('#funnel-svg').waitFor();
  assert.equal(await page.locator('#funnel-svg rect.chart-bar').count(), 12 * 7, '12 months × 7 bars');
  assert.equal(await page.locator('#delivery-svg rect.chart-bar').count(), 30 * 4, '30 days × 4 bars');
  assert.equal(await page.locator('#funnel-svg g.chart-group').count(), 12);
  for (const id of ['funnel', 'delivery']) {
    const svg = page.locator(`#${id}-svg`);
    assert.equal(await svg.getAttribute('role'), 'img', `${id}: role img`);
    assert.equal(await svg.getAttribute('aria-labelledby'), `${id}-title ${id}-desc`);
    assert.ok((await page.locator(`#${id}-title`).textContent()).length > 0, `${id}: a title`);
  }
  const desc = await page.locator('#funnel-desc').textContent();
  const invited = d.funnel.reduce((n, m) => n + m.invited, 0);
  assert.ok(desc.includes(`${invited.toLocaleString('en-US')} invited`), 'the description says the total invited: ' + desc);
  const bar = page.locator(`#funnel-svg g.chart-group[data-label="${thisMonth.month}"] rect[data-series="invited"]`);
  assert.equal(Number(await bar.getAttribute('data-value')), thisMonth.invited, 'this month\'s invited bar');
  assert.ok(Number(await bar.getAttribute('height')) > 0, 'this month\'s invited bar has a height');
  await checkA11y(page, 'overview, tables hidden');

  await showTable(page, 'funnel');
  assert.deepEqual(await tableNumbers(page, 'funnel'), d.funnel.map((m) => FUNNEL_TABLE.map((k) => m[k])),
    'the funnel table has the API\'s numbers');
  for (const m of d.funnel) {
    assert.equal(m.invited, m.waiting + m.accepted + m.declined + m.expired + m.locked + m.ended,
      m.month + ': invited adds up');
  }
  assert.match(await page.locator('#funnel-table caption').textContent(), /waiting for an answer, accepted, declined/);
  await showTable(page, 'delivery');
  assert.deepEqual(await tableNumbers(page, 'delivery'), d.delivery.map((x) => DELIVERY.map((k) => x[k])),
    'the delivery table has the API\'s numbers');
  await checkA11y(page, 'overview, tables shown');
  await screenshot(page, 'overview');
  await page.locator('#funnel-toggle').click();
  assert.equal(await page.locator('#funnel-table-wrap').isVisible(), false, 'the second click hides it again');

  await page.getByLabel('Invitation months').selectOption('3');
  await page.getByLabel('Delivery days').selectOption('7');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.waitForFunction(() => document.querySelectorAll('#funnel-svg rect.chart-bar').length === 21);
  assert.equal(await page.locator('#delivery-svg rect.chart-bar').count(), 7 * 4, '7 days × 4 bars');
  assert.equal(await page.locator('#funnel-table tbody tr').count(), 3, 'the table follows: 3 months');
  assertNoProblems(page);
  await context.close();
});

test('on a phone the charts fit the screen and stay accessible', { skip }, async () => {
  const context = await browser.newContext({ viewport: PHONE, httpCredentials: ADMIN });
  const page = await watchedPage(context);
  await page.goto(STAFF_URL + 'overview.html');
  await page.locator('#funnel-svg').waitFor();
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth,
    document.getElementById('delivery-svg').getBoundingClientRect().right]);
  assert.ok(widths[0] <= 360 && widths[1] <= 360, 'nothing wider than the screen: ' + widths.join(', '));
  await page.locator('#delivery-toggle').click();
  await page.locator('#delivery-table').waitFor();
  // each row a card: every number beside its column's name, not an empty label
  const labels = await page.locator('#delivery-table tbody tr').first().locator('td')
    .evaluateAll((tds) => tds.map((td) => getComputedStyle(td, '::before').content));
  assert.deepEqual(labels, ['"Sent"', '"Retried"', '"Failed"', '"Bounced"'], 'the cards name their numbers');
  await checkA11y(page, 'overview on a phone, delivery table shown');
  await screenshot(page, 'overview-phone');
  assertNoProblems(page);
  await context.close();
});

test('champions see the links; clinicians see none and no overview', { skip }, async () => {
  const champ = await browser.newContext({ viewport: DESKTOP, httpCredentials: ADMIN });
  let page = await watchedPage(champ);
  for (const where of ['', 'settings.html']) {
    await page.goto(STAFF_URL + where);
    await page.getByRole('link', { name: 'Overview' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Overview' }).getAttribute('href'), 'overview.html');
  }
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.locator('#funnel-svg').waitFor();
  for (const name of ['Outbox', 'Audit trail', 'Client portal settings']) {
    assert.equal(await page.getByRole('link', { name }).isVisible(), true, `overview links to ${name}`);
  }
  assertNoProblems(page);
  await champ.close();

  const clin = await browser.newContext({ viewport: DESKTOP, httpCredentials: STAFF });
  page = await watchedPage(clin);
  await page.goto(STAFF_URL);
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Overview' }).isVisible(), false, 'no overview link on the staff page');
  await page.goto(STAFF_URL + 'overview.html');
  await page.getByText('Only portal administrators can see the overview.').waitFor();
  assert.equal(await page.locator('#overview').isVisible(), false, 'no charts');
  assert.equal(await page.locator('#funnel-svg').count(), 0, 'nothing drawn');
  for (const name of ['Outbox', 'Audit trail', 'Client portal settings']) {
    assert.equal(await page.getByRole('link', { name }).isVisible(), false, `no ${name} link`);
  }
  const r = await staff.get('api/admin/overview');
  assert.equal(r.status(), 403, 'the API refuses the clinician');
  await checkA11y(page, 'overview refused');
  assertNoProblems(page);
  await clin.close();
});
