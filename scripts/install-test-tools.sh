#!/usr/bin/env bash
# Installs the npm-side test tools into .tools/ (git-ignored): Microsoft's SARIF validator, and
# js-yaml 4 (the YAML reader pnpm loads pnpm-lock.yaml with) as the oracle for reading YAML.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .tools/node_modules/.bin/sarif-multitool ] && [ -f .tools/node_modules/js-yaml/package.json ]; then
  exit 0
fi
npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools \
  @microsoft/sarif-multitool js-yaml@4.1.0 >/dev/null
