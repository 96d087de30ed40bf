//! The customer invoice as a PDF: the sale's header, its line items with prices and the
//! total, and, when the retailer's setting "Display Serial Number on Invoice" is on, each
//! line's serial number under its line item (the spec: "as part of the line item details
//! within the PDF or remain hidden").
//!
//! The sale comes from the POS order view ([`PosOrder`]); lines taken off the sale while it
//! was built are not in it. Cancelled lines are listed as cancelled and left out of the
//! total; returned lines stay (they were sold) and their refunds are totalled apart.
//!
//! PDFs are written with `pdf-writer` in the built-in Helvetica font, so no font file is
//! needed at run time and every reader has the glyphs; text is encoded as WinAnsi
//! (Windows-1252), and a character outside it prints as `?`. [`layout`] holds the small text
//! layout both this invoice and the pick lists ([`crate::fulfilment`]) use.

use event_schemas::Money;
use projections::queries::LineStatus;
use projections::queries::pos::PosOrder;
use std::collections::BTreeMap;
use time::macros::format_description;

/// How the invoice is printed: the retailer's settings that matter to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoiceOptions {
    /// "Display Serial Number on Invoice": print each line's serial under its line item.
    pub display_serial_numbers: bool,
}

/// The file name an invoice downloads as: `invoice-INV-1005.pdf`. Characters other than
/// letters, digits, `-` and `_` in the invoice number become `_`, so the name is safe in a
/// header and on every file system.
pub fn file_name(invoice_number: &str) -> String {
    let safe: String = invoice_number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("invoice-{safe}.pdf")
}

/// An amount as a customer reads it: `AUD 1,299.00` (the currency's usual number of
/// decimals; two unless the currency is known to use none or three).
pub fn format_money(money: &Money) -> String {
    let decimals: u32 = match money.currency.as_str() {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "PYG" | "UGX" | "XAF" | "XOF" | "XPF" | "RWF"
        | "KMF" | "GNF" | "BIF" | "DJF" | "VUV" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    };
    let sign = if money.amount_minor < 0 { "-" } else { "" };
    let amount = money.amount_minor.unsigned_abs();
    let scale = 10u64.pow(decimals);
    let (whole, fraction) = (amount / scale, amount % scale);
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if decimals == 0 {
        format!("{} {sign}{grouped}", money.currency)
    } else {
        format!(
            "{} {sign}{grouped}.{fraction:0width$}",
            money.currency,
            width = decimals as usize
        )
    }
}

/// Columns of the line items: (left x, width) in points on an A4 portrait page.
const LINE: (f32, f32) = (40.0, 30.0);
const SKU: (f32, f32) = (72.0, 80.0);
const PRODUCT: (f32, f32) = (156.0, 190.0);
const QUANTITY: (f32, f32) = (350.0, 30.0);
const UNIT_PRICE: (f32, f32) = (384.0, 75.0);
const AMOUNT: (f32, f32) = (463.0, 92.0);

/// The invoice of `order` as a PDF.
pub fn invoice_pdf(order: &PosOrder, options: InvoiceOptions) -> Vec<u8> {
    let sale = &order.sale;
    let mut pdf = layout::TextPdf::new(&format!("Invoice {}", sale.invoice_number), false);
    pdf.text(40.0, "INVOICE", 18.0, true);
    pdf.advance(26.0);
    let date = sale
        .opened_at
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    let mut details = vec![
        ("Invoice Number", sale.invoice_number.clone()),
        ("Date", date),
        ("Sale Type", sale.sale_type.label().to_owned()),
        ("Delivery Mode", sale.delivery_mode.full_name().to_owned()),
    ];
    if let Some(customer) = &sale.customer {
        details.push(("Customer", customer.name.clone()));
    }
    for (label, value) in details {
        pdf.text(40.0, label, 10.0, true);
        pdf.text(140.0, &value, 10.0, false);
        pdf.advance(14.0);
    }
    pdf.advance(10.0);

    let columns = [LINE, SKU, PRODUCT, QUANTITY, UNIT_PRICE, AMOUNT];
    let header = ["Line", "SKU", "Product", "Qty", "Unit Price", "Amount"];
    pdf.row(&columns, &header, 9.0, true);
    pdf.rule();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut refunds: BTreeMap<String, i64> = BTreeMap::new();
    for line in &order.lines {
        // Room for the line and its serial line, so a serial never lands on the next page
        // apart from its item.
        if pdf.ensure_room(28.0) {
            pdf.row(&columns, &header, 9.0, true);
            pdf.rule();
        }
        let total = line.line_total();
        let mut product = match line.parent_line() {
            Some(parent) => format!("  - {} (of line {parent})", line.product_name),
            None => line.product_name.clone(),
        };
        match line.status {
            LineStatus::Cancelled => product.push_str(" (cancelled)"),
            LineStatus::Returned => product.push_str(" (returned)"),
            _ => {}
        }
        let cells = [
            line.line_number.to_string(),
            line.sku.clone(),
            product,
            line.quantity.to_string(),
            format_money(&line.unit_price),
            format_money(&total),
        ];
        pdf.row(&columns, &cells, 9.0, false);
        if line.status != LineStatus::Cancelled {
            *totals.entry(total.currency.clone()).or_default() += total.amount_minor;
        }
        if let Some(refund) = &line.refund {
            *refunds.entry(refund.currency.clone()).or_default() += refund.amount_minor;
        }
        // "Display Serial Number on Invoice": the serial under its own line item, or not
        // at all.
        let shown_serial = line
            .serial
            .as_ref()
            .filter(|_| options.display_serial_numbers);
        if let Some(serial) = shown_serial {
            pdf.text(
                PRODUCT.0 + 8.0,
                &format!("Serial Number: {serial}"),
                8.0,
                false,
            );
            pdf.advance(12.0);
        }
    }
    pdf.rule();
    for (label, sums) in [("Total", &totals), ("Refunded", &refunds)] {
        for (currency, amount_minor) in sums {
            pdf.ensure_room(14.0);
            let money = Money {
                amount_minor: *amount_minor,
                currency: currency.clone(),
            };
            pdf.text(UNIT_PRICE.0, label, 10.0, true);
            pdf.text(AMOUNT.0, &format_money(&money), 10.0, true);
            pdf.advance(14.0);
        }
    }
    pdf.finish()
}

