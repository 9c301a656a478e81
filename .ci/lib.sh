# Shared helpers for ./test.sh and .ci/run. Sourced, not executed.

step() {
    local name=$1
    shift
    printf '\n=== %s\n' "$name"
    local start=$SECONDS
    "$@"
    printf '=== %s: ok (%ss; %s free on the disk)\n' "$name" $((SECONDS - start)) "$(free_disk)"
}

# Free space on the disk holding the current directory, as `df -h` writes it.
free_disk() {
    df -h --output=avail . | tail -1 | tr -d ' '
}

# Installs the external tools tests use, where missing. Each install is loud on failure.
ensure_tools() {
    # Debian's `prometheus` package: `promtool` for `core/tests/promtool.rs`, and the server
    # binary `/usr/bin/prometheus` that `exporters/tests/http_prometheus.rs` starts as a plain
    # process on a loopback port (installing the package does not start the system service
    # here, and no test uses that service).
    if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
        echo "ensure_tools: installing promtool and prometheus (apt-get install prometheus)"
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
    # The rotel OTLP collector for `exporters/tests/trace_*.rs` (only pre-releases exist).
    if ! python3 -c "import os, rotel, sys; sys.exit(not os.path.isfile(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent')))" >/dev/null 2>&1; then
        echo "ensure_tools: installing rotel (pip install rotel==0.0.1a15)"
        python3 -m pip install --quiet rotel==0.0.1a15
    fi
}
