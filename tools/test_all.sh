#!/usr/bin/env bash
# Every test of shoal: the Rust workspace, then the Python package built
# from this checkout (pip install .[test], maturin) into a virtual
# environment this script makes itself, and its pytest suite.
#   tools/test_all.sh              (the README's test command; .ci/run calls it)
#   SHOAL_TEST_VENV=DIR tools/test_all.sh   (another place for the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

echo "== cargo test --workspace"
cargo test --workspace

VENV=${SHOAL_TEST_VENV:-target/py-test-venv}
echo "== Python: building the package into $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q ".[test]"
echo "== pytest python/tests"
# (the command-line tests of python/tests run the binary cargo test built)
export SHOAL_BIN="$PWD/target/debug/shoal"
"$VENV/bin/python" -m pytest -q python/tests
