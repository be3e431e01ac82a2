// Overview — the champions' charts over GET api/admin/overview (issue 15, docs/api.md):
// the invitation funnel by month and delivery health by day, drawn here as SVG bar charts
// (no chart library), each with a title, a description that says the totals, and a data
// table behind a "Show data table" button for screen readers and anyone who wants numbers.

import {
  api, $, h, announce, busy, showPageError, usePracticeTimeZone, outageText,
} from './common.js';

const SVG = 'http://www.w3.org/2000/svg';

// Bars: series in the same column are stacked (the funnel's outcomes), others side by side.
const FUNNEL = [
  { key: 'invited', name: 'Invited', col: 0 },
  { key: 'delivered', name: 'Delivered', col: 1 },
  { key: 'accepted', name: 'Accepted', col: 2 },
  { key: 'declined', name: 'Declined', col: 3 },
  { key: 'expired', name: 'Expired', col: 3 },
  { key: 'failed', name: 'Failed', col: 3 },
  { key: 'bounced', name: 'Bounced', col: 3 },
];
// ... and in the data table, what the rest became, so that each month adds up: invited =
// waiting + accepted + declined + expired + locked + withdrawn or replaced (delivered,
// failed and bounced say how the emails went)
const FUNNEL_TABLE = [...FUNNEL,
  { key: 'waiting', name: 'Waiting for an answer' },
  { key: 'locked', name: 'Locked' },
  { key: 'ended', name: 'Withdrawn or replaced' },
];
const DELIVERY = [
  { key: 'sent', name: 'Sent', col: 0 },
  { key: 'retried', name: 'Retried', col: 1 },
  { key: 'failed', name: 'Failed', col: 2 },
  { key: 'bounced', name: 'Bounced', col: 2 },
];

// the drawing's width: the chart's own width in CSS pixels (so text keeps its size on a phone)
let W = 720;
const H = 260;
const M = { left: 44, right: 8, top: 12, bottom: 34 };

const monthShort = new Intl.DateTimeFormat('en-US', { month: 'short', year: 'numeric', timeZone: 'UTC' });
const monthLong = new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const dayShort = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
const dayLong = new Intl.DateTimeFormat('en-US', {
  weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC',
});

// "2026-11" or "2026-11-05" (a calendar month or day, not a moment) → a Date at UTC midnight
function calendar(label) {
  const [y, m, d] = label.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d || 1));
}

const MONTHS = {
  part: 'funnel', key: 'month', series: FUNNEL, table: FUNNEL_TABLE, noun: 'month', labelPx: 58,
  short: (l) => monthShort.format(calendar(l)), long: (l) => monthLong.format(calendar(l)),
};
const DAYS = {
  part: 'delivery', key: 'day', series: DELIVERY, noun: 'day', labelPx: 44,
  short: (l) => dayShort.format(calendar(l)), long: (l) => dayLong.format(calendar(l)),
};

function errorText(err) {
  if (err.status === 403) return 'Only portal administrators can see the overview.';
  if (err.status === 401) return 'Sign in again to see the overview.';
  if (err.code === 'network') return 'The server could not be reached. Check your connection and try again.';
  if (outageText(err)) return outageText(err);
  return err.message || 'Something went wrong. Please try again.';
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// the smallest of 1, 2, 5 × 10^k at or above v (at least 1): the chart's top
function niceMax(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((f) => f * p).find((c) => c >= v);
}

function columns(series) {
  return Math.max(...series.map((s) => s.col)) + 1;
}

function columnTotals(row, series) {
  const t = new Array(columns(series)).fill(0);
  for (const s of series) t[s.col] += row[s.key] || 0;
  return t;
}

function totals(rows, series) {
  const t = {};
  for (const s of series) t[s.key] = rows.reduce((n, r) => n + (r[s.key] || 0), 0);
  return t;
}

function describe(rows, kind) {
  if (!rows.length) return 'No data.';
  const t = totals(rows, kind.series);
  const first = kind.long(rows[0][kind.key]);
  const last = kind.long(rows[rows.length - 1][kind.key]);
  const parts = kind.series.map((s) => `${t[s.key].toLocaleString('en-US')} ${s.name.toLowerCase()}`);
  return `From ${first} to ${last}, one group of bars per ${kind.noun}: ${parts.join(', ')} in all. `
    + `The data table below the chart has each ${kind.noun}'s numbers.`;
}

function yAxis(top) {
  const g = svg('g', { class: 'chart-axis' });
  const ticks = top === 1 ? [0, 1] : [0, top / 2, top];
  for (const v of ticks) {
    const y = M.top + (H - M.top - M.bottom) * (1 - v / top);
    g.append(svg('line', { x1: M.left, x2: W - M.right, y1: y, y2: y, class: 'chart-grid' }));
    g.append(svg('text', { x: M.left - 6, y: y + 4, 'text-anchor': 'end' }, v.toLocaleString('en-US')));
  }
  return g;
}

function xLabels(rows, kind, groupW) {
  const g = svg('g', { class: 'chart-axis' });
  const every = Math.max(1, Math.ceil(kind.labelPx / groupW));
  rows.forEach((r, i) => {
    if ((rows.length - 1 - i) % every !== 0) return;
    const mid = M.left + groupW * (i + 0.5);
    const atEdge = mid + kind.labelPx / 2 > W;      // the last label ends at the edge, not past it
    g.append(svg('text', { x: atEdge ? W - 2 : mid, y: H - M.bottom + 16, 'text-anchor': atEdge ? 'end' : 'middle' },
      kind.short(r[kind.key])));
  });
  return g;
}

// one group: a bar per column, the series of a column stacked from the bottom
function barGroup(row, i, kind, groupW, top) {
  const g = svg('g', { class: 'chart-group', 'data-label': row[kind.key] });
  const ncol = columns(kind.series);
  const barW = (groupW * 0.8) / ncol;
  const plotH = H - M.top - M.bottom;
  const base = new Array(ncol).fill(0);
  for (const s of kind.series) {
    const v = row[s.key] || 0;
    const hgt = (plotH * v) / top;
    const y = M.top + plotH - base[s.col] - hgt;
    base[s.col] += hgt;
    const x = M.left + groupW * i + groupW * 0.1 + barW * s.col;
    g.append(svg('rect', { x: x.toFixed(2), y: y.toFixed(2), width: barW.toFixed(2), height: hgt.toFixed(2),
      class: 'chart-bar series-' + s.key, 'data-series': s.key, 'data-value': v },
    svg('title', {}, `${kind.long(row[kind.key])}: ${v} ${s.name.toLowerCase()}`)));
  }
  return g;
}

function drawChart(id, rows, kind, title) {
  W = Math.round(Math.min(960, Math.max(280, $(id + '-chart').clientWidth || 720)));
  const top = niceMax(Math.max(0, ...rows.map((r) => Math.max(...columnTotals(r, kind.series)))));
  const groupW = (W - M.left - M.right) / Math.max(1, rows.length);
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg', id: id + '-svg',
    'aria-labelledby': `${id}-title ${id}-desc`,
  }, svg('title', { id: id + '-title' }, title), svg('desc', { id: id + '-desc' }, describe(rows, kind)));
  chart.append(yAxis(top), xLabels(rows, kind, groupW));
  rows.forEach((r, i) => chart.append(barGroup(r, i, kind, groupW, top)));
  $(id + '-chart').replaceChildren(chart);
}

