# tests/numa/: NUMA placement in a QEMU guest with a real NUMA topology
# (docs/tuning.md, "NUMA").
#   $(B)/tests/numa_guest   the tests that run inside the guest: a real lsmd,
#                           itself as the client, placement read back from
#                           the kernel (tests/numa/numa_guest.c)
#   $(B)/tests/test_numa    the host side, in make test: boots the guest with
#                           2 nodes, then 4 nodes with uneven CPUs
#                           (tests/numa/guest.sh), shows and checks the
#                           results; exit 77 with the reason when QEMU, a
#                           kernel image or busybox is missing, and in a
#                           sanitizer build (the guest runs in the plain one)
#   make test-numa          only that
NUMA_GUEST := $(B)/tests/numa_guest

TESTS    += tests/numa/test_numa.c
PROGRAMS += $(NUMA_GUEST)

$(NUMA_GUEST): $(B)/obj/tests/numa/numa_guest.o $(ITEST_HELPERS_OBJ) $(TEST_HELPERS_OBJ) \
	$(B)/liblsmd.a $(B)/liblsm.a
$(NUMA_GUEST): private LIBS = -lcmocka $(DAEMON_LIBS) $(LDLIBS)
$(B)/obj/tests/numa/numa_guest.o: CFLAGS += -Itests/integration

$(B)/tests/test_numa: $(B)/obj/tests/numa/test_numa.o $(TEST_HELPERS_OBJ)
$(B)/tests/test_numa: private LIBS = -lcmocka
$(B)/tests/test_numa: | $(NUMA_GUEST) $(B)/lsmd
$(B)/obj/tests/numa/test_numa.o: CFLAGS += -DNUMA_GUEST_SH='"$(abspath tests/numa/guest.sh)"' \
	-DNUMA_GUEST_BIN='"$(abspath $(NUMA_GUEST))"'

.PHONY: test-numa
test-numa: $(B)/tests/test_numa
	$(B)/tests/test_numa
