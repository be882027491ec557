//===- Cuda.cpp - qcrt's CUDA driver backend and the mgpu* ABI ------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// GPU modules (docs/gpu-module.md) are host code that calls the `mgpu*`
// functions MLIR's gpu-to-llvm lowering emits (module load in a constructor
// of the .so, kernel launches, device allocations, copies). qcrt implements
// them here on the CUDA driver API, which it opens at run time
// (libcuda.so.1): the runtime builds and loads on machines without a GPU or
// driver, and a GPU module then fails to load with a message.
//
// Errors: every driver call goes through QCRT_CU, which records the first
// failure of the current thread (the "sticky" error: call, CUDA error name
// and description, context) and makes later mgpu* calls of the run no-ops.
// qcrt_module_load / qcrt_module_run take the sticky error and return it;
// nothing aborts.
//
// Built without cuda.h (QCRT_HAVE_CUDA undefined), the same entry points
// exist and report that this runtime has no CUDA support.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "qc/Runtime/PtxEntries.h"
#if QCRT_HAVE_CUDA
#include "qc/Runtime/TensorMap.h"
#endif
#include "qc/Target/TargetTable.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dlfcn.h>
#include <map>
#include <mutex>
#include <set>

#if QCRT_HAVE_CUDA
#include <cuda.h>
#else
// Opaque stand-ins so the mgpu* signatures below read the same.
typedef struct CUstream_st *CUstream;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUevent_st *CUevent;
#endif

using namespace qcrt;

namespace {

/// The first CUDA failure on this thread since the last take.
struct StickyError {
  qcrt_status status = QCRT_OK;
  std::string message;
};
thread_local StickyError sticky;

/// The stream and the allocations of the qcrt_module_run in progress on
/// this thread (mgpuStreamCreate hands out the run's stream).
struct RunState {
  bool active = false;
  bool noHostSync = false; // skip the lowering's waits (no host reads)
  CUstream stream = nullptr;
  std::set<void *> allocations;
};
thread_local RunState run;

void recordError(qcrt_status status, const std::string &message) {
  if (sticky.status != QCRT_OK)
    return; // keep the first, later ones are consequences
  sticky.status = status;
  sticky.message = message;
}

} // namespace

void qcrt::cudaClearError() { sticky = StickyError(); }

void qcrt::cudaRecordError(qcrt_status status, const std::string &message) {
  recordError(status, message);
}

qcrt_status qcrt::cudaTakeError() {
  if (sticky.status == QCRT_OK)
    return QCRT_OK;
  StickyError e = sticky;
  sticky = StickyError();
  return fail(e.status, e.message);
}

#if QCRT_HAVE_CUDA

