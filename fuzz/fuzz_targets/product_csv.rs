//! The product mass upload (`files::products_csv`) on any bytes, as the import's first pass
//! runs it (`ProductCsvReader`, then `FileValidator`, and `RejectedCsv` for partial mode):
//! never panics; every error names a line of the input and says why; a row that reads
//! cleanly is written back by `ProductCsvWriter` and reads back as the same record (an
//! exported file uploads unchanged).
#![no_main]

use files::products_csv::{
    FileValidator, ProductCsvReader, ProductCsvWriter, ProductRecord, RejectedCsv, RowError,
    SkuMatch, raw_sku,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = ProductCsvReader::new(data) else {
        return;
    };
    let last_line = lines_in(data);
    // A stand-in catalogue: `CAT-...` is one product, `DUP-...` is shared by two.
    let catalogue = |sku: &str| {
        if sku.starts_with("CAT-") {
            SkuMatch::One
        } else if sku.starts_with("DUP-") {
            SkuMatch::Many(2)
        } else {
            SkuMatch::None
        }
    };
    let mut validator = FileValidator::new();
    let mut rejected = RejectedCsv::new(Vec::new(), reader.headers()).ok();
    let mut good: Vec<ProductRecord> = Vec::new();
    while let Some(row) = reader.next() {
        let Ok(row) = row else {
            // The CSV cannot be read further (it is refused as a whole, VALIDATION).
            break;
        };
        check_line(row.line, last_line, data);
        let errors = match &row.record {
            Err(errors) => {
                assert!(
                    !errors.is_empty(),
                    "line {}: a bad row without errors",
                    row.line
                );
                validator.note_bad_row(row.line, raw_sku(&reader, &row.raw));
                errors.clone()
            }
            Ok(record) => {
                good.push(record.clone());
                validator.check(row.line, record, &catalogue)
            }
        };
        for error in &errors {
            check_error(error, row.line, last_line, data);
        }
        if !errors.is_empty()
            && let Some(out) = rejected.as_mut()
        {
            out.write(row.line, &row.raw, &errors)
                .expect("writing a rejected row to memory");
        }
    }
    for error in validator.finish() {
        check_error(&error, error.line, last_line, data);
    }
    if let Some(out) = rejected {
        out.finish().expect("finishing the rejected rows in memory");
    }
    round_trip(&good);
});

/// The number of lines of `data`: line terminators (`\n`, `\r\n` or a lone `\r`) plus one.
fn lines_in(data: &[u8]) -> u64 {
    let mut lines = 1;
    for (index, byte) in data.iter().enumerate() {
        match byte {
            b'\n' => lines += 1,
            b'\r' if data.get(index + 1) != Some(&b'\n') => lines += 1,
            _ => {}
        }
    }
    lines
}

fn check_line(line: u64, last_line: u64, data: &[u8]) {
    assert!(
        (1..=last_line).contains(&line),
        "line {line} is not a line of the input ({last_line} lines): {:?}",
        String::from_utf8_lossy(data)
    );
}

fn check_error(error: &RowError, line: u64, last_line: u64, data: &[u8]) {
    assert_eq!(
        error.line, line,
        "an error of line {line} names another line: {error}"
    );
    check_line(error.line, last_line, data);
    assert!(
        !error.reason.trim().is_empty(),
        "line {line}: an error without a reason"
    );
}

/// Good rows, written as the export writes them, read back unchanged.
fn round_trip(records: &[ProductRecord]) {
    if records.is_empty() {
        return;
    }
    let mut writer = ProductCsvWriter::new(Vec::new()).expect("a CSV in memory");
    for record in records {
        writer.write(record).expect("writing a row to memory");
    }
    let bytes = writer.finish().expect("finishing a CSV in memory");
    let reader = ProductCsvReader::new(bytes.as_slice()).expect("the export's own header");
    let read: Vec<ProductRecord> = reader
        .map(|row| {
            let row = row.expect("the export is readable CSV");
            row.record.unwrap_or_else(|errors| {
                panic!(
                    "the export of a good row is refused: {errors:?} in {:?}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        })
        .collect();
    assert_eq!(
        read.as_slice(),
        records,
        "a good row changes on export and upload"
    );
}
