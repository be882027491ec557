//===- QuantUtils.cpp - Helpers shared by the qc passes ---------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/QuantUtils.h"
#include "qc/Dialect/QC/Transforms/Limits.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::qc;

bool mlir::qc::isConstantWeight(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (auto c = dyn_cast<arith::ConstantOp>(def))
    return isa<DenseElementsAttr, DenseResourceElementsAttr>(c.getValue());
  return isa<ExternalWeightOp>(def);
}

std::string mlir::qc::resolveInputRelativePath(Location loc, StringRef path) {
  if (llvm::sys::path::is_absolute(path))
    return path.str();
  auto fileLoc = loc->findInstanceOf<FileLineColLoc>();
  if (!fileLoc)
    return path.str();
  StringRef file = fileLoc.getFilename().getValue();
  StringRef dir = llvm::sys::path::parent_path(file);
  if (file == "-" || dir.empty())
    return path.str();
  SmallString<256> full(dir);
  llvm::sys::path::append(full, path);
  return std::string(full);
}

std::optional<ArrayRef<char>> mlir::qc::rawConstantData(Attribute attr) {
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return std::nullopt;
    return dense.getRawData();
  }
  if (auto res = dyn_cast_or_null<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

/// The f32 value of the IEEE half `h` (exact: every half is a float).
static float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
           man = h & 0x3ff, bits;
  if (exp == 0) {
    float f = std::ldexp(static_cast<float>(man), -24); // zero or subnormal
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | (man << 13); // inf, nan
  else
    bits = sign | ((exp + 112) << 23) | (man << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// True when decodeRaw reads elements of type `elt`.
static bool isRawDecodable(Type elt) {
  return elt.isF32() || elt.isF64() || elt.isF16() || elt.isBF16() ||
         elt.isSignlessInteger(8);
}

/// Decodes `count` little-endian elements of `elt` from `raw` into `out`
/// (the element type is dispatched once, not per element).
static LogicalResult decodeRaw(ArrayRef<char> raw, Type elt, int64_t count,
                               double *out, std::string &err) {
  unsigned bytes = elt.getIntOrFloatBitWidth() / 8;
  if (raw.size() < static_cast<size_t>(count) * bytes) {
    err = "has " + std::to_string(raw.size()) + " bytes of data, expected " +
          std::to_string(count * bytes);
    return failure();
  }
  const char *p = raw.data();
  auto u16 = [&](int64_t i) {
    return uint16_t(uint8_t(p[2 * i]) | (uint16_t(uint8_t(p[2 * i + 1])) << 8));
  };
  if (elt.isF32()) {
    for (int64_t i = 0; i < count; ++i) {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      out[i] = f;
    }
  } else if (elt.isF64()) {
    std::memcpy(out, p, count * 8);
  } else if (elt.isF16()) {
    // Every half's value, looked up (weights are mostly f16).
    static const std::vector<float> halves = [] {
      std::vector<float> t(1 << 16);
      for (uint32_t h = 0; h < t.size(); ++h)
        t[h] = halfToFloat(static_cast<uint16_t>(h));
      return t;
    }();
    for (int64_t i = 0; i < count; ++i)
      out[i] = halves[u16(i)];
  } else if (elt.isBF16()) {
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits = uint32_t(u16(i)) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      out[i] = f;
    }
  } else if (elt.isSignlessInteger(8)) {
    for (int64_t i = 0; i < count; ++i)
      out[i] = static_cast<int8_t>(p[i]);
  } else {
    err = "has unsupported element type";
    return failure();
  }
  return success();
}

static LogicalResult decodeRaw(ArrayRef<char> raw, Type elt, int64_t count,
                               std::vector<double> &out, std::string &err) {
  out.resize(count);
  return decodeRaw(raw, elt, count, out.data(), err);
}

/// The path of `ext`'s file once it is known to hold `need` bytes at the
/// op's offset; else the diagnostic (a missing or a short file) on `user`.
static FailureOr<std::string> checkExternalWeight(ExternalWeightOp ext,
                                                  Operation *user,
                                                  const Twine &what, Type type,
                                                  uint64_t need) {
  std::string path = resolveInputRelativePath(ext.getLoc(), ext.getPath());
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size))
    return user->emitError() << what << ": cannot open external weight file '"
                             << path << "': " << ec.message();
  uint64_t offset = ext.getOffset();
  if (offset + need > size)
    return user->emitError()
           << what << ": external weight file '" << path << "' has " << size
           << " bytes, but " << type << " at offset " << offset << " needs "
           << offset + need;
  return path;
}