namespace {

/// The driver entry points qcrt uses, resolved from libcuda.so.1.
struct Driver {
#define QCRT_CU_FN(name, symbol) decltype(&::name) name = nullptr;
#include "CudaDriverFunctions.def"
#undef QCRT_CU_FN
  void *library = nullptr;
};

Driver driver;

/// Programmatic dependent launch (docs/gpu-module.md): the kernels whose
/// PTX waits for their predecessor first (qc::kernelsWaitingForPredecessor
/// over the PTX JIT-loaded per module), and the functions handed out for
/// them. Modules load and launch from any thread.
struct DependentLaunch {
  /// The kernels of one device-code module that wait first.
  struct Kernels {
    bool fromPtx = false; // names read from its PTX (else from the info)
    bool all = false;     // every kernel (the module info's promise)
    std::set<std::string> names;
  };
  std::mutex mutex;
  std::map<CUmodule, Kernels> modules;
  std::set<CUfunction> functions;
};
DependentLaunch dependent;

/// The device-code modules loaded on this thread since
/// cudaBeginModuleLoads (null: not collecting).
thread_local std::vector<void *> *moduleLoads = nullptr;

/// QCRT_DEPENDENT_LAUNCH=0 launches every kernel plainly (debugging).
bool dependentLaunchEnabled() {
  static const bool enabled = [] {
    const char *env = getenv("QCRT_DEPENDENT_LAUNCH");
    return !(env && std::string(env) == "0");
  }();
  return enabled;
}
std::once_flag driverOnce;
std::string driverError; // why libcuda could not be used ("" if it can)
CUdevice device = 0;
CUcontext context = nullptr;
int ccMajor = 0, ccMinor = 0;
std::string deviceName;
std::once_flag contextOnce;
std::string contextError;

std::string errorText(CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(result, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(result, &text);
  return format("%s (%s)", name ? name : "CUDA_ERROR_?",
                text ? text : "no description");
}

/// QCRT_CU's worker: records a failed driver call; true on success.
bool check(CUresult result, const char *call, const char *context) {
  if (result == CUDA_SUCCESS)
    return true;
  recordError(QCRT_ERR_RUNTIME,
              format("CUDA error %s in %s%s%s", errorText(result).c_str(), call,
                     context && *context ? ": " : "", context ? context : ""));
  return false;
}

} // namespace

/// Every driver call of the runtime: records a failure (with the call's
/// text and `what`) in the thread's sticky error and yields false.
#define QCRT_CU(call, what) check(driver.call, #call, what)

namespace {

void openDriver() {
  driver.library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver.library) {
    const char *why = dlerror();
    driverError = format("cannot load the CUDA driver (libcuda.so.1): %s",
                         why ? why : "?");
    return;
  }
#define QCRT_CU_FN(name, symbol)                                               \
  driver.name =                                                                \
      reinterpret_cast<decltype(driver.name)>(dlsym(driver.library, symbol));  \
  if (!driver.name && driverError.empty())                                     \
    driverError = "the CUDA driver lacks " symbol " (driver too old?)";
#include "CudaDriverFunctions.def"
#undef QCRT_CU_FN
}

/// Initializes the driver and retains the primary context of the device
/// $QCRT_CUDA_DEVICE (default 0), once per process.
void openContext() {
  std::call_once(driverOnce, openDriver);
  if (!driverError.empty()) {
    contextError = driverError;
    return;
  }
  CUresult r = driver.cuInit(0);
  if (r != CUDA_SUCCESS) {
    contextError = "no usable CUDA device: cuInit failed with " + errorText(r);
    return;
  }
  int count = 0;
  r = driver.cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count == 0) {
    contextError = "no CUDA device found";
    return;
  }
  int ordinal = 0;
  if (const char *env = getenv("QCRT_CUDA_DEVICE"))
    ordinal = atoi(env);
  if (ordinal < 0 || ordinal >= count) {
    contextError = format("QCRT_CUDA_DEVICE=%d is not a device (%d CUDA "
                          "device(s) found)",
                          ordinal, count);
    return;
  }
  char name[256] = {0};
  if ((r = driver.cuDeviceGet(&device, ordinal)) != CUDA_SUCCESS ||
      (r = driver.cuDeviceGetAttribute(
           &ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)) !=
          CUDA_SUCCESS ||
      (r = driver.cuDeviceGetAttribute(
           &ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device)) !=
          CUDA_SUCCESS ||
      (r = driver.cuDeviceGetName(name, sizeof(name) - 1, device)) !=
          CUDA_SUCCESS ||
      (r = driver.cuDevicePrimaryCtxRetain(&context, device)) != CUDA_SUCCESS) {
    contextError = "cannot open CUDA device " + std::to_string(ordinal) + ": " +
                   errorText(r);
    return;
  }
  deviceName = name;
  // Stream-ordered allocations (runs) come from the device's default pool;
  // keep freed memory in it instead of returning it at each synchronization,
  // so that a warm run allocates nothing from the driver.
  CUmemoryPool pool = nullptr;
  if (driver.cuDeviceGetDefaultMemPool(&pool, device) == CUDA_SUCCESS && pool) {
    cuuint64_t threshold = ~cuuint64_t(0);
    driver.cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                 &threshold);
  }
}

