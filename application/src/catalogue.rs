//! The product mass upload/download CSV against the catalogue and the command service:
//! shared by `importProducts`, the HTTP routes (`GET /exports/products.csv`,
//! `POST /imports/products`) and the CLI (`serial-ledger products import|export`). The
//! file format itself is [`files::products_csv`].
//!
//! # Import, in two passes over the file
//!
//! 1. **Validate.** Every record is parsed and checked against the file so far and an
//!    index of the catalogue (SKU → id, name, mode and package of each product, built by
//!    paging the `products` read model). Rows are streamed: what stays in memory is the
//!    index, the file's SKUs, and the errors.
//! 2. **Write**, only when no row is bad or in partial mode: the file is read again and each
//!    good row is compared with the index. A new SKU is created (source CSV_MASS_UPLOAD),
//!    an existing one gets only the commands for what differs (details, serial mode,
//!    package); a row equal to the product is counted as unchanged and records nothing, so
//!    uploading the same file again is a no-op. A package naming a component created by a
//!    later row is created first and given its package at the end.
//!
//! Writes are one command per product, not one transaction: a refusal at write time (a
//! package cycle through other packages, a concurrent change) is reported with its line
//! and the other rows are still written.

use crate::app::Application;
use crate::code::{ErrorCode, query_code};
use crate::commands::{CommandContext, CommandError, CommandOutcome, NewProduct};
use crate::error::AppError;
use crate::request::derived_command_id;
use domain::product::{ChangeProductDetails, SetSerialMode};
use event_schemas::{
    PackageComponent, PackageComposition, ProductId, SerialMode, SerialModeSource, TenantId,
};
use files::products_csv::{
    ByteRecord, CsvRow, FileValidator, PackageRecord, ProductCsvReader, ProductCsvWriter,
    ProductRecord, ProductsCsvError, RejectedCsv, RowError, SkuMatch, UnknownComponent, raw_sku,
};
use futures::{Stream, StreamExt};
use projections::db::ReadDb;
use projections::queries::products::{self as catalogue, ProductFilter};
use projections::queries::{MAX_PAGE_SIZE, PageRequest, QueryError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use store::Position;

/// How an upload treats bad rows.
#[derive(Debug, Default, Copy, Clone, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportMode {
    /// Nothing is written unless every row is valid.
    #[default]
    AllOrNothing,
    /// The good rows are written; the bad ones come back as a CSV.
    Partial,
}

/// One bad row of an upload.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ImportRowError {
    /// The line the record starts on (the header is line 1).
    pub line: u64,
    /// The column, as the header names it; null when the row as a whole is wrong.
    pub column: Option<String>,
    /// Why, for the user.
    pub reason: String,
}

impl From<RowError> for ImportRowError {
    fn from(error: RowError) -> Self {
        Self {
            line: error.line,
            column: error.column,
            reason: error.reason,
        }
    }
}

/// What an upload did.
#[derive(Serialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImportProductsPayload {
    /// Product rows read (blank lines and the header not counted).
    pub rows: u64,
    /// Products created.
    pub created: u64,
    /// Products changed.
    pub updated: u64,
    /// Rows equal to their product: nothing recorded.
    pub unchanged: u64,
    /// Rows not written (bad, or refused when written).
    pub rejected: u64,
    /// Whether the good rows were written (false when all-or-nothing found a bad row).
    pub written: bool,
    /// Every bad row, in line order.
    pub errors: Vec<ImportRowError>,
    /// Partial mode: the rejected rows as they were, with `Line` and `Errors` columns;
    /// null when none were rejected or in all-or-nothing mode.
    pub rejected_csv: Option<String>,
    /// The log position of the last event recorded, or null when nothing was.
    pub cursor: Option<String>,
    /// The position itself, for waiting on the read models.
    #[serde(skip)]
    pub last_position: Option<Position>,
}

/// Where an import has got to, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportProgress {
    /// Pass 1: rows validated so far.
    Validated(u64),
    /// Pass 2: rows written (or skipped) so far.
    Written(u64),
}

/// How often progress is reported, in rows.
pub const PROGRESS_EVERY: u64 = 1_000;

