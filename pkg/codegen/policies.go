package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// The sections of policies.yaml (docs/traffic.md), the WSO2 API
// Microgateway's names.
const (
	policiesResource     = "resourcePolicies"
	policiesApplication  = "applicationPolicies"
	policiesSubscription = "subscriptionPolicies"
)

// policyUnits are the timeUnits of a policy.
var policyUnits = map[string]time.Duration{
	"sec": time.Second, "min": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
}

// maxPolicyUnit bounds unitTime × timeUnit: a window of a year is the
// longest a counter is kept for.
const maxPolicyUnit = 365 * 24 * time.Hour

// maxPoliciesSize bounds policies.yaml: a file of thousands of policies is
// a few hundred KB.
const maxPoliciesSize = 4 << 20

// LoadPolicies reads a project's policies.yaml. A file that does not exist
// defines no policy (a project made before micro-gw wrote one); every other
// fault is a *DefinitionError with the file and the line.
func LoadPolicies(file string) (runtime.Policies, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return runtime.Policies{}, nil
	}
	if err != nil {
		return runtime.Policies{}, &DefinitionError{File: file, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPoliciesSize+1))
	if err != nil {
		return runtime.Policies{}, &DefinitionError{File: file, Err: err}
	}
	return ParsePolicies(file, data)
}

// ParsePolicies reads the policies of data, the content of file:
//
//	resourcePolicies:
//	  - 10kPerMin: {count: 10000, unitTime: 1, timeUnit: min}
//	applicationPolicies:
//	  - 50PerMin: {count: 50, unitTime: 1, timeUnit: min}
//	subscriptionPolicies:
//	  - Gold: {count: 5000, unitTime: 1, timeUnit: min, stopOnQuotaReach: true}
//
// strictly: an unknown section or key, a count or unitTime that is not a
// positive integer, a timeUnit other than sec, min, hour and day, a name
// given twice in a section or a policy named Unlimited (always defined) is
// an error at its line.
func ParsePolicies(file string, data []byte) (runtime.Policies, error) {
	var p runtime.Policies
	fail := func(line int, path jsonPath, format string, a ...any) error {
		e := &DefinitionError{File: file, Line: line, Err: fmt.Errorf(format, a...)}
		if len(path) > 0 {
			e.Path = path.String()
		}
		return e
	}
	if len(data) > maxPoliciesSize {
		return p, fail(0, nil, "larger than %d bytes", maxPoliciesSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return p, fail(lineInMessage(err), nil, "not YAML: %s", strings.TrimSpace(messageLine.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return p, nil // an empty file
	}
	top := unalias(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return p, nil
	}
	if top.Kind != yaml.MappingNode {
		return p, fail(top.Line, nil, "must be a mapping of %s, %s and %s", policiesResource, policiesApplication, policiesSubscription)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], unalias(top.Content[i+1])
		var dst *[]runtime.Policy
		switch k.Value {
		case policiesResource:
			dst = &p.Resource
		case policiesApplication:
			dst = &p.Application
		case policiesSubscription:
			dst = &p.Subscription
		default:
			return p, fail(k.Line, jsonPath{k.Value}, "unknown section: policies.yaml has %s, %s and %s", policiesResource, policiesApplication, policiesSubscription)
		}
		if seen[k.Value] {
			return p, fail(k.Line, jsonPath{k.Value}, "section given twice")
		}
		seen[k.Value] = true
		list, err := parsePolicyList(v, jsonPath{k.Value}, fail)
		if err != nil {
			return p, err
		}
		*dst = list
	}
	return p, nil
}

type policyFail func(line int, path jsonPath, format string, a ...any) error

// parsePolicyList reads one section: a sequence of one-key mappings, name:
// {count, unitTime, timeUnit}.
func parsePolicyList(n *yaml.Node, at jsonPath, fail policyFail) ([]runtime.Policy, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fail(n.Line, at, "must be a list of policies, each `- NAME: {count: N, unitTime: N, timeUnit: min}`")
	}
	var list []runtime.Policy
	names := map[string]int{}
	for i, item := range n.Content {
		item = unalias(item)
		ip := at.child(index(i))
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			return nil, fail(item.Line, ip, "a policy is one name with its settings, as `- 10kPerMin: {count: 10000, unitTime: 1, timeUnit: min}`")
		}
		k, v := item.Content[0], unalias(item.Content[1])
		name := k.Value
		pp := ip.child(name)
		switch {
		case k.Kind != yaml.ScalarNode || strings.TrimSpace(name) == "":
			return nil, fail(k.Line, ip, "a policy needs a name")
		case name == runtime.Unlimited:
			return nil, fail(k.Line, pp, "%s is always defined and limits nothing; remove this policy", runtime.Unlimited)
		case names[name] > 0:
			return nil, fail(k.Line, pp, "policy %q is defined twice in this section (first at line %d)", name, names[name])
		}
		names[name] = k.Line
		pol, err := parsePolicy(name, v, k.Line, pp, fail)
		if err != nil {
			return nil, err
		}
		list = append(list, pol)
	}
	return list, nil
}