function legend(id, series) {
  $(id + '-legend').replaceChildren(...series.map((s) => h('li', {},
    h('span', { class: 'chart-swatch series-' + s.key, 'aria-hidden': 'true' }), s.name)));
}

function dataTable(id, rows, kind, caption) {
  const columns = kind.table || kind.series;
  const head = h('tr', {}, h('th', { scope: 'col', text: kind.noun === 'month' ? 'Month' : 'Day' }),
    columns.map((s) => h('th', { scope: 'col', class: 'num', text: s.name })));
  const body = rows.map((r) => h('tr', { 'data-label': r[kind.key] },
    h('th', { scope: 'row', text: kind.long(r[kind.key]) }),
    // data-label: the column's name, which a phone's card shows beside the number
    columns.map((s) => h('td', { class: 'num', 'data-label': s.name, text: (r[s.key] || 0).toLocaleString('en-US') }))));
  $(id + '-table-wrap').replaceChildren(h('table', { class: 'outbox-table stack-table', id: id + '-table' },
    h('caption', { text: caption }), h('thead', {}, head), h('tbody', {}, body)));
}

function toggle(id) {
  const button = $(id + '-toggle');
  const wrap = $(id + '-table-wrap');
  button.addEventListener('click', () => {
    wrap.hidden = !wrap.hidden;
    button.setAttribute('aria-expanded', String(!wrap.hidden));
    button.textContent = wrap.hidden ? 'Show data table' : 'Hide data table';
  });
}

let shown = null;

function show(d) {
  shown = d;
  const funnel = d.funnel || [];
  const delivery = d.delivery || [];
  drawChart('funnel', funnel, MONTHS, 'Invitations by month');
  drawChart('delivery', delivery, DAYS, 'Emails by day');
  dataTable('funnel', funnel, MONTHS, 'Invitations by month. Each month\'s invited are the ones waiting for an answer, '
    + 'accepted, declined, expired, locked, and withdrawn or replaced; delivered, failed and bounced say how their emails went.');
  dataTable('delivery', delivery, DAYS, 'Emails by the day they were queued');
  $('zone-note').textContent = `Months and days on the practice's clock (${d.time_zone}).`;
}

function load() {
  const q = new URLSearchParams({ months: $('months').value, days: $('days').value });
  return api('GET', 'admin/overview?' + q);
}

// a new width (a turned phone, a resized window): the same numbers drawn again
function redrawOnResize() {
  let timer = null;
  window.addEventListener('resize', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!shown) return;
      drawChart('funnel', shown.funnel || [], MONTHS, 'Invitations by month');
      drawChart('delivery', shown.delivery || [], DAYS, 'Emails by day');
    }, 200);
  });
}

function init() {
  redrawOnResize();
  legend('funnel', FUNNEL);
  legend('delivery', DELIVERY);
  toggle('funnel');
  toggle('delivery');
  $('range').addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(ev.submitter || $('range').querySelector('button'), async () => {
      try {
        show(await load());
        showPageError('');
        announce('The overview is updated.');
      } catch (err) {
        showPageError(errorText(err));
      }
    });
  });
}

async function start() {
  let data;
  init();
  try {
    const me = await api('GET', 'me');
    $('who').textContent = 'Signed in as ' + (me.display_name || me.username);
    usePracticeTimeZone(me.time_zone);
    for (const link of ['settings-link', 'outbox-link', 'audit-link']) $(link).hidden = !me.admin;
    if (!me.admin) {
      $('loading').hidden = true;
      showPageError('Only portal administrators can see the overview.');
      return;
    }
    data = await load();
  } catch (err) {
    $('loading').hidden = true;
    showPageError(errorText(err));
    return;
  }
  $('loading').hidden = true;
  $('overview').hidden = false;
  show(data);                           // once shown: the charts take the width they have
}

start();
