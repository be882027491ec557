# The R serialization decoder used for the Austen texts, on hand-built
# XDR bytes: strings, NA, UTF-8, and truncated input.
# REQUIRES: quant-py
# RUN: %python %s | FileCheck %s
# CHECK: decoded It is a truth||caf\xe9|na\xefve
# CHECK: truncated: R data: truncated R serialization
# CHECK: not a string vector: R data: expected a character vector, got SEXP type 14

import struct

from quant.data import DataError, read_r_character_vector


def xdr(*ints):
    return b"".join(struct.pack(">i", i) for i in ints)


def charsxp(s, enc=None):
    if s is None:
        return xdr(9, -1)
    if enc == "latin1":
        return xdr(9 | ((1 << 2) << 12), len(s)) + s.encode("latin-1")
    b = s.encode("utf-8")
    return xdr(9 | ((1 << 3) << 12 if enc == "utf8" else 0), len(b)) + b


header = b"X\n" + xdr(3, 0x040201, 0x030500) + xdr(5) + b"UTF-8"
blob = (header + xdr(16, 4) + charsxp("It is a truth") + charsxp(None)
        + charsxp("caf\u00e9", "utf8") + charsxp("na\u00efve", "latin1"))
print("decoded", "|".join(s.encode("unicode_escape").decode() for s in read_r_character_vector(blob)))
try:
    read_r_character_vector(blob[:-3])
except DataError as e:
    print("truncated:", e)
try:
    read_r_character_vector(header + xdr(14, 1) + struct.pack(">d", 1.0))
except DataError as e:
    print("not a string vector:", e)
