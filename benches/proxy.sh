#!/usr/bin/env bash
# Proxy benchmarks (release build): 1 GB through the proxy vs direct, NOOP round-trip
# latency, memory per idle session. Figures are printed; docs/proxy.md keeps the
# measured ones. Uses pure-ftpd from the capture lab when installed (run as root),
# libunftp in-process otherwise.
#
#   benches/proxy.sh                          # all three
#   benches/proxy.sh bench_command_latency    # one
#   FTPSCOPE_BENCH_BYTES=200000000 benches/proxy.sh bench_throughput
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test proxy_bench -- --ignored --nocapture --test-threads 1 "$@"
