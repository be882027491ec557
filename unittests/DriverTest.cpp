//===- DriverTest.cpp - The compile library called directly ---------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc::compile (qc/Driver/Driver.h) without the quant-compile executable: a
// small model to a module, a failing compile's result and diagnostic,
// repeated compiles and command-line parses in one process (a fresh context
// per compile, the options reset before each parse). The C ABI
// (libQuantDriver.so) is tested from Python: test/Python/driver.py; it
// cannot be loaded here, beside a second copy of the options.
//
//===----------------------------------------------------------------------===//

#include "qc/Driver/Driver.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "gtest/gtest.h"

#include <fstream>
#include <string>
#include <vector>

namespace {

/// A fresh directory with lin.mlir: one qc.linear on a constant weight
/// large enough for the weights file.
class DriverTest : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> path;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("qc-driver", path));
    dir = path.str().str();
    input = dir + "/lin.mlir";
    std::ofstream(input)
        << "func.func @f(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {\n"
           "  %w = arith.constant dense<0.25> : tensor<32x64xf32>\n"
           "  %y = qc.linear %x, %w {layer = \"l\"} : (tensor<?x64xf32>, "
           "tensor<32x64xf32>) -> tensor<?x32xf32>\n"
           "  return %y : tensor<?x32xf32>\n"
           "}\n";
    callbacks.diagnostic = [this](const qc::Diagnostic &d) {
      diagnostics.push_back(d);
    };
    callbacks.stage = [this](const qc::StageEvent &e) { stages.push_back(e); };
    callbacks.output = [this](llvm::StringRef text) { output += text.str(); };
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  bool exists(const std::string &path) { return llvm::sys::fs::exists(path); }

  std::string dir, input, output;
  std::vector<qc::Diagnostic> diagnostics;
  std::vector<qc::StageEvent> stages;
  qc::CompileCallbacks callbacks;
};

TEST_F(DriverTest, CompilesAModuleTwice) {
  qc::CompileOptions options;
  options.input = input;
  options.output = dir + "/a";
  options.policy = dir + "/policy.yaml";
  std::ofstream(options.policy)
      << "format: qc-policy\nversion: 1\nrules:\n  - match: \"l\"\n"
         "    scheme: {weight: i8, granularity: per_channel}\n";
  options.removeOutputsOnSignal = false;
  ASSERT_TRUE(qc::compile(options, callbacks))
      << (diagnostics.empty() ? "" : diagnostics[0].text);
  EXPECT_TRUE(diagnostics.empty());
  for (const char *ext : {".so", ".h", ".qcw"})
    EXPECT_TRUE(exists(dir + "/a" + ext)) << ext;
  // Begin and end of each of the four stages, in order.
  ASSERT_EQ(stages.size(), 8u);
  for (size_t i = 0; i < stages.size(); ++i) {
    EXPECT_EQ(stages[i].end, i % 2 == 1);
    EXPECT_EQ(stages[i].stage, stages[i - i % 2].stage);
  }
  EXPECT_EQ(qc::stageEventJson(stages[0]),
            "{\"event\":\"stage\",\"stage\":\"quantize (policy, "
            "quantize/pack weights, select kernels)\",\"state\":\"begin\"}");

  // The same process, a fresh context: the second compile is independent.
  stages.clear();
  options.output = dir + "/b";
  options.emit = qc::EmitKind::Mlir;
  ASSERT_TRUE(qc::compile(options, callbacks));
  EXPECT_TRUE(exists(dir + "/b"));
  EXPECT_EQ(stages.size(), 4u);
}

TEST_F(DriverTest, FailingCompileReportsOneError) {
  qc::CompileOptions options;
  options.input = input;
  options.output = dir + "/no/such/dir/a";
  EXPECT_FALSE(qc::compile(options, callbacks));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].severity, qc::Severity::Error);
  EXPECT_FALSE(diagnostics[0].located);
  EXPECT_EQ(diagnostics[0].text,
            "output directory '" + dir + "/no/such/dir' does not exist");

  // A located diagnostic: the parser's, with file:line:col.
  diagnostics.clear();
  std::string bad = dir + "/bad.mlir";
  std::ofstream(bad) << "func.func @f( {\n";
  options.input = bad;
  options.output = dir + "/a";
  EXPECT_FALSE(qc::compile(options, callbacks));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_TRUE(diagnostics[0].located);
  EXPECT_EQ(diagnostics[0].text.rfind(bad + ":1:14: error: ", 0), 0u)
      << diagnostics[0].text;
  EXPECT_FALSE(exists(dir + "/a.so"));

  // The library's own checks of options the command line always sets.
  diagnostics.clear();
  EXPECT_FALSE(qc::compile(qc::CompileOptions(), callbacks));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].text, "no input file");
  diagnostics.clear();
  options.output.clear();
  EXPECT_FALSE(qc::compile(options, callbacks));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].text, "no output (-o)");
}

TEST_F(DriverTest, CommandLinesParsedRepeatedly) {
  std::string out = dir + "/c";
  std::vector<const char *> first = {
      "quant-compile", input.c_str(), "-o",     out.c_str(), "--algorithm",
      "gptq",          "--stats",     "s.json", "--jobs",    "3"};
  qc::CommandLine command;
  ASSERT_TRUE(qc::parseCompileCommandLine(first, command, callbacks, false));
  EXPECT_EQ(command.options.algorithm, "gptq");
  EXPECT_EQ(command.options.stats, "s.json");
  EXPECT_EQ(command.options.jobs, 3u);
  // A second parse starts from the defaults, not from the first's values.
  std::vector<const char *> second = {"quant-compile", input.c_str(), "-o",
                                      out.c_str()};
  ASSERT_TRUE(qc::parseCompileCommandLine(second, command, callbacks, false));
  EXPECT_EQ(command.options.algorithm, "rtn");
  EXPECT_EQ(command.options.stats, "");
  EXPECT_EQ(command.options.jobs, 0u);
  EXPECT_TRUE(qc::run(command, callbacks));
  EXPECT_TRUE(exists(out + ".so"));

  // In process, flags that would exit the process are errors.
  std::vector<const char *> help = {"quant-compile", "--help"};
  EXPECT_FALSE(qc::runCompileCommandLine(help, callbacks));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].text,
            "'--help' is only available from the quant-compile executable");
}

} // namespace
