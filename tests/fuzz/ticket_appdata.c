/* SPDX-License-Identifier: Apache-2.0 */
/* The binding a Registrar session ticket carries (secctx/resume.c, x.y.4), as the ticket decryption callback
 * parses it: "m2m4\nMECHANISM\nREGISTREE-ID\nCREDENTIAL-ID\nCERT-FINGERPRINT\nVERSION\nSUITE\nENROLMENT\nNOT-AFTER"
 * (ENROLMENT "-" for none). A binding that parses must parse to the same thing again once written back as the
 * ticket generation callback writes it. */
#include <string.h>

#include "fuzz_util.h"
#include "secctx/resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    m2m_candidate c, again;
    char fp[65], fp_again[65], text[1024];
    int n;

    memset(&c, 0, sizeof c);
    if (m2m_resume_parse_appdata((const char *)data, size, &c, fp) != 0)
        return 0;
    FUZZ_CHECK(m2m_mech_index(c.peer.mechanism) >= 0 && c.version > 0 && c.suite > 0);
    FUZZ_CHECK(memchr(c.peer.registree_id, '\0', sizeof c.peer.registree_id) != NULL &&
               memchr(c.peer.key_id, '\0', sizeof c.peer.key_id) != NULL && memchr(fp, '\0', sizeof fp) != NULL &&
               memchr(c.peer.enrol_id, '\0', sizeof c.peer.enrol_id) != NULL && c.peer.not_after >= 0);
    n = snprintf(text, sizeof text, "m2m4\n%s\n%s\n%s\n%s\n%d\n%d\n%s\n%lld", c.peer.mechanism,
                 c.peer.registree_id, c.peer.key_id, fp, c.version, c.suite,
                 c.peer.enrol_id[0] != '\0' ? c.peer.enrol_id : "-", (long long)c.peer.not_after);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof text);
    memset(&again, 0, sizeof again);
    FUZZ_CHECK(m2m_resume_parse_appdata(text, (size_t)n, &again, fp_again) == 0);
    FUZZ_CHECK(memcmp(&c, &again, sizeof c) == 0 && strcmp(fp, fp_again) == 0);
    return 0;
}
