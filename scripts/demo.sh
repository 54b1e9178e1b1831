#!/usr/bin/env bash
# The whole story of token revocation on one machine, narrated: build the
# toolkit, make and build the petstore gateway, start the development services
# (embedded etcd, STOMP broker and RFC 7009 token service), call the API with a
# token (200), revoke it at the token service (the seed's curl), call again
# (401, 900901: the real-time notifier), restart the gateway and call again
# (401: the persistent store). Exits non-zero as soon as an answer is wrong.
#
# Needs: Go, curl, bash, base64 (coreutils). Run from anywhere: `make demo`.
#
# Environment (all optional):
#   DEMO_WORK=DIR           work folder (default: a new temporary folder)
#   DEMO_KEEP=1             keep the work folder afterwards (it is kept anyway on failure)
#   DEMO_BACKEND_PORT=8280  the petstore stand-in backend
#   DEMO_ETCD_PORT=2379 DEMO_ETCD_PEER_PORT=2380 DEMO_STOMP_PORT=61613 DEMO_TOKEN_SERVICE_PORT=8243
#   DEMO_HTTP_PORT=9090 DEMO_HTTPS_PORT=9095 DEMO_ADMIN_PORT=9096   the gateway's listeners
#   DEMO_TIMEOUT=60         seconds to wait for a service to come up
set -euo pipefail

