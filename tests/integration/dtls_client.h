/* SPDX-License-Identifier: Apache-2.0 */
/* A DTLS 1.2 + CoAP client for the integration tests that can say anything: OpenSSL does the DTLS (over a
 * connected UDP socket through a BIO that keeps what it sent, so a test can replay it), and the CoAP messages are
 * built and read here, byte by byte, so a test can send options a well-behaved Registree never would. */
#ifndef M2M_TEST_DTLS_CLIENT_H
#define M2M_TEST_DTLS_CLIENT_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

typedef struct h_dtls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    char identity[128];
    unsigned char key[64];
    size_t key_len;
    uint16_t mid;
    uint8_t token;
    unsigned char last[2048]; /* the last datagram sent */
    size_t last_len;
    unsigned char request[2048]; /* the datagram of the last request (for replays) */
    size_t request_len;
    unsigned char msg[4096];  /* the last CoAP request, its Message ID (for retransmissions) */
    size_t msg_len;
    uint16_t msg_mid;
    int closed;               /* the Registrar closed the session (close_notify or a fatal alert) */
} h_dtls;

/* For the next h_dtls_connect_*: the cipher list (NULL: PSK-AES128-CCM8, or ECDHE-ECDSA-AES128-CCM8 with
 * certificates), and a session to resume (consumed). */
extern const char *h_dtls_ciphers;
extern SSL_SESSION *h_dtls_next_session;
/* How long a handshake may take before the client gives up (default 3000 ms). */
extern int h_dtls_handshake_ms;
/* The client's UDP port for the next connections (0: any), as a device with a fixed port has. */
extern int h_dtls_local_port;
/* More SSL options for the next connections (e.g. SSL_OP_NO_EXTENDED_MASTER_SECRET, as a device stack without
 * RFC 7627 has). */
extern uint64_t h_dtls_ssl_options;

/* DTLS-PSK with the key ID of key_hex for id. 0 when the handshake completed in time. */
int h_dtls_connect_psk(h_dtls *t, int port, const char *id, const char *key_hex);
int h_dtls_connect_psk_identity(h_dtls *t, int port, const char *identity, const char *key_hex);
/* Certificates: ca verifies the Registrar (NULL: no check), cert/key the client's (NULL: none). */
int h_dtls_connect_cert(h_dtls *t, int port, const char *ca, const char *cert, const char *key);
void h_dtls_close(h_dtls *t);
/* A second handshake on the established session (DTLS 1.2 renegotiation), with the connection's credentials.
 * 0 when it completed. */
int h_dtls_renegotiate(h_dtls *t);
/* Goes away without a word (no close_notify), as a device that loses power does. */
void h_dtls_abandon(h_dtls *t);
SSL_SESSION *h_dtls_session(h_dtls *t);
/* RFC 5705, "EXPORTER-oneM2M-Connection", 48 octets: the last 32 as hex (the x.y.8 key). */
int h_dtls_exported_key(h_dtls *t, char key_hex[65]);
/* A ClientHello exactly as this client would send it first (no cookie): for floods. Returns its length. */
size_t h_dtls_client_hello(unsigned char *out, size_t cap);

typedef struct h_coap_opt {
    uint16_t num;
    const void *val;
    size_t len;
} h_coap_opt;

typedef struct h_coap_resp {
    int code;             /* 201 for 2.01 ...; 0 = no answer */
    int rsc;              /* oneM2M-RSC option, -1 = absent */
    int separate;         /* the answer came after an empty ACK */
    char rqi[256];
    char location[512];   /* Location-Path segments joined with '/' */
    int format;           /* Content-Format, -1 = absent */
    char body[65536];     /* the whole body: Block2 blocks are fetched and joined */
    size_t body_len;
    int blocks;           /* Block2 blocks that made it up (0: none) */
    int size1;            /* Size1 option (a 4.13 names the largest body accepted), -1 = absent */
} h_coap_resp;

/* A Confirmable request; path "~/in-cse/x" (segments split at '/'), query e.g. "tkns=..." or NULL, body JSON or
 * NULL (sent with Content-Format 50). from NULL: no oneM2M-FR; ty 0: no oneM2M-TY; oneM2M-RQI and oneM2M-RVI "3"
 * always. 0 when an answer came within 5 s. */
int h_coap_request(h_dtls *t, const char *method, const char *path, const char *from, int ty, const char *query,
                   const char *body, h_coap_resp *out);
/* The same with exactly these options (besides Uri-Path and Uri-Query from path and query). A body longer than
 * 1024 bytes goes in 512-byte Block1 blocks (RFC 7959); the answer to the last one is returned (or the first
 * refusal). */
int h_coap_request_opts(h_dtls *t, int code, const char *path, const char *query, const h_coap_opt *opts, int n,
                        const char *body, h_coap_resp *out);
int h_coap_register_ae(h_dtls *t, const char *from, const char *api, h_coap_resp *out);
/* Set: the request functions send their (last) message and return without waiting; h_coap_await waits for the
 * answer. For a test that retransmits a request while its answer is pending. */
extern int h_coap_send_only;
/* Set: a body sent block-wise (Block2) is not fetched further: out has its first block, out->blocks the raw Block2
 * option value with bit 31 set. */
extern int h_coap_no_follow;
/* Waits up to ms for the answer to the last request: 0 when it came. out->separate: it came (or, when -1, only an
 * empty ACK came so far) after an empty ACK. */
int h_coap_await(h_dtls *t, int ms, h_coap_resp *out);
/* 1 when an empty ACK of the last request came within ms (anything else that came is read and dropped). */
int h_coap_await_empty_ack(h_dtls *t, int ms);
/* The last request again, as the device's retransmission of it: the same CoAP message (Message ID, token) in a new
 * DTLS record. */
int h_coap_resend(h_dtls *t);
/* Sends the last request's datagram again, as an eavesdropper could. */
int h_dtls_replay(h_dtls *t);
/* Waits up to ms for the Registrar to close the session (reads and discards anything else). 1 when it did. */
int h_dtls_wait_closed(h_dtls *t, int ms);

#endif
