# libclient/: the client library (public header libclient/lsmd.h).
#   $(B)/liblsmd.a, $(B)/liblsmd.so  libclient/*.c, the libshm
#                       objects and engine/errors.c (lsmd_strerror falls back to
#                       lsm_strerror); the .so (liblsmd.so.VERSION, SONAME
#                       liblsmd.so.MAJOR) exports lsmd_* only (liblsmd.map)
#   $(B)/public/liblsmd.a  the installed archive: lsmd_* only (Makefile)
#   $(B)/lsmd.pc        pkg-config file, from scripts/lsm.pc.in
#   $(B)/libviz.a       libclient/viz/*.c: the compaction-schedule picture and
#                       the JSON scanning lsmctl and lsmbench share (internal;
#                       not in liblsmd)
CLIENT_SRC := $(wildcard libclient/*.c)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(B)/obj/%.o)
LIBLSMD_OBJ := $(CLIENT_OBJ) $(SHM_OBJ) $(B)/obj/engine/errors.o

VIZ_OBJ    := $(patsubst %.c,$(B)/obj/%.o,$(wildcard libclient/viz/*.c))

ALL_TARGETS     += $(B)/liblsmd.a $(B)/liblsmd.so $(B)/public/liblsmd.a $(B)/lsmd.pc $(B)/libviz.a
INSTALL_LIB     += $(B)/public/liblsmd.a
INSTALL_SO      += liblsmd.so
INSTALL_INCLUDE += libclient/lsmd.h
INSTALL_PC      += $(B)/lsmd.pc

$(B)/obj/libclient/%.o: CFLAGS += -Ishm -Ilibclient
$(B)/liblsmd.a: $(LIBLSMD_OBJ)
$(B)/public/liblsmd.a: $(LIBLSMD_OBJ)
$(B)/public/liblsmd.a: API_PREFIX = lsmd_

$(B)/liblsmd.so.$(LSM_VERSION): $(LIBLSMD_OBJ) libclient/liblsmd.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,liblsmd.so.$(LSM_SOVERSION) \
	  -Wl,--version-script=libclient/liblsmd.map -o $@ $(LIBLSMD_OBJ)

# lsmd.h includes lsm.h (LSM_SYNC, the codes): lsm's Cflags, not its library.
$(B)/lsmd.pc: PC_NAME = lsmd
$(B)/lsmd.pc: PC_DESCRIPTION = client library of the lsmd key-value service
$(B)/lsmd.pc: PC_REQUIRES_PRIVATE = lsm
$(B)/lsmd.pc: PC_LIBS_PRIVATE = -lpthread

$(B)/libviz.a: $(VIZ_OBJ)
