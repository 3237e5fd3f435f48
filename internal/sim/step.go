package sim

import "math"

// batchBaseRPS is the batch indexer's own steady request rate.
const batchBaseRPS = 0.5

// Step advances the world by StepSize and returns the frame at the new time.
func (s *Sim) Step() Frame {
	s.now = s.now.Add(StepSize)
	t, dt := s.now, StepSize.Seconds()
	f := Frame{Time: t, Services: make(map[string]ServiceFrame, len(s.World.Services)),
		Journeys: make([]JourneyFrame, 0, len(s.journeys)), Instances: make([]InstanceFrame, 0, len(s.inst))}
	for _, c := range s.Scenario.Changes {
		if c.At.After(t.Add(-StepSize)) && !c.At.After(t) {
			f.Changes = append(f.Changes, s.applyChange(c))
		}
	}
	f.Changes = append(f.Changes, s.pending...)
	s.pending = nil

	s.prepareCohortErrors()
	clear(s.byService)
	for _, in := range s.inst {
		s.byService[in.Service] = append(s.byService[in.Service], in)
	}

	// Load flows top-down: journeys enter at their entry service, each call multiplies it.
	offered := map[string]float64{}
	rps := make([]float64, len(s.World.Journeys))
	for ji, j := range s.World.Journeys {
		rps[ji] = s.noise.RPS(j, t)
		offered[j.Entry] += rps[ji]
	}
	for _, svc := range s.World.Services {
		if svc.Tier == TierBatch {
			offered[svc.Name] += batchBaseRPS * (1 + 0.1*s.noise.Normal("batch/"+svc.Name, t.Unix()))
		}
	}
	type bulkLoad struct{ rps, keys float64 }
	bulk := map[string]bulkLoad{}
	for _, fl := range s.Scenario.Faults {
		if fl.Kind != FaultBulkCaller {
			continue
		}
		r := fl.Value * s.active(fl)
		if s.limited[fl.Service] {
			r = min(r, 0.05)
		}
		b := bulk[fl.Target]
		b.rps += r
		b.keys = fl.Keys
		bulk[fl.Target] = b
		offered[fl.Target] += r
	}
	for _, name := range s.order {
		svc, _ := s.World.Service(name)
		for _, c := range svc.Calls {
			per := c.PerRequest
			if c.OnCacheMiss {
				per += (1 - per) * s.cacheMiss[name]
			}
			offered[c.To] += offered[name] * per
		}
	}

	// Errors and latency flow bottom-up: a service's answer depends on its dependencies'.
	reported := map[string]float64{}
	latency := map[string]float64{}
	for i := len(s.order) - 1; i >= 0; i-- {
		name := s.order[i]
		svc, _ := s.World.Service(name)
		depErr, depLat := 0.0, 0.0
		for _, c := range svc.Calls {
			weight := min(1, c.PerRequest)
			if c.Fallback != "" && s.flags[c.Fallback] {
				weight *= 0.1
			}
			depErr = 1 - (1-depErr)*(1-weight*reported[c.To])
			lat := latency[c.To]
			if c.Via != "" {
				link := s.link(c.Via)
				lat += link.RTTSeconds*1000 + link.PacketLoss*3*200 // retransmissions after a 200 ms RTO
			}
			depLat += c.PerRequest * lat
		}
		// The dependency whose own failures reach this service most, and how much of its
		// traffic fails at its direct dependencies rather than further down.
		worst, worstErr, direct := "", 0.0, 0.0
		for _, c := range svc.Calls {
			origin := f.Services[c.To].OwnError + s.meanCohortErrors(c.To)
			direct = 1 - (1-direct)*(1-min(1, c.PerRequest)*origin)
			if origin > worstErr {
				worst, worstErr = c.To, origin
			}
		}
		sf := s.stepService(&f, svc, offered[name], bulk[name].rps, bulk[name].keys, depErr, depLat, worst, direct)
		reported[name], latency[name] = sf.Effective, sf.LatencyMS
		f.Services[name] = sf
	}

	// Journeys by cohort: a request fails if any service on its path fails it.
	// A service behind a call with its fallback on fails the journey only when the fallback
	// is not taken.
	own := make([]float64, len(s.World.Services))
	weight := make([]float64, len(s.World.Services))
	for i, svc := range s.World.Services {
		own[i], weight[i] = f.Services[svc.Name].OwnError, 1
	}
	for _, svc := range s.World.Services {
		for _, c := range svc.Calls {
			if c.Fallback != "" && s.flags[c.Fallback] {
				weight[s.serviceIndex[c.To]] = 0.1
			}
		}
	}
	for ji, j := range s.World.Journeys {
		key := streamKey("journey/" + j.Name)
		for ci, c := range s.cohorts {
			okRatio := 1.0
			for _, si := range s.paths[ji][s.cohortClient[ci]] {
				e := own[si]
				if ce := s.cohortErr[si]; ce != nil {
					e += ce[ci]
				}
				okRatio *= 1 - min(1, e*weight[si])
			}
			// Whole requests: a count drawn around the expected one, and the failures among them.
			draw := t.Unix()*1000 + int64(ci)
			n := s.noise.poisson(key, 2*draw, rps[ji]*c.Share*dt)
			errs := min(n, s.noise.poisson(key, 2*draw+1, n*(1-okRatio)))
			// The successful requests slower than the journey's objective, from the latency
			// along its path (its own drawing, so that the counts above stay as they were).
			lat := 0.0
			for _, si := range s.paths[ji][s.cohortClient[ci]] {
				lat += f.Services[s.World.Services[si].Name].OwnLatencyMS
			}
			slow := min(n-errs, s.noise.poisson(slowKey+key, draw, (n-errs)*slowShare(lat, j.LatencyObjectiveMS)))
			acc := &s.journeys[ji*len(s.cohorts)+ci]
			acc[0] += n - errs
			acc[1] += errs
			acc[2] += slow
			f.Journeys = append(f.Journeys, JourneyFrame{Journey: j.Name, Cohort: c.Cohort, OK: acc[0], Errors: acc[1], Slow: acc[2], StepOK: n - errs, StepErrors: errs})
		}
	}
	for _, name := range s.linkNames() {
		f.Links = append(f.Links, s.link(name))
	}
	for _, fl := range s.Scenario.Faults {
		if fl.Kind == FaultVendorStatus {
			f.Vendors = append(f.Vendors, VendorFrame{Vendor: fl.Service, Degraded: s.active(fl) > 0})
		}
	}
	s.logLines(&f)
	if !s.NoTraces {
		s.traces(&f)
	}
	return f
}

