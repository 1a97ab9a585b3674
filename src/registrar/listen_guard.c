/* SPDX-License-Identifier: Apache-2.0 */
/* Why a probe bind, and why this one.
 *
 * The workers listen with SO_REUSEPORT so that they can share one port. The kernel lets any other socket of the
 * same user that also sets SO_REUSEPORT join that port, so a second `registrar serve` on the same HOST:PORT starts
 * without an error and the kernel then splits new connections between two Registrars (perhaps with different
 * stores or certificates): a mistake that shows only as odd failures. So before the workers bind, one plain TCP
 * socket WITHOUT SO_REUSEPORT binds the same address: that bind fails with EADDRINUSE when any socket listens on
 * it, whoever owns it and whatever options it set, and it is closed again at once.
 *
 * The probe sets SO_REUSEADDR (the workers do too): without it, connections of a Registrar that stopped a moment
 * ago, still in TIME_WAIT on the port, would make a restart fail for a minute. On Linux SO_REUSEADDR never allows
 * a bind onto a port where a socket is listening, so the check still sees every listener.
 *
 * A lock file next to the store was the other candidate; it answers a different question (another Registrar on
 * the same store), misses a second Registrar with another store on the same port, and is left behind by a crash.
 *
 * What it does not do: two Registrars started at the same instant can both pass the probe before either listens;
 * it guards against starting a second one next to a running one, the operator's mistake. Port 0 is not checked:
 * the kernel gives each listener on port 0 a port of its own.
 *
 * The CoAPS port is UDP: libcoap binds it with SO_REUSEADDR, and two UDP sockets that both set it may share an
 * address on Linux (datagrams then go to one of them). The UDP probe sets nothing, so its bind fails on any socket
 * bound there. */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registrar/listen_guard.h"

static int probe(const char *host, const char *port, int socktype, const char *opt, m2m_err *err)
{
    struct addrinfo hints = {0}, *ai = NULL;
    int fd = -1, one = 1, rc = -1, gai;

    if (port == NULL || port[0] == '\0' || strcmp(port, "0") == 0)
        return 0;
    /* The same resolution as the workers' (server.c): they listen on the first address returned. */
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0)
        return m2m_fail(err, M2M_E_ARG, "cannot resolve listen address %s: %s", host ? host : "*", gai_strerror(gai));
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        m2m_fail(err, M2M_E_IO, "cannot check listen address %s:%s: %s", host, port, strerror(errno));
        goto done;
    }
    if (socktype == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        m2m_fail(err, M2M_E_IO, "cannot check listen address %s:%s: %s", host, port, strerror(errno));
        goto done;
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno == EADDRINUSE)
            m2m_fail(err, M2M_E_EXISTS, "%s:%s%s is already in use by another process (another Registrar?): stop "
                     "it, or give this one another address with %s HOST:PORT", host, port,
                     socktype == SOCK_DGRAM ? " (UDP)" : "", opt);
        else
            m2m_fail(err, M2M_E_IO, "cannot listen on %s:%s: %s", host, port, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

int m2m_listen_guard(const char *host, const char *port, m2m_err *err)
{
    return probe(host, port, SOCK_STREAM, "--https", err);
}

int m2m_listen_guard_dgram(const char *host, const char *port, m2m_err *err)
{
    return probe(host, port, SOCK_DGRAM, "--coaps", err);
}
