#!/usr/bin/env python3
"""Compiles the GPU kernel case matrix with quant-opt (here, no GPU needed).

For every case writes <out>/<name>.ptx (from gpu-module-to-binary) and a line
of <out>/cases.json with the kernel's shape, scheme and launch geometry, which
benchmarks/gpu/harness.cpp reads on the GPU machine.
"""
import argparse
import json
import os
import re
import subprocess
import sys

PIPELINE = ("builtin.module(qc-outline-gpu-kernels{{{opts}}},"
            "gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm),"
            "reconcile-unrealized-casts,gpu-module-to-binary{{format=isa}})")


def scheme_text(bits, group, sym, per_tensor):
    gran = "per_tensor" if per_tensor else ("per_group" if group else "per_channel")
    s = f"weight = i{bits}, granularity = {gran}"
    if group:
        s += f", group_size = {group}"
    if not sym:
        s += ", symmetric = false"
    return f"#qc.scheme<{s}>"


def case_ir(c):
    n, k, bits = c["n"], c["k"], c["bits"]
    groups = 1 if not c["group"] else k // c["group"]
    srows = 1 if c["per_tensor"] else n
    act = "f16" if c["act_f16"] else "f32"
    sty = "f16" if c["scale_f16"] else "f32"
    nbytes = n * k * bits // 8
    args = [f"%x: tensor<?x{k}x{act}>", f"%d: tensor<{nbytes}xi8>",
            f"%s: tensor<{srows}x{groups}x{sty}>"]
    ops = "%d, %s"
    types = f"tensor<{nbytes}xi8>, tensor<{srows}x{groups}x{sty}>"
    if not c["sym"]:
        args.append(f"%z: tensor<{srows}x{groups}xi8>")
        ops += ", %z"
        types += f", tensor<{srows}x{groups}xi8>"
    bias, btype = "", ""
    if c["bias"]:
        args.append(f"%b: tensor<{n}x{act}>")
        bias, btype = ", %b", f", tensor<{n}x{act}>"
    sch = scheme_text(bits, c["group"], c["sym"], c["per_tensor"])
    return f"""func.func @f({", ".join(args)}) -> tensor<?x{n}x{act}> {{
  %pw = qc.packed_weight {ops} {{layout = #qc.layout<row_major>, scheme = {sch}}} : {types} -> !qc.packed<{n}x{k}xi{bits}>
  %y = qc.wo_matmul %x, %pw{bias} {{layer = "{c['name']}", kernel = #qc.kernel<gemv, target = "{c['chip']}">}} : tensor<?x{k}x{act}>, !qc.packed<{n}x{k}xi{bits}>{btype} -> tensor<?x{n}x{act}>
  return %y : tensor<?x{n}x{act}>
}}
"""


def unescape_mlir(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\":
            nxt = s[i + 1]
            if nxt in "\\\"":
                out.append(ord(nxt))
                i += 2
            else:
                out.append(int(s[i + 1:i + 3], 16))
                i += 3
        else:
            out.extend(s[i].encode())
            i += 1
    return out.decode()


def compile_case(quant_opt, c, out_dir, opts):
    opts = c.get("opts", opts)
    ir = case_ir(c)
    res = subprocess.run([quant_opt, "--pass-pipeline=" + PIPELINE.format(opts=opts)],
                         input=ir, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"quant-opt failed for {c['name']}:\n{res.stderr}")
    m = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', res.stdout)
    launch = re.search(r"qc.launch = \{block = (\d+) : i64, m_tiles = array<i64: ([\d, ]+)>, "
                       r"rows_per_block = (\d+) : i64\}", res.stdout)
    sym = re.search(r"qc.kernel_symbol = @\w+::@(\w+)", res.stdout)
    if not (m and launch and sym):
        sys.exit(f"could not find the kernel in quant-opt output for {c['name']}")
    ptx = unescape_mlir(m.group(1))
    with open(os.path.join(out_dir, c["name"] + ".ptx"), "w") as f:
        f.write(ptx)
    c = dict(c, kernel=sym.group(1), block=int(launch.group(1)),
             m_tiles=launch.group(2).replace(" ", ""),
             rows_per_block=int(launch.group(3)))
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quant-opt", default="build/bin/quant-opt")
    ap.add_argument("--out", default=".gpu-cases")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--opts", default="", help="qc-outline-gpu-kernels options")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    # Correctness matrix: every scheme the gemv kernel takes, odd shapes too.
    shapes = [(300, 448), (1000, 1024), (96, 200)]
    for bits in (4, 8):
        for (n, k) in shapes:
            for group in (0, 32, 64, 128, 8):
                if group and k % group:
                    continue
                for sym in (True, False):
                    cases.append(dict(n=n, k=k, bits=bits, group=group, sym=sym,
                                      per_tensor=False, bias=(n % 3 == 0),
                                      act_f16=True, scale_f16=False, kind="check"))
    cases.append(dict(n=300, k=448, bits=8, group=0, sym=True, per_tensor=True,
                      bias=True, act_f16=True, scale_f16=True, kind="check"))
    cases.append(dict(n=300, k=448, bits=4, group=64, sym=False, per_tensor=False,
                      bias=True, act_f16=False, scale_f16=False, kind="check"))
    # Timing shapes (Llama 7B / 70B linears), W4A16 g128 and W8A16.
    for (n, k) in [(4096, 4096), (11008, 4096), (4096, 11008), (8192, 8192),
                   (28672, 8192), (8192, 28672)]:
        for rows in (2, 4):
            opts = f"rows-per-warp={rows}"
            cases.append(dict(n=n, k=k, bits=4, group=128, sym=True, per_tensor=False,
                              bias=False, act_f16=True, scale_f16=True, kind="time",
                              opts=opts, tag=f"r{rows}"))
            cases.append(dict(n=n, k=k, bits=8, group=0, sym=True, per_tensor=False,
                              bias=False, act_f16=True, scale_f16=True, kind="time",
                              opts=opts, tag=f"r{rows}"))
    out = []
    for i, c in enumerate(cases):
        c["name"] = (f"c{i}_w{c['bits']}_g{c['group']}_{'s' if c['sym'] else 'a'}"
                     f"_{c['n']}x{c['k']}{'_' + c['tag'] if 'tag' in c else ''}")
        c["chip"] = args.chip
        out.append(compile_case(args.quant_opt, c, args.out, args.opts))
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(out, f, indent=1)
    # The same, as plain text for the C++ harness (one case per line).
    fields = ["name", "kernel", "kind", "n", "k", "bits", "group", "sym",
              "per_tensor", "bias", "act_f16", "scale_f16", "block",
              "rows_per_block", "m_tiles"]
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        for c in out:
            f.write(" ".join(str(int(c[k]) if isinstance(c[k], bool) else c[k])
                             for k in fields) + "\n")
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
