// Audit trail — the champions' screen over GET api/admin/audit (issue 15): filters by
// client (name search over POST api/clients/search: the name rides in the body, never in
// a URL, which the access log keeps), staff member (user name, or the name the entries give),
// action, result and dates; the cursor's next page; a CSV link that follows the form as it
// is (off, with the reason, while Show would refuse it) and is fetched, so that an error is
// shown as the screen shows it and only a CSV is ever saved.

import {
  api, $, h, announce, setFieldError, clearFormErrors, busy, showPageError,
  usePracticeTimeZone, timeEl, clientPicker, apiFile, setBlocked, outageText,
} from './common.js';
import { ACTION_WORDS } from './words.js';

const state = { query: '', cursor: null, staff: new Map(), clients: null, zone: null };

function clientName(c) {
  return c ? (c.first_name + ' ' + c.last_name).trim() : '';
}

function errorText(err) {
  if (outageText(err)) return outageText(err);
  if (err.status === 403) return 'Only portal administrators can see the audit trail.';
  if (err.status === 401) return 'Sign in again to see the audit trail.';
  if (err.code === 'network') return 'The server could not be reached. Try again.';
  return err.message || 'Something went wrong. Try again.';
}

// the filter form → the query string (without cursor); the client is the chosen search hit
// or a client number. Anything else typed there is a name not chosen from the suggestions:
// an error next to the field, not a filter that silently shows every client.
function filterQuery() {
  const p = new URLSearchParams();
  const id = state.clients.idOf($('client-search').value);
  if (id === null) return null;
  if (id) p.set('client_id', id);
  for (const [key, id] of [['username', 'f-username'], ['action', 'f-action'], ['result', 'f-result'],
    ['from', 'f-from'], ['to', 'f-to']]) {
    const v = $(id).value.trim();
    if (v) p.set(key, key === 'action' ? actionCode(v) : key === 'username' ? userName(v) : v);
  }
  return p.toString();
}

// The action field takes a code in any case ("Invitation.Create") or its words as the
// suggestions show them ("Invitation created"); the trail stores lower-case codes.
function actionCode(typed) {
  const low = typed.toLowerCase();
  const byWords = Object.keys(ACTION_WORDS).find((code) => ACTION_WORDS[code].toLowerCase() === low);
  return byWords || low;
}

// The staff field takes a user name as typed, or a name as the Who column shows it
// ("Casey Morgan", any case) of someone in the entries read so far: the API has no list of
// staff, the entries name theirs (display_name).
function userName(typed) {
  const low = typed.toLowerCase();
  const byName = [...state.staff].filter(([, name]) => name.toLowerCase() === low);
  return byName.length === 1 ? byName[0][0] : typed;
}

function learnStaff(entries) {
  const before = state.staff.size;
  for (const e of entries) if (e.display_name && e.username) state.staff.set(e.username, e.display_name);
  if (state.staff.size === before) return;
  $('f-username-list').replaceChildren(...[...state.staff]
    .sort((a, b) => a[1].localeCompare(b[1]))
    .map(([username, name]) => h('option', { value: username, label: name })));
}

// Who: the name colleagues know, with the user name the filter and the CSV use
function whoText(e) {
  return e.display_name ? `${e.display_name} (${e.username})` : e.username;
}

function fillActionSuggestions() {
  $('f-action-list').replaceChildren(...Object.entries(ACTION_WORDS)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([code, words]) => h('option', { value: code, label: words })));
}

const FIELD_INPUT = { client_id: 'client-search', username: 'f-username', action: 'f-action',
  result: 'f-result', from: 'f-from', to: 'f-to' };

// a cell with its column's name, which a phone shows beside the value (staff.css
// .stack-table: each entry a card there, the table's head hidden)
function cell(label, content) {
  return h('td', { 'data-label': label }, content);
}

// The action in words, its code beside them (the filter and the CSV use the code).
function actionCell(code) {
  const words = ACTION_WORDS[code];
  return words ? [words + ' ', h('span', { class: 'action-code', text: '(' + code + ')' })] : code;
}

// What the entry recorded beyond its action (its detail), in words: "changed: invitation
// expiry days, modules · locked: yes". Keys and codes lose their underscores, a list is
// joined, true/false read yes/no; the module never puts an address, a note or search text
// in a detail (docs/security.md), so nothing here needs hiding.
function detailValue(v) {
  if (Array.isArray(v)) return v.map(detailValue).join(', ');
  if (v === true) return 'yes';
  if (v === false) return 'no';
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => detailWords(k) + ' ' + detailValue(x)).join(', ');
  return typeof v === 'string' ? detailWords(v) : String(v);
}
const detailWords = (s) => s.replace(/_/g, ' ');

function detailText(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d).map(([k, v]) => detailWords(k) + ': ' + detailValue(v)).join(' · ');
}

function entryRow(e) {
  const client = e.client
    ? h('a', { href: './#client=' + e.client_id, text: clientName(e.client) })
    : (e.client_id ? '#' + e.client_id : '—');
  return h('tr', null,
    cell('Who', whoText(e)),
    cell('When', timeEl(e.at)),
    cell('Action', actionCell(e.action)),
    cell('Client', client),
    cell('Result', e.result),
    cell('Details', detailText(e.detail)),
    cell('Request id', e.request_id || ''));
}

async function loadPage(append) {
  const qs = state.query + (append && state.cursor
    ? (state.query ? '&' : '') + 'cursor=' + encodeURIComponent(state.cursor) : '');
  const doc = await api('GET', 'admin/audit' + (qs ? '?' + qs : ''));
  const body = $('entries-body');
  if (!append) body.replaceChildren();
  for (const e of doc.entries) body.append(entryRow(e));
  learnStaff(doc.entries);
  state.cursor = doc.next_cursor || null;
  $('next-page').hidden = !state.cursor;
  $('empty').textContent = 'No entries match.';
  $('empty').hidden = body.children.length > 0;
  announce(body.children.length + ' entries shown.');
  refreshCsvLink();   // the staff names just learned can change what the username filter sends
}

