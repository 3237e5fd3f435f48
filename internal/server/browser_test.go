package server

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/sextant-sre/sextant/internal/auth"
)

// browser starts headless Chromium (Debian's package) for a test. Where it is missing the test is
// skipped, unless SEXTANT_REQUIRE_BROWSER is set (the README's test command sets it after
// installing Chromium), so a missing browser cannot pass silently there.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("SEXTANT_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is required (SEXTANT_REQUIRE_BROWSER is set) but not on PATH")
		}
		t.Skip("chromium not installed (apt-get install chromium); make test installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-sandbox", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// The page's console errors and uncaught exceptions go to the test log.
	err = chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
			t.Logf("page exception: %s %s (line %d)", d.Text, desc, d.LineNumber)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				for _, a := range ev.Args {
					t.Logf("console %s: %s %s", ev.Type, a.Value, a.Description)
				}
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page where SEXTANT_SCREENSHOT_DIR says, for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("SEXTANT_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// steps runs actions one by one, naming the one that fails.
func steps(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	for i, a := range actions {
		if err := chromedp.Do(ctx, a); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return nil
}

// TestBrowserDeclareThenSeeLiveUpdates drives the real UI in headless Chromium: log in through
// the URL a demo prints, declare an incident with the form, then append a hypothesis through the
// API and watch it appear in the open room, in the timeline and the state card, without a reload.
func TestBrowserDeclareThenSeeLiveUpdates(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	base := e.http.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	err := steps(t, ctx,
		chromedp.Navigate(base+"/login#token="+url.QueryEscape(e.tokens[auth.Responder])),
		chromedp.WaitVisible(css("nav.navigator")),
		chromedp.Click(css("#declare-link")),
		chromedp.WaitVisible(css("#declare-form")),
		chromedp.SendKeys(css(`#declare-form input[name="title"]`), "Search returns 503 in EU"),
		chromedp.SetValue(css(`#declare-form select[name="severity"]`), "SEV2"),
		chromedp.Click(css(`#declare-form button`)),
		chromedp.WaitVisible(css("#composer")),
		chromedp.WaitVisible(css(`#timeline li[data-type="incident.declared"]`)),
	)
	if err != nil {
		screenshot(t, ctx, "declare-failed")
		t.Fatalf("declare through the UI: %v", err)
	}
	if err := steps(t, ctx, chromedp.WaitVisible(css(`#sources li.ok`))); err != nil {
		t.Fatalf("the embedded source's health is not shown: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	if i := strings.IndexByte(id, '?'); i >= 0 {
		id = id[:i]
	}
	var list listResponse
	e.do("GET", "/api/incidents", auth.Viewer, nil, &list)
	if len(list.Incidents) != 1 || list.Incidents[0].ID != id || list.Incidents[0].Title != "Search returns 503 in EU" {
		t.Fatalf("the UI's declaration is not in the store: %+v (room %s)", list.Incidents, id)
	}

	// Mark the page, so a reload (which would clear the mark) cannot pass for a live update.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.__noReload = true")); err != nil {
		t.Fatal(err)
	}
	code, raw := e.do("POST", "/api/incidents/"+id+"/events", auth.Responder,
		map[string]any{"type": "hypothesis.proposed", "payload": map[string]any{"text": "the new EU search index is still warming up"}}, nil)
	if code != 201 {
		t.Fatalf("append hypothesis: %d %s", code, raw)
	}
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(css(`#timeline li[data-type="hypothesis.proposed"]`)),
		chromedp.WaitVisible(css(`#state-card ul.hypotheses li`)),
	)
	if err != nil {
		t.Fatalf("the hypothesis did not appear live: %v", err)
	}
	cardText, err := chromedp.Run(ctx, chromedp.Text(css("#state-card ul.hypotheses")))
	if err != nil || !strings.Contains(cardText, "the new EU search index is still warming up") {
		t.Fatalf("state card hypotheses: %q %v", cardText, err)
	}
	if kept, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.__noReload === true")); err != nil || !kept {
		t.Fatalf("the page reloaded (%v)", err)
	}

	// The composer appends an observation; the card shows it with its freshness.
	err = chromedp.Do(ctx,
		chromedp.Click(css(`#composer button[data-kind="observation"]`)),
		chromedp.SendKeys(css(`#composer input[name="text"]`), "EU search 503 rate at 14%"),
		chromedp.SendKeys(css(`#composer input[name="stale_after"]`), "15m"),
		chromedp.Click(css(`#composer button.primary`)),
		chromedp.WaitVisible(css(`#state-card ul.observations li.fresh`)),
	)
	if err != nil {
		t.Fatalf("observation through the composer: %v", err)
	}

	// Selecting a timeline entry puts it in the URL; back restores the previous view.
	err = chromedp.Do(ctx,
		chromedp.Click(css(`#timeline li[data-type="hypothesis.proposed"]`)),
		chromedp.WaitVisible(css(`#timeline li.selected`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "sel=") {
		t.Fatalf("selection is not in the URL: %s", loc)
	}
	screenshot(t, ctx, "room")
	if err := chromedp.Do(ctx, chromedp.NavigateBack(), chromedp.WaitNotPresent(css(`#timeline li.selected`))); err != nil {
		t.Fatalf("back did not restore the view: %v", err)
	}
	if loc, _ = chromedp.Run(ctx, chromedp.Location()); strings.Contains(loc, "sel=") {
		t.Fatalf("after back the URL still selects: %s", loc)
	}

	// Someone who last saw seq 1 and comes back gets "since you last looked".
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`localStorage.setItem("sextant.seen.`+id+`", "1") || true`)); err != nil {
		t.Fatal(err)
	}
	err = steps(t, ctx,
		chromedp.Navigate(base+"/incidents/"+id),
		chromedp.WaitVisible(css("#catchup")),
	)
	if err != nil {
		t.Fatalf("catch-up panel: %v", err)
	}
	catchup, _ := chromedp.Run(ctx, chromedp.Text(css("#catchup")))
	for _, want := range []string{"2 new events", "Hypotheses", "Observations", "EU search 503 rate at 14%"} {
		if !strings.Contains(catchup, want) {
			t.Errorf("catch-up lacks %q: %q", want, catchup)
		}
	}
	screenshot(t, ctx, "catchup")
	if err := steps(t, ctx, chromedp.Click(css("#catchup button")), chromedp.WaitNotPresent(css("#catchup"))); err != nil {
		t.Fatalf("mark as read: %v", err)
	}

	// A finding appears live in the card's findings, with its undoing action and its evidence's
	// query.
	code, raw = e.do("POST", "/api/incidents/"+id+"/events", auth.Responder, map[string]any{"type": "finding.posted", "payload": map[string]any{
		"kind": "change", "key": "change:deploy-search-2.4", "title": "Candidate cause: deploy of search 2.4, 6 min before the onset",
		"score": 1.2, "confidence": 0.7, "action": "roll search back to 2.3",
		"evidence":   []map[string]any{{"kind": "series", "summary": "search's CPU moved 14 spreads", "query": `sum(rate(process_cpu_seconds_total{job="search"}[5m]))`}},
		"refutation": "rolling back leaves the errors as they were"}}, nil)
	if code != 201 {
		t.Fatalf("append finding: %d %s", code, raw)
	}
	if err := steps(t, ctx, chromedp.WaitVisible(css(`#state-card ul.findings li.finding-change`))); err != nil {
		t.Fatalf("the finding did not appear: %v", err)
	}
	findings, _ := chromedp.Run(ctx, chromedp.TextContent(css("#state-card ul.findings")))
	for _, want := range []string{"Candidate cause: deploy of search 2.4", "roll search back to 2.3", `process_cpu_seconds_total{job="search"}`} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack %q: %q", want, findings)
		}
	}
	screenshot(t, ctx, "findings")
}
