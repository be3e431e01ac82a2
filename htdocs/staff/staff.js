// Client Portal Manager — staff page.
//
// Talks to the staff JSON API under ./api (relative, so the page works wherever the admin
// mounts it). State lives in memory only: nothing about a client goes into the URL,
// localStorage or sessionStorage.

import {
  api, $, h, localTime, timeEl, calendarDate, announce, setFieldError, clearFormErrors,
  busy, showPageError, apiTagged, usePracticeTimeZone, setBlocked, blocked, outageText, shortTime,
} from './common.js';
import { initBulk, disableBulk } from './bulk.js';
import { initNotices } from './notices.js';
import { ACTION_WORDS, RESULT_WORDS } from './words.js';

const SEARCH_DEBOUNCE_MS = 250;
const PAGE_SIZE = 25;
const POLL_MS = 3000;
const NOTE_MAX = 500;

// ---- words a receptionist understands -------------------------------------------------------

const PORTAL_STATUS = {
  active: 'Has a portal account',
  invited: 'Invited, waiting for a reply',
  declined_by_client: 'Client declined portal access',
  declined: 'Declined the invitation',
  expired: 'Invitation expired',
  failed: 'Invitation email could not be delivered',
  email_cancelled: 'Invitation email cancelled before it went',
  locked: 'Invitation locked after too many wrong tries',
  revoked: 'Invitation revoked by staff',
  address_changed: 'Email address changed; not invited at the new address yet',
  account_disabled: 'Portal account turned off',
  access_ended: 'Access to this client ended; the portal account is kept',
  not_invited: 'Not invited yet',
};

const STATUS_TONE = {
  active: 'good', invited: 'info', declined_by_client: 'warn', declined: 'warn',
  expired: 'muted', failed: 'bad', email_cancelled: 'warn', locked: 'bad', revoked: 'muted', not_invited: 'muted', account_disabled: 'muted', access_ended: 'muted',
  accepted: 'good', pending: 'info', queued: 'info', superseded: 'muted', address_changed: 'muted',
};

// the languages of the emails (one catalog each, htdocs/invitation/i18n)
const LANGUAGE = { en: 'English', es: 'Español' };
const RELATIONSHIP = {
  parent: 'Parent', guardian: 'Guardian', spouse: 'Spouse', caregiver: 'Caregiver', other: 'Other',
};
const SCOPE = { messages: 'Messages', billing: 'Billing', forms: 'Forms', appointments: 'Appointments' };
const SCOPES = Object.keys(SCOPE);

const ERROR_TEXT = {
  invalid_email: 'Please enter a complete email address, like name@example.com.',
  email_bounced: 'An email to this address bounced: the address does not work. Check it with the person, then change it (or, if they say it works now, save it again with “change”).',
  no_email: 'Add the client’s email address above first, then send the invitation.',
  client_declined: 'The client declined portal access. Use “Undo client declined” first if they have changed their mind.',
  invitation_pending: 'An invitation is already waiting for a reply. Resend it or revoke it instead.',
  already_active: 'This person already has a portal account, so no invitation is needed.',
  client_discharged: 'The client was discharged from the practice’s roster, so no invitation can be sent. Readmitting them in the EHR brings them back.',
  account_active: 'The client has a portal account. Tick the box to turn it off too, or cancel.',
  not_pending: 'This invitation has already been answered or closed, so it can’t be changed. The list is up to date now.',
  duplicate_representative: 'This person is already a representative for this client.',
  invalid_name: 'Please enter the first and last name.',
  invalid_note: 'The note can be at most 500 characters.',
  invalid_relationship: 'Please choose a relationship from the list.',
  invalid_scopes: 'One of the chosen parts of the portal is turned off in the portal settings. Reload the page.',
  invalid_dates: 'Please enter real dates, with the access ending on or after the day it starts.',
  invalid_language: 'Please choose a language from the list.',
  csrf: 'The request was blocked for security reasons. Reload the page and try again.',
  not_staff: 'Your access to the Client Portal Manager is not set up or was turned off. Ask the practice’s portal champion or IT contact.',
  not_authenticated: 'You are not signed in. Reload the page to sign in; copy anything you typed first, as text in open forms is lost when the page reloads.',
  invalid_cursor: 'The client list changed while you were looking. Please search again.',
  already_disabled: 'This account was already turned off. The list is up to date now.',
  already_enabled: 'This account is already active. The list is up to date now.',
  representative_removed: 'This representative was removed from the client, so their account stays off. Invite them again if they should have access.',
  invalid_reason: 'The reason can be at most 500 characters.',
  network: 'Could not reach the server. Check the network connection and try again.',
};

// A client this user can no longer open (GET answers 404 alike for one removed and one
// taken off the caseload): said the same after any action and any refresh.
const CLIENT_GONE = 'This client is no longer available to you: they left your caseload or were removed, or you no longer have access to them. Search for another client.';

function errorText(err, overrides = {}) {
  const override = overrides[err.code];
  if (override) return typeof override === 'function' ? override(err) : override;
  if (err.code === 'resend_too_soon') {
    return 'This invitation was sent very recently. ' + waitText(err.retryAfter);
  }
  if (ERROR_TEXT[err.code]) return ERROR_TEXT[err.code];
  if (err.status === 401) return ERROR_TEXT.not_authenticated;
  if (err.status === 403) return 'You don’t have permission to do that.';
  if (outageText(err)) return outageText(err);
  if (err.message) return err.message;
  return 'Something went wrong (error ' + err.status + '). Please try again.';
}

function waitText(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return 'Please try again in a few minutes.';
  if (seconds < 60) return 'You can resend it in less than a minute.';
  const minutes = Math.ceil(seconds / 60);
  return 'You can resend it in about ' + minutes + (minutes === 1 ? ' minute.' : ' minutes.');
}

function fullName(p) {
  return [p.first_name, p.last_name].filter(Boolean).join(' ');
}

function listName(p) {
  return p.last_name + ', ' + p.first_name;
}

// Show an API error next to the field it names (falling back to the form's own message
// element) and move focus there, so keyboard and screen-reader users land on it.
function showFormError(form, err, fallbackId, overrides) {
  const text = errorText(err, overrides);
  const input = err.field ? form.elements.namedItem(err.field) : null;
  if (input && input.id && $(input.id + '-error')) {
    setFieldError(input.id + '-error', text, input);
    input.focus();
  } else {
    setFieldError(fallbackId, text);
  }
  announce(text);
}

// ---- state ----------------------------------------------------------------------------------

const state = {
  me: null,
  clientId: null,      // the chosen client (memory only)
  view: null,          // last GET clients/{id}
  generation: 0,       // bumps when the chosen client changes; stale answers are dropped
  pollTimer: null,
  etag: null, // the open client's view version (ETag), for the refresh
  confirming: null,    // key of the inline confirmation currently open, e.g. "revoke:12"
  itemErrors: new Map(), // key → message shown next to a list item
};

// ---- client combobox ------------------------------------------------------------------------

const combo = {
  input: null,
  list: null,
  toggle: null,
  items: [],         // clients shown, in API order
  nextCursor: null,
  query: '',
  active: -1,        // index into options (items, then "more")
  timer: null,
  controller: null,
  seq: 0,
  open: false,
  pending: false,    // typed text not yet answered by a search
  inFlight: null,    // the promise of the search on its way
  queuedMoves: 0,    // ArrowDown presses made before the answer came
  chosen: '',        // the box's text when a client was last chosen from the list
};

function comboOptions() {
  return [...combo.list.querySelectorAll('[role="option"]')];
}

function setExpanded(open) {
  combo.open = open;
  combo.list.hidden = !open;
  combo.input.setAttribute('aria-expanded', String(open));
  combo.toggle.setAttribute('aria-expanded', String(open));
  if (!open) {
    combo.active = -1;
    combo.input.removeAttribute('aria-activedescendant');
  }
}

function setActive(index) {
  const options = comboOptions();
  if (!options.length) return;
  index = Math.max(0, Math.min(index, options.length - 1));
  options.forEach((o, i) => {
    o.classList.toggle('is-active', i === index);
    o.setAttribute('aria-selected', String(i === index));
  });
  combo.active = index;
  combo.input.setAttribute('aria-activedescendant', options[index].id);
  options[index].scrollIntoView({ block: 'nearest' });
}

function renderCombo(message) {
  const list = combo.list;
  list.replaceChildren();
  combo.items.forEach((c) => {
    list.append(h('li', {
      id: 'client-opt-' + c.id, role: 'option', class: 'option', 'aria-selected': 'false',
      'data-id': c.id,
    },
    h('span', { class: 'option-name', text: listName(c) }),
    h('span', { class: 'option-meta' },
      'born ' + calendarDate(c.date_of_birth) + (c.external_id ? ' · chart ' + c.external_id : '')
        + ' · ' + (PORTAL_STATUS[c.portal_status] || c.portal_status))));
  });
  if (combo.nextCursor) {
    list.append(h('li', { id: 'client-more', role: 'option', class: 'option option-more', 'aria-selected': 'false' },
      'Show more clients…'));
  }
  if (message) {
    list.append(h('li', { role: 'presentation', class: 'option-message', text: message }));
  }
}

async function loadClients({ append = false } = {}) {
  const seq = ++combo.seq;
  if (combo.controller) combo.controller.abort();
  combo.controller = new AbortController();
  // the search text goes in a POST body, never in a URL: access logs keep URLs
  const search = { q: combo.query, limit: PAGE_SIZE };
  if (append && combo.nextCursor) search.cursor = combo.nextCursor;
  setFieldError('client-search-error', '', combo.input);
  combo.input.setAttribute('aria-busy', 'true');
  try {
    const data = await api('POST', 'clients/search', search, combo.controller.signal);
    if (seq !== combo.seq) return;
    if (!append) combo.pending = false;
    const before = combo.items.length;
    combo.items = append ? combo.items.concat(data.clients) : data.clients;
    combo.nextCursor = data.next_cursor || null;
    const none = combo.items.length === 0;
    renderCombo(none ? (combo.query ? 'No clients match “' + combo.query + '”.' : 'No clients to show.') : '');
    setExpanded(true);
    if (append) {
      setActive(before);
      announce(data.clients.length + ' more clients shown.');
    } else {
      announce(none ? 'No clients found.'
        : combo.items.length + (combo.nextCursor ? ' or more' : '') +
          (combo.items.length === 1 && !combo.nextCursor ? ' client found. Press Enter to open it.'
            : ' clients found. Use the arrow keys to choose.'));
    }
  } catch (err) {
    if (err.name === 'AbortError' || seq !== combo.seq) return;
    if (err.code === 'invalid_cursor') {
      combo.nextCursor = null;
    }
    setFieldError('client-search-error', errorText(err), combo.input);
    announce(errorText(err));
  } finally {
    if (seq === combo.seq) combo.input.removeAttribute('aria-busy');
  }
}

function scheduleSearch() {
  clearTimeout(combo.timer);
  combo.queuedMoves = 0;
  // What is listed no longer matches the text: nothing is "active" until the answer comes.
  combo.pending = true;
  if (combo.open) {
    combo.active = -1;
    combo.input.removeAttribute('aria-activedescendant');
    for (const o of comboOptions()) { o.classList.remove('is-active'); o.setAttribute('aria-selected', 'false'); }
  }
  combo.timer = setTimeout(searchNow, SEARCH_DEBOUNCE_MS);
}

