/*===- CDriver.h - C ABI of the quant compile library ------------*- C -*-===*\
|*                                                                            *|
|* Part of the quant project.                                                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * quant-compile in process (libQuantDriver.so; docs/driver.md): the Python
 * package calls it through ctypes. A compile is a quant-compile command line
 * (the same flags, parsed by the same code); what the executable would print
 * comes back through one callback instead.
 */

#ifndef QC_DRIVER_CDRIVER_H
#define QC_DRIVER_CDRIVER_H

#ifdef __cplusplus
extern "C" {
#endif

/** What a callback receives. */
enum qc_driver_event {
  /** A stage event: one JSON object (the --progress=json schema:
   *  {"event": "stage", "stage", "state": "begin"|"end", "seconds"}). */
  QC_DRIVER_PROGRESS = 0,
  /** An error diagnostic: complete text ("file:line:col: error: ...", the
   *  source line, notes) or, for errors without a location, the bare
   *  message. */
  QC_DRIVER_ERROR = 1,
  /** A warning, note or remark (same form as QC_DRIVER_ERROR). */
  QC_DRIVER_WARNING = 2,
  /** Text written to the output "-" (-o -, --check-policy -o -,
   *  --list-targets, --list-kernels). */
  QC_DRIVER_OUTPUT = 3,
  /** The per-layer report table (what quant-compile -v prints). */
  QC_DRIVER_LAYER_TABLE = 4,
};

/** Receives each event; `text` is NUL-terminated and valid only during the
 *  call. */
typedef void (*qc_driver_callback)(int event, const char *text, void *user);

/** Runs quant-compile with `argv[0..argc)` (argv[0]: the program name):
 *  returns 0 on success, 1 after reporting the errors as QC_DRIVER_ERROR
 *  events. Never exits the process: --help and --version are errors. Calls
 *  are serialized (LLVM's option registry is global); each compile has its
 *  own MLIR context. */
int qc_driver_compile(int argc, const char *const *argv,
                      qc_driver_callback callback, void *user);

/** The ABI version (1). */
int qc_driver_version(void);

#ifdef __cplusplus
}
#endif

#endif /* QC_DRIVER_CDRIVER_H */
