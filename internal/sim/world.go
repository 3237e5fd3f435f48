// Package sim is the simulated production system Sextant rehearses incidents in: services in tiers
// with their instances and dependencies, traffic with a daily and weekly shape, cohorts of users.
// Everything is a pure function of a seed and simulated time, so the same seed gives the same world
// whatever order it is computed in.
package sim

import (
	"fmt"
	"slices"
)

// Tier places a service in the architecture, from the edge inwards.
type Tier string

const (
	TierEdge     Tier = "edge"
	TierGateway  Tier = "gateway"
	TierFrontend Tier = "frontend"
	TierAuth     Tier = "auth"
	TierInternal Tier = "internal"
	TierBatch    Tier = "batch"
	TierData     Tier = "data"
	TierExternal Tier = "external"
)

// Call is one dependency: each request a service serves makes PerRequest calls to To.
type Call struct {
	To         string
	PerRequest float64
	// Via names the network link the call crosses (the transit link to a third party), if any.
	Via string
	// OnCacheMiss marks the database call a service makes when its cache read misses: cache
	// reads that fail fall through to it.
	OnCacheMiss bool
	// Fallback names a flag that, when on, sends most of these calls to a secondary provider.
	Fallback string
}

// Service is one service of the world.
type Service struct {
	Name      string
	Tier      Tier
	Instances int
	// CapacityRPS is what one instance serves before queueing sets in.
	CapacityRPS float64
	// LatencyMS is the service's own time per request at low load (excluding its calls).
	LatencyMS float64
	// ErrorRatio is the base rate of failed requests: never zero.
	ErrorRatio float64
	Calls      []Call
}

// Journey is a user-facing flow: requests enter at Entry, at BaseRPS at the daily peak.
type Journey struct {
	Name    string
	Entry   string
	BaseRPS float64
	// SLO is the target success ratio.
	SLO float64
	// Path is the services a request of this journey depends on, in call order; "frontend"
	// stands for the client's frontend (web-frontend for web, mobile-bff for the apps).
	Path []string
	// LatencyObjectiveMS is the latency a request should not exceed: about three times the
	// path's own time at low load.
	LatencyObjectiveMS float64
}

// PathFor is the journey's path for a client, with the frontend resolved.
func (j Journey) PathFor(client string) []string {
	out := make([]string, len(j.Path))
	for i, s := range j.Path {
		if s == "frontend" {
			s = "mobile-bff"
			if client == "web" {
				s = "web-frontend"
			}
		}
		out[i] = s
	}
	return out
}

// World is the whole simulated system.
type World struct {
	Services []Service
	Journeys []Journey
	// Nodes are the hosts instances are placed on, round-robin by service.
	Nodes []string
}

// Service returns a service by name.
func (w World) Service(name string) (Service, bool) {
	i := slices.IndexFunc(w.Services, func(s Service) bool { return s.Name == name })
	if i < 0 {
		return Service{}, false
	}
	return w.Services[i], true
}