/// Makes the primary context current on this thread; records an error and
/// returns false when there is none.
bool useContext() {
  std::call_once(contextOnce, openContext);
  if (!contextError.empty()) {
    recordError(QCRT_ERR_UNSUPPORTED, contextError);
    return false;
  }
  return QCRT_CU(cuCtxSetCurrent(context), "");
}

/// True once the run (or load) on this thread has failed: skip the work.
bool failed() { return sticky.status != QCRT_OK; }

} // namespace

//===----------------------------------------------------------------------===//
// Runtime-internal API (Internal.h)
//===----------------------------------------------------------------------===//

qcrt_status qcrt::cudaPrepareDevice(const std::string &target,
                                    const std::string &what) {
  cudaClearError();
  if (!useContext())
    return fail(QCRT_ERR_UNSUPPORTED,
                format("%s: GPU module for %s, but %s", what.c_str(),
                       target.c_str(), sticky.message.c_str()));
  std::string have = format("sm_%d%d", ccMajor, ccMinor);
  const qc::TargetInfo *t = qc::lookupGpuTarget(target);
  if (!t || !qc::targetRunsOn(*t, ccMajor, ccMinor)) {
    cudaClearError();
    return fail(QCRT_ERR_TARGET,
                format("%s: module compiled for %s, but CUDA device '%s' is "
                       "%s (recompile with quant-compile --target %s)",
                       what.c_str(), target.c_str(), deviceName.c_str(),
                       have.c_str(), have.c_str()));
  }
  return cudaTakeError();
}

