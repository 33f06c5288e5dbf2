# man/: the man pages, generated at build time from man/*.in: the flags and
# commands are each program's own --help text (scripts/gen-man.sh), so a
# new flag reaches its page with no second list; lsm(3) lists lsm.h's
# declarations.
#   $(B)/man/lsmd.8 lsmctl.1 lsmbench.1 lsm.3   installed to share/man/manN
MAN_PAGES := $(B)/man/lsmd.8 $(B)/man/lsmctl.1 $(B)/man/lsmbench.1 $(B)/man/lsm.3

ALL_TARGETS += $(MAN_PAGES)
INSTALL_MAN += $(MAN_PAGES)

$(B)/man/lsmd.8: $(B)/lsmd
$(B)/man/lsmctl.1: $(B)/lsmctl
$(B)/man/lsmbench.1: $(B)/lsmbench
$(B)/man/lsm.3: MAN_SOURCE = --header engine/lsm.h
$(B)/man/lsm.3: engine/lsm.h
$(B)/man/%: man/%.in scripts/gen-man.sh
	@mkdir -p $(dir $@)
	scripts/gen-man.sh $< $(LSM_VERSION) $(or $(MAN_SOURCE),$(filter $(B)/ls%,$^)) > $@.tmp
	@mv $@.tmp $@
