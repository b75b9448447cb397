#!/usr/bin/env bash
# `npm test`: lint, type-check, then the tap suite against real parts made for
# this run alone (scripts/with-test-services.sh: a WordPress instance with a
# database of its own, and a Redis of its own, each on a free port), which are
# stopped and deleted when the run ends, however it ends. A run leaves
# nothing behind, and two checkouts can test at the same time.
#
#   npm test                          everything
#   npm test -- test/e2e/foo.test.ts  some files (lint and type-check are skipped)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ $# -eq 0 ]; then
  npm run --silent lint
  npm run --silent typecheck
fi
exec bash scripts/with-test-services.sh npx tap "$@"
