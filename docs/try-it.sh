#!/usr/bin/env bash
# See corral-demo in a real Prometheus without Grafana: builds and starts the demo, starts
# Debian's Prometheus (installed if missing) scraping it every 5 s with the alert rules
# loaded, and prints the URLs of the graph and alerts pages. Ctrl-C stops both.
#
#   docs/try-it.sh                      # until Ctrl-C
#   RATE=5000 docs/try-it.sh            # events per second of the demo (default 1000)
#   SCREENSHOTS=docs/img docs/try-it.sh # after SCREENSHOT_AFTER seconds (default 180),
#                                       # saves the graph page of two dashboard queries as
#                                       # PNGs with headless Chromium, then stops
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}

if ! command -v prometheus >/dev/null 2>&1; then
    echo "try-it: installing Prometheus (apt-get install -y prometheus)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cargo build --release --locked --bin corral-demo
work=$(mktemp -d)
demo_pid=
prom_pid=
cleanup() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    [ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

demo_port=$(free_port)
prom_port=$(free_port)
target/release/corral-demo --listen "127.0.0.1:$demo_port" --rate "$RATE" >"$work/demo.log" 2>&1 &
demo_pid=$!

cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $PWD/docs/prometheus/alerts.yaml
scrape_configs:
  - job_name: corral-demo
    static_configs:
      - targets: ["127.0.0.1:$demo_port"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" --enable-feature=exemplar-storage \
    >"$work/prometheus.log" 2>&1 &
prom_pid=$!

for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "http://127.0.0.1:$prom_port/-/ready" >/dev/null || {
    echo "try-it: Prometheus did not start:" >&2
    cat "$work/prometheus.log" >&2
    exit 1
}

urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
graph() {
    echo "http://127.0.0.1:$prom_port/graph?g0.expr=$(urlencode "$1")&g0.tab=0&g0.stacked=0&g0.show_exemplars=0&g0.range_input=15m"
}
throughput=$(graph 'rate(stream_processor_events_received_total[5m])')
latency=$(graph 'histogram_quantile(0.95, sum by (le) (rate(stream_processor_processing_duration_ms_bucket[5m])))')

echo
echo "corral-demo      http://127.0.0.1:$demo_port/metrics  ($RATE events/s)"
echo "Prometheus       http://127.0.0.1:$prom_port/"
echo "  throughput     $throughput"
echo "  latency p95    $latency"
echo "  alerts         http://127.0.0.1:$prom_port/alerts"
echo "  exemplars      tick 'Show exemplars' on the latency graph"
echo

if [ -n "${SCREENSHOTS:-}" ]; then
    browser=$(command -v chromium || command -v chromium-browser || true)
    if [ -z "$browser" ]; then
        echo "try-it: installing Chromium (apt-get install -y chromium)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
        browser=$(command -v chromium)
    fi
    mkdir -p "$SCREENSHOTS"
    wait_s=${SCREENSHOT_AFTER:-180}
    echo "try-it: taking screenshots in ${wait_s} s"
    sleep "$wait_s"
    shoot() {
        local profile
        profile=$(mktemp -d)
        "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$profile" --hide-scrollbars --window-size=1400,900 \
            --virtual-time-budget=15000 --screenshot="$2" "$1" 2>/dev/null
        rm -rf "$profile"
        echo "try-it: wrote $2"
    }
    shoot "$throughput" "$SCREENSHOTS/prometheus-throughput.png"
    shoot "$latency" "$SCREENSHOTS/prometheus-latency-p95.png"
    exit 0
fi

echo "Ctrl-C stops the demo and Prometheus."
wait "$demo_pid"