void *qcrt::cudaAlloc(uint64_t bytes, const char *what) {
  if (bytes == 0 || failed() || !useContext())
    return nullptr;
  CUdeviceptr p = 0;
  if (!QCRT_CU(cuMemAlloc_v2(&p, bytes), what))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

void qcrt::cudaFree(void *pointer) {
  if (!pointer || !useContext())
    return;
  // Work enqueued without waiting (asynchronous replays, qcrt_tensor_copy_
  // async) is ordered before the default stream: let it finish with the
  // buffer before it goes.
  QCRT_CU(cuStreamSynchronize(CU_STREAM_LEGACY), "before freeing a buffer");
  QCRT_CU(cuMemFree_v2(reinterpret_cast<CUdeviceptr>(pointer)), "cuMemFree");
}

bool qcrt::cudaCopy(void *dst, const void *src, uint64_t bytes, int kind,
                    void *stream, const char *what) {
  if (bytes == 0)
    return !failed();
  if (failed() || !useContext())
    return false;
  CUstream s = static_cast<CUstream>(stream);
  bool ok;
  if (kind == kCopyHostToDevice)
    ok = QCRT_CU(
        cuMemcpyHtoDAsync_v2(reinterpret_cast<CUdeviceptr>(dst), src, bytes, s),
        what);
  else if (kind == kCopyDeviceToHost)
    ok = QCRT_CU(
        cuMemcpyDtoHAsync_v2(dst, reinterpret_cast<CUdeviceptr>(src), bytes, s),
        what);
  else
    ok = QCRT_CU(cuMemcpyDtoDAsync_v2(reinterpret_cast<CUdeviceptr>(dst),
                                      reinterpret_cast<CUdeviceptr>(src), bytes,
                                      s),
                 what);
  // Host buffers may be reused right after: wait for the copy.
  return ok &&
         (kind == kCopyDeviceToDevice || QCRT_CU(cuStreamSynchronize(s), what));
}

bool qcrt::cudaSynchronize(void *stream, const char *what) {
  if (failed() || !useContext())
    return false;
  return QCRT_CU(cuStreamSynchronize(static_cast<CUstream>(stream)), what);
}

void qcrt::cudaBeginRun(void *stream, bool noHostSync) {
  run = RunState();
  run.active = true;
  run.noHostSync = noHostSync;
  run.stream = static_cast<CUstream>(stream);
}

bool qcrt::cudaBeginCapture(void *stream) {
  if (failed() || !useContext())
    return false;
  // Thread-local mode: a call on this thread that is not allowed while
  // capturing (a synchronous allocation, a synchronization) fails loudly
  // instead of silently breaking the graph.
  return QCRT_CU(cuStreamBeginCapture_v2(static_cast<CUstream>(stream),
                                         CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                 "capturing the run as a CUDA graph");
}

void *qcrt::cudaEndCapture(void *stream, bool discard) {
  if (!useContext())
    return nullptr;
  CUgraph graph = nullptr;
  CUresult r = driver.cuStreamEndCapture(static_cast<CUstream>(stream), &graph);
  if (r != CUDA_SUCCESS) {
    check(r, "cuStreamEndCapture", "capturing the run as a CUDA graph");
    return nullptr;
  }
  CUgraphExec exec = nullptr;
  if (!discard && !failed())
    QCRT_CU(cuGraphInstantiateWithFlags(&exec, graph, 0),
            "instantiating the run's CUDA graph");
  if (graph)
    driver.cuGraphDestroy(graph);
  return exec;
}

bool qcrt::cudaGraphLaunch(void *graphExec, void *stream) {
  if (failed() || !useContext())
    return false;
  return QCRT_CU(cuGraphLaunch(static_cast<CUgraphExec>(graphExec),
                               static_cast<CUstream>(stream)),
                 "replaying the run's CUDA graph");
}

void qcrt::cudaGraphRelease(void *graphExec) {
  if (graphExec && useContext())
    driver.cuGraphExecDestroy(static_cast<CUgraphExec>(graphExec));
}

void *qcrt::cudaCreateStream() {
  CUstream stream = nullptr;
  if (!failed() && useContext())
    QCRT_CU(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
            "creating the runtime's stream");
  return stream;
}

bool qcrt::cudaStreamOrder(void *signaler, void *waiter) {
  if (failed() || !useContext())
    return false;
  // One event per thread suffices: a wait takes the event's state at the
  // time it is enqueued.
  static thread_local CUevent event = nullptr;
  if (!event && !QCRT_CU(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING),
                         "creating the runtime's ordering event"))
    return false;
  CUstream from = signaler ? static_cast<CUstream>(signaler) : CU_STREAM_LEGACY;
  CUstream to = waiter ? static_cast<CUstream>(waiter) : CU_STREAM_LEGACY;
  return QCRT_CU(cuEventRecord(event, from), "ordering two streams") &&
         QCRT_CU(cuStreamWaitEvent(to, event, 0), "ordering two streams");
}

void qcrt::cudaDestroyStream(void *stream) {
  if (stream && useContext())
    driver.cuStreamDestroy_v2(static_cast<CUstream>(stream));
}

void qcrt::cudaFreeAsync(void *pointer, void *stream) {
  if (pointer && !failed() && useContext())
    QCRT_CU(cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(pointer),
                           static_cast<CUstream>(stream)),
            "freeing a run's buffer");
}

std::vector<void *> qcrt::cudaEndRun() {
  std::vector<void *> live(run.allocations.begin(), run.allocations.end());
  run = RunState();
  return live;
}

bool qcrt::cudaAvailable() { return true; }
bool qcrt::cudaStarted() { return context != nullptr; }

//===----------------------------------------------------------------------===//
// The mgpu* ABI of MLIR's gpu-to-llvm lowering
//===----------------------------------------------------------------------===//

void qcrt::cudaBeginModuleLoads() {
  delete moduleLoads;
  moduleLoads = new std::vector<void *>();
}

std::vector<void *> qcrt::cudaEndModuleLoads() {
  std::vector<void *> loaded;
  if (moduleLoads)
    loaded.swap(*moduleLoads);
  delete moduleLoads;
  moduleLoads = nullptr;
  return loaded;
}

void qcrt::cudaAllowDependentLaunch(const std::vector<void *> &modules) {
  std::lock_guard<std::mutex> lock(dependent.mutex);
  for (void *m : modules) {
    DependentLaunch::Kernels &k = dependent.modules[static_cast<CUmodule>(m)];
    if (!k.fromPtx)
      k.all = true;
  }
}

