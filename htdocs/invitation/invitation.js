// Portal invitation — the page the invitation email links to.
//
// The token rides in the fragment (#t=TOKEN) so no server ever sees it in a URL. We take it
// out of the address bar (and so out of the browser's history) at once and keep it for this
// tab only (sessionStorage), so that a reload, Back from the sign-in page or a phone
// restoring a discarded tab opens the same invitation again; it is forgotten as soon as the
// link is used up or refused for good. Opening the page changes
// nothing; only the POSTs below accept or decline. A password reset link (lookup kind
// "reset") gets its own screen from reset.js.

import { showReset } from './reset.js';

const API = 'api/';
// The practice's shortest password comes with the lookup (password_min_length); this is
// only for an answer without it (the module's default).
const FALLBACK_MIN_PASSWORD = 12;

const $ = (id) => document.getElementById(id);

const KEPT_TOKEN = 'portal-invitation-token';
let token = tokenFromAddress() || keptToken();
let invitation = null; // the lookup answer

// The token of the address's #t=, kept for this tab; null when the address has none.
function tokenFromAddress() {
  const hash = location.hash || '';
  const m = /(?:^#|&)t=([^&]*)/.exec(hash);
  if (hash) {
    history.replaceState(history.state, '', location.pathname + location.search);
  }
  if (!m || !m[1]) return null;
  let value;
  try { value = decodeURIComponent(m[1]); } catch { value = m[1]; }
  try { sessionStorage.setItem(KEPT_TOKEN, value); } catch { /* storage off: memory only */ }
  return value;
}

function keptToken() {
  try { return sessionStorage.getItem(KEPT_TOKEN); } catch { return null; }
}

// The link is used up (accepted, declined, a new password set) or refused for good.
function forgetToken() {
  token = null;
  try { sessionStorage.removeItem(KEPT_TOKEN); } catch { /* nothing kept */ }
}

// ---- words ----------------------------------------------------------------------------------
//
// Every word the page shows comes from a catalog, i18n/<code>.json next to the page (section
// "page"), by key: English is a catalog like any other, and a third language is a new file.
// Until the lookup answers, the page speaks the browser's language (the first of
// navigator.languages there is a catalog for, else English); then the recipient's
// (`language` in the answer, or in a refusal that names the invitation).

const I18N = 'i18n/';
const catalogs = new Map(); // code → its "page" section, or null when there is none
let lang = 'en';
let words = {};

async function loadCatalog(code) {
  if (!/^[a-z]{2,3}$/.test(code || '')) return null;
  if (!catalogs.has(code)) {
    let page = null;
    try {
      const res = await fetch(I18N + code + '.json', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      const doc = res.ok ? await res.json() : null;
      if (doc && doc.page && typeof doc.page === 'object') page = doc.page;
    } catch {
      page = null;
    }
    catalogs.set(code, page);
  }
  return catalogs.get(code);
}

// The browser's languages as catalog codes ("es-MX" → "es"), most wanted first, then English.
function browserLanguages() {
  const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  const codes = tags.map((tag) => String(tag || '').toLowerCase().split(/[-_]/)[0]);
  return [...new Set([...codes, 'en'])].filter((c) => /^[a-z]{2,3}$/.test(c));
}

// Speak the first of `codes` there is a catalog for; false when there is none at all.
async function useLanguage(codes) {
  for (const code of codes) {
    const page = await loadCatalog(code);
    if (page) {
      lang = code;
      words = page;
      document.documentElement.lang = code;
      translateStatic();
      return true;
    }
  }
  return false;
}

// The recipient's language from an answer (a known code), keeping the current one otherwise.
async function useAnswerLanguage(code) {
  if (typeof code === 'string' && code !== lang) await useLanguage([code, lang]);
}

// t('welcome.heading_named', {name}) — the catalog's words with {placeholders} filled in (a
// value that ends a sentence with its own period, "4:13 p. m.", takes the template's).
function t(key, vars = {}) {
  const text = typeof words[key] === 'string' ? words[key] : key;
  return text.replace(/\{(\w+)\}(\.?)/g, (m, name, stop) => {
    if (!(name in vars)) return m;
    const value = String(vars[name]);
    return value + (stop && !value.endsWith('.') ? stop : '');
  });
}

// A count's words: key.one, key.other ... as the language's plural rules choose.
function tCount(key, n) {
  const form = key + '.' + new Intl.PluralRules(lang).select(n);
  return t(typeof words[form] === 'string' ? form : key + '.other', { n });
}

// The fixed words of the page: data-i18n (text) and data-i18n-aria-label.
function translateStatic() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}

// The catalog could not be fetched at all: the one fixed line the page has (its noscript).
function showStartFailure() {
  const ns = document.querySelector('noscript');
  const text = ns ? new DOMParser().parseFromString(ns.textContent, 'text/html').body.textContent : '';
  const p = document.createElement('p');
  p.className = 'card';
  p.textContent = text;
  $('view-loading').replaceWith(p);
}

// Problems with the link itself: a whole-page message (problem.CODE.title/text/next) that
// says what to do next.
const PROBLEMS = new Set(['missing_token', 'invalid_token', 'expired', 'superseded', 'address_changed',
  'revoked', 'already_used', 'already_declined', 'locked', 'unavailable', 'network', 'already_active',
  'already_linked']);
const RETRY = new Set(['unavailable', 'network', 'other']);
// ...and those a password reset link has in its own words (problem.reset.CODE.*)
const RESET_PROBLEMS = new Set(['expired', 'superseded', 'address_changed', 'revoked', 'already_used', 'locked']);

const TOKEN_CODES = new Set(['invalid_token', 'expired', 'superseded', 'address_changed', 'revoked',
  'already_used', 'already_declined', 'locked']);
// ...and the answers of /accept that say the recipient already has a way in (an active account
// of their own, or a login that already reaches this client): the sign-in page, not a retry
const SIGN_IN_CODES = new Set(['already_used', 'already_active', 'already_linked']);

// Whom to contact: the practice's name (and phone when the settings have one), from the
// lookup or from the answer that refused the link.
let practice = { name: null, phone: null, brand: null, loginUrl: null };
// The link is a password reset link (the lookup's kind, or the refusal's `reset`): its
// problems are said in its own words (RESET_PROBLEMS).
let resetLink = false;

function notePractice(data) {
  if (data && typeof data.practice_name === 'string') {
    practice = {
      name: data.practice_name,
      phone: typeof data.practice_phone === 'string' ? data.practice_phone : null,
      brand: typeof data.brand_color === 'string' ? data.brand_color : null,
      loginUrl: typeof data.login_url === 'string' ? safeUrl(data.login_url) : null,
    };
  }
  if (data && (data.reset === true || data.kind === 'reset')) resetLink = true;
}

function problemFor(err) {
  if (PROBLEMS.has(err.code)) return err.code;
  if (err.status === 503 || err.code === 'database_unavailable') return 'unavailable';
  return 'other';
}

// The network or service trouble of an accept or decline, in one sentence pair.
function troubleText(err) {
  if (err.code === 'network') return t('problem.network.text') + ' ' + t('problem.network.next');
  if (err.status === 503) return t('problem.unavailable.text') + ' ' + t('problem.unavailable.next');
  return t('error.generic');
}

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message, field, data) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.language = data && typeof data.language === 'string' ? data.language : null;
    this.triesLeft = data && Number.isInteger(data.tries_left) ? data.tries_left : null;
  }
}

