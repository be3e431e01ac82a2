// The recipient page's catalogs (htdocs/invitation/i18n/<code>.json, section "page"): every
// catalog has every key English has, with the same {placeholders}, and no key English
// lacks; every key the page asks for (data-i18n in index.html, t('...') in invitation.js,
// say('...') in reset.js,
// the problem screens) is in English; and no words are left in the page's own files but
// the noscript line. No browser needed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE_DIR = process.env.PM_INVITATION_DIR || path.resolve(here, '..', '..', 'htdocs', 'invitation');
const I18N = path.join(PAGE_DIR, 'i18n');

const read = (file) => readFileSync(path.join(PAGE_DIR, file), 'utf8');
const catalog = (code) => JSON.parse(readFileSync(path.join(I18N, code + '.json'), 'utf8'));
const codes = readdirSync(I18N).filter((f) => /^[a-z]{2,3}\.json$/.test(f)).map((f) => f.slice(0, -5)).sort();
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const english = catalog('en').page;

// `missing` keys of English's page section a catalog lacks, and `extra` keys English lacks
export function compareCatalog(page, reference = english) {
  const missing = Object.keys(reference).filter((k) => typeof page[k] !== 'string' || !page[k].trim());
  const extra = Object.keys(page).filter((k) => !(k in reference)
    && !(/\.(zero|one|two|few|many|other)$/.test(k) && k.replace(/\.\w+$/, '.other') in reference));
  const wrongPlaceholders = Object.keys(reference).filter((k) => typeof page[k] === 'string'
    && !k.endsWith('.one')
    && placeholders(page[k]).join() !== placeholders(reference[k]).join());
  return { missing, extra, wrongPlaceholders };
}

describe('recipient page catalogs', () => {
  test('there are catalogs for English and Spanish, each naming its own language', () => {
    assert.ok(codes.includes('en') && codes.includes('es'), codes.join());
    for (const code of codes) {
      const doc = catalog(code);
      assert.equal(doc.language, code, code + '.json says it is ' + doc.language);
      assert.equal(typeof doc.page, 'object', code + '.json has a "page" section');
    }
    assert.ok(Object.keys(english).length > 50, 'English has the page’s words');
  });

  for (const code of codes.filter((c) => c !== 'en')) {
    test(code + '.json: every key of en.json’s page section, the same placeholders, nothing extra', () => {
      assert.deepEqual(compareCatalog(catalog(code).page), { missing: [], extra: [], wrongPlaceholders: [] });
    });
  }

  test('the check itself: a catalog without a key, with a stray key or a lost placeholder is caught', () => {
    const es = { ...catalog('es').page };
    delete es['decline.yes'];
    es['decline.yse'] = 'Sí';
    es['welcome.heading_named'] = 'Le damos la bienvenida';
    assert.deepEqual(compareCatalog(es), { missing: ['decline.yes'], extra: ['decline.yse'], wrongPlaceholders: ['welcome.heading_named'] });
  });

  test('Spanish is written with its accents (UTF-8, NFC)', () => {
    const es = catalog('es').page;
    assert.equal(es['decline.yes'], 'Sí, rechazar la invitación');
    assert.equal(es['password.label'], 'Elija una contraseña');
    assert.equal(es['problem.contact_phone'], 'Consultorio: {practice} · Teléfono: {phone}');
    for (const [k, v] of Object.entries(es)) assert.equal(v, v.normalize('NFC'), k + ' is NFC');
  });

  test('every key the page asks for is in en.json', () => {
    const html = read('index.html');
    const js = read('invitation.js');
    const reset = read('reset.js');
    const used = new Set([
      ...[...reset.matchAll(/\bsay\('([\w.]+)'/g)].map((m) => m[1]),
      ...[...reset.matchAll(/\bsay\(\w+ \? '([\w.]+)' : '([\w.]+)'/g)].flatMap((m) => [m[1], m[2]]),
      ...[...html.matchAll(/data-i18n(?:-aria-label)?="([^"]+)"/g)].map((m) => m[1]),
      ...[...js.matchAll(/\bt\('([\w.]+)'\s*[,)]/g)].map((m) => m[1]),
      ...[...js.matchAll(/\bt\(\w+ \? '([\w.]+)' : '([\w.]+)'/g)].flatMap((m) => [m[1], m[2]]),
      ...[...js.matchAll(/\btCount\('([\w.]+)'/g)].map((m) => m[1] + '.other'),
    ]);
    const problems = /const PROBLEMS = new Set\(\[([^\]]*)\]\)/.exec(js);
    assert.ok(problems, 'invitation.js lists its problem screens');
    for (const code of [...problems[1].matchAll(/'(\w+)'/g)].map((m) => m[1]).concat('other')) {
      for (const part of ['title', 'text', 'next']) used.add('problem.' + code + '.' + part);
    }
    const resetProblems = /const RESET_PROBLEMS = new Set\(\[([^\]]*)\]\)/.exec(js);
    assert.ok(resetProblems, 'invitation.js lists the problems a password reset link words its own way');
    for (const code of [...resetProblems[1].matchAll(/'(\w+)'/g)].map((m) => m[1])) {
      for (const part of ['title', 'text', 'next']) used.add('problem.reset.' + code + '.' + part);
    }
    for (const who of ['client', 'representative']) {
      used.add('dob.label_' + who);
      used.add('dob.hint_' + who);
    }
    assert.ok(used.size > 50, 'found the keys the page uses (' + used.size + ')');
    assert.deepEqual([...used].filter((k) => !(k in english)), [], 'keys the page uses that en.json lacks');
    assert.deepEqual(Object.keys(english).filter((k) => !used.has(k) && k !== 'intl_locale' && k !== 'time_zone_name'
      && !/\.(one|other)$/.test(k)), [], 'keys en.json has that the page never uses');
  });

  test('no words left in index.html and invitation.js (but the noscript line)', () => {
    const html = read('index.html')
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<noscript>[\s\S]*?<\/noscript>/g, '')
      .replace(/<script[\s\S]*?<\/script>/g, '');
    const text = html.replace(/<[^>]*>/g, ' ').replace(/&[a-z]+;/g, ' ').trim();
    assert.equal(text, '', 'text outside the catalog in index.html');
    for (const attr of ['aria-label', 'title', 'placeholder', 'alt']) {
      assert.ok(!new RegExp('\\s' + attr + '="[^"]*[A-Za-z]').test(html), attr + ' written in index.html');
    }
    // a string literal in the script that reads like a sentence or a label
    const js = read('invitation.js').replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    const literals = [...js.matchAll(/'([^'\n]*)'|"([^"\n]*)"|`([^`]*)`/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    const wordy = literals.filter((s) => /[A-Za-z]{2,}[,.!?’]?\s+[A-Za-z]{2,}/.test(s));
    assert.deepEqual(wordy, [], 'words written in invitation.js');
  });
});