// A refused filter shows no rows: the previous filter's rows and count would read as its
// answer. The error goes next to its field and is announced.
function refuseFilter(inputId, text) {
  setFieldError(inputId + '-error', text, $(inputId));
  $('entries-body').replaceChildren();
  state.cursor = null;
  $('next-page').hidden = true;
  $('empty').textContent = inputId === 'f-from' || inputId === 'f-to'
    ? 'No entries shown: fix the dates.' : 'No entries shown: fix the filter.';
  $('empty').hidden = false;
  announce(text);
  $(inputId).focus();
}

const TO_BEFORE_FROM = 'The To date is before the From date.';
const CLIENT_NOT_CHOSEN = 'Choose the client from the suggestions, or type the client number.';

// The filter as the form holds it now: { query }, or { input, text } when Show would refuse
// it. Show and the CSV link both ask here, so the CSV never carries another filter.
function currentFilter() {
  const query = filterQuery();
  if (query === null) return { input: 'client-search', text: CLIENT_NOT_CHOSEN };
  const from = $('f-from').value.trim();
  const to = $('f-to').value.trim();
  if (from && to && to < from) return { input: 'f-to', text: TO_BEFORE_FROM };   // YYYY-MM-DD: as text
  return { query };
}

const csvPath = (query) => 'admin/audit?format=csv' + (query ? '&' + query : '');

// The link follows the form as it is typed: its href is the CSV of the form's filter, or,
// while Show would refuse that filter, it has none and is marked off with the reason beside it.
function refreshCsvLink() {
  const link = $('csv-link');
  const f = currentFilter();
  const off = f.text !== undefined;
  setBlocked(link, 'csv-off', off);
  $('csv-off').textContent = off ? 'No CSV until the filter is fixed: ' + f.text : '';
  $('csv-off').hidden = !off;
  if (off) {
    link.removeAttribute('href');
    link.setAttribute('role', 'link');
    link.tabIndex = 0;
  } else {
    link.setAttribute('href', 'api/' + csvPath(f.query));
    link.removeAttribute('role');
    link.removeAttribute('tabindex');
  }
}

// "audit-2026-12-07.csv" on the practice's clock, when the answer names no file
function csvFallbackName() {
  const opts = { year: 'numeric', month: '2-digit', day: '2-digit' };
  try {
    return 'audit-' + new Intl.DateTimeFormat('en-CA', { ...opts, timeZone: state.zone || undefined }).format(new Date()) + '.csv';
  } catch {
    return 'audit.csv';
  }
}

function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// Download CSV: the form's filter at the click, fetched; a refused or failed export is said
// on the page as the screen says it, and nothing is saved.
async function downloadCsv(ev) {
  ev.preventDefault();
  const link = ev.currentTarget;
  refreshCsvLink();
  const f = currentFilter();
  if (f.text !== undefined) {
    announce($('csv-off').textContent);
    return;
  }
  showPageError('');
  try {
    const file = await busy(link, () => apiFile(csvPath(f.query), 'text/csv'));
    if (!file) return;   // a click while the last one still ran
    const name = file.name || csvFallbackName();
    saveFile(file.blob, name);
    announce('Downloaded ' + name + '.');
  } catch (err) {
    if (err.field && FIELD_INPUT[err.field]) {
      refuseFilter(FIELD_INPUT[err.field], fieldErrorText(err));
    } else {
      showPageError(errorText(err));
      announce(errorText(err));
    }
  }
}

// the server's words for a refused field, for people (it names parameters: "to must not
// be before from.")
function fieldErrorText(err) {
  if ((err.field === 'to' || err.field === 'from') && /before/i.test(err.message || '')) return TO_BEFORE_FROM;
  return err.message;
}

async function applyFilter(ev) {
  ev.preventDefault();
  const form = $('filter-form');
  clearFormErrors(form);
  refreshCsvLink();
  const f = currentFilter();
  if (f.text !== undefined) {
    refuseFilter(f.input, f.text);
    return;
  }
  state.query = f.query;
  try {
    await busy(form.querySelector('button[type=submit]'), () => loadPage(false));
  } catch (err) {
    if (err.field && FIELD_INPUT[err.field]) {
      refuseFilter(FIELD_INPUT[err.field], fieldErrorText(err));
    } else {
      showPageError(errorText(err));
    }
  }
}

async function start() {
  fillActionSuggestions();
  $('filter-form').addEventListener('submit', applyFilter);
  // choosing a suggested client shows that client's entries at once
  state.clients = clientPicker({ input: 'client-search', list: 'client-options', error: 'client-search-error',
    errorText, onChosen: () => $('filter-form').requestSubmit() });
  for (const type of ['input', 'change']) $('filter-form').addEventListener(type, refreshCsvLink);
  $('csv-link').addEventListener('click', downloadCsv);
  refreshCsvLink();
  $('next-page').addEventListener('click', (ev) => {
    busy(ev.currentTarget, () => loadPage(true)).catch((err) => showPageError(errorText(err)));
  });
  try {
    const me = await api('GET', 'me');
    usePracticeTimeZone(me.time_zone);
    state.zone = me.time_zone || null;
    if (state.zone) $('csv-zone').textContent = state.zone;
    $('who').textContent = 'Signed in as ' + (me.display_name || me.username);
    await loadPage(false);
  } catch (err) {
    showPageError(errorText(err));
  }
}

start();
