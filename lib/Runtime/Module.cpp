//===- Module.cpp - Loading and running quant modules ---------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// A module is prefix.so (code, qc_module_info, qc_entry_<fn>) plus
// prefix.qcw (weights). Loading validates both (docs/module-format.md) and
// reads every weight into the .so's uninitialized global of the same name.
// Running builds MLIR memref descriptors for the inputs, calls the packed
// entry point and turns the callee-allocated result descriptors into
// qcrt_tensors.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "qc/Runtime/XXHash64.h"
#include "qc/Target/TargetTable.h"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <set>
#include <sys/stat.h>

using namespace qcrt;

namespace {

/// Declared type of one argument or result.
struct TensorSig {
  qcrt_dtype dtype = QCRT_DTYPE_INVALID;
  std::vector<int64_t> shape; // -1 = dynamic
};

struct Function {
  std::string name;
  std::vector<TensorSig> inputs, outputs;
  /// Inputs updated in place (module info "inplace"): written by the run.
  std::vector<int32_t> inplace;
  void (*entry)(void **) = nullptr;
  /// GPU modules: the host code reads device memory mid-run (a value that
  /// sizes loops), so the run synchronizes and cannot be a CUDA graph.
  /// Absent from the module info (older modules): assumed true.
  bool hostSync = true;
};

/// A run captured as a CUDA graph (qcrt_run_options.graph), replayed when
/// the same function runs on the same device input buffers and shapes.
struct CapturedRun {
  void *exec = nullptr;        // CUgraphExec; null: capture failed
  std::vector<void *> outputs; // device buffers the graph writes results to
  std::vector<qcrt_tensor> outDescs;
};

struct Weight {
  std::string symbol;
  uint64_t bytes = 0;
};

/// The .qcw header (docs/module-format.md), little-endian.
constexpr char kWeightsMagic[8] = {'Q', 'C', 'W', 'E', 'I', 'G', 'H', 'T'};
constexpr size_t kWeightsHeaderBytes = 64;
constexpr uint64_t kWeightsAlignment = 64;
/// Fixed part of a table entry: offset, bytes, checksum, name length, 0.
constexpr uint64_t kWeightsEntryBytes = 32;

/// The marker MLIR's memref lowering puts in the allocated pointer of a
/// memref.get_global result: never to be freed.
constexpr uintptr_t kDeadBeef = 0xdeadbeef;

/// GPU targets (modules whose code launches CUDA kernels, Cuda.cpp).
bool isGpuTarget(const std::string &target) {
  return qc::lookupGpuTarget(target) != nullptr;
}

/// Targets this build of the runtime can run (GPU ones need a device, which
/// loading checks).
bool supportsTarget(const std::string &target) {
  return qc::lookupTarget(target) != nullptr;
}

uint64_t readU64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}
uint32_t readU32(const unsigned char *p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

bool parseSig(const Json &j, TensorSig &sig, std::string &error) {
  const Json *dtype = j.get("dtype");
  const Json *shape = j.get("shape");
  if (!dtype || dtype->kind != Json::String || !shape ||
      shape->kind != Json::Array) {
    error = "tensor entry without dtype/shape";
    return false;
  }
  sig.dtype = qcrt_dtype_from_name(dtype->str.c_str());
  if (sig.dtype == QCRT_DTYPE_INVALID) {
    error = format("unknown dtype '%s'", dtype->str.c_str());
    return false;
  }
  if (shape->items.size() > QCRT_MAX_RANK) {
    error = format("rank %zu exceeds the runtime's maximum %d",
                   shape->items.size(), QCRT_MAX_RANK);
    return false;
  }
  for (const Json &d : shape->items) {
    if (!d.isInteger() || d.number < -1) {
      error = "invalid dimension in shape";
      return false;
    }
    sig.shape.push_back(static_cast<int64_t>(d.number));
  }
  return true;
}

/// Parses the 16-hex-digit module identity.
bool parseIdentity(const std::string &hex, uint64_t &value) {
  if (hex.size() != 16)
    return false;
  value = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0)
      return false;
    value = (value << 4) | static_cast<uint64_t>(d);
  }
  return true;
}

std::string identityString(uint64_t value) {
  return format("%016llx", static_cast<unsigned long long>(value));
}

/// Reads `bytes` at `offset` of `f` into `dst`.
bool readAt(FILE *f, uint64_t offset, void *dst, uint64_t bytes) {
  if (fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0)
    return false;
  return !bytes || fread(dst, 1, bytes, f) == bytes;
}

std::string shapeString(const int64_t *shape, size_t rank) {
  std::string s = "[";
  for (size_t i = 0; i < rank; ++i) {
    if (i)
      s += ", ";
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s + "]";
}

std::string sigString(const TensorSig &sig) {
  return std::string(qcrt_dtype_name(sig.dtype)) +
         shapeString(sig.shape.data(), sig.shape.size());
}

} // namespace

struct qcrt_module {
  std::string prefix;
  void *handle = nullptr;
  std::string infoJson;
  std::string target;
  std::vector<Function> functions;
  std::vector<Weight> weights;
  /// The module identity (module info "identity", .qcw header).
  uint64_t identity = 0;
  std::string identityHex;
  /// GPU modules: each weight's device copy (the weight global holds it).
  bool gpu = false;
  /// Every kernel waits for its predecessor first (module info
  /// "dependent_launch"; docs/gpu-module.md).
  bool dependentLaunch = false;
  std::vector<void *> deviceWeights;
  /// CUDA graphs by run key (function, input pointers and shapes), the
  /// runtime's capture stream and counters.
  std::map<std::string, CapturedRun> graphs;
  void *graphStream = nullptr;
  int64_t graphsCaptured = 0, graphReplays = 0, graphFailures = 0;

  const Function *find(const char *name) const {
    if (!name)
      return nullptr;
    for (const Function &f : functions)
      if (f.name == name)
        return &f;
    return nullptr;
  }
};

