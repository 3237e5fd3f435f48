package sim

import (
	"time"
)

// Span is one span of a simulated trace.
type Span struct {
	TraceID, SpanID, ParentID string
	Service, Instance         string
	Name                      string
	Kind                      string // server or client
	Peer                      string // for client spans to uninstrumented peers
	Start, End                time.Time
	Error                     bool
}

// Trace is one sampled request through the world.
type Trace struct {
	Journey string
	Cohort  Cohort
	Spans   []Span
}

// tracesPerJourney is how many requests of each journey are traced each step: a head-sampling
// rate far below 1%, as production tracing is.
const tracesPerJourney = 2

// uninstrumented are the services that emit no spans of their own: their callers' client spans
// name them.
var uninstrumented = map[string]bool{"memcache": true, "scylla": true, "stripe": true}

// traces samples a few requests of each journey and follows them along their path.
func (s *Sim) traces(f *Frame) {
	t := f.Time
	instancesOf := map[string][]string{}
	for _, in := range f.Instances {
		if in.Up {
			instancesOf[in.Service] = append(instancesOf[in.Service], in.Name)
		}
	}
	for ji, j := range s.World.Journeys {
		for k := range int64(tracesPerJourney) {
			n := t.Unix()*100 + int64(ji)*10 + k
			ci := int(s.noise.Uniform("trace/cohort", n) * float64(len(s.cohorts)))
			cohort := s.cohorts[min(ci, len(s.cohorts)-1)].Cohort
			tr := Trace{Journey: j.Name, Cohort: cohort}
			tr.Spans = s.follow(f, s.traceID("journey/"+j.Name, t, k), n, ci, j.PathFor(cohort.Client), instancesOf)
			f.Traces = append(f.Traces, tr)
		}
	}
	// Calls that no journey's path makes (a batch job's, a frontend's call to a service off
	// every journey, a cache miss's fall-through to the database) are traced too, one request
	// a step each, so that a trace-derived graph sees every call the world makes.
	calls := s.offPathCalls()
	if len(s.World.Journeys)*10 > 40 || len(calls) > 60 {
		panic("sim: too many journeys or calls for the trace numbering") // a world edit, caught by the tests
	}
	for i, call := range calls {
		// Request numbers are unique per step and across steps: journeys take 0 to 39.
		n := t.Unix()*100 + 40 + int64(i)
		tr := Trace{Cohort: s.cohorts[0].Cohort}
		tr.Spans = s.follow(f, s.traceID("call/"+call[0]+"/"+call[1], t, 0), n, 0, call[:], instancesOf)
		f.Traces = append(f.Traces, tr)
	}
}

// offPathCalls are the calls of the world, caller and callee, that no journey's path makes.
func (s *Sim) offPathCalls() [][2]string {
	onPath := map[[2]string]bool{}
	for _, j := range s.World.Journeys {
		for _, client := range []string{"web", "app"} {
			var prev string
			for _, name := range j.PathFor(client) {
				if uninstrumented[name] {
					// The caller's client span stands for it: the next service is called by
					// the same caller.
					onPath[[2]string{prev, name}] = true
					continue
				}
				if prev != "" {
					onPath[[2]string{prev, name}] = true
				}
				prev = name
			}
		}
	}
	var out [][2]string
	for _, svc := range s.World.Services {
		if uninstrumented[svc.Name] {
			continue
		}
		for _, c := range svc.Calls {
			if k := [2]string{svc.Name, c.To}; !onPath[k] {
				out = append(out, k)
			}
		}
	}
	return out
}

// follow traces one request along path: a server span per instrumented service, each the
// child of the one before, and a client span of the caller for an uninstrumented one. A
// failure fails every span above it.
func (s *Sim) follow(f *Frame, traceID string, n int64, ci int, path []string, instancesOf map[string][]string) []Span {
	t := f.Time
	var spans []Span
	start := t.Add(-time.Duration(s.noise.Uniform("trace/start", n) * float64(StepSize)))
	parent, failed := "", false
	at := start
	for depth, name := range path {
		sf := f.Services[name]
		e := sf.OwnError
		if ce := s.cohortErr[s.serviceIndex[name]]; ce != nil {
			e += ce[min(ci, len(ce)-1)]
		}
		fails := !failed && s.noise.Uniform("trace/fail/"+name, n) < e
		dur := time.Duration(sf.LatencyMS * float64(time.Millisecond))
		// The half of the id that depends on the request and the depth: the other half
		// depends on the step alone, and would give every request of a step the same span id
		// for a service.
		spanID := s.traceID("span/"+name, t, n*32+int64(depth))[16:]
		if uninstrumented[name] {
			if len(spans) == 0 {
				break // nobody to record the call
			}
			// The caller's client span stands for the call.
			prev := spans[len(spans)-1]
			spans = append(spans, Span{TraceID: traceID, SpanID: spanID, ParentID: parent, Service: prev.Service, Instance: prev.Instance,
				Name: "call " + name, Kind: "client", Peer: name, Start: at, End: at.Add(dur), Error: fails})
		} else {
			insts := instancesOf[name]
			inst := name + "-0"
			if len(insts) > 0 {
				inst = insts[int(s.noise.Uniform("trace/inst/"+name, n)*float64(len(insts)))%len(insts)]
			}
			r := routes[name]
			spans = append(spans, Span{TraceID: traceID, SpanID: spanID, ParentID: parent, Service: name, Instance: inst,
				Name: r[int(n)%len(r)], Kind: "server", Start: at, End: at.Add(dur), Error: fails})
			parent = spanID
		}
		failed = failed || fails
		at = at.Add(time.Millisecond)
	}
	for i := len(spans) - 1; i > 0; i-- {
		if spans[i].Error {
			for k := range i {
				spans[k].Error = true
			}
			break
		}
	}
	return spans
}
