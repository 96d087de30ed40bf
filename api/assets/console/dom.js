// Small DOM helpers: build elements without innerHTML (no markup from data, ever).

/**
 * h('button', {type: 'button', onclick: fn, class: 'x', 'aria-label': '…'}, 'text', child…)
 * Attributes starting with "on" become listeners; `dataset`, `hidden`, `disabled`,
 * `checked`, `value` are set as properties; null/undefined/false attributes are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (['hidden', 'disabled', 'checked', 'value', 'selected', 'required', 'multiple'].includes(name)) {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A labelled form field: <label for>…</label><input id>; returns the wrapper. */
export function field(label, control, hint) {
  if (!control.id) control.id = 'f-' + Math.random().toString(36).slice(2, 9);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

/** A select of [value, label] options. */
export function select(attributes, options, selected) {
  return h('select', attributes,
    options.map(([value, label]) => h('option', { value, selected: value === selected }, label)));
}

/** Money in minor units as people read it: 129900 AUD → "AUD 1,299.00". */
export function money(amount) {
  if (!amount) return '';
  const minor = Number(amount.amountMinor ?? amount.minor ?? 0);
  const currency = amount.currency || '';
  const major = (minor / 100).toLocaleString('en-AU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${currency} ${major}`.trim();
}

/** An RFC 3339 time as local date and time ("2026-12-07 14:03"). */
export function when(text) {
  if (!text) return '';
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) return text;
  const pad = (n) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** A table from column headers and rows of cells (each cell a node or text). */
export function table(caption, headers, rows, attributes = {}) {
  return h('table', attributes,
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
    h('tbody', {}, rows.map((cells) => (cells instanceof Node ? cells : h('tr', {}, cells.map((cell) => h('td', {}, cell)))))));
}
