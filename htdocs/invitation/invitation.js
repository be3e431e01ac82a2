// Portal invitation — the page the invitation email links to.
//
// The token rides in the fragment (#t=TOKEN) so no server ever sees it in a URL. We take it
// out of the address bar at once and keep it in memory only. Opening the page changes
// nothing; only the POSTs below accept or decline. A password reset link (lookup kind
// "reset") gets its own screen from reset.js.

import { showReset } from './reset.js';

const API = 'api/';
// The practice's shortest password comes with the lookup (password_min_length); this is
// only for an answer without it (the module's default).
const FALLBACK_MIN_PASSWORD = 12;

const $ = (id) => document.getElementById(id);

let token = takeToken();
let invitation = null; // the lookup answer

function takeToken() {
  const hash = location.hash || '';
  const m = /(?:^#|&)t=([^&]*)/.exec(hash);
  if (hash) {
    history.replaceState(history.state, '', location.pathname + location.search);
  }
  if (!m || !m[1]) return null;
  try { return decodeURIComponent(m[1]); } catch { return m[1]; }
}

// ---- words ----------------------------------------------------------------------------------

const CONTACT = 'contact the practice';

// Problems with the link itself: a whole-page message that says what to do next.
const PROBLEMS = {
  missing_token: {
    title: 'This link is incomplete',
    text: 'This page needs the full link from your invitation email.',
    next: 'Please open the link in the email again. If you copied it, make sure you copied all of it.',
  },
  invalid_token: {
    title: 'This invitation link doesn’t work',
    text: 'The link may be incomplete, or the invitation may have been cancelled.',
    next: 'Please open the link from your email again. If it still doesn’t work, ' + CONTACT + ' and ask for a new invitation.',
  },
  expired: {
    title: 'This invitation has expired',
    text: 'Invitations are valid for a limited time, and this one has run out.',
    next: 'Please ' + CONTACT + ' and ask them to send you a new invitation.',
  },
  superseded: {
    title: 'A newer invitation was sent to you',
    text: 'The practice sent you a newer email, so this link no longer works.',
    next: 'Please use the link in the most recent invitation email. If you can’t find it, check your spam or junk folder, or ' + CONTACT + '.',
  },
  address_changed: {
    title: 'This invitation link is no longer valid',
    text: 'The practice has changed the email address it has on file for you, so this link no longer works.',
    next: 'If you want to use the client portal, please ' + CONTACT + '.',
  },
  revoked: {
    title: 'This invitation was withdrawn',
    text: 'The practice withdrew this invitation, so the link no longer works.',
    next: 'If you still want to use the client portal, please ' + CONTACT + '.',
  },
  already_used: {
    title: 'This invitation has already been used',
    text: 'Someone has already answered this invitation, either by creating an account or by declining.',
    next: 'If you created an account, sign in to the portal with your username and password. If that wasn’t you, please ' + CONTACT + '.',
  },
  locked: {
    title: 'This invitation is locked',
    text: 'For your security, the invitation was locked after too many tries with a date of birth that didn’t match.',
    next: 'Please ' + CONTACT + '. They can check your details and send you a new invitation.',
  },
  unavailable: {
    title: 'We can’t check your invitation right now',
    text: 'The service is busy or can’t be reached at the moment. Your invitation is not affected.',
    next: 'Please try again in a few minutes.',
    retry: true,
  },
  network: {
    title: 'We can’t reach the service',
    text: 'Your device could not connect. Your invitation is not affected.',
    next: 'Please check your internet connection and try again.',
    retry: true,
  },
};

const TOKEN_CODES = new Set(['invalid_token', 'expired', 'superseded', 'address_changed', 'revoked',
  'already_used', 'locked']);

// Whom to contact: the practice's name (and phone when the settings have one), from the
// lookup or from the answer that refused the link.
let practice = { name: null, phone: null };

function notePractice(data) {
  if (data && typeof data.practice_name === 'string') {
    practice = { name: data.practice_name, phone: typeof data.practice_phone === 'string' ? data.practice_phone : null };
  }
}

function problemFor(err) {
  if (PROBLEMS[err.code]) return PROBLEMS[err.code];
  if (err.status === 503 || err.code === 'database_unavailable') return PROBLEMS.unavailable;
  return {
    title: 'Something went wrong',
    text: err.message || 'The invitation could not be checked.',
    next: 'Please try again later. If it keeps happening, ' + CONTACT + '.',
    retry: true,
  };
}

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
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
    throw new ApiError(res.status, e.code || 'http_' + res.status, e.message, e.field);
  }
  return data || {};
}

