#!/usr/bin/env bash
# Peer parsers on the same document as benches/throughput.rs: npm fast-xml-parser and PyPI
# xmltodict, each parsing the whole file, beside raw quick-xml and the mapping engine.
#
#   bash mappings/benches/peers.sh [SIZE_MB]      (default 100; needs node, npm, python3)
#
# Tools are installed into a temporary directory under /tmp (npm) and a venv in /tmp (pip);
# nothing is installed into the repository. Set PEERS_DIR to reuse an install.
set -euo pipefail

SIZE_MB="${1:-100}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="${PEERS_DIR:-$(mktemp -d /tmp/mappings-peers.XXXXXX)}"
DOC="$WORK/financing-demand-notice-${SIZE_MB}mb.xml"
RUNS="${RUNS:-3}"

echo "== writing the document"
(cd "$ROOT" && cargo bench -q -p mappings --bench throughput -- --write-only "$DOC" --size-mb "$SIZE_MB")

echo "== installing peers into $WORK"
if [ ! -d "$WORK/node_modules/fast-xml-parser" ]; then
  FXP_VERSION="$(npm view fast-xml-parser version)"
  (cd "$WORK" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "fast-xml-parser@$FXP_VERSION" >/dev/null)
fi
if [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet xmltodict
fi

cat >"$WORK/fxp.js" <<'EOF'
const fs = require('fs');
const { XMLParser } = require('fast-xml-parser');
const path = process.argv[2], runs = +process.argv[3];
const version = JSON.parse(fs.readFileSync(require('path').join(__dirname, 'node_modules/fast-xml-parser/package.json'), 'utf8')).version;
const size = fs.statSync(path).size;
const rates = [];
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  // fast-xml-parser takes a string: reading the file is part of the work.
  const text = fs.readFileSync(path, 'utf8');
  const doc = new XMLParser({ ignoreAttributes: false }).parse(text);
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  if (!doc.FinancingDemandNotice.Demand.length) throw new Error('no demands');
  rates.push(size / secs / 1e6);
}
rates.sort((a, b) => b - a);
console.log(`fast-xml-parser ${version} (node ${process.version})\t${rates[0].toFixed(1)}\t${rates[Math.floor(runs / 2)].toFixed(1)}`);
EOF

cat >"$WORK/xtd.py" <<'EOF'
import os, sys, time, platform
from importlib.metadata import version
import xmltodict
path, runs = sys.argv[1], int(sys.argv[2])
size = os.path.getsize(path)
rates = []
for _ in range(runs):
    t = time.perf_counter()
    with open(path, 'rb') as f:
        doc = xmltodict.parse(f)
    secs = time.perf_counter() - t
    assert len(doc['FinancingDemandNotice']['Demand']) > 0
    del doc
    rates.append(size / secs / 1e6)
rates.sort(reverse=True)
print(f"xmltodict {version('xmltodict')} (CPython {platform.python_version()})\t{rates[0]:.1f}\t{rates[runs // 2]:.1f}")
EOF

echo "== measuring ($RUNS runs each; MB/s best and median)"
OURS="$(cd "$ROOT" && cargo bench -q -p mappings --bench throughput -- "$DOC" --runs "$RUNS")"
echo "$OURS"
FXP="$(node --max-old-space-size=16384 "$WORK/fxp.js" "$DOC" "$RUNS")"
XTD="$("$WORK/venv/bin/python" "$WORK/xtd.py" "$DOC" "$RUNS")"

conv="$(awk '/xml_to_json_stream/ {print $(NF-1)}' <<<"$OURS")"
raw="$(awk '/read_event_into/ {print $(NF-1)}' <<<"$OURS")"
echo
printf '%-58s %10s %10s %10s\n' "" "best MB/s" "median" "engine ×"
printf '%-58s %10s %10s %10s\n' "quick-xml events (ceiling)" "$raw" "" ""
printf '%-58s %10s %10s %10s\n' "mappings xml_to_json_stream" "$conv" "" "1"
for line in "$FXP" "$XTD"; do
  IFS=$'\t' read -r name best median <<<"$line"
  printf '%-58s %10s %10s %10s\n' "$name" "$best" "$median" "$(awk -v a="$conv" -v b="$best" 'BEGIN {printf "%.1f", a / b}')"
done
[ -n "${PEERS_DIR:-}" ] || rm -f "$DOC"
