//! Serial numbers: how typed or scanned text becomes the one form the ledger stores.
//!
//! [`SerialNumber::parse`] applies, in this order:
//!
//! 1. **Trim** leading and trailing whitespace (scanners often add a newline or a space).
//! 2. **Validate** the trimmed text:
//!    - not empty ([`SerialError::Blank`]);
//!    - at most [`MAX_SERIAL_LENGTH`] characters ([`SerialError::TooLong`]), and at most
//!      [`MAX_SCANNED_LENGTH`] before trimming ([`SerialError::ScannedTooLong`]);
//!    - only ASCII letters, ASCII digits and the punctuation in [`ALLOWED_PUNCTUATION`]
//!      (`- _ . / : # +`). Control characters ([`SerialError::ControlCharacter`]), whitespace
//!      inside the serial ([`SerialError::Whitespace`]), any non-ASCII character such as a
//!      Cyrillic `А` that looks like a Latin `A` or a zero-width space
//!      ([`SerialError::NonAscii`]) and other punctuation ([`SerialError::DisallowedCharacter`])
//!      are refused, naming the character and its position (counting from 1 after trimming).
//! 3. **Upper-case** it (ASCII). Serial numbers are compared case-insensitively: `abc-123`
//!    and `ABC-123` are the same serial, stored as `ABC-123`. Manufacturers print serials in
//!    one case; a difference in case is a typing difference, not another unit.
//!
//! Everything the ledger stores in `SerialAssigned.serial` has passed through this function,
//! so equality of stored serials is equality of units.

use std::fmt;

/// The most characters a serial number may have (after trimming).
pub const MAX_SERIAL_LENGTH: usize = 64;

/// The most characters the text as typed or scanned may have, surrounding whitespace
/// included: the ledger keeps that text too (`SerialAssigned.scanned`), so padding cannot
/// be unbounded.
pub const MAX_SCANNED_LENGTH: usize = 256;
/// The punctuation a serial number may contain besides ASCII letters and digits.
pub const ALLOWED_PUNCTUATION: [char; 7] = ['-', '_', '.', '/', ':', '#', '+'];

/// A serial number in its normalised form: trimmed, validated, upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SerialNumber(String);

impl SerialNumber {
    /// Normalises and validates typed or scanned text; see the module documentation.
    pub fn parse(raw: &str) -> Result<Self, SerialError> {
        let scanned_length = raw.chars().count();
        if scanned_length > MAX_SCANNED_LENGTH {
            return Err(SerialError::ScannedTooLong {
                length: scanned_length,
                max: MAX_SCANNED_LENGTH,
            });
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(SerialError::Blank);
        }
        let length = trimmed.chars().count();
        if length > MAX_SERIAL_LENGTH {
            return Err(SerialError::TooLong {
                length,
                max: MAX_SERIAL_LENGTH,
            });
        }
        for (index, character) in trimmed.chars().enumerate() {
            let position = index + 1;
            if character.is_control() {
                return Err(SerialError::ControlCharacter {
                    code_point: u32::from(character),
                    position,
                });
            }
            if character.is_whitespace() {
                return Err(SerialError::Whitespace { position });
            }
            if !character.is_ascii() {
                return Err(SerialError::NonAscii {
                    character,
                    position,
                });
            }
            if !character.is_ascii_alphanumeric() && !ALLOWED_PUNCTUATION.contains(&character) {
                return Err(SerialError::DisallowedCharacter {
                    character,
                    position,
                });
            }
        }
        Ok(Self(trimmed.to_ascii_uppercase()))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SerialNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for SerialNumber {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Why text is not a valid serial number. Every variant maps to the API code
/// `INVALID_SERIAL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    /// Empty or only whitespace. API code `INVALID_SERIAL`.
    #[error("serial number must not be blank: enter or scan the serial number")]
    Blank,
    /// Longer than the maximum. API code `INVALID_SERIAL`.
    #[error("serial number must be at most {max} characters long (this one has {length})")]
    TooLong {
        /// Characters in the trimmed text.
        length: usize,
        /// The maximum, [`MAX_SERIAL_LENGTH`].
        max: usize,
    },
    /// The text as typed or scanned, surrounding whitespace included, is longer than
    /// [`MAX_SCANNED_LENGTH`]. API code `INVALID_SERIAL`.
    #[error(
        "the text scanned must be at most {max} characters long, spaces included (this one has {length})"
    )]
    ScannedTooLong {
        /// Characters in the text as given.
        length: usize,
        /// The maximum, [`MAX_SCANNED_LENGTH`].
        max: usize,
    },
    /// A control character (tab, newline, NUL, ...). API code `INVALID_SERIAL`.
    #[error(
        "serial number must not contain control characters (found U+{code_point:04X} at character {position})"
    )]
    ControlCharacter {
        /// The character's Unicode code point.
        code_point: u32,
        /// Where, counting from 1 after trimming.
        position: usize,
    },
    /// A space or other whitespace inside the serial. API code `INVALID_SERIAL`.
    #[error("serial number must not contain spaces (found one at character {position})")]
    Whitespace {
        /// Where, counting from 1 after trimming.
        position: usize,
    },
    /// A non-ASCII character, such as a look-alike letter. API code `INVALID_SERIAL`.
    #[error(
        "serial number must use only ASCII letters, digits and - _ . / : # + (found non-ASCII '{character}' at character {position})"
    )]
    NonAscii {
        /// The character.
        character: char,
        /// Where, counting from 1 after trimming.
        position: usize,
    },
    /// ASCII punctuation outside [`ALLOWED_PUNCTUATION`]. API code `INVALID_SERIAL`.
    #[error(
        "serial number must use only ASCII letters, digits and - _ . / : # + (found '{character}' at character {position})"
    )]
    DisallowedCharacter {
        /// The character.
        character: char,
        /// Where, counting from 1 after trimming.
        position: usize,
    },
}

impl SerialError {
    /// The stable API code: always `INVALID_SERIAL`.
    pub fn code(&self) -> &'static str {
        "INVALID_SERIAL"
    }
}
