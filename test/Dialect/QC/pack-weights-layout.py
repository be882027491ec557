# RUN: rm -rf %t && mkdir -p %t && %python %s %t | FileCheck %s
# CHECK: pack row_major: 4 weights match numpy
# CHECK: pack tiled 16x64: 4 weights match numpy
# CHECK: pack tiled 8x32: 4 weights match numpy
# CHECK: pack tiled 32x128: 4 weights match numpy
# CHECK: pack mma_frag: 4 weights match numpy
# CHECK: repack row_major -> mma_frag for frag kernels: 4 weights match numpy
# CHECK: repack tiled -> mma_frag for frag kernels: 4 weights match numpy
# CHECK: repack mma_frag -> row_major for gemv kernels: 4 weights match numpy
#
# qc-pack-weights byte layout (QCAttrs.td) against numpy on fresh random
# integers: row_major and tiled (tiles in row-major tile order, row-major
# inside a tile), INT4 two per byte with the even element in the low nibble.
# mma_frag (FragLayout.h): 16 x 64 (INT4) / 16 x 32 (INT8) units of 32
# lanes x 16 bytes in mma.sync B fragment order, both packed from unpacked
# data and repacked (row_major / tiled bytes of weights whose matmuls run the
# frag kernel). The numpy reference builds tiles and fragments with
# reshape/transpose, not index math.

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
import numpy as np
import qcnum

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "Conversion", "Inputs"))
import qc_host_harness  # noqa: E402

seed, rng = qcnum.make_rng()
workdir = sys.argv[1]
N, K = 64, 256

weights = {
    "s4": (4, True, rng.integers(-8, 8, (N, K))),
    "a4": (4, False, rng.integers(0, 16, (N, K))),
    "s8": (8, True, rng.integers(-128, 128, (N, K))),
    "a8": (8, False, rng.integers(0, 256, (N, K))),
}


