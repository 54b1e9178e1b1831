#!/usr/bin/env bash
# scripts/services.sh — Debian's etcd, RabbitMQ (with its STOMP plugin), ActiveMQ Classic and Redis
# on loopback, for the end-to-end suites (e2e/, build tag e2e_services) and for trying a gateway
# against real services.
#
#   scripts/services.sh install [SERVICE|all]   apt-get install what is missing
#   scripts/services.sh start   [SERVICE|all]   start (no-op when already up), wait until healthy
#   scripts/services.sh stop    [SERVICE|all]   stop cleanly (RabbitMQ's epmd too)
#   scripts/services.sh restart [SERVICE|all]   stop, then start (data is kept)
#   scripts/services.sh status  [SERVICE|all]   exit 0 when every named service is up
#   scripts/services.sh logs    [SERVICE|all]   the tail of each service's logs
#   scripts/services.sh env                     the MICROGW_E2E_* variables, for eval
#   scripts/services.sh clean                   stop everything and remove the data folder
# where SERVICE is etcd, rabbitmq, activemq or redis.
#
# What runs where (every listener on 127.0.0.1):
#   etcd 3.4      client $MICROGW_ETCD_PORT (2379), peer $MICROGW_ETCD_PEER_PORT (2380)
#   RabbitMQ 3.10 AMQP $MICROGW_AMQP_PORT (5672), STOMP $MICROGW_STOMP_PORT (61613),
#                 node $MICROGW_RABBITMQ_NODE (microgw@localhost); vhosts "/" and "carbon"
#                 (the vhost of the original's Qpid URL), both open to guest/guest
#   ActiveMQ 5.17 STOMP $MICROGW_ACTIVEMQ_STOMP_PORT (61623), OpenWire $MICROGW_ACTIVEMQ_OPENWIRE_PORT
#                 (61626); no authentication. XStream and Jettison are on its class path, for
#                 the STOMP transformation jms-map-json (a JMS MapMessage as a JSON body)
#   Redis 7.0     $MICROGW_REDIS_PORT (26379, not Redis's 6379, which a developer's own Redis may
#                 hold); no persistence, no password (throttling's [throttlingConfig.global])
# Daemons run in a session of their own with only stdin, stdout and stderr open, so a lock the
# caller holds on a file descriptor (flock) is not held on by a broker that outlives the call.
# Data and logs live under $MICROGW_SERVICES_DIR (default: $TMPDIR/micro-gw-services); they
# survive stop and restart, so a restarted etcd keeps its keys, and `clean` removes them.
# Waits are bounded by $MICROGW_SERVICES_WAIT seconds (default 90).
set -euo pipefail

DIR=${MICROGW_SERVICES_DIR:-${TMPDIR:-/tmp}/micro-gw-services}
ETCD_PORT=${MICROGW_ETCD_PORT:-2379}
ETCD_PEER_PORT=${MICROGW_ETCD_PEER_PORT:-2380}
AMQP_PORT=${MICROGW_AMQP_PORT:-5672}
STOMP_PORT=${MICROGW_STOMP_PORT:-61613}
RABBIT_NODE=${MICROGW_RABBITMQ_NODE:-microgw@localhost}
WAIT=${MICROGW_SERVICES_WAIT:-90}
RABBIT_BIN=/usr/lib/rabbitmq/bin   # the real scripts: /usr/sbin's wrapper would su to the rabbitmq user
AMQ_STOMP_PORT=${MICROGW_ACTIVEMQ_STOMP_PORT:-61623}
AMQ_OPENWIRE_PORT=${MICROGW_ACTIVEMQ_OPENWIRE_PORT:-61626}
AMQ_HOME=/usr/share/activemq
REDIS_PORT=${MICROGW_REDIS_PORT:-26379}

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# who_listens PORT: a line naming the process on the port, for error messages.
who_listens() { ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\))).*/\1/p' | head -1; }

