# fuzz/fuzz.mk: libFuzzer targets, included by the Makefile.
#   make fuzz                   build build-fuzz/fuzz_* (clang, ASan + UBSan, CUDA=0)
#   make fuzz-run FUZZ_TIME=60  run every target for FUZZ_TIME seconds
# Options: FUZZ_CC (clang), FUZZ_BUILD (build-fuzz), FUZZ_TIME (seconds per
# target), FUZZ_RUNS (executions per target; 0 = until FUZZ_TIME), FUZZ_JOBS
# (targets run at once; default: the number of cores), FUZZ_TARGETS (names,
# default all). Seeds come from ../shared (or MLXN_SHARED), fuzz/seeds/,
# fuzz/make_seeds.c and tests/regress/; see docs/robustness.md.

FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_RUNS ?= 0
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_ALL := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_ALL)

.PHONY: fuzz fuzz-run fuzz-bins
fuzz:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CUDA=0 \
	    SANITIZE=address,undefined EXTRA_CFLAGS=-fsanitize=fuzzer-no-link fuzz-bins

fuzz-bins: $(FUZZ_ALL:%=$(BUILD)/%) $(BUILD)/make_seeds

$(BUILD)/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/libmlxn.a
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libmlxn.a $(LDLIBS)

$(BUILD)/make_seeds: $(BUILD)/obj/fuzz/make_seeds.o $(BUILD)/libmlxn.a
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libmlxn.a $(LDLIBS)

fuzz-run: fuzz
	@sh fuzz/run.sh $(FUZZ_BUILD) "$(FUZZ_TIME)" "$(FUZZ_RUNS)" "$(FUZZ_JOBS)" $(FUZZ_TARGETS)
