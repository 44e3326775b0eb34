#!/usr/bin/env bash
# Installs the npm-side test tools into .tools/ (git-ignored): Microsoft's SARIF validator.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .tools/node_modules/.bin/sarif-multitool ]; then
  exit 0
fi
npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools @microsoft/sarif-multitool >/dev/null
