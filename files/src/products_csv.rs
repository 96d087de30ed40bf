//! The product mass upload/download CSV, with its "Serial Number Option".
//!
//! # Columns
//!
//! | Column                 | Export                          | Import                                                        |
//! |------------------------|---------------------------------|---------------------------------------------------------------|
//! | `SKU`                  | the SKU                         | required; picks the product: an existing SKU is edited, a new one created |
//! | `Name`                 | the name                        | required for a new product; blank on an edit keeps the name   |
//! | `Serial Number Option` | `Required`, `Optional`, `Disabled` | the same, case-insensitive; blank keeps the mode (a new product is `Disabled`) |
//! | `Package Mode`         | `Consolidated`, `Exploded`, or blank for a plain product | the same, case-insensitive; blank with blank `Components` leaves the package alone |
//! | `Components`           | `SKU*qty\|SKU*qty`               | the same (`SKU` alone means 1); each SKU an existing product or a row of the file |
//!
//! Headers are matched case-insensitively and in any order (a UTF-8 byte-order mark is
//! ignored); `SKU` and `Name` must be present, an unknown header refuses the file (a typo
//! such as "Serial Number Options" must not silently drop a column). A product cannot be
//! made a plain product again through the file: the domain has no such command.
//!
//! Cells are written with [`spreadsheet_safe`] (a leading `'` before `=`, `+`, `-`, `@`),
//! and the reader strips that `'` again, so an exported file uploads unchanged.
//!
//! # Reading
//!
//! [`ProductCsvReader`] streams: it holds one record at a time and yields a [`CsvRow`] per
//! record with its line number (the line the record starts on; the header is line 1) and
//! either the [`ProductRecord`] or every [`RowError`] of the row (invalid UTF-8, blank SKU,
//! unknown option, bad quantity, too long values, ...). Rules that need more than the row
//! (a SKU twice in the file, a component that is neither in the catalogue nor in the file,
//! a SKU shared by several products) are checked by [`FileValidator`], which keeps only the
//! file's SKUs and the component references not yet resolved; what it needs of the
//! catalogue comes through a [`CatalogueLookup`] closure, so this module stays free of I/O.
//!
//! [`RejectedCsv`] writes the bad rows back out as they were, with `Line` and `Errors`
//! columns, for the partial import mode.

use crate::sales_detail::{ExportError, spreadsheet_safe};
use domain::product::{MAX_COMPONENT_QUANTITY, MAX_PRODUCT_NAME_LENGTH, MAX_SKU_LENGTH};
use event_schemas::{PackageMode, ProductId, SerialMode};
use projections::queries::products::ProductView;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{Read, Write};

/// A record as it was in the file (cells as bytes), for [`RejectedCsv`].
pub use csv::ByteRecord;

/// The SKU column.
pub const SKU: &str = "SKU";
/// The name column.
pub const NAME: &str = "Name";
/// The serial mode column.
pub const SERIAL_NUMBER_OPTION: &str = "Serial Number Option";
/// The package mode column.
pub const PACKAGE_MODE: &str = "Package Mode";
/// The components column (`SKU*qty|SKU*qty`).
pub const COMPONENTS: &str = "Components";

/// The columns of the file, in the order the export writes them.
pub const HEADERS: [&str; 5] = [SKU, NAME, SERIAL_NUMBER_OPTION, PACKAGE_MODE, COMPONENTS];

/// The most components one package cell may list (the cell is bounded so a single row
/// cannot hold an unbounded list in memory).
pub const MAX_COMPONENTS: usize = 500;

/// Why a file cannot be read or written at all (as opposed to a bad row, [`RowError`]).
#[derive(Debug, thiserror::Error)]
pub enum ProductsCsvError {
    /// Reading or writing failed. API code `INTERNAL` for a write, `VALIDATION` for an
    /// upload that cannot be read.
    #[error("cannot read or write the CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Writing the export failed. API code `INTERNAL`.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The header row is missing or wrong. API code `VALIDATION`.
    #[error("line 1: {0}")]
    Header(String),
}

/// One bad row: where, which column, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The line the record starts on (the header is line 1).
    pub line: u64,
    /// The column, as the header names it; `None` when the row as a whole is wrong.
    pub column: Option<String>,
    /// Why, as a sentence a shop user can act on.
    pub reason: String,
}