FailureOr<std::vector<double>>
mlir::qc::readConstantValues(Value v, Operation *user, const Twine &what) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t count = type.getNumElements();
  Type elt = type.getElementType();
  std::vector<double> out;
  Operation *def = v.getDefiningOp();
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def)) {
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
      out.reserve(count);
      // Fast paths over the raw storage for the common weight types.
      if (elt.isF32() && !dense.isSplat()) {
        for (float f : dense.getValues<float>())
          out.push_back(f);
        return out;
      }
      if ((elt.isF16() || elt.isBF16()) && !dense.isSplat()) {
        std::string err;
        if (succeeded(decodeRaw(dense.getRawData(), elt, count, out, err)))
          return out;
        out.clear();
      }
      if (isa<FloatType>(elt)) {
        for (const APFloat &f : dense.getValues<APFloat>()) {
          APFloat d = f;
          bool lost;
          d.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
          out.push_back(d.convertToDouble());
        }
      } else {
        for (const APInt &i : dense.getValues<APInt>())
          out.push_back(static_cast<double>(i.getSExtValue()));
      }
      return out;
    }
    if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      if (!blob)
        return user->emitError()
               << what << ": dense_resource blob '"
               << res.getRawHandle().getKey() << "' has no data";
      std::string err;
      if (failed(decodeRaw(blob->getData(), elt, count, out, err)))
        return user->emitError() << what << ": dense_resource blob '"
                                 << res.getRawHandle().getKey() << "' " << err;
      return out;
    }
  }
  if (auto ext = dyn_cast_or_null<ExternalWeightOp>(def)) {
    uint64_t need =
        static_cast<uint64_t>(count) * (elt.getIntOrFloatBitWidth() / 8);
    uint64_t offset = ext.getOffset();
    FailureOr<std::string> checked =
        checkExternalWeight(ext, user, what, type, need);
    if (failed(checked))
      return failure();
    std::string path = std::move(*checked);
    auto buf = llvm::MemoryBuffer::getFileSlice(path, need, offset);
    if (!buf)
      return user->emitError() << what << ": cannot read external weight file '"
                               << path << "': " << buf.getError().message();
    std::string err;
    ArrayRef<char> raw((*buf)->getBufferStart(), (*buf)->getBufferSize());
    if (failed(decodeRaw(raw, elt, count, out, err)))
      return user->emitError()
             << what << ": external weight file '" << path << "' " << err;
    return out;
  }
  return user->emitError() << what << " is not a compile-time constant";
}

FailureOr<ConstantSource>
mlir::qc::locateConstantValues(Value v, Operation *user, const Twine &what) {
  auto type = cast<RankedTensorType>(v.getType());
  ConstantSource src;
  src.elementType = type.getElementType();
  src.count = type.getNumElements();
  unsigned bytes = src.elementType.getIntOrFloatBitWidth() / 8;
  Operation *def = v.getDefiningOp();
  auto decodeAll = [&]() -> FailureOr<ConstantSource> {
    FailureOr<std::vector<double>> vals = readConstantValues(v, user, what);
    if (failed(vals))
      return failure();
    src.values = std::move(*vals);
    return std::move(src);
  };
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def)) {
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
      if (dense.isSplat() || !isRawDecodable(src.elementType) ||
          dense.getRawData().size() != static_cast<size_t>(src.count) * bytes)
        return decodeAll();
      src.memory = dense.getRawData();
      return std::move(src);
    }
    if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      if (!blob || !isRawDecodable(src.elementType) ||
          blob->getData().size() < static_cast<size_t>(src.count) * bytes)
        return decodeAll(); // emits readConstantValues' error
      src.memory = blob->getData().take_front(src.count * bytes);
      return std::move(src);
    }
  }
  if (auto ext = dyn_cast_or_null<ExternalWeightOp>(def)) {
    uint64_t offset = ext.getOffset();
    FailureOr<std::string> checked = checkExternalWeight(
        ext, user, what, type, static_cast<uint64_t>(src.count) * bytes);
    if (failed(checked))
      return failure();
    std::string path = std::move(*checked);
    if (!isRawDecodable(src.elementType))
      return user->emitError() << what << ": external weight file '" << path
                               << "' has unsupported element type";
    src.path = std::move(path);
    src.offset = offset;
    return std::move(src);
  }
  return decodeAll();
}

