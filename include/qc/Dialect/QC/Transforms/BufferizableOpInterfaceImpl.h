//===- BufferizableOpInterfaceImpl.h - qc bufferization models --*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#ifndef QC_DIALECT_QC_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define QC_DIALECT_QC_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;

namespace qc {
/// Attaches the BufferizableOpInterface external models of the qc ops that
/// bufferize directly (qc.cache_write: in place into its cache buffer).
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace qc
} // namespace mlir

#endif // QC_DIALECT_QC_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
