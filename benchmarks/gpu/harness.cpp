//===- harness.cpp - Runs compiled qc GPU kernels on the device -*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Loads the PTX that quant compiled (benchmarks/gpu/gen_cases.py), runs each
// kernel through the CUDA driver on fresh random inputs, checks every output
// against a plain double-precision CPU loop, and times the timing cases with
// CUDA events (weights rotated over enough copies that L2 cannot serve them).
// Build: g++ -O2 harness.cpp -I$CUDA/include -lcuda
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// The mma_frag layout (frag family weights): its one definition.
#include "../../include/qc/Dialect/QC/IR/FragLayout.h"
#include "../../include/qc/Runtime/TensorMap.h"

#define CHECK(call)                                                            \
  do {                                                                         \
    CUresult r_ = (call);                                                      \
    if (r_ != CUDA_SUCCESS) {                                                  \
      const char *msg = nullptr;                                               \
      cuGetErrorString(r_, &msg);                                              \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,       \
                   #call, msg ? msg : "?");                                    \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

struct Case {
  std::string name, kernel, kind, args;
  long n, k, bits, group, sym, perTensor, bias, actF16, scaleF16, block,
      rowsPerBlock;
  std::vector<long> mTiles;
  /// The frag family: CTAs per channel tile along K (M <= the largest M
  /// tile) and its reduction kernel `<kernel>_reduce`.
  long splitK = 1, reduceBlock = 0, reduceTileN = 0;
  std::string reduceArgs;
  /// Dynamic shared memory of the main kernel (the wgmma variant's stages).
  long smem = 0;
  bool frag() const { return args.find("workspace") != std::string::npos; }
  /// Weights packed mma_frag: the frag family, its wgmma variant included
  /// (kernels named <layer>_frag*).
  bool fragLayout() const {
    return frag() || kernel.find("_frag") != std::string::npos;
  }
};

/// Row-major packed bytes `w` (N x K of `bits`, INT4 two per byte, the even
/// k in the low nibble) re-laid out as mma_frag (FragLayout.h).
static std::vector<uint8_t> toFragLayout(const std::vector<uint8_t> &w, long n,
                                         long k, long bits) {
  std::vector<uint8_t> out(w.size(), 0);
  mlir::qc::FragIntOps ops;
  for (long r = 0; r < n; ++r)
    for (long c = 0; c < k; ++c) {
      size_t flat = (size_t)r * k + c;
      uint8_t v = bits == 8
                      ? w[flat]
                      : ((flat & 1) ? w[flat / 2] >> 4 : w[flat / 2] & 15);
      auto p = mlir::qc::fragPosition(ops, (unsigned)bits, k, (int64_t)r,
                                      (int64_t)c);
      out[p.byte] |= (uint8_t)(v << p.shift);
    }
  return out;
}

static uint16_t floatToHalf(float f) {
  // Round-to-nearest-even float -> half (finite inputs in half range).
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = ((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10)
      return sign;
    mant |= 0x800000;
    uint32_t shift = 14 - exp;
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1)))
      ++h;
    return sign | h;
  }
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h;
  return sign | h;
}

static float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      x = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000 | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    CHECK(cuMemAlloc(&ptr, n ? n : 1));
  }
  ~DeviceBuffer() { cuMemFree(ptr); }
  void upload(const void *src) { CHECK(cuMemcpyHtoD(ptr, src, bytes)); }
};

//===----------------------------------------------------------------------===//
// Tensor-core GEMMs (mma_cases.txt): W8A8 = act-quant kernel + INT8 GEMM, and
// the fp16 GEMM.
//===----------------------------------------------------------------------===//

struct MmaCase {
  std::string name, kernel, actKernel, kind, op;
  long n, k, perToken;
  float staticScale;
  long perTensorW, scaleF16, bias, actF16, outF16, block, blockM, blockN,
      actBlock;
  std::string args;
  /// Dynamic shared memory of the GEMM (the wgmma fp16 kernel's stages).
  long smem = 0;
  long ctas = 0; // persistent: the grid is ctas x 1
};

/// The kernel parameters in the order of `args` (comma-separated argument
/// names of the kernel family registry: `quant-compile --list-kernels`,
/// written by gen_cases.py), each the address of the buffer or value bound
/// to that name. The harness knows buffers, not argument orders.
static std::vector<void *>
bindParams(const std::string &args,
           const std::vector<std::pair<std::string, void *>> &bound) {
  std::vector<void *> params;
  std::stringstream ss(args);
  for (std::string name; std::getline(ss, name, ',');) {
    auto it = std::find_if(bound.begin(), bound.end(),
                           [&](const auto &b) { return b.first == name; });
    if (it == bound.end()) {
      std::fprintf(stderr, "harness: no buffer for kernel argument '%s'\n",
                   name.c_str());
      std::exit(2);
    }
    params.push_back(it->second);
  }
  return params;
}