# alive PIDFILE NAME: the pid in PIDFILE is a running process whose command line mentions NAME.
alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ -r /proc/$pid/cmdline ]] || return 1
	# No `| grep -q`: grep quits at the first match, and under pipefail the writer's SIGPIPE
	# would make a long command line (java's) read as not alive.
	# The kernel answers an empty command line now and then while a JVM is busy mapping memory
	# (seen during ActiveMQ's start, with the process running): read again before believing it.
	local cmdline try state
	for ((try = 0; try < 20; try++)); do
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
		[[ -z $cmdline ]] || break
		state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
		[[ $state == [ZX] || -z $state ]] && return 1
		sleep 0.05
	done
	[[ $cmdline == *"$2"* ]]
}

# running PIDFILE: the process is there and not a zombie, whatever its command line. wait_up
# asks this of a process it has just spawned, not alive: until the spawned subshell has exec'd,
# its command line is this script's, and a JVM's reads empty for a while as it maps its heap; on
# a loaded machine either lasted long enough for alive to call a starting ActiveMQ "exited"
# (CI, 2026-12-05: the broker was running when the script stopped it a second later).
running() {
	local pid state
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
	[[ -n $state && $state != [ZX] ]]
}

# stop_pid PIDFILE NAME SECONDS: SIGTERM, wait, then SIGKILL; removes PIDFILE.
stop_pid() {
	local pid i
	if alive "$1" "$2"; then
		pid=$(<"$1")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < $3 * 10; i++)); do
			[[ -d /proc/$pid ]] || break
			sleep 0.1
		done
		if [[ -d /proc/$pid ]]; then
			say "$2 (pid $pid) did not stop in $3 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$1"
}

# ports_free HINT PORT...: die naming the process on a taken port, and HINT (the variables to set).
ports_free() {
	local hint=$1 p
	shift
	for p; do
		if port_open "$p"; then
			die "127.0.0.1:$p is taken by another process ($(who_listens "$p")); stop it, or set $hint"
		fi
	done
}

# stop_named NAME PIDFILE SECONDS: stop_pid, saying so when NAME was running.
stop_named() {
	if alive "$2" "$1"; then
		say "stopping $1 (pid $(<"$2"))"
	fi
	stop_pid "$2" "$1" "$3"
}

# status_named NAME PIDFILE HEALTHY WHERE: say whether NAME runs and is HEALTHY (a function).
status_named() {
	if alive "$2" "$1" && "$3"; then
		say "$1: running (pid $(<"$2")), $4"
	else
		say "$1: stopped"
		return 1
	fi
}

# wait_up NAME PIDFILE HEALTHY LOGS: wait until HEALTHY holds, at most $WAIT s; on a process that
# exited or the timeout, print LOGS (a function) and die.
wait_up() {
	local deadline=$((SECONDS + WAIT))
	until "$3"; do
		if ! running "$2"; then
			"$4" >&2
			die "$1 exited while starting (logs above)"
		fi
		if ((SECONDS >= deadline)); then
			"$4" >&2
			die "$1 not up after $WAIT s (logs above)"
		fi
		sleep 0.2
	done
	say "$1 is up (pid $(<"$2"))"
}

# spawn LOG COMMAND...: COMMAND in the background in a session of its own, stdin /dev/null, output
# appended to LOG, every descriptor above 2 closed; $! is its pid (setsid execs in place, since a
# background job of a script is no process group leader).
spawn() {
	local log=$1
	shift
	(
		local fd
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			if ((fd > 2)); then eval "exec $fd>&-"; fi
		done
		exec setsid "$@" >>"$log" 2>&1 </dev/null
	) &
}

# ---------------------------------------------------------------------------------------- install

APT_UPDATED=
apt_install() {
	command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
	if [[ -z $APT_UPDATED ]]; then
		say "apt-get update"
		apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
	say "apt-get install $*"
	# The packages would start system-wide services on our ports; a policy-rc.d that says 101
	# stops that (Debian's container images ship one; put it there for the install if not).
	local policy=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
	fi
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
	[[ -z $policy ]] || rm -f /usr/sbin/policy-rc.d
	return $rc
}

