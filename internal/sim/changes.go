package sim

import (
	"encoding/json"
	"fmt"
	"time"
)

// ChangeDelivery is a change as the system that made it would report it: CI as a CDEvent in a
// structured CloudEvent or a GitHub deployment_status webhook, the flag service as an Unleash
// webhook, anything else in Sextant's own change format.
func ChangeDelivery(c Change) (Delivery, error) {
	var body any
	d := Delivery{At: c.At, ContentType: "application/json"}
	switch c.Via {
	case "cdevents":
		name := "service.deployed"
		if c.Kind == ChangeRollback {
			name = "service.rolledback"
		}
		ceType := "dev.cdevents." + name + ".0.2.0"
		d.Path, d.ContentType = "/api/intake/cloudevents", "application/cloudevents+json"
		body = map[string]any{
			"specversion": "1.0", "id": c.ID, "source": "/ci/shop", "type": ceType, "time": c.At.UTC().Format(time.RFC3339),
			"datacontenttype": "application/json",
			"data": map[string]any{
				"context": map[string]any{"version": "0.4.1", "id": c.ID, "source": "/ci/shop", "type": ceType, "timestamp": c.At.UTC().Format(time.RFC3339)},
				"subject": map[string]any{"id": c.Service, "source": "/ci/shop/" + c.Service, "content": map[string]any{
					"environment": map[string]any{"id": Environment},
					"artifactId":  fmt.Sprintf("pkg:oci/%s@%s", c.Service, c.To),
				}},
			},
		}
	case "github":
		id := int64(streamKey(c.ID) >> 12)
		at := c.At.UTC().Format(time.RFC3339)
		d.Path, d.Sign = "/api/intake/github", "github"
		d.Header = map[string]string{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": c.ID}
		body = map[string]any{
			"action": "created",
			"deployment_status": map[string]any{"id": id + 1, "state": "success", "environment": Environment, "created_at": at,
				"description": c.Summary, "creator": map[string]any{"login": c.Actor},
				"log_url": fmt.Sprintf("https://github.com/shop/%s/actions/runs/%d", c.Service, id)},
			"deployment": map[string]any{"id": id, "ref": "v" + c.To, "sha": fmt.Sprintf("%040x", streamKey(c.ID+"sha")),
				"environment": Environment, "created_at": at, "creator": map[string]any{"login": c.Actor}},
			"repository": map[string]any{"name": c.Service, "full_name": "shop/" + c.Service, "html_url": "https://github.com/shop/" + c.Service},
		}
	case "unleash":
		kind := "feature-environment-enabled"
		if c.To == "off" {
			kind = "feature-environment-disabled"
		}
		d.Path = "/api/intake/unleash"
		body = map[string]any{"id": streamKey(c.ID) >> 20, "type": kind, "createdBy": c.Actor, "createdAt": c.At.UTC().Format(time.RFC3339),
			"featureName": c.Flag, "environment": Environment, "project": "default"}
	default:
		d.Path = "/api/intake/changes"
		body = map[string]any{"id": c.ID, "time": c.At.UTC().Format(time.RFC3339), "kind": string(c.Kind), "service": c.Service,
			"environment": Environment, "flag": c.Flag, "from": c.From, "to": c.To, "actor": c.Actor, "summary": c.Summary}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return Delivery{}, fmt.Errorf("encode change %s: %w", c.ID, err)
	}
	d.Body = raw
	return d, nil
}

// RoutineChanges are the ordinary deploys between from and to, outside any scenario: the base
// rate of change a diagnosis has to see past. Each service deploys about every other working
// day, during working hours; everything is a function of the seed. Services in skip do not
// deploy (a scenario's own deploys stay the last ones of their service).
func RoutineChanges(w World, seed uint64, from, to time.Time, skip map[string]bool) []Change {
	z := Noise{Seed: seed}
	var out []Change
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, svc := range w.Services {
			if skip[svc.Name] || svc.Tier == TierExternal || svc.Tier == TierData && svc.Name != "data-api" {
				continue
			}
			n := day.Unix() / 86400
			if z.Uniform("routine/"+svc.Name, n) > 0.45 {
				continue
			}
			at := day.Add(9*time.Hour + time.Duration(z.Uniform("routine/at/"+svc.Name, n)*8*float64(time.Hour))).Truncate(time.Second)
			if at.Before(from) || !at.Before(to) {
				continue
			}
			via := "cdevents"
			if svc.Tier == TierFrontend {
				via = "github"
			}
			v := initialVersion(svc.Name)
			out = append(out, Change{ID: fmt.Sprintf("routine-%s-%d", svc.Name, n), At: at, Kind: ChangeDeploy, Service: svc.Name,
				From: v, To: fmt.Sprintf("%s+%d", v, n%1000), Actor: "ci-bot", Via: via, Summary: "routine release"})
		}
	}
	return out
}
