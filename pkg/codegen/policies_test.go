package codegen

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/templates"
)

func TestParsePolicies(t *testing.T) {
	data := `# the original's layout
resourcePolicies:
  - 10kPerMin: {count: 10000, unitTime: 1, timeUnit: min}
  - 5PerDay:
      count: 5
      unitTime: 1
      timeUnit: day
applicationPolicies:
  - 50PerMin: {count: 50, unitTime: 1, timeUnit: min}
subscriptionPolicies:
  - Gold: {count: 5000, unitTime: 30, timeUnit: sec, stopOnQuotaReach: true}
`
	got, err := ParsePolicies("policies.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.Policies{
		Resource:     []runtime.Policy{{Name: "10kPerMin", Count: 10000, Unit: time.Minute}, {Name: "5PerDay", Count: 5, Unit: 24 * time.Hour}},
		Application:  []runtime.Policy{{Name: "50PerMin", Count: 50, Unit: time.Minute}},
		Subscription: []runtime.Policy{{Name: "Gold", Count: 5000, Unit: 30 * time.Second}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, empty := range []string{"", "# nothing\n", "resourcePolicies:\n", "~\n"} {
		if p, err := ParsePolicies("p.yaml", []byte(empty)); err != nil || !p.Empty() {
			t.Errorf("%q: %+v, %v; want no policy", empty, p, err)
		}
	}
}

// The policies.yaml of micro-gw init is read by the build, with the WSO2 defaults.
func TestInitPoliciesParse(t *testing.T) {
	data, err := fs.ReadFile(templates.Project, "project/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicies("policies.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Resource) != 3 || len(p.Application) != 3 || len(p.Subscription) != 4 || p.Subscription[0] != (runtime.Policy{Name: "Gold", Count: 5000, Unit: time.Minute}) {
		t.Errorf("init's policies: %+v", p)
	}
}

func TestParsePoliciesErrors(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		want       string
	}{
		{"not YAML", "resourcePolicies:\n  - a: {count: 1\n", 1, "not YAML: did not find"},
		{"a list at the top", "- a\n", 1, "must be a mapping"},
		{"unknown section", "resourcePolicies: []\nthrottlePolicies: []\n", 2, `$.throttlePolicies: unknown section`},
		{"section twice", "resourcePolicies: []\nresourcePolicies: []\n", 2, "section given twice"},
		{"section a mapping", "resourcePolicies:\n  a: {count: 1}\n", 2, "must be a list of policies"},
		{"two names in one item", "resourcePolicies:\n  - a: {count: 1, unitTime: 1, timeUnit: min}\n    b: {count: 1, unitTime: 1, timeUnit: min}\n", 2, "a policy is one name"},
		{"Unlimited redefined", "applicationPolicies:\n  - Unlimited: {count: 1, unitTime: 1, timeUnit: min}\n", 2, "always defined"},
		{"twice", "resourcePolicies:\n  - a: {count: 1, unitTime: 1, timeUnit: min}\n  - a: {count: 2, unitTime: 1, timeUnit: min}\n", 3, `"a" is defined twice in this section (first at line 2)`},
		{"count zero", "resourcePolicies:\n  - a:\n      count: 0\n      unitTime: 1\n      timeUnit: min\n", 3, `$.resourcePolicies[0].a.count: must be a positive whole number, got "0"`},
		{"count a word", "resourcePolicies:\n  - a: {count: many, unitTime: 1, timeUnit: min}\n", 2, `got "many"`},
		{"count a fraction", "resourcePolicies:\n  - a: {count: 1.5, unitTime: 1, timeUnit: min}\n", 2, "positive whole number"},
		{"unitTime negative", "resourcePolicies:\n  - a:\n      count: 1\n      unitTime: -1\n      timeUnit: min\n", 4, "unitTime: must be a positive whole number"},
		{"timeUnit", "resourcePolicies:\n  - a:\n      count: 1\n      unitTime: 1\n      timeUnit: minute\n", 5, `must be sec, min, hour or day, got "minute"`},
		{"missing timeUnit", "subscriptionPolicies:\n  - Gold: {count: 1, unitTime: 1}\n", 2, "timeUnit is missing"},
		{"unknown key", "resourcePolicies:\n  - a:\n      count: 1\n      unitTime: 1\n      timeUnit: min\n      burst: 3\n", 6, "unknown setting"},
		{"stopOnQuotaReach false", "subscriptionPolicies:\n  - Gold:\n      count: 1\n      unitTime: 1\n      timeUnit: min\n      stopOnQuotaReach: false\n", 6, "always refuses a request over the quota"},
		{"longer than a year", "resourcePolicies:\n  - a: {count: 1, unitTime: 400, timeUnit: day}\n", 2, "longer than a year"},
		{"settings a list", "resourcePolicies:\n  - a: [1, 2]\n", 2, "settings of a policy are a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicies("conf/policies.yaml", []byte(tt.data))
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want a *DefinitionError", err)
			}
			if de.File != "conf/policies.yaml" || de.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q (line %d), want line %d and %q", err, de.Line, tt.line, tt.want)
			}
		})
	}
}