// linkNames lists the network links calls cross, in world order.
func (s *Sim) linkNames() []string {
	var out []string
	for _, svc := range s.World.Services {
		for _, c := range svc.Calls {
			if c.Via != "" {
				out = append(out, c.Via)
			}
		}
	}
	return out
}

// link is a network link's state now: a few milliseconds of RTT, a trace of loss, and faults.
func (s *Sim) link(name string) LinkFrame {
	l := LinkFrame{Link: name, RTTSeconds: 0.012 * (1 + 0.05*s.noise.Normal("link/"+name, s.now.Unix())), PacketLoss: 0.0002}
	for _, fl := range s.Scenario.Faults {
		if fl.Kind == FaultPacketLoss && fl.Link == name {
			l.PacketLoss += fl.Value * s.active(fl)
		}
	}
	return l
}

// prepareCohortErrors works out, for this step, the extra error ratio that faults add at each
// service for each cohort (nil for services without such faults).
func (s *Sim) prepareCohortErrors() {
	if s.cohortErr == nil {
		s.cohortErr = make([][]float64, len(s.World.Services))
	}
	clear(s.cohortErr)
	for _, fl := range s.Scenario.Faults {
		a := s.active(fl)
		if fl.Kind != FaultErrors || a == 0 {
			continue
		}
		si := s.serviceIndex[fl.Service]
		if s.cohortErr[si] == nil {
			s.cohortErr[si] = make([]float64, len(s.cohorts))
		}
		for ci, c := range s.cohorts {
			if fl.Cohorts.Matches(c.Cohort) {
				s.cohortErr[si][ci] += fl.Value * a
			}
		}
	}
}

// meanCohortErrors is the cohort faults' extra error ratio at a service over all requests.
func (s *Sim) meanCohortErrors(service string) float64 {
	ce := s.cohortErr[s.serviceIndex[service]]
	e := 0.0
	for ci, c := range s.cohorts {
		if ce != nil {
			e += c.Share * ce[ci]
		}
	}
	return e
}

func (s *Sim) faultSum(kind FaultKind, service, instance string) float64 {
	v := 0.0
	for _, fl := range s.Scenario.Faults {
		if fl.Kind == kind && fl.Service == service && (fl.Instance == "" || fl.Instance == instance) {
			v += fl.Value * s.active(fl)
		}
	}
	return v
}

// slowKey sets the drawing of slow requests apart from the journeys' other drawings.
var slowKey = streamKey("journey-slow")

// slowShare is the share of requests slower than the objective when the path's typical latency
// is latMS: a few at any time (the tail of the distribution), most once the typical latency
// reaches the objective.
func slowShare(latMS, objectiveMS float64) float64 {
	if objectiveMS <= 0 {
		return 0
	}
	return 0.005 + 0.995/(1+math.Exp(-(latMS-objectiveMS)/(0.15*objectiveMS)))
}
