#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 60), one after another, from
# the committed corpus (fuzz/corpus/<target>). Exits 1 if any target finds a crash (a panic,
# a failed property or a sanitizer report); the input is then in fuzz/artifacts/<target>/,
# to replay with `cargo fuzz run <target> fuzz/artifacts/<target>/crash-...`.
#
# New inputs go to a scratch directory, so the committed corpus stays as it is; set
# FUZZ_GROW=1 to add them to fuzz/corpus instead (then minimise: `cargo fuzz cmin <target>`).
#
# FUZZ_SANITIZER picks the sanitizer (default none: the project forbids unsafe code, and
# without AddressSanitizer the build takes ~7 min instead of ~20 and runs faster; use
# FUZZ_SANITIZER=address to check dependencies' unsafe code too).
#
# cargo-fuzz needs nightly flags; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them.
# Needs cargo-fuzz: `cargo install cargo-fuzz --locked`.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-60}"
targets=(serial_number product_csv event_decode graphql_variables evidence_file checkpoint_note)
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# The GraphQL target keeps its SQLite database under TMPDIR for the life of the process.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"

sanitizer="${FUZZ_SANITIZER:-none}"
echo "== cargo fuzz build (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

failed=()
summary=()
for target in "${targets[@]}"; do
    echo "== $target (${seconds}s)"
    corpus="fuzz/corpus/$target"
    if [[ "${FUZZ_GROW:-0}" == 1 ]]; then
        dirs=("corpus/$target")
    else
        mkdir -p "$scratch/corpus/$target"
        dirs=("$scratch/corpus/$target" "corpus/$target")
    fi
    log="$scratch/$target.log"
    # -timeout: an input taking longer is a hang. The GraphQL target's runtime and
    # projections keep working between inputs, so libFuzzer's per-input leak check would
    # misfire there (leaks at exit are still reported).
    extra=()
    [[ "$target" == graphql_variables ]] && extra=(-detect_leaks=0)
    if cargo fuzz run --sanitizer "$sanitizer" "$target" "${dirs[@]}" -- \
        -max_total_time="$seconds" -timeout=30 -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1; then
        status=ok
    else
        status=CRASH
        failed+=("$target")
        tail -n 60 "$log"
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    line="$target: $status, ${runs:-?} executions in ${seconds}s (${rate:-?}/s), corpus $corpus"
    echo "$line"
    summary+=("$line")
done

echo "== fuzzing summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
