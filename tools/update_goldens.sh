#!/usr/bin/env bash
# Rewrites Fixtures/invalid/*.expected.json: what `ktsx validate --format json` reports for each invalid
# fixture. Review the diff before committing: a golden changes only when a message or check changes on
# purpose. (The oracles, not these files, decide whether a verdict is right: see the oracle parity tests.)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product ktsx >/dev/null
ktsx="$PWD/.build/debug/ktsx"
cd Fixtures/invalid
for file in *.xml *.csv; do
    "$ktsx" validate --format json "$file" > "$file.expected.json" || true
done
echo "wrote $(ls *.expected.json | wc -l) goldens in Fixtures/invalid/"
