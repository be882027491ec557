//===- quant-run.cpp - Run a compiled quant module ------------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Loads prefix.so/prefix.qcw with qcrt, runs one function on .npy inputs
// (or seeded random inputs), writes the outputs as out_<i>.npy, optionally
// times repeated runs and writes calibration statistics. Every error is one
// "quant-run: error: ..." line and a non-zero exit; output files appear only
// when everything succeeded.
//
//===----------------------------------------------------------------------===//

#include "qc/Runtime/qcrt.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

const char *kUsage =
    "usage: quant-run MODULE_PREFIX [options]\n"
    "  --function NAME        function to run (default: the only/first one)\n"
    "  --input FILE.npy       one input per argument, in order (repeatable)\n"
    "  --input-set DIR        an input set DIR/in_<i>.npy (repeatable)\n"
    "  --random-inputs        seeded uniform [-1, 1) inputs\n"
    "  --seed S               random seed (default 0)\n"
    "  --dim N                value used for dynamic dimensions (default 4)\n"
    "  --output-dir DIR       write outputs as DIR/out_<i>.npy\n"
    "  --repeat R             time R runs, print median/min (ms)\n"
    "  --warmup W             untimed runs before timing (default 1)\n"
    "  --calibrate STATS      run every input set, write calibration stats\n"
    "  --list                 print the module's functions and signatures\n"
    "  --device-buffers       GPU modules: pass device tensors (inputs copied\n"
    "                         to the GPU first, outputs back after the run)\n";

[[noreturn]] void die(const std::string &message) {
  fprintf(stderr, "quant-run: error: %s\n", message.c_str());
  exit(1);
}

struct Tensors {
  std::vector<qcrt_tensor> list;
  ~Tensors() {
    for (qcrt_tensor &t : list)
      qcrt_tensor_free(&t);
  }
};

std::string sigString(const qcrt_tensor &t) {
  std::string s = std::string(qcrt_dtype_name(t.dtype)) + "[";
  for (int32_t i = 0; i < t.rank; ++i) {
    if (i)
      s += ", ";
    s += t.shape[i] < 0 ? std::string("?") : std::to_string(t.shape[i]);
  }
  return s + "]";
}

/// splitmix64: a tiny, well-defined PRNG so --seed is reproducible anywhere.
uint64_t nextRandom(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = ((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0)
    return static_cast<uint16_t>(sign); // tiny values flush to zero
  if (exp >= 31)
    return static_cast<uint16_t>(sign | 0x7c00);
  uint32_t h = sign | (exp << 10) | (mant >> 13);
  if ((mant & 0x1fff) > 0x1000 || ((mant & 0x1fff) == 0x1000 && (h & 1)))
    ++h; // round to nearest even
  return static_cast<uint16_t>(h);
}

/// Fills `t` (signature `desc`, dynamic dims = dim) with random values:
/// floats uniform in [-1, 1), integers uniform in [-8, 8), bool in {0, 1}.
void randomTensor(const qcrt_tensor &desc, int64_t dim, uint64_t &state,
                  qcrt_tensor &t) {
  t = desc;
  for (int32_t i = 0; i < t.rank; ++i)
    if (t.shape[i] < 0)
      t.shape[i] = dim;
  // Checked: --dim N must not make the byte count wrap around.
  uint64_t bytes;
  if (qcrt_tensor_bytes(&t, &bytes) != QCRT_OK)
    die("--dim " + std::to_string(dim) + ": " + qcrt_last_error());
  int64_t n = qcrt_tensor_numel(&t);
  void *data = malloc(bytes ? bytes : 1);
  if (!data)
    die("out of memory allocating " + std::to_string(bytes) +
        " bytes of random input");
  t.data = data;
  t.owner = data;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t r = nextRandom(state);
    double u = static_cast<double>(r >> 11) * 0x1.0p-53 * 2.0 - 1.0;
    int64_t k = static_cast<int64_t>(r % 16) - 8;
    switch (t.dtype) {
    case QCRT_F32:
      static_cast<float *>(data)[i] = static_cast<float>(u);
      break;
    case QCRT_F64:
      static_cast<double *>(data)[i] = u;
      break;
    case QCRT_F16:
      static_cast<uint16_t *>(data)[i] = floatToHalf(static_cast<float>(u));
      break;
    case QCRT_BF16: {
      float f = static_cast<float>(u);
      uint32_t x;
      memcpy(&x, &f, 4);
      static_cast<uint16_t *>(data)[i] = static_cast<uint16_t>(x >> 16);
      break;
    }
    case QCRT_I8:
      static_cast<int8_t *>(data)[i] = static_cast<int8_t>(k);
      break;
    case QCRT_I16:
      static_cast<int16_t *>(data)[i] = static_cast<int16_t>(k);
      break;
    case QCRT_I32:
      static_cast<int32_t *>(data)[i] = static_cast<int32_t>(k);
      break;
    case QCRT_I64:
      static_cast<int64_t *>(data)[i] = k;
      break;
    case QCRT_U8:
      static_cast<uint8_t *>(data)[i] = static_cast<uint8_t>(k + 8);
      break;
    case QCRT_BOOL:
      static_cast<uint8_t *>(data)[i] = r & 1;
      break;
    default:
      die("cannot generate random data for this dtype");
    }
  }
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t parseInt(const char *flag, const char *text) {
  char *end;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end)
    die(std::string("invalid integer for ") + flag + ": '" + text + "'");
  return v;
}

} // namespace

