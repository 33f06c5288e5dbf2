# lsmd — one plain Makefile.  See README.md.
#
#   make                 build/liblsm.a build/liblsm.so build/lsm.pc
#   make test            every cmocka suite (engine ones once per I/O backend)
#   make test SAN=address,undefined | SAN=thread
#   make deps            install missing Debian packages (scripts/deps.sh)
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
SAN     ?=
OPT     ?= -O2

comma := ,
ifeq ($(SAN),)
B := build
else
B := build/san-$(subst $(comma),-,$(SAN))
endif

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow
CFLAGS  := -std=gnu11 $(OPT) -g $(WARN) -fPIC -pthread -D_GNU_SOURCE -MMD -MP -Iengine $(EXTRA_CFLAGS)
LDLIBS  := -luring -lxxhash -lpthread
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

ENGINE_SRC := $(wildcard engine/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/obj/%.o)

TEST_HELPERS_SRC := $(wildcard tests/helpers/*.c)
TEST_HELPERS_OBJ := $(TEST_HELPERS_SRC:%.c=$(B)/obj/%.o)
TEST_SRC  := $(wildcard tests/unit/test_*.c tests/crash/test_*.c)
TEST_BIN  := $(patsubst %.c,$(B)/tests/%,$(notdir $(TEST_SRC)))

.PHONY: all test deps deps-check install clean
all: $(B)/liblsm.a $(B)/liblsm.so $(B)/lsm.pc $(B)/fillbench

# A small timing program for the embedded engine (bench/fillbench.c).
$(B)/fillbench: $(B)/obj/bench/fillbench.o $(B)/liblsm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/liblsm.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/liblsm.so: $(ENGINE_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/lsm.pc: scripts/lsm.pc.in
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|g' $< > $@

# Test programs: tests/{unit,crash}/test_X.c -> $(B)/tests/test_X
vpath test_%.c tests/unit tests/crash
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(TEST_HELPERS_OBJ) $(B)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)
$(B)/tests/test_%: $(B)/obj/tests/crash/test_%.o $(TEST_HELPERS_OBJ) $(B)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(B)/obj/tests/%.o: CFLAGS += -Itests/helpers

test: deps-check all $(TEST_BIN)
	@scripts/run-tests.sh $(B)/tests $(TEST_SRC)

deps:
	@scripts/deps.sh install

deps-check:
	@scripts/deps.sh check-or-install

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(B)/liblsm.a $(B)/liblsm.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 engine/lsm.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/lsm.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:
