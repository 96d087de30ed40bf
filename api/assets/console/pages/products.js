// Products: search (SKU or name) with a serial-mode filter, paged; each product's serial
// mode (editable by managers); "Apply Product Edit Setting" over the search result; the
// product CSV mass download and upload (with the API's per-line errors).
import { gql, can, flash, describeError, upload } from '../api.js';
import { h, field, select, replace, when, table } from '../dom.js';

export const title = 'Products';

const PAGE = 25;
const COUNT_PAGE = 200;

const MODES = [['REQUIRED', 'Required'], ['OPTIONAL', 'Optional'], ['DISABLED', 'Disabled']];
const MODE_NAME = Object.fromEntries(MODES);
const SOURCE = {
  MANUAL: 'Edited by hand', CSV_MASS_UPLOAD: 'CSV mass upload', BULK_EDIT: 'Apply Product Edit Setting',
  POS_QUICK_CREATE: 'POS quick create', PO_QUICK_CREATE: 'PO quick create', API: 'API',
};

const PRODUCT_FIELDS = 'id sku name serialMode serialModeSource package { mode } updatedAt';
const SEARCH = `query Products($search: String, $serialMode: SerialMode, $first: Int, $after: String) {
  products(search: $search, serialMode: $serialMode, first: $first, after: $after) {
    nodes { ${PRODUCT_FIELDS} }
    pageInfo { hasNextPage endCursor }
  }
}`;
const COUNT = `query Count($search: String, $serialMode: SerialMode, $first: Int, $after: String) {
  products(search: $search, serialMode: $serialMode, first: $first, after: $after) {
    nodes { serialMode }
    pageInfo { hasNextPage endCursor }
  }
}`;
const UPDATE = `mutation Update($id: ID!, $serialMode: SerialMode!) {
  updateProduct(id: $id, serialMode: $serialMode) { product { ${PRODUCT_FIELDS} } }
}`;
const BULK = `mutation Bulk($matching: ProductSearchInput!, $serialMode: SerialMode!) {
  applyProductEditSetting(matching: $matching, serialMode: $serialMode) {
    updated { id } failed { productId code message }
  }
}`;

