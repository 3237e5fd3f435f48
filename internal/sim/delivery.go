package sim

import (
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Delivery is one request to one of Sextant's intake endpoints: what the simulated world's
// exporters, CI, flag service and Alertmanager would send.
type Delivery struct {
	At          time.Time         `json:"at"`
	Path        string            `json:"path"`
	ContentType string            `json:"content_type"`
	Header      map[string]string `json:"header,omitempty"`
	// Sign names the secret the sender signs the body with ("github"), if any.
	Sign string `json:"sign,omitempty"`
	Body []byte `json:"-"`
}

// Encoding is how OTLP requests are encoded.
type Encoding int

const (
	Protobuf Encoding = iota
	JSON
)

func (e Encoding) contentType() string {
	if e == JSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

type otlpRequest interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func otlpDelivery(at time.Time, path string, enc Encoding, req otlpRequest) (Delivery, error) {
	var body []byte
	var err error
	if enc == JSON {
		body, err = req.MarshalJSON()
	} else {
		body, err = req.MarshalProto()
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("encode %s: %w", path, err)
	}
	return Delivery{At: at, Path: path, ContentType: enc.contentType(), Body: body}, nil
}

// Stream turns a running world into deliveries, step by step.
type Stream struct {
	Sim      *Sim
	Encoding Encoding
	start    time.Time
	rules    *ruleState
}

// NewStream starts a stream on s, from its current time.
func NewStream(s *Sim, enc Encoding) *Stream {
	return &Stream{Sim: s, Encoding: enc, start: s.Started(), rules: newRuleState()}
}

// Next steps the world and returns the step's deliveries, in the order they would be sent:
// changes first (they happened during the step), then metrics, logs, traces and alerts.
func (st *Stream) Next() (Frame, []Delivery, error) {
	f := st.Sim.Step()
	var out []Delivery
	for _, c := range f.Changes {
		d, err := ChangeDelivery(c)
		if err != nil {
			return f, nil, err
		}
		out = append(out, d)
	}
	d, err := otlpDelivery(f.Time, "/v1/metrics", st.Encoding, pmetricotlp.NewExportRequestFromMetrics(OTLPMetrics(f, st.start)))
	if err != nil {
		return f, nil, err
	}
	out = append(out, d)
	if len(f.Logs) > 0 {
		d, err := otlpDelivery(f.Time, "/v1/logs", st.Encoding, plogotlp.NewExportRequestFromLogs(OTLPLogs(f.Logs)))
		if err != nil {
			return f, nil, err
		}
		out = append(out, d)
	}
	if len(f.Traces) > 0 {
		nodes := map[string]string{}
		for _, in := range f.Instances {
			nodes[in.Name] = in.Node
		}
		d, err := otlpDelivery(f.Time, "/v1/traces", st.Encoding, ptraceotlp.NewExportRequestFromTraces(OTLPTraces(f.Traces, st.Sim.Version, nodes)))
		if err != nil {
			return f, nil, err
		}
		out = append(out, d)
	}
	for _, n := range st.rules.evaluate(st.Sim.World, f) {
		body, err := json.Marshal(n)
		if err != nil {
			return f, nil, fmt.Errorf("encode alert notification: %w", err)
		}
		out = append(out, Delivery{At: f.Time, Path: "/api/intake/alertmanager", ContentType: "application/json", Body: body})
	}
	return f, out, nil
}