/// Parses and checks qc_module_info(); fills `m`.
static qcrt_status parseModuleInfo(qcrt_module &m, const std::string &soPath) {
  Json info;
  std::string error;
  if (!parseJson(m.infoJson, info, error))
    return fail(QCRT_ERR_FORMAT, format("%s: corrupt module info: %s",
                                        soPath.c_str(), error.c_str()));
  const Json *fmt = info.get("format");
  if (!fmt || fmt->kind != Json::String || fmt->str != "qc-module")
    return fail(QCRT_ERR_FORMAT,
                format("%s: not a quant module (module info format is not "
                       "'qc-module')",
                       soPath.c_str()));
  const Json *version = info.get("version");
  if (!version || !version->isInteger() ||
      version->number != QCRT_MODULE_VERSION)
    return fail(
        QCRT_ERR_VERSION,
        format(
            "%s: module format version %s, this runtime reads "
            "version %d",
            soPath.c_str(),
            version && version->isInteger()
                ? std::to_string(static_cast<int64_t>(version->number)).c_str()
                : "?",
            QCRT_MODULE_VERSION));
  const Json *target = info.get("target");
  if (!target || target->kind != Json::String)
    return fail(QCRT_ERR_FORMAT,
                format("%s: module info has no target", soPath.c_str()));
  m.target = target->str;
  if (!supportsTarget(m.target))
    return fail(QCRT_ERR_TARGET,
                format("%s: module target '%s' is not supported by this "
                       "runtime (supported: %s)",
                       soPath.c_str(), m.target.c_str(),
                       qc::targetNames().c_str()));
  const Json *identity = info.get("identity");
  if (!identity || identity->kind != Json::String ||
      !parseIdentity(identity->str, m.identity))
    return fail(QCRT_ERR_FORMAT,
                format("%s: module info has no valid identity (16 hex "
                       "digits)",
                       soPath.c_str()));
  m.identityHex = identity->str;
  if (const Json *dl = info.get("dependent_launch"))
    m.dependentLaunch = dl->kind == Json::Bool && dl->boolean;
  const Json *functions = info.get("functions");
  const Json *weights = info.get("weights");
  if (!functions || functions->kind != Json::Array || !weights ||
      weights->kind != Json::Array)
    return fail(
        QCRT_ERR_FORMAT,
        format("%s: module info lacks functions/weights", soPath.c_str()));
  for (const Json &fj : functions->items) {
    Function f;
    const Json *name = fj.get("name");
    const Json *inputs = fj.get("inputs");
    const Json *outputs = fj.get("outputs");
    if (!name || name->kind != Json::String || !inputs ||
        inputs->kind != Json::Array || !outputs || outputs->kind != Json::Array)
      return fail(QCRT_ERR_FORMAT,
                  format("%s: malformed function entry in module info",
                         soPath.c_str()));
    f.name = name->str;
    for (int io = 0; io < 2; ++io) {
      for (const Json &tj : (io ? outputs : inputs)->items) {
        TensorSig sig;
        if (!parseSig(tj, sig, error))
          return fail(QCRT_ERR_FORMAT,
                      format("%s: function '%s': %s", soPath.c_str(),
                             f.name.c_str(), error.c_str()));
        (io ? f.outputs : f.inputs).push_back(std::move(sig));
      }
    }
    // "inplace" (absent in modules without in-place arguments).
    if (const Json *inplace = fj.get("inplace")) {
      bool ok = inplace->kind == Json::Array;
      for (const Json &ij : ok ? inplace->items : std::vector<Json>{}) {
        ok = ij.isInteger() && ij.number >= 0 &&
             ij.number < static_cast<double>(f.inputs.size());
        if (!ok)
          break;
        f.inplace.push_back(static_cast<int32_t>(ij.number));
      }
      if (!ok)
        return fail(QCRT_ERR_FORMAT,
                    format("%s: function '%s': malformed \"inplace\" list",
                           soPath.c_str(), f.name.c_str()));
    }
    if (const Json *sync = fj.get("host_sync"))
      f.hostSync = !(sync->kind == Json::Bool && !sync->boolean);
    std::string entry = "qc_entry_" + f.name;
    f.entry =
        reinterpret_cast<void (*)(void **)>(dlsym(m.handle, entry.c_str()));
    if (!f.entry)
      return fail(QCRT_ERR_FORMAT, format("%s: missing entry point '%s'",
                                          soPath.c_str(), entry.c_str()));
    m.functions.push_back(std::move(f));
  }
  for (const Json &wj : weights->items) {
    const Json *symbol = wj.get("symbol");
    const Json *bytes = wj.get("bytes");
    if (!symbol || symbol->kind != Json::String || !bytes ||
        !bytes->isInteger() || bytes->number < 0)
      return fail(
          QCRT_ERR_FORMAT,
          format("%s: malformed weight entry in module info", soPath.c_str()));
    m.weights.push_back({symbol->str, static_cast<uint64_t>(bytes->number)});
  }
  return QCRT_OK;
}

