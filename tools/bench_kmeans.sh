#!/usr/bin/env bash
# Issue-3 benchmarks: shoal against scikit-learn, faiss and scipy on the same
# files, in one run. usage: tools/bench_kmeans.sh SHOAL PYTHON DIR [--sklearn-w4]
#   SHOAL: release binary; PYTHON: interpreter with numpy scipy scikit-learn faiss-cpu;
#   DIR: scratch directory (about 1 GB).
set -euo pipefail
S=$1; PY=$2; D=$3; W4E2E=${4:-}
T="$(cd "$(dirname "$0")" && pwd)/peer_kmeans.py"
cd "$D"
for w in "w1 1M 2 10" "w2 10M 2 10" "w3 1M 32 100" "w4 1M 128 256"; do
  set -- $w
  [ -f "$1.npy" ] || "$S" gen blobs --rows "$2" --dim "$3" --k "$4" --seed 1 --out "$1.npy" --centers-out "$1c.npy" -q >/dev/null
done
"$PY" -c "
import numpy as np
for w,k in [('w1',10),('w2',10),('w3',100),('w4',256)]:
    x=np.load(w+'.npy', mmap_mode='r'); np.save(w+'i.npy', np.ascontiguousarray(x[:k]))"
j() { python3 -c "
import json,sys
s=sys.stdin.read().strip()
try: d=json.loads(s)
except ValueError: d=json.loads(s.splitlines()[-1])
print($1)"; }

echo "## assignment (points/s, in-process, best of 3)"
for w in w2 w3 w4; do for t in 2 1; do
  s=$("$S" bench assign $w.npy --centroids ${w}c.npy --threads $t --json | j "d['points_per_second']")
  line="$w threads=$t shoal=$(printf %.3g "$s")"
  for peer in sklearn faiss scipy; do
    [ $w = w4 ] && [ $peer = scipy ] && continue
    p=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$PY" "$T" assign $peer $w.npy ${w}c.npy 3 2>/dev/null | j "d['points_per_s']")
    line="$line $peer=$(printf %.3g "$p") (x$(python3 -c "print(round($s/$p,2))"))"
  done
  echo "$line"
done; done

echo "## full Lloyd from the same initial centroids (first k rows), tol 0"
for spec in "w1 10 20" "w2 10 20" "w3 100 20" "w4 256 10"; do
  set -- $spec
  s=$("$S" fit $1.npy -k $2 --init $1i.npy --max-iter $3 --tol 0 --model /tmp/bench_m.json --json -q | j "'%.3f %.6e %d %.0f' % (d['seconds'], d['model']['inertia'], d['model']['iterations'], d['peak_rss_bytes']/2**20)")
  line="$1 k=$2 it=$3 shoal(s inertia iters MiB)=[$s]"
  for peer in sklearn faiss; do
    p=$("$PY" "$T" lloyd $peer $1.npy $1i.npy $3 2>/dev/null | j "'%.3f %.6e %d %.0f' % (d['seconds'], d['inertia'], d['iterations'], d['peak_rss_bytes']/2**20)")
    line="$line $peer=[$p]"
  done
  echo "$line"
done

echo "## end to end incl. initialisation (shoal: k-means++ on a sample; scikit-learn: KMeans(k, n_init=1))"
for spec in "w1 10" "w2 10" "w3 100" "w4 256"; do
  set -- $spec
  s=$("$S" fit $1.npy -k $2 --model /tmp/bench_m.json --json -q | j "'%.3f %.6e %.0f' % (d['seconds'], d['model']['inertia'], d['peak_rss_bytes']/2**20)")
  line="$1 k=$2 shoal(s inertia MiB)=[$s]"
  if [ $1 != w4 ] || [ "$W4E2E" = --sklearn-w4 ]; then
    p=$("$PY" "$T" e2e sklearn $1.npy $2 0 2>/dev/null | j "'%.3f %.6e %.0f' % (d['seconds'], d['inertia'], d['peak_rss_bytes']/2**20)")
    line="$line sklearn=[$p]"
  fi
  echo "$line"
done