impl RowError {
    fn new(line: u64, column: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            line,
            column: column.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, {column}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// One component of a package as the file names it: by SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRecord {
    /// The component's SKU.
    pub sku: String,
    /// Units of it in one package (1 to [`MAX_COMPONENT_QUANTITY`]).
    pub quantity: u32,
}

/// A package as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRecord {
    /// Consolidated or exploded.
    pub mode: PackageMode,
    /// The components, in order, each SKU once.
    pub components: Vec<ComponentRecord>,
}

/// One product row: what the export writes and the import reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRecord {
    /// The SKU, trimmed.
    pub sku: String,
    /// The name, trimmed; `None` when the cell is blank (keep it, on an edit).
    pub name: Option<String>,
    /// The serial mode; `None` when the cell is blank (keep it, or DISABLED for a new one).
    pub serial_mode: Option<SerialMode>,
    /// The package; `None` when both package cells are blank.
    pub package: Option<PackageRecord>,
}

/// A component of an exported package that is not a known product.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("package {sku} has component {component} that is not in the catalogue")]
pub struct UnknownComponent {
    /// The package's SKU.
    pub sku: String,
    /// The component that was not found.
    pub component: ProductId,
}

impl ProductRecord {
    /// The row of a catalogue product; `component_sku` names each component by its SKU.
    pub fn from_view(
        view: &ProductView,
        mut component_sku: impl FnMut(ProductId) -> Option<String>,
    ) -> Result<Self, UnknownComponent> {
        let package = match &view.package {
            None => None,
            Some(package) => Some(PackageRecord {
                mode: package.mode,
                components: package
                    .components
                    .iter()
                    .map(|component| {
                        let sku = component_sku(component.product_id).ok_or_else(|| {
                            UnknownComponent {
                                sku: view.sku.clone(),
                                component: component.product_id,
                            }
                        })?;
                        Ok(ComponentRecord {
                            sku,
                            quantity: component.quantity,
                        })
                    })
                    .collect::<Result<_, _>>()?,
            }),
        };
        Ok(Self {
            sku: view.sku.clone(),
            name: Some(view.name.clone()),
            serial_mode: Some(view.serial_mode),
            package,
        })
    }

    /// The row's cells, in [`HEADERS`] order.
    pub fn cells(&self) -> [String; 5] {
        let (mode, components) = match &self.package {
            None => (String::new(), String::new()),
            Some(package) => (
                package_mode_text(package.mode).to_owned(),
                package
                    .components
                    .iter()
                    .map(|component| format!("{}*{}", component.sku, component.quantity))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
        };
        [
            self.sku.clone(),
            self.name.clone().unwrap_or_default(),
            self.serial_mode
                .map(serial_option_text)
                .unwrap_or_default()
                .to_owned(),
            mode,
            components,
        ]
    }
}

/// "Required", "Optional" or "Disabled": the option as the file shows it.
pub fn serial_option_text(mode: SerialMode) -> &'static str {
    match mode {
        SerialMode::Required => "Required",
        SerialMode::Optional => "Optional",
        SerialMode::Disabled => "Disabled",
    }
}

/// "Consolidated" or "Exploded".
pub fn package_mode_text(mode: PackageMode) -> &'static str {
    match mode {
        PackageMode::Consolidated => "Consolidated",
        PackageMode::Exploded => "Exploded",
    }
}

/// The export: a header row, then one row per [`ProductCsvWriter::write`].
#[derive(Debug)]
pub struct ProductCsvWriter<W: Write> {
    table: crate::sales_detail::CsvTable<W>,
}

impl<W: Write> ProductCsvWriter<W> {
    /// Starts the file on `writer` with the [`HEADERS`] row.
    pub fn new(writer: W) -> Result<Self, ProductsCsvError> {
        Ok(Self {
            table: crate::sales_detail::CsvTable::new(writer, &HEADERS)?,
        })
    }

    /// Writes one product.
    pub fn write(&mut self, record: &ProductRecord) -> Result<(), ProductsCsvError> {
        self.table.write_row(&record.cells())?;
        Ok(())
    }

    /// Flushes and gives the destination back.
    pub fn finish(self) -> Result<W, ProductsCsvError> {
        Ok(self.table.finish()?)
    }
}

impl ProductCsvWriter<Vec<u8>> {
    /// The bytes written since the last call: the next chunk of a streamed download.
    pub fn take_written(&mut self) -> Result<Vec<u8>, ProductsCsvError> {
        Ok(self.table.take_written()?)
    }
}

