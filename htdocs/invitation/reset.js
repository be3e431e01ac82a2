// Password reset — the screen of the recipient page for a password reset link (the lookup
// answers kind "reset" with the account's username). The recipient gives the date of birth
// (the same tries and lock as an invitation) and a new password twice; POST api/reset sets it
// and the old password stops working at once. invitation.js calls showReset(page) with its
// helpers; nothing here reads the token from the address bar.
//
// Words: WORDS (English) by key, ready for the "page" section of i18n/<lang>.json; WORDS_ES
// is the same keys in Spanish. {name} marks a value filled in.

export const WORDS = {
  reset_doc_title: 'Choose a new portal password',
  reset_heading: 'Choose a new password',
  reset_intro: 'This sets a new password for the portal account {username}.',
  reset_expires: 'This link works once, until {time}.',
  reset_dob_label: 'Your date of birth',
  reset_dob_hint: 'As the practice has it on file.',
  reset_dob_label_rep: 'The client’s date of birth',
  reset_dob_hint_rep: 'Enter the date of birth of the person you are a representative for, not your own.',
  reset_rules_title: 'Your new password must:',
  reset_rule_length: 'be at least {n} characters long',
  reset_rule_other: 'not be your username or your email address',
  reset_password_label: 'New password',
  reset_password2_label: 'Type the new password again',
  reset_show: 'Show passwords',
  reset_submit: 'Save my new password',
  reset_err_dob: 'Please enter the date of birth.',
  reset_err_password: 'Please choose a new password.',
  reset_err_short: 'Your password is too short. Please use at least {n} characters.',
  reset_err_username: 'Your password can’t be the same as your username.',
  reset_err_mismatch: 'The two passwords don’t match. Please type the same password twice.',
  reset_err_verification: 'That date of birth doesn’t match what the practice has on file. Please check it and try again. For your security, the link locks after several wrong tries.',
  reset_err_weak: 'Please choose a stronger password: at least {n} characters, and not your username or email address.',
  reset_err_long: 'Please choose a shorter password: at most 72 bytes (72 plain letters and digits, fewer with accented letters or symbols).',
  reset_err_other: 'Something went wrong. Please try again. If it keeps happening, contact the practice.',
  reset_done_heading: 'Your new password is saved',
  reset_done_text: 'Sign in as {username} with your new password. The old password no longer works.',
};

export const WORDS_ES = {
  reset_doc_title: 'Elija una nueva contraseña del portal',
  reset_heading: 'Elija una nueva contraseña',
  reset_intro: 'Aquí elige una nueva contraseña para la cuenta del portal {username}.',
  reset_expires: 'Este enlace funciona una sola vez, hasta el {time}.',
  reset_dob_label: 'Su fecha de nacimiento',
  reset_dob_hint: 'Tal como la tiene registrada la consulta.',
  reset_dob_label_rep: 'La fecha de nacimiento del cliente',
  reset_dob_hint_rep: 'Escriba la fecha de nacimiento de la persona a la que representa, no la suya.',
  reset_rules_title: 'Su nueva contraseña debe:',
  reset_rule_length: 'tener al menos {n} caracteres',
  reset_rule_other: 'no ser su nombre de usuario ni su dirección de correo',
  reset_password_label: 'Nueva contraseña',
  reset_password2_label: 'Escriba de nuevo la nueva contraseña',
  reset_show: 'Mostrar las contraseñas',
  reset_submit: 'Guardar mi nueva contraseña',
  reset_err_dob: 'Escriba la fecha de nacimiento.',
  reset_err_password: 'Elija una nueva contraseña.',
  reset_err_short: 'La contraseña es demasiado corta. Use al menos {n} caracteres.',
  reset_err_username: 'La contraseña no puede ser igual a su nombre de usuario.',
  reset_err_mismatch: 'Las dos contraseñas no coinciden. Escriba la misma contraseña dos veces.',
  reset_err_verification: 'Esa fecha de nacimiento no coincide con la que tiene registrada la consulta. Revísela e inténtelo de nuevo. Por su seguridad, el enlace se bloquea después de varios intentos fallidos.',
  reset_err_weak: 'Elija una contraseña más segura: al menos {n} caracteres, y que no sea su nombre de usuario ni su dirección de correo.',
  reset_err_long: 'Elija una contraseña más corta: como máximo 72 bytes (72 letras y números sin acentos, menos con letras acentuadas o símbolos).',
  reset_err_other: 'Algo salió mal. Inténtelo de nuevo. Si sigue pasando, comuníquese con la consulta.',
  reset_done_heading: 'Su nueva contraseña está guardada',
  reset_done_text: 'Inicie sesión como {username} con su nueva contraseña. La contraseña anterior ya no funciona.',
};