install_etcd() {
	if command -v etcd >/dev/null && command -v etcdctl >/dev/null; then return; fi
	apt_install etcd-server etcd-client
}

install_rabbitmq() {
	if [[ -x $RABBIT_BIN/rabbitmq-server ]]; then return; fi
	apt_install rabbitmq-server
}

# ActiveMQ's STOMP transformations jms-*-json need XStream and Jettison, which Debian's activemq
# package does not depend on: without them a SUBSCRIBE with transformation:jms-map-json gets
# no message at all.
AMQ_JARS=(/usr/share/java/xstream.jar /usr/share/java/jettison.jar)
install_activemq() {
	if [[ -f $AMQ_HOME/bin/activemq.jar && -f ${AMQ_JARS[0]} && -f ${AMQ_JARS[1]} ]]; then return; fi
	apt_install activemq libxstream-java libjettison-java
}

install_redis() {
	if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then return; fi
	apt_install redis-server
}

# ------------------------------------------------------------------------------------------- etcd

ETCD_PID=$DIR/etcd.pid
ETCD_LOG=$DIR/etcd.log

etcd_healthy() {
	ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$ETCD_PORT" --dial-timeout=1s --command-timeout=2s \
		endpoint health >/dev/null 2>&1
}

start_etcd() {
	install_etcd
	mkdir -p "$DIR"
	if alive "$ETCD_PID" etcd && etcd_healthy; then
		say "etcd already running (pid $(<"$ETCD_PID")) on 127.0.0.1:$ETCD_PORT"
		return
	fi
	stop_pid "$ETCD_PID" etcd 10
	ports_free MICROGW_ETCD_PORT/MICROGW_ETCD_PEER_PORT "$ETCD_PORT" "$ETCD_PEER_PORT"
	say "starting etcd on 127.0.0.1:$ETCD_PORT (data $DIR/etcd, log $ETCD_LOG)"
	spawn "$ETCD_LOG" etcd --name microgw --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "microgw=http://127.0.0.1:$ETCD_PEER_PORT"
	echo $! >"$ETCD_PID"
	wait_up etcd "$ETCD_PID" etcd_healthy logs_etcd
}

stop_etcd() { stop_named etcd "$ETCD_PID" 15; }

status_etcd() { status_named etcd "$ETCD_PID" etcd_healthy "client 127.0.0.1:$ETCD_PORT"; }

logs_etcd() {
	[[ -f $ETCD_LOG ]] || return 0
	echo "----- $ETCD_LOG (last 40 lines)"
	tail -n 40 "$ETCD_LOG"
}

# --------------------------------------------------------------------------------------- rabbitmq

RMQ=$DIR/rabbitmq
RMQ_PID=$DIR/rabbitmq.pid
RMQ_OUT=$DIR/rabbitmq.out

# The broker and rabbitmqctl both read these; nothing of /etc/rabbitmq is used, so the folder
# is self-contained and a system-wide RabbitMQ (if any) is left alone.
rabbit_env() {
	export RABBITMQ_NODENAME=$RABBIT_NODE
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	export RABBITMQ_NODE_PORT=$AMQP_PORT
	export RABBITMQ_CONF_ENV_FILE=$RMQ/rabbitmq-env.conf
	export RABBITMQ_CONFIG_FILE=$RMQ/rabbitmq.conf
	export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ/advanced.config
	export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ/enabled_plugins
	export RABBITMQ_MNESIA_BASE=$RMQ/mnesia
	export RABBITMQ_LOG_BASE=$RMQ/log
	export RABBITMQ_PID_FILE=$RMQ/beam.pid
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	export ERL_EPMD_ADDRESS=127.0.0.1
}

ctl() { "$RABBIT_BIN/rabbitmqctl" -q -n "$RABBIT_NODE" "$@"; }

