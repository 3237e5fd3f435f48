package sim

import "time"

// ChangeKind is what a scheduled change does.
type ChangeKind string

const (
	ChangeDeploy   ChangeKind = "deploy"
	ChangeRollback ChangeKind = "rollback"
	ChangeFlag     ChangeKind = "flag"
	ChangeConfig   ChangeKind = "config"
	ChangeScaling  ChangeKind = "scaling"
)

// Change is a deploy, flag flip or config change at a time, delivered through one of the change
// intakes (Via: "cdevents", "github", "unleash" or "plain").
type Change struct {
	ID      string
	At      time.Time
	Kind    ChangeKind
	Service string
	Flag    string
	From    string
	To      string
	Actor   string
	Via     string
	Summary string
}

// FaultKind is how a fault acts on the world.
type FaultKind string

const (
	// FaultErrors adds Value to a service's error ratio for the requests of matching cohorts.
	FaultErrors FaultKind = "errors"
	// FaultLatency adds Value milliseconds to a service's own latency.
	FaultLatency FaultKind = "latency"
	// FaultCPUHog takes Value cores of one instance's CPU limit (a runaway thread).
	FaultCPUHog FaultKind = "cpu-hog"
	// FaultLeak leaks Value bytes of memory per request served, until the process restarts.
	FaultLeak FaultKind = "memory-leak"
	// FaultBulkCaller makes Service send Value requests per second of Keys keys each to Target,
	// whose handler opens one new connection per key to its cache.
	FaultBulkCaller FaultKind = "bulk-caller"
	// FaultPacketLoss sets the loss ratio of a network link to Value.
	FaultPacketLoss FaultKind = "packet-loss"
	// FaultVendorStatus puts a notice on a third party's status page.
	FaultVendorStatus FaultKind = "vendor-status"
)

// CohortMatch selects requests by cohort; empty fields match everything.
type CohortMatch struct {
	Employee   *bool  `json:"employee,omitempty"`
	Region     string `json:"region,omitempty"`
	Client     string `json:"client,omitempty"`
	AppVersion string `json:"app_version,omitempty"`
	Plan       string `json:"plan,omitempty"`
}

// Matches reports whether c is in the match.
func (m CohortMatch) Matches(c Cohort) bool {
	return (m.Employee == nil || *m.Employee == c.Employee) && (m.Region == "" || m.Region == c.Region) &&
		(m.Client == "" || m.Client == c.Client) && (m.AppVersion == "" || m.AppVersion == c.AppVersion) &&
		(m.Plan == "" || m.Plan == c.Plan)
}

// Fault is one cause acting on the world from From until Until (zero: open-ended) or until an
// intervention undoes its Cause (a change id, a flag name, or an external cause's name).
type Fault struct {
	Cause    string
	Kind     FaultKind
	From     time.Time
	Until    time.Time
	Service  string
	Instance string
	Target   string
	Link     string
	Cohorts  CohortMatch
	Value    float64
	Keys     float64
	// Ramp is how long the fault takes to reach its full Value after From.
	Ramp time.Duration
	// Log is the line (a format with one %d) the service logs for each request the fault fails.
	Log string
}

// strength is how much of the fault acts at t: 0 before, rising linearly over the ramp, 1 after.
func (f Fault) strength(t time.Time) float64 {
	if t.Before(f.From) || (!f.Until.IsZero() && !t.Before(f.Until)) {
		return 0
	}
	if f.Ramp <= 0 {
		return 1
	}
	return min(1, float64(t.Sub(f.From))/float64(f.Ramp))
}

// InterventionKind is what a responder does to the world.
type InterventionKind string

const (
	Rollback        InterventionKind = "rollback"          // roll a service back to its previous version
	RevertFlag      InterventionKind = "revert-flag"       // turn a flag back to its previous value
	SetFlag         InterventionKind = "enable-flag"       // turn a (mitigation) flag on
	ScaleOut        InterventionKind = "scale-out"         // add instances to a service
	Restart         InterventionKind = "restart"           // restart a service's instances, or one instance
	RateLimitCaller InterventionKind = "rate-limit-caller" // cap a batch caller's request rate
	SpreadSources   InterventionKind = "spread-source-addresses"
)

// Intervention is one action on the world: Target is a service, an instance or a flag.
type Intervention struct {
	Kind   InterventionKind `json:"kind"`
	Target string           `json:"target"`
}

// Entity names a thing on the abstraction hierarchy.
type Entity struct {
	Kind  string `json:"kind"` // journey, service, instance, link, change, flag, third-party
	Name  string `json:"name"`
	Level string `json:"level"` // functional purpose … physical form (DESIGN.md section 4)
}

// Hierarchy levels (DESIGN.md section 4).
const (
	LevelPurpose     = "functional purpose"
	LevelAbstract    = "abstract function"
	LevelGeneralised = "generalised function"
	LevelPhysical    = "physical function"
	LevelForm        = "physical form"
)

// Step is one link of a causal chain.
type Step struct {
	Entity Entity `json:"entity"`
	What   string `json:"what"`
}

// RedHerring is something in the data that looks like a cause and is not.
type RedHerring struct {
	Entity Entity    `json:"entity"`
	What   string    `json:"what"`
	At     time.Time `json:"at"`
}

// Truth is what really happened in a scenario: what a diagnosis should find.
type Truth struct {
	Scenario       int            `json:"scenario"`
	Name           string         `json:"name"`
	Title          string         `json:"title"`
	Seed           uint64         `json:"seed"`
	Onset          time.Time      `json:"onset"`
	RootCause      Entity         `json:"root_cause"`
	RootChange     string         `json:"root_change,omitempty"`
	FirstFailure   Entity         `json:"first_failure"`
	Chain          []Step         `json:"causal_chain"`
	Journeys       []string       `json:"impacted_journeys"`
	Cohorts        []CohortMatch  `json:"impacted_cohorts"`
	CohortsSummary string         `json:"impacted_cohorts_summary"`
	RedHerrings    []RedHerring   `json:"red_herrings"`
	Mitigations    []Intervention `json:"mitigations"`
	Fix            Intervention   `json:"fix"`
	Ineffective    []Intervention `json:"ineffective,omitempty"`
}

// Scenario is a scripted incident on the default world: changes, faults and the truth.
type Scenario struct {
	Number  int
	Name    string
	Title   string
	Onset   time.Time
	Changes []Change
	Faults  []Fault
	Truth   Truth
}
