# Shared helpers for ./test.sh and .ci/run. Sourced, not executed.

step() {
    local name=$1
    shift
    printf '\n=== %s\n' "$name"
    local start=$SECONDS
    "$@"
    printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - start))
}

# Installs the external tools tests use, where missing. Each install is loud on failure.
ensure_tools() {
    # promtool (Debian's `prometheus` package) for `core/tests/promtool.rs`. Installing the
    # package does not start the server here, and no test starts it.
    if ! command -v promtool >/dev/null 2>&1; then
        echo "ensure_tools: installing promtool (apt-get install prometheus)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
    fi
    # Python's prometheus_client parsers for `core/tests/python_parsers.rs`.
    if ! python3 -c "import prometheus_client.parser, prometheus_client.openmetrics.parser" >/dev/null 2>&1; then
        echo "ensure_tools: installing prometheus_client (pip install prometheus_client)"
        python3 -m pip install --quiet prometheus_client
    fi
    # The rotel OTLP collector for `exporters/tests/trace_*.rs` (only pre-releases exist).
    if ! python3 -c "import os, rotel, sys; sys.exit(not os.path.isfile(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent')))" >/dev/null 2>&1; then
        echo "ensure_tools: installing rotel (pip install rotel==0.0.1a15)"
        python3 -m pip install --quiet rotel==0.0.1a15
    fi
}
