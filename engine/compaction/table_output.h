/*
 * table_output.h — writing one new table file and describing it as a
 * file_meta: the step shared by a flush (memtable -> L0) and a compaction
 * (inputs -> outputs).
 *
 * The file is numbered from the version set, written through the I/O
 * layer and fdatasynced by finish; making its name durable (sync_dir) and
 * recording it in the MANIFEST are the caller's next steps.
 * Thread safety: one table_output per thread.
 */
#ifndef LSM_TABLE_OUTPUT_H
#define LSM_TABLE_OUTPUT_H

#include <stdint.h>

#include "io/io.h"
#include "base/slice.h"
#include "table/sstable_builder.h"
#include "version/version.h"
#include "version/version_set.h"

typedef struct table_output {
    sst_builder *b;
    uint64_t number;
    char *path;
} table_output;

/* Creates the next numbered table in dir.  Errors: -errno, -ENOMEM. */
int table_output_open(lsm_io *io, const char *dir, version_set *vs, const sst_options *o,
                      table_output *t);

/* REQUIRES: ikey greater than every key added before.  Errors: -errno. */
static inline int table_output_add(table_output *t, slice ikey, slice value)
{
    return sst_builder_add(t->b, ikey, value);
}

static inline uint64_t table_output_size(const table_output *t)
{
    return sst_builder_file_size(t->b);
}

/* Writes the table's tail, syncs it and returns its description (one ref,
 * for the caller).  On error the file is removed.  Frees t's resources in
 * every case. */
int table_output_finish(table_output *t, file_meta **out);

/* Removes the unfinished file; frees t's resources. */
void table_output_abandon(table_output *t);

#endif