# rabbit_healthy: both listeners accept connections and the node says it has booted. The ports
# are checked first: each rabbitmqctl call starts an Erlang VM, which takes about a second.
rabbit_healthy() {
	port_open "$AMQP_PORT" && port_open "$STOMP_PORT" && ctl await_startup --timeout 5 >/dev/null 2>&1
}

start_rabbitmq() {
	install_rabbitmq
	rabbit_env
	mkdir -p "$RMQ/mnesia" "$RMQ/log"
	if alive "$RMQ_PID" rabbitmq && rabbit_healthy; then
		say "rabbitmq already running (pid $(<"$RMQ_PID")) on 127.0.0.1:$AMQP_PORT (AMQP), :$STOMP_PORT (STOMP)"
		ensure_vhosts
		return
	fi
	stop_rabbitmq quiet
	ports_free MICROGW_AMQP_PORT/MICROGW_STOMP_PORT "$AMQP_PORT" "$STOMP_PORT"
	: >"$RABBITMQ_CONF_ENV_FILE"
	echo '[].' >"$RABBITMQ_ADVANCED_CONFIG_FILE"
	echo '[rabbitmq_stomp].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
	cat >"$RABBITMQ_CONFIG_FILE" <<-EOF
		listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
		stomp.listeners.tcp.1 = 127.0.0.1:$STOMP_PORT
		stomp.default_vhost = /
		log.file.level = info
		log.console = false
	EOF
	say "starting rabbitmq $RABBIT_NODE on 127.0.0.1:$AMQP_PORT (AMQP), :$STOMP_PORT (STOMP) (data $RMQ, log $RMQ/log)"
	spawn "$RMQ_OUT" "$RABBIT_BIN/rabbitmq-server"
	echo $! >"$RMQ_PID"
	wait_up rabbitmq "$RMQ_PID" rabbit_healthy logs_rabbitmq
	ensure_vhosts
}

# ensure_vhosts: vhost carbon with guest's permissions (vhost / has them from the first boot).
# The data folder keeps both across restarts, so a restart costs one rabbitmqctl call here.
ensure_vhosts() {
	if ! ctl list_vhosts name 2>/dev/null | grep -qx carbon; then
		ctl add_vhost carbon >/dev/null
		ctl set_permissions -p carbon guest '.*' '.*' '.*' >/dev/null
	fi
}

stop_rabbitmq() {
	rabbit_env
	local pid=
	if alive "$RMQ_PID" rabbitmq; then
		pid=$(<"$RMQ_PID")
		[[ ${1:-} == quiet ]] || say "stopping rabbitmq (pid $pid)"
		# `rabbitmqctl stop PIDFILE` returns when the Erlang VM has exited.
		if [[ -s $RABBITMQ_PID_FILE ]]; then
			timeout 60 "$RABBIT_BIN/rabbitmqctl" -q -n "$RABBIT_NODE" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
		else
			timeout 60 "$RABBIT_BIN/rabbitmqctl" -q -n "$RABBIT_NODE" stop >/dev/null 2>&1 || true
		fi
	fi
	stop_pid "$RMQ_PID" rabbitmq 15
	rm -f "$RABBITMQ_PID_FILE"
	# epmd, started by the broker's Erlang VM, outlives it. End it when no Erlang node is left
	# registered with it (`epmd -kill` is refused while one is).
	if command -v epmd >/dev/null && epmd -names >/dev/null 2>&1; then
		if ! epmd -names 2>/dev/null | grep -q '^name '; then
			epmd -kill >/dev/null 2>&1 || true
		elif [[ -n $pid ]]; then
			say "epmd left running: other Erlang nodes are registered ($(epmd -names | grep '^name ' | tr '\n' ' '))"
		fi
	fi
}

status_rabbitmq() {
	rabbit_env
	if alive "$RMQ_PID" rabbitmq && rabbit_healthy; then
		say "rabbitmq: running (pid $(<"$RMQ_PID")), AMQP 127.0.0.1:$AMQP_PORT, STOMP 127.0.0.1:$STOMP_PORT"
	else
		say "rabbitmq: stopped"
		return 1
	fi
}

