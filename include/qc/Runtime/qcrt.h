/*===- qcrt.h - The quant runtime C API --------------------------*- C -*-===*\
|*                                                                            *|
|* Part of the quant project.                                                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * qcrt loads a module written by `quant-compile` (prefix.so + prefix.qcw,
 * see docs/module-format.md), validates it, copies its weights into the
 * module's globals and runs its functions generically through the packed
 * `qc_entry_<name>` entry points. It also hosts the calibration observers
 * (`qcrt_observe`) the calibration variant of a program calls, and small
 * .npy helpers used by `quant-run`.
 *
 * Plain C API, no MLIR/LLVM dependency. Every function that can fail returns
 * a qcrt_status; the message of the last failure on the calling thread is
 * qcrt_last_error(). Nothing aborts the process on bad input.
 */

#ifndef QC_RUNTIME_QCRT_H
#define QC_RUNTIME_QCRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define QCRT_API __attribute__((visibility("default")))
#else
#define QCRT_API
#endif

/** Module format version this runtime reads (qc_module_info "version" and
 *  the .qcw header version). */
#define QCRT_MODULE_VERSION 2
/** Largest tensor rank the runtime passes across the ABI. */
#define QCRT_MAX_RANK 8
/** Largest tensor the runtime and the tools accept, in bytes (64 GiB):
 *  element count x element size, computed with overflow checks, is checked
 *  against it before anything is allocated (npy files, run inputs,
 *  quant-run --dim, static shapes in the compiler). docs/reliability.md. */
#define QCRT_MAX_TENSOR_BYTES (1ULL << 36)
/** Largest .qcw weights file quant-compile writes and qcrt loads (1 TiB). */
#define QCRT_MAX_WEIGHTS_FILE_BYTES (1ULL << 40)

typedef enum qcrt_status {
  QCRT_OK = 0,
  QCRT_ERR_IO = 1,          /* missing/unreadable/unwritable file */
  QCRT_ERR_FORMAT = 2,      /* bad magic, corrupt or truncated file */
  QCRT_ERR_VERSION = 3,     /* format version this runtime does not read */
  QCRT_ERR_TARGET = 4,      /* module compiled for a target not supported */
  QCRT_ERR_INVALID_ARG = 5, /* wrong count/rank/shape/dtype, null pointer */
  QCRT_ERR_NOT_FOUND = 6,   /* unknown function name */
  QCRT_ERR_UNSUPPORTED = 7, /* feature not implemented (e.g. device) */
  QCRT_ERR_RUNTIME = 8      /* failure while running (e.g. calibration) */
} qcrt_status;

typedef enum qcrt_dtype {
  QCRT_DTYPE_INVALID = 0,
  QCRT_F32 = 1,
  QCRT_F64 = 2,
  QCRT_F16 = 3,  /* IEEE half, raw 16-bit storage */
  QCRT_BF16 = 4, /* bfloat16, raw 16-bit storage */
  QCRT_I8 = 5,
  QCRT_I16 = 6,
  QCRT_I32 = 7,
  QCRT_I64 = 8,
  QCRT_U8 = 9,
  QCRT_BOOL = 10 /* i1, one byte per element */
} qcrt_dtype;

/** Where a tensor's data lives. Only QCRT_DEVICE_HOST is implemented; the
 *  CUDA runtime adds device buffers later without changing this struct. */
typedef enum qcrt_device {
  QCRT_DEVICE_HOST = 0,
  QCRT_DEVICE_CUDA = 1
} qcrt_device;

/** A dense, C-order (row-major) tensor. `owner` is non-null when the runtime
 *  allocated the data (outputs, npy reads): release with qcrt_tensor_free.
 *  Tensors the caller builds keep owner = NULL. */
typedef struct qcrt_tensor {
  qcrt_dtype dtype;
  int32_t rank;
  int64_t shape[QCRT_MAX_RANK];
  void *data;
  qcrt_device device;
  void *owner;
} qcrt_tensor;

/** Per-call options for qcrt_module_run_ex; zero-initialize, then set
 *  struct_size = sizeof(qcrt_run_options). */
