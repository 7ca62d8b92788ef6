# dvresponse: build, run, lint and test. `make` alone lists the targets.
#
# PostgreSQL comes from .ci/postgres.sh: $DATABASE_URL if set, else the server
# on 127.0.0.1:5432, else a private cluster in .pgdata/ on 127.0.0.1:55432.

# bash with -e and pipefail, so a failing step fails its recipe.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Go 1.26.11, the newest 1.26 patch release: 1.26.8 (the machines' Go) has
# known vulnerabilities in net/http, crypto/tls, crypto/x509 and net/textproto,
# fixed in 1.26.9 and 1.26.10. The go command fetches this toolchain through
# the module proxy (once, into the module cache). Set here because these
# machines' Go installation sets GOTOOLCHAIN=local, which ignores go.mod's
# toolchain line. Keep in step with go.mod, .ci/run and the Dockerfile;
# `make GOTOOLCHAIN=local ...` uses the installed Go instead.
export GOTOOLCHAIN := go1.26.11

GO    ?= go
GOFMT ?= $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) env GOROOT)/bin/gofmt
BIN    = bin/dvresponse
# Run through bash so a lost executable bit does not matter.
PG     = bash .ci/postgres.sh
PG_DB ?= dvresponse

# govulncheck, installed into bin/ through the Go module proxy when missing.
GOVULNCHECK_VERSION ?= v1.9.0
# The Go vulnerability database govulncheck reads. These machines reach only
# the module proxy, not vuln.go.dev, so by default .ci/vulndb.sh builds a local
# copy from the golang.org/x/vulndb module (cached per version in
# ~/.cache/dvresponse/vulndb). Set GOVULNDB to use another: a mirror
# (https://...) or a local copy (file:///...). A copy placed beside the
# checkout (../shared/vulndb, in the vuln.go.dev file layout) is used when
# present.
# When no database can be had, the check is skipped with a loud warning; in CI
# (CI=true) or with GOVULNCHECK_REQUIRED set, that fails the lint instead.
GOVULNDB ?= $(if $(wildcard ../shared/vulndb/index/modules.json*),file://$(abspath ../shared/vulndb))

# When this make started, for the elapsed time printed by `test`.
START_TIME := $(shell date +%s)

# Every tracked or untracked, non-ignored .go file (falls back to find outside git).
list_go_files = { git ls-files -co --exclude-standard -- '*.go' 2>/dev/null || \
	find . \( -path ./.git -o -path ./.pgdata -o -path ./bin \) -prune -o -name '*.go' -print | sed 's|^\./||'; } | \
	{ grep -vE '^(\.pgdata|bin)/' || true; } | \
	while read -r f; do if [ -f "$$f" ]; then echo "$$f"; fi; done

# Checksums of all generated templ files, ignored or not, to see whether `templ generate` changed any.
templ_sums = find . \( -path ./.git -o -path ./.pgdata -o -path ./bin \) -prune -o -name '*_templ.go' -print | \
	LC_ALL=C sort | xargs -r sha256sum

.PHONY: help build generate run lint test faulttest bench pg-url pg-stop clean clean-pg

help: ## list the targets
	@echo "usage: make TARGET"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build bin/dvresponse
	$(GO) build -o $(BIN) ./cmd/dvresponse

generate: ## regenerate *_templ.go from the .templ files
	$(GO) tool templ generate

run: build ## find/start PostgreSQL, migrate, seed demo data, serve on $ADDR (default :8080)
	@DATABASE_URL=$$($(PG) url dvresponse); export DATABASE_URL; \
	$(BIN) migrate up; \
	$(BIN) seed --demo; \
	exec $(BIN) serve --addr "$${ADDR:-:8080}"

# docker-compose.yml takes its passwords and keys from an .env the operator
# writes, with no defaults; the compose check reads .env.example's
# placeholders instead.
lint: ## gofmt, go vet, templ freshness, docker-compose.yml check (with .env.example), govulncheck
	@echo "==> gofmt"
	@files=$$($(list_go_files)); \
	if [ -n "$$files" ]; then \
		bad=$$($(GOFMT) -l $$files); \
		if [ -n "$$bad" ]; then \
			echo "lint: gofmt would reformat these files (run: gofmt -w FILE):"; echo "$$bad"; exit 1; \
		fi; \
	fi
	@echo "==> go vet ($$($(GO) version))"
	@$(GO) vet ./...
	@echo "==> templ generate (are the committed *_templ.go files fresh?)"
	@before=$$($(templ_sums)); \
	$(GO) tool templ generate; \
	after=$$($(templ_sums)); \
	if [ "$$before" != "$$after" ]; then \
		echo "lint: generated templ code was stale or missing: 'go tool templ generate' changed:"; \
		git status --porcelain -- '*_templ.go' 2>/dev/null || true; \
		echo "lint: run 'make generate' and commit the *_templ.go files"; \
		exit 1; \
	fi
	@if command -v docker-compose >/dev/null 2>&1; then \
		echo "==> docker-compose config"; docker-compose --env-file .env.example -f docker-compose.yml config -q; \
	elif docker compose version >/dev/null 2>&1; then \
		echo "==> docker compose config"; docker compose --env-file .env.example -f docker-compose.yml config -q; \
	else \
		echo "lint: skipping compose check: docker-compose not installed"; \
	fi
	@echo "==> govulncheck"
	@if [ ! -x bin/govulncheck ]; then \
		echo "installing govulncheck $(GOVULNCHECK_VERSION) into bin/"; \
		GOBIN="$$(pwd)/bin" $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION); \
	fi
	@db='$(GOVULNDB)'; \
	if [ -z "$$db" ]; then \
		if dir=$$(GO='$(GO)' bash .ci/vulndb.sh); then \
			db="file://$$dir"; \
		elif [ -n "$${GOVULNCHECK_REQUIRED:-}" ] || { [ -n "$${CI:-}" ] && [ "$${CI}" != false ]; }; then \
			echo "lint: govulncheck: no vulnerability database could be built (see above); failing because CI or GOVULNCHECK_REQUIRED is set"; \
			exit 1; \
		else \
			echo "lint: WARNING: ****************************************************************"; \
			echo "lint: WARNING: govulncheck SKIPPED: no vulnerability database could be built (see above)."; \
			echo "lint: WARNING: set GOVULNDB to a reachable mirror or a file:// copy."; \
			echo "lint: WARNING: ****************************************************************"; \
			exit 0; \
		fi; \
	fi; \
	echo "govulncheck $(GOVULNCHECK_VERSION), $$($(GO) env GOVERSION), database $$db"; \
	out=$$(mktemp); rc=0; \
	bin/govulncheck -db "$$db" ./... >"$$out" 2>&1 || rc=$$?; \
	if [ $$rc -eq 0 ]; then \
		grep -E '^(No vulnerabilities found|Your code is affected)' "$$out" || true; \
	elif [ $$rc -eq 3 ]; then \
		cat "$$out"; rm -f "$$out"; \
		echo "lint: govulncheck: our code calls a vulnerable function: upgrade the module named above (go get MODULE@FIXED_VERSION && go mod tidy), or the Go toolchain (GOTOOLCHAIN in the Makefile) for the standard library"; \
		exit 1; \
	elif grep -q 'fetching vulnerabilities' "$$out" && [ -z "$${GOVULNCHECK_REQUIRED:-}" ]; then \
		cat "$$out"; \
		echo "lint: WARNING: govulncheck SKIPPED: the vulnerability database $$db cannot be reached; set GOVULNDB to a reachable mirror or a file:// copy"; \
	else \
		cat "$$out"; rm -f "$$out"; echo "lint: govulncheck failed (exit $$rc)"; exit 1; \
	fi; \
	rm -f "$$out"

