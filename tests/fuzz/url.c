/* SPDX-License-Identifier: Apache-2.0 */
/* The endpoint URL parser (util/url.c), which reads the Registrar's point of access and the BSF's URLs from files
 * and options: whatever it accepts must be an endpoint (a host it checked, a port from 1 to 65535, an authority that
 * parses back to the same host and port), and a refusal always says why. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "util/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const m2m_url_scheme SCHEMES[] = {{"https", "443"}, {"coaps", "5684"}, {"http", "80"}};
    char *url = fuzz_cstring(data, size), again[300];
    m2m_url u, v;
    m2m_err err;
    long port;

    m2m_err_clear(&err);
    if (m2m_url_parse(url, SCHEMES, 3, "endpoint", &u, &err) == 0) {
        port = strtol(u.port, NULL, 10);
        FUZZ_CHECK(u.scheme >= 0 && u.scheme < 3 && u.host[0] != '\0' && port >= 1 && port <= 65535);
        snprintf(again, sizeof again, "%s://%s", SCHEMES[u.scheme].name, u.authority);
        FUZZ_CHECK(m2m_url_parse(again, SCHEMES, 3, "endpoint", &v, &err) == 0);
        FUZZ_CHECK(strcmp(u.host, v.host) == 0 && strcmp(u.port, v.port) == 0 && u.scheme == v.scheme);
    } else {
        FUZZ_CHECK(err.code == M2M_E_PARSE && err.msg[0] != '\0');
    }
    free(url);
    return 0;
}