extern "C" {

QCRT_API CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  if (failed() || !useContext())
    return nullptr;
  if (QCRT_CU(cuModuleLoadData(&module, data),
              "loading the module's device code") &&
      moduleLoads)
    moduleLoads->push_back(module);
  return module;
}

QCRT_API CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  CUmodule module = nullptr;
  if (failed() || !useContext())
    return nullptr;
  char log[4096] = {0};
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)),
                    log, reinterpret_cast<void *>(sizeof(log) - 1)};
  CUresult r = driver.cuModuleLoadDataEx(&module, data, 3, options, values);
  if (r != CUDA_SUCCESS)
    check(r, "cuModuleLoadDataEx",
          format("JIT-compiling the module's PTX: %s", log).c_str());
  else {
    if (moduleLoads)
      moduleLoads->push_back(module);
    std::vector<std::string> waiting =
        qc::kernelsWaitingForPredecessor(static_cast<const char *>(data));
    std::lock_guard<std::mutex> lock(dependent.mutex);
    DependentLaunch::Kernels &k = dependent.modules[module];
    k.fromPtx = true;
    k.names = std::set<std::string>(waiting.begin(), waiting.end());
  }
  return module;
}

QCRT_API void mgpuModuleUnload(CUmodule module) {
  {
    std::lock_guard<std::mutex> lock(dependent.mutex);
    dependent.modules.erase(module);
  }
  if (module && useContext())
    QCRT_CU(cuModuleUnload(module), "");
}

QCRT_API CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  CUfunction function = nullptr;
  if (failed() || !useContext())
    return nullptr;
  if (!module) {
    recordError(QCRT_ERR_RUNTIME,
                format("kernel '%s': its device code is not loaded", name));
    return nullptr;
  }
  if (QCRT_CU(cuModuleGetFunction(&function, module, name), name)) {
    std::lock_guard<std::mutex> lock(dependent.mutex);
    auto it = dependent.modules.find(module);
    if (it != dependent.modules.end() &&
        (it->second.all || it->second.names.count(name)))
      dependent.functions.insert(function);
  }
  return function;
}

namespace {
/// What every launch checks first: a live context, a non-empty grid, and
/// the dynamic shared memory limit raised where the kernel needs more than
/// the default 48 KiB. False: nothing to launch (or an error recorded).
bool prepareLaunch(CUfunction function, intptr_t gridX, intptr_t gridY,
                   intptr_t gridZ, int32_t smem) {
  if (failed() || !function)
    return false;
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return false; // an empty grid: nothing to do (e.g. zero tokens)
  if (!useContext())
    return false;
  return smem <= 48 * 1024 ||
         QCRT_CU(cuFuncSetAttribute(
                     function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                     smem),
                 "raising the dynamic shared memory limit");
}

std::string launchShape(intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                        intptr_t blockX, intptr_t blockY, intptr_t blockZ) {
  return format("grid (%ld, %ld, %ld), block (%ld, %ld, %ld)", (long)gridX,
                (long)gridY, (long)gridZ, (long)blockX, (long)blockY,
                (long)blockZ);
}
} // namespace

