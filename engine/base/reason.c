/* reason.c — see reason.h. */
#include "base/reason.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"
#include "lsm.h"

static _Thread_local char t_reason[REASON_MAX];

int reason_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_reason, sizeof t_reason, fmt, ap);
    va_end(ap);
    log_debug("refused (%d): %s", code, t_reason);
    return code;
}

void reason_clear(void)
{
    t_reason[0] = '\0';
}

const char *reason_text(void)
{
    return t_reason;
}

/* Public (lsm.h): the reason lives here, beside the thread-local. */
const char *lsm_last_error(void)
{
    return t_reason;
}
