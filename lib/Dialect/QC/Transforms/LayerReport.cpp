//===- LayerReport.cpp - Per-layer compile report -------------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Reads the quantized IR (packed weights, kernels, the error attributes of
// qc-quantize-weights) into LayerReport entries and formats them.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/LayerReport.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::qc;

static std::string printed(Attribute value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  value.print(os);
  return s;
}

static int64_t tensorBytes(Value v) {
  if (!v)
    return 0;
  auto t = cast<RankedTensorType>(v.getType());
  return (t.getNumElements() * t.getElementTypeBitWidth() + 7) / 8;
}

/// Fills the weight fields from a packed weight value.
static void fromPacked(::qc::LayerReport &r, Value packed) {
  auto t = cast<PackedWeightType>(packed.getType());
  r.n = t.getN();
  r.k = t.getK();
  r.dataBytes =
      (r.n * r.k * t.getElementType().getIntOrFloatBitWidth() + 7) / 8;
  if (auto pw = packed.getDefiningOp<PackedWeightOp>()) {
    r.scheme = printed(pw.getScheme());
    r.scaleBytes = tensorBytes(pw.getScales());
    r.zeroBytes = tensorBytes(pw.getZeros());
  }
}

static void readErrors(::qc::LayerReport &r, Operation *op) {
  if (auto a = op->getAttrOfType<FloatAttr>("qc.quant_error"))
    r.quantError = a.getValueAsDouble();
  if (auto a = op->getAttrOfType<FloatAttr>("qc.output_error"))
    r.outputError = a.getValueAsDouble();
}

/// One entry per layer of a horizontally fused matmul (`fused_layers`):
/// its rows of the weight (scales and zero points pro rata), the fused op's
/// scheme and kernel, its own recorded errors.
static void fusedReports(std::vector<::qc::LayerReport> &out,
                         llvm::StringSet<> &seen, Operation *op, Value packed,
                         KernelAttr kernel, ArrayAttr fused, StringRef layer) {
  ::qc::LayerReport whole;
  whole.scheme = "none";
  fromPacked(whole, packed);
  for (auto f : fused.getAsRange<FusedLayerAttr>()) {
    ::qc::LayerReport r;
    r.layer = f.getName().str();
    if (!seen.insert(r.layer).second)
      continue;
    r.op = op->getName().getStringRef().str();
    r.scheme = whole.scheme;
    r.kernel = kernel ? printed(kernel) : "none";
    r.n = f.getSize();
    r.k = whole.k;
    r.dataBytes = whole.n ? whole.dataBytes * r.n / whole.n : 0;
    r.scaleBytes = whole.n ? whole.scaleBytes * r.n / whole.n : 0;
    r.zeroBytes = whole.n ? whole.zeroBytes * r.n / whole.n : 0;
    if (FloatAttr e = f.getQuantError())
      r.quantError = e.getValueAsDouble();
    if (FloatAttr e = f.getOutputError())
      r.outputError = e.getValueAsDouble();
    r.fusedInto = layer.str();
    out.push_back(std::move(r));
  }
}

