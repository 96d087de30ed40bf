//! The sales detail export, as CSV and as an Excel workbook (XLSX).
//!
//! The columns and each row's cells come from the read model
//! ([`SalesDetailRow::HEADERS`], [`SalesDetailRow::cells`]): "Serial Number" and "Sale Type"
//! are columns, and "Delivery Mode" (its full name, "Cash and Carry" included) stands right
//! beside "Serial Number", as the spec asks. This module only writes them out.
//!
//! Both writers take rows one at a time, so a large date range never has to sit in memory:
//! [`CsvTable`] writes straight through to any [`std::io::Write`] (and, over a `Vec<u8>`,
//! hands out what it wrote so far for a streamed HTTP body), and [`XlsxTable`] uses
//! rust_xlsxwriter's constant-memory mode, which keeps each finished row in a temporary file
//! instead of memory until the workbook is zipped at the end.
//!
//! [`CsvTable`] and [`XlsxTable`] are shared with the fulfilment exports
//! ([`crate::fulfilment`]).

use projections::queries::sales::SalesDetailRow;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::io::Write;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing CSV failed (in practice: the destination failed). The API answers
    /// `INTERNAL` (HTTP 500), the CLI reports it.
    #[error("could not write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Building the workbook failed: no writable temporary directory for constant-memory
    /// mode, or more rows than a worksheet holds (1,048,576). `INTERNAL` (HTTP 500).
    #[error("could not write the Excel workbook: {0}")]
    Xlsx(#[from] XlsxError),
    /// The destination failed. `INTERNAL` (HTTP 500).
    #[error("could not write the file: {0}")]
    Io(#[from] std::io::Error),
}

/// A CSV file being written: a header row, then one record per [`CsvTable::write_row`].
#[derive(Debug)]
pub struct CsvTable<W: Write> {
    writer: csv::Writer<W>,
}

/// A cell as a spreadsheet may safely open it. Spreadsheet tools run a cell that starts with
/// `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a formula, and text such
/// as a customer's name or a cancellation reason is typed by people: such a cell gets a
/// leading `'`, which spreadsheets show as text and do not display (OWASP's advice for CSV
/// injection). Numbers (`-1250`) are left alone.
pub fn spreadsheet_safe(cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let risky = matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    let number = std::str::from_utf8(cell).is_ok_and(|text| text.parse::<f64>().is_ok());
    if risky && !number {
        let mut safe = Vec::with_capacity(cell.len() + 1);
        safe.push(b'\'');
        safe.extend_from_slice(cell);
        std::borrow::Cow::Owned(safe)
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

impl<W: Write> CsvTable<W> {
    /// Starts a CSV file on `writer` with the header row `headers`.
    pub fn new(writer: W, headers: &[&str]) -> Result<Self, ExportError> {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(writer);
        writer.write_record(headers)?;
        Ok(Self { writer })
    }

    /// Writes one record (its cells in the header's order). A text cell that a spreadsheet
    /// would run as a formula is written with a leading `'` (see [`spreadsheet_safe`]).
    pub fn write_row<S: AsRef<[u8]>>(&mut self, cells: &[S]) -> Result<(), ExportError> {
        self.writer
            .write_record(cells.iter().map(|cell| spreadsheet_safe(cell.as_ref())))?;
        Ok(())
    }

    /// Flushes what is buffered and gives the destination back.
    pub fn finish(self) -> Result<W, ExportError> {
        self.writer
            .into_inner()
            .map_err(|error| ExportError::Io(error.into_error()))
    }
}

impl CsvTable<Vec<u8>> {
    /// The bytes written since the last call (the header first): the next chunk of a
    /// streamed download.
    pub fn take_written(&mut self) -> Result<Vec<u8>, ExportError> {
        // csv::Writer does not lend its destination out, so the written buffer is taken by
        // swapping in a fresh writer; between records a writer holds no other state.
        let fresh = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        let written = std::mem::replace(&mut self.writer, fresh);
        written
            .into_inner()
            .map_err(|error| ExportError::Io(error.into_error()))
    }
}

/// An Excel workbook being written: one worksheet in constant-memory mode, a bold header
/// row (frozen, so it stays on screen while scrolling), then one row per
/// [`XlsxTable::write_row`].
///
/// Cells are written as text, so a serial such as `000123` is never turned into a number;
/// only the columns named numeric (quantities, amounts in minor units, line numbers) are
/// written as numbers, so a spreadsheet can sum them.
pub struct XlsxTable {
    workbook: Workbook,
    numeric: Vec<bool>,
    next_row: u32,
}

impl std::fmt::Debug for XlsxTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxTable")
            .field("next_row", &self.next_row)
            .finish_non_exhaustive()
    }
}

impl XlsxTable {
    /// Starts a workbook whose one worksheet is named `sheet_name`, with the header row
    /// `headers`; the columns at the indexes in `numeric_columns` are written as numbers
    /// when their text is an integer.
    pub fn new(
        sheet_name: &str,
        headers: &[&str],
        numeric_columns: &[usize],
    ) -> Result<Self, ExportError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(sheet_name)?;
        let bold = Format::new().set_bold();
        for (column, header) in (0u16..).zip(headers) {
            // Widths must be set before the first row in constant-memory mode.
            let width = (header.len() + 4).max(14);
            sheet.set_column_width(column, width as f64)?;
            sheet.write_string_with_format(0, column, *header, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let numeric = (0..headers.len())
            .map(|column| numeric_columns.contains(&column))
            .collect();
        Ok(Self {
            workbook,
            numeric,
            next_row: 1,
        })
    }

    /// Writes one row (its cells in the header's order).
    pub fn write_row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), ExportError> {
        let row = self.next_row;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (column, cell) in (0u16..).zip(cells) {
            let text = cell.as_ref();
            if text.is_empty() {
                continue;
            }
            let number = self
                .numeric
                .get(usize::from(column))
                .copied()
                .unwrap_or(false)
                .then(|| text.parse::<i64>().ok())
                .flatten();
            match number {
                // Integers up to 2^53 are exact as f64: far beyond any quantity or amount.
                Some(number) => sheet.write_number(row, column, number as f64)?,
                None => sheet.write_string(row, column, text)?,
            };
        }
        self.next_row += 1;
        Ok(())
    }

    /// The rows written so far, the header not counted.
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    /// Zips the workbook and returns its bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, ExportError> {
        Ok(self.workbook.save_to_buffer()?)
    }
}

