# braid build. `make` builds build/braid; `make test` installs what is missing,
# builds, and runs unit tests (ASan+UBSan), fuzz smoke runs and end-to-end tests;
# `make run` starts the daemon with the demo incident flowing.

CC       ?= gcc
FUZZCC   ?= clang
SANCC    ?= clang
PKGS     := libuv1-dev libnghttp2-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev \
            libxxhash-dev libcmocka-dev pkg-config clang libclang-rt-14-dev curl
WARN     := -Wall -Wextra -Werror
BASEFLAGS:= -std=c17 -D_GNU_SOURCE -g $(WARN) -MMD -MP -Isrc
CFLAGS   ?= -O2
LIBS     := -luv -lnghttp2 -lz -lzstd -lcurl -lxxhash -lpthread -lm
SANFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

LIB_SRC  := $(sort $(filter-out src/main.c,$(wildcard src/*/*.c)))
MAIN_SRC := src/main.c
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
BENCH_SRC:= $(sort $(wildcard bench/bench_*.c))

OBJ      := $(LIB_SRC:%.c=build/obj/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/%)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=build/%)
UI_GEN   := build/gen/ui_assets.c

.PHONY: FORCE all deps npm-deps test unit fuzz-smoke e2e run bench fuzz format clean

all: build/braid

# ---- dependencies (Debian packages, npm) ---------------------------------
deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

E2E_PKGS := nodejs npm chromium
npm-deps: deps
	@missing=""; for p in $(E2E_PKGS); do \
	  command -v $$p >/dev/null 2>&1 || dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi
	@if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then \
	  echo "installing npm modules for tests/e2e"; \
	  cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error && touch node_modules; \
	fi

# ---- the daemon ------------------------------------------------------------
build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

# Only main.o carries the version, rebuilt every time so it is never stale.
build/obj/src/main.o: src/main.c FORCE
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -DBRAID_VERSION='"$(VERSION)"' -c $< -o $@
FORCE:

build/braid: $(OBJ) build/obj/src/main.o build/obj/gen/ui_assets.o
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# ---- the web UI ----------------------------------------------------------------
# ui/build.mjs bundles ui/src with esbuild and writes $(UI_GEN): every file of
# the bundle as a C array with its path, content type and ETag (ui_embedded in
# src/ui/ui.h). Only the braid binaries link it: src/ui/ui.c takes the bundle
# as an argument, so library objects, unit tests and fuzz targets need no node.
UI_SRC := ui/build.mjs ui/index.html ui/favicon.svg $(sort $(wildcard ui/src/*.js ui/src/*/*.js ui/src/*.css))

ui/node_modules/.installed: ui/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "installing: nodejs npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || exit 1; }
	@echo "installing npm modules for ui"
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(UI_GEN): $(UI_SRC) ui/node_modules/.installed
	@mkdir -p $(dir $@)
	node ui/build.mjs build/ui $@

build/obj/gen/ui_assets.o: $(UI_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

build/asan/gen/ui_assets.o: $(UI_GEN)
	@mkdir -p $(dir $@)
	$(SANCC) $(BASEFLAGS) $(SANFLAGS) -c $< -o $@

# ---- sanitizer build and unit tests ---------------------------------------
# clang's UBSan also catches pointer arithmetic on NULL, which gcc's does not.
build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(SANCC) $(BASEFLAGS) $(SANFLAGS) -c $< -o $@

build/asan/test_%: tests/unit/test_%.c $(ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(SANCC) $(BASEFLAGS) $(SANFLAGS) -o $@ $< $(ASAN_OBJ) $(LIBS) -lcmocka

build/asan/braid: $(ASAN_OBJ) build/asan/src/main.o build/asan/gen/ui_assets.o
	$(SANCC) $(SANFLAGS) -o $@ $^ $(LIBS)

unit: deps $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	  echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t || fail=1; \
	done; exit $$fail

# ---- fuzzing -----------------------------------------------------------------
FUZZFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc -Wall -Wextra -Werror \
             -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ  := $(LIB_SRC:%.c=build/fuzzobj/%.o)

build/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LIBS)

FUZZ_SMOKE_SECONDS ?= 15
fuzz-smoke: deps $(FUZZ_BIN)
	@fail=0; pass=0; for f in $(FUZZ_BIN); do \
	  n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SMOKE_SECONDS)s)"; \
	  if $$f -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=0 build/fuzz/corpus-$$n fuzz/corpus/$$n \
	       >build/fuzz/$$n.log 2>&1; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); tail -40 build/fuzz/$$n.log; fi; \
	done; echo "fuzz smoke: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

FUZZ_SECONDS ?= 300
fuzz: deps $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$n fuzz/corpus/$$n || exit 1; done

# ---- end-to-end --------------------------------------------------------------
e2e: npm-deps build/braid
	cd tests/e2e && BRAID_BIN=$(CURDIR)/build/braid node --test --test-concurrency=1 *.test.mjs

# ---- top-level ---------------------------------------------------------------
test: deps
	$(MAKE) build/braid $(BENCH_BIN)
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) e2e
	@echo "all test suites passed"

# The daemon and `braid demo` side by side; Ctrl-C stops both (the demo also
# stops when the daemon exits).
run: deps build/braid
	@echo "braid: data in ./braid-data; open the UI at http://127.0.0.1:4320/ (Ctrl-C stops)"
	@trap 'kill $$serve $$demo 2>/dev/null; wait $$serve; s=$$?; wait $$demo; exit $$s' INT TERM; \
	./build/braid serve --data ./braid-data & serve=$$!; \
	./build/braid demo --otlp http://127.0.0.1:4318 & demo=$$!; \
	wait $$serve; status=$$?; kill $$demo 2>/dev/null; wait $$demo 2>/dev/null; exit $$status

build/bench_%: bench/bench_%.c $(OBJ)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $< $(OBJ) $(LIBS)

bench: deps build/braid $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b --braid build/braid || exit 1; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h') $(wildcard src/*/*.[ch] tests/unit/*.c fuzz/*.c bench/*.c)

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d) build/obj/gen/ui_assets.d $(FUZZ_OBJ:.o=.d) $(BENCH_BIN:=.d) build/obj/src/main.d build/asan/src/main.d
