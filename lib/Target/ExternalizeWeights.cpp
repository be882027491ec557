//===- ExternalizeWeights.cpp - Move large constants to the weights file --===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-externalize-weights: large constant globals (and globals tagged as
// external weights) lose their initializer and become public, mutable,
// zero-initialized globals; their bytes are recorded in the `qc.weights`
// module attribute for the .qcw writer.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QC.h"
#include "qc/Target/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

namespace qc {
#define GEN_PASS_DEF_EXTERNALIZEWEIGHTS
#include "qc/Target/Passes.h.inc"
} // namespace qc

using namespace mlir;

namespace {

/// Alignment of externalized globals: the .qcw data alignment, also good
/// for vector loads.
constexpr uint64_t kWeightAlignment = 64;

/// Byte size of an elements attribute whose data can be copied verbatim
/// (int/float elements of a whole number of bytes), or std::nullopt.
std::optional<uint64_t> rawByteSize(Attribute attr) {
  auto elements = dyn_cast_or_null<ElementsAttr>(attr);
  if (!elements)
    return std::nullopt;
  if (!isa<DenseIntOrFPElementsAttr, DenseResourceElementsAttr>(elements))
    return std::nullopt;
  Type elementType = elements.getShapedType().getElementType();
  if (!elementType.isIntOrFloat())
    return std::nullopt;
  unsigned bits = elementType.getIntOrFloatBitWidth();
  if (bits % 8 != 0)
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
  }
  return static_cast<uint64_t>(elements.getNumElements()) * (bits / 8);
}

