# Weir — build, test, lint, local cluster, demo, benchmarks.
#
# GNU make only. Sources are discovered by convention, so adding a module needs no edit here:
#   lib/**.c                   -> libweir.a        (shared building blocks)
#   operator/**.c but main.c   -> liboperator.a    (+ operator/main.c -> build/bin/weir-operator)
#   runtime/**.c  but main.c   -> libruntime.a     (+ runtime/main.c  -> build/bin/weir)
#   */tests/test_*.c           unit tests (cmocka, ASan+UBSan), one binary each
#   */tests/itest_*.c          integration tests (cmocka, ASan+UBSan) against the local apiserver
#   */tests/fuzz_*.c           libFuzzer targets; corpora in */tests/corpus/<target>/, replayed
#   */tests/*.c (other names)  test support code linked into every test binary
#
# The public targets first make sure the Debian packages are installed (`deps`), then run a
# second make that sees them (pkg-config is evaluated there).

SHELL := /bin/bash
.DEFAULT_GOAL := all
.SUFFIXES:
# Keep object files of test binaries (intermediate in pattern chains) for incremental builds.
.SECONDARY:

ROOT := $(abspath .)
# V=1 prints full compiler command lines.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif
BUILD ?= build
TAG ?= dev
export WEIR_CACHE ?= $(HOME)/.cache/weir

PUBLIC := all build test test-unit test-integration test-e2e lint format cluster-up cluster-down \
          demo demo-down bench clean deps fuzz images

.PHONY: $(PUBLIC) san-binaries san-binaries-inner binaries unit-build integration-build fuzz-build inner-lint

# ---------------------------------------------------------------------------------------------
# Public targets

deps:
	@bash scripts/deps.sh

all build: deps
	@$(MAKE) --no-print-directory binaries

test: deps
	@$(MAKE) --no-print-directory binaries unit-build integration-build fuzz-build
	@bash scripts/run-tests.sh unit integration e2e

test-unit: deps
	@$(MAKE) --no-print-directory unit-build fuzz-build
	@bash scripts/run-tests.sh unit

test-integration: deps
	@$(MAKE) --no-print-directory binaries integration-build
	@bash scripts/run-tests.sh integration

test-e2e: deps
	@$(MAKE) --no-print-directory binaries
	@bash scripts/run-tests.sh e2e

lint: deps
	@$(MAKE) --no-print-directory inner-lint

san-binaries: deps
	@$(MAKE) --no-print-directory san-binaries-inner

format:
	@clang-format -i $(C_FILES)

images: deps
	@TAG=$(TAG) bash scripts/images.sh

cluster-up: deps
	@bash e2e/cluster/up.sh

cluster-down:
	@bash e2e/cluster/down.sh

demo: deps
	@if [ -x e2e/demo/demo.sh ]; then bash e2e/demo/demo.sh; else \
	  echo "make demo: not available yet — it needs the operator core, runtime and images" \
	       "(issues 5-9); see README 'What does not work yet'." >&2; exit 1; fi

demo-down:
	@if [ -x e2e/demo/demo-down.sh ]; then bash e2e/demo/demo-down.sh; else bash e2e/cluster/down.sh; fi

