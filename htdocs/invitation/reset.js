// Password reset — the screen of the recipient page for a password reset link (the lookup
// answers kind "reset" with the account's username). The recipient gives the date of birth
// (the same tries and lock as an invitation) and a new password twice; POST api/reset sets it
// and the old password stops working at once. invitation.js calls showReset(page) with its
// helpers; nothing here reads the token from the address bar.
//
// Words: the "reset.*" keys of the "page" section of i18n/<lang>.json, through the page's
// t() (the recipient's language, as for an invitation). {name} marks a value filled in.


const $ = (id) => document.getElementById(id);

let t = (key) => key;
let tCount = (key) => key;   // the page's count words (key.one, key.other...)
let repeated = () => false;   // the page's oneCharacterRepeated

function say(key, values = {}) {
  return t(key, values);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children);
  return node;
}

function field(id, label, input, hint) {
  const described = [hint ? id + '-hint' : null, id + '-error'].filter(Boolean).join(' ');
  input.setAttribute('id', id);
  input.setAttribute('aria-describedby', described);
  return el('div', { class: 'field' },
    el('label', { for: id, class: 'field-label', text: label }),
    hint ? el('p', { id: id + '-hint', class: 'hint', text: hint }) : '',
    input,
    el('p', { id: id + '-error', class: 'field-error', hidden: true }));
}

// The screen, built once per lookup: the old one (another link in the same tab) goes.
function build(answer, min) {
  $('view-reset')?.remove();
  const rep = answer.for === 'representative';
  const until = answer.expires_at ? answer.localTime(answer.expires_at) : '';
  const dob = el('input', { name: 'date_of_birth', type: 'date', required: true, min: '1900-01-01',
    max: new Date().toISOString().slice(0, 10), autocomplete: rep ? 'off' : 'bday' });
  const pw = () => el('input', { type: 'password', required: true, autocomplete: 'new-password' });
  const form = el('form', { id: 'reset-form', class: 'card', novalidate: true, 'aria-labelledby': 'reset-heading' },
    el('h1', { id: 'reset-heading', tabindex: '-1', text: say('reset.heading') }),
    el('p', { id: 'reset-intro', text: say('reset.intro', { username: answer.username || '' }) }),
    until ? el('p', { class: 'muted', text: say('reset.expires', { time: until }) }) : '',
    // the username rides along for password managers; it is not a field to change
    el('input', { type: 'text', name: 'username', autocomplete: 'username', value: answer.username || '',
      hidden: true, readonly: true, 'aria-hidden': 'true', tabindex: '-1' }),
    field('reset-dob', say(rep ? 'reset.dob_label_rep' : 'reset.dob_label'), dob,
      say(rep ? 'reset.dob_hint_rep' : 'reset.dob_hint')),
    el('div', { class: 'rules', id: 'reset-rules' },
      el('p', { class: 'rules-title', text: say('reset.rules_title') }),
      el('ul', {}, el('li', { text: say('reset.rule_length', { n: min }) }),
        el('li', { text: say('reset.rule_other') }))),
    field('reset-password', say('reset.password_label'), pw()),
    field('reset-password2', say('reset.password2_label'), pw()),
    el('div', { class: 'field checkbox' },
      el('input', { id: 'reset-show', type: 'checkbox' }),
      el('label', { for: 'reset-show', text: say('reset.show') })),
    el('p', { id: 'reset-error', class: 'banner banner-error', hidden: true }),
    el('button', { id: 'reset-submit', type: 'submit', class: 'btn btn-primary btn-wide', text: say('reset.submit') }));
  fieldOf(form, 'reset-password').setAttribute('aria-describedby', 'reset-rules reset-password-error');
  const section = el('section', { id: 'view-reset', 'aria-labelledby': 'reset-heading', hidden: true }, form);
  $('view-done').before(section);
  return form;
}

// build() appends the fields before they are in the document; look them up in the form.
function fieldOf(form, id) {
  return form.querySelector('#' + id);
}

function setError(form, id, text) {
  const input = fieldOf(form, id);
  const out = fieldOf(form, id + '-error');
  out.textContent = text || '';
  out.hidden = !text;
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function localChecks(v, username, min) {
  const errors = [];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v.dob)) errors.push(['reset-dob', say('reset.err_dob')]);
  if (!v.password) errors.push(['reset-password', say('reset.err_password')]);
  else if ([...v.password].length < min) errors.push(['reset-password', say('reset.err_short', { n: min })]);
  else if (username && v.password.toLowerCase() === username.toLowerCase()) {
    errors.push(['reset-password', say('reset.err_username')]);
  } else if (repeated(v.password)) {
    errors.push(['reset-password', say('reset.err_repeated')]);
  }
  if (v.password && v.password2 !== v.password) errors.push(['reset-password2', say('reset.err_mismatch')]);
  return errors;
}

