//===- WeightStore.h - Weight bytes kept out of memory ----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The weight store: the quantized and packed weight bytes the passes make,
// written to a scratch file and referenced from the IR as `dense_resource`
// elements backed by a read-only mapping of that file, so that a
// multi-gigabyte model's weights do not stay in memory as attributes of the
// MLIRContext (docs/formats.md, "Weight store").
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_IR_WEIGHTSTORE_H
#define QC_DIALECT_QC_IR_WEIGHTSTORE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/DenseMap.h"

#include <mutex>
#include <string>
#include <vector>

namespace mlir::qc {

/// A scratch file of weight bytes, one per MLIRContext (held by the qc
/// dialect). Each stored tensor starts at a page boundary and is mapped
/// read-only on its own; the file is unlinked as soon as it is created, so
/// nothing is left behind, whatever way the process ends.
class WeightStore {
public:
  WeightStore() = default;
  WeightStore(const WeightStore &) = delete;
  WeightStore &operator=(const WeightStore &) = delete;
  ~WeightStore();

  /// The store of `ctx` (closed until opened).
  static WeightStore &get(MLIRContext *ctx);

  /// Creates the scratch file in `directory` unless the store is open
  /// already (then the directory it was opened in is kept). On failure,
  /// `error` says why, naming the directory.
  LogicalResult open(StringRef directory, std::string &error);
  bool isOpen() const { return fd >= 0; }

  /// Appends `bytes` (the raw little-endian storage of `type`) and returns a
  /// dense_resource attribute of `type` backed by them. Bytes equal to
  /// stored ones of the same type give the same attribute (stored once).
  /// Null, with `error` set, when the file cannot be written or mapped.
  ElementsAttr store(ShapedType type, ArrayRef<char> bytes, std::string &error);

  /// Frees the file space of every stored tensor that no attribute of an
  /// op under `root` refers to any more (the codes once packed, the members'
  /// bytes once fused, row_major bytes once repacked), so that the file
  /// holds about what the .qcw will. Such a tensor must not be used again:
  /// it reads as zeros. Called by the passes that replace stored tensors,
  /// at their end; `root` must hold every user of the store (the store
  /// serves one module at a time).
  void discardUnreferenced(Operation *root);

private:
  struct Entry {
    ShapedType type;
    ElementsAttr attr;
    ArrayRef<char> data;
    uint64_t offset;
  };
  int fd = -1;
  /// The end of the file's data (the next tensor starts on the next page).
  uint64_t end = 0;
  /// Stored tensors by a hash of their bytes.
  llvm::DenseMap<uint64_t, std::vector<Entry>> byHash;
  std::mutex mutex;
};

/// Where a pass puts the weight bytes it makes: the `weight-store` and
/// `weight-store-min-bytes` options of qc-quantize-weights, qc-pack-weights
/// and qc-fuse-sibling-matmuls (docs/formats.md, "Weight store").
struct WeightSink {
  /// Null: every constant is an inline DenseElementsAttr.
  WeightStore *store = nullptr;
  /// Smaller constants stay inline even with a store.
  int64_t minBytes = 0;

  /// The sink of `op`'s context for the options `directory` (empty: none)
  /// and `minBytes`; emits the error on `op` when the store cannot be
  /// created.
  static FailureOr<WeightSink> open(Operation *op, StringRef directory,
                                    int64_t minBytes);
  /// The constant of `type` whose raw little-endian storage is `bytes`;
  /// null after an error emitted on `op`.
  ElementsAttr get(Operation *op, ShapedType type, ArrayRef<char> bytes) const;
};

/// Drops the pages that reading `attr`'s data brought into memory, when it
/// is backed by a weight store (its bytes stay in the store and are read
/// again on the next access); does nothing for any other attribute.
void releaseWeightPages(Attribute attr);

} // namespace mlir::qc

#endif // QC_DIALECT_QC_IR_WEIGHTSTORE_H
