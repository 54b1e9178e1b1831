#!/usr/bin/env bash
# scripts/chaos.sh — the chaos suite (e2e/chaos_test.go, build tag chaos; docs/reliability.md).
#
#   scripts/chaos.sh            N = 10,000 tokens (make chaos): TestChaos, TestChaosEtcdCluster
#   scripts/chaos.sh --smoke    N = 300, one fault of each kind, small cluster run, and what --startup
#                               runs (make chaos-smoke, CI; about 2-2.5 min)
#   scripts/chaos.sh --startup  start-up faults, hostile clients, the log scanner (TestChaosStartup, TestChaosLimits, TestChaosScanLogs)
#
# The suite runs its own etcd (client 127.0.0.1:23791-23794, peers 23801-23804, and a second
# cluster on 23795/23805 whose snapshot a gateway must refuse) and its own RabbitMQ node
# chaos@localhost (AMQP 28672, STOMP 28613, distribution 28673) under a temp folder, so it never
# touches scripts/services.sh's services; it installs nothing (see scripts/services.sh install).
# TestChaos runs etcd 3.7 built from the module (go build go.etcd.io/etcd/server/v3, or
# MICROGW_CHAOS_ETCD), against which gateways start from their revocation snapshots; the
# start-up and cluster tests run Debian's etcd 3.4.23, against which they list etcd in full. Gateway logs are kept in $MICROGW_CHAOS_LOGS (default: a new
# folder under $TMPDIR, printed at the end). Extra arguments go to go test. -short only keeps the
# toolkit suite's TestMain from building binaries that the chaos suite does not use.
# MICROGW_CHAOS_SCAN=<folder> makes TestChaosScanLogs scan every *.log/*.out under it for JWTs
# (CI: its log folder, after the other stages).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
if [[ ${1:-} == --smoke || ${1:-} == --startup ]]; then
	mode=${1#--}
	shift
fi
for b in etcd etcdctl /usr/lib/rabbitmq/bin/rabbitmq-server; do
	command -v "$b" >/dev/null || { echo "chaos: $b not found: scripts/services.sh install all (apt-get, as root)" >&2; exit 1; }
done
export MICROGW_CHAOS_LOGS=${MICROGW_CHAOS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/micro-gw-chaos-logs.XXXXXX")}
case $mode in
full)
	export MICROGW_CHAOS_N=${MICROGW_CHAOS_N:-10000}
	export MICROGW_CHAOS_CLUSTER_N=${MICROGW_CHAOS_CLUSTER_N:-2000}
	run='^TestChaos(|EtcdCluster)$'
	timeout=30m
	;;
smoke)
	export MICROGW_CHAOS_N=${MICROGW_CHAOS_N:-300}
	export MICROGW_CHAOS_SPAN=${MICROGW_CHAOS_SPAN:-20s}
	export MICROGW_CHAOS_CLUSTER_N=${MICROGW_CHAOS_CLUSTER_N:-200}
	export MICROGW_CHAOS_CLUSTER_SPAN=${MICROGW_CHAOS_CLUSTER_SPAN:-16s}
	run='^TestChaos(|EtcdCluster|Startup|Limits|ScanLogs)$'
	timeout=10m
	;;
startup)
	run='^TestChaos(Startup|Limits|ScanLogs)$'
	timeout=10m
	;;
esac
start=$SECONDS
rc=0
go test -short -tags chaos -count=1 -v -run "$run" -timeout "$timeout" ./e2e/ "$@" || rc=$?
echo "chaos ($mode): exit $rc after $((SECONDS - start)) s; gateway logs in $MICROGW_CHAOS_LOGS"
exit $rc