/// The worksheet's name in the sales detail workbook.
pub const SHEET_NAME: &str = "Sales Detail";

/// The columns written as numbers: Line, Quantity and the three amounts (minor units).
const NUMERIC_COLUMNS: [usize; 5] = [2, 8, 9, 10, 11];

/// Starts a sales detail CSV on `writer`: the header row is written; add rows with
/// [`CsvTable::write_row`]`(&row.cells())`, or use [`write_csv`].
pub fn csv_table<W: Write>(writer: W) -> Result<CsvTable<W>, ExportError> {
    CsvTable::new(writer, &SalesDetailRow::HEADERS)
}

/// Starts a sales detail workbook; add rows with [`XlsxTable::write_row`]`(&row.cells())`,
/// or use [`xlsx`].
pub fn xlsx_table() -> Result<XlsxTable, ExportError> {
    XlsxTable::new(SHEET_NAME, &SalesDetailRow::HEADERS, &NUMERIC_COLUMNS)
}

/// The sales detail export of `rows` as CSV on `writer`, which is given back flushed.
pub fn write_csv<'a, W: Write>(
    writer: W,
    rows: impl IntoIterator<Item = &'a SalesDetailRow>,
) -> Result<W, ExportError> {
    let mut table = csv_table(writer)?;
    for row in rows {
        table.write_row(&row.cells())?;
    }
    table.finish()
}

/// The sales detail export of `rows` as an Excel workbook.
pub fn xlsx<'a>(
    rows: impl IntoIterator<Item = &'a SalesDetailRow>,
) -> Result<Vec<u8>, ExportError> {
    let mut table = xlsx_table()?;
    for row in rows {
        table.write_row(&row.cells())?;
    }
    table.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use event_schemas::{DeliveryMode, LineNumber, Money, OutletId, ProductId, SaleId, SaleType};
    use projections::queries::LineStatus;
    use time::macros::datetime;
    use uuid::Uuid;

    #[test]
    fn a_text_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+61 400", "'+61 400"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-SN-1", "'-SN-1"),
            ("-1250", "-1250"),
            ("SN-1", "SN-1"),
            ("", ""),
        ] {
            assert_eq!(
                spreadsheet_safe(cell.as_bytes()).as_ref(),
                written.as_bytes()
            );
        }
    }

    fn row(serial: Option<&str>, delivery_mode: DeliveryMode) -> SalesDetailRow {
        SalesDetailRow {
            date: datetime!(2026-11-27 09:30 UTC),
            sale_id: SaleId(Uuid::nil()),
            invoice_number: "INV-1005".to_owned(),
            line_number: LineNumber(2),
            sale_type: SaleType::SpecialOrder,
            customer_name: Some("Ada, \"the\" buyer".to_owned()),
            outlet_id: OutletId(Uuid::nil()),
            product_id: ProductId(Uuid::nil()),
            product_name: "Laptop".to_owned(),
            sku: "LAP-1".to_owned(),
            quantity: 1,
            unit_price: Money {
                amount_minor: 129_900,
                currency: "AUD".to_owned(),
            },
            line_total: Money {
                amount_minor: 129_900,
                currency: "AUD".to_owned(),
            },
            refund: None,
            status: LineStatus::Fulfilled,
            serial: serial.map(str::to_owned),
            delivery_mode,
        }
    }

    #[test]
    fn the_csv_has_the_spec_columns_and_quotes_what_needs_quoting() {
        let rows = [
            row(Some("SN-001"), DeliveryMode::CashAndCarry),
            row(None, DeliveryMode::Delivery),
        ];
        let bytes = write_csv(Vec::new(), &rows).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, SalesDetailRow::HEADERS);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(&records[0][3], "Special Order");
        assert_eq!(&records[0][4], "Ada, \"the\" buyer");
        assert_eq!(&records[0][14], "SN-001");
        assert_eq!(&records[0][15], "Cash and Carry");
        assert_eq!(&records[1][14], "");
        assert_eq!(&records[1][15], "Delivery");
    }

    #[test]
    fn taking_written_bytes_in_chunks_gives_the_whole_file() {
        let rows = [row(Some("SN-001"), DeliveryMode::Pickup)];
        let mut table = csv_table(Vec::new()).unwrap();
        let mut streamed = table.take_written().unwrap();
        table.write_row(&rows[0].cells()).unwrap();
        streamed.extend(table.take_written().unwrap());
        assert_eq!(streamed, write_csv(Vec::new(), &rows).unwrap());
    }

    #[test]
    fn the_workbook_is_a_zip_with_one_row_per_line() {
        let rows = [
            row(Some("SN-001"), DeliveryMode::CashAndCarry),
            row(Some("000123"), DeliveryMode::DropShip),
        ];
        let mut table = xlsx_table().unwrap();
        for row in &rows {
            table.write_row(&row.cells()).unwrap();
        }
        assert_eq!(table.rows(), 2);
        let bytes = table.finish().unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
