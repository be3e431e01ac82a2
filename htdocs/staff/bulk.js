// Client Portal Manager — staff page: invite several clients at once.
//
// Lists the clients of the current search that have no portal account and no invitation
// waiting, lets staff tick them, confirms how many will get an email, sends
// POST /invitations/bulk and tells the result of each client in words.

import { api, $, h, announce, busy, setBlocked, blocked } from './common.js';

// common.js's DATABASE_DOWN, but a bulk invite commits client by client (docs/api.md)
const BULK_DATABASE_DOWN = 'The portal’s database stopped answering partway: some invitations may have '
  + 'been sent; find the clients again to see who is left. Tell your IT contact; try again in a few minutes.';

const PAGE_SIZE = 100;
const BULK_MAX = 500;          // the API's limit per request

// Portal statuses of a client that a new invitation can go to (no account, nothing waiting,
// not declined by the client). Only "not invited yet" is ticked at first.
const INVITABLE = ['not_invited', 'expired', 'failed', 'revoked', 'address_changed', 'declined', 'locked'];
// Listed but not offered: a reinvite after a lock (check the date of birth with the client:
// someone else may have tried the link) or after the recipient declined (did they ask for a
// new one?) is for the client's own page, where staff see why. The server skips them too.
const NEEDS_A_LOOK = ['declined', 'locked'];

const REASON_TEXT = {
  no_email: 'not invited: no email address on file',
  client_declined: 'not invited: the client declined portal access',
  invitation_pending: 'not invited: an invitation is already waiting for a reply',
  already_active: 'not invited: already has a portal account',
  client_discharged: 'not invited: discharged from the practice’s roster',
  not_found: 'not invited: this client is not available to you any more',
  reinvite_on_own_page: 'not invited: reinvite on the client’s own page, after checking with them',
};

const bulk = {
  clients: [],          // the clients listed, in list order
  names: new Map(),     // client id → "Last, First"
  noEmail: new Set(),   // clients a send skipped for having no address (this page's
                        // visit): listed, not ticked at first, and said why
  query: () => '',
  words: {},            // portal status → words
  errorText: (err) => err.message,
  afterInvite: () => {},
};

function listName(c) {
  return c.last_name + ', ' + c.first_name;
}

function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

function checkboxes() {
  return [...$('bulk-list').querySelectorAll('input[type="checkbox"]')];
}

function selectedIds() {
  return checkboxes().filter((b) => b.checked).map((b) => Number(b.value));
}

function updateCount() {
  const n = selectedIds().length;
  const over = n > BULK_MAX;
  $('bulk-count').textContent = plural(n, 'client', 'clients') + ' selected' +
    (over ? ' — at most ' + BULK_MAX + ' can be invited at once.' : n === 0 ? '. Tick at least one to invite.' : '.');
  // focusable while nothing (or too much) is ticked, the count read with it as the reason
  setBlocked($('bulk-invite'), 'bulk-count', n === 0 || over);
  $('bulk-confirm').hidden = true;
}

function showError(text) {
  $('bulk-error').textContent = text || '';
  $('bulk-error').hidden = !text;
}

// Every page of the search, keeping the clients a new invitation can go to.
async function findClients() {
  const found = [];
  let cursor = null;
  do {
    const search = { q: bulk.query(), limit: PAGE_SIZE };
    if (cursor) search.cursor = cursor;
    const data = await api('POST', 'clients/search', search);
    for (const c of data.clients) if (INVITABLE.includes(c.portal_status)) found.push(c);
    cursor = data.next_cursor || null;
  } while (cursor);
  return found;
}

function clientItem(c) {
  const id = 'bulk-c-' + c.id;
  const look = NEEDS_A_LOOK.includes(c.portal_status);
  const noEmail = !look && bulk.noEmail.has(c.id);
  const status = bulk.words[c.portal_status] || c.portal_status;
  const why = look ? 'Reinvite on the client’s own page, after checking with them.'
    : noEmail ? 'Skipped earlier: no email address was on file. Add one on the client’s page first.' : null;
  return h('li', null,
    h('label', { for: id },
      h('input', {
        type: 'checkbox', id, value: String(c.id), checked: c.portal_status === 'not_invited' && !noEmail,
        disabled: look, 'aria-describedby': why ? id + '-why' : null, onchange: updateCount,
      }),
      h('span', null, listName(c) + ' ', h('span', { class: 'bulk-status', text: '(' + status + ')' }))),
    why ? h('p', { class: 'hint', id: id + '-why', text: why }) : null);
}

function renderList() {
  const list = $('bulk-list');
  list.replaceChildren(...bulk.clients.map(clientItem));
  const q = bulk.query();
  $('bulk-legend').textContent = plural(bulk.clients.length, 'client', 'clients') + ' without a portal account' +
    (q ? ' matching “' + q + '”' : '');
  updateCount();
}

