//===- ModuleInterface.cpp - Entry points, module info and C header -------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Everything that lets the runtime (and C programs) call a compiled module
// without per-signature code: the recorded signatures, the packed
// qc_entry_<name> functions, qc_module_info and the generated header.
//
//===----------------------------------------------------------------------===//

#include "qc/Target/HostModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace mlir;

namespace {

/// The runtime's dtype name of a tensor element type, or "" if unsupported.
std::string dtypeName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF64())
    return "f64";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (auto integer = dyn_cast<IntegerType>(type)) {
    if (integer.getWidth() == 1)
      return "i1";
    if (integer.isUnsigned())
      return integer.getWidth() == 8 ? "u8" : "";
    switch (integer.getWidth()) {
    case 8:
      return "i8";
    case 16:
      return "i16";
    case 32:
      return "i32";
    case 64:
      return "i64";
    default:
      return "";
    }
  }
  return "";
}

/// The C element type of a dtype.
StringRef cType(StringRef dtype) {
  return llvm::StringSwitch<StringRef>(dtype)
      .Case("f32", "float")
      .Case("f64", "double")
      .Cases("f16", "bf16", "uint16_t")
      .Case("i8", "int8_t")
      .Cases("u8", "i1", "uint8_t")
      .Case("i16", "int16_t")
      .Case("i32", "int32_t")
      .Case("i64", "int64_t")
      .Default("void");
}

std::string descriptorName(const qc::TensorSignature &sig) {
  return "qc_memref_" + sig.dtype + "_" + std::to_string(sig.shape.size()) +
         "d";
}

std::string shapeString(const qc::TensorSignature &sig) {
  std::string s = sig.dtype + "[";
  for (size_t i = 0; i < sig.shape.size(); ++i)
    s += (i ? ", " : "") +
         (sig.shape[i] < 0 ? std::string("?") : std::to_string(sig.shape[i]));
  return s + "]";
}

bool isCIdentifier(StringRef name) {
  if (name.empty() || llvm::isDigit(name[0]))
    return false;
  return llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

} // namespace

LogicalResult qc::collectEntryPoints(ModuleOp module,
                                     std::vector<EntryPoint> &entryPoints) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    EntryPoint ep;
    ep.name = func.getSymName().str();
    if (!isCIdentifier(ep.name))
      return func.emitError()
             << "entry point name '" << ep.name << "' is not a C identifier";
    FunctionType type = func.getFunctionType();
    for (int io = 0; io < 2; ++io) {
      ArrayRef<Type> types = io ? type.getResults() : type.getInputs();
      for (auto [i, t] : llvm::enumerate(types)) {
        auto tensor = dyn_cast<RankedTensorType>(t);
        std::string dtype = tensor ? dtypeName(tensor.getElementType()) : "";
        if (!tensor || dtype.empty() || tensor.getEncoding())
          return func.emitError()
                 << "entry point '" << ep.name << "' "
                 << (io ? "result" : "argument") << " " << i << " has type "
                 << t
                 << "; module entry points take and return ranked tensors "
                    "of f32, f64, f16, bf16, i1, i8, u8, i16, i32 or i64";
        if (tensor.getRank() > 8)
          return func.emitError()
                 << "entry point '" << ep.name << "': rank " << tensor.getRank()
                 << " exceeds the runtime's maximum 8";
        TensorSignature sig;
        sig.dtype = dtype;
        for (int64_t d : tensor.getShape())
          sig.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
        (io ? ep.outputs : ep.inputs).push_back(std::move(sig));
      }
    }
    entryPoints.push_back(std::move(ep));
  }
  if (entryPoints.empty())
    return module.emitError("module has no public function with a body to "
                            "export");
  return success();
}

void qc::requestCInterfaces(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      func->setAttr("llvm.emit_c_interface",
                    UnitAttr::get(module.getContext()));
}

