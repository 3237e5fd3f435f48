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
			path := j.PathFor(cohort.Client)
			tr := Trace{Journey: j.Name, Cohort: cohort}
			traceID := s.traceID("journey/"+j.Name, t, k)
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
				spanID := s.traceID("span/"+name, t, n*32+int64(depth))[:16]
				if uninstrumented[name] {
					// The caller's client span stands for the call.
					prev := tr.Spans[len(tr.Spans)-1]
					tr.Spans = append(tr.Spans, Span{TraceID: traceID, SpanID: spanID, ParentID: parent, Service: prev.Service, Instance: prev.Instance,
						Name: "call " + name, Kind: "client", Peer: name, Start: at, End: at.Add(dur), Error: fails})
				} else {
					insts := instancesOf[name]
					inst := name + "-0"
					if len(insts) > 0 {
						inst = insts[int(s.noise.Uniform("trace/inst/"+name, n)*float64(len(insts)))%len(insts)]
					}
					r := routes[name]
					tr.Spans = append(tr.Spans, Span{TraceID: traceID, SpanID: spanID, ParentID: parent, Service: name, Instance: inst,
						Name: r[int(n)%len(r)], Kind: "server", Start: at, End: at.Add(dur), Error: fails})
					parent = spanID
				}
				failed = failed || fails
				at = at.Add(time.Millisecond)
			}
			// A failure fails every span above it: the callers answer with an error too.
			for i := len(tr.Spans) - 1; i > 0; i-- {
				if tr.Spans[i].Error {
					for k := range i {
						tr.Spans[k].Error = true
					}
					break
				}
			}
			f.Traces = append(f.Traces, tr)
		}
	}
}