namespace {
/// One launch through cuLaunchKernelEx: clusters of `cluster` CTAs (x, y, z;
/// null: none) and, for a kernel whose PTX waits for its predecessor, the
/// programmatic-stream-serialization attribute (it may start while the
/// kernel before it on the stream finishes; sm_90). Captured into graphs
/// like any launch (the edge becomes a programmatic one).
void launch(CUfunction function, const intptr_t *cluster, intptr_t gridX,
            intptr_t gridY, intptr_t gridZ, intptr_t blockX, intptr_t blockY,
            intptr_t blockZ, int32_t smem, CUstream stream, void **params,
            void **extra) {
  if (!prepareLaunch(function, gridX, gridY, gridZ, smem))
    return;
  bool early = false;
  if (dependentLaunchEnabled()) {
    std::lock_guard<std::mutex> lock(dependent.mutex);
    early = dependent.functions.count(function) != 0;
  }
  CUlaunchAttribute attrs[2] = {};
  unsigned numAttrs = 0;
  if (cluster) {
    CUlaunchAttribute &a = attrs[numAttrs++];
    a.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    a.value.clusterDim.x = unsigned(cluster[0]);
    a.value.clusterDim.y = unsigned(cluster[1]);
    a.value.clusterDim.z = unsigned(cluster[2]);
  }
  if (early) {
    CUlaunchAttribute &a = attrs[numAttrs++];
    a.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    a.value.programmaticStreamSerializationAllowed = 1;
  }
  std::string what = launchShape(gridX, gridY, gridZ, blockX, blockY, blockZ);
  if (cluster)
    what += format(", cluster (%ld, %ld, %ld)", (long)cluster[0],
                   (long)cluster[1], (long)cluster[2]);
  if (!numAttrs) {
    QCRT_CU(cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY,
                           blockZ, smem, stream, params, extra),
            what.c_str());
    return;
  }
  CUlaunchConfig config = {};
  config.gridDimX = unsigned(gridX);
  config.gridDimY = unsigned(gridY);
  config.gridDimZ = unsigned(gridZ);
  config.blockDimX = unsigned(blockX);
  config.blockDimY = unsigned(blockY);
  config.blockDimZ = unsigned(blockZ);
  config.sharedMemBytes = unsigned(smem);
  config.hStream = stream;
  config.attrs = attrs;
  config.numAttrs = numAttrs;
  QCRT_CU(cuLaunchKernelEx(&config, function, params, extra), what.c_str());
}
} // namespace

QCRT_API void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                               intptr_t gridY, intptr_t gridZ, intptr_t blockX,
                               intptr_t blockY, intptr_t blockZ, int32_t smem,
                               CUstream stream, void **params, void **extra,
                               size_t /*paramsCount*/) {
  launch(function, nullptr, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
         stream, params, extra);
}

/// A launch whose CTAs form thread-block clusters of clusterX x clusterY x
/// clusterZ (gpu.launch_func with `clusters in`; sm_90).
QCRT_API void mgpuLaunchClusterKernel(
    CUfunction function, intptr_t clusterX, intptr_t clusterY,
    intptr_t clusterZ, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
    intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
    CUstream stream, void **params, void **extra, size_t /*paramsCount*/) {
  const intptr_t cluster[3] = {clusterX, clusterY, clusterZ};
  launch(function, cluster, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
         stream, params, extra);
}

QCRT_API CUstream mgpuStreamCreate() {
  if (run.active)
    return run.stream; // everything of a run goes to the run's stream
  CUstream stream = nullptr;
  if (!failed() && useContext())
    QCRT_CU(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "");
  return stream;
}

QCRT_API void mgpuStreamDestroy(CUstream stream) {
  if (run.active && stream == run.stream)
    return;
  if (stream && useContext())
    QCRT_CU(cuStreamDestroy_v2(stream), "");
}

QCRT_API void mgpuStreamSynchronize(CUstream stream) {
  // A run whose host code never reads device memory has nothing to wait
  // for: its work is in order on the run's stream (and may be captured).
  if (run.active && run.noHostSync && stream == run.stream)
    return;
  if (!failed() && useContext())
    QCRT_CU(cuStreamSynchronize(stream), "a kernel or copy failed");
}

QCRT_API void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (!failed() && useContext())
    QCRT_CU(cuStreamWaitEvent(stream, event, 0), "");
}

QCRT_API CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  if (!failed() && useContext())
    QCRT_CU(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "");
  return event;
}

QCRT_API void mgpuEventDestroy(CUevent event) {
  if (event && useContext())
    QCRT_CU(cuEventDestroy_v2(event), "");
}

QCRT_API void mgpuEventSynchronize(CUevent event) {
  if (!failed() && useContext())
    QCRT_CU(cuEventSynchronize(event), "");
}

