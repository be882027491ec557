// Every malformed policy is one error at file:line:col of the policy.
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-syntax.yaml 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-syntax.json 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-key.yaml 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-weight.yaml 2>&1 | FileCheck %s --check-prefix=WEIGHT
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-version.yaml 2>&1 | FileCheck %s --check-prefix=VERSION
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-format.yaml 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-by-batch.yaml 2>&1 | FileCheck %s --check-prefix=BYBATCH
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-regex.yaml 2>&1 | FileCheck %s --check-prefix=REGEX
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-both.yaml 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-alpha.yaml 2>&1 | FileCheck %s --check-prefix=ALPHA
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-minimum.yaml 2>&1 | FileCheck %s --check-prefix=MINIMUM
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-minimum-symmetric.yaml 2>&1 | FileCheck %s --check-prefix=MINSYM
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/bad-groupsize.yaml 2>&1 | FileCheck %s --check-prefix=GS
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/does-not-exist.yaml 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not quant-opt %s --qc-apply-policy 2>&1 | FileCheck %s --check-prefix=NOPOLICY
// RUN: not quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/group3.yaml 2>&1 | FileCheck %s --check-prefix=FIT
// RUN: quant-opt %s --qc-apply-policy=policy=%S/Inputs/policy/basic.yaml 2>&1 >/dev/null | FileCheck %s --check-prefix=UNUSED
// RUN: not quant-opt %s --qc-apply-policy="policy=%S/Inputs/policy/basic.yaml strict=true" 2>&1 >/dev/null | FileCheck %s --check-prefix=STRICT

// SYNTAX: bad-syntax.yaml:5:25: error: invalid policy: syntax error: Unexpected token
// SYNTAX-NOT: error
// JSON: bad-syntax.json:1:91: error: invalid policy: syntax error:
// KEY: bad-key.yaml:6:5: error: invalid policy: unknown key 'colour' in rule 1 (expected one of: match, regex, scheme, by_batch)
// WEIGHT: bad-weight.yaml:3:19: error: invalid policy: unknown weight 'i3' (expected i4, i8, f16 or f8e4m3)
// VERSION: bad-version.yaml:2:10: error: invalid policy: unknown version (expected 'version: 1')
// FORMAT: bad-format.yaml:1:1: error: invalid policy: unknown format (expected 'format: qc-policy')
// BYBATCH: bad-by-batch.yaml:5:40: error: invalid policy: rule 1: a by_batch scheme must be i8 symmetric per_channel weight-only
// REGEX: bad-regex.yaml:4:12: error: invalid policy: rule 1: bad regex 'blk([': brackets ([ ]) not balanced
// BOTH: bad-both.yaml:4:5: error: invalid policy: rule 1 needs exactly one of 'match' (glob) or 'regex'
// ALPHA: bad-alpha.yaml:3:11: error: invalid policy: invalid scheme: alpha (SmoothQuant) needs quantized activations
// MINIMUM: bad-minimum.yaml:3:50: error: invalid policy: unknown minimum 'bf16' (expected f16 or f32)
// MINSYM: bad-minimum-symmetric.yaml:3:11: error: invalid policy: invalid scheme: a float minimum needs an asymmetric integer weight (symmetric = false)
// GS: bad-groupsize.yaml:5:14: error: invalid policy: invalid scheme: group_size is only allowed with per_group granularity
// MISSING: error: cannot open policy file '{{.*}}does-not-exist.yaml'
// NOPOLICY: error: qc-apply-policy needs policy=<file>
// FIT: error: layer 'blk0.attn.q': the scheme of rule 1 ({{.*}}group3.yaml:4:5) does not fit its 2x4 weight: group_size 3 does not divide K = 4
// UNUSED: basic.yaml:16:5: warning: rule 5 matched no layer
// STRICT: basic.yaml:16:5: error: invalid policy: rule 5 ('{{.*}}') matches no layer of the model (layers look like: blk0.attn.q)
func.func @model(%x: tensor<?x4xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %0 = qc.linear %x, %w {layer = "blk0.attn.q"} : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return
}
