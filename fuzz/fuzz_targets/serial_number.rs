//! `SerialNumber::parse` on any text: never panics; a serial it accepts is a fixed point
//! (parsing it again gives it back), upper-case printable ASCII within
//! `MAX_SERIAL_LENGTH`; a refusal always says why.
#![no_main]

use domain::serial::{MAX_SCANNED_LENGTH, MAX_SERIAL_LENGTH, SerialNumber};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Valid UTF-8 as it is; anything else as a scanner's bytes decoded lossily (U+FFFD).
    let text = String::from_utf8_lossy(data);
    check(&text);
});

fn check(raw: &str) {
    match SerialNumber::parse(raw) {
        Ok(serial) => {
            let text = serial.as_str();
            assert!(!text.is_empty(), "an accepted serial is empty: {raw:?}");
            assert!(
                text.len() <= MAX_SERIAL_LENGTH,
                "{text:?} is longer than {MAX_SERIAL_LENGTH}"
            );
            assert!(
                text.bytes().all(|byte| byte.is_ascii_graphic()),
                "{text:?} has a character that is not printable ASCII"
            );
            assert!(
                !text.bytes().any(|byte| byte.is_ascii_lowercase()),
                "{text:?} is not upper-case"
            );
            assert_eq!(
                SerialNumber::parse(text).as_ref(),
                Ok(&serial),
                "normalising {raw:?} is not idempotent"
            );
            // Case and surrounding whitespace never make another serial (while the padded
            // text stays within what a scan may hold).
            if raw.chars().count() + 2 <= MAX_SCANNED_LENGTH {
                assert_eq!(
                    SerialNumber::parse(&format!(" {}\n", raw.to_ascii_lowercase())).as_ref(),
                    Ok(&serial),
                    "{raw:?} in lower case with whitespace around is another serial"
                );
            }
        }
        Err(error) => {
            assert!(
                !error.to_string().trim().is_empty(),
                "refusing {raw:?} gives no reason"
            );
        }
    }
}
