# tests/fuzz/: libFuzzer targets tests/fuzz/fuzz_X.c (docs/reliability.md).
#   $(B)/fuzz/fuzz_X    clang, ASan+UBSan, libFuzzer; engine and shm compiled
#                       again into $(B)/fuzz/obj/ (make fuzz-build, make fuzz)
#   $(B)/fuzz-replay/fuzz_X  the same LLVMFuzzerTestOneInput with a plain main
#                       (any compiler, no libFuzzer)
#   $(B)/tests/test_fuzz_replay  (make test) replays tests/fuzz/corpus/X/ and
#                       tests/fuzz/regressions/X/ through the replay programs
#   $(B)/fuzz-replay/gen_corpus  writes the seeds with the engine's own writers
#   make fuzz           runs each target FUZZ_SECONDS (scripts/fuzz.sh)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_B       := $(B)/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -pthread -D_GNU_SOURCE -MMD -MP -Iengine -Ishm \
                -Itests/fuzz $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_OBJ := $(ENGINE_SRC:%.c=$(FUZZ_B)/obj/%.o) $(SHM_SRC:%.c=$(FUZZ_B)/obj/%.o) \
                $(FUZZ_B)/obj/tests/fuzz/fuzzkit.o
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(B)/fuzz-replay/fuzz_%)

TESTS    += tests/fuzz/test_fuzz_replay.c
PROGRAMS += $(FUZZ_BIN) $(FUZZ_REPLAY) $(B)/fuzz-replay/gen_corpus

$(FUZZ_B)/obj/%.o: private CC = $(FUZZ_CC)
$(FUZZ_B)/obj/%.o: private CFLAGS = $(FUZZ_CFLAGS)
$(FUZZ_B)/obj/%.o: %.c
	$(compile)
$(FUZZ_BIN): $(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
$(FUZZ_BIN): private CC = $(FUZZ_CC)
$(FUZZ_BIN): private LDFLAGS = $(FUZZ_SAN) -fsanitize=fuzzer

$(B)/obj/tests/fuzz/%.o: CFLAGS += -Itests/fuzz
$(FUZZ_REPLAY): $(B)/fuzz-replay/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(B)/obj/tests/fuzz/replay_main.o \
                $(B)/obj/tests/fuzz/fuzzkit.o $(B)/liblsm.a $(B)/libshm.a
$(B)/fuzz-replay/gen_corpus: $(B)/obj/tests/fuzz/gen_corpus.o $(B)/obj/tests/fuzz/fuzzkit.o \
                             $(B)/liblsm.a $(B)/libshm.a

$(B)/obj/tests/fuzz/test_fuzz_replay.o: CFLAGS += -DFUZZ_SRC_DIR='"$(abspath tests/fuzz)"' \
	-DFUZZ_REPLAY_DIR='"$(abspath $(B))/fuzz-replay"'
# The replay programs are real prerequisites, not order-only: with
# .SECONDARY, a missing order-only one (a new target) was never built.
$(B)/tests/test_fuzz_replay: $(B)/obj/tests/fuzz/test_fuzz_replay.o $(TEST_HELPERS_OBJ) $(FUZZ_REPLAY)
$(B)/tests/test_fuzz_replay: private LIBS = -lcmocka

.PHONY: fuzz fuzz-build fuzz-corpus
fuzz-corpus: $(B)/fuzz-replay/gen_corpus
	LSMD_LOG_LEVEL=error $< tests/fuzz/corpus
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	@scripts/fuzz.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# fuzz_dump_format reads lsmctl's dump files: it links that code too.
$(FUZZ_B)/fuzz_dump_format: $(FUZZ_B)/obj/tools/lsmctl/dump_format.o
$(B)/fuzz-replay/fuzz_dump_format: $(B)/obj/tools/lsmctl/dump_format.o
