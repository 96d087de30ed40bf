//! Retail files: what shop staff download and upload, built to open correctly in
//! spreadsheet tools and PDF readers. Pure formatting and parsing over the read models'
//! rows: no database, no HTTP; the API serves these files and the CLI writes them.
//!
//! - [`products_csv`]: the product mass upload/download CSV with its "Serial Number Option".
//! - [`sales_detail`]: the sales detail export, CSV and XLSX.
//! - [`fulfilment`]: fulfilment report exports (CSV, XLSX) and printable pick lists (PDF).
//! - [`invoice`]: the customer invoice PDF.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fulfilment;
pub mod invoice;
pub mod products_csv;
pub mod sales_detail;
