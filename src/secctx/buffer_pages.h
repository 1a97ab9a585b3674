/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL's big buffers in pages of their own, so that an idle DTLS session hands them back to the kernel.
 *
 * An attached DTLS session that sits idle keeps ~37 KiB in two OpenSSL 3.0 buffers it will not use until its next
 * datagram: the 16.3 KiB record read buffer (SSL_MODE_RELEASE_BUFFERS is ignored for DTLS, and SSL_free_buffers
 * would free the write buffer too, which the 3.0 DTLS writer never allocates again) and the 21.3 KiB handshake
 * buffer, which OpenSSL keeps for a DTLS-over-UDP connection's whole life (tls_finish_handshake frees it only for
 * TLS and SCTP). Neither holds anything once the session is idle: the handshake is over and every datagram read
 * has been consumed (SSL_in_init and SSL_has_pending say so), and the next datagram is written into the buffers
 * before anything is read from them. What no API can do is give their memory back.
 *
 * So OpenSSL's allocations of 12..24 KiB (these two, and TLS's record buffers) come from an arena of 24 KiB slots,
 * page-aligned, with their bookkeeping outside them (CRYPTO_set_mem_functions; everything else goes to malloc as
 * before). A session names its buffers by pointers OpenSSL shows in its message callback (a record header lies in
 * the read buffer, a handshake message in the handshake buffer), claims their slots, and when idle releases them:
 * madvise(MADV_DONTNEED), so the pages leave the resident set and come back zero-filled when next written. The
 * buffers stay allocated and OpenSSL's state untouched; only contents nobody will read are dropped.
 *
 * A slot is released only for the owner that claimed it and only while it is allocated (a free clears the claim):
 * a stale pointer can never zero another session's buffer. */
#ifndef M2M_SECCTX_BUFFER_PAGES_H
#define M2M_SECCTX_BUFFER_PAGES_H

#include <stddef.h>

#define M2M_PAGES_SLOT (24 * 1024) /* the largest allocation a slot takes; from 12 KiB up */
#define M2M_PAGES_MIN (12 * 1024)

typedef struct m2m_pages m2m_pages;

typedef struct m2m_pages_stats {
    unsigned long long slots, in_use, released; /* slots in the arena, allocated now, releases done */
    unsigned long long fallbacks;                /* big allocations the full arena sent to malloc */
} m2m_pages_stats;

/* An arena of nslots slots (address space only: a slot costs memory once written). NULL if it cannot be mapped. */
m2m_pages *m2m_pages_new(size_t nslots);
void m2m_pages_free(m2m_pages *a);
/* malloc/realloc/free: a slot for 12..24 KiB, malloc otherwise (and when the arena is full). */
void *m2m_pages_alloc(m2m_pages *a, size_t n);
void *m2m_pages_realloc(m2m_pages *a, void *p, size_t n);
void m2m_pages_release_ptr(m2m_pages *a, void *p); /* free */
/* The slot holding p (anywhere inside an allocated slot), now claimed for owner; -1 if p is in none. */
int m2m_pages_claim(m2m_pages *a, const void *p, const void *owner);
/* Drops owner's claim on slot (if it still holds it). */
void m2m_pages_unclaim(m2m_pages *a, int slot, const void *owner);
/* Gives the slot's pages back to the kernel (its contents read as zeros afterwards) if it is allocated and claimed
 * by owner: 1 released, 0 not. The caller knows nothing in it will be read before it is written again, and runs on
 * the one thread that can free the owner's buffers (an SSL's, on its worker's loop). */
int m2m_pages_release(m2m_pages *a, int slot, const void *owner);
void m2m_pages_stats_read(m2m_pages *a, m2m_pages_stats *out);

/* The process's arena for OpenSSL (CRYPTO_set_mem_functions), with room for nslots big buffers. Must run before
 * OpenSSL allocates anything; -1 (and everything stays on malloc) if that is too late or the arena cannot be
 * mapped. Once only. */
int m2m_pages_install_openssl(size_t nslots);
/* The arena installed for OpenSSL, or NULL. */
m2m_pages *m2m_pages_openssl(void);

#endif