// parsePolicy reads the settings of one policy.
func parsePolicy(name string, n *yaml.Node, line int, at jsonPath, fail policyFail) (runtime.Policy, error) {
	pol := runtime.Policy{Name: name}
	if n.Kind != yaml.MappingNode {
		return pol, fail(line, at, "the settings of a policy are a mapping: {count: N, unitTime: N, timeUnit: min}")
	}
	var count, unitTime int64
	var unit time.Duration
	got := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], unalias(n.Content[i+1])
		kp := at.child(k.Value)
		if got[k.Value] {
			return pol, fail(k.Line, kp, "given twice")
		}
		got[k.Value] = true
		switch k.Value {
		case "count", "unitTime":
			var x int64
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&x) != nil || x <= 0 {
				return pol, fail(v.Line, kp, "must be a positive whole number, got %s", describeNode(v))
			}
			if k.Value == "count" {
				count = x
			} else {
				unitTime = x
			}
		case "timeUnit":
			u, ok := policyUnits[v.Value]
			if v.Kind != yaml.ScalarNode || !ok {
				return pol, fail(v.Line, kp, "must be sec, min, hour or day, got %s", describeNode(v))
			}
			unit = u
		case "stopOnQuotaReach":
			var stop bool
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&stop) != nil {
				return pol, fail(v.Line, kp, "must be true or false, got %s", describeNode(v))
			}
			if !stop {
				return pol, fail(v.Line, kp, "micro-gw always refuses a request over the quota (429); remove stopOnQuotaReach: false, or use %s", runtime.Unlimited)
			}
		default:
			return pol, fail(k.Line, kp, "unknown setting: a policy has count, unitTime and timeUnit (and stopOnQuotaReach: true)")
		}
	}
	for _, need := range []string{"count", "unitTime", "timeUnit"} {
		if !got[need] {
			return pol, fail(line, at, "%s is missing: a policy is {count: N, unitTime: N, timeUnit: sec|min|hour|day}", need)
		}
	}
	if unitTime > int64(maxPolicyUnit/unit) {
		return pol, fail(line, at, "unitTime × timeUnit is longer than a year")
	}
	pol.Count, pol.Unit = count, time.Duration(unitTime)*unit
	return pol, nil
}

// describeNode names a YAML value in an error, shortened.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return fmt.Sprintf("%q", v)
}

// tierIndex is the names a tier may take in one section: its policies and
// Unlimited.
func tierIndex(list []runtime.Policy) map[string]bool {
	m := map[string]bool{runtime.Unlimited: true}
	for _, p := range list {
		m[p.Name] = true
	}
	return m
}

// TierError is a x-wso2-throttling-tier that names no resource policy. It is
// the Err of a *DefinitionError at the tier's line.
type TierError struct {
	Tier string
	// Defined are the names that are, sorted, Unlimited first.
	Defined []string
}

func (e *TierError) Error() string {
	return fmt.Sprintf("throttling tier %q names no policy of %s in policies.yaml (defined: %s)",
		e.Tier, policiesResource, strings.Join(e.Defined, ", "))
}

// checkTiers fails on the first x-wso2-throttling-tier of the definitions
// that names no resource policy, at its line.
func checkTiers(loaded []Loaded, p runtime.Policies) error {
	known := tierIndex(p.Resource)
	tierErr := func(tier string) *TierError {
		defined := make([]string, 0, len(known))
		for n := range known {
			if n != runtime.Unlimited {
				defined = append(defined, n)
			}
		}
		sort.Strings(defined)
		return &TierError{Tier: tier, Defined: append([]string{runtime.Unlimited}, defined...)}
	}
	for _, l := range loaded {
		if t := l.API.ThrottlingTier; t != "" && !known[t] {
			return l.def.wrap(jsonPath{extThrottlingTier}, tierErr(t))
		}
		for _, r := range l.API.Resources {
			if t := r.ThrottlingTier; t != "" && !known[t] {
				return l.def.wrap(jsonPath{"paths", r.Path, strings.ToLower(r.Method), extThrottlingTier}, tierErr(t))
			}
		}
	}
	return nil
}

// policiesSource is the Go literal of p for the generated main package.
func policiesSource(p runtime.Policies) string {
	if p.Empty() {
		return "runtime.Policies{}"
	}
	var b bytes.Buffer
	b.WriteString("runtime.Policies{\n")
	for _, s := range []struct {
		field string
		list  []runtime.Policy
	}{{"Resource", p.Resource}, {"Application", p.Application}, {"Subscription", p.Subscription}} {
		if len(s.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\t\t%s: []runtime.Policy{\n", s.field)
		for _, pol := range s.list {
			fmt.Fprintf(&b, "\t\t\t{Name: %s, Count: %d, Unit: %s},\n", strconv.Quote(pol.Name), pol.Count, durationSource(pol.Unit))
		}
		b.WriteString("\t\t},\n")
	}
	b.WriteString("\t}")
	return b.String()
}

// durationSource writes d as a Go expression of package time.
func durationSource(d time.Duration) string {
	if d%time.Second == 0 && d/time.Second < math.MaxInt32 {
		return fmt.Sprintf("%d * time.Second", d/time.Second)
	}
	return fmt.Sprintf("time.Duration(%d)", int64(d))
}
