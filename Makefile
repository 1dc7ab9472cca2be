# posagent — the one build entry point (non-recursive).
#   make            release build: build/host/posagent
#   make deps       install/build dependencies (toolchain/deps.sh)
#   make test       unit (cmocka) + integration (pytest), ASan + UBSan
#   make demo       build, start posagent-hq + the KKT emulator, run the main job
#   make bench      import, sync and posagent-hq benchmarks (make bench-hq: HQ only)
#   make fuzz       libFuzzer targets (clang)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

TARGET   ?= host
CC       ?= cc
PREFIX   ?= /usr/local
PYTHON   ?= /usr/bin/python3
DEPS     := build/deps
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(origin CC),default)
CC := gcc
endif

SAN ?= 0
ifeq ($(SAN),1)
BUILD    := build/$(TARGET)-san
OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANLD    := -fsanitize=address,undefined
else
BUILD    := build/$(TARGET)
OPTFLAGS := -O2 -g
SANLD    :=
endif

PKGS     := sqlite3 jansson libzip expat inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CURL_CFLAGS := -I$(DEPS)/include -DCURL_STATICLIB
CURL_LIBS   := $(DEPS)/lib/libcurl.a -lmbedtls -lmbedx509 -lmbedcrypto

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla
CPPFLAGS += -I. -D_GNU_SOURCE -DPA_VERSION='"$(VERSION)"'
ALL_CFLAGS := -std=c11 $(WARN) $(OPTFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $(CURL_CFLAGS) $(CFLAGS)
LIBS     := $(CURL_LIBS) $(PKG_LIBS) -lcsv -lpthread -lm
ALL_LDFLAGS := $(SANLD) $(LDFLAGS)

LIB_SRC  := $(sort $(wildcard hal/*.c kkt/*.c sync/*.c agent/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/agent/main.o
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(filter-out tests/fuzz/fuzz_replay.c,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)

.PHONY: all deps test unit integration demo bench bench-hq fuzz install clean check-deps FORCE
all: $(BUILD)/posagent

deps:
	@bash toolchain/deps.sh

check-deps:
	@test -f $(DEPS)/lib/libcurl.a || { echo "libcurl not built: run 'make deps' first" >&2; exit 1; }

# Objects rebuild when the flags change.
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

V ?= 0
ifeq ($(V),0)
Q := @
endif

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags | check-deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libposagent.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/posagent: $(MAIN_OBJ) $(BUILD)/libposagent.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libposagent.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libposagent.a $(LIBS) -lcmocka

# Each fuzz target with a plain main(): replays crash files under gdb, and
# the committed corpora in `make test`.
$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/fuzz_replay.c $(BUILD)/libposagent.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DPA_FUZZ_REPLAY $(ALL_LDFLAGS) -o $@ $< tests/fuzz/fuzz_replay.c \
	  $(BUILD)/libposagent.a $(LIBS)

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)

# --- tests: always sanitized ------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory SAN=1 unit integration

unit: $(UNIT_BIN) $(REPLAY_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done
	@set -e; for t in $(REPLAY_BIN); do n=$${t##*/replay_fuzz_}; \
	  echo "== fuzz corpus $$n: $$(ls tests/fuzz/corpus/$$n | wc -l) inputs"; \
	  ASAN_OPTIONS=detect_leaks=1 $$t tests/fuzz/corpus/$$n/*; done

integration: $(BUILD)/posagent
	POSAGENT_BIN=$(abspath $(BUILD)/posagent) ASAN_OPTIONS=detect_leaks=1 \
	  $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

demo: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tests/demo.py $(abspath build/host/posagent) $(abspath build/host/posagent-hq)

bench: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) bench/bench.py $(abspath build/host/posagent)
	@$(MAKE) --no-print-directory bench-hq

# posagent-hq under 1,000 simulated stores, on SQLite and PostgreSQL.
bench-hq: deps
	@$(MAKE) --no-print-directory build/host/posagent-hq build/host/hq_load
	@$(PYTHON) bench/bench_hq.py $(abspath build/host/posagent-hq) $(abspath build/host/hq_load)

# The load generator links the system's libcurl (OpenSSL): its TLS handshakes
# are cheap, so the client is not what limits the figures (bench/hq_load.c).
$(BUILD)/hq_load: bench/hq_load.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -std=c11 $(WARN) $(OPTFLAGS) -D_GNU_SOURCE $(shell pkg-config --cflags libcurl) \
	  -o $@ $< $(shell pkg-config --libs libcurl)

FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -std=c11 $(CPPFLAGS) $(PKG_CFLAGS) $(CURL_CFLAGS)
fuzz: deps
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "== $$n"; clang $(FUZZ_FLAGS) -o build/fuzz/$$n $$f \
	    $(filter-out agent/main.c,$(LIB_SRC)) $(LIBS); done

install: all
	install -D -m 0755 $(BUILD)/posagent $(DESTDIR)$(PREFIX)/bin/posagent
	install -D -m 0644 packaging/posagent.service $(DESTDIR)$(PREFIX)/lib/systemd/system/posagent.service
	install -D -m 0644 packaging/posagent.conf.sample $(DESTDIR)$(PREFIX)/share/posagent/posagent.conf.sample

clean:
	rm -rf build/host build/host-san build/fuzz

include hq/hq.mk
