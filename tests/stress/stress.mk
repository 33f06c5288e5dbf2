# tests/stress/: the stress driver (docs/reliability.md, "Stress").
#   $(B)/stress         tests/stress/*.c + liblsmd (+ liblsm for killpoint_names);
#                       drives $(B)/lsmd-kp (daemon/daemon.mk)
#   make stress [DURATION=60] [STRESS_FLAGS="--clients 8 --seed N ..."]
#                       kill/restart/verify cycles under nice for DURATION s;
#                       fails on any lost synced write, hole or failed reopen
#   test_stress_smoke (integration, make test) runs it for a few cycles;
#   $(B)/tests/test_stress_oracle (make test) checks the oracle on made-up histories
STRESS_SRC   := $(filter-out tests/stress/test_%.c,$(wildcard tests/stress/*.c))
STRESS_OBJ   := $(STRESS_SRC:%.c=$(B)/obj/%.o)
DURATION     ?= 60
STRESS_FLAGS ?=

TESTS    += tests/stress/test_stress_oracle.c
PROGRAMS += $(B)/stress

$(B)/obj/tests/stress/%.o: CFLAGS += -Itests/stress -DSTRESS_LSMD='"$(abspath $(B))/lsmd-kp"'
$(B)/stress: $(STRESS_OBJ) $(B)/liblsmd.a $(B)/liblsm.a

$(B)/tests/test_stress_oracle: $(B)/obj/tests/stress/test_stress_oracle.o \
                               $(B)/obj/tests/stress/oracle.o $(TEST_HELPERS_OBJ)
$(B)/tests/test_stress_oracle: private LIBS = -lcmocka

$(B)/obj/tests/integration/test_stress_smoke.o: CFLAGS += \
	-DSTRESS_BIN='"$(abspath $(B))/stress"' -DLSMD_KP_BIN='"$(abspath $(B))/lsmd-kp"'
$(B)/tests/test_stress_smoke: | $(B)/stress $(B)/lsmd-kp

.PHONY: stress
stress: $(B)/stress $(B)/lsmd-kp
	nice -n 10 $(B)/stress --lsmd $(B)/lsmd-kp --duration $(DURATION) $(STRESS_FLAGS)
