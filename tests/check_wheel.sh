#!/usr/bin/env bash
# Builds the sdist and the py3-none-manylinux wheel, repairs the wheel with auditwheel,
# installs it into a fresh venv with binaries only (no Rust, no compiler, cargo off the
# PATH) and runs the usage page's example there. Called by tests/run_all.sh; reuses the
# release build in target/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/target/wheel"
rm -rf "$OUT" "$ROOT/build"
mkdir -p "$OUT"
# From /tmp: the repository's build/ folder would shadow the `build` package.
(cd /tmp && python3 -m build --no-isolation --sdist --wheel -o "$OUT/dist" "$ROOT") > "$OUT/build.log" 2>&1 ||
    { cat "$OUT/build.log"; exit 1; }
wheel=$(ls "$OUT"/dist/*.whl)
auditwheel show "$wheel"
auditwheel repair -w "$OUT/wheelhouse" "$wheel" > "$OUT/repair.log" 2>&1 || { cat "$OUT/repair.log"; exit 1; }
repaired=$(ls "$OUT"/wheelhouse/*.whl)
case "$(basename "$repaired")" in
    *-py3-none-manylinux_*_x86_64.whl) ;;
    *) echo "unexpected wheel tag: $repaired"; exit 1 ;;
esac
ls -l "$OUT"/dist/*.tar.gz "$repaired"

python3 -m venv "$OUT/venv"
"$OUT/venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: "$repaired"
cd /tmp
out=$(env PATH="$OUT/venv/bin:/usr/bin:/bin" V8CFFI_LIBRARY= \
    python -m v8cffi "$ROOT/examples/foo_bundled.js" -e 'foo.render("hola mundo")')
[ "$out" = "hola mundo" ] || { echo "the installed wheel printed: $out"; exit 1; }
env PATH="$OUT/venv/bin:/usr/bin:/bin" python "$ROOT/examples/usage.py" > /dev/null
echo "wheel OK: $(basename "$repaired") installs without Rust and runs the usage page"
