// Serial lookup: every unit with a serial, its holder, its full history (who, through
// which channel, at which outlet, when, on which invoice and line), re-issue links, its
// state at any earlier time, and the evidence file for auditors and managers.
// The address keeps ?serial=…&asOf=… (RFC 3339) so a lookup can be linked to.
import { gql, can, describeError } from '../api.js';
import { h, field, replace, when, money } from '../dom.js';

export const title = 'Serial lookup';

const TRACE = `query Trace($serial: String!, $asOf: DateTime) {
  serialTrace(serialNumber: $serial, asOf: $asOf) {
    productId serialNumber sku productName status saleId invoiceNumber lineNumber outletId
    customer { customerId name } allocatedAt fulfilledAt returnedAt
    history {
      action statusAfter eventType saleId invoiceNumber lineNumber outletId
      customer { name } actor { kind id displayName } channel reason
      refund { amountMinor currency }
      reissueOf { saleId invoiceNumber lineNumber } reissueOfSerial
      replacedBy { saleId invoiceNumber lineNumber } replacedBySerial
      recordedAt
    }
  }
}`;

const SUGGEST = 'query Suggest($prefix: String!) { serialNumbers(prefix: $prefix, first: 20) }';

const STATUS = {
  ALLOCATED: 'Allocated (on an unfulfilled line)',
  FULFILLED: 'Fulfilled (with the customer)',
  RETURNED: 'Returned (refunded)',
  RELEASED: 'Released (taken off its line)',
};

const ACTION = {
  ASSIGNED: 'Serial assigned',
  REMOVED: 'Serial removed',
  FULFILLED: 'Fulfilled',
  RETURNED: 'Returned and refunded',
  CANCELLED: 'Line cancelled',
  LINE_REMOVED: 'Line removed',
  REISSUED: 'Re-issued',
};

const ACTOR_KIND = { USER: 'staff', INTEGRATION: 'integration', SYSTEM: 'system' };

const CHANNEL = {
  POS: 'POS', FULFILMENT_REPORT: 'fulfilment report', BACK_OFFICE: 'back office', API: 'API',
  WMS: 'warehouse management (WMS)', IMPORT: 'CSV import', BULK_EDIT: 'bulk edit', SYSTEM: 'system',
};

/** A serial lookup's own address. */
export function serialHref(serial, asOf) {
  const query = new URLSearchParams({ serial });
  if (asOf) query.set('asOf', asOf);
  return '/serials?' + query;
}