typedef struct qcrt_run_options {
  uint32_t struct_size;
  qcrt_device device; /* where inputs/outputs live */
  void *stream;       /* caller-provided CUstream; NULL = default */
  /* 1: run as a CUDA graph (device tensors, GPU modules, functions whose
   * module info says "host_sync": false). The first run of a function on a
   * given set of input buffers and shapes runs normally and captures a graph;
   * later runs on the same buffers and shapes replay it (the caller updates
   * the inputs' contents in place between runs). Replayed outputs are device
   * tensors owned by the module (owner = NULL): valid until the next run of
   * the same graph or the module's unload. $QCRT_GRAPHS=0 turns graphs off.
   * Read only when struct_size covers it. */
  int32_t graph;
  /* 1 (with graph = 1): a replay returns once it is enqueued, without
   * waiting for it. Its outputs are then valid for work that runs after it
   * in stream order: later runs and qcrt_tensor_copy_async with no stream
   * of their own (the legacy default stream is ordered after the replay),
   * or a synchronizing call (qcrt_tensor_copy, qcrt_synchronize), which
   * also reports a failure of the replay. Runs that capture (the first on a
   * set of buffers) still complete before returning. Lets a decode loop
   * enqueue step after step with no host round trip between them. With a
   * stream of the caller's (`stream` set) the replay is only ordered on that
   * stream: the caller orders or synchronizes it with other work
   * (qcrt_tensor_copy_async and qcrt_synchronize use the default stream).
   * Read only when struct_size covers it. */
  int32_t async_replay;
} qcrt_run_options;

typedef struct qcrt_module qcrt_module;

/* ---- errors and dtypes ------------------------------------------------ */

/** Message of the last failed call on this thread ("" if none). */
QCRT_API const char *qcrt_last_error(void);
QCRT_API const char *qcrt_status_name(qcrt_status status);
/** Removes the temporary files the runtime is writing at this moment
 *  (qcrt_npy_write, qcrt_stats_write). Async-signal-safe: for the SIGINT/
 *  SIGTERM handlers of tools, so no partial file is left behind. */
QCRT_API void qcrt_remove_temporaries(void);
/** "f32", "f16", "i8", ...; "invalid" for unknown values. */
QCRT_API const char *qcrt_dtype_name(qcrt_dtype dtype);
/** Inverse of qcrt_dtype_name; QCRT_DTYPE_INVALID if unknown. */
QCRT_API qcrt_dtype qcrt_dtype_from_name(const char *name);
/** Bytes per element; 0 for QCRT_DTYPE_INVALID. */
QCRT_API size_t qcrt_dtype_size(qcrt_dtype dtype);
/** Product of the shape (1 for rank 0); -1 when a dimension is negative,
 *  the rank is out of range or the product overflows int64. */
QCRT_API int64_t qcrt_tensor_numel(const qcrt_tensor *tensor);
/** The tensor's data size in bytes, with overflow checks: QCRT_OK, or
 *  QCRT_ERR_INVALID_ARG (message in qcrt_last_error) for an invalid dtype
 *  or rank, a negative dimension, or a size above QCRT_MAX_TENSOR_BYTES. */
QCRT_API qcrt_status qcrt_tensor_bytes(const qcrt_tensor *tensor,
                                       uint64_t *bytes);
/** Frees runtime-allocated data (owner) and clears the tensor; no-op for
 *  caller-owned tensors and NULL. */
QCRT_API void qcrt_tensor_free(qcrt_tensor *tensor);

/* ---- modules ---------------------------------------------------------- */

/** Loads `prefix`.so and `prefix`.qcw: checks the module's format, version
 *  and target, the weights file's magic, version, target, table and sizes,
 *  then copies every weight into its global. */
QCRT_API qcrt_status qcrt_module_load(const char *prefix, qcrt_module **module);

/** Options of qcrt_module_load_ex; zero-initialize, then set
 *  struct_size = sizeof(qcrt_load_options). */
typedef struct qcrt_load_options {
  uint32_t struct_size;
  /* Non-zero: do not verify the per-section checksums of the weights file
   * (trusted deployments that need the load time). The module identity,
   * sizes and layout are always checked. The environment variable
   * QCRT_VERIFY_WEIGHTS=0 has the same effect for every load. */
  int32_t skip_weight_checksums;
} qcrt_load_options;

