//===- Calibration.cpp - Calibration observers and the stats file ---------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qcrt_observe is the callee of the lowered qc.observe: it folds activation
// rows into per-layer statistics. qcrt_stats_write writes them in the
// qc-stats v1 format of docs/formats.md. Percentiles are exact (all |x| are
// kept per layer; memory = 4 bytes x tokens x channels) with numpy's
// default "linear" interpolation; X^T X is accumulated in float64.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

using namespace qcrt;

namespace {

struct LayerStats {
  int64_t channels = 0;
  int64_t tokens = 0;
  std::vector<float> absmax;
  double percentile = -1;       // <= 0: not requested
  std::vector<float> absValues; // row-major tokens x channels, when needed
  bool hessian = false;
  std::vector<double> h; // upper triangle used while accumulating
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, LayerStats> layers;
  std::string error; // sticky: first inconsistency seen
};

Registry &registry() {
  static Registry *r = new Registry();
  return *r;
}

/// numpy.percentile(values, p) with the default linear method.
double percentileOf(std::vector<float> &values, double p) {
  size_t n = values.size();
  if (n == 0)
    return 0;
  double rank = p / 100.0 * static_cast<double>(n - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, n - 1);
  double frac = rank - static_cast<double>(lo);
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  double a = values[lo];
  double b = a;
  if (hi != lo)
    b = *std::min_element(values.begin() + lo + 1, values.end());
  return a + (b - a) * frac;
}

void appendFloat(std::string &out, double v) {
  if (std::isnan(v) || std::isinf(v)) {
    out += "null";
    return;
  }
  out += format("%.17g", v);
}

} // namespace

extern "C" {

void qcrt_observe(const char *layer, const float *data, int64_t rows,
                  int64_t cols, int32_t hessian, double percentile) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.error.empty())
    return;
  if (!layer || cols <= 0 || rows < 0 || (rows > 0 && !data)) {
    r.error = format("qcrt_observe: invalid call for layer '%s' (%lld x %lld)",
                     layer ? layer : "(null)", static_cast<long long>(rows),
                     static_cast<long long>(cols));
    return;
  }
  int64_t total;
  if (__builtin_mul_overflow(rows, cols, &total) ||
      static_cast<uint64_t>(total) > QCRT_MAX_TENSOR_BYTES / sizeof(float)) {
    r.error = format("qcrt_observe: layer '%s': %lld x %lld values exceed "
                     "the maximum tensor size",
                     layer, static_cast<long long>(rows),
                     static_cast<long long>(cols));
    return;
  }
  // NaN/Inf in calibration data would poison every statistic (and be
  // rejected only when the statistics are used): refused here, when they
  // are gathered, with a count and the first position.
  int64_t nonFinite = 0, first = -1;
  for (int64_t i = 0; i < total; ++i)
    if (!std::isfinite(data[i])) {
      if (first < 0)
        first = i;
      ++nonFinite;
    }
  if (nonFinite) {
    r.error = format("layer '%s': %lld non-finite values (NaN/Inf) in the "
                     "calibration data (first at row %lld, channel %lld); "
                     "statistics not written",
                     layer, static_cast<long long>(nonFinite),
                     static_cast<long long>(first / cols),
                     static_cast<long long>(first % cols));
    return;
  }
  bool wantPct = percentile > 0 && percentile <= 100;
  auto it = r.layers.find(layer);
  if (it == r.layers.end()) {
    LayerStats s;
    s.channels = cols;
    s.absmax.assign(cols, 0.0f);
    s.percentile = wantPct ? percentile : -1;
    s.hessian = hessian != 0;
    if (s.hessian)
      s.h.assign(static_cast<size_t>(cols) * cols, 0.0);
    it = r.layers.emplace(layer, std::move(s)).first;
  }
  LayerStats &s = it->second;
  if (s.channels != cols) {
    r.error = format("layer '%s' observed with %lld channels, earlier with "
                     "%lld",
                     layer, static_cast<long long>(cols),
                     static_cast<long long>(s.channels));
    return;
  }
  if ((s.percentile > 0) != wantPct ||
      (wantPct && s.percentile != percentile) || s.hessian != (hessian != 0)) {
    r.error = format("layer '%s' observed with different percentile/hessian "
                     "settings across calls",
                     layer);
    return;
  }
  for (int64_t t = 0; t < rows; ++t) {
    const float *x = data + t * cols;
    for (int64_t c = 0; c < cols; ++c) {
      float a = std::fabs(x[c]);
      if (a > s.absmax[c] || std::isnan(a))
        s.absmax[c] = a;
    }
    if (s.percentile > 0)
      for (int64_t c = 0; c < cols; ++c)
        s.absValues.push_back(std::fabs(x[c]));
    if (s.hessian) {
      for (int64_t i = 0; i < cols; ++i) {
        double xi = x[i];
        double *row = &s.h[i * cols];
        for (int64_t j = i; j < cols; ++j)
          row[j] += xi * static_cast<double>(x[j]);
      }
    }
  }
  s.tokens += rows;
}

