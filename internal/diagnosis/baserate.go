package diagnosis

import (
	"fmt"
	"time"

	"github.com/sextant-sre/sextant/internal/anomaly"
)

// levelBaseRate says whether the level an entity's signal took at a change was already reached
// before it, over the reference span before the change at the given step: "; its level since,
// 12%, was never reached in the 1.5 h before", or "; its level since, 12%, was reached in 4.0%
// of the 1.5 h before (2 episodes, the longest 2 min)". Empty when there was no reference.
func levelBaseRate(b anomaly.BaseRate, level string, reference, step time.Duration) string {
	if reference <= 0 {
		return ""
	}
	if b.Novel {
		return fmt.Sprintf("; its level since, %s, was never reached in the %s before", level, roundAge(reference))
	}
	episodes := "1 episode"
	if b.Episodes != 1 {
		episodes = fmt.Sprintf("%d episodes", b.Episodes)
	}
	return fmt.Sprintf("; its level since, %s, was reached in %s of the %s before (%s, the longest %s)", level,
		percent(b.Share), roundAge(reference), episodes, roundAge(time.Duration(b.Longest)*step))
}
