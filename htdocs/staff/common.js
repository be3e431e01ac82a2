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

// A file the API sends (the audit CSV) as { blob, name }: name from its Content-Disposition.
// An error answer throws what api() throws (a 503's own message); an answer of another type
// than `type` (a sign-in or proxy page) or one cut short is never handed back as the file.
export async function apiFile(path, type) {
  const res = await send(path, { method: 'GET', headers: { Accept: type + ', application/json' },
    credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) await readAnswer(res);
  const got = (res.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (got !== type) {
    throw new ApiError(res.status, 'unexpected_type', 'The server did not send the file. Nothing was saved: try again.');
  }
  const name = /filename="?([^";]+)"?/i.exec(res.headers.get('Content-Disposition') || '');
  try {
    return { blob: await res.blob(), name: name ? name[1] : null };
  } catch {
    throw new ApiError(0, 'incomplete', 'The download was cut short. Nothing was saved: try again.');
  }
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

// The words every staff screen says for a 503 (docs/api.md): `database_unavailable` is the
// portal's database failing — no busy server that waiting fixes, and nothing of the request
// was kept (each change is one transaction) — so the champion tells IT; a 503 without it
// came from httpd or a proxy in front, not from the module. null for any other error.
export const DATABASE_DOWN = 'The portal’s database is not answering; nothing was changed. '
  + 'Tell your IT contact; try again in a few minutes.';
export const SERVER_UNAVAILABLE = 'The server could not take the request just now (it may be busy or '
  + 'restarting). Try again in a minute; if it keeps happening, tell your IT contact.';

export function outageText(err) {
  if (err.code === 'database_unavailable') return DATABASE_DOWN;
  if (err.status === 503) return SERVER_UNAVAILABLE;
  return null;
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
let timeFmt = new Intl.DateTimeFormat(pageLocale(), { timeStyle: 'short' });
let dayFmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium' });
const dateFmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'long', timeZone: 'UTC' });

// Times from now on on the practice's clock (GET api/me's time_zone, an IANA name), not the
// browser's; a zone this browser does not know leaves the browser's. A browser on another
// clock (a clinician working from elsewhere) gets the zone's name after each time ("CST").
export function usePracticeTimeZone(zone) {
  if (typeof zone !== 'string' || !zone) return;
  try {
    const own = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    const fmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: zone });
    const named = new Intl.DateTimeFormat(pageLocale(), { month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: zone, timeZoneName: 'short' });
    dateTimeFmt = fmt.resolvedOptions().timeZone === own ? fmt : named;
    const away = fmt.resolvedOptions().timeZone !== own;
    timeFmt = new Intl.DateTimeFormat(pageLocale(), away
      ? { hour: 'numeric', minute: '2-digit', timeZone: zone, timeZoneName: 'short' } : { timeStyle: 'short', timeZone: zone });
    dayFmt = new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium', timeZone: zone });
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

// A moment later today as a time only ("4:05 PM"), another day's with its date; on the
// practice's clock as localTime.
export function shortTime(iso) {
  const d = new Date(iso || '');
  if (Number.isNaN(d.getTime())) return iso || '';
  return dayFmt.format(d) === dayFmt.format(new Date()) ? timeFmt.format(d) : localTime(iso);
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

// ---- the status region and its toast ----------------------------------------------------------
//
// announce() says a text through the status region (role="status", read by screen readers)
// and shows the same text in the toast, which is aria-hidden (it would be read twice).
// The toast goes by itself after TOAST_MS, but not while the pointer is on it or focus is in
// it (then TOAST_MS after it leaves); its button, or Escape inside it, closes it at once.
// It never covers a control: it sits at the bottom of the window, or at the top when the
// bottom would cover one, or else in the free band between controls nearest the bottom;
// with no room anywhere it waits out of sight (all checked again whenever focus moves, the
// page scrolls or changes), and the status region has said it anyway.

const TOAST_MS = 6000;

const toast = {
  on: false,          // a message is being shown (it may be waiting out of sight)
  timer: null,
  held: false,        // pointer on it or focus in it
  lastFocus: null,    // where focus was before it went into the toast
  frame: 0,
};

// What the toast must leave visible: every control and link, the errors, the client list's options.
const TOAST_AVOIDS = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, '
  + '[tabindex]:not([tabindex="-1"]), [role="option"], .field-error:not([hidden])';

function placeToast() {
  const el = $('toast');
  if (!el || !toast.on) return;
  const avoid = [document.activeElement, ...document.querySelectorAll(TOAST_AVOIDS)]
    .filter((c) => c && c !== document.body && !el.contains(c) && c.getClientRects().length);
  el.hidden = false;
  el.classList.remove('toast-top');
  el.style.top = '';
  el.style.bottom = '';
  const t = el.getBoundingClientRect();        // at the bottom of the window
  const edge = window.innerHeight - t.bottom;  // its distance from the window's edge
  const gap = 4;
  // the bands of the window taken by a control under the toast's width
  const taken = [];
  for (const c of avoid) {
    const r = c.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.left < t.right && t.left < r.right &&
        r.bottom > 0 && r.top < window.innerHeight) taken.push([r.top - gap, r.bottom + gap]);
  }
  const fits = (y) => y >= edge / 2 && y + t.height <= window.innerHeight - edge / 2 &&
    taken.every(([a, b]) => y + t.height <= a || y >= b);
  if (fits(t.top)) return;                       // the bottom
  if (fits(edge)) { el.classList.add('toast-top'); return; }
  // else the free band nearest the bottom: just above or just below a control
  const spots = taken.flatMap(([a, b]) => [a - t.height, b]).filter(fits);
  if (!spots.length) { el.hidden = true; return; }
  el.style.top = Math.max(...spots) + 'px';
  el.style.bottom = 'auto';
}