# The fault tests (internal/faulttest: PostgreSQL killed under 50 clients, a
# failover of a Patroni/etcd cluster under 50 clients, a full pool, backup and
# restore) run verbosely after the others, so that CI's log shows their
# counts. They run in parallel, the longest (the outage and replica tests)
# 2.5 min each and the package 4.6 min when eight builds share these two
# cores (the failover test: 1.5 min), hence the 6-minute limit. All six at
# once (-parallel 6; go test's default is GOMAXPROCS, two here, which ran
# them two by two): they mostly wait on their clusters. Their test binary
# run alone on this machine shared with other sessions (load about 10):
# 102 s wall / 35 s CPU two by two with production-cost password hashes,
# 119 s / 28 s two by two with cheap ones, 56 s / 26 s all at once.
FAULTTEST = $(GO) test -race -count=1 -parallel 6 -timeout 6m -v ./internal/faulttest/

# Three test binaries at once on two cores: the packages that take longest
# (e2e, postgres, server, seed) wait much of the time on Chromium and
# PostgreSQL, which run in processes of their own. With -p 3 `make test`
# took 477 s on this 2-core machine (go test 415 s), all green, and later
# 592 s in CI. Since then (internal/pgtest) a passing test's database is
# dropped in batches rather than as each test ends (every DROP DATABASE is
# a checkpoint PostgreSQL 15 waits for), the browser tests clone one
# database holding the demo data instead of loading it per test, and test
# binaries hash passwords at argon2id's least cost. Each package's test
# binary run alone (`go test -race -c`, then the binary with -test.v), on
# this machine shared with five other sessions (load 7 to 28), before and
# after: internal/postgres 770 s wall / 80 s CPU -> 452 s / 60 s;
# internal/e2e 414 s / 87 s -> 211 s / 63 s; internal/server
# 417 s / 102 s -> 154 s / 46 s (CPU: the test binary and its Chromiums,
# not PostgreSQL's). One whole `make test` on this busy machine (load about
# 13 from other sessions) then took: go test 574 s (postgres 409 s, e2e
# 322 s, server 165 s, seed 151 s), fault tests 50 s, lint and all 639 s.
# On a fresh clone with the machine otherwise idle (`CI=true bash .ci/run`,
# 7 December 2026, main at c60ad71): go test 304 s (e2e 267 s, postgres
# 188 s), fault tests 25 s, lint and all 344 s.
TEST_PARALLEL ?= 3