def ref_pack(q, bits, tn, tk):
    n, k = q.shape
    flat = q.reshape(n // tn, tn, k // tk, tk).transpose(0, 2, 1, 3).reshape(-1)
    u = (flat & 0xFF).astype(np.uint8)
    if bits == 8:
        return u.view(np.int8)
    return ((u[0::2] & 0xF) | ((u[1::2] & 0xF) << 4)).astype(np.uint8).view(np.int8)


lines = ["func.func @p(%x: tensor<?x256xf32>) {"]
for name, (bits, sym, q) in weights.items():
    sc = rng.uniform(0.01, 1.0, (N, 1)).astype(np.float32)
    lines.append("  %%d_%s = arith.constant %s : tensor<64x256xi8>" % (name, qcnum.hex_dense(qcnum.storage_i8(q), "i8")))
    lines.append("  %%s_%s = arith.constant %s : tensor<64x1xf32>" % (name, qcnum.hex_dense(sc, "f32")))
    scheme = "#qc.scheme<weight = i%d, symmetric = %s>" % (bits, "true" if sym else "false")
    if sym:
        lines.append("  %%pw_%s = qc.packed_weight %%d_%s, %%s_%s {layout = #qc.layout<unpacked>, scheme = %s} : tensor<64x256xi8>, tensor<64x1xf32> -> !qc.packed<64x256xi%d>" % (name, name, name, scheme, bits))
    else:
        lines.append("  %%z_%s = arith.constant dense<3> : tensor<64x1xi8>" % name)
        lines.append("  %%pw_%s = qc.packed_weight %%d_%s, %%s_%s, %%z_%s {layout = #qc.layout<unpacked>, scheme = %s} : tensor<64x256xi8>, tensor<64x1xf32>, tensor<64x1xi8> -> !qc.packed<64x256xi%d>" % (name, name, name, name, scheme, bits))
    lines.append('  %%y_%s = qc.wo_matmul %%x, %%pw_%s {layer = "%s"} : tensor<?x256xf32>, !qc.packed<64x256xi%d> -> tensor<?x64xf32>' % (name, name, name, bits))
lines += ["  return", "}"]
ir = "\n".join(lines) + "\n"


def ref_frag(q, bits):
    """mma_frag bytes: the reshape/transpose reference of the host tests."""
    return qc_host_harness.pack_weight(q, bits, "mma_frag")

for layout, tn, tk in (("row_major", N, K), ("tiled", 16, 64), ("tiled", 8, 32), ("tiled", 32, 128)):
    args = ["--qc-pack-weights=layout=%s tile-n=%d tile-k=%d" % (layout, tn, tk)]
    packed = qcnum.parse_packed(qcnum.run_opt(args, ir, workdir))
    want_attr = "#qc.layout<row_major>" if layout == "row_major" else "#qc.layout<tiled, tile_n = %d, tile_k = %d>" % (tn, tk)
    for name, (bits, sym, q) in weights.items():
        pw = packed[name]
        if want_attr not in pw["attrs"]:
            qcnum.fail(seed, "%s: layout attribute %s missing in %s" % (name, want_attr, pw["attrs"]))
        want = ref_pack(q, bits, tn, tk)
        if pw["data"].shape != want.shape or not np.array_equal(pw["data"], want):
            qcnum.fail(seed, "%s %s %dx%d: bytes differ" % (name, layout, tn, tk))
    label = layout if layout == "row_major" else "%s %dx%d" % (layout, tn, tk)
    print("pack %s: %d weights match numpy" % (label, len(weights)))


def check_frag(text, label):
    packed = qcnum.parse_packed(text)
    for name, (bits, sym, q) in weights.items():
        pw = packed[name]
        if "#qc.layout<mma_frag>" not in pw["attrs"]:
            qcnum.fail(seed, "%s: no mma_frag layout in %s" % (name, pw["attrs"]))
        want = ref_frag(q, bits)
        if pw["data"].shape != want.shape or not np.array_equal(pw["data"], want):
            qcnum.fail(seed, "%s %s: bytes differ" % (name, label))
    print("%s: %d weights match numpy" % (label, len(weights)))


check_frag(qcnum.run_opt(["--qc-pack-weights=layout=mma_frag"], ir, workdir),
           "pack mma_frag")
# Weights whose matmuls run the frag kernel are repacked whatever the option.
frag_kernel = '{kernel = #qc.kernel<frag, target = "sm_90">, layer ='
for layout, opts in (("row_major", "layout=row_major"),
                     ("tiled", "layout=tiled tile-n=16 tile-k=64")):
    first = qcnum.run_opt(["--qc-pack-weights=" + opts], ir, workdir)
    # (The frag kind takes f16 activations.)
    first = first.replace("{layer =", frag_kernel).replace(
        "tensor<?x256xf32>", "tensor<?x256xf16>").replace(
        "tensor<?x64xf32>", "tensor<?x64xf16>")
    second = qcnum.run_opt(["--qc-pack-weights"], first, workdir)
    check_frag(second, "repack %s -> mma_frag for frag kernels" % layout)

# mma_frag bytes whose matmuls then get another GPU kernel (gemv) go back to
# row_major.
gemv_kernel = '{kernel = #qc.kernel<gemv, target = "sm_90">, layer ='
first = qcnum.run_opt(["--qc-pack-weights=layout=mma_frag"], ir, workdir)
second = qcnum.run_opt(["--qc-pack-weights"],
                       first.replace("{layer =", gemv_kernel), workdir)
packed = qcnum.parse_packed(second)
for name, (bits, sym, q) in weights.items():
    pw = packed[name]
    if "#qc.layout<row_major>" not in pw["attrs"]:
        qcnum.fail(seed, "%s: no row_major layout in %s" % (name, pw["attrs"]))
    want = ref_pack(q, bits, N, K)
    if pw["data"].shape != want.shape or not np.array_equal(pw["data"], want):
        qcnum.fail(seed, "%s mma_frag -> row_major: bytes differ" % name)
print("repack mma_frag -> row_major for gemv kernels: %d weights match numpy" % len(weights))
