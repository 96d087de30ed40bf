//! Sales: the POS order view (`sale`, `saleByInvoice`) and every sale command (open, add,
//! change, remove, serials, fulfil, refund, cancel, re-issue).
//!
//! Permissions: reading needs `Read`; opening a sale and changing its lines `Sell`;
//! assigning and removing serials `RecordSerials`; fulfilling `Fulfil`; refunding,
//! cancelling and re-issuing `Refund`.
//!
//! Lines are named by their `lineNumber` within the sale (from 1, as printed on the
//! invoice): numbers are never reused, so (sale, line number) names one unit for ever.
//!
//! Every mutation answers a [`SalePayload`]: the sale as the POS view shows it after the
//! write (the mutation waits for the read models first: read-your-writes), the lines the
//! command touched, the log cursor of its last event, and for `addItem`/`reissueLine`
//! whether POS should prompt for a serial now.

use super::context::{command_context, new_command_id, parse_uuid, require, state};
use super::errors::ApiResult;
use super::types::{Channel, Customer, DeliveryMode, SaleLine, SaleType};
use application::AppError;
use application::auth::{Permission, Principal};
use application::commands::{CommandContext, CommandOutcome};
use application::sales::{self as flows, RefundSelection, ReissueOnto, SaleWrite};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use domain::sale::{
    AssignSerial, ChangeLineQuantity, FulfilLines, LineSelection, OpenSale, RemoveLine,
    RemoveSerial,
};
use event_schemas::{CustomerId, LineNumber, OutletId, ProductId, SaleId, TenantId};
use projections::ReadDb;
use projections::queries::pos::{PosOrder, pos_order, pos_order_by_invoice};
use time::OffsetDateTime;

/// A sale as the POS order screen shows it.
pub struct Sale(pub PosOrder);

/// A sale as the POS order screen shows it: header, lines with their serial indicators,
/// and whether it can be fulfilled now.
#[Object]
impl Sale {
    /// The sale's id.
    async fn id(&self) -> ID {
        ID(self.0.sale.sale_id.to_string())
    }
    /// The invoice number.
    async fn invoice_number(&self) -> &str {
        &self.0.sale.invoice_number
    }
    /// Sale, special order or lay-by.
    async fn sale_type(&self) -> SaleType {
        self.0.sale.sale_type.into()
    }
    /// How the goods reach the customer.
    async fn delivery_mode(&self) -> DeliveryMode {
        self.0.sale.delivery_mode.into()
    }
    /// The delivery mode's full name ("Cash and Carry", ...).
    async fn delivery_mode_name(&self) -> &'static str {
        self.0.sale.delivery_mode.full_name()
    }
    /// The outlet.
    async fn outlet_id(&self) -> ID {
        ID(self.0.sale.outlet_id.to_string())
    }
    /// The customer, when known.
    async fn customer(&self) -> Option<Customer> {
        self.0.sale.customer.clone().map(Customer::from)
    }
    /// When the sale was opened.
    async fn opened_at(&self) -> OffsetDateTime {
        self.0.sale.opened_at
    }
    /// The lines in line-number order (lines removed while building the sale left out).
    async fn lines(&self) -> Vec<SaleLine> {
        self.0.lines.iter().cloned().map(SaleLine).collect()
    }
    /// Whether "fulfil" can be pressed now: at least one open line and no open REQUIRED
    /// line without its serial.
    async fn can_fulfil_now(&self) -> bool {
        self.0.can_fulfil_now
    }
    /// The open REQUIRED lines still waiting for a serial (shown RED).
    async fn lines_pending_serial(&self) -> Vec<u32> {
        self.0
            .lines_pending_serial()
            .map(|line| line.line_number.0)
            .collect()
    }
}

/// What a sale mutation did.
#[derive(SimpleObject)]
pub struct SalePayload {
    /// The sale after the change, as the POS view shows it (null only if the read models
    /// are still catching up).
    pub sale: Option<Sale>,
    /// The lines the command added or changed, as they stand now.
    pub lines: Vec<SaleLine>,
    /// Whether POS should pop up the serial prompt now: auto-prompt is on and a REQUIRED
    /// line was added (`addItem`, `reissueLine`).
    pub prompt_for_serial: bool,
    /// The new lines to prompt a serial for.
    pub prompt_serial_for_lines: Vec<u32>,
    /// The log position of the last event recorded (an event cursor), or null when
    /// nothing changed.
    pub cursor: Option<String>,
    /// Whether this `commandId` had been applied before and nothing new was recorded.
    pub deduplicated: bool,
}