/// Why an import or export could not run at all (bad rows are not errors: they are
/// reported in the payload).
#[derive(Debug, thiserror::Error)]
pub enum MassUploadError {
    /// The file's header is wrong or the file cannot be read. `VALIDATION`.
    #[error(transparent)]
    File(#[from] ProductsCsvError),
    /// Reading the catalogue failed. Its own code (`INTERNAL`, `UNAVAILABLE`).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Rewinding the upload for the second pass failed. `INTERNAL`.
    #[error("cannot read the upload again: {0}")]
    Io(#[from] std::io::Error),
    /// An exported package names a product that is not in the catalogue. `INTERNAL`.
    #[error(transparent)]
    UnknownComponent(#[from] UnknownComponent),
}

impl MassUploadError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            // Reading the upload fails only on what it holds (the bytes are in memory or a
            // temporary file the server wrote).
            MassUploadError::File(ProductsCsvError::Header(_) | ProductsCsvError::Csv(_)) => {
                ErrorCode::Validation
            }
            MassUploadError::Query(error) => query_code(error),
            MassUploadError::File(_)
            | MassUploadError::Io(_)
            | MassUploadError::UnknownComponent(_) => ErrorCode::Internal,
        }
    }
}

impl From<MassUploadError> for AppError {
    fn from(error: MassUploadError) -> Self {
        match error {
            MassUploadError::Query(error) => error.into(),
            error => match error.code() {
                ErrorCode::Validation => AppError::new(ErrorCode::Validation, error.to_string()),
                _ => AppError::internal(&error),
            },
        }
    }
}

/// A catalogue product, as much of it as an import compares.
#[derive(Debug, Clone)]
struct Known {
    product_id: ProductId,
    name: String,
    serial_mode: SerialMode,
    package: Option<PackageComposition>,
}

#[derive(Debug, Clone)]
enum Entry {
    One(Known),
    Many(usize),
}

/// Every product of `tenant` by SKU, read a page at a time.
async fn catalogue_index(
    db: &ReadDb,
    tenant: TenantId,
) -> Result<HashMap<String, Entry>, QueryError> {
    let mut index: HashMap<String, Entry> = HashMap::new();
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let found = catalogue::products(db, tenant, &ProductFilter::default(), &page).await?;
        let next = found.edges.last().map(|edge| edge.cursor.clone());
        for edge in found.edges {
            let view = edge.node;
            let known = Known {
                product_id: view.product_id,
                name: view.name,
                serial_mode: view.serial_mode,
                package: view.package,
            };
            index
                .entry(view.sku)
                .and_modify(|entry| {
                    *entry = match entry {
                        Entry::One(_) => Entry::Many(2),
                        Entry::Many(count) => Entry::Many(*count + 1),
                    }
                })
                .or_insert(Entry::One(known));
        }
        match next {
            Some(cursor) if found.has_next_page => page = page.after(cursor),
            _ => return Ok(index),
        }
    }
}

fn sku_match(index: &HashMap<String, Entry>, sku: &str) -> SkuMatch {
    match index.get(sku) {
        None => SkuMatch::None,
        Some(Entry::One(_)) => SkuMatch::One,
        Some(Entry::Many(count)) => SkuMatch::Many(*count),
    }
}

