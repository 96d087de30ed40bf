//! Retailer settings: auto-prompt, serial on invoice, aggregation of duplicate items.

use crate::support::*;
use domain::Decider;
use domain::indicator::should_auto_prompt;
use domain::sale::lines_to_prompt;
use domain::settings::*;
use event_schemas::*;
use pretty_assertions::assert_eq;

fn changed(auto_prompt: bool, display: bool, aggregate: bool) -> LedgerEvent {
    RetailerSettingsChanged {
        auto_prompt_serial_number: auto_prompt,
        display_serial_number_on_invoice: display,
        aggregate_duplicate_order_items: aggregate,
    }
    .into()
}

#[test]
fn a_retailer_without_settings_has_auto_prompt_off_serials_off_invoices_and_aggregation_on() {
    assert_eq!(
        SettingsDecider::fold([]),
        RetailerSettings {
            auto_prompt_serial_number: false,
            display_serial_number_on_invoice: false,
            aggregate_duplicate_order_items: true,
        }
    );
}

#[test]
fn changing_a_setting_records_all_three_as_they_now_stand() {
    let state = settings([])
        .when(ChangeSettings {
            auto_prompt_serial_number: Some(true),
            ..ChangeSettings::default()
        })
        .then([changed(true, false, true)]);
    assert!(state.auto_prompt_serial_number);

    settings([changed(true, false, true)])
        .when(ChangeSettings {
            display_serial_number_on_invoice: Some(true),
            aggregate_duplicate_order_items: Some(false),
            ..ChangeSettings::default()
        })
        .then([changed(true, true, false)]);
}

#[test]
fn setting_values_the_retailer_already_has_records_nothing() {
    settings([changed(true, true, false)])
        .when(ChangeSettings {
            auto_prompt_serial_number: Some(true),
            display_serial_number_on_invoice: Some(true),
            aggregate_duplicate_order_items: Some(false),
        })
        .then_nothing();
}

#[test]
fn a_settings_change_that_names_no_setting_is_refused() {
    settings([])
        .when(ChangeSettings::default())
        .then_error(SettingsError::NothingToChange);
}

#[test]
fn auto_prompt_fires_only_for_required_products_and_only_when_turned_on() {
    let on = RetailerSettings {
        auto_prompt_serial_number: true,
        ..RetailerSettings::default()
    };
    let off = RetailerSettings::default();
    assert!(should_auto_prompt(&on, SerialMode::Required));
    assert!(!should_auto_prompt(&on, SerialMode::Optional));
    assert!(!should_auto_prompt(&on, SerialMode::Disabled));
    assert!(!should_auto_prompt(&off, SerialMode::Required));
    assert!(!should_auto_prompt(&off, SerialMode::Optional));
    assert!(!should_auto_prompt(&off, SerialMode::Disabled));
}

#[test]
fn after_an_add_pos_prompts_for_each_new_required_line_when_auto_prompt_is_on() {
    let on = RetailerSettings {
        auto_prompt_serial_number: true,
        ..RetailerSettings::default()
    };
    let events = [
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        added(3, &laptop(), 1),
        added(4, &cable(), 2),
    ];
    assert_eq!(lines_to_prompt(&on, &events), vec![n(1), n(2)]);
    assert_eq!(
        lines_to_prompt(&RetailerSettings::default(), &events),
        vec![]
    );
}

#[test]
fn settings_evolve_ignores_other_events() {
    let state = settings([changed(true, true, false), opened()]).state();
    assert_eq!(
        state,
        RetailerSettings {
            auto_prompt_serial_number: true,
            display_serial_number_on_invoice: true,
            aggregate_duplicate_order_items: false,
        }
    );
}