/// One record of an upload: its line and what it says, or every error it has alone.
#[derive(Debug, Clone)]
pub struct CsvRow {
    /// The line the record starts on (the header is line 1).
    pub line: u64,
    /// The product row, or the row's errors (never empty).
    pub record: Result<ProductRecord, Vec<RowError>>,
    /// The record as it was in the file, for [`RejectedCsv`].
    pub raw: csv::ByteRecord,
}

/// Where each known column is in the upload.
#[derive(Debug, Clone, Copy)]
struct Columns {
    sku: usize,
    name: usize,
    serial: Option<usize>,
    package_mode: Option<usize>,
    components: Option<usize>,
    count: usize,
}

/// The upload, read one record at a time (see the module docs).
#[derive(Debug)]
pub struct ProductCsvReader<R: Read> {
    reader: csv::Reader<R>,
    columns: Columns,
    headers: csv::ByteRecord,
    record: csv::ByteRecord,
}

impl<R: Read> ProductCsvReader<R> {
    /// Reads the header row of `reader` and checks it names the columns this file has.
    pub fn new(reader: R) -> Result<Self, ProductsCsvError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            // A row with a missing or extra cell is a row error with its line, not the
            // end of the file.
            .flexible(true)
            .from_reader(reader);
        let mut headers = csv::ByteRecord::new();
        if !reader.read_byte_record(&mut headers)? {
            return Err(ProductsCsvError::Header(format!(
                "the file is empty: the first line must be the header {}",
                HEADERS.join(",")
            )));
        }
        let columns = columns(&headers)?;
        Ok(Self {
            reader,
            columns,
            headers,
            record: csv::ByteRecord::new(),
        })
    }

    /// The header row as the file has it.
    pub fn headers(&self) -> &csv::ByteRecord {
        &self.headers
    }
}

fn columns(headers: &csv::ByteRecord) -> Result<Columns, ProductsCsvError> {
    let mut found: [Option<usize>; 5] = [None; 5];
    for (index, cell) in headers.iter().enumerate() {
        let cell = cell.strip_prefix("\u{feff}".as_bytes()).unwrap_or(cell);
        let text = std::str::from_utf8(cell)
            .map_err(|_| ProductsCsvError::Header("the header is not valid UTF-8".to_owned()))?
            .trim();
        if text.is_empty() && index + 1 == headers.len() && index > 0 {
            // A trailing comma some spreadsheet tools add.
            continue;
        }
        let Some(known) = HEADERS.iter().position(|h| h.eq_ignore_ascii_case(text)) else {
            return Err(ProductsCsvError::Header(format!(
                "unknown column {text:?}: the columns are {}",
                HEADERS.join(", ")
            )));
        };
        if found[known].replace(index).is_some() {
            return Err(ProductsCsvError::Header(format!(
                "column {:?} appears twice",
                HEADERS[known]
            )));
        }
    }
    let required = |index: usize| {
        found[index].ok_or_else(|| {
            ProductsCsvError::Header(format!(
                "column {:?} is missing: the columns are {}",
                HEADERS[index],
                HEADERS.join(", ")
            ))
        })
    };
    let columns = Columns {
        sku: required(0)?,
        name: required(1)?,
        serial: found[2],
        package_mode: found[3],
        components: found[4],
        count: headers.len(),
    };
    if columns.package_mode.is_some() != columns.components.is_some() {
        return Err(ProductsCsvError::Header(format!(
            "columns {PACKAGE_MODE:?} and {COMPONENTS:?} go together: give both or neither"
        )));
    }
    Ok(columns)
}

impl<R: Read> Iterator for ProductCsvReader<R> {
    type Item = Result<CsvRow, ProductsCsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Err(error) => return Some(Err(error.into())),
                Ok(false) => return None,
                Ok(true) => {}
            }
            // Blank lines (every cell empty) are skipped: spreadsheets leave them at the end.
            if self
                .record
                .iter()
                .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let line = self.record.position().map_or(0, csv::Position::line);
            let record = parse_record(line, &self.record, self.columns);
            return Some(Ok(CsvRow {
                line,
                record,
                raw: self.record.clone(),
            }));
        }
    }
}

