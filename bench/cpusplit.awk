# bench/cpusplit.awk — where each microsecond of a proxied request goes, from a CPU profile.
#
#   go tool pprof -traces EXE PROFILE | awk -v reqs=N -f bench/cpusplit.awk
#
# reads the stacks of `pprof -traces` (a sample's value, then its frames from the leaf to the
# root) and gives each sample to the first frame, from the leaf up, that belongs to one part of
# the request's work: the part that asked for the work pays for it, syscalls and memmoves
# included (a write to the backend's socket is the backend exchange's, a write to the client's
# is the response's). reqs is the number of requests served while the profile was taken; the
# output is a markdown table of CPU microseconds a request by part, with the share of each spent
# in system calls.

function part(f) {
	# Allocation and garbage collection, wherever they were asked for.
	if (f ~ /^runtime\.(mallocgc|newobject|makeslice|growslice|makemap|gcBgMarkWorker|gcAssistAlloc|gcDrain|bgsweep|bgscavenge|sweepone|markroot|scanobject|gcStart|gcMarkDone)/)
		return "allocation and garbage collection"
	# Goroutines being parked, woken and scheduled, and the network poller.
	if (f ~ /^runtime\.(schedule|findRunnable|park_m|goready|ready|wakep|startm|stopm|mcall|netpoll|notesleep|notewakeup|futexsleep|futexwakeup|sysmon|gopark|goexit0|newproc)/)
		return "scheduling and the network poller"
	# The gateway's own HTTP/1.1 server (serve_h1*.go): reading the request, writing the
	# response, its connection loop. Before the backend exchange: the request parser is in h1.
	if (f ~ /micro-gw\/pkg\/runtime\/h1\.(ParseRequest|HeadEnd|cutCRLF|originForm|plainPathChar)|micro-gw\/pkg\/runtime\.\(\*h1Conn\)\.(readHead|handOff)|micro-gw\/pkg\/runtime\.\(\*connWatch\)\.Read|micro-gw\/pkg\/runtime\.\(\*h1Body\)/)
		return "reading the client's request"
	if (f ~ /micro-gw\/pkg\/runtime\.(\(\*h1Response\)|chunkWriter|connWriter)/)
		return "the response to the client"
	if (f ~ /micro-gw\/pkg\/runtime\.(\(\*h1Conn\)|\(\*h1Server\)|\(\*connWatch\))/)
		return "the server's connection loop"
	# The exchange with the backend: writing the request, reading its response head and body
	# (the gateway's own client, or httputil.ReverseProxy over http.Transport before it).
	if (f ~ /micro-gw\/pkg\/runtime\/h1\.|micro-gw\/pkg\/runtime\.\(\*(upstream|outgoing|attempt|responseClock|requestBody|bodyView)\)|micro-gw\/pkg\/runtime\.\(\*retryTransport\)|^net\/http\.\(\*persistConn\)|^net\/http\.\(\*Transport\)|^net\/http\.persistConnWriter|^net\/http\.\(\*bodyEOFSignal\)|^net\/http\/httputil\.|^net\/http\.\(\*transferWriter\)|^net\/http\.\(\*Request\)\.write|^net\/http\.ReadResponse/)
		return "the backend exchange (request out, response in)"
	# Writing the response to the client.
	if (f ~ /^net\/http\.\(\*response\)|^net\/http\.\(\*chunkWriter\)|^net\/http\.checkConnErrorWriter|^net\/http\.\(\*conn\)\.finalFlush/)
		return "the response to the client"
	# Reading the client's request.
	if (f ~ /^net\/http\.\(\*conn\)\.readRequest|^net\/http\.readRequest|^net\/http\.\(\*connReader\)|^net\/textproto\./)
		return "reading the client's request"
	# The credential and the checks on it: validation (the validated-token cache), the revoked
	# set and rules, status list, blocking conditions, scopes, subscription.
	if (f ~ /micro-gw\/pkg\/runtime\/auth\.|micro-gw\/pkg\/revocation\.|micro-gw\/pkg\/statuslist\.|micro-gw\/pkg\/runtime\.\(\*Server\)\.(authenticate|refuseRevoked|checkStatus|refuseBlocked|checkScopes|checkSubscription|gateOnRevocationLoad|removeAuthHeader)|micro-gw\/pkg\/runtime\.[^ ]*([Cc]hecker|[Cc]redential|routeAuth|revokedByRules|statusCheck|refusal)/)
		return "the credential (validation cache, revoked set, rules, scopes)"
	# The gateway's other stages: routing, metrics, panics, body limits, the exchange itself.
	if (f ~ /micro-gw\/pkg\/runtime\.|prometheus|^log\/slog\./)
		return "the gateway's other stages (routing, metrics, ...)"
	# What is left of net/http's server: the connection's loop.
	if (f ~ /^net\/http\./)
		return "the server's connection loop"
	return ""
}

function flush(   i, p, sys) {
	if (n == 0)
		return
	p = ""
	sys = 0
	for (i = 1; i <= n; i++) {
		if (frames[i] ~ /[Ss]yscall|^internal\/poll\.|^syscall\./)
			sys = 1
		if ((p = part(frames[i])) != "")
			break
	}
	if (p == "")
		p = "other (runtime, timers, ...)"
	total += value
	by[p] += value
	if (sys)
		sysby[p] += value
	n = 0
}

# A sample's value as seconds: 10ms, 1.5s, 250us, 800ns.
function seconds(v) {
	if (v ~ /ms$/) return substr(v, 1, length(v) - 2) / 1e3
	if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1e6
	if (v ~ /ns$/) return substr(v, 1, length(v) - 2) / 1e9
	if (v ~ /s$/) return substr(v, 1, length(v) - 1)
	return v
}

/^-+\+-+$/ { flush(); insample = 1; next }
insample && /^ +[0-9.]+(ns|us|ms|s) +[^ ]/ {
	flush()
	value = seconds($1)
	n = 1
	frames[1] = $2
	next
}
insample && /^ +[^ ]/ && n > 0 { frames[++n] = $1; next }

END {
	flush()
	if (total == 0 || reqs == 0) {
		print "(no samples)"
		exit
	}
	printf "| part of the work | µs of CPU a request | of which in system calls | share |\n|---|---|---|---|\n"
	m = 0
	for (p in by) order[++m] = p
	for (i = 1; i <= m; i++)
		for (j = i + 1; j <= m; j++)
			if (by[order[j]] > by[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
	for (i = 1; i <= m; i++) {
		p = order[i]
		printf "| %s | %.1f | %.1f | %.0f %% |\n", p, by[p] / reqs * 1e6, sysby[p] / reqs * 1e6, 100 * by[p] / total
	}
	printf "| **total** | **%.1f** | %.1f | 100 %% |\n", total / reqs * 1e6, sysall() / reqs * 1e6
}

function sysall(   s, p) {
	for (p in sysby) s += sysby[p]
	return s
}