// Search for what is typed now (skipping the rest of the debounce wait).
function searchNow() {
  clearTimeout(combo.timer);
  combo.timer = null;
  combo.query = combo.input.value.trim();
  combo.nextCursor = null;
  combo.inFlight = loadClients();
  return combo.inFlight;
}

function chooseOption(option) {
  if (!option) return;
  if (option.id === 'client-more') {
    loadClients({ append: true });
    return;
  }
  const id = Number(option.dataset.id);
  const client = combo.items.find((c) => c.id === id);
  if (!client) return;
  combo.input.value = listName(client);
  combo.chosen = combo.input.value;
  setExpanded(false);
  // the next name typed replaces this one, never appends to it
  if (document.activeElement === combo.input) combo.input.select();
  selectClient(client);
}

// Enter with nothing chosen: the one client the search found, if it found exactly one.
function chooseOnlyMatch() {
  if (combo.items.length !== 1 || combo.nextCursor) return false;
  chooseOption(comboOptions()[0]);
  return true;
}

function initCombobox() {
  combo.input = $('client-search');
  combo.list = $('client-listbox');
  combo.toggle = $('client-toggle');

  combo.input.addEventListener('input', scheduleSearch);
  combo.input.addEventListener('keydown', (e) => {
    const options = comboOptions();
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (combo.pending || !combo.open) {
          if (!combo.pending && combo.items.length && combo.query === combo.input.value.trim()) {
            setExpanded(true);
            setActive(0);
          } else {
            // Arrow presses made while the answer is on its way still count.
            combo.queuedMoves += 1;
            const search = combo.timer || !combo.inFlight ? searchNow() : combo.inFlight;
            search.then(() => {
              if (combo.queuedMoves && combo.open && !combo.pending) setActive(combo.queuedMoves - 1);
              combo.queuedMoves = 0;
            });
          }
        } else {
          setActive(combo.active + 1);
        }
        break;
      case 'ArrowUp':
        if (combo.open && !combo.pending) {
          e.preventDefault();
          setActive(combo.active <= 0 ? options.length - 1 : combo.active - 1);
        }
        break;
      case 'Enter':
        e.preventDefault();
        if (combo.open && !combo.pending) {
          if (combo.active >= 0) chooseOption(options[combo.active]);
          else chooseOnlyMatch();
        } else if (combo.chosen && combo.input.value === combo.chosen && !$('client-panel').hidden) {
          // Enter on the client already shown: go to them (a search for "Last, First"
          // would only answer "No clients found.")
          $('client-name').focus();
        } else {
          // don't wait for the debounce; the answer opens the client if only one matches
          const typed = combo.input.value.trim();
          const search = combo.timer || !combo.inFlight || !combo.open ? searchNow() : combo.inFlight;
          search.then(() => {
            if (combo.open && !combo.pending && combo.query === typed &&
                combo.input.value.trim() === typed && document.activeElement === combo.input) {
              chooseOnlyMatch();
            }
          });
        }
        break;
      case 'Escape':
        // Drop any search still on its way, so the list doesn't pop open again.
        clearTimeout(combo.timer);
        combo.seq += 1;
        if (combo.controller) combo.controller.abort();
        combo.input.removeAttribute('aria-busy');
        if (combo.open) {
          e.preventDefault();
          setExpanded(false);
        } else if (combo.input.value) {
          e.preventDefault();
          combo.input.value = '';
        }
        break;
      case 'Tab':
        setExpanded(false);
        break;
      default:
        break;
    }
  });
  combo.input.addEventListener('click', () => {
    if (!combo.open) {
      if (combo.items.length && !combo.pending && combo.query === combo.input.value.trim()) setExpanded(true);
      else searchNow();
    }
  });
  combo.input.addEventListener('blur', () => {
    // Let a click on an option land first.
    setTimeout(() => {
      if (document.activeElement !== combo.input) setExpanded(false);
    }, 150);
  });
  combo.toggle.addEventListener('click', () => {
    if (combo.open) { setExpanded(false); combo.input.focus(); return; }
    combo.input.focus();
    searchNow();
  });
  // Keep focus in the input while the mouse picks an option.
  combo.list.addEventListener('mousedown', (e) => e.preventDefault());
  combo.list.addEventListener('click', (e) => {
    const option = e.target.closest('[role="option"]');
    if (option) chooseOption(option);
  });
  document.addEventListener('click', (e) => {
    if (combo.open && !e.target.closest('.combobox')) setExpanded(false);
  });
}

// ---- the chosen client ----------------------------------------------------------------------

function stopPolling() {
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

// `loaded` is an answer of apiTagged for this client already in hand (the #client=ID
// link): shown as it is, so one opening reads the view, an audited client.view, once.
async function selectClient(client, loaded = null) {
  stopPolling();
  state.generation += 1;
  state.clientId = client.id;
  state.view = null;
  state.confirming = null;
  state.itemErrors.clear();
  state.olderOpen = false;
  resetForms();
  resetHistory();
  $('client-gone').hidden = true;
  $('no-client').hidden = true;
  $('client-panel').hidden = false;
  $('client-name').textContent = fullName(client);
  showClientNumbers(client);
  $('client-dob').textContent = calendarDate(client.date_of_birth);
  setBadge($('client-status'), client.portal_status, PORTAL_STATUS);
  $('client-panel').setAttribute('aria-busy', 'true');
  const ok = await refreshClient({ fresh: true, loaded });
  $('client-panel').removeAttribute('aria-busy');
  if (ok) announce('Showing ' + fullName(state.view) + '.');
}

function resetForms() {
  for (const form of [$('email-form'), $('declined-form'), $('rep-form')]) {
    form.reset();
    clearFormErrors(form);
  }
  delete $('rep-form').dataset.languageChosen;
  updateNoteCounter();
  closeSubform('declined');
  closeSubform('rep');
  for (const id of ['invite-client-error', 'declined-undo-error']) setFieldError(id, '');
  $('client-error').hidden = true;
}

// Fetch the client view (or take `loaded`, one already fetched) and render it.
// Returns true on success.
async function refreshClient({ fresh = false, quiet = false, loaded = null } = {}) {
  const generation = state.generation;
  const id = state.clientId;
  if (id === null) return false;
  try {
    const { data: view, etag } = loaded || await apiTagged('clients/' + encodeURIComponent(id));
    if (generation !== state.generation) return false;
    const previous = state.view;
    state.view = view;
    state.etag = etag;
    if (fresh) $('client-email').value = view.email || '';
    renderClient(previous);
    $('client-error').hidden = true;
    schedulePoll();
    return true;
  } catch (err) {
    if (generation !== state.generation) return false;
    if (err.code === 'not_staff') { accessTurnedOff(); return false; }
    if (err.status === 404) { clientGone(); return false; }
    const text = errorText(err);
    if (!quiet || !state.view) {
      $('client-error').textContent = text;
      $('client-error').hidden = false;
    }
    schedulePoll();
    return false;
  }
}

// Nothing of the open client stays on screen (name, number, birth date, email, lists):
// the panel closes, the search box's chosen name goes, any answer still on its way is
// dropped.
function clearClient() {
  stopPolling();
  clearTimeout(state.resendTimer);
  state.generation += 1;
  state.clientId = null;
  state.view = null;
  state.etag = null;
  state.confirming = null;
  state.itemErrors.clear();
  resetForms();
  resetHistory();
  $('client-panel').hidden = true;
  $('client-panel').removeAttribute('aria-busy');
  for (const id of ['client-name', 'client-number', 'client-dob', 'client-language', 'client-minor',
    'declined-who', 'declined-note-shown', 'declined-undo-question', 'invite-client-hint']) {
    $(id).textContent = '';
  }
  for (const el of document.querySelectorAll('.client-who')) el.textContent = '';
  $('client-email').value = '';
  for (const id of ['client-invitations', 'rep-list', 'account-list']) $(id).replaceChildren();
  if (combo.chosen && combo.input.value === combo.chosen) combo.input.value = '';
  combo.chosen = '';
}

// The search's list and any search still on its way, dropped: a late answer must not
// show the names of a client who just went.
function dropSearchResults() {
  clearTimeout(combo.timer);
  combo.timer = null;
  combo.seq += 1;
  if (combo.controller) combo.controller.abort();
  combo.pending = false;
  combo.items = [];
  combo.list.replaceChildren();
  setExpanded(false);
}

// The open client answered 404 (to a refresh, a check or an action): taken off this
// user's caseload, or removed. Said once, where the panel was.
function clientGone() {
  const hadFocus = $('client-panel').contains(document.activeElement);
  clearClient();
  dropSearchResults();
  $('client-gone').textContent = CLIENT_GONE;
  $('client-gone').hidden = false;
  $('no-client').hidden = false;
  if (hadFocus) combo.input.focus();
  announce(CLIENT_GONE);
}

// 403 not_staff: this sign-in may no longer use the page (staff disable, or never set up).
function accessTurnedOff() {
  clearClient();
  dropSearchResults();
  $('client-gone').hidden = true;
  $('no-client').hidden = true;
  $('reviews').hidden = true;
  $('reviews-failed').hidden = true;
  showPageError(ERROR_TEXT.not_staff);
  combo.input.value = '';
  combo.input.disabled = true;
  setExpanded(false);
  disableBulk();
}

// What any action's refusal may say about the open client itself: access turned off, the
// client gone (a 404 the view confirms), or discharged meanwhile (the view read again, so
// the banner shows and invite is unavailable; open forms keep what was typed). true when
// the client panel was closed and there is nothing left to say next to the action.
async function reactToActionError(err) {
  if (err.code === 'not_staff') { accessTurnedOff(); return true; }
  if (err.status === 404 || err.code === 'client_discharged') {
    await refreshClient({ quiet: true });
    return state.clientId === null;
  }
  return false;
}

function setBadge(el, status, words) {
  el.textContent = words[status] || status || '';
  el.className = 'badge tone-' + (STATUS_TONE[status] || 'muted');
}

function isExpired(inv) {
  return inv.status === 'expired' ||
    (inv.status === 'pending' && inv.expires_at && Date.parse(inv.expires_at) <= Date.now());
}

function invitationWords(inv) {
  if (isExpired(inv)) return ['Expired on ' + localTime(inv.expires_at), 'muted'];
  switch (inv.status) {
    case 'pending':
      if (inv.delivery === 'failed') return ['Email not delivered', 'bad'];
      if (inv.delivery === 'cancelled') return ['Email cancelled, not sent', 'warn'];
      if (inv.delivery === 'bounced') return ['The email bounced', 'bad'];
      if (inv.delivery === 'queued' || !inv.delivery) return ['Waiting to be emailed', 'info'];
      return ['Sent, waiting for a reply', 'info'];
    case 'accepted': return ['Accepted', 'good'];
    case 'declined': return ['Declined by recipient', 'warn'];
    case 'revoked': return ['Revoked by staff', 'muted'];
    case 'superseded': return ['Replaced by a newer invitation', 'muted'];
    case 'address_changed': return ['Ended: the email address was changed', 'muted'];
    case 'locked': return ['Locked after too many wrong tries', 'bad'];
    default: return [inv.status, 'muted'];
  }
}

// A next try already due (during an outage the module leaves next_attempt_at at the
// email's creation and sends as soon as the relay answers) is no time to show.
function isDue(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) && t <= Date.now();
}

