//! Arbitrary text into the `observability.yaml` loader, with `${VAR}` substitution from
//! variables the input also chooses: an error or a configuration, never a panic. Time and
//! memory are bounded by libFuzzer (`-timeout`, `-rss_limit_mb`, set in `.ci/fuzz.sh`).
//!
//! Beyond "no panic": the loader is deterministic (the same text gives the same answer
//! twice), an error has a message, and a loaded configuration gives its thresholds and
//! survives a round trip: written back out as YAML (with
//! `serde`) and loaded again, it is the same configuration (skipped when the written text
//! has a `$`, which the loader would substitute). (`registry_config` is left out: it gives
//! the deny-list process lifetime, once per loaded configuration, by design.)

#![no_main]

use arbitrary::Arbitrary;
use corral_std::config::ObservabilityConfig;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Values for the variables `A`, `B` and `PORT`, where set.
    vars: [Option<String>; 3],
    text: String,
}

fuzz_target!(|input: Input| {
    let vars = |name: &str| match name {
        "A" => input.vars[0].clone(),
        "B" => input.vars[1].clone(),
        "PORT" => input.vars[2].clone(),
        _ => None,
    };
    let first = ObservabilityConfig::from_yaml_str_with(&input.text, vars);
    let second = ObservabilityConfig::from_yaml_str_with(&input.text, vars);
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "not deterministic");
            let _ = a.thresholds();
            let mut document = std::collections::BTreeMap::new();
            document.insert("observability", a);
            let written = yaml_serde::to_string(&document).expect("a loaded config serializes");
            if !written.contains('$') {
                let again = ObservabilityConfig::from_yaml_str_with(&written, |_| None)
                    .unwrap_or_else(|e| panic!("written config does not load: {e}\n{written}"));
                assert_eq!(
                    format!("{a:?}"),
                    format!("{again:?}"),
                    "round trip\n{written}"
                );
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "not deterministic");
            assert!(!a.to_string().is_empty());
        }
        _ => panic!("one text, two answers: {first:?} / {second:?}"),
    }
});
