// Client Portal Manager — the signed-in staff member's own email notices about their
// clients (GET api/me's email and notify; PUT api/me/preferences). The address is the
// administrator's to set (portal-manager-admin staff update USER --email); how often is
// each one's own choice, saved as soon as it changes.

import { api, $, announce, setFieldError } from './common.js';

const CHOICE = {
  daily: 'A daily digest (07:00)',
  immediate: 'At once',
  none: 'Never',
};

const ERROR_TEXT = {
  invalid_notify: 'Please choose one of the options in the list.',
};

let saved = 'daily';

function showNoEmail(me) {
  $('notify-command').textContent = 'portal-manager-admin staff update ' + me.username
    + ' --email ADDRESS';
  $('notify-no-email').hidden = Boolean(me.email);
}

async function save(select, errorText) {
  const wanted = select.value;
  setFieldError('notify-error', '', select);
  select.setAttribute('aria-busy', 'true');
  try {
    const prefs = await api('PUT', 'me/preferences', { notify: wanted });
    saved = prefs.notify;
    select.value = saved;
    announce('Email notices saved: ' + CHOICE[saved] + '.');
  } catch (err) {
    select.value = saved;
    const text = ERROR_TEXT[err.code] || errorText(err);
    setFieldError('notify-error', 'Your email notices were not changed. ' + text, select);
    announce(text);
  } finally {
    select.removeAttribute('aria-busy');
  }
}

// me: GET api/me's answer; errorText(err): the page's words for an API error.
export function initNotices(me, errorText) {
  const select = $('notify');
  saved = CHOICE[me.notify] ? me.notify : 'daily';
  select.value = saved;
  showNoEmail(me);
  select.addEventListener('change', () => save(select, errorText));
  $('notices').hidden = false;
}
