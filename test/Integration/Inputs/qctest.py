#!/usr/bin/env python3
"""Helpers for the quant-compile / quant-run integration tests.

Generates test programs with random weights (MLIR text) and random .npy
inputs, computes the numpy float64 reference independently of the
compiler, compares outputs, inspects/corrupts .qcw files and checks
calibration statistics.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

K, N = 64, 256  # weight 64x256 f32 = 64 KiB: must go to the .qcw


def dense(a):
    """MLIR dense literal of a float32/int array (exact: hex floats)."""
    if a.dtype == np.float32:
        # Hex literals are read bit-exactly; the tensor type gives the shape.
        return 'dense<"0x' + a.astype("<f4").tobytes().hex().upper() + '">'
    return "dense<" + np.array2string(a, separator=", ", threshold=1 << 30).replace("\n", "") + ">"


def gen_model(args):
    rng = np.random.default_rng(args.seed)
    w = rng.standard_normal((K, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)  # 1 KiB: threshold edge
    small = rng.standard_normal(8).astype(np.float32)  # stays in the .so
    scale = rng.integers(-50, 50, 16).astype(np.int32)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "w.npy"), w)
    np.save(os.path.join(args.out, "bias.npy"), bias)
    np.save(os.path.join(args.out, "small.npy"), small)
    np.save(os.path.join(args.out, "scale.npy"), scale)
    mlir = f"""
