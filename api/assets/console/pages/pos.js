// The POS order screen: open a sale (or load one by invoice number), add items by SKU,
// search or scan, record serial numbers through the fulfilment-method button and its
// barcode indicator, fulfil, and after fulfilment return/refund the exact unit and
// re-issue it on a new invoice. The server enforces every rule and every role; this page
// only hides the controls a role may not use and shows the API's refusals as it gives them.
import { gql, can, flash, describeError, ApiError } from '../api.js';
import { h, field, select, money, when, table, replace } from '../dom.js';

export const title = 'POS order';

const SALE_FIELDS = `
  id invoiceNumber saleType deliveryMode deliveryModeName outletId openedAt
  customer { customerId name }
  canFulfilNow linesPendingSerial
  lines {
    lineNumber productId sku productName quantity serialMode serialNumber serialIndicator
    pendingSerial status parentLine packageMode addedAt fulfilledAt returnedAt cancelledAt
    unitPrice { amountMinor currency } lineTotal { amountMinor currency } refund { amountMinor currency }
    reissueOf { saleId invoiceNumber lineNumber }
  }`;

const PAYLOAD = `sale { ${SALE_FIELDS} } promptForSerial promptSerialForLines`;

const SALE_TYPES = [['SALE', 'Sale'], ['SPECIAL_ORDER', 'Special order'], ['LAY_BY', 'Lay-by']];
const DELIVERY_MODES = [['CASH_AND_CARRY', 'Cash and Carry'], ['PICKUP', 'Pickup'], ['DELIVERY', 'Delivery'], ['DROP_SHIP', 'Drop ship']];
const SALE_TYPE_LABEL = Object.fromEntries(SALE_TYPES);

