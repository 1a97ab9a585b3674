/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL's big buffers in pages of their own (buffer_pages.h). */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secctx/buffer_pages.h"

#define NONE UINT32_MAX
/* Freed slots whose pages stay resident for the next allocation (the most recently freed are taken first); the
 * pages of any freed beyond these go back at once, so that a burst of handshakes does not stay resident. */
#define WARM_FREE 256

typedef struct slot_info {
    const void *owner; /* who may release it (m2m_pages_claim); NULL: nobody */
    uint32_t size;     /* bytes allocated; 0: free */
    uint32_t next;     /* the free list */
    int warm;          /* free with its pages resident */
} slot_info;

struct m2m_pages {
    unsigned char *base; /* nslots * stride bytes of address space, page-aligned */
    size_t stride;       /* M2M_PAGES_SLOT rounded up to whole pages */
    uint32_t nslots, hwm, free_head; /* slots below hwm have been used; the free ones among them are listed */
    uint32_t warm_free;              /* free slots with resident pages */
    slot_info *slots;
    pthread_mutex_t lock;
    unsigned long long in_use, released, fallbacks;
};

m2m_pages *m2m_pages_new(size_t nslots)
{
    long page = sysconf(_SC_PAGESIZE);
    m2m_pages *a;
    if (nslots == 0 || nslots >= NONE || page <= 0 || (a = calloc(1, sizeof *a)) == NULL)
        return NULL;
    a->stride = ((size_t)M2M_PAGES_SLOT + (size_t)page - 1) / (size_t)page * (size_t)page;
    a->nslots = (uint32_t)nslots;
    a->free_head = NONE;
    /* calloc of this size is mapped zero pages too: the bookkeeping of slots never used costs nothing either */
    a->slots = calloc(nslots, sizeof *a->slots);
    a->base = mmap(NULL, nslots * a->stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                   0);
    if (a->slots == NULL || a->base == MAP_FAILED) {
        if (a->base != MAP_FAILED && a->base != NULL)
            munmap(a->base, nslots * a->stride);
        free(a->slots);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

void m2m_pages_free(m2m_pages *a)
{
    if (a == NULL)
        return;
    munmap(a->base, (size_t)a->nslots * a->stride);
    pthread_mutex_destroy(&a->lock);
    free(a->slots);
    free(a);
}

/* The slot p lies in, or -1 (not in the arena). */
static long slot_of(const m2m_pages *a, const void *p)
{
    uintptr_t u = (uintptr_t)p, b = (uintptr_t)a->base;
    if (u < b || u >= b + (uintptr_t)a->nslots * a->stride)
        return -1;
    return (long)((u - b) / a->stride);
}

void *m2m_pages_alloc(m2m_pages *a, size_t n)
{
    uint32_t i = NONE;
    if (n == 0)
        return NULL;
    if (a == NULL || n < M2M_PAGES_MIN || n > M2M_PAGES_SLOT)
        return malloc(n);
    pthread_mutex_lock(&a->lock);
    if (a->free_head != NONE) {
        /* the most recently freed first: its pages are most likely still resident */
        i = a->free_head;
        a->free_head = a->slots[i].next;
        if (a->slots[i].warm)
            a->warm_free--;
    } else if (a->hwm < a->nslots) {
        i = a->hwm++;
    }
    if (i != NONE) {
        a->slots[i].size = (uint32_t)n;
        a->slots[i].owner = NULL;
        a->in_use++;
    } else {
        a->fallbacks++;
    }
    pthread_mutex_unlock(&a->lock);
    return i != NONE ? a->base + (size_t)i * a->stride : malloc(n);
}

void m2m_pages_release_ptr(m2m_pages *a, void *p)
{
    long i = a != NULL && p != NULL ? slot_of(a, p) : -1;
    int warm;
    if (i < 0) {
        free(p);
        return;
    }
    pthread_mutex_lock(&a->lock);
    if (a->slots[i].size == 0) { /* a double free is left alone rather than corrupting the list */
        pthread_mutex_unlock(&a->lock);
        return;
    }
    a->slots[i].size = 0; /* nobody's now: no claim, no release, until it is handed out again */
    a->slots[i].owner = NULL;
    warm = a->warm_free < WARM_FREE;
    a->warm_free += (uint32_t)warm;
    pthread_mutex_unlock(&a->lock);
    /* outside the lock (the slot is on no list yet, so no one else touches it) */
    if (!warm)
        (void)madvise(a->base + (size_t)i * a->stride, a->stride, MADV_DONTNEED);
    pthread_mutex_lock(&a->lock);
    a->slots[i].warm = warm;
    a->slots[i].next = a->free_head;
    a->free_head = (uint32_t)i;
    a->in_use--;
    pthread_mutex_unlock(&a->lock);
}

void *m2m_pages_realloc(m2m_pages *a, void *p, size_t n)
{
    long i;
    void *q;
    if (p == NULL)
        return m2m_pages_alloc(a, n);
    if (n == 0) {
        m2m_pages_release_ptr(a, p);
        return NULL;
    }
    if (a == NULL || (i = slot_of(a, p)) < 0)
        return realloc(p, n); /* a malloc'd block stays one */
    if (n <= M2M_PAGES_SLOT) {
        pthread_mutex_lock(&a->lock);
        a->slots[i].size = (uint32_t)n; /* the slot holds it as it is */
        pthread_mutex_unlock(&a->lock);
        return p;
    }
    if ((q = malloc(n)) == NULL)
        return NULL; /* p is untouched, as realloc leaves it */
    pthread_mutex_lock(&a->lock);
    memcpy(q, p, a->slots[i].size);
    pthread_mutex_unlock(&a->lock);
    m2m_pages_release_ptr(a, p);
    return q;
}

int m2m_pages_claim(m2m_pages *a, const void *p, const void *owner)
{
    long i = a != NULL ? slot_of(a, p) : -1;
    if (i < 0)
        return -1;
    pthread_mutex_lock(&a->lock);
    if (a->slots[i].size != 0 && (const unsigned char *)p < a->base + (size_t)i * a->stride + a->slots[i].size)
        a->slots[i].owner = owner;
    else
        i = -1;
    pthread_mutex_unlock(&a->lock);
    return (int)i;
}

void m2m_pages_unclaim(m2m_pages *a, int slot, const void *owner)
{
    if (a == NULL || slot < 0 || (uint32_t)slot >= a->nslots)
        return;
    pthread_mutex_lock(&a->lock);
    if (a->slots[slot].owner == owner)
        a->slots[slot].owner = NULL;
    pthread_mutex_unlock(&a->lock);
}

int m2m_pages_release(m2m_pages *a, int slot, const void *owner)
{
    int mine;
    if (a == NULL || slot < 0 || (uint32_t)slot >= a->nslots || owner == NULL)
        return 0;
    pthread_mutex_lock(&a->lock);
    mine = a->slots[slot].size != 0 && a->slots[slot].owner == owner;
    pthread_mutex_unlock(&a->lock);
    /* Outside the lock (other threads allocate meanwhile): the slot is the owner's buffer, and only the owner frees
     * it -- on the caller's thread, which is here (buffer_pages.h) -- so it cannot change hands before this. */
    if (!mine || madvise(a->base + (size_t)slot * a->stride, a->stride, MADV_DONTNEED) != 0)
        return 0;
    pthread_mutex_lock(&a->lock);
    a->released++;
    pthread_mutex_unlock(&a->lock);
    return 1;
}

void m2m_pages_stats_read(m2m_pages *a, m2m_pages_stats *out)
{
    memset(out, 0, sizeof *out);
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    out->slots = a->nslots;
    out->in_use = a->in_use;
    out->released = a->released;
    out->fallbacks = a->fallbacks;
    pthread_mutex_unlock(&a->lock);
}

/* ---- OpenSSL's allocator ---- */

static m2m_pages *openssl_pages;

static void *os_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    return m2m_pages_alloc(openssl_pages, n);
}

static void *os_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file, (void)line;
    return m2m_pages_realloc(openssl_pages, p, n);
}

static void os_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    m2m_pages_release_ptr(openssl_pages, p);
}

int m2m_pages_install_openssl(size_t nslots)
{
    m2m_pages *a;
    if (openssl_pages != NULL || (a = m2m_pages_new(nslots)) == NULL)
        return -1;
    /* before CRYPTO_set_mem_functions: OpenSSL may allocate the moment it succeeds (on another thread even) */
    openssl_pages = a;
    if (CRYPTO_set_mem_functions(os_malloc, os_realloc, os_free) != 1) {
        /* too late: OpenSSL has allocated already, and frees with free() what it got from malloc() */
        openssl_pages = NULL;
        m2m_pages_free(a);
        return -1;
    }
    return 0;
}

m2m_pages *m2m_pages_openssl(void)
{
    return openssl_pages;
}