/// The customer of a new sale.
#[derive(InputObject)]
pub struct CustomerInput {
    /// The customer's id.
    pub id: ID,
    /// The customer's name.
    pub name: String,
}

/// A sale to open.
#[derive(InputObject)]
pub struct OpenSaleInput {
    /// The new sale's id; a new UUID when not given.
    pub id: Option<ID>,
    /// The invoice number, unique per retailer (ignoring case).
    pub invoice_number: String,
    /// Sale, special order or lay-by; SALE when not given.
    pub sale_type: Option<SaleType>,
    /// How the goods reach the customer; CASH_AND_CARRY when not given.
    pub delivery_mode: Option<DeliveryMode>,
    /// The outlet.
    pub outlet_id: ID,
    /// The customer, when known.
    pub customer: Option<CustomerInput>,
}

/// A `lineId` argument: the line's number within its sale, as printed on the invoice.
fn line_number(field: &str, value: i32) -> Result<LineNumber, AppError> {
    u32::try_from(value)
        .ok()
        .filter(|line| *line >= 1)
        .map(LineNumber)
        .ok_or_else(|| AppError::invalid(field, "must be a line number, from 1"))
}

fn line_numbers(field: &str, values: &[i32]) -> Result<Vec<LineNumber>, AppError> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| line_number(&format!("{field}[{index}]"), *value))
        .collect()
}

fn sale_id(field: &str, id: &ID) -> Result<SaleId, AppError> {
    parse_uuid(field, id).map(SaleId)
}

/// The POS view of a sale, if the tenant has it.
async fn load_view(
    db: &ReadDb,
    tenant: TenantId,
    sale_id: SaleId,
) -> Result<Option<Sale>, AppError> {
    Ok(pos_order(db, tenant, sale_id).await?.map(Sale))
}

/// The payload of a write on one sale, once the read models show it: the sale as POS
/// shows it, and the lines the write touched.
async fn payload(
    ctx: &Context<'_>,
    principal: &Principal,
    write: SaleWrite,
) -> Result<SalePayload, AppError> {
    let state = state(ctx)?;
    let touched = write.touched_lines();
    let prompt: Vec<u32> = write
        .prompt_serial_for()
        .iter()
        .map(|line| line.0)
        .collect();
    let sale = load_view(&state.db, principal.tenant_id, write.sale_id).await?;
    let lines = sale
        .as_ref()
        .map(|sale| {
            sale.0
                .lines
                .iter()
                .filter(|line| touched.contains(&line.line_number))
                .cloned()
                .map(SaleLine)
                .collect()
        })
        .unwrap_or_default();
    Ok(SalePayload {
        sale,
        lines,
        prompt_for_serial: !prompt.is_empty(),
        prompt_serial_for_lines: prompt,
        cursor: write.position().map(|position| position.to_string()),
        deduplicated: write.deduplicated(),
    })
}

/// The payload of one command on sale `sale_id`.
async fn answer(
    ctx: &Context<'_>,
    principal: &Principal,
    sale_id: SaleId,
    outcome: CommandOutcome,
) -> Result<SalePayload, AppError> {
    let state = state(ctx)?;
    payload(
        ctx,
        principal,
        SaleWrite::of(state, sale_id, vec![outcome]).await,
    )
    .await
}

/// Sale queries.
#[derive(Default)]
pub struct SaleQuery;