// Re-placed at most once a frame, when the page changes under it (a list re-rendered, a
// form opened), not only when focus moves or the page scrolls.
function placeToastSoon() {
  if (!toast.on || toast.frame) return;
  toast.frame = requestAnimationFrame(() => { toast.frame = 0; placeToast(); });
}

function startToastTimer() {
  clearTimeout(toast.timer);
  if (!toast.held) toast.timer = setTimeout(() => closeToast(false), TOAST_MS);
}

function closeToast(returnFocus) {
  const el = $('toast');
  clearTimeout(toast.timer);
  toast.on = false;
  toast.held = false;
  const hadFocus = el.contains(document.activeElement);
  el.hidden = true;
  // the close button is gone with it: back to where the user was
  if (hadFocus || returnFocus) {
    const back = toast.lastFocus;
    if (back && back.isConnected && back.getClientRects().length) back.focus();
  }
}

function initToast() {
  const el = $('toast');
  if (!el || el.dataset.ready) return;
  el.dataset.ready = '1';
  const hold = () => { toast.held = true; clearTimeout(toast.timer); };
  const release = () => {
    toast.held = el.matches(':hover') || el.contains(document.activeElement);
    if (toast.on) startToastTimer();
  };
  el.addEventListener('mouseenter', hold);
  el.addEventListener('mouseleave', release);
  el.addEventListener('focusin', hold);
  el.addEventListener('focusout', () => setTimeout(release, 0));
  el.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    closeToast(true);
  });
  $('toast-close')?.addEventListener('click', () => closeToast(true));
  document.addEventListener('focusin', (e) => {
    if (!el.contains(e.target)) toast.lastFocus = e.target;
    placeToast();
  });
  window.addEventListener('scroll', placeToast, { passive: true });
  window.addEventListener('resize', placeToastSoon);
  new MutationObserver((records) => {
    if (records.some((r) => !el.contains(r.target))) placeToastSoon();
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'] });
}

// module scripts run once the page is parsed: the toast is there
initToast();

let announceTimer = null;
export function announce(text) {
  const region = $('status');
  region.textContent = '';
  // A fresh text node each time so repeated messages are announced again; one still
  // waiting is dropped (a client who just went must not be announced after it).
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { region.textContent = text; }, 50);
  const el = $('toast');
  if (!el) return;
  initToast();
  const shown = $('toast-text') || el;
  shown.textContent = text;
  toast.on = true;
  startToastTimer();
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

// A button that cannot be used now stays in the tab order (aria-disabled, not disabled),
// described by its reason, the visible element `reasonId`; blocked(button) is what its
// handlers ask before they do anything (issue 11).
export function setBlocked(button, reasonId, isBlocked) {
  if (isBlocked) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
  const ids = (button.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  if (isBlocked && !ids.includes(reasonId)) button.setAttribute('aria-describedby', [reasonId, ...ids].join(' '));
}

export function blocked(button) {
  return button.getAttribute('aria-disabled') === 'true';
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

// A client field that takes a name or a client number (the audit trail's and the Outbox's
// filters): what is typed is searched (POST clients/search: the name rides in a body, never
// in a URL, which access logs keep) and offered in the datalist as "Last First (birth date,
// #id)"; choosing one calls onChosen. idOf(typed) is the chosen suggestion's id, the typed
// number, '' for nothing, or null for a name not chosen from the suggestions.
export function clientPicker({ input, list, error, errorText, onChosen }) {
  const chosen = new Map();
  let seq = 0;
  let timer = null;
  const field = $(input);
  field.addEventListener('input', () => {
    clearTimeout(timer);
    const q = field.value.trim();
    if (chosen.has(q)) {
      seq += 1;
      setFieldError(error, '', field);
      onChosen();
      return;
    }
    timer = setTimeout(async () => {
      if (q.length < 2 || /^\d+$/.test(q)) return;
      const mine = ++seq;
      try {
        const doc = await api('POST', 'clients/search', { q, limit: 20 });
        if (mine !== seq) return;
        setFieldError(error, '', field);
        $(list).replaceChildren();
        for (const c of doc.clients || []) {
          const label = (c.first_name + ' ' + c.last_name).trim() + ' (' + c.date_of_birth + ', #' + c.id + ')';
          chosen.set(label, c.id);
          $(list).append(h('option', { value: label }));
        }
        const n = (doc.clients || []).length;
        announce(n ? n + (doc.next_cursor ? ' or more' : '') + (n === 1 ? ' client' : ' clients')
          + ' found. Choose one from the suggestions.' : 'No clients match.');
      } catch (err) {
        if (mine !== seq) return;
        $(list).replaceChildren();
        const text = 'The client search failed: ' + errorText(err);
        setFieldError(error, text, field);
        announce(text);
      }
    }, 250);
  });
  return {
    idOf(typed) {
      const t = typed.trim();
      if (!t) return '';
      if (chosen.has(t)) return String(chosen.get(t));
      return /^[1-9][0-9]*$/.test(t) ? t : null;
    },
  };
}