LogicalResult qc::takeWeights(ModuleOp module,
                              std::vector<WeightEntry> &weights) {
  auto records = module->getAttrOfType<ArrayAttr>("qc.weights");
  if (!records)
    return success();
  for (Attribute record : records) {
    auto dict = dyn_cast<DictionaryAttr>(record);
    auto symbol = dict ? dict.getAs<StringAttr>("symbol") : nullptr;
    auto bytes = dict ? dict.getAs<IntegerAttr>("bytes") : nullptr;
    if (!symbol || !bytes)
      return module.emitError("malformed qc.weights entry: ") << record;
    WeightEntry w;
    w.symbol = symbol.str();
    w.bytes = bytes.getInt();
    w.value = dict.get("value");
    if (!w.value) {
      auto path = dict.getAs<StringAttr>("path");
      auto offset = dict.getAs<IntegerAttr>("offset");
      if (!path || !offset)
        return module.emitError("qc.weights entry '")
               << w.symbol << "' has neither value nor path/offset";
      w.path = path.str();
      w.offset = offset.getInt();
    }
    weights.push_back(std::move(w));
  }
  module->removeAttr("qc.weights");
  return success();
}

LogicalResult qc::takeInPlaceArgs(ModuleOp module,
                                  std::vector<EntryPoint> &entryPoints) {
  auto records = module->getAttrOfType<DictionaryAttr>("qc.inplace");
  if (!records)
    return success();
  for (NamedAttribute record : records) {
    auto dict = dyn_cast<DictionaryAttr>(record.getValue());
    auto args = dict ? dict.getAs<DenseI64ArrayAttr>("args") : nullptr;
    auto results = dict ? dict.getAs<DenseI64ArrayAttr>("results") : nullptr;
    auto ep = llvm::find_if(entryPoints, [&](const EntryPoint &e) {
      return e.name == record.getName().getValue();
    });
    if (!args || !results || ep == entryPoints.end())
      return module.emitError("malformed qc.inplace entry: ")
             << record.getName() << " = " << record.getValue();
    for (int64_t a : args.asArrayRef()) {
      if (a < 0 || a >= static_cast<int64_t>(ep->inputs.size()))
        return module.emitError("qc.inplace entry '")
               << ep->name << "' names argument " << a << " out of range";
      ep->inplace.push_back(a);
    }
    SmallVector<int64_t> drop(results.asArrayRef());
    llvm::sort(drop, std::greater<int64_t>());
    for (int64_t r : drop) {
      if (r < 0 || r >= static_cast<int64_t>(ep->outputs.size()))
        return module.emitError("qc.inplace entry '")
               << ep->name << "' names result " << r << " out of range";
      ep->outputs.erase(ep->outputs.begin() + r);
    }
  }
  module->removeAttr("qc.inplace");
  return success();
}