namespace qc {

std::vector<LayerReport> collectLayerReports(ModuleOp module) {
  std::vector<::qc::LayerReport> out;
  llvm::StringSet<> seen;
  module.walk([&](Operation *op) {
    if (auto m = dyn_cast<WeightOnlyMatmulOp>(op); m && m.getFusedLayers()) {
      fusedReports(out, seen, op, m.getWeight(), m.getKernelAttr(),
                   m.getFusedLayersAttr(), m.getLayer());
      return;
    }
    if (auto m = dyn_cast<Int8MatmulOp>(op); m && m.getFusedLayers()) {
      fusedReports(out, seen, op, m.getWeight(), m.getKernelAttr(),
                   m.getFusedLayersAttr(), m.getLayer());
      return;
    }
    ::qc::LayerReport r;
    r.scheme = r.kernel = "none";
    if (auto l = dyn_cast<LinearOp>(op)) {
      r.layer = l.getLayer().str();
      auto wt = l.getWeight().getType();
      r.n = wt.getDimSize(0);
      r.k = wt.getDimSize(1);
      r.dataBytes = tensorBytes(l.getWeight());
      if (auto s = l.getSchemeAttr())
        r.scheme = printed(s);
      else if (wt.getElementType().isF16())
        r.scheme = "f16";
    } else if (auto m = dyn_cast<WeightOnlyMatmulOp>(op)) {
      r.layer = m.getLayer().str();
      fromPacked(r, m.getWeight());
      if (auto kAttr = m.getKernelAttr())
        r.kernel = printed(kAttr);
    } else if (auto m = dyn_cast<Int8MatmulOp>(op)) {
      r.layer = m.getLayer().str();
      fromPacked(r, m.getWeight());
      if (auto kAttr = m.getKernelAttr())
        r.kernel = printed(kAttr);
    } else {
      return;
    }
    if (!seen.insert(r.layer).second)
      return;
    r.op = op->getName().getStringRef().str();
    readErrors(r, op);
    out.push_back(std::move(r));
  });
  return out;
}

std::string layerReportJson(const std::vector<::qc::LayerReport> &layers) {
  llvm::json::Array arr;
  int64_t total = 0, fp32 = 0;
  for (const ::qc::LayerReport &r : layers) {
    llvm::json::Object o{
        {"layer", r.layer},
        {"op", r.op},
        {"scheme", r.scheme},
        {"kernel", r.kernel},
        {"n", r.n},
        {"k", r.k},
        {"data_bytes", r.dataBytes},
        {"scale_bytes", r.scaleBytes},
        {"zero_bytes", r.zeroBytes},
        {"weight_bytes", r.weightBytes()},
        {"bits_per_weight",
         r.n * r.k ? double(r.weightBytes()) * 8 / double(r.n * r.k) : 0.0},
        {"fp32_bytes", r.n * r.k * 4},
        {"fp16_bytes", r.n * r.k * 2}};
    o["quant_error"] = r.quantError ? llvm::json::Value(*r.quantError)
                                    : llvm::json::Value(nullptr);
    o["output_error"] = r.outputError ? llvm::json::Value(*r.outputError)
                                      : llvm::json::Value(nullptr);
    if (!r.fusedInto.empty())
      o["fused_into"] = r.fusedInto;
    total += r.weightBytes();
    fp32 += r.n * r.k * 4;
    arr.push_back(std::move(o));
  }
  llvm::json::Object doc{
      {"format", "qc-layer-report"}, {"version", 1},
      {"layers", std::move(arr)},    {"total_weight_bytes", total},
      {"total_fp32_bytes", fp32},    {"total_fp16_bytes", fp32 / 2}};
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(doc))) << "\n";
  return s;
}

std::string layerReportTable(const std::vector<::qc::LayerReport> &layers) {
  std::string s;
  llvm::raw_string_ostream os(s);
  size_t wLayer = 5, wScheme = 6, wKernel = 6;
  for (const ::qc::LayerReport &r : layers) {
    wLayer = std::max(wLayer, r.layer.size());
    wScheme = std::max(wScheme, r.scheme.size());
    wKernel = std::max(wKernel, r.kernel.size());
  }
  auto err = [](std::optional<double> e) {
    return e ? llvm::formatv("{0:e2}", *e).str() : std::string("-");
  };
  os << llvm::left_justify("layer", wLayer) << "  "
     << llvm::left_justify("scheme", wScheme) << "  "
     << llvm::left_justify("kernel", wKernel) << "  "
     << llvm::right_justify("N x K", 11) << "  "
     << llvm::right_justify("bytes", 10) << "  "
     << llvm::right_justify("vs fp32", 7) << "  "
     << llvm::right_justify("w err", 8) << "  "
     << llvm::right_justify("out err", 8) << "\n";
  int64_t total = 0, fp32 = 0;
  for (const ::qc::LayerReport &r : layers) {
    int64_t f = r.n * r.k * 4;
    total += r.weightBytes();
    fp32 += f;
    os << llvm::left_justify(r.layer, wLayer) << "  "
       << llvm::left_justify(r.scheme, wScheme) << "  "
       << llvm::left_justify(r.kernel, wKernel) << "  "
       << llvm::right_justify((llvm::Twine(r.n) + "x" + llvm::Twine(r.k)).str(),
                              11)
       << "  " << llvm::right_justify(std::to_string(r.weightBytes()), 10)
       << "  "
       << llvm::right_justify(
              llvm::formatv("{0:f3}", f ? double(r.weightBytes()) / f : 0.0)
                  .str(),
              7)
       << "  " << llvm::right_justify(err(r.quantError), 8) << "  "
       << llvm::right_justify(err(r.outputError), 8) << "\n";
  }
  os << "total: " << layers.size() << " layers, " << total
     << " weight bytes (fp32 " << fp32 << ", fp16 " << fp32 / 2 << "; "
     << llvm::formatv("{0:f2}", total ? double(fp32) / total : 0.0)
     << "x smaller than fp32)\n";
  return s;
}

} // namespace qc