/// A cell as text: UTF-8, trimmed, with the `'` of [`spreadsheet_safe`] taken off again.
fn cell_text<'a>(
    line: u64,
    record: &'a csv::ByteRecord,
    index: Option<usize>,
    column: &str,
    errors: &mut Vec<RowError>,
) -> &'a str {
    let Some(bytes) = index.and_then(|index| record.get(index)) else {
        return "";
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => unprotect(text.trim()),
        Err(error) => {
            errors.push(RowError::new(
                line,
                Some(column),
                format!(
                    "is not valid UTF-8 (byte {}): save the file as CSV UTF-8",
                    error.valid_up_to() + 1
                ),
            ));
            ""
        }
    }
}

/// Undoes [`spreadsheet_safe`]: `'=x` is `=x`.
fn unprotect(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if spreadsheet_safe(rest.as_bytes()).len() != rest.len() => rest,
        _ => text,
    }
}

/// Checks free text: not too long (in characters), no control characters.
fn checked_text(
    line: u64,
    column: &str,
    text: &str,
    max: usize,
    errors: &mut Vec<RowError>,
) -> bool {
    let length = text.chars().count();
    if length > max {
        errors.push(RowError::new(
            line,
            Some(column),
            format!("must be at most {max} characters long (it has {length})"),
        ));
        return false;
    }
    if let Some(position) = text.chars().position(char::is_control) {
        errors.push(RowError::new(
            line,
            Some(column),
            format!(
                "must not contain control characters (found one at character {})",
                position + 1
            ),
        ));
        return false;
    }
    true
}

/// The serial option of a cell, case-insensitive.
pub fn parse_serial_option(text: &str) -> Option<SerialMode> {
    [
        SerialMode::Required,
        SerialMode::Optional,
        SerialMode::Disabled,
    ]
    .into_iter()
    .find(|mode| serial_option_text(*mode).eq_ignore_ascii_case(text.trim()))
}

fn parse_record(
    line: u64,
    record: &csv::ByteRecord,
    columns: Columns,
) -> Result<ProductRecord, Vec<RowError>> {
    let mut errors = Vec::new();
    if record.len() != columns.count {
        errors.push(RowError::new(
            line,
            None,
            format!(
                "has {} cells where the header has {}: check for a stray comma or an unclosed quote",
                record.len(),
                columns.count
            ),
        ));
    }
    let sku = cell_text(line, record, Some(columns.sku), SKU, &mut errors);
    if sku.is_empty() {
        if record
            .get(columns.sku)
            .is_some_and(|cell| std::str::from_utf8(cell).is_ok())
        {
            errors.push(RowError::new(line, Some(SKU), "must not be blank"));
        }
    } else {
        checked_text(line, SKU, sku, MAX_SKU_LENGTH, &mut errors);
        if sku.contains('|') {
            // The components cell separates SKUs with '|', so such a SKU could not be
            // named as a component; refusing it keeps every file this module writes
            // readable back.
            errors.push(RowError::new(line, Some(SKU), "must not contain '|'"));
        }
    }
    let name = cell_text(line, record, Some(columns.name), NAME, &mut errors);
    if !name.is_empty() {
        checked_text(line, NAME, name, MAX_PRODUCT_NAME_LENGTH, &mut errors);
    }
    let option = cell_text(
        line,
        record,
        columns.serial,
        SERIAL_NUMBER_OPTION,
        &mut errors,
    );
    let serial_mode = if option.is_empty() {
        None
    } else {
        let mode = parse_serial_option(option);
        if mode.is_none() {
            errors.push(RowError::new(
                line,
                Some(SERIAL_NUMBER_OPTION),
                format!(
                    "{:?} is not an option: must be Required, Optional or Disabled (case-insensitive), or blank to keep the product's",
                    truncated(option)
                ),
            ));
        }
        mode
    };
    let mode_text = cell_text(
        line,
        record,
        columns.package_mode,
        PACKAGE_MODE,
        &mut errors,
    );
    let components_text = cell_text(line, record, columns.components, COMPONENTS, &mut errors);
    let package = parse_package(line, mode_text, components_text, &mut errors);
    if errors.is_empty() {
        Ok(ProductRecord {
            sku: sku.to_owned(),
            name: (!name.is_empty()).then(|| name.to_owned()),
            serial_mode,
            package,
        })
    } else {
        Err(errors)
    }
}

/// At most 40 characters of a cell, for quoting it in a reason.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

