// Shared helpers for the browser tests: launch Debian's chromium through playwright-core,
// run axe-core, save screenshots, and watch for CSP violations and page errors.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const SCREENSHOT_DIR = path.resolve(here, '..', 'screenshots');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const CHROMIUM = process.env.PM_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 360, height: 740 };

// A page that fails the test on uncaught errors and CSP violations (the pages must run
// under `default-src 'self'`: no inline script or style).
export async function watchedPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push('CSP: ' + t);
  });
  page.problems = problems;
  // every state-changing request the page makes (what a blocked button must not send)
  page.sent = [];
  page.on('request', (r) => { if (r.method() !== 'GET') page.sent.push(r.method() + ' ' + new URL(r.url()).pathname); });
  return page;
}

export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'page errors or CSP violations');
}

// Run axe; fail on serious or critical violations. Returns all violations for logging.
export async function checkA11y(page, label) {
  // page.addScriptTag would add an inline <script>, which the pages' CSP (default-src 'self')
  // rightly blocks; evaluating through the DevTools protocol is not subject to CSP.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
  if (process.env.PM_AXE_VERBOSE && result.length) console.log(label, JSON.stringify(result, null, 1));
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe: serious/critical violations (${label})`);
  return result;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, name + '.png');
  // The status toast is fixed to the bottom of the window; in a full-page picture it would
  // float over the middle of the page, so leave it out.
  // (A CSSOM change: Playwright's `style` option would inject a <style>, which the CSP blocks.)
  const hide = (v) => page.evaluate((value) => {
    const el = document.getElementById('toast');
    if (el) el.style.visibility = value;
  }, v);
  await hide('hidden');
  await page.screenshot({ path: file, fullPage: true });
  await hide('');
  return file;
}

// No horizontal scrolling at the current viewport width.
export async function assertNoHorizontalScroll(page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client + 1, `page scrolls sideways (${scroll} > ${client})`);
}

// The staff page's buttons, by role and the name that says what and whom (issue 11).
export const INVITE_CLIENT = /^invite client(?! representative)/;
export const INVITE_OR_REINVITE_CLIENT = /^(re)?invite client(?! representative)/;
export const CHANGE_CLIENT_EMAIL = /^change email of /;
export const INVITE_REPRESENTATIVE = /^invite this representative of /;

// The visible text of what an element's aria-describedby names.
export function describedText(locator) {
  return locator.evaluate((el) => (el.getAttribute('aria-describedby') || '').split(/\s+/)
    .map((id) => document.getElementById(id)).filter((e) => e && e.checkVisibility())
    .map((e) => e.textContent).join(' '));
}

// A button that cannot be used now (issue 11): aria-disabled="true" but not disabled (it
// stays in the tab order), its visible reason (matching `reason`) tied to it by
// aria-describedby; a click, Enter and Space on it send no request and keep the reason.
export async function assertBlocked(page, button, reason, what) {
  await button.waitFor();
  assert.equal(await button.getAttribute('aria-disabled'), 'true', what + ': aria-disabled="true"');
  assert.equal(await button.evaluate((el) => el.disabled), false, what + ': not disabled, keyboard users reach it');
  assert.match(await describedText(button), reason, what + ': its reason, shown, is its description');
  const before = page.sent.length;
  await button.click({ force: true });
  await button.focus();
  assert.equal(await button.evaluate((el) => el === document.activeElement), true, what + ': takes focus');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Space');
  await page.waitForTimeout(300);
  assert.deepEqual(page.sent.slice(before), [], what + ': a click, Enter and Space sent no request');
  assert.match(await describedText(button), reason, what + ': the reason is still shown');
}

// Wait until a blocked button can be used again.
export function waitUnblocked(page, selector, timeout = 10000) {
  return page.waitForFunction((sel) => {
    const el = document.querySelector(sel);
    return el && !el.disabled && el.getAttribute('aria-disabled') !== 'true';
  }, selector, { timeout });
}
