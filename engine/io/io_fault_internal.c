/*
 * io_fault_internal.c — the fault backend's state that its blocking calls
 * (io_fault.c) and its queue (io_fault_queue.c) both change.  See
 * io_fault_internal.h.
 */
#include <errno.h>
#include <pthread.h>

#include "io/io_fault_internal.h"

int fault_op_begin(struct fault_io *fi)
{
    int rc = 0;
    pthread_mutex_lock(&fi->mu);
    if (fi->dead) {
        rc = -EIO;
    } else {
        fi->ops++;
        if (fi->tripped) {
            rc = -fi->arm_err;
        } else if (fi->arm_n && fi->ops == fi->arm_n) {
            rc = -fi->arm_err;
            fi->tripped = fi->persistent;
        }
    }
    pthread_mutex_unlock(&fi->mu);
    return rc;
}

void fault_durable_at_least(struct fault_io *fi, struct fault_ino *n, uint64_t len)
{
    pthread_mutex_lock(&fi->mu);
    if (n->durable_len < len)
        n->durable_len = len;
    pthread_mutex_unlock(&fi->mu);
}