LogicalResult ConstantSource::read(int64_t begin, int64_t size, double *out,
                                   std::string &err) const {
  if (!memory.empty() || path.empty()) {
    if (memory.empty()) {
      std::copy_n(values.begin() + begin, size, out);
      return success();
    }
    unsigned bytes = elementType.getIntOrFloatBitWidth() / 8;
    return decodeRaw(memory.slice(begin * bytes, size * bytes), elementType,
                     size, out, err);
  }
  // An external file: read the slice into a per-thread buffer (no mapping,
  // no page faults on fresh memory per weight).
  unsigned bytes = elementType.getIntOrFloatBitWidth() / 8;
  static thread_local std::vector<char> buffer;
  buffer.resize(size * bytes);
  auto fail = [&](const Twine &msg) {
    err = ("cannot read external weight file '" + path + "': " + msg).str();
    return failure();
  };
  llvm::Expected<llvm::sys::fs::file_t> file =
      llvm::sys::fs::openNativeFileForRead(path);
  if (!file)
    return fail(llvm::toString(file.takeError()));
  size_t done = 0;
  while (done < buffer.size()) {
    llvm::Expected<size_t> got = llvm::sys::fs::readNativeFileSlice(
        *file,
        MutableArrayRef<char>(buffer.data() + done, buffer.size() - done),
        offset + begin * bytes + done);
    if (!got || *got == 0) {
      llvm::sys::fs::closeFile(*file);
      return fail(got ? "unexpected end of file" : toString(got.takeError()));
    }
    done += *got;
  }
  llvm::sys::fs::closeFile(*file);
  if (failed(decodeRaw(buffer, elementType, size, out, err))) {
    err = "external weight file '" + path + "' " + err;
    return failure();
  }
  return success();
}

DenseElementsAttr mlir::qc::makeFloatAttr(RankedTensorType type,
                                          ArrayRef<double> vals) {
  auto ft = cast<FloatType>(type.getElementType());
  if (ft.isF32()) {
    SmallVector<float> f(vals.begin(), vals.end());
    return DenseElementsAttr::get(type, ArrayRef<float>(f));
  }
  if (ft.isF64())
    return DenseElementsAttr::get(type, vals);
  // 16-bit types: build the little-endian storage directly.
  std::vector<char> raw(vals.size() * 2);
  for (size_t i = 0; i < vals.size(); ++i) {
    APFloat f(vals[i]);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    uint16_t bits = f.bitcastToAPInt().getZExtValue();
    raw[2 * i] = static_cast<char>(bits & 0xff);
    raw[2 * i + 1] = static_cast<char>(bits >> 8);
  }
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

//===----------------------------------------------------------------------===//
// Statistics file
//===----------------------------------------------------------------------===//

FailureOr<const LayerStats *> StatsFile::lookup(Operation *op, StringRef layer,
                                                int64_t channels) const {
  auto it = layers.find(layer);
  if (it == layers.end())
    return op->emitError() << "layer '" << layer << "' has no statistics in '"
                           << path << "'";
  if (it->second.channels != channels)
    return op->emitError() << "layer '" << layer << "' has " << channels
                           << " input channels but its statistics in '" << path
                           << "' have " << it->second.channels;
  return &it->second;
}

FailureOr<std::vector<double>>
StatsFile::readHessian(Operation *op, StringRef layer,
                       const LayerStats &st) const {
  if (st.hessianFile.empty())
    return op->emitError() << "layer '" << layer << "' has no Hessian in '"
                           << path
                           << "' (calibrate with qc-insert-observers "
                              "hessian=true for GPTQ)";
  // Checked: K x K float64 must neither wrap around nor exceed the maximum
  // tensor size (docs/reliability.md) before anything is allocated.
  uint64_t k = st.channels;
  uint64_t need = 0, end = 0;
  if (__builtin_mul_overflow(k, k, &need) ||
      __builtin_mul_overflow(need, uint64_t(8), &need) ||
      need > ::qc::maxTensorBytes() ||
      __builtin_add_overflow(static_cast<uint64_t>(st.hessianOffset), need,
                             &end))
    return op->emitError() << "layer '" << layer << "': a " << k << " x " << k
                           << " Hessian is too large (the maximum tensor size "
                              "is "
                           << ::qc::maxTensorBytes() << " bytes)";
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(st.hessianFile, size))
    return op->emitError() << "layer '" << layer << "': cannot open Hessian "
                           << "file '" << st.hessianFile << "' of '" << path
                           << "': " << ec.message();
  if (end > size)
    return op->emitError() << "layer '" << layer << "': Hessian file '"
                           << st.hessianFile << "' of '" << path << "' has "
                           << size << " bytes, need " << end;
  auto buf =
      llvm::MemoryBuffer::getFileSlice(st.hessianFile, need, st.hessianOffset);
  if (!buf)
    return op->emitError() << "layer '" << layer << "': cannot read '"
                           << st.hessianFile << "'";
  std::vector<double> h(k * k);
  std::memcpy(h.data(), (*buf)->getBufferStart(), need);
  return h;
}

