package playback

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sextant-sre/sextant/internal/sim"
)

// Player plays a world live into a Sextant: simulated time runs Speed times faster than the wall
// clock until it catches up with it, then at the wall clock's pace, so nothing is ever sent
// from the future.
type Player struct {
	Stream *sim.Stream
	Sender *Sender
	// Speed is simulated seconds per wall second, 1 to 60.
	Speed  float64
	Logger *slog.Logger
	// OnFrame, if set, is called after each step's deliveries are sent.
	OnFrame func(sim.Frame)

	mu      sync.Mutex
	pending []sim.Intervention
}

// Intervene queues an intervention; it acts before the next step.
func (p *Player) Intervene(iv sim.Intervention) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, iv)
}

// Run plays until ctx ends. A delivery that fails is logged and play goes on: the world does not
// stop because Sextant was briefly unreachable.
func (p *Player) Run(ctx context.Context) error {
	if p.Speed < 1 || p.Speed > 60 {
		return fmt.Errorf("speed %.1f: choose 1 to 60", p.Speed)
	}
	now := time.Now
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wallStart, simStart := now(), p.Stream.Sim.Now()
	for {
		p.mu.Lock()
		ivs := p.pending
		p.pending = nil
		p.mu.Unlock()
		for _, iv := range ivs {
			if err := p.Stream.Sim.Apply(iv); err != nil {
				log.Warn("intervention refused", "kind", iv.Kind, "target", iv.Target, "err", err)
			} else {
				log.Info("intervention applied", "kind", iv.Kind, "target", iv.Target, "at", p.Stream.Sim.Now())
			}
		}
		// When may the next step be sent? When its end is both reached at this speed and past.
		next := p.Stream.Sim.Now().Add(sim.StepSize)
		atSpeed := wallStart.Add(time.Duration(float64(next.Sub(simStart)) / p.Speed))
		due := atSpeed
		if next.After(due) {
			due = next
		}
		if wait := due.Sub(now()); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		f, ds, err := p.Stream.Next()
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := p.Sender.Send(ctx, d); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Warn("simulated delivery failed", "path", d.Path, "at", d.At, "err", err)
			}
		}
		if p.OnFrame != nil {
			p.OnFrame(f)
		}
	}
}
