//! Fulfilment report exports (CSV, XLSX) and pick lists (CSV, XLSX, printable PDF).
//!
//! The spec: "Serial number details are now included in fulfilment Report exports —
//! including Picklists and Excel exports — ... (Excluding Invoice Pick List)". So:
//!
//! - the fulfilment report export has a "Serial Number" column and a "Pending Serial"
//!   column (Yes for a REQUIRED line with no serial yet, which blocks fulfilment);
//! - the standard pick list shows each line's serial, or `PENDING` where a REQUIRED line
//!   still waits for one ([`PickSerial::cell`]);
//! - the invoice pick list has no serial column at all: its rows and headers come from
//!   [`PickListLine::headers`]/[`PickListLine::cells`], which leave the serial out for
//!   [`PickListKind::Invoice`].
//!
//! Rows come from the read model's fulfilment report ([`ReportLine`]) and pick list
//! ([`PickListLine`]); CSV and XLSX use the tables of [`crate::sales_detail`].
//!
//! [`PickSerial::cell`]: projections::queries::fulfilment::PickSerial::cell

use crate::invoice::layout::TextPdf;
pub use crate::sales_detail::{CsvTable, ExportError, XlsxTable};
use projections::queries::ReportLine;
use projections::queries::fulfilment::{PickListKind, PickListLine};
use std::io::Write;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The fulfilment report export's columns, in order.
pub const REPORT_HEADERS: [&str; 14] = [
    "Date",
    "Invoice Number",
    "Sale Type",
    "Customer",
    "Outlet",
    "Delivery Mode",
    "Line",
    "Package Line",
    "SKU",
    "Product",
    "Quantity",
    "Serial Mode",
    "Serial Number",
    "Pending Serial",
];

/// Report columns written as numbers in XLSX: Line, Package Line, Quantity.
const REPORT_NUMERIC: [usize; 3] = [6, 7, 10];
/// Pick-list columns written as numbers in XLSX: Line, Package Line, Quantity.
const PICK_NUMERIC: [usize; 3] = [3, 4, 7];

/// A fulfilment report row's cells, in the order of [`REPORT_HEADERS`]. The date is RFC
/// 3339 in UTC; "Pending Serial" is `Yes` for an open REQUIRED line without a serial.
pub fn report_cells(row: &ReportLine) -> [String; 14] {
    let (sale, line) = (&row.sale, &row.line);
    [
        sale.opened_at.format(&Rfc3339).unwrap_or_default(),
        sale.invoice_number.clone(),
        sale.sale_type.label().to_owned(),
        sale.customer
            .as_ref()
            .map(|customer| customer.name.clone())
            .unwrap_or_default(),
        sale.outlet_id.to_string(),
        sale.delivery_mode.full_name().to_owned(),
        line.line_number.to_string(),
        line.parent_line()
            .map(|parent| parent.to_string())
            .unwrap_or_default(),
        line.sku.clone(),
        line.product_name.clone(),
        line.quantity.to_string(),
        line.serial_mode.label().to_owned(),
        line.serial.clone().unwrap_or_default(),
        if line.is_pending_serial() { "Yes" } else { "" }.to_owned(),
    ]
}

/// Starts a fulfilment report CSV on `writer` (header written).
pub fn report_csv_table<W: Write>(writer: W) -> Result<CsvTable<W>, ExportError> {
    CsvTable::new(writer, &REPORT_HEADERS)
}

/// Starts a fulfilment report workbook (header written).
pub fn report_xlsx_table() -> Result<XlsxTable, ExportError> {
    XlsxTable::new("Fulfilment Report", &REPORT_HEADERS, &REPORT_NUMERIC)
}

/// The fulfilment report export of `rows` as CSV on `writer`, given back flushed.
pub fn write_report_csv<'a, W: Write>(
    writer: W,
    rows: impl IntoIterator<Item = &'a ReportLine>,
) -> Result<W, ExportError> {
    let mut table = report_csv_table(writer)?;
    for row in rows {
        table.write_row(&report_cells(row))?;
    }
    table.finish()
}

/// The fulfilment report export of `rows` as an Excel workbook.
pub fn report_xlsx<'a>(
    rows: impl IntoIterator<Item = &'a ReportLine>,
) -> Result<Vec<u8>, ExportError> {
    let mut table = report_xlsx_table()?;
    for row in rows {
        table.write_row(&report_cells(row))?;
    }
    table.finish()
}

/// The title of a pick list of `kind`.
pub fn pick_list_title(kind: PickListKind) -> &'static str {
    match kind {
        PickListKind::Standard => "Pick List",
        PickListKind::Invoice => "Invoice Pick List",
    }
}

/// A pick list of `kind` as CSV on `writer`, given back flushed. The invoice pick list has
/// no serial column.
pub fn write_pick_list_csv<'a, W: Write>(
    writer: W,
    kind: PickListKind,
    lines: impl IntoIterator<Item = &'a PickListLine>,
) -> Result<W, ExportError> {
    let mut table = CsvTable::new(writer, PickListLine::headers(kind))?;
    for line in lines {
        table.write_row(&line.cells())?;
    }
    table.finish()
}

/// A pick list of `kind` as an Excel workbook. The invoice pick list has no serial column.
pub fn pick_list_xlsx<'a>(
    kind: PickListKind,
    lines: impl IntoIterator<Item = &'a PickListLine>,
) -> Result<Vec<u8>, ExportError> {
    let mut table = XlsxTable::new(
        pick_list_title(kind),
        PickListLine::headers(kind),
        &PICK_NUMERIC,
    )?;
    for line in lines {
        table.write_row(&line.cells())?;
    }
    table.finish()
}

