// The sales report: sold lines (open, fulfilled or returned) with who bought each serial
// and when; filters by "Product Serial Number", product, SKU, outlet and dates (kept in the
// address); paged; the sales detail export (CSV, XLSX) with the same filters; and one
// search box answering "Who bought this serial?".
import { gql, describeError, flash } from '../api.js';
import { h, field, select, replace, when, money } from '../dom.js';
import { PAGE_SIZES, readFilters, writeFilters, dayStart, downloadLink } from '../report-filters.js';

export const title = 'Sales report';

const STATUS_LABELS = { OPEN: 'Open', FULFILLED: 'Fulfilled', RETURNED: 'Returned', CANCELLED: 'Cancelled', REMOVED: 'Removed', ALLOCATED: 'Allocated, not yet fulfilled' };

const REPORT = `query SalesReport($filter: SalesReportFilter, $first: Int, $after: String) {
  salesReport(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      sale { id invoiceNumber saleTypeLabel deliveryModeName outletId openedAt customer { name } }
      line { lineNumber productId sku productName quantity lineTotal { amountMinor currency } serialNumber status fulfilledAt returnedAt }
    } }
  }
}`;

const TRACE = `query WhoBought($serialNumber: String!) {
  serialTrace(serialNumber: $serialNumber) {
    serialNumber productName sku status invoiceNumber lineNumber outletId customer { name }
    allocatedAt fulfilledAt returnedAt
  }
}`;

const OPTIONS = `query SalesOptions {
  products(first: 200) { nodes { id sku name } }
  salesReport(first: 500) { nodes { sale { outletId } } }
}`;

/** The filters the address keeps (beside the page size and the cursors). */
const FILTERS = ['serial', 'product', 'sku', 'outlet', 'from', 'to'];

function apiFilter(state) {
  return {
    serialNumber: state.serial || null,
    productId: state.product || null,
    sku: state.sku || null,
    outlet: state.outlet || null,
    from: dayStart(state.from),
    to: dayStart(state.to, 1),
  };
}

function exportQuery(state) {
  const params = new URLSearchParams();
  if (state.serial) params.set('serialNumber', state.serial);
  if (state.product) params.set('productId', state.product);
  if (state.sku) params.set('sku', state.sku);
  if (state.outlet) params.set('outletId', state.outlet);
  if (state.from) params.set('from', dayStart(state.from));
  if (state.to) params.set('to', dayStart(state.to, 1));
  const query = params.toString();
  return query ? '?' + query : '';
}

