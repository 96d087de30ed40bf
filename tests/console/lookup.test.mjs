// The serial lookup, products and settings pages, on both backends.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BACKENDS, serverAndBrowser, fetchFromSession, newPage, signIn, seriousViolations, screenshot, graphql } from './harness.mjs';

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** A datetime-local value (local time, seconds) for `date`. */
function localValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * Sells a unit at POS, fulfils it from the warehouse, waits, returns it, and re-issues it
 * on a new invoice with a replacement serial. Resolves to the serials, invoices and the
 * time between fulfilment and return.
 */
async function soldReturnedReissued(server) {
  const tag = Date.now().toString(36).toUpperCase();
  const serial = `QTR${tag}A`;
  const replacement = `QTR${tag}B`;
  const invoice = `INV-T${tag}`;
  const reissueInvoice = `INV-R${tag}`;
  const { product } = await graphql(server, 'manager', '{ product(sku: "IPH-15-128") { id } }');
  const outletId = server.outlets['Sydney CBD'];
  const customer = { id: randomUUID(), name: 'Pat Tester' };
  const opened = await graphql(server, 'pos', `mutation($input: OpenSaleInput!) { openSale(input: $input, channel: POS) { sale { id } } }`,
    { input: { invoiceNumber: invoice, outletId, customer } });
  const saleId = opened.openSale.sale.id;
  const added = await graphql(server, 'pos', `mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, channel: POS) { sale { lines { lineNumber } } } }`,
    { sale: saleId, product: product.id });
  const lineId = added.addItem.sale.lines.at(-1).lineNumber;
  await graphql(server, 'pos', `mutation($sale: ID!, $line: Int!, $serial: String!) { assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial, channel: POS) { cursor } }`,
    { sale: saleId, line: lineId, serial });
  await graphql(server, 'warehouse', `mutation($sale: ID!) { fulfilLines(saleId: $sale, channel: FULFILMENT_REPORT) { cursor } }`, { sale: saleId });
  await sleep(1200);
  const between = new Date();
  await sleep(1200);
  await graphql(server, 'pos', `mutation($sale: ID!, $serial: String!) { refundLines(saleId: $sale, serialNumbers: [$serial], reason: "dead on arrival", channel: POS) { cursor } }`,
    { sale: saleId, serial });
  await graphql(server, 'pos', `mutation($input: OpenSaleInput!, $sale: ID!, $line: Int!, $serial: String!) {
    reissueLine(newSale: $input, returnedSaleId: $sale, returnedLineId: $line, serialNumber: $serial, channel: POS) { sale { id } } }`,
  { input: { invoiceNumber: reissueInvoice, outletId, customer }, sale: saleId, line: lineId, serial: replacement });
  return { serial, replacement, invoice, reissueInvoice, between, outletId };
}