function deliveryWords(inv) {
  switch (inv.delivery) {
    case 'queued':
      if (inv.delivery_error) {
        return 'Delivery delayed: the mail server said “' + inv.delivery_error + '”.' +
          (!inv.next_attempt_at ? ''
            : isDue(inv.next_attempt_at) ? ' Retrying: waiting for the mail server.'
              : ' Next try ' + localTime(inv.next_attempt_at) + '.');
      }
      return 'Email queued, sending shortly';
    case 'sent':
      if (inv.bounce && inv.bounce.type === 'soft') {
        return 'Email sent; the recipient’s mail server reported a problem it may get past: “' +
          (inv.bounce.reason || 'no reason given') + '”.';
      }
      return 'Email sent';
    case 'bounced':
      return 'The email bounced: ' + (inv.delivery_error || 'no reason given') +
        '. Check the address with the person and change it; no new email goes to this address.';
    case 'failed': return 'Email could not be delivered' + (inv.delivery_error ? ': ' + inv.delivery_error : '');
    case 'cancelled': return cancelledWords(inv);
    default: return '';
  }
}

// An email that never went on purpose ("not sent: …"): what stopped it, not a failure.
function cancelledWords(inv) {
  switch (inv.status) {
    case 'address_changed': return 'Not sent: the address was changed before it went.';
    case 'superseded': return 'Not sent: a newer invitation replaced it.';
    case 'revoked': return 'Not sent: the invitation was revoked before it went.';
    case 'accepted': case 'declined': return 'Not sent: the invitation was answered before it went.';
    default: return 'Email cancelled by staff in the Outbox before it went. Resend it, or revoke the invitation.';
  }
}

function clientInvitations(view) {
  return (view.invitations || []).filter((i) => i.representative_id === null || i.representative_id === undefined);
}

function lastClientInvitation(view) {
  return clientInvitations(view)[0] || null;
}

// "reinvite client" when the last client invitation was declined, expired, failed or revoked.
function isReinvite(view) {
  const last = lastClientInvitation(view);
  if (!last) return false;
  return last.status === 'declined' || last.status === 'revoked' || isExpired(last) ||
    last.delivery === 'failed' || last.delivery === 'bounced' || last.status === 'locked' || last.status === 'address_changed';
}

// Why "invite client" can't be used right now, in words; null when it can.
function isDischarged(view) {
  return !!view && view.active === false;
}

// The client's last invitation bounced at the saved address, and nobody confirmed it since.
function bouncedHere(view) {
  const last = lastClientInvitation(view);
  return Boolean(last && view.email && last.delivery === 'bounced' && !bounceCleared(last)
    && last.email.toLowerCase() === view.email.toLowerCase());
}

function inviteBlocker(view) {
  if (isDischarged(view)) return 'The client was discharged; discharged clients cannot be invited.';
  if (view.portal_status === 'active') return 'The client already has a portal account.';
  if (view.declined_by_client) return 'The client declined portal access. Undo that first to invite them.';
  if (!view.email) return 'Add the client’s email address above to invite them.';
  // The invitation goes to the saved address: an edited Email field must be saved first.
  const typed = $('client-email').value.trim();
  if (typed.toLowerCase() !== view.email.toLowerCase()) {
    return 'The Email field differs from the saved address (' + view.email + '). Press “change” to save the new address first; the invitation goes to the saved one.';
  }
  const last = lastClientInvitation(view);
  if (bouncedHere(view)) {
    return 'The last invitation to ' + view.email + ' bounced: the address does not work. Check it with the client, then change it (or, if they say it works now, save it again with “change”).';
  }
  if (last && last.status === 'pending' && !isExpired(last) && last.delivery === 'cancelled') {
    return 'The invitation’s email was cancelled before it went. Resend it or revoke it below.';
  }
  if (last && last.status === 'pending' && !isExpired(last) && last.delivery !== 'failed' &&
      last.delivery !== 'bounced') {
    return 'An invitation is waiting for a reply. You can resend or revoke it below.';
  }
  return null;
}

// "invite client representative": not when representatives are turned off in the
// settings, nor for a discharged client.
function showRepresentativeInvite() {
  const enabled = !state.me || state.me.representatives_enabled !== false;
  $('rep-open').hidden = !enabled || isDischarged(state.view);
  if ($('rep-open').hidden && !$('rep-form').hidden) closeSubform('rep');
}

// "The practice’s default (English)": the language a recipient without one of their own
// gets (GET api/me's default_language), named.
function practiceDefaultText() {
  const code = state.me && state.me.default_language;
  return 'The practice’s default' + (code ? ' (' + (LANGUAGE[code] || code) + ')' : '');
}

// The language of the client's own emails (from the roster): its name in that language,
// or the practice's default when the client has none.
function showClientLanguage(code) {
  const dd = $('client-language');
  dd.textContent = code ? (LANGUAGE[code] || code) : practiceDefaultText();
  if (code) dd.setAttribute('lang', code);
  else dd.removeAttribute('lang');
}

// The EHR's chart number when the roster gave one; the portal's own id in small print
// (the Outbox's client filter takes it), never called a client number.
function showClientNumbers(client) {
  $('client-chart').hidden = !client.external_id;
  $('client-chart-number').textContent = client.external_id || '';
  $('client-number').textContent = String(client.id);
}

function renderClient(previous) {
  const view = state.view;
  const focusId = document.activeElement && document.activeElement.id;

  $('client-name').textContent = fullName(view);
  // the buttons' hidden words that say whom they act for ("change email of Ann Smith")
  for (const el of document.querySelectorAll('.client-who')) el.textContent = fullName(view);
  showClientNumbers(view);
  $('client-dob').textContent = calendarDate(view.date_of_birth);
  setBadge($('client-status'), view.portal_status, PORTAL_STATUS);
  $('client-discharged').hidden = !isDischarged(view);
  $('client-minor-row').hidden = !view.minor;
  $('client-minor').textContent = view.minor ? 'Turns 18 on ' + calendarDate(view.turns_18_on) : '';
  showClientLanguage(view.preferred_language);
  showRepresentativeInvite();

  // client declined
  const declined = view.declined_by_client;
  // a discharged client has left care: nothing to record (readmission brings it back)
  $('declined-off').hidden = !!declined || isDischarged(view);
  $('declined-on').hidden = !declined;
  if (declined) {
    $('declined-who').textContent = 'Recorded by ' + (declined.by_name || declined.by || 'unknown') + ' on ' + localTime(declined.at) + '.';
    $('declined-note-shown').textContent = declined.note ? 'Note: ' + declined.note : '';
    $('declined-note-shown').hidden = !declined.note;
    $('declined-undo-question').textContent = undoDeclinedQuestion(declined);
  }
  const undoAsked = !!declined && state.confirming === 'undo-declined';
  $('declined-undo-confirm').hidden = !undoAsked;
  $('declined-undo').hidden = undoAsked;

  renderInvite(view);

  // invitation history and representatives
  $('client-invitations').replaceChildren(renderInvitationList(clientInvitations(view)));
  $('rep-list').replaceChildren(renderRepresentatives(view.representatives || []));
  $('account-list').replaceChildren(renderAccounts(view.accounts || []));

  announceDeliveryChanges(previous, view);
  scheduleResendUnblock(view);

  // Re-rendering replaced list buttons: put focus back where it was.
  if (focusId && document.activeElement === document.body && $(focusId)) $(focusId).focus();
}

// Undo erases the record and its note (the server keeps neither): what goes, in the
// confirmation's words.
function undoDeclinedQuestion(declined) {
  return declined.note
    ? 'Undo client declined? The note recorded on ' + localTime(declined.at) + ' will be removed: “' + declined.note + '”'
    : 'Undo client declined? The record made on ' + localTime(declined.at) + ' will be removed.';
}

// "invite client" / "reinvite client", its hint, and the declined form's account question.
function renderInvite(view) {
  const invite = $('invite-client');
  $('invite-client-words').textContent = isReinvite(view) ? 'reinvite client' : 'invite client';
  const blocker = inviteBlocker(view);
  // still focusable, its reason (the hint) read with it; a press only repeats the reason
  setBlocked(invite, 'invite-client-hint', !!blocker);
  const last = lastClientInvitation(view);
  const hint = blocker || (last && last.status === 'locked'
    ? 'The last invitation was locked after too many wrong dates of birth. Check the date of birth on file (' + calendarDate(view.date_of_birth) + ') with the client before you reinvite.'
    : '');
  $('invite-client-hint').textContent = hint;
  $('invite-client-hint').hidden = !hint;
  $('declined-account').hidden = view.portal_status !== 'active';
  $('client-email-notice').hidden = view.portal_status !== 'active';
  // the checkbox comes after "change": the field itself says it is there (Enter sends)
  $('client-email').setAttribute('aria-describedby', 'client-email-error'
    + (view.portal_status === 'active' ? ' client-email-notice-hint' : ''));
}

function allInvitations(view) {
  const list = [...(view.invitations || [])];
  for (const rep of view.representatives || []) {
    if (rep.latest_invitation && !list.some((i) => i.id === rep.latest_invitation.id)) {
      list.push(rep.latest_invitation);
    }
  }
  return list;
}

function announceDeliveryChanges(previous, view) {
  if (!previous || previous.id !== view.id) return;
  const before = new Map(allInvitations(previous).map((i) => [i.id, i]));
  const messages = [];
  for (const inv of allInvitations(view)) {
    const old = before.get(inv.id);
    if (!old || old.delivery === inv.delivery) continue;
    if (inv.delivery === 'sent') messages.push('The invitation email to ' + inv.email + ' was sent.');
    if (inv.delivery === 'failed') messages.push('The invitation email to ' + inv.email + ' could not be delivered.');
    if (inv.delivery === 'bounced') messages.push('The invitation email to ' + inv.email + ' bounced.');
  }
  if (messages.length) announce(messages.join(' '));
}

function invitationDetails(inv) {
  const rows = [];
  const add = (label, value) => rows.push(h('div', {}, h('dt', { text: label }), h('dd', {}, value)));
  // "Emailed to" only once the mail server took it; a failed one never went
  add(inv.delivery === 'sent' || inv.delivery === 'bounced' ? 'Emailed to'
    : inv.delivery === 'failed' ? 'Could not be delivered to' : inv.delivery === 'cancelled' ? 'Not sent to' : 'To', inv.email);
  const delivery = deliveryWords(inv);
  // sent and still waiting: the usual reasons it has not been seen, before a resend
  const notArrived = inv.delivery === 'sent' && inv.status === 'pending' && !isExpired(inv)
    ? h('span', { class: 'hint not-arrived', text: 'Not arrived? Ask them to check their spam folder and that the address above is right.' })
    : null;
  if (delivery) add('Delivery', [h('span', { text: delivery }), notArrived ? ' ' : null, notArrived]);
  const creator = inv.created_by_name || inv.created_by;
  if (inv.created_at) add('Created', [timeEl(inv.created_at), creator ? ' by ' + creator : '']);
  if (inv.sent_at) add('Sent', [timeEl(inv.sent_at), inv.send_count > 1 ? ' (sent ' + inv.send_count + ' times)' : '']);
  if (inv.expires_at && inv.status === 'pending') add(isExpired(inv) ? 'Expired' : 'Expires', timeEl(inv.expires_at));
  if (inv.responded_at) add(ENDED_WORDS[inv.status] || 'Ended', timeEl(inv.responded_at));
  return h('dl', { class: 'inv-details' }, rows);
}

