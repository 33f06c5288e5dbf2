# bench/: lsmbench and fillbench.
#   $(B)/lsmbench       lsmbench.c + libbench.a (bench/*.c but fillbench.c and
#                       lsmbench.c) + liblsmd + liblsm; the rocksdb target (and
#                       -lrocksdb) only when /usr/include/rocksdb/c.h exists
#                       (librocksdb-dev), likewise lmdb (liblmdb-dev, lmdb.h)
#                       + libviz.a (libclient/viz/, shared with lsmctl);
#                       rebuilt when that choice changes ($(B)/bench-features)
#   $(B)/fillbench      a small timing program for the embedded engine
#   make bench          a short side-by-side comparison (scripts/bench.sh)
#   make bench-build    installs the bench packages (deps.sh bench), then
#                       builds lsmbench in a second make that sees them
#   make bench-cold     the out-of-memory case beside fio's figures from the
#                       same run (scripts/bench-cold.sh; root; installs fio;
#                       BENCH_COLD_* settings there)
# BENCH_INCLUDE: where the headers are looked for (the fresh-clone test
# points it at a directory its stand-in deps.sh fills).
BENCH_INCLUDE ?= /usr/include
HAVE_ROCKSDB  := $(if $(wildcard $(BENCH_INCLUDE)/rocksdb/c.h),1,)
HAVE_LMDB     := $(if $(wildcard $(BENCH_INCLUDE)/lmdb.h),1,)
BENCH_SRC     := $(filter-out bench/fillbench.c bench/lsmbench.c \
                   $(if $(HAVE_ROCKSDB),,bench/target_rocksdb.c) \
                   $(if $(HAVE_LMDB),,bench/target_lmdb.c),$(wildcard bench/*.c))
BENCH_OBJ     := $(BENCH_SRC:%.c=$(B)/obj/%.o)
BENCH_LIBS    := -linih $(if $(HAVE_ROCKSDB),-lrocksdb) $(if $(HAVE_LMDB),-llmdb)

ALL_TARGETS += $(B)/fillbench $(B)/lsmbench
PROGRAMS    += $(B)/fillbench $(B)/lsmbench
INSTALL_BIN += $(B)/lsmbench

# The feature choice as a file, rewritten only when it changes: lsmbench's
# objects depend on it, so a build after `make deps` installed RocksDB
# compiles its target in instead of keeping the lsmbench built without.
BENCH_FEATURES := rocksdb=$(HAVE_ROCKSDB) lmdb=$(HAVE_LMDB)
$(B)/bench-features: FORCE
	@mkdir -p $(B)
	@echo '$(BENCH_FEATURES)' | cmp -s - $@ || echo '$(BENCH_FEATURES)' > $@
$(BENCH_OBJ) $(B)/obj/bench/lsmbench.o: $(B)/bench-features
.PHONY: FORCE
FORCE:

$(B)/obj/bench/%.o: CFLAGS += -Ibench -Ilibclient $(if $(HAVE_ROCKSDB),-DLSMBENCH_ROCKSDB) \
	$(if $(HAVE_LMDB),-DLSMBENCH_LMDB)
$(B)/libbench.a: $(BENCH_OBJ)
$(B)/fillbench: $(B)/obj/bench/fillbench.o $(B)/liblsm.a
$(B)/lsmbench: $(B)/obj/bench/lsmbench.o $(B)/libbench.a $(B)/libviz.a $(B)/liblsmd.a $(B)/liblsm.a
$(B)/lsmbench: LIBS = $(BENCH_LIBS) $(LDLIBS)

# make bench: the six db_bench workloads; fills write BENCH_NUM keys, reads do
# BENCH_READS operations; the daemon gets the same engine settings.
# BENCH_DIRECT=1 runs every column with direct I/O (embedded and lsmd
# use_direct_io, RocksDB direct reads and flush/compaction; no lmdb column).
BENCH_NUM   ?= 1000000
BENCH_READS ?= 200000
BENCH_LIST  ?= fillseq,fillrandom,overwrite,readrandom,readseq,seekrandom
BENCH_DB    := --memtable-bytes 64M --cache-bytes 64M --bloom-bits 10
BENCH_FLAGS ?= --num $(BENCH_NUM) --reads $(BENCH_READS) --key-size 16 --value-size 100 \
	--seek-nexts 10 --iodepth 32 $(BENCH_DB) --benchmarks $(BENCH_LIST) \
	$(if $(BENCH_DIRECT),--direct-io)

.PHONY: bench bench-build bench-now
bench-build:
	@$(DEPS_SH) check-or-install bench
	@$(SUBMAKE) $(B)/lsmbench
bench: bench-build
	@$(SUBMAKE) bench-now
bench-now: $(B)/lsmbench
	@HAVE_ROCKSDB=$(HAVE_ROCKSDB) HAVE_LMDB=$(HAVE_LMDB) BENCH_DIRECT=$(BENCH_DIRECT) \
	  scripts/bench.sh $(B) $(BENCH_FLAGS)

# make bench-cold: lsmbench --cold (readrandom depth 1, multireadrandom batch
# 32, a full compaction) and fio on the same file system, in one table.
.PHONY: bench-cold
bench-cold: $(B)/lsmbench
	@scripts/deps.sh check-or-install fio
	@scripts/bench-cold.sh $(B)

# make bench-service: the daemon beside its anchors (fio, the embedded
# engine): cold gets and multi-gets, a cold scan beside in-memory gets,
# synced puts from 8 processes, depth-1 gets (scripts/bench-service.sh;
# root; reuses make bench-cold's database and fio file).
.PHONY: bench-service
bench-service: $(B)/lsmbench $(B)/lsmd
	@scripts/deps.sh check-or-install fio
	@scripts/bench-service.sh $(B)
