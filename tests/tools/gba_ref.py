# SPDX-License-Identifier: Apache-2.0
"""An independent GBA UE for the tests: Milenage (TS 35.206), the USIM's checks, HTTP Digest AKA (RFC 3310) and the
Ks_NAF derivation (TS 33.220 Annex B), written from the specifications in Python on the `cryptography` package's
AES and the standard library's hashes -- none of m2mattach's code -- so that the tests compare two implementations.
"""
import base64
import hashlib
import hmac
import http.client
import os
import re
import urllib.parse

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _aes(k, block):
    enc = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def _rot(x, bits):
    n = bits // 8
    return x[n:] + x[:n]


def opc_from_op(k, op):
    return _xor(_aes(k, op), op)


def milenage(k, opc, rand, sqn=b"\0" * 6, amf=b"\0\0"):
    """All outputs: mac_a, mac_s, res, ck, ik, ak, akstar."""
    temp = _aes(k, _xor(rand, opc))
    in1 = sqn + amf + sqn + amf
    out1 = _xor(_aes(k, _xor(temp, _rot(_xor(in1, opc), 64))), opc)
    outs = []
    for r, c in ((0, 1), (32, 2), (64, 4), (96, 8)):
        x = bytearray(_rot(_xor(temp, opc), r))
        x[15] ^= c
        outs.append(_xor(_aes(k, bytes(x)), opc))
    return dict(mac_a=out1[:8], mac_s=out1[8:], res=outs[0][8:], ak=outs[0][:6], ck=outs[1], ik=outs[2],
                akstar=outs[3][:6])


def kdf(key, fc, *params):
    s = bytes([fc])
    for p in params:
        s += p + len(p).to_bytes(2, "big")
    return hmac.new(key, s, hashlib.sha256).digest()


def ks_naf(ks, rand, impi, naf_fqdn, ua_id):
    return kdf(ks, 0x01, b"gba-me", rand, impi.encode(), naf_fqdn.encode() + ua_id)


UA_TLS13 = bytes.fromhex("0100000007")


def ua_tls12(suite_id):
    return bytes([1, 0, 1]) + suite_id.to_bytes(2, "big")


def digest_response(username, realm, password, method, uri, nonce, nc, cnonce, qop, body=b""):
    h = lambda b: hashlib.md5(b).hexdigest()
    ha1 = h(username.encode() + b":" + realm.encode() + b":" + password)
    if qop == "auth-int":
        ha2 = h(f"{method}:{uri}:{h(body)}".encode())
    else:
        ha2 = h(f"{method}:{uri}".encode())
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())


def parse_challenge(value):
    assert value.startswith("Digest "), value
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in re.finditer(r'([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))', value[7:])}


class UE:
    """A USIM (K, OPc, SQN_MS) and a Ub client."""

    def __init__(self, bsf_url, impi, k, opc, sqn_ms=0):
        self.url = urllib.parse.urlsplit(bsf_url)
        self.impi, self.k, self.opc, self.sqn_ms = impi, k, opc, sqn_ms

    def get(self, authorization):
        con = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
        con.request("GET", "/", headers={"Authorization": authorization} if authorization else {})
        r = con.getresponse()
        body = r.read()
        con.close()
        return r.status, dict(r.getheaders()), body

    def first(self, realm="bsf.m2m.localhost"):
        return self.get(f'Digest username="{self.impi}", realm="{realm}", nonce="", uri="/", response=""')

    def check(self, ch):
        """The USIM's AUTN check: ('ok', res, ck, ik) or ('sync', auts) or ('mac', None)."""
        raw = base64.b64decode(ch["nonce"])
        rand, autn = raw[:16], raw[16:32]
        m = milenage(self.k, self.opc, rand)
        sqn = _xor(autn[:6], m["ak"])
        m2 = milenage(self.k, self.opc, rand, sqn, autn[6:8])
        if m2["mac_a"] != autn[8:]:
            return ("mac", rand)
        s = int.from_bytes(sqn, "big")
        if s <= self.sqn_ms or s - self.sqn_ms > (1 << 28):
            ms = self.sqn_ms.to_bytes(6, "big")
            mac_s = milenage(self.k, self.opc, rand, ms, b"\0\0")["mac_s"]
            return ("sync", rand, _xor(ms, m["akstar"]) + mac_s)
        self.sqn_ms = s
        return ("ok", rand, m["res"], m["ck"], m["ik"])

    def answer(self, ch, password, auts=None, nc="00000001", cnonce=None, uri="/"):
        cnonce = cnonce or base64.b16encode(os.urandom(8)).decode().lower()
        resp = digest_response(self.impi, ch["realm"], password, "GET", uri, ch["nonce"], nc, cnonce, "auth-int")
        extra = f', auts="{base64.b64encode(auts).decode()}"' if auts else ""
        return (f'Digest username="{self.impi}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", uri="{uri}", '
                f'qop=auth-int, nc={nc}, cnonce="{cnonce}", response="{resp}", opaque="{ch["opaque"]}", '
                f'algorithm=AKAv1-MD5{extra}')

    def bootstrap(self):
        """Ub to the end (resynchronising once if needed): (btid, lifetime, rand, ks)."""
        status, h, _ = self.first()
        for _ in range(2):
            assert status == 401, status
            ch = parse_challenge(h["WWW-Authenticate"])
            got = self.check(ch)
            if got[0] == "sync":
                status, h, _ = self.get(self.answer(ch, b"", auts=got[2]))
                continue
            assert got[0] == "ok", "the BSF's AUTN did not verify"
            _, rand, res, ck, ik = got
            status, h, body = self.get(self.answer(ch, res))
            assert status == 200, (status, body)
            assert h["Content-Type"] == "application/vnd.3gpp.bsf+xml", h
            btid = re.search(rb"<btid>([^<]*)</btid>", body).group(1).decode()
            life = re.search(rb"<lifetime>([^<]*)</lifetime>", body).group(1).decode()
            return btid, life, rand, ck + ik
        raise AssertionError("no bootstrapping after a resynchronisation")
