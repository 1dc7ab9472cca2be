# toolchain/target.mk — what TARGET changes in the build (included by Makefile).
#
#   TARGET=host                 (default) this machine's gcc
#   TARGET=aarch64-linux-gnu    Debian's cross gcc; tests under qemu-aarch64
#   TARGET=arm-linux-gnueabihf  Debian's cross gcc; tests under qemu-arm
#
# Every target links the pinned dependency set (toolchain/pins) statically
# from build/deps/$(TARGET); the binary needs nothing but glibc (libc, libm,
# libpthread, the loader). glibc stays dynamic: a static glibc breaks name
# lookup (NSS).

CROSS_TARGETS := aarch64-linux-gnu arm-linux-gnueabihf

ifeq ($(TARGET),host)
CROSS    :=
RUN      :=
else ifneq ($(filter $(TARGET),$(CROSS_TARGETS)),)
CROSS    := $(TARGET)-
ifneq ($(origin CC),command line)
CC       := $(TARGET)-gcc
endif
# qemu-user with Debian's libc6 for that architecture as its sysroot
# (toolchain/deps.sh unpacks it: it has the gconv modules iconv needs; the
# cross toolchain's libc has none). No binfmt registration needed.
QEMU_aarch64-linux-gnu   := qemu-aarch64-static
QEMU_arm-linux-gnueabihf := qemu-arm-static
RUN      := $(QEMU_$(TARGET)) -L $(CURDIR)/build/deps/$(TARGET)-sysroot
else
$(error TARGET=$(TARGET): use host, aarch64-linux-gnu or arm-linux-gnueabihf)
endif

# 32-bit ARM: 64-bit file offsets and inode numbers. Without them readdir()
# fails with EOVERFLOW on a 64-bit kernel (ext4's 64-bit directory offsets),
# and posagent would see its inbox and spool as empty (found under qemu, the
# same as a 32-bit userland on a 64-bit kernel). Only posagent's own code
# needs it: no bundled library takes an off_t or a struct stat from it.
# (_TIME_BITS=64 is not set: libzip's zip_stat_t holds a time_t.)
ifeq ($(TARGET),arm-linux-gnueabihf)
CPPFLAGS += -D_FILE_OFFSET_BITS=64
endif

STRIP    := $(CROSS)strip
OBJCOPY  := $(CROSS)objcopy
READELF  := readelf

# --- the pinned set -----------------------------------------------------------
DEPS      := build/deps/$(TARGET)
DEPS_OK   := $(DEPS)/.ok
DEP_NAMES := curl mbedtls mbedx509 mbedcrypto zip z sqlite3 jansson expat inih csv
DEP_CFLAGS := -I$(DEPS)/include -DCURL_STATICLIB
DEP_LIBS  := $(DEP_NAMES:%=$(DEPS)/lib/lib%.a) -lpthread -lm
ifeq ($(TARGET),host)
CMOCKA_LIBS := -lcmocka
else
CMOCKA_LIBS := $(DEPS)/lib/libcmocka.a
endif

