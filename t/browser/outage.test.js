// The database is down (every API call answers 503 database_unavailable, as the module does
// when the database cannot be read, docs/api.md): each staff screen — the staff page, the
// Outbox, the Overview, the settings, the audit trail — says the same true thing (common.js DATABASE_DOWN):
// the portal's database is not answering, nothing was changed, tell IT. Not "the server is
// busy", which sends a champion to wait. A 503 without that code (httpd's own, a proxy's)
// says the server could not take the request. Stand-in server, the API answers intercepted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watchedPage, assertNoProblems, DESKTOP } from './lib/browser.js';
import { startFakeServer } from './lib/fake-server.js';

const DATABASE_DOWN = 'The portal’s database is not answering; nothing was changed. '
  + 'Tell your IT contact; try again in a few minutes.';
const SERVER_UNAVAILABLE = 'The server could not take the request just now (it may be busy or '
  + 'restarting). Try again in a minute; if it keeps happening, tell your IT contact.';
const SCREENS = ['index.html', 'outbox.html', 'overview.html', 'settings.html', 'audit.html'];

let browser;
let fake;

before(async () => {
  browser = await launch();
  fake = await startFakeServer();
});

after(async () => {
  await browser?.close();
  await fake?.close();
});

async function pageError(file, answer) {
  const context = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
  const page = await watchedPage(context);
  await page.route('**/api/**', (route) => route.fulfill(answer));
  await page.goto(fake.baseURL + '/portal-manager/' + file);
  const error = page.locator('#page-error:not([hidden])');
  await error.waitFor({ timeout: 5000 });
  const text = await error.textContent();
  assertNoProblems(page);
  await context.close();
  return text;
}

for (const file of SCREENS) {
  test(`${file}: the database down reads the shared words, not "busy"`, async () => {
    const text = await pageError(file, {
      status: 503, contentType: 'application/json', headers: { 'Retry-After': '5' },
      body: JSON.stringify({ error: { code: 'database_unavailable',
        message: 'The practice database is not available right now. Please try again in a moment.' } }),
    });
    assert.equal(text, DATABASE_DOWN);
  });

  test(`${file}: a 503 that is not the database's says the server could not take it`, async () => {
    const text = await pageError(file, { status: 503, contentType: 'text/html', body: '<h1>Service Unavailable</h1>' });
    assert.equal(text, SERVER_UNAVAILABLE);
  });
}
