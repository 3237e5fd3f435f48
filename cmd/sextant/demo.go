package main

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// demoIncident writes a short, plausible incident so that the demo's room shows every part of
// the state card: impact, roles, hypotheses in several states, actions, fresh and stale
// observations, a decision, and a correction.
func demoIncident(ctx context.Context, st store.Store) error {
	now := time.Now().UTC()
	at := func(minAgo int) time.Time { return now.Add(-time.Duration(minAgo) * time.Minute) }
	id := uuid.Must(uuid.NewV7()).String()
	people := map[string]incident.Actor{
		"ana":   {Kind: incident.ActorPerson, ID: "demo:ana", Name: "Ana (SRE on call)"},
		"bo":    {Kind: incident.ActorPerson, ID: "demo:bo", Name: "Bo (checkout team)"},
		"alert": {Kind: incident.ActorIntegration, ID: "demo:alertmanager", Name: "Alertmanager"},
	}
	var declared, hypDeploy, hypDB, obsErr, actRollback string
	steps := []struct {
		who   string
		at    int
		draft func() incident.Draft
		keep  *string
	}{
		{"alert", 42, func() incident.Draft {
			return incident.Draft{ID: id, Type: incident.TypeDeclared, Payload: incident.Declared{Title: "Checkout errors for some users", Severity: "SEV2",
				Summary: "5xx on POST /checkout rose from 0.2% to 9% at 14:02; payments and cart look healthy."}}
		}, &declared},
		{"alert", 41, func() incident.Draft {
			return incident.Draft{Type: incident.TypeSignalAttached, Payload: incident.SignalAttached{Kind: incident.SignalAlert, Ref: "CheckoutErrorBudgetBurn", Title: "CheckoutErrorBudgetBurn firing (14.4x burn rate)", State: "firing"}}
		}, nil},
		{"ana", 40, func() incident.Draft {
			return incident.Draft{Type: incident.TypeRoleAssigned, Payload: incident.RoleAssigned{Role: incident.RoleCommander, Person: incident.Person{Name: "Ana"}}}
		}, nil},
		{"ana", 38, func() incident.Draft {
			return incident.Draft{Type: incident.TypeObservation, Payload: incident.Observation{Text: "checkout 5xx at 9%, flat for 10 minutes", Source: "checkout SLO dashboard", StaleAfter: incident.Duration(15 * time.Minute)}}
		}, &obsErr},
		{"ana", 36, func() incident.Draft {
			return incident.Draft{Type: incident.TypeImpactStated, Payload: incident.ImpactStated{Description: "Some users cannot complete checkout", Who: "unknown cohort", HowMany: "about 9% of checkout attempts", Since: at(44)}}
		}, nil},
		{"bo", 33, func() incident.Draft {
			return incident.Draft{Type: incident.TypeHypothesisProposed, Payload: incident.HypothesisProposed{Text: "checkout 4.18 (deployed 14:00) broke the new tax client"}}
		}, &hypDeploy},
		{"bo", 31, func() incident.Draft {
			return incident.Draft{Type: incident.TypeHypothesisProposed, Payload: incident.HypothesisProposed{Text: "orders database is slow"}}
		}, &hypDB},
		{"ana", 29, func() incident.Draft {
			return incident.Draft{Type: incident.TypeObservation, Payload: incident.Observation{Text: "orders DB p99 unchanged at 12 ms", Source: "database dashboard", StaleAfter: incident.Duration(30 * time.Minute)}}
		}, nil},
		{"ana", 28, func() incident.Draft {
			return incident.Draft{Type: incident.TypeHypothesisStatus, Payload: incident.HypothesisStatusChanged{Hypothesis: hypDB, Status: incident.HypothesisRefuted, Reason: "DB latency is flat"}}
		}, nil},
		{"bo", 25, func() incident.Draft {
			return incident.Draft{Type: incident.TypeObservation, Payload: incident.Observation{Text: "errors only on EU requests with app version 7.2", Source: "logs by region and version", StaleAfter: incident.Duration(time.Hour)}}
		}, nil},
		{"ana", 24, func() incident.Draft {
			return incident.Draft{Type: incident.TypeImpactStated, Payload: incident.ImpactStated{Description: "EU customers on app 7.2 cannot complete checkout", Who: "EU, app 7.2", HowMany: "about 30% of EU checkout attempts", Since: at(44)}}
		}, nil},
		{"bo", 22, func() incident.Draft {
			return incident.Draft{Type: incident.TypeHypothesisStatus, Payload: incident.HypothesisStatusChanged{Hypothesis: hypDeploy, Status: incident.HypothesisSupported, Reason: "errors start 2 minutes after the deploy, EU tax path only"}}
		}, nil},
		{"ana", 20, func() incident.Draft {
			return incident.Draft{Type: incident.TypeDecision, Payload: incident.Decision{Text: "Roll back checkout to 4.17 before debugging further", Rationale: "the deploy correlates with the onset; rollback is cheap and safe"}}
		}, nil},
		{"bo", 19, func() incident.Draft {
			return incident.Draft{Type: incident.TypeActionPlanned, Payload: incident.ActionPlanned{Text: "Roll back checkout to 4.17", Owner: incident.Person{Name: "Bo"}, ExpectedEffect: "EU checkout 5xx back under 0.5% within 10 minutes"}}
		}, &actRollback},
		{"bo", 18, func() incident.Draft {
			return incident.Draft{Type: incident.TypeActionStarted, Payload: incident.ActionStarted{Action: actRollback}}
		}, nil},
		{"ana", 17, func() incident.Draft {
			return incident.Draft{Type: incident.TypeStatusChanged, Payload: incident.StatusChanged{Status: incident.StatusMitigating, Reason: "rollback under way"}}
		}, nil},
		{"ana", 5, func() incident.Draft {
			return incident.Draft{Type: incident.TypeObservation, Payload: incident.Observation{Text: "checkout 5xx down to 1.1% and falling", Source: "checkout SLO dashboard", StaleAfter: incident.Duration(15 * time.Minute)},
				Refs: incident.Refs{Supersedes: obsErr}}
		}, nil},
	}
	for _, s := range steps {
		d := s.draft()
		d.OccurredAt = at(s.at)
		res, err := st.Append(ctx, store.AppendRequest{IncidentID: id, Create: d.Type == incident.TypeDeclared, Actor: people[s.who], Drafts: []incident.Draft{d}})
		if err != nil {
			return err
		}
		if s.keep != nil {
			*s.keep = res.Events[0].ID
		}
	}
	return nil
}
