# mlxn: a plain GNU Makefile.
#   make            library (static and shared), the mlxn CLI, tests, benches
#   make test       every test that needs no GPU (the CPU backend)
#   make test-gpu   the same tests on the CUDA backend (skips without a GPU);
#                   with SANITIZE=1 the op table, the graph replay tests and
#                   a stories260K run under compute-sanitizer (memcheck,
#                   racecheck, synccheck)
#   make bench      microbenchmarks (on the GPU when present)
#   make clean
#   make fuzz, make fuzz-run   libFuzzer targets (fuzz/fuzz.mk)
# Options: CUDA=0/1 (default: 1 when nvcc is found), SANITIZE=address,undefined
# (C code under ASan/UBSan), OPT=-O2, BUILD=build, LINK=static|shared (how the
# CLI, tests and benches link libmlxn; shared keeps one copy of the kernels).

BUILD ?= build
comma := ,
CC ?= cc
OPT ?= -O2
NVCC ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
ifeq ($(origin CUDA),undefined)
CUDA := $(if $(NVCC),1,0)
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))

CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -fPIC -pthread \
          -Iinclude -Isrc -Ikernels -I. -MMD -MP $(EXTRA_CFLAGS)
LDLIBS := -ldl -lpthread -lm
LDFLAGS :=
LINK ?= static
ifeq ($(LINK),shared)
MLXN_LIB := $(BUILD)/libmlxn.so
MLXN_LINK := -L$(BUILD) -lmlxn -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/..'
else
MLXN_LIB := $(BUILD)/libmlxn.a
MLXN_LINK := $(BUILD)/libmlxn.a
endif
ifeq ($(SANITIZE),1)
# SANITIZE=1: host code as usual; make test-gpu runs under compute-sanitizer.
GPU_SANITIZE := 1
else ifneq ($(SANITIZE),)
# gcc leaves float-to-integer overflow out of "undefined" (clang does not).
SANITIZE_ALL := $(SANITIZE)$(if $(findstring undefined,$(SANITIZE)),$(comma)float-cast-overflow)
CFLAGS += -fsanitize=$(SANITIZE_ALL) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE_ALL)
endif

LIB_SRC := $(wildcard src/core/*.c src/graph/*.c src/ops/*.c src/model/*.c \
                      src/backend/cpu/*.c kernels/cpu/*.c)
CU_SRC := $(sort $(wildcard kernels/cuda/*.cu))
CPU_KERNEL_SRC := $(sort $(wildcard kernels/cpu/*.c))
GEN_SRC := $(BUILD)/gen/cpu_kernels.c $(BUILD)/gen/cuda_names.c

ifeq ($(CUDA),1)
CFLAGS += -DMLXN_WITH_CUDA -I$(CUDA_HOME)/include
LIB_SRC += $(wildcard src/backend/cuda/*.c)
GEN_SRC += $(BUILD)/gen/cuda_fatbins.c
FATBINS := $(CU_SRC:kernels/cuda/%.cu=$(BUILD)/cuda/%.fatbin)
NVCCFLAGS := -O3 -std=c++17 -Ikernels -Ikernels/cuda -Xcompiler -Wall \
             -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
             $(EXTRA_NVCCFLAGS)
endif

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard tests/*.c tests/ops/*.c))
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BENCH_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(BENCH_SRC),$(wildcard bench/*.c)))

.PHONY: all test test-gpu bench clean FORCE
all: $(BUILD)/libmlxn.a $(BUILD)/libmlxn.so $(BUILD)/mlxn $(TEST_BIN) $(BENCH_BIN)

$(BUILD)/gen/cpu_kernels.c: $(CPU_KERNEL_SRC) scripts/gen_kernels.sh | $(BUILD)/gen
	@sh scripts/gen_kernels.sh cpu $@ $(CPU_KERNEL_SRC)
$(BUILD)/gen/cuda_names.c: $(CU_SRC) scripts/gen_kernels.sh | $(BUILD)/gen
	@sh scripts/gen_kernels.sh names $@ $(CU_SRC)
$(BUILD)/gen/cuda_fatbins.c: $(FATBINS) scripts/gen_kernels.sh | $(BUILD)/gen
	@sh scripts/gen_kernels.sh fatbin $@ $(FATBINS)
$(BUILD)/obj/gen/cuda_fatbins.o: $(FATBINS)
$(BUILD)/gen:
	@mkdir -p $@

$(BUILD)/cuda/%.fatbin: kernels/cuda/%.cu $(wildcard kernels/cuda/*.cuh kernels/params/*.h)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -fatbin -o $@ $<

# The compiler and its flags are recorded in a stamp that every object
# depends on: changing SANITIZE, OPT, CC or EXTRA_CFLAGS rebuilds the objects
# of this BUILD directory (the stamp is rewritten only when they change).
FLAGS_STAMP := $(BUILD)/flags.stamp
FLAGS_NOW := $(CC) $(CFLAGS) | $(LDFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
FORCE:

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/obj/tests/%.o $(BUILD)/obj/bench/%.o: CFLAGS += -Itests
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libmlxn.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/libmlxn.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mlxn: $(TOOL_OBJ) $(MLXN_LIB)
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(MLXN_LINK) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_SUPPORT_OBJ) $(MLXN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(MLXN_LINK) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_SUPPORT_OBJ) $(MLXN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BENCH_SUPPORT_OBJ) $(MLXN_LINK) $(LDLIBS)

test: $(TEST_BIN) $(BUILD)/mlxn
	@sh scripts/run_tests.sh cpu $(TEST_BIN)

test-gpu: $(TEST_BIN) $(BUILD)/mlxn
ifeq ($(GPU_SANITIZE),1)
	@sh scripts/gpu_sanitize.sh $(BUILD)/tests $(BUILD)/mlxn
else
	@sh scripts/run_tests.sh cuda $(TEST_BIN)
endif

bench: $(BENCH_BIN)
	@set -e; for b in $(BENCH_BIN); do echo "== $$b"; $$b; done

clean:
	rm -rf $(BUILD)

include fuzz/fuzz.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
