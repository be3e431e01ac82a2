// A small stand-in for Apache + mod_portal_manager, for testing the pages on their own.
//
// It serves htdocs/ the way the real deployment does (same paths, `Content-Security-Policy:
// default-src 'self'` on the pages, HTTP Basic on /portal-manager) and answers the staff and
// recipient APIs with the shapes documented in docs/api.md, from memory. It also
// enforces what the real server enforces on the page's requests (X-Requested-With on state
// changes, JSON content type exactly when there is a body), so a page that forgets a header
// fails here too. The end-to-end tests (e2e.test.js) run against the real server instead.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const HTDOCS = path.resolve(here, '..', '..', '..', 'htdocs');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };
const USERS = {
  admin: { password: 'pw', display_name: 'Ada Admin', admin: true, email: 'ada.admin@example.org', notify: 'daily' },
  clin1: { password: 'pw', display_name: 'Cleo Clinician', admin: false, email: null, notify: 'daily' },
};
const NOTIFY = ['none', 'immediate', 'daily'];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// a representative's access (docs/api.md, REPRESENTATIVE): scopes and first/last day
const SCOPES = ['messages', 'billing', 'forms', 'appointments'];
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

// The pages' CSP, as in the deployment's config: settings.html also shows images from
// blob: URLs (the logo preview).
export function pageCsp(file) {
  return path.basename(file) === 'settings.html' ? "default-src 'self'; img-src 'self' blob:" : "default-src 'self'";
}

// ---- portal settings (docs/configuration.md), validated like the module does ----
// Names, types, ranges, lengths and defaults come from the module's own settings table
// (src/core/pm_settings_def.c), which the build writes to settings-definitions.json
// (pm-settings-json); t/browser/run.sh builds before it runs the tests.
const DEFINITIONS_FILE = process.env.PM_SETTINGS_DEFINITIONS || path.resolve(here, '..', '..', '..', 'settings-definitions.json');
function readDefinitions() {
  try {
    return JSON.parse(readFileSync(DEFINITIONS_FILE, 'utf8'));
  } catch (err) {
    throw new Error(DEFINITIONS_FILE + ' is written by the build (make): ' + err.message);
  }
}
export const SETTINGS = readDefinitions();
const SETTING = Object.fromEntries(SETTINGS.map((d) => [d.name, d]));
const PLACEHOLDERS = ['recipient_first_name', 'practice_name', 'link', 'expires_at'];
// What the stand-in's configuration would give the settings whose defaults come from a directive.
const DIRECTIVE_DEFAULTS = {
  PortalMailFrom: () => 'Riverside Counseling',
  PortalLoginURL: (baseURL) => baseURL + '/portal/account/',
};

function settingDefault(d, baseURL) {
  if (d.default_from) return DIRECTIVE_DEFAULTS[d.default_from](baseURL);
  return d.default !== null && typeof d.default === 'object' ? { ...d.default } : d.default;
}

function settingsDefaults(baseURL) {
  return Object.fromEntries(SETTINGS.map((d) => [d.name, settingDefault(d, baseURL)]));
}

function settingsDefinitions(baseURL) {
  return SETTINGS.map((d) => ({ ...d, default: settingDefault(d, baseURL) }));
}

function templateProblem(t, needLink) {
  let hasLink = false;
  for (const m of t.matchAll(/\{\{(.*?)(\}\}|$)/gs)) {
    if (!m[2]) return "has a '{{' without a closing '}}'";
    if (!PLACEHOLDERS.includes(m[1])) return 'uses the unknown placeholder {{' + m[1] + '}} (known: {{recipient_first_name}}, {{practice_name}}, {{link}}, {{expires_at}})';
    if (m[1] === 'link') hasLink = true;
  }
  return needLink && !hasLink ? 'must contain {{link}}, where the invitation link goes' : null;
}

function textProblem(v, max, newlines) {
  if (typeof v !== 'string') return 'must be text';
  if (!newlines && /[\r\n]/.test(v)) return 'must be one line of text without control characters';
  if ([...v].length > max) return 'must be at most ' + max + ' characters';
  return v.trim() ? null : 'must not be empty';
}

// A phone number, as the module: digits and + ( ) - . / and spaces with 7 digits at least,
// then maybe an extension ("ext. 12", "ext 12", "x12", "extension 12", any case).
function phoneProblem(v) {
  const m = /^([0-9 +()\-./]*)(?:(?:extension|ext\.|ext|x) *[0-9]+)?$/i.exec(v);
  return m && (m[1].match(/[0-9]/g) || []).length >= 7 ? null
    : 'must be a phone number, such as (555) 010-0100 or +34 912 345 678, optionally with an extension (ext. 12)';
}

// An email text per language, as the module: {language: text or null} with languages that
// have a catalog (the default's keys), or a plain string (the English text).
function perLanguageProblem(d, v, one) {
  if (typeof v === 'string') return one(v);
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'must be an object of texts by language, such as {"es": "..."}';
  for (const [lang, t] of Object.entries(v)) {
    if (!(lang in d.default)) return 'has a language without a catalog: ' + lang + ' (known: ' + Object.keys(d.default).join(', ') + ')';
    const problem = t === null ? null : one(t);
    if (problem) return '[' + lang + '] ' + problem;
  }
  return null;
}

// as the module stores it: {language: text}, nulls dropped, a string as English
function byLanguage(v) {
  if (typeof v === 'string') return { en: v };
  return Object.fromEntries(Object.entries(v).filter(([, t]) => typeof t === 'string'));
}

// pm_time_zone_known: a system zone ICU knows by that name (no "GMT+5" or "+05:00")
function timeZoneKnown(v) {
  if (typeof v !== 'string' || !/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(v)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: v });   // eslint-disable-line no-new
    return true;
  } catch {
    return false;
  }
}

// pm_collate_locale_known: letters, digits, _ and -, at most 32, and a locale ICU has
// collation rules for (root and und too)
function collationLocaleKnown(v) {
  if (typeof v !== 'string' || !v || v.length > 32 || !/^[A-Za-z0-9_-]+$/.test(v)) return false;
  if (v === 'root' || v === 'und') return true;
  try {
    return Intl.Collator.supportedLocalesOf(v.replace(/_/g, '-')).length > 0;
  } catch {
    return false;
  }
}

function settingProblem(name, v) {
  const d = SETTING[name];
  switch (d ? d.type : null) {
    case 'integer':
      return Number.isInteger(v) && v >= d.min && v <= d.max ? null : 'must be a whole number from ' + d.min + ' to ' + d.max;
    case 'text': return textProblem(v, d.max_length, false);
    case 'lines': return textProblem(v, d.max_length, true);
    case 'phone': return textProblem(v, d.max_length, false) || phoneProblem(v);
    case 'url': return typeof v === 'string' && /^https?:\/\/[^\s/]+/.test(v) ? null : 'must be an http:// or https:// URL';
    case 'color': return typeof v === 'string' && /^#[0-9a-fA-F]{6}$/.test(v) ? null : 'must be a colour written #rrggbb';
    case 'logo': {
      // as the module: PNG or JPEG (magic bytes), never SVG; it also checks the dimensions
      if (typeof v === 'string' && v.startsWith('data:image/svg')) return 'must be a PNG or JPEG image; SVG is not accepted';
      const m = typeof v === 'string' && /^data:image\/(png|jpeg);base64,([A-Za-z0-9+/=]*)$/.exec(v);
      if (!m) return 'must be a PNG or JPEG image (a data:image/png or data:image/jpeg base64 URL)';
      const bytes = Buffer.from(m[2], 'base64');
      const magic = m[1] === 'png' ? bytes.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))
        : bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]));
      if (!magic) return 'is not a PNG or JPEG image';
      return bytes.length > 100 * 1024 ? 'must be at most 100 KB' : null;
    }
    case 'subject': return perLanguageProblem(d, v, (t) => textProblem(t, d.max_length, false) || templateProblem(t, false)
      || (t.includes('{{link}}') ? 'must not contain {{link}}: the link is secret, so it goes only in the message' : null));
    case 'message': return perLanguageProblem(d, v, (t) => textProblem(t, d.max_length, true) || templateProblem(t, true));
    case 'modules':
      if (!v || typeof v !== 'object' || Array.isArray(v)) return 'must be an object of true/false switches';
      for (const [k, b] of Object.entries(v)) {
        if (!d.keys.includes(k)) return 'has an unknown module';
        if (typeof b !== 'boolean') return 'switches must be true or false';
      }
      return null;
    case 'boolean': return typeof v === 'boolean' ? null : 'must be true or false';
    // the module asks pm_locale (a language with a catalog) and ICU (a zone name, a collation
    // locale); here Node's own ICU stands in for the module's
    case 'language': return v === 'en' || v === 'es' ? null : 'must be a language the portal has a catalog for (en, es)';
    case 'time_zone': return timeZoneKnown(v) ? null : 'must be an IANA time zone name, such as America/Chicago or Europe/Madrid';
    case 'locale': return collationLocaleKnown(v) ? null : 'must be a locale ICU knows, such as en, fr_CA, sv or el';
    default: return 'is not a setting';
  }
}

