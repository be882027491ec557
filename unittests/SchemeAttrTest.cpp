//===- SchemeAttrTest.cpp - Tests of the qc attribute helpers ---*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/IR/QC.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::qc;

namespace {
class SchemeAttrTest : public ::testing::Test {
protected:
  SchemeAttrTest() { ctx.loadDialect<QCDialect>(); }

  SchemeAttr parse(StringRef text) {
    return llvm::dyn_cast_or_null<SchemeAttr>(parseAttribute(text, &ctx));
  }

  MLIRContext ctx;
};
} // namespace

TEST_F(SchemeAttrTest, DefaultsArePerChannelSymmetricWeightOnly) {
  SchemeAttr s = parse("#qc.scheme<weight = i8>");
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getGranularity(), Granularity::PerChannel);
  EXPECT_TRUE(s.getSymmetric());
  EXPECT_EQ(s.getAct(), ActMode::None);
  EXPECT_FALSE(s.quantizesActivations());
  EXPECT_EQ(s.getWeightBits(), 8u);
  EXPECT_EQ(s.getNumGroups(4096), 1);
}

TEST_F(SchemeAttrTest, GroupCountAndShapeCheck) {
  SchemeAttr s = parse(
      "#qc.scheme<weight = i4, granularity = per_group, group_size = 128>");
  ASSERT_TRUE(s);
  EXPECT_EQ(s.getWeightBits(), 4u);
  EXPECT_EQ(s.getNumGroups(11008), 86);
  std::string reason;
  EXPECT_TRUE(succeeded(s.checkShape(4096, 11008, reason)));
  EXPECT_TRUE(failed(s.checkShape(4096, 4000, reason)));
  EXPECT_NE(reason.find("does not divide K = 4000"), std::string::npos);
}

TEST_F(SchemeAttrTest, RoundTripsThroughText) {
  const char *text = "#qc.scheme<weight = i8, granularity = per_channel, "
                     "act = dynamic_per_token, alpha = 5.000000e-01 : f32>";
  SchemeAttr s = parse(text);
  ASSERT_TRUE(s);
  std::string printed;
  llvm::raw_string_ostream os(printed);
  Attribute(s).print(os);
  EXPECT_EQ(parse(printed), s);
  EXPECT_TRUE(s.quantizesActivations());
}

TEST_F(SchemeAttrTest, RejectsW4A8) {
  // A4/W4 with INT8 activations is not a scheme any kernel implements.
  ctx.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler silence(&ctx, [](Diagnostic &) { return success(); });
  EXPECT_FALSE(parse("#qc.scheme<weight = i4, act = dynamic_per_token>"));
}