qcrt_status qcrt_stats_write(const char *path) {
  if (!path)
    return fail(QCRT_ERR_INVALID_ARG, "qcrt_stats_write: null path");
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.error.empty())
    return fail(QCRT_ERR_RUNTIME, "calibration failed: " + r.error);
  std::string binPath = std::string(path) + ".hessian.bin";
  std::string binName =
      binPath.substr(binPath.find_last_of('/') == std::string::npos
                         ? 0
                         : binPath.find_last_of('/') + 1);
  std::string json = "{\n  \"format\": \"qc-stats\",\n  \"version\": 1,\n"
                     "  \"layers\": {";
  std::vector<double> bin;
  bool first = true;
  for (auto &entry : r.layers) {
    LayerStats &s = entry.second;
    json += first ? "\n    " : ",\n    ";
    first = false;
    appendJsonString(json, entry.first);
    json += format(": {\n      \"channels\": %lld,\n      \"tokens\": %lld,\n"
                   "      \"absmax\": [",
                   static_cast<long long>(s.channels),
                   static_cast<long long>(s.tokens));
    for (int64_t c = 0; c < s.channels; ++c) {
      if (c)
        json += ", ";
      appendFloat(json, s.absmax[c]);
    }
    json += "]";
    if (s.percentile > 0) {
      json += ",\n      \"percentile\": ";
      appendFloat(json, s.percentile);
      json += ",\n      \"pmax\": [";
      std::vector<float> column(s.tokens);
      for (int64_t c = 0; c < s.channels; ++c) {
        for (int64_t t = 0; t < s.tokens; ++t)
          column[t] = s.absValues[t * s.channels + c];
        if (c)
          json += ", ";
        appendFloat(json, percentileOf(column, s.percentile));
      }
      json += "]";
    }
    if (s.hessian) {
      json += ",\n      \"hessian\": {\"file\": ";
      appendJsonString(json, binName);
      json += format(", \"offset\": %zu}", bin.size() * sizeof(double));
      int64_t k = s.channels;
      size_t base = bin.size();
      bin.resize(base + static_cast<size_t>(k) * k);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          bin[base + i * k + j] = i <= j ? s.h[i * k + j] : s.h[j * k + i];
    }
    json += "\n    }";
  }
  json += first ? "}\n}\n" : "\n  }\n}\n";
  std::string error;
  // The hessian file first: stats.json never points at a missing file.
  if (!bin.empty() &&
      !writeFileAtomic(binPath, bin.data(), bin.size() * sizeof(double), error))
    return fail(QCRT_ERR_IO, error);
  if (!writeFileAtomic(path, json.data(), json.size(), error))
    return fail(QCRT_ERR_IO, error);
  return QCRT_OK;
}

void qcrt_stats_reset(void) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.layers.clear();
  r.error.clear();
}

int32_t qcrt_stats_layer_count(void) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return static_cast<int32_t>(r.layers.size());
}

} // extern "C"
