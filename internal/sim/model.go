package sim

import (
	"fmt"
	"slices"
	"time"
)

// StepSize is the simulated time one step covers; metrics are emitted once a step, as a scrape
// interval would.
const StepSize = 15 * time.Second

// Real limits the model works against.
const (
	// EphemeralPorts is Linux's default net.ipv4.ip_local_port_range (32768–60999): the source
	// ports one address has towards one destination address and port.
	EphemeralPorts = 28232
	// TimeWait is how long a closed connection's port stays in TIME_WAIT on Linux (TCP_TIMEWAIT_LEN).
	TimeWait = 60 * time.Second
	// MaxThreads is the Go runtime's default limit on OS threads (debug.SetMaxThreads).
	MaxThreads = 10000
	// logSinkLinesPerSecond is how many lines a container's stdout pipe drains per second; above
	// it, writers block, and each blocked writer holds an OS thread.
	logSinkLinesPerSecond = 3000
	// timeWaitSlots is TimeWait in steps.
	timeWaitSlots = int(TimeWait / StepSize)
)

// HistogramBounds are the latency histogram's bucket upper bounds in seconds.
var HistogramBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Request status codes the services answer with.
var Codes = []string{"200", "429", "500", "503"}

const (
	code200 = iota
	code429
	code500
	code503
)

// instanceState is what an instance carries from one step to the next.
type instanceState struct {
	Instance
	memMB      float64
	leakMB     float64
	backlog    float64 // log lines waiting for the stdout pipe
	downUntil  time.Time
	upSince    time.Time
	crashes    int // consecutive, for the restart back-off
	poolBroken bool
	timeWait   [timeWaitSlots]float64
	slot       int
	hogCleared bool
	// Counters, cumulative from the start of the simulation.
	requests   [4]float64
	buckets    []float64
	latSum     float64
	latCount   float64
	cpuSeconds float64
	gcSeconds  float64
	restarts   float64
	ooms       float64
	connFails  float64
	logLines   [5]float64 // by Severity
}

// Sim is the world running one scenario. It is deterministic: the same world, scenario, seed and
// start time give the same frames, and interventions change them only from when they are applied.
type Sim struct {
	World        World
	Scenario     Scenario
	noise        Noise
	now          time.Time
	order        []string // services, callers before callees
	inst         []*instanceState
	version      map[string]string
	flags        map[string]bool
	undone       map[string]bool
	limited      map[string]bool
	spread       map[string]float64
	journeys     [][3]float64 // by journey and cohort: ok, errors, slow (among the ok)
	cohorts      []CohortShare
	applied      []AppliedIntervention
	pending      []Change // changes caused by interventions, not yet emitted
	nextInst     map[string]int
	serviceIndex map[string]int
	paths        [][3][]int // journey, client: service indexes on the path
	cohortErr    [][]float64
	cohortClient []int // index into clients
	byService    map[string][]*instanceState
	state        map[string]*instanceState // by instance name
	previous     map[string]string         // by change id: the version a deploy replaced
	// NoTraces turns trace sampling off (a backfill writes no spans).
	NoTraces bool
	// quiet counts log lines without writing them (while advancing).
	quiet   bool
	started time.Time
	// cacheMiss is the share of a service's cache reads that failed in the last step.
	cacheMiss map[string]float64
}

// AppliedIntervention is an intervention and when it acted.
type AppliedIntervention struct {
	Intervention
	At time.Time `json:"at"`
}

// New starts the world at start running scenario sc.
func New(w World, sc Scenario, seed uint64, start time.Time) (*Sim, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{World: w, Scenario: sc, noise: Noise{Seed: seed}, now: start.Truncate(StepSize), version: map[string]string{},
		flags: map[string]bool{}, undone: map[string]bool{}, limited: map[string]bool{}, spread: map[string]float64{},
		cohorts: Cohorts(), nextInst: map[string]int{}, cacheMiss: map[string]float64{}, byService: map[string][]*instanceState{}, state: map[string]*instanceState{}, previous: map[string]string{}}
	s.order = topoOrder(w)
	s.started = s.now
	s.serviceIndex = map[string]int{}
	for i, svc := range w.Services {
		s.serviceIndex[svc.Name] = i
	}
	s.journeys = make([][3]float64, len(w.Journeys)*len(s.cohorts))
	for _, c := range s.cohorts {
		s.cohortClient = append(s.cohortClient, slices.Index(clients, c.Client))
	}
	for _, j := range w.Journeys {
		var byClient [3][]int
		for ci, client := range clients {
			for _, name := range j.PathFor(client) {
				byClient[ci] = append(byClient[ci], s.serviceIndex[name])
			}
		}
		s.paths = append(s.paths, byClient)
	}
	for _, svc := range w.Services {
		s.version[svc.Name] = initialVersion(svc.Name)
		s.nextInst[svc.Name] = svc.Instances
	}
	for _, in := range w.Instances() {
		s.addInstance(s.newInstance(in))
	}
	// Changes scheduled before the start have already happened.
	for _, c := range sc.Changes {
		if !c.At.After(s.now) {
			s.applyChange(c)
		}
	}
	return s, nil
}

func (s *Sim) addInstance(in *instanceState) {
	s.inst = append(s.inst, in)
	s.state[in.Name] = in
}