func TestLoadPoliciesMissingFile(t *testing.T) {
	p, err := LoadPolicies(filepath.Join(t.TempDir(), "policies.yaml"))
	if err != nil || !p.Empty() {
		t.Errorf("a project without policies.yaml: %+v, %v; want no policy", p, err)
	}
}

// A tier that names no resource policy fails the build at the tier's line, API or operation
// level, in a 3.0 and a 2.0 definition; Unlimited and defined tiers pass.
func TestCheckTiers(t *testing.T) {
	policies := runtime.Policies{Resource: []runtime.Policy{{Name: "10kPerMin", Count: 10000, Unit: time.Minute}}}
	tests := []struct {
		name, top, op string
		line          int // 0: no error
		tier          string
	}{
		{"defined tiers", "x-wso2-basePath: /p\nx-wso2-throttling-tier: 10kPerMin\n" + prodTop, "x-wso2-throttling-tier: Unlimited\n", 0, ""},
		{"API level", "x-wso2-basePath: /p\nx-wso2-throttling-tier: Platinum\n" + prodTop, "", 7, "Platinum"},
		{"operation level", "x-wso2-basePath: /p\n" + prodTop, "x-wso2-throttling-tier: 5PerMin\n", 0, "5PerMin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := doc30(tt.top, tt.op)
			file := writeDef(t, "api.yaml", src)
			loaded, err := LoadAll(context.Background(), []string{file})
			if err != nil {
				t.Fatal(err)
			}
			err = checkTiers(loaded, policies)
			if tt.tier == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var de *DefinitionError
			var te *TierError
			if !errors.As(err, &de) || !errors.As(err, &te) || te.Tier != tt.tier {
				t.Fatalf("got %v, want a tier error for %q", err, tt.tier)
			}
			want := lineContaining(src, "x-wso2-throttling-tier: "+tt.tier)
			if de.Line != want || !strings.Contains(err.Error(), `throttling tier "`+tt.tier+`" names no policy of resourcePolicies in policies.yaml (defined: Unlimited, 10kPerMin)`) {
				t.Errorf("got %q at line %d, want line %d", err, de.Line, want)
			}
		})
	}
}

func lineContaining(src, s string) int {
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return -1
}

// The generated source carries the policies and compiles them into the same values.
func TestMainSourcePolicies(t *testing.T) {
	spec := runtime.Spec{Name: "p", Policies: runtime.Policies{
		Resource:    []runtime.Policy{{Name: `a"b`, Count: 3, Unit: time.Minute}},
		Application: []runtime.Policy{{Name: "x", Count: 1, Unit: 36 * time.Hour}},
	}}
	src, err := MainSource(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"time"`, `{Name: "a\"b", Count: 3, Unit: 60 * time.Second}`, `{Name: "x", Count: 1, Unit: 129600 * time.Second}`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated source lacks %s:\n%s", want, src)
		}
	}
}

func FuzzParsePolicies(f *testing.F) {
	data, err := fs.ReadFile(templates.Project, "project/policies.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("resourcePolicies:\n  - a: {count: 1, unitTime: 1, timeUnit: min}\n  - &x b: {count: 1, unitTime: 1, timeUnit: min}\n"))
	f.Add([]byte("applicationPolicies: [{a: {count: 9223372036854775807, unitTime: 365, timeUnit: day}}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicies("policies.yaml", data)
		if err != nil {
			var de *DefinitionError
			if !errors.As(err, &de) || de.File != "policies.yaml" {
				t.Fatalf("error %v is not a *DefinitionError naming the file", err)
			}
			return
		}
		for _, list := range [][]runtime.Policy{p.Resource, p.Application, p.Subscription} {
			names := map[string]bool{}
			for _, pol := range list {
				if pol.Count <= 0 || pol.Unit <= 0 || pol.Unit > maxPolicyUnit || pol.Name == runtime.Unlimited || names[pol.Name] {
					t.Fatalf("accepted policy %+v", pol)
				}
				names[pol.Name] = true
			}
		}
		if _, err := MainSource(runtime.Spec{Name: "f", Policies: p}); err != nil {
			t.Fatalf("accepted policies that do not generate: %v", err)
		}
	})
}
