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
    elif args.function == "ext":
        ins = [rng.standard_normal((b * s, EK)).astype(np.float32)]
    elif args.function == "calib":
        ins = [rng.standard_normal((b, s, CK)).astype(np.float32) * 3]
    else:
        sys.exit("unknown function " + args.function)
    for i, a in enumerate(ins):
        np.save(os.path.join(args.out, "in_%d.npy" % i), a)


def reference(model, function, ins):
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


def qcw_info(args):
    """Independent reader of the .qcw header/table (docs/module-format.md)."""
    data = open(args.file, "rb").read()
    magic, version, count = data[:8], *struct.unpack_from("<II", data, 8)
    target = data[16:32].rstrip(b"\0").decode()
    toff, tbytes, fbytes, _ = struct.unpack_from("<QQQQ", data, 32)
    print("magic=%s version=%d entries=%d target=%s file_bytes=%d actual=%d"
          % (magic.decode(), version, count, target, fbytes, len(data)))
    at = toff
    for _ in range(count):
        off, nbytes, nlen, _ = struct.unpack_from("<QQII", data, at)
        name = data[at + 24:at + 24 + nlen].decode()
        at += 24 + (nlen + 7) // 8 * 8
        print("entry %s offset=%d bytes=%d aligned=%s" % (name, off, nbytes, off % 64 == 0))
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


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("gen-model"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("gen-inputs"); s.add_argument("out"); s.add_argument("--function", required=True)
    s.add_argument("--seed", type=int, default=1); s.add_argument("--batch", type=int, default=2)
    s.add_argument("--seq", type=int, default=3)
    s = sub.add_parser("check"); s.add_argument("--model", required=True); s.add_argument("--function", required=True)
    s.add_argument("--inputs", required=True); s.add_argument("--outputs", required=True)
    s.add_argument("--rtol", type=float, default=1e-5); s.add_argument("--atol", type=float, default=1e-4)
    s = sub.add_parser("qcw-info"); s.add_argument("file"); s.add_argument("--expect-npy")
    s = sub.add_parser("so-check"); s.add_argument("so"); s.add_argument("npy")
    s = sub.add_parser("corrupt"); s.add_argument("file"); s.add_argument("mode")
    s.add_argument("--bytes", type=int, default=100)
    s = sub.add_parser("bad-npy"); s.add_argument("file"); s.add_argument("mode")
    s = sub.add_parser("gen-external"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s.add_argument("--path", default="blob.bin"); s.add_argument("--offset", type=int, default=128)
    s = sub.add_parser("gen-calib"); s.add_argument("out"); s.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("check-stats"); s.add_argument("stats"); s.add_argument("--model", required=True)
    s.add_argument("sets", nargs="+")
    args = p.parse_args()
    {"gen-model": gen_model, "gen-inputs": gen_inputs, "check": check,
     "qcw-info": qcw_info, "so-check": so_check, "corrupt": corrupt,
     "bad-npy": bad_npy, "gen-calib": gen_calib, "gen-external": gen_external, "check-stats": check_stats}[args.cmd](args)


if __name__ == "__main__":
    main()