const $ = (id) => document.getElementById(id);

function say(key, values = {}) {
  return WORDS[key].replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
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
    el('h1', { id: 'reset-heading', tabindex: '-1', text: say('reset_heading') }),
    el('p', { id: 'reset-intro', text: say('reset_intro', { username: answer.username || '' }) }),
    until ? el('p', { class: 'muted', text: say('reset_expires', { time: until }) }) : '',
    // the username rides along for password managers; it is not a field to change
    el('input', { type: 'text', name: 'username', autocomplete: 'username', value: answer.username || '',
      hidden: true, readonly: true, 'aria-hidden': 'true', tabindex: '-1' }),
    field('reset-dob', say(rep ? 'reset_dob_label_rep' : 'reset_dob_label'), dob,
      say(rep ? 'reset_dob_hint_rep' : 'reset_dob_hint')),
    el('div', { class: 'rules', id: 'reset-rules' },
      el('p', { class: 'rules-title', text: say('reset_rules_title') }),
      el('ul', {}, el('li', { text: say('reset_rule_length', { n: min }) }),
        el('li', { text: say('reset_rule_other') }))),
    field('reset-password', say('reset_password_label'), pw()),
    field('reset-password2', say('reset_password2_label'), pw()),
    el('div', { class: 'field checkbox' },
      el('input', { id: 'reset-show', type: 'checkbox' }),
      el('label', { for: 'reset-show', text: say('reset_show') })),
    el('p', { id: 'reset-error', class: 'banner banner-error', hidden: true }),
    el('button', { id: 'reset-submit', type: 'submit', class: 'btn btn-primary btn-wide', text: say('reset_submit') }));
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
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v.dob)) errors.push(['reset-dob', say('reset_err_dob')]);
  if (!v.password) errors.push(['reset-password', say('reset_err_password')]);
  else if ([...v.password].length < min) errors.push(['reset-password', say('reset_err_short', { n: min })]);
  else if (username && v.password.toLowerCase() === username.toLowerCase()) {
    errors.push(['reset-password', say('reset_err_username')]);
  }
  if (v.password && v.password2 !== v.password) errors.push(['reset-password2', say('reset_err_mismatch')]);
  return errors;
}

const FIELD_ERRORS = {
  verification_failed: ['reset-dob', () => say('reset_err_verification')],
  weak_password: ['reset-password', (min) => say('reset_err_weak', { n: min })],
  password_too_long: ['reset-password', () => say('reset_err_long')],
};

function showDone(page, answer, username) {
  page.finished();
  const target = page.safeUrl(answer.login_url);
  $('done-heading').textContent = say('reset_done_heading');
  $('done-text').textContent = say('reset_done_text', { username: answer.username || username || '' });
  $('done-link').hidden = !target;
  if (target) $('login-link').href = target;
  document.title = say('reset_done_heading');
  page.show('view-done', 'done-heading');
}

function failed(page, form, err, min) {
  if (page.tokenCodes.has(err.code)) {
    page.showProblem(page.problemFor(err));
    return;
  }
  const known = FIELD_ERRORS[err.code];
  if (known) {
    const text = known[1](min);
    setError(form, known[0], text);
    fieldOf(form, known[0]).focus();
    page.announce(text);
    return;
  }
  const banner = fieldOf(form, 'reset-error');
  const text = err.code === 'network' || err.status === 503 ? page.problemFor(err).text + ' ' + page.problemFor(err).next
    : say('reset_err_other');
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
  const button = fieldOf(form, 'reset-submit');
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('is-busy');
  try {
    const done = await page.post('reset', { token: page.token(), date_of_birth: v.dob, password: v.password });
    showDone(page, done, answer.username);
  } catch (err) {
    failed(page, form, err, min);
  } finally {
    button.removeAttribute('aria-busy');
    button.classList.remove('is-busy');
  }
}

// page: { answer (the lookup), token(), post(path, body), show(viewId, focusId),
//   showProblem(problem), problemFor(err), announce(text), localTime(iso), safeUrl(url),
//   tokenCodes, minPassword(), finished() (forget the token) }
export function showReset(page) {
  const answer = { ...page.answer, localTime: page.localTime };
  const min = page.minPassword();
  const form = build(answer, min);
  form.addEventListener('submit', (e) => submit(page, form, answer, min, e));
  fieldOf(form, 'reset-show').addEventListener('change', (e) => {
    const type = e.currentTarget.checked ? 'text' : 'password';
    fieldOf(form, 'reset-password').type = type;
    fieldOf(form, 'reset-password2').type = type;
  });
  document.title = say('reset_doc_title');
  page.show('view-reset', 'reset-heading');
}
