# posagent-hq (issue #14), included from the Makefile: the headquarters
# server, build/<target>/posagent-hq. It links the system's shared
# libraries (libmicrohttpd with GnuTLS, libpq, SQLite, jansson) and hal/.

HQ_PKGS       := libmicrohttpd gnutls libpq sqlite3 jansson
HQ_PKG_CFLAGS := $(shell pkg-config --cflags $(HQ_PKGS) 2>/dev/null)
HQ_PKG_LIBS   := $(shell pkg-config --libs $(HQ_PKGS) 2>/dev/null)
HQ_SRC        := $(sort $(wildcard hq/*.c))
HQ_GEN        := $(BUILD)/gen/hq_www_index.c
HQ_OBJ        := $(HQ_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/hq_www_index.o
HQ_HAL_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard hal/*.c)))
HQ_BIN        := $(BUILD)/posagent-hq

$(HQ_OBJ): ALL_CFLAGS += $(HQ_PKG_CFLAGS)

# The dashboard, embedded: one byte array (xxd from Debian's xxd package).
$(HQ_GEN): hq/www/index.html
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ echo '#include "hq/hq_www.h"'; \
	  echo 'const unsigned char hq_www_index[] = {'; \
	  xxd -i < $<; echo '};'; \
	  echo 'const size_t hq_www_index_len = sizeof(hq_www_index);'; } > $@.tmp
	$(Q)mv $@.tmp $@

$(BUILD)/obj/gen/hq_www_index.o: $(HQ_GEN) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# hal/pa_sha256.c hashes with mbedTLS: its libraries as the agent links them.
$(HQ_BIN): $(HQ_OBJ) $(HQ_HAL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(HQ_PKG_LIBS) \
	  $(filter -lmbed% %.a,$(LIBS)) -lpthread

# Unit tests and the fuzz target's replay link hq/ without its main().
HQ_LIB_OBJ    := $(filter-out $(BUILD)/obj/hq/hq_main.o,$(HQ_OBJ)) $(HQ_HAL_OBJ)
HQ_HQLIBS     = $(HQ_PKG_LIBS) $(filter -lmbed% %.a,$(LIBS)) -lpthread
HQ_UNIT_BIN   := $(patsubst tests/unit/hq/%.c,$(BUILD)/tests/hq/%,$(sort $(wildcard tests/unit/hq/test_*.c)))
HQ_REPLAY     := $(BUILD)/tests/replay_fuzz_hq_ingest

$(BUILD)/tests/hq/%: tests/unit/hq/%.c $(HQ_LIB_OBJ) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(HQ_PKG_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	  $(HQ_LIB_OBJ) $(HQ_HQLIBS) -lcmocka

$(HQ_REPLAY): tests/fuzz/hq/fuzz_hq_ingest.c tests/fuzz/fuzz_replay.c $(HQ_LIB_OBJ) $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(HQ_PKG_CFLAGS) -DPA_FUZZ_REPLAY $(ALL_LDFLAGS) -o $@ \
	  $< tests/fuzz/fuzz_replay.c $(HQ_LIB_OBJ) $(HQ_HQLIBS)

# make test's unit step runs these too (its loops read the lists when run).
UNIT_BIN   += $(HQ_UNIT_BIN)
REPLAY_BIN += $(HQ_REPLAY)
unit: $(HQ_UNIT_BIN) $(HQ_REPLAY)

fuzz-hq: deps
	@mkdir -p build/fuzz
	clang $(FUZZ_FLAGS) $(HQ_PKG_CFLAGS) -o build/fuzz/fuzz_hq_ingest \
	  tests/fuzz/hq/fuzz_hq_ingest.c $(filter-out hq/hq_main.c,$(HQ_SRC)) \
	  $(HQ_GEN) $(sort $(wildcard hal/*.c)) $(HQ_HQLIBS)
fuzz: fuzz-hq
$(filter fuzz-hq,$(MAKECMDGOALS)): $(HQ_GEN)

all: $(HQ_BIN)
integration: $(HQ_BIN)
export POSAGENT_HQ_BIN := $(abspath $(HQ_BIN))

install-hq: $(HQ_BIN)
	install -D -m 0755 $(HQ_BIN) $(DESTDIR)$(PREFIX)/bin/posagent-hq
install: install-hq

.PHONY: install-hq fuzz-hq
-include $(HQ_OBJ:.o=.d)