// responded_at is when the invitation ended, whoever ended it: named by what happened
// (the same words as invitationWords), not "answered" when nobody replied.
const ENDED_WORDS = {
  accepted: 'Accepted',
  declined: 'Declined',
  revoked: 'Revoked',
  superseded: 'Replaced',
  address_changed: 'Ended',
  locked: 'Locked',
};

function itemError(key) {
  const text = state.itemErrors.get(key);
  return text ? h('p', { class: 'field-error', id: 'err-' + key.replace(/[^a-z0-9]/gi, '-'), text }) : null;
}

// The hidden rest of a button's name, saying what and whom it acts on out of context (a
// screen reader's list of buttons): "Cancel" + " changing the email of Rita Rep".
function whom(text) {
  return h('span', { class: 'visually-hidden', text });
}

// An inline confirmation closes without doing anything: back to the button that opened it.
function cancelConfirm(openerId) {
  state.confirming = null;
  renderClient();
  $(openerId)?.focus();
}

// Escape in an inline confirmation is its Cancel / Keep (as Escape closes the sub-forms).
function cancelOnEscape(cancel) {
  return (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    e.stopPropagation();
    cancel();
  };
}

// Every inline confirmation opens the same way: focus on its first field when it has one,
// else on its safe button (Keep / Cancel), never on the one that acts, so a second Enter
// does not revoke, remove or end anything; Escape cancels it.

// The inline "are you sure?" for revoking, or null.
function revokeConfirm(inv) {
  if (state.confirming !== 'revoke:' + inv.id) return null;
  const cancel = () => cancelConfirm('inv-' + inv.id + '-revoke');
  return h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm revoke', onkeydown: cancelOnEscape(cancel) },
    h('p', { text: 'Revoke the invitation to ' + inv.email + '? The link in the email will stop working.' }),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'btn btn-danger', id: 'inv-' + inv.id + '-revoke-yes',
        onclick: (e) => revokeInvitation(inv, e.currentTarget),
      }, 'Revoke invitation', whom(' to ' + inv.email)),
      h('button', {
        type: 'button', class: 'btn btn-link', id: 'inv-' + inv.id + '-revoke-no', onclick: cancel,
      }, 'Keep it', whom(' (the invitation to ' + inv.email + ')'))));
}

// Resend and Revoke for a pending invitation (empty when it is not pending).
function invitationButtons(inv, who) {
  if (inv.status !== 'pending' || isExpired(inv)) return [];
  // once the send limit is reached, resend would only be refused: not offered
  const max = state.me && state.me.max_sends_per_invitation;
  // nor to an address that bounced (unless staff saved it again since); nor after the mail
  // server refused it for good (5xx): reinvite is the one action then (it replaces this
  // invitation, docs/api.md), not both
  const canResend = !(Number.isFinite(max) && inv.send_count >= max)
    && (inv.delivery !== 'bounced' || bounceCleared(inv)) && inv.delivery !== 'failed';
  // within the cooldown: there, unavailable, with the time it becomes possible
  const waitId = 'inv-' + inv.id + '-resend-wait';
  const waiting = canResend && resendWaiting(inv);
  return [
    canResend ? h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', id: 'inv-' + inv.id + '-resend',
      'aria-disabled': waiting ? 'true' : null, 'aria-describedby': waiting ? waitId : null,
      onclick: (e) => {
        if (blocked(e.currentTarget)) { announce($(waitId)?.textContent || ''); return; }
        resendInvitation(inv, e.currentTarget);
      },
    }, 'Resend', whom(' invitation to ' + who)) : null,
    waiting ? h('span', { class: 'hint resend-wait', id: waitId,
      text: 'Resend possible at ' + shortTime(inv.resend_available_at) + '.' }) : null,
    h('button', {
      type: 'button', class: 'btn btn-link btn-small', id: 'inv-' + inv.id + '-revoke',
      onclick: () => {
        state.confirming = 'revoke:' + inv.id;
        renderClient();
        $('inv-' + inv.id + '-revoke-no')?.focus();
      },
    }, 'Revoke', whom(' invitation to ' + who)),
  ];
}

// The invitation's resend cooldown (resend_available_at, docs/api.md) still runs.
function resendWaiting(inv) {
  const at = Date.parse(inv.resend_available_at || '');
  return Number.isFinite(at) && at > Date.now();
}

// When the first cooldown on screen ends, draw the view again: its Resend becomes usable.
function scheduleResendUnblock(view) {
  clearTimeout(state.resendTimer);
  const ends = allInvitations(view).filter(resendWaiting).map((i) => Date.parse(i.resend_available_at));
  if (!ends.length) return;
  const generation = state.generation;
  state.resendTimer = setTimeout(() => {
    if (generation === state.generation && state.view) renderClient();
  }, Math.min(Math.min(...ends) - Date.now() + 250, 2147483647));
}

function invitationActions(inv, who) {
  const confirm = revokeConfirm(inv);
  if (confirm) return confirm;
  const buttons = invitationButtons(inv, who);
  return buttons.length ? h('div', { class: 'actions' }, buttons) : null;
}

function invitationItem(inv, who) {
  const [words, tone] = invitationWords(inv);
  return h('li', { class: 'inv-item', 'data-invitation-id': inv.id },
    h('div', { class: 'inv-head' },
      h('span', { class: 'badge tone-' + tone, text: words })),
    invitationDetails(inv),
    invitationActions(inv, who),
    itemError('inv:' + inv.id));
}

function renderInvitationList(invitations) {
  if (!invitations.length) {
    return h('p', { class: 'empty-inline', text: 'No invitations have been sent to the client yet.' });
  }
  const who = fullName(state.view);
  const [latest, ...older] = invitations;
  const frag = document.createDocumentFragment();
  frag.append(h('h3', { class: 'small-heading', id: 'client-invitation-heading', tabindex: -1, text: 'Latest client invitation' }));
  frag.append(h('ul', { class: 'inv-list', 'aria-label': 'Latest client invitation' }, invitationItem(latest, who)));
  if (older.length) {
    const details = h('details', { class: 'older', id: 'older-invitations' },
      h('summary', { id: 'older-summary', text: 'Earlier invitations (' + older.length + ')' }),
      h('ul', { class: 'inv-list' }, older.map((i) => invitationItem(i, who))));
    if (state.olderOpen) details.open = true;
    details.addEventListener('toggle', () => { state.olderOpen = details.open; });
    frag.append(details);
  }
  return frag;
}

function renderRepresentatives(reps) {
  if (!reps.length) {
    return h('p', { class: 'empty-inline', text: 'No representatives yet.' });
  }
  return h('ul', { class: 'rep-list', 'aria-labelledby': 'reps-heading' }, reps.map(representativeItem));
}

function representativeItem(rep) {
  const name = fullName(rep);
  const inv = rep.latest_invitation || null;
  const removeKey = 'remove:' + rep.id;
  const canReinvite = rep.portal_status !== 'active' && rep.portal_status !== 'invited'
    && !isDischarged(state.view);
  // One row of actions; an open confirmation takes its place.
  let actions = inv ? revokeConfirm(inv) : null;
  if (!actions && state.confirming === removeKey) {
    const cancel = () => cancelConfirm('rep-' + rep.id + '-remove');
    actions = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm removal of ' + name, onkeydown: cancelOnEscape(cancel) },
      h('p', { text: 'Remove ' + name + ' as a representative? Any pending invitation stops working and their portal account is turned off.' }),
      h('div', { class: 'actions' },
        h('button', {
          type: 'button', class: 'btn btn-danger', id: 'rep-' + rep.id + '-remove-yes',
          onclick: (e) => removeRepresentative(rep, e.currentTarget),
        }, 'Remove ' + name),
        h('button', {
          type: 'button', class: 'btn btn-link', id: 'rep-' + rep.id + '-remove-no', onclick: cancel,
        }, 'Keep', whom(' ' + name + ' as a representative'))));
  }
  if (!actions) {
    actions = h('div', { class: 'actions' },
      inv ? invitationButtons(inv, name) : [],
      canReinvite ? h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', id: 'rep-' + rep.id + '-reinvite',
        onclick: (e) => reinviteRepresentative(rep, e.currentTarget),
      }, rep.portal_status === 'not_invited' ? 'Invite' : 'Reinvite', whom(' ' + name)) : null,
      h('button', {
        type: 'button', class: 'btn btn-link btn-small push-end', id: 'rep-' + rep.id + '-remove',
        onclick: () => {
          state.confirming = removeKey;
          renderClient();
          $('rep-' + rep.id + '-remove-no')?.focus();
        },
      }, 'Remove representative', whom(' ' + name)));
  }
  return h('li', { class: 'rep-item', 'data-representative-id': rep.id },
    h('div', { class: 'rep-head' },
      h('h4', { class: 'rep-name', id: 'rep-' + rep.id + '-name', tabindex: -1, text: name }),
      rep.relationship ? h('span', { class: 'rep-rel', text: RELATIONSHIP[rep.relationship] || rep.relationship }) : null,
      rep.preferred_language ? h('span', { class: 'rep-rel', lang: rep.preferred_language, text: LANGUAGE[rep.preferred_language] || rep.preferred_language })
        : h('span', { class: 'rep-rel', text: 'Emails: ' + practiceDefaultText().replace('The practice’s', 'the practice’s') }),
      h('span', { class: 'badge tone-' + (STATUS_TONE[rep.portal_status] || 'muted'), text: PORTAL_STATUS[rep.portal_status] || rep.portal_status })),
    repEmailSection(rep, name),
    accessSection(rep, name),
    keptAccountHint(rep),
    inv ? h('div', { class: 'rep-inv' },
      h('p', { class: 'small-heading', text: 'Latest invitation: ' + invitationWords(inv)[0] }),
      invitationDetails(inv)) : null,
    actions,
    itemError('inv:' + (inv ? inv.id : '')),
    itemError('rep:' + rep.id));
}

// ---- a new email address, and the notice to the old one ---------------------------------------

// What saving a new address does about the old one (issue 14): a person with an active
// portal account gets a notice there unless staff withhold it (someone else may read that
// mailbox). `offered`: the choice was shown; `withhold`: it was ticked. The request's extra
// body, and the confirmation's words (none when nothing goes either way).
// `unsure`: the person may or may not still have a login that gets the note (a
// representative whose access ended: the note goes while their login is active).
function oldAddressNotice(oldEmail, newEmail, offered, withhold, unsure = false) {
  const changed = !!oldEmail && oldEmail.toLowerCase() !== newEmail.toLowerCase();
  return {
    body: offered && withhold ? { notify_old_address: false } : {},
    words: !offered || !changed ? ''
      : withhold ? ' The old address was not told of the change.'
        : unsure ? '' : ' The old address gets a short note that the address was changed.',
  };
}