/** qcrt_module_load with options (NULL = defaults: checksums verified). */
QCRT_API qcrt_status qcrt_module_load_ex(const char *prefix,
                                         const qcrt_load_options *options,
                                         qcrt_module **module);
/** The module identity (16 hex digits; docs/module-format.md "Integrity"):
 *  a hash of the compiled code and the weights layout and checksums, in
 *  both the module info and the .qcw header. */
QCRT_API const char *qcrt_module_identity(const qcrt_module *module);
/** Releases the module (outputs already returned stay valid). */
QCRT_API void qcrt_module_unload(qcrt_module *module);

/** The module's qc_module_info() JSON string. */
QCRT_API const char *qcrt_module_info_json(const qcrt_module *module);
QCRT_API const char *qcrt_module_target(const qcrt_module *module);
QCRT_API int32_t qcrt_module_function_count(const qcrt_module *module);
/** Name of function `index` (NULL if out of range). */
QCRT_API const char *qcrt_module_function_name(const qcrt_module *module,
                                               int32_t index);
/** Number of inputs and outputs of `function`. */
QCRT_API qcrt_status qcrt_module_function_arity(const qcrt_module *module,
                                                const char *function,
                                                int32_t *n_inputs,
                                                int32_t *n_outputs);
/** Declared dtype/rank/shape of input (is_output = 0) or output `index`;
 *  dynamic dimensions are -1, data is NULL. */
QCRT_API qcrt_status qcrt_module_signature(const qcrt_module *module,
                                           const char *function,
                                           int32_t is_output, int32_t index,
                                           qcrt_tensor *desc);

/** Runs `function` on host tensors. Inputs are validated against the
 *  signature (count, dtype, rank, static dimensions). `outputs` (n_outputs
 *  entries) are filled with runtime-allocated tensors: release each with
 *  qcrt_tensor_free. On failure no output is left allocated. */
QCRT_API qcrt_status qcrt_module_run(qcrt_module *module, const char *function,
                                     const qcrt_tensor *inputs,
                                     int32_t n_inputs, qcrt_tensor *outputs,
                                     int32_t n_outputs);
/** qcrt_module_run with options (device, stream). Non-host devices return
 *  QCRT_ERR_UNSUPPORTED for now. */
QCRT_API qcrt_status qcrt_module_run_ex(qcrt_module *module,
                                        const char *function,
                                        const qcrt_tensor *inputs,
                                        int32_t n_inputs, qcrt_tensor *outputs,
                                        int32_t n_outputs,
                                        const qcrt_run_options *options);

/* ---- calibration ------------------------------------------------------ */

/* ---- parallel loops (called by compiled host code) --------------------- */

/** Body of a parallel loop: handles the iterations [begin, end). */
typedef void (*qcrt_parallel_body)(void *ctx, int64_t begin, int64_t end);

/** Runs `body` over [begin, end) on the runtime's thread pool and returns
 *  when all of it is done. The range (n = end - begin) is cut into
 *  C = min(n, 4 * qcrt_num_threads()) contiguous chunks, chunk i =
 *  [begin + n*i/C, begin + n*(i+1)/C): fixed by n and the thread count.
 *  The calling thread and the workers claim chunks until none is left, so
 *  a descheduled worker does not hold the others up; which thread runs a
 *  chunk is not fixed, but each chunk runs exactly once. Nested calls, and
 *  calls while another thread is inside one, run the whole range on the
 *  calling thread. Called by modules lowered with
 *  `qc-lower-to-host{parallel=true}` for the matmul kernels, whose
 *  iterations (column panels) are independent: their results do not
 *  depend on the thread count. */
QCRT_API void qcrt_parallel_for(qcrt_parallel_body body, void *ctx,
                                int64_t begin, int64_t end);
/** Threads qcrt_parallel_for uses: $QCRT_NUM_THREADS if set (>= 1), else
 *  std::thread::hardware_concurrency(). Fixed at the first call. */
QCRT_API int32_t qcrt_num_threads(void);