// ---- views ----------------------------------------------------------------------------------

const VIEWS = ['view-loading', 'view-problem', 'view-invitation', 'view-done', 'view-reset'];

function show(viewId, focusId) {
  for (const id of VIEWS) if ($(id)) $(id).hidden = id !== viewId;
  if (focusId) $(focusId).focus();
}

function announce(text) {
  const region = $('status');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}

function showProblem(problem) {
  $('problem-heading').textContent = problem.title;
  $('problem-text').textContent = problem.text;
  $('problem-next').textContent = problem.next;
  $('problem-retry').hidden = !problem.retry || !token;
  const contact = $('problem-contact');
  contact.hidden = !practice.name;
  contact.textContent = practice.name
    ? 'Practice: ' + practice.name + (practice.phone ? ' · Phone: ' + practice.phone : '')
    : '';
  document.title = problem.title;
  show('view-problem', 'problem-heading');
}

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function localTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateTimeFmt.format(d);
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

// Use the practice's colour where it stays readable; CSSOM writes are allowed under the CSP.
function applyBrand(color) {
  if (!/^#[0-9a-fA-F]{6}$/.test(color || '')) return;
  const root = document.documentElement.style;
  const onBrand = contrast(color, '#ffffff') >= 4.5 ? '#ffffff' : '#14191c';
  root.setProperty('--brand', color);
  root.setProperty('--on-brand', onBrand);
  // Links, focus rings and outlines sit on white: only use the colour there if it is legible.
  if (contrast(color, '#ffffff') >= 4.5) root.setProperty('--accent', color);
}

// ---- lookup ---------------------------------------------------------------------------------

async function lookup() {
  if (!token) {
    showProblem(PROBLEMS.missing_token);
    return;
  }
  show('view-loading');
  try {
    invitation = await post('lookup', { token });
  } catch (err) {
    showProblem(problemFor(err));
    return;
  }
  if (invitation.kind === 'reset') {
    applyBrand(invitation.brand_color);
    $('practice-name').textContent = invitation.practice_name || 'Your care provider';
    showReset({
      answer: invitation, token: () => token, post, show, showProblem, problemFor, announce,
      localTime, safeUrl, tokenCodes: TOKEN_CODES, minPassword, finished: () => { token = null; },
    });
    return;
  }
  renderInvitation();
}

function renderInvitation() {
  const inv = invitation;
  const practice = inv.practice_name || 'Your care provider';
  applyBrand(inv.brand_color);
  $('practice-name').textContent = practice;
  document.title = 'Portal invitation from ' + practice;

  const first = inv.recipient_first_name;
  $('welcome-heading').textContent = first ? 'Welcome, ' + first : 'Welcome';
  const isRep = inv.kind === 'representative';
  $('welcome-text').textContent = isRep
    ? practice + ' has invited you to their secure client portal as the representative of one of their clients.'
    : practice + ' has invited you to set up an account for their secure client portal.';
  const until = inv.expires_at ? localTime(inv.expires_at) : '';
  $('expires-text').textContent = until ? 'This invitation is valid until ' + until + '.' : '';
  $('expires-text').hidden = !until;

  $('accept-intro').textContent = 'It takes about a minute. We ask for the date of birth to make sure the invitation reached the right person.';
  if (isRep) {
    $('dob-label').textContent = 'The client’s date of birth';
    $('date-of-birth-hint').textContent = 'Enter the date of birth of the person you are a representative for, not your own.';
    $('date-of-birth').setAttribute('autocomplete', 'off');
  } else {
    $('dob-label').textContent = 'Your date of birth';
    $('date-of-birth-hint').textContent = 'As the practice has it on file.';
    $('date-of-birth').setAttribute('autocomplete', 'bday');
  }
  $('date-of-birth').max = new Date().toISOString().slice(0, 10);
  $('min-length').textContent = String(minPassword());
  show('view-invitation', 'welcome-heading');
}

// ---- accept ---------------------------------------------------------------------------------

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

const ACCEPT_ERRORS = {
  verification_failed: ['date_of_birth', 'That date of birth doesn’t match what the practice has on file. Please check it and try again. For your security, the invitation locks after several wrong tries.'],
  username_taken: ['username', 'That username is already taken. Please choose a different one.'],
  weak_password: ['password', () => 'Please choose a stronger password: at least ' + minPassword() + ' characters, and not your username or email address.'],
};

function localChecks(values) {
  const errors = [];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.date_of_birth)) {
    errors.push(['date-of-birth', 'Please enter the date of birth.']);
  }
  if (!values.username) errors.push(['username', 'Please choose a username.']);
  if (!values.password) {
    errors.push(['password', 'Please choose a password.']);
  } else if ([...values.password].length < minPassword()) {
    errors.push(['password', 'Your password is too short. Please use at least ' + minPassword() + ' characters.']);
  } else if (values.username && values.password.toLowerCase() === values.username.toLowerCase()) {
    errors.push(['password', 'Your password can’t be the same as your username.']);
  }
  if (values.password && values.password2 !== values.password) {
    errors.push(['password2', 'The two passwords don’t match. Please type the same password twice.']);
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
  };
  const problems = localChecks(values);
  if (problems.length) {
    for (const [id, text] of problems) setFieldError(id, text);
    $(problems[0][0]).focus();
    announce(problems.map((p) => p[1]).join(' '));
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
    });
    finishAccepted(answer.login_url);
  } catch (err) {
    handleAnswerError(err, 'accept');
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

function handleAnswerError(err, action) {
  if (TOKEN_CODES.has(err.code)) {
    showProblem(problemFor(err));
    return;
  }
  if (action === 'decline') {
    const text = err.code === 'network' ? PROBLEMS.network.text + ' ' + PROBLEMS.network.next
      : err.status === 503 ? PROBLEMS.unavailable.text + ' ' + PROBLEMS.unavailable.next
        : (err.message || 'Something went wrong.') + ' Please try again, or ' + CONTACT + '.';
    $('decline-error').textContent = text;
    $('decline-error').hidden = false;
    announce(text);
    return;
  }
  const known = ACCEPT_ERRORS[err.code];
  const field = known ? known[0] : err.field;
  const text = known ? (typeof known[1] === 'function' ? known[1]() : known[1]) : err.message;
  if (field && FIELD_IDS[field] && text) {
    setFieldError(FIELD_IDS[field], text);
    $(FIELD_IDS[field]).focus();
    announce(text);
    return;
  }
  if (err.code === 'network') showBanner(PROBLEMS.network.text + ' ' + PROBLEMS.network.next);
  else if (err.status === 503) showBanner(PROBLEMS.unavailable.text + ' ' + PROBLEMS.unavailable.next);
  else showBanner((err.message || 'Something went wrong.') + ' Please try again. If it keeps happening, ' + CONTACT + '.');
}

function safeUrl(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

function finishAccepted(loginUrl) {
  token = null;
  const target = safeUrl(loginUrl);
  $('done-heading').textContent = 'Your account is ready';
  $('done-text').textContent = target
    ? 'Taking you to the sign-in page now. Sign in with the username and password you just chose.'
    : 'You can now sign in to the portal with the username and password you just chose.';
  $('done-link').hidden = !target;
  if (target) $('login-link').href = target;
  document.title = 'Your account is ready';
  show('view-done', 'done-heading');
  if (target) setTimeout(() => { location.assign(target); }, 1200);
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
    token = null;
    const practice = (invitation && invitation.practice_name) || 'the practice';
    $('done-heading').textContent = 'You declined the invitation';
    $('done-text').textContent = 'Thank you for letting us know. ' + practice +
      ' can see that you declined. If you change your mind, contact them and ask for a new invitation.';
    $('done-link').hidden = true;
    document.title = 'Invitation declined';
    show('view-done', 'done-heading');
  } catch (err) {
    handleAnswerError(err, 'decline');
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

// ---- start ----------------------------------------------------------------------------------

$('accept-form').addEventListener('submit', onAccept);
$('show-passwords').addEventListener('change', (e) => {
  const type = e.currentTarget.checked ? 'text' : 'password';
  $('password').type = type;
  $('password2').type = type;
});
$('decline-open').addEventListener('click', openDecline);
$('decline-no').addEventListener('click', closeDecline);
$('decline-yes').addEventListener('click', onDecline);
$('problem-retry').addEventListener('click', lookup);
window.addEventListener('hashchange', () => {
  const fresh = takeToken();
  if (fresh) {
    token = fresh;
    $('accept-form').reset();
    clearErrors();
    lookup();
  }
});

lookup();
