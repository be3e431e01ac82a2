// Recipient page in Spanish against the in-memory stand-in server (lib/fake-server.js): the
// recipient's language from the lookup (the client's, a representative's own, else the
// practice default), the browser's before it answers, the whole flow (date of birth, a
// wrong one with the tries left, create account, decline, the link problems), the expiry
// in the practice's time zone, <html lang>, and axe clean in Spanish.
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

async function settings(body) {
  const r = await staffRequest('PUT', 'admin/settings', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function waitToken(invId) {
  for (let i = 0; i < 100 && !server.tokenOf(invId); i += 1) await new Promise((res) => setTimeout(res, 20));
  return server.tokenOf(invId);
}

// A client whose preferred_language is `language`, invited through the staff API.
async function invite(clientId, language) {
  server.clients.get(clientId).preferred_language = language;
  const r = await staffRequest('POST', 'clients/' + clientId + '/invitations');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.invitation.id, token: await waitToken(r.body.invitation.id) };
}

// The browser speaks English and lives in Tokyo unless told otherwise: the page must follow
// the recipient's language and the practice's zone, not the browser's.
async function openLink(token, { viewport = PHONE, locale = 'en-US', timezoneId = 'Asia/Tokyo' } = {}) {
  const context = await browser.newContext({ viewport, locale, timezoneId });
  const page = await watchedPage(context);
  await page.goto(server.baseURL + '/portal/invitation/' + (token === null ? '' : '#t=' + token));
  await page.locator('#view-loading[hidden]').waitFor({ state: 'attached' });
  return page;
}

const htmlLang = (page) => page.evaluate(() => document.documentElement.lang);

describe('recipient page in Spanish', () => {
  test('a Spanish client: welcome, <html lang="es">, the expiry in the practice’s zone, axe clean', async () => {
    await settings({ time_zone: 'America/Chicago' });
    try {
      const { id, token } = await invite(20, 'es');
      const page = await openLink(token);
      const first = server.clients.get(20).first_name;
      await page.getByRole('heading', { name: 'Le damos la bienvenida, ' + first }).waitFor();
      assert.equal(await htmlLang(page), 'es');
      assert.equal(await page.title(), 'Invitación al portal de Riverside Counseling');
      // "en su portal" read as the client's own portal (issue 11)
      await page.getByText('Riverside Counseling le invita a crear una cuenta en el portal seguro para clientes del consultorio.').waitFor();
      // the rule refuses one character repeated, not any repeated character (issue 11)
      const rules = await page.locator('#password-rules').textContent();
      assert.match(rules, /no consistir en un mismo carácter repetido \(p\. ej\., «aaaaaaaaaaaa»\)/);
      assert.doesNotMatch(rules, /repetir un solo carácter/);
      await page.getByLabel('Su fecha de nacimiento').waitFor();
      await page.getByLabel('Elija una contraseña').waitFor();
      await page.getByText('tener al menos 12 caracteres').waitFor();
      await page.getByRole('button', { name: 'Aceptar y crear mi cuenta' }).waitFor();

      // the expiry: Spanish words, the practice's clock (Chicago), not the browser's (Tokyo)
      const expiresAt = new Date(server.invitations.get(id).expires_at * 1000);
      const shown = await page.locator('#expires-text').textContent();
      const [chicago, tokyo] = await page.evaluate((ms) => ['America/Chicago', 'Asia/Tokyo'].map((timeZone) => {
        const f = (o) => new Intl.DateTimeFormat('es-u-hc-h12', { timeZone, ...o }).format(new Date(ms));
        const time = f({ hour: 'numeric', minute: '2-digit' });
        const zone = new Intl.DateTimeFormat('es-u-hc-h12', { timeZone, hour: 'numeric', timeZoneName: 'shortGeneric' })
          .formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName').value;
        return f({ dateStyle: 'long' }) + (/^1:/.test(time) ? ' a la ' : ' a las ') + time + ' (' + zone + ')';
      }), expiresAt.getTime());
      assert.notEqual(chicago, tokyo, 'the two zones differ');
      assert.equal(shown, 'Esta invitación es válida hasta el ' + chicago + '.', 'one period at the end');
      assert.match(shown, /hasta el \d{1,2} de [a-z]+ de \d{4} a las? \d{1,2}:\d{2}\s[ap]\.\s?m\. \(hora de Chicago\)\.$/,
        'like “8 de diciembre de 2026 a las 4:13 p. m. (hora de Chicago).”: the zone is named');
      const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/Chicago', hour: 'numeric', hour12: false }).format(expiresAt)) % 12 || 12;
      assert.match(shown, new RegExp(' ' + hour + ':'), 'the hour is Chicago’s');

      await assertNoHorizontalScroll(page);
      await checkA11y(page, 'recipient invitation (es)');
      await screenshot(page, 'recipient-invitation-es');
      assertNoProblems(page);
      await page.context().close();

      // English the same way: "December 8, 2026 at 4:13 PM", on Chicago's clock
      const en = await invite(19, 'en');
      const enPage = await openLink(en.token, { locale: 'es-MX' });
      await enPage.getByRole('heading', { name: /^Welcome/ }).waitFor();
      const enAt = new Date(server.invitations.get(en.id).expires_at * 1000).getTime();
      const enExpected = await enPage.evaluate((ms) => {
        const f = (o) => new Intl.DateTimeFormat('en-US', { timeZone: 'America/Chicago', ...o }).format(new Date(ms));
        return 'This invitation is valid until ' + f({ dateStyle: 'long' }) + ' at '
          + f({ hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }) + '.';
      }, enAt);
      assert.equal(await enPage.locator('#expires-text').textContent(), enExpected);
      assert.match(enExpected, /until [A-Z][a-z]+ \d{1,2}, \d{4} at \d{1,2}:\d{2}\s[AP]M C[SD]T\.$/,
        'the zone is named (CST or CDT), as in the email');
      assert.equal(await htmlLang(enPage), 'en');
      await enPage.context().close();
    } finally {
      await settings({ time_zone: null });
    }
  });

  test('the flow in Spanish: checks on the page, a wrong date of birth with the tries left, create the account', async () => {
    const { token } = await invite(21, 'es');
    const client = server.clients.get(21);
    const page = await openLink(token, { viewport: DESKTOP });
    await page.getByRole('heading', { name: 'Le damos la bienvenida, ' + client.first_name }).waitFor();
    const accept = page.getByRole('button', { name: 'Aceptar y crear mi cuenta' });

    await accept.click();
    await page.locator('#date-of-birth-error').filter({ hasText: 'Escriba la fecha de nacimiento.' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'date-of-birth');

    await page.getByLabel('Su fecha de nacimiento').fill('1901-01-01');
    await page.getByLabel('Elija un nombre de usuario').fill('usuario.nuñez');
    await page.getByLabel('Elija una contraseña').fill('corta');
    await page.getByLabel('Escriba la contraseña otra vez').fill('corta');
    await accept.click();
    await page.locator('#password-error').filter({ hasText: 'Su contraseña es demasiado corta. Use al menos 12 caracteres.' }).waitFor();

    await page.getByLabel('Elija una contraseña').fill('una contraseña bastante larga');
    await page.getByLabel('Escriba la contraseña otra vez').fill('una contraseña bastante largA');
    await accept.click();
    await page.locator('#password2-error').filter({ hasText: 'Las dos contraseñas no coinciden.' }).waitFor();
    await checkA11y(page, 'recipient form errors (es)');

    // a wrong date of birth: the server says how many tries are left, the page says it in Spanish
    await page.getByLabel('Escriba la contraseña otra vez').fill('una contraseña bastante larga');
    await accept.click();
    const dobError = page.locator('#date-of-birth-error');
    await dobError.filter({ hasText: 'Esa fecha de nacimiento no coincide con la que tiene registrada el consultorio.' }).waitFor();
    await dobError.filter({ hasText: 'le quedan 4 intentos' }).waitFor();
    assert.equal(await page.getByLabel('Elija un nombre de usuario').inputValue(), 'usuario.nuñez');
    await checkA11y(page, 'recipient wrong date of birth (es)');
    await screenshot(page, 'recipient-dob-mismatch-es');
    for (let left = 3; left >= 1; left -= 1) {
      await page.getByLabel('Su fecha de nacimiento').fill('1901-01-0' + (5 - left));
      await accept.click();
      await dobError.filter({ hasText: left === 1 ? 'le queda 1 intento' : 'le quedan ' + left + ' intentos' }).waitFor();
    }

    await page.getByLabel('Su fecha de nacimiento').fill(client.date_of_birth);
    await page.getByLabel('Elija un nombre de usuario').fill('taken');
    await accept.click();
    await page.locator('#username-error').filter({ hasText: 'Ese nombre de usuario ya está en uso.' }).waitFor();

    await page.getByLabel('Mostrar las contraseñas').check();
    await page.getByLabel('Elija un nombre de usuario').fill('cliente.es');
    await accept.click();
    await page.getByRole('heading', { name: 'Su cuenta está lista' }).waitFor();
    await page.locator('#done-text').filter({ hasText: 'su nombre de usuario, cliente.es,' }).waitFor();
    await Promise.all([page.waitForRequest(server.baseURL + '/portal/account/'),
      page.getByRole('link', { name: 'Ir a la página de inicio de sesión' }).click()]);
    assertNoProblems(page);
    await page.context().close();

    // the same link again: in Spanish, from the refusal's language
    const again = await openLink(token);
    await again.getByRole('heading', { name: 'Esta invitación ya se utilizó' }).waitFor();
    assert.equal(await htmlLang(again), 'es');
    await again.locator('#problem-next').filter({ hasText: 'inicie sesión en el portal' }).waitFor();
    await checkA11y(again, 'recipient already used (es)');
    await again.context().close();
  });

  test('decline in Spanish', async () => {
    const { token } = await invite(22, 'es');
    const page = await openLink(token, { viewport: DESKTOP });
    await page.getByRole('heading', { name: /^Le damos la bienvenida/ }).waitFor();
    await page.getByRole('heading', { name: '¿No desea una cuenta del portal?' }).waitFor();
    await page.getByRole('button', { name: 'Rechazar la invitación' }).click();
    await page.getByText('¿Confirma que desea rechazar la invitación?').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'No, volver');
    await checkA11y(page, 'recipient decline confirm (es)');
    await page.getByRole('button', { name: 'Sí, rechazar la invitación' }).click();
    await page.getByRole('heading', { name: 'Usted rechazó la invitación' }).waitFor();
    await page.getByText('Riverside Counseling podrá ver que usted rechazó la invitación.', { exact: false }).waitFor();
    // whom to contact if it was a mistake, as every problem screen says it (issue 11)
    assert.equal(await page.locator('#done-contact').textContent(), 'Consultorio: Riverside Counseling · Teléfono: (555) 010-0100');
    assert.equal(await page.title(), 'Invitación rechazada');
    await checkA11y(page, 'recipient declined (es)');
    await screenshot(page, 'recipient-declined-es');
    assertNoProblems(page);
    await page.context().close();
  });

  test('a password reset in Spanish: "puede elegir", the rule, the tries left (issue 11)', async () => {
    const c = server.clients.get(25);
    c.preferred_language = 'es';
    server.accounts.set('restablecer.es', {
      id: 9201, username: 'Restablecer.Es', password: 'la contraseña anterior', client_id: c.id, representative_id: null,
      active: true, created_at: Math.floor(Date.now() / 1000) - 86400,
    });
    const r = await staffRequest('POST', 'accounts/9201/password-reset');
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const inv = [...server.invitations.values()].find((i) => i.kind === 'reset' && i.account_id === 9201);
    const page = await openLink(await waitToken(inv.id), { viewport: DESKTOP });
    await page.getByRole('heading', { name: 'Elija una nueva contraseña' }).waitFor();
    await page.getByText('Aquí puede elegir una nueva contraseña para la cuenta del portal Restablecer.Es.').waitFor();
    const rules = await page.locator('#reset-rules').textContent();
    assert.match(rules, /ni consistir en un mismo carácter repetido \(p\. ej\., «aaaaaaaaaaaa»\)/);
    assert.doesNotMatch(rules, /repetir un solo carácter/);
    await page.getByLabel('Su fecha de nacimiento').fill('1901-01-01');
    await page.getByLabel('Nueva contraseña', { exact: true }).fill('una contraseña nueva y larga');
    await page.getByLabel('Escriba de nuevo la nueva contraseña').fill('una contraseña nueva y larga');
    await page.getByRole('button', { name: 'Guardar mi nueva contraseña' }).click();
    await page.locator('#reset-dob-error').filter({ hasText: 'Por su seguridad, le quedan 4 intentos antes de que el enlace se bloquee.' }).waitFor();
    await checkA11y(page, 'recipient reset wrong date (es)');
    assertNoProblems(page);
    await page.context().close();
  });

  test('link problems in the recipient’s language: expired, revoked, superseded, address changed, locked', async () => {
    const first = await invite(23, 'es');
    server.ageSent(first.id, 3600);
    const resent = await staffRequest('POST', 'invitations/' + first.id + '/resend');
    assert.equal(resent.status, 200, JSON.stringify(resent.body));
    for (let i = 0; i < 100 && server.tokenOf(first.id) === first.token; i += 1) await new Promise((res) => setTimeout(res, 20));
    const cases = [
      [first.token, 'Se le envió una invitación más reciente', 'correo de invitación más reciente'],
      ['expired-token-es', 'Esta invitación ha vencido', 'pida que le envíen una nueva invitación'],
      ['revoked-token-es', 'Esta invitación fue retirada', 'Si todavía desea usar el portal de clientes'],
      ['address-changed-token-es', 'Este enlace de invitación ya no es válido', 'comuníquese con el consultorio'],
      ['locked-token-es', 'Esta invitación está bloqueada', 'Allí pueden revisar sus datos'],
    ];
    for (const [token, title, next] of cases) {
      const page = await openLink(token);
      await page.getByRole('heading', { name: title }).waitFor();
      await page.locator('#problem-next').filter({ hasText: next }).waitFor();
      assert.equal(await htmlLang(page), 'es', title);
      assert.equal(await page.title(), title);
      assert.equal(await page.locator('#problem-contact').textContent(),
        'Consultorio: Riverside Counseling · Teléfono: (555) 010-0100', 'names the practice and its phone');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'problem-heading');
      await checkA11y(page, 'recipient ' + title);
      if (token === 'expired-token-es') await screenshot(page, 'recipient-expired-es');
      assertNoProblems(page);
      await page.context().close();
    }
    // the same refusals for an English recipient stay English, whatever the browser speaks
    const en = await openLink('expired-token-en', { locale: 'es-MX' });
    await en.getByRole('heading', { name: 'This invitation has expired' }).waitFor();
    assert.equal(await htmlLang(en), 'en');
    await en.context().close();
  });

  test('before the lookup answers, and when a link names no invitation: the browser’s language', async () => {
    const cases = [
      ['es-MX', 'no-such-token', 'Este enlace de invitación no funciona', 'es'],
      ['es-ES', null, 'Este enlace está incompleto', 'es'],
      ['fr-FR', 'no-such-token', 'This invitation link doesn’t work', 'en'],
      ['en-GB', null, 'This link is incomplete', 'en'],
    ];
    for (const [locale, token, title, lang] of cases) {
      const page = await openLink(token, { locale });
      await page.getByRole('heading', { name: title }).waitFor();
      assert.equal(await htmlLang(page), lang, locale);
      if (lang === 'es') await checkA11y(page, 'recipient ' + title);
      assertNoProblems(page);
      await page.context().close();
    }

    // the loading screen speaks the browser's language, then the page switches to the recipient's
    const { token } = await invite(24, 'en');
    const context = await browser.newContext({ viewport: PHONE, locale: 'es-MX' });
    const page = await watchedPage(context);
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/api/lookup', async (route) => { await held; await route.continue(); });
    await page.goto(server.baseURL + '/portal/invitation/#t=' + token);
    await page.getByRole('heading', { name: 'Estamos comprobando su invitación…' }).waitFor();
    assert.equal(await htmlLang(page), 'es');
    release();
    await page.getByRole('heading', { name: 'Welcome, ' + server.clients.get(24).first_name }).waitFor();
    assert.equal(await htmlLang(page), 'en');
    await page.getByRole('button', { name: 'Accept and create my account' }).waitFor();
    assertNoProblems(page);
    await context.close();
  });

  test('representatives: their own language, else the practice’s default_language', async () => {
    server.clients.get(13).preferred_language = 'en';
    const own = await staffRequest('POST', 'clients/13/representatives', { email: 'ines@example.org', first_name: 'Inés', last_name: 'Peña', relationship: 'parent' });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    server.representatives.get(own.body.representative.id).preferred_language = 'es';
    let page = await openLink(await waitToken(own.body.invitation.id));
    await page.getByRole('heading', { name: 'Le damos la bienvenida, Inés' }).waitFor();
    await page.getByText('como representante de una de las personas a las que atiende').waitFor();
    await page.getByLabel('La fecha de nacimiento del cliente').waitFor();
    await page.getByText('Escriba la fecha de nacimiento de la persona a quien usted representa, no la suya.').waitFor();
    await checkA11y(page, 'recipient representative (es)');
    await page.context().close();

    const none = await staffRequest('POST', 'clients/13/representatives', { email: 'noel@example.org', first_name: 'Noel', last_name: 'Ortiz', relationship: 'guardian' });
    assert.equal(none.status, 201, JSON.stringify(none.body));
    const token = await waitToken(none.body.invitation.id);
    page = await openLink(token);
    await page.getByRole('heading', { name: 'Welcome, Noel' }).waitFor();
    await page.context().close();
    await settings({ default_language: 'es' });
    try {
      page = await openLink(token);
      await page.getByRole('heading', { name: 'Le damos la bienvenida, Noel' }).waitFor();
      assert.equal(await htmlLang(page), 'es');
      await page.context().close();
    } finally {
      await settings({ default_language: null });
    }
  });
});
