// Command startready starts a program and measures it:
//
//	startready -ready URL [-idle 2s] [-keep] [-out FILE] -- PROGRAM ARGS...
//
// polls URL (the gateway's /health/ready) every millisecond from just before
// the start until it answers 200, and reports the time from start to ready,
// the peak RSS at that moment (VmHWM of /proc/PID/status) and, after -idle,
// the RSS of the idle process (VmRSS). Without -keep the program is then sent
// SIGTERM; with -keep it runs on until startready gets SIGTERM or SIGINT,
// which it passes on.
//
//	startready -run -- PROGRAM ARGS...
//
// runs the program to its end (output discarded) and reports its wall time
// and peak RSS (getrusage's ru_maxrss), e.g. for `etcdctl get --prefix`.
//
// The result is one JSON object, on stdout or in -out.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type result struct {
	ReadyMS   float64 `json:",omitempty"` // start -> first 200 of -ready
	WallMS    float64 `json:",omitempty"` // -run: start -> exit
	PeakRSSKB int64   // VmHWM at ready, or ru_maxrss of -run
	IdleRSSKB int64   `json:",omitempty"` // VmRSS after -idle
	PID       int     `json:",omitempty"`
}

func main() {
	ready := flag.String("ready", "", "readiness URL to poll (loopback)")
	idle := flag.Duration("idle", 0, "after ready, wait this long and read the idle RSS")
	keep := flag.Bool("keep", false, "leave the program running until signalled")
	runMode := flag.Bool("run", false, "run the program to its end; report wall time and peak RSS")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	out := flag.String("out", "", "write the JSON result here instead of stdout")
	logFile := flag.String("log", "", "the program's stdout and stderr go here (default: discarded)")
	flag.Parse()
	if flag.NArg() == 0 {
		fail(fmt.Errorf("no program given"))
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	var res result
	if *runMode {
		start := time.Now()
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("%s: %w", flag.Arg(0), err))
		}
		res.WallMS = ms(time.Since(start))
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.PeakRSSKB = ru.Maxrss
		}
		emit(*out, res)
		return
	}
	if *ready == "" {
		fail(fmt.Errorf("-ready or -run is needed"))
	}
	client := &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.After(*timeout)
	for {
		resp, err := client.Get(*ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			fail(fmt.Errorf("%s exited before it was ready: %v", flag.Arg(0), err))
		case <-deadline:
			stop()
			fail(fmt.Errorf("%s not ready after %s", flag.Arg(0), *timeout))
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
			<-exited
			os.Exit(1)
		case <-time.After(pollInterval(time.Since(start))):
		}
	}
	res.ReadyMS = ms(time.Since(start))
	res.PID = cmd.Process.Pid
	res.PeakRSSKB = status(res.PID, "VmHWM")
	if *idle > 0 {
		select {
		case <-time.After(*idle):
		case err := <-exited:
			fail(fmt.Errorf("%s exited while idle: %v", flag.Arg(0), err))
		}
		res.IdleRSSKB = status(res.PID, "VmRSS")
	}
	emit(*out, res)
	if !*keep {
		stop()
		return
	}
	select {
	case <-sigs:
		stop()
	case err := <-exited:
		fail(fmt.Errorf("%s exited: %v", flag.Arg(0), err))
	}
}

// pollInterval is 1 ms for the first 100 ms, then grows with the time waited
// (1% of it, at most 20 ms): fine enough for a quick start, and a slow one
// is not slowed further by a thousand polls a second.
func pollInterval(waited time.Duration) time.Duration {
	d := waited / 100
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return min(d, 20*time.Millisecond)
}

// status reads a "Name:   1234 kB" field of /proc/PID/status.
func status(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func emit(path string, res result) {
	b, _ := json.Marshal(res)
	b = append(b, '\n')
	if path == "" {
		os.Stdout.Write(b)
		return
	}
	// Written whole, then renamed: a script polling for the file never reads half of it.
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		fail(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		fail(err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "startready:", err)
	os.Exit(1)
}