#[Object]
impl SaleQuery {
    /// A sale as the POS order screen shows it; null when this retailer has no such sale.
    async fn sale(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Sale>> {
        let principal = require(ctx, Permission::Read, "read sales")?;
        let state = state(ctx)?;
        Ok(load_view(&state.db, principal.tenant_id, sale_id("id", &id)?).await?)
    }

    /// A sale by its invoice number (ignoring case and surrounding spaces); null when this
    /// retailer has no such invoice.
    async fn sale_by_invoice(
        &self,
        ctx: &Context<'_>,
        invoice_number: String,
    ) -> ApiResult<Option<Sale>> {
        let principal = require(ctx, Permission::Read, "read sales")?;
        let state = state(ctx)?;
        Ok(
            pos_order_by_invoice(&state.db, principal.tenant_id, &invoice_number)
                .await?
                .map(Sale),
        )
    }
}

/// Sale mutations.
#[derive(Default)]
pub struct SaleMutation;

impl SaleMutation {
    fn context(
        ctx: &Context<'_>,
        principal: &Principal,
        command_id: Option<&ID>,
        channel: Option<Channel>,
    ) -> Result<CommandContext, AppError> {
        Ok(command_context(
            ctx,
            principal,
            new_command_id(command_id)?,
            channel.map(Into::into),
            None,
        ))
    }
}

#[allow(clippy::too_many_arguments)] // GraphQL arguments, each documented in the SDL
#[Object]
impl SaleMutation {
    /// Opens a sale (an invoice) at an outlet.
    async fn open_sale(
        &self,
        ctx: &Context<'_>,
        input: OpenSaleInput,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Sell, "open sales")?;
        let state = state(ctx)?;
        let open = open_sale_command(input, "input")?;
        let sale_id = open.sale_id;
        let context = command_context(
            ctx,
            principal,
            new_command_id(command_id.as_ref())?,
            channel.map(Into::into),
            Some(open.outlet_id),
        );
        let outcome = state
            .commands
            .open_sale(&context, open)
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale_id, outcome).await?)
    }

    /// Adds `quantity` units of a product. Serial-tracked (REQUIRED/OPTIONAL) products get
    /// one line per unit. Price: `unitPriceMinor` (0 when not given: the ledger records
    /// serials, the POS owns pricing) in `currency` (when not given: the sale's currency,
    /// or AUD on a sale with no lines yet). `promptForSerial` is true when auto-prompt is on
    /// and the product is REQUIRED.
    async fn add_item(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        product_id: ID,
        #[graphql(default = 1)] quantity: i32,
        unit_price_minor: Option<i64>,
        currency: Option<String>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Sell, "add items to sales")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let product = ProductId(parse_uuid("productId", &product_id)?);
        let quantity = u32::try_from(quantity)
            .ok()
            .filter(|quantity| *quantity >= 1)
            .ok_or_else(|| AppError::invalid("quantity", "must be at least 1"))?;
        let unit_price = flows::unit_price(
            state,
            principal.tenant_id,
            sale,
            unit_price_minor.unwrap_or(0),
            currency,
        )
        .await?;
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let outcome = state
            .commands
            .add_item(&context, sale, product, quantity, unit_price)
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale, outcome).await?)
    }

    /// Sets the quantity of a line of a product with serial numbers DISABLED (a tracked
    /// line is refused with QUANTITY_SPLIT_REQUIRED: add the item as a new line).
    async fn set_line_quantity(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_id: i32,
        quantity: i32,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Sell, "change sale lines")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let change = ChangeLineQuantity {
            line_number: self::line_number("lineId", line_id)?,
            quantity: u32::try_from(quantity)
                .map_err(|_| AppError::invalid("quantity", "must be at least 1"))?,
        };
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let outcome = state
            .commands
            .change_line_quantity(&context, sale, change)
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale, outcome).await?)
    }

    /// Takes an unfulfilled line off the sale (a correction while building it), releasing
    /// its serial.
    async fn remove_line(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_id: i32,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Sell, "change sale lines")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let remove = RemoveLine {
            line_number: self::line_number("lineId", line_id)?,
        };
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let outcome = state
            .commands
            .remove_line(&context, sale, remove)
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale, outcome).await?)
    }

    /// Records a serial number on a line (replacing the one it has), as typed or scanned.
    /// Refused with SERIAL_ALREADY_ASSIGNED (naming the invoice and line) when the serial
    /// of this product is live on another line of the retailer.
    async fn assign_serial(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_id: i32,
        serial_number: String,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::RecordSerials, "record serial numbers")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let assign = AssignSerial {
            line_number: self::line_number("lineId", line_id)?,
            serial: serial_number,
        };
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let outcome = state
            .commands
            .assign_serial(&context, sale, assign)
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale, outcome).await?)
    }

    /// Takes the serial number off an unfulfilled line (free until fulfilment), recording
    /// the reason given.
    async fn remove_serial(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_id: i32,
        reason: Option<String>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::RecordSerials, "record serial numbers")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let remove = RemoveSerial {
            line_number: self::line_number("lineId", line_id)?,
            reason,
        };
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let outcome = state
            .commands
            .remove_serial(&context, sale, remove)
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale, outcome).await?)
    }

    /// Fulfils the lines listed, or every open line when `lineIds` is not given.
    /// Refused with SERIAL_REQUIRED (listing the lines in `extensions.lineNumbers`) while a
    /// selected REQUIRED line has no serial.
    async fn fulfil_lines(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_ids: Option<Vec<i32>>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Fulfil, "fulfil lines")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let lines = match line_ids {
            None => LineSelection::All,
            Some(lines) => LineSelection::Lines(self::line_numbers("lineIds", &lines)?),
        };
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let outcome = state
            .commands
            .fulfil_lines(&context, sale, FulfilLines { lines })
            .await
            .map_err(AppError::from)?;
        Ok(answer(ctx, principal, sale, outcome).await?)
    }

    /// Returns and refunds exact units of fulfilled lines, picked by line number and/or by
    /// the serial recorded on them (as typed or scanned). Each unit is refunded its line
    /// total; its serial is released (it may be sold again).
    async fn refund_lines(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_ids: Option<Vec<i32>>,
        serial_numbers: Option<Vec<String>>,
        reason: Option<String>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Refund, "refund lines")?;
        let state = state(ctx)?;
        let sale_id = self::sale_id("saleId", &sale_id)?;
        let selection = RefundSelection {
            lines: self::line_numbers("lineIds", line_ids.as_deref().unwrap_or(&[]))?,
            serials: serial_numbers.unwrap_or_default(),
        };
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let write = flows::refund(state, &context, sale_id, selection, reason).await?;
        Ok(payload(ctx, principal, write).await?)
    }

    /// Cancels unfulfilled lines (each releases its serial). Lines are cancelled one by
    /// one, in the order given; a refusal stops there (lines before it stay cancelled; a
    /// retry with the same `commandId` does not cancel them twice).
    async fn cancel_lines(
        &self,
        ctx: &Context<'_>,
        sale_id: ID,
        line_ids: Vec<i32>,
        reason: Option<String>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Refund, "cancel lines")?;
        let state = state(ctx)?;
        let sale = self::sale_id("saleId", &sale_id)?;
        let lines = self::line_numbers("lineIds", &line_ids)?;
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let write = flows::cancel_lines(state, &context, sale, lines, reason).await?;
        Ok(payload(ctx, principal, write).await?)
    }

    /// Issues a returned line of an earlier sale again on a new invoice, referencing the
    /// returned line, with the new unit's own serial when known. The new invoice is either
    /// a sale already opened (`saleId`) or opened by this mutation (`newSale`, as
    /// `openSale` takes it); give exactly one. Opening and re-issuing are two commands:
    /// retrying with the same `commandId` applies each once.
    async fn reissue_line(
        &self,
        ctx: &Context<'_>,
        sale_id: Option<ID>,
        new_sale: Option<OpenSaleInput>,
        returned_sale_id: ID,
        returned_line_id: i32,
        serial_number: Option<String>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SalePayload> {
        let principal = require(ctx, Permission::Refund, "re-issue lines")?;
        let state = state(ctx)?;
        let original = self::sale_id("returnedSaleId", &returned_sale_id)?;
        let line = self::line_number("returnedLineId", returned_line_id)?;
        let context = Self::context(ctx, principal, command_id.as_ref(), channel)?;
        let onto = match (sale_id, new_sale) {
            (Some(sale_id), None) => ReissueOnto::Sale(self::sale_id("saleId", &sale_id)?),
            (None, Some(input)) => ReissueOnto::NewSale(open_sale_command(input, "newSale")?),
            _ => {
                return Err(AppError::invalid(
                    "saleId",
                    "give either saleId (a sale already opened) or newSale (to open one), not both",
                )
                .into());
            }
        };
        let write = flows::reissue(state, &context, onto, original, line, serial_number).await?;
        Ok(payload(ctx, principal, write).await?)
    }
}

/// The `OpenSale` command an `OpenSaleInput` asks for (`field` names the input in errors).
fn open_sale_command(input: OpenSaleInput, field: &str) -> Result<OpenSale, AppError> {
    let sale_id = match &input.id {
        Some(id) => sale_id(&format!("{field}.id"), id)?,
        None => SaleId::new_v7(),
    };
    let outlet_id = OutletId(parse_uuid(&format!("{field}.outletId"), &input.outlet_id)?);
    let customer = input
        .customer
        .map(|customer| {
            Ok::<_, AppError>(event_schemas::Customer {
                customer_id: CustomerId(parse_uuid(&format!("{field}.customer.id"), &customer.id)?),
                name: customer.name,
            })
        })
        .transpose()?;
    Ok(OpenSale {
        sale_id,
        invoice_number: input.invoice_number,
        sale_type: input
            .sale_type
            .map(Into::into)
            .unwrap_or(event_schemas::SaleType::Sale),
        delivery_mode: input
            .delivery_mode
            .map(Into::into)
            .unwrap_or(event_schemas::DeliveryMode::CashAndCarry),
        outlet_id,
        customer,
    })
}