logs_rabbitmq() {
	local f
	for f in "$RMQ_OUT" "$RMQ"/log/*.log; do
		[[ -f $f ]] || continue
		echo "----- $f (last 40 lines)"
		tail -n 40 "$f"
	done
}

# --------------------------------------------------------------------------------------- activemq

AMQ=$DIR/activemq
AMQ_PID=$DIR/activemq.pid
AMQ_OUT=$DIR/activemq.out

# amq_healthy: the STOMP connector answers a CONNECT with CONNECTED (the port opens before the
# broker serves it). The broker starts it after the OpenWire one, and a bare probe of OpenWire
# would log a warning each time.
amq_healthy() {
	local line=
	{
		exec 3<>"/dev/tcp/127.0.0.1/$AMQ_STOMP_PORT" &&
			printf 'CONNECT\naccept-version:1.2\nhost:localhost\n\n\0' >&3 &&
			IFS= read -r -t 3 line <&3
		exec 3>&-
	} 2>/dev/null
	[[ $line == CONNECTED* ]]
}

start_activemq() {
	install_activemq
	mkdir -p "$AMQ/data" "$AMQ/tmp"
	if alive "$AMQ_PID" activemq && amq_healthy; then
		say "activemq already running (pid $(<"$AMQ_PID")) on 127.0.0.1:$AMQ_STOMP_PORT (STOMP), :$AMQ_OPENWIRE_PORT (OpenWire)"
		return
	fi
	stop_pid "$AMQ_PID" activemq 15
	ports_free MICROGW_ACTIVEMQ_STOMP_PORT/MICROGW_ACTIVEMQ_OPENWIRE_PORT "$AMQ_STOMP_PORT" "$AMQ_OPENWIRE_PORT"
	# Debian's broker logs through log4j 1.2 (the log4j2.properties it ships goes unread).
	cat >"$AMQ/log4j.properties" <<-EOF
		log4j.rootLogger=INFO, out
		log4j.logger.org.apache.activemq.spring=WARN
		log4j.logger.org.springframework=WARN
		log4j.logger.org.apache.xbean=WARN
		log4j.logger.org.apache.activemq.transport.stomp.ProtocolConverter=WARN
		log4j.appender.out=org.apache.log4j.ConsoleAppender
		log4j.appender.out.layout=org.apache.log4j.PatternLayout
		log4j.appender.out.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
	EOF
	cat >"$AMQ/activemq.xml" <<-EOF
		<beans xmlns="http://www.springframework.org/schema/beans"
		  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
		  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
		  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
		  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="microgw" useJmx="false"
		          dataDirectory="$AMQ/data">
		    <persistenceAdapter><kahaDB directory="$AMQ/data/kahadb"/></persistenceAdapter>
		    <transportConnectors>
		      <transportConnector name="openwire" uri="tcp://127.0.0.1:$AMQ_OPENWIRE_PORT"/>
		      <transportConnector name="stomp" uri="stomp://127.0.0.1:$AMQ_STOMP_PORT"/>
		    </transportConnectors>
		  </broker>
		</beans>
	EOF
	say "starting activemq on 127.0.0.1:$AMQ_STOMP_PORT (STOMP), :$AMQ_OPENWIRE_PORT (OpenWire) (data $AMQ, log $AMQ_OUT)"
	# activemq.classpath: the console's Main adds it to the broker's class loader.
	spawn "$AMQ_OUT" java -Xms64M -Xmx256M -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$AMQ" \
		-Dactivemq.conf="$AMQ" -Dactivemq.data="$AMQ/data" -Djava.io.tmpdir="$AMQ/tmp" \
		-Dactivemq.classpath="$(IFS=:; echo "${AMQ_JARS[*]}")" \
		-Dlog4j.configuration="file:$AMQ/log4j.properties" \
		-jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$AMQ/activemq.xml"
	echo $! >"$AMQ_PID"
	wait_up activemq "$AMQ_PID" amq_healthy logs_activemq
}

# SIGTERM runs the broker's shutdown hook, which closes its store.
stop_activemq() { stop_named activemq "$AMQ_PID" 30; }

status_activemq() {
	status_named activemq "$AMQ_PID" amq_healthy "STOMP 127.0.0.1:$AMQ_STOMP_PORT, OpenWire 127.0.0.1:$AMQ_OPENWIRE_PORT"
}

logs_activemq() {
	local f
	[[ -f $AMQ_OUT ]] || return 0
	echo "----- $AMQ_OUT (last 40 lines)"
	tail -n 40 "$AMQ_OUT"
}

# ------------------------------------------------------------------------------------------ redis

REDIS_PID=$DIR/redis.pid
REDIS_LOG=$DIR/redis.log

redis_healthy() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

start_redis() {
	install_redis
	mkdir -p "$DIR/redis"
	if alive "$REDIS_PID" redis-server && redis_healthy; then
		say "redis already running (pid $(<"$REDIS_PID")) on 127.0.0.1:$REDIS_PORT"
		return
	fi
	stop_pid "$REDIS_PID" redis-server 10
	ports_free MICROGW_REDIS_PORT "$REDIS_PORT"
	say "starting redis on 127.0.0.1:$REDIS_PORT (log $REDIS_LOG)"
	# No persistence: a restarted Redis is empty, as the throttling suites expect of an outage.
	spawn "$REDIS_LOG" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$DIR/redis" --daemonize no
	echo $! >"$REDIS_PID"
	wait_up redis "$REDIS_PID" redis_healthy logs_redis
}

stop_redis() { stop_named redis-server "$REDIS_PID" 10; }

status_redis() { status_named redis-server "$REDIS_PID" redis_healthy "127.0.0.1:$REDIS_PORT"; }

logs_redis() {
	[[ -f $REDIS_LOG ]] || return 0
	echo "----- $REDIS_LOG (last 40 lines)"
	tail -n 40 "$REDIS_LOG"
}

# ------------------------------------------------------------------------------------------- main

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

cmd=${1:-}
what=${2:-all}
case $what in
etcd) services=(etcd) ;;
rabbitmq | rabbit) services=(rabbitmq) ;;
activemq | amq) services=(activemq) ;;
redis) services=(redis) ;;
all) services=(etcd rabbitmq activemq redis) ;;
*) usage ;;
esac

case $cmd in
install | start | status | logs)
	rc=0
	for s in "${services[@]}"; do "${cmd}_$s" || rc=1; done
	exit $rc
	;;
stop)
	# Stop in reverse order, and try both even if one fails.
	rc=0
	for ((i = ${#services[@]} - 1; i >= 0; i--)); do "stop_${services[i]}" || rc=1; done
	exit $rc
	;;
restart)
	for s in "${services[@]}"; do "stop_$s"; done
	for s in "${services[@]}"; do "start_$s"; done
	;;
env)
	echo "export MICROGW_E2E_ETCD=127.0.0.1:$ETCD_PORT"
	echo "export MICROGW_E2E_AMQP=amqp://guest:guest@127.0.0.1:$AMQP_PORT/"
	echo "export MICROGW_E2E_STOMP=127.0.0.1:$STOMP_PORT"
	echo "export MICROGW_E2E_ACTIVEMQ_STOMP=127.0.0.1:$AMQ_STOMP_PORT"
	echo "export MICROGW_E2E_REDIS=127.0.0.1:$REDIS_PORT"
	echo "export MICROGW_E2E_SERVICES=$(cd "$(dirname "$0")" && pwd)/services.sh"
	;;
clean)
	stop_redis
	stop_activemq
	stop_rabbitmq
	stop_etcd
	rm -rf "$DIR"
	say "removed $DIR"
	;;
*) usage ;;
esac