#map3 = affine_map<(b, s, n, k) -> (b, s, k)>
#mapw = affine_map<(b, s, n, k) -> (k, n)>
#mapo = affine_map<(b, s, n, k) -> (b, s, n)>
#id3 = affine_map<(b, s, n) -> (b, s, n)>
#last = affine_map<(b, s, n) -> (n)>
#id2 = affine_map<(t, c) -> (t, c)>
#col = affine_map<(t, c) -> (c)>
module {{
  // y = max(x @ W + bias, 0) and z = x * y2 + exp(x / 2) on ?x?xK tokens.
  func.func @mlp(%x: tensor<?x?x{K}xf32>, %y: tensor<?x?x{K}xf32>)
      -> (tensor<?x?x{N}xf32>, tensor<?x?x{K}xf32>) {{
    %w = arith.constant {dense(w)} : tensor<{K}x{N}xf32>
    %bias = arith.constant {dense(bias)} : tensor<{N}xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0.0 : f32
    %half = arith.constant 0.5 : f32
    %d0 = tensor.dim %x, %c0 : tensor<?x?x{K}xf32>
    %d1 = tensor.dim %x, %c1 : tensor<?x?x{K}xf32>
    %e = tensor.empty(%d0, %d1) : tensor<?x?x{N}xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x{N}xf32>) -> tensor<?x?x{N}xf32>
    %mm = linalg.generic {{indexing_maps = [#map3, #mapw, #mapo],
        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
        ins(%x, %w : tensor<?x?x{K}xf32>, tensor<{K}x{N}xf32>) outs(%f : tensor<?x?x{N}xf32>) {{
      ^bb0(%a: f32, %b: f32, %acc: f32):
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
    }} -> tensor<?x?x{N}xf32>
    %e2 = tensor.empty(%d0, %d1) : tensor<?x?x{N}xf32>
    %r = linalg.generic {{indexing_maps = [#id3, #last, #id3],
        iterator_types = ["parallel", "parallel", "parallel"]}}
        ins(%mm, %bias : tensor<?x?x{N}xf32>, tensor<{N}xf32>) outs(%e2 : tensor<?x?x{N}xf32>) {{
      ^bb0(%v: f32, %bb: f32, %o: f32):
        %t = arith.addf %v, %bb : f32
        %m = arith.maximumf %t, %zero : f32
        linalg.yield %m : f32
    }} -> tensor<?x?x{N}xf32>
    %e3 = tensor.empty(%d0, %d1) : tensor<?x?x{K}xf32>
    %z = linalg.generic {{indexing_maps = [#id3, #id3, #id3],
        iterator_types = ["parallel", "parallel", "parallel"]}}
        ins(%x, %y : tensor<?x?x{K}xf32>, tensor<?x?x{K}xf32>) outs(%e3 : tensor<?x?x{K}xf32>) {{
      ^bb0(%a: f32, %b: f32, %o: f32):
        %p = arith.mulf %a, %b : f32
        %h = arith.mulf %a, %half : f32
        %ex = math.exp %h : f32
        %s = arith.addf %p, %ex : f32
        linalg.yield %s : f32
    }} -> tensor<?x?x{K}xf32>
    return %r, %z : tensor<?x?x{N}xf32>, tensor<?x?x{K}xf32>
  }}

  // 2-D linalg.matmul with a dynamic token dimension plus a small constant.
  func.func @proj(%x: tensor<?x{K}xf32>) -> tensor<?x{N}xf32> {{
    %w = arith.constant {dense(w)} : tensor<{K}x{N}xf32>
    %small = arith.constant {dense(small)} : tensor<8xf32>
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %zero = arith.constant 0.0 : f32
    %d0 = tensor.dim %x, %c0 : tensor<?x{K}xf32>
    %s3 = tensor.extract %small[%c3] : tensor<8xf32>
    %e = tensor.empty(%d0) : tensor<?x{N}xf32>
    %f = linalg.fill ins(%s3 : f32) outs(%e : tensor<?x{N}xf32>) -> tensor<?x{N}xf32>
    %mm = linalg.matmul ins(%x, %w : tensor<?x{K}xf32>, tensor<{K}x{N}xf32>)
                        outs(%f : tensor<?x{N}xf32>) -> tensor<?x{N}xf32>
    return %mm : tensor<?x{N}xf32>
  }}

  // Integer path: extsi(x) * scale + 3 (bit-exact).
  func.func @iscale(%x: tensor<?x16xi8>) -> tensor<?x16xi32> {{
    %scale = arith.constant {dense(scale)} : tensor<16xi32>
    %c0 = arith.constant 0 : index
    %d0 = tensor.dim %x, %c0 : tensor<?x16xi8>
    %three = arith.constant 3 : i32
    %e = tensor.empty(%d0) : tensor<?x16xi32>
    %r = linalg.generic {{indexing_maps = [#id2, #col, #id2],
        iterator_types = ["parallel", "parallel"]}}
        ins(%x, %scale : tensor<?x16xi8>, tensor<16xi32>) outs(%e : tensor<?x16xi32>) {{
      ^bb0(%a: i8, %s: i32, %o: i32):
        %w = arith.extsi %a : i8 to i32
        %m = arith.muli %w, %s : i32
        %t = arith.addi %m, %three : i32
        linalg.yield %t : i32
    }} -> tensor<?x16xi32>
    return %r : tensor<?x16xi32>
  }}

  // f16 and i64 tensors across the ABI: (f32(x), 2 * y + 1).
  func.func @widen(%x: tensor<?x8xf16>, %y: tensor<?x8xi64>) -> (tensor<?x8xf32>, tensor<?x8xi64>) {{
    %c0 = arith.constant 0 : index
    %d0 = tensor.dim %x, %c0 : tensor<?x8xf16>
    %one = arith.constant 1 : i64
    %two = arith.constant 2 : i64
    %e = tensor.empty(%d0) : tensor<?x8xf32>
    %f = tensor.empty(%d0) : tensor<?x8xi64>
    %r:2 = linalg.generic {{indexing_maps = [#id2, #id2, #id2, #id2],
        iterator_types = ["parallel", "parallel"]}}
        ins(%x, %y : tensor<?x8xf16>, tensor<?x8xi64>) outs(%e, %f : tensor<?x8xf32>, tensor<?x8xi64>) {{
      ^bb0(%a: f16, %b: i64, %o: f32, %p: i64):
        %w = arith.extf %a : f16 to f32
        %m = arith.muli %b, %two : i64
        %t = arith.addi %m, %one : i64
        linalg.yield %w, %t : f32, i64
    }} -> (tensor<?x8xf32>, tensor<?x8xi64>)
    return %r#0, %r#1 : tensor<?x8xf32>, tensor<?x8xi64>
  }}
}}
"""
    with open(os.path.join(args.out, "model.mlir"), "w") as f:
        f.write(mlir)


def gen_inputs(args):
    """Random inputs for one function, written as DIR/in_<i>.npy."""
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    b, s = args.batch, args.seq
    if args.function == "mlp":
        ins = [rng.standard_normal((b, s, K)).astype(np.float32) for _ in range(2)]
    elif args.function == "proj":
        ins = [rng.standard_normal((b * s, K)).astype(np.float32)]
    elif args.function == "iscale":
        ins = [rng.integers(-128, 128, (b * s, 16)).astype(np.int8)]
    elif args.function == "linear":
        ins = [rng.standard_normal((b, s, LK)).astype(np.float32)]
    elif args.function == "widen":
        ins = [rng.standard_normal((b * s, 8)).astype(np.float16),
               rng.integers(-2**40, 2**40, (b * s, 8)).astype(np.int64)]
    elif args.function in ("ext", "glob"):
        ins = [rng.standard_normal((b * s, EK)).astype(np.float32)]
    elif args.function == "observe":
        ins = [rng.standard_normal((b, s, 16)).astype(np.float32) * 3]
    elif args.function == "calib":
        ins = [rng.standard_normal((b, s, CK)).astype(np.float32) * 3]
    else:
        sys.exit("unknown function " + args.function)
    for i, a in enumerate(ins):
        path = os.path.join(args.out, "in_%d.npy" % i)
        if args.npy_version == 1:
            np.save(path, a)
        else:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, a, version=(args.npy_version, 0))


def reference(model, function, ins):
    if os.path.exists(os.path.join(model, "w.npy")):
        w = np.load(os.path.join(model, "w.npy")).astype(np.float64)
    if function == "mlp":
        x, y = (a.astype(np.float64) for a in ins)
        bias = np.load(os.path.join(model, "bias.npy")).astype(np.float64)
        return [np.maximum(x @ w + bias, 0), x * y + np.exp(x / 2)]
    if function == "proj":
        small = np.load(os.path.join(model, "small.npy")).astype(np.float64)
        return [ins[0].astype(np.float64) @ w + small[3]]
    if function == "ext":
        return [ins[0].astype(np.float64) @ w]
    if function == "linear":
        ld = lambda n: np.load(os.path.join(model, n + ".npy")).astype(np.float64)
        return [(ins[0].astype(np.float64) @ ld("w1").T + ld("b1")) @ ld("w2").T]
    if function == "widen":
        return [ins[0].astype(np.float64), ins[1] * 2 + 1]
    if function == "glob":
        w1 = np.load(os.path.join(model, "w1.npy")).astype(np.float64)
        w2 = np.load(os.path.join(model, "w2.npy")).astype(np.float64)
        x = ins[0].astype(np.float64)
        return [x @ w1 + 2 * (x @ w2)]
    if function == "iscale":
        scale = np.load(os.path.join(model, "scale.npy")).astype(np.int64)
        return [(ins[0].astype(np.int64) * scale + 3).astype(np.int32)]
    sys.exit("unknown function " + function)


def check(args):
    ins = [np.load(os.path.join(args.inputs, f)) for f in
           sorted(f for f in os.listdir(args.inputs) if f.startswith("in_"))]
    refs = reference(args.model, args.function, ins)
    for i, ref in enumerate(refs):
        out = np.load(os.path.join(args.outputs, "out_%d.npy" % i))
        if out.shape != ref.shape:
            sys.exit("output %d: shape %s, expected %s" % (i, out.shape, ref.shape))
        if ref.dtype.kind in "iu":
            if out.dtype != ref.dtype or not np.array_equal(out, ref):
                sys.exit("output %d: integer mismatch" % i)
        else:
            if out.dtype != np.float32:
                sys.exit("output %d: dtype %s" % (i, out.dtype))
            err = np.abs(out.astype(np.float64) - ref)
            tol = args.atol + args.rtol * np.abs(ref)
            if not np.all(err <= tol):
                sys.exit("output %d: max abs error %g exceeds tolerance" % (i, err.max()))
        print("output %d OK shape=%s" % (i, "x".join(map(str, out.shape))))


def check_quantized(args):
    """A quantized module approximates the float64 reference: relative
    Frobenius error in (min, max] (min > 0: it really was quantized)."""
    ins = [np.load(os.path.join(args.inputs, f)) for f in
           sorted(f for f in os.listdir(args.inputs) if f.startswith("in_"))]
    ref = reference(args.model, args.function, ins)[0]
    out = np.load(os.path.join(args.outputs, "out_0.npy")).astype(np.float64)
    if out.shape != ref.shape:
        sys.exit("shape %s, expected %s" % (out.shape, ref.shape))
    rel = np.linalg.norm(out - ref) / np.linalg.norm(ref)
    if not (args.min_rel < rel <= args.max_rel):
        sys.exit("relative error %.3g outside (%g, %g]" % (rel, args.min_rel, args.max_rel))
    print("quantized output OK: relative error in (%g, %g]" % (args.min_rel, args.max_rel))


def xxh64(data, seed=0):
    """Reference XXH64 (the .qcw section checksum), independent of qcrt."""
    M = (1 << 64) - 1
    P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
    P4, P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
    rotl = lambda x, r: ((x << r) | (x >> (64 - r))) & M
    def rnd(acc, v):
        return (rotl((acc + v * P2) & M, 31) * P1) & M
    n, p = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        words = np.frombuffer(data[:n // 32 * 32], dtype="<u8").tolist()
        for i in range(0, len(words), 4):
            v = [rnd(v[k], words[i + k]) for k in range(4)]
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for k in range(4):
            h = ((h ^ rnd(0, v[k])) * P1 + P4) & M
        p = n // 32 * 32
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while p + 8 <= n:
        h = (rotl(h ^ rnd(0, struct.unpack_from("<Q", data, p)[0]), 27) * P1 + P4) & M
        p += 8
    if p + 4 <= n:
        h = (rotl(h ^ ((struct.unpack_from("<I", data, p)[0] * P1) & M), 23) * P2 + P3) & M
        p += 4
    while p < n:
        h = (rotl(h ^ ((data[p] * P5) & M), 11) * P1) & M
        p += 1
    h ^= h >> 33; h = (h * P2) & M; h ^= h >> 29; h = (h * P3) & M; h ^= h >> 32
    return h


def qcw_info(args):
    """Independent reader of the .qcw header/table (docs/module-format.md)."""
    data = open(args.file, "rb").read()
    magic, version, count = data[:8], *struct.unpack_from("<II", data, 8)
    target = data[16:32].rstrip(b"\0").decode()
    toff, tbytes, fbytes, ident = struct.unpack_from("<QQQQ", data, 32)
    print("magic=%s version=%d entries=%d target=%s file_bytes=%d actual=%d"
          % (magic.decode(), version, count, target, fbytes, len(data)))
    print("identity=%016x" % ident)
    at = toff
    for _ in range(count):
        off, nbytes, checksum, nlen, _ = struct.unpack_from("<QQQII", data, at)
        name = data[at + 32:at + 32 + nlen].decode()
        at += 32 + (nlen + 7) // 8 * 8
        print("entry %s offset=%d bytes=%d aligned=%s" % (name, off, nbytes, off % 64 == 0))
        print("entry %s checksum_ok=%s" % (name, xxh64(data[off:off + nbytes]) == checksum))
        if args.expect_npy:
            ref = np.load(args.expect_npy).tobytes()
            if data[off:off + nbytes] == ref:
                print("entry %s matches %s" % (name, os.path.basename(args.expect_npy)))


def so_check(args):
    """The weight bytes must not be in the shared object."""
    so = open(args.so, "rb").read()
    w = np.load(args.npy).tobytes()
    probe = w[:64]
    print("so_bytes=%d weight_bytes=%d embedded=%s"
          % (len(so), len(w), probe in so))


def empty_qcw(args):
    """A valid .qcw without entries (docs/module-format.md)."""
    head = b"QCWEIGHT" + struct.pack("<II", 2, 0) + b"host".ljust(16, b"\0")
    head += struct.pack("<QQQQ", 64, 0, 64, 0)
    open(args.file, "wb").write(head)


def check_alias(args):
    x = np.load(args.input)
    outs = [np.load(os.path.join(args.outputs, "out_%d.npy" % i)) for i in range(5)]
    assert np.array_equal(outs[0], x)
    assert np.array_equal(outs[1], np.array([[1.5, -2.0], [3.25, 4.0]], np.float32))
    assert np.array_equal(outs[2], 2 * x) and np.array_equal(outs[3], 2 * x)
    assert np.array_equal(outs[4], (3 * x).T)
    print("alias outputs OK")


def corrupt(args):
    data = bytearray(open(args.file, "rb").read())
    if args.mode == "truncate":
        data = data[:len(data) - args.bytes]
    elif args.mode == "magic":
        data[0:8] = b"NOTQCW!!"
    elif args.mode == "version":
        data[8:12] = struct.pack("<I", 99)
    elif args.mode == "target":
        data[16:32] = b"sm_90".ljust(16, b"\0")
    elif args.mode == "header":
        data = data[:20]
    elif args.mode == "flip":
        # One bit inside the data of the last entry (v2 table).
        count, = struct.unpack_from("<I", data, 12)
        at = 64
        for _ in range(count):
            off, nbytes, _, nlen, _ = struct.unpack_from("<QQQII", data, at)
            at += 32 + (nlen + 7) // 8 * 8
        data[off + nbytes // 2] ^= 0x10
    elif args.mode == "identity":
        data[56] ^= 0x01
    open(args.file, "wb").write(bytes(data))


def bad_npy(args):
    a = np.zeros((2, 3), np.float32)
    np.save(args.file, a)
    data = bytearray(open(args.file, "rb").read())
    if args.mode == "truncated":
        data = data[:-5]
    elif args.mode == "magic":
        data[0:6] = b"NOTNPY"
    elif args.mode == "fortran":
        np.save(args.file, np.asfortranarray(np.zeros((2, 3), np.float32)))
        return
    elif args.mode == "wrap":
        # 2^62 x 64 float32: the byte count wraps around 64 bits to 0, so an
        # unchecked reader finds "enough" data in an empty payload.
        d = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 64), }"
        d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
        data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()
    open(args.file, "wb").write(bytes(data))


# --- external weights ---------------------------------------------------
EK, EN = 32, 16


def gen_external(args):
    """ext.mlir reads W (32x16 f32) from blob.bin at offset 128 through
    qc.external_weight; the bytes around it must not leak in."""
    rng = np.random.default_rng(args.seed)
    w = rng.standard_normal((EK, EN)).astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "w.npy"), w)
    with open(os.path.join(args.out, "blob.bin"), "wb") as f:
        f.write(b"\xff" * 128 + w.tobytes() + b"\xff" * 7)
    offset = args.offset
    with open(os.path.join(args.out, "ext.mlir"), "w") as f:
        f.write(f"""
func.func @ext(%x: tensor<?x{EK}xf32>) -> tensor<?x{EN}xf32> {{
  %w = qc.external_weight "{args.path}" offset {offset} : tensor<{EK}x{EN}xf32>
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %d0 = tensor.dim %x, %c0 : tensor<?x{EK}xf32>
  %e = tensor.empty(%d0) : tensor<?x{EN}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{EN}xf32>) -> tensor<?x{EN}xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x{EK}xf32>, tensor<{EK}x{EN}xf32>)
                      outs(%f : tensor<?x{EN}xf32>) -> tensor<?x{EN}xf32>
  return %mm : tensor<?x{EN}xf32>
}}
""")


def gen_globals(args):
    """glob.mlir reads three weights through memref.globals (the forms a
    lowering may leave): W1 as a constant initializer, W2 as an
    uninitialized global tagged qc.external_path/offset, W3 (= W2's bytes)
    listed in a qc.external_weights module manifest. y = x@W1 + x@W2 + x@W3."""
    rng = np.random.default_rng(args.seed)
    w1 = rng.standard_normal((EK, EN)).astype(np.float32)
    w2 = rng.standard_normal((EK, EN)).astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "w1.npy"), w1)
    np.save(os.path.join(args.out, "w2.npy"), w2)
    with open(os.path.join(args.out, "blob.bin"), "wb") as f:
        f.write(b"\xff" * 128 + w2.tobytes())
    t = f"tensor<{EK}x{EN}xf32>"
    m = f"memref<{EK}x{EN}xf32>"
    mm = "\n".join(f"""
  %w{i} = memref.get_global @w{i} : {m}
  %t{i} = bufferization.to_tensor %w{i} restrict : {m} to {t}
  %y{i} = linalg.matmul ins(%x, %t{i} : tensor<?x{EK}xf32>, {t})
                        outs(%y{i-1} : tensor<?x{EN}xf32>) -> tensor<?x{EN}xf32>""" for i in (1, 2, 3))
    with open(os.path.join(args.out, "glob.mlir"), "w") as f:
        f.write(f"""
module attributes {{qc.external_weights = [{{symbol = "w3", path = "blob.bin", offset = 128 : i64, bytes = {EK * EN * 4} : i64}}]}} {{
  memref.global "private" constant @w1 : {m} = {dense(w1)}
  memref.global @w2 : {m} = uninitialized {{qc.external_path = "blob.bin", qc.external_offset = 128 : i64}}
  memref.global @w3 : {m} = uninitialized
  func.func @glob(%x: tensor<?x{EK}xf32>) -> tensor<?x{EN}xf32> {{
    %c0 = arith.constant 0 : index
    %zero = arith.constant 0.0 : f32
    %d0 = tensor.dim %x, %c0 : tensor<?x{EK}xf32>
    %e = tensor.empty(%d0) : tensor<?x{EN}xf32>
    %y0 = linalg.fill ins(%zero : f32) outs(%e : tensor<?x{EN}xf32>) -> tensor<?x{EN}xf32>
{mm}
    return %y3 : tensor<?x{EN}xf32>
  }}
}}
""")


LK, LN = 48, 40


def gen_linear(args):
    """linear.mlir: two float qc.linear layers, one weight from a file
    (qc.external_weight), one a dense constant; y = (x W1^T + b1) W2^T."""
    rng = np.random.default_rng(args.seed)
    w1 = rng.standard_normal((LN, LK)).astype(np.float32)
    b1 = rng.standard_normal(LN).astype(np.float32)
    w2 = rng.standard_normal((LK, LN)).astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    for name, a in (("w1", w1), ("b1", b1), ("w2", w2)):
        np.save(os.path.join(args.out, name + ".npy"), a)
    with open(os.path.join(args.out, "weights.bin"), "wb") as f:
        f.write(b"\0" * 64 + w1.tobytes())
    with open(os.path.join(args.out, "linear.mlir"), "w") as f:
        f.write(f"""
func.func @linear(%x: tensor<?x?x{LK}xf32>) -> tensor<?x?x{LK}xf32> {{
  %w1 = qc.external_weight "weights.bin" offset 64 : tensor<{LN}x{LK}xf32>
  %b1 = arith.constant {dense(b1)} : tensor<{LN}xf32>
  %w2 = arith.constant {dense(w2)} : tensor<{LK}x{LN}xf32>
  %h = qc.linear %x, %w1, %b1 {{layer = "l1"}}
      : (tensor<?x?x{LK}xf32>, tensor<{LN}x{LK}xf32>, tensor<{LN}xf32>) -> tensor<?x?x{LN}xf32>
  %y = qc.linear %h, %w2 {{layer = "l2"}}
      : (tensor<?x?x{LN}xf32>, tensor<{LK}x{LN}xf32>) -> tensor<?x?x{LK}xf32>
  return %y : tensor<?x?x{LK}xf32>
}}
""")


# --- calibration ------------------------------------------------------------
CK, CN = 16, 24


def gen_calib(args):
    """A program calling qcrt_observe exactly as the lowered qc.observe does:
    observes the input x (layer blk0.q, hessian) and h = x @ W (layer
    blk0.up, 99th percentile)."""
    rng = np.random.default_rng(args.seed)
    w = rng.standard_normal((CK, CN)).astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "w.npy"), w)
    mlir = f"""
#mx = affine_map<(b, s, n, k) -> (b, s, k)>
#mw = affine_map<(b, s, n, k) -> (k, n)>
#mo = affine_map<(b, s, n, k) -> (b, s, n)>
module {{
  llvm.mlir.global internal constant @layer_q("blk0.q\\00") {{addr_space = 0 : i32}}
  llvm.mlir.global internal constant @layer_up("blk0.up\\00") {{addr_space = 0 : i32}}
  func.func private @qcrt_observe(!llvm.ptr, !llvm.ptr, i64, i64, i32, f64)

  func.func @calib(%x: tensor<?x?x{CK}xf32>) -> (tensor<?x?x{CN}xf32>) {{
    %w = arith.constant {dense(w)} : tensor<{CK}x{CN}xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0.0 : f32
    %d0 = tensor.dim %x, %c0 : tensor<?x?x{CK}xf32>
    %d1 = tensor.dim %x, %c1 : tensor<?x?x{CK}xf32>
    %rows = arith.muli %d0, %d1 : index
    %rows64 = arith.index_cast %rows : index to i64
    %k = arith.constant {CK} : i64
    %n = arith.constant {CN} : i64
    %yes = arith.constant 1 : i32
    %no = arith.constant 0 : i32
    %nopct = arith.constant -1.0 : f64
    %p99 = arith.constant 99.0 : f64
    %xm = bufferization.to_buffer %x : tensor<?x?x{CK}xf32> to memref<?x?x{CK}xf32>
    %xp = memref.extract_aligned_pointer_as_index %xm : memref<?x?x{CK}xf32> -> index
    %xi = arith.index_cast %xp : index to i64
    %xptr = llvm.inttoptr %xi : i64 to !llvm.ptr
    %nq = llvm.mlir.addressof @layer_q : !llvm.ptr
    func.call @qcrt_observe(%nq, %xptr, %rows64, %k, %yes, %nopct)
        : (!llvm.ptr, !llvm.ptr, i64, i64, i32, f64) -> ()
    %e = tensor.empty(%d0, %d1) : tensor<?x?x{CN}xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x{CN}xf32>) -> tensor<?x?x{CN}xf32>
    %h = linalg.generic {{indexing_maps = [#mx, #mw, #mo],
        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
        ins(%x, %w : tensor<?x?x{CK}xf32>, tensor<{CK}x{CN}xf32>) outs(%f : tensor<?x?x{CN}xf32>) {{
      ^bb0(%a: f32, %b: f32, %acc: f32):
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
    }} -> tensor<?x?x{CN}xf32>
    // h is returned, so its buffer outlives the observer call.
    %hm = bufferization.to_buffer %h : tensor<?x?x{CN}xf32> to memref<?x?x{CN}xf32>
    %hp = memref.extract_aligned_pointer_as_index %hm : memref<?x?x{CN}xf32> -> index
    %hi = arith.index_cast %hp : index to i64
    %hptr = llvm.inttoptr %hi : i64 to !llvm.ptr
    %nu = llvm.mlir.addressof @layer_up : !llvm.ptr
    func.call @qcrt_observe(%nu, %hptr, %rows64, %n, %no, %p99)
        : (!llvm.ptr, !llvm.ptr, i64, i64, i32, f64) -> ()
    return %h : tensor<?x?x{CN}xf32>
  }}
}}
"""
    with open(os.path.join(args.out, "calib.mlir"), "w") as f:
        f.write(mlir)


def check_stats(args):
    stats = json.load(open(args.stats))
    assert stats["format"] == "qc-stats" and stats["version"] == 1, stats
    w = np.load(os.path.join(args.model, "w.npy"))
    xs = [np.load(os.path.join(d, "in_0.npy")).reshape(-1, CK) for d in args.sets]
    x = np.concatenate(xs).astype(np.float32)
    # h as computed in float32 by the module is what was observed; the
    # float64 reference differs by rounding, so h is compared with a
    # tolerance and x exactly.
    h = x.astype(np.float64) @ w.astype(np.float64)
    q = stats["layers"]["blk0.q"]
    up = stats["layers"]["blk0.up"]
    assert q["channels"] == CK and q["tokens"] == x.shape[0], q
    assert up["channels"] == CN and up["tokens"] == x.shape[0], up
    absmax = np.abs(x).max(axis=0)
    assert np.array_equal(np.array(q["absmax"], np.float32), absmax), "absmax"
    assert "pmax" not in q and "percentile" not in q
    hinfo = q["hessian"]
    binpath = os.path.join(os.path.dirname(args.stats), hinfo["file"])
    hbin = np.fromfile(binpath, "<f8", offset=hinfo["offset"], count=CK * CK).reshape(CK, CK)
    href = x.astype(np.float64).T @ x.astype(np.float64)
    assert np.allclose(hbin, href, rtol=1e-12, atol=1e-12), np.abs(hbin - href).max()
    assert np.array_equal(hbin, hbin.T)
    assert "hessian" not in up and up["percentile"] == 99.0
    assert np.allclose(up["absmax"], np.abs(h).max(axis=0), rtol=1e-5, atol=1e-5)
    pref = np.percentile(np.abs(h), 99.0, axis=0)
    assert np.allclose(up["pmax"], pref, rtol=1e-5, atol=1e-5)
    print("stats OK: %d tokens, absmax exact, hessian rtol 1e-12, pmax rtol 1e-5"
          % x.shape[0])


def check_observe(args):
    """Stats of observe.mlir: qc.observe on x (hessian; 99th percentile)
    and on y = 2x."""
    stats = json.load(open(args.stats))
    x = np.concatenate([np.load(os.path.join(d, "in_0.npy")).reshape(-1, 16)
                        for d in args.sets])
    layers = stats["layers"]
    assert sorted(layers) == ["blk0.p", "blk0.q", "blk0.y"], sorted(layers)
    for name, data in (("blk0.q", x), ("blk0.p", x), ("blk0.y", 2 * x)):
        layer = layers[name]
        assert layer["channels"] == 16 and layer["tokens"] == x.shape[0], layer
        assert np.array_equal(np.array(layer["absmax"], np.float32),
                              np.abs(data).max(axis=0)), name
    q = layers["blk0.q"]
    hb = os.path.join(os.path.dirname(args.stats), q["hessian"]["file"])
    h = np.fromfile(hb, "<f8", offset=q["hessian"]["offset"], count=256).reshape(16, 16)
    x64 = x.astype(np.float64)
    assert np.allclose(h, x64.T @ x64, rtol=1e-12, atol=1e-12)
    p = layers["blk0.p"]
    assert p["percentile"] == 99.0 and "hessian" not in p
    assert np.allclose(p["pmax"], np.percentile(np.abs(x64), 99.0, axis=0),
                       rtol=1e-12, atol=0)
    assert "pmax" not in layers["blk0.y"] and "hessian" not in layers["blk0.y"]
    print("observe stats OK: %d tokens" % x.shape[0])


def check_linear_stats(args):
    """Stats of the qc-insert-observers variant of linear.mlir: layer l1
    observes x, l2 observes h = x W1^T + b1 (computed in float32 by the
    module, so compared to float64 with a tolerance)."""
    stats = json.load(open(args.stats))
    assert stats["format"] == "qc-stats" and stats["version"] == 1
    x = np.concatenate([np.load(os.path.join(d, "in_0.npy")).reshape(-1, LK)
                        for d in args.sets]).astype(np.float64)
    ld = lambda n: np.load(os.path.join(args.model, n + ".npy")).astype(np.float64)
    h = x @ ld("w1").T + ld("b1")
    for name, data, exact in (("l1", x, True), ("l2", h, False)):
        layer = stats["layers"][name]
        assert layer["tokens"] == x.shape[0] and layer["channels"] == data.shape[1], name
        absmax = np.abs(data).max(axis=0)
        if exact:
            assert np.array_equal(np.array(layer["absmax"]), absmax), name
        else:
            assert np.allclose(layer["absmax"], absmax, rtol=1e-5, atol=1e-5), name
        hinfo = layer["hessian"]
        k = data.shape[1]
        hb = np.fromfile(os.path.join(os.path.dirname(args.stats), hinfo["file"]), "<f8",
                         offset=hinfo["offset"], count=k * k).reshape(k, k)
        tol = dict(rtol=1e-12, atol=1e-9) if exact else dict(rtol=1e-5, atol=1e-3)
        assert np.allclose(hb, data.T @ data, **tol), name
    print("linear stats OK: %d tokens" % x.shape[0])


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("gen-model"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("gen-inputs"); s.add_argument("out"); s.add_argument("--function", required=True)
    s.add_argument("--seed", type=int, default=1); s.add_argument("--batch", type=int, default=2)
    s.add_argument("--seq", type=int, default=3)
    s.add_argument("--npy-version", type=int, default=1, choices=[1, 2, 3])
    s = sub.add_parser("check"); s.add_argument("--model", required=True); s.add_argument("--function", required=True)
    s.add_argument("--inputs", required=True); s.add_argument("--outputs", required=True)
    s.add_argument("--rtol", type=float, default=1e-5); s.add_argument("--atol", type=float, default=1e-4)
    s = sub.add_parser("check-quantized"); s.add_argument("--model", required=True)
    s.add_argument("--function", required=True); s.add_argument("--inputs", required=True)
    s.add_argument("--outputs", required=True); s.add_argument("--max-rel", type=float, required=True)
    s.add_argument("--min-rel", type=float, required=True)
    s = sub.add_parser("qcw-info"); s.add_argument("file"); s.add_argument("--expect-npy")
    s = sub.add_parser("so-check"); s.add_argument("so"); s.add_argument("npy")
    s = sub.add_parser("empty-qcw"); s.add_argument("file")
    s = sub.add_parser("check-alias"); s.add_argument("input"); s.add_argument("outputs")
    s = sub.add_parser("corrupt"); s.add_argument("file"); s.add_argument("mode")
    s.add_argument("--bytes", type=int, default=100)
    s = sub.add_parser("bad-npy"); s.add_argument("file"); s.add_argument("mode")
    s = sub.add_parser("gen-external"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s.add_argument("--path", default="blob.bin"); s.add_argument("--offset", type=int, default=128)
    s = sub.add_parser("gen-globals"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("check-observe"); s.add_argument("stats"); s.add_argument("sets", nargs="+")
    s = sub.add_parser("gen-linear"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("check-linear-stats"); s.add_argument("stats"); s.add_argument("--model", required=True)
    s.add_argument("sets", nargs="+")
    s = sub.add_parser("gen-calib"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("check-stats"); s.add_argument("stats"); s.add_argument("--model", required=True)
    s.add_argument("sets", nargs="+")
    args = p.parse_args()
    {"gen-model": gen_model, "gen-inputs": gen_inputs, "check": check,
     "qcw-info": qcw_info, "check-quantized": check_quantized, "so-check": so_check, "corrupt": corrupt, "empty-qcw": empty_qcw, "check-alias": check_alias,
     "bad-npy": bad_npy, "gen-calib": gen_calib, "gen-external": gen_external, "gen-globals": gen_globals, "gen-linear": gen_linear, "check-observe": check_observe, "check-linear-stats": check_linear_stats, "check-stats": check_stats}[args.cmd](args)


if __name__ == "__main__":
    main()
