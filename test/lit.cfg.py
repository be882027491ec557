# -*- Python -*-
# lit configuration for the quant regression tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QUANT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".py"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.quant_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%quant_src_root", config.quant_src_root))
config.substitutions.append(("%quant_obj_root", config.quant_obj_root))
config.substitutions.append(("%python", config.python_executable))

# Captured names must be re-captured in every CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.quant_tools_dir, append_path=True)
llvm_config.with_environment(
    "PYTHONPATH", os.path.join(config.quant_src_root, "python"), append_path=True
)

tools = [
    ToolSubst("quant-opt", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, [config.quant_tools_dir, config.llvm_tools_dir])

if config.ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))

# Module emission and the runtime (test/Integration).
llvm_config.add_tool_substitutions(
    [ToolSubst("quant-compile", unresolved="fatal"),
     ToolSubst("quant-run", unresolved="fatal")],
    [config.quant_tools_dir],
)
config.substitutions.append(("%qc_include", os.path.join(config.quant_src_root, "include")))
config.substitutions.append(("%qc_libdir", os.path.join(config.quant_obj_root, "lib")))
config.substitutions.append(
    ("%qctest", (config.python_executable or "python3") + " "
     + os.path.join(config.quant_src_root, "test", "Integration", "Inputs", "qctest.py")))
# Tests of qc ops through quant-compile need the host lowering pipeline.
if os.path.exists(os.path.join(config.quant_src_root, "lib", "Pipelines", "HostPipeline.cpp")):
    config.available_features.add("host-pipeline")
