#!/usr/bin/env bash
# bench/run.sh — micro-gw's benchmarks, measured side by side on this machine in one run.
#
#   bash bench/run.sh           the full run (make bench): ~10-15 min on 2 cores; writes docs/benchmarks.md
#   bash bench/run.sh --smoke   the same steps with tiny counts and 1 s loads (make bench-smoke, CI):
#                               checks that the scripts still work; writes $WORK/benchmarks.md only
#
# What it does: installs wrk, haproxy, etcd and RabbitMQ with apt-get when missing; builds
# micro-gw, a gateway of the petstore sample pointing at a local backend (micro-gw init + build),
# the bare proxy, the backend and the measuring tools of bench/; starts etcd and RabbitMQ through
# scripts/services.sh on ports of their own (so a developer's services are left alone), the
# backend, the bare proxy, HAProxy and nginx; loads N revocations into etcd; measures every row
# of issues 7 and 19 (see docs/benchmarks.md); stops everything it started, also on error or
# Ctrl-C. etcd is 3.7 built from the module the gateway's tests embed (go.etcd.io/etcd/server/v3),
# not Debian's 3.4.23, against which a gateway never restarts from its revocation snapshot
# (docs/revocation.md, "Snapshots"); etcdctl (Debian's) lists the same server.
#
# Every load goes to 127.0.0.1 only, is bounded in time (wrk -d, loadgen -duration) or in count
# (propagation -n), and stops by itself.
#
# Knobs (environment): BENCH_WORK (work folder, default $TMPDIR/micro-gw-bench[-smoke]; its
# services/ subfolder keeps etcd's data, so a second run skips loading the keys), BENCH_OUT
# (the markdown written; default docs/benchmarks.md, or $WORK/benchmarks.md with --smoke),
# BENCH_REVOKED, BENCH_RUNS, BENCH_DURATION, BENCH_PROP_N, BENCH_START_RUNS, BENCH_CONNS;
# BENCH_BEFORE=<git revision>: also build the gateway of that revision, load it in row 1's
# rounds beside this one and profile both ("before" and "after" in docs/benchmarks.md);
# BENCH_PROFILE=1|'': take the CPU profiles or not (default: in a full run only).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMOKE=
[[ ${1:-} == --smoke ]] && SMOKE=1

# The defaults of the two modes, overridden by the BENCH_ variables: a smoke run
# checks that the steps still work, a full one measures.
#                          revoked  runs  duration  prop_n  idp_n  start_runs
if [[ -n $SMOKE ]]; then mode="1000     1     1         20      3      1"
else                     mode="1000000  3     10        1000    50     3"; fi
read -r d_revoked d_runs d_duration d_prop_n d_idp_n d_start_runs <<<"$mode"
WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/micro-gw-bench${SMOKE:+-smoke}}
OUT=${BENCH_OUT:-$([[ -n $SMOKE ]] && echo "$WORK" || echo "$ROOT/docs")/benchmarks.md}
N_REVOKED=${BENCH_REVOKED:-$d_revoked}
RUNS=${BENCH_RUNS:-$d_runs}
DUR=${BENCH_DURATION:-$d_duration}
PROP_N=${BENCH_PROP_N:-$d_prop_n}
IDP_N=${BENCH_IDP_N:-$d_idp_n}
START_RUNS=${BENCH_START_RUNS:-$d_start_runs}
CONNS=${BENCH_CONNS:-32}

# Ports: none of the defaults (9090.., 2379, 5672, 61613), so nothing else running is disturbed.
BACKEND_PORT=18080 BARE_PORT=18081 HAPROXY_PORT=18082 NGINX_PORT=18083
GW_HTTP=19090 GW_ADMIN=19096 GW_PPROF=16060
GWB_HTTP=19190 GWB_ADMIN=19196 GWB_PPROF=16061 # the gateway of BENCH_BEFORE
BEFORE=${BENCH_BEFORE:-}
PROFILE=${BENCH_PROFILE-$([[ -n $SMOKE ]] || echo 1)} # the CPU profiles of row 1's gateways (not in smoke runs)
# services-etcd37: the data of the etcd 3.7 the bench runs (a 3.4 data folder cannot be opened by it).
export MICROGW_SERVICES_DIR=$WORK/services-etcd37
export MICROGW_ETCD_PORT=41379 MICROGW_ETCD_PEER_PORT=41380
export MICROGW_AMQP_PORT=41672 MICROGW_STOMP_PORT=41613
export MICROGW_RABBITMQ_NODE=microgwbench@localhost
export MICROGW_REDIS_PORT=41637
ETCD=127.0.0.1:$MICROGW_ETCD_PORT
PREFIX=jti/
BIN=$WORK/bin
GW=$WORK/gw                      # the project under test
LOGS=$WORK/logs
RES=$WORK/results                # one file per measure; the table is made from them
export GOFLAGS=${GOFLAGS:-}

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ------------------------------------------------------------------------------ helpers

# jget FILE KEY: a number field of the flat JSON object in FILE.
jget() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1" | head -1; }