// Validate checks the world: known call targets, no cycles, a non-zero error base rate, and
// journeys entering at known services.
func (w World) Validate() error {
	names := map[string]Service{}
	for _, s := range w.Services {
		if _, dup := names[s.Name]; dup {
			return fmt.Errorf("service %s is defined twice", s.Name)
		}
		if s.Instances < 1 || s.CapacityRPS <= 0 || s.LatencyMS <= 0 {
			return fmt.Errorf("service %s: instances, capacity and latency must be positive", s.Name)
		}
		if s.ErrorRatio <= 0 || s.ErrorRatio >= 1 {
			return fmt.Errorf("service %s: the error base rate must be above 0 and below 1", s.Name)
		}
		names[s.Name] = s
	}
	for _, s := range w.Services {
		for _, c := range s.Calls {
			if _, ok := names[c.To]; !ok {
				return fmt.Errorf("service %s calls unknown service %s", s.Name, c.To)
			}
		}
	}
	// Depth-first search for a cycle.
	state := map[string]int{} // 0 unseen, 1 on the stack, 2 done
	var visit func(string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("the dependency graph has a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, c := range names[n].Calls {
			if err := visit(c.To); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	for _, s := range w.Services {
		if err := visit(s.Name); err != nil {
			return err
		}
	}
	for _, j := range w.Journeys {
		if _, ok := names[j.Entry]; !ok {
			return fmt.Errorf("journey %s enters at unknown service %s", j.Name, j.Entry)
		}
		for _, s := range j.PathFor("web") {
			if _, ok := names[s]; !ok {
				return fmt.Errorf("journey %s passes through unknown service %s", j.Name, s)
			}
		}
	}
	return nil
}

// DefaultWorld is the world the demo and the scenarios run on: 18 services from the CDN edge to
// a third-party payment provider behind a transit link, and four user journeys.
func DefaultWorld() World {
	s := func(name string, tier Tier, instances int, capacity, latency, errRatio float64, calls ...Call) Service {
		return Service{Name: name, Tier: tier, Instances: instances, CapacityRPS: capacity, LatencyMS: latency, ErrorRatio: errRatio, Calls: calls}
	}
	c := func(to string, per float64) Call { return Call{To: to, PerRequest: per} }
	return World{
		Services: []Service{
			s("cdn-edge", TierEdge, 6, 2000, 2, 0.0002, c("api-gateway", 1)),
			s("api-gateway", TierGateway, 4, 800, 3, 0.0003, c("auth", 1), c("web-frontend", 0.55), c("mobile-bff", 0.45)),
			s("web-frontend", TierFrontend, 6, 250, 12, 0.0005, c("catalog", 0.8), c("search", 0.3), c("cart", 0.2), c("checkout", 0.05), c("recommendations", 0.5)),
			s("mobile-bff", TierFrontend, 4, 300, 8, 0.0005, c("catalog", 0.7), c("search", 0.35), c("cart", 0.25), c("checkout", 0.06)),
			s("auth", TierAuth, 3, 900, 4, 0.0002, c("data-api", 0.3)),
			s("catalog", TierInternal, 4, 300, 6, 0.0004, c("data-api", 1.2)),
			s("search", TierInternal, 4, 200, 25, 0.0008, c("data-api", 0.4)),
			s("recommendations", TierInternal, 3, 250, 18, 0.001, c("data-api", 0.6)),
			s("cart", TierInternal, 3, 300, 7, 0.0004, c("data-api", 1)),
			s("checkout", TierInternal, 3, 120, 20, 0.0008, c("cart", 1), c("payments", 1), c("orders", 1)),
			s("payments", TierInternal, 3, 150, 15, 0.001, Call{To: "stripe", PerRequest: 1, Via: "transit-eu", Fallback: "payments-fallback-provider"}),
			s("orders", TierInternal, 3, 200, 10, 0.0005, c("data-api", 2), c("notifications", 1)),
			s("notifications", TierInternal, 2, 300, 5, 0.001),
			s("search-indexer", TierBatch, 2, 50, 40, 0.002, c("data-api", 5)),
			s("data-api", TierData, 6, 1500, 2, 0.0003, c("memcache", 1), Call{To: "scylla", PerRequest: 0.15, OnCacheMiss: true}),
			s("memcache", TierData, 4, 8000, 0.3, 0.0001),
			s("scylla", TierData, 6, 300, 3, 0.0002),
			s("stripe", TierExternal, 1, 100000, 180, 0.002),
		},
		Journeys: []Journey{
			{Name: "browse", Entry: "cdn-edge", BaseRPS: 900, SLO: 0.999, LatencyObjectiveMS: 100,
				Path: []string{"cdn-edge", "api-gateway", "auth", "frontend", "catalog", "data-api", "memcache"}},
			{Name: "search", Entry: "cdn-edge", BaseRPS: 300, SLO: 0.995, LatencyObjectiveMS: 150,
				Path: []string{"cdn-edge", "api-gateway", "auth", "frontend", "search", "data-api", "memcache"}},
			{Name: "checkout", Entry: "cdn-edge", BaseRPS: 40, SLO: 0.999, LatencyObjectiveMS: 800,
				Path: []string{"cdn-edge", "api-gateway", "auth", "frontend", "cart", "checkout", "payments", "stripe", "orders", "data-api", "memcache"}},
			{Name: "login", Entry: "cdn-edge", BaseRPS: 60, SLO: 0.999, LatencyObjectiveMS: 40,
				Path: []string{"cdn-edge", "api-gateway", "auth", "data-api", "memcache"}},
		},
		Nodes: []string{"node-a1", "node-a2", "node-a3", "node-b1", "node-b2", "node-b3"},
	}
}

// Instance names one instance of a service and the node it runs on.
type Instance struct {
	Service string
	Name    string
	Node    string
}

// Instances lists every instance of the world, placed round-robin on the nodes in service order.
func (w World) Instances() []Instance {
	var out []Instance
	k := 0
	for _, s := range w.Services {
		for i := range s.Instances {
			out = append(out, Instance{Service: s.Name, Name: fmt.Sprintf("%s-%d", s.Name, i), Node: w.Nodes[k%len(w.Nodes)]})
			k++
		}
	}
	return out
}
