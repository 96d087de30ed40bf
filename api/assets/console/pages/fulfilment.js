// The fulfilment report: open lines with their serials (or the lack of one), the
// "Show Items Pending Serial Number" filter, serial entry in the grid, fulfilling selected
// lines (one fulfilLines call per sale), and the report's downloads (CSV, XLSX, pick list
// with serials, invoice pick list without, a sale's invoice PDF). The filters and the page
// live in the address, so a reload (or a shared link) shows the same view.
import { gql, can, flash, describeError } from '../api.js';
import { h, field, select, replace, when } from '../dom.js';
import { PAGE_SIZES, readFilters, writeFilters, dayStart, downloadLink } from '../report-filters.js';

export const title = 'Fulfilment report';

const SALE_TYPES = [['', 'Any'], ['SALE', 'Sale'], ['SPECIAL_ORDER', 'Special Order'], ['LAY_BY', 'Lay-by']];
const DELIVERY_MODES = [['', 'Any'], ['CASH_AND_CARRY', 'Cash and Carry'], ['PICKUP', 'Pickup'], ['DELIVERY', 'Delivery'], ['DROP_SHIP', 'Drop Ship']];
const MODE_LABELS = { REQUIRED: 'Required', OPTIONAL: 'Optional', DISABLED: 'Disabled' };
const INDICATORS = {
  RED: ['required-missing', 'Serial required, not yet entered'],
  ORANGE: ['optional-missing', 'Serial optional, not yet entered'],
  BLUE: ['recorded', 'Serial recorded'],
  NONE: ['disabled', 'No serial'],
};

const ROW_FIELDS = `
  sale { id invoiceNumber saleType saleTypeLabel deliveryMode deliveryModeName outletId openedAt customer { name } }
  line { lineNumber productId sku productName quantity serialMode serialNumber serialIndicator pendingSerial status packageMode parentLine }`;

const REPORT = `query FulfilmentReport($filter: FulfilmentReportFilter, $first: Int, $after: String) {
  fulfilmentReport(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ${ROW_FIELDS} } }
  }
}`;

const LINE_FIELDS = 'lineNumber serialNumber serialIndicator pendingSerial status';
const ASSIGN = `mutation AssignSerial($saleId: ID!, $lineId: Int!, $serialNumber: String!) {
  assignSerial(saleId: $saleId, lineId: $lineId, serialNumber: $serialNumber, channel: FULFILMENT_REPORT) { lines { ${LINE_FIELDS} } }
}`;
const REMOVE = `mutation RemoveSerial($saleId: ID!, $lineId: Int!, $reason: String) {
  removeSerial(saleId: $saleId, lineId: $lineId, reason: $reason, channel: FULFILMENT_REPORT) { lines { ${LINE_FIELDS} } }
}`;
const FULFIL = `mutation FulfilLines($saleId: ID!, $lineIds: [Int!]) {
  fulfilLines(saleId: $saleId, lineIds: $lineIds, channel: FULFILMENT_REPORT) { lines { lineNumber status } }
}`;
// Outlets are known by id only; the ones with sales are offered in the outlet filter.
const OUTLETS = `query Outlets { salesReport(first: 500) { nodes { sale { outletId } } } }`;

/** The text filters the address keeps (beside `pending`, the page size and the cursors). */
const FILTERS = ['outlet', 'saleType', 'delivery', 'from', 'to'];

function apiFilter(state) {
  return {
    pendingSerialOnly: state.pending,
    outlet: state.outlet || null,
    saleType: state.saleType || null,
    deliveryMode: state.delivery || null,
    from: dayStart(state.from),
    to: dayStart(state.to, 1),
  };
}

/** The file routes' query string for the same filters. */
function exportQuery(state, extra = {}) {
  const params = new URLSearchParams();
  if (state.pending) params.set('pendingSerial', 'true');
  if (state.outlet) params.set('outletId', state.outlet);
  if (state.saleType) params.set('saleType', state.saleType);
  if (state.delivery) params.set('deliveryMode', state.delivery);
  if (state.from) params.set('from', dayStart(state.from));
  if (state.to) params.set('to', dayStart(state.to, 1));
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  const query = params.toString();
  return query ? '?' + query : '';
}

