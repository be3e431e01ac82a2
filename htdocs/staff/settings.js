// Client portal settings — the champions' page (docs/configuration.md, issue 7).
//
// Loads GET api/admin/settings once; each section (branding, language and time, invitation
// emails, modules, invitation rules, email delivery, roster and records) is its own form whose Save sends PUT api/admin/settings with only the
// settings that differ from what the server last said. Refused values (422 invalid_setting,
// whose `errors` lists every one) are each explained next to their own field, all at once,
// an email text's in the language it is written in, and nothing typed is lost.
// The preview (POST api/admin/settings/preview) and the test email (POST
// api/admin/settings/test-email) use the saved settings. The email texts are per language
// ({"es": "..."}): a language switch shows one language's texts at a time, keeping what was
// typed in the others until it is saved or undone.

import {
  api, $, h, announce, setFieldError, clearFormErrors, busy, showPageError, outageText,
} from './common.js';

const MODULES = ['messaging', 'statements', 'statement_email_notifications', 'appointment_requests', 'payments', 'forms'];
const LOGO_MAX_BYTES = 100 * 1024;
// following a test email: every second; after a minute still queued (it waits its turn
// behind invitations, at the practice's emails per minute) the page says so and checks
// every 10 seconds, for half an hour at most
const TEST_POLL_MS = 1000;
const TEST_POLL_SLOW_MS = 10000;
const TEST_WAIT_SAY_MS = 60000;
const TEST_WATCH_MS = 30 * 60000;
// offered for the time zone when the browser cannot list the zones it knows
const COMMON_TIME_ZONES = [
  'America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles',
  'America/Anchorage', 'Pacific/Honolulu', 'America/Puerto_Rico', 'America/Halifax', 'America/St_Johns',
  'America/Toronto', 'America/Vancouver', 'America/Mexico_City', 'Europe/London', 'Europe/Dublin',
  'Europe/Madrid', 'Europe/Paris', 'Europe/Berlin', 'Europe/Stockholm', 'Europe/Athens',
  'Australia/Sydney', 'Pacific/Auckland', 'UTC',
];

// setting → the input that holds it (by id) and the element its error goes to; ranges and
// lengths come from the server's definitions (GET api/admin/settings?include=definitions)
const FIELDS = {
  practice_name: { input: 'practice-name', label: 'Practice name' },
  practice_phone: { input: 'practice-phone', label: 'Practice phone' },
  practice_address: { input: 'practice-address', label: 'Practice address' },
  logo: { input: 'logo-file', label: 'Logo', error: 'logo-error' },
  brand_color: { input: 'brand-color', label: 'Brand colour' },
  portal_url: { input: 'portal-url', label: 'Link to the client portal' },
  client_invitation_subject: { input: 'client-subject', label: 'Subject of the email to clients' },
  client_invitation_message: { input: 'client-message', label: 'Message of the email to clients' },
  representative_invitation_subject: { input: 'rep-subject', label: 'Subject of the email to representatives' },
  representative_invitation_message: { input: 'rep-message', label: 'Message of the email to representatives' },
  modules: { input: null, error: 'modules-error', label: 'Portal modules' },
  representatives_enabled: { input: null, error: 'representatives-enabled-error', label: 'Representatives' },
  minor_review_days: { input: 'minor-review-days', label: 'Review before a client turns 18' },
  end_representative_access_at_majority: { input: null, error: 'end-at-majority-error', label: 'End access at 18 when not reviewed' },
  invitation_ttl_hours: { input: 'ttl-hours', label: 'Invitation links work for' },
  resend_cooldown_minutes: { input: 'cooldown', label: 'Wait before a resend' },
  max_sends_per_invitation: { input: 'max-sends', label: 'Emails per invitation' },
  password_min_length: { input: 'password-min', label: 'Shortest portal password' },
  default_language: { input: 'default-language', label: 'Default language' },
  time_zone: { input: 'time-zone', label: 'Time zone' },
  collation_locale: { input: 'collation-locale', label: 'Alphabetical order of the client list' },
  max_emails_per_minute: { input: 'max-emails', label: 'Emails sent per minute' },
  staff_notice_max_idle_days: { input: 'notice-idle', label: 'Stop staff notices after' },
  disable_accounts_on_discharge: { input: 'disable-on-discharge', label: 'Turn off portal accounts on discharge' },
  audit_retention_days: { input: 'audit-retention', label: 'Keep the audit trail for' },
};