test: lint ## lint, then every test with -race against PostgreSQL, the fault tests last
	@DATABASE_URL=$$($(PG) url dvresponse_test); export DATABASE_URL; \
	t0=$$(date +%s); rc=0; rm -f internal/e2e/testdata/screenshots/page-sizes.txt; \
	$(GO) test -race -count=1 -p $(TEST_PARALLEL) -timeout 9m $$($(GO) list ./... | grep -v '/internal/faulttest$$') || rc=$$?; \
	t1=$$(date +%s); \
	if [ -f internal/e2e/testdata/screenshots/page-sizes.txt ]; then echo "==> browser journeys (internal/e2e TestJourneys; screenshots in internal/e2e/testdata/screenshots/)"; cat internal/e2e/testdata/screenshots/page-sizes.txt; echo; fi; \
	echo "==> fault tests: PostgreSQL killed under load, failover, full pool, backup and restore"; \
	$(FAULTTEST) || rc=$$?; \
	t2=$$(date +%s); \
	echo "make test: go test took $$((t1 - t0))s, fault tests $$((t2 - t1))s, lint+test $$((t2 - $(START_TIME)))s (exit $$rc)"; \
	exit $$rc

faulttest: ## only the fault tests: kill PostgreSQL, fail over a Patroni cluster, full pool, backup/restore (prints counts)
	@DATABASE_URL=$$($(PG) url dvresponse_test); export DATABASE_URL; \
	$(FAULTTEST)