/// Imports a product CSV as `context` (its channel and actor go on every event; each
/// command gets an id derived from `context`'s command id and the line). See the
/// module docs for the passes; `progress` is called every [`PROGRESS_EVERY`] rows.
pub async fn import_products_csv<R: Read + Seek + Send>(
    app: &Application,
    context: &CommandContext,
    mut input: R,
    mode: ImportMode,
    progress: &mut (dyn FnMut(ImportProgress) + Send),
) -> Result<ImportProductsPayload, MassUploadError> {
    let mut index = catalogue_index(&app.db, context.tenant_id).await?;
    let mut payload = ImportProductsPayload::default();
    // Pass 1: validate everything, keeping the SKUs and the errors.
    let mut errors: BTreeMap<u64, Vec<RowError>> = BTreeMap::new();
    {
        let mut reader = ProductCsvReader::new(&mut input)?;
        let mut validator = FileValidator::new();
        let lookup = |sku: &str| sku_match(&index, sku);
        while let Some(row) = reader.next() {
            let row = row?;
            payload.rows += 1;
            let row_errors = match &row.record {
                Err(row_errors) => {
                    validator.note_bad_row(row.line, raw_sku(&reader, &row.raw));
                    row_errors.clone()
                }
                Ok(record) => validator.check(row.line, record, &lookup),
            };
            if !row_errors.is_empty() {
                errors.entry(row.line).or_default().extend(row_errors);
            }
            if payload.rows.is_multiple_of(PROGRESS_EVERY) {
                progress(ImportProgress::Validated(payload.rows));
                // Parsing is CPU work: let other tasks of the runtime run.
                tokio::task::yield_now().await;
            }
        }
        for error in validator.finish() {
            errors.entry(error.line).or_default().push(error);
        }
        progress(ImportProgress::Validated(payload.rows));
    }
    let flat = |errors: &BTreeMap<u64, Vec<RowError>>| {
        errors
            .values()
            .flatten()
            .cloned()
            .map(ImportRowError::from)
            .collect::<Vec<_>>()
    };
    if !errors.is_empty() && mode == ImportMode::AllOrNothing {
        payload.rejected = errors.len() as u64;
        payload.errors = flat(&errors);
        return Ok(payload);
    }
    // Pass 2: write the good rows.
    payload.written = true;
    input.seek(SeekFrom::Start(0))?;
    let reader = ProductCsvReader::new(&mut input)?;
    let mut rejected = match mode {
        ImportMode::Partial => Some(RejectedCsv::new(Vec::new(), reader.headers())?),
        ImportMode::AllOrNothing => None,
    };
    let mut writer = Writer {
        app,
        context,
        index: &mut index,
        last: None,
        deferred: Vec::new(),
    };
    let mut done = 0_u64;
    let mut batch: Vec<(u64, ProductRecord, ByteRecord)> = Vec::new();
    let mut tally = Tally {
        payload: &mut payload,
        errors: &mut errors,
        rejected: rejected.as_mut(),
    };
    for row in reader {
        let CsvRow { line, record, raw } = row?;
        done += 1;
        match (tally.errors.contains_key(&line), record) {
            // A plain row touches one product of its own: batched, written concurrently.
            (false, Ok(record)) if record.package.is_none() => {
                batch.push((line, record, raw));
                if batch.len() >= BATCH {
                    writer.write_batch(&mut batch, &mut tally).await?;
                }
            }
            // A package may name products created by earlier rows: the batch goes
            // first, and the package row on its own.
            (false, Ok(record)) => {
                writer.write_batch(&mut batch, &mut tally).await?;
                let outcome = writer.apply(line, record).await;
                tally.settle(line, &raw, outcome)?;
            }
            _ => tally.settle(line, &raw, Err(Vec::new()))?,
        }
        if done.is_multiple_of(PROGRESS_EVERY) {
            progress(ImportProgress::Written(done));
        }
    }
    writer.write_batch(&mut batch, &mut tally).await?;
    // Packages whose components were created by later rows.
    for (line, product_id, package) in std::mem::take(&mut writer.deferred) {
        if let Err(error) = writer.set_package(line, product_id, &package).await {
            errors.entry(line).or_default().push(error);
        }
    }
    progress(ImportProgress::Written(done));
    payload.last_position = writer.last;
    payload.cursor = writer.last.map(|position| position.to_string());
    payload.rejected = errors.len() as u64;
    payload.errors = flat(&errors);
    if let Some(rejected) = rejected.filter(|_| payload.rejected > 0) {
        let bytes = rejected.finish()?;
        payload.rejected_csv = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(payload)
}

enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// Plain rows written together; each batch's commands run [`CONCURRENT_WRITES`] at a
/// time. Rows of a batch have distinct SKUs (duplicates are refused in pass 1), so
/// they never touch the same stream.
const BATCH: usize = 256;
/// Commands in flight at once while writing a batch.
const CONCURRENT_WRITES: usize = 8;

/// Pass 2's counts, errors and rejected rows.
struct Tally<'a> {
    payload: &'a mut ImportProductsPayload,
    errors: &'a mut BTreeMap<u64, Vec<RowError>>,
    rejected: Option<&'a mut RejectedCsv<Vec<u8>>>,
}

