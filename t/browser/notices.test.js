// Email notices on the staff page (issue 15): the signed-in staff member chooses how they
// hear about their clients (PUT api/me/preferences), saved as soon as the select changes;
// without an email address the page says who sets one. Against the stand-in server
// (lib/fake-server.js) and, with PM_BASE_URL set, the real one (run.sh's demo database,
// where no staff member has an email address yet).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer } from './lib/fake-server.js';
import {
  launch, watchedPage, assertNoProblems, checkA11y, screenshot, assertNoHorizontalScroll, DESKTOP, PHONE,
} from './lib/browser.js';

const env = process.env;
const BASE = env.PM_BASE_URL ? env.PM_BASE_URL.replace(/\/+$/, '') : null;
const REAL_STAFF = { username: env.PM_STAFF_USER || 'clin1', password: env.PM_STAFF_PASS || 'pw' };
const skipReal = BASE ? false : 'PM_BASE_URL not set (the real server: bash t/browser/run.sh)';

let server;
let browser;

before(async () => {
  server = await startFakeServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(url, credentials, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, httpCredentials: credentials });
  const page = await watchedPage(context);
  await page.goto(url);
  await page.locator('#who').filter({ hasText: 'Signed in as' }).waitFor();
  await page.locator('#notices:not([hidden])').waitFor();
  return page;
}

const fakePage = (user, viewport) =>
  open(server.baseURL + '/portal-manager/', { username: user, password: 'pw' }, viewport);

const select = (page) => page.getByRole('combobox', { name: 'Email notices' });

// choose `value` and wait for the page to say it was saved
async function choose(page, value, label) {
  await select(page).selectOption(value);
  await page.locator('#status').filter({ hasText: 'Email notices saved: ' + label }).waitFor();
}

describe('email notices (stand-in server)', () => {
  test('the select saves on change and keeps the choice over a reload; axe clean', async () => {
    const page = await fakePage('admin');
    assert.equal(await select(page).inputValue(), 'daily', 'the default is the daily digest');
    assert.deepEqual(await select(page).locator('option').allTextContents(),
      ['A daily digest (07:00)', 'At once', 'Never']);
    assert.equal(await page.locator('#notify-no-email').isVisible(), false,
      'an email address is set: no hint');
    await choose(page, 'immediate', 'At once');
    const puts = server.requests.filter((r) => r.method === 'PUT' && /\/api\/me\/preferences$/.test(r.path));
    assert.equal(puts.length, 1, 'one PUT api/me/preferences');
    assert.deepEqual(JSON.parse(puts[0].body), { notify: 'immediate' });
    await checkA11y(page, 'staff notices saved');
    await page.reload();
    await page.locator('#notices:not([hidden])').waitFor();
    assert.equal(await select(page).inputValue(), 'immediate', 'after a reload: still At once');
    await choose(page, 'none', 'Never');
    await page.reload();
    await page.locator('#notices:not([hidden])').waitFor();
    assert.equal(await select(page).inputValue(), 'none', 'after a reload: still Never');
    await choose(page, 'daily', 'A daily digest (07:00)');
    assertNoProblems(page);
    await page.context().close();
  });

  test('without an email address: the page says to ask the administrator, and the select still works', async () => {
    const page = await fakePage('clin1');
    const hint = page.locator('#notify-no-email');
    await hint.waitFor();
    assert.match(await hint.textContent(), /need an email address[\s\S]*ask your administrator/);
    assert.match(await hint.textContent(), /portal-manager-admin staff update clin1 --email ADDRESS/);
    assert.match(await select(page).getAttribute('aria-describedby'), /notify-no-email/);
    await choose(page, 'immediate', 'At once');
    await page.reload();
    await page.locator('#notices:not([hidden])').waitFor();
    assert.equal(await select(page).inputValue(), 'immediate');
    await checkA11y(page, 'staff notices without an email');
    await screenshot(page, 'staff-notices-no-email');
    await choose(page, 'daily', 'A daily digest (07:00)');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a refused save: the error next to the select, the choice back to what is stored', async () => {
    const page = await fakePage('admin');
    server.inject({ method: 'PUT', path: /^me\/preferences$/ });
    await select(page).selectOption('none');
    const error = page.locator('#notify-error');
    await error.filter({ hasText: 'database is not answering' }).waitFor();
    assert.match(await error.textContent(), /not changed/);
    assert.equal(await select(page).getAttribute('aria-invalid'), 'true');
    assert.equal(await select(page).inputValue(), 'daily', 'back to the stored choice');
    await checkA11y(page, 'staff notices error');
    await choose(page, 'immediate', 'At once');
    assert.equal(await error.isVisible(), false, 'the error goes with the next save');
    assert.equal(await select(page).getAttribute('aria-invalid'), null);
    await choose(page, 'daily', 'A daily digest (07:00)');
    await page.context().close();
  });

  test('360 px wide: the control and the hint fit, no sideways scrolling, axe clean', async () => {
    const page = await fakePage('clin1', PHONE);
    await page.locator('#notify-no-email').waitFor();
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'staff notices 360 px');
    await page.context().close();
  });
});

describe('email notices (real server)', () => {
  test('change the select, reload: the choice stays; axe clean', { skip: skipReal }, async () => {
    const page = await open(BASE + (env.PM_STAFF_PATH || '/portal-manager/'), REAL_STAFF);
    const start = await select(page).inputValue();
    assert.equal(start, 'daily', 'the default is the daily digest');
    await page.locator('#notify-no-email').waitFor();   // the demo's staff have no address
    await choose(page, 'immediate', 'At once');
    await page.reload();
    await page.locator('#notices:not([hidden])').waitFor();
    assert.equal(await select(page).inputValue(), 'immediate', 'after a reload: still At once');
    await choose(page, 'none', 'Never');
    await page.reload();
    await page.locator('#notices:not([hidden])').waitFor();
    assert.equal(await select(page).inputValue(), 'none', 'after a reload: still Never');
    await checkA11y(page, 'staff notices (real server)');
    await choose(page, 'daily', 'A daily digest (07:00)');
    assertNoProblems(page);
    await page.context().close();
  });
});