export function indicator(code) {
  const [kind, label] = INDICATORS[code] || INDICATORS.NONE;
  return h('span', { class: `serial-indicator ${kind}` }, label);
}

async function knownOutlets(current) {
  const ids = new Set();
  try {
    const data = await gql(OUTLETS);
    for (const node of data.salesReport.nodes) ids.add(node.sale.outletId);
  } catch {
    // The filter still works with the outlet in the address.
  }
  if (current) ids.add(current);
  return [...ids].sort();
}

export async function render(root, { params }) {
  const state = readFilters(params, FILTERS, ['pending']);
  const mayRecord = can('recordSerials');
  const mayFulfil = can('fulfil');
  const outlets = await knownOutlets(state.outlet);

  // ---- filters ----
  const pending = h('input', { type: 'checkbox', id: 'f-pending', name: 'pending', checked: state.pending });
  const outlet = select({ name: 'outlet' }, [['', 'Any outlet'], ...outlets.map((id) => [id, id])], state.outlet);
  const saleType = select({ name: 'saleType' }, SALE_TYPES, state.saleType);
  const delivery = select({ name: 'delivery' }, DELIVERY_MODES, state.delivery);
  const from = h('input', { type: 'date', name: 'from', value: state.from });
  const to = h('input', { type: 'date', name: 'to', value: state.to });
  const size = select({ name: 'size' }, PAGE_SIZES.map((n) => [n, n]), state.size);
  const filters = h('form', { class: 'card filters', 'aria-label': 'Filters', onsubmit: (event) => {
    event.preventDefault();
    Object.assign(state, {
      pending: pending.checked, outlet: outlet.value, saleType: saleType.value, delivery: delivery.value,
      from: from.value, to: to.value, size: size.value, after: '', trail: [],
    });
    load();
  } },
  field('Outlet', outlet),
  field('Sale type', saleType),
  field('Delivery mode', delivery),
  field('Opened from', from),
  field('Opened to', to),
  field('Rows per page', size),
  h('div', { class: 'field checkbox' }, pending, h('label', { for: 'f-pending' }, 'Show Items Pending Serial Number')),
  h('button', { type: 'submit', class: 'primary' }, 'Apply filters'));

  const problem = h('p', { role: 'alert', class: 'error', id: 'report-error' });
  const results = h('ul', { class: 'fulfil-results', 'aria-live': 'polite', 'aria-label': 'Fulfilment results' });
  const grid = h('div', { class: 'report-grid' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const fulfilButton = mayFulfil
    ? h('button', { type: 'button', class: 'primary', id: 'fulfil-selected', onclick: () => fulfilSelected() }, 'Fulfil selected')
    : null;
  const downloads = h('section', { class: 'card downloads', 'aria-labelledby': 'downloads-title' });

  root.append(
    h('h1', {}, 'Fulfilment report'),
    h('p', { class: 'muted' }, 'Open lines with their serial numbers. Record a serial in the grid (Enter or Save); clear it to remove it. Serials can change freely until the line is fulfilled.'),
    filters,
    problem,
    fulfilButton ? h('div', { class: 'actions' }, fulfilButton) : null,
    results,
    grid,
    pager,
    downloads);

  let rows = [];

  async function load() {
    writeFilters(state, FILTERS, ['pending']);
    problem.textContent = '';
    renderDownloads();
    let connection;
    try {
      const data = await gql(REPORT, { filter: apiFilter(state), first: Number(state.size), after: state.after || null });
      connection = data.fulfilmentReport;
    } catch (error) {
      problem.textContent = describeError(error);
      replace(grid);
      replace(pager);
      return;
    }
    rows = connection.edges.map((edge) => edge.node);
    renderGrid();
    renderPager(connection.pageInfo);
    renderDownloads();
  }

  function renderGrid() {
    const caption = state.pending ? 'Items pending serial number' : 'Open lines';
    if (!rows.length) {
      replace(grid, h('p', { class: 'muted', id: 'no-rows' }, state.pending ? 'No items are pending a serial number.' : 'No open lines match the filters.'));
      return;
    }
    const headers = [
      mayFulfil ? 'Select' : null, 'Invoice', 'Line', 'Product', 'SKU', 'Serial mode', 'Serial status', 'Serial number',
      'Customer', 'Sale type', 'Delivery mode', 'Opened',
    ].filter(Boolean);
    const body = rows.map((row) => gridRow(row));
    replace(grid, h('table', { class: 'report', id: 'fulfilment-grid' },
      h('caption', {}, `${caption} (${rows.length} on this page)`),
      h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, body)));
  }

  function gridRow(row) {
    const { sale, line } = row;
    const name = `${sale.invoiceNumber} line ${line.lineNumber}`;
    const status = h('td', { class: 'serial-status' }, indicator(line.serialIndicator));
    const cells = [];
    if (mayFulfil) {
      cells.push(h('td', {}, h('input', {
        type: 'checkbox', class: 'select-line', 'aria-label': `Select ${name}`,
        dataset: { sale: sale.id, line: String(line.lineNumber), invoice: sale.invoiceNumber },
      })));
    }
    cells.push(
      h('td', {}, sale.invoiceNumber),
      h('td', { class: 'number' }, String(line.lineNumber)),
      h('td', {}, line.productName, line.parentLine ? h('small', { class: 'muted' }, ` (in line ${line.parentLine})`) : null),
      h('td', {}, h('code', {}, line.sku)),
      h('td', {}, MODE_LABELS[line.serialMode] || line.serialMode),
      status,
      h('td', { class: 'serial-cell' }, serialCell(row, name, status)),
      h('td', {}, sale.customer ? sale.customer.name : h('span', { class: 'muted' }, 'Walk-in')),
      h('td', {}, sale.saleTypeLabel),
      h('td', {}, sale.deliveryModeName),
      h('td', {}, when(sale.openedAt)));
    return h('tr', { dataset: { invoice: sale.invoiceNumber, line: String(line.lineNumber) } }, cells);
  }

  function serialCell(row, name, statusCell) {
    const { sale, line } = row;
    if (line.serialMode === 'DISABLED') return h('span', { class: 'muted' }, 'Not tracked');
    if (!mayRecord) return line.serialNumber ? h('code', {}, line.serialNumber) : h('span', { class: 'muted' }, '—');
    const id = `serial-${sale.id}-${line.lineNumber}`;
    const message = h('span', { class: 'error serial-error', id: id + '-error', role: 'alert' });
    const input = h('input', {
      type: 'text', id, class: 'serial-input', value: line.serialNumber || '', autocomplete: 'off', spellcheck: 'false',
      'aria-label': `Serial for ${name}`, 'aria-describedby': id + '-error',
      onkeydown: (event) => {
        if (event.key === 'Enter') {
          event.preventDefault();
          save();
        }
      },
    });
    const button = h('button', { type: 'button', class: 'save-serial', 'aria-label': `Save serial for ${name}`, onclick: () => save() }, 'Save');

    async function save() {
      const value = input.value.trim();
      message.textContent = '';
      input.removeAttribute('aria-invalid');
      if (!value && !line.serialNumber) {
        message.textContent = 'Type or scan a serial number first.';
        return;
      }
      if (value && value === line.serialNumber) return;
      button.disabled = true;
      try {
        const data = value
          ? (await gql(ASSIGN, { saleId: sale.id, lineId: line.lineNumber, serialNumber: value })).assignSerial
          : (await gql(REMOVE, { saleId: sale.id, lineId: line.lineNumber, reason: 'cleared in the fulfilment report' })).removeSerial;
        const changed = data.lines.find((item) => item.lineNumber === line.lineNumber);
        if (changed) Object.assign(line, changed);
        else line.serialNumber = value || null;
        input.value = line.serialNumber || '';
        replace(statusCell, indicator(line.serialIndicator));
        flash(value ? `Serial ${line.serialNumber} recorded on ${name}.` : `Serial removed from ${name}.`);
      } catch (error) {
        message.textContent = describeError(error);
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      } finally {
        button.disabled = false;
      }
    }

    return h('div', { class: 'serial-edit' }, input, button, message);
  }

  function renderPager(pageInfo) {
    const page = state.trail.length + 1;
    const previous = h('button', { type: 'button', disabled: !state.after, onclick: () => {
      state.after = state.trail.pop() || '';
      load();
    } }, 'Previous');
    const next = h('button', { type: 'button', disabled: !pageInfo.hasNextPage, onclick: () => {
      state.trail.push(state.after);
      state.after = pageInfo.endCursor;
      load();
    } }, 'Next');
    replace(pager, previous, h('span', { 'aria-live': 'polite' }, `Page ${page}`), next);
  }

  async function fulfilSelected() {
    const boxes = [...grid.querySelectorAll('input.select-line:checked')];
    replace(results);
    if (!boxes.length) {
      flash('Select the lines to fulfil first.', 'error');
      return;
    }
    const sales = new Map();
    for (const box of boxes) {
      const entry = sales.get(box.dataset.sale) || { invoice: box.dataset.invoice, lines: [] };
      entry.lines.push(Number(box.dataset.line));
      sales.set(box.dataset.sale, entry);
    }
    fulfilButton.disabled = true;
    let failures = 0;
    for (const [saleId, { invoice, lines }] of sales) {
      try {
        await gql(FULFIL, { saleId, lineIds: lines });
        results.append(h('li', { class: 'ok' }, `${invoice}: fulfilled line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}.`));
      } catch (error) {
        failures += 1;
        results.append(h('li', { class: 'error' }, `${invoice} (line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}) not fulfilled: ${describeError(error)}`));
      }
    }
    fulfilButton.disabled = false;
    flash(failures ? `${failures} of ${sales.size} sale(s) could not be fulfilled; see the reasons below.` : `Fulfilled ${boxes.length} line(s).`, failures ? 'error' : 'ok');
    await load();
  }

  function renderDownloads() {
    const report = (ext) => `/exports/fulfilment-report.${ext}${exportQuery(state)}`;
    const pickList = (ext, kind) => `/exports/pick-list.${ext}${exportQuery(state, { kind })}`;
    const onError = (text) => flash(text, 'error');
    const saleOptions = [];
    const seen = new Set();
    for (const { sale } of rows) {
      if (!seen.has(sale.id)) {
        seen.add(sale.id);
        saleOptions.push([sale.id, `${sale.invoiceNumber}${sale.customer ? ' · ' + sale.customer.name : ''}`]);
      }
    }
    const saleSelect = select({ id: 'invoice-sale' }, saleOptions, saleOptions.length ? saleOptions[0][0] : '');
    const invoiceLink = downloadLink('Invoice PDF', saleOptions.length ? `/exports/invoices/${saleOptions[0][0]}.pdf` : '#', onError);
    invoiceLink.id = 'invoice-pdf';
    saleSelect.addEventListener('change', () => invoiceLink.setAttribute('href', `/exports/invoices/${saleSelect.value}.pdf`));
    replace(downloads,
      h('h2', { id: 'downloads-title' }, 'Downloads'),
      h('p', { class: 'muted' }, 'With the filters above. Pick lists and exports include serial numbers; the invoice pick list does not.'),
      h('ul', { class: 'download-list' },
        h('li', {}, 'Fulfilment report: ', downloadLink('CSV', report('csv'), onError), ' · ', downloadLink('XLSX', report('xlsx'), onError)),
        h('li', {}, 'Pick list with serials: ', downloadLink('PDF', pickList('pdf', 'serial'), onError), ' · ',
          downloadLink('CSV', pickList('csv', 'serial'), onError), ' · ', downloadLink('XLSX', pickList('xlsx', 'serial'), onError)),
        h('li', {}, 'Invoice pick list (without serials): ', downloadLink('PDF', pickList('pdf', 'invoice'), onError), ' · ',
          downloadLink('CSV', pickList('csv', 'invoice'), onError), ' · ', downloadLink('XLSX', pickList('xlsx', 'invoice'), onError))),
      saleOptions.length
        ? h('div', { class: 'filters' }, field('Sale', saleSelect), h('p', {}, invoiceLink))
        : h('p', { class: 'muted' }, 'No sale on this page to print an invoice for.'));
    // Give each link an accessible name saying what it downloads.
    for (const item of downloads.querySelectorAll('.download-list li')) {
      const what = item.firstChild.textContent.replace(/:\s*$/, '');
      for (const link of item.querySelectorAll('a')) link.setAttribute('aria-label', `${what} ${link.textContent}`);
    }
  }

  await load();
}
