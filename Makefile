# posagent — the one build entry point (non-recursive).
#   make            release build: build/host/posagent
#   make TARGET=aarch64-linux-gnu | arm-linux-gnueabihf   cross build:
#                   build/<target>/posagent (toolchain/target.mk)
#   make deps       install tools, build the pinned dependency set (toolchain/)
#   make test       unit (cmocka) + integration (pytest), ASan + UBSan;
#                   with a cross TARGET: the same under qemu-user (no sanitizers)
#   make size       stripped size and dynamic dependencies of the binary
#   make demo       build, start posagent-hq + the KKT emulator, run the main job
#   make bench      import, sync and posagent-hq benchmarks (make bench-hq: HQ only)
#   make fuzz       libFuzzer targets (clang)
#   make install    PREFIX=/usr/local DESTDIR= (binary stripped, unit, man,
#                   sysusers.d, tmpfiles.d, completion); make uninstall
#   make man        build/man/posagent.1, posagent.conf.5 (scdoc)
#   make deb        build/deb/posagent_VERSION_ARCH.deb (dpkg-buildpackage), linted;
#                   with a cross TARGET: the arm64 / armhf package (a Debian cross build)
#   make systemd-check  the .deb's unit under a live systemd (a container; root)
#   make clean

TARGET   ?= host
CC       ?= cc
PREFIX   ?= /usr/local
PYTHON   ?= /usr/bin/python3
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

.DEFAULT_GOAL := all
# Compiler, dependency set, qemu runner, size/repro checks per TARGET.
include toolchain/target.mk

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla
CPPFLAGS += -I. -D_GNU_SOURCE -DPA_VERSION='"$(VERSION)"'
ALL_CFLAGS := -std=c11 $(WARN) $(OPTFLAGS) $(REPRO_CFLAGS) $(CPPFLAGS) $(DEP_CFLAGS) $(CFLAGS)
LIBS     := $(DEP_LIBS)
ALL_LDFLAGS := $(SANLD) $(REPRO_LDFLAGS) $(LDFLAGS)