/** "2026-12-07T14:03:05" (a datetime-local value, local time) → RFC 3339 with the offset. */
export function localToRfc3339(value) {
  if (!value) return '';
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return '';
  const pad = (n) => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  const offset = -at.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
    + `${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** RFC 3339 → a datetime-local value in local time (with seconds). */
export function rfc3339ToLocal(text) {
  if (!text) return '';
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
}

/** A time as people read it, to the second (events often fall in the same minute). */
function time(text) {
  if (!text) return '';
  const at = new Date(text);
  const seconds = Number.isNaN(at.getTime()) ? '' : ':' + String(at.getSeconds()).padStart(2, '0');
  return h('time', { datetime: text }, when(text) + seconds);
}

/** An invoice, linked to its POS order screen for those who may sell. */
function invoice(number, line) {
  const text = line ? `${number}, line ${line}` : number;
  if (!number) return '';
  return can('sell') ? h('a', { href: '/pos?invoice=' + encodeURIComponent(number) }, text) : text;
}

export async function render(root, { params }) {
  let asOf = params.get('asOf') || '';
  const serialInput = h('input', {
    type: 'search', name: 'serial', autocomplete: 'off', spellcheck: 'false', required: true,
    list: 'serial-suggestions', value: params.get('serial') || '', 'aria-describedby': 'serial-suggestion-status',
  });
  const asOfInput = h('input', { type: 'datetime-local', name: 'asOf', step: '1', value: rfc3339ToLocal(asOf) });
  const datalist = h('datalist', { id: 'serial-suggestions' });
  const suggestionStatus = h('p', { id: 'serial-suggestion-status', class: 'muted suggestion-status', 'aria-live': 'polite' });
  const suggestionList = h('ul', { class: 'suggestions', 'aria-label': 'Suggested serials', hidden: true });
  const results = h('section', { 'aria-live': 'polite', 'aria-busy': 'false', class: 'serial-results', 'aria-label': 'Lookup result' });

  const form = h('form', { class: 'card lookup-form', role: 'search', 'aria-label': 'Serial lookup', onsubmit: (event) => { event.preventDefault(); submit(); } },
    h('div', { class: 'filters' },
      field('Serial number', serialInput),
      datalist,
      field('As of', asOfInput, 'Optional: the unit as it stood at that time (your local time).'),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Look up'),
        h('button', { type: 'button', onclick: () => { asOfInput.value = ''; submit(); } }, 'Now'))),
    suggestionStatus,
    suggestionList);

  root.append(
    h('h1', {}, 'Serial lookup'),
    h('p', { class: 'muted' }, 'Type or scan a serial number: every unit with it, who holds it, and every step of its history.'),
    form,
    results);

  // Suggestions as the user types (debounced; late answers to older prefixes are dropped).
  let timer = null;
  let asked = 0;
  serialInput.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 250);
  });

  async function suggest() {
    const prefix = serialInput.value.trim();
    const ask = ++asked;
    if (!prefix) {
      replace(datalist);
      replace(suggestionList);
      suggestionList.hidden = true;
      suggestionStatus.textContent = '';
      return;
    }
    try {
      const data = await gql(SUGGEST, { prefix });
      if (ask !== asked) return;
      const serials = data.serialNumbers;
      replace(datalist, serials.map((serial) => h('option', { value: serial })));
      replace(suggestionList, serials.map((serial) => h('li', {}, h('a', { href: serialHref(serial, asOf) }, serial))));
      suggestionList.hidden = serials.length === 0;
      suggestionStatus.textContent = serials.length
        ? `${serials.length}${serials.length === 20 ? ' or more' : ''} recorded serial${serials.length === 1 ? '' : 's'} start with “${prefix}”.`
        : `No recorded serial starts with “${prefix}”.`;
    } catch (error) {
      if (ask !== asked) return;
      suggestionList.hidden = true;
      suggestionStatus.textContent = describeError(error);
    }
  }

  function submit() {
    const serial = serialInput.value.trim();
    if (!serial) {
      serialInput.reportValidity();
      return;
    }
    asOf = localToRfc3339(asOfInput.value);
    const address = serialHref(serial, asOf);
    if (location.pathname + location.search !== address) history.pushState(null, '', address);
    lookUp(serial, asOf);
  }

  window.addEventListener('popstate', () => {
    const now = new URLSearchParams(location.search);
    serialInput.value = now.get('serial') || '';
    asOf = now.get('asOf') || '';
    asOfInput.value = rfc3339ToLocal(asOf);
    if (serialInput.value) lookUp(serialInput.value, asOf);
    else replace(results);
  });

  let looked = 0;
  async function lookUp(serial, at) {
    const ask = ++looked;
    results.setAttribute('aria-busy', 'true');
    replace(results, h('p', { class: 'muted' }, `Looking up ${serial}…`));
    try {
      const data = await gql(TRACE, { serial, asOf: at || null });
      if (ask !== looked) return;
      showUnits(serial, at, data.serialTrace);
    } catch (error) {
      if (ask !== looked) return;
      replace(results, h('p', { class: 'error', role: 'alert' }, describeError(error)));
    } finally {
      if (ask === looked) results.setAttribute('aria-busy', 'false');
    }
  }

  function showUnits(serial, at, units) {
    const heading = h('h2', {}, at ? `${serial} as of ${when(at)}` : serial);
    if (!units.length) {
      replace(results, heading, h('p', { class: 'empty' }, at
        ? `No unit had serial ${serial} recorded by ${when(at)}.`
        : `No unit has serial ${serial} recorded.`));
      return;
    }
    replace(results, heading,
      at ? h('p', { class: 'as-of-note' }, 'Shown as the units stood at ', time(at), '; ',
        h('a', { href: serialHref(serial) }, 'see them now'), '.') : null,
      h('p', { class: 'muted' }, `${units.length} unit${units.length === 1 ? '' : 's'} with this serial.`),
      units.map((unit) => unitCard(unit, at)));
  }

  function unitCard(unit, at) {
    const heading = `${unit.productName} (${unit.sku}) · ${unit.serialNumber}`;
    const evidence = can('readLog')
      ? h('a', {
        class: 'evidence-link',
        href: `/exports/serials/evidence?${new URLSearchParams({ serial: unit.serialNumber, productId: unit.productId })}`,
        download: `evidence-${unit.serialNumber}.json`,
      }, 'Evidence file', h('span', { class: 'visually-hidden' }, ` for ${heading}`))
      : null;
    return h('article', { class: 'card unit', dataset: { productId: unit.productId } },
      h('h3', {}, heading),
      h('dl', { class: 'unit-facts' },
        fact('Product', `${unit.productName} (SKU ${unit.sku})`),
        fact('Status', h('span', { class: `badge status-${unit.status.toLowerCase()}` }, STATUS[unit.status] || unit.status)),
        fact(['RETURNED', 'RELEASED'].includes(unit.status) ? 'Last holder' : 'Holder', unit.customer ? unit.customer.name : h('span', { class: 'muted' }, 'no customer recorded')),
        fact('Invoice', invoice(unit.invoiceNumber, unit.lineNumber)),
        fact('Outlet', h('code', {}, unit.outletId)),
        fact('Recorded on the line', time(unit.allocatedAt)),
        unit.fulfilledAt ? fact('Fulfilled', time(unit.fulfilledAt)) : null,
        unit.returnedAt ? fact('Returned', time(unit.returnedAt)) : null),
      evidence ? h('p', {}, evidence, h('span', { class: 'muted' }, ' (JSON, every event with its hashes and proofs; check it offline with replay check-evidence)')) : null,
      h('h4', {}, 'History', at ? ` up to ${when(at)}` : ''),
      h('ol', { class: 'timeline', 'aria-label': `History of ${heading}` },
        unit.history.map((event) => step(event, unit, at))));
  }

  function step(event, unit, at) {
    const actor = `${event.actor.displayName} (${ACTOR_KIND[event.actor.kind] || event.actor.kind.toLowerCase()})`;
    const parts = [
      h('div', { class: 'step-head' },
        h('strong', { class: 'step-action' }, ACTION[event.action] || event.action), ' ',
        time(event.recordedAt), ' ',
        h('span', { class: `badge status-${event.statusAfter.toLowerCase()}` }, 'now ', event.statusAfter.toLowerCase())),
      h('dl', { class: 'step-facts' },
        fact('By', actor),
        fact('Channel', CHANNEL[event.channel] || event.channel),
        fact('Outlet', h('code', {}, event.outletId)),
        fact('Invoice', invoice(event.invoiceNumber, event.lineNumber)),
        event.customer ? fact('Customer', event.customer.name) : null,
        event.reason ? fact('Reason', event.reason) : null,
        event.refund ? fact('Refund', money(event.refund)) : null),
    ];
    if (event.reissueOf) {
      parts.push(h('p', { class: 'reissue' }, 'Re-issue of ', invoice(event.reissueOf.invoiceNumber, event.reissueOf.lineNumber),
        serialLink(event.reissueOfSerial, unit, at)));
    }
    if (event.replacedBy) {
      parts.push(h('p', { class: 'reissue' }, 'Replaced by ', invoice(event.replacedBy.invoiceNumber, event.replacedBy.lineNumber),
        event.replacedBySerial
          ? serialLink(event.replacedBySerial, unit, at)
          : h('span', { class: 'muted' }, ' (no serial recorded on the new line yet)')));
    }
    return h('li', { dataset: { action: event.action } }, parts);
  }

  if (serialInput.value) await lookUp(serialInput.value.trim(), asOf);
  else serialInput.focus();
}

/** " (serial X)", linked to X's lookup unless X is the unit shown. */
function serialLink(serial, unit, at) {
  if (!serial) return '';
  if (serial === unit.serialNumber) return [' (serial ', serial, ', this unit)'];
  return [' (serial ', h('a', { href: serialHref(serial, at), class: 'reissue-link' }, serial), ')'];
}

function fact(term, value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}