std::string qc::moduleInfoJson(StringRef target, StringRef cpu,
                               ArrayRef<EntryPoint> entryPoints,
                               ArrayRef<WeightEntry> weights) {
  auto tensors = [](const std::vector<TensorSignature> &list) {
    llvm::json::Array array;
    for (const TensorSignature &sig : list) {
      llvm::json::Array shape;
      for (int64_t d : sig.shape)
        shape.push_back(d);
      array.push_back(llvm::json::Object{{"dtype", sig.dtype},
                                         {"shape", std::move(shape)}});
    }
    return array;
  };
  llvm::json::Array functions;
  for (const EntryPoint &ep : entryPoints) {
    llvm::json::Array inplace;
    for (int64_t i : ep.inplace)
      inplace.push_back(i);
    functions.push_back(llvm::json::Object{{"name", ep.name},
                                           {"entry", "qc_entry_" + ep.name},
                                           {"inputs", tensors(ep.inputs)},
                                           {"outputs", tensors(ep.outputs)},
                                           {"inplace", std::move(inplace)}});
  }
  llvm::json::Array weightList;
  for (const WeightEntry &w : weights)
    weightList.push_back(llvm::json::Object{
        {"symbol", w.symbol}, {"bytes", static_cast<int64_t>(w.bytes)}});
  llvm::json::Object info{{"format", "qc-module"},
                          {"version", kModuleFormatVersion},
                          {"target", target.str()},
                          {"cpu", cpu.str()},
                          {"functions", std::move(functions)},
                          {"weights", std::move(weightList)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(info));
  return text;
}

LogicalResult qc::buildModuleInterface(ModuleOp module,
                                       ArrayRef<EntryPoint> entryPoints,
                                       StringRef infoJson) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto voidType = LLVM::LLVMVoidType::get(ctx);

  for (const EntryPoint &ep : entryPoints) {
    std::string wrapperName = "_mlir_ciface_" + ep.name;
    auto wrapper = module.lookupSymbol<LLVM::LLVMFuncOp>(wrapperName);
    if (!wrapper)
      return module.emitError() << "lowered module has no '" << wrapperName
                                << "' (the lowering must honour "
                                   "llvm.emit_c_interface)";
    LLVM::LLVMFunctionType wrapperType = wrapper.getFunctionType();
    unsigned expected = ep.inputs.size() + (ep.outputs.empty() ? 0 : 1);
    if (wrapperType.getNumParams() != expected ||
        !isa<LLVM::LLVMVoidType>(wrapperType.getReturnType()) ||
        !llvm::all_of(wrapperType.getParams(),
                      [](Type t) { return isa<LLVM::LLVMPointerType>(t); }))
      return wrapper.emitError() << "'" << wrapperName << "' has type "
                                 << wrapperType << ", expected " << expected
                                 << " pointer parameters and no result";
    std::string entryName = "qc_entry_" + ep.name;
    if (module.lookupSymbol(entryName))
      return module.emitError()
             << "symbol '" << entryName << "' already exists";
    auto entry = LLVM::LLVMFuncOp::create(
        b, loc, entryName, LLVM::LLVMFunctionType::get(voidType, {ptrType}));
    Block *body = entry.addEntryBlock(b);
    OpBuilder fb = OpBuilder::atBlockBegin(body);
    Value args = body->getArgument(0);
    auto loadArg = [&](int64_t index) -> Value {
      Value slot = LLVM::GEPOp::create(fb, loc, ptrType, ptrType, args,
                                       ArrayRef<LLVM::GEPArg>{index});
      return LLVM::LoadOp::create(fb, loc, ptrType, slot);
    };
    SmallVector<Value> operands;
    if (!ep.outputs.empty())
      operands.push_back(loadArg(ep.inputs.size()));
    for (size_t i = 0; i < ep.inputs.size(); ++i)
      operands.push_back(loadArg(i));
    LLVM::CallOp::create(fb, loc, wrapper, operands);
    LLVM::ReturnOp::create(fb, loc, ValueRange{});
  }

  // const char *qc_module_info(void) { return "<json>"; }
  std::string text = infoJson.str();
  text.push_back('\0');
  auto arrayType =
      LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), text.size());
  if (module.lookupSymbol("qc_module_info") ||
      module.lookupSymbol("qc_module_info_json"))
    return module.emitError("symbol 'qc_module_info' already exists");
  LLVM::GlobalOp::create(b, loc, arrayType, /*isConstant=*/true,
                         LLVM::Linkage::Internal, "qc_module_info_json",
                         b.getStringAttr(text));
  auto info = LLVM::LLVMFuncOp::create(
      b, loc, "qc_module_info", LLVM::LLVMFunctionType::get(ptrType, {}));
  OpBuilder ib = OpBuilder::atBlockBegin(info.addEntryBlock(b));
  Value address =
      LLVM::AddressOfOp::create(ib, loc, ptrType, "qc_module_info_json");
  LLVM::ReturnOp::create(ib, loc, address);
  return success();
}

