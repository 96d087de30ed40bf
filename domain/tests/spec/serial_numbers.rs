//! Serial text: trimmed, upper-cased, validated; each refusal names its rule.

use domain::serial::*;
use pretty_assertions::assert_eq;

fn parse(raw: &str) -> Result<String, SerialError> {
    SerialNumber::parse(raw).map(SerialNumber::into_string)
}

#[test]
fn serial_text_is_trimmed() {
    assert_eq!(parse("  SN-1\t\r\n"), Ok("SN-1".into()));
}

#[test]
fn serials_are_compared_ignoring_case_and_stored_upper_case() {
    assert_eq!(parse("abc-123"), Ok("ABC-123".into()));
    assert_eq!(
        SerialNumber::parse("abc-123"),
        SerialNumber::parse("ABC-123")
    );
}

#[test]
fn letters_digits_and_the_allowed_punctuation_are_accepted() {
    assert_eq!(
        parse("a1-b2_c3.d4/e5:f6#g7+h8"),
        Ok("A1-B2_C3.D4/E5:F6#G7+H8".into())
    );
}

#[test]
fn a_blank_serial_is_refused() {
    assert_eq!(parse(""), Err(SerialError::Blank));
    assert_eq!(parse(" \t "), Err(SerialError::Blank));
}

#[test]
fn a_serial_of_up_to_64_characters_is_accepted_and_a_longer_one_refused() {
    assert_eq!(parse(&"A".repeat(64)), Ok("A".repeat(64)));
    assert_eq!(
        parse(&"A".repeat(65)),
        Err(SerialError::TooLong {
            length: 65,
            max: MAX_SERIAL_LENGTH
        })
    );
}

#[test]
fn control_characters_are_refused_naming_the_character_and_position() {
    let error = parse("AB\u{1b}C").unwrap_err();
    assert_eq!(
        error,
        SerialError::ControlCharacter {
            code_point: 0x1b,
            position: 3
        }
    );
    assert_eq!(
        error.to_string(),
        "serial number must not contain control characters (found U+001B at character 3)"
    );
}

#[test]
fn spaces_inside_a_serial_are_refused() {
    assert_eq!(parse("SN 12"), Err(SerialError::Whitespace { position: 3 }));
}

#[test]
fn unicode_look_alikes_are_refused() {
    // A Cyrillic capital A, which looks like a Latin A.
    assert_eq!(
        parse("\u{410}BC"),
        Err(SerialError::NonAscii {
            character: '\u{410}',
            position: 1
        })
    );
    // A zero-width space is not whitespace to `trim`, and not ASCII.
    assert_eq!(
        parse("AB\u{200b}C"),
        Err(SerialError::NonAscii {
            character: '\u{200b}',
            position: 3
        })
    );
}

#[test]
fn punctuation_outside_the_allowed_set_is_refused() {
    let error = parse("SN*1").unwrap_err();
    assert_eq!(
        error,
        SerialError::DisallowedCharacter {
            character: '*',
            position: 3
        }
    );
    assert_eq!(
        error.to_string(),
        "serial number must use only ASCII letters, digits and - _ . / : # + (found '*' at character 3)"
    );
}

#[test]
fn every_serial_error_maps_to_invalid_serial() {
    for error in [
        SerialError::Blank,
        SerialError::TooLong {
            length: 65,
            max: 64,
        },
        SerialError::ControlCharacter {
            code_point: 0,
            position: 1,
        },
        SerialError::Whitespace { position: 1 },
        SerialError::NonAscii {
            character: 'é',
            position: 1,
        },
        SerialError::DisallowedCharacter {
            character: '*',
            position: 1,
        },
    ] {
        assert_eq!(error.code(), "INVALID_SERIAL");
    }
}
