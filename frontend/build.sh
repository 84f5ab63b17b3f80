#!/bin/sh
# Builds static/editor/config-editor.js from frontend/src with esbuild. The output is committed,
# so running Mate never needs Node; run this only after changing frontend/src or package.json.
#   sh frontend/build.sh        (Node 20+ and npm; the exact versions come from package-lock.json)
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
mkdir -p ../static/editor
./node_modules/.bin/esbuild src/config-editor.js \
  --bundle \
  --minify \
  --format=iife \
  --target=es2020 \
  --legal-comments=none \
  --charset=utf8 \
  --banner:js="/* Mate config editor. Built by frontend/build.sh from frontend/src (do not edit). Bundles CodeMirror 6 and Lezer (MIT, (c) Marijn Haverbeke and others). */" \
  --outfile=../static/editor/config-editor.js
ls -l ../static/editor/config-editor.js
