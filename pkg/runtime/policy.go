package runtime

import "time"

// Unlimited is the policy that is always defined and limits nothing: a tier
// naming it counts no request (docs/traffic.md).
const Unlimited = "Unlimited"

// Policies are the throttling policies of a project's policies.yaml, the
// WSO2 API Microgateway's file, compiled in by `micro-gw build`
// (docs/traffic.md). Each list is in the order of the file; Unlimited is
// never in them.
type Policies struct {
	// Resource are resourcePolicies, named by x-wso2-throttling-tier: an
	// operation's own tier counts that operation, the API's tier counts
	// once for all its operations without a tier of their own; both shared
	// by every caller.
	Resource []Policy
	// Application are applicationPolicies, named by a token's
	// application.tier claim: counted per application and user (sub)
	// across every API of the gateway.
	Application []Policy
	// Subscription are subscriptionPolicies, named by the subscriptionTier
	// of the API's entry in a token's subscribedAPIs claim: counted per
	// application and API.
	Subscription []Policy
}

// Policy is one throttling policy: Count requests pass in quick
// succession, the next is refused, and once Unit has passed since the
// first, requests pass again.
type Policy struct {
	Name  string
	Count int64
	// Unit is unitTime × timeUnit.
	Unit time.Duration
}

// Empty reports whether p defines no policy (besides Unlimited).
func (p Policies) Empty() bool {
	return len(p.Resource) == 0 && len(p.Application) == 0 && len(p.Subscription) == 0
}