func (s *Sim) newInstance(in Instance) *instanceState {
	return &instanceState{Instance: in, memMB: baseMemoryMB, buckets: make([]float64, len(HistogramBounds)), upSince: s.now.Add(-time.Hour)}
}

// initialVersion is a service's version before any scenario change: stable per name.
func initialVersion(service string) string {
	h := streamKey(service)
	return fmt.Sprintf("%d.%d.%d", 1+h%4, (h>>8)%30, (h>>16)%10)
}

// topoOrder lists services so that every caller comes before the services it calls.
func topoOrder(w World) []string {
	seen := map[string]bool{}
	var post []string
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		svc, _ := w.Service(n)
		for _, c := range svc.Calls {
			visit(c.To)
		}
		post = append(post, n)
	}
	for _, svc := range w.Services {
		visit(svc.Name)
	}
	slices.Reverse(post)
	return post
}

// Started is when the world started: its counters count from there.
func (s *Sim) Started() time.Time { return s.started }

// Advance steps the world up to t without keeping what it emits, but for the changes made on
// the way: its state and counters move on.
func (s *Sim) Advance(t time.Time) []Change {
	s.NoTraces, s.quiet = true, true
	defer func() { s.NoTraces, s.quiet = false, false }()
	var out []Change
	for s.now.Before(t) {
		out = append(out, s.Step().Changes...)
	}
	return out
}

// Now is the simulated time of the last frame.
func (s *Sim) Now() time.Time { return s.now }

// Version is a service's current version.
func (s *Sim) Version(service string) string { return s.version[service] }

// Applied lists the interventions applied so far.
func (s *Sim) Applied() []AppliedIntervention { return slices.Clone(s.applied) }

// applyChange makes a scheduled change happen, and returns it as it happened (a deploy's From is
// the version that was running).
func (s *Sim) applyChange(c Change) Change {
	switch c.Kind {
	case ChangeDeploy, ChangeRollback:
		if c.To != "" {
			c.From = s.version[c.Service]
			s.previous[c.ID] = c.From
			s.version[c.Service] = c.To
		}
	case ChangeFlag:
		s.flags[c.Flag] = c.To == "on"
	}
	return c
}

// active reports how strongly f acts now (0 when undone by an intervention).
func (s *Sim) active(f Fault) float64 {
	if s.undone[f.Cause] {
		return 0
	}
	return f.strength(s.now)
}

// clients are the client kinds cohorts use.
var clients = []string{"web", "ios", "android"}

// Service-wide constants of the resource model.
const (
	baseMemoryMB   = 180.0
	memoryLimitMB  = 1024.0
	cpuLimitCores  = 2.0
	restartBackoff = 10 * time.Second
	maxBackoff     = time.Minute // the kubelet's crash-loop back-off, capped by its crashLoopBackOff.maxContainerRestartPeriod setting
	poolSize       = 32
)

// Frame is the world at the end of one step.
type Frame struct {
	Time      time.Time
	Instances []InstanceFrame
	Journeys  []JourneyFrame
	Links     []LinkFrame
	Vendors   []VendorFrame
	Services  map[string]ServiceFrame
	Changes   []Change
	Logs      []LogRecord
	Traces    []Trace
}

// InstanceFrame is one instance's gauges and cumulative counters.
type InstanceFrame struct {
	Instance
	Version string
	Up      bool
	// Gauges.
	RPS, ErrorRatio, P50, P99             float64
	CPUCores, MemoryBytes, GCPauseRatio   float64
	Threads, Goroutines, OpenConnections  float64
	PortsInUse, TimeWait, PortLimit       float64
	ConnectFailures                       float64 // per second
	Requests                              [4]float64
	Buckets                               []float64
	LatencySum, LatencyCount              float64
	CPUSeconds, GCSeconds, Restarts, OOMs float64
	ConnectFailuresTotal                  float64
	LogLines                              [5]float64 // by Severity
	// Per-step figures the logs are made from.
	step stepCounts
}

// stepCounts is what happened at an instance during one step.
type stepCounts struct {
	served, rejected      float64
	own, fault, dep       float64 // failed requests by origin
	depDirect             float64 // the part of dep that failed at a direct dependency
	connectFailures       float64
	slow                  float64
	gc                    float64
	worstDep              string
	oom, restart, started bool
}

// ServiceFrame is a service's state in a step.
type ServiceFrame struct {
	RPS        float64
	ErrorRatio float64 // as measured at the service, including its dependencies' errors
	OwnError   float64 // originating here and surviving the callers' retry, before cohort faults
	Effective  float64 // what a caller sees, after its retry, including dependencies
	LatencyMS  float64
	// OwnLatencyMS is the service's own time per request, without its calls': a journey's
	// latency is the sum along its path.
	OwnLatencyMS float64
	Up           int
	Instances    int
}

// JourneyFrame is one journey and cohort's cumulative request counts.
type JourneyFrame struct {
	Journey string
	Cohort  Cohort
	OK      float64
	Errors  float64
	// Slow counts the requests among OK slower than the journey's latency objective.
	Slow float64
	// Step counts, for alert rules.
	StepOK, StepErrors float64
}

// LinkFrame is a network link's state.
type LinkFrame struct {
	Link       string
	PacketLoss float64
	RTTSeconds float64
}

// VendorFrame is a third party's status page.
type VendorFrame struct {
	Vendor   string
	Degraded bool
}
