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