# A fresh Debian machine may have Go but not curl: install it when we can
# (root with apt-get), else say what is missing instead of failing mid-story.
for tool in go curl base64; do
	command -v "$tool" >/dev/null 2>&1 && continue
	if [[ $tool == curl && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "micro-gw demo: installing curl (apt-get install curl)"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl; } >/dev/null ||
			{ echo "micro-gw demo: apt-get install curl failed; install curl and run again" >&2; exit 1; }
		continue
	fi
	echo "micro-gw demo: '$tool' is not on PATH; install it and run again (the demo needs Go 1.26, curl and coreutils)" >&2
	exit 1
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BACKEND_PORT=${DEMO_BACKEND_PORT:-8280}
ETCD_PORT=${DEMO_ETCD_PORT:-2379}
ETCD_PEER_PORT=${DEMO_ETCD_PEER_PORT:-2380}
STOMP_PORT=${DEMO_STOMP_PORT:-61613}
TOKEN_SERVICE_PORT=${DEMO_TOKEN_SERVICE_PORT:-8243}
HTTP_PORT=${DEMO_HTTP_PORT:-9090}
HTTPS_PORT=${DEMO_HTTPS_PORT:-9095}
ADMIN_PORT=${DEMO_ADMIN_PORT:-9096}
TIMEOUT=${DEMO_TIMEOUT:-60}

if [[ -n ${DEMO_WORK:-} ]]; then
	WORK=$DEMO_WORK
	mkdir -p "$WORK"
else
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/micro-gw-demo.XXXXXX")
fi
WORK=$(cd "$WORK" && pwd)
BIN=$ROOT/bin
API="https://localhost:$HTTPS_PORT/petstore/v1/pet/findByStatus?status=available"
REVOKE_URL="https://localhost:$TOKEN_SERVICE_PORT/revoke"

STEP=0
STEPS=12
BACKEND_PID= DEV_PID= GW_PID=
FAILED=1

if [[ -t 1 ]]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B= G= R= N=; fi

step() { STEP=$((STEP + 1)); printf '\n%s==> [%d/%d] %s%s\n' "$B" "$STEP" "$STEPS" "$*" "$N"; }
say() { printf '    %s\n' "$*"; }
show() { printf '    $ %s\n' "$*"; }
ok() { printf '    %s✔ %s%s\n' "$G" "$*" "$N"; }
fail() {
	printf '\n%s✘ step %d failed: %s%s\n' "$R" "$STEP" "$*" "$N" >&2
	exit 1
}
# tail_log FILE: the end of a service's log, to explain a failure.
tail_log() {
	[[ -f $1 ]] || return 0
	printf '    --- last lines of %s ---\n' "$1" >&2
	tail -n 25 "$1" | sed 's/^/    | /' >&2
}

stop_pid() { # stop_pid PID NAME: SIGTERM, then wait for it
	local pid=$1
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

cleanup() {
	local status=$?
	stop_pid "$GW_PID"
	stop_pid "$DEV_PID"
	stop_pid "$BACKEND_PID"
	if ((FAILED)); then
		for f in gateway.log dev.log backend.log; do tail_log "$WORK/$f"; done
		printf '\nThe demo failed; its files and logs are in %s\n' "$WORK" >&2
		((status)) || status=1
	elif [[ -z ${DEMO_KEEP:-} && -z ${DEMO_WORK:-} ]]; then
		rm -rf "$WORK"
	else
		printf 'Files kept in %s\n' "$WORK"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_until DESC PID CMD...: run CMD until it succeeds, for at most TIMEOUT
# seconds, failing at once if process PID (when not empty) has exited.
wait_until() {
	local desc=$1 pid=$2
	shift 2
	local deadline=$((SECONDS + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		if [[ -n $pid ]] && ! alive "$pid"; then fail "$desc: the process exited"; fi
		((SECONDS < deadline)) || fail "$desc did not happen within ${TIMEOUT}s"
		sleep 0.2
	done
}

alive() { kill -0 "$1" 2>/dev/null; }

# call TOKEN: GET the API; sets STATUS and BODY.
call() {
	BODY=$(curl -sk -o - -w '\n%{http_code}' -H "Authorization: Bearer $1" "$API") || fail "curl could not reach the gateway"
	STATUS=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
	BODY=${BODY%$'\n'}
}

# expect_refused WHEN: the last call was refused as a revoked token is, 401 with fault 900901.
expect_refused() {
	say "HTTP $STATUS $BODY"
	[[ $STATUS == 401 ]] || fail "expected 401 $1, got $STATUS: $BODY"
	grep -q '"code":900901' <<<"$BODY" || fail "expected fault 900901, got: $BODY"
	ok "401, fault 900901"
}

# jwt_jti TOKEN: the jti claim of a JWT's payload (base64url JSON).
jwt_jti() {
	local p
	p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
	while ((${#p} % 4)); do p+="="; done
	base64 -d <<<"$p" | sed -n 's/.*"jti":"\([^"]*\)".*/\1/p'
}

start_gateway() {
	# Loopback only: the project's development issuer key sits on disk, so
	# anyone who can reach the gateway could mint tokens it accepts.
	"$BIN/gateway" \
		-e "listenerConfig.host=127.0.0.1" \
		-e "listenerConfig.httpPort=$HTTP_PORT" \
		-e "listenerConfig.httpsPort=$HTTPS_PORT" \
		-e "listenerConfig.adminPort=$ADMIN_PORT" \
		-e "tokenRevocationConfig.realtime.enableRealtimeMessageRetrieval=true" \
		-e "tokenRevocationConfig.realtime.jmsConnectionProviderUrl=stomp://127.0.0.1:$STOMP_PORT" \
		-e "tokenRevocationConfig.persistent.enablePersistentStorageRetrieval=true" \
		-e "tokenRevocationConfig.persistent.hostname=http://127.0.0.1:$ETCD_PORT/v2/keys/jti/" \
		petstore/target/petstore >>"$WORK/gateway.log" 2>&1 &
	GW_PID=$!
	wait_until "the gateway's /health/ready" "$GW_PID" gateway_ready
	ok "gateway ready (pid $GW_PID, log $WORK/gateway.log)"
}
gateway_ready() {
	curl -sfk "http://127.0.0.1:$ADMIN_PORT/health/ready" || curl -sfk "https://127.0.0.1:$ADMIN_PORT/health/ready"
}

cd "$WORK"
printf '%smicro-gw demo: JWT revocation, real-time and persistent%s\n' "$B" "$N"
say "work folder: $WORK"

step "Build the toolkit (micro-gw and gateway) and the demo's petstore backend"
show "go build -o bin/ ./cmd/..."
(cd "$ROOT" && go build -o "$BIN/" ./cmd/... && go build -o "$WORK/backend" ./demo/backend) || fail "go build failed"
[[ -x $BIN/micro-gw && -x $BIN/gateway ]] || fail "bin/micro-gw or bin/gateway is missing after the build"
ok "built $BIN/micro-gw and $BIN/gateway"

step "Start a local petstore backend (a stand-in for https://petstore.swagger.io/v2)"
show "backend -addr 127.0.0.1:$BACKEND_PORT &"
"$WORK/backend" -addr "127.0.0.1:$BACKEND_PORT" >"$WORK/backend.log" 2>&1 &
BACKEND_PID=$!
wait_until "the backend answering" "$BACKEND_PID" curl -sf "http://127.0.0.1:$BACKEND_PORT/v2/pet/1"
ok "backend on http://127.0.0.1:$BACKEND_PORT/v2"

step "Initialize the petstore project with the sample definition pointed at that backend"
sed "s#https://petstore.swagger.io/v2#http://127.0.0.1:$BACKEND_PORT/v2#g" \
	"$ROOT/samples/petstore_basic.yaml" >"$WORK/petstore_basic.yaml"
show "micro-gw init petstore -a petstore_basic.yaml"
out=$("$BIN/micro-gw" init petstore -a "$WORK/petstore_basic.yaml") || fail "micro-gw init failed: $out"
say "$out"
grep -q "Project 'petstore' is initialized successfully." <<<"$out" || fail "micro-gw init did not report success"
ok "project in $WORK/petstore"

step "Start the development services: embedded etcd, STOMP broker, RFC 7009 token service"
show "micro-gw dev --data dev &"
"$BIN/micro-gw" dev --data "$WORK/dev" \
	--etcd-addr "127.0.0.1:$ETCD_PORT" --etcd-peer-addr "127.0.0.1:$ETCD_PEER_PORT" \
	--stomp-addr "127.0.0.1:$STOMP_PORT" --token-service-addr "127.0.0.1:$TOKEN_SERVICE_PORT" \
	>"$WORK/dev.log" 2>&1 &
DEV_PID=$!
dev_up() {
	grep -q "development services are running" "$WORK/dev.log"
}
wait_until "micro-gw dev starting" "$DEV_PID" dev_up
sed -n '/development services are running/,/^    curl/p' "$WORK/dev.log" | sed 's/^/    | /'
ok "dev services up (pid $DEV_PID)"

step "Build the gateway"
show "micro-gw build petstore"
if ! "$BIN/micro-gw" build petstore 2>&1 | sed 's/^/    | /'; then fail "micro-gw build failed"; fi
[[ -x petstore/target/petstore ]] || fail "petstore/target/petstore was not made"
ok "petstore/target/petstore"

step "Run the gateway with both revocation notifiers on (real-time: STOMP; persistent: etcd)"
show "gateway -e tokenRevocationConfig.realtime.enableRealtimeMessageRetrieval=true \\"
show "        -e tokenRevocationConfig.realtime.jmsConnectionProviderUrl=stomp://127.0.0.1:$STOMP_PORT \\"
show "        -e tokenRevocationConfig.persistent.enablePersistentStorageRetrieval=true \\"
show "        -e tokenRevocationConfig.persistent.hostname=http://127.0.0.1:$ETCD_PORT/v2/keys/jti/ \\"
show "        petstore/target/petstore &"
start_gateway

step "Issue a development token and call the API with it"
show 'TOKEN=$(micro-gw token issue petstore)'
TOKEN=$("$BIN/micro-gw" token issue petstore) || fail "micro-gw token issue failed"
JTI=$(jwt_jti "$TOKEN")
[[ -n $JTI ]] || fail "the issued token has no jti"
say "jti of the token: $JTI"
show "curl -k -H \"Authorization: Bearer \$TOKEN\" $API"
call "$TOKEN"
say "HTTP $STATUS $BODY"
[[ $STATUS == 200 ]] || fail "expected 200, got $STATUS: $BODY"
grep -q '"doggie"' <<<"$BODY" || fail "expected the available pets from the backend, got: $BODY"
ok "200 with the backend's pets"

step "Revoke the token at the token service (RFC 7009), as in the seed"
BASIC=$(printf '%s' admin:admin | base64)
show "curl -k -d \"token=$JTI\" -H \"Authorization: Basic $BASIC\" -H \"Content-Type: application/x-www-form-urlencoded\" $REVOKE_URL"
code=$(curl -sk -o "$WORK/revoke.out" -w '%{http_code}' -d "token=$JTI" \
	-H "Authorization: Basic $BASIC" -H "Content-Type: application/x-www-form-urlencoded" "$REVOKE_URL") ||
	fail "curl could not reach the token service"
[[ $code == 200 ]] || fail "expected 200 from the token service, got $code: $(cat "$WORK/revoke.out")"
say "micro-gw dev logged:"
grep -F "$JTI" "$WORK/dev.log" | sed -n 's/.*msg="\([^"]*\)".*/    | \1/p'
grep -F "$JTI" "$WORK/dev.log" | grep -q "published revocation" || fail "the token service did not report publishing the revocation"
grep -F "$JTI" "$WORK/dev.log" | grep -q "stored revocation" || fail "the token service did not report storing the revocation"
ok "200: published to the topic and stored in etcd"

step "Call again with the revoked token: refused (the real-time notifier)"
show "curl -k -H \"Authorization: Bearer \$TOKEN\" $API"
deadline=$((SECONDS + 10))
while :; do
	call "$TOKEN"
	[[ $STATUS == 401 ]] && break
	((SECONDS < deadline)) || fail "expected 401 within 10s of the revocation, still $STATUS: $BODY"
	sleep 0.2
done
expect_refused "within 10s of the revocation"

step "A token that was not revoked still works"
show 'OTHER=$(micro-gw token issue petstore)'
show "curl -k -H \"Authorization: Bearer \$OTHER\" $API"
OTHER=$("$BIN/micro-gw" token issue petstore) || fail "micro-gw token issue failed"
call "$OTHER"
say "HTTP $STATUS"
[[ $STATUS == 200 ]] || fail "expected 200 for a fresh token, got $STATUS: $BODY"
ok "200"

step "Restart the gateway: it loads the revocation from etcd"
show "kill -TERM $GW_PID; gateway ... petstore/target/petstore &"
kill -TERM "$GW_PID"
gw_status=0
wait "$GW_PID" || gw_status=$?
GW_PID=
[[ $gw_status == 0 ]] || fail "the gateway exited with $gw_status on SIGTERM, expected 0"
ok "stopped cleanly"
LOG_LINES=$(wc -l <"$WORK/gateway.log")
start_gateway
say "the restarted gateway logged:"
tail -n +"$((LOG_LINES + 1))" "$WORK/gateway.log" | grep "loaded from etcd" | sed -n 's/.*msg="\([^"]*\)" \(.*\)/    | \1 \2/p' || true

step "Call with the revoked token on the restarted gateway: refused (the persistent store)"
show "curl -k -H \"Authorization: Bearer \$TOKEN\" $API"
call "$TOKEN"
expect_refused "after the restart"

FAILED=0
printf '\n%sThe demo passed.%s\n' "$B$G" "$N"
say "token $JTI: 200 before revocation; 401 (900901) right after POST /revoke;"
say "401 (900901) on a gateway started after the revocation; a fresh token: 200."
say "Everything it started is being stopped."