async function post(path, body) {
  let res;
  try {
    res = await fetch(API + path, {
      method: 'POST',
      credentials: 'omit',
      cache: 'no-store',
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        'X-Requested-With': 'portal-manager',
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', '');
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  notePractice(data);
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || 'http_' + res.status, e.message, e.field, data);
  }
  return data || {};
}

// ---- views ----------------------------------------------------------------------------------
//
// One <section id="view-NAME"> per screen, shown one at a time; its words are data-i18n keys
// or set by the screen's render function with t(). A new screen: a section, its id here,
// its keys in every catalog.

const VIEWS = ['view-loading', 'view-problem', 'view-invitation', 'view-done', 'view-reset'];

// A new screen says its own words: what the live region still held (or was about to say)
// for the screen before, e.g. "1 try left" under "This invitation is locked", is dropped.
function show(viewId, focusId) {
  for (const id of VIEWS) if ($(id)) $(id).hidden = id !== viewId;
  clearTimeout(announcing);
  $('status').textContent = '';
  if (focusId) $(focusId).focus();
}

let announcing = null; // the timer of the announcement under way

function announce(text) {
  const region = $('status');
  region.textContent = '';
  clearTimeout(announcing);
  announcing = setTimeout(() => { region.textContent = text; }, 50);
}

// "Practice: Riverside Counseling · Phone: (555) 010-0100": whom to contact, or '' when the
// practice is not known.
function contactLine() {
  if (!practice.name) return '';
  return practice.phone ? t('problem.contact_phone', { practice: practice.name, phone: practice.phone })
    : t('problem.contact', { practice: practice.name });
}

// A date of birth the server just refused for this link: sending it again would only cost
// another try, so the page says the same words again without asking until the date changes.
// remember(token, dob, text) after a refusal; repeat(token, dob) → those words, or null.
function rejectedDates() {
  let last = null;
  return {
    remember(link, dob, text) { last = { link, dob, text }; },
    repeat(link, dob) { return last && last.link === link && last.dob === dob ? last.text : null; },
    forget() { last = null; },
  };
}
const rejectedDob = rejectedDates();

function showProblem(code) {
  if (TOKEN_CODES.has(code) || SIGN_IN_CODES.has(code)) forgetToken();
  const keyBase = (resetLink && RESET_PROBLEMS.has(code) ? 'problem.reset.' : 'problem.') + code;
  $('problem-heading').textContent = t(keyBase + '.title');
  $('problem-text').textContent = t(keyBase + '.text');
  $('problem-next').textContent = t(keyBase + '.next');
  $('problem-retry').hidden = !RETRY.has(code) || !token;
  // whose page this is, as the lookup would have said it: the name and colour of the practice
  if (practice.name) $('practice-name').textContent = practice.name;
  if (practice.brand) applyBrand(practice.brand);
  // a used link, or an account the recipient has: the way in is the sign-in page
  $('problem-login').hidden = !(SIGN_IN_CODES.has(code) && practice.loginUrl);
  if (practice.loginUrl) $('problem-login-link').href = practice.loginUrl;
  const contact = $('problem-contact');
  contact.textContent = contactLine();
  contact.hidden = !contact.textContent;
  document.title = t(keyBase + '.title');
  show('view-problem', 'problem-heading');
}

// A moment in the practice's time zone (the lookup's time_zone) and the page's language: the
// catalog's intl_locale (a BCP 47 tag, e.g. es-u-hc-h12 for a 12-hour clock), its
// time_zone_name (how the zone is named, as the emails name it) and its date.at_time
// ({date}, {time}, {zone}), e.g. "December 8, 2026 at 4:13 PM CST" / "8 de diciembre de
// 2026 a las 4:13 p. m. (hora de Chicago)".
// The zone is always named: a representative may live in another one.
function practiceTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const locale = typeof words.intl_locale === 'string' ? words.intl_locale : lang;
  const zoneName = typeof words.time_zone_name === 'string' ? words.time_zone_name : 'short';
  const zone = invitation && invitation.time_zone;
  const format = (timeZone, timeZoneName) => {
    const clock = { hour: 'numeric', minute: '2-digit', timeZone };
    const parts = new Intl.DateTimeFormat(locale, { ...clock, timeZoneName }).formatToParts(d);
    const zone = (parts.find((p) => p.type === 'timeZoneName') || {}).value || '';
    // "a la 1:15" but "a las 8:51": a catalog may word one o'clock apart (date.at_time_one)
    const one = Number((parts.find((p) => p.type === 'hour') || {}).value) === 1
      && typeof words['date.at_time_one'] === 'string';
    return t(one ? 'date.at_time_one' : 'date.at_time', {
      date: new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone }).format(d),
      time: new Intl.DateTimeFormat(locale, clock).format(d),
      zone,
    });
  };
  for (const [timeZone, name] of [[zone || undefined, zoneName], [zone || undefined, 'short']]) {
    try {
      return format(timeZone, name);
    } catch {
      // an older browser without this way of naming zones: the next one
    }
  }
  // a zone this browser does not know: the practice's clock cannot be shown, so say UTC
  return format('UTC', 'short');
}