LIB_SRC  := $(sort $(wildcard hal/*.c kkt/*.c sync/*.c agent/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/agent/main.o
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(filter-out tests/fuzz/fuzz_replay.c,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)

.PHONY: all agent deps test unit integration demo bench bench-hq fuzz install \
        install-agent uninstall man deb systemd-check clean FORCE
all: $(BUILD)/posagent $(BUILD)/SOURCES

deps:
	@bash toolchain/deps.sh $(TARGET)

# Objects rebuild when the flags change.
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

V ?= 0
ifeq ($(V),0)
Q := @
endif

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags $(DEPS_OK)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libposagent.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/posagent: $(MAIN_OBJ) $(BUILD)/libposagent.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
	$(POST_LINK)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libposagent.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libposagent.a $(LIBS) $(CMOCKA_LIBS)

# Each fuzz target with a plain main(): replays crash files under gdb, and
# the committed corpora in `make test`.
$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/fuzz_replay.c $(BUILD)/libposagent.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DPA_FUZZ_REPLAY $(ALL_LDFLAGS) -o $@ $< tests/fuzz/fuzz_replay.c \
	  $(BUILD)/libposagent.a $(LIBS)

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)

# --- tests: sanitized on the host; under qemu-user for a cross TARGET -----------
# (TEST_SAN, TEST_EXTRA, RUN, POSAGENT_RUN, PYTEST_SEL: toolchain/target.mk)
test: deps
	@$(MAKE) --no-print-directory SAN=$(TEST_SAN) unit integration $(TEST_EXTRA)

unit: $(UNIT_BIN) $(REPLAY_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $(RUN) $$t; done
	@set -e; for t in $(REPLAY_BIN); do n=$${t##*/replay_fuzz_}; \
	  echo "== fuzz corpus $$n: $$(ls tests/fuzz/corpus/$$n | wc -l) inputs"; \
	  ASAN_OPTIONS=detect_leaks=1 $(RUN) $$t tests/fuzz/corpus/$$n/*; done

integration: $(POSAGENT_RUN)
	POSAGENT_BIN=$(abspath $(POSAGENT_RUN)) POSAGENT_TARGET=$(TARGET) POSAGENT_RUN='$(RUN)' \
	  ASAN_OPTIONS=detect_leaks=1 \
	  $(PYTHON) -m pytest -q $(PYTEST_SEL) $(PYTEST_ARGS)

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

FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -std=c11 $(CPPFLAGS) $(DEP_CFLAGS)
fuzz: deps
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "== $$n"; clang $(FUZZ_FLAGS) -o build/fuzz/$$n $$f \
	    $(filter-out agent/main.c,$(LIB_SRC)) $(LIBS); done

# --- install, man pages, the Debian package ---------------------------------
BINDIR   := $(PREFIX)/bin
UNITDIR  ?= $(PREFIX)/lib/systemd/system
LIBDIR_D ?= $(PREFIX)/lib
MANDIR   ?= $(PREFIX)/share/man
STRIP    ?= strip
MAN      := build/man/posagent.1 build/man/posagent.conf.5

man: $(MAN)
build/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@

# The unit names the binary where this install put it (PREFIX).
build/posagent.service: packaging/posagent.service.in FORCE
	@mkdir -p build
	@sed 's|@BINDIR@|$(BINDIR)|g' $< | cmp -s - $@ || \
	  sed 's|@BINDIR@|$(BINDIR)|g' $< > $@

# The terminal's agent alone (what the .deb ships); `install` adds what
# other parts hook onto it (hq/hq.mk: posagent-hq).
agent: $(BUILD)/posagent

# STRIP= keeps the symbols (debian/rules leaves stripping to dh_strip,
# which keeps them in the -dbgsym package).
install: install-agent
install-agent: agent man build/posagent.service
	install -D -m 0755 $(BUILD)/posagent $(DESTDIR)$(BINDIR)/posagent
	$(if $(STRIP),$(STRIP) $(DESTDIR)$(BINDIR)/posagent)
	install -D -m 0644 build/posagent.service $(DESTDIR)$(UNITDIR)/posagent.service
	install -D -m 0644 packaging/posagent.sysusers $(DESTDIR)$(LIBDIR_D)/sysusers.d/posagent.conf
	install -D -m 0644 packaging/posagent.tmpfiles $(DESTDIR)$(LIBDIR_D)/tmpfiles.d/posagent.conf
	install -D -m 0644 packaging/posagent.bash-completion \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/posagent
	install -D -m 0644 build/man/posagent.1 $(DESTDIR)$(MANDIR)/man1/posagent.1
	install -D -m 0644 build/man/posagent.conf.5 $(DESTDIR)$(MANDIR)/man5/posagent.conf.5
	install -D -m 0644 packaging/posagent.conf.sample $(DESTDIR)$(PREFIX)/share/posagent/posagent.conf.sample

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/posagent $(DESTDIR)$(BINDIR)/posagent-hq \
	  $(DESTDIR)$(UNITDIR)/posagent.service \
	  $(DESTDIR)$(LIBDIR_D)/sysusers.d/posagent.conf \
	  $(DESTDIR)$(LIBDIR_D)/tmpfiles.d/posagent.conf \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/posagent \
	  $(DESTDIR)$(MANDIR)/man1/posagent.1 $(DESTDIR)$(MANDIR)/man5/posagent.conf.5 \
	  $(DESTDIR)$(PREFIX)/share/posagent/posagent.conf.sample
	-rmdir $(DESTDIR)$(PREFIX)/share/posagent 2>/dev/null

# dpkg-buildpackage writes its results next to the source tree, so it runs
# on a copy in build/deb/src-ARCH (without build/ and .git; the pinned set
# from build/deps is linked in): the .deb, .changes and .buildinfo land in
# build/deb/. With a cross TARGET it is a Debian cross build
# (dpkg-buildpackage -aarm64 / -aarmhf; debian/rules builds that TARGET and
# dh_strip uses the triplet's strip). lintian must report no error
# (overrides carry their reasons); its output is kept in
# build/deb/posagent_VERSION_ARCH.lintian. It runs without the calling
# make's MAKEFLAGS: under `make test` they carry SAN=1, and the package
# test then shipped (and installed) an ASan build depending on libasan8.
ifeq ($(CROSS),)
DEB_ARCH ?= $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB_SYSROOT :=
else
# The cross build profile; no tests at package build time (make test runs
# them under qemu); CC tells dpkg-architecture which compiler is the host's.
DEB_PROFILES := -Pcross,nocheck
DEB_ENV := CC=$(CC) DEB_BUILD_OPTIONS="nocheck $(DEB_BUILD_OPTIONS)"
DEB_ARCH ?= $(shell dpkg-architecture -t$(TARGET) -qDEB_HOST_ARCH 2>/dev/null)
# libc6's symbols for dpkg-shlibdeps (debian/rules), from toolchain/deps.sh.
DEB_SYSROOT := build/deps/$(TARGET)-sysroot/DEBIAN/symbols
$(DEB_SYSROOT):
	@bash toolchain/deps.sh $(TARGET)
endif
DEB_FILE := build/deb/posagent_$(VERSION)_$(DEB_ARCH).deb
DEB_SRC  := build/deb/src-$(DEB_ARCH)
deb: $(DEPS_OK) $(DEB_SYSROOT)
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	  test "$$v" = "$(VERSION)" || { echo "debian/changelog is $$v but VERSION is $(VERSION)" >&2; exit 1; }
	rm -rf $(DEB_SRC) build/deb/posagent*_$(VERSION)_$(DEB_ARCH).* && mkdir -p $(DEB_SRC)/build
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(DEB_SRC) -xf -
	ln -s $(abspath build/deps) $(DEB_SRC)/build/deps
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(DEB_ENV) \
	  dpkg-buildpackage -b -us -uc -jauto -a$(DEB_ARCH) $(DEB_PROFILES) \
	  >../build_$(DEB_ARCH).log 2>&1 || { tail -40 ../build_$(DEB_ARCH).log; exit 1; }
	rm -rf $(DEB_SRC)
	lintian --fail-on error --info $(DEB_FILE) | tee $(DEB_FILE:.deb=.lintian)
	@echo "built $(DEB_FILE) ($$(stat -c %s $(DEB_FILE)) bytes)"

# Opt-in, not in `make test` (root; debootstrap, systemd-nspawn): the
# package installed and its hardened unit started, watched, stopped under a
# live systemd, in a container booted for it (tests/systemd/check.sh).
systemd-check:
	@$(MAKE) --no-print-directory deb TARGET=host
	@bash tests/systemd/check.sh build/deb/posagent_$(VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).deb

clean:
	rm -rf build/host build/host-san build/fuzz build/man build/deb build/posagent.service \
	  build/systemd-check \
	  $(CROSS_TARGETS:%=build/%)

# posagent-hq is a host program (the server); a cross TARGET builds the
# agent only.
ifeq ($(CROSS),)
include hq/hq.mk
endif
