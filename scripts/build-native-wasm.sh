#!/bin/sh
# Rebuilds the C and Rust example modules from source (examples/modules/native/*.c, *.rs) into
# examples/modules/native/wasm/, stripped. Their outputs are committed so that `npm test` runs where
# these toolchains are missing; CI runs this first so that the tests use binaries built from source.
#
# Toolchains (Debian 12): apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32 rustc libstd-rust-dev-wasm32
# rustc is called by its Debian path: a rustup rustc earlier in PATH may lack the wasm32 standard library.
#
# clang runs `wasm-opt` on its output when one is on PATH, so the result depends on PATH. This script
# puts binaryen's wasm-opt from node_modules first (the version package-lock.json pins, a dependency
# of AssemblyScript), so that the same sources give the same bytes wherever it runs: run `npm install` first.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PATH="$ROOT/node_modules/.bin:$PATH"
if [ "$(command -v wasm-opt)" != "$ROOT/node_modules/.bin/wasm-opt" ]; then
  echo "build-native-wasm: node_modules/.bin/wasm-opt is missing: run npm install first" >&2
  exit 1
fi
cd "$ROOT/examples/modules/native"
RUSTC="${RUSTC:-/usr/bin/rustc}"
CLANG="${CLANG:-clang}"
mkdir -p wasm
"$CLANG" --target=wasm32-wasi -O2 -Wl,--strip-all wasi-tool.c -o wasm/wasi-tool.wasm
"$CLANG" --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-all crc32-reactor.c -o wasm/crc32-reactor.wasm
"$RUSTC" --target wasm32-unknown-unknown --crate-type cdylib -O -C link-arg=-s text-lib.rs -o wasm/text-lib.wasm
rm -f wasm/*.d
for f in wasm/*.wasm; do echo "build-native-wasm: examples/modules/native/$f ($(wc -c < "$f") bytes)"; done
