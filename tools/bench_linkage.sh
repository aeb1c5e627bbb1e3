#!/usr/bin/env bash
# Hierarchical linkage, shoal against fastcluster and scipy on the same
# blobs (k = 10, unit spread), same run. Prints one line per (n, d, method,
# tool): seconds of the linkage itself (in process, pdist included where a
# tool needs it) and the peak RSS of the whole process.
#
# usage: tools/bench_linkage.sh SHOAL PYTHON DIR [SIZES] [DIMS] [METHODS]
#   SHOAL   the shoal binary (release build)
#   PYTHON  a python with numpy, scipy and fastcluster
#   DIR     scratch directory for the generated points
# SCIPY_MAX (default 20000): largest n given to scipy (it needs n^2 memory).
# MATRIX_MAX (default 20000): largest n given to fastcluster's matrix
# linkage for methods that linkage_vector covers (single/ward/centroid/median).
# DTYPE (default f32): storage of the generated points (f64: shoal links in
# float64 under --precision auto, as the peers always do).
set -euo pipefail
SHOAL=$1; PY=$2; DIR=$3
SIZES=${4:-"10000 20000 40000"}
DIMS=${5:-"2 16"}
METHODS=${6:-"ward single average centroid"}
SCIPY_MAX=${SCIPY_MAX:-20000}
MATRIX_MAX=${MATRIX_MAX:-20000}
DTYPE=${DTYPE:-f32}
# MEMORY (default 16GiB): shoal's --memory. For f64 ward/single/centroid/median
# shoal takes scipy's matrix algorithm when the matrix fits (scipy's ties), and
# the O(n d) one otherwise: 256MiB shows the latter at 20 000 points.
MEMORY=${MEMORY:-16GiB}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DIR"
printf "%-6s %-3s %-9s %-20s %9s %9s\n" n d method tool seconds rss_MB
for n in $SIZES; do
  for d in $DIMS; do
    X="$DIR/h_${n}_${d}_${DTYPE}.npy"
    [ -f "$X" ] || "$SHOAL" gen blobs --rows "$n" --dim "$d" --k 10 --seed 5 --dtype "$DTYPE" --out "$X" -q >/dev/null
    for m in $METHODS; do
      line=$(/usr/bin/time -f "%M" "$SHOAL" linkage "$X" --method "$m" --out "$DIR/Z.npy" \
               --memory "$MEMORY" --json -q 2>"$DIR/time.txt")
      secs=$(echo "$line" | "$PY" -c "import json,sys;print(json.load(sys.stdin)['linkage_seconds'])")
      printf "%-6s %-3s %-9s %-20s %9.3f %9.0f\n" "$n" "$d" "$m" shoal "$secs" "$(( $(tail -1 "$DIR/time.txt") / 1024 ))"
      libs="fastcluster"
      case $m in single|ward|centroid|median)
        libs="fastcluster_vector"
        [ "$n" -le "$MATRIX_MAX" ] && libs="$libs fastcluster";;
      esac
      [ "$n" -le "$SCIPY_MAX" ] && libs="$libs scipy"
      for lib in $libs; do
        out=$(/usr/bin/time -f "%M" "$PY" "$HERE/peer_linkage.py" "$lib" "$m" "$X" 2>"$DIR/time.txt")
        secs=$(echo "$out" | "$PY" -c "import json,sys;print(json.load(sys.stdin)['seconds'])")
        printf "%-6s %-3s %-9s %-20s %9.3f %9.0f\n" "$n" "$d" "$m" "$lib" "$secs" "$(( $(tail -1 "$DIR/time.txt") / 1024 ))"
      done
    done
  done
done