const escapeHtml = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const LAST = ['Adams', 'Baker', 'Carter', 'Diaz', 'Evans', 'Foster', 'Garcia', 'Hughes', 'Ibrahim', 'Jensen', 'Khan', 'Lopez'];
const FIRST = ['Avery', 'Blake', 'Casey', 'Drew', 'Emery'];

export function iso(sec) {
  return sec === null || sec === undefined ? null : new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function startFakeServer(options = {}) {
  const opts = { deliveryDelayMs: 1200, resendCooldownSec: 600, ttlSec: 7 * 24 * 3600, ...options };
  const now = () => Math.floor(Date.now() / 1000);
  let nextId = 100;
  let baseURL = '';

  const clients = new Map();
  const addClient = (c) => clients.set(c.id, {
    email: null, declined_at: null, declined_by: null, declined_note: null, statement_notifications: true, ...c,
  });
  addClient({ id: 1, first_name: 'Zoë', last_name: 'Núñez', date_of_birth: '1990-01-02', email: 'zoe@example.org' });
  addClient({ id: 2, first_name: 'Ann', last_name: 'Smith', date_of_birth: '1980-03-04', email: 'ann@example.org' });
  addClient({ id: 3, first_name: 'Bob', last_name: 'Smith', date_of_birth: '1970-05-06', email: 'bob@example.org', declined_at: now() - 86400, declined_by: 'admin', declined_note: 'Prefers paper statements.' });
  addClient({ id: 4, first_name: 'Carla', last_name: 'Smithers', date_of_birth: '1985-07-08', email: null });
  let id = 10;
  for (const last of LAST) for (const first of FIRST) addClient({ id: id++, first_name: first, last_name: last, date_of_birth: '1975-0' + (1 + (id % 9)) + '-1' + (id % 10), email: first.toLowerCase() + '.' + last.toLowerCase() + '@example.org' });

  const representatives = new Map();
  const invitations = new Map();
  const accounts = new Map();   // username(lower) → {password, client_id, representative_id}
  const tokens = new Map();     // token → invitation id (only the newest token of each works)
  const clientViews = []; // ids of GET /clients/{id} answered (each one a client.view row in the module)
  let headersIn = {};
  const viewTag = (view) => '"' + createHash('sha256').update(JSON.stringify(view)).digest('hex').slice(0, 32) + '"';
  const deadTokens = new Map(); // token → invitation id, superseded by a resend / email change
  const requests = [];
  const stored = {};            // settings as PUT (a setting absent here has its default)
  const addressNotices = [];    // notices of an email change: {client_id, representative_id, to, withheld}
  const outbox = [];            // test emails: {id, to, kind, status, last_error, subject, text} (and rows a test pushes)
  const injected = [];          // {method, re, status, body, headers, times}
  let timers = [];

  function setTimer(fn, ms) {
    const t = setTimeout(() => { timers = timers.filter((x) => x !== t); fn(); }, ms);
    timers.push(t);
  }

  function isExpired(inv) { return inv.status === 'pending' && inv.expires_at <= now(); }

  function invitationJson(inv) {
    return {
      id: inv.id, representative_id: inv.representative_id, email: inv.email,
      status: isExpired(inv) ? 'expired' : inv.address_changed ? 'address_changed' : inv.status,
      delivery: inv.delivery, delivery_error: inv.delivery_error, bounce: inv.bounce || null,
      created_at: iso(inv.created_at), created_by: inv.created_by, created_by_name: USERS[inv.created_by]?.display_name || null,
      sent_at: iso(inv.sent_at), expires_at: iso(inv.expires_at), responded_at: iso(inv.responded_at), send_count: inv.send_count,
      next_attempt_at: inv.delivery === 'queued' && inv.next_attempt_at ? iso(inv.next_attempt_at) : null,
      // like the module: while the resend cooldown after the last email runs (the stand-in
      // counts it from sent_at, as its resend does), when it ends; else null
      resend_available_at: inv.status === 'pending' && !isExpired(inv) && inv.sent_at
        && inv.sent_at + opts.resendCooldownSec > now() ? iso(inv.sent_at + opts.resendCooldownSec) : null,
    };
  }

  function invitationsOf(clientId, repId) {
    return [...invitations.values()].filter((i) => i.client_id === clientId && i.representative_id === repId)
      .sort((a, b) => b.id - a.id);
  }

  // docs/product.md: active · invited · declined_by_client · declined · expired · failed · locked · revoked ·
  // address_changed · access_ended · account_disabled · not_invited
  // A representative's active account whose grant here ended (`access_ended`: a review's
  // End access, staff turning a shared login off here) or whose last day has passed is
  // kept: access_ended, as the module says.
  function portalStatus(client, rep) {
    const own = [...accounts.values()].filter((a) => (rep ? a.representative_id === rep.id : a.client_id === client.id && a.representative_id === null) && a.active);
    const over = !!(rep && rep.ends_at && rep.ends_at < new Date().toISOString().slice(0, 10));
    const kept = own.filter((a) => a.access_ended || over).length > 0;
    if (own.length > 0 && !kept) return 'active';
    const latest = invitationsOf(client.id, rep ? rep.id : null)[0];
    if (latest && latest.status === 'pending' && !isExpired(latest) && latest.delivery !== 'failed' && latest.delivery !== 'cancelled') return 'invited';
    if (!rep && client.declined_at) return 'declined_by_client';
    if (!latest) return 'not_invited';
    if (latest.status === 'declined') return 'declined';
    if (isExpired(latest)) return 'expired';
    if (latest.delivery === 'failed') return 'failed';
    if (latest.delivery === 'cancelled' && latest.status === 'pending') return 'email_cancelled';
    if (latest.status === 'locked') return 'locked';
    if (latest.status === 'revoked') return 'revoked';
    if (latest.address_changed) return 'address_changed';
    if (latest.status === 'accepted') return kept ? 'access_ended' : 'account_disabled';
    return 'not_invited';
  }

  function clientRow(c) {
    return { id: c.id, first_name: c.first_name, last_name: c.last_name, date_of_birth: c.date_of_birth, external_id: c.external_id ?? null, portal_status: portalStatus(c) };
  }

  // GET /clients/{id} accounts[]; an account set by a test without an id gets one here
  function accountJson(username, a) {
    if (!a.id) a.id = nextId++;
    return {
      id: a.id, username: a.username || username, kind: a.representative_id ? 'representative' : 'client',
      representative_id: a.representative_id, status: a.active ? 'active' : 'disabled',
      created_at: iso(a.created_at || now()), disabled_at: a.active ? null : iso(a.disabled_at || null),
      disabled_by: a.active ? null : (USERS[a.disabled_by]?.display_name || a.disabled_by || null),
      disabled_reason: a.active ? null : (a.disabled_reason || null),
      reset_expires_at: openReset(a) ? iso(openReset(a).expires_at) : null,
      // this client's grant (the stand-in has one client per login; `other_clients`: how
      // many more it reaches, set by a test)
      access_here: a.access_ended ? 'ended' : 'active', other_clients: a.other_clients || 0,
      access_ended: a.access_ended ? { ...a.access_ended, at: iso(a.access_ended.at),
        by: USERS[a.access_ended.by]?.display_name || a.access_ended.by } : null,
      // coming of age (pm_reviews.c): the stand-in has no minors, a test may set these
      grant_id: a.grant_id ?? null, review_due: !!a.review_due, review: a.review ?? null,
    };
  }

  // password reset: an invitation of kind 'reset' for an account (the module's design)
  function openReset(a) {
    return [...invitations.values()].find((i) => i.kind === 'reset' && i.account_id === a.id
      && i.status === 'pending' && !isExpired(i));
  }

  function resetAccount(a, c, user) {
    if (!a.active) fail(409, 'account_disabled', 'This portal account is disabled.');
    const rep = a.representative_id && representatives.get(a.representative_id);
    const email = rep ? rep.email : c.email;
    if (!email) fail(409, 'no_email', 'There is no email address on file for this person.');
    const open = openReset(a);
    if (open) {
      const wait = open.last_queued_at + opts.resendCooldownSec - now();
      if (wait > 0) fail(429, 'resend_too_soon', 'Sent a moment ago.', null, { 'Retry-After': String(wait) });
      open.expires_at = now() + 24 * 3600;
      open.last_queued_at = now();
      send(open);
      return;
    }
    const inv = newInvitation(c, rep || null, user);
    Object.assign(inv, { kind: 'reset', account_id: a.id, email, expires_at: now() + 24 * 3600 });
  }

  function disableAccount(a, user, reason) {
    a.active = false; a.disabled_at = now(); a.disabled_by = user; a.disabled_reason = reason || null;
  }

  function accountsApi(method, id, what, body, user) {
    const entry = [...accounts.entries()].find(([, a]) => a.id === id);
    const c = entry && clients.get(entry[1].client_id);
    if (!entry || !c) fail(404, 'not_found', 'There is no portal account with this id.');
    const a = entry[1];
    if (what === 'password-reset') {
      resetAccount(a, c, user);
      return [202, clientView(c)];
    }
    if (what === 'disable') {
      const reason = body && body.reason;
      if (reason !== undefined && reason !== null && (typeof reason !== 'string' || [...reason].length > 500)) {
        fail(422, 'invalid_reason', 'The reason must be at most 500 characters of text.', 'reason');
      }
      if (!a.active) fail(409, 'already_disabled', 'This portal account is already disabled.');
      if (body && body.client_id !== undefined && body.client_id !== c.id) fail(404, 'not_found', 'There is no portal account with this id.');
      if (a.access_ended) fail(409, 'access_ended', 'This portal account no longer reaches this client.');
      // a login that reaches other clients keeps them: only this client's grant ends
      if (a.other_clients > 0) a.access_ended = { at: now(), by: user, reason: 'staff', note: reason || null };
      else disableAccount(a, user, reason);
    } else {
      if (a.active) fail(409, 'already_enabled', 'This portal account is already active.');
      const rep = a.representative_id && representatives.get(a.representative_id);
      if (rep && rep.removed_at) fail(409, 'representative_removed', 'The representative was removed.');
      if (!a.representative_id && c.declined_at) fail(409, 'client_declined', 'The client declined the portal.');
      if (invitationsOf(c.id, a.representative_id || null).some((i) => i.kind === 'invite' && i.status === 'pending' && !isExpired(i))) {
        fail(409, 'invitation_pending', 'This person has an open invitation. Revoke it first, or let them accept it: that makes their account.');
      }
      Object.assign(a, { active: true, disabled_at: null, disabled_by: null, disabled_reason: null });
    }
    return [200, clientView(c)];
  }

  // scopes / starts_at / ends_at of a body over what `was`, checked as the module does
  let meScopes = null; // GET /me's representative_scopes (null: every scope, every module on)
  function checkAccess(b, was) {
    const out = { scopes: was.scopes, starts_at: was.starts_at, ends_at: was.ends_at };
    if (b.scopes !== undefined) {
      if (!Array.isArray(b.scopes) || b.scopes.some((k) => !SCOPES.includes(k)) || new Set(b.scopes).size !== b.scopes.length) {
        fail(422, 'invalid_scopes', 'The scopes has an unknown scope.', 'scopes');
      }
      out.scopes = SCOPES.filter((k) => b.scopes.includes(k));
    }
    for (const k of ['starts_at', 'ends_at']) {
      if (b[k] === undefined) continue;
      if (b[k] !== null && !DAY_RE.test(b[k])) fail(422, 'invalid_dates', 'This date must be a real date.', k);
      out[k] = b[k];
    }
    if (out.starts_at && out.ends_at && out.ends_at < out.starts_at) {
      fail(422, 'invalid_dates', 'The access must end on or after the day it starts.', 'ends_at');
    }
    return out;
  }

  function clientView(c) {
    const reps = [...representatives.values()].filter((r) => r.client_id === c.id && !r.removed_at);
    return {
      ...clientRow(c),
      active: c.active !== false,
      email: c.email,
      preferred_language: c.preferred_language ?? null,
      declined_by_client: c.declined_at ? { at: iso(c.declined_at), by: c.declined_by, by_name: USERS[c.declined_by]?.display_name || null, note: c.declined_note } : null,
      statement_notifications: c.statement_notifications,
      invitations: [...invitations.values()].filter((i) => i.client_id === c.id && i.kind !== 'reset').sort((a, b) => b.id - a.id).map(invitationJson),
      accounts: [...accounts.entries()].filter(([, a]) => a.client_id === c.id)
        .map(([u, a]) => accountJson(u, a)).sort((x, y) => x.id - y.id),
      representatives: reps.map((r) => {
        const latest = invitationsOf(c.id, r.id)[0];
        return {
          id: r.id, email: r.email, first_name: r.first_name, last_name: r.last_name, relationship: r.relationship,
          preferred_language: r.preferred_language ?? null,
          portal_status: portalStatus(c, r), latest_invitation: latest ? invitationJson(latest) : null,
          scopes: r.scopes, starts_at: r.starts_at, ends_at: r.ends_at,
        };
      }),
    };
  }

  function send(inv) {
    // The delivery worker: queued → sent (or failed for addresses at bounce.example) later.
    inv.delivery = 'queued';
    inv.delivery_error = null;
    setTimer(() => {
      if (inv.delivery !== 'queued') return;
      if (/@bounce\.example$/i.test(inv.email)) {
        inv.delivery = 'failed';
        inv.delivery_error = '550 5.1.1 mailbox unavailable';
        return;
      }
      for (const [t, invId] of tokens) if (invId === inv.id) { tokens.delete(t); deadTokens.set(t, invId); }
      const token = 'tok' + inv.id + 'x' + (inv.send_count + 1) + 'r' + Math.random().toString(36).slice(2, 10);
      tokens.set(token, inv.id);
      inv.token = token;
      inv.delivery = 'sent';
      inv.sent_at = now();
      inv.send_count += 1;
    }, opts.deliveryDelayMs);
  }

  function newInvitation(client, rep, user) {
    const inv = {
      id: nextId++, client_id: client.id, representative_id: rep ? rep.id : null,
      email: rep ? rep.email : client.email, status: 'pending', delivery: null, delivery_error: null,
      created_at: now(), created_by: user, sent_at: null, expires_at: now() + opts.ttlSec, responded_at: null,
      send_count: 0, verify_failures: 0, token: null, kind: 'invite', last_queued_at: now(),
    };
    invitations.set(inv.id, inv);
    send(inv);
    return inv;
  }

  // like the module: an invitation that ends records when (responded_at), answered or not
  function endInvitation(inv, status) {
    inv.status = status;
    inv.responded_at = now();
  }

  // an email change: the module stores 'superseded' and tells staff 'address_changed'
  // notify_old_address, as the module reads it: absent is true; anything but a boolean, 422
  function notifyFlag(b) {
    if (b.notify_old_address === undefined) return true;
    if (typeof b.notify_old_address !== 'boolean') {
      fail(422, 'invalid_notify_old_address', 'notify_old_address must be true or false.', 'notify_old_address');
    }
    return b.notify_old_address;
  }

  // The notice of an address change (issue 14): to the old address of a person with an
  // active portal account, unless staff withheld it. Kept in addressNotices, the withheld
  // ones too ({withheld: true}, as the module's audit detail says).
  function addressNotice(c, rep, oldEmail, newEmail, notify) {
    if (!oldEmail || oldEmail.toLowerCase() === newEmail.toLowerCase()) return;
    const active = [...accounts.values()].some((a) => a.active && (rep ? a.representative_id === rep.id
      : a.client_id === c.id && a.representative_id === null));
    if (!active) return;
    addressNotices.push({ client_id: c.id, representative_id: rep ? rep.id : null, to: oldEmail, withheld: !notify });
  }

  function supersedePending(clientId, repId) {
    for (const inv of invitationsOf(clientId, repId)) {
      if (inv.status === 'pending') {
        endInvitation(inv, 'superseded');
        inv.address_changed = true;
        if (inv.token) { tokens.delete(inv.token); deadTokens.set(inv.token, inv.id); }
      }
    }
  }

  // ---- HTTP plumbing ----

  class HttpError extends Error {
    constructor(status, code, message, field, headers) { super(message); Object.assign(this, { status, code, field, headers }); }
  }
  const fail = (status, code, message, field, headers) => { throw new HttpError(status, code, message || code, field, headers); };

  function json(res, status, body, headers = {}) {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer', ...headers,
    });
    res.end(JSON.stringify(body));
  }

  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  function authUser(req) {
    const m = /^Basic (.+)$/.exec(req.headers.authorization || '');
    if (!m) return null;
    const [user, pass] = Buffer.from(m[1], 'base64').toString().split(':');
    return USERS[user] && USERS[user].password === pass ? user : null;
  }

  async function serveFile(res, file) {
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Security-Policy': pageCsp(file), 'Cache-Control': 'no-cache' });
      res.end(data);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  }

  function parseJsonBody(req, raw) {
    const hasBody = raw.length > 0;
    const ct = req.headers['content-type'] || '';
    const enc = req.headers['content-encoding'];
    if (hasBody && enc && enc.toLowerCase() !== 'identity') fail(415, 'unsupported_encoding', 'The request body must be sent uncompressed (no Content-Encoding).');
    // application/json; a charset (quoted or not, any case) only UTF-8
    const cs = /;\s*charset="?([^";\s]*)"?/i.exec(ct);
    if (hasBody && (!/^application\/json\s*(;|$)/i.test(ct) || (cs && !/^utf-?8$/i.test(cs[1])))) fail(415, 'unsupported_media_type', 'Send JSON.');
    if (!hasBody && ct) fail(400, 'invalid_body', 'Content-Type without a body.');
    if (!hasBody) return null;
    try { return JSON.parse(raw); } catch { return fail(400, 'invalid_json', 'The body is not valid JSON.'); }
  }

  // like the module (pm_http_query.c): every key once and one the route takes, with a value
  // that decodes (+ a space, %XX a byte) to UTF-8 text without control characters; ids and
  // numbers are 1 to 15 digits, no sign or leading zero (checked where they are read)
  const QUERY_KEYS = [
    ['GET', /^clients$/, ['limit', 'cursor', 'q']],
    ['GET', /^clients\/\d+\/(audit|emails)$/, ['cursor']],
    ['GET', /^admin\/settings$/, ['include']],
    ['GET', /^admin\/outbox$/, ['status', 'client_id', 'id', 'limit', 'cursor']],
    ['GET', /^admin\/audit$/, ['client_id', 'username', 'action', 'result', 'from', 'to', 'limit', 'cursor', 'format']],
    ['GET', /^admin\/overview$/, ['months', 'days']],
    ['PUT', /^admin\/roster$/, ['dry_run', 'discharge_missing', 'allow_mass_discharge', 'identifier_system', 'skip_invalid']],
  ];
  const queryText = (s) => {
    try {
      const v = decodeURIComponent(s.replace(/\+/g, ' '));
      return /[\u0000-\u001f\u007f-\u009f]/.test(v) ? null : v;
    } catch { return null; }
  };
  const isCount = (v) => /^[1-9][0-9]{0,14}$/.test(v);
  function checkQuery(method, route, search, staff) {
    const m = (method === 'HEAD' ? 'GET' : method);
    const keys = (staff && (QUERY_KEYS.find(([km, re]) => km === m && re.test(route)) || [])[2]) || [];
    const seen = new Set();
    for (const pair of search.replace(/^\?/, '').split('&').filter(Boolean)) {
      const eq = pair.indexOf('=');
      const key = queryText(eq < 0 ? pair : pair.slice(0, eq));
      if (key === null || !keys.includes(key)) {
        fail(400, 'invalid_parameter', `Unknown parameter '${key}': this address takes `
          + (keys.length ? 'only ' + keys.join(', ') : 'no parameters') + '.', key === null ? undefined : key);
      }
      if (eq < 0) fail(400, 'invalid_parameter', `${key} needs a value (${key}=...).`, key);
      if (queryText(pair.slice(eq + 1)) === null) fail(400, 'invalid_parameter', `${key} must be UTF-8 text without control characters.`, key);
      if (seen.has(key)) fail(400, 'invalid_parameter', `${key} is given more than once.`, key);
      seen.add(key);
    }
  }

  function checkCsrf(req) {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    if (req.headers['x-requested-with'] !== 'portal-manager') fail(403, 'csrf', 'missing X-Requested-With');
    const site = req.headers['sec-fetch-site'];
    if (site && site !== 'same-origin') fail(403, 'csrf', 'Cross-site requests are not accepted.');
  }

  function getClient(idStr) {
    const c = clients.get(Number(idStr));
    if (!c) fail(404, 'not_found', 'There is no client with this id.');
    return c;
  }

  // Why a client cannot be invited now ([code, message, field?]), or null.
  function inviteRefusal(c) {
    if (c.active === false) return ['client_discharged', 'The client was discharged.'];
    if (!c.email) return ['no_email', 'The client has no email address.', 'email'];
    if (c.declined_at) return ['client_declined', 'The client declined portal access.'];
    if (portalStatus(c) === 'active') return ['already_active', 'The client already has an active portal account.'];
    const latest = invitationsOf(c.id, null)[0];
    if (latest && latest.status === 'pending' && !isExpired(latest) && latest.delivery !== 'failed') {
      return ['invitation_pending', 'An invitation is already pending.'];
    }
    return null;
  }

  function inviteClient(c, user) {
    const latest = invitationsOf(c.id, null)[0];
    if (latest && latest.status === 'pending') endInvitation(latest, 'superseded');
    return newInvitation(c, null, user);
  }

  // ---- staff API ----

  function staffApi(method, route, query, body, user) {
    let m;
    if (route === 'me' && method === 'GET') {
      const st = settingsDoc();
      return [200, {
        username: user, display_name: USERS[user].display_name, admin: USERS[user].admin,
        representatives_enabled: st.representatives_enabled, max_sends_per_invitation: st.max_sends_per_invitation,
        time_zone: st.time_zone ?? undefined, representative_scopes: meScopes || SCOPES,
        default_language: st.default_language || 'en',
        email: USERS[user].email, notify: USERS[user].notify,
      }];
    }
    // the caller's own email notices, as the module checks them
    if (route === 'me/preferences' && method === 'PUT') {
      const b = body || {};
      const other = Object.keys(b).find((k) => k !== 'notify');
      if (other) fail(400, 'unknown_field', `The field '${other}' is not accepted here.`, other);
      if (!NOTIFY.includes(b.notify)) fail(422, 'invalid_notify', 'notify must be "none", "immediate" or "daily".', 'notify');
      USERS[user].notify = b.notify;
      return [200, { notify: b.notify }];
    }
    if (route === 'reviews' && method === 'GET') {
      // the stand-in has no minors: nothing is ever due (e2e.test.js reviews on the real server)
      return [200, { count: 0, reviews: [] }];
    }
    // the search text rides only in POST /clients/search's body, never in a URL
    if (route === 'clients' && method === 'GET' && query.has('q')) {
      fail(400, 'invalid_parameter', 'Send the search text in the body of POST /clients/search.', 'q');
    }
    if ((route === 'clients' && method === 'GET') || (route === 'clients/search' && method === 'POST')) {
      const input = method === 'POST' ? (body || {}) : Object.fromEntries(query);
      const q = String(input.q || '').toLowerCase();
      const limit = Number(input.limit || 50);
      if ((method === 'GET' && input.limit !== undefined && !isCount(input.limit)) || !(limit >= 1 && limit <= 100)) {
        fail(400, 'invalid_parameter', 'limit must be a whole number from 1 to 100.', 'limit');
      }
      let offset = 0;
      if (input.cursor) {
        offset = Number(Buffer.from(String(input.cursor), 'base64url').toString());
        if (!Number.isInteger(offset)) fail(400, 'invalid_cursor', 'bad cursor');
      }
      const all = [...clients.values()]
        .filter((c) => c.active !== false)
        // like the module: a name prefix, or the chart number exactly (trimmed, either case)
        .filter((c) => !q || c.first_name.toLowerCase().startsWith(q) || c.last_name.toLowerCase().startsWith(q)
          || (c.external_id && c.external_id.toLowerCase() === q.trim()))
        .sort((a, b) => a.last_name.localeCompare(b.last_name) || a.first_name.localeCompare(b.first_name) || a.id - b.id);
      const page = all.slice(offset, offset + limit);
      const next = offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : null;
      return [200, { clients: page.map(clientRow), next_cursor: next }];
    }
    if ((m = /^clients\/(\d+)$/.exec(route)) && method === 'GET') {
      const view = clientView(getClient(m[1]));
      clientViews.push(view.id);
      return [200, view, { ETag: viewTag(view) }];
    }
    // the History: the client's emails and audit entries (the stand-in's are made from its
    // invitations: an email and an invitation.create row each, newest first)
    if ((m = /^clients\/(\d+)\/(emails|audit)$/.exec(route)) && method === 'GET') {
      const c = getClient(m[1]);
      const invs = [...invitations.values()].filter((i) => i.client_id === c.id && i.kind === 'invite')
        .sort((a, b) => b.id - a.id);
      if (m[2] === 'emails') {
        return [200, { entries: invs.map((i) => ({
          id: i.id, created_at: iso(i.created_at), to: i.email,
          kind: i.representative_id ? 'representative_invitation' : 'client_invitation',
          status: i.delivery === 'queued' || !i.delivery ? 'queued' : i.delivery, last_error: i.delivery_error, bounce: null,
        })), next_cursor: null }];
      }
      return [200, { entries: invs.map((i) => ({
        id: i.id, at: iso(i.created_at), username: i.created_by,
        display_name: USERS[i.created_by]?.display_name || null, action: 'invitation.create',
        object_id: i.id, result: 'ok', detail: null, request_id: 'fake',
      })), next_cursor: null }];
    }
    // like the module: the page's refresh, unaudited, 304 while the view is unchanged
    if ((m = /^clients\/(\d+)\/status$/.exec(route)) && method === 'GET') {
      const view = clientView(getClient(m[1]));
      const tag = viewTag(view);
      if (headersIn['if-none-match'] === tag) return [304, null, { ETag: tag }];
      return [200, { id: view.id, portal_status: view.portal_status, version: tag }, { ETag: tag }];
    }
    if ((m = /^clients\/(\d+)\/email$/.exec(route)) && method === 'PUT') {
      const c = getClient(m[1]);
      for (const k of Object.keys(body || {})) if (!['email', 'notify_old_address'].includes(k)) fail(400, 'unknown_field', 'Unknown field ' + k, k);
      const notify = notifyFlag(body || {});
      const email = body && typeof body.email === 'string' ? body.email.trim() : '';
      if (!EMAIL_RE.test(email)) fail(422, 'invalid_email', 'The email address is not valid.', 'email');
      if ((c.email || '').toLowerCase() !== email.toLowerCase()) supersedePending(c.id, null);
      addressNotice(c, null, c.email, email, notify);
      c.email = email;
      // like the module (migration 024): the address saved is checked; its hard bounces are cleared
      for (const inv of invitations.values()) {
        if (inv.client_id === c.id && inv.representative_id === null && inv.email.toLowerCase() === email.toLowerCase()
            && inv.bounce && inv.bounce.type === 'hard' && !inv.bounce.cleared_at) {
          inv.bounce.cleared_at = new Date().toISOString();
        }
      }
      return [200, clientView(c)];
    }
    if ((m = /^clients\/(\d+)\/declined$/.exec(route))) {
      const c = getClient(m[1]);
      if (method === 'POST') {
        const note = body && body.note;
        if (note !== undefined && note !== null && (typeof note !== 'string' || [...note].length > 500)) {
          fail(422, 'invalid_note', 'The note must be at most 500 characters of text.', 'note');
        }
        const own = [...accounts.values()].filter((a) => a.client_id === c.id && a.representative_id === null && a.active);
        if (own.length && !(body && body.disable_account === true)) {
          fail(409, 'account_active', 'This client already has an active portal account.', 'disable_account');
        }
        for (const a of own) disableAccount(a, user);
        c.declined_at = now(); c.declined_by = user; c.declined_note = note || null;
        for (const inv of invitationsOf(c.id, null)) if (inv.status === 'pending') endInvitation(inv, 'revoked');
        return [200, clientView(c)];
      }
      if (method === 'DELETE') {
        c.declined_at = null; c.declined_by = null; c.declined_note = null;
        return [200, clientView(c)];
      }
    }
    if ((m = /^clients\/(\d+)\/invitations$/.exec(route)) && method === 'POST') {
      const c = getClient(m[1]);
      const refusal = inviteRefusal(c);
      if (refusal) fail(409, ...refusal);
      return [201, { invitation: invitationJson(inviteClient(c, user)) }];
    }
    // like the module: 1..500 distinct positive integers, each client on its own
    if (route === 'invitations/bulk' && method === 'POST') {
      const extra = Object.keys(body || {}).filter((k) => k !== 'client_ids');
      if (extra.length) fail(400, 'unknown_field', 'Unknown field ' + extra[0] + '.', extra[0]);
      const ids = body && body.client_ids;
      if (!Array.isArray(ids) || !ids.length || !ids.every((i) => Number.isInteger(i) && i > 0)) {
        fail(422, 'invalid_client_ids', 'client_ids must be a list of one or more client ids.', 'client_ids');
      }
      if (ids.length > 500) fail(422, 'too_many_client_ids', 'At most 500 clients can be invited at once.', 'client_ids');
      if (new Set(ids).size !== ids.length) fail(422, 'duplicate_client_ids', 'A client id is listed twice.', 'client_ids');
      const results = ids.map((cid) => {
        const c = clients.get(cid);
        const latest = c && invitationsOf(c.id, null)[0];
        // like the module: no reinvite after a lock or the recipient's decline in bulk
        const refusal = !c ? ['not_found'] : inviteRefusal(c)
          || (latest && ['locked', 'declined'].includes(latest.status) ? ['reinvite_on_own_page'] : null);
        if (refusal) return { client_id: cid, result: 'skipped', reason: refusal[0] };
        inviteClient(c, user);
        return { client_id: cid, result: 'queued', reason: null };
      });
      return [200, { results }];
    }
    if ((m = /^invitations\/(\d+)\/(resend|revoke)$/.exec(route)) && method === 'POST') {
      const inv = invitations.get(Number(m[1]));
      if (!inv) fail(404, 'not_found', 'There is no invitation with this id.');
      if (inv.status !== 'pending') fail(409, 'not_pending', 'The invitation is no longer pending.');
      if (m[2] === 'revoke') {
        endInvitation(inv, 'revoked');
        if (inv.token) { tokens.delete(inv.token); }
        return [200, { invitation: invitationJson(inv) }];
      }
      if (inv.sent_at && now() - inv.sent_at < opts.resendCooldownSec) {
        const wait = opts.resendCooldownSec - (now() - inv.sent_at);
        fail(429, 'resend_too_soon', 'Wait before resending.', null, { 'Retry-After': String(wait) });
      }
      inv.expires_at = now() + opts.ttlSec;
      send(inv);
      return [200, { invitation: invitationJson(inv) }];
    }
    if ((m = /^clients\/(\d+)\/representatives$/.exec(route)) && method === 'POST') {
      const c = getClient(m[1]);
      const b = body || {};
      for (const k of Object.keys(b)) if (!['email', 'first_name', 'last_name', 'relationship', 'preferred_language', 'scopes', 'starts_at', 'ends_at'].includes(k)) fail(400, 'unknown_field', 'Unknown field ' + k, k);
      const access = checkAccess(b, { scopes: SCOPES, starts_at: null, ends_at: null });
      if (c.active === false) fail(409, 'client_discharged', 'The client was discharged.');   // as the module
      const email = typeof b.email === 'string' ? b.email.trim() : '';
      if (!EMAIL_RE.test(email)) fail(422, 'invalid_email', 'The email address is not valid.', 'email');
      if (!b.first_name || !String(b.first_name).trim()) fail(422, 'invalid_name', 'First name is required.', 'first_name');
      if (!b.last_name || !String(b.last_name).trim()) fail(422, 'invalid_name', 'Last name is required.', 'last_name');
      // like the module: letters (any script), spaces, apostrophes, hyphens and periods
      for (const [k, words] of [['first_name', 'first'], ['last_name', 'last']]) {
        if (!/^[\p{L}\p{M} '’.-]+$/u.test(String(b[k]))) {
          fail(422, 'invalid_name', 'The ' + words + ' name may only contain letters, spaces, apostrophes, hyphens and periods.', k);
        }
      }
      if (b.preferred_language !== undefined && b.preferred_language !== null && !['en', 'es'].includes(b.preferred_language)) {
        fail(422, 'invalid_language', 'Unknown language.', 'preferred_language');
      }
      if (b.relationship !== undefined && !['parent', 'guardian', 'spouse', 'caregiver', 'other'].includes(b.relationship)) {
        fail(422, 'invalid_relationship', 'Unknown relationship.', 'relationship');
      }
      const dup = [...representatives.values()].some((r) => r.client_id === c.id && !r.removed_at && r.email.toLowerCase() === email.toLowerCase());
      if (dup) fail(409, 'duplicate_representative', 'This person is already a representative of the client.', 'email');
      const rep = { id: nextId++, client_id: c.id, email, first_name: b.first_name.trim(), last_name: b.last_name.trim(), relationship: b.relationship || null, preferred_language: b.preferred_language || null, removed_at: null, ...access };
      representatives.set(rep.id, rep);
      const inv = newInvitation(c, rep, user);
      return [201, { representative: { ...rep, portal_status: 'invited' }, invitation: invitationJson(inv) }];
    }
    if ((m = /^representatives\/(\d+)\/invitations$/.exec(route)) && method === 'POST') {
      const rep = representatives.get(Number(m[1]));
      if (!rep || rep.removed_at) fail(404, 'not_found', 'There is no representative with this id.');
      const c = clients.get(rep.client_id);
      if (portalStatus(c, rep) === 'active') fail(409, 'already_active', 'Already active.');
      const latest = invitationsOf(c.id, rep.id)[0];
      if (latest && latest.status === 'pending' && !isExpired(latest) && latest.delivery !== 'failed') fail(409, 'invitation_pending', 'Pending.');
      if (latest && latest.status === 'pending') endInvitation(latest, 'superseded');
      return [201, { invitation: invitationJson(newInvitation(c, rep, user)) }];
    }
    if ((m = /^representatives\/(\d+)$/.exec(route)) && method === 'PUT') {
      // the stand-in edits what the page edits in place: the access, and the email
      const rep = representatives.get(Number(m[1]));
      if (!rep || rep.removed_at) fail(404, 'not_found', 'There is no representative with this id.');
      for (const k of Object.keys(body || {})) if (!['scopes', 'starts_at', 'ends_at', 'email', 'notify_old_address'].includes(k)) fail(400, 'unknown_field', 'Unknown field ' + k, k);
      const b = body || {};
      const notify = notifyFlag(b);
      const access = checkAccess(b, rep);
      if (b.email !== undefined) {
        const email = typeof b.email === 'string' ? b.email.trim() : '';
        if (!EMAIL_RE.test(email)) fail(422, 'invalid_email', 'The email address is not valid.', 'email');
        const dup = [...representatives.values()].some((r) => r.id !== rep.id && r.client_id === rep.client_id && !r.removed_at && r.email.toLowerCase() === email.toLowerCase());
        if (dup) fail(409, 'duplicate_representative', 'This client already has a representative with that email address.');
        if (rep.email.toLowerCase() !== email.toLowerCase()) supersedePending(rep.client_id, rep.id);
        addressNotice(clients.get(rep.client_id), rep, rep.email, email, notify);
        rep.email = email;
      }
      Object.assign(rep, access);
      return [200, clientView(clients.get(rep.client_id))];
    }
    if ((m = /^representatives\/(\d+)$/.exec(route)) && method === 'DELETE') {
      const rep = representatives.get(Number(m[1]));
      if (!rep || rep.removed_at) fail(404, 'not_found', 'There is no representative with this id.');
      rep.removed_at = now();
      for (const inv of invitationsOf(rep.client_id, rep.id)) if (inv.status === 'pending') endInvitation(inv, 'revoked');
      for (const a of accounts.values()) if (a.representative_id === rep.id && a.active) disableAccount(a, user);
      return [200, {}];
    }
    if ((m = /^accounts\/(\d+)\/(disable|enable|password-reset)$/.exec(route)) && method === 'POST') {
      return accountsApi(method, Number(m[1]), m[2], body, user);
    }
    if (route.startsWith('admin/')) return adminApi(method, route.slice('admin/'.length), query, body, user);
    return fail(404, 'not_found', 'There is nothing at this address.');
  }

  // ---- admin API (the deployment's Require lets only admins in; see the server below) ----

  function settingsDoc() {
    const doc = settingsDefaults(baseURL);
    for (const [k, v] of Object.entries(stored)) {
      doc[k] = k === 'modules' || SETTING[k].per_language ? { ...doc[k], ...v } : v;
    }
    return doc;
  }

  function renderEmail(kind, lang = 'en') {
    const st = { ...settingsDoc() };
    for (const d of SETTINGS) if (d.per_language) st[d.name] = st[d.name][lang];
    const expires = new Date((now() + st.invitation_ttl_hours * 3600) * 1000);
    const vars = {
      recipient_first_name: 'Alex', practice_name: st.practice_name,
      link: baseURL + '/portal/invitation/#t=TEST-EMAIL-THIS-LINK-DOES-NOT-WORK',
      expires_at: expires.toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    };
    const fill = (t, esc = (x) => x) => t.replace(/\{\{(\w+)\}\}/g, (m, k) => (k in vars ? esc(vars[k]) : m));
    const subject = fill(st[kind + '_invitation_subject']);
    const text = fill(st[kind + '_invitation_message']);
    const colour = st.brand_color || '#1a5fb4';
    const paras = escapeHtml(st[kind + '_invitation_message']).split(/\n\n+/).map((p) => '<p>' + fill(p, escapeHtml)
      .replace(escapeHtml(vars.link), '<a href="' + escapeHtml(vars.link) + '" style="color:' + colour + '">' + escapeHtml(vars.link) + '</a>')
      .replace(/\n/g, '<br>\n') + '</p>');
    const logo = st.logo ? '<p><img src="cid:practice-logo@portal-manager" alt="' + escapeHtml(st.practice_name) + '" style="max-height:64px;max-width:240px"></p>\n' : '';
    const html = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n<body style="font-family:Arial,Helvetica,sans-serif;line-height:1.5;color:#222">\n' +
      logo + paras.join('\n') + '\n</body></html>\n';
    return { subject, text, html };
  }

  // every field the module lists (pm_api_outbox.c); a row a test pushed may carry its
  // own (invitation_id, client_id and names, kind, attempts, created_at, next_attempt_at:
  // seconds, as the module stores them)
  // like the module (PM_OUTBOX_SHOWN_STATUS): a hard bounce is the email's status, whatever was stored
  const shownStatus = (e) => (e.bounce && e.bounce.type === 'hard' ? 'bounced' : e.status);
  const outboxEntry = (e) => ({
    id: e.id, invitation_id: e.invitation_id ?? null, client_id: e.client_id ?? null,
    client_first_name: e.client_first_name ?? null, client_last_name: e.client_last_name ?? null,
    purpose: e.purpose || (e.invitation_id ? 'invitation' : 'test_' + e.kind),
    kind: e.invitation_id ? e.kind : 'test', to: e.to,
    status: shownStatus(e), attempts: e.attempts ?? (e.status === 'queued' ? 0 : 1), last_error: e.last_error,
    created_at: iso(e.created_at ?? e.queued_at), next_attempt_at: iso(e.next_attempt_at ?? e.created_at ?? e.queued_at),
    sent_at: iso(e.sent_at ?? null), bounce: e.bounce || null,
  });

  function adminApi(method, route, query, body) {
    let m;
    if (route === 'settings') {
      if (method === 'GET') {
        if (query.has('include') && query.get('include') !== 'definitions') fail(400, 'invalid_parameter', 'include takes only definitions.', 'include');
        return [200, query.get('include') === 'definitions' ? { ...settingsDoc(), definitions: settingsDefinitions(baseURL) } : settingsDoc()];
      }
      if (method === 'PUT') {
        if (!body || typeof body !== 'object' || !Object.keys(body).length) fail(400, 'invalid_body', 'Send the settings to change as a JSON object.');
        // as the module: a name that is no setting first, then every value, all refusals at once
        for (const k of Object.keys(body)) {
          if (!(k in settingsDefaults(baseURL))) fail(400, 'unknown_field', "There is no setting '" + k + "'.", k);
        }
        const errors = Object.entries(body).map(([k, v]) => [k, v === null ? null : settingProblem(k, v)])
          .filter(([, problem]) => problem).map(([k, problem]) => ({ field: k, message: k + ' ' + problem + '.' }));
        if (errors.length) {
          const e = new HttpError(422, 'invalid_setting', errors[0].message, errors[0].field);
          e.extra = { errors };
          throw e;
        }
        for (const [k, v] of Object.entries(body)) {
          if (v === null) delete stored[k];
          else stored[k] = SETTING[k].per_language ? byLanguage(v) : v;   // like the module: a modules object replaces the stored one
        }
        return [200, settingsDoc()];
      }
      fail(405, 'method_not_allowed', 'GET or PUT', null, { Allow: 'GET, PUT' });
    }
    if (route === 'settings/preview' && method === 'POST') {
      const kind = body && body.kind;
      if (kind !== 'client' && kind !== 'representative') fail(422, 'invalid_kind', 'kind must be "client" or "representative".', 'kind');
      const lang = body.language ?? 'en';
      if (!(lang in SETTING.client_invitation_subject.default)) fail(422, 'invalid_language', 'language must be one the portal has a catalog for.', 'language');
      // PortalMailFrom's name wins over the practice name, as in the module
      return [200, { language: lang, from: 'Riverside Counseling <no-reply@example.org>', ...renderEmail(kind, lang) }];
    }
    if (route === 'settings/test-email' && method === 'POST') {
      const to = body && typeof body.to === 'string' ? body.to.trim() : '';
      if (!EMAIL_RE.test(to)) fail(422, 'invalid_email', 'This email address is not valid.', 'to');
      const kind = (body && body.kind) || 'client';
      if (kind !== 'client' && kind !== 'representative') fail(422, 'invalid_kind', 'kind must be "client" or "representative".', 'kind');
      const lang = body.language ?? 'en';
      if (!(lang in SETTING.client_invitation_subject.default)) fail(422, 'invalid_language', 'language must be one the portal has a catalog for.', 'language');
      const email = renderEmail(kind, lang);
      // like the module, the test email's subject is marked
      const entry = { id: nextId++, to, kind, status: 'queued', last_error: null, queued_at: now(), ...email, subject: '[Test] ' + email.subject };
      outbox.push(entry);
      setTimer(() => {
        if (/@bounce\.example$/i.test(to)) { entry.status = 'failed'; entry.last_error = '550 5.1.1 mailbox unavailable'; } else entry.status = 'sent';
      }, opts.deliveryDelayMs);
      return [202, { outbox_id: entry.id, status: 'queued' }];
    }
    if (route === 'outbox' && method === 'GET') {
      const counts = { queued: 0, sent_last_7_days: 0, failed: 0 };
      // stored statuses: retrying and sending are stored queued, cancelled failed
      // a hard-bounced email is no email sent
      for (const e of outbox) {
        if (shownStatus(e) !== 'bounced') counts[{ retrying: 'queued', sending: 'queued', cancelled: 'failed', sent: 'sent_last_7_days' }[e.status] || e.status] += 1;
      }
      const status = query.get('status');
      const id = query.get('id');         // ?id=: that one row (the settings screen's test email)
      for (const k of ['client_id', 'id', 'limit']) {
        if (query.has(k) && !isCount(query.get(k))) fail(400, 'invalid_parameter', `${k} must be a number.`, k);
      }
      const limit = Number(query.get('limit')) || 100;
      return [200, {
        // like the module: counts stop at counts_cap (opts.outboxCounts: as a full outbox shows them)
        counts: opts.outboxCounts || counts, counts_cap: 100,
        entries: outbox.filter((e) => (!status || shownStatus(e) === status) && (!id || e.id === Number(id)))
          .slice().reverse().slice(0, limit).map(outboxEntry),
      }];
    }
    // like the module: retry a retrying or failed email, cancel a queued or retrying one;
    // any other status is 409 outbox_status
    if ((m = /^outbox\/(\d+)\/(retry|cancel)$/.exec(route)) && method === 'POST') {
      const extra = Object.keys(body || {})[0];
      if (extra) fail(400, 'unknown_field', `The field '${extra}' is not accepted here.`, extra);
      const e = outbox.find((x) => x.id === Number(m[1]));
      if (!e) fail(404, 'not_found', 'There is no such email.');
      const allowed = m[2] === 'retry' ? ['retrying', 'failed'] : ['queued', 'retrying'];
      if (!allowed.includes(e.status)) fail(409, 'outbox_status', 'This email is ' + e.status + ' now.');
      if (m[2] === 'cancel') Object.assign(e, { status: 'cancelled', last_error: 'not sent: cancelled by staff' });
      else Object.assign(e, { status: 'queued', next_attempt_at: Math.floor(Date.now() / 1000) });
      return [200, outboxEntry(e)];
    }
    return fail(404, 'not_found', 'There is nothing at this address.');
  }

  // ---- recipient API ----

  // like the module, a refused link names the practice and its phone (null when unset)
  const practiceInfo = () => ({ practice_name: opts.practiceName || 'Riverside Counseling', practice_phone: opts.practicePhone || null,
    brand_color: opts.brandColor || '#2f5d62' });
  // ... and, when the token names an invitation, the recipient's language
  // like the module: a link that names an invitation also carries its language and
  // whether it is a password reset link
  const failLink = (status, code, message, language, reset = false) => {
    const e = new HttpError(status, code, message);
    e.extra = { ...practiceInfo(), ...(language ? { language, reset } : {}),
      ...(['already_used', 'already_active', 'already_linked'].includes(code) ? { login_url: '/portal/account/' } : {}) };
    throw e;
  };

  // like the module: the representative's own language, else the client's; a representative
  // without one gets the practice's default_language
  function recipientLanguage(inv) {
    const rep = inv.representative_id ? representatives.get(inv.representative_id) : null;
    const own = rep ? rep.preferred_language : clients.get(inv.client_id).preferred_language || 'en';
    return own || settingsDoc().default_language || 'en';
  }

  // The fixed test tokens: 'expired-token', 'locked-token', ... and with a language,
  // 'expired-token-es' (an invitation whose recipient speaks Spanish); 'reset-...' ones are
  // password reset links.
  const FIXED_TOKENS = {
    'reset-revoked': [410, 'revoked', 'This password reset link was withdrawn by the practice.', true],
    'reset-already-used': [409, 'already_used', 'This password reset link has already been used.', true],
    expired: [410, 'expired', 'The invitation has expired.'],
    locked: [423, 'locked', 'Locked.'],
    revoked: [410, 'revoked', 'This invitation was withdrawn by the practice.'],
    'address-changed': [410, 'address_changed', 'This invitation link is no longer valid.'],
    superseded: [410, 'superseded', 'A newer invitation was sent.'],
    'already-used': [409, 'already_used', 'Already used.'],
    'already-declined': [409, 'already_declined', 'Declined.'],
  };

  function tokenInvitation(token) {
    if (typeof token !== 'string' || !token) failLink(404, 'invalid_token', 'Unknown token.');
    const fixed = /^([a-z-]+)-token(?:-([a-z]{2}))?$/.exec(token);
    if (fixed && FIXED_TOKENS[fixed[1]]) {
      const [status, code, message, reset] = FIXED_TOKENS[fixed[1]];
      failLink(status, code, message, fixed[2] || 'en', reset === true);
    }
    if (deadTokens.has(token)) {
      const dead = invitations.get(deadTokens.get(token));
      failLink(410, 'superseded', 'A newer invitation was sent.', dead && recipientLanguage(dead));
    }
    const invId = tokens.get(token);
    const inv = invId && invitations.get(invId);
    if (!inv) failLink(404, 'invalid_token', 'Unknown token.');
    const language = recipientLanguage(inv);
    const reset = inv.kind === 'reset';
    if (inv.status === 'accepted') failLink(409, 'already_used', 'Already used.', language, reset);
    if (inv.status === 'declined') failLink(409, 'already_declined', 'Declined.', language, reset);
    if (inv.status === 'locked') failLink(423, 'locked', 'Locked.', language, reset);
    if (inv.status === 'revoked') failLink(410, 'revoked', 'This invitation was withdrawn by the practice.', language, reset);
    if (inv.status === 'superseded') failLink(404, 'invalid_token', 'Unknown token.');
    if (isExpired(inv)) failLink(410, 'expired', 'Expired.', language, reset);
    return inv;
  }

  // one character over and over: refused as the module refuses it
  const oneRepeated = (pw) => [...pw].every((ch) => ch === [...pw][0]);

  function recipientApi(method, route, body) {
    if (method !== 'POST') fail(405, 'method_not_allowed', 'POST only', null, { Allow: 'POST' });
    const b = body || {};
    const accountOf = (inv) => [...accounts.values()].find((a) => a.id === inv.account_id);
    if (route === 'lookup') {
      const inv = tokenInvitation(b.token);
      const c = clients.get(inv.client_id);
      const rep = inv.representative_id ? representatives.get(inv.representative_id) : null;
      const reset = inv.kind === 'reset'
        ? { kind: 'reset', username: accountOf(inv).username, for: rep ? 'representative' : 'client' } : {};
      return [200, {
        ...practiceInfo(), recipient_first_name: rep ? rep.first_name : c.first_name,
        kind: rep ? 'representative' : 'client', expires_at: iso(inv.expires_at), brand_color: opts.brandColor || '#2f5d62',
        password_min_length: settingsDoc().password_min_length,
        language: recipientLanguage(inv), time_zone: settingsDoc().time_zone || 'UTC', ...reset,
      }];
    }
    if (route === 'reset') {
      const inv = tokenInvitation(b.token);
      if (inv.kind !== 'reset') fail(409, 'wrong_kind', 'This link is an invitation, not a password reset.');
      const c = clients.get(inv.client_id);
      const a = accountOf(inv);
      const pw = String(b.password || '');
      if ([...pw].length < settingsDoc().password_min_length || pw.toLowerCase() === a.username.toLowerCase() || oneRepeated(pw)) {
        fail(422, 'weak_password', 'The password is too weak.', 'password');
      }
      if (b.date_of_birth !== c.date_of_birth) {
        inv.verify_failures += 1;
        if (inv.verify_failures >= 5) { inv.status = 'locked'; failLink(423, 'locked', 'Locked.'); }
        const e = new HttpError(422, 'verification_failed', 'The date of birth does not match.', 'date_of_birth');
        e.extra = { tries_left: 5 - inv.verify_failures };
        throw e;
      }
      a.password = pw;
      inv.status = 'accepted';
      inv.responded_at = now();
      return [200, { login_url: '/portal/account/', username: a.username }];
    }
    if ((route === 'accept' || route === 'decline') && tokenInvitation(b.token).kind === 'reset') {
      fail(409, 'wrong_kind', 'This link is for a password reset, not an invitation.');
    }
    if (route === 'accept') {
      const inv = tokenInvitation(b.token);
      const c = clients.get(inv.client_id);
      // existing_login: the account the recipient already has, its password under no new rule
      const join = b.existing_login === true;
      if (b.existing_login !== undefined && typeof b.existing_login !== 'boolean') {
        fail(422, 'invalid_existing_login', 'existing_login must be true or false.', 'existing_login');
      }
      if (join && !inv.representative_id) fail(422, 'existing_login_not_allowed', 'Not for a client.', 'existing_login');
      if (join && !String(b.password || '')) fail(422, 'invalid_password', 'Enter the password.', 'password');
      // a date that can never match costs no try (as the module)
      if (typeof b.date_of_birth !== 'string' || b.date_of_birth > new Date().toISOString().slice(0, 10)) {
        fail(422, 'invalid_date_of_birth', 'The date of birth must be a real date.', 'date_of_birth');
      }
      if (b.date_of_birth !== c.date_of_birth) {
        inv.verify_failures += 1;
        if (inv.verify_failures >= 5) { inv.status = 'locked'; failLink(423, 'locked', 'Locked.', recipientLanguage(inv)); }
        const e = new HttpError(422, 'verification_failed', 'The date of birth does not match.', 'date_of_birth');
        e.extra = { tries_left: 5 - inv.verify_failures };
        throw e;
      }
      // the client already has an active account of their own (the module: 409 already_active,
      // with the sign-in page; the invitation stays unused)
      if (!inv.representative_id && [...accounts.values()].some((a) => a.client_id === c.id && !a.representative_id && a.active)) {
        failLink(409, 'already_active', 'You already have a portal account for this client.', recipientLanguage(inv));
      }
      const username = String(b.username || '').trim();
      if (!username) fail(422, 'invalid_username', 'Choose a username.', 'username');
      // one login per person: a representative's active login at the same address, with its
      // password, gets this client too (linked), as the module does
      const own = accounts.get(username.toLowerCase());
      const ownRep = own && own.representative_id && representatives.get(own.representative_id);
      if (inv.representative_id && own && own.active && ownRep && ownRep.email.toLowerCase() === inv.email.toLowerCase()) {
        if (own.password !== String(b.password || '')) fail(422, 'verification_failed', 'The username and password do not match.', 'password');
        own.other_clients = (own.other_clients || 0) + 1;
        inv.status = 'accepted';
        inv.responded_at = now();
        return [201, { login_url: '/portal/account/', linked: true }];
      }
      if (join) {
        inv.verify_failures += 1;
        const e = new HttpError(422, 'verification_failed', 'The username and password do not match.', 'password');
        e.extra = { tries_left: 5 - inv.verify_failures };
        throw e;
      }
      if (accounts.has(username.toLowerCase()) || username.toLowerCase() === 'taken') {
        inv.verify_failures += 1;   // a taken username costs a try, as in the module
        const e = new HttpError(409, 'username_taken', 'That username is taken.', 'username');
        e.extra = { tries_left: 5 - inv.verify_failures };
        throw e;
      }
      const pw = String(b.password || '');
      if ([...pw].length < settingsDoc().password_min_length || pw.toLowerCase() === username.toLowerCase() || pw.toLowerCase() === inv.email.toLowerCase() || oneRepeated(pw)) {
        fail(422, 'weak_password', 'The password is too weak.', 'password');
      }
      accounts.set(username.toLowerCase(), { id: nextId++, username, password: pw, client_id: c.id, representative_id: inv.representative_id, active: true, created_at: now() });
      inv.status = 'accepted';
      inv.responded_at = now();
      return [201, { login_url: '/portal/account/' }];
    }
    if (route === 'decline') {
      const inv = tokenInvitation(b.token);
      inv.status = 'declined';
      inv.responded_at = now();
      return [200, {}];
    }
    return fail(404, 'not_found', 'There is nothing at this address.');
  }

  // ---- the server ----

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const raw = await readBody(req);
    const record = { method: req.method, path: url.pathname + url.search, headers: req.headers, body: raw, t: Date.now() };
    try {
      let m;
      if ((m = /^\/portal-manager\/api\/(.*)$/.exec(url.pathname)) || (m = /^\/portal\/invitation\/api\/(.*)$/.exec(url.pathname))) {
        requests.push(record);
        const staff = url.pathname.startsWith('/portal-manager/');
        let user = null;
        if (staff) {
          user = authUser(req);
          if (!user) {
            res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="staff"', 'Content-Type': 'text/html' });
            res.end('<h1>Unauthorized</h1>');
            return;
          }
        }
        if (staff && /^admin(\/|$)/.test(m[1]) && !USERS[user].admin) {
          res.writeHead(403, { 'Content-Type': 'text/html; charset=iso-8859-1' });
          res.end('<h1>Forbidden</h1>');
          return;
        }
        const inj = injected.find((i) => i.method === req.method && i.re.test(m[1]));
        if (inj) {
          if (--inj.times <= 0) injected.splice(injected.indexOf(inj), 1);
          if (inj.drop) { req.socket.destroy(); return; }
          json(res, inj.status, inj.body, inj.headers);
          return;
        }
        checkQuery(req.method, m[1], url.search, staff);
        checkCsrf(req);
        const body = parseJsonBody(req, raw);
        headersIn = req.headers;
        const [status, answer, headers] = staff ? staffApi(req.method, m[1], url.searchParams, body, user) : recipientApi(req.method, m[1], body);
        if (status === 304) {
          res.writeHead(304, { 'Cache-Control': 'no-store', ...(headers || {}) });
          res.end();
          return;
        }
        json(res, status, answer, headers || {});
        return;
      }
      if (url.pathname === '/portal-manager' || url.pathname === '/portal/invitation') {
        res.writeHead(301, { Location: url.pathname + '/' });
        res.end();
        return;
      }
      if (url.pathname.startsWith('/portal-manager/')) {
        if (!authUser(req)) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="staff"', 'Content-Type': 'text/html' });
          res.end('<h1>Unauthorized</h1>');
          return;
        }
        const rel = url.pathname.slice('/portal-manager/'.length) || 'index.html';
        if (rel.includes('..')) throw new HttpError(404, 'not_found');
        await serveFile(res, path.join(HTDOCS, 'staff', rel));
        return;
      }
      if (url.pathname.startsWith('/portal/invitation/')) {
        const rel = url.pathname.slice('/portal/invitation/'.length) || 'index.html';
        if (rel.includes('..')) throw new HttpError(404, 'not_found');
        await serveFile(res, path.join(HTDOCS, 'invitation', rel));
        return;
      }
      if (url.pathname === '/portal/account/') {
        const m2 = /^Basic (.+)$/.exec(req.headers.authorization || '');
        const [u, p] = m2 ? Buffer.from(m2[1], 'base64').toString().split(':') : [];
        const acct = u && accounts.get(u.toLowerCase());
        if (!acct || !acct.active || acct.password !== p) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Client portal"', 'Content-Type': 'text/html' });
          res.end('<h1>Unauthorized</h1>');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><html lang="en"><title>Client portal</title><h1>Client portal</h1></html>');
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    } catch (e) {
      if (!(e instanceof HttpError)) {
        json(res, 500, { error: { code: 'internal', message: String(e && e.stack) }, request_id: 'fake' });
        return;
      }
      const err = { code: e.code, message: e.message };
      if (e.field) err.field = e.field;
      json(res, e.status, { error: err, request_id: 'fake' + requests.length, ...(e.extra || {}) }, e.headers || {});
    }
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  baseURL = 'http://127.0.0.1:' + port;

  return {
    baseURL,
    options: opts,
    clients, representatives, invitations, accounts, tokens, requests, outbox, addressNotices, clientViews,
    /** The settings as the API answers them. */
    settings: () => settingsDoc(),
    storedSettings: stored,
    /** Make the next `times` matching API calls answer with this status/body (or drop the connection). */
    inject({ method = 'GET', path: re, status = 503, body, headers = {}, times = 1, drop = false }) {
      injected.push({ method, re, status, body: body || { error: { code: 'database_unavailable', message: 'The practice database is not available right now.' }, request_id: 'inj' }, headers, times, drop });
    },
    clearInjected() { injected.length = 0; },
    tokenOf(invId) { return invitations.get(invId)?.token || null; },
    /** A staff API call as `user` (Basic auth, the page's CSRF header): {status, body}. */
    staffRequest(method, path, body, user = 'admin') {
      return fetch(baseURL + '/portal-manager/api/' + path, {
        method,
        headers: {
          Authorization: 'Basic ' + Buffer.from(user + ':pw').toString('base64'),
          'X-Requested-With': 'portal-manager',
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    },
    /** The scopes GET /me offers (as if modules were turned off); null: all. */
    offerScopes(list) { meScopes = list; },
    latestInvitation(clientId, repId = null) { return invitationsOf(clientId, repId)[0] || null; },
    /** Age an invitation's sending time so that a resend is allowed. */
    ageSent(invId, seconds) { const inv = invitations.get(invId); inv.sent_at -= seconds; inv.created_at -= seconds; },
    expire(invId) { invitations.get(invId).expires_at = now() - 1; },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
