// The POS order screen (/pos), on both backends: serial indicators, the serial popup (typed
// or scanned), auto-prompt, the quantity split, fulfilment refused while a REQUIRED serial
// is missing, removal and re-entry, refund of the exact unit and re-issue, the auditor's
// read-only view, and accessibility.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, serverAndBrowser, fetchFromSession, newPage, signIn, seriousViolations, screenshot, graphql } from './harness.mjs';

const SALE = `id invoiceNumber lines { lineNumber sku status serialNumber serialIndicator reissueOf { invoiceNumber lineNumber } }`;

for (const backend of BACKENDS) {
  describe(`POS order screen (${backend})`, () => {
    const env = serverAndBrowser(backend);
    let counter = 0;
    const invoice = (name) => `POS-${name}-${++counter}`;


    const setAutoPrompt = (on) => graphql(env.server, 'manager',
      'mutation ($on: Boolean!) { updateSettings(autoPromptSerialNumber: $on) { settings { autoPromptSerialNumber } } }', { on });
    const saleByInvoice = async (number) =>
      (await graphql(env.server, 'manager', `query ($n: String!) { saleByInvoice(invoiceNumber: $n) { ${SALE} } }`, { n: number })).saleByInvoice;

    /** Signs in as pos and opens a new sale through the page's "Open a sale" form. */
    async function posWithNewSale(name) {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'pos');
      await page.goto('/pos');
      const number = invoice(name);
      const form = page.locator('#pos-open');
      await form.getByLabel('Invoice number').fill(number);
      await form.getByLabel('Sale type').selectOption('SALE');
      await form.getByLabel('Delivery mode').selectOption('CASH_AND_CARRY');
      assert.equal(await form.getByLabel('Outlet').inputValue() !== '', true, 'an outlet is offered');
      await form.getByLabel('Customer name').fill('Pat Customer');
      await form.getByRole('button', { name: 'Open sale' }).click();
      await page.getByRole('heading', { name: `Invoice ${number}` }).waitFor();
      await page.waitForURL((url) => url.searchParams.get('invoice') === number);
      return { context, page, number };
    }

    /** Adds `sku` through the SKU field, as typed (or scanned) then Enter. */
    async function addSku(page, sku, quantity = 1) {
      const before = await page.locator('#pos-lines tbody tr').count();
      await page.getByLabel('Quantity', { exact: true }).fill(String(quantity));
      const skuField = page.getByLabel('SKU', { exact: true });
      await skuField.fill(sku);
      await skuField.press('Enter');
      await page.waitForFunction((count) => document.querySelectorAll('#pos-lines tbody tr').length > count, before);
    }

    const row = (page, n) => page.locator(`#pos-lines tr[data-line="${n}"]`);
    const indicator = (page, n) => row(page, n).locator('.serial-indicator');

    async function expectIndicator(page, n, cls, label) {
      await row(page, n).locator(`.serial-indicator.${cls}`).waitFor();
      const element = indicator(page, n);
      assert.equal(await element.getAttribute('class'), `serial-indicator ${cls}${cls === 'disabled' ? '' : ' clickable'}`.trim());
      assert.equal(await element.getAttribute('aria-label'), label);
      assert.ok((await element.innerText()).includes(label), 'the label is visible text too');
    }

    const serialDialog = (page) => page.getByRole('dialog', { name: /Serial number for line/ });

    /** Records `serial` on line `n` through the fulfilment-method button and the popup. */
    async function recordSerial(page, n, serial) {
      await row(page, n).locator('button.fulfilment-method').click();
      await serialDialog(page).waitFor();
      await page.getByLabel('Serial number', { exact: true }).fill(serial);
      await page.getByRole('button', { name: 'Save serial' }).click();
      await row(page, n).locator(`.serial-indicator.recorded[aria-label="Serial recorded: ${serial}"]`).waitFor();
      await serialDialog(page).waitFor({ state: 'hidden' });
    }

    it('shows each line\'s serial indicator below its fulfilment-method button: colour class, visible label and accessible name', async () => {
      await setAutoPrompt(false);
      const { context, page } = await posWithNewSale('indicators');
      await addSku(page, 'IPH-15-128');
      await addSku(page, 'LAP-14-PRO');
      await addSku(page, 'USB-C-1M');
      await addSku(page, 'MON-27-4K');
      await expectIndicator(page, 1, 'required-missing', 'Serial required');
      await expectIndicator(page, 2, 'optional-missing', 'Serial optional');
      await expectIndicator(page, 3, 'disabled', 'No serial');
      assert.equal(await indicator(page, 3).locator('svg').count(), 0, 'no barcode when serials are disabled');
      assert.equal(await indicator(page, 1).locator('svg').count(), 1, 'a barcode icon');
      await recordSerial(page, 4, 'MON-IND-0001');
      await expectIndicator(page, 4, 'recorded', 'Serial recorded: MON-IND-0001');
      // By role and name, as assistive technology finds them.
      await page.getByRole('img', { name: 'Serial required' }).waitFor();
      await page.getByRole('img', { name: 'Serial optional' }).waitFor();
      await page.getByRole('img', { name: 'Serial recorded: MON-IND-0001' }).waitFor();
      // The indicator sits below the fulfilment-method button.
      const button = await row(page, 1).locator('button.fulfilment-method').boundingBox();
      const icon = await indicator(page, 1).boundingBox();
      assert.ok(icon.y >= button.y + button.height - 1, 'the indicator is below the button');
      // Distinct colours (computed from the CSS classes, currentColor on the icon).
      const colours = await page.evaluate(() => [...document.querySelectorAll('#pos-lines .serial-indicator svg')]
        .map((svg) => getComputedStyle(svg).color));
      assert.equal(new Set(colours).size, 3, `red, orange and blue: ${colours}`);
      await screenshot(page, 'pos');
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('records a scanned serial (keystrokes then Enter) in the popup and the line turns blue; a refusal is shown in the popup', async () => {
      await setAutoPrompt(false);
      const { context, page } = await posWithNewSale('scan');
      await addSku(page, 'IPH-15-128');
      await row(page, 1).locator('button.fulfilment-method').click();
      await serialDialog(page).waitFor();
      // A serial already live on another invoice is refused, with the API's text and code.
      await page.keyboard.type('F2LXK1A2B3C4');
      await page.keyboard.press('Enter');
      await page.locator('#serial-error').filter({ hasText: 'SERIAL_ALREADY_ASSIGNED' }).waitFor();
      assert.match(await page.locator('#serial-error').innerText(), /INV-1001/);
      await expectIndicator(page, 1, 'required-missing', 'Serial required');
      // The scanner types into the focused field and presses Enter.
      await page.getByLabel('Serial number', { exact: true }).fill('');
      await page.keyboard.type('SCAN-0000777');
      await page.keyboard.press('Enter');
      await serialDialog(page).waitFor({ state: 'hidden' });
      await expectIndicator(page, 1, 'recorded', 'Serial recorded: SCAN-0000777');
      // The indicator opens the popup too; an invalid serial is refused with its reason.
      await indicator(page, 1).click();
      await serialDialog(page).waitFor();
      await page.getByLabel('Serial number', { exact: true }).fill('BAD SERIAL');
      await page.keyboard.press('Enter');
      await page.locator('#serial-error').filter({ hasText: 'INVALID_SERIAL' }).waitFor();
      await screenshot(page, 'pos-serial-popup');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await expectIndicator(page, 1, 'recorded', 'Serial recorded: SCAN-0000777');
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('auto-prompt on opens the popup when a REQUIRED item is added, off does not, and OPTIONAL never prompts', async () => {
      await setAutoPrompt(true);
      const { context, page } = await posWithNewSale('prompt');
      await addSku(page, 'IPH-15-128');
      await serialDialog(page).waitFor();
      assert.match(await serialDialog(page).innerText(), /line 1/);
      await page.keyboard.type('PROMPT-0001');
      await page.keyboard.press('Enter');
      await expectIndicator(page, 1, 'recorded', 'Serial recorded: PROMPT-0001');
      await addSku(page, 'LAP-14-PRO');
      await addSku(page, 'USB-C-1M');
      await page.waitForTimeout(300);
      assert.equal(await serialDialog(page).isVisible(), false, 'no prompt for OPTIONAL or DISABLED');
      await setAutoPrompt(false);
      await page.reload();
      await page.getByRole('heading', { name: /^Invoice / }).waitFor();
      await addSku(page, 'MON-27-4K');
      await page.waitForTimeout(300);
      assert.equal(await serialDialog(page).isVisible(), false, 'no prompt when auto-prompt is off');
      await expectIndicator(page, 4, 'required-missing', 'Serial required');
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('splits 2 units of a REQUIRED product into 2 lines, and raising a tracked line\'s quantity shows the one-unit-per-line prompt', async () => {
      await setAutoPrompt(false);
      const { context, page, number } = await posWithNewSale('split');
      await addSku(page, 'IPH-15-128', 2);
      await page.waitForFunction(() => document.querySelectorAll('#pos-lines tbody tr').length === 2);
      for (const n of [1, 2]) {
        await expectIndicator(page, n, 'required-missing', 'Serial required');
        assert.equal(await page.getByLabel(`Quantity of line ${n}`).inputValue(), '1');
      }
      const quantity = page.getByLabel('Quantity of line 1');
      await quantity.fill('2');
      await quantity.dispatchEvent('change');
      const prompt = page.getByRole('dialog', { name: 'One unit per line' });
      await prompt.waitFor();
      assert.match(await prompt.innerText(), /new, separate line/);
      assert.match(await prompt.innerText(), /QUANTITY_SPLIT_REQUIRED/);
      assert.equal(await quantity.inputValue(), '1');
      await prompt.getByRole('button', { name: 'Add as a new line' }).click();
      await row(page, 3).waitFor();
      await expectIndicator(page, 3, 'required-missing', 'Serial required');
      const sale = await saleByInvoice(number);
      assert.deepEqual(sale.lines.map((l) => l.sku), ['IPH-15-128', 'IPH-15-128', 'IPH-15-128']);
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('refuses fulfilment with the API\'s reason while a REQUIRED serial is missing, and fulfils once it is recorded', async () => {
      await setAutoPrompt(false);
      const { context, page, number } = await posWithNewSale('fulfil');
      await addSku(page, 'IPH-15-128');
      await addSku(page, 'LAP-14-PRO');
      await page.getByText('Waiting for a serial number').waitFor();
      await page.getByRole('button', { name: 'Fulfil sale' }).click();
      await page.locator('#sale-error').filter({ hasText: 'SERIAL_REQUIRED' }).waitFor();
      assert.match(await page.locator('#sale-error').innerText(), /line.*1.*serial number recorded before fulfilment/);
      assert.equal((await saleByInvoice(number)).lines[0].status, 'OPEN');
      await recordSerial(page, 1, 'FUL-0000001');
      await page.getByRole('button', { name: 'Fulfil sale' }).click();
      await row(page, 1).locator('.badge', { hasText: 'Fulfilled' }).waitFor();
      await row(page, 2).locator('.badge', { hasText: 'Fulfilled' }).waitFor();
      assert.deepEqual((await saleByInvoice(number)).lines.map((l) => l.status), ['FULFILLED', 'FULFILLED']);
      // No serial entry on a fulfilled line.
      assert.equal(await row(page, 1).locator('button.fulfilment-method').count(), 0);
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('removes and re-enters a serial before fulfilment; after it, refunds the exact unit and re-issues it on a new invoice', async () => {
      await setAutoPrompt(false);
      const { context, page, number } = await posWithNewSale('refund');
      await addSku(page, 'IPH-15-128', 2);
      await recordSerial(page, 1, 'RF-UNIT-0001');
      await recordSerial(page, 2, 'RF-WRONG-002');
      await page.getByRole('button', { name: 'Remove serial of line 2' }).click();
      await expectIndicator(page, 2, 'required-missing', 'Serial required');
      await recordSerial(page, 2, 'RF-UNIT-0002');
      await page.getByRole('button', { name: 'Fulfil sale' }).click();
      await row(page, 2).locator('.badge', { hasText: 'Fulfilled' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Remove serial of line 2' }).count(), 0, 'no serial changes after fulfilment');
      // Every fulfilled unit is listed with its serial; return the second one only.
      const units = page.locator('#refund-units');
      assert.match(await units.innerText(), /RF-UNIT-0001/);
      assert.match(await units.innerText(), /RF-UNIT-0002/);
      await page.getByLabel('Return line 2: IPH-15-128, serial RF-UNIT-0002').check();
      await page.getByLabel('Reason', { exact: true }).fill('faulty screen');
      await page.getByRole('button', { name: 'Refund selected units' }).click();
      await row(page, 2).locator('.badge', { hasText: 'Returned' }).waitFor();
      assert.equal(await row(page, 1).locator('.badge').innerText(), 'Fulfilled');
      assert.deepEqual((await saleByInvoice(number)).lines.map((l) => [l.status, l.serialNumber]),
        [['FULFILLED', 'RF-UNIT-0001'], ['RETURNED', 'RF-UNIT-0002']]);
      // Re-issue it on a new invoice, with the new unit's serial.
      await page.getByRole('button', { name: 'Re-issue line 2 on a new invoice' }).click();
      const dialog = page.getByRole('dialog', { name: 'Re-issue on a new invoice' });
      await dialog.waitFor();
      const reissued = `${number}-NEW`;
      await dialog.getByLabel('New invoice number').fill(reissued);
      await dialog.getByLabel('Serial number of the new unit').fill('RF-UNIT-0003');
      await dialog.getByRole('button', { name: 'Re-issue' }).click();
      await page.getByRole('heading', { name: `Invoice ${reissued}` }).waitFor();
      await page.waitForURL((url) => url.searchParams.get('invoice') === reissued);
      await expectIndicator(page, 1, 'recorded', 'Serial recorded: RF-UNIT-0003');
      await row(page, 1).getByRole('link', { name: `${number} line 2` }).waitFor();
      const sale = await saleByInvoice(reissued);
      assert.deepEqual(sale.lines[0].reissueOf, { invoiceNumber: number, lineNumber: 2 });
      // The address keeps the sale on reload.
      await page.reload();
      await page.getByRole('heading', { name: `Invoice ${reissued}` }).waitFor();
      assert.deepEqual(page.problems, []);
      await context.close();
    });

    it('shows an auditor the sale with no write controls, and a forged write from the auditor\'s session is refused with FORBIDDEN', async () => {
      const { context, page } = await newPage(env.browser, env.server);
      await signIn(page, env.server, 'auditor');
      await page.goto('/pos?invoice=INV-1001');
      await page.getByRole('heading', { name: 'Invoice INV-1001' }).waitFor();
      await expectIndicatorReadOnly(page, 1, 'recorded', 'Serial recorded: F2LXK1A2B3C4');
      await expectIndicatorReadOnly(page, 2, 'required-missing', 'Serial required');
      assert.equal(await page.locator('#pos-open').count(), 0, 'no "Open a sale"');
      assert.equal(await page.getByLabel('SKU', { exact: true }).count(), 0, 'no adding items');
      assert.equal(await page.locator('#pos-sale button').count(), 0, 'no buttons on the sale');
      assert.equal(await page.locator('#pos-sale input').count(), 0, 'no inputs on the sale');
      await indicator(page, 2).click();
      assert.equal(await serialDialog(page).isVisible(), false, 'no serial popup');
      const { body: forged } = await fetchFromSession(page,
        'mutation ($id: ID!) { assignSerial(saleId: $id, lineId: 2, serialNumber: "FORGED-001") { deduplicated } }',
        { id: (await saleByInvoice('INV-1001')).id });
      assert.equal(forged.errors?.[0]?.extensions?.code, 'FORBIDDEN', JSON.stringify(forged));
      assert.equal((await saleByInvoice('INV-1001')).lines[1].serialNumber, null);
      assert.deepEqual(page.problems, []);
      await context.close();

      async function expectIndicatorReadOnly(p, n, cls, label) {
        await row(p, n).locator(`.serial-indicator.${cls}`).waitFor();
        assert.equal(await indicator(p, n).getAttribute('class'), `serial-indicator ${cls}`);
        assert.equal(await indicator(p, n).getAttribute('aria-label'), label);
      }
    });

    it('has no serious accessibility violation with lines of every indicator, nor with the serial popup open', async () => {
      await setAutoPrompt(false);
      const { context, page } = await posWithNewSale('axe');
      await addSku(page, 'IPH-15-128');
      await addSku(page, 'LAP-14-PRO');
      await addSku(page, 'USB-C-1M');
      await addSku(page, 'IPH-15-128');
      await recordSerial(page, 4, 'AXE-0000001');
      await addSku(page, 'KIT-OFFICE');
      await page.getByLabel('Search products').fill('x');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator('#product-results table').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await row(page, 1).locator('button.fulfilment-method').click();
      await serialDialog(page).waitFor();
      await page.getByLabel('Serial number', { exact: true }).fill('A B');
      await page.keyboard.press('Enter');
      await page.locator('#serial-error').filter({ hasText: 'INVALID_SERIAL' }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(page.problems, []);
      await context.close();
    });
  });
}
