#!/usr/bin/env bash
# Regenerates every generated file (schemas, the spec, the embedded copies, examples, reference data,
# fixtures, hostile fixtures, the golden scenario's drops, the invalid fixtures' goldens) from its source in
# tools/ and fails if any file changed: a generated file edited by hand, or a source changed without its
# outputs. The regenerated files are left in place, so `git diff` shows what differs.
# Needs the debug build of ktsx (scripts/test.sh builds it first).
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() {
    find Schemas Sources/ExchangeSchemas Sources/ExchangeCore/Model/ExchangeType.swift Sources/KTSXCommand/DemoScenario.swift Fixtures -type f -print0 | sort -z | xargs -0 sha256sum
}

before=$(mktemp)
after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT
snapshot > "$before"
for generator in gen_schemas gen_examples gen_reference gen_fixtures gen_hostile gen_scenario; do
    python3 "tools/$generator.py" > /dev/null
done
bash tools/update_goldens.sh > /dev/null
snapshot > "$after"
if ! diff -q "$before" "$after" > /dev/null; then
    echo "generated files differ from what tools/ makes of their sources (now regenerated; see git diff):"
    diff "$before" "$after" | awk '/^[<>]/ {print $3}' | sort -u | sed 's/^/  /'
    exit 1
fi
echo "generated files: all match their sources"
