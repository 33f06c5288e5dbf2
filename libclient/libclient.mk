# libclient/: the client library (public header libclient/lsmd.h).
#   $(B)/liblsmd.a, $(B)/liblsmd.so  libclient/*.c, the libshm
#                       objects and engine/errors.c (lsmd_strerror falls back to
#                       lsm_strerror); the .so exports lsmd_* only (liblsmd.map)
#   $(B)/lsmd.pc        pkg-config file
#   $(B)/libviz.a       libclient/viz/*.c: the compaction-schedule picture and
#                       the JSON scanning lsmctl and lsmbench share (internal;
#                       not in liblsmd)
CLIENT_SRC := $(wildcard libclient/*.c)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(B)/obj/%.o)
LIBLSMD_OBJ := $(CLIENT_OBJ) $(SHM_OBJ) $(B)/obj/engine/errors.o

VIZ_OBJ    := $(patsubst %.c,$(B)/obj/%.o,$(wildcard libclient/viz/*.c))

ALL_TARGETS     += $(B)/liblsmd.a $(B)/liblsmd.so $(B)/lsmd.pc $(B)/libviz.a
INSTALL_LIB     += $(B)/liblsmd.a $(B)/liblsmd.so
INSTALL_INCLUDE += libclient/lsmd.h
INSTALL_PC      += $(B)/lsmd.pc

$(B)/obj/libclient/%.o: CFLAGS += -Ishm -Ilibclient
$(B)/liblsmd.a: $(LIBLSMD_OBJ)

$(B)/liblsmd.so: $(LIBLSMD_OBJ) libclient/liblsmd.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,liblsmd.so -Wl,--version-script=libclient/liblsmd.map \
	  -o $@ $(LIBLSMD_OBJ)

$(B)/lsmd.pc:
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: lsmd' 'Description: client library of the lsmd key-value service' \
	  'Version: 0.1' 'Libs: -L$${libdir} -llsmd' 'Cflags: -I$${includedir}' > $@

$(B)/libviz.a: $(VIZ_OBJ)
