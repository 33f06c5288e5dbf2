/*
 * version_builder.h — building versions from edits (version_edit.h).  A
 * builder starts from a base version and applies edits (all deletions of an
 * edit before its additions, so an edit can move a file between levels),
 * then produces a new version.  Used once per version_set_log_and_apply and
 * for a whole MANIFEST replay (one version at the end, not one per edit).
 * Thread safety: one thread at a time.
 */
#ifndef LSM_VERSION_BUILDER_H
#define LSM_VERSION_BUILDER_H

#include "version/version.h"
#include "version/version_edit.h"

typedef struct version_builder version_builder;

/* base may be NULL (empty).  Errors: -ENOMEM. */
int version_builder_new(const version *base, version_builder **out);
/* Errors: LSM_ECORRUPT (the edit deletes a file absent from that level, adds
 * a number already present, or adds an inconsistent file; the reason is in
 * version_builder_why), -ENOMEM.  The builder is unusable after an error. */
int version_builder_apply(version_builder *b, const version_edit *e);
/* A new version (one reference, not linked, id 0).  Errors: LSM_ECORRUPT
 * (overlapping files at a level >= 1), -ENOMEM. */
int version_builder_finish(version_builder *b, version **out);
const char *version_builder_why(const version_builder *b); /* NULL if none */
void version_builder_free(version_builder *b); /* b may be NULL */

#endif