// The checkbox and its hint (a real checkbox with its label), for a person with an account.
function withholdChoice(id, checked, who) {
  return h('div', { class: 'notice-check' },
    h('input', { type: 'checkbox', id, name: 'withhold_notice', checked, 'aria-describedby': id + '-hint' }),
    h('label', { for: id, text: 'Don’t email the old address (for example, someone else may read it)' }),
    h('p', { class: 'hint', id: id + '-hint', text: who + ' has a portal account: unless you tick this, the old address gets a short note that the address was changed.' }));
}

function repEmailSection(rep, name) {
  const key = 'email:' + rep.id;
  if (state.confirming === key) return repEmailForm(rep, name);
  return h('div', { class: 'rep-email-line' },
    h('p', { class: 'rep-email', text: rep.email }),
    editOpener('rep-' + rep.id + '-email', key, 'emailDraft', 'Change email', name));
}

// The link that opens a representative's form in place (id + '-edit'; its form id +
// '-form', focus on its first field), the form's kept draft (state[draft]) dropped.
function editOpener(id, key, draft, words, name) {
  return isDischarged(state.view) ? null : h('button', {
    type: 'button', class: 'btn btn-link btn-small', id: id + '-edit',
    onclick: () => {
      state.confirming = key;
      state[draft] = null;
      renderClient();
      $(id + '-form')?.querySelector('input')?.focus();
    },
  }, words, whom(' of ' + name));
}

function repEmailForm(rep, name) {
  const id = 'rep-' + rep.id + '-email';
  // kept in state: a refresh of the view re-renders this form
  const draft = state.emailDraft && state.emailDraft.id === rep.id ? state.emailDraft : { email: rep.email, withhold: false };
  // an active login gets the note; so may one whose access to this client ended (the
  // server sends it while the login is on): the choice is offered for both
  const offered = rep.portal_status === 'active' || rep.portal_status === 'access_ended';
  const cancel = () => { state.emailDraft = null; cancelConfirm(id + '-edit'); };
  const form = h('form', {
    class: 'subform rep-email-form', id: id + '-form', novalidate: true, 'aria-label': 'Email address of ' + name,
    onkeydown: cancelOnEscape(cancel),
  },
    h('div', { class: 'field' },
      h('label', { for: id + '-input', class: 'field-label', text: 'New email address of ' + name }),
      h('input', { id: id + '-input', name: 'email', type: 'email', autocomplete: 'off', spellcheck: 'false', value: draft.email })),
    offered ? withholdChoice(id + '-withhold', draft.withhold, name) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary btn-small', id: id + '-save' }, 'Save email', whom(' of ' + name)),
      h('button', { type: 'button', class: 'btn btn-link btn-small', id: id + '-cancel', onclick: cancel },
        'Cancel', whom(' changing the email of ' + name))));
  const withholdBox = () => form.querySelector('input[name="withhold_notice"]');
  form.addEventListener('input', () => {
    state.emailDraft = { id: rep.id, email: form.elements.email.value, withhold: !!withholdBox()?.checked };
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const email = form.elements.email.value.trim();
    if (email === rep.email) {
      cancel();
      announce('That is already ' + name + '’s email address.');
      return;
    }
    const notice = oldAddressNotice(rep.email, email, offered, !!withholdBox()?.checked,
      rep.portal_status === 'access_ended');
    afterItemAction('rep:' + rep.id, form.querySelector('button[type="submit"]'),
      async () => { await api('PUT', 'representatives/' + rep.id, { email, ...notice.body }); state.emailDraft = null; },
      'Email of ' + name + ' changed to ' + email + '.' + notice.words);
  });
  return form;
}

// ---- what a representative may use (scopes and dates) ----------------------------------------

// The scopes a representative may be given now (those whose module is on).
function offeredScopes() {
  return (state.me && Array.isArray(state.me.representative_scopes)) ? state.me.representative_scopes : SCOPES;
}

// A bounce staff have since answered by saving the address again (checked with the person).
function bounceCleared(inv) {
  return Boolean(inv.bounce && inv.bounce.cleared_at);
}

function accessWords(rep) {
  const scopes = rep.scopes || [];
  const what = scopes.length ? scopes.map((k) => SCOPE[k] || k).join(', ') : 'nothing (no parts of the portal)';
  let when = '';
  // calendar days, written like every other date on the page
  const starts = calendarDate(rep.starts_at), ends = calendarDate(rep.ends_at);
  if (starts && ends) when = ', from ' + starts + ' through ' + ends;
  else if (starts) when = ', from ' + starts;
  else if (ends) when = ', through ' + ends;
  return what + when;
}

function accessSection(rep, name) {
  const key = 'access:' + rep.id;
  if (state.confirming === key) return accessForm(rep, name);
  return h('div', { class: 'rep-access' },
    h('p', { class: 'rep-access-line', id: 'rep-' + rep.id + '-access' }, h('strong', { text: 'Portal access: ' }), accessWords(rep)),
    editOpener('rep-' + rep.id + '-access', key, 'accessDraft', 'Change access', name));
}

function accessForm(rep, name) {
  const id = 'rep-' + rep.id + '-access';
  // kept in state: a refresh of the view re-renders this form
  const shown = state.accessDraft && state.accessDraft.id === rep.id ? state.accessDraft : rep;
  const offered = new Set([...offeredScopes(), ...(rep.scopes || [])]);
  const boxes = SCOPES.filter((k) => offered.has(k)).map((k) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'scopes', value: k, checked: (shown.scopes || []).includes(k) }), ' ' + SCOPE[k]));
  const cancel = () => { state.accessDraft = null; cancelConfirm(id + '-edit'); };
  const form = h('form', {
    class: 'subform access-form', id: id + '-form', novalidate: true, 'aria-label': 'Portal access of ' + name,
    onkeydown: cancelOnEscape(cancel),
  },
    h('fieldset', { class: 'field access-fields' },
      h('legend', { class: 'field-label', text: 'What ' + name + ' may use in the portal' }), boxes),
    h('div', { class: 'field-pair' },
      h('div', { class: 'field' },
        h('label', { for: id + '-starts', class: 'field-label', text: 'Access starts (optional)' }),
        h('input', { id: id + '-starts', name: 'starts_at', type: 'date', value: shown.starts_at || '' })),
      h('div', { class: 'field' },
        h('label', { for: id + '-ends', class: 'field-label', text: 'Access ends (optional, last day)' }),
        h('input', { id: id + '-ends', name: 'ends_at', type: 'date', value: shown.ends_at || '' }))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary btn-small', id: id + '-save' }, 'Save access', whom(' of ' + name)),
      h('button', {
        type: 'button', class: 'btn btn-link btn-small', id: id + '-cancel', onclick: cancel,
      }, 'Cancel', whom(' changing the access of ' + name))));
  form.addEventListener('input', () => { state.accessDraft = { id: rep.id, ...accessBody(form) }; });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = accessBody(form);
    afterItemAction('rep:' + rep.id, form.querySelector('button[type="submit"]'),
      () => api('PUT', 'representatives/' + rep.id, body),
      'Portal access of ' + name + ' saved: ' + accessWords({ ...rep, ...body }) + '.');
  });
  return form;
}

// scopes, starts_at and ends_at of a form with those fields (an empty date: none)
function accessBody(form) {
  return {
    scopes: [...form.querySelectorAll('input[name="scopes"]:checked')].map((i) => i.value),
    starts_at: form.elements.starts_at.value || null,
    ends_at: form.elements.ends_at.value || null,
  };
}

// The invite form offers only the scopes whose module is on.
function showOfferedScopes() {
  const offered = new Set(offeredScopes());
  for (const label of document.querySelectorAll('#rep-form [data-scope]')) {
    const on = offered.has(label.dataset.scope);
    label.hidden = !on;
    label.querySelector('input').disabled = !on;
  }
}

// ---- portal accounts --------------------------------------------------------------------------

const ACCOUNT_STATUS = { active: 'Active: can sign in', disabled: 'Turned off: cannot sign in' };
const ACCOUNT_TONE = { active: 'good', disabled: 'muted' };
// why a login no longer reaches this client (its grant here ended)
const ACCESS_ENDED_WHY = {
  staff: 'turned off for this client', review: 'ended at the access review', majority: 'ended when the client turned 18',
  representative_removed: 'representative removed', discharged: 'client discharged',
  dates: 'the representative’s last day passed',
};

// A login that signs in but no longer reaches this client (it reaches others).
const endedHere = (acct) => acct.status === 'active' && acct.access_here === 'ended';
// A login that also reaches other clients: turning it off here ends this client only.
const sharedLogin = (acct) => acct.status === 'active' && acct.other_clients > 0;
const otherClientsWords = (n) => n + ' other client' + (n === 1 ? '' : 's') + ' of the practice';

function accountOwner(acct) {
  if (acct.kind !== 'representative') return 'The client’s own account';
  const rep = (state.view.representatives || []).find((r) => r.id === acct.representative_id);
  return rep ? 'Representative: ' + fullName(rep) : 'A former representative';
}

function renderAccounts(accounts) {
  if (!accounts.length) {
    return h('p', { class: 'empty-inline', text: 'No portal accounts yet: nobody has accepted an invitation.' });
  }
  return h('ul', { class: 'rep-list', 'aria-labelledby': 'accounts-heading' }, accounts.map(accountItem));
}

function accountDetails(acct) {
  const rows = [];
  const add = (term, ...value) => rows.push(h('div', {}, h('dt', { text: term }), h('dd', {}, ...value)));
  add('Created', timeEl(acct.created_at));
  if (acct.review) {
    add(REVIEW_WORDS[acct.review.decision] || 'Reviewed', timeEl(acct.review.reviewed_at),
      acct.review.reviewed_by ? ' by ' + acct.review.reviewed_by : '', acct.review.note ? ': ' + acct.review.note : '');
  }
  if (acct.reset_expires_at) add('Password reset', 'link emailed, works until ', timeEl(acct.reset_expires_at));
  if (acct.disabled_at) add('Turned off', timeEl(acct.disabled_at), acct.disabled_by ? ' by ' + acct.disabled_by : '');
  if (acct.disabled_reason) add('Reason', acct.disabled_reason);
  const ended = endedHere(acct) ? acct.access_ended : null;
  if (ended) {
    add('Access to this client ended', timeEl(ended.at), ended.by ? ' by ' + ended.by : '',
      ACCESS_ENDED_WHY[ended.reason] ? ' (' + ACCESS_ENDED_WHY[ended.reason] + ')' : '');
    if (ended.note) add('Reason', ended.note);
  }
  if (sharedLogin(acct)) add('Also signs in for', otherClientsWords(acct.other_clients));
  return h('dl', { class: 'inv-details' }, rows);
}