async function find(button) {
  await busy(button, async () => {
    showError('');
    $('bulk-results').hidden = true;
    try {
      bulk.clients = await findClients();
    } catch (err) {
      showError(bulk.errorText(err));
      return;
    }
    bulk.names = new Map(bulk.clients.map((c) => [c.id, listName(c)]));
    $('bulk-form').hidden = bulk.clients.length === 0;
    if (bulk.clients.length === 0) {
      showError('');
      announce('No clients without a portal account were found in this search.');
      $('bulk-summary').textContent = 'No clients without a portal account were found in this search.';
      $('bulk-result-list').replaceChildren();
      $('bulk-results').hidden = false;
      return;
    }
    renderList();
    announce(plural(bulk.clients.length, 'client', 'clients') + ' without a portal account found; ' +
      $('bulk-count').textContent);
    checkboxes()[0].focus();
  });
}

function askConfirm(event) {
  event.preventDefault();
  const n = selectedIds().length;
  if (blocked($('bulk-invite')) || n === 0 || n > BULK_MAX) {
    announce($('bulk-count').textContent);   // nothing sent: say why again
    return;
  }
  $('bulk-confirm-text').textContent = 'Send an invitation email to ' + plural(n, 'client', 'clients') +
    '? A client without an email address on file, or who cannot be invited now, is skipped and listed with the reason.';
  $('bulk-confirm-yes').textContent = 'Send ' + plural(n, 'invitation', 'invitations');
  $('bulk-confirm').hidden = false;
  $('bulk-confirm-yes').focus();
}

function resultWords(r) {
  const name = bulk.names.get(r.client_id) || 'Client ' + r.client_id;
  if (r.result === 'queued') return name + ': invitation email on its way';
  return name + ': ' + (REASON_TEXT[r.reason] || 'not invited (' + r.reason + ')');
}

// The invitations are created at once; their emails wait in the outbox (paced by the
// practice's emails per minute), so "sent" would not be true yet.
function summaryWords(queued, skipped) {
  const made = queued === 0 ? 'No invitations created'
    : plural(queued, 'invitation', 'invitations') + ' created; ' +
      (queued === 1 ? 'the email is on its way' : 'the emails are on their way');
  return made + (skipped ? '. ' + plural(skipped, 'client', 'clients') + ' skipped.' : '.');
}

function showResults(results) {
  for (const r of results) if (r.reason === 'no_email') bulk.noEmail.add(r.client_id);
  const queued = results.filter((r) => r.result === 'queued').length;
  const skipped = results.length - queued;
  const summary = summaryWords(queued, skipped);
  $('bulk-summary').textContent = summary;
  $('bulk-result-list').replaceChildren(...results.map((r) =>
    h('li', { class: r.result === 'queued' ? 'bulk-queued' : 'bulk-skipped', text: resultWords(r) })));
  $('bulk-form').hidden = true;
  $('bulk-results').hidden = false;
  $('bulk-results-heading').focus();
  announce(summary);
}

async function send(button) {
  const ids = selectedIds();
  await busy(button, async () => {
    showError('');
    try {
      const data = await api('POST', 'invitations/bulk', { client_ids: ids });
      showResults(data.results || []);
      bulk.afterInvite();
    } catch (err) {
      $('bulk-confirm').hidden = true;
      // each client is its own transaction: those before the failure stay invited
      const text = err.code === 'database_unavailable' ? BULK_DATABASE_DOWN
        : err.status === 503
          ? bulk.errorText(err) + ' Some invitations may have been sent: find the clients again to see who is left.'
          : bulk.errorText(err);
      showError(text);
      announce(text);
      $('bulk-invite').focus();
    }
  });
}

function setAll(checked) {
  for (const b of checkboxes()) if (!b.disabled) b.checked = checked;
  updateCount();
  announce($('bulk-count').textContent);
}

// query(): the search text in the client picker; words: portal status → words;
// errorText(err): an API error in words; afterInvite(): refresh what the page shows.
export function initBulk({ query, words, errorText, afterInvite }) {
  Object.assign(bulk, { query, words, errorText, afterInvite: afterInvite || (() => {}) });
  $('bulk-find').addEventListener('click', (e) => find(e.currentTarget));
  $('bulk-all').addEventListener('click', () => setAll(true));
  $('bulk-none').addEventListener('click', () => setAll(false));
  $('bulk-form').addEventListener('submit', askConfirm);
  $('bulk-confirm-yes').addEventListener('click', (e) => send(e.currentTarget));
  $('bulk-confirm-no').addEventListener('click', () => { $('bulk-confirm').hidden = true; $('bulk-invite').focus(); });
  // Escape in the question is its Cancel, as in the page's other confirmations
  $('bulk-confirm').addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    $('bulk-confirm-no').click();
  });
  $('bulk-close').addEventListener('click', () => { $('bulk-form').hidden = true; $('bulk-find').focus(); });
}

// Not allowed to use the API at all (not staff, signed out): nothing to offer.
export function disableBulk() {
  $('bulk-find').disabled = true;
}
