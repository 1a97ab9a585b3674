# SPDX-License-Identifier: Apache-2.0
"""Hostile ClientHellos for the Registrar's GBA gate (src/secctx/gate.c reads them before OpenSSL does):
malformed pre_shared_key lengths, a hello trickled one byte at a time, a peer that leaves while its Zn request
runs, and more unknown B-TIDs at once than a worker runs Zn requests. Every connection must end (an alert or a
close) within the deadline; the caller then checks that the Registrar still attaches a real device.
Usage: gba_hostile_hello.py PORT"""
import os
import socket
import struct
import sys
import threading
import time

PORT = int(sys.argv[1])
FAILS = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        FAILS.append(what)


def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body


def client_hello(psk_ext):
    exts = ext(43, b"\x02\x03\x04")                      # supported_versions: TLS 1.3
    exts += ext(45, b"\x01\x01")                         # psk_dhe_ke
    exts += ext(10, b"\x00\x02\x00\x1d")                 # supported_groups: x25519
    exts += ext(51, b"\x00\x24\x00\x1d\x00\x20" + os.urandom(32))  # key_share
    exts += psk_ext                                      # pre_shared_key is last (RFC 8446 4.2.11)
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def psk(identities, binder_len=32, ids_len=None):
    ids = b"".join(struct.pack(">H", len(i)) + i + b"\x00\x00\x00\x00" for i in identities)
    binders = struct.pack(">H", binder_len + 1) + bytes([binder_len]) + os.urandom(binder_len)
    return ext(41, struct.pack(">H", len(ids) if ids_len is None else ids_len) + ids + binders)


def btid():
    import base64
    return base64.b64encode(os.urandom(16)) + b"@bsf.m2m.localhost"


def exchange(data, trickle=False, leave=False, timeout=8.0):
    """Sends data; True when the Registrar ended the connection (alert or close) in time."""
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(timeout)
    try:
        if trickle:
            for b in data:
                s.send(bytes([b]))
                time.sleep(0.001)
        else:
            s.sendall(data)
        if leave:
            s.close()
            return True
        t0 = time.time()
        while time.time() - t0 < timeout:
            got = s.recv(4096)
            if not got:
                return True
            if got[:1] == b"\x15":  # an alert
                return True
        return False
    except (ConnectionError, socket.timeout) as e:
        return isinstance(e, ConnectionError)
    finally:
        s.close()


gba = b"3GPP-bootstrapping." + btid()
check(exchange(client_hello(psk([gba], ids_len=5000))), "identities longer than the extension")
bad_id = struct.pack(">H", 60000) + gba
check(exchange(client_hello(ext(41, struct.pack(">H", len(bad_id)) + bad_id + b"\x00\x21\x20" + os.urandom(32)))),
      "an identity longer than the list")
check(exchange(client_hello(ext(41, b"\x00"))), "a one-octet pre_shared_key")
check(exchange(client_hello(psk([b"3GPP-bootstrapping." + b"A" * 300]))), "an over-long GBA identity")
check(exchange(client_hello(psk([b"3GPP-bootstrapping." + btid()])), trickle=True),
      "a ClientHello trickled one octet at a time, with an unknown B-TID")
check(exchange(client_hello(psk([b"3GPP-bootstrapping." + btid()])), leave=True),
      "a peer that leaves while its Zn request runs")
results = [None] * 70
def one(i):
    results[i] = exchange(client_hello(psk([b"3GPP-bootstrapping." + btid()])), timeout=15)
threads = [threading.Thread(target=one, args=(i,)) for i in range(70)]
t0 = time.time()
for t in threads:
    t.start()
for t in threads:
    t.join()
check(all(results), f"70 unknown B-TIDs at once (more than a worker's 64 Zn requests): all refused in "
      f"{time.time() - t0:.1f} s")
sys.exit(1 if FAILS else 0)
