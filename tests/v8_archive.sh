# Sourced by the test scripts: points RUSTY_V8_ARCHIVE at the prebuilt V8 library in
# ../shared/rusty_v8 (or $V8RS_SHARED/rusty_v8) when present; otherwise the v8 crate
# downloads it as usual.
if [ -z "${RUSTY_V8_ARCHIVE:-}" ]; then
    for shared in "${V8RS_SHARED:-}" "$ROOT/../shared"; do
        if [ -n "$shared" ] && [ -f "$shared/rusty_v8/librusty_v8_release_x86_64-unknown-linux-gnu.a.gz" ]; then
            export RUSTY_V8_ARCHIVE
            RUSTY_V8_ARCHIVE=$(cd "$shared/rusty_v8" && pwd)
            break
        fi
    done
fi
echo "RUSTY_V8_ARCHIVE=${RUSTY_V8_ARCHIVE:-<download>}"
