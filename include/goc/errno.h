/* SPDX-License-Identifier: MIT */
/* goc error codes: one code space, as libuv's. Kernel failures pass through
 * as -errno; conditions that only goc knows get values below the errno range
 * (the kernel's errno values end at 4095). */
#ifndef GOC_ERRNO_H
#define GOC_ERRNO_H

#include <errno.h>

#define GOC_EPERM     (-EPERM)     /* no runtime, or the wrong kind of thread */
#define GOC_EINVAL    (-EINVAL)    /* bad argument */
#define GOC_ENOMEM    (-ENOMEM)    /* out of memory (also: no stack could be mapped) */
#define GOC_EAGAIN    (-EAGAIN)    /* a `try` call would block */
#define GOC_EBUSY     (-EBUSY)     /* already started: goc_run during a run, a sent HTTP head */
#define GOC_ETIMEDOUT (-ETIMEDOUT) /* a deadline passed */
#define GOC_ECANCELED (-ECANCELED) /* a context was canceled */
#define GOC_ECLOSED   (-5001)      /* channel or descriptor closed */
#define GOC_EOF       (-5002)      /* end of stream */
#define GOC_E2BIG     (-E2BIG)     /* too large: an HTTP head or body over its limit */
#define GOC_EDEADLK   (-EDEADLK)   /* a synctest bubble deadlocked */
#define GOC_EPROTO    (-EPROTO)    /* a peer broke the protocol (a malformed HTTP message) */

#endif /* GOC_ERRNO_H */