/// One launch of `fn` on stream `s`; `cluster` > 1: thread-block clusters of
/// that many CTAs along x (cuLaunchKernelEx), as qcrt's
/// mgpuLaunchClusterKernel launches the frag family's split-K on sm_90.
static void launch(CUfunction fn, unsigned gx, unsigned gy, unsigned block,
                   CUstream s, void **params, unsigned cluster = 1,
                   unsigned smem = 0) {
  if (smem > 48 * 1024)
    CHECK(cuFuncSetAttribute(
        fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem));
  if (cluster <= 1) {
    CHECK(cuLaunchKernel(fn, gx, gy, 1, block, 1, 1, smem, s, params, nullptr));
    return;
  }
  CUlaunchAttribute attr = {};
  attr.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  attr.value.clusterDim.x = cluster;
  attr.value.clusterDim.y = 1;
  attr.value.clusterDim.z = 1;
  CUlaunchConfig cfg = {};
  cfg.gridDimX = gx;
  cfg.gridDimY = gy;
  cfg.gridDimZ = 1;
  cfg.blockDimX = block;
  cfg.blockDimY = 1;
  cfg.blockDimZ = 1;
  cfg.hStream = s;
  cfg.attrs = &attr;
  cfg.numAttrs = 1;
  CHECK(cuLaunchKernelEx(&cfg, fn, params, nullptr));
}