const SECTIONS = {
  branding: { form: 'branding-form', name: 'Branding', fields: ['practice_name', 'practice_phone', 'practice_address', 'logo', 'brand_color', 'portal_url'], emails: true },
  language: {
    form: 'language-form', name: 'Language and time', emails: true,
    fields: ['default_language', 'time_zone', 'collation_locale'],
  },
  invitations: {
    form: 'invitations-form', name: 'Invitation emails', emails: true,
    fields: ['client_invitation_subject', 'client_invitation_message', 'representative_invitation_subject', 'representative_invitation_message'],
  },
  modules: {
    form: 'modules-form', name: 'Portal modules',
    fields: ['modules', 'representatives_enabled', 'minor_review_days', 'end_representative_access_at_majority'],
  },
  rules: {
    form: 'rules-form', name: 'Invitation rules', emails: true,
    fields: ['invitation_ttl_hours', 'resend_cooldown_minutes', 'max_sends_per_invitation', 'password_min_length'],
  },
  delivery: { form: 'delivery-form', name: 'Email delivery', fields: ['max_emails_per_minute', 'staff_notice_max_idle_days'] },
  records: { form: 'records-form', name: 'Roster and records', fields: ['disable_accounts_on_discharge', 'audit_retention_days'] },
};

// the settings written per language (the definitions say per_language)
const LANG_FIELDS = SECTIONS.invitations.fields;

const state = {
  saved: null,          // the last settings document from the server
  lang: 'en',           // the language whose email texts the page shows
  drafts: {},           // email text setting → { language: text as on the page }
  definitions: {},      // setting → its definition from the server (type, min/max, max_length)
  logo: undefined,      // the logo as chosen on the page: undefined = unchanged, null = removed
  logoUrl: null,        // object URL currently shown for the logo
  savedLogoUrl: null,   // object URL of the saved logo (the preview's cid: image)
  previewSeq: 0,
  testSeq: 0,
};

// ---- words ------------------------------------------------------------------------------------

// A refused value ({field, message}) in the page's words. The server names the setting first
// ("brand_color must be a colour written #rrggbb."): next to the field "This must be…" reads
// better; an email text's language ("client_invitation_message [es] must contain…") is
// written out: "The Spanish (es) text must contain…". `lang` is that language, or null.
function refusal(e) {
  const m = /^[a-z_]+ (?:\[([a-z]{2,3}(?:-[A-Za-z0-9]+)*)\] )?(.*)$/s.exec(e.message || '');
  if (!m) return { field: e.field, lang: null, text: e.message };
  return { field: e.field, lang: m[1] || null, text: (m[1] ? 'The ' + languageName(m[1]) + ' text ' : 'This ') + m[2] };
}

function errorText(err) {
  if (err.code === 'invalid_setting' && err.message) return refusal(err).text;
  if (err.code === 'invalid_email') return 'Please enter a complete email address, like name@example.com.';
  if (err.code === 'csrf') return 'The request was blocked for security reasons. Reload the page and try again.';
  if (err.code === 'not_staff') return 'Your sign-in is not set up for the Client Portal Manager. Ask your portal administrator for access.';
  if (err.code === 'network') return 'Could not reach the server. Check the network connection and try again.';
  if (err.status === 401) {
    return 'You are not signed in any more. What you typed is still here: open the staff page in a new tab, '
      + 'sign in there, then come back and save again.';
  }
  if (err.status === 403) return 'Only portal administrators can change the client portal settings.';
  if (err.status === 413) return 'That is too large to save. A logo can be at most 100 KB.';
  if (outageText(err)) return outageText(err);
  if (err.message) return err.message;
  return 'Something went wrong (error ' + err.status + '). Please try again.';
}

// ---- reading and filling the forms --------------------------------------------------------------

function formOf(section) { return $(SECTIONS[section].form); }

function inputOf(name) {
  const f = FIELDS[name];
  if (f.input) return $(f.input);
  if (name === 'representatives_enabled' || name === 'end_representative_access_at_majority') {
    return formOf('modules').elements.namedItem(name);
  }
  return formOf('modules').elements.namedItem('modules.' + MODULES[0]);
}

function errorIdOf(name) {
  return FIELDS[name].error || FIELDS[name].input + '-error';
}

function emptyToNull(s) {
  const t = s.trim();
  return t === '' ? null : t;
}

