#!/usr/bin/env bash
# The alert rules: promtool checks their syntax and runs their unit tests (each alert fires
# when its condition has held long enough, and stays quiet otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
    echo "rules.sh: promtool not found: apt-get install -y prometheus (./test.sh installs it)" >&2
    exit 1
fi
promtool check rules docs/prometheus/alerts.yaml
(cd docs/prometheus && promtool test rules alerts_test.yaml)