// The inline confirmation of "Turn off account", with its optional reason.
function disableConfirm(acct) {
  const id = 'acct-' + acct.id;
  const cancel = () => cancelConfirm(id + '-disable');
  return h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm turning off ' + acct.username, onkeydown: cancelOnEscape(cancel) },
    h('p', { text: sharedLogin(acct)
      ? 'Turn off the account ' + acct.username + ' for this client? It also signs in for ' + otherClientsWords(acct.other_clients)
        + ': it keeps those and no longer reaches ' + fullName(state.view) + '.'
      : 'Turn off the account ' + acct.username + '? It can no longer sign in to the client portal.' }),
    h('label', { for: id + '-reason', class: 'field-label', text: 'Reason (optional)' }),
    // kept in state: a refresh of the view re-renders this form
    h('textarea', {
      id: id + '-reason', rows: 2, maxlength: NOTE_MAX, 'aria-describedby': state.itemErrors.has('acct:' + acct.id) ? 'err-acct-' + acct.id : null,
      text: state.accountReason || '', oninput: (e) => { state.accountReason = e.target.value; },
    }),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'btn btn-danger', id: id + '-disable-yes',
        onclick: (e) => disableAccount(acct, e.currentTarget),
      }, sharedLogin(acct) ? 'Turn off for this client' : 'Turn off account',
        whom(sharedLogin(acct) ? ' (' + acct.username + ')' : ' ' + acct.username + ' now')),
      h('button', {
        type: 'button', class: 'btn btn-link', id: id + '-disable-no', onclick: cancel,
      }, 'Keep it', whom(' (the account ' + acct.username + ')'))));
}

// Where a reset email for the account goes: the address the page already shows (the
// client's Email field, or the representative's row).
function accountAddress(acct) {
  if (acct.kind !== 'representative') return state.view.email || null;
  const rep = (state.view.representatives || []).find((r) => r.id === acct.representative_id);
  return rep ? rep.email : null;
}

// The inline confirmation of "Reset password": names where the email goes.
function resetConfirm(acct) {
  const id = 'acct-' + acct.id;
  const to = accountAddress(acct);
  const cancel = () => cancelConfirm(id + '-reset');
  return h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm the password reset of ' + acct.username, onkeydown: cancelOnEscape(cancel) },
    h('p', { id: id + '-reset-question', text: 'Email a password reset link for ' + acct.username + ' to '
      + (to || 'the address on file') + '? The link works once, for up to 24 hours. The current password keeps working until the new one is set.' }),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'btn btn-primary', id: id + '-reset-yes',
        'aria-describedby': id + '-reset-question',
        onclick: (e) => resetPassword(acct, to, e.currentTarget),
      }, 'Send reset email', whom(' for ' + acct.username)),
      h('button', {
        type: 'button', class: 'btn btn-link', id: id + '-reset-no', onclick: cancel,
      }, 'Cancel', whom(' the password reset of ' + acct.username))));
}

function accountActions(acct) {
  const id = 'acct-' + acct.id;
  if (state.confirming === 'disable:' + acct.id) return disableConfirm(acct);
  if (state.confirming === 'reset:' + acct.id) return resetConfirm(acct);
  if (endedHere(acct)) return null;   // nothing to do here: the login is its other clients'
  const button = acct.status === 'active'
    ? h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', id: id + '-disable',
      onclick: () => {
        state.confirming = 'disable:' + acct.id;
        state.accountReason = '';
        renderClient();
        $(id + '-reason')?.focus();
      },
    }, 'Turn off account', whom(' ' + acct.username))
    : h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', id: id + '-enable',
      onclick: (e) => enableAccount(acct, e.currentTarget),
    }, 'Turn on account', whom(' ' + acct.username));
  const reset = acct.status === 'active'
    ? h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', id: id + '-reset',
      onclick: () => {
        state.confirming = 'reset:' + acct.id;
        renderClient();
        $(id + '-reset-yes')?.focus();
      },
    }, 'Reset password', whom(' ' + acct.username))
    : null;
  return h('div', { class: 'actions' }, reset, button);
}

function accountItem(acct) {
  return h('li', { class: 'rep-item', 'data-account-id': acct.id },
    h('div', { class: 'rep-head' },
      h('h3', { class: 'rep-name', text: acct.username }),
      h('span', { class: 'rep-rel', text: accountOwner(acct) }),
      endedHere(acct)
        ? h('span', { class: 'badge tone-muted', text: 'No longer reaches this client' })
        : h('span', { class: 'badge tone-' + (ACCOUNT_TONE[acct.status] || 'muted'), text: ACCOUNT_STATUS[acct.status] || acct.status }),
      acct.review_due ? h('span', { class: 'badge tone-warn', text: 'Access review due' }) : null),
    accountDetails(acct),
    acct.review_due ? reviewSection(acct) : null,
    accountActions(acct),
    itemError('acct:' + acct.id));
}

// ---- coming of age: reviewing a representative's access ----------------------------------------

const REVIEW_WORDS = { keep: 'Access kept', end: 'Access ended' };

// A review's error (a missing note, the server's refusal) goes inside the review's own box,
// under what it is about, and is read out when it appears.
function reviewError(acct) {
  const text = state.itemErrors.get('review:' + acct.id);
  return text ? h('p', { class: 'field-error', id: 'err-review-' + acct.id, role: 'alert', text }) : null;
}

// Keep, End or Cancel: a new question, so the last answer's error goes.
function reviewStep(acct, confirming, focusId) {
  state.confirming = confirming;
  state.itemErrors.delete('review:' + acct.id);
  renderClient();
  $(focusId)?.focus();
}

function reviewSection(acct) {
  const id = 'acct-' + acct.id + '-review';
  const who = accountOwner(acct).replace(/^Representative: /, '');
  const error = reviewError(acct);
  if (state.confirming === 'keep:' + acct.id) {
    const form = h('form', {
      class: 'confirm', id: id + '-form', novalidate: true, 'aria-label': 'Keep the access of ' + who,
      onkeydown: cancelOnEscape(() => reviewStep(acct, null, id + '-keep')),
    },
      h('p', { text: (state.view.minor ? 'The client turns 18 on ' + calendarDate(state.view.turns_18_on) + '. ' : 'The client is now an adult. ')
        + 'Keep ' + who + '’s portal access? Say why, for example that a guardianship continues.' }),
      h('label', { for: id + '-note', class: 'field-label', text: 'Why the access continues' }),
      h('textarea', {
        id: id + '-note', rows: 2, maxlength: NOTE_MAX, required: true,
        'aria-invalid': error ? 'true' : null, 'aria-describedby': error ? error.id : null,
        text: state.reviewNote || '', oninput: (e) => { state.reviewNote = e.target.value; },
      }),
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-primary btn-small', id: id + '-keep-yes' }, 'Keep access', whom(' of ' + who + ' with this reason')),
        h('button', {
          type: 'button', class: 'btn btn-link btn-small', id: id + '-keep-no',
          onclick: () => reviewStep(acct, null, id + '-keep'),
        }, 'Cancel', whom(' keeping the access of ' + who))));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const note = (state.reviewNote || '').trim();
      if (!note) {
        state.itemErrors.set('review:' + acct.id, 'Please say why the access continues.');
        renderClient();
        $(id + '-note')?.focus();
        return;
      }
      reviewAccess(acct, 'keep', note, form.querySelector('button[type="submit"]'), who);
    });
    return form;
  }
  if (state.confirming === 'end:' + acct.id) {
    return h('div', {
      class: 'confirm', role: 'group', 'aria-label': 'Confirm ending the access of ' + who,
      onkeydown: cancelOnEscape(() => reviewStep(acct, null, id + '-end')),
    },
      h('p', { text: 'End ' + who + '’s portal access to this client? Their account stays, but it no longer reaches this client.' }),
      error,
      h('div', { class: 'actions' },
        h('button', {
          type: 'button', class: 'btn btn-danger btn-small', id: id + '-end-yes',
          onclick: (e) => reviewAccess(acct, 'end', null, e.currentTarget, who),
        }, 'End access', whom(' of ' + who + ' now')),
        h('button', {
          type: 'button', class: 'btn btn-link btn-small', id: id + '-end-no',
          onclick: () => reviewStep(acct, null, id + '-end'),
        }, 'Cancel', whom(' ending the access of ' + who))));
  }
  return h('div', { class: 'review-due' },
    h('p', { text: state.view.minor
      ? 'The client turns 18 on ' + calendarDate(state.view.turns_18_on) + ': decide whether this access continues.'
      : 'The client has turned 18: decide whether this access continues.' }),
    error,
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', id: id + '-keep',
        onclick: () => { state.reviewNote = ''; reviewStep(acct, 'keep:' + acct.id, id + '-note'); },
      }, 'Keep access', whom(' of ' + who)),
      h('button', {
        type: 'button', class: 'btn btn-secondary btn-small', id: id + '-end',
        onclick: () => reviewStep(acct, 'end:' + acct.id, id + '-end-no'),
      }, 'End access', whom(' of ' + who))));
}

async function reviewAccess(acct, decision, note, button, who) {
  await afterItemAction('review:' + acct.id, button,
    () => api('POST', 'grants/' + acct.grant_id + '/review', note ? { decision, note } : { decision }),
    decision === 'keep' ? who + ' keeps portal access.' : who + '’s portal access ended.');
  loadReviews();
}

// The caseload's due reviews, above the client panel (hidden when there are none).
async function loadReviews() {
  let answer;
  try {
    answer = await api('GET', 'reviews');
  } catch (err) {
    // the list is a convenience (each client's view shows its reviews), but its absence
    // must not read as "none due"
    if (err.code === 'not_staff') return;
    $('reviews-failed-text').textContent = 'The list of access reviews due could not be loaded. ' + errorText(err);
    $('reviews-failed').hidden = false;
    return;
  }
  $('reviews-failed').hidden = true;
  const reviews = answer.reviews || [];
  $('reviews').hidden = reviews.length === 0;
  $('reviews-heading').textContent = 'Access reviews due (' + reviews.length + ')';
  $('reviews-list').replaceChildren(...reviews.map((r) => h('li', { class: 'review-item' },
    h('button', {
      type: 'button', class: 'btn btn-link',
      onclick: () => selectClient({ ...r.client, portal_status: null }),
    }, fullName(r.client)),
    ' — ' + (r.client.minor ? 'turns 18 on ' : 'turned 18 on ') + calendarDate(r.client.turns_18_on)
      + '; representative ' + fullName(r.representative)
      + (r.representative.relationship ? ' (' + (RELATIONSHIP[r.representative.relationship] || r.representative.relationship) + ')' : ''))));
}

// After an action the pressed button is often gone (re-rendered or replaced): focus the
// first of these that is there now and can take focus (shown, not disabled), unless focus
// already found a place.
function focusFirst(...ids) {
  if (document.activeElement && document.activeElement !== document.body) return;
  for (const id of ids) {
    const el = $(id);
    if (!el || el.disabled || blocked(el) || !el.getClientRects().length) continue;
    el.focus();
    if (document.activeElement === el) return;
  }
}