// What the page holds for a setting, in the API's shape. Numbers that aren't whole numbers
// come back as NaN (caught before sending).
function pageValue(name) {
  const modules = formOf('modules').elements;
  switch (name) {
    case 'logo': return state.logo === undefined ? state.saved.logo : state.logo;
    case 'brand_color': {
      // six hex digits typed without the # (as many colour tools copy them) are the colour
      const v = emptyToNull($(FIELDS[name].input).value);
      return v && /^[0-9a-fA-F]{6}$/.test(v) ? '#' + v : v;
    }
    case 'practice_name': case 'practice_phone': case 'portal_url':
    case 'time_zone': case 'collation_locale':
      return emptyToNull($(FIELDS[name].input).value);
    case 'default_language':
      return $(FIELDS[name].input).value || null;
    case 'disable_accounts_on_discharge':
      return $(FIELDS[name].input).checked;
    case 'client_invitation_subject': case 'representative_invitation_subject':
    case 'client_invitation_message': case 'representative_invitation_message':
      keepTyped();
      return ownTexts(name, state.drafts[name]);
    case 'practice_address': {
      const v = $(FIELDS[name].input).value;
      return v.trim() === '' ? null : v;
    }
    case 'modules': {
      const out = {};
      for (const m of MODULES) out[m] = modules.namedItem('modules.' + m).checked;
      return out;
    }
    case 'representatives_enabled': case 'end_representative_access_at_majority':
      return modules.namedItem(name).checked;
    default: {
      const raw = $(FIELDS[name].input).value.trim();
      return /^\d+$/.test(raw) ? Number(raw) : NaN;
    }
  }
}

// ---- email texts per language --------------------------------------------------------------

function languages() {
  const d = state.definitions.client_invitation_subject;
  const codes = Object.keys((d && d.default) || state.saved.client_invitation_subject || { en: '' });
  return codes.sort((a, b) => (a === 'en' ? -1 : b === 'en' ? 1 : a.localeCompare(b)));
}

function languageName(code) {
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'language' }).of(code);
    return name && name !== code ? name + ' (' + code + ')' : code;
  } catch (e) {
    return code;
  }
}

function standardText(name, lang) {
  const d = state.definitions[name];
  return (d && d.default && d.default[lang]) || '';
}

// The practice's own texts: each language's text unless empty or the standard one.
function ownTexts(name, texts) {
  const out = {};
  for (const [lang, t] of Object.entries(texts || {})) {
    if (typeof t !== 'string') continue;
    const v = t.replace(/\r\n/g, '\n');
    if (v.trim() !== '' && v !== standardText(name, lang)) out[lang] = v;
  }
  return out;
}

// What is typed in the inputs goes into the drafts of the language shown.
function keepTyped() {
  for (const name of LANG_FIELDS) {
    if (state.drafts[name]) state.drafts[name][state.lang] = $(FIELDS[name].input).value;
  }
}

function showLanguage(lang) {
  keepTyped();
  state.lang = lang;
  for (const name of LANG_FIELDS) {
    const t = state.drafts[name] && state.drafts[name][lang];
    $(FIELDS[name].input).value = t === null || t === undefined ? standardText(name, lang) : t;
  }
  clearFormErrors(formOf('invitations'));
  updateDirty();
}

function fillLanguages() {
  const select = $('template-language');
  select.replaceChildren(...languages().map((code) => h('option', { value: code }, languageName(code))));
  select.value = state.lang;
  // the default language: one of the catalogs' (a saved one the page does not know is kept)
  const codes = languages();
  const saved = state.saved.default_language;
  if (typeof saved === 'string' && saved && !codes.includes(saved)) codes.push(saved);
  $('default-language').replaceChildren(...codes.map((code) => h('option', { value: code }, languageName(code))));
}

// The time zones offered while typing: the browser's own list when it has one.
function fillTimeZones() {
  let zones = COMMON_TIME_ZONES;
  try {
    if (typeof Intl.supportedValuesOf === 'function') {
      const known = Intl.supportedValuesOf('timeZone');
      if (known.length) zones = [...COMMON_TIME_ZONES.filter((z) => known.includes(z)), ...known.filter((z) => !COMMON_TIME_ZONES.includes(z))];
    }
  } catch {
    zones = COMMON_TIME_ZONES;
  }
  $('time-zone-list').replaceChildren(...zones.map((z) => h('option', { value: z })));
}

function sameValue(name, a, b) {
  if (LANG_FIELDS.includes(name)) {
    const own = (x) => JSON.stringify(Object.entries(ownTexts(name, x)).sort());
    return own(a) === own(b);
  }
  if (name === 'modules') {
    return MODULES.every((m) => Boolean((a || {})[m]) === Boolean((b || {})[m]));
  }
  // textareas hand back \n line ends; compare the text as the server would store it
  if (typeof a === 'string' && typeof b === 'string') return a.replace(/\r\n/g, '\n') === b.replace(/\r\n/g, '\n');
  return a === b || (a === null && b === undefined) || (a === undefined && b === null);
}