bench: deps
	@$(MAKE) --no-print-directory binaries
	@found=0; for b in bench/*/run.sh; do [ -f "$$b" ] || continue; found=1; \
	  echo "== $$b"; bash "$$b" || exit 1; done; \
	  [ $$found = 1 ] || echo "bench: no benchmarks yet"

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@bash scripts/run-tests.sh fuzz-explore

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------------------------------------
# Sources

find_c = $(shell find $(1) -name '*.c' $(2) 2>/dev/null | LC_ALL=C sort)

LIB_SRCS := $(call find_c,lib,-not -path '*/tests/*')
OP_SRCS  := $(call find_c,operator,-not -path '*/tests/*' -not -path operator/main.c)
RT_SRCS  := $(call find_c,runtime,-not -path '*/tests/*' -not -path runtime/main.c)
TEST_DIRS_SRCS := $(shell find lib operator runtime -path '*/tests/*.c' 2>/dev/null | LC_ALL=C sort)
UNIT_SRCS  := $(filter %.c,$(foreach f,$(TEST_DIRS_SRCS),$(if $(filter test_%,$(notdir $(f))),$(f))))
ITEST_SRCS := $(filter %.c,$(foreach f,$(TEST_DIRS_SRCS),$(if $(filter itest_%,$(notdir $(f))),$(f))))
FUZZ_SRCS  := $(filter %.c,$(foreach f,$(TEST_DIRS_SRCS),$(if $(filter fuzz_%,$(notdir $(f))),$(f))))
SUPPORT_SRCS := $(filter-out $(UNIT_SRCS) $(ITEST_SRCS) $(FUZZ_SRCS),$(TEST_DIRS_SRCS))
C_FILES := $(shell find lib operator runtime bench e2e -name '*.[ch]' -not -path '*/corpus/*' 2>/dev/null | LC_ALL=C sort)

# ---------------------------------------------------------------------------------------------
# Flags

PKGS := libcurl jansson yaml-0.1 libmicrohttpd openssl rdkafka rocksdb
# Empty in the outer make on a machine without the packages yet; the inner make sees them.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wno-format-truncation
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -I$(BUILD)/gen $(WARN) $(PKG_CFLAGS) -MMD -MP
REL_CFLAGS  := $(BASE_CFLAGS) -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS  := $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) -DWEIR_TESTING=1
FUZZ_CC     := clang
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
               -fno-omit-frame-pointer -DWEIR_TESTING=1 -DWEIR_FUZZING=1 -Wno-unknown-warning-option

# ---------------------------------------------------------------------------------------------
# Release build

REL := $(BUILD)/release
rel_obj = $(patsubst %.c,$(REL)/obj/%.o,$(1))

$(REL)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@

$(REL)/libweir.a: $(call rel_obj,$(LIB_SRCS))
$(REL)/liboperator.a: $(call rel_obj,$(OP_SRCS))
$(REL)/libruntime.a: $(call rel_obj,$(RT_SRCS))
$(REL)/%.a:
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

REL_LIBS := $(REL)/liboperator.a $(REL)/libruntime.a $(REL)/libweir.a

$(BUILD)/bin/weir-operator: $(call rel_obj,operator/main.c) $(REL_LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $< $(REL)/liboperator.a $(REL)/libweir.a $(PKG_LIBS)

$(BUILD)/bin/weir: $(call rel_obj,runtime/main.c) $(REL_LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $< $(REL)/libruntime.a $(REL)/libweir.a $(PKG_LIBS)

binaries: $(BUILD)/bin/weir-operator $(BUILD)/bin/weir

# ---------------------------------------------------------------------------------------------
# Sanitizer build for unit and integration tests

SAN := $(BUILD)/san
san_obj = $(patsubst %.c,$(SAN)/obj/%.o,$(1))

$(SAN)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC-SAN,$<)
	$(Q)$(CC) $(SAN_CFLAGS) -c $< -o $@

$(SAN)/libweir.a: $(call san_obj,$(LIB_SRCS))
$(SAN)/liboperator.a: $(call san_obj,$(OP_SRCS))
$(SAN)/libruntime.a: $(call san_obj,$(RT_SRCS))
$(SAN)/libsupport.a: $(call san_obj,$(SUPPORT_SRCS))
$(SAN)/%.a:
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

SAN_LIBS := $(SAN)/libsupport.a $(SAN)/libruntime.a $(SAN)/liboperator.a $(SAN)/libweir.a

$(SAN)/tests/%: $(SAN)/obj/%.o $(SAN_LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(SAN_CFLAGS) -o $@ $< $(SAN_LIBS) $(PKG_LIBS) $(CMOCKA_LIBS)

# The binaries under ASan+UBSan, for running the process-level tests against them:
#   make san-binaries && WEIR_BIN=build/san/bin/weir e2e/integration/distributed/test_distributed.sh
$(SAN)/bin/weir: $(SAN)/obj/runtime/main.o $(SAN)/libruntime.a $(SAN)/libweir.a
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

$(SAN)/bin/weir-operator: $(SAN)/obj/operator/main.o $(SAN)/liboperator.a $(SAN)/libweir.a
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

san-binaries-inner: $(SAN)/bin/weir $(SAN)/bin/weir-operator

UNIT_BINS  := $(patsubst %.c,$(SAN)/tests/%,$(UNIT_SRCS))
ITEST_BINS := $(patsubst %.c,$(SAN)/tests/%,$(ITEST_SRCS))

unit-build: $(UNIT_BINS)
integration-build: $(ITEST_BINS)

# ---------------------------------------------------------------------------------------------
# libFuzzer targets (clang)

FZ := $(BUILD)/fuzz
fz_obj = $(patsubst %.c,$(FZ)/obj/%.o,$(1))

$(FZ)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC-FUZ,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FZ)/libweir.a: $(call fz_obj,$(LIB_SRCS))
$(FZ)/liboperator.a: $(call fz_obj,$(OP_SRCS))
$(FZ)/libruntime.a: $(call fz_obj,$(RT_SRCS))
$(FZ)/%.a:
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

FZ_LIBS := $(FZ)/libruntime.a $(FZ)/liboperator.a $(FZ)/libweir.a

$(FZ)/bin/%: $(FZ)/obj/%.o $(FZ_LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FZ_LIBS) $(PKG_LIBS)

FUZZ_BINS := $(patsubst %.c,$(FZ)/bin/%,$(FUZZ_SRCS))
fuzz-build: $(FUZZ_BINS)

# ---------------------------------------------------------------------------------------------
# Lint: clang-format check and cppcheck on every C file, generated CRDs up to date; helm lint
# once a chart exists.

inner-lint:
	@echo "lint: clang-format ($(words $(C_FILES)) files)"
	@clang-format --dry-run --Werror $(C_FILES)
	@echo "lint: cppcheck"
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem --library=scripts/cppcheck.cfg -I. -D__GNUC__ \
	  $(filter %.c,$(C_FILES))
	@echo "lint: CRDs match crds/generate.py"
	@/usr/bin/python3 crds/generate.py --check
	@if [ -d helm/weir-operator ]; then bash scripts/helm-lint.sh; fi
	@echo "lint: ok"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
