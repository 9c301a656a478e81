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
    # Debian's Pushgateway for `exporters/tests/pushgateway.rs`, which starts it as a plain
    # process on a loopback port (the packaged service is not used).
    if ! command -v prometheus-pushgateway >/dev/null 2>&1; then
        echo "ensure_tools: installing prometheus-pushgateway (apt-get install prometheus-pushgateway)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-pushgateway
    fi
    # Python's prometheus_client parsers for `core/tests/python_parsers.rs`.
    if ! python3 -c "import prometheus_client.parser, prometheus_client.openmetrics.parser" >/dev/null 2>&1; then
        echo "ensure_tools: installing prometheus_client (pip install prometheus_client)"
        python3 -m pip install --quiet prometheus_client
    fi
}