std::string qc::generateHeader(StringRef guard,
                               ArrayRef<EntryPoint> entryPoints,
                               ArrayRef<WeightEntry> weights) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "/* Generated by quant-compile. Do not edit.\n"
        " *\n"
        " * Calling convention (docs/module-format.md): MLIR memref\n"
        " * descriptors. Inputs are caller-owned; every result is allocated\n"
        " * by the callee with malloc: free(result.allocated) unless it is\n"
        " * 0xdeadbeef (a constant) or an input's allocated pointer. In-place\n"
        " * arguments (listed per function) are updated in the caller's\n"
        " * buffer and have no result. Weights\n"
        " * must be loaded from the .qcw file before any call (qcrt does).\n"
        " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";

  std::set<std::string> emitted;
  auto declareDescriptor = [&](const TensorSignature &sig) {
    std::string name = descriptorName(sig);
    if (!emitted.insert(name).second)
      return;
    std::string upper = StringRef(name).upper();
    size_t rank = sig.shape.size();
    StringRef elem = cType(sig.dtype);
    os << "#ifndef " << upper << "_DEFINED\n#define " << upper
       << "_DEFINED\n/* memref descriptor, " << sig.dtype << ", rank " << rank
       << " */\ntypedef struct " << name << " {\n  " << elem
       << " *allocated;\n  " << elem << " *aligned;\n  int64_t offset;\n";
    if (rank)
      os << "  int64_t sizes[" << rank << "];\n  int64_t strides[" << rank
         << "];\n";
    os << "} " << name << ";\n#endif\n\n";
  };
  for (const EntryPoint &ep : entryPoints) {
    for (const TensorSignature &sig : ep.inputs)
      declareDescriptor(sig);
    for (const TensorSignature &sig : ep.outputs)
      declareDescriptor(sig);
  }

  for (const EntryPoint &ep : entryPoints) {
    os << "/* " << ep.name << "(";
    for (size_t i = 0; i < ep.inputs.size(); ++i)
      os << (i ? ", " : "") << shapeString(ep.inputs[i]);
    os << ") -> (";
    for (size_t i = 0; i < ep.outputs.size(); ++i)
      os << (i ? ", " : "") << shapeString(ep.outputs[i]);
    os << ")   (? = dynamic) */\n";
    if (!ep.inplace.empty()) {
      os << "/* " << ep.name << " updates in place (the caller's buffer; no "
         << "result):";
      for (int64_t i : ep.inplace)
        os << " arg" << i;
      os << " */\n";
    }
    std::string results = "qc_" + ep.name + "_results";
    if (!ep.outputs.empty()) {
      os << "typedef struct " << results << " {\n";
      for (size_t i = 0; i < ep.outputs.size(); ++i)
        os << "  " << descriptorName(ep.outputs[i]) << " r" << i << ";\n";
      os << "} " << results << ";\n";
    }
    os << "void _mlir_ciface_" << ep.name << "(";
    bool first = true;
    if (!ep.outputs.empty()) {
      os << results << " *results";
      first = false;
    }
    for (size_t i = 0; i < ep.inputs.size(); ++i) {
      os << (first ? "" : ", ") << descriptorName(ep.inputs[i]) << " *arg" << i;
      first = false;
    }
    if (first)
      os << "void";
    os << ");\n/* Packed entry: args[0.." << ep.inputs.size()
       << ") point to the input descriptors";
    if (!ep.outputs.empty())
      os << ", args[" << ep.inputs.size() << "] to a " << results;
    os << ". */\nvoid qc_entry_" << ep.name << "(void **args);\n\n";
  }
  os << "/* JSON description of the module (format, version, target,\n"
        " * functions, weights). */\nconst char *qc_module_info(void);\n";
  if (!weights.empty())
    os << "\n/* Weight globals, filled from the .qcw file at load time. */\n";
  for (const WeightEntry &w : weights) {
    if (isCIdentifier(w.symbol))
      os << "extern uint8_t " << w.symbol << "[" << w.bytes << "];\n";
    else
      os << "/* weight \"" << w.symbol << "\": " << w.bytes
         << " bytes (not a C identifier) */\n";
  }
  os << "\n#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* "
     << guard << " */\n";
  return out;
}