/// Validates prefix.qcw against the module (docs/module-format.md: layout,
/// identity, and with `verify` every section's XXH64 checksum) and copies
/// each weight into its global.
static qcrt_status loadWeights(qcrt_module &m, const std::string &path,
                               const std::string &soPath, bool verify) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f)
    return fail(QCRT_ERR_IO, format("cannot open weights file '%s': %s",
                                    path.c_str(), strerror(errno)));
  struct Closer {
    FILE *f;
    ~Closer() { fclose(f); }
  } closer{f};
  struct stat st;
  if (fstat(fileno(f), &st) != 0)
    return fail(QCRT_ERR_IO, format("cannot stat '%s'", path.c_str()));
  uint64_t fileBytes = static_cast<uint64_t>(st.st_size);
  unsigned char header[kWeightsHeaderBytes];
  if (fileBytes < kWeightsHeaderBytes ||
      fread(header, 1, kWeightsHeaderBytes, f) != kWeightsHeaderBytes)
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' is truncated (%llu bytes, shorter "
                       "than its %zu-byte header)",
                       path.c_str(), static_cast<unsigned long long>(fileBytes),
                       kWeightsHeaderBytes));
  if (memcmp(header, kWeightsMagic, sizeof(kWeightsMagic)) != 0)
    return fail(
        QCRT_ERR_FORMAT,
        format("'%s' is not a quant weights file (bad magic)", path.c_str()));
  uint32_t version = readU32(header + 8);
  if (version != QCRT_MODULE_VERSION)
    return fail(QCRT_ERR_VERSION,
                format("weights file '%s' has version %u, this runtime reads "
                       "version %d",
                       path.c_str(), version, QCRT_MODULE_VERSION));
  uint32_t count = readU32(header + 12);
  std::string target(reinterpret_cast<const char *>(header + 16),
                     strnlen(reinterpret_cast<const char *>(header + 16), 16));
  if (target != m.target)
    return fail(QCRT_ERR_TARGET,
                format("weights file '%s' is for target '%s' but the module "
                       "is for '%s'",
                       path.c_str(), target.c_str(), m.target.c_str()));
  uint64_t tableOffset = readU64(header + 32);
  uint64_t tableBytes = readU64(header + 40);
  uint64_t declaredBytes = readU64(header + 48);
  uint64_t identity = readU64(header + 56);
  if (identity != m.identity)
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' (module identity %s) does not "
                       "belong to module '%s' (identity %s): they come from "
                       "different compiles",
                       path.c_str(), identityString(identity).c_str(),
                       soPath.c_str(), m.identityHex.c_str()));
  if (declaredBytes > QCRT_MAX_WEIGHTS_FILE_BYTES)
    return fail(
        QCRT_ERR_FORMAT,
        format("weights file '%s' is corrupt: header declares %llu "
               "bytes, more than the maximum %llu",
               path.c_str(), static_cast<unsigned long long>(declaredBytes),
               static_cast<unsigned long long>(QCRT_MAX_WEIGHTS_FILE_BYTES)));
  if (declaredBytes != fileBytes)
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' is %s: header says %llu bytes, file "
                       "has %llu",
                       path.c_str(),
                       fileBytes < declaredBytes ? "truncated" : "corrupt",
                       static_cast<unsigned long long>(declaredBytes),
                       static_cast<unsigned long long>(fileBytes)));
  if (tableOffset < kWeightsHeaderBytes || tableOffset > fileBytes ||
      tableBytes > fileBytes - tableOffset)
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' is corrupt: entry table out of "
                       "range",
                       path.c_str()));
  // Every entry takes at least kWeightsEntryBytes: a count the table cannot
  // hold is corrupt (and bounds the loop below).
  if (count > tableBytes / kWeightsEntryBytes)
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' is corrupt: %u entries do not fit "
                       "a %llu-byte table",
                       path.c_str(), count,
                       static_cast<unsigned long long>(tableBytes)));
  std::vector<unsigned char> table(tableBytes);
  if (!readAt(f, tableOffset, table.data(), tableBytes))
    return fail(QCRT_ERR_IO, format("cannot read '%s'", path.c_str()));

  struct Entry {
    uint64_t offset, bytes, checksum;
  };
  std::map<std::string, Entry> entries;
  uint64_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (tableBytes - at < kWeightsEntryBytes)
      return fail(QCRT_ERR_FORMAT,
                  format("weights file '%s' is corrupt: entry table ends "
                         "inside entry %u",
                         path.c_str(), i));
    Entry e{readU64(&table[at]), readU64(&table[at + 8]),
            readU64(&table[at + 16])};
    uint32_t nameLen = readU32(&table[at + 24]);
    at += kWeightsEntryBytes;
    if (nameLen > tableBytes - at)
      return fail(QCRT_ERR_FORMAT,
                  format("weights file '%s' is corrupt: entry %u name out of "
                         "range",
                         path.c_str(), i));
    std::string name(reinterpret_cast<const char *>(&table[at]), nameLen);
    uint64_t padded = (static_cast<uint64_t>(nameLen) + 7) / 8 * 8;
    at = padded > tableBytes - at ? tableBytes : at + padded;
    if (e.offset % kWeightsAlignment != 0 || e.offset > fileBytes ||
        e.bytes > fileBytes - e.offset)
      return fail(QCRT_ERR_FORMAT,
                  format("weights file '%s' is corrupt: entry '%s' (offset "
                         "%llu, %llu bytes) lies outside the %llu-byte file",
                         path.c_str(), name.c_str(),
                         static_cast<unsigned long long>(e.offset),
                         static_cast<unsigned long long>(e.bytes),
                         static_cast<unsigned long long>(fileBytes)));
    if (!entries.emplace(name, e).second)
      return fail(QCRT_ERR_FORMAT,
                  format("weights file '%s' is corrupt: entry '%s' appears "
                         "twice",
                         path.c_str(), name.c_str()));
  }
  if (entries.size() != m.weights.size())
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' has %zu entries but the module "
                       "expects %zu",
                       path.c_str(), entries.size(), m.weights.size()));
  auto checksumError = [&](const std::string &symbol) {
    return fail(QCRT_ERR_FORMAT,
                format("weights file '%s' is corrupt: checksum mismatch in "
                       "weight '%s' (set QCRT_VERIFY_WEIGHTS=0 only for "
                       "trusted files)",
                       path.c_str(), symbol.c_str()));
  };
  for (const Weight &w : m.weights) {
    auto it = entries.find(w.symbol);
    if (it == entries.end())
      return fail(QCRT_ERR_FORMAT,
                  format("weights file '%s' has no entry for weight '%s'",
                         path.c_str(), w.symbol.c_str()));
    if (it->second.bytes != w.bytes)
      return fail(QCRT_ERR_FORMAT,
                  format("weights file '%s': weight '%s' has %llu bytes, the "
                         "module expects %llu",
                         path.c_str(), w.symbol.c_str(),
                         static_cast<unsigned long long>(it->second.bytes),
                         static_cast<unsigned long long>(w.bytes)));
    void *global = dlsym(m.handle, w.symbol.c_str());
    if (!global)
      return fail(QCRT_ERR_FORMAT, format("module has no global '%s' for its "
                                          "weight",
                                          w.symbol.c_str()));
    if (m.gpu) {
      // The global is an 8-byte slot for the weight's device address.
      std::vector<char> host(w.bytes);
      if (!readAt(f, it->second.offset, host.data(), w.bytes))
        return fail(QCRT_ERR_IO, format("cannot read weight '%s' from '%s'",
                                        w.symbol.c_str(), path.c_str()));
      if (verify &&
          qc::XXHash64::hash(host.data(), w.bytes) != it->second.checksum)
        return checksumError(w.symbol);
      std::string what = "uploading weight '" + w.symbol + "'";
      void *device = cudaAlloc(w.bytes, what.c_str());
      if (device)
        m.deviceWeights.push_back(device);
      cudaCopy(device, host.data(), w.bytes, kCopyHostToDevice, nullptr,
               what.c_str());
      if (qcrt_status s = cudaTakeError())
        return s;
      memcpy(global, &device, sizeof(void *));
      continue;
    }
    if (!readAt(f, it->second.offset, global, w.bytes))
      return fail(QCRT_ERR_IO, format("cannot read weight '%s' from '%s'",
                                      w.symbol.c_str(), path.c_str()));
    if (verify && qc::XXHash64::hash(global, w.bytes) != it->second.checksum)
      return checksumError(w.symbol);
  }
  return QCRT_OK;
}

/// Checksums are verified unless the load options or QCRT_VERIFY_WEIGHTS=0
/// opt out.
static bool verifyWeightChecksums(const qcrt_load_options *options) {
  if (options && options->struct_size >= sizeof(qcrt_load_options) &&
      options->skip_weight_checksums)
    return false;
  const char *env = getenv("QCRT_VERIFY_WEIGHTS");
  return !(env && strcmp(env, "0") == 0);
}

/// Modules leave qcrt_observe (and future runtime hooks) undefined and
/// resolve them from the global scope at dlopen time. When this library was
/// itself loaded with RTLD_LOCAL (Python's ctypes default), its symbols are
/// not there: re-open it with RTLD_NOLOAD | RTLD_GLOBAL to promote them.
static void exportRuntimeSymbols() {
  static bool done = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&qcrt_observe), &info) &&
        info.dli_fname)
      dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    return true;
  }();
  (void)done;
}

/// One result of an entry point: the memref descriptor the generated code
/// wrote (allocated, aligned, offset, sizes, strides) decoded into `out`'s
/// dtype, rank and shape.
struct ResultView {
  void *allocated;        ///< the buffer to free, if the result is handed over
  char *base;             ///< first element (aligned + offset)
  const int64_t *strides; ///< in elements
  size_t elem;            ///< bytes per element
  bool contiguous;        ///< row-major without gaps (size-1 dims ignored)
};

static ResultView decodeResult(const int64_t *d, const TensorSig &sig,
                               qcrt_tensor &out) {
  size_t rank = sig.shape.size();
  ResultView v;
  void *aligned;
  memcpy(&v.allocated, &d[0], sizeof(void *));
  memcpy(&aligned, &d[1], sizeof(void *));
  memset(&out, 0, sizeof(out));
  out.dtype = sig.dtype;
  out.rank = static_cast<int32_t>(rank);
  v.contiguous = true;
  int64_t expect = 1;
  for (size_t k = rank; k-- > 0;) {
    out.shape[k] = d[3 + k];
    if (out.shape[k] != 1 && d[3 + rank + k] != expect)
      v.contiguous = false;
    expect *= out.shape[k];
  }
  v.elem = qcrt_dtype_size(sig.dtype);
  v.base = static_cast<char *>(aligned) + d[2] * v.elem;
  v.strides = d + 3 + rank;
  return v;
}