fn parse_package(
    line: u64,
    mode_text: &str,
    components_text: &str,
    errors: &mut Vec<RowError>,
) -> Option<PackageRecord> {
    if mode_text.is_empty() && components_text.is_empty() {
        return None;
    }
    let mode = [PackageMode::Consolidated, PackageMode::Exploded]
        .into_iter()
        .find(|mode| package_mode_text(*mode).eq_ignore_ascii_case(mode_text));
    if mode_text.is_empty() {
        errors.push(RowError::new(
            line,
            Some(PACKAGE_MODE),
            "must be Consolidated or Exploded when Components are given",
        ));
    } else if mode.is_none() {
        errors.push(RowError::new(
            line,
            Some(PACKAGE_MODE),
            format!(
                "{:?} is not a package mode: must be Consolidated or Exploded (case-insensitive), or blank for a plain product",
                truncated(mode_text)
            ),
        ));
    }
    if components_text.is_empty() {
        errors.push(RowError::new(
            line,
            Some(COMPONENTS),
            "must list the package's components (SKU*qty|SKU*qty) when a Package Mode is given",
        ));
        return None;
    }
    let parts: Vec<&str> = components_text.split('|').collect();
    if parts.len() > MAX_COMPONENTS {
        errors.push(RowError::new(
            line,
            Some(COMPONENTS),
            format!("must list at most {MAX_COMPONENTS} components"),
        ));
        return None;
    }
    let mut components = Vec::with_capacity(parts.len());
    let mut seen = HashSet::new();
    for (index, part) in parts.into_iter().enumerate() {
        let part = part.trim();
        // "SKU*qty": the last '*' separates, so a SKU may itself contain '*'.
        let (sku, quantity) = match part.rsplit_once('*') {
            Some((sku, quantity)) => (sku.trim(), Some(quantity.trim())),
            None => (part, None),
        };
        let position = index + 1;
        if sku.is_empty() {
            errors.push(RowError::new(
                line,
                Some(COMPONENTS),
                format!("component {position} has no SKU: write SKU*qty, separated by |"),
            ));
            continue;
        }
        let quantity = match quantity {
            None => 1,
            Some(text) => match text.parse::<u32>() {
                Ok(quantity @ 1..=MAX_COMPONENT_QUANTITY) => quantity,
                _ => {
                    errors.push(RowError::new(
                        line,
                        Some(COMPONENTS),
                        format!(
                            "component {sku}: quantity {:?} must be a whole number from 1 to {MAX_COMPONENT_QUANTITY}",
                            truncated(text)
                        ),
                    ));
                    continue;
                }
            },
        };
        if !seen.insert(sku) {
            errors.push(RowError::new(
                line,
                Some(COMPONENTS),
                format!("lists {sku} more than once: list it once with the total quantity"),
            ));
            continue;
        }
        components.push(ComponentRecord {
            sku: sku.to_owned(),
            quantity,
        });
    }
    mode.map(|mode| PackageRecord { mode, components })
}

/// What the catalogue holds under a SKU, as the validator needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkuMatch {
    /// No product: the row creates one.
    None,
    /// Exactly one product: the row edits it.
    One,
    /// Several products share the SKU: the file cannot say which one it means.
    Many(usize),
}

/// How the validator asks the catalogue about a SKU.
pub type CatalogueLookup<'a> = &'a dyn Fn(&str) -> SkuMatch;

/// The rules that need more than one row (see the module docs). Feed it every good row in
/// file order with [`FileValidator::check`], then call [`FileValidator::finish`].
#[derive(Debug, Default)]
pub struct FileValidator {
    /// Every SKU of the file with the line it was first seen on.
    seen: HashMap<String, u64>,
    /// The SKUs of rows that are rejected: a package naming one as a component cannot
    /// be written either.
    bad: HashSet<String>,
    /// Components neither in the catalogue nor earlier in the file: (line, SKU).
    pending: Vec<(u64, String)>,
}

impl FileValidator {
    /// A validator that has seen no row.
    pub fn new() -> Self {
        Self::default()
    }

