package config

import (
	"errors"
	"strings"
	"testing"
)

// A fault found after loading is placed where the value in effect was set:
// the override that won over the file, the alias as written.
func TestFaultOrigins(t *testing.T) {
	file, _ := writeConf(t, "[b7a.log]\nlevel = \"DEBUG\"\n"+minimal)
	c, err := Load(file, []string{"jwtTokenConfig[0].certificateAlias=other"})
	if err != nil {
		t.Fatal(err)
	}
	e := c.Fault("jwtTokenConfig[0].certificateAlias", errors.New("not in the trust store"))
	if e.Line != 0 || e.Via != viaFlag || e.Error() != file+": jwtTokenConfig[0].certificateAlias: -e override: not in the trust store" {
		t.Errorf("fault of an overridden key: %q", e)
	}
	if e := c.Fault("log.level", errors.New("x")); e.Key != "b7a.log.level" || e.Line != 2 {
		t.Errorf("fault of a key set by its alias: %+v", e)
	}
	if e := c.Fault("jwtTokenConfig[0].jwksUrl", errors.New("x")); e.Line != 4 || e.Via != "" {
		t.Errorf("fault of an unwritten key of a written table: %+v", e)
	}

	file, _ = writeConf(t, "[b7a.log]\nlevel = \"VERBOSE\"\n"+minimal)
	_, err = Load(file, nil)
	if !errors.As(err, &e) || e.Key != "b7a.log.level" || e.Line != 2 || !strings.Contains(err.Error(), "not one of") {
		t.Errorf("bad level under its alias: %v", err)
	}

	// One key under two names in one layer: the same value is fine, two
	// values are a fault, pointing at both.
	file, _ = writeConf(t, "[log]\nlevel = \"WARN\"\n[b7a.log]\nlevel = \"warn\"\n"+minimal)
	_, err = Load(file, nil)
	if !errors.As(err, &e) || e.Line != 2 || e.Key != "log.level" || !strings.Contains(err.Error(), "b7a.log.level (line 4) sets the same key to another value") {
		t.Errorf("two values under two names: %v", err)
	}
	file, _ = writeConf(t, "[log]\nlevel = \"WARN\"\n[b7a.log]\nlevel = \"WARN\"\n"+minimal)
	if c, err := Load(file, []string{"b7a.log.level=ERROR", "log.level=DEBUG"}); err != nil || c.Log.Level != "DEBUG" {
		t.Errorf("same value twice, then -e (the last wins): %v %v", c, err)
	}
}