function changedFields(section) {
  return SECTIONS[section].fields.filter((name) => !sameValue(name, pageValue(name), state.saved[name]));
}

function fillField(name) {
  const v = state.saved[name];
  const modules = formOf('modules').elements;
  switch (name) {
    case 'logo':
      state.logo = undefined;
      $('logo-file').value = '';
      showLogo(v, 'saved');
      break;
    case 'modules':
      for (const m of MODULES) modules.namedItem('modules.' + m).checked = Boolean(v && v[m]);
      break;
    case 'representatives_enabled':
      modules.namedItem('representatives_enabled').checked = v !== false;
      break;
    case 'end_representative_access_at_majority':
      modules.namedItem(name).checked = v === true;
      break;
    case 'disable_accounts_on_discharge':
      $(FIELDS[name].input).checked = v === true;
      break;
    case 'brand_color':
      $('brand-color').value = v || '';
      syncPicker();
      break;
    case 'client_invitation_subject': case 'representative_invitation_subject':
    case 'client_invitation_message': case 'representative_invitation_message':
      state.drafts[name] = { ...(v && typeof v === 'object' ? v : { en: v }) };
      $(FIELDS[name].input).value = state.drafts[name][state.lang] ?? standardText(name, state.lang);
      break;
    default:
      $(FIELDS[name].input).value = v === null || v === undefined ? '' : String(v);
  }
}

function fillSection(section) {
  for (const name of SECTIONS[section].fields) fillField(name);
  clearFormErrors(formOf(section));
  updateDirty();
}

function updateDirty() {
  let emailsDirty = false;
  for (const [section, def] of Object.entries(SECTIONS)) {
    const dirty = changedFields(section).length > 0;
    const form = formOf(section);
    form.querySelector('[data-dirty]').hidden = !dirty;
    form.querySelector('[data-undo]').hidden = !dirty;
    if (dirty && def.emails) emailsDirty = true;
  }
  $('preview-unsaved').hidden = !emailsDirty;
}

function anyDirty() {
  return state.saved !== null && Object.keys(SECTIONS).some((s) => changedFields(s).length > 0);
}

// ---- colour -----------------------------------------------------------------------------------

function syncPicker() {
  const v = $('brand-color').value.trim().replace(/^(?=[0-9a-fA-F]{6}$)/, '#');
  if (/^#[0-9a-fA-F]{6}$/.test(v)) $('brand-color-picker').value = v.toLowerCase();
}

// ---- logo -------------------------------------------------------------------------------------

function dataUrlToBlob(url) {
  const m = /^data:(image\/(?:png|jpeg));base64,(.*)$/s.exec(url || '');
  if (!m) return null;
  try {
    const bin = atob(m[2]);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type: m[1] });
  } catch {
    return null;
  }
}

// The page's CSP allows images from the page's own origin and blob: URLs (not data:), so
// a logo is shown through an object URL.
function showLogo(dataUrl, how) {
  if (state.logoUrl && state.logoUrl !== state.savedLogoUrl) URL.revokeObjectURL(state.logoUrl);
  state.logoUrl = null;
  const img = $('logo-img');
  const blob = dataUrlToBlob(dataUrl);
  if (blob) {
    state.logoUrl = how === 'saved' ? savedLogoUrl() : URL.createObjectURL(blob);
    img.src = state.logoUrl;
    img.alt = how === 'saved' ? 'The current logo' : 'The new logo (not saved yet)';
    img.hidden = false;
    $('logo-none').hidden = true;
  } else {
    img.removeAttribute('src');
    img.alt = '';
    img.hidden = true;
    $('logo-none').hidden = false;
  }
  $('logo-clear').hidden = !blob;
  $('logo-state').textContent = how === 'new' ? 'New logo chosen; save the branding to use it.'
    : how === 'removed' ? 'Logo removed; save the branding to make it final.'
      : blob ? 'This logo is in use.' : 'No logo is in use.';
}

function savedLogoUrl() {
  if (state.savedLogoUrl) return state.savedLogoUrl;
  const blob = dataUrlToBlob(state.saved && state.saved.logo);
  state.savedLogoUrl = blob ? URL.createObjectURL(blob) : null;
  return state.savedLogoUrl;
}

