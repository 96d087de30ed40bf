//! The POS indicator of a line: red, orange, blue or none.

use crate::support::*;
use domain::indicator::{SerialIndicator, serial_indicator};
use event_schemas::*;
use pretty_assertions::assert_eq;

#[test]
fn the_indicator_is_red_orange_blue_or_none_from_the_mode_and_the_serial() {
    let table = [
        (SerialMode::Required, false, SerialIndicator::Red),
        (SerialMode::Optional, false, SerialIndicator::Orange),
        (SerialMode::Required, true, SerialIndicator::Blue),
        (SerialMode::Optional, true, SerialIndicator::Blue),
        (SerialMode::Disabled, false, SerialIndicator::None),
        (SerialMode::Disabled, true, SerialIndicator::None),
    ];
    for (mode, has_serial, expected) in table {
        assert_eq!(
            serial_indicator(mode, has_serial),
            expected,
            "{mode:?} with serial: {has_serial}"
        );
    }
}

#[test]
fn each_line_of_a_sale_shows_its_indicator() {
    let state = sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &laptop(), 1),
        added(3, &cable(), 1),
        added(4, &phone(), 1),
        assigned(4, &phone(), "SN4"),
    ])
    .state()
    .unwrap();
    let indicators: Vec<SerialIndicator> =
        state.lines.values().map(|line| line.indicator()).collect();
    assert_eq!(
        indicators,
        [
            SerialIndicator::Red,
            SerialIndicator::Orange,
            SerialIndicator::None,
            SerialIndicator::Blue
        ]
    );
}

#[test]
fn indicators_have_stable_codes() {
    let codes: Vec<&str> = [
        SerialIndicator::Red,
        SerialIndicator::Orange,
        SerialIndicator::Blue,
        SerialIndicator::None,
    ]
    .iter()
    .map(|indicator| indicator.as_str())
    .collect();
    assert_eq!(codes, ["RED", "ORANGE", "BLUE", "NONE"]);
}