/// Byte size of a memref.global's / llvm.mlir.global's storage type.
std::optional<uint64_t> storageBytes(Operation *op) {
  Type type;
  if (auto global = dyn_cast<memref::GlobalOp>(op)) {
    MemRefType memref = global.getType();
    if (!memref.hasStaticShape() || !memref.getElementType().isIntOrFloat())
      return std::nullopt;
    unsigned bits = memref.getElementType().getIntOrFloatBitWidth();
    if (bits % 8)
      return std::nullopt;
    return static_cast<uint64_t>(memref.getNumElements()) * (bits / 8);
  }
  auto global = cast<LLVM::GlobalOp>(op);
  type = global.getGlobalType();
  // Sizes of nested arrays of ints/floats.
  uint64_t count = 1;
  while (auto array = dyn_cast<LLVM::LLVMArrayType>(type)) {
    count *= array.getNumElements();
    type = array.getElementType();
  }
  if (!type.isIntOrFloat() || type.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  return count * (type.getIntOrFloatBitWidth() / 8);
}

class ExternalizeWeightsPass
    : public ::qc::impl::ExternalizeWeightsBase<ExternalizeWeightsPass> {
public:
  using Base::Base;

  /// Replaces each `qc.external_weight` by a read-only view of a tagged,
  /// uninitialized public memref.global (one per path/offset/type), which
  /// the walk below then records.
  void materializeExternalWeightOps(ModuleOp module) {
    SmallVector<mlir::qc::ExternalWeightOp> ops;
    module.walk([&](mlir::qc::ExternalWeightOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
    SymbolTable symbols(module);
    llvm::StringMap<memref::GlobalOp> globals;
    for (auto op : ops) {
      auto type = cast<RankedTensorType>(op.getType());
      auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
      std::string key;
      llvm::raw_string_ostream(key)
          << op.getPath() << "@" << op.getOffset() << ":" << memrefType;
      memref::GlobalOp &global = globals[key];
      if (!global) {
        global = memref::GlobalOp::create(
            top, op.getLoc(), "qc_external_weight",
            /*sym_visibility=*/StringAttr(), memrefType,
            /*initial_value=*/top.getUnitAttr(),
            /*constant=*/false, top.getI64IntegerAttr(kWeightAlignment));
        symbols.insert(global); // uniquifies the name
        global->setAttr("qc.external_path", op.getPathAttr());
        global->setAttr("qc.external_offset", op.getOffsetAttr());
      }
      OpBuilder builder(op);
      Value buffer = memref::GetGlobalOp::create(
          builder, op.getLoc(), memrefType, global.getSymName());
      Value tensor = bufferization::ToTensorOp::create(
          builder, op.getLoc(), type, buffer, /*restrict=*/true,
          /*writable=*/false);
      op.replaceAllUsesWith(tensor);
      op.erase();
    }
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    materializeExternalWeightOps(module);
    SmallVector<Attribute> records;
    if (auto existing = module->getAttrOfType<ArrayAttr>("qc.weights"))
      records.append(existing.begin(), existing.end());

    auto record = [&](StringRef symbol, uint64_t bytes,
                      ArrayRef<NamedAttribute> source) {
      SmallVector<NamedAttribute> fields = {
          b.getNamedAttr("symbol", b.getStringAttr(symbol)),
          b.getNamedAttr("bytes", b.getI64IntegerAttr(bytes))};
      fields.append(source.begin(), source.end());
      records.push_back(b.getDictionaryAttr(fields));
    };

    // Resolves and checks an external weight reference; nullopt on error.
    auto externalSource =
        [&](Operation *op,
            uint64_t bytes) -> std::optional<SmallVector<NamedAttribute>> {
      auto path = op->getAttrOfType<StringAttr>("qc.external_path");
      auto offset = op->getAttrOfType<IntegerAttr>("qc.external_offset");
      if (!path || !offset) {
        op->emitError("external weight needs a string 'qc.external_path' "
                      "and an integer 'qc.external_offset'");
        return std::nullopt;
      }
      SmallString<256> resolved(path.getValue());
      if (llvm::sys::path::is_relative(resolved) && !baseDir.empty()) {
        resolved = baseDir;
        llvm::sys::path::append(resolved, path.getValue());
      }
      uint64_t fileSize = 0;
      if (llvm::sys::fs::file_size(resolved, fileSize)) {
        op->emitError() << "cannot open external weight file '" << resolved
                        << "'";
        return std::nullopt;
      }
      int64_t at = offset.getInt();
      if (at < 0 || static_cast<uint64_t>(at) > fileSize ||
          bytes > fileSize - at) {
        op->emitError() << "external weight file '" << resolved << "' has "
                        << fileSize << " bytes; " << bytes
                        << " bytes at offset " << at << " do not fit";
        return std::nullopt;
      }
      SmallVector<NamedAttribute> fields = {
          b.getNamedAttr("path", b.getStringAttr(resolved)),
          b.getNamedAttr("offset", b.getI64IntegerAttr(at))};
      op->removeAttr("qc.external_path");
      op->removeAttr("qc.external_offset");
      return fields;
    };

    bool failed = false;
    module.walk([&](Operation *op) {
      if (!isa<memref::GlobalOp, LLVM::GlobalOp>(op))
        return;
      bool external =
          op->hasAttr("qc.external_path") || op->hasAttr("qc.external_offset");
      std::optional<uint64_t> bytes = storageBytes(op);
      if (!bytes) {
        if (external) {
          op->emitError("external weight global must have a static shape of "
                        "byte-sized int/float elements");
          failed = true;
        }
        return;
      }
      SmallVector<NamedAttribute> source;
      if (external) {
        auto fields = externalSource(op, *bytes);
        if (!fields) {
          failed = true;
          return;
        }
        source = *fields;
      }

      if (auto global = dyn_cast<memref::GlobalOp>(op)) {
        if (!external) {
          if (!global.getConstant() ||
              *bytes < static_cast<uint64_t>(thresholdBytes))
            return;
          Attribute init = global.getInitialValueAttr();
          std::optional<uint64_t> dataBytes = rawByteSize(init);
          if (!dataBytes || *dataBytes != *bytes)
            return;
          source.push_back(b.getNamedAttr("value", init));
        }
        record(global.getSymName(), *bytes, source);
        global.setInitialValueAttr(b.getUnitAttr()); // uninitialized
        global.setConstant(false);
        global.setSymVisibilityAttr(nullptr); // public
        global.setAlignmentAttr(b.getI64IntegerAttr(std::max<uint64_t>(
            global.getAlignment().value_or(0), kWeightAlignment)));
        return;
      }

      auto global = cast<LLVM::GlobalOp>(op);
      if (!external) {
        if (!global.getConstant() ||
            *bytes < static_cast<uint64_t>(thresholdBytes) ||
            !global.getInitializerRegion().empty())
          return;
        Attribute init = global.getValueOrNull();
        std::optional<uint64_t> dataBytes = rawByteSize(init);
        if (!dataBytes || *dataBytes != *bytes)
          return;
        source.push_back(b.getNamedAttr("value", init));
      }
      record(global.getSymName(), *bytes, source);
      global.setValueAttr(nullptr);
      global.setConstant(false);
      global.setLinkage(LLVM::Linkage::External);
      global.setUnnamedAddrAttr(nullptr);
      global.setVisibility_(LLVM::Visibility::Default);
      global.setAlignment(std::max<uint64_t>(global.getAlignment().value_or(0),
                                             kWeightAlignment));
      // A zero initializer keeps the definition in the .so (in .bss, no
      // file space) so the runtime can find and fill it.
      Region &region = global.getInitializerRegion();
      region.getBlocks().clear();
      Block *block = new Block();
      region.push_back(block);
      OpBuilder builder = OpBuilder::atBlockBegin(block);
      Value zero = LLVM::ZeroOp::create(builder, global.getLoc(),
                                        global.getGlobalType());
      LLVM::ReturnOp::create(builder, global.getLoc(), zero);
    });
    if (failed)
      return signalPassFailure();
    if (!records.empty())
      module->setAttr("qc.weights", b.getArrayAttr(records));
  }
};

} // namespace