namespace {
/// Collects the first problem found while walking the JSON document.
struct StatsParser {
  std::string problem;

  bool fail(const Twine &msg) {
    if (problem.empty())
      problem = msg.str();
    return false;
  }

  bool readVector(const llvm::json::Object &o, StringRef key, StringRef layer,
                  int64_t n, std::vector<double> &out) {
    const llvm::json::Array *a = o.getArray(key);
    if (!a)
      return fail("layer '" + layer + "': '" + key + "' must be an array");
    if (static_cast<int64_t>(a->size()) != n)
      return fail("layer '" + layer + "': '" + key + "' has " +
                  Twine(a->size()) +
                  " values, expected channels = " + Twine(n));
    for (const llvm::json::Value &v : *a) {
      std::optional<double> d = v.getAsNumber();
      if (!d || !std::isfinite(*d) || *d < 0)
        return fail("layer '" + layer + "': '" + key +
                    "' must hold non-negative finite numbers");
      out.push_back(*d);
    }
    return true;
  }

  bool parseLayer(StringRef name, const llvm::json::Value &v, StringRef dir,
                  LayerStats &st) {
    const llvm::json::Object *o = v.getAsObject();
    if (!o)
      return fail("layer '" + name + "' must be an object");
    for (const auto &kv : *o) {
      StringRef k = kv.first;
      if (k != "channels" && k != "tokens" && k != "absmax" &&
          k != "percentile" && k != "pmax" && k != "hessian")
        return fail("layer '" + name + "': unknown key '" + k + "'");
    }
    std::optional<int64_t> ch = o->getInteger("channels");
    if (!ch || *ch <= 0)
      return fail("layer '" + name +
                  "': 'channels' must be a positive integer");
    st.channels = *ch;
    std::optional<int64_t> tok = o->getInteger("tokens");
    if (!tok || *tok < 0)
      return fail("layer '" + name +
                  "': 'tokens' must be a non-negative integer");
    st.tokens = *tok;
    if (!readVector(*o, "absmax", name, st.channels, st.absmax))
      return false;
    if (o->get("percentile") || o->get("pmax")) {
      std::optional<double> p = o->getNumber("percentile");
      if (!p || !(*p > 0 && *p <= 100))
        return fail("layer '" + name +
                    "': 'percentile' must be a number in (0, 100]");
      st.percentile = *p;
      if (!readVector(*o, "pmax", name, st.channels, st.pmax))
        return false;
    }
    if (const llvm::json::Value *h = o->get("hessian")) {
      const llvm::json::Object *ho = h->getAsObject();
      std::optional<StringRef> file = ho ? ho->getString("file") : std::nullopt;
      std::optional<int64_t> off = ho ? ho->getInteger("offset") : std::nullopt;
      if (!file || file->empty() || !off || *off < 0 || ho->size() != 2)
        return fail("layer '" + name +
                    "': 'hessian' must be {\"file\": <path>, \"offset\": "
                    "<non-negative integer>}");
      SmallString<256> p(*file);
      if (!llvm::sys::path::is_absolute(p) && !dir.empty()) {
        p = dir;
        llvm::sys::path::append(p, *file);
      }
      st.hessianFile = std::string(p);
      st.hessianOffset = *off;
    }
    return true;
  }
};
} // namespace

