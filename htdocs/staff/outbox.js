// Outbox — the champions' screen of the delivery queue (issue 15, docs/api.md).
//
// Lists GET api/admin/outbox newest first, filtered by status and client number, a page
// at a time (next_cursor). Retry now (retrying and failed emails) and cancel (queued and
// retrying ones) ask first, then POST api/admin/outbox/{id}/retry or /cancel; a 409 means
// the email changed meanwhile (the worker took it), so the list is read again.

import {
  api, $, h, announce, busy, showPageError, localTime, usePracticeTimeZone, setFieldError, clientPicker,
  outageText,
} from './common.js';

const STATUS_WORDS = {
  queued: 'Queued', sending: 'Sending', retrying: 'Retrying', sent: 'Sent', bounced: 'Bounced', failed: 'Failed',
  cancelled: 'Cancelled',
};
// what the email was: the API's kind, and for test emails which template (purpose)
const KIND_WORDS = {
  client_invitation: 'Invitation to the client', representative_invitation: 'Invitation to a representative',
  password_reset: 'Password reset', address_notice: 'Notice of an email change (to the old address)',
  test_client: 'Test email (client)', test_representative: 'Test email (representative)',
};
const kindWords = (e) => KIND_WORDS[e.kind === 'test' ? e.purpose : e.kind] || e.kind || e.purpose;

const state = { filter: { status: '', client_id: '' }, cursor: null, clients: null };

function errorText(err) {
  if (err.status === 403) return 'Only portal administrators can see the outbox.';
  if (err.code === 'csrf') return 'The request was blocked for security reasons. Reload the page and try again.';
  if (err.code === 'network') return 'The server could not be reached. Check your connection and try again.';
  if (outageText(err)) return outageText(err);
  return err.message || 'Something went wrong. Please try again.';
}

function query(cursor) {
  const q = new URLSearchParams();
  if (state.filter.status) q.set('status', state.filter.status);
  if (state.filter.client_id) q.set('client_id', state.filter.client_id);
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  return 'admin/outbox' + (s ? '?' + s : '');
}

// a cell with its column's name, which a phone shows beside the value (staff.css: each row
// a card there, the table's head hidden)
function cell(label, text) {
  return h('td', { 'data-label': label, text });
}

// the client's name, a link to their view on the staff page (as the audit trail's rows)
function clientCell(e) {
  if (e.client_id == null) return cell('Client', 'No client (a test email)');
  const name = [e.client_first_name, e.client_last_name].filter(Boolean).join(' ');
  return h('td', { 'data-label': 'Client' },
    h('a', { href: './#client=' + e.client_id, text: name }), ` (number ${e.client_id})`);
}

function who(e) {
  const to = e.to ? ' to ' + e.to : '';
  return e.client_id == null ? 'the test email' + to
    : 'the email to ' + [e.client_first_name, e.client_last_name].join(' ') + (e.to ? ' (' + e.to + ')' : '');
}

// the client's number, as the row shows it, and the address: ten queued emails of one
// kind are told apart by their buttons' names (a test email has no client number)
function whoWithNumber(e) {
  if (e.client_id == null) return who(e);
  return 'the email to ' + [e.client_first_name, e.client_last_name].join(' ') + ' (number ' + e.client_id + ')'
    + (e.to ? ' at ' + e.to : '');
}

function actionButton(e, action) {
  const label = action === 'retry' ? 'Retry now' : 'Cancel';
  const b = h('button', {
    type: 'button', class: 'btn btn-small ' + (action === 'retry' ? 'btn-secondary' : 'btn-danger'),
    text: label, 'aria-label': label + ': ' + whoWithNumber(e),
  });
  b.addEventListener('click', () => changeRow(b, e, action));
  return b;
}

// the server's last reply, or what came back later (portal-manager-admin bounce): a hard
// bounce is the email's status (bounced), a soft one a delay the recipient's server may get past
function replyText(e) {
  if (e.bounce && e.bounce.type === 'hard') return 'Bounced: ' + (e.bounce.reason || 'no reason given');
  if (e.bounce) return 'Soft bounce (it may still arrive): ' + (e.bounce.reason || 'no reason given');
  return e.last_error || '';
}

// When the worker tries next. A time already past is no promise: during an outage the
// module leaves next_attempt_at at the email's creation and sends once the relay answers
// (and says why it waits in last_error). An email never tried that has no error is only
// waiting its turn (the worker is woken at once; max_emails_per_minute may hold it a while).
function nextTry(e) {
  if (e.status === 'sending') return 'Being sent now';
  const t = Date.parse(e.next_attempt_at);
  if (!Number.isFinite(t)) return '';
  if (t > Date.now()) return localTime(e.next_attempt_at);
  return neverTried(e) ? 'Waiting its turn (not tried yet)' : 'As soon as the mail server answers';
}

function neverTried(e) {
  return e.status === 'queued' && !e.attempts && !e.last_error;
}

// When it was queued and, once out, when the mail server took it: the champion who is
// asked "did the email go?" answers with a time.
function whenCell(e) {
  const td = h('td', { 'data-label': 'Queued and sent' });
  if (e.created_at) td.append(h('span', { class: 'when', text: 'Queued ' + localTime(e.created_at) }));
  if (e.sent_at) td.append(h('span', { class: 'when', text: 'Sent ' + localTime(e.sent_at) }));
  return td;
}

