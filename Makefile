# Sextant's developer commands. `make test` is the one command that runs every test on a fresh
# Debian machine with Go: it installs what the tests need (Chromium for the browser test) first.

GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo build test test-deps lint bench fuzz

demo:
	$(GO) run ./cmd/sextant demo

build:
	$(GO) build -o bin/sextant ./cmd/sextant

test: test-deps lint
	SEXTANT_REQUIRE_BROWSER=1 SEXTANT_REQUIRE_SERVICES=1 $(GO) test -race -count=1 ./...
	# The diagnosis's scenario regression, skipped under the race detector (too slow there).
	$(GO) test -count=1 -run TestScenarios ./internal/evaluation

# Debian packages the tests drive for real (binary → package).
TEST_PACKAGES := chromium:chromium prometheus:prometheus victoria-metrics:victoria-metrics prometheus-alertmanager:prometheus-alertmanager

test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do command -v $${p%%:*} >/dev/null 2>&1 || missing="$$missing $${p##*:}"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; fi

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Benchmarks recorded in docs/benchmarks.md.
bench:
	$(GO) test ./internal/store -run XXX -bench AppendConcurrent -benchtime 40000x
	$(GO) test ./internal/incident -run XXX -bench Project10k
	$(GO) test ./internal/server -run XXX -bench 'SSEFanout|StateOverAPI10k' -benchtime 50x
	$(GO) test ./internal/intake -run XXX -bench RemoteWriteIntake -benchtime 2000x
	$(GO) test ./internal/intake -run XXX -bench OTLPMetricsIntake -benchtime 2000x
	$(GO) test ./internal/telemetry -run XXX -bench 'QueryRange10kSeries6h|Samples10kSeries6h' -benchtime 5x
	$(GO) test ./internal/logstore -run XXX -bench Append -benchtime 1000000x
	$(GO) test ./internal/logstore -run XXX -bench Select10M -benchtime 20x
	$(GO) test ./internal/playback -run XXX -bench Backfill7d -benchtime 1x
	$(GO) test ./internal/playback -run XXX -bench Live -benchtime 400x
	$(GO) test ./internal/evaluation -run XXX -bench ParseLoghubRaw -benchtime 40x
	$(GO) test ./internal/evaluation -run XXX -bench DetectorNAB -benchtime 3x
	$(GO) test ./internal/analyzer -run XXX -bench Analysis10kSeries6h -benchtime 5x

# A short run of every fuzz target (the seed corpora also run in `make test`).
fuzz:
	$(GO) test ./internal/incident -run XXX -fuzz FuzzDecodeDraft -fuzztime 60s
	$(GO) test ./internal/server -run XXX -fuzz FuzzAPIJSONInput -fuzztime 60s
	$(GO) test ./internal/promapi -run XXX -fuzz FuzzParams -fuzztime 60s
	$(GO) test ./internal/alerts -run XXX -fuzz FuzzDecode -fuzztime 60s
	$(GO) test ./internal/changes -run XXX -fuzz FuzzDecoders -fuzztime 60s
	$(GO) test ./internal/logstore -run XXX -fuzz FuzzChunkIndex -fuzztime 60s
	for f in FuzzRemoteWrite 'FuzzOTLPMetrics$$' FuzzOTLPLogs FuzzOTLPTraces; do $(GO) test ./internal/intake -run XXX -fuzz "$$f" -fuzztime 60s || exit 1; done
	$(GO) test ./internal/logparse -run XXX -fuzz FuzzParser -fuzztime 60s
	$(GO) test ./internal/anomaly -run XXX -fuzz FuzzDetector -fuzztime 60s
	for f in FuzzParseNABFile FuzzParseLoghubTruth FuzzParseRSLabels FuzzParseMetricsCSV FuzzParsePetshopMetrics FuzzParsePetshopGraph; do $(GO) test ./internal/evaluation -run XXX -fuzz "$$f" -fuzztime 60s || exit 1; done
	for f in FuzzParseManifest FuzzShiftTimes; do $(GO) test ./internal/playback -run XXX -fuzz "$$f" -fuzztime 60s || exit 1; done