FailureOr<StatsFile> mlir::qc::loadStatsFile(StringRef path, Location loc) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return emitError(loc) << "cannot open statistics file '" << path
                          << "': " << buf.getError().message();
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buf)->getBuffer());
  if (!json)
    return emitError(loc) << "statistics file '" << path
                          << "' is not valid JSON: "
                          << llvm::toString(json.takeError());
  StatsFile file;
  file.path = path.str();
  StatsParser parser;
  const llvm::json::Object *root = json->getAsObject();
  auto bad = [&](const Twine &msg) -> FailureOr<StatsFile> {
    return emitError(loc) << "statistics file '" << path << "': " << msg;
  };
  if (!root)
    return bad("the top level must be an object");
  std::optional<StringRef> format = root->getString("format");
  if (!format || *format != "qc-stats")
    return bad("unknown format (expected \"format\": \"qc-stats\")");
  std::optional<int64_t> version = root->getInteger("version");
  if (!version || *version != 1)
    return bad("unknown version (expected \"version\": 1)");
  for (const auto &kv : *root)
    if (kv.first != "format" && kv.first != "version" && kv.first != "layers")
      return bad("unknown key '" + StringRef(kv.first) + "'");
  const llvm::json::Object *layers = root->getObject("layers");
  if (!layers)
    return bad("'layers' must be an object");
  StringRef dir = llvm::sys::path::parent_path(path);
  for (const auto &kv : *layers) {
    LayerStats st;
    if (!parser.parseLayer(kv.first, kv.second, dir, st))
      return bad(parser.problem);
    file.layers[kv.first] = std::move(st);
  }
  return file;
}

//===----------------------------------------------------------------------===//
// Scalar arithmetic
//===----------------------------------------------------------------------===//

QuantParams mlir::qc::computeQuantParams(double lo, double hi, unsigned bits,
                                         bool symmetric, Type minimum) {
  QuantParams p;
  if (minimum) {
    double qmax = double((1 << bits) - 1);
    p.floatMinimum = true;
    llvm::APFloat m(lo);
    bool lost;
    m.convert(minimum.isF16() ? llvm::APFloat::IEEEhalf()
                              : llvm::APFloat::IEEEsingle(),
              llvm::APFloat::rmNearestTiesToEven, &lost);
    m.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    p.minimum = m.convertToFloat();
    p.scale = hi > double(p.minimum)
                  ? static_cast<float>((hi - double(p.minimum)) / qmax)
                  : 1.0f;
    if (p.scale == 0.0f || std::isinf(p.scale))
      p.scale = 1.0f;
    return p;
  }
  if (symmetric) {
    double qmax = double((1 << (bits - 1)) - 1);
    double amax = std::max(std::fabs(lo), std::fabs(hi));
    p.scale = amax > 0 ? static_cast<float>(amax / qmax) : 1.0f;
    // A maximum so small that the f32 scale underflows is a zero weight.
    if (p.scale == 0.0f)
      p.scale = 1.0f;
    return p;
  }
  double qmax = double((1 << bits) - 1);
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  p.scale = hi > lo ? static_cast<float>((hi - lo) / qmax) : 1.0f;
  if (p.scale == 0.0f)
    p.scale = 1.0f;
  double z = std::rint(-lo / double(p.scale));
  p.zero = static_cast<int32_t>(std::clamp(z, 0.0, qmax));
  return p;
}