function resetSavedLogoUrl() {
  if (state.savedLogoUrl) URL.revokeObjectURL(state.savedLogoUrl);
  state.savedLogoUrl = null;
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function kb(n) { return Math.ceil(n / 1024) + ' KB'; }

// The module's limits on a logo's sides, said with the image's own size before anything is
// saved; an image the browser cannot draw (cut off, damaged) is refused here too.
const LOGO_MAX_SIDE = 2048;
async function logoSizeProblem(name, bytes, type) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type }));
  } catch {
    return '“' + name + '” could not be read as an image; the file may be damaged or cut off. Please choose another.';
  }
  const { width, height } = bitmap;
  bitmap.close();
  if (width > LOGO_MAX_SIDE || height > LOGO_MAX_SIDE) {
    return '“' + name + '” is ' + width + ' × ' + height + ' pixels; a logo can be at most ' + LOGO_MAX_SIDE
      + ' pixels wide and high. Please choose a smaller image.';
  }
  return null;
}

async function chooseLogo(file) {
  setFieldError('logo-error', '', $('logo-file'));
  if (!file) return;
  const lower = file.name.toLowerCase();
  // PNG or JPEG only: SVG can carry scripts, so the server refuses it too
  const type = file.type === 'image/png' || (!file.type && lower.endsWith('.png')) ? 'image/png'
    : file.type === 'image/jpeg' || (!file.type && /\.jpe?g$/.test(lower)) ? 'image/jpeg' : null;
  let problem = null;
  if (!type) problem = 'Please choose a PNG or JPEG image. “' + file.name + '” is not one.';
  else if (file.size > LOGO_MAX_BYTES) problem = '“' + file.name + '” is ' + kb(file.size) + '; a logo can be at most 100 KB. Please choose a smaller image.';
  let bytes = null;
  if (!problem) {
    bytes = new Uint8Array(await file.arrayBuffer());
    const png = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
    const jpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
    if ((type === 'image/png' && !png) || (type === 'image/jpeg' && !jpeg)) {
      problem = '“' + file.name + '” does not look like a ' + (type === 'image/png' ? 'PNG' : 'JPEG') + ' image.';
    }
  }
  if (!problem) problem = await logoSizeProblem(file.name, bytes, type);
  if (problem) {
    $('logo-file').value = '';
    setFieldError('logo-error', problem, $('logo-file'));
    announce(problem);
    return;
  }
  state.logo = 'data:' + type + ';base64,' + base64(bytes);
  showLogo(state.logo, 'new');
  updateDirty();
  announce('New logo chosen. Save the branding to use it.');
}

function clearLogo() {
  setFieldError('logo-error', '', $('logo-file'));
  $('logo-file').value = '';
  state.logo = null;
  showLogo(null, state.saved.logo ? 'removed' : 'saved');
  updateDirty();
  $('logo-file').focus();
  announce(state.saved.logo ? 'Logo removed. Save the branding to make it final.' : 'No logo.');
}

// ---- the server's definitions on the inputs ----------------------------------------------------

// Number inputs get the range (and their hint says it), text inputs the longest length.
function applyDefinitions() {
  for (const [name, f] of Object.entries(FIELDS)) {
    const d = state.definitions[name];
    const input = f.input && $(f.input);
    if (!d || !input) continue;
    if (d.type === 'integer') {
      input.min = String(d.min);
      input.max = String(d.max);
      const range = document.querySelector('#' + f.input + '-hint [data-range]');
      if (range) range.textContent = d.min + ' to ' + d.max;
    } else if (Number.isInteger(d.max_length)) {
      input.maxLength = d.max_length;
    }
  }
}

// ---- saving -------------------------------------------------------------------------------------

// The refused values of a 422 invalid_setting that belong to this section (older servers
// send only `error`).
function refusals(err, section) {
  const list = err.errors.length ? err.errors : [{ field: err.field, message: err.message }];
  return list.filter((e) => FIELDS[e.field] && SECTIONS[section].fields.includes(e.field)).map(refusal);
}

// Each refusal by its own field, the focus on the first. When no refused email text is in the
// language shown, the page shows the first one's language (the others' drafts are kept).
// Returns the language switched to, or null.
function showFieldErrors(list) {
  const texts = list.filter((r) => r.lang && LANG_FIELDS.includes(r.field));
  let switched = null;
  if (texts.length && !texts.some((r) => r.lang === state.lang) && languages().includes(texts[0].lang)) {
    switched = texts[0].lang;
    $('template-language').value = switched;
    showLanguage(switched);
    loadPreview();
  }
  for (const r of list) setFieldError(errorIdOf(r.field), r.text, FIELDS[r.field].input ? inputOf(r.field) : null);
  const first = inputOf(list[0].field);
  if (first) first.focus();
  return switched;
}