async function disableAccount(acct, button) {
  const id = 'acct-' + acct.id;
  const reason = ($(id + '-reason')?.value || '').trim();
  await afterItemAction('acct:' + acct.id, button,
    () => api('POST', 'accounts/' + acct.id + '/disable', { client_id: state.view.id, ...(reason ? { reason } : {}) }),
    sharedLogin(acct)
      ? 'The account ' + acct.username + ' no longer reaches this client. It still signs in for its other clients.'
      : 'The account ' + acct.username + ' was turned off. It can no longer sign in.',
    { already_active: 'This person already has another active portal account.' });
  focusFirst(id + '-enable', id + '-disable-yes', id + '-disable');
}

async function resetPassword(acct, to, button) {
  const id = 'acct-' + acct.id;
  await afterItemAction('acct:' + acct.id, button,
    () => api('POST', 'accounts/' + acct.id + '/password-reset'),
    'A password reset email for ' + acct.username + ' is on its way to ' + (to || 'the address on file') + '.',
    {
      resend_too_soon: (err) => 'A password reset email was sent very recently. ' + waitText(err.retryAfter),
      account_disabled: 'This account is turned off. Turn it on first if the person should sign in again.',
      no_email: 'There is no email address on file for this person. Add it first, then reset the password.',
      invitation_pending: 'An invitation to this person is still open. Revoke it first.',
      send_limit_reached: 'The reset email was sent as often as allowed. The last link keeps working until it expires.',
    });
  focusFirst(id + '-reset', id + '-reset-yes', id + '-enable');
}

async function enableAccount(acct, button) {
  const id = 'acct-' + acct.id;
  await afterItemAction('acct:' + acct.id, button,
    () => api('POST', 'accounts/' + acct.id + '/enable'),
    'The account ' + acct.username + ' is active again and can sign in.',
    {
      already_active: 'This person already has another active portal account. Turn that one off first.',
      client_discharged: 'The client is discharged, so their portal accounts stay off.',
      // one person, one active account: the open invitation would make a second one
      invitation_pending: 'This person has an open invitation, so this account stays off. Revoke the '
        + 'invitation first to turn it on, or let them accept it: that makes their new account.',
    });
  focusFirst(id + '-disable', id + '-enable');
}

// ---- polling for delivery updates -----------------------------------------------------------

function needsPoll(view) {
  return !!view && allInvitations(view).some((i) => i.status === 'pending' && i.delivery === 'queued');
}

// Ask only whether the open client's view changed (GET .../status, unaudited, 304 while
// nothing did); read the view again (an audited client.view) only when it has — which
// also shows a client taken off the caseload (404) or discharged meanwhile.
async function checkClient() {
  const generation = state.generation;
  if (state.clientId === null || state.checking) return;
  state.checking = true;
  let changed = true;
  try {
    const answer = await apiTagged('clients/' + encodeURIComponent(state.clientId) + '/status', state.etag);
    changed = !answer.notModified && answer.etag !== state.etag;
  } catch {
    changed = true; // let the full read say what is wrong
  } finally {
    state.checking = false;
  }
  if (generation !== state.generation) return;
  if (changed) await refreshClient({ quiet: true });
  else schedulePoll();
}

function schedulePoll() {
  stopPolling();
  if (!needsPoll(state.view)) return;
  const generation = state.generation;
  state.pollTimer = setTimeout(() => {
    if (generation === state.generation) checkClient();
  }, POLL_MS);
}

// Back to the window (another tab, another program, a break): the open client is checked
// once, whatever is queued, so a revoke or a discharge shows before anyone acts on it.
function checkClientOnReturn() {
  window.addEventListener('focus', () => { if (state.view) checkClient(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.view) checkClient();
  });
}

// ---- actions --------------------------------------------------------------------------------

async function afterItemAction(key, button, fn, success, overrides = {}) {
  state.itemErrors.delete(key);
  await busy(button, async () => {
    try {
      await fn();
      state.confirming = null;
      await refreshClient();
      announce(success);
    } catch (err) {
      const text = errorText(err, overrides);
      state.itemErrors.set(key, text);
      const stale = ['not_pending', 'already_disabled', 'already_enabled'].includes(err.code);
      if (stale) state.confirming = null;
      if (await reactToActionError(err)) return;   // the client (or the page) is gone
      if (stale) await refreshClient();
      else if (state.view) renderClient();
      announce(text);
    }
  });
}

function resendInvitation(inv, button) {
  return afterItemAction('inv:' + inv.id, button,
    () => api('POST', 'invitations/' + inv.id + '/resend'),
    'A new invitation email to ' + inv.email + ' is on its way. The earlier link no longer works.',
    { resend_too_soon: cooldownText(inv) });
}

// The cooldown's refusal, in words true to where the last email is: not "sent" when the
// mail server has not taken it yet.
function cooldownText(inv) {
  return (err) => {
    const wait = waitText(err.retryAfter);
    if (inv.delivery === 'sent') return 'This invitation was sent very recently. ' + wait;
    if (inv.delivery === 'queued' && inv.delivery_error) {
      return 'The last invitation email has not been delivered yet: the mail server said “'
        + inv.delivery_error + '”, and the system keeps trying. ' + wait;
    }
    return 'The last invitation email is still waiting to go out. ' + wait;
  };
}

// After a revoke the confirmation is gone: on a representative's card, focus goes to their
// Reinvite (now offered) or else their name; on the client's, to "reinvite client" or
// else the invitation's heading.
async function revokeInvitation(inv, button) {
  await afterItemAction('inv:' + inv.id, button,
    () => api('POST', 'invitations/' + inv.id + '/revoke'),
    'The invitation to ' + inv.email + ' was revoked.');
  const repId = inv.representative_id;
  if (repId !== null && repId !== undefined) focusFirst('rep-' + repId + '-reinvite', 'rep-' + repId + '-name');
  else focusFirst('invite-client', 'client-invitation-heading');
}

// Access ended with the login kept: a reinvite can join that login again, or the person
// would end up with a second one.
function keptAccountHint(rep) {
  if (rep.portal_status !== 'access_ended') return null;
  return h('p', { class: 'hint', id: 'rep-' + rep.id + '-kept-hint',
    text: fullName(rep) + ' still has a portal account. If you reinvite them, ask them to enter that account’s username and password when they accept: this client is added back to it, and no second account is made.' });
}

// Reinvite goes once the invitation is out: focus on the representative's name, from where
// the new invitation's Resend and Revoke come next.
async function reinviteRepresentative(rep, button) {
  await afterItemAction('rep:' + rep.id, button,
    () => api('POST', 'representatives/' + rep.id + '/invitations'),
    'An invitation to ' + fullName(rep) + ' is on its way.');
  focusFirst('rep-' + rep.id + '-reinvite', 'rep-' + rep.id + '-name');
}

async function removeRepresentative(rep, button) {
  await afterItemAction('rep:' + rep.id, button,
    () => api('DELETE', 'representatives/' + rep.id),
    fullName(rep) + ' was removed as a representative.');
  if (!state.itemErrors.has('rep:' + rep.id)) $('rep-open').focus();
}

function initClientActions() {
  // Email: change. While the field differs from the saved address, invite waits for "change".
  $('client-email').addEventListener('input', () => { if (state.view) renderInvite(state.view); });
  const emailForm = $('email-form');
  emailForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('client-email');
    const email = input.value.trim();
    clearFormErrors(emailForm);
    if (!state.view) return;
    if (!email) {
      setFieldError('client-email-error', 'Please enter the client’s email address.', input);
      input.focus();
      return;
    }
    // the same address again confirms one that bounced (checked with the client): the
    // module clears its bounce; otherwise there is nothing to save
    const confirming = email === (state.view.email || '') && bouncedHere(state.view);
    if (email === (state.view.email || '') && !confirming) {
      announce('That is already the client’s email address.');
      return;
    }
    const hadPending = clientInvitations(state.view).some((i) => i.status === 'pending' && !isExpired(i));
    const notice = oldAddressNotice(state.view.email, email, !$('client-email-notice').hidden,
      $('client-email-withhold').checked);
    const button = emailForm.querySelector('button[type="submit"]');
    await busy(button, async () => {
      try {
        await api('PUT', 'clients/' + state.clientId + '/email', { email, ...notice.body });
        await refreshClient();
        input.value = state.view ? state.view.email || email : email;
        $('client-email-withhold').checked = false;      // a choice for this change only
        announce(confirming ? 'Email address ' + email + ' confirmed: invitations can go to it again.'
          : 'Email changed to ' + email + '.' + notice.words + (hadPending
            ? ' The earlier invitation link no longer works; send a new invitation.' : ''));
      } catch (err) {
        if (await reactToActionError(err)) return;
        // One field in this form: every error belongs next to it.
        setFieldError('client-email-error', errorText(err), input);
        input.focus();
        announce(errorText(err));
      }
    });
  });

  // invite client / reinvite client
  $('invite-client').addEventListener('click', async (e) => {
    const button = e.currentTarget;
    if (blocked(button)) {
      // nothing is sent: the reason stays shown next to it, and is said again
      announce($('invite-client-hint').textContent);
      return;
    }
    setFieldError('invite-client-error', '');
    if (!state.view) return;
    await busy(button, async () => {
      try {
        await api('POST', 'clients/' + state.clientId + '/invitations');
        await refreshClient();
        announce('Invitation to ' + (state.view?.email || 'the client') + ' queued. It will show as sent in a moment.');
        // the button may now be blocked; take keyboard users to the new invitation
        if (blocked(button)) $('client-invitations').querySelector('button')?.focus();
      } catch (err) {
        if (await reactToActionError(err)) return;
        const text = errorText(err);
        if (err.field === 'email' || err.code === 'no_email') {
          setFieldError('client-email-error', text, $('client-email'));
          $('client-email').focus();
        } else {
          setFieldError('invite-client-error', text);
        }
        announce(text);
        if (err.status === 409 && err.code !== 'client_discharged') await refreshClient({ quiet: true });
      }
    });
  });

  // client declined
  $('declined-open').addEventListener('click', () => openSubform('declined'));
  closeOnEscape('declined');
  closeOnEscape('rep');
  $('declined-cancel').addEventListener('click', () => { closeSubform('declined'); $('declined-open').focus(); });
  $('declined-note').addEventListener('input', updateNoteCounter);
  $('declined-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearFormErrors(form);
    const note = $('declined-note').value.trim();
    if ([...note].length > NOTE_MAX) {
      setFieldError('declined-note-error', ERROR_TEXT.invalid_note, $('declined-note'));
      $('declined-note').focus();
      return;
    }
    const hasAccount = !$('declined-account').hidden;
    if (hasAccount && !$('declined-disable').checked) {
      setFieldError('declined-disable-error', ERROR_TEXT.account_active, $('declined-disable'));
      $('declined-disable').focus();
      return;
    }
    const body = {};
    if (note) body.note = note;
    if (hasAccount) body.disable_account = true;
    const button = form.querySelector('button[type="submit"]');
    await busy(button, async () => {
      try {
        await api('POST', 'clients/' + state.clientId + '/declined', Object.keys(body).length ? body : undefined);
        form.reset();
        updateNoteCounter();
        closeSubform('declined');
        await refreshClient();
        $('declined-undo').focus();
        announce('Recorded that the client declined portal access.');
      } catch (err) {
        if (await reactToActionError(err)) return;
        if (err.code === 'account_active') { // an account appeared meanwhile: ask
          $('declined-account').hidden = false;
          setFieldError('declined-disable-error', ERROR_TEXT.account_active, $('declined-disable'));
          $('declined-disable').focus();
          return;
        }
        showFormError(form, err, 'declined-form-error');
      }
    });
  });
  // Undo asks first (it erases the note): focus on Keep, Escape backs out.
  $('declined-undo').addEventListener('click', () => {
    setFieldError('declined-undo-error', '');
    state.confirming = 'undo-declined';
    renderClient();
    $('declined-undo-no').focus();
  });
  const keepDeclined = () => cancelConfirm('declined-undo');
  $('declined-undo-no').addEventListener('click', keepDeclined);
  $('declined-undo-confirm').addEventListener('keydown', cancelOnEscape(keepDeclined));
  $('declined-undo-yes').addEventListener('click', async (e) => {
    const button = e.currentTarget;
    setFieldError('declined-undo-error', '');
    await busy(button, async () => {
      try {
        await api('DELETE', 'clients/' + state.clientId + '/declined');
        state.confirming = null;
        await refreshClient();
        $('declined-open').focus();
        announce('“Client declined” was undone. The client can be invited again.');
      } catch (err) {
        if (await reactToActionError(err)) return;
        setFieldError('declined-undo-error', errorText(err));
        announce(errorText(err));
      }
    });
  });

  // invite client representative
  $('rep-open').addEventListener('click', () => {
    if ($('rep-form').hidden) { presetRepLanguage(); openSubform('rep'); }
    else { closeSubform('rep'); }
  });
  // a language staff chose stays chosen when the form is closed and opened again
  $('rep-language').addEventListener('change', () => { $('rep-form').dataset.languageChosen = '1'; });
  $('rep-cancel').addEventListener('click', () => { closeSubform('rep'); $('rep-open').focus(); });
  $('rep-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearFormErrors(form);
    const body = {
      email: form.elements.email.value.trim(),
      first_name: form.elements.first_name.value.trim(),
      last_name: form.elements.last_name.value.trim(),
    };
    if (form.elements.relationship.value) body.relationship = form.elements.relationship.value;
    if (form.elements.preferred_language.value) body.preferred_language = form.elements.preferred_language.value;
    const access = accessBody(form);
    body.scopes = access.scopes;
    if (access.starts_at) body.starts_at = access.starts_at;
    if (access.ends_at) body.ends_at = access.ends_at;
    // Obvious gaps are caught here; everything else is the server's call.
    const missing = [];
    if (!body.email) missing.push(['email', 'Please enter the representative’s email address.']);
    if (!body.first_name) missing.push(['first_name', 'Please enter the first name.']);
    if (!body.last_name) missing.push(['last_name', 'Please enter the last name.']);
    if (!missing.length && !confirmSharedEmail(form, body.email)) return;
    if (missing.length) {
      for (const [field, text] of missing) {
        const input = form.elements.namedItem(field);
        setFieldError(input.id + '-error', text, input);
      }
      form.elements.namedItem(missing[0][0]).focus();
      announce(missing.map((m) => m[1]).join(' '));
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    await busy(button, async () => {
      try {
        await api('POST', 'clients/' + state.clientId + '/representatives', body);
        form.reset();
        delete form.dataset.languageChosen;
        $('rep-email-warning').hidden = true;
        delete form.dataset.sharedEmail;
        closeSubform('rep');
        await refreshClient();
        $('rep-open').focus();
        announce('Invitation to ' + body.first_name + ' ' + body.last_name + ' (' + body.email + ') queued.');
      } catch (err) {
        if (await reactToActionError(err)) return;
        // A name the server refuses for its characters gets the server's reason (it says
        // which characters are allowed); an empty one gets the plain request.
        const overrides = {};
        if (err.code === 'invalid_name' && (err.field === 'first_name' || err.field === 'last_name')) {
          overrides.invalid_name = body[err.field] && err.message ? err.message
            : err.field === 'first_name' ? 'Please enter the first name.' : 'Please enter the last name.';
        }
        if (err.field === 'scopes') {
          setFieldError('rep-scopes-error', errorText(err, overrides));
          announce(errorText(err, overrides));
          return;
        }
        showFormError(form, err, 'rep-form-error', overrides);
      }
    });
  });
}