impl Tally<'_> {
    /// Counts a row written, or records why it was not (and rejects it).
    fn settle(
        &mut self,
        line: u64,
        raw: &ByteRecord,
        outcome: Result<Applied, Vec<RowError>>,
    ) -> Result<(), ProductsCsvError> {
        match outcome {
            Ok(Applied::Created) => self.payload.created += 1,
            Ok(Applied::Updated) => self.payload.updated += 1,
            Ok(Applied::Unchanged) => self.payload.unchanged += 1,
            Err(refused) => {
                let row_errors = self.errors.entry(line).or_default();
                row_errors.extend(refused);
                if let Some(rejected) = self.rejected.as_deref_mut() {
                    rejected.write(line, raw, row_errors)?;
                }
            }
        }
        Ok(())
    }
}

/// What a plain row needs done.
enum Plan {
    Unchanged,
    Refused(Vec<RowError>),
    Create(NewProduct),
    Edit {
        product_id: ProductId,
        details: Option<ChangeProductDetails>,
        serial_mode: Option<SetSerialMode>,
    },
}

/// Carries out a plan with contexts made by `context(part)`.
async fn execute(
    app: &Application,
    context: impl Fn(&str) -> CommandContext,
    line: u64,
    plan: Plan,
) -> (Result<Applied, Vec<RowError>>, Option<Position>) {
    let refused = |error: CommandError| vec![refusal(line, error)];
    match plan {
        Plan::Unchanged => (Ok(Applied::Unchanged), None),
        Plan::Refused(errors) => (Err(errors), None),
        Plan::Create(product) => {
            match app
                .commands
                .create_product(&context("create"), product)
                .await
            {
                Ok(outcome) => (Ok(Applied::Created), outcome.position()),
                Err(error) => (Err(refused(error)), None),
            }
        }
        Plan::Edit {
            product_id,
            details,
            serial_mode,
        } => {
            let mut last = None;
            if let Some(change) = details {
                match app
                    .commands
                    .change_product_details(&context("details"), product_id, change)
                    .await
                {
                    Ok(outcome) => last = last.max(outcome.position()),
                    Err(error) => return (Err(refused(error)), last),
                }
            }
            if let Some(set) = serial_mode {
                match app
                    .commands
                    .set_serial_mode(&context("serial-mode"), product_id, set)
                    .await
                {
                    Ok(outcome) => last = last.max(outcome.position()),
                    Err(error) => return (Err(refused(error)), last),
                }
            }
            (Ok(Applied::Updated), last)
        }
    }
}

/// Pass 2's state: the index (updated with each product created), the last position,
/// and the packages waiting for components created by later rows.
struct Writer<'a> {
    app: &'a Application,
    context: &'a CommandContext,
    index: &'a mut HashMap<String, Entry>,
    last: Option<Position>,
    deferred: Vec<(u64, ProductId, PackageRecord)>,
}

/// The context of the command `part` of the row at `line`: the import's, with a
/// command id derived from the import's and the line.
fn row_context(base: &CommandContext, line: u64, part: &str) -> CommandContext {
    let mut context = base.clone();
    context.metadata.command_id =
        derived_command_id(base.metadata.command_id, &format!("{line}/{part}"));
    context
}

