//===- WeightStore.cpp - Weight bytes kept out of memory --------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/WeightStore.h"
#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/xxhash.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/mman.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::qc;

namespace {
/// The live mappings of every store, start -> length: releaseWeightPages
/// only ever advises on memory listed here.
struct MappedRanges {
  std::mutex mutex;
  std::map<const char *, size_t> ranges;
};
MappedRanges &mappedRanges() {
  static MappedRanges *ranges = new MappedRanges(); // outlives contexts
  return *ranges;
}

/// The mapping that holds `data`, or {nullptr, 0}.
std::pair<const char *, size_t> findMapping(const char *data) {
  MappedRanges &m = mappedRanges();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.ranges.upper_bound(data);
  if (it == m.ranges.begin())
    return {nullptr, 0};
  --it;
  if (data >= it->first + it->second)
    return {nullptr, 0};
  return *it;
}

/// The blob behind `attr` when it is a dense_resource with data.
AsmResourceBlob *blobOf(Attribute attr) {
  auto res = dyn_cast_or_null<DenseResourceElementsAttr>(attr);
  return res ? res.getRawHandle().getBlob() : nullptr;
}
} // namespace

WeightStore::~WeightStore() {
  if (fd >= 0)
    ::close(fd);
}

WeightStore &WeightStore::get(MLIRContext *ctx) {
  return ctx->getOrLoadDialect<QCDialect>()->getWeightStore();
}

LogicalResult WeightStore::open(StringRef directory, std::string &error) {
  std::lock_guard<std::mutex> lock(mutex);
  if (fd >= 0)
    return success();
  SmallString<256> model(directory.empty() ? "." : directory);
  llvm::sys::path::append(model, "qc-weight-store-%%%%%%%%.bin");
  SmallString<256> path;
  int newFd = -1;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(model, newFd, path)) {
    error = "cannot create the weight store in '" +
            (directory.empty() ? std::string(".") : directory.str()) +
            "': " + ec.message();
    return failure();
  }
  // Unlinked at once: the open descriptor keeps the data; no file remains.
  ::unlink(path.c_str());
  fd = newFd;
  end = 0;
  return success();
}

ElementsAttr WeightStore::store(ShapedType type, ArrayRef<char> bytes,
                                std::string &error) {
  std::lock_guard<std::mutex> lock(mutex);
  if (fd < 0) {
    error = "the weight store is not open";
    return {};
  }
  uint64_t hash = llvm::xxh3_64bits(ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  std::vector<Entry> &same = byHash[hash];
  for (const Entry &e : same) {
    if (e.type != type || e.data.size() != bytes.size())
      continue;
    bool equal = std::memcmp(e.data.data(), bytes.data(), bytes.size()) == 0;
    releaseWeightPages(e.attr);
    if (equal)
      return e.attr;
  }

  // Write at the next page boundary (mappings start on pages).
  uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t offset = (end + page - 1) / page * page;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(offset + done));
    if (n <= 0) {
      error = "cannot write " + std::to_string(bytes.size()) +
              " bytes to the weight store: " +
              std::string(n < 0 ? std::strerror(errno) : "no space written");
      return {};
    }
    done += static_cast<size_t>(n);
  }
  size_t length = std::max<size_t>(bytes.size(), 1);
  if (bytes.empty() && ::ftruncate(fd, static_cast<off_t>(offset + 1)) != 0) {
    error =
        std::string("cannot extend the weight store: ") + std::strerror(errno);
    return {};
  }
  void *map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd,
                     static_cast<off_t>(offset));
  if (map == MAP_FAILED) {
    error = std::string("cannot map the weight store: ") + std::strerror(errno);
    return {};
  }
  end = offset + length;
  const char *data = static_cast<const char *>(map);
  {
    MappedRanges &m = mappedRanges();
    std::lock_guard<std::mutex> rangesLock(m.mutex);
    m.ranges[data] = length;
  }
  AsmResourceBlob blob(
      ArrayRef<char>(data, bytes.size()), /*dataAlignment=*/64,
      [length](void *p, size_t, size_t) {
        {
          MappedRanges &m = mappedRanges();
          std::lock_guard<std::mutex> rangesLock(m.mutex);
          m.ranges.erase(static_cast<const char *>(p));
        }
        ::munmap(p, length);
      },
      /*dataIsMutable=*/false);
  auto attr =
      DenseResourceElementsAttr::get(type, "qc_weight_store", std::move(blob));
  same.push_back({type, attr, ArrayRef<char>(data, bytes.size()), offset});
  return attr;
}

void WeightStore::discardUnreferenced(Operation *root) {
  std::lock_guard<std::mutex> lock(mutex);
  if (fd < 0 || byHash.empty())
    return;
  llvm::DenseSet<Attribute> live;
  root->walk([&](Operation *op) {
    op->getAttrDictionary().walk(
        [&](DenseResourceElementsAttr attr) { live.insert(attr); });
  });
  for (auto &[hash, entries] : byHash) {
    llvm::erase_if(entries, [&](const Entry &e) {
      if (live.contains(e.attr))
        return false;
      releaseWeightPages(e.attr);
      // The file keeps its size; the range reads as zeros from now on.
      uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
      uint64_t length = (e.data.size() + page - 1) / page * page;
      // (A file system without hole punching keeps the bytes: no error.)
      (void)::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        static_cast<off_t>(e.offset),
                        static_cast<off_t>(length));
      return true; // never handed out again, even if not punched
    });
  }
}

FailureOr<WeightSink> WeightSink::open(Operation *op, StringRef directory,
                                       int64_t minBytes) {
  WeightSink sink;
  sink.minBytes = minBytes;
  if (directory.empty())
    return sink;
  WeightStore &store = WeightStore::get(op->getContext());
  std::string error;
  if (failed(store.open(directory, error)))
    return op->emitError() << error;
  sink.store = &store;
  return sink;
}

ElementsAttr WeightSink::get(Operation *op, ShapedType type,
                             ArrayRef<char> bytes) const {
  if (!store || static_cast<int64_t>(bytes.size()) < minBytes)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  std::string error;
  ElementsAttr attr = store->store(type, bytes, error);
  if (!attr)
    op->emitError() << error;
  return attr;
}

void mlir::qc::releaseWeightPages(Attribute attr) {
  AsmResourceBlob *blob = blobOf(attr);
  if (!blob || blob->getData().empty())
    return;
  auto [start, length] = findMapping(blob->getData().data());
  if (!start)
    return;
  // A shared read-only file mapping: the pages are dropped from this
  // process and read back from the file when touched again.
  ::madvise(const_cast<char *>(start), length, MADV_DONTNEED);
}