// Checks the page can make without asking: whole numbers in the definitions' range.
function localProblems(section) {
  const problems = [];
  for (const name of SECTIONS[section].fields) {
    const d = state.definitions[name];
    if (!d || d.type !== 'integer') continue;
    const v = pageValue(name);
    if (!Number.isInteger(v) || v < d.min || v > d.max) {
      problems.push([name, 'Please enter a whole number from ' + d.min + ' to ' + d.max + '.']);
    }
  }
  return problems;
}

// A change that takes the portal away from every client, or representatives from every
// family, is asked about first (it saved as quietly as a colour).
function bigChangeQuestion(body) {
  const asks = [];
  if (body.modules && Object.values(body.modules).every((on) => !on)) {
    asks.push('Turn off every portal module? Clients and representatives who sign in to the portal '
      + 'will find nothing they can use there.');
  }
  if (body.representatives_enabled === false) {
    asks.push('Stop inviting client representatives? Staff will no longer be able to add a representative '
      + 'or invite one again. Invitations already sent can still be answered, and representatives who '
      + 'have a portal account keep it (turn one off on the client\'s page).');
  }
  return asks.join('\n\n');
}

async function saveSection(section, button) {
  const form = formOf(section);
  const def = SECTIONS[section];
  clearFormErrors(form);
  const problems = localProblems(section);
  if (problems.length) {
    for (const [name, text] of problems) setFieldError(errorIdOf(name), text, inputOf(name));
    inputOf(problems[0][0]).focus();
    announce(problems.map(([name, text]) => FIELDS[name].label + ': ' + text).join(' '));
    return;
  }
  const names = changedFields(section);
  if (!names.length) {
    announce('Nothing to save: ' + def.name + ' has no changes.');
    return;
  }
  const body = {};
  for (const name of names) body[name] = pageValue(name);
  const question = bigChangeQuestion(body);
  if (question && !window.confirm(question)) {
    announce(def.name + ' not saved.');
    return;
  }
  await busy(button, async () => {
    try {
      const doc = await api('PUT', 'admin/settings', body);
      const logoChanged = doc.logo !== state.saved.logo;
      state.saved = doc;
      if (logoChanged) resetSavedLogoUrl();
      fillSection(section);
      announce(def.name + ' saved.');
      if (def.emails) loadPreview();
    } catch (err) {
      const refused = err.code === 'invalid_setting' ? refusals(err, section) : [];
      if (refused.length) {
        const switched = showFieldErrors(refused);
        announce(def.name + ' not saved. ' + (switched ? 'Showing the ' + languageName(switched) + ' texts. ' : '')
          + refused.map((r) => FIELDS[r.field].label + ': ' + r.text).join(' '));
        return;
      }
      const text = errorText(err);
      if (err.field && FIELDS[err.field] && def.fields.includes(err.field)) {
        showFieldErrors([{ field: err.field, lang: null, text }]);
      } else {
        setFieldError(form.id.replace(/-form$/, '') + '-form-error', text);
      }
      announce(def.name + ' not saved. ' + (err.field && FIELDS[err.field] ? FIELDS[err.field].label + ': ' : '') + text);
    }
  });
}

// ---- preview ----------------------------------------------------------------------------------------

function previewKind() {
  return document.querySelector('input[name="preview-kind"]:checked').value;
}

// CSS properties of the email's inline styles carried over to the preview (through the
// CSSOM: the page's CSP refuses style attributes). Nothing that can load a URL.
// (display and margin too: the button is an inline-block link whose padding would
// otherwise spill over the lines around it)
const STYLE_PROPS = ['color', 'background-color', 'font-weight', 'font-style', 'font-size', 'line-height',
  'text-align', 'text-decoration', 'display', 'margin', 'max-width', 'max-height', 'border', 'border-top',
  'border-radius', 'padding'];
// an email's layout table and its cells are blocks here
const BLOCK_TAGS = new Set(['P', 'DIV', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'TABLE', 'TBODY', 'TR', 'TD', 'CENTER',
  'H1', 'H2', 'H3', 'H4']);

