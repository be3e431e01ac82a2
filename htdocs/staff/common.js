// Client Portal Manager — what the staff page and the settings page share: the JSON API
// call (with the CSRF header on state changes), DOM building, field errors, the
// screen-reader status region and its toast, busy buttons.

const API = 'api/';

// ---- API ------------------------------------------------------------------------------------

// `errors`: the answer's list beside `error`, when it has one (a refused settings PUT names
// every refused value: [{field, message}]).
export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter, errors) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.retryAfter = retryAfter;
    this.errors = Array.isArray(errors) ? errors : [];
  }
}

export function parseRetryAfter(value) {
  if (!value) return NaN;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const when = Date.parse(value);
  return Number.isNaN(when) ? NaN : Math.max(0, Math.round((when - Date.now()) / 1000));
}

export async function api(method, path, body, signal) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-Requested-With'] = 'portal-manager';
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  return readAnswer(await send(path, init));
}

async function send(path, init) {
  try {
    return await fetch(API + path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', '', null);
  }
}

// A GET that also hands back the answer's ETag. With `etag`, it is sent as If-None-Match
// and a 304 answers { notModified: true } (the client page's cheap, unaudited refresh).
export async function apiTagged(path, etag) {
  const headers = { Accept: 'application/json' };
  if (etag) headers['If-None-Match'] = etag;
  const res = await send(path, { method: 'GET', headers, credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 304) return { notModified: true, etag, data: null };
  const data = await readAnswer(res);
  return { notModified: false, etag: res.headers.get('ETag'), data };
}

async function readAnswer(res) {
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || 'http_' + res.status, e.message, e.field,
      parseRetryAfter(res.headers.get('Retry-After')), data && data.errors);
  }
  return data;
}

// ---- small DOM helpers ----------------------------------------------------------------------

export const $ = (id) => document.getElementById(id);

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Dates in the page's language (<html lang>, 'en' today), not the browser's: a Spanish
// browser must not put "19 de mayo de 1985" on an English page.
export function pageLocale() {
  const lang = document.documentElement.lang || 'en';
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([lang]).length ? lang : 'en';
  } catch {
    return 'en';   // not a language tag
  }
}

let dateTimeFmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium', timeStyle: 'short' });
const dateFmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'long', timeZone: 'UTC' });

// Times from now on on the practice's clock (GET api/me's time_zone, an IANA name), not the
// browser's; a zone this browser does not know leaves the browser's.
export function usePracticeTimeZone(zone) {
  if (typeof zone !== 'string' || !zone) return;
  try {
    dateTimeFmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: zone });
  } catch {
    // unknown to this browser: keep its own clock
  }
}

// RFC 3339 UTC → the practice's local time (the browser's until usePracticeTimeZone).
export function localTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

export function timeEl(iso) {
  return h('time', { datetime: iso, text: localTime(iso) });
}

// A calendar date (YYYY-MM-DD) is not a moment: format it without a time-zone shift.
export function calendarDate(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return ymd || '';
  return dateFmt.format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))));
}

let statusTimer = null;

// What the toast must leave visible: the control in use, the errors, the forms' fields and buttons.
const TOAST_AVOIDS = '.field-error:not([hidden]), input:not([type="hidden"]), select, textarea, form button';

// The toast sits at the bottom of the window unless it would cover the control in use, an
// error or a form field on screen; then it moves to the top. Where it would cover one
// there too (a phone's window full of form), it goes: the status region has said it
// already. Checked again whenever focus moves or the page scrolls.
function placeToast() {
  const toast = $('toast');
  if (!toast || toast.hidden) return;
  const avoid = [document.activeElement, ...document.querySelectorAll(TOAST_AVOIDS)]
    .filter((el) => el && el !== document.body && el.getClientRects().length);
  const covers = (where) => {
    toast.classList.toggle('toast-top', where === 'top');
    const t = toast.getBoundingClientRect();
    return avoid.some((el) => {
      const r = el.getBoundingClientRect();
      return t.left < r.right && r.left < t.right && t.top < r.bottom && r.top < t.bottom;
    });
  };
  if (covers('bottom') && covers('top')) hideToast();
}

function hideToast() {
  clearTimeout(statusTimer);
  $('toast').hidden = true;
}
document.addEventListener('focusin', placeToast);
window.addEventListener('scroll', placeToast, { passive: true });

export function announce(text) {
  const region = $('status');
  const toast = $('toast');
  region.textContent = '';
  // A fresh text node each time so repeated messages are announced again.
  setTimeout(() => { region.textContent = text; }, 50);
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(hideToast, 6000);
  placeToast();
}

export function setFieldError(id, text, input) {
  const el = $(id);
  el.textContent = text || '';
  el.hidden = !text;
  if (input) {
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

export function clearFormErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

export async function busy(button, fn) {
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    return await fn();
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

export function showPageError(text) {
  const el = $('page-error');
  el.textContent = text;
  el.hidden = !text;
}
