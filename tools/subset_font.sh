#!/usr/bin/env bash
# Regenerates crates/shoal-plot/fonts/DejaVuSans-subset.ttf: DejaVu Sans
# (Debian's fonts-dejavu-core) cut to the characters figures use (Basic
# Latin, Latin-1, a few typographic and math signs), with fontTools.
# usage: tools/subset_font.sh PYTHON_WITH_FONTTOOLS [DejaVuSans.ttf]
set -euo pipefail
PY=$1
SRC=${2:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
OUT="$(cd "$(dirname "$0")/.." && pwd)/crates/shoal-plot/fonts/DejaVuSans-subset.ttf"
"$PY" -m fontTools.subset "$SRC" --output-file="$OUT" \
    --unicodes="U+0020-007E,U+00A0-00FF,U+2013,U+2014,U+2026,U+2212,U+2248,U+2264,U+2265,U+00B1,U+00D7,U+03BC,U+03C3" \
    --layout-features='kern' --no-hinting --desubroutinize
ls -l "$OUT"