# median: the median of the numbers on stdin (one a line), empty for none.
median() {
	sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit; if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# fmt1 NUMBER: one decimal (empty stays empty, so a missing figure shows as such).
fmt1() { [[ -n ${1:-} ]] && awk -v x="$1" 'BEGIN {printf "%.1f", x}' || echo "n/a"; }
fmt2() { [[ -n ${1:-} ]] && awk -v x="$1" 'BEGIN {printf "%.2f", x}' || echo "n/a"; }
fmt3() { [[ -n ${1:-} ]] && awk -v x="$1" 'BEGIN {printf "%.3f", x}' || echo "n/a"; }
kb2mb() { [[ -n ${1:-} ]] && awk -v x="$1" 'BEGIN {printf "%.1f", x/1024}' || echo "n/a"; }
ratio() { [[ -n ${1:-} && -n ${2:-} ]] && awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "n/a"; else printf "%.2f", a/b}' || echo "n/a"; }

# verdict OK?: "met" or "**missed**" from an awk condition on the figures given.
verdict() { awk "BEGIN {exit !($1)}" 2>/dev/null && echo "met" || echo "**missed**"; }

wait_port() { # wait_port PORT SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

PIDS=()
SERVICES_STARTED=
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for ((p = ${#PIDS[@]} - 1; p >= 0; p--)); do
		kill -TERM "${PIDS[p]}" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [[ -n $SERVICES_STARTED ]]; then
		bash "$ROOT/scripts/services.sh" stop all >/dev/null 2>&1 || say "services.sh stop failed (see $MICROGW_SERVICES_DIR)"
	fi
	((rc == 0)) || say "failed (exit $rc); logs in $LOGS"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bg() { # start_bg LOG CMD...: run in the background, remember the pid
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	PIDS+=($!)
}

stop_pid() { # stop_pid PID: SIGTERM and wait (at most 20 s)
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
}

# ------------------------------------------------------------------------------ install, build

T_START=$(date +%s)
# The revision measured, read before this run writes its page into the tree (which would make it "dirty").
REVISION=$(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo '?')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "mode: $([[ -n $SMOKE ]] && echo smoke || echo full); work folder $WORK; ${N_REVOKED} revocations, ${RUNS} runs of ${DUR} s"
rm -rf "$BIN" "$GW" "$LOGS" "$RES" "$WORK/sample"
mkdir -p "$BIN" "$LOGS" "$RES" "$MICROGW_SERVICES_DIR"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v haproxy >/dev/null || need+=(haproxy)
# nginx is the ceiling of row 1; the smoke run (CI) uses it when it is there and installs nothing for it.
[[ -n $SMOKE ]] || command -v nginx >/dev/null || need+=(nginx)
if ((${#need[@]})); then
	command -v apt-get >/dev/null || die "install ${need[*]} (apt-get not found)"
	say "apt-get install ${need[*]}"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# etcd and RabbitMQ only: the bench has no use for ActiveMQ, which would cost
# its start and two more ports.
for svc in etcd rabbitmq redis; do bash "$ROOT/scripts/services.sh" install "$svc"; done

say "building micro-gw and the bench tools"
gobuild() {
	(cd "$ROOT" && go build -o "$BIN/" ./cmd/micro-gw ./bench/backend ./bench/bareproxy ./bench/loadgen \
		./bench/propagation ./bench/startready ./bench/etcdload ./bench/idpprop)
}
# A second try: micro-gw embeds the module's source, and a file saved during the build fails it.
gobuild || { sleep 2; gobuild; }
# etcd 3.7 from the module (see the top of this file); services.sh starts the first etcd on PATH.
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$BIN/etcd" go.etcd.io/etcd/server/v3) || die "go build of etcd failed"
export PATH=$BIN:$PATH

say "making the project under test: the petstore sample, its endpoint the local backend"
mkdir -p "$WORK/defs"
sed "s#https://petstore.swagger.io/v2#http://127.0.0.1:$BACKEND_PORT/v2#g" "$ROOT/samples/petstore_basic.yaml" >"$WORK/defs/petstore.yaml"
"$BIN/micro-gw" init "$GW" -a "$WORK/defs/petstore.yaml" --force >"$LOGS/init.log"
cp "$ROOT/bench/project/bench_pprof.go.tmpl" "$GW/extensions/bench_pprof.go"
# No throttling policy: the throttle stage is absent from this gateway (row 12 compares).
echo '# none: the bench measures this gateway without throttling' >"$GW/policies.yaml"
"$BIN/micro-gw" build "$GW" >"$LOGS/build-gw.log" 2>&1 || { cat "$LOGS/build-gw.log" >&2; die "micro-gw build of the bench project failed"; }
GWEXE=$GW/target/gw
# The same API under a resource policy that never runs out (throttling's cost, row 12): the
# API-level tier counts every request of the API once, in one counter shared by every caller.
GWT=$WORK/gwt
sed "s#^x-wso2-basePath: /petstore/v1#&\nx-wso2-throttling-tier: benchTier#" "$WORK/defs/petstore.yaml" >"$WORK/defs/petstore-throttled.yaml"
"$BIN/micro-gw" init "$GWT" -a "$WORK/defs/petstore-throttled.yaml" --force >>"$LOGS/init.log"
printf 'resourcePolicies:\n  - benchTier: {count: 1000000000000, unitTime: 1, timeUnit: day}\n' >"$GWT/policies.yaml"
cp -r "$GW/security/." "$GWT/security/" # the same issuer, so that the same token passes
"$BIN/micro-gw" build "$GWT" >"$LOGS/build-gwt.log" 2>&1 || { cat "$LOGS/build-gwt.log" >&2; die "micro-gw build of the throttled bench project failed"; }
GWTEXE=$GWT/target/gwt
if [[ -n $BEFORE ]]; then
	say "making the same project with micro-gw at $BEFORE (row 1's \"before\")"
	rm -rf "$WORK/before-src" "$WORK/gwb"
	mkdir -p "$WORK/before-src" "$BIN/before"
	git -C "$ROOT" archive "$BEFORE" | tar -x -C "$WORK/before-src"
	(cd "$WORK/before-src" && go build -o "$BIN/before/" ./cmd/micro-gw) || die "go build of micro-gw at $BEFORE failed"
	GWB=$WORK/gwb
	"$BIN/before/micro-gw" init "$GWB" -a "$WORK/defs/petstore.yaml" --force >>"$LOGS/init.log"
	cp "$ROOT/bench/project/bench_pprof.go.tmpl" "$GWB/extensions/bench_pprof.go"
	cp "$GW/policies.yaml" "$GWB/policies.yaml"
	cp -r "$GW/security/." "$GWB/security/" # the same issuer, so that the same token passes
	"$BIN/before/micro-gw" build "$GWB" >"$LOGS/build-gwb.log" 2>&1 || { cat "$LOGS/build-gwb.log" >&2; die "micro-gw build at $BEFORE failed"; }
	GWBEXE=$GWB/target/gwb
fi
TOKEN=$("$BIN/micro-gw" token issue "$GW" --ttl 2h)
openssl x509 -in "$GW/security/truststore/wso2apim.pem" -noout -pubkey >"$WORK/issuer.pub.pem"
URL_PATH=/petstore/v1/pet/42

# ------------------------------------------------------------------------------ services

say "starting etcd, RabbitMQ and Redis (scripts/services.sh, data in $MICROGW_SERVICES_DIR)"
SERVICES_STARTED=1
for svc in etcd rabbitmq redis; do bash "$ROOT/scripts/services.sh" start "$svc"; done
say "loading $N_REVOKED revocations into etcd under $PREFIX"
"$BIN/etcdload" -endpoint "$ETCD" -prefix "$PREFIX" -n "$N_REVOKED" | tee "$LOGS/etcdload.log" >&2

say "starting the backend, the bare proxy, HAProxy and nginx"
start_bg "$LOGS/backend.log" "$BIN/backend" -addr 127.0.0.1:$BACKEND_PORT
start_bg "$LOGS/bareproxy.log" "$BIN/bareproxy" -addr 127.0.0.1:$BARE_PORT -backend http://127.0.0.1:$BACKEND_PORT
awk -v n="$N_REVOKED" 'BEGIN {for (i = 0; i < n; i++) printf "bench-%07d\n", i}' >"$WORK/revoked.lst"
sed -e "s#@THREADS@#$(nproc)#; s#@PORT@#$HAPROXY_PORT#; s#@CERT@#$WORK/issuer.pub.pem#" \
	-e "s#@ISSUER@#https://localhost:9443/oauth2/token#; s#@AUDIENCE@#http://org.wso2.apimgt/gateway#" \
	-e "s#@REVOKED@#$WORK/revoked.lst#; s#@BACKEND@#127.0.0.1:$BACKEND_PORT#" \
	"$ROOT/bench/haproxy/haproxy.cfg.tmpl" >"$WORK/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg"
start_bg "$LOGS/haproxy.log" haproxy -db -f "$WORK/haproxy.cfg"
ports=($BACKEND_PORT $BARE_PORT $HAPROXY_PORT)
NGINX=
if command -v nginx >/dev/null; then
	NGINX=1
	mkdir -p "$WORK/nginx-tmp"
	sed -e "s#@WORKERS@#$(nproc)#; s#@PORT@#$NGINX_PORT#; s#@WORK@#$WORK#g; s#@BACKEND@#127.0.0.1:$BACKEND_PORT#" \
		"$ROOT/bench/nginx/nginx.conf.tmpl" >"$WORK/nginx.conf"
	start_bg "$LOGS/nginx.log" nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
	ports+=($NGINX_PORT)
fi
for p in "${ports[@]}"; do wait_port "$p" 60 || die "nothing listens on 127.0.0.1:$p (logs in $LOGS)"; done

# Each target answers 200 to the token, and the checks of HAProxy and the gateway refuse a
# revoked jti: otherwise the figures would compare different work.
check() { # check URL WANT [TOKEN]
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${3:-$TOKEN}" "$1")
	[[ $code == "$2" ]] || die "$1 answered $code, want $2"
}
REVOKED_TOKEN=$("$BIN/micro-gw" token issue "$GW" --jti bench-0000000)
check "http://127.0.0.1:$BARE_PORT/v2/pet/42" 200
check "http://127.0.0.1:$HAPROXY_PORT$URL_PATH" 200
check "http://127.0.0.1:$HAPROXY_PORT$URL_PATH" 401 "$REVOKED_TOKEN"
[[ -z $NGINX ]] || check "http://127.0.0.1:$NGINX_PORT$URL_PATH" 200

# ------------------------------------------------------------------------------ the gateway

GW_COMMON=(-e listenerConfig.host=127.0.0.1 -e listenerConfig.httpPort=$GW_HTTP -e listenerConfig.httpsPort=0
	-e listenerConfig.adminPort=$GW_ADMIN)
# The gateways log at WARN, but row 7's restarts at INFO: their logs say whether they started from the snapshot.
GW_LOG=WARN
GW_ETCD=(-e tokenRevocationConfig.persistent.enablePersistentStorageRetrieval=true
	-e "tokenRevocationConfig.persistent.hostname=http://$ETCD/v2/keys/$PREFIX")
GW_STOMP=(-e tokenRevocationConfig.realtime.enableRealtimeMessageRetrieval=true
	-e "tokenRevocationConfig.realtime.jmsConnectionProviderUrl=stomp://127.0.0.1:$MICROGW_STOMP_PORT"
	-e tokenRevocationConfig.realtime.jmsConnectionUsername=guest -e tokenRevocationConfig.realtime.jmsConnectionPassword=guest)
GW_AMQP=(-e tokenRevocationConfig.realtime.enableRealtimeMessageRetrieval=true
	-e "tokenRevocationConfig.realtime.jmsConnectionProviderUrl=amqp://guest:guest@127.0.0.1:$MICROGW_AMQP_PORT/")
GW_URL=http://127.0.0.1:$GW_HTTP$URL_PATH

# gw_start NAME ARGS...: measure one start to ready (result in $RES/start-NAME.json).
gw_start() {
	local name=$1
	shift
	MICROGW_BENCH_PPROF=127.0.0.1:$GW_PPROF "$BIN/startready" -ready "http://127.0.0.1:$GW_ADMIN/health/ready" -idle 2s \
		-timeout 10m -log "$LOGS/gw-$name.log" -out "$RES/start-$name.json" -- "$GWEXE" "${GW_COMMON[@]}" -e log.level=$GW_LOG "$@" \
		|| die "gateway $name did not get ready (log $LOGS/gw-$name.log)"
}

# gw_up NAME ARGS...: start a gateway, measure its start, and leave it running (GW_PID).
gw_up() {
	local name=$1
	shift
	exe_up "$name" "$GWEXE" "$@"
}

# exe_up NAME EXE ARGS...: gw_up with another executable (row 12's throttled gateway).
exe_up() {
	local name=$1 exe=$2
	shift 2
	rm -f "$RES/start-$name.json"
	MICROGW_BENCH_PPROF=127.0.0.1:$GW_PPROF "$BIN/startready" -ready "http://127.0.0.1:$GW_ADMIN/health/ready" -idle 2s -keep \
		-timeout 10m -log "$LOGS/gw-$name.log" -out "$RES/start-$name.json" -- "$exe" "${GW_COMMON[@]}" -e log.level=$GW_LOG "$@" \
		>>"$LOGS/startready.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	until [[ -s $RES/start-$name.json ]]; do
		kill -0 "$GW_PID" 2>/dev/null || die "gateway $name did not get ready (log $LOGS/gw-$name.log)"
		sleep 0.2
	done
	check "$GW_URL" 200
}
gw_down() { stop_pid "$GW_PID"; }

# gwb_up: the gateway of BENCH_BEFORE on ports of its own, with etcd and STOMP as row 1's, left
# running (GWB_PID); its start is not measured.
GWB_URL=http://127.0.0.1:$GWB_HTTP$URL_PATH
gwb_up() {
	MICROGW_BENCH_PPROF=127.0.0.1:$GWB_PPROF "$BIN/startready" -ready "http://127.0.0.1:$GWB_ADMIN/health/ready" -idle 1s -keep \
		-timeout 10m -log "$LOGS/gw-before.log" -out "$RES/start-before.json" -- "$GWBEXE" \
		-e listenerConfig.host=127.0.0.1 -e listenerConfig.httpPort=$GWB_HTTP -e listenerConfig.httpsPort=0 \
		-e listenerConfig.adminPort=$GWB_ADMIN -e log.level=WARN "${GW_ETCD[@]}" "${GW_STOMP[@]}" >>"$LOGS/startready.log" 2>&1 &
	GWB_PID=$!
	PIDS+=("$GWB_PID")
	until [[ -s $RES/start-before.json ]]; do
		kill -0 "$GWB_PID" 2>/dev/null || die "the gateway at $BEFORE did not get ready (log $LOGS/gw-before.log)"
		sleep 0.2
	done
	check "$GWB_URL" 200
	check "$GWB_URL" 401 "$REVOKED_TOKEN"
}

# profile NAME PPROF URL: a CPU profile of DUR s of the gateway whose pprof listens on PPROF, taken
# in the middle of a wrk load like row 1's, and where each microsecond of a request went
# (bench/cpusplit.awk) from the requests wrk counted over the profile's time.
profile() {
	local name=$1 pprof=$2 url=$3 exe=$4 out rps
	wrk -t1 -c"$CONNS" -d"$((DUR + 2))s" -H "Authorization: Bearer $TOKEN" "$url" >"$RES/prof-wrk-$name.txt" &
	local wrk_pid=$!
	sleep 1
	curl -s -o "$WORK/cpu-$name.prof" "http://127.0.0.1:$pprof/debug/pprof/profile?seconds=$DUR" || true
	wait "$wrk_pid" || true
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$RES/prof-wrk-$name.txt")
	echo "$rps" >"$RES/prof-rps-$name"
	go tool pprof -top -cum -nodecount=40 "$exe" "$WORK/cpu-$name.prof" >"$RES/cpu-top-$name.txt" 2>/dev/null || true
	go tool pprof -traces "$exe" "$WORK/cpu-$name.prof" 2>/dev/null |
		awk -v reqs="$(awk -v r="$rps" -v d="$DUR" 'BEGIN {print r*d}')" -f "$ROOT/bench/cpusplit.awk" >"$RES/cpu-split-$name.md" || true
}

# wrk_rps URL [TOKEN]: requests per second of one bounded wrk run (fails on non-2xx answers).
wrk_rps() {
	local out
	out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer ${2:-$TOKEN}" "$1")
	echo "$out" >>"$LOGS/wrk.log"
	if grep -q 'Non-2xx' <<<"$out"; then die "wrk got non-2xx answers from $1 (see $LOGS/wrk.log)"; fi
	awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

# --- row 8: start -> ready with no revocation source, idle RSS ----------------------------------
say "row 8: start -> ready with no revocations (${START_RUNS}x)"
for ((i = 1; i <= START_RUNS; i++)); do
	gw_start "none-$i"
	jget "$RES/start-none-$i.json" ReadyMS >>"$RES/none-ready"
	jget "$RES/start-none-$i.json" IdleRSSKB >>"$RES/none-idle"
done

# --- row 3: cold tokens (cache off: every request verifies the RS256 signature) ----------------
say "row 3: throughput with the token cache off"
gw_up nocache -e caching.enabled=false
for ((i = 1; i <= RUNS; i++)); do wrk_rps "$GW_URL" >>"$RES/rps-cold"; done
gw_down

# --- row 7: start -> ready with N revocations in etcd, against etcdctl -------------------------
say "row 7: etcdctl get --prefix --keys-only on the same data (${START_RUNS}x)"
for ((i = 1; i <= START_RUNS; i++)); do
	ETCDCTL_API=3 "$BIN/startready" -run -out "$RES/etcdctl-$i.json" -- \
		etcdctl --endpoints="$ETCD" --command-timeout=120s get --prefix --keys-only "$PREFIX"
	jget "$RES/etcdctl-$i.json" WallMS >>"$RES/etcdctl-ms"
	jget "$RES/etcdctl-$i.json" PeakRSSKB >>"$RES/etcdctl-rss"
done
# The project's snapshots (snapshotDir's default, var/revocation under the project root).
SNAPS=$GW/var/revocation
say "row 7: first start -> ready with $N_REVOKED revocations in etcd, no snapshot (${START_RUNS}x)"
for ((i = 1; i <= START_RUNS; i++)); do
	rm -rf "$SNAPS"
	gw_start "first-$i" "${GW_ETCD[@]}" "${GW_STOMP[@]}"
	jget "$RES/start-first-$i.json" ReadyMS >>"$RES/first-ready"
	jget "$RES/start-first-$i.json" PeakRSSKB >>"$RES/first-rss"
done
ls "$SNAPS"/etcd-jti*.snap >/dev/null 2>&1 || die "the gateway left no snapshot in $SNAPS"
say "row 7: restart -> ready from the snapshot (${START_RUNS}x, the last one stays up)"
GW_LOG=INFO
for ((i = 1; i < START_RUNS; i++)); do
	gw_start "snap-$i" "${GW_ETCD[@]}" "${GW_STOMP[@]}"
done
gw_up "snap-$START_RUNS" "${GW_ETCD[@]}" "${GW_STOMP[@]}"
GW_LOG=WARN
check "$GW_URL" 401 "$REVOKED_TOKEN"
# Each restart really started from its snapshot (and none listed etcd in full).
for ((i = 1; i <= START_RUNS; i++)); do
	grep -q 'revoked tokens restored from the snapshot' "$LOGS/gw-snap-$i.log" ||
		die "restart $i did not start from its snapshot (log $LOGS/gw-snap-$i.log)"
	jget "$RES/start-snap-$i.json" ReadyMS >>"$RES/snap-ready"
	jget "$RES/start-snap-$i.json" PeakRSSKB >>"$RES/snap-rss"
done

# --- row 1: throughput, gateway (1M revocations, cached RS256 token) vs bare proxy vs HAProxy ---
# ... and nginx without authentication, the ceiling; and the gateway of BENCH_BEFORE when given.
TARGETS=(bare gw haproxy)
[[ -z $NGINX ]] || TARGETS+=(nginx)
if [[ -n $BEFORE ]]; then
	say "starting the gateway at $BEFORE beside it (etcd, STOMP, the same $N_REVOKED revocations)"
	gwb_up
	TARGETS+=(before)
fi
url_of() {
	case $1 in
	bare) echo "http://127.0.0.1:$BARE_PORT/v2/pet/42" ;;
	gw) echo "$GW_URL" ;;
	haproxy) echo "http://127.0.0.1:$HAPROXY_PORT$URL_PATH" ;;
	nginx) echo "http://127.0.0.1:$NGINX_PORT$URL_PATH" ;;
	before) echo "$GWB_URL" ;;
	esac
}
say "row 1: throughput, ${RUNS} rounds of ${DUR} s each on: ${TARGETS[*]}"
for t in "${TARGETS[@]}"; do # warm-up, not counted
	wrk -t1 -c"$CONNS" -d1s -H "Authorization: Bearer $TOKEN" "$(url_of "$t")" >/dev/null
done
for ((i = 1; i <= RUNS; i++)); do # interleaved, so that a drift of the machine hits all alike
	for t in "${TARGETS[@]}"; do
		wrk_rps "$(url_of "$t")" >>"$RES/rps-$t"
	done
done
wrk_rps "http://127.0.0.1:$BACKEND_PORT/v2/pet/42" >>"$RES/rps-backend"
RPS_BARE=$(median <"$RES/rps-bare")

if [[ -n $PROFILE ]]; then
	say "profiling the gateway under the same load (CPU profile, ${DUR} s)"
	profile after "$GW_PPROF" "$GW_URL" "$GWEXE"
	if [[ -n $BEFORE ]]; then
		say "profiling the gateway at $BEFORE under the same load (CPU profile, ${DUR} s)"
		profile before "$GWB_PPROF" "$GWB_URL" "$GWBEXE"
	fi
fi
[[ -z $BEFORE ]] || stop_pid "$GWB_PID"

# --- row 2: added latency at a fixed rate of half the bare proxy's maximum ----------------------
RATE=$(awk -v r="$RPS_BARE" 'BEGIN {printf "%d", r/2}')
say "row 2: latency at a fixed $RATE requests/s (${RUNS}x ${DUR} s each on the bare proxy and the gateway)"
for ((i = 1; i <= RUNS; i++)); do
	for t in bare gw haproxy; do
		case $t in bare) u=http://127.0.0.1:$BARE_PORT/v2/pet/42 ;; gw) u=$GW_URL ;; haproxy) u=http://127.0.0.1:$HAPROXY_PORT$URL_PATH ;; esac
		"$BIN/loadgen" -url "$u" -rate "$RATE" -duration "${DUR}s" -conns 64 -H "Authorization: Bearer $TOKEN" -json >"$RES/lat-$t-$i.json"
		jget "$RES/lat-$t-$i.json" P50 >>"$RES/lat-$t-p50"
		jget "$RES/lat-$t-$i.json" P99 >>"$RES/lat-$t-p99"
		[[ $(jget "$RES/lat-$t-$i.json" Errors) == 0 ]] || die "loadgen got errors from $u ($RES/lat-$t-$i.json)"
	done
done

# --- rows 5 (STOMP) and 6 (etcd watch): publish -> refused -----------------------------------
say "row 5: publish -> 401 over STOMP ($PROP_N revocations)"
"$BIN/propagation" -url "$GW_URL" -key "$GW/security/issuer.key" -via stomp \
	-broker "stomp://127.0.0.1:$MICROGW_STOMP_PORT" -n "$PROP_N" -json >"$RES/prop-stomp.json"
say "row 6: etcd put -> 401 through the gateway's watch ($PROP_N revocations)"
"$BIN/propagation" -url "$GW_URL" -key "$GW/security/issuer.key" -via etcd \
	-etcd "$ETCD" -prefix "$PREFIX" -n "$PROP_N" -json >"$RES/prop-etcd.json"
say "row 5b: publish a blocking condition -> 403 over STOMP ($PROP_N conditions)"
"$BIN/propagation" -url "$GW_URL" -key "$GW/security/issuer.key" -via stomp -kind block \
	-broker "stomp://127.0.0.1:$MICROGW_STOMP_PORT" -n "$PROP_N" -json >"$RES/prop-block-stomp.json"
say "row 6b: etcd put of a blocking condition -> 403 through the gateway's watch ($PROP_N conditions)"
"$BIN/propagation" -url "$GW_URL" -key "$GW/security/issuer.key" -via etcd -kind block \
	-etcd "$ETCD" -prefix "$PREFIX" -n "$PROP_N" -json >"$RES/prop-block-etcd.json"
gw_down

say "row 5: publish -> 401 over AMQP 0-9-1 ($PROP_N revocations)"
gw_up etcd-amqp "${GW_ETCD[@]}" "${GW_AMQP[@]}"
"$BIN/propagation" -url "$GW_URL" -key "$GW/security/issuer.key" -via amqp \
	-broker "amqp://guest:guest@127.0.0.1:$MICROGW_AMQP_PORT/" -n "$PROP_N" -json >"$RES/prop-amqp.json"
gw_down

# --- rows 10 and 11: revocation from an identity provider -> refused (docs/revocation.md) ------
say "row 10: status list entry flipped -> 401 (ttl 1 s, $IDP_N tokens); row 11: SSF session-revoked pushed -> 401 ($IDP_N events)"
gw_up idp "${GW_ETCD[@]}" "${GW_STOMP[@]}" -e statusList.enabled=true -e 'statusList.allowedHosts=["127.0.0.1"]'
"$BIN/idpprop" -url "$GW_URL" -key "$GW/security/issuer.key" -via statuslist -ttl 1 -n "$IDP_N" -json >"$RES/idp-statuslist.json"
"$BIN/idpprop" -url "$GW_URL" -key "$GW/security/issuer.key" -via ssf -config "$GW/conf/micro-gw.conf" \
	"${GW_ETCD[@]}" "${GW_STOMP[@]}" -n "$IDP_N" -json >"$RES/idp-ssf.json"
gw_down
# --- row 12: throttling's cost: off, local counters, counters in Redis, side by side ----------
# Three gateways of the same configuration (no revocation source, so only throttling differs):
# the project without a tier, the throttled one counting locally, and the throttled one with
# [throttlingConfig.global] on the bench's Redis. Interleaved, as row 1.
say "row 12: throttling off, local and on Redis (${RUNS} rounds of ${DUR} s each)"
GW_REDIS=(-e throttlingConfig.global.enabled=true -e "throttlingConfig.global.redisUrl=redis://127.0.0.1:$MICROGW_REDIS_PORT/0")
for ((i = 1; i <= RUNS; i++)); do
	exe_up thr-off "$GWEXE"
	wrk_rps "$GW_URL" >>"$RES/rps-thr-off"
	gw_down
	exe_up thr-local "$GWTEXE"
	wrk_rps "$GW_URL" >>"$RES/rps-thr-local"
	gw_down
	exe_up thr-redis "$GWTEXE" "${GW_REDIS[@]}"
	curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | grep -q '^microgw_throttling_mode{mode="redis"} 1' || die "the throttled gateway does not count in Redis"
	wrk_rps "$GW_URL" >>"$RES/rps-thr-redis"
	gw_down
done
# Every request of the Redis runs went through the one counter of the API.
THR_REDIS_COUNT=$(redis-cli -p "$MICROGW_REDIS_PORT" get 'microgw:throttle:api:benchTier:/petstore/v1')

# --- rows 3 and 4: Go benchmarks -------------------------------------------------------------
BT=1s
[[ -n $SMOKE ]] && BT=100x
say "rows 3 and 12: go test -bench 'BenchmarkRequest(Cached|Cold|CachedThrottled)' ./pkg/runtime"
(cd "$ROOT" && go test -run '^$' -bench 'BenchmarkRequest(Cached|Cold|CachedThrottled)' -benchmem -benchtime=$BT -count="$RUNS" ./pkg/runtime/) >"$RES/gobench-runtime.txt" 2>&1 ||
	{ cat "$RES/gobench-runtime.txt" >&2; die "the runtime benchmarks failed"; }
say "row 4: go test -bench Set ./pkg/revocation"
# Anchored: BenchmarkSetInsertPause (2M revocations a loop, docs/benchmarks.md section 4) is no
# row, and a smoke run's 100 loops of it took 150 s.
(cd "$ROOT" && go test -run '^$' -bench '^Benchmark(Set(Lookup|Insert|InsertReserved|InsertBatch)|RuleSetMatch|MemoryLatency)$' -benchmem -benchtime=$BT -count="$RUNS" ./pkg/revocation/) >"$RES/gobench-set.txt" 2>&1 ||
	{ cat "$RES/gobench-set.txt" >&2; die "the revoked set benchmarks failed"; }
# The resident memory of 10M entries: one set a run (seconds each), not in a smoke run.
if [[ -z $SMOKE ]]; then
	(cd "$ROOT" && go test -run '^$' -bench 'SetMemory' -benchmem -benchtime=1x -count="$RUNS" ./pkg/revocation/) >>"$RES/gobench-set.txt" 2>&1 ||
		{ cat "$RES/gobench-set.txt" >&2; die "the revoked set memory benchmark failed"; }
fi
# gobench FILE NAME FIELD: the median of FIELD (ns/op, B/op, allocs/op, B/entry) of benchmark NAME.
gobench() {
	awk -v n="$2" -v f="$3" '$1 ~ "^"n"(-[0-9]+)?$" {for (i = 2; i < NF; i++) if ($(i+1) == f) print $i}' "$1" | median
}

# --- row 9: micro-gw build of the sample: cold, warm after a definition change, vs go build ----
say "row 9: micro-gw build of the sample"
SAMPLE=$WORK/sample
"$BIN/micro-gw" init "$SAMPLE" -a "$ROOT/samples/petstore_basic.yaml" --force >/dev/null
def=$(ls "$SAMPLE"/api_definitions/*)
timed() { # timed OUTFILE CMD...: wall seconds of CMD appended to OUTFILE
	local t0 t1 out=$1
	shift
	t0=$(date +%s.%N)
	"$@" >>"$LOGS/build-timed.log" 2>&1 || die "failed: $* (see $LOGS/build-timed.log)"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f\n", b-a}' >>"$out"
}
if [[ -z $SMOKE ]]; then
	COLD_CACHE=$(mktemp -d)
	timed "$RES/build-cold" env GOCACHE="$COLD_CACHE" "$BIN/micro-gw" build "$SAMPLE"
	rm -rf "$COLD_CACHE"
fi
"$BIN/micro-gw" build "$SAMPLE" --keep-source >/dev/null 2>&1 # warm the cache with this sample
for ((i = 1; i <= RUNS; i++)); do
	# A definition change: the API's version, which the generated spec carries.
	sed -i "s/^  version: .*/  version: 1.0.$i/" "$def"
	timed "$RES/build-warm" "$BIN/micro-gw" build "$SAMPLE" --keep-source
	# go build of the same generated source after the same kind of change to it, with the flags
	# and environment micro-gw build passes (pkg/codegen/build.go: CGO_ENABLED=0 among them, so
	# a plain go build would rebuild the cgo parts of the standard library and not compare).
	gen=$(ls "$SAMPLE"/target/gen/*.go | head -1)
	printf '\nvar _ = "bench change %d"\n' "$i" >>"$gen"
	timed "$RES/build-go" bash -c "cd '$SAMPLE/target/gen' && GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o '$WORK/sample-gobuild' ."
done

# ------------------------------------------------------------------------------ the table

say "writing $OUT"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
m() { [[ -s $RES/$1 ]] && median <"$RES/$1" || true; }
RPS_GW=$(m rps-gw)
RPS_HA=$(m rps-haproxy)
RPS_NGINX=$(m rps-nginx)
RPS_BEFORE=$(m rps-before)
RPS_BE=$(m rps-backend)
RPS_COLD=$(m rps-cold)
L_BARE50=$(m lat-bare-p50) L_BARE99=$(m lat-bare-p99) L_GW50=$(m lat-gw-p50) L_GW99=$(m lat-gw-p99)
L_HA50=$(m lat-haproxy-p50) L_HA99=$(m lat-haproxy-p99)
ADD50=$(awk -v a="$L_GW50" -v b="$L_BARE50" 'BEGIN {print a-b}')
ADD99=$(awk -v a="$L_GW99" -v b="$L_BARE99" 'BEGIN {print a-b}')
NS_CACHED=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCached/RS256 ns/op)
NS_COLD=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCold/RS256 ns/op)
AL_CACHED=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCached/RS256 allocs/op)
AL_COLD=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCold/RS256 allocs/op)
S=$RES/gobench-set.txt
LK1K=$(gobench "$S" BenchmarkSetLookup/1k ns/op) LK1M=$(gobench "$S" BenchmarkSetLookup/1M ns/op)
LM1K=$(gobench "$S" BenchmarkSetLookup/1k-miss ns/op) LM1M=$(gobench "$S" BenchmarkSetLookup/1M-miss ns/op)
LKA=$(cat <(gobench "$S" BenchmarkSetLookup/1k allocs/op) <(gobench "$S" BenchmarkSetLookup/1M allocs/op) \
	<(gobench "$S" BenchmarkSetLookup/1k-miss allocs/op) <(gobench "$S" BenchmarkSetLookup/1M-miss allocs/op) | sort -g | tail -1)
INS=$(gobench "$S" BenchmarkSetInsert ns/op) INSA=$(gobench "$S" BenchmarkSetInsert allocs/op)
INSR=$(gobench "$S" BenchmarkSetInsertReserved ns/op) MEMLAT=$(gobench "$S" BenchmarkMemoryLatency ns/op)
INSB=$(gobench "$S" BenchmarkSetInsertBatch/reserved ns/op) INSBA=$(gobench "$S" BenchmarkSetInsertBatch/reserved allocs/op)
INSBG=$(gobench "$S" BenchmarkSetInsertBatch/growing ns/op)
BPE=$(gobench "$S" BenchmarkSetMemory B/entry)
NONE_MS=$(m none-ready) NONE_RSS=$(m none-idle)
FIRST_MS=$(m first-ready) FIRST_RSS=$(m first-rss) SNAP_MS=$(m snap-ready) SNAP_RSS=$(m snap-rss)
CTL_MS=$(m etcdctl-ms) CTL_RSS=$(m etcdctl-rss)
BUILD_COLD=$(m build-cold) BUILD_WARM=$(m build-warm) BUILD_GO=$(m build-go)
prop() { jget "$RES/prop-$1.json" "$2"; }
idp() { jget "$RES/idp-$1.json" "$2"; }
NS_SL_OFF=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedStatusList/off ns/op)
NS_SL_ON=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedStatusList/1M-entries ns/op)
AL_SL_ON=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedStatusList/1M-entries allocs/op)
AL_SL_OFF=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedStatusList/off allocs/op)
RPS_THR_OFF=$(m rps-thr-off) RPS_THR_LOCAL=$(m rps-thr-local) RPS_THR_REDIS=$(m rps-thr-redis)
NS_THR_OFF=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedThrottled/off ns/op)
NS_THR_LOCAL=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedThrottled/local ns/op)
AL_THR_OFF=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedThrottled/off allocs/op)
AL_THR_LOCAL=$(gobench "$RES/gobench-runtime.txt" BenchmarkRequestCachedThrottled/local allocs/op)

V1a=$(verdict "$RPS_GW >= 1.15 * $RPS_BARE")
V1b=$(verdict "$RPS_GW >= $RPS_HA")
V2=$(verdict "$ADD99 <= 0.3")
V4M=$(verdict "$LM1M <= 50 && $LM1K <= 50 && $LKA == 0")
V4H=$(verdict "$LK1M <= 50 && $LK1K <= 50 && $LKA == 0")
V4I=$(verdict "$INS <= 100 && $INSA == 0")
V4IB=$(verdict "$INSB <= 100 && $INSBA == 0")
V4B=$(verdict "$BPE <= 32")
V5s=$(verdict "$(prop stomp P99) <= 5")
V5a=$(verdict "$(prop amqp P99) <= 5")
V6=$(verdict "$(prop etcd P99) <= 20")
V7f=$(verdict "$FIRST_MS <= 1.0 * $CTL_MS")
V7s=$(verdict "$SNAP_MS <= 0.3 * $CTL_MS")
V7r=$(verdict "$FIRST_RSS <= 1.5 * $CTL_RSS")
V8t=$(verdict "$NONE_MS <= 50")
V8r=$(verdict "$NONE_RSS <= 30 * 1024")
V9=$(verdict "$BUILD_WARM <= 1.2 * $BUILD_GO")

mkdir -p "$(dirname "$OUT")"
{
	cat <<EOF
# Benchmarks

Measured by \`make bench\` (\`bench/run.sh\`)${SMOKE:+ **in smoke mode: tiny counts, the figures mean nothing**}, all parts side by side on one machine in one run.
Regenerate this page with \`make bench\`; the targets are issue 7's, those of rows 1, 4 and 7 issue 19's. A figure is a median of ${RUNS} runs unless said otherwise.

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); run took $(( $(date +%s) - T_START )) s
- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) memory; load average at the start ${LOAD_START}, at the end ${LOAD_END}
- versions: $(go version | cut -d' ' -f3-), micro-gw $REVISION, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(haproxy -v | head -1 | cut -d' ' -f1-3), etcd $("$BIN/etcd" --version | awk '/etcd Version/ {print $3}') (built from the module), nginx $(nginx -v 2>&1 | sed 's#.*nginx/##'), etcdctl $(ETCDCTL_API=3 etcdctl version | awk '/etcdctl version/ {print $3}'), RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?')
- everything on 127.0.0.1; load generators, proxies, backend, etcd and RabbitMQ share the same $(nproc) cores

## Results

| # | measure | micro-gw | compared with, same run | target | verdict |
|---|---|---|---|---|---|
| 1 | authenticated throughput, RS256 token (cached), revocation on with $N_REVOKED revoked jtis (etcd + STOMP) | $(fmt1 "$RPS_GW") req/s | bare \`httputil.ReverseProxy\`: $(fmt1 "$RPS_BARE") req/s (ratio $(ratio "$RPS_GW" "$RPS_BARE")); HAProxy 2.6 \`jwt_verify\` + $N_REVOKED-jti list: $(fmt1 "$RPS_HA") req/s (ratio $(ratio "$RPS_GW" "$RPS_HA")); nginx without auth (ceiling): $(fmt1 "$RPS_NGINX") req/s (ratio $(ratio "$RPS_GW" "$RPS_NGINX")); ${BEFORE:+micro-gw before (\`$BEFORE\`): $(fmt1 "$RPS_BEFORE") req/s (ratio $(ratio "$RPS_GW" "$RPS_BEFORE")); }backend alone: $(fmt1 "$RPS_BE") req/s | ≥ 1.15 × bare; ≥ 1.0 × HAProxy; nginx: report (goal 0.75) | $V1a; $V1b |
| 2 | added latency at a fixed $RATE req/s (half the bare proxy's max) | p50 $(fmt3 "$L_GW50") ms, p99 $(fmt3 "$L_GW99") ms: **added p50 $(fmt3 "$ADD50") ms, p99 $(fmt3 "$ADD99") ms** | bare proxy: p50 $(fmt3 "$L_BARE50") ms, p99 $(fmt3 "$L_BARE99") ms; HAProxy: p50 $(fmt3 "$L_HA50") ms, p99 $(fmt3 "$L_HA99") ms | p99 ≤ 0.3 ms added | $V2 |
| 3 | cold-token cost (every token verified) | cache off: $(fmt1 "$RPS_COLD") req/s; in process: $(fmt1 "$NS_COLD") ns, $(fmt1 "$AL_COLD") allocs a request | cached: $(fmt1 "$RPS_GW") req/s; in process $(fmt1 "$NS_CACHED") ns, $(fmt1 "$AL_CACHED") allocs a request (×$(ratio "$NS_COLD" "$NS_CACHED")) | report | — |
| 4 | revoked set: lookup at 1k / 1M (hit; miss), insert, resident bytes per entry of 10M | hit $(fmt1 "$LK1K") / $(fmt1 "$LK1M") ns; miss $(fmt1 "$LM1K") / $(fmt1 "$LM1M") ns; $(fmt1 "$LKA") allocs; insert $(fmt1 "$INS") ns, $(fmt1 "$INSA") allocs; $(fmt1 "$BPE") B/entry | one access to memory (\`BenchmarkMemoryLatency\`, a chase through 32 MiB): $(fmt1 "$MEMLAT") ns; insert into a set told the count (\`Reserve\`, as the etcd source does): $(fmt1 "$INSR") ns; in batches, as the etcd source's full list and snapshot restore insert (\`BenchmarkSetInsertBatch\`): $(fmt1 "$INSB") ns told the count, $(fmt1 "$INSBG") ns growing | ≤ 50 ns hit and miss, 0 allocs; insert ≤ 100 ns; ≤ 32 B/entry (RSS of 10M) | misses $V4M; hits $V4H; insert one at a time $V4I, in batches $V4IB; memory $V4B |
| 5 | publish -> refused, STOMP (RabbitMQ), $(prop stomp N) revocations | p50 $(fmt2 "$(prop stomp P50)") ms, p99 $(fmt2 "$(prop stomp P99)") ms (max $(fmt2 "$(prop stomp Max)")) | broker confirm alone: p50 $(fmt2 "$(prop stomp PublishP50)") ms, p99 $(fmt2 "$(prop stomp PublishP99)") ms; one gateway call: p50 $(fmt3 "$(prop stomp PollP50)") ms | p99 ≤ 5 ms | $V5s |
| 5 | publish -> refused, AMQP 0-9-1 (RabbitMQ), $(prop amqp N) revocations | p50 $(fmt2 "$(prop amqp P50)") ms, p99 $(fmt2 "$(prop amqp P99)") ms (max $(fmt2 "$(prop amqp Max)")) | broker confirm alone: p50 $(fmt2 "$(prop amqp PublishP50)") ms, p99 $(fmt2 "$(prop amqp PublishP99)") ms | p99 ≤ 5 ms | $V5a |
| 6 | etcd put -> refused (watch), $(prop etcd N) revocations | p50 $(fmt2 "$(prop etcd P50)") ms, p99 $(fmt2 "$(prop etcd P99)") ms (max $(fmt2 "$(prop etcd Max)")) | put acknowledged alone: p50 $(fmt2 "$(prop etcd PublishP50)") ms, p99 $(fmt2 "$(prop etcd PublishP99)") ms | p99 ≤ 20 ms | $V6 |
| 5b | publish a blocking condition -> blocked (403), STOMP, $(prop block-stomp N) conditions (a user each) | p50 $(fmt2 "$(prop block-stomp P50)") ms, p99 $(fmt2 "$(prop block-stomp P99)") ms (max $(fmt2 "$(prop block-stomp Max)")) | a revocation over STOMP, same gateway (row 5): p50 $(fmt2 "$(prop stomp P50)") ms, p99 $(fmt2 "$(prop stomp P99)") ms | as row 5 | — |
| 6b | etcd put of a blocking condition -> blocked (watch), $(prop block-etcd N) conditions | p50 $(fmt2 "$(prop block-etcd P50)") ms, p99 $(fmt2 "$(prop block-etcd P99)") ms (max $(fmt2 "$(prop block-etcd Max)")) | a revocation through etcd (row 6): p50 $(fmt2 "$(prop etcd P50)") ms, p99 $(fmt2 "$(prop etcd P99)") ms | as row 6 | — |
| 7 | start -> ready with $N_REVOKED revocations in etcd: first start (no snapshot); restart from the snapshot; peak RSS | first $(fmt1 "$FIRST_MS") ms (×$(ratio "$FIRST_MS" "$CTL_MS")); restart $(fmt1 "$SNAP_MS") ms (×$(ratio "$SNAP_MS" "$CTL_MS")); $(kb2mb "$FIRST_RSS") MB first, $(kb2mb "$SNAP_RSS") MB restart | \`etcdctl get --prefix --keys-only\`: $(fmt1 "$CTL_MS") ms; $(kb2mb "$CTL_RSS") MB (first start ×$(ratio "$FIRST_RSS" "$CTL_RSS")) | first ≤ 1.0 × etcdctl; restart ≤ 0.3 × etcdctl; RSS ≤ 1.5 × etcdctl | first $V7f; restart $V7s; RSS $V7r |
| 8 | start -> ready with no revocations; idle RSS | $(fmt1 "$NONE_MS") ms; $(kb2mb "$NONE_RSS") MB | — | ≤ 50 ms; ≤ 30 MB | $V8t; $V8r |
| 9 | \`micro-gw build\` of the sample: cold (empty GOCACHE); warm after a definition change | cold $(fmt1 "$BUILD_COLD") s; warm $(fmt2 "$BUILD_WARM") s | \`go build\` of the same generated source after a change: $(fmt2 "$BUILD_GO") s (×$(ratio "$BUILD_WARM" "$BUILD_GO")) | warm ≤ 1.2 × go build | $V9 |
| 10 | Token Status List: the status check per request (list of 1,048,576 entries held), in process | $(fmt1 "$NS_SL_ON") ns, $(fmt1 "$AL_SL_ON") allocs a request | the same request with \`[statusList]\` off: $(fmt1 "$NS_SL_OFF") ns, $(fmt1 "$AL_SL_OFF") allocs | report | — |
| 10 | Token Status List: entry flipped in the served list -> refused (list ttl 1 s), $(idp statuslist N) tokens | p50 $(fmt1 "$(idp statuslist P50)") ms, p90 $(fmt1 "$(idp statuslist P90)") ms, max $(fmt1 "$(idp statuslist Max)") ms | the list's ttl: 1000 ms (refreshed 3/4 into it) | ≤ ttl | — |
| 11 | Shared Signals: CAEP session-revoked pushed -> refused (receiver: broker + etcd, then 202), $(idp ssf N) events | p50 $(fmt1 "$(idp ssf P50)") ms, p90 $(fmt1 "$(idp ssf P90)") ms, max $(fmt1 "$(idp ssf Max)") ms | row 5 (publish -> refused over STOMP): p50 $(fmt2 "$(prop stomp P50)") ms | report | — |
| 12 | throttling's cost: an API-level policy that never runs out, counted locally and in Redis (one script round trip a request, all requests on one counter) | local $(fmt1 "$RPS_THR_LOCAL") req/s (×$(ratio "$RPS_THR_LOCAL" "$RPS_THR_OFF")); Redis $(fmt1 "$RPS_THR_REDIS") req/s (×$(ratio "$RPS_THR_REDIS" "$RPS_THR_OFF")); in process: local $(fmt1 "$NS_THR_LOCAL") ns, $(fmt1 "$AL_THR_LOCAL") allocs a request | throttling off, same run: $(fmt1 "$RPS_THR_OFF") req/s; in process $(fmt1 "$NS_THR_OFF") ns, $(fmt1 "$AL_THR_OFF") allocs; Redis's counter after the runs: ${THR_REDIS_COUNT:-n/a} | report | — |

## How each row is measured

Ports: backend 127.0.0.1:$BACKEND_PORT, bare proxy :$BARE_PORT, HAProxy :$HAPROXY_PORT, gateway :$GW_HTTP (admin :$GW_ADMIN, HTTPS off),
nginx :$NGINX_PORT, etcd :$MICROGW_ETCD_PORT (3.7, \`go build go.etcd.io/etcd/server/v3\` of the module's version: Debian's 3.4.23 cannot say when a watch has caught up, so a gateway never restarts from its snapshot against it), RabbitMQ AMQP :$MICROGW_AMQP_PORT and STOMP :$MICROGW_STOMP_PORT (\`scripts/services.sh\` with \`MICROGW_*_PORT\`).
The gateway is \`micro-gw build\` of the petstore sample with its endpoint replaced by the backend's URL, plus
\`bench/project/bench_pprof.go.tmpl\` in its \`extensions/\` (net/http/pprof on a loopback port when \`MICROGW_BENCH_PPROF\` is set,
nothing otherwise), run as \`target/gw -e listenerConfig.httpPort=$GW_HTTP -e log.level=WARN ...\`. Every request is
\`GET /petstore/v1/pet/42\` with \`Authorization: Bearer <RS256 token from micro-gw token issue>\`; the backend gets \`GET /v2/pet/42\`
and answers 200 with 47 bytes of JSON (\`bench/backend\`).

1. \`wrk -t1 -c$CONNS -d${DUR}s --latency -H 'Authorization: Bearer ...' URL\`, ${RUNS} rounds, each round the bare proxy, the gateway and
   HAProxy in turn (a 1 s warm-up of each first). The gateway loads the $N_REVOKED keys \`${PREFIX}bench-NNNNNNN\` from etcd
   (\`bench/etcdload\` writes them, 128 puts a transaction) and is subscribed to STOMP. The bare proxy is \`bench/bareproxy\`: an
   \`httputil.NewSingleHostReverseProxy\` with the gateway's idle-connection pool and pooled copy buffers, FlushInterval 0 (the
   default). HAProxy runs
   \`bench/haproxy/haproxy.cfg.tmpl\`: \`jwt_verify\` of the signature with the issuer's public key (HAProxy 2.6 wants a
   \`PUBLIC KEY\` PEM, not the certificate: jwt_verify answers -5 for a certificate), \`alg\`, \`exp\`, \`iss\`, \`aud\`, the jti
   against a $N_REVOKED-line \`-f\` list, the Authorization header removed, the same path rewrite; \`nbthread $(nproc)\`. HAProxy has no
   token cache: it verifies the RS256 signature on every request. nginx, the ceiling, runs \`bench/nginx/nginx.conf.tmpl\`: a
   plain reverse proxy with no authentication at all, the same path rewrite, keep-alive to the backend, \`worker_processes $(nproc)\`.${BEFORE:+ \"micro-gw before\" is the same project built by micro-gw at \`$BEFORE\` (\`BENCH_BEFORE\`), on ports of its own with the same etcd, STOMP and revocations, loaded in the same rounds.}
2. \`bench/loadgen -url URL -rate $RATE -duration ${DUR}s -conns 64\` (an open loop at a fixed rate after a 1 s warm-up; every
   latency kept, exact percentiles), ${RUNS} runs on each target; added = gateway − bare proxy of the medians.
3. The gateway run with \`-e caching.enabled=false\` (no revocation source), loaded like row 1; and
   \`go test -run '^$' -bench 'BenchmarkRequest(Cached|Cold)' -benchmem ./pkg/runtime/\` (the whole handler in process, an
   in-memory backend; Cold = cache off, every request verifies RS256).
4. \`go test -run '^$' -bench Set -benchmem ./pkg/revocation/\` (lookups of 36-byte UUID-shaped jtis, hits with an expiry and
   the sweeper's clock running as in the gateway; insert into a set of up to 1M; B/entry: the growth of the process's resident
   memory, VmRSS after \`debug.FreeOSMemory\`, from before a set of 10M entries was made to after it was filled, all it keeps).
5. \`bench/propagation -via stomp|amqp -n $PROP_N\`: for each revocation a new token (pkg/issuer, the project's issuer key),
   one call (200, now cached), then the clock starts, the revocation is published (pkg/revocation's publisher, as
   \`micro-gw revoke\` does; it waits for the broker's receipt/confirm) and the gateway is called in a loop until it answers 401.
   STOMP: the gateway subscribed with \`stomp://127.0.0.1:$MICROGW_STOMP_PORT\`; AMQP: a second gateway subscribed with
   \`amqp://guest:guest@127.0.0.1:$MICROGW_AMQP_PORT/\`. The resolution is one gateway call (column "one gateway call").
6. \`bench/propagation -via etcd\`: the same with a plain etcd put of \`${PREFIX}<jti>\` (the gateway watches the prefix); the keys
   are deleted afterwards.
7. \`bench/startready -ready http://127.0.0.1:$GW_ADMIN/health/ready -- target/gw ...\` with etcd and STOMP on: the time
   from exec to the first 200 of /health/ready (polled every 1 ms, less often as the wait grows), the peak RSS (VmHWM) then.
   First start: the project's \`var/revocation\` removed before each of ${START_RUNS} starts (a full list of etcd, which writes the
   snapshot). Restart: ${START_RUNS} starts after that, each from the snapshot the one before left (the script checks that each
   logged \`revoked tokens restored from the snapshot\`), ready once its watch from the snapshot's revision has caught up with
   etcd. Against \`bench/startready -run -- etcdctl --endpoints=$ETCD get --prefix --keys-only $PREFIX\` (Debian's etcdctl
   3.4.23; wall time and ru_maxrss, output discarded), ${START_RUNS}x.
8. The same start with no revocation source (${START_RUNS}x); the idle RSS is VmRSS 2 s after ready.
9. \`micro-gw init\` of \`samples/petstore_basic.yaml\` (endpoint untouched), then \`GOCACHE=\$(mktemp -d) micro-gw build\` (cold,
   once); warm: change \`info.version\` in the definition and \`micro-gw build --keep-source\` (${RUNS}x); against it, the same
   kind of change to the generated source in \`target/gen\` and \`go build -trimpath -buildvcs=false -ldflags='-s -w'\` there
   with \`GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0\` (the flags and environment micro-gw build passes), ${RUNS}x.
10. \`go test -bench BenchmarkRequestCachedStatusList ./pkg/runtime\` (with row 3's run): the cached request of row 3 with
    \`[statusList]\` on and the token's list (1,048,576 one-bit entries, a third of them INVALID) held, against \`[statusList]\` off.
    Then \`bench/idpprop -via statuslist\`: the tool serves a list (one-bit entries, ttl 1 s, signed with the project's issuer key)
    on a loopback port to a gateway with \`-e statusList.enabled=true -e 'statusList.allowedHosts=["127.0.0.1"]'\`; for each of
    $IDP_N tokens (entry i of the list) one call (200), then entry i flipped to INVALID in the list it serves, and calls every
    2 ms until the first 401; the time is from the flip.
11. \`bench/idpprop -via ssf\`: the receiver of \`micro-gw ssf-receiver\` (pkg/ssf) in push mode, in the tool's process, revoking
    through the bench's RabbitMQ (STOMP) and etcd, fed by the test transmitter of pkg/ssf/ssftest; for each of $IDP_N tokens (a
    subject of its own) one call (200), then a CAEP session-revoked for the subject pushed (the push answers 202 once broker and
    etcd hold the rule), and calls every 2 ms until the first 401; the time is from the start of the push.
5b, 6b. \`bench/propagation -kind block -via stomp|etcd\`: as rows 5 and 6, each time with a token of a new user, and a
   blocking condition on that user (\`PublishBlock\` of pkg/revocation's publisher, or a put of
   \`blocking/user/<sub>\`) instead of a revocation; the clock stops at the first 403.
12. The petstore project again with \`x-wso2-throttling-tier: benchTier\` at API level and a \`policies.yaml\` of
   \`benchTier: {count: 1000000000000, unitTime: 1, timeUnit: day}\`, started with no revocation source (so is the
   unthrottled one), loaded as row 1: the unthrottled build, the throttled one (local counters) and the throttled one
   with \`-e throttlingConfig.global.enabled=true\` on the bench's Redis (127.0.0.1:$MICROGW_REDIS_PORT), ${RUNS} rounds,
   interleaved. In process: \`go test -bench BenchmarkRequestCachedThrottled ./pkg/runtime\` (off, local).
EOF
	if [[ -s $RES/cpu-split-after.md ]]; then
		printf '\n## Where each microsecond of a request goes under row 1%ss load\n\n' "'"
		printf 'A %s s CPU profile of the gateway (net/http/pprof of the bench extension) taken in the middle of a wrk load as in row 1, ' "$DUR"
		printf 'split by `bench/cpusplit.awk`: each sample goes to the first frame from the leaf up that belongs to a part of the work '
		printf '(a write to the backend'"'"'s socket is the backend exchange'"'"'s, a write to the client'"'"'s is the response'"'"'s; '
		printf 'allocation and GC, scheduling wherever they happen), divided by the requests wrk counted over the profile'"'"'s %s s. ' "$DUR"
		printf 'CPU time, not wall time: with %s cores shared by wrk, the backend and the gateway, a request'"'"'s latency is mostly waiting.\n\n' "$(nproc)"
		if [[ -s $RES/cpu-split-before.md ]]; then
			printf '**Before** (micro-gw at `%s`, %s req/s while profiled):\n\n' "$BEFORE" "$(fmt1 "$(cat "$RES/prof-rps-before")")"
			cat "$RES/cpu-split-before.md"
			printf '\n**After** (this commit, %s req/s while profiled):\n\n' "$(fmt1 "$(cat "$RES/prof-rps-after")")"
		else
			printf '%s req/s while profiled:\n\n' "$(fmt1 "$(cat "$RES/prof-rps-after")")"
		fi
		cat "$RES/cpu-split-after.md"
		for w in before after; do
			[[ -s $RES/cpu-top-$w.txt ]] || continue
			printf '\n<details><summary>%s: <code>go tool pprof -top -cum</code></summary>\n\n```\n' "$w"
			sed -n '1,52p' "$RES/cpu-top-$w.txt"
			printf '```\n\n</details>\n'
		done
	fi
	if [[ -f $ROOT/bench/analysis.md && -z $SMOKE ]]; then
		printf '\n'
		cat "$ROOT/bench/analysis.md"
	fi
	printf '\n## Raw figures of this run\n\n'
	printf 'wrk req/s, each run: bare %s; gateway %s; HAProxy %s; nginx %s; micro-gw before %s; gateway cache off %s; throttling off %s, local %s, Redis %s.\n' \
		"$(paste -sd' ' "$RES/rps-bare")" "$(paste -sd' ' "$RES/rps-gw")" "$(paste -sd' ' "$RES/rps-haproxy")" \
		"$(paste -sd' ' "$RES/rps-nginx" 2>/dev/null)" "$(paste -sd' ' "$RES/rps-before" 2>/dev/null)" "$(paste -sd' ' "$RES/rps-cold")" \
		"$(paste -sd' ' "$RES/rps-thr-off")" "$(paste -sd' ' "$RES/rps-thr-local")" "$(paste -sd' ' "$RES/rps-thr-redis")"
	printf 'start -> ready ms, each start: none %s; first (no snapshot) %s; restart from the snapshot %s; etcdctl %s.\n\n' \
		"$(paste -sd' ' "$RES/none-ready")" "$(paste -sd' ' "$RES/first-ready")" "$(paste -sd' ' "$RES/snap-ready")" "$(paste -sd' ' "$RES/etcdctl-ms")"
	printf '```\n'
	grep -E '^Benchmark' "$RES/gobench-runtime.txt" "$RES/gobench-set.txt" | sed 's#^.*/gobench-##'
	printf '```\n'
} >"$OUT"


# The table on the terminal too.
sed -n '/^| # /,/^$/p' "$OUT"
say "done in $(( $(date +%s) - T_START )) s; $OUT written"