/// Output temporaries being written (--output-dir), removed with the
/// runtime's own on SIGINT/SIGTERM/SIGHUP/SIGXFSZ/SIGXCPU: no partial file
/// is left behind.
char *pendingOutputs[64];

void removeTemporariesAndExit(int sig) {
  for (char *p : pendingOutputs)
    if (p)
      unlink(p);
  qcrt_remove_temporaries();
  signal(sig, SIG_DFL);
  raise(sig);
}

void installSignalHandlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGXFSZ, SIGXCPU})
    signal(sig, removeTemporariesAndExit);
}

int main(int argc, char **argv) {
  installSignalHandlers();
  std::string prefix, function, outputDir, calibrate;
  std::vector<std::string> inputs, inputSets;
  bool random = false, list = false, deviceBuffers = false;
  int64_t seed = 0, dim = 4, repeat = 0, warmup = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc)
        die("missing value for " + a);
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--function") {
      function = value();
    } else if (a == "--input") {
      inputs.push_back(value());
    } else if (a == "--input-set") {
      inputSets.push_back(value());
    } else if (a == "--random-inputs") {
      random = true;
    } else if (a == "--seed") {
      seed = parseInt("--seed", value());
    } else if (a == "--dim") {
      dim = parseInt("--dim", value());
      if (dim < 0)
        die("--dim must be >= 0");
    } else if (a == "--output-dir") {
      outputDir = value();
    } else if (a == "--repeat") {
      repeat = parseInt("--repeat", value());
      if (repeat < 1)
        die("--repeat must be >= 1");
    } else if (a == "--warmup") {
      warmup = parseInt("--warmup", value());
      if (warmup < 0)
        die("--warmup must be >= 0");
    } else if (a == "--calibrate") {
      calibrate = value();
    } else if (a == "--device-buffers") {
      deviceBuffers = true;
    } else if (a == "--list") {
      list = true;
    } else if (!a.empty() && a[0] == '-') {
      die("unknown option '" + a + "' (see --help)");
    } else if (prefix.empty()) {
      prefix = a;
    } else {
      die("unexpected argument '" + a + "' (one module prefix expected)");
    }
  }
  if (prefix.empty())
    die("no module prefix given (see --help)");
  if (random && (!inputs.empty() || !inputSets.empty()))
    die("--random-inputs cannot be combined with --input/--input-set");
  if (!inputs.empty() && !inputSets.empty())
    die("--input and --input-set cannot be combined");
  if (repeat > 0 && !calibrate.empty())
    die("--repeat cannot be combined with --calibrate (the timed runs would "
        "be observed too)");
  if (!outputDir.empty() && !isDirectory(outputDir))
    die("output directory '" + outputDir + "' does not exist");

  qcrt_module *module = nullptr;
  if (qcrt_module_load(prefix.c_str(), &module) != QCRT_OK)
    die(qcrt_last_error());

  int32_t nFunctions = qcrt_module_function_count(module);
  if (list) {
    for (int32_t f = 0; f < nFunctions; ++f) {
      const char *name = qcrt_module_function_name(module, f);
      int32_t nIn, nOut;
      qcrt_module_function_arity(module, name, &nIn, &nOut);
      printf("%s(", name);
      qcrt_tensor d;
      for (int32_t i = 0; i < nIn; ++i) {
        qcrt_module_signature(module, name, 0, i, &d);
        printf("%s%s", i ? ", " : "", sigString(d).c_str());
      }
      printf(") -> (");
      for (int32_t i = 0; i < nOut; ++i) {
        qcrt_module_signature(module, name, 1, i, &d);
        printf("%s%s", i ? ", " : "", sigString(d).c_str());
      }
      printf(")\n");
    }
    return 0;
  }
  if (function.empty()) {
    if (nFunctions == 0)
      die("module '" + prefix + "' has no functions");
    if (nFunctions > 1)
      die("module '" + prefix +
          "' has several functions: pick one with "
          "--function (see --list)");
    function = qcrt_module_function_name(module, 0);
  }
  int32_t nIn = 0, nOut = 0;
  if (qcrt_module_function_arity(module, function.c_str(), &nIn, &nOut) !=
      QCRT_OK)
    die(qcrt_last_error());

  // Input sets: each a full list of nIn tensors.
  std::vector<std::vector<std::string>> sets;
  if (!inputs.empty())
    sets.push_back(inputs);
  for (const std::string &dir : inputSets) {
    std::vector<std::string> files;
    for (int32_t i = 0; i < nIn; ++i)
      files.push_back(dir + "/in_" + std::to_string(i) + ".npy");
    sets.push_back(files);
  }
  if (sets.empty() && !random && nIn > 0)
    die("function '" + function + "' takes " + std::to_string(nIn) +
        " inputs: give --input, --input-set or --random-inputs");
  if (sets.empty())
    sets.emplace_back(); // random (or no) inputs
  if (sets.size() > 1 && calibrate.empty())
    die("several input sets need --calibrate");

  uint64_t state = static_cast<uint64_t>(seed);
  Tensors outputs;
  outputs.list.assign(nOut, qcrt_tensor{});
  for (const std::vector<std::string> &set : sets) {
    Tensors in;
    if (random || nIn == 0) {
      for (int32_t i = 0; i < nIn; ++i) {
        qcrt_tensor desc, t;
        qcrt_module_signature(module, function.c_str(), 0, i, &desc);
        randomTensor(desc, dim, state, t);
        in.list.push_back(t);
      }
    } else {
      if (static_cast<int32_t>(set.size()) != nIn)
        die("function '" + function + "' takes " + std::to_string(nIn) +
            " inputs, " + std::to_string(set.size()) + " given");
      for (const std::string &file : set) {
        qcrt_tensor t;
        if (qcrt_npy_read(file.c_str(), &t) != QCRT_OK)
          die(qcrt_last_error());
        in.list.push_back(t);
      }
    }
    for (qcrt_tensor &t : outputs.list)
      qcrt_tensor_free(&t);
    if (deviceBuffers) {
      // The device-tensor path of qcrt_module_run_ex (GPU modules).
      Tensors devIn, devOut;
      for (qcrt_tensor &t : in.list) {
        qcrt_tensor d;
        if (qcrt_tensor_to_device(&t, &d) != QCRT_OK)
          die(qcrt_last_error());
        devIn.list.push_back(d);
      }
      devOut.list.assign(nOut, qcrt_tensor{});
      qcrt_run_options options = {};
      options.struct_size = sizeof(options);
      options.device = QCRT_DEVICE_CUDA;
      if (qcrt_module_run_ex(module, function.c_str(), devIn.list.data(), nIn,
                             devOut.list.data(), nOut, &options) != QCRT_OK)
        die(qcrt_last_error());
      for (int32_t o = 0; o < nOut; ++o)
        if (qcrt_tensor_to_host(&devOut.list[o], &outputs.list[o]) != QCRT_OK)
          die(qcrt_last_error());
    } else if (qcrt_module_run(module, function.c_str(), in.list.data(), nIn,
                               outputs.list.data(), nOut) != QCRT_OK)
      die(qcrt_last_error());

    if (repeat > 0) {
      std::vector<double> times;
      for (int64_t r = 0; r < warmup + repeat; ++r) {
        std::vector<qcrt_tensor> tmp(nOut);
        auto start = std::chrono::steady_clock::now();
        if (qcrt_module_run(module, function.c_str(), in.list.data(), nIn,
                            tmp.data(), nOut) != QCRT_OK)
          die(qcrt_last_error());
        auto stop = std::chrono::steady_clock::now();
        for (qcrt_tensor &t : tmp)
          qcrt_tensor_free(&t);
        if (r >= warmup)
          times.push_back(
              std::chrono::duration<double, std::milli>(stop - start).count());
      }
      std::sort(times.begin(), times.end());
      double median =
          times.size() % 2
              ? times[times.size() / 2]
              : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
      printf("%s: %lld runs, median %.4f ms, min %.4f ms\n", function.c_str(),
             static_cast<long long>(repeat), median, times.front());
    }
  }

  if (!calibrate.empty() && qcrt_stats_write(calibrate.c_str()) != QCRT_OK)
    die(qcrt_last_error());

  if (!outputDir.empty()) {
    // Write every output to a temp name first, then rename them all.
    std::vector<std::string> finals, temps;
    for (int32_t o = 0; o < nOut; ++o) {
      std::string final = outputDir + "/out_" + std::to_string(o) + ".npy";
      std::string temp = final + ".partial";
      if (o < 64)
        pendingOutputs[o] = strdup(temp.c_str());
      if (qcrt_npy_write(temp.c_str(), &outputs.list[o]) != QCRT_OK) {
        for (const std::string &t : temps)
          remove(t.c_str());
        die(qcrt_last_error());
      }
      finals.push_back(final);
      temps.push_back(temp);
    }
    for (size_t i = 0; i < finals.size(); ++i)
      if (rename(temps[i].c_str(), finals[i].c_str()) != 0) {
        for (size_t k = i; k < temps.size(); ++k)
          remove(temps[k].c_str());
        die("cannot write '" + finals[i] + "'");
      }
    for (char *&p : pendingOutputs) {
      free(p);
      p = nullptr;
    }
  }
  for (int32_t o = 0; o < nOut; ++o)
    printf("output %d: %s\n", o, sigString(outputs.list[o]).c_str());
  qcrt_module_unload(module);
  return 0;
}