# The report benchmark seeds 1 M and 10 M incidents into their own databases
# on the server .ci/postgres.sh finds without $DATABASE_URL (which names one
# database) the first time and reuses them: 7 and 40 minutes on 7 December
# 2026, this 2-core machine shared with five other sessions (14 minutes for
# 10 M on a quieter day; 17 minutes for 10 M later that day). Every run then
# times recomputing the history keys of every incident three times, with no
# key changing and with every key changing twice (each 11-19 s at 1 M and
# 1.3-4 minutes at 10 M on 7 December, load average 4-10), and the history
# lookups. The engine benchmark (TestBenchEngine) then measures issue 15's
# matrix through HTTP with the facts store loaded: 96 cells per scale, 20
# requests each (DVR_BENCH_ENGINE_RUNS) after 2 warm-ups; a cell whose
# warm-up takes over 5 s (DVR_BENCH_ENGINE_SLOW) keeps the warm-ups only, so
# a slow path cannot hold the run for hours; then the dashboard's
# repeat-rate section over the same ranges (victims linked first).
# DVR_BENCH_ENGINE_SCALES=1M measures one scale; DVR_BENCH_ENGINE_ONLY=repeats
# the repeat-rate cells alone. The seed gives no incident a unit: the first run gives
# every tenth incident one (incident_units empty only), and says so.
bench: ## intake vs pgbench (change log on/off), board fan-out, 100k-row import, history and repeat figures, the report engine's matrix over HTTP at 1M/10M incidents vs percentile_cont, its scan cold and warm (prints figures)
	@DATABASE_URL=$$($(PG) url dvresponse_bench); export DATABASE_URL; \
	DVR_BENCH=1 $(GO) test -run '^TestBench(Import)?$$' -count=1 -timeout 10m -v ./internal/bench/
	@DVR_BENCH_SCALE_URL_1M=$$(env -u DATABASE_URL $(PG) url dvresponse_bench_scale_1m); export DVR_BENCH_SCALE_URL_1M; \
	DVR_BENCH_SCALE_URL=$$(env -u DATABASE_URL $(PG) url dvresponse_bench_scale); export DVR_BENCH_SCALE_URL; \
	DATABASE_URL=$$($(PG) url dvresponse_bench); export DATABASE_URL; \
	DVR_BENCH_REPORT=1 $(GO) test -run '^TestBenchReport$$' -count=1 -timeout 90m -v ./internal/bench/
	@DVR_BENCH_SCALE_URL_1M=$$(env -u DATABASE_URL $(PG) url dvresponse_bench_scale_1m); export DVR_BENCH_SCALE_URL_1M; \
	DVR_BENCH_SCALE_URL=$$(env -u DATABASE_URL $(PG) url dvresponse_bench_scale); export DVR_BENCH_SCALE_URL; \
	DVR_BENCH_ENGINE=1 $(GO) test -run '^TestBenchEngine$$' -count=1 -timeout 120m -v ./internal/bench/
	@DVR_BENCH_SCALE_URL_1M=$$(env -u DATABASE_URL $(PG) url dvresponse_bench_scale_1m); export DVR_BENCH_SCALE_URL_1M; \
	DVR_BENCH_SCALE_URL=$$(env -u DATABASE_URL $(PG) url dvresponse_bench_scale); export DVR_BENCH_SCALE_URL; \
	DVR_BENCH_FOLLOW=1 $(GO) test -run '^TestBenchFollowThrough$$' -count=1 -timeout 60m -v ./internal/bench/
	$(GO) test -run '^$$' -bench '^BenchmarkBreakdownsYear$$' -benchtime 10x -count=1 ./internal/facts/

pg-url: ## print a superuser URL for database $PG_DB (default dvresponse), starting PostgreSQL if needed
	@$(PG) url $(PG_DB)

pg-stop: ## stop the private PostgreSQL cluster (if .ci/postgres.sh started one)
	@$(PG) stop

clean: ## remove bin/
	rm -rf bin

clean-pg: ## stop the private PostgreSQL cluster and delete its data (.pgdata/)
	@$(PG) destroy