/// Median time (us) of one launch, over repetitions of 20 launches; `before`
/// runs before each launch (weight rotation).
template <typename F>
static double timeLaunches(CUfunction fn, unsigned gx, unsigned gy,
                           unsigned block, void **params, F before,
                           unsigned smem = 0) {
  CUevent e0, e1;
  CHECK(cuEventCreate(&e0, 0));
  CHECK(cuEventCreate(&e1, 0));
  std::vector<float> samples;
  const int launches = 20;
  for (int rep = 0; rep < 7; ++rep) {
    CHECK(cuEventRecord(e0, nullptr));
    for (int l = 0; l < launches; ++l) {
      before(rep * launches + l);
      launch(fn, gx, gy, block, nullptr, params, 1, smem);
    }
    CHECK(cuEventRecord(e1, nullptr));
    CHECK(cuEventSynchronize(e1));
    float ms = 0;
    CHECK(cuEventElapsedTime(&ms, e0, e1));
    if (rep > 1) // warm-up
      samples.push_back(ms * 1000.f / launches);
  }
  cuEventDestroy(e0);
  cuEventDestroy(e1);
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

/// Device time of one launch: L launches (L a multiple of the number of
/// weight copies, >= 20; `before(i)` switches to copy i % copies) captured
/// once into a CUDA graph and replayed, 7 replays, the first 2 dropped,
/// median / L. The method of ../shared/anchors/marlin_bench.py's graph
/// mode, so qc and the PyTorch columns are timed the same way.
template <typename F, typename G>
static double timeGraph(CUfunction fn, unsigned gx, unsigned gy, unsigned block,
                        void **params, int copies, F before, G after,
                        unsigned cluster = 1, unsigned smem = 0) {
  int launches = copies * ((20 + copies - 1) / copies);
  CUstream s;
  CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  for (int l = 0; l < 3; ++l) { // warm-up outside the capture
    before(l);
    launch(fn, gx, gy, block, s, params, cluster, smem);
    after(s);
  }
  CHECK(cuStreamSynchronize(s));
  CUgraph g;
  CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  for (int l = 0; l < launches; ++l) {
    before(l); // kernel parameters are copied at capture
    launch(fn, gx, gy, block, s, params, cluster, smem);
    after(s); // a second kernel of the same step (split-K reduction)
  }
  CHECK(cuStreamEndCapture(s, &g));
  CUgraphExec ge;
  CHECK(cuGraphInstantiate(&ge, g, 0));
  CUevent e0, e1;
  CHECK(cuEventCreate(&e0, 0));
  CHECK(cuEventCreate(&e1, 0));
  std::vector<float> samples;
  for (int rep = 0; rep < 7; ++rep) {
    CHECK(cuEventRecord(e0, s));
    CHECK(cuGraphLaunch(ge, s));
    CHECK(cuEventRecord(e1, s));
    CHECK(cuEventSynchronize(e1));
    float ms = 0;
    CHECK(cuEventElapsedTime(&ms, e0, e1));
    if (rep > 1)
      samples.push_back(ms * 1000.f / launches);
  }
  cuEventDestroy(e0);
  cuEventDestroy(e1);
  CHECK(cuGraphExecDestroy(ge));
  CHECK(cuGraphDestroy(g));
  CHECK(cuStreamDestroy(s));
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

/// The value of E4M3 (f8E4M3FN) code `c`: 1 sign, 4 exponent bits (bias 7), 3
/// mantissa bits, subnormals at exponent 0, S.1111.111 NaN.
static float e4m3Value(uint8_t c) {
  int e = (c >> 3) & 15, m = c & 7;
  float v = (e == 15 && m == 7) ? NAN
            : e == 0            ? std::ldexp((float)m, -9)
                                : std::ldexp(1.0f + m / 8.0f, e - 7);
  return (c & 0x80) ? -v : v;
}

/// Reference E4M3 rounding, independent of the compiler's bit recipe: the
/// nearest of the 127 finite non-negative codes (a sorted table searched by
/// value), ties to the even code (mantissa LSB 0), saturated to 448, the
/// sign copied.
static uint8_t e4m3Nearest(float x) {
  static const std::vector<float> table = [] {
    std::vector<float> t;
    for (int c = 0; c <= 0x7e; ++c)
      t.push_back(e4m3Value((uint8_t)c));
    return t;
  }();
  if (std::isnan(x))
    return 0x7f;
  float a = std::fabs(x);
  uint8_t sign = std::signbit(x) ? 0x80 : 0;
  if (a >= 448.f)
    return sign | 0x7e;
  // Codes increase with value: the first code >= a and the one below it.
  int hi =
      (int)(std::lower_bound(table.begin(), table.end(), a) - table.begin());
  int best = hi;
  if (hi > 0) {
    float dl = a - table[hi - 1], dh = table[hi] - a;
    if (dl < dh || (dl == dh && ((hi - 1) & 1) == 0))
      best = hi - 1;
  }
  return (uint8_t)(sign | best);
}

static float readOut(const std::vector<uint8_t> &raw, size_t i, bool f16) {
  if (f16) {
    uint16_t h;
    std::memcpy(&h, &raw[i * 2], 2);
    return halfToFloat(h);
  }
  float f;
  std::memcpy(&f, &raw[i * 4], 4);
  return f;
}

static int runMmaCases(const std::string &dir, std::mt19937_64 &rng) {
  std::ifstream in(dir + "/mma_cases.txt");
  std::vector<MmaCase> cases;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ss(line);
    MmaCase c;
    ss >> c.name >> c.kernel >> c.actKernel >> c.kind >> c.op >> c.n >> c.k >>
        c.perToken >> c.staticScale >> c.perTensorW >> c.scaleF16 >> c.bias >>
        c.actF16 >> c.outF16 >> c.block >> c.blockM >> c.blockN >> c.actBlock >>
        c.args;
    if (!(ss >> c.smem))
      c.smem = 0;
    // Persistent kernels: a grid of `ctas` CTAs walking the tiles.
    if (!(ss >> c.ctas))
      c.ctas = 0;
    cases.push_back(c);
  }
  int failures = 0;
  std::printf("\n%-26s %5s %9s %9s %9s %9s %9s\n", "tensor-core case", "M",
              "q_bad", "s_bad", "max_err/b", "rel_l2", "us");
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (const MmaCase &c : cases) {
    // W8A8: INT8 or FP8 E4M3 codes (act-quant kernel + GEMM); else fp16.
    bool fp8 = c.op == "fp8", int8 = c.op == "int8" || fp8;
    std::ifstream pf(dir + "/" + c.name + ".ptx");
    std::string ptx((std::istreambuf_iterator<char>(pf)),
                    std::istreambuf_iterator<char>());
    CUmodule mod;
    CHECK(cuModuleLoadData(&mod, ptx.c_str()));
    CUfunction fn, actFn = nullptr;
    CHECK(cuModuleGetFunction(&fn, mod, c.kernel.c_str()));
    if (int8)
      CHECK(cuModuleGetFunction(&actFn, mod, c.actKernel.c_str()));

    // Weights: INT8 bytes (full range), E4M3 codes (every finite code) or
    // f16 in [-1, 1].
    long wElem = int8 ? 1 : 2;
    size_t wBytes = (size_t)c.n * c.k * wElem;
    std::vector<int8_t> wq(int8 ? c.n * c.k : 0);
    std::vector<uint16_t> wh(int8 ? 0 : c.n * c.k);
    std::vector<float> wf(c.n * c.k);
    std::uniform_int_distribution<int> byteDist(-128, 127);
    for (size_t i = 0; i < wf.size(); ++i) {
      if (fp8) {
        uint8_t code;
        do
          code = (uint8_t)byteDist(rng);
        while ((code & 0x7f) == 0x7f);
        wq[i] = (int8_t)code;
        wf[i] = e4m3Value(code);
      } else if (int8) {
        wq[i] = (int8_t)byteDist(rng);
        wf[i] = wq[i];
      } else {
        wh[i] = floatToHalf(uni(rng));
        wf[i] = halfToFloat(wh[i]);
      }
    }
    const void *wSrc = int8 ? (const void *)wq.data() : (const void *)wh.data();
    int copies =
        c.kind == "time" ? (int)std::max<size_t>(2, 240000000 / wBytes + 1) : 1;
    std::vector<DeviceBuffer *> dW;
    for (int i = 0; i < copies; ++i) {
      dW.push_back(new DeviceBuffer(wBytes));
      dW.back()->upload(wSrc);
    }
    // Weight scales (INT8) and bias (output type).
    long swN = c.perTensorW ? 1 : c.n;
    std::uniform_real_distribution<float> swDist(0.001f, 0.01f);
    std::vector<float> swF(swN);
    std::vector<uint16_t> swH(swN);
    for (long i = 0; i < swN; ++i) {
      swF[i] = swDist(rng);
      swH[i] = floatToHalf(swF[i]);
      if (c.scaleF16)
        swF[i] = halfToFloat(swH[i]);
    }
    std::vector<float> biasF(c.n);
    std::vector<uint16_t> biasH(c.n);
    for (long i = 0; i < c.n; ++i) {
      biasH[i] = floatToHalf(uni(rng));
      biasF[i] = c.outF16 ? halfToFloat(biasH[i]) : uni(rng);
    }
    DeviceBuffer dSw(swN * (c.scaleF16 ? 2 : 4)),
        dBias(c.n * (c.outF16 ? 2 : 4));
    dSw.upload(c.scaleF16 ? (const void *)swH.data()
                          : (const void *)swF.data());
    dBias.upload(c.outF16 ? (const void *)biasH.data()
                          : (const void *)biasF.data());

    // Timing rows: M = 1024, 4096, or the list in QC_MMA_MS ("128,256,...").
    std::vector<long> ms = c.kind == "time"
                               ? std::vector<long>{1024, 4096}
                               : std::vector<long>{1, 3, 16, 64, 333};
    if (const char *env = std::getenv("QC_MMA_MS"); env && c.kind == "time") {
      ms.clear();
      std::stringstream ls(env);
      for (std::string v; std::getline(ls, v, ',');)
        ms.push_back(std::stol(v));
    }
    for (long m : ms) {
      bool inF16 = int8 ? c.actF16 : true;
      std::vector<float> xF(m * c.k);
      std::vector<uint16_t> xH(m * c.k);
      for (long r = 0; r < m; ++r)
        for (long k = 0; k < c.k; ++k) {
          // Row 1 is all zeros: the zero-row convention (s = 1).
          float v = (r == 1 && m > 2) ? 0.f : uni(rng);
          size_t i = r * c.k + k;
          xH[i] = floatToHalf(v);
          xF[i] = inF16 ? halfToFloat(xH[i]) : v;
        }
      DeviceBuffer dX(m * c.k * (inF16 ? 2 : 4)),
          dY(m * c.n * (c.outF16 ? 2 : 4));
      dX.upload(inF16 ? (const void *)xH.data() : (const void *)xF.data());
      CHECK(cuMemsetD8(dY.ptr, 0xff, dY.bytes)); // NaN poison
      int mi = (int)m;
      unsigned gx = (unsigned)((c.n + c.blockN - 1) / c.blockN);
      unsigned gy = (unsigned)((m + c.blockM - 1) / c.blockM);
      if (c.ctas > 0) {
        gx = (unsigned)c.ctas;
        gy = 1;
      }
      CUdeviceptr wp = dW[0]->ptr;

      // CPU activation quantization (the host lowering's convention): float
      // s = amax / 127 (1 for a zero row), q = clamp(rint(x / s), -127, 127);
      // FP8: s = amax / 448, q = the nearest E4M3 code of x / s.
      long sN = c.perToken ? m : 1;
      std::vector<float> sRef(sN);
      std::vector<int8_t> qRef(int8 ? m * c.k : 0);
      long qBad = 0, sBad = 0;
      double actUs = 0;
      DeviceBuffer dQ(int8 ? m * c.k : 1), dS(sN * 4);
      if (int8) {
        for (long r = 0; r < m; ++r) {
          float s = c.staticScale;
          if (c.perToken) {
            float amax = 0.f;
            for (long k = 0; k < c.k; ++k)
              amax = std::max(amax, std::fabs(xF[r * c.k + k]));
            s = amax == 0.f ? 1.f : amax / (fp8 ? 448.f : 127.f);
            sRef[r] = s;
          } else {
            sRef[0] = s;
          }
          for (long k = 0; k < c.k; ++k) {
            float v = xF[r * c.k + k] / s;
            if (fp8) {
              qRef[r * c.k + k] = (int8_t)e4m3Nearest(v);
              continue;
            }
            v = std::min(127.f, std::max(-127.f, std::nearbyint(v)));
            qRef[r * c.k + k] = (int8_t)v;
          }
        }
        CHECK(cuMemsetD8(dQ.ptr, 0x5a, dQ.bytes));
        CHECK(cuMemsetD8(dS.ptr, 0xff, dS.bytes));
        void *aparams[] = {&dX.ptr, &dQ.ptr, &dS.ptr, &mi};
        CHECK(cuLaunchKernel(actFn, (unsigned)m, 1, 1, c.actBlock, 1, 1, 0,
                             nullptr, aparams, nullptr));
        CHECK(cuCtxSynchronize());
        std::vector<int8_t> qDev(m * c.k);
        std::vector<float> sDev(sN);
        CHECK(cuMemcpyDtoH(qDev.data(), dQ.ptr, qDev.size()));
        CHECK(cuMemcpyDtoH(sDev.data(), dS.ptr, sDev.size() * 4));
        for (size_t i = 0; i < qDev.size(); ++i)
          qBad += qDev[i] != qRef[i];
        for (long i = 0; i < sN; ++i)
          sBad += std::memcmp(&sDev[i], &sRef[i], 4) != 0;
        if (c.kind == "time")
          actUs = timeGraph(
              actFn, (unsigned)m, 1, c.actBlock, aparams, 1, [](int) {},
              [](CUstream) {});
      }

      // The TMA pipeline's tensor maps (kernels taking input_map /
      // weight_map), encoded as qcrt does at launch; the weight's again for
      // each weight copy of the timing rotation.
      CUtensorMap xMap = {}, wMap = {};
      const bool tma = c.args.find("input_map") != std::string::npos;
      const unsigned eb = int8 ? 1 : 2;
      auto encodeW = [&](CUdeviceptr p) {
        CHECK(qcrt::encodeOperandTensorMap(cuTensorMapEncodeTiled, &wMap,
                                           (const void *)p, c.n, c.k, eb,
                                           (unsigned)c.blockN));
      };
      if (tma) {
        CHECK(
            qcrt::encodeOperandTensorMap(cuTensorMapEncodeTiled, &xMap,
                                         (const void *)(int8 ? dQ.ptr : dX.ptr),
                                         m, c.k, eb, (unsigned)c.blockM));
        encodeW(wp);
      }
      std::vector<void *> bound =
          int8 ? bindParams(c.args, {{"input", &dQ.ptr},
                                     {"input_scales", &dS.ptr},
                                     {"weight", &wp},
                                     {"scales", &dSw.ptr},
                                     {"bias", &dBias.ptr},
                                     {"output", &dY.ptr},
                                     {"rows", &mi},
                                     {"input_map", &xMap},
                                     {"weight_map", &wMap}})
               : bindParams(c.args, {{"input", &dX.ptr},
                                     {"weight", &wp},
                                     {"bias", &dBias.ptr},
                                     {"output", &dY.ptr},
                                     {"rows", &mi},
                                     {"input_map", &xMap},
                                     {"weight_map", &wMap}});
      void **params = bound.data();
      launch(fn, gx, gy, c.block, nullptr, params, 1, (unsigned)c.smem);
      CHECK(cuCtxSynchronize());
      std::vector<uint8_t> yRaw(dY.bytes);
      CHECK(cuMemcpyDtoH(yRaw.data(), dY.ptr, dY.bytes));

      // Reference: INT8 exactly in int64 then the epilogue in double; fp16 in
      // double over the f16 values. Each element must be within a bound of
      // the reference: fp32 rounding of the epilogue (INT8) or of the K-term
      // f32 accumulation (fp16), plus the f16 rounding of the output.
      std::vector<long> rows;
      if (c.kind == "time")
        rows = {0, m - 1};
      else
        for (long r = 0; r < m; ++r)
          rows.push_back(r);
      double errSq = 0, refSq = 0, worst = 0;
      bool nan = false;
      for (long r : rows)
        for (long n = 0; n < c.n; ++n) {
          double ref, mag;
          if (fp8) {
            // Exact products of the decoded codes, summed in double. The
            // bound: wgmma's FP8 accumulation keeps fewer bits than f32; the
            // kernel promotes every 128 K into f32, and inside a step the
            // error measured up to 2.7e-4 of sum |products| (H100, run 7):
            // 2^-11 of it, plus the epilogue's roundings.
            double acc = 0, absAcc = 0;
            const int8_t *qr = &qRef[r * c.k];
            for (long k = 0; k < c.k; ++k) {
              double p = (double)e4m3Value((uint8_t)qr[k]) * wf[n * c.k + k];
              acc += p;
              absAcc += std::fabs(p);
            }
            double sc =
                (double)sRef[c.perToken ? r : 0] * swF[c.perTensorW ? 0 : n];
            ref = acc * sc + (c.bias ? biasF[n] : 0.0);
            mag = absAcc * sc * std::ldexp(1.0, -11) +
                  (std::fabs(acc * sc) + (c.bias ? std::fabs(biasF[n]) : 0.0)) *
                      16.0 / (1 << 24);
          } else if (int8) {
            int64_t acc = 0;
            const int8_t *qr = &qRef[r * c.k];
            const int8_t *wr = &wq[n * c.k];
            for (long k = 0; k < c.k; ++k)
              acc += (int)qr[k] * (int)wr[k];
            double sc =
                (double)sRef[c.perToken ? r : 0] * swF[c.perTensorW ? 0 : n];
            ref = acc * sc + (c.bias ? biasF[n] : 0.0);
            mag = std::fabs(acc * sc) + (c.bias ? std::fabs(biasF[n]) : 0.0);
            mag *= 4.0 / (1 << 24) * 4; // 4 fp32 roundings, 4x margin
          } else {
            double acc = 0, absAcc = 0;
            for (long k = 0; k < c.k; ++k) {
              double p = (double)xF[r * c.k + k] * wf[n * c.k + k];
              acc += p;
              absAcc += std::fabs(p);
            }
            ref = acc + (c.bias ? biasF[n] : 0.0);
            mag = absAcc * 1e-5 + (c.bias ? std::fabs(biasF[n]) * 1e-6 : 0.0);
          }
          double bound =
              mag + (c.outF16 ? std::fabs(ref) / 2048 + 6e-8 : 1e-30);
          double got = readOut(yRaw, r * c.n + n, c.outF16);
          if (!std::isfinite(got))
            nan = true;
          worst = std::max(worst, std::fabs(got - ref) / bound);
          errSq += (got - ref) * (got - ref);
          refSq += ref * ref;
        }
      double relL2 = std::sqrt(errSq / std::max(refSq, 1e-30));
      bool ok = !nan && worst <= 1.0 && qBad == 0 && sBad == 0;
      failures += !ok;

      double us = 0;
      // CUDA-graph timing (as the PyTorch columns of torch_baseline.py).
      if (c.kind == "time")
        us = timeGraph(
            fn, gx, gy, c.block, params, copies,
            [&](int i) {
              wp = dW[i % copies]->ptr;
              if (tma)
                encodeW(wp);
            },
            [](CUstream) {}, 1, (unsigned)c.smem);
      std::printf("%-26s %5ld %9ld %9ld %9.3f %9.2e %9.1f %s\n", c.name.c_str(),
                  m, qBad, sBad, worst, relL2, us, ok ? "ok" : "FAIL");
      if (c.kind == "time")
        std::printf("MMATIME %s %s %ld %ld %ld %.2f %.2f\n", c.name.c_str(),
                    c.op.c_str(), m, c.n, c.k, us, actUs);
    }
    for (auto *b : dW)
      delete b;
    CHECK(cuModuleUnload(mod));
  }
  std::printf("tensor-core failures: %d\n", failures);
  return failures;
}

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : ".gpu-cases";
  CHECK(cuInit(0));
  CUdevice dev;
  CHECK(cuDeviceGet(&dev, 0));
  char devName[256];
  CHECK(cuDeviceGetName(devName, sizeof(devName), dev));
  CUcontext ctx;
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));
  std::printf("device: %s\n", devName);

  std::ifstream in(dir + "/cases.txt");
  std::vector<Case> cases;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ss(line);
    Case c;
    ss >> c.name >> c.kernel >> c.kind >> c.n >> c.k >> c.bits >> c.group >>
        c.sym >> c.perTensor >> c.bias >> c.actF16 >> c.scaleF16 >> c.block >>
        c.rowsPerBlock;
    std::string tiles;
    ss >> tiles >> c.args >> c.splitK >> c.reduceArgs >> c.reduceBlock >>
        c.reduceTileN;
    if (!(ss >> c.smem))
      c.smem = 0;
    std::stringstream ts(tiles);
    for (std::string t; std::getline(ts, t, ',');)
      c.mTiles.push_back(std::stol(t));
    cases.push_back(c);
  }
  std::mt19937_64 rng(std::random_device{}());
  int failures = 0;
  std::printf("%-34s %5s %10s %10s %9s %8s\n", "case", "M", "rel_l2", "max_rel",
              "us", "GB/s");
  for (const Case &c : cases) {
    std::ifstream pf(dir + "/" + c.name + ".ptx");
    std::string ptx((std::istreambuf_iterator<char>(pf)),
                    std::istreambuf_iterator<char>());
    CUmodule mod;
    CHECK(cuModuleLoadData(&mod, ptx.c_str()));
    std::vector<CUfunction> fns;
    // A frag family with split_k > 1 has `<kernel>_reduce`, or (sm_90)
    // splits through thread-block clusters and has none.
    CUfunction reduceFn = nullptr;
    if (c.frag() && c.splitK > 1 &&
        cuModuleGetFunction(&reduceFn, mod, (c.kernel + "_reduce").c_str()) !=
            CUDA_SUCCESS)
      reduceFn = nullptr;
    bool clusterSplit = c.frag() && c.splitK > 1 && !reduceFn;
    for (long t : c.mTiles) {
      CUfunction f;
      // GEMV families have one kernel per M tile; the mma kernel and the
      // frag family's wgmma variant are one.
      bool single = c.name.find("_womma") != std::string::npos ||
                    c.kernel.size() > 6 &&
                        c.kernel.compare(c.kernel.size() - 6, 6, "_wgmma") == 0;
      std::string sym =
          single ? c.kernel : c.kernel + "_mt" + std::to_string(t);
      CHECK(cuModuleGetFunction(&f, mod, sym.c_str()));
      fns.push_back(f);
    }

    long groupSize = c.group ? c.group : c.k;
    long groups = c.perTensor ? 1 : c.k / groupSize;
    long sRows = c.perTensor ? 1 : c.n;
    size_t wBytes = c.n * c.k * c.bits / 8;
    std::vector<uint8_t> w(wBytes), zeros(sRows * groups);
    std::uniform_int_distribution<int> byteDist(0, 255);
    for (auto &v : w)
      v = byteDist(rng);
    std::uniform_int_distribution<int> zDist(0, (1 << c.bits) - 1);
    for (auto &v : zeros)
      v = zDist(rng);
    std::uniform_real_distribution<float> sDist(0.5f / c.k, 2.0f / c.k);
    std::vector<float> scalesF(sRows * groups);
    std::vector<uint16_t> scalesH(scalesF.size());
    for (size_t i = 0; i < scalesF.size(); ++i) {
      scalesF[i] = sDist(rng) * (c.bits == 4 ? 16 : 1);
      scalesH[i] = floatToHalf(scalesF[i]);
      if (c.scaleF16)
        scalesF[i] = halfToFloat(scalesH[i]);
    }
    std::uniform_real_distribution<float> uni(-1.f, 1.f);
    std::vector<float> biasF(c.n);
    std::vector<uint16_t> biasH(c.n);
    for (long i = 0; i < c.n; ++i) {
      biasH[i] = floatToHalf(uni(rng));
      biasF[i] = c.actF16 ? halfToFloat(biasH[i]) : uni(rng);
    }
    DeviceBuffer dScales(scalesF.size() * (c.scaleF16 ? 2 : 4)),
        dZeros(zeros.size()), dBias(c.n * (c.actF16 ? 2 : 4));
    dScales.upload(c.scaleF16 ? (const void *)scalesH.data()
                              : (const void *)scalesF.data());
    dZeros.upload(zeros.data());
    dBias.upload(c.actF16 ? (const void *)biasH.data()
                          : (const void *)biasF.data());

    // Timing cases rotate over enough weight copies to defeat the 50-60 MB L2.
    // "timep": prefill timing (the weight-only tensor-core kernel); "times":
    // small-batch timing (M = 1..64, GEMV and small-M mma tilings).
    bool timed = c.kind == "time" || c.kind == "timep" || c.kind == "times";
    int copies = timed ? (int)std::max<size_t>(2, 240000000 / wBytes + 1) : 1;
    std::vector<DeviceBuffer *> dW;
    std::vector<uint8_t> wDev =
        c.fragLayout() ? toFragLayout(w, c.n, c.k, c.bits) : w;
    for (int i = 0; i < copies; ++i) {
      dW.push_back(new DeviceBuffer(wBytes));
      dW.back()->upload(wDev.data());
    }

    std::vector<long> ms =
        c.kind == "timep" ? std::vector<long>{1024, 4096}
        : c.kind == "times"
            ? std::vector<long>{1, 2, 4, 8, 16, 32, 64, 128, 256}
        : c.kind == "time" ? std::vector<long>{1, 16, 64}
                           : std::vector<long>{1, 3, 16, 64, 129, 333};
    for (long m : ms) {
      long eb = c.actF16 ? 2 : 4;
      std::vector<float> xF(m * c.k);
      std::vector<uint16_t> xH(m * c.k);
      for (size_t i = 0; i < xF.size(); ++i) {
        float v = uni(rng);
        xH[i] = floatToHalf(v);
        xF[i] = c.actF16 ? halfToFloat(xH[i]) : v;
      }
      DeviceBuffer dX(m * c.k * eb), dY(m * c.n * eb);
      dX.upload(c.actF16 ? (const void *)xH.data() : (const void *)xF.data());
      CHECK(cuMemsetD8(dY.ptr, 0xff, dY.bytes)); // NaN poison
      int mi = (int)m;
      CUdeviceptr wp = dW[0]->ptr;
      // The frag family splits K over S CTAs for M <= its largest M tile
      // (qc-lower-gpu-launches' rule): partial sums in the workspace, then
      // the reduction kernel; or one cluster of S CTAs per channel tile.
      long splits = c.frag() && m <= c.mTiles.back() ? c.splitK : 1;
      unsigned cluster = clusterSplit && splits > 1 ? (unsigned)splits : 1;
      DeviceBuffer dWs(
          splits > 1 && !clusterSplit ? (size_t)splits * m * c.n * 4 : 4);
      CUdeviceptr noPtr = 0;
      std::vector<void *> bound = bindParams(c.args, {{"input", &dX.ptr},
                                                      {"weight", &wp},
                                                      {"scales", &dScales.ptr},
                                                      {"zeros", &dZeros.ptr},
                                                      {"bias", &dBias.ptr},
                                                      {"output", &dY.ptr},
                                                      {"rows", &mi},
                                                      {"workspace", &dWs.ptr},
                                                      {"residual", &noPtr}});
      void **params = bound.data();
      std::vector<void *> reduceBound;
      if (splits > 1 && !clusterSplit)
        reduceBound = bindParams(c.reduceArgs, {{"workspace", &dWs.ptr},
                                                {"bias", &dBias.ptr},
                                                {"output", &dY.ptr},
                                                {"rows", &mi}});
      auto reduce = [&](CUstream s) {
        if (splits <= 1 || clusterSplit)
          return;
        unsigned rx = (unsigned)((c.n + c.reduceTileN - 1) / c.reduceTileN);
        CHECK(cuLaunchKernel(reduceFn, rx, (unsigned)m, 1,
                             (unsigned)c.reduceBlock, 1, 1, 0, s,
                             reduceBound.data(), nullptr));
      };
      // The launcher's rule: the smallest row tile >= M, else the largest.
      size_t vi = c.mTiles.size() - 1;
      for (size_t i = 0; i < c.mTiles.size(); ++i)
        if (c.mTiles[i] >= m) {
          vi = i;
          break;
        }
      CUfunction fn = fns[vi];
      long mTile = c.mTiles[vi];
      unsigned gx =
          (unsigned)(((c.n + c.rowsPerBlock - 1) / c.rowsPerBlock) * splits);
      unsigned gy = (unsigned)((m + mTile - 1) / mTile);
      launch(fn, gx, gy, c.block, nullptr, params, cluster, (unsigned)c.smem);
      reduce(nullptr);
      CHECK(cuCtxSynchronize());
      std::vector<uint8_t> yRaw(dY.bytes);
      CHECK(cuMemcpyDtoH(yRaw.data(), dY.ptr, dY.bytes));

      // Reference: plain loop in double over the values the kernel sees.
      std::vector<long> rows;
      if (timed)
        rows = {0, m - 1};
      else
        for (long r = 0; r < m; ++r)
          rows.push_back(r);
      double errSq = 0, refSq = 0, maxErr = 0, maxRef = 0;
      bool nan = false;
      if (timed && m == 1)
        rows = {0};
      std::vector<double> refRow(c.n);
      for (long r : rows) {
        // The reference row in parallel (large timing shapes); compiled
        // without OpenMP this is the same serial loop.
#pragma omp parallel for schedule(static)
        for (long n = 0; n < c.n; ++n) {
          double acc = 0;
          for (long k = 0; k < c.k; ++k) {
            size_t flat = (size_t)n * c.k + k;
            int byte = w[flat * c.bits / 8];
            int q = c.bits == 8 ? byte : ((flat & 1) ? byte >> 4 : byte & 15);
            if (c.sym)
              q = c.bits == 8 ? (int8_t)q : (q >= 8 ? q - 16 : q);
            long sIdx = c.perTensor ? 0 : n * groups + k / groupSize;
            double z = c.sym ? 0 : zeros[sIdx];
            acc += (double)xF[r * c.k + k] * (q - z) * scalesF[sIdx];
          }
          if (c.bias)
            acc += biasF[n];
          refRow[n] = acc;
        }
        for (long n = 0; n < c.n; ++n) {
          double acc = refRow[n];
          double got;
          if (c.actF16) {
            uint16_t h;
            std::memcpy(&h, &yRaw[(r * c.n + n) * 2], 2);
            got = halfToFloat(h);
          } else {
            float f;
            std::memcpy(&f, &yRaw[(r * c.n + n) * 4], 4);
            got = f;
          }
          if (!std::isfinite(got))
            nan = true;
          errSq += (got - acc) * (got - acc);
          refSq += acc * acc;
          maxErr = std::max(maxErr, std::fabs(got - acc));
          maxRef = std::max(maxRef, std::fabs(acc));
        }
      }
      double relL2 = std::sqrt(errSq / std::max(refSq, 1e-30));
      double maxRel = maxErr / std::max(maxRef, 1e-30);
      // f16 outputs carry ~2^-11 relative rounding; fp32 accumulation order
      // differs from the reference.
      double tol = c.actF16 ? 2e-3 : 1e-5;
      bool ok = !nan && relL2 < tol && maxRel < 4 * tol;
      failures += !ok;

      double us = 0, gbs = 0;
      if (timed) {
        us = timeGraph(
            fn, gx, gy, c.block, params, copies,
            [&](int i) { wp = dW[i % copies]->ptr; }, reduce, cluster,
            (unsigned)c.smem);
        gbs = (wBytes + scalesF.size() * (c.scaleF16 ? 2 : 4)) / (us * 1e3);
      }
      std::printf("%-34s %5ld %10.2e %10.2e %9.1f %8.0f %s\n", c.name.c_str(),
                  m, relL2, maxRel, us, gbs, ok ? "ok" : "FAIL");
      if (timed)
        std::printf("TIME %s %ld %ld %ld %ld %ld %.2f\n", c.name.c_str(), m,
                    c.n, c.k, c.bits, c.group, us);
    }
    for (auto *b : dW)
      delete b;
    CHECK(cuModuleUnload(mod));
  }
  std::printf("failures: %d\n", failures);
  failures += runMmaCases(dir, rng);
  return failures ? 1 : 0;
}