for (const backend of BACKENDS) {
  describe(`serial lookup, products and settings (${backend})`, () => {
    const env = serverAndBrowser(backend, soldReturnedReissued);

    it('the serial timeline lists every step with actor, channel, outlet and invoice, and links the re-issue', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      await page.goto('/serials');
      await page.getByLabel('Serial number').fill(env.state.serial);
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.waitForURL((url) => url.searchParams.get('serial') === env.state.serial);
      const card = page.locator('article.unit');
      await card.waitFor();
      assert.match(await card.locator('.unit-facts').innerText(), /Returned/);
      assert.match(await card.locator('.unit-facts').innerText(), /Pat Tester/);
      const steps = card.locator('ol.timeline > li');
      assert.deepEqual(await steps.evaluateAll((items) => items.map((item) => item.dataset.action)),
        ['ASSIGNED', 'FULFILLED', 'RETURNED', 'REISSUED']);
      const texts = await steps.allInnerTexts();
      assert.match(texts[0], /Serial assigned/);
      assert.match(texts[0], /\(staff\)/);
      assert.match(texts[0], /POS/);
      assert.ok(texts[0].includes(env.state.outletId), 'the outlet is shown');
      assert.ok(texts[0].includes(`${env.state.invoice}, line 1`), texts[0]);
      assert.match(texts[1], /fulfilment report/);
      assert.match(texts[2], /dead on arrival/);
      assert.match(texts[2], /AUD|Refund/);
      assert.ok(texts[3].includes(env.state.reissueInvoice), texts[3]);
      const link = steps.nth(3).getByRole('link', { name: env.state.replacement });
      assert.equal(await link.getAttribute('href'), `/serials?serial=${env.state.replacement}`);
      // Following it shows the replacement, which links back to the returned env.state.
      await link.click();
      await page.waitForURL((url) => url.searchParams.get('serial') === env.state.replacement);
      await page.locator('article.unit ol.timeline').getByRole('link', { name: env.state.serial }).first().waitFor();
      assert.match(await page.locator('article.unit .unit-facts').innerText(), /Fulfilled|Allocated/);
      // Back in history shows the first serial again.
      await page.goBack();
      await page.locator('article.unit h3', { hasText: env.state.serial }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, 'serials');
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('"As of" a time before the return shows the unit as it stood then, and the address keeps it', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'auditor');
      await page.goto(`/serials?serial=${env.state.serial}`);
      await page.locator('article.unit .badge', { hasText: 'Returned' }).first().waitFor();
      await page.getByLabel('As of').fill(localValue(env.state.between));
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.waitForURL((url) => url.searchParams.has('asOf'));
      const asOf = new URL(page.url()).searchParams.get('asOf');
      assert.match(asOf, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
      await page.locator('.as-of-note').waitFor();
      const facts = await page.locator('article.unit .unit-facts').innerText();
      assert.match(facts, /Fulfilled \(with the customer\)/);
      assert.doesNotMatch(facts, /Returned/);
      assert.deepEqual(await page.locator('ol.timeline > li').evaluateAll((items) => items.map((item) => item.dataset.action)),
        ['ASSIGNED', 'FULFILLED']);
      // The address works on its own.
      await page.goto(page.url());
      await page.locator('.as-of-note').waitFor();
      assert.match(await page.locator('article.unit .unit-facts').innerText(), /Fulfilled \(with the customer\)/);
      assert.equal(await page.getByLabel('As of').inputValue(), localValue(new Date(asOf)));
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('typing the first characters of a serial suggests it', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'warehouse');
      await page.goto('/serials');
      await page.getByLabel('Serial number').pressSequentially(env.state.serial.slice(0, 6), { delay: 30 });
      const suggestions = page.getByRole('list', { name: 'Suggested serials' });
      await suggestions.getByRole('link', { name: env.state.serial }).waitFor();
      assert.equal(await page.locator(`#serial-suggestions option[value="${env.state.serial}"]`).count(), 1);
      assert.ok(await suggestions.getByRole('link', { name: env.state.replacement }).isVisible());
      await suggestions.getByRole('link', { name: env.state.serial }).click();
      await page.locator('article.unit h3', { hasText: env.state.serial }).waitFor();
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('an auditor downloads the evidence file; pos and warehouse users see no evidence link', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'auditor');
      await page.goto(`/serials?serial=${env.state.serial}`);
      const link = page.getByRole('link', { name: /Evidence file/ }).first();
      await link.waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const evidence = JSON.parse(readFileSync(await download.path(), 'utf8'));
      assert.equal(typeof evidence.format, 'string');
      assert.ok(JSON.stringify(evidence).includes(env.state.serial), 'the evidence names the serial');
      assert.deepEqual(page.problems, []);
      await context.close();
      for (const role of ['pos', 'warehouse']) {
        const other = await newPage(env.browser, env.server);
        await signIn(other.page, env.server, role);
        await other.page.goto(`/serials?serial=${env.state.serial}`);
        await other.page.locator('article.unit ol.timeline').first().waitFor();
        assert.equal(await other.page.getByRole('link', { name: /Evidence file/ }).count(), 0, role);
        assert.deepEqual(other.page.problems, []);
        await other.context.close();
      }
    });

    it('a manager edits a serial mode, applies the bulk edit and sees a bad CSV line; an auditor sees no edit controls', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      await page.goto('/products');
      const mode = page.getByLabel('Serial number mode of CTL-X');
      await mode.waitFor();
      await mode.selectOption('OPTIONAL');
      await page.locator('.flash-ok', { hasText: 'CTL-X is now Optional' }).waitFor();
      const checked = await graphql(env.server, 'auditor', '{ product(sku: "CTL-X") { serialMode serialModeSource } }');
      assert.deepEqual(checked.product, { serialMode: 'OPTIONAL', serialModeSource: 'MANUAL' });

      // Bulk edit over a search result ("usb" → OPTIONAL): the dialog says how many change.
      const before = await graphql(env.server, 'manager', '{ products(search: "usb", first: 100) { nodes { sku serialMode } } }');
      assert.ok(before.products.nodes.length >= 1);
      await page.getByLabel('Search SKU or name').fill('usb');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL('**/products?search=usb');
      await page.locator('table.products tr[data-sku="USB-C-1M"]').waitFor();
      await page.getByLabel('Serial number mode to apply').selectOption('OPTIONAL');
      await page.getByRole('button', { name: 'Apply Product Edit Setting…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Apply Product Edit Setting?' });
      await dialog.waitFor();
      const changing = before.products.nodes.filter((node) => node.serialMode !== 'OPTIONAL').length;
      assert.match(await dialog.innerText(), new RegExp(`^${changing} products? will change`, 'm'));
      await dialog.getByRole('button', { name: 'Apply' }).click();
      await page.locator('.bulk-outcome', { hasText: `${before.products.nodes.length} product` }).waitFor();
      const after = await graphql(env.server, 'manager', '{ products(search: "usb", first: 100) { nodes { sku serialMode serialModeSource } } }');
      assert.ok(after.products.nodes.every((node) => node.serialMode === 'OPTIONAL' && node.serialModeSource === 'BULK_EDIT'), JSON.stringify(after));
      const others = await graphql(env.server, 'manager', '{ product(sku: "LAP-14-PRO") { serialModeSource } }');
      assert.notEqual(others.product.serialModeSource, 'BULK_EDIT', 'products outside the result are untouched');

      // The CSV download link follows the search.
      assert.equal(await page.getByRole('link', { name: 'Download these results as CSV' }).getAttribute('href'), '/exports/products.csv?search=usb');

      // A CSV with one bad line: refused (all or nothing) with that line's error.
      const directory = mkdtempSync(join(tmpdir(), 'lookup-csv-'));
      const file = join(directory, 'products.csv');
      writeFileSync(file, 'SKU,Name,Serial Number Option,Package Mode,Components\nUPL-1,Uploaded one,Required,,\nUPL-2,Uploaded two,Sometimes,,\n');
      await page.getByLabel('CSV file').setInputFiles(file);
      await page.getByRole('button', { name: 'Upload' }).click();
      const errors = page.locator('table.upload-errors');
      await errors.waitFor();
      const row = errors.locator('tr[data-line="3"]');
      assert.match(await row.innerText(), /Serial Number Option/);
      assert.match(await row.innerText(), /Sometimes/);
      assert.match(await page.locator('.upload-outcome [role="alert"]').innerText(), /VALIDATION/);
      assert.equal((await graphql(env.server, 'manager', '{ product(sku: "UPL-1") { id } }')).product, null, 'nothing was written');
      // Partial mode writes the good row and lists the bad one.
      await page.getByLabel('If a row is bad').selectOption('partial');
      await page.getByRole('button', { name: 'Upload' }).click();
      await page.locator('.upload-outcome p.ok').waitFor();
      await page.locator('table.upload-errors tr[data-line="3"]').waitFor();
      await page.getByRole('link', { name: 'Download the rejected rows (CSV)' }).waitFor();
      assert.equal((await graphql(env.server, 'manager', '{ product(sku: "UPL-1") { serialMode } }')).product.serialMode, 'REQUIRED');
      rmSync(directory, { recursive: true, force: true });
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, 'products');
      assert.deepEqual(page.problems, []);
      await context.close();

      const auditor = await newPage(env.browser, env.server);
      await signIn(auditor.page, env.server, 'auditor');
      await auditor.page.goto('/products');
      await auditor.page.locator('table.products tr[data-sku="CTL-X"]').waitFor();
      assert.equal(await auditor.page.locator('table.products select').count(), 0);
      assert.equal(await auditor.page.getByRole('button', { name: /Apply Product Edit Setting/ }).count(), 0);
      assert.equal(await auditor.page.getByLabel('CSV file').count(), 0);
      assert.match(await auditor.page.locator('tr[data-sku="CTL-X"]').innerText(), /Optional/);
      assert.equal(await auditor.page.getByRole('link', { name: 'Download every product as CSV' }).count(), 1);
      assert.deepEqual(await seriousViolations(auditor.page), []);
      assert.deepEqual(auditor.page.problems, []);
      await auditor.context.close();
    });

    it('a manager saves auto-prompt; an auditor sees disabled checkboxes and a forged update is refused', async () => {
      const { settings: initial } = await graphql(env.server, 'manager', '{ settings { autoPromptSerialNumber } }');
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'manager');
      await page.goto('/settings');
      const box = page.getByLabel('Auto-Prompt for Serial Number for Applicable Products');
      await box.waitFor();
      assert.equal(await box.isChecked(), initial.autoPromptSerialNumber);
      await box.setChecked(!initial.autoPromptSerialNumber);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('.flash-ok', { hasText: 'Settings saved' }).waitFor();
      const { settings } = await graphql(env.server, 'auditor', '{ settings { autoPromptSerialNumber } }');
      assert.equal(settings.autoPromptSerialNumber, !initial.autoPromptSerialNumber);
      assert.ok(await page.getByLabel('Display Serial Number on Invoice').isVisible());
      assert.ok(await page.getByLabel('POS Aggregate Duplicate Order Items').isVisible());
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, 'settings');
      assert.deepEqual(page.problems, []);
      await context.close();

      const auditor = await newPage(env.browser, env.server);
      await signIn(auditor.page, env.server, 'auditor');
      await auditor.page.goto('/settings');
      for (const label of ['Auto-Prompt for Serial Number for Applicable Products', 'Display Serial Number on Invoice', 'POS Aggregate Duplicate Order Items']) {
        const control = auditor.page.getByLabel(label);
        await control.waitFor();
        assert.equal(await control.isDisabled(), true, label);
      }
      assert.equal(await auditor.page.getByRole('button', { name: 'Save' }).count(), 0);
      const { body: forged } = await fetchFromSession(auditor.page,
        'mutation { updateSettings(autoPromptSerialNumber: false) { settings { autoPromptSerialNumber } } }');
      assert.equal(forged.errors[0].extensions.code, 'FORBIDDEN', JSON.stringify(forged));
      assert.deepEqual(await seriousViolations(auditor.page), []);
      assert.deepEqual(auditor.page.problems, []);
      await auditor.context.close();
    });

    it('the serial lookup, products and settings pages have no serious accessibility violation', async () => {
      for (const role of ['manager', 'pos']) {
        const { context, page } = await newPage(env.browser, env.server);
        await signIn(page, env.server, role);
        await page.goto(`/serials?serial=${env.state.serial}`);
        await page.locator('article.unit ol.timeline').first().waitFor();
        assert.deepEqual(await seriousViolations(page), [], `serials as ${role}`);
        await page.goto('/products');
        await page.locator('table.products').waitFor();
        assert.deepEqual(await seriousViolations(page), [], `products as ${role}`);
        await page.goto('/settings');
        await page.getByLabel('Display Serial Number on Invoice').waitFor();
        assert.deepEqual(await seriousViolations(page), [], `settings as ${role}`);
        assert.deepEqual(page.problems, []);
        await context.close();
      }
    });
  });
}