// A new representative's emails: in the client's own language (from the roster) unless
// staff choose another; a client without a language leaves the practice's default, named.
function presetRepLanguage() {
  const form = $('rep-form');
  const select = $('rep-language');
  select.options[0].textContent = practiceDefaultText();
  if (form.dataset.languageChosen) return;
  const own = state.view && state.view.preferred_language;
  select.value = own && [...select.options].some((o) => o.value === own) ? own : '';
}

// A representative normally has an address of their own: the client's address gets a
// warning first, and a second press of invite (with the same address) goes ahead.
function confirmSharedEmail(form, email) {
  const warning = $('rep-email-warning');
  const own = state.view && state.view.email;
  if (!own || email.toLowerCase() !== own.toLowerCase()) {
    warning.hidden = true;
    delete form.dataset.sharedEmail;
    return true;
  }
  if (form.dataset.sharedEmail === email.toLowerCase()) return true;
  form.dataset.sharedEmail = email.toLowerCase();
  warning.textContent = 'This is the client’s own email address. The representative will get '
    + 'a separate portal account at the same address. Press invite again to send it anyway, '
    + 'or enter the representative’s own address.';
  warning.hidden = false;
  form.elements.email.focus();
  announce(warning.textContent);
  return false;
}

// Escape closes an open sub-form (what was typed stays) and returns to its button.
function closeOnEscape(name) {
  $(name + '-form').addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    closeSubform(name);
    $(name + '-open').focus();
  });
}

function openSubform(name) {
  const form = $(name + '-form');
  form.hidden = false;
  $(name + '-open').setAttribute('aria-expanded', 'true');
  form.querySelector('input, textarea, select').focus();
}

function closeSubform(name) {
  $(name + '-form').hidden = true;
  $(name + '-open').setAttribute('aria-expanded', 'false');
}

function updateNoteCounter() {
  const n = [...$('declined-note').value].length;
  $('declined-note-count').textContent = n + ' of ' + NOTE_MAX + ' characters';
}

// ---- history: the client's emails and audit entries (GET api/clients/{id}/emails, /audit) ------

const EMAIL_KINDS = {
  client_invitation: 'Invitation to the client',
  representative_invitation: 'Invitation to a representative',
  password_reset: 'Password reset',
  address_notice: 'Notice of an email change (to the old address)',
  test: 'Test email',
};

// the outbox entry's status (docs/api.md), as the Outbox page words it
const EMAIL_STATUS_WORDS = {
  queued: 'Queued', sending: 'Sending', retrying: 'Retrying', sent: 'Sent', bounced: 'Bounced', failed: 'Failed',
  cancelled: 'Cancelled',
};

function resetHistory() {
  for (const id of ['history', 'history-empty', 'history-audit-heading', 'history-emails',
    'history-emails-empty', 'history-emails-heading']) {
    $(id).hidden = true;
  }
  $('history-body').replaceChildren();
  $('history-emails-body').replaceChildren();
}

function emailRow(e) {
  const word = e.bounce ? 'Bounced (' + e.bounce.type + '): ' + (e.bounce.reason || '')
    : (e.last_error || '');
  return h('tr', null,
    h('td', null, timeEl(e.created_at)), h('td', { text: e.to || '' }),
    h('td', { text: EMAIL_KINDS[e.kind] || e.kind }), h('td', { text: EMAIL_STATUS_WORDS[e.status] || e.status }),
    h('td', { text: word }));
}

function fillHistory(emails, audit) {
  $('history-emails-body').replaceChildren(...emails.entries.map(emailRow));
  $('history-body').replaceChildren(...audit.entries.map((e) => h('tr', null,
    h('td', null, timeEl(e.at)), h('td', { text: e.display_name || e.username }),
    h('td', { text: ACTION_WORDS[e.action] || e.action }), h('td', { text: RESULT_WORDS[e.result] || e.result }))));
  $('history-emails-heading').hidden = false;
  $('history-audit-heading').hidden = false;
  $('history-emails').hidden = emails.entries.length === 0;
  $('history-emails-empty').hidden = emails.entries.length > 0;
  $('history').hidden = audit.entries.length === 0;
  $('history-empty').hidden = audit.entries.length > 0;
}

function counted(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

async function showHistory(button) {
  const id = state.clientId;
  await busy(button, async () => {
    try {
      const emails = await api('GET', 'clients/' + id + '/emails');
      const audit = await api('GET', 'clients/' + id + '/audit');
      if (id !== state.clientId) return;
      fillHistory(emails, audit);
      announce(counted(emails.entries.length, 'email', 'emails') + ' and '
        + counted(audit.entries.length, 'history entry', 'history entries') + ' shown.');
    } catch (err) {
      if (await reactToActionError(err)) return;
      showPageError(errorText(err));
    }
  });
}

// ---- start ----------------------------------------------------------------------------------

// #client=ID (the audit trail's links) opens that client, if this user may view it
async function openClientFromHash() {
  const m = /^#client=(\d+)$/.exec(location.hash);
  if (!m) return;
  // the address keeps nothing of a client (as the search keeps names out of URLs), and the
  // same link, followed again later, changes the address again and opens the client;
  // replaceState fires no hashchange
  history.replaceState(null, '', location.pathname + location.search);
  try {
    const loaded = await apiTagged('clients/' + m[1]);
    await selectClient(loaded.data, loaded);
  } catch (err) {
    // 404 is the same for a client that does not exist and one this user may not view
    // (the API tells neither apart): say what is true of both.
    showPageError(err.status === 404 ? 'No client with this number is on your list.' : errorText(err));
  }
}

async function start() {
  initCombobox();
  initClientActions();
  $('history-show').addEventListener('click', (ev) => showHistory(ev.currentTarget));
  $('reviews-retry').addEventListener('click', (ev) => busy(ev.currentTarget, loadReviews));
  checkClientOnReturn();
  initBulk({
    query: () => $('client-search').value.trim(),
    words: PORTAL_STATUS,
    errorText: (err) => errorText(err),
    afterInvite: () => { if (state.clientId) refreshClient({ quiet: true }); },
  });
  try {
    const me = await api('GET', 'me');
    state.me = me;
    usePracticeTimeZone(me.time_zone);
    $('who').textContent = 'Signed in as ' + (me.display_name || me.username);
    $('settings-link').hidden = !me.admin;
    $('outbox-link').hidden = !me.admin;
    $('audit-link').hidden = !me.admin;
    $('overview-link').hidden = !me.admin;
    initNotices(me, errorText);
    showRepresentativeInvite();
    showOfferedScopes();
    loadReviews();
  } catch (err) {
    if (err.code === 'not_staff') { accessTurnedOff(); return; }
    showPageError(errorText(err));
    if (err.status === 401) {
      $('client-search').disabled = true;
      $('no-client').hidden = true;
      disableBulk();
    }
    return;
  }
  window.addEventListener('hashchange', openClientFromHash);
  await openClientFromHash();
}

start();