/** Called by compiled calibration programs (the lowering of qc.observe).
 *  Folds `rows` x `cols` contiguous float32 values into the statistics of
 *  `layer`: per-channel absmax, the per-channel `percentile` of |x| when
 *  0 < percentile <= 100 (exact, numpy "linear" interpolation), and
 *  X^T X in float64 when hessian != 0. Errors (channel count changing
 *  between calls, ...) are sticky and reported by qcrt_stats_write. */
QCRT_API void qcrt_observe(const char *layer, const float *data, int64_t rows,
                           int64_t cols, int32_t hessian, double percentile);
/** Writes the statistics gathered so far (docs/formats.md, qc-stats v1) to
 *  `path` and, if any layer has a hessian, `path`.hessian.bin. */
QCRT_API qcrt_status qcrt_stats_write(const char *path);
/** Forgets all statistics and any sticky calibration error. */
QCRT_API void qcrt_stats_reset(void);
/** Number of layers observed so far. */
QCRT_API int32_t qcrt_stats_layer_count(void);

/* ---- .npy files ------------------------------------------------------- */

/** Reads a C-order .npy (v1/v2/v3; f32 f64 f16 i8 i16 i32 i64 u8 bool). */
QCRT_API qcrt_status qcrt_npy_read(const char *path, qcrt_tensor *tensor);
/** Writes `tensor` as a v1 .npy, atomically (temp file + rename). */
QCRT_API qcrt_status qcrt_npy_write(const char *path,
                                    const qcrt_tensor *tensor);

/* ---- GPU modules (docs/gpu-module.md) -------------------------------- */
/*
 * Modules compiled with --target sm_80/sm_90 run through the same calls:
 * qcrt_module_load opens the CUDA device ($QCRT_CUDA_DEVICE, default 0),
 * refuses a device of another compute capability, loads the device code
 * and uploads the weights once. qcrt_module_run copies host inputs to the
 * device and the outputs back. qcrt_module_run_ex with
 * options.device = QCRT_DEVICE_CUDA takes device tensors (data = a CUdeviceptr)
 * and returns device tensors (release with qcrt_tensor_free); options.stream
 * (a CUstream, NULL = the default stream) carries all of the run's work, and
 * the call returns when it is done. Every CUDA error is returned as a status
 * with its message.
 */

/** Copies a host tensor into a new device tensor (device = CUDA, owner set:
 *  release with qcrt_tensor_free). */
QCRT_API qcrt_status qcrt_tensor_to_device(const qcrt_tensor *src,
                                           qcrt_tensor *dst);
/** Copies a device tensor into a new host tensor. */
QCRT_API qcrt_status qcrt_tensor_to_host(const qcrt_tensor *src,
                                         qcrt_tensor *dst);
/** Copies `src` into the existing tensor `dst` (same dtype and shape; host
 *  or CUDA on either side; complete on return): the way to update a device
 *  input in place between graph replays. */
QCRT_API qcrt_status qcrt_tensor_copy(const qcrt_tensor *src, qcrt_tensor *dst);
/** Enqueues a copy of the CUDA tensor `src` into the CUDA tensor `dst`
 *  (same dtype and shape) on the legacy default stream and returns without
 *  waiting: in order with asynchronous replays (qcrt_run_options.
 *  async_replay) and other work of the default stream. Host tensors are
 *  refused (QCRT_ERR_INVALID_ARG). */
QCRT_API qcrt_status qcrt_tensor_copy_async(const qcrt_tensor *src,
                                            qcrt_tensor *dst);
/** Waits for all work the runtime enqueued on the device (asynchronous
 *  replays and copies) and reports the first failure among it. */
QCRT_API qcrt_status qcrt_synchronize(void);
/** Graph statistics of a loaded module: graphs captured, runs replayed from
 *  a graph, and captures that failed (the function then runs without one). */
QCRT_API void qcrt_module_graph_stats(const qcrt_module *module,
                                      int64_t *captured, int64_t *replayed,
                                      int64_t *failed);
/** 1 when this runtime was built with the CUDA backend, else 0 (whether a
 *  device is present is only known when a GPU module loads). */
QCRT_API int32_t qcrt_cuda_available(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QC_RUNTIME_QCRT_H */
