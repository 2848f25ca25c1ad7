# Build, test and run the edge chat. `make dev` runs it locally, `make test` tests
# everything; both set up what a fresh Debian machine lacks. See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := build

# Node 22 comes from the npm dev dependency `node@22` (wrangler 4 needs Node >= 22);
# node_modules/.bin first on PATH makes every tool below use it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# Offline: no calls to Cloudflare, no telemetry, no prompts.
export CLOUDFLARE_CF_FETCH_ENABLED := false
export WRANGLER_SEND_METRICS := false
export WRANGLER_LOG_PATH := $(CURDIR)/build/wrangler-logs

BUILD    := build
DEPS     := $(BUILD)/deps
JOBS     := $(shell nproc)
DEV_PORT ?= 8787

CORE_SRC := $(wildcard wasm/api*.c) wasm/account.c wasm/audit.c wasm/auth.c wasm/budget.c wasm/buf.c wasm/chat_alloc.c wasm/chat_error.c wasm/effects.c \
            wasm/attachment.c wasm/json_in.c wasm/json_out.c wasm/liveness.c wasm/message.c wasm/query.c \
            wasm/moderation.c wasm/pwhash.c wasm/ratelimit.c wasm/search.c wasm/social.c wasm/throttle.c wasm/utf8.c \
            $(wildcard wasm/room*.c)
