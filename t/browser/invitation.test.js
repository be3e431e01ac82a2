// Recipient page against the in-memory stand-in server (lib/fake-server.js): the token
// leaves the address bar, accept and decline, every documented error, 360 px and axe.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer } from './lib/fake-server.js';
import {
  launch, watchedPage, assertNoProblems, checkA11y, screenshot, assertNoHorizontalScroll, DESKTOP, PHONE,
} from './lib/browser.js';

let server;
let browser;

before(async () => {
  server = await startFakeServer({ deliveryDelayMs: 50, resendCooldownSec: 0, practicePhone: '(555) 010-0100' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const staffRequest = (method, path, body) => server.staffRequest(method, path, body);

// Invite through the staff API and wait for the (fake) delivery worker to "send" it.
async function invite(clientId) {
  const r = await staffRequest('POST', 'clients/' + clientId + '/invitations');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (let i = 0; i < 100 && !server.tokenOf(r.body.invitation.id); i += 1) await new Promise((res) => setTimeout(res, 20));
  return { id: r.body.invitation.id, token: server.tokenOf(r.body.invitation.id) };
}

async function openLink(token, { viewport = PHONE } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await watchedPage(context);
  await page.goto(server.baseURL + '/portal/invitation/' + (token === null ? '' : '#t=' + token));
  await page.locator('#view-loading[hidden]').waitFor({ state: 'attached' });
  return page;
}

const recipientCalls = () => server.requests.filter((r) => r.path.startsWith('/portal/invitation/api/'));

describe('recipient page', () => {
  test('lookup: token leaves the address bar, practice name and colour, axe clean', async () => {
    const { token } = await invite(10);
    const page = await openLink(token);
    await page.getByRole('heading', { name: 'Welcome, Avery' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'token removed from the address bar');
    assert.ok(!(await page.evaluate(() => history.length > 1 && location.href.includes('#'))));
    await page.getByText('Riverside Counseling has invited you').waitFor();
    assert.equal(await page.locator('#practice-name').textContent(), 'Riverside Counseling');
    assert.equal(await page.locator('.brandbar').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(47, 93, 98)');
    await page.getByText(/This invitation is valid until .*\d/).waitFor();
    await page.getByText('be at least 12 characters long').waitFor();
    await page.getByText('not be your username or your email address').waitFor();
    assert.equal(await page.getByLabel('Your date of birth').getAttribute('type'), 'date');
    const lookup = recipientCalls().at(-1);
    assert.equal(lookup.path, '/portal/invitation/api/lookup');
    assert.equal(lookup.headers['x-requested-with'], 'portal-manager');
    assert.match(lookup.headers['content-type'], /^application\/json/);
    assert.deepEqual(JSON.parse(lookup.body), { token });
    // kept for this tab only (a reload reopens it), never across tabs or sessions
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 1]);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('portal-invitation-token')), token);
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'recipient invitation');
    await screenshot(page, 'recipient-invitation');
    assertNoProblems(page);
    await page.context().close();
  });

  test('accept: checks on the page, server errors next to the field, then the login page', async () => {
    const { token } = await invite(11);
    const page = await openLink(token, { viewport: DESKTOP });
    await page.getByRole('heading', { name: 'Welcome, Blake' }).waitFor();
    assert.equal(await page.locator('#login-choice').isVisible(), false, 'a client makes a login of their own: no choice');
    const accept = page.getByRole('button', { name: 'Accept and create my account' });

    await accept.click();
    await page.locator('#date-of-birth-error').filter({ hasText: 'Please enter the date of birth.' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'date-of-birth');

    await page.getByLabel('Your date of birth').fill('1975-04-11');
    await page.getByLabel('Choose a username').fill('blake.adams');
    await page.getByLabel('Choose a password').fill('short');
    await page.getByLabel('Type the password again').fill('short');
    await accept.click();
    await page.locator('#password-error').filter({ hasText: 'at least 12 characters' }).waitFor();

    await page.getByLabel('Choose a password').fill('correct horse battery');
    await page.getByLabel('Type the password again').fill('correct horse batterY');
    await accept.click();
    await page.locator('#password2-error').filter({ hasText: 'don’t match' }).waitFor();
    await checkA11y(page, 'recipient form errors');

    // wrong date of birth: the server says so; the form keeps everything
    await page.getByLabel('Type the password again').fill('correct horse battery');
    await accept.click();
    await page.locator('#date-of-birth-error').filter({ hasText: 'doesn’t match what the practice has on file' }).waitFor();
    assert.equal(await page.getByLabel('Choose a username').inputValue(), 'blake.adams');
    assert.equal(await page.getByLabel('Choose a password').inputValue(), 'correct horse battery');
    const sent = JSON.parse(recipientCalls().at(-1).body);
    assert.deepEqual(Object.keys(sent).sort(), ['date_of_birth', 'password', 'token', 'username']);
    assert.equal(sent.date_of_birth, '1975-04-11');
    await screenshot(page, 'recipient-dob-mismatch');

    // Accept again with the same refused date: the same words, no request, no try spent
    // (issue 11); the date changed, it is sent again
    const calls = recipientCalls().length;
    const words = await page.locator('#date-of-birth-error').textContent();
    await page.locator('#date-of-birth-error').evaluate((el) => { el.textContent = ''; });
    await accept.click();
    await page.locator('#date-of-birth-error').filter({ hasText: 'You have 4 more tries' }).waitFor();
    assert.equal(await page.locator('#date-of-birth-error').textContent(), words, 'the same words');
    assert.equal(recipientCalls().length, calls, 'the refused date is not sent again');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'date-of-birth');
    await page.getByLabel('Your date of birth').fill('1975-04-10');
    await accept.click();
    await page.locator('#date-of-birth-error').filter({ hasText: 'You have 3 more tries' }).waitFor();
    assert.equal(recipientCalls().length, calls + 1, 'a changed date is sent');

    // a date the server cannot take (the future): said at the field, not "something went wrong"
    await page.getByLabel('Your date of birth').fill('2031-04-12');
    await accept.click();
    await page.locator('#date-of-birth-error').filter({ hasText: 'it can’t be in the future' }).waitFor();
    assert.equal(await page.getByLabel('Your date of birth').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#accept-error').isVisible(), false, 'no general error box');

    await page.getByLabel('Your date of birth').fill('1975-04-12');
    await page.getByLabel('Choose a username').fill('taken');
    await accept.click();
    await page.locator('#username-error').filter({ hasText: 'already taken' }).waitFor();
    await page.locator('#username-error').filter({ hasText: /You have \d more tries before the invitation locks/ }).waitFor();
    assert.equal(await page.locator('#date-of-birth-error').isVisible(), false);

    await page.getByLabel('Show passwords').check();
    assert.equal(await page.getByLabel('Choose a password').getAttribute('type'), 'text');
    await page.getByLabel('Choose a username').fill('blake.adams');
    // 201 {login_url} → the page says so with the username, and stays until the person
    // follows the link on (no timed redirect a screen reader cannot finish)
    await accept.click();
    await page.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    await page.locator('#done-text').filter({ hasText: 'your username, blake.adams,' }).waitFor();
    await page.waitForTimeout(2000);
    assert.equal(new URL(page.url()).pathname, '/portal/invitation/', 'still on the page after 2 s');
    await Promise.all([page.waitForRequest(server.baseURL + '/portal/account/'),
      page.getByRole('link', { name: 'Go to the sign-in page' }).click()]);
    assertNoProblems(page);

    // the new account works, and a second use of the link says so kindly
    const ok = await fetch(server.baseURL + '/portal/account/', { headers: { Authorization: 'Basic ' + Buffer.from('blake.adams:correct horse battery').toString('base64') } });
    assert.equal(ok.status, 200);
    const again = await openLink(token);
    await again.getByRole('heading', { name: 'This invitation has already been used' }).waitFor();
    await again.locator('#problem-next').filter({ hasText: 'sign in to the portal' }).waitFor();
    await again.context().close();
    await page.context().close();
  });

  test('the practice’s shortest password (password_min_length 16): the page says 16 and refuses 15 characters', async () => {
    const set = await staffRequest('PUT', 'admin/settings', { password_min_length: 16 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    try {
      const client = await staffRequest('GET', 'clients/14');
      const { token } = await invite(14);
      const page = await openLink(token, { viewport: DESKTOP });
      await page.getByRole('heading', { name: 'Welcome, ' + client.body.first_name }).waitFor();
      assert.equal(await page.locator('#rule-length').textContent(), 'be at least 16 characters long', 'the rules say 16');
      const accept = page.getByRole('button', { name: 'Accept and create my account' });
      await page.getByLabel('Your date of birth').fill(client.body.date_of_birth);
      await page.getByLabel('Choose a username').fill('sixteen.rule');
      const fifteen = 'fifteen-chars!!';
      assert.equal(fifteen.length, 15);
      await page.getByLabel('Choose a password').fill(fifteen);
      await page.getByLabel('Type the password again').fill(fifteen);
      const calls = recipientCalls().length;
      await accept.click();
      await page.locator('#password-error').filter({ hasText: 'at least 16 characters' }).waitFor();
      assert.equal(recipientCalls().length, calls, '15 characters: refused on the page, nothing sent');
      // 16 characters: the page sends it, and the server (same minimum) accepts it
      await page.getByLabel('Choose a password').fill(fifteen + 'x');
      await page.getByLabel('Type the password again').fill(fifteen + 'x');
      await accept.click();
      await page.getByRole('heading', { name: 'Your account is ready' }).waitFor();
      assertNoProblems(page);
      await page.context().close();
    } finally {
      await staffRequest('PUT', 'admin/settings', { password_min_length: null });
    }
  });

  test('decline asks first; staff then see declined and "reinvite client"', async () => {
    const { token } = await invite(12);
    const page = await openLink(token, { viewport: DESKTOP });
    await page.getByRole('heading', { name: 'Welcome, Casey' }).waitFor();
    const open = page.getByRole('button', { name: 'Decline invitation' });
    await open.click();
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'No, go back');
    await page.getByRole('button', { name: 'No, go back' }).click();
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Decline invitation');
    await open.click();
    await checkA11y(page, 'recipient decline confirm');
    await screenshot(page, 'recipient-decline-confirm');
    await page.getByRole('button', { name: 'Yes, decline the invitation' }).click();
    await page.getByRole('heading', { name: 'You declined the invitation' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'done-heading');
    // "contact them" with whom, as every problem screen says it (issue 11)
    assert.equal(await page.locator('#done-contact').textContent(), 'Practice: Riverside Counseling · Phone: (555) 010-0100');
    assert.equal(await page.locator('#done-contact').isVisible(), true);
    await checkA11y(page, 'recipient declined');
    assertNoProblems(page);
    await page.context().close();

    const staff = await browser.newContext({ viewport: DESKTOP, httpCredentials: { username: 'admin', password: 'pw' } });
    const sp = await staff.newPage();
    await sp.goto(server.baseURL + '/portal-manager/');
    await sp.getByRole('combobox', { name: 'Client' }).fill('Casey');
    await sp.getByRole('option', { name: /Adams, Casey/ }).click();
    await sp.getByRole('button', { name: 'reinvite client' }).waitFor();
    assert.equal(await sp.locator('#client-status').textContent(), 'Declined the invitation');
    await sp.locator('.inv-item').first().getByText('Declined by recipient').waitFor();
    await staff.close();
  });

  test('a reload keeps the invitation open in this tab; once it is used, it is forgotten', async () => {
    const { token } = await invite(21);
    const page = await openLink(token);
    const heading = page.locator('#welcome-heading');
    await heading.waitFor();
    const welcome = await heading.textContent();
    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
    await page.reload();
    await page.locator('#view-loading[hidden]').waitFor({ state: 'attached' });
    assert.equal(await heading.textContent(), welcome, 'after a reload: the same invitation');
    assert.equal(await page.locator('#view-invitation').isVisible(), true);
    await page.locator('#decline-open').click();
    await page.locator('#decline-yes').click();
    await page.locator('#view-done, #view-declined').first().waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the used link is not kept');
    await page.reload();
    await page.getByRole('heading', { name: 'This link is incomplete' }).waitFor();
    await page.context().close();
  });

  test('a representative is asked for the client’s date of birth', async () => {
    const r = await staffRequest('POST', 'clients/13/representatives', { email: 'kim@example.org', first_name: 'Kim', last_name: 'Lee', relationship: 'parent' });
    assert.equal(r.status, 201);
    for (let i = 0; i < 100 && !server.tokenOf(r.body.invitation.id); i += 1) await new Promise((res) => setTimeout(res, 20));
    const page = await openLink(server.tokenOf(r.body.invitation.id));
    await page.getByRole('heading', { name: 'Welcome, Kim' }).waitFor();
    await page.getByText('as the representative of one of their clients').waitFor();
    await page.getByLabel('The client’s date of birth').waitFor();
    assert.equal(await page.getByLabel('The client’s date of birth').getAttribute('autocomplete'), 'off');
    assert.equal(await page.locator('#decline-text').textContent(),
      'You can decline this invitation. The client’s care is not affected.', 'the client’s care, not “your care”');
    await checkA11y(page, 'recipient representative');
    // a wrong date: the invitation is for one person's records (who cares for several may
    // have typed another's date) — no name, no date in the words
    await page.getByLabel('The client’s date of birth').fill('1950-02-03');
    await page.getByLabel('Choose a username').fill('kim.lee');
    await page.getByLabel('Choose a password').fill('correct horse battery');
    await page.getByLabel('Type the password again').fill('correct horse battery');
    await page.getByRole('button', { name: 'Accept and create my account' }).click();
    const dobError = page.locator('#date-of-birth-error');
    await dobError.filter({ hasText: 'if you care for several people, each invitation is for one of them' }).waitFor();
    const words = await dobError.textContent();
    assert.doesNotMatch(words, /Kim|Lee|\d{4}-\d\d/, 'names nobody, says no date');
    await page.context().close();
  });

  test('a representative who joins a login they already have: the page stays and says so', async () => {
    const email = 'jo.parent@example.org';
    const first = await staffRequest('POST', 'clients/14/representatives', { email, first_name: 'Jo', last_name: 'Parent', relationship: 'parent' });
    assert.equal(first.status, 201);
    // a password chosen when the practice asked for fewer characters than it does now
    server.accounts.set('jo.parent', { id: 9100, username: 'jo.parent', password: 'famiglia', client_id: 14,
      representative_id: first.body.representative.id, active: true, created_at: Math.floor(Date.now() / 1000) });
    const second = await staffRequest('POST', 'clients/15/representatives', { email, first_name: 'Jo', last_name: 'Parent', relationship: 'parent' });
    assert.equal(second.status, 201);
    for (let i = 0; i < 100 && !server.tokenOf(second.body.invitation.id); i += 1) await new Promise((res) => setTimeout(res, 20));
    const page = await openLink(server.tokenOf(second.body.invitation.id));
    await page.getByRole('heading', { name: 'Welcome, Jo' }).waitFor();
    await page.getByLabel('The client’s date of birth').fill(server.clients.get(15).date_of_birth);
    const group = page.getByRole('group', { name: 'Do you already have a portal account with this practice?' });
    assert.equal(await group.getByRole('radio', { name: 'No, create a new account' }).isChecked(), true, 'a new account unless they say');
    await group.getByRole('radio', { name: /Yes, add this person to my account/ }).check();
    await page.getByRole('heading', { name: 'Add this person to your portal account' }).waitFor();
    assert.equal(await page.locator('#password2').isVisible(), false, 'the password is asked once');
    assert.equal(await page.locator('#password-rules').isVisible(), false, 'no rules for a new password');
    assert.equal(await page.getByLabel('Your password').getAttribute('autocomplete'), 'current-password');
    await page.getByLabel('Your username').fill('jo.parent');
    await page.getByLabel('Your password').fill('wrong one');
    await page.getByRole('button', { name: 'Add this person to my account' }).click();
    await page.locator('#password-error').filter({ hasText: 'don’t match an account' }).waitFor();
    const accepts = recipientCalls().filter((r) => r.path.endsWith('/accept'));
    assert.equal(JSON.parse(accepts[accepts.length - 1].body).existing_login, true, 'the POST says existing_login');
    await checkA11y(page, 'recipient joins a login');
    await page.getByLabel('Your password').fill('famiglia');
    await page.getByRole('button', { name: 'Add this person to my account' }).click();
    await page.getByText('This person was added to your portal account.').waitFor();
    await page.waitForTimeout(2500);   // the new-account screen would have left by now
    assert.equal(new URL(page.url()).pathname, '/portal/invitation/', 'still on the page');
    assert.equal(await page.getByText('This person was added to your portal account.').isVisible(), true);
    assert.equal(await page.getByRole('link', { name: 'Go to the sign-in page' }).isVisible(), true, 'and the way on is a link');
    await checkA11y(page, 'recipient linked');
    assertNoProblems(page);
    await page.context().close();
    server.accounts.delete('jo.parent');
  });

  test('link problems: each says what happened and what to do next', async () => {
    const cases = [];
    // superseded: the email was sent again
    const first = await invite(15);
    server.ageSent(first.id, 3600);
    const resent = await staffRequest('POST', 'invitations/' + first.id + '/resend');
    assert.equal(resent.status, 200);
    for (let i = 0; i < 100 && server.tokenOf(first.id) === first.token; i += 1) await new Promise((res) => setTimeout(res, 20));
    cases.push([first.token, 'A newer invitation was sent to you', 'most recent invitation email']);
    cases.push(['expired-token', 'This invitation has expired', 'ask them to send you a new invitation']);
    cases.push(['locked-token', 'This invitation is locked', 'contact the practice']);
    cases.push(['no-such-token', 'This invitation link doesn’t work', 'open the link from your email again']);
    cases.push(['revoked-token', 'This invitation was withdrawn', 'still want to use the client portal']);
    cases.push(['address-changed-token', 'This invitation link is no longer valid', 'please contact the practice']);
    // an accepted link: sign in; a declined one has its own words, and no sign-in
    cases.push(['already-used-token', 'This invitation has already been used', 'Sign in to the portal with your username']);
    cases.push(['already-declined-token', 'This invitation was declined', 'If that was a mistake, or if it wasn’t you']);
    // a password reset link in its own words, not an invitation's
    cases.push(['reset-revoked-token', 'This password reset link was cancelled', 'If you need to sign in to the portal']);
    cases.push(['reset-already-used-token', 'This password reset link has already been used', 'Sign in to the portal with your new password']);
    // one name for the reset in Spanish, the email's subject's: "restablecer" (issue 11)
    cases.push(['reset-revoked-token-es', 'Este enlace para restablecer la contraseña fue cancelado', 'Si necesita entrar al portal']);
    cases.push([null, 'This link is incomplete', 'open the link in the email again']);
    for (const [token, title, next] of cases) {
      const page = await openLink(token);
      await page.getByRole('heading', { name: title }).waitFor();
      await page.locator('#problem-next').filter({ hasText: next }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.id), 'problem-heading');
      assert.equal(await page.locator('#accept-form').isVisible(), false);
      assert.equal(new URL(page.url()).hash, '');
      if (token !== null) {
        assert.equal(await page.locator('#problem-contact').textContent(),
          token.endsWith('-es') ? 'Consultorio: Riverside Counseling · Teléfono: (555) 010-0100'
            : 'Practice: Riverside Counseling · Phone: (555) 010-0100', 'names the practice and its phone');
      }
      if (token !== null) {
        assert.equal(await page.locator('#practice-name').textContent(), 'Riverside Counseling',
          'the page is the practice’s, not "Client portal"');
      }
      assert.equal(await page.getByRole('link', { name: 'Go to the sign-in page' }).isVisible(),
        token === 'already-used-token' || token === 'reset-already-used-token', 'a used link offers the sign-in page');
      if (token === 'address-changed-token') {
        assert.ok(!/newer/i.test(await page.locator('#view-problem').textContent()), 'no "newer email" at the old address');
      }
      await checkA11y(page, 'recipient ' + title);
      if (token === 'expired-token') await screenshot(page, 'recipient-expired');
      assertNoProblems(page);
      await page.context().close();
    }
  });

  test('too many wrong dates of birth lock the invitation; service trouble offers a retry', async () => {
    const { token } = await invite(16);
    const page = await openLink(token);
    await page.getByLabel('Your date of birth').fill('2000-01-01');
    await page.getByLabel('Choose a username').fill('someone');
    await page.getByLabel('Choose a password').fill('a long enough passphrase');
    await page.getByLabel('Type the password again').fill('a long enough passphrase');
    for (let i = 0; i < 4; i += 1) {
      await page.getByLabel('Your date of birth').fill('2000-01-0' + (i + 1));
      await page.getByRole('button', { name: 'Accept and create my account' }).click();
      await page.locator('#date-of-birth-error').filter({ hasText: 4 - i === 1 ? '1 more try' : (4 - i) + ' more tries' }).waitFor();
    }
    await page.locator('#status').filter({ hasText: '1 more try' }).waitFor();
    await page.getByLabel('Your date of birth').fill('2000-01-05');
    await page.getByRole('button', { name: 'Accept and create my account' }).click();
    await page.getByRole('heading', { name: 'This invitation is locked' }).waitFor();
    // the live region no longer says "1 more try" under "locked" (issue 11)
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(await page.locator('#status').textContent(), '', 'the old error is not read again');
    await page.context().close();

    const other = await invite(25);
    server.inject({ method: 'POST', path: /^lookup$/, status: 503 });
    const p2 = await openLink(other.token);
    await p2.getByRole('heading', { name: 'We can’t check your invitation right now' }).waitFor();
    await p2.getByRole('button', { name: 'Try again' }).click();
    await p2.getByRole('heading', { name: 'Welcome, Avery' }).waitFor();
    // a network failure on accept keeps the form and says what to do
    await p2.route('**/api/accept', (route) => route.abort('internetdisconnected'), { times: 1 });
    await p2.getByLabel('Your date of birth').fill('1975-09-16');
    await p2.getByLabel('Choose a username').fill('avery.diaz');
    await p2.getByLabel('Choose a password').fill('a long enough passphrase');
    await p2.getByLabel('Type the password again').fill('a long enough passphrase');
    await p2.getByRole('button', { name: 'Accept and create my account' }).click();
    await p2.locator('#accept-error').filter({ hasText: 'check your internet connection' }).waitFor();
    assert.equal(await p2.getByLabel('Choose a username').inputValue(), 'avery.diaz');
    await p2.context().close();
  });

  test('password reset link: its own screen, checks, wrong date next to the field, then the new password; axe clean', async () => {
    const c = server.clients.get(30);
    server.accounts.set('reset.me', {
      id: 9101, username: 'Reset.Me', password: 'the old long password', client_id: c.id, representative_id: null,
      active: true, created_at: Math.floor(Date.now() / 1000) - 86400,
    });
    const r = await staffRequest('POST', 'accounts/9101/password-reset');
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const inv = [...server.invitations.values()].find((i) => i.kind === 'reset' && i.account_id === 9101);
    for (let i = 0; i < 100 && !server.tokenOf(inv.id); i += 1) await new Promise((res) => setTimeout(res, 20));
    const token = server.tokenOf(inv.id);

    const page = await openLink(token);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'token removed from the address bar');
    await page.getByText('This sets a new password for the portal account Reset.Me.').waitFor();
    await page.getByText(/This link works once, until .*\d/).waitFor();
    assert.equal(await page.locator('#view-invitation').isVisible(), false, 'no invitation form');
    assert.equal(await page.getByRole('button', { name: /Decline/ }).count(), 0, 'nothing to decline');
    assert.equal(await page.getByLabel('Your date of birth').getAttribute('type'), 'date');
    await assertNoHorizontalScroll(page);
    await checkA11y(page, 'recipient reset');
    await screenshot(page, 'recipient-reset');

    const save = page.getByRole('button', { name: 'Save my new password' });
    await save.click();
    await page.locator('#reset-dob-error').filter({ hasText: 'Please enter the date of birth.' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'reset-dob');
    await page.getByLabel('Your date of birth').fill('2001-01-01');
    await page.getByLabel('New password', { exact: true }).fill('a brand new password');
    await page.getByLabel('Type the new password again').fill('a brand new passworD');
    await save.click();
    await page.locator('#reset-password2-error').filter({ hasText: 'don’t match' }).waitFor();
    await checkA11y(page, 'recipient reset errors');
    const before = recipientCalls().length;
    assert.equal(recipientCalls().at(-1).path, '/portal/invitation/api/lookup', 'local checks send nothing');

    await page.getByLabel('Type the new password again').fill('a brand new password');
    await save.click();
    await page.locator('#reset-dob-error').filter({ hasText: 'doesn’t match what the practice has on file' }).waitFor();
    // the server's tries_left, as the invitation says it (issue 11)
    await page.locator('#reset-dob-error').filter({ hasText: 'You have 4 more tries before the link locks, for your security.' }).waitFor();
    const sent = JSON.parse(recipientCalls().at(-1).body);
    assert.deepEqual(Object.keys(sent).sort(), ['date_of_birth', 'password', 'token']);
    assert.equal(recipientCalls().at(-1).path, '/portal/invitation/api/reset');
    assert.equal(recipientCalls().length, before + 1);
    // the same refused date again costs no try: the same words, no request (issue 11)
    await page.locator('#reset-dob-error').evaluate((el) => { el.textContent = ''; });
    await save.click();
    await page.locator('#reset-dob-error').filter({ hasText: 'You have 4 more tries' }).waitFor();
    assert.equal(recipientCalls().length, before + 1, 'the refused date is not sent again');
    assert.equal(inv.verify_failures, 1, 'one try spent');
    // a password the server refuses: the English names every rule, as the accept page does
    server.inject({ method: 'POST', path: /^reset$/, status: 422,
      body: { error: { code: 'weak_password', message: 'weak', field: 'password' } } });
    await page.getByLabel('Your date of birth').fill('2001-01-02');
    await save.click();
    await page.locator('#reset-password-error').filter({
      hasText: 'Please choose a stronger password: at least 12 characters, not your username or email address, and not one character repeated.',
    }).waitFor();

    await page.getByLabel('Your date of birth').fill(c.date_of_birth);
    await save.click();
    await page.getByRole('heading', { name: 'Your new password is saved' }).waitFor();
    // the wrong date's words are not left in the live region under "saved" (issue 11)
    assert.equal(await page.locator('#status').textContent(), '', 'the live region was cleared');
    await page.getByText('Sign in as Reset.Me with your new password. The old password no longer works.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Go to the sign-in page' }).isVisible(), true);
    assert.equal(server.accounts.get('reset.me').password, 'a brand new password', 'the new password is set');
    await checkA11y(page, 'recipient reset done');
    assertNoProblems(page);
    await page.context().close();

    const again = await openLink(token);
    await again.getByRole('heading', { name: /already been used/ }).waitFor();
    await again.context().close();
  });

  test('a recipient who already has a way in gets the sign-in page, not "something went wrong"', async () => {
    // an active account of the client's own appeared while the invitation was open
    const { token } = await invite(22);
    const c = server.clients.get(22);
    server.accounts.set('already.here', { id: 9022, username: 'already.here', password: 'an old good password',
      client_id: 22, representative_id: null, active: true, created_at: 0 });
    const page = await openLink(token, { viewport: DESKTOP });
    await page.getByRole('heading', { name: /Welcome/ }).waitFor();
    await page.getByLabel('Your date of birth').fill(c.date_of_birth);
    await page.getByLabel('Choose a username').fill('second.account');
    await page.getByLabel('Choose a password').fill('correct horse battery');
    await page.getByLabel('Type the password again').fill('correct horse battery');
    await page.getByRole('button', { name: 'Accept and create my account' }).click();
    await page.getByRole('heading', { name: 'You already have a portal account' }).waitFor();
    await page.locator('#problem-next').filter({ hasText: 'username and password you already have' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Go to the sign-in page' }).isVisible(), true, 'the sign-in page is offered');
    assert.equal(await page.locator('#problem-retry').isVisible(), false, 'no "try again"');
    assert.equal(await page.locator('#problem-contact').textContent(), 'Practice: Riverside Counseling · Phone: (555) 010-0100');
    assert.equal(server.accounts.has('second.account'), false, 'no second account');
    await checkA11y(page, 'recipient already active');
    assertNoProblems(page);
    await page.context().close();
    server.accounts.delete('already.here');

    // a login that already reaches this client (the module's already_linked), in Spanish
    const second = await invite(23);
    server.inject({ method: 'POST', path: /^accept$/, status: 409, body: {
      error: { code: 'already_linked', message: 'Your portal account already reaches this client.' },
      practice_name: 'Riverside Counseling', practice_phone: '(555) 010-0100', brand_color: '#2f5d62',
      login_url: '/portal/account/', language: 'es', reset: false } });
    const es = await openLink(second.token, { viewport: DESKTOP });
    await es.getByRole('heading', { name: /Welcome/ }).waitFor();
    await es.getByLabel('Your date of birth').fill(server.clients.get(23).date_of_birth);
    await es.getByLabel('Choose a username').fill('linked.login');
    await es.getByLabel('Choose a password').fill('correct horse battery');
    await es.getByLabel('Type the password again').fill('correct horse battery');
    await es.getByRole('button', { name: 'Accept and create my account' }).click();
    await es.getByRole('heading', { name: 'Su cuenta del portal ya incluye a esta persona' }).waitFor();
    assert.equal(await es.getByRole('link', { name: 'Ir a la página de inicio de sesión' }).isVisible(), true);
    await checkA11y(es, 'recipient already linked');
    assertNoProblems(es);
    await es.context().close();
  });

  test('a light brand colour keeps readable text', async () => {
    server.options.brandColor = '#f4e04d';
    const { token } = await invite(18);
    const page = await openLink(token);
    await page.getByRole('heading', { name: /Welcome/ }).waitFor();
    assert.equal(await page.locator('.brandbar').evaluate((el) => getComputedStyle(el).color), 'rgb(0, 0, 0)');
    await checkA11y(page, 'recipient light brand');
    server.options.brandColor = undefined;
    await page.context().close();
  });
});