// Rebuild the email's HTML from a parsed (inert) copy with a short list of elements, no
// attributes but a few style properties, links shown as text, cid: images as the logo.
function sanitizedEmail(html) {
  // the email's <style> sheet goes too: even an inert copy's sheet counts as an inline
  // style under the page's CSP (and the preview shows the template, not the layout's resets)
  const inert = html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/\sstyle="([^"]*)"/g, ' data-style="$1"');
  const doc = new DOMParser().parseFromString(inert, 'text/html');
  const copyStyle = (from, to) => {
    const decl = from.getAttribute('data-style');
    if (!decl) return;
    const probe = document.createElement('span');
    for (const part of decl.split(';')) {
      const i = part.indexOf(':');
      if (i < 0) continue;
      const prop = part.slice(0, i).trim().toLowerCase();
      const value = part.slice(i + 1).trim();
      if (STYLE_PROPS.includes(prop) && !/url\s*\(|expression/i.test(value)) {
        probe.style.setProperty(prop, value);
        if (probe.style.getPropertyValue(prop)) to.style.setProperty(prop, probe.style.getPropertyValue(prop));
      }
    }
  };
  const walk = (node, out) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) { out.append(child.textContent); continue; }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = child.tagName;
      let el = null;
      if (tag === 'BR') { out.append(h('br')); continue; }
      if (tag === 'IMG') {
        const src = child.getAttribute('src') || '';
        if (src.startsWith('cid:') && savedLogoUrl()) {
          el = h('img', { src: savedLogoUrl(), alt: child.getAttribute('alt') || 'Logo', class: 'email-logo' });
          copyStyle(child, el);
          out.append(el);
        }
        continue;
      }
      if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'HEAD' || tag === 'TITLE') continue;
      if (tag === 'A') el = h('span', { class: 'email-link' });
      else if (tag === 'STRONG' || tag === 'B') el = h('strong');
      else if (tag === 'EM' || tag === 'I') el = h('em');
      else if (tag === 'UL' || tag === 'OL' || tag === 'LI') el = h(tag.toLowerCase());
      else if (BLOCK_TAGS.has(tag)) el = h(tag === 'P' ? 'p' : 'div');
      else el = h('span');
      copyStyle(child, el);
      // a card narrower than the preview (the email's max-width table) sits in the middle,
      // as the cell around it (align="center") puts it in an email program
      if (tag === 'TABLE' && el.style.maxWidth) el.style.setProperty('margin', '0 auto');
      walk(child, el);
      out.append(el);
    }
  };
  const root = h('div', { class: 'email-body' });
  copyStyle(doc.body, root);
  walk(doc.body, root);
  return root;
}

async function loadPreview() {
  const seq = ++state.previewSeq;
  const box = $('preview');
  box.setAttribute('aria-busy', 'true');
  setFieldError('preview-error', '');
  try {
    const p = await api('POST', 'admin/settings/preview', { kind: previewKind(), language: state.lang });
    if (seq !== state.previewSeq) return;
    $('preview-from').textContent = p.from || '';
    $('preview-subject').textContent = p.subject;
    $('preview-text').textContent = p.text;
    $('preview-html').replaceChildren(sanitizedEmail(p.html || ''));
  } catch (err) {
    if (seq !== state.previewSeq) return;
    setFieldError('preview-error', 'The preview could not be made. ' + errorText(err));
  } finally {
    if (seq === state.previewSeq) box.removeAttribute('aria-busy');
  }
}

// ---- test email ---------------------------------------------------------------------------------------

function showTestResult(text, tone) {
  const el = $('test-result');
  el.textContent = text;
  el.className = 'test-result tone-' + tone;
  el.hidden = false;
}

async function sendTestEmail(form, button) {
  clearFormErrors(form);
  const to = form.elements.to.value.trim();
  if (!to) {
    setFieldError('test-to-error', 'Please enter the email address to send the test to.', form.elements.to);
    form.elements.to.focus();
    announce('Please enter the email address to send the test to.');
    return;
  }
  const seq = ++state.testSeq;
  await busy(button, async () => {
    try {
      const r = await api('POST', 'admin/settings/test-email', { to, kind: previewKind(), language: state.lang });
      showTestResult('Test email to ' + to + ' queued; sending…', 'info');
      announce('Test email to ' + to + ' queued.');
      if (r && r.outbox_id) watchTestEmail(seq, r.outbox_id, to);
    } catch (err) {
      const text = errorText(err);
      if (err.field === 'to') {
        setFieldError('test-to-error', text, form.elements.to);
        form.elements.to.focus();
      } else {
        showTestResult('The test email was not sent. ' + text, 'bad');
      }
      announce('The test email was not sent. ' + text);
    }
  });
}