CORE_HDR := $(wildcard wasm/*.h)
CJSON    := $(DEPS)/cjson
# cJSON.c as built: the fetched file with wasm/deps/cjson-print-integers.patch
CJSON_C  := $(BUILD)/cjson/cJSON.c
SODIUM   := $(DEPS)/libsodium
SODIUM_SRC := $(SODIUM)/src/libsodium
# libsodium's argon2 (wasm/pwhash.c uses its internals), and the patch that lets
# it fill one slice at a time: applied to a copy of argon2-core.c in both builds
ARGON2_SRC := $(SODIUM_SRC)/crypto_pwhash/argon2
SLICE_PATCH := wasm/deps/libsodium-argon2-slice.patch
# utf8proc: Unicode normalisation (NFKC of passwords, wasm/auth.h). One C file and
# its tables, compiled into the core as cJSON is; UTF8PROC_STATIC: no DLL exports.
UTF8PROC := $(DEPS)/utf8proc
UTF8PROC_FLAGS := -DUTF8PROC_STATIC
# cJSON's recursion depth (default 1000) is capped so deep input cannot exhaust the
# Wasm stack: no message of ours nests deeper than a few levels.
CJSON_FLAGS := -DCJSON_NESTING_LIMIT=64
SODIUM_FLAGS := -DNDEBUG -DCONFIGURED=1 -DNATIVE_LITTLE_ENDIAN=1 -DHAVE_INLINE_ASM=0 \
  -I$(CURDIR)/$(SODIUM_SRC)/include/sodium -I$(CURDIR)/$(SODIUM_SRC)/include
INCLUDES := -Iwasm -I$(CJSON) -I$(SODIUM_SRC)/include -I$(ARGON2_SRC) -I$(UTF8PROC)

WASM     := $(BUILD)/chat.wasm
GEN_TS   := worker/generated/core.ts

.PHONY: admin bench bench-abuse bench-resume bench-search bots callgrind test-load build deps emscripten cmocka chromium valgrind node test test-c test-worker test-e2e \
        test-browser dev migrate-local dry-run clean

build: node $(WASM) $(GEN_TS)

# ---- tools a fresh machine may lack -------------------------------------------
# Debian packages: installed with apt-get when running as root, otherwise a one-line
# instruction. $(call apt,<command or file that proves it is there>,<package>)
apt = @{ command -v $(1) >/dev/null || [ -e $(1) ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2); \
	  else echo "$(2) is missing: run 'sudo apt-get install -y $(2)' and try again" >&2; exit 1; fi; }

emscripten:
	$(call apt,emcc,emscripten)
cmocka:
	$(call apt,/usr/include/cmocka.h,libcmocka-dev)
# The browser of the browser tests: Debian's Chromium, driven by playwright-core
# (which never downloads a browser of its own).
chromium:
	$(call apt,/usr/bin/chromium,chromium)
valgrind:
	$(call apt,valgrind,valgrind)
# The bench's second reference (tests/load/reference-socketio/: socket.io with its
# Redis adapter) runs on Debian's redis-server, which the bench starts and stops.
.PHONY: redis
redis:
	$(call apt,redis-server,redis-server)

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# ---- third-party C, fetched pinned (wasm/deps/fetch.sh) ---------------------
deps: $(CJSON)/.fetched $(SODIUM)/.fetched $(UTF8PROC)/.fetched
$(CJSON)/.fetched:
	wasm/deps/fetch.sh cjson $(CJSON)
$(CJSON_C): $(CJSON)/.fetched wasm/deps/cjson-print-integers.patch
	mkdir -p $(dir $@)
	patch -s -o $@ $(CJSON)/cJSON.c < wasm/deps/cjson-print-integers.patch
$(UTF8PROC)/.fetched:
	wasm/deps/fetch.sh utf8proc $(UTF8PROC)
$(SODIUM)/.fetched:
	wasm/deps/fetch.sh libsodium $(SODIUM)
	sed -e 's/@VERSION@/1.0.18/' -e 's/@SODIUM_LIBRARY_VERSION_MAJOR@/10/' \
	    -e 's/@SODIUM_LIBRARY_VERSION_MINOR@/3/' -e 's/@SODIUM_LIBRARY_MINIMAL_DEF@//' \
	    $(SODIUM_SRC)/include/sodium/version.h.in > $(SODIUM_SRC)/include/sodium/version.h

# libsodium, every source file (the linkers drop what is unused). For Wasm,
# randombytes.c is compiled without __EMSCRIPTEN__ and without a default
# implementation: wasm/wasm_exports.c installs one backed by the host's
# crypto.getRandomValues: libsodium 1.0.18 under emscripten would ask JS glue for
# every random byte, and a standalone module has none (every byte would be 0).
# argon2id (every signup and login) is built for WebAssembly SIMD (issue 21): the
# argon2 files with -msimd128 and HAVE_EMMINTRIN_H/HAVE_TMMINTRIN_H, so that
# libsodium's own SSSE3 variant (argon2-fill-block-ssse3.c) is compiled, its SSE2
# and SSSE3 intrinsics translated by emscripten into 128-bit Wasm SIMD; and
# sodium/runtime.c, which finds CPU features with cpuid (there is none in Wasm),
# from a copy patched by wasm/deps/libsodium-wasm-simd.patch to report SSSE3, so
# that sodium_init() picks that variant. The same hashes: tests/golden/core.json
# verifies hashes made by the portable and SIMD builds in both. Workers run Wasm
# SIMD ("SIMD is supported on Workers",
# https://developers.cloudflare.com/workers/runtime-apis/webassembly/).
SODIUM_WASM_SIMD := -msimd128 -mssse3 -DHAVE_EMMINTRIN_H -DHAVE_TMMINTRIN_H
$(BUILD)/wasm/libsodium.a: $(SODIUM)/.fetched wasm/deps/libsodium-wasm-simd.patch $(SLICE_PATCH) | emscripten
	@rm -rf $(BUILD)/wasm/sodium && mkdir -p $(BUILD)/wasm/sodium
	patch -s -o $(BUILD)/wasm/sodium/runtime.c $(SODIUM_SRC)/sodium/runtime.c < wasm/deps/libsodium-wasm-simd.patch
	patch -s -o $(BUILD)/wasm/sodium/argon2-core.c $(ARGON2_SRC)/argon2-core.c < $(SLICE_PATCH)
	cd $(SODIUM_SRC) && find crypto_* randombytes sodium -name '*.c' | sort | xargs -P$(JOBS) -I{} sh -c \
	  'src={}; o=$(CURDIR)/$(BUILD)/wasm/sodium/$$(echo {} | tr / _ ).o; \
	   extra=""; case {} in randombytes/randombytes.c) extra="-U__EMSCRIPTEN__ -DRANDOMBYTES_CUSTOM_IMPLEMENTATION -DRANDOMBYTES_DEFAULT_IMPLEMENTATION=NULL";; \
	     crypto_pwhash/argon2/argon2-core.c) extra="$(SODIUM_WASM_SIMD) -I$(CURDIR)/$(ARGON2_SRC)"; \
	       src=$(CURDIR)/$(BUILD)/wasm/sodium/argon2-core.c;; \
	     crypto_pwhash/argon2/*) extra="$(SODIUM_WASM_SIMD)";; \
	     sodium/runtime.c) extra="$(SODIUM_WASM_SIMD)"; src=$(CURDIR)/$(BUILD)/wasm/sodium/runtime.c;; esac; \
	   emcc -O3 $(SODIUM_FLAGS) $$extra -c $$src -o $$o'
	emar rcs $@ $(BUILD)/wasm/sodium/*.o

$(BUILD)/native/libsodium.a: $(SODIUM)/.fetched $(SLICE_PATCH)
	@rm -rf $(BUILD)/native/sodium && mkdir -p $(BUILD)/native/sodium
	patch -s -o $(BUILD)/native/sodium/argon2-core.c $(ARGON2_SRC)/argon2-core.c < $(SLICE_PATCH)
	cd $(SODIUM_SRC) && find crypto_* randombytes sodium -name '*.c' | sort | xargs -P$(JOBS) -I{} sh -c \
	  'src={}; extra=""; case {} in crypto_pwhash/argon2/argon2-core.c) extra="-I$(CURDIR)/$(ARGON2_SRC)"; \
	     src=$(CURDIR)/$(BUILD)/native/sodium/argon2-core.c;; esac; \
	   gcc -O2 -fPIC $(SODIUM_FLAGS) $$extra -c $$src -o $(CURDIR)/$(BUILD)/native/sodium/$$(echo {} | tr / _ ).o'
	ar rcs $@ $(BUILD)/native/sodium/*.o

# ---- the chat core as one standalone Wasm module -----------------------------
# No JS glue: the Worker imports the .wasm file as a module (Workers refuse to
# compile Wasm from bytes at run time) and instantiates it with { env: { host_random } }.
# Memory: 2 MiB at start, since every Durable Object has its own instance and
# rooms need little; it grows on demand (argon2id in the Worker's instance takes
# 19 MiB) to at most 96 MiB of the isolate's 128 MB (Cloudflare Workers limits).
# Stack: 256 KiB (cJSON's nesting is capped at 64).
$(WASM): $(CORE_SRC) $(CORE_HDR) wasm/wasm_exports.c wasm/exports.txt $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/wasm/libsodium.a | emscripten
	@mkdir -p $(BUILD)
	emcc -O2 -std=c11 -Wall -Wextra -Werror $(INCLUDES) $(CJSON_FLAGS) $(UTF8PROC_FLAGS) \
	  $(CORE_SRC) wasm/wasm_exports.c $(CJSON_C) $(UTF8PROC)/utf8proc.c $(BUILD)/wasm/libsodium.a \
	  --no-entry -sSTANDALONE_WASM=1 -sERROR_ON_UNDEFINED_SYMBOLS=0 \
	  -sEXPORTED_FUNCTIONS=@wasm/exports.txt -sINITIAL_MEMORY=2097152 \
	  -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=100663296 -sTOTAL_STACK=262144 \
	  -o $@

$(GEN_TS): wasm/tools/gen_protocol.c $(CORE_HDR)
	@mkdir -p $(BUILD)/native worker/generated
	gcc -std=c11 -Wall -Wextra -Werror -o $(BUILD)/native/gen_protocol wasm/tools/gen_protocol.c
	$(BUILD)/native/gen_protocol > $@
	$(BUILD)/native/gen_protocol --js > worker/generated/core.js

# ---- tests -------------------------------------------------------------------
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
C_TESTS := $(patsubst tests/c/%.c,$(BUILD)/native/%,$(wildcard tests/c/test_*.c))

$(BUILD)/native/test_%: tests/c/test_%.c tests/c/test_util.h tests/c/room_util.h $(CORE_SRC) $(CORE_HDR) $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/native/libsodium.a
	gcc -std=c11 -g -O1 -Wall -Wextra -Werror $(SAN) $(INCLUDES) -Itests/c $(CJSON_FLAGS) $(UTF8PROC_FLAGS) \
	  $< $(CORE_SRC) $(CJSON_C) $(UTF8PROC)/utf8proc.c $(BUILD)/native/libsodium.a -lcmocka -o $@

test: build test-c test-fuzz test-worker test-e2e test-load test-k6 test-deploy test-browser

test-c: cmocka
	@$(MAKE) --no-print-directory run-c-tests

run-c-tests: $(C_TESTS)
	@for t in $(C_TESTS); do echo "== $$t"; $$t || exit 1; done

test-worker: build check-types
	tsc --noEmit -p .
	vitest run --config tests/worker/vitest.config.ts

test-e2e: build
	node --test --test-concurrency=1 "tests/e2e/*.test.mjs"

test-load: build
	node --test --test-concurrency=1 "tests/load/*.test.mjs"

# The k6 scripts (tests/load/k6/), each for a few seconds against the local stack,
# their thresholds to pass; k6 is $$K6, or k6 from PATH, or the build shared beside
# the repository (../shared/tools/k6/k6), and the output says which. Without any,
# a loud notice and a skip. `make k6 SCRIPT=steady|spike BASE=<url>` runs one for
# real against any server, full size unless K6_ENV="NAME=value ..." says otherwise
# (parameters: the scripts' headers; README "Load").
.PHONY: test-k6 k6
test-k6: build
	node tests/load/k6.mjs smoke
k6: build
	@test -n "$(SCRIPT)" -a -n "$(BASE)" || { echo 'usage: make k6 SCRIPT=steady|spike BASE=<url> [K6_ENV="NAME=value ..."]' >&2; exit 2; }
	node tests/load/k6.mjs run $(SCRIPT) $(BASE) $(K6_ENV)

# The benchmark (README "Load"): figures, not tests. Ours, the plain Durable Object
# reference and socket.io + Redis side by side (tests/load/bench.mjs says what and
# its knobs: RUNS=3, SIZES=100,1000,5000, STEP_SECONDS=10, SYSTEMS, STORM,
# RESTART_CLIENTS...). It also times argon2id natively (build/native/pwhash).
bench: build $(BUILD)/native/pwhash $(PWHASH_REFS) | redis
	node tests/load/bench.mjs

$(BUILD)/native/pwhash: tests/bench/pwhash.c wasm/chat_limits.h $(BUILD)/native/libsodium.a
	gcc -std=c11 -O2 -Wall -Wextra -Werror $(INCLUDES) $< $(BUILD)/native/libsodium.a -o $@

# The native references of argon2id beside it (issue 21, 6), all tests/bench/pwhash.c
# (tests/load/bench-probes.mjs argon2Native): on x86-64, pwhash-simd links the
# portable archive with the argon2 files and sodium/runtime.c rebuilt as libsodium's
# configure builds them there (its SSSE3, AVX2 and AVX-512F variants, picked at run
# time by cpuid: native SIMD), pwhash-ssse3 with the SSSE3 variant only (the one the
# Wasm build translates); pwhash-debian links Debian's own libsodium23 (the issue's
# "native with SIMD" figure; it maps the 19 MiB afresh for every hash).
SODIUM_X86_ssse3 := -DHAVE_CPUID -DHAVE_EMMINTRIN_H -DHAVE_PMMINTRIN_H -DHAVE_TMMINTRIN_H
SODIUM_X86_simd  := $(SODIUM_X86_ssse3) -DHAVE_AVX_ASM -DHAVE_SMMINTRIN_H -DHAVE_AVXINTRIN_H -DHAVE_AVX2INTRIN_H \
                    -DHAVE_AVX512FINTRIN_H
DEBIAN_SODIUM    := /usr/lib/$(shell gcc -print-multiarch)/libsodium.so.23
PWHASH_REFS      := $(if $(filter x86_64,$(shell uname -m)),$(BUILD)/native/pwhash-simd $(BUILD)/native/pwhash-ssse3 \
                    $(BUILD)/native/pwhash-debian)
.PRECIOUS: $(BUILD)/native/libsodium-%.a
$(BUILD)/native/libsodium-%.a: $(BUILD)/native/libsodium.a
	@rm -rf $(BUILD)/native/sodium-$* && mkdir -p $(BUILD)/native/sodium-$*
	cd $(SODIUM_SRC) && for f in crypto_pwhash/argon2/argon2-core.c crypto_pwhash/argon2/argon2-fill-block-*.c sodium/runtime.c; do \
	  gcc -O2 -fPIC $(SODIUM_FLAGS) $(SODIUM_X86_$*) -c $$f -o $(CURDIR)/$(BUILD)/native/sodium-$*/$$(echo $$f | tr / _).o || exit 1; done
	cp $< $@ && ar rs $@ $(BUILD)/native/sodium-$*/*.o
$(BUILD)/native/pwhash-debian: tests/bench/pwhash.c wasm/chat_limits.h $(SODIUM)/.fetched
	$(call apt,$(DEBIAN_SODIUM),libsodium23)
	gcc -std=c11 -O2 -Wall -Wextra -Werror $(INCLUDES) $< $(DEBIAN_SODIUM) -o $@
$(BUILD)/native/pwhash-%: tests/bench/pwhash.c wasm/chat_limits.h $(BUILD)/native/libsodium-%.a
	gcc -std=c11 -O2 -Wall -Wextra -Werror $(INCLUDES) $< $(BUILD)/native/libsodium-$*.a -o $@

# Instructions the C core spends per inbound message in a room of 100 (native,
# -O2, valgrind's callgrind: repeatable on a noisy machine). Figures, not tests.
$(BUILD)/native/room_messages: tests/bench/room_messages.c $(CORE_SRC) $(CORE_HDR) $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/native/libsodium.a
	gcc -std=c11 -O2 -Wall -Wextra -Werror $(INCLUDES) $(CJSON_FLAGS) $(UTF8PROC_FLAGS) $< $(CORE_SRC) $(CJSON_C) \
	  $(UTF8PROC)/utf8proc.c $(BUILD)/native/libsodium.a -o $@
# And the instructions per byte of one inbound frame: a worst-case 32 KiB frame
# (the costliest of several shapes within the JSON limits) against a plain message
# (tests/bench/frame_cost.c; issue 13: within 4x).
$(BUILD)/native/frame_cost: tests/bench/frame_cost.c $(CORE_SRC) $(CORE_HDR) $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/native/libsodium.a
	gcc -std=c11 -O2 -Wall -Wextra -Werror $(INCLUDES) $(CJSON_FLAGS) $(UTF8PROC_FLAGS) $< $(CORE_SRC) $(CJSON_C) \
	  $(UTF8PROC)/utf8proc.c $(BUILD)/native/libsodium.a -o $@
# And the cost of an open (issue 13: O(1) or O(log n), not O(users x members)):
# sockets of 500 hoarding users that never join (tests/bench/room_opens.c).
$(BUILD)/native/room_opens: tests/bench/room_opens.c $(CORE_SRC) $(CORE_HDR) $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/native/libsodium.a
	gcc -std=c11 -O2 -Wall -Wextra -Werror $(INCLUDES) $(CJSON_FLAGS) $(UTF8PROC_FLAGS) $< $(CORE_SRC) $(CJSON_C) \
	  $(UTF8PROC)/utf8proc.c $(BUILD)/native/libsodium.a -o $@
callgrind: $(BUILD)/native/room_messages $(BUILD)/native/frame_cost $(BUILD)/native/room_opens | valgrind
	@for rate in 1 1600; do \
	  for k in 0 1000; do valgrind --tool=callgrind --callgrind-out-file=$(BUILD)/callgrind.$$rate.$$k.out \
	    $(BUILD)/native/room_messages 100 $$k $$rate >/dev/null 2>&1 || exit 1; done; \
	  a=$$(grep -m1 '^summary:' $(BUILD)/callgrind.$$rate.0.out | cut -d' ' -f2); \
	  b=$$(grep -m1 '^summary:' $(BUILD)/callgrind.$$rate.1000.out | cut -d' ' -f2); \
	  echo "room of 100, 1000 inbound messages at $$rate/s: $$(( (b - a) / 1000 )) instructions per message (callgrind)"; \
	done
	@echo "instructions per byte of an inbound frame, room of 1 (callgrind):"
	@tests/bench/frame_cost.sh $(BUILD)/native/frame_cost $(BUILD)
	@for n in 1000 5000; do valgrind --tool=callgrind --callgrind-out-file=$(BUILD)/callgrind.opens.$$n.out \
	  $(BUILD)/native/room_opens $$n >/dev/null 2>&1 || exit 1; done; \
	a=$$(grep -m1 '^summary:' $(BUILD)/callgrind.opens.1000.out | cut -d' ' -f2); \
	b=$$(grep -m1 '^summary:' $(BUILD)/callgrind.opens.5000.out | cut -d' ' -f2); \
	echo "opening the 1 001st to 5 000th socket of a room (20 per user, none joined): $$(( (b - a) / 4000 )) instructions per open (callgrind)"
	@$(BUILD)/native/room_opens 10000 --time
	@$(BUILD)/native/room_opens 5000 --join

# ---- fuzzing (tests/fuzz/README.md) ---------------------------------------------
# libFuzzer targets, built with Debian's clang: the strict JSON reader, every API
# operation (the user-frame parser among them) and the room state machine. `make
# fuzz` runs each for FUZZ_SECONDS (60 by default); `make test-fuzz`, part of `make
# test`, for FUZZ_SMOKE_SECONDS each (10: about 30 s in all). The corpora start from
# seeds made from the golden files and grow in build/fuzz/corpus/<target>.
FUZZ_TARGETS := json api room
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all -fno-omit-frame-pointer
# argon2id replaced by a cheap stand-in in the API target (tests/fuzz/fuzz_api.c)
FUZZ_LDFLAGS_api := -Wl,--wrap=pwhash_make,--wrap=pwhash_verify,--wrap=crypto_pwhash_str_needs_rehash
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

.PHONY: fuzz test-fuzz clang
clang:
	$(call apt,clang,clang)
	$(call apt,"$$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$$(uname -m).a",libclang-rt-dev)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(CORE_SRC) $(CORE_HDR) $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/native/libsodium.a | clang
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(INCLUDES) -Itests/fuzz $(CJSON_FLAGS) $(UTF8PROC_FLAGS) $< $(CORE_SRC) $(CJSON_C) \
	  $(UTF8PROC)/utf8proc.c $(BUILD)/native/libsodium.a $(FUZZ_LDFLAGS_$*) -o $@

$(BUILD)/fuzz/seeds/.made: tests/fuzz/seeds.mjs $(wildcard tests/golden/*.json) wasm/api.h | node
	rm -rf $(@D) && node tests/fuzz/seeds.mjs $(@D) && touch $@

fuzz: $(FUZZ_BINS) $(BUILD)/fuzz/seeds/.made
	@tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test-fuzz: $(FUZZ_BINS) $(BUILD)/fuzz/seeds/.made
	@tests/fuzz/run.sh $(BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# The abuse benchmark (README "Load"): a normal room's latency alone and beside
# abusive clients (worst-case frames at the rate limit, socket hoarders, a signup
# script), against a fresh wrangler dev with the real budgets. Figures, not tests.
bench-abuse: build
	node tests/load/abuse.mjs --runs $(or $(RUNS),3)

# A resume after 10 000 changes (issue 16): pages, changed messages told, time.
bench-resume: build
	node tests/load/resume.mjs --runs $(or $(RUNS),5)

# Search (issue 17): what the FTS5 index costs a busy room (messages/s stored with
# and without it) and search latency p50/p99 in a room of 100 000 messages.
bench-search: build
	node tests/load/search.mjs --runs $(or $(RUNS),3)

# Chat bots against any server (README "Load"): make bots BASE=http://127.0.0.1:8787
# USERS=100 ROOMS=1 SENDERS=0.1 RATE=20 DURATION=10
bots: build
	node tests/load/bots.mjs --base $(or $(BASE),http://127.0.0.1:$(DEV_PORT)) --users $(or $(USERS),20) \
	  --rooms $(or $(ROOMS),1) --senders $(or $(SENDERS),0.1) --rate $(or $(RATE),10) --duration $(or $(DURATION),10)

# The web client in a real browser (Debian's Chromium through playwright-core)
# against the real stack: `wrangler dev` serving the built site and the API on
# one origin, as `make dev` does. Screenshots go to test-results/browser/.
test-browser: build site chromium
	tsc --noEmit -p pages
	node --test --test-concurrency=1 "tests/browser/*.test.mjs"

# The deployment path without an account: make deploy's refusals and its order of
# remote steps (against a stand-in wrangler), the site build, Terraform syntax and
# format, the GitHub workflow, wrangler.toml's environments and migrations.
.PHONY: test-deploy
test-deploy: build
	node --test --test-concurrency=1 "tests/deploy/*.test.mjs"

# ---- running locally -----------------------------------------------------------
migrate-local: build
	wrangler d1 migrations apply DB --local

# The site and the API on one origin, http://127.0.0.1:$(DEV_PORT)/ (README "The web
# client"): the built site as static assets in front of the Worker, whose
# WebSockets accept pages of that origin. BUDGET_SCALE=1000 raises every rate
# budget (wasm/budget.h) for bots, whose sign-ups all come from one address.
dev: migrate-local site
	wrangler dev --ip 127.0.0.1 --port $(DEV_PORT) --assets $(SITE_DIR) \
	  --var "CHAT_ALLOWED_ORIGINS:http://127.0.0.1:$(DEV_PORT) http://localhost:$(DEV_PORT)" \
	  $(if $(BUDGET_SCALE),--var CHAT_BUDGET_SCALE:$(BUDGET_SCALE))

# The production topology on this machine (README "The web client"): the site on
# http://127.0.0.1:$(PAGES_PORT)/ served by `wrangler pages dev` from pages/ (its
# files, _routes.json, _headers and the Pages Function), whose service binding API
# reaches the Worker that `wrangler dev` runs on $(DEV_PORT) (edge-chat-dev,
# pages/wrangler.toml), as Pages reaches the Worker in production. The two find
# each other in a registry of dev servers of this checkout's own
# (.wrangler/registry), so another checkout's Worker of the same name cannot answer.
# The Worker accepts WebSockets from the site's origin only. Ctrl-C stops both.
PAGES_PORT   ?= 8788
DEV_REGISTRY := $(CURDIR)/.wrangler/registry
.PHONY: dev-pages
dev-pages: migrate-local site
	@mkdir -p $(DEV_REGISTRY)
	@export WRANGLER_REGISTRY_PATH=$(DEV_REGISTRY); \
	wrangler dev --ip 127.0.0.1 --port $(DEV_PORT) \
	  --var "CHAT_ALLOWED_ORIGINS:http://127.0.0.1:$(PAGES_PORT) http://localhost:$(PAGES_PORT)" \
	  $(if $(BUDGET_SCALE),--var CHAT_BUDGET_SCALE:$(BUDGET_SCALE)) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	cd pages && wrangler pages dev dist --ip 127.0.0.1 --port $(PAGES_PORT)

# Make a user an ADMIN (the first one, or any): make admin NAME=<username>
# against local dev; add REMOTE=1 for the deployed database (after `wrangler login`),
# ENV=staging|production to pick a wrangler environment, PERSIST=<dir> for a local
# state directory other than .wrangler/state. The promotion is logged in the audit
# trail with no actor ("make admin"), linked into its hash chain like the Worker's
# rows (deploy/audit.mjs, with the core in build/chat.wasm).
D1_WHERE = $(if $(REMOTE),--remote,--local) $(if $(filter command line,$(origin ENV)),--env $(ENV)) $(if $(PERSIST),--persist-to $(PERSIST))
# The name is checked, and keyed, by the core's own rule (wasm/tools/username_key.c);
# it reaches the recipe through the environment (a command-line variable is
# exported), never pasted into a shell or SQL line.
admin: build $(BUILD)/native/username_key
	@key=$$($(BUILD)/native/username_key "$$NAME") || { echo "usage: make admin NAME=<username>" >&2; exit 2; }; \
	node deploy/audit.mjs promote "$$key" $(D1_WHERE) && echo "$$NAME is now an ADMIN"

# The audit trail's hash chain (README "Moderation"), read with wrangler d1 execute
# and checked by the core: make audit-verify [REMOTE=1] [ENV=...] [PERSIST=...]
# prints {"ok":true,"rows","head","head_id"} or {"ok":false,"broken_at","why"} (and
# fails); ANCHOR=<file> also checks that the log still holds a head exported
# earlier with make audit-head > <file> (keep that file away from the database).
.PHONY: audit-verify audit-head
audit-verify: build
	@node deploy/audit.mjs verify $(if $(ANCHOR),--anchor $(ANCHOR)) $(D1_WHERE)
audit-head: build
	@node deploy/audit.mjs head $(D1_WHERE)

$(BUILD)/native/username_key: wasm/tools/username_key.c $(CORE_SRC) $(CORE_HDR) $(CJSON_C) $(UTF8PROC)/.fetched $(BUILD)/native/libsodium.a
	@mkdir -p $(BUILD)/native
	gcc -std=c11 -O1 -Wall -Wextra -Werror $(INCLUDES) $(CJSON_FLAGS) $(UTF8PROC_FLAGS) $< $(CORE_SRC) $(CJSON_C) \
	  $(UTF8PROC)/utf8proc.c $(BUILD)/native/libsodium.a -o $@

# ---- the Worker's Env types, generated from wrangler.toml -----------------------
# `make types` writes worker/worker-configuration.d.ts with `wrangler types` (the
# global ChatEnv that worker/env.ts extends; commit it). `make check-types`, run by
# test-worker (so by make test), fails when the committed file is not what the
# configuration gives: wrangler's own --check (the configuration changed since),
# and a fresh generation compared with it (the file was edited by hand).
TYPES_FILE  := worker/worker-configuration.d.ts
TYPES_FLAGS := --include-runtime=false --strict-vars=false --env-interface ChatEnv
.PHONY: types check-types
types: node
	wrangler types $(TYPES_FILE) $(TYPES_FLAGS)
check-types: node
	@out=$$(wrangler types $(TYPES_FILE) $(TYPES_FLAGS) --check 2>&1) || { echo "$$out" >&2; \
	  echo "check-types: $(TYPES_FILE) is out of date with wrangler.toml: run 'make types' and commit it" >&2; exit 1; }
	@mkdir -p $(BUILD) && dir=$$(mktemp -d $(BUILD)/types.XXXXXX) && \
	  wrangler types $$dir/env.d.ts $(TYPES_FLAGS) >/dev/null 2>&1 && \
	  sed -e 1,2d -e 's|"\.\./\.\./worker/|"./|g' $$dir/env.d.ts | diff - <(sed 1,2d $(TYPES_FILE)) >&2; \
	  rc=$$?; rm -rf $$dir; [ $$rc = 0 ] || { echo "check-types: $(TYPES_FILE) differs from what wrangler types writes (edited by hand?): run 'make types'" >&2; exit 1; }
	@echo "check-types: $(TYPES_FILE) matches wrangler.toml"

dry-run: build
	wrangler deploy --dry-run --outdir $(BUILD)/dry-run/dev --env ""
	wrangler deploy --dry-run --outdir $(BUILD)/dry-run/staging --env staging
	wrangler deploy --dry-run --outdir $(BUILD)/dry-run/production --env production

# ---- deploying to Cloudflare (README "Deploy to Cloudflare") --------------------
# `make deploy` deploys ENV (staging unless ENV=production) to the account wrangler
# is logged in to: it refuses at once without credentials, then runs every test
# and `release`. `make dry-run` writes the edge bundle of each environment in
# build/dry-run/<environment> (the top level's in build/dry-run/dev).
# ENV counts only from the command line (shells use an ENV variable of their own).
# WRANGLER is replaceable so that tests can record its calls.
.PHONY: site deploy release
DEPLOY_ENV    := $(if $(filter command line,$(origin ENV)),$(ENV),staging)
WRANGLER      ?= wrangler
PAGES_PROJECT ?= edge-chat
# Pages branch of each environment: production is the project's production branch,
# staging a preview deployment with its own alias (staging.<project>.pages.dev).
PAGES_BRANCH_production := main
PAGES_BRANCH_staging    := staging

# The site for Cloudflare Pages: the web client (React + Vite in pages/), built
# into pages/dist; it imports the protocol from $(GEN_TS). Its Pages Function
# and configuration (pages/functions, pages/wrangler.toml) are deployed from
# pages/, hence `--cwd pages` below.
SITE_DIR   := pages/dist
SITE_BUILD ?= vite build pages --logLevel warn

site: node $(GEN_TS)
	$(SITE_BUILD)
	@test -f $(SITE_DIR)/index.html || { echo "site: the build wrote no $(SITE_DIR)/index.html" >&2; exit 1; }

deploy: node
	@WRANGLER=$(WRANGLER) node deploy/cloudflare.mjs preflight $(DEPLOY_ENV)
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory release ENV=$(DEPLOY_ENV)

# The remote part of `make deploy`, in the order an upgrade needs: the first-time
# set-up (creates the D1 database and the Pages project if missing), the D1
# migrations (forward-only, and compatible with the code still running), then
# the Worker with its Durable Objects (a deploy restarts every object and drops
# every socket: clients reconnect and resume), then the site. CI's deploy jobs
# run the same commands through wrangler-action (.github/workflows/ci.yml).
release: build site
	@WRANGLER=$(WRANGLER) node deploy/cloudflare.mjs preflight $(DEPLOY_ENV)
	WRANGLER=$(WRANGLER) node deploy/cloudflare.mjs setup $(DEPLOY_ENV) $(PAGES_PROJECT)
	$(WRANGLER) d1 migrations apply DB --remote --env $(DEPLOY_ENV)
	$(WRANGLER) deploy --env $(DEPLOY_ENV)
	$(WRANGLER) pages deploy dist --cwd pages --project-name $(PAGES_PROJECT) --branch $(PAGES_BRANCH_$(DEPLOY_ENV))

clean:
	rm -rf $(BUILD)/chat.wasm $(BUILD)/native $(BUILD)/wasm worker/generated $(SITE_DIR)
