#!/usr/bin/env bash
# Runs every test of v8rs, in one release build shared by all layers:
#   Rust: cargo fmt --check, clippy -D warnings, unit + integration tests (header freshness too)
#   C:    tests/c/test_v8rs.c against include/v8rs.h and libv8rs.so
#   Other languages: the C (make + pkg-config), LuaJIT and Ruby examples under examples/
#   Nightly Rust: the unit tests under Miri, and a 30 s fuzz run over the C ABI
#   Python: ruff, mypy, then pytest against the package installed with `pip install .`
#           (the web service and Dask recipes included), and again under PyPy against
#           the wheel
#   Wheel: sdist + py3-none-manylinux wheel, installed into a fresh venv without Rust
#   Docs: the MkDocs site, warnings as errors
# This is the README's test command; .ci/run calls it. Everything Python it uses lives
# in its own virtual environment, target/venv, made here: nothing installed by hand on
# the machine (a peer engine, a plotting library) changes what it checks.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
step() { printf '\n==> %s\n' "$*"; }

# The prebuilt V8 library (../shared/rusty_v8), found by itself.
source tests/v8_archive.sh

step "Test tools: a virtual environment in target/venv; LuaJIT, Ruby's ffi, pkg-config, patchelf and Chromium from Debian"
VENV="$ROOT/target/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
hash -r
python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
missing=()
command -v luajit > /dev/null || missing+=(luajit)
ruby -e 'require "ffi"' 2> /dev/null || missing+=(ruby-ffi)
command -v pkg-config > /dev/null || missing+=(pkg-config)
command -v patchelf > /dev/null || missing+=(patchelf)  # auditwheel repair
command -v pypy3 > /dev/null || missing+=(pypy3)
command -v chromium > /dev/null || missing+=(chromium)  # test_browser.py (skips without it)
apt_install() {
    $SUDO apt-get install -y -q "$@" > /dev/null ||
        { $SUDO apt-get update -q > /dev/null && $SUDO apt-get install -y -q "$@" > /dev/null; }
}
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    required=()
    for package in "${missing[@]}"; do [ "$package" = chromium ] || required+=("$package"); done
    [ ${#required[@]} -eq 0 ] || apt_install "${required[@]}"
    # Chromium is optional: without it the browser test skips, saying why.
    [ ${#required[@]} -eq ${#missing[@]} ] || apt_install chromium ||
        echo "chromium could not be installed: tests/python/test_browser.py will skip"
fi

step "Rust: format and lints"
cargo fmt --all -- --check
cargo clippy --release --all-targets -- -D warnings

step "Rust: unit and integration tests (with header freshness)"
cargo test --release

step "C: tests/c/test_v8rs.c against include/v8rs.h"
cargo build --release
cc -std=c11 -Wall -Wextra -Werror -pthread -Iinclude tests/c/test_v8rs.c \
    -Ltarget/release -lv8rs -Wl,-rpath,"$ROOT/target/release" -o target/test_v8rs
target/test_v8rs

step "Other languages: the C (make + pkg-config), LuaJIT and Ruby examples"
make -s -C examples/c run
luajit examples/lua/render.lua
ruby examples/ruby/render.rb

step "Rust (nightly): unit tests under Miri, and a short fuzz run of the C ABI"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
installed=$(rustup component list --toolchain nightly --installed)
grep -q '^miri' <<< "$installed" && grep -q '^rust-src' <<< "$installed" ||
    rustup component add --toolchain nightly miri rust-src
cargo +nightly miri test --lib
bash tests/fuzz.sh "${V8RS_FUZZ_SECONDS:-30}"

step "Python: ruff and mypy"
ruff check .
ruff format --check .
mypy v8cffi tests/python tests/stress bench examples docs/hooks

step "Docs: mkdocs build --strict"
mkdocs build --strict --quiet --site-dir target/site

step "Wheel: python -m build, auditwheel, a fresh venv without Rust runs the usage page"
bash tests/check_wheel.sh

step "Python: pip install . (into target/venv) and pytest"
python -m pip install -q --disable-pip-version-check --no-build-isolation .
# Run from tests/python so that `import v8cffi` is the installed package, not ./v8cffi.
(cd tests/python && python -m pytest -c "$ROOT/pyproject.toml" --rootdir "$ROOT" -p no:cacheprovider "$@" .)

step "PyPy: the Python tests under Debian's pypy3, against the wheel (in target/venv-pypy)"
PYPY_VENV="$ROOT/target/venv-pypy"
[ -x "$PYPY_VENV/bin/python" ] || pypy3 -m venv "$PYPY_VENV"
"$PYPY_VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/requirements-pypy.txt
"$PYPY_VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
    "$ROOT"/target/wheel/wheelhouse/*.whl
(cd tests/python && "$PYPY_VENV/bin/python" -m pytest -c "$ROOT/pyproject.toml" --rootdir "$ROOT" \
    -p no:cacheprovider "$@" .)