// ---- brand colour ---------------------------------------------------------------------------

function luminance(hex) {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

// `hex` moved a share of the way toward white (share > 0) or black (share < 0).
function shade(hex, share) {
  const to = share > 0 ? 255 : 0;
  return '#' + [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
    .map((v) => Math.round(v + (to - v) * Math.abs(share)).toString(16).padStart(2, '0')).join('');
}

// The main button's hover colour: the brand moved away from its text (darker under white
// text, lighter under black), so the contrast only grows; where that way is at its end
// (#000000, #ffffff) the other way, as far as the text still reads at 4.5:1 (issue 11).
function hoverColor(color, onBrand) {
  const away = onBrand === '#ffffff' ? -0.12 : 0.12;
  for (const share of [away, -away, -away / 2, -away / 4]) {
    const c = shade(color, share);
    if (c.toLowerCase() !== color.toLowerCase() && contrast(c, onBrand) >= 4.5) return c;
  }
  return color;
}

// Use the practice's colour where it stays readable; CSSOM writes are allowed under the CSP.
function applyBrand(color) {
  if (!/^#[0-9a-fA-F]{6}$/.test(color || '')) return;
  const root = document.documentElement.style;
  // White or black, whichever reads better: one of them always reaches 4.5:1 (a middle grey
  // such as #7c7c7c gets only 4.2:1 from white and from a soft near-black alike).
  const onBrand = contrast(color, '#ffffff') >= contrast(color, '#000000') ? '#ffffff' : '#000000';
  root.setProperty('--brand', color);
  root.setProperty('--on-brand', onBrand);
  root.setProperty('--brand-hover', hoverColor(color, onBrand));
  // Links, focus rings and outlines sit on white: only use the colour there if it is legible.
  if (contrast(color, '#ffffff') >= 4.5) root.setProperty('--accent', color);
}

// ---- lookup ---------------------------------------------------------------------------------

async function lookup() {
  if (!token) {
    showProblem('missing_token');
    return;
  }
  show('view-loading');
  try {
    invitation = await post('lookup', { token });
  } catch (err) {
    await useAnswerLanguage(err.language);
    showProblem(problemFor(err));
    return;
  }
  await useAnswerLanguage(invitation.language);
  if (invitation.kind === 'reset') {
    applyBrand(invitation.brand_color);
    notePractice(invitation);
    $('practice-name').textContent = invitation.practice_name || t('practice.fallback_welcome');
    showReset({
      answer: invitation, token: () => token, post, show, showProblem, problemFor, announce, t, troubleText,
      localTime: practiceTime, safeUrl, tokenCodes: TOKEN_CODES, minPassword, oneCharacterRepeated, finished: forgetToken,
      tCount, rejectedDates, contactLine, showDoneContact,
    });
    return;
  }
  renderInvitation();
}

function renderInvitation() {
  const inv = invitation;
  const name = inv.practice_name || t('practice.fallback_welcome');
  applyBrand(inv.brand_color);
  $('practice-name').textContent = name;
  document.title = t('document.invitation', { practice: name });

  const first = inv.recipient_first_name;
  $('welcome-heading').textContent = first ? t('welcome.heading_named', { name: first }) : t('welcome.heading');
  const isRep = inv.kind === 'representative';
  $('welcome-text').textContent = t(isRep ? 'welcome.representative' : 'welcome.client', { practice: name });
  // declining is the representative's choice: it is the client's care that is not affected
  $('decline-text').textContent = t(isRep ? 'decline.text_representative' : 'decline.text');
  const until = inv.expires_at ? practiceTime(inv.expires_at) : '';
  $('expires-text').textContent = until ? t('welcome.expires', { date: until }) : '';
  $('expires-text').hidden = !until;

  const who = isRep ? 'representative' : 'client';
  $('dob-label').textContent = t('dob.label_' + who);
  $('date-of-birth-hint').textContent = t('dob.hint_' + who);
  $('date-of-birth').setAttribute('autocomplete', isRep ? 'off' : 'bday');
  $('date-of-birth').max = new Date().toISOString().slice(0, 10);
  // a representative may already have a login for another family member: it can join it
  $('login-choice').hidden = !isRep;
  if (!isRep) $('login-new').checked = true;
  applyLoginChoice();
  show('view-invitation', 'welcome-heading');
}

// ---- accept ---------------------------------------------------------------------------------

// "I already have an account": the form asks for that account's username and password
// once (no new-password rules, no second copy) and the POST says existing_login.
function joiningExisting() {
  return !$('login-choice').hidden && $('login-existing').checked;
}

function applyLoginChoice() {
  const join = joiningExisting();
  $('accept-heading').textContent = t(join ? 'accept.heading_existing' : 'accept.heading');
  $('accept-intro').textContent = t(join ? 'accept.intro_existing' : 'accept.intro');
  $('username-label').textContent = t(join ? 'username.label_existing' : 'username.label');
  $('username-hint').textContent = t(join ? 'username.hint_existing' : 'username.hint');
  $('password-label').textContent = t(join ? 'password.label_existing' : 'password.label');
  $('show-passwords-label').textContent = t(join ? 'password.show_one' : 'password.show');
  $('accept-button').textContent = t(join ? 'accept.button_existing' : 'accept.button');
  $('password-rules').hidden = join;
  $('password2-field').hidden = join;
  $('password2').required = !join;
  $('password').setAttribute('autocomplete', join ? 'current-password' : 'new-password');
  const described = ['password-rules', 'password-error'];
  $('password').setAttribute('aria-describedby', described.slice(join ? 1 : 0).join(' '));
  $('rule-length').textContent = t('rules.length', { n: minPassword() });
  for (const id of ['username', 'password', 'password2']) setFieldError(id, '');
}

function minPassword() {
  const n = invitation && invitation.password_min_length;
  return Number.isInteger(n) && n > 0 ? n : FALLBACK_MIN_PASSWORD;
}

function setFieldError(id, text) {
  const input = $(id);
  const el = $(id + '-error');
  el.textContent = text || '';
  el.hidden = !text;
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function clearErrors() {
  for (const id of ['date-of-birth', 'username', 'password', 'password2']) setFieldError(id, '');
  $('accept-error').hidden = true;
}

function showBanner(text) {
  $('accept-error').textContent = text;
  $('accept-error').hidden = false;
  announce(text);
}

const FIELD_IDS = { date_of_birth: 'date-of-birth', username: 'username', password: 'password' };

// The answers of POST /accept the page words itself: [field, words].
// (a verification_failed on the password: the username and password of an account to add
// this person to did not match — it costs a try like a wrong date of birth)
// A representative's wrong date: the invitation is for one person's records — someone who
// cares for several may have given another's date (no name or date said).
function dobMismatchWords() {
  const forRep = invitation !== null && invitation.kind === 'representative';
  return t(forRep ? 'error.dob_mismatch_representative' : 'error.dob_mismatch');
}

const ACCEPT_ERRORS = {
  verification_failed: [(err) => (err.field === 'password' ? 'password' : 'date_of_birth'),
    (err) => (err.field === 'password' ? t('error.link_mismatch') : dobMismatchWords()) + ' '
    + (err.triesLeft === null ? t('error.tries_unknown') : tCount('error.tries_left', err.triesLeft))],
  invalid_date_of_birth: ['date_of_birth', () => t('error.dob_invalid')],
  account_not_linkable: ['username', () => t('error.account_not_linkable')],
  // a taken username costs a try, as a wrong date does: say how many are left
  username_taken: ['username', (err) => t('error.username_taken')
    + (err.triesLeft === null ? '' : ' ' + tCount('error.tries_left', err.triesLeft))],
  invalid_username: ['username', () => t('error.invalid_username')],
  weak_password: ['password', () => t('error.weak_password', { n: minPassword() })],
  password_too_long: ['password', () => t('error.password_too_long')],
  invalid_password: ['password', () => t('error.password_existing_missing')],
};

// "            " or "aaaaaaaaaaaa": long enough, guessed at once (the server refuses it too)
function oneCharacterRepeated(password) {
  const chars = [...password];
  return chars.length > 0 && chars.every((c) => c === chars[0]);
}

function localChecks(values) {
  const errors = [];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.date_of_birth)) {
    errors.push(['date-of-birth', t('error.dob_missing')]);
  }
  if (!values.username) errors.push(['username', t('error.username_missing')]);
  if (values.existing) {
    // the password of an account they have: whatever rule it was chosen under
    if (!values.password) errors.push(['password', t('error.password_existing_missing')]);
    return errors;
  }
  if (!values.password) {
    errors.push(['password', t('error.password_missing')]);
  } else if ([...values.password].length < minPassword()) {
    errors.push(['password', t('error.password_short', { n: minPassword() })]);
  } else if (values.username && values.password.toLowerCase() === values.username.toLowerCase()) {
    errors.push(['password', t('error.password_is_username')]);
  } else if (oneCharacterRepeated(values.password)) {
    errors.push(['password', t('error.password_repeated')]);
  }
  if (values.password && values.password2 !== values.password) {
    errors.push(['password2', t('error.password_mismatch')]);
  }
  return errors;
}

async function onAccept(e) {
  e.preventDefault();
  const form = $('accept-form');
  clearErrors();
  const values = {
    date_of_birth: form.elements.date_of_birth.value,
    username: form.elements.username.value.trim(),
    password: form.elements.password.value,
    password2: form.elements.password2.value,
    existing: joiningExisting(),
  };
  const problems = localChecks(values);
  if (problems.length) {
    for (const [id, text] of problems) setFieldError(id, text);
    $(problems[0][0]).focus();
    announce(problems.map((p) => p[1]).join(' '));
    return;
  }
  const again = rejectedDob.repeat(token, values.date_of_birth);
  if (again) {
    setFieldError('date-of-birth', again);
    $('date-of-birth').focus();
    announce(again);
    return;
  }
  const button = $('accept-button');
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    const answer = await post('accept', {
      token,
      date_of_birth: values.date_of_birth,
      username: values.username,
      password: values.password,
      ...(values.existing ? { existing_login: true } : {}),
    });
    finishAccepted(answer.login_url, answer.linked === true, values.username);
  } catch (err) {
    await handleAnswerError(err, 'accept');
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

async function handleAnswerError(err, action) {
  if (TOKEN_CODES.has(err.code) || SIGN_IN_CODES.has(err.code)) {
    await useAnswerLanguage(err.language);
    showProblem(problemFor(err));
    return;
  }
  if (action === 'decline') {
    const text = troubleText(err);
    $('decline-error').textContent = text;
    $('decline-error').hidden = false;
    announce(text);
    return;
  }
  const known = ACCEPT_ERRORS[err.code];
  if (known) {
    const text = known[1](err);
    const field = FIELD_IDS[typeof known[0] === 'function' ? known[0](err) : known[0]];
    if (err.code === 'verification_failed' && field === 'date-of-birth') {
      rejectedDob.remember(token, $('date-of-birth').value, text);
    }
    setFieldError(field, text);
    $(field).focus();
    announce(text);
    return;
  }
  showBanner(troubleText(err));
}

function safeUrl(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

// The page stays until the person follows the link on: no timed redirect, so that a
// screen reader finishes reading it and the username chosen can be noted.
function finishAccepted(loginUrl, linked, username) {
  forgetToken();
  const target = safeUrl(loginUrl);
  $('done-heading').textContent = t('done.accepted_heading');
  $('done-text').textContent = linked ? t('done.linked_text') : t('done.accepted_text', { username });
  $('done-link').hidden = !target;
  if (target) $('login-link').href = target;
  showDoneContact('');
  document.title = t('document.accepted');
  show('view-done', 'done-heading');
}

// The practice's contact under a done screen ('' hides it).
function showDoneContact(text) {
  $('done-contact').textContent = text;
  $('done-contact').hidden = !text;
}

// ---- decline --------------------------------------------------------------------------------

function openDecline() {
  $('decline-confirm').hidden = false;
  $('decline-open').setAttribute('aria-expanded', 'true');
  $('decline-open').hidden = true;
  $('decline-error').hidden = true;
  $('decline-no').focus();
}

function closeDecline() {
  $('decline-confirm').hidden = true;
  $('decline-open').hidden = false;
  $('decline-open').setAttribute('aria-expanded', 'false');
  $('decline-open').focus();
}

async function onDecline(e) {
  const button = e.currentTarget;
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  $('decline-error').hidden = true;
  try {
    await post('decline', { token });
    forgetToken();
    const name = (invitation && invitation.practice_name) || t('practice.fallback');
    $('done-heading').textContent = t('done.declined_heading');
    $('done-text').textContent = t('done.declined_text', { practice: name });
    $('done-link').hidden = true;
    showDoneContact(contactLine());
    document.title = t('document.declined');
    show('view-done', 'done-heading');
  } catch (err) {
    await handleAnswerError(err, 'decline');
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

// ---- start ----------------------------------------------------------------------------------

$('accept-form').addEventListener('submit', onAccept);
for (const id of ['login-new', 'login-existing']) $(id).addEventListener('change', applyLoginChoice);
$('show-passwords').addEventListener('change', (e) => {
  const type = e.currentTarget.checked ? 'text' : 'password';
  $('password').type = type;
  $('password2').type = type;
});
$('decline-open').addEventListener('click', openDecline);
$('decline-no').addEventListener('click', closeDecline);
// Escape in the question is its "No, go back" (focus returns to "Decline invitation")
$('decline-confirm').addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || $('decline-yes').getAttribute('aria-busy') === 'true') return;
  e.preventDefault();
  closeDecline();
});
$('decline-yes').addEventListener('click', onDecline);
$('problem-retry').addEventListener('click', lookup);
window.addEventListener('hashchange', () => {
  const fresh = tokenFromAddress();
  if (fresh) {
    token = fresh;
    $('accept-form').reset();
    clearErrors();
    lookup();
  }
});

if (await useLanguage(browserLanguages())) lookup();
else showStartFailure();
