/* SPDX-License-Identifier: Apache-2.0 */
/* Why this file overrides one libcoap function.
 *
 * Every oneM2M CoAP option (TS-0008 table 6.2.2.4.0-1: From 279, RQI 283, TY 267, RVI 271, ...) is critical and
 * numbered above 255. A CoAP server must refuse a request carrying a critical option it does not know (RFC 7252
 * 5.4.1: 4.02 Bad Option), and libcoap does so before any handler runs: it looks each critical option up in the
 * context's known-options filter, which coap_register_option fills. That filter is a coap_opt_filter_t, and in
 * libcoap 4.3.1 (and its development branch) it has room for two option numbers above 255
 * (COAP_OPT_FILTER_LONG = 2): a third coap_register_option of a long option is silently dropped. So a libcoap
 * server can accept From and RQI, but then refuses any request that also carries TY or RVI -- every oneM2M CREATE.
 *
 * libcoap looks the filter up through coap_option_filter_get, an exported function it calls through its PLT. This
 * file defines a function of that name in the executable; the dynamic linker binds libcoap's calls to it. It asks
 * libcoap's own implementation (dlsym RTLD_NEXT) and changes one answer only: asked whether a filter that knows
 * both oneM2M-FR and oneM2M-RQI -- the two we really register, so only a context's known-options filter set up by
 * m2m_coap_register_options -- knows another oneM2M option, it says yes. Every other filter and every other option
 * gets libcoap's answer unchanged. m2m_coap_register_options checks that the override is the one in effect and
 * refuses to start otherwise, so a libcoap that stopped calling it through the PLT fails loudly, not with 4.02 to
 * every device. The mapping (binding/coap_map.c) then checks every oneM2M option itself. */
#include <coap3/coap.h>
#include <dlfcn.h>
#include <pthread.h>

#include "binding/coap_map.h"
#include "registrar/coap.h"

typedef int (*filter_get_fn)(coap_opt_filter_t *filter, coap_option_num_t number);

static filter_get_fn libcoap_get;
static pthread_once_t find_once = PTHREAD_ONCE_INIT;

static void find_libcoap(void)
{
    /* the next definition after this executable's: libcoap's */
    libcoap_get = (filter_get_fn)dlsym(RTLD_NEXT, "coap_option_filter_get");
}

static int onem2m_option(coap_option_num_t number)
{
    for (size_t i = 0; i < m2m_coap_onem2m_noptions; i++)
        if (m2m_coap_onem2m_options[i] == number)
            return 1;
    return 0;
}

/* Exported whatever the build's default visibility (the libraries hide everything but the public API): libcoap's
 * call must find this definition first. abi/registrar.map lists it for the shared library. */
__attribute__((visibility("default"))) int coap_option_filter_get(coap_opt_filter_t *filter,
                                                                  coap_option_num_t number)
{
    int r;
    pthread_once(&find_once, find_libcoap);
    if (libcoap_get == NULL)
        return 0;
    r = libcoap_get(filter, number);
    if (r > 0 || number == M2M_COAP_OPT_FR || number == M2M_COAP_OPT_RQI || !onem2m_option(number))
        return r;
    return libcoap_get(filter, M2M_COAP_OPT_FR) > 0 && libcoap_get(filter, M2M_COAP_OPT_RQI) > 0 ? 1 : r;
}

int m2m_coap_register_options(coap_context_t *ctx, m2m_err *err)
{
    coap_opt_filter_t probe;
    pthread_once(&find_once, find_libcoap);
    /* the override must be what libcoap calls: the process-wide definition, with libcoap's own behind it */
    if (libcoap_get == NULL || (filter_get_fn)dlsym(RTLD_DEFAULT, "coap_option_filter_get") != coap_option_filter_get)
        return m2m_fail(err, M2M_E_ARG, "cannot extend libcoap's known CoAP options (oneM2M options are critical and "
                                        "libcoap 4.3.1 knows two above 255): coap_option_filter_get is not ours");
    coap_option_filter_clear(&probe);
    coap_option_filter_set(&probe, M2M_COAP_OPT_FR);
    coap_option_filter_set(&probe, M2M_COAP_OPT_RQI);
    if (coap_option_filter_get(&probe, M2M_COAP_OPT_TY) <= 0)
        return m2m_fail(err, M2M_E_ARG, "cannot extend libcoap's known CoAP options");
    coap_register_option(ctx, M2M_COAP_OPT_FR);
    coap_register_option(ctx, M2M_COAP_OPT_RQI);
    return 0;
}
