# rlhfd — build, dependencies, run, test, bench.
#
#   make          build ./rlhfd
#   make run      install missing packages, build, create the demo world, serve :8080
#   make test     install missing packages, build with -Werror, run every test
#   make bench    throughput figures (training/sampling tokens/s, ratings/s)
#   make demo     train the demo model into build/demo (cached; a few minutes once)
#   make deps     install the Debian packages the build and tests need
#
# Sources are found by wildcard: a new .c file in model/, db/ or server/ is part
# of the binary, a new tests/unit/test_*.c is a test binary.

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 jansson openblas gnutls
DATA    ?= data
PORT    ?= 8080

# The OpenBLAS variant is the OpenMP one (libopenblas-openmp-dev): a GEMM called
# from inside an OpenMP parallel region then runs on one thread, so our own
# per-head / per-sequence parallel loops never oversubscribe the cores.  The rpath
# pins that variant even when another one is the system default.
BLAS_LIBDIR = $(shell pkg-config --variable=libdir openblas 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -march=native -fopenmp -pthread \
           -Wall -Wextra -Werror -Wno-unused-parameter \
           -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -fopenmp -pthread
comma   := ,
LDFLAGS += $(if $(BLAS_LIBDIR),-Wl$(comma)-rpath$(comma)$(BLAS_LIBDIR))

MODEL_SRC  := $(wildcard model/*.c)
DB_SRC     := $(wildcard db/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
LIB_OBJ    := $(patsubst %.c,build/%.o,$(MODEL_SRC) $(DB_SRC) $(SERVER_SRC))
MAIN_OBJ   := build/server/main.o
HEADERS    := $(wildcard model/*.h db/*.h server/*.h tests/*.h)

TEST_SRC   := $(wildcard tests/unit/test_*.c)
TEST_BIN   := $(patsubst tests/unit/%.c,build/tests/%,$(TEST_SRC))

.PHONY: all run test bench deps deps-build deps-test deps-bench clean demo
.DEFAULT_GOAL := all

all: rlhfd

rlhfd: $(LIB_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/tests/%: tests/unit/%.c $(LIB_OBJ) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

tests-bin: $(TEST_BIN)
.PHONY: tests-bin

# ---- dependencies ---------------------------------------------------------
# Each list is checked cheaply (dpkg -s); only what is missing is installed.
# As root: apt-get.  Otherwise: print the exact command and stop.
BUILD_PKGS := gcc make pkg-config libmicrohttpd-dev libsqlite3-dev \
              libjansson-dev libopenblas-openmp-dev libgnutls28-dev
TEST_PKGS  := chromium python3 python3-sentencepiece
BENCH_PKGS := wrk python3-torch

define install_pkgs
	@missing=""; for p in $(1); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
	  else \
	    echo "missing packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi
endef

deps-build:
	$(call install_pkgs,$(BUILD_PKGS))

# node and npm may come from another source than Debian (nodesource bundles npm);
# only when the commands are missing are Debian's packages installed.
deps-test: deps-build
	$(call install_pkgs,$(TEST_PKGS) $(if $(shell command -v node),,nodejs) $(if $(shell command -v npm),,npm))
	@cd tests && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent; }

deps-bench: deps-build
	$(call install_pkgs,$(BENCH_PKGS))

deps: deps-test deps-bench

# ---- the demo model -----------------------------------------------------------
# Trained once by `rlhfd demo model` (corpora, tokenizer, base, sft) and cached in
# build/demo; it is retrained only when the sources that decide its bytes change
# (generators, tables, pipeline, training code).  The manifest is written last,
# so an interrupted build leaves no stale target.
DEMO_DIR := build/demo
DEMO_SRC := server/demo_corpus.c server/demo_world.c server/demo_world.h \
            server/demo_model.c server/demo_model.h model/lmtrain.c model/lmtrain.h \
            model/lmdata.c model/lmdata.h model/llama.c model/llama.h model/llama_layout.c \
            model/adamw.c model/adamw.h model/tokenizer.c model/ops.c model/checkpoint.c

$(DEMO_DIR)/demo.json: $(DEMO_SRC) | rlhfd
	./rlhfd demo model --out $(DEMO_DIR) --force

demo: $(DEMO_DIR)/demo.json

# ---- run / test / bench -----------------------------------------------------
# `rlhfd demo init` is idempotent and instant once done: it copies the cached
# model into $(DATA)/models, registers it, loads the prompts, writes the first
# answers.
run: deps-build
	@$(MAKE) --no-print-directory all demo
	./rlhfd demo init --data $(DATA)
	./rlhfd serve --port $(PORT) --data $(DATA)

test: deps-test
	@$(MAKE) --no-print-directory all tests-bin demo
	@RLHFD_DEMO_MODEL=$(CURDIR)/$(DEMO_DIR) bash tests/run.sh

bench: deps-bench
	@$(MAKE) --no-print-directory all
	@bash tests/bench/run.sh

clean:
	rm -rf build rlhfd