export async function render(root, { params }) {
  const manager = can('manageCatalogue');
  let filter = { search: params.get('search') || '', serialMode: params.get('serialMode') || '' };
  const cursors = [null];
  let page = 0;

  const searchInput = h('input', { type: 'search', name: 'search', value: filter.search, autocomplete: 'off', spellcheck: 'false' });
  const modeFilter = select({ name: 'serialMode' }, [['', 'Any mode'], ...MODES], filter.serialMode);
  const form = h('form', { class: 'card', role: 'search', 'aria-label': 'Product search', onsubmit: (event) => {
    event.preventDefault();
    filter = { search: searchInput.value.trim(), serialMode: modeFilter.value };
    const query = new URLSearchParams();
    if (filter.search) query.set('search', filter.search);
    if (filter.serialMode) query.set('serialMode', filter.serialMode);
    history.replaceState(null, '', '/products' + (query.toString() ? '?' + query : ''));
    cursors.length = 1;
    page = 0;
    load();
  } },
  h('div', { class: 'filters' },
    field('Search SKU or name', searchInput),
    field('Serial mode', modeFilter),
    h('button', { type: 'submit', class: 'primary' }, 'Search')));

  const listing = h('div', { class: 'product-list', 'aria-live': 'polite' });
  const pager = h('nav', { class: 'actions pager', 'aria-label': 'Pages of products' });
  const download = h('a', { class: 'download-link', download: '' }, 'Download these results as CSV');
  const downloadAll = h('a', { class: 'download-link', href: '/exports/products.csv', download: '' }, 'Download every product as CSV');

  root.append(
    h('h1', {}, 'Products'),
    h('p', { class: 'muted' }, 'Each product’s serial number mode: Required (recorded before fulfilment), Optional, or Disabled.'),
    form,
    h('section', { 'aria-labelledby': 'results-heading' },
      h('h2', { id: 'results-heading' }, 'Search results'),
      listing,
      pager),
    manager ? bulkSection() : null,
    h('section', { class: 'card', 'aria-labelledby': 'csv-heading' },
      h('h2', { id: 'csv-heading' }, 'Mass upload and download (CSV)'),
      h('p', {}, 'Columns ', h('code', {}, 'SKU, Name, Serial Number Option, Package Mode, Components'),
        '; Serial Number Option is Required, Optional or Disabled (blank keeps the product’s).'),
      h('p', { class: 'actions' }, download, downloadAll),
      manager ? uploadForm() : h('p', { class: 'muted' }, 'Only managers can upload products.')));

  function matching() {
    const input = {};
    if (filter.search) input.search = filter.search;
    if (filter.serialMode) input.serialMode = filter.serialMode;
    return input;
  }

  async function load() {
    const query = new URLSearchParams(matching());
    download.href = '/exports/products.csv' + (query.toString() ? '?' + query : '');
    listing.setAttribute('aria-busy', 'true');
    try {
      const data = await gql(SEARCH, { ...matching(), first: PAGE, after: cursors[page] });
      const { nodes, pageInfo } = data.products;
      cursors[page + 1] = pageInfo.endCursor;
      showPage(nodes);
      replace(pager,
        h('button', { type: 'button', disabled: page === 0, onclick: () => { page -= 1; load(); } }, 'Previous page'),
        h('span', { class: 'muted' }, `Page ${page + 1}`),
        h('button', { type: 'button', disabled: !pageInfo.hasNextPage, onclick: () => { page += 1; load(); } }, 'Next page'));
    } catch (error) {
      replace(listing, h('p', { class: 'error', role: 'alert' }, describeError(error)));
    } finally {
      listing.setAttribute('aria-busy', 'false');
    }
  }

  function showPage(products) {
    if (!products.length) {
      replace(listing, h('p', { class: 'empty' }, 'No product matches.'));
      return;
    }
    replace(listing, table(null, ['SKU', 'Name', 'Serial number mode', 'Mode last set by', 'Package', 'Updated'],
      products.map((product) => h('tr', { dataset: { sku: product.sku } },
        h('td', {}, h('code', {}, product.sku)),
        h('td', {}, product.name),
        h('td', {}, modeCell(product)),
        h('td', {}, SOURCE[product.serialModeSource] || product.serialModeSource),
        h('td', {}, product.package ? (product.package.mode === 'CONSOLIDATED' ? 'Consolidated' : 'Exploded') : ''),
        h('td', {}, h('time', { datetime: product.updatedAt }, when(product.updatedAt))))),
    { class: 'products' }));
  }

  function modeCell(product) {
    if (!manager) return h('span', { class: `badge mode-${product.serialMode.toLowerCase()}` }, MODE_NAME[product.serialMode]);
    const control = select({ 'aria-label': `Serial number mode of ${product.sku}`, name: 'mode-' + product.sku }, MODES, product.serialMode);
    control.addEventListener('change', async () => {
      const wanted = control.value;
      control.disabled = true;
      try {
        const data = await gql(UPDATE, { id: product.id, serialMode: wanted });
        product.serialMode = data.updateProduct.product ? data.updateProduct.product.serialMode : wanted;
        flash(`${product.sku} is now ${MODE_NAME[product.serialMode]}.`);
      } catch (error) {
        control.value = product.serialMode;
        flash(`${product.sku} was not changed: ${describeError(error)}`, 'error');
      } finally {
        control.disabled = false;
      }
    });
    return control;
  }

  function bulkSection() {
    const mode = select({ name: 'bulkMode' }, MODES, 'REQUIRED');
    const outcome = h('div', { class: 'bulk-outcome', 'aria-live': 'polite' });
    const text = h('p', { id: 'bulk-confirm-text' });
    const apply = h('button', { type: 'button', class: 'primary' }, 'Apply');
    const dialog = h('dialog', { 'aria-labelledby': 'bulk-confirm-title', 'aria-describedby': 'bulk-confirm-text' },
      h('h2', { id: 'bulk-confirm-title' }, 'Apply Product Edit Setting?'),
      text,
      h('div', { class: 'actions' }, apply, h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')));
    const start = h('button', { type: 'button', onclick: confirm }, 'Apply Product Edit Setting…');
    let pending = null;

    async function confirm() {
      start.disabled = true;
      replace(outcome);
      try {
        const wanted = mode.value;
        let total = 0;
        let changing = 0;
        let after = null;
        for (;;) {
          const data = await gql(COUNT, { ...matching(), first: COUNT_PAGE, after });
          total += data.products.nodes.length;
          changing += data.products.nodes.filter((node) => node.serialMode !== wanted).length;
          if (!data.products.pageInfo.hasNextPage) break;
          after = data.products.pageInfo.endCursor;
        }
        if (total === 0) {
          replace(outcome, h('p', {}, 'The search result is empty: nothing to change.'));
          return;
        }
        pending = { matching: matching(), serialMode: wanted };
        const scope = filter.search || filter.serialMode
          ? `the ${total} product${total === 1 ? '' : 's'} of this search result`
          : `all ${total} products`;
        text.textContent = `${changing} product${changing === 1 ? '' : 's'} will change: this sets the serial number mode of ${scope} to ${MODE_NAME[wanted]}`
          + (total - changing ? ` (${total - changing} already ${total - changing === 1 ? 'is' : 'are'}).` : '.');
        dialog.showModal();
      } catch (error) {
        replace(outcome, h('p', { class: 'error', role: 'alert' }, describeError(error)));
      } finally {
        start.disabled = false;
      }
    }

    apply.addEventListener('click', async () => {
      apply.disabled = true;
      try {
        const data = await gql(BULK, pending);
        const { updated, failed } = data.applyProductEditSetting;
        dialog.close();
        replace(outcome,
          h('p', { class: failed.length ? 'error' : 'ok' }, `${updated.length} product${updated.length === 1 ? '' : 's'} set to ${MODE_NAME[pending.serialMode]}`,
            failed.length ? `; ${failed.length} could not be changed:` : '.'),
          failed.length ? table('Products not changed', ['Product', 'Code', 'Reason'],
            failed.map((failure) => [h('code', {}, failure.productId), failure.code, failure.message])) : null);
        flash(`Apply Product Edit Setting: ${updated.length} product${updated.length === 1 ? '' : 's'} set to ${MODE_NAME[pending.serialMode]}.`, failed.length ? 'error' : 'ok');
        await load();
      } catch (error) {
        dialog.close();
        replace(outcome, h('p', { class: 'error', role: 'alert' }, describeError(error)));
      } finally {
        apply.disabled = false;
      }
    });

    return h('section', { class: 'card', 'aria-labelledby': 'bulk-heading' },
      h('h2', { id: 'bulk-heading' }, 'Apply Product Edit Setting'),
      h('p', {}, 'Set the serial number mode of every product in the search result above (all its pages).'),
      h('div', { class: 'filters' }, field('Serial number mode to apply', mode), start),
      outcome,
      dialog);
  }

  function uploadForm() {
    const file = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv', required: true });
    const mode = select({ name: 'mode' }, [
      ['all-or-nothing', 'All or nothing: write nothing if any row is bad'],
      ['partial', 'Partial: write the good rows, return the bad ones'],
    ], 'all-or-nothing');
    const outcome = h('div', { class: 'upload-outcome', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
    let rejectedUrl = null;

    async function send(event) {
      event.preventDefault();
      const chosen = file.files && file.files[0];
      if (!chosen) {
        file.reportValidity();
        return;
      }
      submit.disabled = true;
      replace(outcome, h('p', { class: 'muted' }, `Uploading ${chosen.name}…`));
      if (rejectedUrl) URL.revokeObjectURL(rejectedUrl);
      rejectedUrl = null;
      try {
        const answer = await upload('/imports/products?mode=' + encodeURIComponent(mode.value), chosen, 'text/csv');
        const parts = [h('p', { class: 'ok' }, summary(answer))];
        if (answer.errors && answer.errors.length) parts.push(errorTable(answer.errors));
        if (answer.rejectedCsv) {
          rejectedUrl = URL.createObjectURL(new Blob([answer.rejectedCsv], { type: 'text/csv' }));
          parts.push(h('p', {}, h('a', { href: rejectedUrl, download: 'rejected-products.csv' }, 'Download the rejected rows (CSV)')));
        }
        replace(outcome, parts);
        flash(`Upload done: ${summary(answer)}`);
        await load();
      } catch (error) {
        const details = error.details || {};
        replace(outcome,
          h('p', { class: 'error', role: 'alert' }, describeError(error)),
          Array.isArray(details.errors) && details.errors.length ? errorTable(details.errors) : null);
      } finally {
        submit.disabled = false;
      }
    }

    return h('form', { class: 'upload-form', 'aria-labelledby': 'upload-heading', onsubmit: send },
      h('h3', { id: 'upload-heading' }, 'Mass upload'),
      h('div', { class: 'filters' }, field('CSV file', file), field('If a row is bad', mode), submit),
      outcome);
  }

  await load();
}

function summary(answer) {
  return `${answer.rows} row${answer.rows === 1 ? '' : 's'} read: ${answer.created} created, ${answer.updated} updated, `
    + `${answer.unchanged} unchanged, ${answer.rejected} rejected.`;
}

function errorTable(errors) {
  return table('Rows with errors', ['Line', 'Column', 'Error'],
    errors.map((error) => h('tr', { dataset: { line: String(error.line) } },
      h('td', { class: 'number' }, String(error.line)),
      h('td', {}, error.column || '(whole row)'),
      h('td', {}, error.reason))),
    { class: 'upload-errors' });
}
