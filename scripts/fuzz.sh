#!/usr/bin/env bash
# Fuzzes the XML path, the CSV path and the reference-data loaders with libFuzzer (AddressSanitizer on).
#   bash scripts/fuzz.sh [TARGET|all] [SECONDS per target] [extra libFuzzer flags...]
# TARGET: xml, csv, reference (default all); SECONDS default 60. The seed corpus comes from Fixtures/ and
# Schemas/examples; the growing corpus lives in .build-fuzz/corpus/TARGET. A crash, leak, hang (over 10 s)
# or sanitizer report stops the run with exit status 1 and leaves the input in .build-fuzz/crashes/TARGET/:
# copy it to Fixtures/fuzz/TARGET/ (the tests replay that folder) and fix the cause.
set -euo pipefail
cd "$(dirname "$0")/.."
targets="${1:-all}"
seconds="${2:-60}"
shift $(( $# > 2 ? 2 : $# ))
[ "$targets" = all ] && targets="xml csv reference"

swift build -c release --product ktsx-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld >&2
binary=.build-fuzz/release/ktsx-fuzz

seed() {  # seed TARGET DIR: the fixtures a target starts from
    local target=$1 dir=$2
    mkdir -p "$dir"
    case $target in
    xml|csv)
        local folders=()
        for folder in Fixtures/valid Fixtures/invalid Fixtures/hostile Fixtures/scenario/drops Fixtures/fuzz/"$target" Schemas/examples; do
            [ -d "$folder" ] && folders+=("$folder")
        done
        find "${folders[@]}" -type f -name "*.$target" -size -256k | while read -r file; do cp "$file" "$dir/"; done ;;
    reference)
        # The first byte chooses the file: 0 participants.csv, then the reference files in order.
        local index=0
        for name in participants.csv catalog.csv attendance-codes.csv grading-scales.csv course-mappings.csv calendars.csv schedule.conf; do
            for file in Fixtures/reference/"$name" Fixtures/scenario/config/"$name"; do
                [ -f "$file" ] || continue
                { printf "\\x$(printf %02x $index)"; cat "$file"; } > "$dir/$(echo "$file" | tr / _)"
            done
            index=$((index + 1))
        done
        if [ -d Fixtures/fuzz/reference ]; then cp Fixtures/fuzz/reference/* "$dir/" 2>/dev/null || true; fi ;;
    esac
}

status=0
for target in $targets; do
    corpus=.build-fuzz/corpus/$target
    seeds=.build-fuzz/seeds/$target
    crashes=.build-fuzz/crashes/$target
    rm -rf "$seeds"
    seed "$target" "$seeds"
    mkdir -p "$corpus" "$crashes"
    echo "fuzzing $target for ${seconds}s ($(ls "$seeds" | wc -l) seeds)" >&2
    if ! KTSX_FUZZ_TARGET=$target "$binary" "$corpus" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 "$@" 2> ".build-fuzz/$target.log"; then
        echo "fuzz target $target failed: see .build-fuzz/$target.log and $crashes/" >&2
        tail -40 ".build-fuzz/$target.log" >&2
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" ".build-fuzz/$target.log" | sed "s/^/$target: /" >&2 || true
done
exit $status