/** What each indicator means, as text (never colour alone). */
export function indicatorOf(line) {
  switch (line.serialIndicator) {
    case 'RED': return { cls: 'required-missing', label: 'Serial required', icon: true };
    case 'ORANGE': return { cls: 'optional-missing', label: 'Serial optional', icon: true };
    case 'BLUE': return { cls: 'recorded', label: `Serial recorded: ${line.serialNumber}`, icon: true };
    default: return { cls: 'disabled', label: 'No serial', icon: false };
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** A small barcode icon drawn in currentColor (its colour comes from the CSS class). */
function barcodeIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 22 14');
  svg.setAttribute('width', '22');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  let x = 0;
  for (const width of [2, 1, 1, 2, 1, 3, 1, 1, 2, 1, 2, 1]) {
    const bar = document.createElementNS(SVG, 'rect');
    bar.setAttribute('x', String(x));
    bar.setAttribute('y', '0');
    bar.setAttribute('width', String(width * 0.8));
    bar.setAttribute('height', '14');
    bar.setAttribute('fill', 'currentColor');
    svg.append(bar);
    x += width * 0.8 + 0.9;
  }
  return svg;
}

function serialIndicator(line, onClick) {
  const { cls, label, icon } = indicatorOf(line);
  const indicator = h('span', {
    class: `serial-indicator ${cls}`,
    role: 'img',
    'aria-label': label,
    dataset: { line: String(line.lineNumber) },
  }, icon ? barcodeIcon() : null, h('span', { class: 'serial-indicator-text' }, label));
  if (onClick) {
    indicator.classList.add('clickable');
    indicator.addEventListener('click', onClick);
  }
  return indicator;
}

function badge(status) {
  const text = { OPEN: 'Open', FULFILLED: 'Fulfilled', RETURNED: 'Returned', CANCELLED: 'Cancelled', REMOVED: 'Removed' }[status] || status;
  return h('span', { class: `badge status-${status.toLowerCase()}` }, text);
}

const tracked = (line) => line.serialMode === 'REQUIRED' || line.serialMode === 'OPTIONAL';

export async function render(root, { params }) {
  let sale = null;
  let settings = null;
  let promptQueue = [];

  const saleArea = h('section', { 'aria-labelledby': 'pos-sale-heading', id: 'pos-sale', hidden: true });
  const pageError = h('p', { role: 'alert', class: 'error', id: 'pos-error' });

  // ---- the serial popup ----------------------------------------------------------------
  const serialInput = h('input', { type: 'text', name: 'serial', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters' });
  const serialError = h('p', { role: 'alert', class: 'error', id: 'serial-error' });
  const serialHeading = h('h2', { id: 'serial-dialog-title' }, 'Serial number');
  const serialWhat = h('p', { class: 'muted', id: 'serial-dialog-what' });
  let serialLine = null;
  const serialDialog = h('dialog', { id: 'serial-dialog', 'aria-labelledby': 'serial-dialog-title', 'aria-describedby': 'serial-dialog-what' },
    h('form', { method: 'dialog', onsubmit: (event) => { event.preventDefault(); saveSerial(); } },
      serialHeading,
      serialWhat,
      field('Serial number', serialInput, 'Type it, or scan the barcode (the scanner presses Enter).'),
      serialError,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Save serial'),
        h('button', { type: 'button', onclick: () => closeSerial() }, 'Cancel'))));
  serialDialog.addEventListener('cancel', () => { promptQueue = []; });

  function openSerial(line) {
    serialLine = line;
    serialHeading.textContent = `Serial number for line ${line.lineNumber}`;
    serialWhat.textContent = `${line.sku} · ${line.productName} · serial ${line.serialMode === 'REQUIRED' ? 'required' : 'optional'}`
      + (line.serialNumber ? ` · now ${line.serialNumber}` : '');
    serialInput.value = line.serialNumber || '';
    serialError.textContent = '';
    if (!serialDialog.open) serialDialog.showModal();
    serialInput.focus();
    serialInput.select();
  }

  function closeSerial() {
    promptQueue = [];
    serialDialog.close();
  }

  async function saveSerial() {
    if (!serialLine) return;
    serialError.textContent = '';
    try {
      const data = await gql(`mutation ($saleId: ID!, $lineId: Int!, $serial: String!) {
        assignSerial(saleId: $saleId, lineId: $lineId, serialNumber: $serial, channel: POS) { ${PAYLOAD} } }`,
      { saleId: sale.id, lineId: serialLine.lineNumber, serial: serialInput.value });
      const recorded = serialLine.lineNumber;
      showSale(data.assignSerial.sale);
      flash(`Serial recorded on line ${recorded}.`);
      nextPrompt();
    } catch (error) {
      serialError.textContent = describeError(error);
      serialInput.focus();
      serialInput.select();
    }
  }

  function nextPrompt() {
    while (promptQueue.length) {
      const number = promptQueue.shift();
      const line = sale && sale.lines.find((l) => l.lineNumber === number);
      if (line && line.status === 'OPEN' && !line.serialNumber) {
        openSerial(line);
        return;
      }
    }
    if (serialDialog.open) serialDialog.close();
  }

  // ---- the quantity-split prompt -------------------------------------------------------
  const splitMessage = h('p', { id: 'split-dialog-message' });
  const splitReason = h('p', { class: 'muted', id: 'split-dialog-reason' });
  let splitLine = null;
  const splitDialog = h('dialog', { id: 'split-dialog', 'aria-labelledby': 'split-dialog-title', 'aria-describedby': 'split-dialog-message' },
    h('h2', { id: 'split-dialog-title' }, 'One unit per line'),
    splitMessage,
    splitReason,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', onclick: async () => {
        splitDialog.close();
        if (splitLine) await addProduct({ id: splitLine.productId, sku: splitLine.sku }, 1);
      } }, 'Add as a new line'),
      h('button', { type: 'button', onclick: () => splitDialog.close() }, 'Cancel')));

  function promptSplit(line, error) {
    splitLine = line;
    splitMessage.textContent = `${line.sku} is serial-tracked: each unit has its own line so it can carry its own serial number. `
      + 'Increasing the quantity of a line is not possible; add the item as a new, separate line instead.';
    splitReason.textContent = error ? describeError(error) : '';
    splitDialog.showModal();
  }

  // ---- the re-issue dialog -------------------------------------------------------------
  const reissueInvoice = h('input', { type: 'text', name: 'invoice', autocomplete: 'off', required: true });
  const reissueSerial = h('input', { type: 'text', name: 'serial', autocomplete: 'off', spellcheck: 'false' });
  const reissueError = h('p', { role: 'alert', class: 'error', id: 'reissue-error' });
  const reissueWhat = h('p', { class: 'muted', id: 'reissue-dialog-what' });
  let reissueLine = null;
  const reissueDialog = h('dialog', { id: 'reissue-dialog', 'aria-labelledby': 'reissue-dialog-title', 'aria-describedby': 'reissue-dialog-what' },
    h('form', { onsubmit: (event) => { event.preventDefault(); doReissue(); } },
      h('h2', { id: 'reissue-dialog-title' }, 'Re-issue on a new invoice'),
      reissueWhat,
      field('New invoice number', reissueInvoice),
      field('Serial number of the new unit', reissueSerial, 'Optional: it can be recorded later, before fulfilment.'),
      reissueError,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Re-issue'),
        h('button', { type: 'button', onclick: () => reissueDialog.close() }, 'Cancel'))));

  function openReissue(line) {
    reissueLine = line;
    reissueWhat.textContent = `Returned line ${line.lineNumber} of invoice ${sale.invoiceNumber}: ${line.sku} · ${line.productName}`
      + (line.serialNumber ? ` · serial ${line.serialNumber}` : '');
    reissueInvoice.value = `${sale.invoiceNumber}-R${line.lineNumber}`;
    reissueSerial.value = '';
    reissueError.textContent = '';
    reissueDialog.showModal();
    reissueInvoice.focus();
  }

  async function doReissue() {
    reissueError.textContent = '';
    const newSale = {
      invoiceNumber: reissueInvoice.value.trim(),
      saleType: sale.saleType,
      deliveryMode: sale.deliveryMode,
      outletId: sale.outletId,
      customer: sale.customer ? { id: sale.customer.customerId, name: sale.customer.name } : null,
    };
    try {
      const data = await gql(`mutation ($newSale: OpenSaleInput!, $returnedSaleId: ID!, $returnedLineId: Int!, $serial: String) {
        reissueLine(newSale: $newSale, returnedSaleId: $returnedSaleId, returnedLineId: $returnedLineId, serialNumber: $serial, channel: POS) { ${PAYLOAD} } }`,
      { newSale, returnedSaleId: sale.id, returnedLineId: reissueLine.lineNumber, serial: reissueSerial.value.trim() || null });
      reissueDialog.close();
      const payload = data.reissueLine;
      flash(`Line ${reissueLine.lineNumber} re-issued on invoice ${payload.sale.invoiceNumber}.`);
      showSale(payload.sale, { remember: true });
      prompt(payload);
    } catch (error) {
      reissueError.textContent = describeError(error);
    }
  }

  // ---- opening and loading -------------------------------------------------------------
  const loadInput = h('input', { type: 'text', name: 'invoice', autocomplete: 'off', required: true });
  const loadForm = h('form', { class: 'card', id: 'pos-load', 'aria-labelledby': 'pos-load-heading', onsubmit: (event) => { event.preventDefault(); loadInvoice(loadInput.value); } },
    h('h2', { id: 'pos-load-heading' }, 'Load a sale'),
    h('div', { class: 'filters' },
      field('Invoice number', loadInput),
      h('button', { type: 'submit' }, 'Load')));

  root.append(h('h1', {}, 'POS order'), pageError);
  const top = h('div', { class: 'pos-top' });
  if (can('sell')) top.append(await openSaleForm());
  top.append(loadForm);
  root.append(top, saleArea, serialDialog, splitDialog, reissueDialog);

  gql('{ settings { autoPromptSerialNumber } }').then((data) => { settings = data.settings; if (sale) renderSale(); }).catch(() => {});

  const initial = params.get('invoice');
  if (initial) {
    loadInput.value = initial;
    await loadInvoice(initial);
  }

  async function openSaleForm() {
    const invoice = h('input', { type: 'text', name: 'invoiceNumber', autocomplete: 'off', required: true,
      value: 'POS-' + Date.now().toString(36).toUpperCase() });
    const saleType = select({ name: 'saleType' }, SALE_TYPES, 'SALE');
    const delivery = select({ name: 'deliveryMode' }, DELIVERY_MODES, 'CASH_AND_CARRY');
    const outlets = await knownOutlets();
    const outlet = h('input', { type: 'text', name: 'outletId', autocomplete: 'off', required: true, list: 'pos-outlets',
      value: outlets[0] || '', spellcheck: 'false', class: 'outlet-id' });
    const outletList = h('datalist', { id: 'pos-outlets' }, outlets.map((id) => h('option', { value: id })));
    const customerName = h('input', { type: 'text', name: 'customerName', autocomplete: 'off' });
    const customerId = h('input', { type: 'text', name: 'customerId', autocomplete: 'off' });
    const message = h('p', { role: 'alert', class: 'error', id: 'open-error' });
    return h('form', { class: 'card', id: 'pos-open', 'aria-labelledby': 'pos-open-heading', onsubmit: async (event) => {
      event.preventDefault();
      message.textContent = '';
      const name = customerName.value.trim();
      const input = {
        invoiceNumber: invoice.value.trim(),
        saleType: saleType.value,
        deliveryMode: delivery.value,
        outletId: outlet.value.trim(),
        customer: name ? { id: customerId.value.trim() || newId(), name } : null,
      };
      try {
        const data = await gql(`mutation ($input: OpenSaleInput!) { openSale(input: $input, channel: POS) { ${PAYLOAD} } }`, { input });
        flash(`Sale ${data.openSale.sale.invoiceNumber} opened.`);
        invoice.value = 'POS-' + Date.now().toString(36).toUpperCase();
        showSale(data.openSale.sale, { remember: true });
      } catch (error) {
        message.textContent = describeError(error);
      }
    } },
    h('h2', { id: 'pos-open-heading' }, 'Open a sale'),
    h('div', { class: 'filters' },
      field('Invoice number', invoice),
      field('Sale type', saleType),
      field('Delivery mode', delivery),
      field('Outlet', outlet, outlets.length ? 'The outlets of earlier sales are offered; any outlet id may be typed.' : 'The outlet id.'),
      outletList,
      field('Customer name', customerName),
      field('Customer id', customerId, 'Optional; a new id when left empty.'),
      h('button', { type: 'submit', class: 'primary' }, 'Open sale')),
    message);
  }

  async function loadInvoice(number) {
    pageError.textContent = '';
    try {
      const data = await gql(`query ($n: String!) { saleByInvoice(invoiceNumber: $n) { ${SALE_FIELDS} } }`, { n: number.trim() });
      if (!data.saleByInvoice) {
        pageError.textContent = `No sale has invoice number ${number.trim()}.`;
        return;
      }
      showSale(data.saleByInvoice, { remember: true });
    } catch (error) {
      pageError.textContent = describeError(error);
    }
  }

  function showSale(next, { remember = false } = {}) {
    if (!next) return;
    const changedSale = !sale || sale.id !== next.id;
    sale = next;
    if (remember && changedSale) {
      const url = new URL(location.href);
      url.searchParams.set('invoice', sale.invoiceNumber);
      history.replaceState(null, '', url.pathname + url.search);
      loadInput.value = sale.invoiceNumber;
    }
    renderSale();
  }

  // ---- the sale ------------------------------------------------------------------------
  function renderSale() {
    saleArea.hidden = false;
    const saleError = h('p', { role: 'alert', class: 'error', id: 'sale-error' });
    const lines = sale.lines;
    const openLines = lines.filter((l) => l.status === 'OPEN');
    const parts = [
      h('h2', { id: 'pos-sale-heading' }, `Invoice ${sale.invoiceNumber}`),
      h('dl', { class: 'pos-header' },
        h('div', {}, h('dt', {}, 'Sale type'), h('dd', {}, SALE_TYPE_LABEL[sale.saleType] || sale.saleType)),
        h('div', {}, h('dt', {}, 'Delivery mode'), h('dd', {}, sale.deliveryModeName)),
        h('div', {}, h('dt', {}, 'Outlet'), h('dd', {}, h('code', {}, sale.outletId))),
        h('div', {}, h('dt', {}, 'Customer'), h('dd', {}, sale.customer ? sale.customer.name : '—')),
        h('div', {}, h('dt', {}, 'Opened'), h('dd', {}, when(sale.openedAt))),
        h('div', {}, h('dt', {}, 'Auto-prompt for serial'), h('dd', {}, settings ? (settings.autoPromptSerialNumber ? 'On' : 'Off') : '…'))),
    ];
    if (can('sell')) parts.push(addItemForm());
    parts.push(linesTable(lines));
    if (sale.linesPendingSerial.length) {
      parts.push(h('p', { class: 'pending-note', id: 'pending-note' },
        h('strong', {}, 'Waiting for a serial number: '),
        `line${sale.linesPendingSerial.length > 1 ? 's' : ''} ${sale.linesPendingSerial.join(', ')} (required before fulfilment).`));
    }
    if (can('fulfil') && openLines.length) {
      parts.push(h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', id: 'fulfil-sale', onclick: () => fulfil(null, saleError) }, 'Fulfil sale'),
        h('span', { class: 'muted' }, sale.canFulfilNow ? 'Every open line can be fulfilled now.' : 'Not every open line can be fulfilled yet.')));
    }
    parts.push(saleError);
    const fulfilled = lines.filter((l) => l.status === 'FULFILLED');
    if (can('refund') && fulfilled.length) parts.push(refundForm(fulfilled));
    const returned = lines.filter((l) => l.status === 'RETURNED');
    if (returned.length) parts.push(returnedList(returned));
    replace(saleArea, h('div', { class: 'card' }, parts));
  }

  function addItemForm() {
    const sku = h('input', { type: 'text', name: 'sku', autocomplete: 'off', spellcheck: 'false' });
    const quantity = h('input', { type: 'number', name: 'quantity', min: '1', step: '1', value: '1', class: 'qty' });
    const search = h('input', { type: 'search', name: 'search', autocomplete: 'off' });
    const results = h('div', { class: 'search-results', id: 'product-results' });
    const message = h('p', { role: 'alert', class: 'error', id: 'add-error' });
    const form = h('form', { id: 'pos-add', 'aria-labelledby': 'pos-add-heading', onsubmit: async (event) => {
      event.preventDefault();
      message.textContent = '';
      const code = sku.value.trim();
      if (!code) return;
      try {
        const data = await gql('query ($sku: String!) { product(sku: $sku) { id sku name serialMode } }', { sku: code });
        if (!data.product) {
          message.textContent = `No product has SKU ${code}.`;
          sku.select();
          return;
        }
        sku.value = '';
        await addProduct(data.product, Number(quantity.value) || 1, message);
      } catch (error) {
        message.textContent = describeError(error);
      }
    } },
    h('h3', { id: 'pos-add-heading' }, 'Add items'),
    h('div', { class: 'filters' },
      field('SKU', sku, 'Type it, or scan the barcode (the scanner presses Enter).'),
      field('Quantity', quantity),
      h('button', { type: 'submit' }, 'Add item')),
    message);
    const searchForm = h('form', { role: 'search', 'aria-label': 'Product search', onsubmit: async (event) => {
      event.preventDefault();
      message.textContent = '';
      try {
        const data = await gql('query ($s: String) { products(search: $s, first: 20) { nodes { id sku name serialMode package { mode } } } }', { s: search.value.trim() });
        const nodes = data.products.nodes;
        replace(results, nodes.length
          ? table(`Products matching “${search.value.trim()}”`, ['SKU', 'Name', 'Serial number', ''], nodes.map((p) => [
            h('code', {}, p.sku),
            p.name + (p.package ? ` (package, ${p.package.mode.toLowerCase()})` : ''),
            { REQUIRED: 'Required', OPTIONAL: 'Optional', DISABLED: 'Disabled' }[p.serialMode],
            h('button', { type: 'button', 'aria-label': `Add ${p.sku}`, onclick: () => addProduct(p, Number(quantity.value) || 1, message) }, 'Add'),
          ]), { class: 'compact' })
          : h('p', { class: 'muted' }, 'No product matches.'));
      } catch (error) {
        message.textContent = describeError(error);
      }
    } },
    h('div', { class: 'filters' },
      field('Search products', search),
      h('button', { type: 'submit' }, 'Search')));
    return h('div', { class: 'pos-add' }, form, searchForm, results);
  }

  async function addProduct(product, quantity, messageArea) {
    try {
      const data = await gql(`mutation ($saleId: ID!, $productId: ID!, $quantity: Int!) {
        addItem(saleId: $saleId, productId: $productId, quantity: $quantity, channel: POS) { ${PAYLOAD} } }`,
      { saleId: sale.id, productId: product.id, quantity });
      const payload = data.addItem;
      showSale(payload.sale);
      flash(`${product.sku} added.`);
      prompt(payload);
      if (!serialDialog.open) {
        const skuField = saleArea.querySelector('input[name="sku"]');
        if (skuField) skuField.focus();
      }
    } catch (error) {
      const text = describeError(error);
      if (messageArea && messageArea.isConnected) messageArea.textContent = text;
      else flash(text, 'error');
    }
  }

  function prompt(payload) {
    if (payload.promptForSerial && payload.promptSerialForLines.length && can('recordSerials')) {
      promptQueue = [...payload.promptSerialForLines];
      nextPrompt();
    }
  }

  function linesTable(lines) {
    if (!lines.length) return h('p', { class: 'muted' }, 'No items on this sale yet.');
    const rows = lines.map((line) => {
      const canRecord = can('recordSerials') && line.status === 'OPEN' && tracked(line);
      const methodText = sale.deliveryModeName;
      const method = canRecord
        ? h('button', { type: 'button', class: 'fulfilment-method', 'aria-label': `${methodText}: serial number of line ${line.lineNumber}`,
          onclick: () => openSerial(line) }, methodText)
        : h('span', { class: 'fulfilment-method static' }, methodText);
      const indicator = serialIndicator(line, canRecord ? () => openSerial(line) : null);
      const quantityCell = can('sell') && line.status === 'OPEN' && !line.parentLine
        ? h('input', { type: 'number', min: '1', step: '1', value: String(line.quantity), class: 'qty',
          'aria-label': `Quantity of line ${line.lineNumber}`,
          onchange: (event) => changeQuantity(line, event.target) })
        : String(line.quantity);
      const product = h('div', {},
        h('div', {}, line.productName),
        line.packageMode ? h('div', { class: 'muted small' }, `Package (${line.packageMode.toLowerCase()})`) : null,
        line.parentLine ? h('div', { class: 'muted small' }, `Component of line ${line.parentLine}`) : null,
        line.reissueOf ? h('div', { class: 'small' }, 'Re-issue of ',
          h('a', { href: `/pos?invoice=${encodeURIComponent(line.reissueOf.invoiceNumber)}` }, `${line.reissueOf.invoiceNumber} line ${line.reissueOf.lineNumber}`)) : null,
        line.status === 'RETURNED' && line.refund ? h('div', { class: 'small' }, `Refunded ${money(line.refund)}`) : null);
      const actions = [];
      if (line.status === 'OPEN') {
        if (can('recordSerials') && line.serialNumber) {
          actions.push(h('button', { type: 'button', 'aria-label': `Remove serial of line ${line.lineNumber}`, onclick: () => removeSerial(line) }, 'Remove serial'));
        }
        if (can('fulfil')) {
          actions.push(h('button', { type: 'button', 'aria-label': `Fulfil line ${line.lineNumber}`, onclick: () => fulfil([line.lineNumber], saleArea.querySelector('#sale-error')) }, 'Fulfil'));
        }
        if (can('sell') && !line.parentLine) {
          actions.push(h('button', { type: 'button', 'aria-label': `Remove line ${line.lineNumber}`, onclick: () => removeLine(line) }, 'Remove'));
        }
      }
      return h('tr', { class: line.parentLine ? 'component' : null, dataset: { line: String(line.lineNumber), status: line.status } },
        h('td', { class: 'method' }, h('div', { class: 'method-cell' }, method, indicator)),
        h('td', { class: 'number' }, String(line.lineNumber)),
        h('td', {}, h('code', {}, line.sku)),
        h('td', {}, product),
        h('td', { class: 'number' }, quantityCell),
        h('td', { class: 'number' }, money(line.unitPrice)),
        h('td', { class: 'number' }, money(line.lineTotal)),
        h('td', {}, badge(line.status)),
        h('td', {}, actions.length ? h('div', { class: 'line-actions' }, actions) : ''));
    });
    return table('Order items', ['Fulfilment / serial', 'Line', 'SKU', 'Product', 'Qty', 'Unit price', 'Total', 'Status', 'Actions'], rows, { class: 'pos-lines', id: 'pos-lines' });
  }

  async function changeQuantity(line, input) {
    const quantity = Number(input.value);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity === line.quantity) {
      input.value = String(line.quantity);
      return;
    }
    try {
      const data = await gql(`mutation ($saleId: ID!, $lineId: Int!, $quantity: Int!) {
        setLineQuantity(saleId: $saleId, lineId: $lineId, quantity: $quantity, channel: POS) { ${PAYLOAD} } }`,
      { saleId: sale.id, lineId: line.lineNumber, quantity });
      showSale(data.setLineQuantity.sale);
      flash(`Line ${line.lineNumber} now has ${quantity}.`);
    } catch (error) {
      input.value = String(line.quantity);
      if (error instanceof ApiError && error.code === 'QUANTITY_SPLIT_REQUIRED') promptSplit(line, error);
      else flash(describeError(error), 'error');
    }
  }

  async function removeSerial(line) {
    try {
      const data = await gql(`mutation ($saleId: ID!, $lineId: Int!) {
        removeSerial(saleId: $saleId, lineId: $lineId, reason: "corrected at POS", channel: POS) { ${PAYLOAD} } }`,
      { saleId: sale.id, lineId: line.lineNumber });
      showSale(data.removeSerial.sale);
      flash(`Serial ${line.serialNumber} removed from line ${line.lineNumber}.`);
    } catch (error) {
      flash(describeError(error), 'error');
    }
  }

  async function removeLine(line) {
    try {
      const data = await gql(`mutation ($saleId: ID!, $lineId: Int!) {
        removeLine(saleId: $saleId, lineId: $lineId, channel: POS) { ${PAYLOAD} } }`,
      { saleId: sale.id, lineId: line.lineNumber });
      showSale(data.removeLine.sale);
      flash(`Line ${line.lineNumber} removed.`);
    } catch (error) {
      flash(describeError(error), 'error');
    }
  }

  async function fulfil(lineIds, errorArea) {
    try {
      const data = await gql(`mutation ($saleId: ID!, $lineIds: [Int!]) {
        fulfilLines(saleId: $saleId, lineIds: $lineIds, channel: POS) { ${PAYLOAD} } }`,
      { saleId: sale.id, lineIds });
      showSale(data.fulfilLines.sale);
      flash(lineIds ? `Line ${lineIds.join(', ')} fulfilled.` : `Sale ${sale.invoiceNumber} fulfilled.`);
    } catch (error) {
      const text = `Cannot fulfil: ${describeError(error)}`;
      const area = errorArea && errorArea.isConnected ? errorArea : saleArea.querySelector('#sale-error');
      if (area) area.textContent = text;
      flash(text, 'error');
    }
  }

  function refundForm(fulfilled) {
    const boxes = fulfilled.map((line) => h('input', { type: 'checkbox', name: 'refund', value: String(line.lineNumber),
      id: `refund-line-${line.lineNumber}`,
      'aria-label': `Return line ${line.lineNumber}: ${line.sku}${line.serialNumber ? ', serial ' + line.serialNumber : ', no serial'}` }));
    const scanned = h('input', { type: 'text', name: 'refundSerial', autocomplete: 'off', spellcheck: 'false' });
    const reason = h('input', { type: 'text', name: 'reason', autocomplete: 'off' });
    const message = h('p', { role: 'alert', class: 'error', id: 'refund-error' });
    return h('form', { class: 'pos-refund', 'aria-labelledby': 'refund-heading', onsubmit: async (event) => {
      event.preventDefault();
      message.textContent = '';
      const lineIds = boxes.filter((box) => box.checked).map((box) => Number(box.value));
      const serialNumbers = scanned.value.trim() ? [scanned.value.trim()] : [];
      if (!lineIds.length && !serialNumbers.length) {
        message.textContent = 'Choose the unit being returned (or scan its serial).';
        return;
      }
      try {
        const data = await gql(`mutation ($saleId: ID!, $lineIds: [Int!], $serials: [String!], $reason: String) {
          refundLines(saleId: $saleId, lineIds: $lineIds, serialNumbers: $serials, reason: $reason, channel: POS) { ${PAYLOAD} } }`,
        { saleId: sale.id, lineIds: lineIds.length ? lineIds : null, serials: serialNumbers.length ? serialNumbers : null, reason: reason.value.trim() || null });
        showSale(data.refundLines.sale);
        flash('Returned and refunded.');
      } catch (error) {
        message.textContent = describeError(error);
      }
    } },
    h('h3', { id: 'refund-heading' }, 'Return and refund'),
    h('p', { class: 'muted' }, 'Choose the exact unit coming back: every fulfilled unit is listed with its serial number.'),
    table('Fulfilled units', ['Return', 'Line', 'SKU', 'Product', 'Serial number', 'Fulfilled', 'Total'], fulfilled.map((line, index) => [
      boxes[index],
      String(line.lineNumber),
      h('code', {}, line.sku),
      line.productName,
      line.serialNumber ? h('code', {}, line.serialNumber) : h('span', { class: 'muted' }, 'none'),
      when(line.fulfilledAt),
      money(line.lineTotal),
    ]), { class: 'compact', id: 'refund-units' }),
    h('div', { class: 'filters' },
      field('Or scan the returned unit’s serial', scanned),
      field('Reason', reason),
      h('button', { type: 'submit', class: 'danger' }, 'Refund selected units')),
    message);
  }

  function returnedList(returned) {
    const mayReissue = can('refund');
    return h('div', { class: 'pos-returned' },
      h('h3', {}, 'Returned units'),
      table('Returned units', ['Line', 'SKU', 'Serial number', 'Returned', 'Refund', mayReissue ? 'Re-issue' : null].filter(Boolean), returned.map((line) => [
        String(line.lineNumber),
        h('code', {}, line.sku),
        line.serialNumber ? h('code', {}, line.serialNumber) : h('span', { class: 'muted' }, 'none'),
        when(line.returnedAt),
        money(line.refund),
        mayReissue ? h('button', { type: 'button', 'aria-label': `Re-issue line ${line.lineNumber} on a new invoice`, onclick: () => openReissue(line) }, 'Re-issue on a new invoice') : null,
      ].filter((cell) => cell !== null)), { class: 'compact', id: 'returned-units' }));
  }

}

async function knownOutlets() {
  const seen = new Set();
  try {
    const data = await gql('{ salesReport(first: 100) { nodes { sale { outletId } } } fulfilmentReport(first: 100) { nodes { sale { outletId } } } }');
    for (const node of [...data.salesReport.nodes, ...data.fulfilmentReport.nodes]) seen.add(node.sale.outletId);
  } catch {
    // The outlet can still be typed.
  }
  return [...seen].sort();
}

function newId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return 'cust-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}
