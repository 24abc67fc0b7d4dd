# actorweave — build, test dependencies, tests and benchmarks.
# `make test` is the whole suite (CI runs exactly it through .ci/run).

GO        ?= go
GOTESTFLAGS ?= -race -count=1 -timeout 80m

.PHONY: cluster-kill-explicit cluster-partition cluster-partition-restart-long all build node deps test test-go vet fmt-check killtest-long killtest-node-long killtest-flush-long fuzz adversarial-long bench bench-eval clean

all: build

build:
	$(GO) build -o actorweave ./cmd/actorweave

## node: build and start a single node on the embedded default (Pebble in ./actorweave-data).
node: build
	./actorweave node

## deps: everything the tests need that is not a Go module (npm packages, Debian packages, test modules).
deps:
	./scripts/deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-go:
	$(GO) test $(GOTESTFLAGS) ./...

## test: the whole suite, from a fresh clone.
test: deps fmt-check vet test-go

## cluster-kill-explicit: the kill -9 cluster test with views switched by the test at the kill, 5 runs
## (CI runs it once; it found the epoch-0 race of new processes that the epoch floor fixed).
cluster-kill-explicit:
	$(GO) test -race -count=5 -timeout 60m -run 'TestClusterKill9/explicit' -v ./node/

## cluster-partition: the network-namespace partition test (root; part of `make test` too), 3 runs.
cluster-partition:
	$(GO) test -race -count=3 -timeout 60m -run 'TestClusterPartition' -v ./node/

## cluster-partition-restart-long: a member killed -9 and restarted inside a network partition,
## under load, 20 rounds with random timings (root; one round runs in `make test`).
cluster-partition-restart-long:
	AW_PARTITION_RESTART_ROUNDS=20 $(GO) test -race -count=1 -timeout 120m -run 'TestClusterPartitionRestart' -v ./node/

## killtest-long: the kill -9 durability test, 200 rounds.
killtest-long:
	AW_KILL_ROUNDS=200 $(GO) test -count=1 -timeout 120m -run TestKill9 -v ./persistence/...

## killtest-node-long: the kill -9 test of a loaded node, 50 rounds.
killtest-node-long:
	AW_NODE_KILL_ROUNDS=50 $(GO) test -count=1 -timeout 120m -run TestKill9Node -v ./node/

## killtest-flush-long: the kill -9 test of the Arweave flush (arlocal), 20 rounds.
killtest-flush-long:
	AW_FLUSH_KILL_ROUNDS=20 $(GO) test -count=1 -timeout 60m -run TestKill9Flush -v ./node/

## fuzz: run every fuzz target of the repository (each func Fuzz* of a _test.go), one after the
## other, each for FUZZTIME (default 60s) (scripts/fuzz.sh). A crash is saved under the package's
## testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./scripts/fuzz.sh

## adversarial-long: the hostile-client tests (`make test` runs them once) ADVERSARIAL_ROUNDS times
## (default 10), then every fuzz target for ADVERSARIAL_FUZZTIME (default 10m). The probe with its
## before/after figures is `actorweave bench hostile` (bench/README.md).
ADVERSARIAL_ROUNDS ?= 10
ADVERSARIAL_FUZZTIME ?= 10m
ADVERSARIAL_TESTS = TestDryRunsDoNotDelayMessages|TestCloseWithEvaluationsQueued|TestMonitorReplayRefused|TestSlowBodyCutOff|TestResultSizeLimit|TestGraphQLBudget|TestClusterStatusAnonymous|TestBodyDeadlineEndsWithTheBody|TestPerProcessCap|TestFullQueueRefusesAtOnce|TestGoneCallerDropped|TestDeadlineAndClose|TestEngineCloseDuringEval|TestHostileModules|TestAssignedMessageKeepsTarget|FuzzHTTPRequest|FuzzGraphQL
adversarial-long:
	$(GO) test -race -count=$(ADVERSARIAL_ROUNDS) -timeout 120m -run '^($(ADVERSARIAL_TESTS))$$' ./node/ ./api/ ./dryrun/ ./runtime/ ./compute/
	$(MAKE) fuzz FUZZTIME=$(ADVERSARIAL_FUZZTIME)

bench: build
	./actorweave bench

## bench-eval: actorweave eval vs @permaweb/ao-loader (default, UNSAFE_MEMORY), 2,000 Eval messages, same run.
bench-eval: deps
	./scripts/bench-eval.sh 2000 3

clean:
	rm -rf actorweave .cache testdata/build

## proto: regenerate the cluster's wire forms (needs protoc, apt protobuf-compiler, and
## `go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12`); the output is committed.
.PHONY: proto
proto:
	protoc --go_out=. --go_opt=module=github.com/actorweave/actorweave cluster/clusterpb/cluster.proto