/// Pick-list columns in the PDF, (left x, width) on an A4 landscape page: a tick box, Line,
/// Package Line, SKU, Product, Quantity, and (standard pick list only) Serial Number.
const PDF_COLUMNS: [(f32, f32); 7] = [
    (40.0, 38.0),
    (80.0, 30.0),
    (112.0, 44.0),
    (158.0, 118.0),
    (278.0, 250.0),
    (530.0, 34.0),
    (566.0, 236.0),
];

/// A pick list of `kind` as a printable PDF: lines grouped by sale (invoice number,
/// customer, delivery mode), each with a tick box for the picker; the standard pick list
/// shows each line's serial or `PENDING`, the invoice pick list no serials. `generated_at`
/// is printed under the title.
pub fn pick_list_pdf(
    kind: PickListKind,
    lines: &[PickListLine],
    generated_at: OffsetDateTime,
) -> Vec<u8> {
    let title = pick_list_title(kind);
    let mut pdf = TextPdf::new(title, true);
    pdf.text(40.0, title, 16.0, true);
    pdf.advance(18.0);
    let when = generated_at
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    pdf.text(
        40.0,
        &format!("Generated {when}. {} line(s) to pick.", lines.len()),
        9.0,
        false,
    );
    pdf.advance(20.0);
    let mut header = vec!["Picked", "Line", "Pkg Line", "SKU", "Product", "Qty"];
    if kind == PickListKind::Standard {
        header.push("Serial Number");
    }
    let columns = &PDF_COLUMNS[..header.len()];
    if lines.is_empty() {
        pdf.text(40.0, "Nothing to pick.", 10.0, false);
    }
    let mut current_sale = None;
    for line in lines {
        let new_sale = current_sale != Some(line.sale_id);
        // A sale's heading needs room for itself, the column header and one line, so it
        // is never left alone at the foot of a page.
        let needed = if new_sale { 52.0 } else { 14.0 };
        let new_page = pdf.ensure_room(needed);
        if new_sale {
            current_sale = Some(line.sale_id);
            pdf.advance(6.0);
            let mut heading = line.invoice_number.clone();
            if let Some(customer) = &line.customer_name {
                heading.push_str(&format!("  |  {customer}"));
            }
            heading.push_str(&format!("  |  {}", line.delivery_mode.full_name()));
            let heading = crate::invoice::layout::fit(&heading, pdf.usable_width(), 11.0);
            pdf.text(40.0, &heading, 11.0, true);
            pdf.advance(16.0);
        }
        if new_sale || new_page {
            pdf.row(columns, &header, 9.0, true);
            pdf.rule();
        }
        let mut cells = vec![
            "[   ]".to_owned(),
            line.line_number.to_string(),
            line.parent_line
                .map(|parent| parent.to_string())
                .unwrap_or_default(),
            line.sku.clone(),
            line.product_name.clone(),
            line.quantity.to_string(),
        ];
        if let Some(serial) = &line.serial {
            cells.push(serial.cell());
        }
        pdf.row(columns, &cells, 9.0, false);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use event_schemas::{DeliveryMode, LineNumber, OutletId, SaleId};
    use projections::queries::fulfilment::PickSerial;
    use time::macros::datetime;
    use uuid::Uuid;

    fn line(number: u32, serial: Option<PickSerial>) -> PickListLine {
        PickListLine {
            sale_id: SaleId(Uuid::nil()),
            invoice_number: "INV-1005".to_owned(),
            customer_name: Some("Ada".to_owned()),
            outlet_id: OutletId(Uuid::nil()),
            delivery_mode: DeliveryMode::Delivery,
            line_number: LineNumber(number),
            parent_line: None,
            sku: "LAP-1".to_owned(),
            product_name: "Laptop".to_owned(),
            quantity: 1,
            serial,
        }
    }

    #[test]
    fn the_standard_pick_list_csv_shows_serials_and_pending_markers() {
        let lines = [
            line(1, Some(PickSerial::Recorded("SN-001".to_owned()))),
            line(2, Some(PickSerial::Pending)),
        ];
        let bytes = write_pick_list_csv(Vec::new(), PickListKind::Standard, &lines).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("Invoice Number,Customer,Delivery Mode,"));
        assert!(text.contains("Serial Number"));
        assert!(text.contains("SN-001"));
        assert!(text.contains("PENDING"));
    }

    #[test]
    fn the_invoice_pick_list_has_no_serial_column() {
        let lines = [line(1, None)];
        let bytes = write_pick_list_csv(Vec::new(), PickListKind::Invoice, &lines).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("Serial"));
        let pdf = pick_list_pdf(
            PickListKind::Invoice,
            &lines,
            datetime!(2026-11-27 10:00 UTC),
        );
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(!pdf.windows(6).any(|window| window == b"Serial"));
    }

    #[test]
    fn the_standard_pick_list_pdf_prints_serials_and_pending() {
        let lines = [
            line(1, Some(PickSerial::Recorded("SN-001".to_owned()))),
            line(2, Some(PickSerial::Pending)),
        ];
        let pdf = pick_list_pdf(
            PickListKind::Standard,
            &lines,
            datetime!(2026-11-27 10:00 UTC),
        );
        // pdf-writer leaves content streams uncompressed, so the text is in the bytes.
        assert!(pdf.windows(6).any(|window| window == b"SN-001"));
        assert!(pdf.windows(7).any(|window| window == b"PENDING"));
    }
}