    /// The errors of `record` (at `line`) against the file so far and the catalogue.
    pub fn check(
        &mut self,
        line: u64,
        record: &ProductRecord,
        catalogue: CatalogueLookup<'_>,
    ) -> Vec<RowError> {
        let mut errors = Vec::new();
        if let Some(first) = self.seen.get(&record.sku) {
            errors.push(RowError::new(
                line,
                Some(SKU),
                format!(
                    "{} is already on line {first}: each SKU may appear once",
                    record.sku
                ),
            ));
            return errors;
        }
        match catalogue(&record.sku) {
            SkuMatch::None if record.name.is_none() => errors.push(RowError::new(
                line,
                Some(NAME),
                format!("must not be blank: {} is a new product", record.sku),
            )),
            SkuMatch::Many(count) => errors.push(RowError::new(
                line,
                Some(SKU),
                format!(
                    "{} is the SKU of {count} products: edit them by hand so each has its own SKU",
                    record.sku
                ),
            )),
            _ => {}
        }
        if let Some(package) = &record.package {
            for component in &package.components {
                if component.sku == record.sku {
                    errors.push(RowError::new(
                        line,
                        Some(COMPONENTS),
                        format!("a package cannot contain itself ({})", record.sku),
                    ));
                    continue;
                }
                match catalogue(&component.sku) {
                    SkuMatch::One => {}
                    SkuMatch::Many(count) => errors.push(RowError::new(
                        line,
                        Some(COMPONENTS),
                        format!(
                            "component {} is the SKU of {count} products: the file cannot say which",
                            component.sku
                        ),
                    )),
                    SkuMatch::None => {
                        if self.bad.contains(&component.sku) {
                            errors.push(rejected_component(line, &component.sku, &self.seen));
                        } else if !self.seen.contains_key(&component.sku) {
                            self.pending.push((line, component.sku.clone()));
                        }
                    }
                }
            }
        }
        self.seen.insert(record.sku.clone(), line);
        if !errors.is_empty() {
            self.bad.insert(record.sku.clone());
        }
        errors
    }

    /// Records the SKU of a row rejected on its own: a later row with the same SKU is still
    /// a duplicate, and a package naming it is told its component's row is rejected.
    pub fn note_bad_row(&mut self, line: u64, sku: Option<&str>) {
        if let Some(sku) = sku.filter(|sku| !sku.is_empty())
            && let std::collections::hash_map::Entry::Vacant(entry) =
                self.seen.entry(sku.to_owned())
        {
            entry.insert(line);
            self.bad.insert(sku.to_owned());
        }
    }

    /// The errors only the whole file can show: components named before their rows but
    /// never given a row (or given only a bad one).
    pub fn finish(self) -> Vec<RowError> {
        self.pending
            .into_iter()
            .filter_map(|(line, sku)| {
                if self.bad.contains(&sku) {
                    Some(rejected_component(line, &sku, &self.seen))
                } else if self.seen.contains_key(&sku) {
                    None
                } else {
                    Some(RowError::new(
                        line,
                        Some(COMPONENTS),
                        format!(
                            "component {sku} is not a product: it is neither in the catalogue nor a row of this file"
                        ),
                    ))
                }
            })
            .collect()
    }
}

/// A package row naming a component whose own row is rejected.
fn rejected_component(line: u64, sku: &str, seen: &HashMap<String, u64>) -> RowError {
    let on = seen.get(sku).copied().unwrap_or_default();
    RowError::new(
        line,
        Some(COMPONENTS),
        format!("component {sku} is not a product: its row (line {on}) is rejected"),
    )
}

/// The SKU cell of a raw record, when it is readable (for [`FileValidator::note_bad_row`]).
pub fn raw_sku<'a, R: Read>(
    reader: &ProductCsvReader<R>,
    raw: &'a csv::ByteRecord,
) -> Option<&'a str> {
    raw.get(reader.columns.sku)
        .and_then(|cell| std::str::from_utf8(cell).ok())
        .map(|text| unprotect(text.trim()))
}

/// The rejected rows of a partial import, as they were in the file, with the line they
/// were on and why, so the user can fix them and upload this file again (the `Line` and
/// `Errors` columns are extra; remove them before uploading).
#[derive(Debug)]
pub struct RejectedCsv<W: Write> {
    writer: csv::Writer<W>,
    width: usize,
}

/// The extra columns of [`RejectedCsv`].
pub const REJECTED_HEADERS: [&str; 2] = ["Line", "Errors"];

impl<W: Write> RejectedCsv<W> {
    /// Starts the file with the upload's own header row and the extra columns.
    pub fn new(writer: W, headers: &csv::ByteRecord) -> Result<Self, ProductsCsvError> {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_writer(writer);
        let mut record = headers.clone();
        for header in REJECTED_HEADERS {
            record.push_field(header.as_bytes());
        }
        writer.write_byte_record(&record)?;
        Ok(Self {
            writer,
            width: headers.len(),
        })
    }

