package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Apply performs an intervention on the world now. Its effect shows from the next step, in the
// signals, the way the real action's would; the changes it makes (a rollback, a flag flip, a
// scale-out) are emitted like any other change.
func (s *Sim) Apply(iv Intervention) error {
	at := s.now
	switch iv.Kind {
	case Rollback:
		var last *Change
		for k := range s.Scenario.Changes {
			c := &s.Scenario.Changes[k]
			if c.Kind == ChangeDeploy && c.Service == iv.Target && !c.At.After(at) && !s.undone[c.ID] {
				if last == nil || c.At.After(last.At) {
					last = c
				}
			}
		}
		if last == nil {
			return fmt.Errorf("rollback: %s has no deploy to roll back", iv.Target)
		}
		s.undone[last.ID] = true
		from := s.previous[last.ID]
		s.version[iv.Target] = from
		s.restartInstances(iv.Target, "", 0) // a rollback replaces every pod
		s.pending = append(s.pending, Change{ID: "rollback-" + last.ID, At: at, Kind: ChangeRollback, Service: iv.Target,
			From: last.To, To: from, Actor: "responder", Via: "cdevents", Summary: "rolled back to " + from})
	case RevertFlag:
		if _, known := s.flags[iv.Target]; !known {
			return fmt.Errorf("revert-flag: no flag %q has been changed", iv.Target)
		}
		s.undone[iv.Target] = true
		from, to := "on", "off"
		if !s.flags[iv.Target] {
			from, to = "off", "on"
		}
		s.flags[iv.Target] = !s.flags[iv.Target]
		s.pending = append(s.pending, Change{ID: fmt.Sprintf("revert-%s-%d", iv.Target, at.Unix()), At: at, Kind: ChangeFlag, Flag: iv.Target,
			From: from, To: to, Actor: "responder", Via: "unleash"})
	case SetFlag:
		if s.flags[iv.Target] {
			return fmt.Errorf("enable-flag: %s is already on", iv.Target)
		}
		s.flags[iv.Target] = true
		s.pending = append(s.pending, Change{ID: fmt.Sprintf("enable-%s-%d", iv.Target, at.Unix()), At: at, Kind: ChangeFlag, Flag: iv.Target,
			From: "off", To: "on", Actor: "responder", Via: "unleash"})
	case ScaleOut:
		svc, ok := s.World.Service(iv.Target)
		if !ok {
			return fmt.Errorf("scale-out: no service %q", iv.Target)
		}
		before := s.instanceCount(svc.Name)
		add := max(1, before/2)
		for range add {
			n := s.nextInst[svc.Name]
			s.nextInst[svc.Name]++
			in := s.newInstance(Instance{Service: svc.Name, Name: fmt.Sprintf("%s-%d", svc.Name, n), Node: s.World.Nodes[n%len(s.World.Nodes)]})
			in.upSince = at
			in.downUntil = at.Add(30 * time.Second) // scheduling and readiness
			s.addInstance(in)
		}
		s.pending = append(s.pending, Change{ID: fmt.Sprintf("scale-%s-%d", svc.Name, at.Unix()), At: at, Kind: ChangeScaling, Service: svc.Name,
			From: fmt.Sprint(before), To: fmt.Sprint(before + add), Actor: "responder", Via: "plain", Summary: "scaled out"})
	case Restart:
		svc, inst := iv.Target, ""
		if !slices.ContainsFunc(s.World.Services, func(x Service) bool { return x.Name == iv.Target }) {
			i := slices.IndexFunc(s.inst, func(x *instanceState) bool { return x.Name == iv.Target })
			if i < 0 {
				return fmt.Errorf("restart: no service or instance %q", iv.Target)
			}
			svc, inst = s.inst[i].Service, iv.Target
		}
		s.restartInstances(svc, inst, 15*time.Second)
	case RateLimitCaller:
		if !slices.ContainsFunc(s.Scenario.Faults, func(f Fault) bool { return f.Kind == FaultBulkCaller && f.Service == iv.Target }) &&
			!slices.ContainsFunc(s.World.Services, func(x Service) bool { return x.Name == iv.Target && x.Tier == TierBatch }) {
			return fmt.Errorf("rate-limit-caller: %q is not a batch caller", iv.Target)
		}
		s.limited[iv.Target] = true
	case SpreadSources:
		if _, ok := s.World.Service(iv.Target); !ok {
			return fmt.Errorf("spread-source-addresses: no service %q", iv.Target)
		}
		s.spread[iv.Target] = 4 // four source addresses instead of one
	default:
		return fmt.Errorf("unknown intervention %q", iv.Kind)
	}
	s.applied = append(s.applied, AppliedIntervention{Intervention: iv, At: at})
	return nil
}

// restartInstances restarts one instance or all of a service's: fresh memory, a new connection
// pool, no runaway thread. The network namespace, and so TIME_WAIT, survives a restart.
func (s *Sim) restartInstances(service, instance string, down time.Duration) {
	for _, in := range s.inst {
		if in.Service != service || (instance != "" && in.Name != instance) {
			continue
		}
		in.memMB, in.leakMB, in.backlog, in.poolBroken, in.hogCleared, in.crashes = baseMemoryMB, 0, 0, true, true, 0
		in.restarts++
		in.downUntil = s.now.Add(down)
		in.upSince = in.downUntil
	}
}

// InterventionKinds lists the interventions the world takes.
var InterventionKinds = []InterventionKind{Rollback, RevertFlag, SetFlag, ScaleOut, Restart, RateLimitCaller, SpreadSources}

// Check says whether an intervention names a kind and a target the world knows. It reads only
// what does not change while the world runs, so it may be called from any goroutine; Apply can
// still refuse an intervention that Check lets through (a flag that was never changed).
func (s *Sim) Check(iv Intervention) error {
	service := func(name string) bool { _, ok := s.World.Service(name); return ok }
	switch iv.Kind {
	case Rollback, ScaleOut, SpreadSources, RateLimitCaller:
		if !service(iv.Target) {
			return fmt.Errorf("%s: no service %q", iv.Kind, iv.Target)
		}
	case Restart:
		name := iv.Target
		if i := strings.LastIndexByte(name, '-'); !service(name) && (i < 0 || !service(name[:i]) || strings.Trim(name[i+1:], "0123456789") != "" || name[i+1:] == "") {
			return fmt.Errorf("restart: no service or instance %q", iv.Target)
		}
	case RevertFlag, SetFlag:
		known := false
		for _, c := range s.Scenario.Changes {
			known = known || c.Flag == iv.Target
		}
		for _, svc := range s.World.Services {
			for _, c := range svc.Calls {
				known = known || c.Fallback == iv.Target
			}
		}
		if !known {
			return fmt.Errorf("%s: no flag %q", iv.Kind, iv.Target)
		}
	default:
		return fmt.Errorf("unknown intervention %q (one of %v)", iv.Kind, InterventionKinds)
	}
	return nil
}
