/*
 * fuzzkit.h — small helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c):
 * a scratch directory, an input reader, checksum fix-ups and a loud failure.
 *
 * Every target defines LLVMFuzzerTestOneInput and is linked two ways (see
 * the Makefile's reliability section): with libFuzzer (clang,
 * -fsanitize=fuzzer) for `make fuzz`, and with replay_main.c as a plain
 * program that `make test` runs over the committed corpus and regression
 * inputs.  docs/reliability.md describes the targets.
 *
 * Thread safety: a fuzz target runs one input at a time on one thread.
 */
#ifndef LSM_FUZZKIT_H
#define LSM_FUZZKIT_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"

/* Runs once per process: quiet logging, the scratch directory.  Call first
 * in every LLVMFuzzerTestOneInput. */
void fk_init(void);

/* The process's scratch directory (created by fk_init, on tmpfs when
 * /dev/shm exists, removed at exit). */
const char *fk_dir(void);

/* fk_dir()/name in a static buffer (valid until the next call). */
const char *fk_path(const char *name);

/* The POSIX backend, shared by every input. */
lsm_io *fk_io(void);

/* Writes exactly the n bytes to path (created or truncated).  Aborts on
 * failure: the harness, not the code under test, is broken then. */
void fk_write_file(const char *path, const void *data, size_t n);

/* Removes every entry of directory path (not path itself); aborts on error.
 * Directories inside are removed recursively. */
void fk_clear_dir(const char *path);

/* A failed property: prints the message and aborts, so libFuzzer keeps the
 * input. */
#define FK_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond))                                                           \
            fk_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                   \
    } while (0)
__attribute__((noreturn, format(printf, 4, 5)))
void fk_fail(const char *file, int line, const char *cond, const char *fmt, ...);

/* Consumes an input front to back; reads past the end yield zeros. */
typedef struct fk_in {
    const uint8_t *p;
    size_t n;
} fk_in;

uint8_t fk_u8(fk_in *in);
uint16_t fk_u16(fk_in *in);
uint32_t fk_u32(fk_in *in);
/* Up to want bytes (fewer at the end of the input), borrowed from it. */
const uint8_t *fk_bytes(fk_in *in, size_t want, size_t *got);

/* Rewrites the CRC of every complete record of a WAL/MANIFEST image in
 * place (docs/wal-format.md), walking the length fields from offset 0.  Lets
 * mutations reach what the checksum guards. */
void fk_fix_wal_crcs(uint8_t *img, size_t n);

/* Rewrites the footer CRC and the trailer CRC of every block the footer and
 * the index name (docs/sstable-format.md), when they lie inside the image. */
void fk_fix_sst_crcs(uint8_t *img, size_t n);

#endif
