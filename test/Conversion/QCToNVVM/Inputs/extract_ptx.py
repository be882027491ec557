#!/usr/bin/env python3
"""Writes the PTX that gpu-module-to-binary{format=isa} embedded in an MLIR
file (read from stdin or argv[1]) to stdout, unescaped, for ptxas."""
import re
import sys


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\":
            if s[i + 1] in "\\\"":
                out.append(ord(s[i + 1]))
                i += 2
            else:
                out.append(int(s[i + 1:i + 3], 16))
                i += 3
        else:
            out.extend(s[i].encode())
            i += 1
    return out.decode()


text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
m = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', text)
if not m:
    sys.exit("no embedded PTX found")
sys.stdout.write(unescape(m.group(1)))