// Follow the test email through the delivery queue until it is sent or fails: its own
// row (?id=), not a page of every client's emails (a test email is no client's, so
// following it writes no audit row either).
async function watchTestEmail(seq, id, to) {
  const started = Date.now();
  let said = false;
  while (seq === state.testSeq && Date.now() - started < TEST_WATCH_MS) {
    await new Promise((r) => setTimeout(r, said ? TEST_POLL_SLOW_MS : TEST_POLL_MS));
    let entry = null;
    try {
      const q = await api('GET', 'admin/outbox?id=' + encodeURIComponent(id));
      entry = (q.entries || []).find((e) => e.id === id) || null;
    } catch {
      entry = null;
    }
    if (seq !== state.testSeq) return;
    if (entry && entry.status === 'sent') {
      showTestResult('Test email sent to ' + to + '.', 'good');
      announce('Test email sent to ' + to + '.');
      return;
    }
    if (entry && entry.status === 'failed') {
      const why = entry.last_error ? ' The mail server said: ' + entry.last_error : '';
      showTestResult('The test email to ' + to + ' could not be delivered.' + why, 'bad');
      announce('The test email could not be delivered.');
      return;
    }
    if (!said && Date.now() - started >= TEST_WAIT_SAY_MS) {
      said = true;
      showTestWaiting(to);
    }
  }
}

// A test email still queued after a minute is waiting its turn, not lost: say so (the
// page went on saying "queued; sending…" for ever) and where to see it.
function showTestWaiting(to) {
  const text = 'The test email to ' + to + ' is still waiting its turn: emails go out at the '
    + 'practice\'s pace (Emails per minute, under Email delivery), and emails queued before it go first. '
    + 'This page keeps checking. ';
  showTestResult(text, 'info');
  $('test-result').append(h('a', { href: 'outbox.html', text: 'See it in the Outbox' }));
  announce('The test email is still waiting its turn in the Outbox.');
}

// ---- start ----------------------------------------------------------------------------------------------

function initForms() {
  for (const section of Object.keys(SECTIONS)) {
    const form = formOf(section);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      saveSection(section, form.querySelector('button[type="submit"]'));
    });
    form.addEventListener('input', updateDirty);
    form.addEventListener('change', updateDirty);
    form.querySelector('[data-undo]').addEventListener('click', () => {
      fillSection(section);
      form.querySelector('button[type="submit"]').focus();
      announce(SECTIONS[section].name + ': changes undone.');
    });
  }
  $('brand-color').addEventListener('input', syncPicker);
  $('brand-color-picker').addEventListener('input', () => {
    $('brand-color').value = $('brand-color-picker').value;
    setFieldError('brand-color-error', '', $('brand-color'));
    updateDirty();
  });
  $('logo-file').addEventListener('change', () => chooseLogo($('logo-file').files[0]));
  $('logo-clear').addEventListener('click', clearLogo);
  for (const radio of document.querySelectorAll('input[name="preview-kind"]')) {
    radio.addEventListener('change', loadPreview);
  }
  $('preview-refresh').addEventListener('click', loadPreview);
  $('template-language').addEventListener('change', (e) => {
    showLanguage(e.currentTarget.value);
    loadPreview();
    announce('Showing the ' + languageName(state.lang) + ' texts.');
  });
  $('test-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sendTestEmail(e.currentTarget, e.currentTarget.querySelector('button[type="submit"]'));
  });
  window.addEventListener('beforeunload', (e) => {
    if (anyDirty()) e.preventDefault();
  });
}

async function start() {
  initForms();
  try {
    const me = await api('GET', 'me');
    $('who').textContent = 'Signed in as ' + (me.display_name || me.username);
    for (const id of ['outbox-link', 'audit-link', 'overview-link']) $(id).hidden = !me.admin;
    if (!me.admin) {
      $('loading').hidden = true;
      showPageError('Only portal administrators can change the client portal settings. Ask your portal administrator if something should change.');
      return;
    }
    const { definitions, ...saved } = await api('GET', 'admin/settings?include=definitions');
    state.saved = saved;
    state.definitions = Object.fromEntries((definitions || []).map((d) => [d.name, d]));
  } catch (err) {
    $('loading').hidden = true;
    showPageError(errorText(err));
    return;
  }
  applyDefinitions();
  fillLanguages();
  fillTimeZones();
  for (const section of Object.keys(SECTIONS)) fillSection(section);
  $('loading').hidden = true;
  $('settings').hidden = false;
  loadPreview();
}

start();