export async function render(root, { params }) {
  const state = readFilters(params, FILTERS);
  let products = [];
  const outletIds = new Set();
  try {
    const data = await gql(OPTIONS);
    products = data.products.nodes;
    for (const node of data.salesReport.nodes) outletIds.add(node.sale.outletId);
  } catch {
    // The filters still work from the address.
  }
  if (state.outlet) outletIds.add(state.outlet);

  // ---- "Who bought this serial?" ----
  const whoInput = h('input', { type: 'search', name: 'who', autocomplete: 'off', spellcheck: 'false', required: true });
  const whoAnswer = h('div', { id: 'who-answer', 'aria-live': 'polite' });
  const whoForm = h('form', { class: 'card who-bought', role: 'search', 'aria-label': 'Who bought this serial', onsubmit: (event) => {
    event.preventDefault();
    whoBought(whoInput.value.trim());
  } },
  h('h2', {}, 'Who bought this serial?'),
  h('div', { class: 'filters' },
    field('Serial number', whoInput),
    h('button', { type: 'submit', class: 'primary' }, 'Find buyer')),
  whoAnswer);

  async function whoBought(serial) {
    replace(whoAnswer);
    if (!serial) return;
    try {
      const { serialTrace } = await gql(TRACE, { serialNumber: serial });
      if (!serialTrace.length) {
        replace(whoAnswer, h('p', {}, `No unit with serial ${serial} was ever recorded.`));
        return;
      }
      replace(whoAnswer, h('ul', { class: 'who-list' }, serialTrace.map((unit) => h('li', {},
        h('p', { class: 'who-headline' },
          h('strong', {}, unit.customer ? unit.customer.name : 'Walk-in customer'),
          ` · ${unit.invoiceNumber} line ${unit.lineNumber} · ${unit.productName} (${unit.sku}) · serial `,
          h('code', {}, unit.serialNumber)),
        h('dl', { class: 'who-facts' },
          h('dt', {}, 'Customer'), h('dd', {}, unit.customer ? unit.customer.name : 'Not known'),
          h('dt', {}, 'Invoice'), h('dd', {}, `${unit.invoiceNumber} (line ${unit.lineNumber})`),
          h('dt', {}, unit.fulfilledAt ? 'Sold (fulfilled)' : 'Recorded'), h('dd', {}, when(unit.fulfilledAt || unit.allocatedAt)),
          unit.returnedAt ? [h('dt', {}, 'Returned'), h('dd', {}, when(unit.returnedAt))] : null,
          h('dt', {}, 'Outlet'), h('dd', {}, unit.outletId),
          h('dt', {}, 'Status'), h('dd', {}, STATUS_LABELS[unit.status] || unit.status))))));
    } catch (error) {
      replace(whoAnswer, h('p', { class: 'error', role: 'alert' }, describeError(error)));
    }
  }

  // ---- filters ----
  const serial = h('input', { type: 'text', name: 'serial', value: state.serial, autocomplete: 'off', spellcheck: 'false' });
  const productOptions = products.map((product) => [product.id, `${product.name} (${product.sku})`]);
  if (state.product && !products.some((product) => product.id === state.product)) productOptions.push([state.product, state.product]);
  const product = select({ name: 'product' }, [['', 'Any product'], ...productOptions], state.product);
  const sku = h('input', { type: 'text', name: 'sku', value: state.sku, autocomplete: 'off', spellcheck: 'false' });
  const outlet = select({ name: 'outlet' }, [['', 'Any outlet'], ...[...outletIds].sort().map((id) => [id, id])], state.outlet);
  const from = h('input', { type: 'date', name: 'from', value: state.from });
  const to = h('input', { type: 'date', name: 'to', value: state.to });
  const size = select({ name: 'size' }, PAGE_SIZES.map((n) => [n, n]), state.size);
  const filters = h('form', { class: 'card filters', 'aria-label': 'Filters', onsubmit: (event) => {
    event.preventDefault();
    Object.assign(state, {
      serial: serial.value.trim(), product: product.value, sku: sku.value.trim(), outlet: outlet.value,
      from: from.value, to: to.value, size: size.value, after: '', trail: [],
    });
    load();
  } },
  field('Product Serial Number', serial),
  field('Product', product),
  field('SKU', sku),
  field('Outlet', outlet),
  field('Opened from', from),
  field('Opened to', to),
  field('Rows per page', size),
  h('button', { type: 'submit', class: 'primary' }, 'Apply filters'));

  const problem = h('p', { role: 'alert', class: 'error', id: 'report-error' });
  const grid = h('div', { class: 'report-grid' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const exports = h('section', { class: 'card downloads', 'aria-labelledby': 'exports-title' });

  root.append(
    h('h1', {}, 'Sales report'),
    whoForm,
    filters,
    problem,
    grid,
    pager,
    exports);

  async function load() {
    writeFilters(state, FILTERS);
    problem.textContent = '';
    renderExports();
    let connection;
    try {
      connection = (await gql(REPORT, { filter: apiFilter(state), first: Number(state.size), after: state.after || null })).salesReport;
    } catch (error) {
      problem.textContent = describeError(error);
      replace(grid);
      replace(pager);
      return;
    }
    const rows = connection.edges.map((edge) => edge.node);
    if (!rows.length) {
      replace(grid, h('p', { class: 'muted', id: 'no-rows' }, 'No sold lines match the filters.'));
    } else {
      const headers = ['Opened', 'Invoice', 'Line', 'Customer', 'Outlet', 'Sale type', 'Product', 'SKU', 'Qty', 'Line total',
        'Delivery mode', 'Product Serial Number', 'Status'];
      replace(grid, h('table', { class: 'report', id: 'sales-grid' },
        h('caption', {}, `Sold lines (${rows.length} on this page)`),
        h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
        h('tbody', {}, rows.map(({ sale, line }) => h('tr', { dataset: { invoice: sale.invoiceNumber, line: String(line.lineNumber) } },
          h('td', {}, when(sale.openedAt)),
          h('td', {}, sale.invoiceNumber),
          h('td', { class: 'number' }, String(line.lineNumber)),
          h('td', {}, sale.customer ? sale.customer.name : h('span', { class: 'muted' }, 'Walk-in')),
          h('td', { class: 'outlet' }, sale.outletId),
          h('td', {}, sale.saleTypeLabel),
          h('td', {}, line.productName),
          h('td', {}, h('code', {}, line.sku)),
          h('td', { class: 'number' }, String(line.quantity)),
          h('td', { class: 'number' }, money(line.lineTotal)),
          h('td', {}, sale.deliveryModeName),
          h('td', { class: 'serial' }, line.serialNumber ? h('code', {}, line.serialNumber) : h('span', { class: 'muted' }, '—')),
          h('td', {}, h('span', { class: `badge status-${line.status.toLowerCase()}` }, STATUS_LABELS[line.status] || line.status)))))));
    }
    const page = state.trail.length + 1;
    replace(pager,
      h('button', { type: 'button', disabled: !state.after, onclick: () => {
        state.after = state.trail.pop() || '';
        load();
      } }, 'Previous'),
      h('span', {}, `Page ${page}`),
      h('button', { type: 'button', disabled: !connection.pageInfo.hasNextPage, onclick: () => {
        state.trail.push(state.after);
        state.after = connection.pageInfo.endCursor;
        load();
      } }, 'Next'));
  }

  function renderExports() {
    const onError = (text) => flash(text, 'error');
    const query = exportQuery(state);
    const csv = downloadLink('CSV', `/exports/sales-detail.csv${query}`, onError);
    const xlsx = downloadLink('XLSX', `/exports/sales-detail.xlsx${query}`, onError);
    csv.setAttribute('aria-label', 'Sales detail export CSV');
    xlsx.setAttribute('aria-label', 'Sales detail export XLSX');
    replace(exports,
      h('h2', { id: 'exports-title' }, 'Sales detail export'),
      h('p', { class: 'muted' }, 'With the filters above, serial number, sale type and delivery mode columns included.'),
      h('p', {}, csv, ' · ', xlsx));
  }

  await load();
}