QCRT_API void mgpuEventRecord(CUevent event, CUstream stream) {
  if (!failed() && useContext())
    QCRT_CU(cuEventRecord(event, stream), "");
}

QCRT_API void *mgpuMemAlloc(uint64_t sizeBytes, CUstream /*stream*/,
                            bool isHostShared) {
  if (isHostShared) {
    recordError(QCRT_ERR_UNSUPPORTED,
                "host-shared (managed) allocations are not supported");
    return nullptr;
  }
  std::string what = format("allocating %llu bytes of device memory",
                            (unsigned long long)sizeBytes);
  if (!run.active)
    return cudaAlloc(sizeBytes, what.c_str());
  // Inside a run: stream-ordered, from the device's pool (no driver
  // allocation once warm; allowed while capturing a graph).
  if (sizeBytes == 0 || failed() || !useContext())
    return nullptr;
  CUdeviceptr p = 0;
  if (!QCRT_CU(cuMemAllocAsync(&p, sizeBytes, run.stream), what.c_str()))
    return nullptr;
  void *pointer = reinterpret_cast<void *>(p);
  run.allocations.insert(pointer);
  return pointer;
}

QCRT_API void mgpuMemFree(void *ptr, CUstream /*stream*/) {
  if (!ptr)
    return;
  if (run.active && run.allocations.erase(ptr)) {
    // Ordered after the run's earlier work on the stream that reads it.
    qcrt::cudaFreeAsync(ptr, run.stream);
    return;
  }
  // Earlier work on the run's stream may still read the buffer.
  if (!failed() && useContext())
    QCRT_CU(cuStreamSynchronize(run.stream), "before freeing a buffer");
  cudaFree(ptr);
}

QCRT_API void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                         CUstream stream) {
  if (!failed() && sizeBytes && useContext())
    QCRT_CU(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                          reinterpret_cast<CUdeviceptr>(src), sizeBytes,
                          stream),
            "");
}

QCRT_API void mgpuMemset32(void *dst, unsigned int value, size_t count,
                           CUstream stream) {
  if (!failed() && count && useContext())
    QCRT_CU(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                             stream),
            "");
}

QCRT_API void mgpuMemset16(void *dst, unsigned short value, size_t count,
                           CUstream stream) {
  if (!failed() && count && useContext())
    QCRT_CU(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                             stream),
            "");
}

QCRT_API void mgpuSetDefaultDevice(int32_t /*device*/) {
  // The device is chosen once per process ($QCRT_CUDA_DEVICE).
}

/// The TMA tensor map (128 bytes at `map`) of a wgmma GEMM operand
/// (qc/Runtime/TensorMap.h), encoded on the host before the launch that
/// passes it by value; zeros and a recorded error when it cannot be made.
QCRT_API void qcrtEncodeTensorMap(void *map, void *base, int64_t rows,
                                  int64_t cols, int32_t elemBytes,
                                  int32_t boxRows) {
  std::memset(map, 0, sizeof(CUtensorMap));
  if (failed() || !useContext())
    return;
  std::string what =
      format("tensor map of a [%ld, %ld] x %d-byte operand "
             "at %p, boxes of %d rows",
             (long)rows, (long)cols, (int)elemBytes, base, (int)boxRows);
  check(encodeOperandTensorMap(driver.cuTensorMapEncodeTiled,
                               static_cast<CUtensorMap *>(map), base,
                               uint64_t(rows), uint64_t(cols),
                               unsigned(elemBytes), unsigned(boxRows)),
        "cuTensorMapEncodeTiled", what.c_str());
}

} // extern "C"

#else // !QCRT_HAVE_CUDA

//===----------------------------------------------------------------------===//
// No CUDA at build time: the same symbols, each reporting it.
//===----------------------------------------------------------------------===//

static const char kNoCuda[] =
    "this qcrt was built without CUDA support (no cuda.h when it was "
    "configured, or QCRT_WITH_CUDA=OFF)";

