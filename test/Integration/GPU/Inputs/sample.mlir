// Row sampling over the vocabularies of Llama-2 (f32), Llama-3 (f32),
// SmolLM2 (f16) and a tiny V (sample-ptxas.test).
func.func @draw(%a: tensor<?x32000xf32>, %b: tensor<?x128256xf32>, %c: tensor<?x49152xf16>, %e: tensor<?x64xf32>,
                %t: tensor<f32>, %k: tensor<i64>, %s: tensor<i64>, %p: tensor<?xi64>)
    -> (tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>) {
  %0 = qc.sample %a, %t, %k, %s, %p : tensor<?x32000xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  %1 = qc.sample %b, %t, %k, %s, %p : tensor<?x128256xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  %2 = qc.sample %c, %t, %k, %s, %p : tensor<?x49152xf16>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  %3 = qc.sample %e, %t, %k, %s, %p : tensor<?x64xf32>, tensor<f32>, tensor<i64>, tensor<i64>, tensor<?xi64> -> tensor<?x1xi64>
  return %0, %1, %2, %3 : tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>, tensor<?x1xi64>
}