/// A small text layout over `pdf-writer`: A4 pages of Helvetica text placed top to bottom,
/// a new page when the current one is full, and "Page n of N" at the foot of each.
pub(crate) mod layout {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

    const REGULAR: Name<'static> = Name(b"F1");
    const BOLD: Name<'static> = Name(b"F2");
    const MARGIN: f32 = 40.0;

    /// A document being laid out; `y` is the baseline of the next text, from the bottom.
    pub(crate) struct TextPdf {
        title: String,
        width: f32,
        height: f32,
        done: Vec<Content>,
        page: Content,
        y: f32,
    }

    impl TextPdf {
        /// An empty document titled `title` (shown in the reader's title bar), A4 portrait
        /// or landscape.
        pub(crate) fn new(title: &str, landscape: bool) -> Self {
            let (width, height) = if landscape {
                (842.0, 595.0)
            } else {
                (595.0, 842.0)
            };
            Self {
                title: title.to_owned(),
                width,
                height,
                done: Vec::new(),
                page: Content::new(),
                y: height - MARGIN - 12.0,
            }
        }

        /// The page's usable width (inside the margins).
        pub(crate) fn usable_width(&self) -> f32 {
            self.width - 2.0 * MARGIN
        }

        /// Writes `text` at `x` on the current baseline; does not move down.
        pub(crate) fn text(&mut self, x: f32, text: &str, size: f32, bold: bool) {
            self.page.begin_text();
            self.page.set_font(if bold { BOLD } else { REGULAR }, size);
            self.page.next_line(x, self.y);
            self.page.show(Str(&win_ansi(text)));
            self.page.end_text();
        }

        /// Writes a row of cells, each at its column's x and cut to its column's width, then
        /// moves down a line.
        pub(crate) fn row<S: AsRef<str>>(
            &mut self,
            columns: &[(f32, f32)],
            cells: &[S],
            size: f32,
            bold: bool,
        ) {
            for (&(x, width), cell) in columns.iter().zip(cells) {
                let text = fit(cell.as_ref(), width, size);
                if !text.is_empty() {
                    self.text(x, &text, size, bold);
                }
            }
            self.advance(size + 4.0);
        }

        /// A thin horizontal line just under the last row.
        pub(crate) fn rule(&mut self) {
            let y = self.y + 8.0;
            self.page.set_line_width(0.5);
            self.page.move_to(MARGIN, y);
            self.page.line_to(self.width - MARGIN, y);
            self.page.stroke();
            self.advance(4.0);
        }

        /// Moves the baseline down by `points`.
        pub(crate) fn advance(&mut self, points: f32) {
            self.y -= points;
        }

        /// Starts a new page unless `points` fit above the bottom margin; true when it did,
        /// so the caller can repeat its column headers.
        pub(crate) fn ensure_room(&mut self, points: f32) -> bool {
            if self.y - points >= MARGIN + 12.0 {
                return false;
            }
            let finished = std::mem::replace(&mut self.page, Content::new());
            self.done.push(finished);
            self.y = self.height - MARGIN - 12.0;
            true
        }

