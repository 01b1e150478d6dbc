/* SPDX-License-Identifier: MIT */
/*
 * error.c - goc_strerror, goc_err_name and the version calls.
 */
#include <string.h>

#include "goc.h"

#define GOC__STR(x) #x
#define GOC__XSTR(x) GOC__STR(x)

static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {
    {0, "GOC_OK", "success"},
    {GOC_EPERM, "GOC_EPERM", "operation not permitted here"},
    {GOC_EINVAL, "GOC_EINVAL", "invalid argument"},
    {GOC_ENOMEM, "GOC_ENOMEM", "out of memory"},
    {GOC_EAGAIN, "GOC_EAGAIN", "operation would block"},
    {GOC_EBUSY, "GOC_EBUSY", "a run is already in progress"},
    {GOC_ETIMEDOUT, "GOC_ETIMEDOUT", "deadline exceeded"},
    {GOC_ECANCELED, "GOC_ECANCELED", "context canceled"},
    {GOC_ECLOSED, "GOC_ECLOSED", "use of closed channel or descriptor"},
    {GOC_EOF, "GOC_EOF", "end of file"},
};

const char *goc_strerror(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].text;
    if (code < 0 && code > -4096)
        return strerror(-code); /* a kernel error passed through */
    return "unknown error";
}

const char *goc_err_name(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].name;
    return "GOC_E?";
}

unsigned goc_version(void)
{
    return GOC_VERSION_HEX;
}

const char *goc_version_string(void)
{
    return GOC__XSTR(GOC_VERSION_MAJOR) "." GOC__XSTR(
        GOC_VERSION_MINOR) "." GOC__XSTR(GOC_VERSION_PATCH);
}