impl Writer<'_> {
    fn context(&self, line: u64, part: &str) -> CommandContext {
        row_context(self.context, line, part)
    }

    /// What a plain row (no package) needs done, against the index.
    fn plan(&self, line: u64, record: ProductRecord) -> Plan {
        match self.index.get(&record.sku) {
            None => Plan::Create(NewProduct {
                product_id: ProductId::new_v7(),
                sku: record.sku,
                name: record.name.unwrap_or_default(),
                serial_mode: Some(record.serial_mode.unwrap_or_default()),
                source: SerialModeSource::CsvMassUpload,
                package: None,
            }),
            Some(Entry::Many(count)) => Plan::Refused(vec![RowError {
                line,
                column: Some(files::products_csv::SKU.to_owned()),
                reason: format!("{} is the SKU of {count} products", record.sku),
            }]),
            Some(Entry::One(known)) => {
                let details = record.name.filter(|name| *name != known.name).map(|name| {
                    ChangeProductDetails {
                        sku: record.sku.clone(),
                        name,
                    }
                });
                let serial_mode = record
                    .serial_mode
                    .filter(|mode| *mode != known.serial_mode)
                    .map(|serial_mode| SetSerialMode {
                        serial_mode,
                        source: SerialModeSource::CsvMassUpload,
                    });
                if details.is_none() && serial_mode.is_none() {
                    Plan::Unchanged
                } else {
                    Plan::Edit {
                        product_id: known.product_id,
                        details,
                        serial_mode,
                    }
                }
            }
        }
    }

    /// Writes a batch of plain rows, [`CONCURRENT_WRITES`] commands at a time, and
    /// empties it.
    async fn write_batch(
        &mut self,
        batch: &mut Vec<(u64, ProductRecord, ByteRecord)>,
        tally: &mut Tally<'_>,
    ) -> Result<(), ProductsCsvError> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<(u64, Plan, ByteRecord)> = batch
            .drain(..)
            .map(|(line, record, raw)| (line, self.plan(line, record), raw))
            .collect();
        // What the index learns from each creation, known before the plans move.
        let created: Vec<Option<(String, Known)>> = rows
            .iter()
            .map(|(_, plan, _)| match plan {
                Plan::Create(product) => Some((
                    product.sku.clone(),
                    Known {
                        product_id: product.product_id,
                        name: product.name.clone(),
                        serial_mode: product.serial_mode.unwrap_or_default(),
                        package: None,
                    },
                )),
                _ => None,
            })
            .collect();
        let (app, base) = (self.app, self.context);
        let mut raws = Vec::with_capacity(rows.len());
        let work: Vec<_> = rows
            .into_iter()
            .map(|(line, plan, raw)| {
                raws.push((line, raw));
                execute(app, move |part| row_context(base, line, part), line, plan)
            })
            .collect();
        let outcomes: Vec<_> = futures::stream::iter(work)
            .buffered(CONCURRENT_WRITES)
            .collect()
            .await;
        for (((line, raw), (outcome, position)), created) in
            raws.into_iter().zip(outcomes).zip(created)
        {
            self.last = self.last.max(position);
            if let (Ok(Applied::Created), Some((sku, known))) = (&outcome, created) {
                self.index.insert(sku, Entry::One(known));
            }
            tally.settle(line, &raw, outcome)?;
        }
        Ok(())
    }

    fn record(&mut self, outcome: &CommandOutcome) {
        self.last = self.last.max(outcome.position());
    }

    /// The package with components as ids, or `None` while a component is not yet
    /// a product (a later row creates it).
    fn resolve(&self, package: &PackageRecord) -> Option<PackageComposition> {
        let components = package
            .components
            .iter()
            .map(|component| match self.index.get(&component.sku) {
                Some(Entry::One(known)) => Some(PackageComponent {
                    product_id: known.product_id,
                    quantity: component.quantity,
                }),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(PackageComposition {
            mode: package.mode,
            components,
        })
    }

    async fn apply(&mut self, line: u64, record: ProductRecord) -> Result<Applied, Vec<RowError>> {
        let refused = |error: CommandError| vec![refusal(line, error)];
        match self.index.get(&record.sku).cloned() {
            None => {
                let product_id = ProductId::new_v7();
                let (package, deferred) = match &record.package {
                    None => (None, false),
                    Some(package) => match self.resolve(package) {
                        Some(composition) => (Some(composition), false),
                        None => (None, true),
                    },
                };
                let name = record.name.clone().unwrap_or_default();
                let serial_mode = record.serial_mode.unwrap_or_default();
                let outcome = self
                    .app
                    .commands
                    .create_product(
                        &self.context(line, "create"),
                        NewProduct {
                            product_id,
                            sku: record.sku.clone(),
                            name: name.clone(),
                            serial_mode: Some(serial_mode),
                            source: SerialModeSource::CsvMassUpload,
                            package: package.clone(),
                        },
                    )
                    .await
                    .map_err(refused)?;
                self.record(&outcome);
                if deferred && let Some(package) = record.package {
                    self.deferred.push((line, product_id, package));
                }
                self.index.insert(
                    record.sku,
                    Entry::One(Known {
                        product_id,
                        name,
                        serial_mode,
                        package,
                    }),
                );
                Ok(Applied::Created)
            }
            Some(Entry::Many(count)) => Err(vec![RowError {
                line,
                column: Some(files::products_csv::SKU.to_owned()),
                reason: format!("{} is the SKU of {count} products", record.sku),
            }]),
            Some(Entry::One(known)) => {
                let mut changed = false;
                if let Some(name) = record.name.filter(|name| *name != known.name) {
                    let change = ChangeProductDetails {
                        sku: record.sku.clone(),
                        name,
                    };
                    let outcome = self
                        .app
                        .commands
                        .change_product_details(
                            &self.context(line, "details"),
                            known.product_id,
                            change,
                        )
                        .await
                        .map_err(refused)?;
                    self.record(&outcome);
                    changed = true;
                }
                if let Some(serial_mode) =
                    record.serial_mode.filter(|mode| *mode != known.serial_mode)
                {
                    let set = SetSerialMode {
                        serial_mode,
                        source: SerialModeSource::CsvMassUpload,
                    };
                    let outcome = self
                        .app
                        .commands
                        .set_serial_mode(&self.context(line, "serial-mode"), known.product_id, set)
                        .await
                        .map_err(refused)?;
                    self.record(&outcome);
                    changed = true;
                }
                if let Some(package) = record.package {
                    match self.resolve(&package) {
                        Some(composition) if known.package.as_ref() == Some(&composition) => {}
                        Some(_) => {
                            self.set_package(line, known.product_id, &package)
                                .await
                                .map_err(|error| vec![error])?;
                            changed = true;
                        }
                        None => {
                            self.deferred.push((line, known.product_id, package));
                            changed = true;
                        }
                    }
                }
                Ok(if changed {
                    Applied::Updated
                } else {
                    Applied::Unchanged
                })
            }
        }
    }

    async fn set_package(
        &mut self,
        line: u64,
        product_id: ProductId,
        package: &PackageRecord,
    ) -> Result<(), RowError> {
        let composition = self.resolve(package).ok_or_else(|| RowError {
            line,
            column: Some(files::products_csv::COMPONENTS.to_owned()),
            reason: "a component was not created (its row was rejected)".to_owned(),
        })?;
        let outcome = self
            .app
            .commands
            .set_package_composition(&self.context(line, "package"), product_id, composition)
            .await
            .map_err(|error| refusal(line, error))?;
        self.record(&outcome);
        Ok(())
    }
}

/// A command refused while writing a row, as a row error (internal details logged).
fn refusal(line: u64, error: CommandError) -> RowError {
    let error = AppError::from(error);
    RowError {
        line,
        column: None,
        reason: format!("{} ({})", error.message, error.code),
    }
}

/// The products of `tenant` matching `filter` as the CSV, in SKU order: the header,
/// then one chunk per page of [`MAX_PAGE_SIZE`] products. A package's components are
/// named by SKU, looked up (and remembered) as they are met.
pub fn products_csv_stream(
    db: ReadDb,
    tenant: TenantId,
    filter: ProductFilter,
) -> impl Stream<Item = Result<Vec<u8>, MassUploadError>> + Send + 'static {
    struct Cursor {
        db: ReadDb,
        tenant: TenantId,
        filter: ProductFilter,
        page: Option<PageRequest>,
        writer: Option<ProductCsvWriter<Vec<u8>>>,
        skus: HashMap<ProductId, String>,
    }
    let start = Cursor {
        db,
        tenant,
        filter,
        page: Some(PageRequest::first(MAX_PAGE_SIZE)),
        writer: None,
        skus: HashMap::new(),
    };
    futures::stream::try_unfold(start, |mut cursor| async move {
        let Some(page) = cursor.page.take() else {
            return Ok(None);
        };
        let mut writer = match cursor.writer.take() {
            Some(writer) => writer,
            None => ProductCsvWriter::new(Vec::new())?,
        };
        let found = catalogue::products(&cursor.db, cursor.tenant, &cursor.filter, &page).await?;
        let wanted: HashSet<ProductId> = found
            .edges
            .iter()
            .filter_map(|edge| edge.node.package.as_ref())
            .flat_map(|package| package.components.iter().map(|c| c.product_id))
            .filter(|id| !cursor.skus.contains_key(id))
            .collect();
        for product_id in wanted {
            if let Some(product) =
                catalogue::product_by_id(&cursor.db, cursor.tenant, product_id).await?
            {
                cursor.skus.insert(product_id, product.sku);
            }
        }
        for edge in &found.edges {
            let record = ProductRecord::from_view(&edge.node, |id| cursor.skus.get(&id).cloned())?;
            writer.write(&record)?;
        }
        let chunk = writer.take_written()?;
        if found.has_next_page
            && let Some(last) = found.edges.last()
        {
            cursor.page = Some(page.after(last.cursor.clone()));
        }
        cursor.writer = Some(writer);
        Ok(Some((chunk, cursor)))
    })
}