function rowFor(e) {
  const actions = h('td', { class: 'actions-cell' });
  if (e.status === 'retrying' || e.status === 'failed') actions.append(actionButton(e, 'retry'));
  if (e.status === 'queued' || e.status === 'retrying') actions.append(actionButton(e, 'cancel'));
  const waiting = ['queued', 'retrying', 'sending'].includes(e.status);
  return h('tr', { 'data-id': String(e.id) },
    cell('Status', STATUS_WORDS[e.status] || e.status),
    clientCell(e),
    cell('To', e.to || ''),
    cell('Kind', kindWords(e)),
    cell('Attempts', String(e.attempts)),
    cell('Next try', waiting ? nextTry(e) : ''),
    cell('Last server reply', replyText(e)),
    whenCell(e),
    actions);
}

// a count at the server's cap means "that many or more" (counts stop there)
function countText(n, cap) {
  return cap && n >= cap ? `${cap.toLocaleString('en-US')}+` : (n || 0).toLocaleString('en-US');
}

function showCounts(c, cap) {
  $('counts').textContent = `${countText(c.queued, cap)} waiting, ${countText(c.failed, cap)} failed or cancelled; `
    + `${countText(c.sent_last_7_days, cap)} sent in the last 7 days.`;
}

async function load(more) {
  const d = await api('GET', query(more ? state.cursor : null));
  if (!more) $('rows').replaceChildren();
  for (const e of d.entries || []) $('rows').append(rowFor(e));
  state.cursor = d.next_cursor;
  $('more').hidden = !state.cursor;
  $('empty').hidden = $('rows').children.length > 0;
  showCounts(d.counts || {}, d.counts_cap);
  return d;
}

// The counts line read again after a row changed (GET admin/outbox answers the counts with
// any page: one entry is enough). Should that read fail, the line stays as it was.
async function refreshCounts() {
  try {
    const d = await api('GET', 'admin/outbox?limit=1');
    showCounts(d.counts || {}, d.counts_cap);
  } catch {
    // the change itself went through; the next Show reads the counts again
  }
}

// The pressed button left with its row: keyboard focus goes to the changed row's next
// action, else the following rows' first, else the filter's Show button — not back to the
// top of the page.
function focusAfterChange(row) {
  let target = row.querySelector('button');
  for (let r = row.nextElementSibling; !target && r; r = r.nextElementSibling) target = r.querySelector('button');
  (target || $('filters').querySelector('button[type=submit]')).focus();
}

async function changeRow(button, e, action) {
  const question = action === 'retry'
    ? `Send ${who(e)} again now?`
    : `Cancel ${who(e)}? It will not be sent.`;
  if (!window.confirm(question)) return;
  await busy(button, async () => {
    try {
      const row = await api('POST', `admin/outbox/${e.id}/${action}`, {});
      const tr = document.querySelector(`tr[data-id="${e.id}"]`);
      if (tr) {
        const fresh = rowFor(row);
        tr.replaceWith(fresh);
        focusAfterChange(fresh);
      }
      await refreshCounts();
      announce(action === 'retry' ? 'The email will be sent again now.' : 'The email is cancelled.');
    } catch (err) {
      if (err.status === 409) {
        announce('This email changed meanwhile: ' + (err.message || '') + ' The list is shown again.');
        await load(false);
      } else {
        showPageError(errorText(err));
      }
    }
  });
}

function readFilters() {
  const client = state.clients.idOf($('client-filter').value);
  setFieldError('client-filter-error', '', $('client-filter'));
  if (client === null) {
    setFieldError('client-filter-error', 'Choose the client from the suggestions, or type the client number.',
      $('client-filter'));
    $('client-filter').focus();
    return false;
  }
  state.filter = { status: $('status-filter').value, client_id: client };
  return true;
}

function init() {
  // choosing a suggested client shows that client's emails at once
  state.clients = clientPicker({ input: 'client-filter', list: 'client-filter-options', error: 'client-filter-error',
    errorText, onChosen: () => $('filters').requestSubmit() });
  $('filters').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!readFilters()) return;
    try {
      const n = ((await load(false)).entries || []).length;
      announce(n + (n === 1 ? ' email' : ' emails') + ' shown.');
    } catch (err) {
      showPageError(errorText(err));
    }
  });
  $('more').addEventListener('click', (ev) => busy(ev.currentTarget, async () => {
    try {
      await load(true);
    } catch (err) {
      showPageError(errorText(err));
    }
  }));
}

async function start() {
  init();
  try {
    const me = await api('GET', 'me');
    $('who').textContent = 'Signed in as ' + (me.display_name || me.username);
    usePracticeTimeZone(me.time_zone);
    for (const id of ['settings-link', 'audit-link', 'overview-link']) $(id).hidden = !me.admin;
    if (!me.admin) {
      $('loading').hidden = true;
      showPageError('Only portal administrators can see the outbox.');
      return;
    }
    await load(false);
  } catch (err) {
    $('loading').hidden = true;
    showPageError(errorText(err));
    return;
  }
  $('loading').hidden = true;
  $('outbox').hidden = false;
}

start();