qcrt_status qcrt::cudaPrepareDevice(const std::string &target,
                                    const std::string &what) {
  cudaClearError();
  return fail(QCRT_ERR_UNSUPPORTED,
              format("%s: GPU module for %s, but %s", what.c_str(),
                     target.c_str(), kNoCuda));
}
void *qcrt::cudaAlloc(uint64_t, const char *) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return nullptr;
}
void qcrt::cudaFree(void *) {}
bool qcrt::cudaCopy(void *, const void *, uint64_t, int, void *, const char *) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return false;
}
bool qcrt::cudaSynchronize(void *, const char *) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return false;
}
void qcrt::cudaBeginRun(void *, bool) { run = RunState(); }
bool qcrt::cudaBeginCapture(void *) { return false; }
void *qcrt::cudaEndCapture(void *, bool) { return nullptr; }
bool qcrt::cudaGraphLaunch(void *, void *) { return false; }
void qcrt::cudaGraphRelease(void *) {}
void *qcrt::cudaCreateStream() { return nullptr; }
bool qcrt::cudaStreamOrder(void *, void *) { return false; }
void qcrt::cudaDestroyStream(void *) {}
void qcrt::cudaFreeAsync(void *, void *) {}
std::vector<void *> qcrt::cudaEndRun() { return {}; }
bool qcrt::cudaAvailable() { return false; }
bool qcrt::cudaStarted() { return false; }
void qcrt::cudaBeginModuleLoads() {}
std::vector<void *> qcrt::cudaEndModuleLoads() { return {}; }
void qcrt::cudaAllowDependentLaunch(const std::vector<void *> &) {}

extern "C" {
QCRT_API CUmodule mgpuModuleLoad(void *, size_t) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return nullptr;
}
QCRT_API CUmodule mgpuModuleLoadJIT(void *, int) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return nullptr;
}
QCRT_API void mgpuModuleUnload(CUmodule) {}
QCRT_API CUfunction mgpuModuleGetFunction(CUmodule, const char *) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return nullptr;
}
QCRT_API void mgpuLaunchKernel(CUfunction, intptr_t, intptr_t, intptr_t,
                               intptr_t, intptr_t, intptr_t, int32_t, CUstream,
                               void **, void **, size_t) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
}
QCRT_API void mgpuLaunchClusterKernel(CUfunction, intptr_t, intptr_t, intptr_t,
                                      intptr_t, intptr_t, intptr_t, intptr_t,
                                      intptr_t, intptr_t, int32_t, CUstream,
                                      void **, void **, size_t) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
}
QCRT_API CUstream mgpuStreamCreate() { return nullptr; }
QCRT_API void mgpuStreamDestroy(CUstream) {}
QCRT_API void mgpuStreamSynchronize(CUstream) {}
QCRT_API void mgpuStreamWaitEvent(CUstream, CUevent) {}
QCRT_API CUevent mgpuEventCreate() { return nullptr; }
QCRT_API void mgpuEventDestroy(CUevent) {}
QCRT_API void mgpuEventSynchronize(CUevent) {}
QCRT_API void mgpuEventRecord(CUevent, CUstream) {}
QCRT_API void *mgpuMemAlloc(uint64_t, CUstream, bool) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
  return nullptr;
}
QCRT_API void mgpuMemFree(void *, CUstream) {}
QCRT_API void mgpuMemcpy(void *, void *, size_t, CUstream) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
}
QCRT_API void mgpuMemset32(void *, unsigned int, size_t, CUstream) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
}
QCRT_API void mgpuMemset16(void *, unsigned short, size_t, CUstream) {
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
}
QCRT_API void mgpuSetDefaultDevice(int32_t) {}
QCRT_API void qcrtEncodeTensorMap(void *map, void *, int64_t, int64_t, int32_t,
                                  int32_t) {
  std::memset(map, 0, 128);
  recordError(QCRT_ERR_UNSUPPORTED, kNoCuda);
}
} // extern "C"

#endif // QCRT_HAVE_CUDA