        /// The PDF's bytes.
        pub(crate) fn finish(mut self) -> Vec<u8> {
            self.done.push(self.page);
            let count = self.done.len();
            let mut pdf = Pdf::new();
            let catalog = Ref::new(1);
            let tree = Ref::new(2);
            let regular = Ref::new(3);
            let bold = Ref::new(4);
            let info = Ref::new(5);
            // Each page takes two objects: the page and its content stream.
            let page_ids: Vec<Ref> = (0..count)
                .map(|index| Ref::new(6 + 2 * index as i32))
                .collect();
            pdf.catalog(catalog).pages(tree);
            pdf.pages(tree)
                .kids(page_ids.iter().copied())
                .count(count as i32);
            pdf.type1_font(regular)
                .base_font(Name(b"Helvetica"))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
            pdf.type1_font(bold)
                .base_font(Name(b"Helvetica-Bold"))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
            pdf.document_info(info)
                .title(TextStr(&self.title))
                .producer(TextStr("serial-ledger"));
            for (number, (mut content, page_id)) in self.done.into_iter().zip(page_ids).enumerate()
            {
                let footer = format!("Page {} of {count}", number + 1);
                content.begin_text();
                content.set_font(REGULAR, 8.0);
                content.next_line(self.width - MARGIN - 60.0, MARGIN / 2.0);
                content.show(Str(&win_ansi(&footer)));
                content.end_text();
                let content_id = Ref::new(page_id.get() + 1);
                let mut page = pdf.page(page_id);
                page.media_box(Rect::new(0.0, 0.0, self.width, self.height));
                page.parent(tree);
                page.contents(content_id);
                page.resources()
                    .fonts()
                    .pair(REGULAR, regular)
                    .pair(BOLD, bold);
                page.finish();
                pdf.stream(content_id, &content.finish());
            }
            pdf.finish()
        }
    }

    /// `text` in WinAnsi (Windows-1252) bytes, the encoding the fonts are declared with;
    /// what it cannot show becomes `?`.
    pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
        text.chars()
            .map(|c| match c {
                '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
                '€' => 0x80,
                '‘' => 0x91,
                '’' => 0x92,
                '“' => 0x93,
                '”' => 0x94,
                '•' => 0x95,
                '–' => 0x96,
                '—' => 0x97,
                _ => b'?',
            })
            .collect()
    }

    /// Helvetica's advance width of `c`, in thousandths of the font size: the real widths
    /// of the common narrow and wide glyphs, an average for the rest (enough to keep a
    /// cell inside its column).
    fn glyph_width(c: char) -> f32 {
        match c {
            'i' | 'j' | 'l' | '\'' | '|' => 222.0,
            ' ' | '.' | ',' | ':' | ';' | 'I' | '!' | 'f' | 't' | '/' | '(' | ')' | '[' | ']' => {
                278.0
            }
            'r' | '-' => 333.0,
            'm' | 'M' | 'W' | '@' | '%' => 889.0,
            '0'..='9' | 'a'..='z' | '?' | '_' | '#' | '$' => 556.0,
            'A'..='Z' | '&' => 722.0,
            _ => 667.0,
        }
    }

    /// Text width at `size` points.
    pub(crate) fn text_width(text: &str, size: f32) -> f32 {
        text.chars().map(glyph_width).sum::<f32>() * size / 1000.0
    }

    /// `text` cut, with "...", to fit `width` points at `size`.
    pub(crate) fn fit(text: &str, width: f32, size: f32) -> String {
        if text_width(text, size) <= width {
            return text.to_owned();
        }
        let budget = width - text_width("...", size);
        let mut used = 0.0;
        let mut out = String::new();
        for c in text.chars() {
            used += glyph_width(c) * size / 1000.0;
            if used > budget {
                break;
            }
            out.push(c);
        }
        out.push_str("...");
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn money_is_grouped_with_the_currencys_decimals() {
        let money = |amount_minor, currency: &str| Money {
            amount_minor,
            currency: currency.to_owned(),
        };
        assert_eq!(format_money(&money(129_900, "AUD")), "AUD 1,299.00");
        assert_eq!(format_money(&money(5, "AUD")), "AUD 0.05");
        assert_eq!(
            format_money(&money(-123_456_789, "USD")),
            "USD -1,234,567.89"
        );
        assert_eq!(format_money(&money(1500, "JPY")), "JPY 1,500");
    }

    #[test]
    fn invoice_file_names_are_safe() {
        assert_eq!(file_name("INV-1005"), "invoice-INV-1005.pdf");
        assert_eq!(file_name("a/b\"c"), "invoice-a_b_c.pdf");
    }

    #[test]
    fn text_outside_win_ansi_prints_as_a_question_mark() {
        assert_eq!(layout::win_ansi("Café €5 ☃"), b"Caf\xe9 \x805 ?".to_vec());
    }

    #[test]
    fn long_cells_are_cut_to_their_column() {
        let cut = layout::fit(&"W".repeat(100), 100.0, 9.0);
        assert!(cut.ends_with("..."));
        assert!(layout::text_width(&cut, 9.0) <= 100.0);
        assert_eq!(layout::fit("SN-1", 100.0, 9.0), "SN-1");
    }

    #[test]
    fn a_long_document_spans_pages() {
        let mut pdf = layout::TextPdf::new("t", false);
        let mut pages = 1;
        for _ in 0..200 {
            if pdf.ensure_room(14.0) {
                pages += 1;
            }
            pdf.text(40.0, "row", 9.0, false);
            pdf.advance(14.0);
        }
        assert!(pages > 1);
        let bytes = pdf.finish();
        assert!(bytes.starts_with(b"%PDF-"));
    }
}
