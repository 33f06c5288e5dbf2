# tools/: the operator's programs.
#   $(B)/lsmctl         the CLI (tools/lsmctl/*.c, a file per command group;
#                       lsmctl.h) + liblsmd + liblsm + libviz
#   tools/completion/lsmctl  bash completion (commands from lsmctl --help)
LSMCTL_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard tools/lsmctl/*.c))

ALL_TARGETS += $(B)/lsmctl
PROGRAMS    += $(B)/lsmctl
INSTALL_BIN += $(B)/lsmctl
INSTALL_COMPLETION += tools/completion/lsmctl

$(B)/obj/tools/%.o: CFLAGS += -Itools/lsmctl -Ilibclient
$(B)/lsmctl: $(LSMCTL_OBJ) $(B)/liblsmd.a $(B)/liblsm.a $(B)/libviz.a