// [field, words(min, err)]; a wrong date of birth says how many tries are left, as the
// invitation does (the server's tries_left)
const FIELD_ERRORS = {
  verification_failed: ['reset-dob', (min, err) => say('reset.err_verification') + ' '
    + (err.triesLeft === null ? say('reset.tries_unknown') : tCount('reset.tries_left', err.triesLeft))],
  invalid_date_of_birth: ['reset-dob', () => say('reset.err_dob_invalid')],
  weak_password: ['reset-password', (min) => say('reset.err_weak', { n: min })],
  password_too_long: ['reset-password', () => say('reset.err_long')],
};

function showDone(page, answer, username) {
  page.finished();
  const target = page.safeUrl(answer.login_url);
  $('done-heading').textContent = say('reset.done_heading');
  $('done-text').textContent = say('reset.done_text', { username: answer.username || username || '' });
  $('done-link').hidden = !target;
  if (target) $('login-link').href = target;
  page.showDoneContact('');
  document.title = say('reset.done_heading');
  page.show('view-done', 'done-heading');
}

function failed(page, form, err, min, dob) {
  if (page.tokenCodes.has(err.code)) {
    page.showProblem(page.problemFor(err));
    return;
  }
  const known = FIELD_ERRORS[err.code];
  if (known) {
    const text = known[1](min, err);
    if (err.code === 'verification_failed') page.rejected.remember(page.token(), dob, text);
    setError(form, known[0], text);
    fieldOf(form, known[0]).focus();
    page.announce(text);
    return;
  }
  const banner = fieldOf(form, 'reset-error');
  const text = err.code === 'network' || err.status === 503 ? page.troubleText(err) : say('reset.err_other');
  banner.textContent = text;
  banner.hidden = false;
  page.announce(text);
}

async function submit(page, form, answer, min, e) {
  e.preventDefault();
  for (const id of ['reset-dob', 'reset-password', 'reset-password2']) setError(form, id, '');
  fieldOf(form, 'reset-error').hidden = true;
  const v = {
    dob: fieldOf(form, 'reset-dob').value,
    password: fieldOf(form, 'reset-password').value,
    password2: fieldOf(form, 'reset-password2').value,
  };
  const problems = localChecks(v, answer.username, min);
  if (problems.length) {
    for (const [id, text] of problems) setError(form, id, text);
    fieldOf(form, problems[0][0]).focus();
    page.announce(problems.map((p) => p[1]).join(' '));
    return;
  }
  // the date the server just refused for this link: the same words, no request, no try spent
  const again = page.rejected.repeat(page.token(), v.dob);
  if (again) {
    setError(form, 'reset-dob', again);
    fieldOf(form, 'reset-dob').focus();
    page.announce(again);
    return;
  }
  const button = fieldOf(form, 'reset-submit');
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    const done = await page.post('reset', { token: page.token(), date_of_birth: v.dob, password: v.password });
    showDone(page, done, answer.username);
  } catch (err) {
    failed(page, form, err, min, v.dob);
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

// page: { answer (the lookup), token(), post(path, body), show(viewId, focusId),
//   showProblem(problem), problemFor(err), announce(text), localTime(iso), safeUrl(url),
//   t(key, values) (the catalog's words), troubleText(err) (network or service trouble),
//   tokenCodes, minPassword(), oneCharacterRepeated(password), finished() (forget the token),
//   tCount(key, n), rejectedDates() (a new memory of the refused date of birth),
//   showDoneContact(text) (the line under the done screen) }
export function showReset(page) {
  t = page.t;
  tCount = page.tCount;
  page = { ...page, rejected: page.rejectedDates() };
  repeated = page.oneCharacterRepeated;
  const answer = { ...page.answer, localTime: page.localTime };
  const min = page.minPassword();
  const form = build(answer, min);
  form.addEventListener('submit', (e) => submit(page, form, answer, min, e));
  fieldOf(form, 'reset-show').addEventListener('change', (e) => {
    const type = e.currentTarget.checked ? 'text' : 'password';
    fieldOf(form, 'reset-password').type = type;
    fieldOf(form, 'reset-password2').type = type;
  });
  document.title = say('reset.doc_title');
  page.show('view-reset', 'reset-heading');
}
