//===- Internal.h - qcrt internals shared by the runtime files --*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Error reporting and a minimal JSON reader/writer. The runtime is plain
// C++17 with no dependency beyond libc/libdl, and is built without
// exceptions in mind: every parse error is a returned message.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_RUNTIME_INTERNAL_H
#define QC_LIB_RUNTIME_INTERNAL_H

#include "qc/Runtime/qcrt.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qcrt {

/// Records `message` as this thread's last error and returns `status`.
qcrt_status fail(qcrt_status status, const std::string &message);
/// The byte size of a `dtype` tensor of `shape`, computed with overflow
/// checks; false (and `why`) for a bad dtype/rank, a negative dimension or
/// more than QCRT_MAX_TENSOR_BYTES.
bool checkedTensorBytes(qcrt_dtype dtype, const int64_t *shape, int32_t rank,
                        uint64_t &bytes, std::string &why);
/// printf-style string formatting.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// A parsed JSON value (numbers kept as double: enough for shapes/sizes).
struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  /// Member `key` of an object, or nullptr.
  const Json *get(const std::string &key) const;
  bool isInteger() const;
};

/// Parses `text`; on failure returns false and sets `error`.
bool parseJson(const std::string &text, Json &out, std::string &error);
/// Appends `s` as a quoted, escaped JSON string.
void appendJsonString(std::string &out, const std::string &s);

/// Reads a whole file; false (and `error`) if it cannot be opened or read.
bool readFile(const std::string &path, std::string &data, std::string &error);
/// Records a temporary file for qcrt_remove_temporaries (signal handlers);
/// returns a slot for unregisterTemporary (-1: not recorded).
int registerTemporary(const std::string &path);
void unregisterTemporary(int slot);
/// Writes `data` to `path` through `path`.tmp.<pid> + rename.
bool writeFileAtomic(const std::string &path, const void *data, size_t size,
                     std::string &error);

//===----------------------------------------------------------------------===//
// CUDA backend (Cuda.cpp; stubs reporting "no CUDA" when built without
// cuda.h). Failures are recorded in a per-thread sticky error (the first
// one wins, later mgpu* calls of the run become no-ops) until taken.
//===----------------------------------------------------------------------===//

/// True when this build has the CUDA backend.
bool cudaAvailable();
/// Records `message` as this thread's sticky error (unless one is set).
void cudaRecordError(qcrt_status status, const std::string &message);
/// Forgets the sticky error of this thread.
void cudaClearError();
/// QCRT_OK, or the sticky error (also made the last error) and clears it.
qcrt_status cudaTakeError();
/// Opens the device (once per process) and checks that it is `target`
/// ("sm_90"); `what` prefixes messages. Clears the sticky error.
qcrt_status cudaPrepareDevice(const std::string &target,
                              const std::string &what);
/// Brackets the dlopen of a GPU module: cudaEndModuleLoads returns the
/// device-code modules (CUmodule) its constructors loaded on this thread.
void cudaBeginModuleLoads();
std::vector<void *> cudaEndModuleLoads();
/// The module info promises that every kernel of these device-code modules
/// waits for its predecessor first ("dependent_launch": true): qcrt may
/// launch them with programmatic dependent launch. Modules loaded from PTX
/// keep what their PTX shows (qc::kernelsWaitingForPredecessor).
void cudaAllowDependentLaunch(const std::vector<void *> &modules);
/// Device allocation (nullptr for 0 bytes or on error) and release.
void *cudaAlloc(uint64_t bytes, const char *what);
void cudaFree(void *pointer);
enum { kCopyHostToDevice = 0, kCopyDeviceToHost = 1, kCopyDeviceToDevice = 2 };
/// Copies on `stream` (a CUstream; host copies are complete on return).
bool cudaCopy(void *dst, const void *src, uint64_t bytes, int kind,
              void *stream, const char *what);
bool cudaSynchronize(void *stream, const char *what);
/// Brackets a run on this thread: mgpuStreamCreate returns `stream`, and
/// mgpuMemAlloc'd buffers not yet freed are returned by cudaEndRun.
/// Allocations and frees of a run are stream-ordered (cuMemAllocAsync /
/// cuMemFreeAsync from the device's pool, which keeps freed memory), so a
/// run allocates no memory from the driver once the pool is warm. With
/// `noHostSync` (the function never reads device memory on the host: the
/// module info's "host_sync" is false) the waits the lowering emits after
/// allocations are skipped: everything of the run is in order on one
/// stream, and nothing is synchronized until the run ends.
void cudaBeginRun(void *stream, bool noHostSync = false);
std::vector<void *> cudaEndRun();

/// CUDA graphs of whole runs (qcrt_run_options.graph). cudaBeginCapture
/// starts capturing `stream` (not the legacy default stream) for a run
/// begun with cudaBeginRun(stream, true); cudaEndCapture ends it and
/// returns the instantiated graph (null on error or when `discard`).
bool cudaBeginCapture(void *stream);
void *cudaEndCapture(void *stream, bool discard);
bool cudaGraphLaunch(void *graphExec, void *stream);
void cudaGraphRelease(void *graphExec);
/// A non-blocking stream of the runtime's own (graphs cannot capture the
/// legacy default stream); null with the sticky error set on failure.
void *cudaCreateStream();
void cudaDestroyStream(void *stream);
/// Stream-ordered free on `stream` (the run's temporaries inside a capture).
void cudaFreeAsync(void *pointer, void *stream);
/// Whether this process has a CUDA context yet (device work was enqueued).
bool cudaStarted();
/// Makes later work on `waiter` wait for the work enqueued so far on
/// `signaler` (an event recorded and waited on; nothing blocks the host).
/// Null stands for the legacy default stream.
bool cudaStreamOrder(void *signaler, void *waiter);

} // namespace qcrt

#endif // QC_LIB_RUNTIME_INTERNAL_H
