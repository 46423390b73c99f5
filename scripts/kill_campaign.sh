#!/usr/bin/env bash
# Runs the kill test (300 files, the service SIGKILLed 25 times at seeded random moments, then every file
# checked: one receipt, one acknowledgement, nothing partial, nothing left behind, every job run finished
# with each of its files written once) under COUNT seeds from FIRST, and prints the tally.
#   bash scripts/kill_campaign.sh [FIRST=1] [COUNT=20]        (20 seeds = 500 kills, about 5 minutes)
# A failing seed is replayed with: KTSX_KILL_SEED=N swift test --filter KillTests
set -uo pipefail
cd "$(dirname "$0")/.."
first=${1:-1}
count=${2:-20}
swift build --build-tests >/dev/null || exit 2
passed=0
failed=()
for seed in $(seq "$first" $((first + count - 1))); do
    if KTSX_KILL_SEED=$seed swift test --skip-build --filter KillTests >".build/kill-seed-$seed.log" 2>&1; then
        passed=$((passed + 1))
        rm -f ".build/kill-seed-$seed.log"
    else
        failed+=("$seed")
        echo "seed $seed FAILED: .build/kill-seed-$seed.log" >&2
    fi
done
echo "kill campaign: seeds $first..$((first + count - 1)), $((count * 25)) kills, 300 files per seed ($((count * 300)) files)"
echo "seeds passed: $passed of $count${failed:+; failed: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