# Built on demand (no root needed once `make deps` installed the tools);
# rebuilt when the pins or the recipe change.
$(DEPS_OK): toolchain/pins toolchain/build-deps.sh toolchain/mbedtls-posagent.h $(wildcard toolchain/patches/*)
	@bash toolchain/build-deps.sh $(TARGET)

# --- reproducible output --------------------------------------------------------
# Same commit, same bytes: no build paths (objects, debug info, __FILE__), no
# dates, and sections the linker can drop when unused.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1704067200)
export SOURCE_DATE_EPOCH
REPRO_CFLAGS  := -ffile-prefix-map=$(CURDIR)=. -ffunction-sections -fdata-sections
REPRO_LDFLAGS := -Wl,--gc-sections -Wl,--build-id=sha1

# Cross builds ship stripped (the terminal gets build/<target>/posagent);
# the debug info stays beside it in posagent.debug for gdb.
ifneq ($(CROSS),)
define POST_LINK
$(Q)$(OBJCOPY) --only-keep-debug $@ $@.debug
$(Q)$(STRIP) --strip-all $@
endef
endif

# --- make size / SOURCES ------------------------------------------------------------
SIZE_LIMIT := 2097152

$(BUILD)/SOURCES: $(DEPS_OK)
	@mkdir -p $(dir $@)
	@cp $(DEPS)/SOURCES $@

# Stripped size against the 2 MB budget, and what the loader must provide.
size: $(BUILD)/posagent $(BUILD)/SOURCES
	@$(STRIP) --strip-all -o $(BUILD)/posagent.stripped $(BUILD)/posagent
	@s=$$(stat -c %s $(BUILD)/posagent.stripped); \
	  echo "$(BUILD)/posagent: $$s bytes stripped (limit $(SIZE_LIMIT))"; \
	  $(READELF) -d $(BUILD)/posagent | grep NEEDED; \
	  rm -f $(BUILD)/posagent.stripped; \
	  test $$s -le $(SIZE_LIMIT) || { echo "size: over the limit" >&2; exit 1; }

# The binary may need only glibc: fails on any other NEEDED entry.
check-needed: $(BUILD)/posagent
	@bad=$$($(READELF) -d $(BUILD)/posagent | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | \
	  grep -Ev '^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|ld-linux[-a-z0-9_]*\.so\.[0-9]+|libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+)$$' || true); \
	  test -z "$$bad" || { echo "$(BUILD)/posagent needs $$bad (only glibc allowed)" >&2; exit 1; }

# Builds posagent twice from scratch in two different directories and
# compares the bytes.
repro-check:
	@bash toolchain/repro-check.sh $(TARGET)

.PHONY: size check-needed repro-check

# --- tests ----------------------------------------------------------------------
# The host runs everything under ASan + UBSan. A cross target runs the plain
# build under qemu-user: the unit tests, the fuzz corpora, the integration
# tests through a wrapper that starts the binary under qemu, and the binary's
# own checks (glibc only, size, byte-identical rebuild).
ifeq ($(CROSS),)
TEST_SAN     := 1
TEST_EXTRA   :=
POSAGENT_RUN := $(BUILD)/posagent
else
TEST_SAN     := 0
TEST_EXTRA   := check-needed size repro-check
POSAGENT_RUN := $(BUILD)/posagent-qemu
$(POSAGENT_RUN): $(BUILD)/posagent
	@printf '#!/bin/sh\n# posagent built for $(TARGET), run under qemu-user\nexec $(RUN) %s "$$@"\n' \
	  '$(abspath $(BUILD)/posagent)' >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@
endif

# Integration tests under qemu. The whole suite takes 15 min under
# qemu-aarch64 on this 2-core machine and its timeout-tuned tests (a stuck
# KKT task, a slow HQ answer, kill -9 mid-sync) fail at emulated speed, so
# a cross target runs a documented subset: imports (CSV, XLSX), profiles,
# config, HQ sync and every TLS test on aarch64; a smoke subset on armhf.
# The daemon, job-control, KKT-gate, crash and fault-loop tests run on the
# host only. Both targets also build their .deb and run the packaged
# binary (test_package_cross.py).
ARM_PYTEST_aarch64-linux-gnu := tests/integration/test_import.py \
  tests/integration/test_import_xlsx.py tests/integration/test_profiles.py \
  tests/integration/test_config.py tests/integration/test_sync.py \
  tests/integration/test_sync_tls.py tests/integration/test_version.py \
  tests/integration/test_package_cross.py
ARM_PYTEST_arm-linux-gnueabihf := tests/integration -k 'test_cross_deb or \
  test_seed_list_creates_ten_products or \
  test_cp1251_russian_names_and_spaced_prices or test_producers_import_alike or \
  test_matching_pin_is_accepted or test_ip_address_url_verifies_against_the_ip_san or \
  test_tls13_only_hq_negotiates_tls13 or test_drain_delivers_every_event_once_in_order'
ifneq ($(CROSS),)
PYTEST_SEL := $(ARM_PYTEST_$(TARGET))
else
PYTEST_SEL := tests/integration
endif