    /// Writes a rejected record with its line and errors.
    pub fn write(
        &mut self,
        line: u64,
        raw: &csv::ByteRecord,
        errors: &[RowError],
    ) -> Result<(), ProductsCsvError> {
        let mut record = csv::ByteRecord::new();
        for index in 0..self.width {
            record.push_field(raw.get(index).unwrap_or_default());
        }
        record.push_field(line.to_string().as_bytes());
        let reasons = errors
            .iter()
            .map(|error| match &error.column {
                Some(column) => format!("{column}: {}", error.reason),
                None => error.reason.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        record.push_field(reasons.as_bytes());
        self.writer.write_byte_record(&record)?;
        Ok(())
    }

    /// Flushes and gives the destination back.
    pub fn finish(self) -> Result<W, ProductsCsvError> {
        self.writer
            .into_inner()
            .map_err(|error| ProductsCsvError::Export(ExportError::Io(error.into_error())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn rows(text: &[u8]) -> Vec<CsvRow> {
        ProductCsvReader::new(text)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    fn errors_of(row: &CsvRow) -> Vec<String> {
        row.record
            .as_ref()
            .err()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_good_file_reads_every_column() {
        let rows = rows(
            b"SKU,Name,Serial Number Option,Package Mode,Components\n\
              PHONE-1,Phone,required,,\n\
              CASE-1,Case,,,\n\
              KIT-1,Kit,Optional,exploded,PHONE-1*1|CASE-1\n",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].line, 2);
        assert_eq!(
            rows[0].record.as_ref().unwrap(),
            &ProductRecord {
                sku: "PHONE-1".into(),
                name: Some("Phone".into()),
                serial_mode: Some(SerialMode::Required),
                package: None,
            }
        );
        assert_eq!(rows[1].record.as_ref().unwrap().serial_mode, None);
        assert_eq!(
            rows[2].record.as_ref().unwrap().package,
            Some(PackageRecord {
                mode: PackageMode::Exploded,
                components: vec![
                    ComponentRecord {
                        sku: "PHONE-1".into(),
                        quantity: 1
                    },
                    ComponentRecord {
                        sku: "CASE-1".into(),
                        quantity: 1
                    },
                ],
            })
        );
    }

    #[test]
    fn an_unknown_option_is_refused_naming_the_column_line_and_choices() {
        let rows = rows(b"SKU,Name,Serial Number Option\nA,Apple,Maybe\n");
        assert_eq!(
            errors_of(&rows[0]),
            vec![
                "line 2, Serial Number Option: \"Maybe\" is not an option: must be Required, Optional or Disabled (case-insensitive), or blank to keep the product's"
            ]
        );
    }

    #[test]
    fn every_error_of_a_row_is_reported() {
        let rows = rows(
            b"SKU,Name,Serial Number Option,Package Mode,Components\n\
              ,Nameless,Disabled,,\n\
              B,B,,Boxed,A*0|*2|C*x|A*1\n",
        );
        assert_eq!(errors_of(&rows[0]), vec!["line 2, SKU: must not be blank"]);
        let errors = errors_of(&rows[1]);
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("Package Mode: \"Boxed\" is not a package mode"));
        assert!(errors[1].contains("component A: quantity \"0\""));
        assert!(errors[2].contains("component 2 has no SKU"));
        assert!(errors[3].contains("component C: quantity \"x\""));
    }

    #[test]
    fn invalid_utf8_and_too_long_values_are_refused() {
        let mut text = b"SKU,Name\nA,".to_vec();
        text.extend_from_slice(&[0xff, 0xfe]);
        text.extend_from_slice(format!("\n{},Long\n", "S".repeat(65)).as_bytes());
        let rows = rows(&text);
        assert_eq!(
            errors_of(&rows[0]),
            vec!["line 2, Name: is not valid UTF-8 (byte 1): save the file as CSV UTF-8"]
        );
        assert_eq!(
            errors_of(&rows[1]),
            vec!["line 3, SKU: must be at most 64 characters long (it has 65)"]
        );
    }

    #[test]
    fn line_numbers_count_lines_inside_quoted_cells() {
        let rows = rows(b"SKU,Name\nA,\"two\nlines\"\nB,Bad,extra\n");
        assert_eq!(rows[1].line, 4);
        assert!(errors_of(&rows[1])[0].contains("has 3 cells where the header has 2"));
    }

    #[test]
    fn a_bad_header_refuses_the_file() {
        let error = ProductCsvReader::new(&b"SKU,Name,Serial Number Options\n"[..]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unknown column \"Serial Number Options\"")
        );
        let error = ProductCsvReader::new(&b"Name\n"[..]).unwrap_err();
        assert!(error.to_string().contains("column \"SKU\" is missing"));
        assert!(ProductCsvReader::new(&b""[..]).is_err());
        // A byte-order mark and other case are fine.
        assert!(ProductCsvReader::new("\u{feff}sku,NAME\n".as_bytes()).is_ok());
    }

    #[test]
    fn the_validator_finds_duplicates_new_products_without_names_and_unknown_components() {
        let catalogue = |sku: &str| match sku {
            "OLD" => SkuMatch::One,
            "TWIN" => SkuMatch::Many(2),
            _ => SkuMatch::None,
        };
        let record = |sku: &str, name: Option<&str>, components: &[&str]| ProductRecord {
            sku: sku.into(),
            name: name.map(Into::into),
            serial_mode: None,
            package: (!components.is_empty()).then(|| PackageRecord {
                mode: PackageMode::Consolidated,
                components: components
                    .iter()
                    .map(|sku| ComponentRecord {
                        sku: (*sku).into(),
                        quantity: 1,
                    })
                    .collect(),
            }),
        };
        let mut validator = FileValidator::new();
        assert!(
            validator
                .check(2, &record("OLD", None, &[]), &catalogue)
                .is_empty()
        );
        // Forward reference to LATER (defined on line 5) and to NOWHERE.
        assert!(
            validator
                .check(
                    3,
                    &record("KIT", Some("Kit"), &["LATER", "NOWHERE", "OLD"]),
                    &catalogue
                )
                .is_empty()
        );
        let errors = validator.check(4, &record("NEW", None, &[]), &catalogue);
        assert_eq!(
            errors[0].to_string(),
            "line 4, Name: must not be blank: NEW is a new product"
        );
        assert!(
            validator
                .check(5, &record("LATER", Some("Later"), &[]), &catalogue)
                .is_empty()
        );
        let errors = validator.check(6, &record("OLD", Some("Again"), &[]), &catalogue);
        assert_eq!(
            errors[0].to_string(),
            "line 6, SKU: OLD is already on line 2: each SKU may appear once"
        );
        let errors = validator.check(7, &record("TWIN", Some("Twin"), &[]), &catalogue);
        assert!(errors[0].reason.contains("SKU of 2 products"));
        let errors = validator.finish();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert!(
            errors[0]
                .reason
                .contains("component NOWHERE is not a product")
        );
    }

    #[test]
    fn an_exported_row_reads_back_the_same_even_when_it_looks_like_a_formula() {
        let record = ProductRecord {
            sku: "=SUM(A1)".into(),
            name: Some("-Minus, \"quoted\"".into()),
            serial_mode: Some(SerialMode::Optional),
            package: Some(PackageRecord {
                mode: PackageMode::Consolidated,
                components: vec![ComponentRecord {
                    sku: "A*B".into(),
                    quantity: 3,
                }],
            }),
        };
        let mut writer = ProductCsvWriter::new(Vec::new()).unwrap();
        writer.write(&record).unwrap();
        let bytes = writer.finish().unwrap();
        let read = rows(&bytes);
        assert_eq!(read[0].record.as_ref().unwrap(), &record);
    }

    #[test]
    fn rejected_rows_are_written_back_with_their_line_and_errors() {
        let text = b"SKU,Name,Serial Number Option\nA,Apple,Maybe\n";
        let reader = ProductCsvReader::new(&text[..]).unwrap();
        let headers = reader.headers().clone();
        let rows: Vec<CsvRow> = reader.map(Result::unwrap).collect();
        let mut rejected = RejectedCsv::new(Vec::new(), &headers).unwrap();
        rejected
            .write(
                rows[0].line,
                &rows[0].raw,
                rows[0].record.as_ref().unwrap_err(),
            )
            .unwrap();
        let text = String::from_utf8(rejected.finish().unwrap()).unwrap();
        assert!(text.starts_with("SKU,Name,Serial Number Option,Line,Errors\nA,Apple,Maybe,2,"));
    }
}