/// Packs the host-memory view `shape`/`strides` (in elements) at `src`
/// into the contiguous `dst`.
static void packStrided(char *dst, const char *src, const int64_t *shape,
                        const int64_t *strides, size_t rank, size_t elem) {
  int64_t numel = 1;
  for (size_t k = 0; k < rank; ++k)
    numel *= shape[k];
  std::vector<int64_t> idx(rank, 0);
  for (int64_t n = 0; n < numel; ++n) {
    int64_t off = 0;
    for (size_t k = 0; k < rank; ++k)
      off += idx[k] * strides[k];
    memcpy(dst + n * elem, src + off * elem, elem);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
}

//===----------------------------------------------------------------------===//
// GPU modules (docs/gpu-module.md): the entry point takes and returns
// descriptors of device buffers; weights were uploaded at load time.
//===----------------------------------------------------------------------===//

/// Copies the `shape`/`strides` view at `base` (device memory) into the
/// contiguous `dst` (host when `toHost`, else device) through a host
/// staging copy of the view's span.
static bool gatherStrided(void *dst, const char *base, const int64_t *shape,
                          const int64_t *strides, size_t rank, size_t elem,
                          bool toHost, void *stream) {
  int64_t numel = 1, span = 1;
  for (size_t k = 0; k < rank; ++k) {
    numel *= shape[k];
    if (shape[k] == 0)
      return true;
    span += (shape[k] - 1) * strides[k];
  }
  std::vector<char> staged(span * elem), packed(numel * elem);
  if (!cudaCopy(staged.data(), base, span * elem, kCopyDeviceToHost, stream,
                "reading a strided result"))
    return false;
  packStrided(packed.data(), staged.data(), shape, strides, rank, elem);
  if (toHost) {
    memcpy(dst, packed.data(), packed.size());
    return true;
  }
  return cudaCopy(dst, packed.data(), packed.size(), kCopyHostToDevice, stream,
                  "writing a strided result");
}

/// The entry point's argument list: one memref descriptor per input
/// ({allocated, aligned, offset, sizes[r], strides[r]}, 8-byte fields, C
/// order, data at `data[i]`), then the results' descriptor block. `storage`
/// keeps the descriptors alive; `result` receives the results.
static std::vector<void *>
entryArguments(const Function &f, const qcrt_tensor *inputs, int32_t nInputs,
               const std::vector<void *> &data,
               std::vector<std::vector<int64_t>> &storage,
               std::vector<int64_t> &result) {
  storage.assign(nInputs, {});
  std::vector<void *> args;
  for (int32_t i = 0; i < nInputs; ++i) {
    const qcrt_tensor &t = inputs[i];
    std::vector<int64_t> &d = storage[i];
    d.assign(3 + 2 * t.rank, 0);
    memcpy(&d[0], &data[i], sizeof(void *));
    memcpy(&d[1], &data[i], sizeof(void *));
    int64_t stride = 1;
    for (int32_t k = t.rank - 1; k >= 0; --k) {
      d[3 + k] = t.shape[k];
      d[3 + t.rank + k] = stride;
      stride *= t.shape[k];
    }
    args.push_back(d.data());
  }
  size_t resultWords = 0;
  for (const TensorSig &sig : f.outputs)
    resultWords += 3 + 2 * sig.shape.size();
  result.assign(resultWords + 1, 0);
  args.push_back(result.data());
  return args;
}

/// Runs a GPU module's function: host inputs are copied to device buffers
/// (or device inputs used as they are), the entry point runs with the run's
/// stream, results are copied to host tensors (or handed over as device
/// tensors). Every CUDA failure is returned; nothing is left allocated then.
static qcrt_status runGpu(qcrt_module &m, const Function &f,
                          const qcrt_tensor *inputs, int32_t nInputs,
                          qcrt_tensor *outputs, int32_t nOutputs, bool deviceIO,
                          void *stream) {
  if (qcrt_status s = cudaPrepareDevice(m.target, m.prefix))
    return s;
  std::vector<void *> owned; // the runtime's device copies of host inputs
  std::vector<void *> devInputs(nInputs, nullptr);
  auto release = [&](const std::vector<void *> &list) {
    for (void *p : list)
      cudaFree(p);
  };
  for (int32_t i = 0; i < nInputs; ++i) {
    const qcrt_tensor &t = inputs[i];
    uint64_t bytes = qcrt_tensor_numel(&t) * qcrt_dtype_size(t.dtype);
    if (deviceIO) {
      devInputs[i] = t.data;
      continue;
    }
    std::string what =
        format("copying input %d of '%s' to the device", i, f.name.c_str());
    devInputs[i] = cudaAlloc(bytes, what.c_str());
    if (devInputs[i])
      owned.push_back(devInputs[i]);
    cudaCopy(devInputs[i], t.data, bytes, kCopyHostToDevice, stream,
             what.c_str());
  }
  if (qcrt_status s = cudaTakeError()) {
    release(owned);
    cudaClearError();
    return fail(s, std::string(qcrt_last_error()));
  }

  std::vector<std::vector<int64_t>> inDescs;
  std::vector<int64_t> result;
  std::vector<void *> args =
      entryArguments(f, inputs, nInputs, devInputs, inDescs, result);

  cudaBeginRun(stream, /*noHostSync=*/!f.hostSync);
  f.entry(args.data());
  std::string what = "running '" + f.name + "'";
  cudaSynchronize(stream, what.c_str());
  std::vector<void *> live = cudaEndRun(); // buffers the run allocated
  if (qcrt_status s = cudaTakeError()) {
    std::string why = qcrt_last_error();
    release(live);
    release(owned);
    cudaClearError();
    return fail(s, format("%s: %s", what.c_str(), why.c_str()));
  }

  // In-place arguments of a host-tensor run: the run updated the device
  // copies; copy them back into the caller's buffers (device-tensor runs
  // updated the caller's device buffers themselves).
  if (!deviceIO) {
    for (int32_t i : f.inplace) {
      const qcrt_tensor &t = inputs[i];
      uint64_t bytes = qcrt_tensor_numel(&t) * qcrt_dtype_size(t.dtype);
      std::string back =
          format("copying in-place input %d of '%s' back", i, f.name.c_str());
      cudaCopy(t.data, devInputs[i], bytes, kCopyDeviceToHost, stream,
               back.c_str());
    }
    if (qcrt_status s = cudaTakeError()) {
      std::string why = qcrt_last_error();
      release(live);
      release(owned);
      cudaClearError();
      return fail(s, why);
    }
  }

  std::set<void *> available(live.begin(), live.end());
  int32_t done = 0;
  size_t at = 0;
  for (; done < nOutputs; ++done) {
    const TensorSig &sig = f.outputs[done];
    size_t rank = sig.shape.size();
    qcrt_tensor &out = outputs[done];
    ResultView v = decodeResult(&result[at], sig, out);
    at += 3 + 2 * rank;
    out.device = deviceIO ? QCRT_DEVICE_CUDA : QCRT_DEVICE_HOST;
    void *allocated = v.allocated;
    bool contiguous = v.contiguous;
    size_t elem = v.elem;
    uint64_t bytes = qcrt_tensor_numel(&out) * elem;
    const char *base = v.base;
    // Only a buffer this run allocated (not an input, a weight or a result
    // handed over already) can become the output itself.
    bool own = allocated && available.count(allocated);
    if (deviceIO && own && contiguous) {
      out.data = const_cast<char *>(base);
      out.owner = allocated;
      available.erase(allocated);
      continue;
    }
    std::string copyWhat =
        format("copying output %d of '%s'", done, f.name.c_str());
    void *dst = deviceIO ? cudaAlloc(bytes, copyWhat.c_str())
                         : malloc(bytes ? bytes : 1);
    if (!dst && (bytes || !deviceIO)) {
      if (!deviceIO)
        fail(QCRT_ERR_RUNTIME, "out of memory copying an output");
      break;
    }
    out.data = dst;
    out.owner = dst;
    bool ok = contiguous
                  ? cudaCopy(dst, base, bytes,
                             deviceIO ? kCopyDeviceToDevice : kCopyDeviceToHost,
                             stream, copyWhat.c_str())
                  : gatherStrided(dst, base, out.shape, v.strides, rank, elem,
                                  !deviceIO, stream);
    if (!ok) {
      ++done; // this output holds a buffer: release it below too
      break;
    }
  }
  if (deviceIO && done == nOutputs)
    cudaSynchronize(stream, "copying outputs");
  qcrt_status status = cudaTakeError();
  if (status == QCRT_OK && done < nOutputs)
    status = QCRT_ERR_RUNTIME; // host malloc failure, message set
  std::string why = qcrt_last_error();
  if (status != QCRT_OK)
    for (int32_t k = 0; k < done && k < nOutputs; ++k)
      qcrt_tensor_free(&outputs[k]);
  for (void *p : available)
    cudaFree(p);
  release(owned);
  cudaClearError();
  if (status != QCRT_OK)
    return fail(status, why);
  return QCRT_OK;
}

/// The key of a captured run: the function, every input's device pointer
/// and shape (a graph bakes in pointers and sizes).
static std::string graphKey(const Function &f, const qcrt_tensor *inputs,
                            int32_t nInputs) {
  std::string key = f.name;
  for (int32_t i = 0; i < nInputs; ++i) {
    key += format("|%p", inputs[i].data);
    for (int32_t d = 0; d < inputs[i].rank; ++d)
      key += format(":%lld", static_cast<long long>(inputs[i].shape[d]));
  }
  return key;
}

/// Captures `f` on the device inputs as a CUDA graph (not executed): the
/// run's results are copied into `run.outputs` (sized like `eager`, the
/// results of the run that came before) and its temporaries freed, both
/// inside the graph. Returns false (sticky error set) when it cannot.
static bool captureRun(const Function &f, const qcrt_tensor *inputs,
                       int32_t nInputs, const qcrt_tensor *eager,
                       int32_t nOutputs, void *stream, CapturedRun &run) {
  for (int32_t o = 0; o < nOutputs; ++o) {
    qcrt_tensor d = eager[o];
    uint64_t bytes = qcrt_tensor_numel(&d) * qcrt_dtype_size(d.dtype);
    d.data = bytes ? cudaAlloc(bytes, "allocating a graph's output") : nullptr;
    d.owner = nullptr; // the module's
    if (bytes && !d.data)
      return false;
    run.outputs.push_back(d.data);
    run.outDescs.push_back(d);
  }
  std::vector<void *> data(nInputs);
  for (int32_t i = 0; i < nInputs; ++i)
    data[i] = inputs[i].data;
  std::vector<std::vector<int64_t>> storage;
  std::vector<int64_t> result;
  std::vector<void *> args =
      entryArguments(f, inputs, nInputs, data, storage, result);
  cudaBeginRun(stream, /*noHostSync=*/true);
  if (!cudaBeginCapture(stream)) {
    cudaEndRun();
    return false;
  }
  f.entry(args.data());
  size_t at = 0;
  bool ok = true;
  for (int32_t o = 0; o < nOutputs && ok; ++o) {
    const TensorSig &sig = f.outputs[o];
    qcrt_tensor shape = run.outDescs[o];
    ResultView v = decodeResult(&result[at], sig, shape);
    at += 3 + 2 * sig.shape.size();
    bool same = shape.rank == run.outDescs[o].rank;
    for (int32_t d = 0; same && d < shape.rank; ++d)
      same = shape.shape[d] == eager[o].shape[d];
    if (!same || !v.contiguous) {
      cudaRecordError(QCRT_ERR_UNSUPPORTED,
                      format("output %d of '%s' is strided or changed shape "
                             "between runs: not capturable",
                             o, f.name.c_str()));
      ok = false;
      break;
    }
    uint64_t bytes = qcrt_tensor_numel(&shape) * v.elem;
    ok = cudaCopy(run.outputs[o], v.base, bytes, kCopyDeviceToDevice, stream,
                  "copying a graph's output");
  }
  for (void *p : cudaEndRun())
    cudaFreeAsync(p, stream);
  run.exec = cudaEndCapture(stream, /*discard=*/!ok);
  return run.exec != nullptr;
}

/// runGpu through a CUDA graph (qcrt_run_options.graph): replays the graph
/// captured for these input buffers and shapes, or runs normally and
/// captures one for the next time.
static qcrt_status runGpuGraph(qcrt_module &m, const Function &f,
                               const qcrt_tensor *inputs, int32_t nInputs,
                               qcrt_tensor *outputs, int32_t nOutputs,
                               void *stream, bool asyncReplay);

static qcrt_status runGpuGraph(qcrt_module &m, const Function &f,
                               const qcrt_tensor *inputs, int32_t nInputs,
                               qcrt_tensor *outputs, int32_t nOutputs,
                               void *stream, bool asyncReplay) {
  if (qcrt_status s = cudaPrepareDevice(m.target, m.prefix))
    return s;
  // Graphs cannot capture the legacy default stream: without a stream of
  // the caller's, runs go to one of the module's, after the default
  // stream's earlier work (the inputs).
  bool own = !stream;
  if (own) {
    if (!m.graphStream)
      m.graphStream = cudaCreateStream();
    if (qcrt_status s = cudaTakeError())
      return s;
    stream = m.graphStream;
  }
  std::string key = graphKey(f, inputs, nInputs) + format("|s%p", stream);
  auto found = m.graphs.find(key);
  bool replay = found != m.graphs.end() && found->second.exec;
  // An asynchronous replay waits for the default stream's work on the
  // device, and the default stream's later work waits for it; everything
  // else waits on the host.
  if (own && !(replay && asyncReplay)) {
    cudaSynchronize(nullptr, "waiting for the inputs");
    if (qcrt_status s = cudaTakeError())
      return s;
  }
  if (replay) {
    CapturedRun &run = found->second;
    std::string what = "replaying '" + f.name + "'";
    if (asyncReplay) {
      if (own)
        cudaStreamOrder(nullptr, stream);
      cudaGraphLaunch(run.exec, stream);
      if (own)
        cudaStreamOrder(stream, nullptr);
    } else {
      cudaGraphLaunch(run.exec, stream);
      cudaSynchronize(stream, what.c_str());
    }
    if (qcrt_status s = cudaTakeError())
      return fail(s, format("%s: %s", what.c_str(), qcrt_last_error()));
    for (int32_t o = 0; o < nOutputs; ++o)
      outputs[o] = run.outDescs[o];
    ++m.graphReplays;
    return QCRT_OK;
  }
  qcrt_status s = runGpu(m, f, inputs, nInputs, outputs, nOutputs,
                         /*deviceIO=*/true, stream);
  if (s != QCRT_OK || found != m.graphs.end())
    return s; // failed, or a capture of these buffers failed before
  CapturedRun &run = m.graphs[key];
  if (captureRun(f, inputs, nInputs, outputs, nOutputs, stream, run)) {
    ++m.graphsCaptured;
  } else {
    // The eager results stand; this key runs without a graph from now on.
    ++m.graphFailures;
    if (getenv("QCRT_GRAPH_VERBOSE"))
      fprintf(stderr, "qcrt: no CUDA graph for '%s': %s\n", f.name.c_str(),
              cudaTakeError() == QCRT_OK ? "?" : qcrt_last_error());
    for (void *p : run.outputs)
      cudaFree(p);
    run.outputs.clear();
  }
  cudaClearError();
  return QCRT_OK;
}

/// The checks both tensor copies make: two tensors of one dtype, rank and
/// shape, with data unless empty; `bytes` is their size. `fn` names the
/// caller in the message.
static qcrt_status checkCopy(const char *fn, const qcrt_tensor *src,
                             const qcrt_tensor *dst, uint64_t &bytes) {
  if (!src || !dst || src->dtype != dst->dtype || src->rank != dst->rank ||
      src->rank < 0 || src->rank > QCRT_MAX_RANK)
    return fail(QCRT_ERR_INVALID_ARG,
                format("%s: needs two tensors of one dtype and rank", fn));
  for (int32_t d = 0; d < src->rank; ++d)
    if (src->shape[d] != dst->shape[d])
      return fail(QCRT_ERR_INVALID_ARG,
                  format("%s: the shapes differ (", fn) +
                      shapeString(src->shape, src->rank) + " vs " +
                      shapeString(dst->shape, dst->rank) + ")");
  bytes = qcrt_tensor_numel(src) * qcrt_dtype_size(src->dtype);
  if (bytes && (!src->data || !dst->data))
    return fail(QCRT_ERR_INVALID_ARG, format("%s: null data", fn));
  return QCRT_OK;
}

extern "C" {

qcrt_status qcrt_module_load(const char *prefix, qcrt_module **module) {
  return qcrt_module_load_ex(prefix, nullptr, module);
}

const char *qcrt_module_identity(const qcrt_module *module) {
  return module ? module->identityHex.c_str() : "";
}

qcrt_status qcrt_module_load_ex(const char *prefix,
                                const qcrt_load_options *options,
                                qcrt_module **module) {
  if (!prefix || !module)
    return fail(QCRT_ERR_INVALID_ARG, "qcrt_module_load: null argument");
  *module = nullptr;
  std::string soPath = std::string(prefix) + ".so";
  std::string qcwPath = std::string(prefix) + ".qcw";
  struct stat st;
  if (stat(soPath.c_str(), &st) != 0)
    return fail(QCRT_ERR_IO, format("cannot open module '%s': %s",
                                    soPath.c_str(), strerror(errno)));
  if (stat(qcwPath.c_str(), &st) != 0)
    return fail(QCRT_ERR_IO, format("cannot open weights file '%s': %s",
                                    qcwPath.c_str(), strerror(errno)));
  // dlopen needs a path with a slash to skip the library search path.
  std::string openPath =
      soPath.find('/') == std::string::npos ? "./" + soPath : soPath;
  exportRuntimeSymbols();
  auto m = std::make_unique<qcrt_module>();
  m->prefix = prefix;
  // A GPU module loads its device code in a constructor run by dlopen: the
  // device must be open (and be the module's chip) before. The target is
  // read from the .qcw header; the module info is checked against it below.
  std::string qcwTarget, deviceWhy;
  qcrt_status deviceStatus = QCRT_OK;
  {
    char header[32] = {0};
    FILE *qcw = fopen(qcwPath.c_str(), "rb");
    size_t got = qcw ? fread(header, 1, sizeof(header), qcw) : 0;
    if (qcw)
      fclose(qcw);
    std::string target(header + 16,
                       got == sizeof(header) ? strnlen(header + 16, 16) : 0);
    qcwTarget = target;
    m->gpu = isGpuTarget(target);
    // A device failure is reported after the module info is read, so a
    // weights file that does not belong to the module is named as such.
    if (m->gpu) {
      if (qcrt_status s = cudaPrepareDevice(target, soPath)) {
        deviceStatus = s;
        deviceWhy = qcrt_last_error();
      }
    }
  }
  cudaClearError();
  // RTLD_NOW: an unresolved symbol (e.g. qcrt_observe) fails here, not
  // mid-run. RTLD_LOCAL: modules do not see each other's globals.
  if (m->gpu)
    cudaBeginModuleLoads();
  m->handle = dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::vector<void *> deviceCode;
  if (m->gpu)
    deviceCode = cudaEndModuleLoads();
  if (!m->handle) {
    const char *why = dlerror();
    cudaClearError();
    return fail(QCRT_ERR_FORMAT, format("cannot load module '%s': %s",
                                        soPath.c_str(), why ? why : "?"));
  }
  // Device code loaded by the constructors (GPU modules).
  if (deviceStatus != QCRT_OK) {
    cudaClearError();
  } else if (qcrt_status s = cudaTakeError()) {
    std::string why = qcrt_last_error();
    dlclose(m->handle);
    return fail(s, format("cannot load the device code of '%s': %s",
                          soPath.c_str(), why.c_str()));
  }
  auto info = reinterpret_cast<const char *(*)(void)>(
      dlsym(m->handle, "qc_module_info"));
  if (!info) {
    dlclose(m->handle);
    return fail(QCRT_ERR_FORMAT,
                format("'%s' is not a quant module (no qc_module_info)",
                       soPath.c_str()));
  }
  m->infoJson = info();
  bool gpuByWeights = m->gpu;
  qcrt_status status = parseModuleInfo(*m, soPath);
  if (status == QCRT_OK && isGpuTarget(m->target) != gpuByWeights)
    status =
        fail(QCRT_ERR_TARGET,
             format("weights file '%s' is for target '%s' but the "
                    "module is for '%s'",
                    qcwPath.c_str(), qcwTarget.c_str(), m->target.c_str()));
  if (status == QCRT_OK && deviceStatus != QCRT_OK)
    status = fail(deviceStatus, deviceWhy);
  if (status == QCRT_OK)
    status = loadWeights(*m, qcwPath, soPath, verifyWeightChecksums(options));
  if (status == QCRT_OK && m->dependentLaunch)
    cudaAllowDependentLaunch(deviceCode);
  if (status != QCRT_OK) {
    dlclose(m->handle);
    for (void *p : m->deviceWeights)
      cudaFree(p);
    cudaClearError();
    return status;
  }
  *module = m.release();
  return QCRT_OK;
}

void qcrt_module_unload(qcrt_module *module) {
  if (!module)
    return;
  // Replays enqueued without waiting may still run the module's code.
  if (module->gpu && cudaStarted()) {
    if (module->graphStream)
      cudaSynchronize(module->graphStream, "unloading a module");
    cudaSynchronize(nullptr, "unloading a module");
  }
  if (module->handle)
    dlclose(module->handle);
  for (auto &entry : module->graphs) {
    cudaGraphRelease(entry.second.exec);
    for (void *p : entry.second.outputs)
      cudaFree(p);
  }
  cudaDestroyStream(module->graphStream);
  for (void *p : module->deviceWeights)
    cudaFree(p);
  cudaClearError();
  delete module;
}

const char *qcrt_module_info_json(const qcrt_module *module) {
  return module ? module->infoJson.c_str() : "";
}

const char *qcrt_module_target(const qcrt_module *module) {
  return module ? module->target.c_str() : "";
}

int32_t qcrt_module_function_count(const qcrt_module *module) {
  return module ? static_cast<int32_t>(module->functions.size()) : 0;
}

const char *qcrt_module_function_name(const qcrt_module *module,
                                      int32_t index) {
  if (!module || index < 0 ||
      index >= static_cast<int32_t>(module->functions.size()))
    return nullptr;
  return module->functions[index].name.c_str();
}

static qcrt_status findFunction(const qcrt_module *module, const char *name,
                                const Function *&f) {
  if (!module)
    return fail(QCRT_ERR_INVALID_ARG, "null module");
  f = module->find(name);
  if (!f) {
    std::string names;
    for (const Function &g : module->functions)
      names += (names.empty() ? "" : ", ") + g.name;
    return fail(QCRT_ERR_NOT_FOUND,
                format("module has no function '%s' (functions: %s)",
                       name ? name : "(null)", names.c_str()));
  }
  return QCRT_OK;
}

qcrt_status qcrt_module_function_arity(const qcrt_module *module,
                                       const char *function, int32_t *n_inputs,
                                       int32_t *n_outputs) {
  const Function *f;
  if (qcrt_status s = findFunction(module, function, f))
    return s;
  if (n_inputs)
    *n_inputs = static_cast<int32_t>(f->inputs.size());
  if (n_outputs)
    *n_outputs = static_cast<int32_t>(f->outputs.size());
  return QCRT_OK;
}

qcrt_status qcrt_module_signature(const qcrt_module *module,
                                  const char *function, int32_t is_output,
                                  int32_t index, qcrt_tensor *desc) {
  const Function *f;
  if (qcrt_status s = findFunction(module, function, f))
    return s;
  const auto &list = is_output ? f->outputs : f->inputs;
  if (!desc || index < 0 || index >= static_cast<int32_t>(list.size()))
    return fail(QCRT_ERR_INVALID_ARG,
                format("function '%s' has no %s %d", function,
                       is_output ? "output" : "input", index));
  memset(desc, 0, sizeof(*desc));
  desc->dtype = list[index].dtype;
  desc->rank = static_cast<int32_t>(list[index].shape.size());
  for (int32_t i = 0; i < desc->rank; ++i)
    desc->shape[i] = list[index].shape[i];
  return QCRT_OK;
}

qcrt_status qcrt_module_run(qcrt_module *module, const char *function,
                            const qcrt_tensor *inputs, int32_t n_inputs,
                            qcrt_tensor *outputs, int32_t n_outputs) {
  return qcrt_module_run_ex(module, function, inputs, n_inputs, outputs,
                            n_outputs, nullptr);
}

qcrt_status qcrt_module_run_ex(qcrt_module *module, const char *function,
                               const qcrt_tensor *inputs, int32_t n_inputs,
                               qcrt_tensor *outputs, int32_t n_outputs,
                               const qcrt_run_options *options) {
  const Function *f;
  if (qcrt_status s = findFunction(module, function, f))
    return s;
  qcrt_device runDevice = options ? options->device : QCRT_DEVICE_HOST;
  if (runDevice != QCRT_DEVICE_HOST && runDevice != QCRT_DEVICE_CUDA)
    return fail(QCRT_ERR_INVALID_ARG, "unknown device in qcrt_run_options");
  if (runDevice == QCRT_DEVICE_CUDA && !module->gpu)
    return fail(QCRT_ERR_UNSUPPORTED,
                format("module target '%s' runs on host tensors only",
                       module->target.c_str()));
  if (n_inputs != static_cast<int32_t>(f->inputs.size()))
    return fail(QCRT_ERR_INVALID_ARG,
                format("function '%s' takes %zu inputs, got %d",
                       f->name.c_str(), f->inputs.size(), n_inputs));
  if (n_outputs != static_cast<int32_t>(f->outputs.size()))
    return fail(QCRT_ERR_INVALID_ARG,
                format("function '%s' returns %zu outputs, caller expects %d",
                       f->name.c_str(), f->outputs.size(), n_outputs));
  if ((n_inputs && !inputs) || (n_outputs && !outputs))
    return fail(QCRT_ERR_INVALID_ARG, "null inputs/outputs array");

  // Validate the inputs against the signature.
  for (int32_t i = 0; i < n_inputs; ++i) {
    const qcrt_tensor &t = inputs[i];
    const TensorSig &sig = f->inputs[i];
    std::string got =
        std::string(qcrt_dtype_name(t.dtype)) +
        (t.rank >= 0 && t.rank <= QCRT_MAX_RANK
             ? shapeString(t.shape, t.rank)
             : std::string("[rank ") + std::to_string(t.rank) + "]");
    std::string where =
        format("function '%s' input %d: expected %s, got %s", f->name.c_str(),
               i, sigString(sig).c_str(), got.c_str());
    if (t.device != runDevice)
      return fail(QCRT_ERR_INVALID_ARG,
                  format("function '%s' input %d: a %s tensor, but the run "
                         "takes %s tensors",
                         f->name.c_str(), i,
                         t.device == QCRT_DEVICE_CUDA ? "CUDA" : "host",
                         runDevice == QCRT_DEVICE_CUDA ? "CUDA" : "host"));
    if (t.dtype != sig.dtype)
      return fail(QCRT_ERR_INVALID_ARG, where + " (wrong dtype)");
    if (t.rank != static_cast<int32_t>(sig.shape.size()))
      return fail(QCRT_ERR_INVALID_ARG, where + " (wrong rank)");
    for (int32_t d = 0; d < t.rank; ++d) {
      if (t.shape[d] < 0)
        return fail(QCRT_ERR_INVALID_ARG, where + " (negative dimension)");
      if (sig.shape[d] >= 0 && t.shape[d] != sig.shape[d])
        return fail(QCRT_ERR_INVALID_ARG,
                    where + format(" (dimension %d must be %lld)", d,
                                   static_cast<long long>(sig.shape[d])));
    }
    uint64_t bytes;
    std::string why;
    if (!checkedTensorBytes(t.dtype, t.shape, t.rank, bytes, why))
      return fail(QCRT_ERR_INVALID_ARG, where + " (" + why + ")");
    if (!t.data && bytes > 0)
      return fail(QCRT_ERR_INVALID_ARG, where + " (null data)");
  }
  // The in-place ABI: a buffer the run updates overlaps no other input (the
  // compiler schedules its writes as independent of every other argument).
  for (int32_t i : f->inplace) {
    auto range = [&](int32_t k) {
      const qcrt_tensor &t = inputs[k];
      auto lo = reinterpret_cast<uintptr_t>(t.data);
      return std::make_pair(lo, lo + qcrt_tensor_numel(&t) *
                                         qcrt_dtype_size(t.dtype));
    };
    auto [lo, hi] = range(i);
    for (int32_t j = 0; j < n_inputs && lo < hi; ++j) {
      auto [lo2, hi2] = range(j);
      if (j != i && lo2 < hi2 && lo < hi2 && lo2 < hi)
        return fail(QCRT_ERR_INVALID_ARG,
                    format("function '%s' input %d is updated in place and "
                           "must not overlap input %d",
                           f->name.c_str(), i, j));
    }
  }

  bool graph = options &&
               options->struct_size >=
                   offsetof(qcrt_run_options, graph) + sizeof(options->graph) &&
               options->graph == 1;
  if (const char *env = getenv("QCRT_GRAPHS"))
    graph = graph && strcmp(env, "0") != 0;
  bool asyncReplay =
      graph &&
      options->struct_size >= offsetof(qcrt_run_options, async_replay) +
                                  sizeof(options->async_replay) &&
      options->async_replay == 1;
  if (module->gpu && graph && runDevice == QCRT_DEVICE_CUDA && !f->hostSync)
    return runGpuGraph(*module, *f, inputs, n_inputs, outputs, n_outputs,
                       options->stream, asyncReplay);
  if (module->gpu)
    return runGpu(*module, *f, inputs, n_inputs, outputs, n_outputs,
                  runDevice == QCRT_DEVICE_CUDA,
                  options ? options->stream : nullptr);

  // Descriptors: {allocated, aligned, offset, sizes[r], strides[r]}, all
  // 8-byte fields; results are consecutive descriptors in one struct.
  std::vector<void *> data(n_inputs);
  for (int32_t i = 0; i < n_inputs; ++i)
    data[i] = inputs[i].data;
  std::vector<std::vector<int64_t>> inDescs;
  std::vector<int64_t> result;
  std::vector<void *> args =
      entryArguments(*f, inputs, n_inputs, data, inDescs, result);

  f->entry(args.data());

  // Take ownership of (or copy) each result buffer.
  std::vector<void *> taken, deferred;
  size_t at = 0;
  for (int32_t o = 0; o < n_outputs; ++o) {
    const TensorSig &sig = f->outputs[o];
    size_t rank = sig.shape.size();
    qcrt_tensor &out = outputs[o];
    ResultView v = decodeResult(&result[at], sig, out);
    at += 3 + 2 * rank;
    void *allocated = v.allocated;
    size_t elem = v.elem;
    char *base = v.base;
    bool freeable =
        allocated && reinterpret_cast<uintptr_t>(allocated) != kDeadBeef;
    for (int32_t i = 0; i < n_inputs && freeable; ++i)
      if (allocated == inputs[i].data)
        freeable = false;
    for (void *p : taken)
      if (p == allocated)
        freeable = false;
    if (freeable && v.contiguous) {
      out.data = base;
      out.owner = allocated;
      taken.push_back(allocated);
      continue;
    }
    // Aliases an input, a global or another result, or is strided: copy.
    int64_t numel = qcrt_tensor_numel(&out);
    void *copy = malloc(numel * elem > 0 ? numel * elem : 1);
    if (!copy) {
      for (int32_t k = 0; k < o; ++k)
        qcrt_tensor_free(&outputs[k]);
      for (void *p : deferred)
        free(p);
      return fail(QCRT_ERR_RUNTIME, "out of memory copying an output");
    }
    packStrided(static_cast<char *>(copy), base, out.shape, v.strides, rank,
                elem);
    out.data = copy;
    out.owner = copy;
    if (freeable) {
      deferred.push_back(allocated);
      taken.push_back(allocated);
    }
  }
  // Freed last: a later result may alias a buffer copied from above.
  for (void *p : deferred)
    free(p);
  return QCRT_OK;
}

//===----------------------------------------------------------------------===//
// Device tensors
//===----------------------------------------------------------------------===//

} // extern "C"

/// Copies `src` into a fresh tensor on the other side (host -> CUDA when
/// `toDevice`, else CUDA -> host); `dst` is written only on success.
static qcrt_status copyAcross(const qcrt_tensor *src, qcrt_tensor *dst,
                              bool toDevice, const char *what) {
  qcrt_device from = toDevice ? QCRT_DEVICE_HOST : QCRT_DEVICE_CUDA;
  if (!src || !dst || src->device != from || src->rank < 0 ||
      src->rank > QCRT_MAX_RANK)
    return fail(QCRT_ERR_INVALID_ARG, std::string(what) + ": needs a " +
                                          (toDevice ? "host" : "CUDA") +
                                          " tensor and a result");
  qcrt_tensor t = *src;
  uint64_t bytes = qcrt_tensor_numel(src) * qcrt_dtype_size(src->dtype);
  cudaClearError();
  t.device = toDevice ? QCRT_DEVICE_CUDA : QCRT_DEVICE_HOST;
  t.data = toDevice ? cudaAlloc(bytes, what) : malloc(bytes ? bytes : 1);
  if (!t.data && !toDevice)
    return fail(QCRT_ERR_RUNTIME, std::string(what) + ": out of memory");
  t.owner = t.data;
  cudaCopy(t.data, src->data, bytes,
           toDevice ? kCopyHostToDevice : kCopyDeviceToHost, nullptr, what);
  if (qcrt_status s = cudaTakeError()) {
    if (toDevice)
      cudaFree(t.data);
    else
      free(t.data);
    cudaClearError();
    return s;
  }
  *dst = t;
  return QCRT_OK;
}

extern "C" {

qcrt_status qcrt_tensor_to_device(const qcrt_tensor *src, qcrt_tensor *dst) {
  return copyAcross(src, dst, /*toDevice=*/true, "qcrt_tensor_to_device");
}

qcrt_status qcrt_tensor_to_host(const qcrt_tensor *src, qcrt_tensor *dst) {
  return copyAcross(src, dst, /*toDevice=*/false, "qcrt_tensor_to_host");
}

void qcrt_module_graph_stats(const qcrt_module *module, int64_t *captured,
                             int64_t *replayed, int64_t *failed) {
  if (captured)
    *captured = module ? module->graphsCaptured : 0;
  if (replayed)
    *replayed = module ? module->graphReplays : 0;
  if (failed)
    *failed = module ? module->graphFailures : 0;
}

qcrt_status qcrt_tensor_copy(const qcrt_tensor *src, qcrt_tensor *dst) {
  uint64_t bytes = 0;
  if (qcrt_status s = checkCopy("qcrt_tensor_copy", src, dst, bytes))
    return s;
  bool fromDevice = src->device == QCRT_DEVICE_CUDA;
  bool toDevice = dst->device == QCRT_DEVICE_CUDA;
  if (!fromDevice && !toDevice) {
    if (bytes)
      memmove(dst->data, src->data, bytes);
    return QCRT_OK;
  }
  cudaClearError();
  int kind = fromDevice && toDevice ? kCopyDeviceToDevice
             : toDevice             ? kCopyHostToDevice
                                    : kCopyDeviceToHost;
  cudaCopy(dst->data, src->data, bytes, kind, nullptr, "qcrt_tensor_copy");
  if (kind == kCopyDeviceToDevice)
    cudaSynchronize(nullptr, "qcrt_tensor_copy");
  return cudaTakeError();
}

qcrt_status qcrt_tensor_copy_async(const qcrt_tensor *src, qcrt_tensor *dst) {
  if (!src || !dst || src->device != QCRT_DEVICE_CUDA ||
      dst->device != QCRT_DEVICE_CUDA)
    return fail(QCRT_ERR_INVALID_ARG,
                "qcrt_tensor_copy_async: copies between CUDA tensors only "
                "(qcrt_tensor_copy takes host tensors)");
  uint64_t bytes = 0;
  if (qcrt_status s = checkCopy("qcrt_tensor_copy_async", src, dst, bytes))
    return s;
  cudaClearError();
  cudaCopy(dst->data, src->data, bytes, kCopyDeviceToDevice, nullptr,
           "qcrt_tensor_copy_async");
  return cudaTakeError();
}

qcrt_status qcrt_synchronize(void) {
  if (!cudaStarted()) // nothing was ever enqueued
    return QCRT_OK;
  cudaClearError();
  cudaSynchronize(nullptr, "qcrt_synchronize");
  return cudaTakeError();
}

int32_t qcrt_cuda_available(void) { return cudaAvailable() ? 1 : 0; }

} // extern "C"
