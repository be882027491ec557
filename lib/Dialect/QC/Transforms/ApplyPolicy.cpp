//===- ApplyPolicy.cpp - Per-layer quantization policy ----------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc-apply-policy: reads a qc-policy file (docs/formats.md) and sets the
// #qc.scheme of every qc.linear. JSON is read with the same YAML parser (a
// JSON document is YAML flow syntax), so both report positions the same way:
// every policy diagnostic is located at file:line:col of the policy.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Transforms/Passes.h"
#include "qc/Dialect/QC/Transforms/Policy.h"

#include "mlir/Pass/PassManager.h"

#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"

#include <memory>

namespace mlir::qc {
#define GEN_PASS_DEF_QCAPPLYPOLICYPASS
#include "qc/Dialect/QC/Transforms/Passes.h.inc"
} // namespace mlir::qc

using namespace mlir;
using namespace mlir::qc;

namespace {

/// A policy document converted from YAML nodes, with source positions.
struct PNode {
  enum Kind { Scalar, Map, Seq, Null } kind = Null;
  std::string value;
  Location loc;
  std::vector<std::pair<PNode, PNode>> entries; // Map
  std::vector<PNode> items;                     // Seq

  explicit PNode(Location loc) : loc(loc) {}
  StringRef kindName() const {
    switch (kind) {
    case Scalar:
      return "a scalar";
    case Map:
      return "a mapping";
    case Seq:
      return "a list";
    case Null:
      return "empty";
    }
    return "";
  }
};

/// One rule of the policy.
struct Rule {
  Location loc;
  std::string label;   // "rule N (file:line:col)"
  std::string pattern; // the glob or regex as written
  /// GlobPattern keeps references into its pattern text: own it here, at a
  /// stable address.
  std::shared_ptr<std::string> globText;
  std::optional<llvm::GlobPattern> glob;
  std::optional<llvm::Regex> regex;
  SchemeAttr scheme; // null = keep in floating point
  /// `scheme: keep`: the layer stays as imported (a checkpoint-quantized
  /// weight keeps its grid; a float layer its scheme, if any).
  bool keep = false;
  int64_t batchThreshold = 0;
  int64_t matched = 0;

  bool matches(StringRef layer) const {
    return glob ? glob->match(layer) : regex->match(layer);
  }
};

/// Parsed policy: rules in order plus the optional default.
struct Policy {
  SmallVector<Rule> rules;
  bool hasDefault = false;
  SchemeAttr defaultScheme;
  bool defaultKeep = false;
  std::string defaultLabel;
};

/// The weight types a policy names, in one table for both directions.
Type policyWeightType(MLIRContext *ctx, StringRef name) {
  if (name == "i4")
    return IntegerType::get(ctx, 4);
  if (name == "i8")
    return IntegerType::get(ctx, 8);
  if (name == "f16")
    return Float16Type::get(ctx);
  if (name == "f8e4m3")
    return Float8E4M3FNType::get(ctx);
  return {};
}

std::string locLabel(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return (f.getFilename().getValue() + ":" + Twine(f.getLine()) + ":" +
            Twine(f.getColumn()))
        .str();
  return "?";
}

/// Converts YAML nodes to PNodes, interprets them, and reports the first
/// problem as one error located in the policy file.
class PolicyReader {
public:
  PolicyReader(MLIRContext *ctx, StringRef path) : ctx(ctx), path(path) {}

  FailureOr<Policy> read(Location passLoc);

private:
  MLIRContext *ctx;
  std::string path;
  llvm::SourceMgr srcMgr;

  Location locOf(llvm::SMLoc l, Location fallback) {
    if (!l.isValid())
      return fallback;
    auto [line, col] = srcMgr.getLineAndColumn(l);
    return FileLineColLoc::get(ctx, path, line, col);
  }

  FailureOr<PNode> convert(llvm::yaml::Node *n, Location fallback);

  /// Converts to a failed LogicalResult or FailureOr of any type.
  struct Failed {
    operator LogicalResult() const { return failure(); }
    template <typename T> operator FailureOr<T>() const { return failure(); }
  };

  Failed error(Location loc, const Twine &msg) {
    emitError(loc) << "invalid policy: " << msg;
    return {};
  }

  LogicalResult checkKeys(const PNode &map, ArrayRef<StringRef> allowed,
                          StringRef what);
  FailureOr<int64_t> getInt(const PNode &n, StringRef what);
  /// A scheme mapping, or with `allowNone` 'none' (null) and 'keep' (null,
  /// `*keep` set).
  FailureOr<SchemeAttr> parseScheme(const PNode &n, bool allowNone,
                                    bool *keep = nullptr);
  LogicalResult parseRule(const PNode &n, size_t index, Rule &rule);
};

} // namespace

FailureOr<PNode> PolicyReader::convert(llvm::yaml::Node *n, Location fallback) {
  PNode out(fallback);
  if (!n)
    return out;
  out.loc = locOf(n->getSourceRange().Start, fallback);
  if (auto *s = dyn_cast<llvm::yaml::ScalarNode>(n)) {
    SmallString<32> storage;
    out.kind = PNode::Scalar;
    out.value = s->getValue(storage).str();
  } else if (auto *m = dyn_cast<llvm::yaml::MappingNode>(n)) {
    out.kind = PNode::Map;
    for (llvm::yaml::KeyValueNode &kv : *m) {
      llvm::yaml::Node *k = kv.getKey();
      FailureOr<PNode> key = convert(k, out.loc);
      if (failed(key))
        return failure();
      if (out.entries.empty() && !n->getSourceRange().Start.isValid())
        out.loc = key->loc;
      FailureOr<PNode> val = convert(kv.getValue(), key->loc);
      if (failed(val))
        return failure();
      if (key->kind != PNode::Scalar)
        return error(key->loc, "mapping keys must be scalars");
      for (auto &e : out.entries)
        if (e.first.value == key->value)
          return error(key->loc, "duplicate key '" + key->value + "'");
      out.entries.emplace_back(std::move(*key), std::move(*val));
    }
  } else if (auto *q = dyn_cast<llvm::yaml::SequenceNode>(n)) {
    out.kind = PNode::Seq;
    for (llvm::yaml::Node &item : *q) {
      FailureOr<PNode> v = convert(&item, out.loc);
      if (failed(v))
        return failure();
      out.items.push_back(std::move(*v));
    }
  } else if (isa<llvm::yaml::NullNode>(n)) {
    out.kind = PNode::Null;
  } else {
    return error(out.loc, "unsupported YAML node (anchors, aliases and block "
                          "scalars are not allowed)");
  }
  return out;
}

LogicalResult PolicyReader::checkKeys(const PNode &map,
                                      ArrayRef<StringRef> allowed,
                                      StringRef what) {
  for (auto &e : map.entries)
    if (!llvm::is_contained(allowed, e.first.value)) {
      std::string list;
      llvm::raw_string_ostream os(list);
      llvm::interleaveComma(allowed, os);
      return error(e.first.loc, "unknown key '" + e.first.value + "' in " +
                                    what + " (expected one of: " + list + ")");
    }
  return success();
}

static const PNode *lookup(const PNode &map, StringRef key) {
  for (auto &e : map.entries)
    if (e.first.value == key)
      return &e.second;
  return nullptr;
}

FailureOr<int64_t> PolicyReader::getInt(const PNode &n, StringRef what) {
  int64_t v;
  if (n.kind != PNode::Scalar || StringRef(n.value).getAsInteger(10, v))
    return error(n.loc,
                 Twine(what) + " must be an integer, got '" + n.value + "'");
  return v;
}

FailureOr<SchemeAttr> PolicyReader::parseScheme(const PNode &n, bool allowNone,
                                                bool *keep) {
  if (n.kind == PNode::Scalar && n.value == "none" && allowNone)
    return SchemeAttr();
  if (n.kind == PNode::Scalar && n.value == "keep" && allowNone && keep) {
    *keep = true;
    return SchemeAttr();
  }
  if (n.kind != PNode::Map)
    return error(n.loc, Twine("a scheme must be a mapping") +
                            (allowNone ? ", 'none' or 'keep'" : "") + ", got " +
                            (n.kind == PNode::Scalar ? "'" + n.value + "'"
                                                     : n.kindName().str()));
  if (failed(checkKeys(n,
                       {"weight", "granularity", "group_size", "symmetric",
                        "act", "alpha", "minimum"},
                       "scheme")))
    return failure();
  auto scalar = [&](StringRef key) -> FailureOr<const PNode *> {
    const PNode *v = lookup(n, key);
    if (v && v->kind != PNode::Scalar)
      return error(v->loc, "'" + key + "' must be a scalar");
    return v;
  };
  FailureOr<const PNode *> weight = scalar("weight");
  if (failed(weight))
    return failure();
  if (!*weight)
    return error(n.loc, "a scheme needs 'weight' (i4, i8, f16 or f8e4m3)");
  StringRef w = (*weight)->value;
  Type wt = policyWeightType(ctx, w);
  if (!wt)
    return error((*weight)->loc,
                 "unknown weight '" + w + "' (expected i4, i8, f16 or f8e4m3)");

  Granularity gran = Granularity::PerChannel;
  FailureOr<const PNode *> g = scalar("granularity");
  if (failed(g))
    return failure();
  if (*g) {
    std::optional<Granularity> v = symbolizeGranularity((*g)->value);
    if (!v)
      return error((*g)->loc, "unknown granularity '" + (*g)->value +
                                  "' (expected per_tensor, per_channel or "
                                  "per_group)");
    gran = *v;
  }
  int64_t groupSize = 0;
  if (const PNode *gs = lookup(n, "group_size")) {
    FailureOr<int64_t> v = getInt(*gs, "group_size");
    if (failed(v))
      return failure();
    groupSize = *v;
  }
  bool symmetric = true;
  FailureOr<const PNode *> sym = scalar("symmetric");
  if (failed(sym))
    return failure();
  if (*sym) {
    if ((*sym)->value == "true")
      symmetric = true;
    else if ((*sym)->value == "false")
      symmetric = false;
    else
      return error((*sym)->loc, "symmetric must be true or false, got '" +
                                    (*sym)->value + "'");
  }
  ActMode act = ActMode::None;
  FailureOr<const PNode *> a = scalar("act");
  if (failed(a))
    return failure();
  if (*a) {
    std::optional<ActMode> v = symbolizeActMode((*a)->value);
    if (!v)
      return error((*a)->loc, "unknown act '" + (*a)->value +
                                  "' (expected none, static_per_tensor or "
                                  "dynamic_per_token)");
    act = *v;
  }
  FloatAttr alpha;
  FailureOr<const PNode *> al = scalar("alpha");
  if (failed(al))
    return failure();
  if (*al) {
    double d;
    if (StringRef((*al)->value).getAsDouble(d))
      return error((*al)->loc,
                   "alpha must be a number, got '" + (*al)->value + "'");
    alpha = FloatAttr::get(Float32Type::get(ctx), d);
  }
  Type minimum;
  FailureOr<const PNode *> mn = scalar("minimum");
  if (failed(mn))
    return failure();
  if (*mn) {
    if ((*mn)->value == "f16")
      minimum = Float16Type::get(ctx);
    else if ((*mn)->value == "f32")
      minimum = Float32Type::get(ctx);
    else
      return error((*mn)->loc, "unknown minimum '" + (*mn)->value +
                                   "' (expected f16 or f32)");
  }
  SchemeAttr s = SchemeAttr::getChecked(
      [&]() { return emitError(n.loc) << "invalid policy: invalid scheme: "; },
      ctx, wt, gran, groupSize, symmetric, act, alpha, minimum);
  if (!s)
    return failure();
  return s;
}

LogicalResult PolicyReader::parseRule(const PNode &n, size_t index,
                                      Rule &rule) {
  std::string what = "rule " + std::to_string(index + 1);
  if (n.kind != PNode::Map)
    return error(n.loc, what + " must be a mapping");
  rule.loc = n.loc;
  rule.label = what + " (" + locLabel(n.loc) + ")";
  if (failed(checkKeys(n, {"match", "regex", "scheme", "by_batch"}, what)))
    return failure();
  const PNode *match = lookup(n, "match"), *regex = lookup(n, "regex");
  if (bool(match) == bool(regex))
    return error(n.loc, what + " needs exactly one of 'match' (glob) or "
                               "'regex'");
  const PNode *pat = match ? match : regex;
  if (pat->kind != PNode::Scalar)
    return error(pat->loc, what + ": the pattern must be a string");
  rule.pattern = pat->value;
  if (match) {
    rule.globText = std::make_shared<std::string>(pat->value);
    llvm::Expected<llvm::GlobPattern> g =
        llvm::GlobPattern::create(*rule.globText, /*MaxSubPatterns=*/1024);
    if (!g)
      return error(pat->loc, what + ": bad glob '" + pat->value +
                                 "': " + llvm::toString(g.takeError()));
    rule.glob = std::move(*g);
  } else {
    llvm::Regex re("^(" + pat->value + ")$");
    std::string err;
    if (!re.isValid(err))
      return error(pat->loc, what + ": bad regex '" + pat->value + "': " + err);
    rule.regex = std::move(re);
  }
  const PNode *scheme = lookup(n, "scheme"), *byBatch = lookup(n, "by_batch");
  if (bool(scheme) == bool(byBatch))
    return error(n.loc, what + " needs exactly one of 'scheme' or 'by_batch'");
  if (scheme) {
    FailureOr<SchemeAttr> s =
        parseScheme(*scheme, /*allowNone=*/true, &rule.keep);
    if (failed(s))
      return failure();
    rule.scheme = *s;
    return success();
  }
  if (byBatch->kind != PNode::Map)
    return error(byBatch->loc, what + ": by_batch must be a mapping with "
                                      "'threshold' and 'scheme'");
  if (failed(checkKeys(*byBatch, {"threshold", "scheme"}, what + " by_batch")))
    return failure();
  const PNode *th = lookup(*byBatch, "threshold");
  const PNode *bs = lookup(*byBatch, "scheme");
  if (!th || !bs)
    return error(byBatch->loc,
                 what + ": by_batch needs 'threshold' and 'scheme'");
  FailureOr<int64_t> t = getInt(*th, "by_batch threshold");
  if (failed(t))
    return failure();
  if (*t <= 0)
    return error(th->loc, what + ": by_batch threshold must be positive");
  FailureOr<SchemeAttr> s = parseScheme(*bs, /*allowNone=*/false);
  if (failed(s))
    return failure();
  if (!s->getWeight().isSignlessInteger(8) || !s->getSymmetric() ||
      s->getGranularity() != Granularity::PerChannel ||
      s->quantizesActivations())
    return error(bs->loc, what + ": a by_batch scheme must be i8 symmetric "
                                 "per_channel weight-only (the adaptive "
                                 "kernel quantizes activations itself)");
  rule.scheme = *s;
  rule.batchThreshold = *t;
  return success();
}

FailureOr<Policy> PolicyReader::read(Location passLoc) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return emitError(passLoc) << "cannot open policy file '" << path
                              << "': " << buf.getError().message();
  // The YAML parser reports syntax errors through the source manager; keep
  // the first one and report it as an MLIR diagnostic.
  std::optional<std::pair<Location, std::string>> syntaxError;
  struct HandlerCtx {
    PolicyReader *self;
    std::optional<std::pair<Location, std::string>> *err;
  } hctx{this, &syntaxError};
  srcMgr.setDiagHandler(
      [](const llvm::SMDiagnostic &d, void *c) {
        auto *h = static_cast<HandlerCtx *>(c);
        if (*h->err)
          return;
        Location loc = FileLineColLoc::get(h->self->ctx, h->self->path,
                                           d.getLineNo(), d.getColumnNo() + 1);
        *h->err = std::make_pair(loc, d.getMessage().str());
      },
      &hctx);
  StringRef text = (*buf)->getBuffer();
  srcMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(text, path),
                            llvm::SMLoc());
  llvm::yaml::Stream stream(text, srcMgr, /*ShowColors=*/false);
  Location fileLoc = FileLineColLoc::get(ctx, path, 1, 1);
  std::optional<PNode> root;
  int docs = 0;
  for (llvm::yaml::Document &doc : stream) {
    ++docs;
    FailureOr<PNode> r = convert(doc.getRoot(), fileLoc);
    if (syntaxError)
      break;
    if (failed(r))
      return failure();
    if (docs == 1)
      root = std::move(*r);
  }
  if (syntaxError || stream.failed()) {
    if (!syntaxError)
      return error(fileLoc, "syntax error");
    return emitError(syntaxError->first)
           << "invalid policy: syntax error: " << syntaxError->second;
  }
  if (docs != 1 || !root || root->kind != PNode::Map)
    return error(fileLoc, "the policy must be one mapping with format, "
                          "version, default and rules");
  if (failed(checkKeys(*root, {"format", "version", "default", "rules"},
                       "the policy")))
    return failure();
  const PNode *format = lookup(*root, "format");
  if (!format || format->value != "qc-policy")
    return error(format ? format->loc : root->loc,
                 "unknown format (expected 'format: qc-policy')");
  const PNode *version = lookup(*root, "version");
  if (!version || version->value != "1")
    return error(version ? version->loc : root->loc,
                 "unknown version (expected 'version: 1')");
  Policy policy;
  if (const PNode *def = lookup(*root, "default")) {
    FailureOr<SchemeAttr> s =
        parseScheme(*def, /*allowNone=*/true, &policy.defaultKeep);
    if (failed(s))
      return failure();
    policy.hasDefault = true;
    policy.defaultScheme = *s;
    policy.defaultLabel = "the default (" + locLabel(def->loc) + ")";
  }
  if (const PNode *rules = lookup(*root, "rules")) {
    if (rules->kind != PNode::Seq)
      return error(rules->loc, "'rules' must be a list");
    for (size_t i = 0; i < rules->items.size(); ++i) {
      Rule rule{rules->items[i].loc};
      if (failed(parseRule(rules->items[i], i, rule)))
        return failure();
      policy.rules.push_back(std::move(rule));
    }
  }
  return policy;
}

/// The policy-file spelling of a weight type, the inverse of
/// policyWeightType; empty for a type a policy cannot name.
static StringRef policyWeightName(Type weight) {
  for (StringRef name : {"i4", "i8", "f16", "f8e4m3"})
    if (policyWeightType(weight.getContext(), name) == weight)
      return name;
  return "";
}

/// `scheme` as a qc-policy scheme mapping ("none" for a null scheme).
static llvm::json::Value policySchemeJson(SchemeAttr scheme) {
  if (!scheme)
    return "none";
  llvm::json::Object o{
      {"weight", policyWeightName(scheme.getWeight())},
      {"granularity", stringifyGranularity(scheme.getGranularity())},
      {"symmetric", scheme.getSymmetric()},
      {"act", stringifyActMode(scheme.getAct())}};
  if (scheme.getGranularity() == Granularity::PerGroup)
    o["group_size"] = scheme.getGroupSize();
  if (FloatAttr alpha = scheme.getAlpha())
    o["alpha"] = alpha.getValueAsDouble();
  if (Type m = scheme.getMinimum())
    o["minimum"] = m.isF16() ? "f16" : "f32";
  return llvm::json::Value(std::move(o));
}

namespace qc {
FailureOr<llvm::json::Value> checkPolicy(ModuleOp module,
                                         StringRef policyPath) {
  PassManager pm(module.getContext());
  QCApplyPolicyPassOptions options;
  options.policy = policyPath.str();
  options.strict = true;
  pm.addPass(createQCApplyPolicyPass(options));
  if (failed(pm.run(module)))
    return failure();
  llvm::json::Array layers;
  bool needsStats = false;
  module.walk([&](LinearOp op) {
    SchemeAttr scheme = op.getSchemeAttr();
    int64_t threshold = 0;
    if (auto t = op->getAttrOfType<IntegerAttr>("qc.batch_threshold"))
      threshold = t.getInt();
    needsStats |= scheme && (scheme.getAlpha() ||
                             scheme.getAct() == ActMode::StaticPerTensor);
    layers.push_back(llvm::json::Object{{"layer", op.getLayer()},
                                        {"scheme", policySchemeJson(scheme)},
                                        {"batch_threshold", threshold}});
  });
  return llvm::json::Value(llvm::json::Object{{"policy", policyPath},
                                              {"layers", std::move(layers)},
                                              {"needs_stats", needsStats}});
}

} // namespace qc

namespace {
struct ApplyPolicyPass
    : public mlir::qc::impl::QCApplyPolicyPassBase<ApplyPolicyPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (policy.empty()) {
      module.emitError("qc-apply-policy needs policy=<file>");
      return signalPassFailure();
    }
    PolicyReader reader(&getContext(), policy);
    FailureOr<Policy> p = reader.read(module.getLoc());
    if (failed(p))
      return signalPassFailure();

    bool ok = true;
    // Layers holding quantized checkpoint weights (imported with
    // `--quantized keep`: qc.dequantize_weight of its packed codes) that a
    // rule other than 'keep' matched: they can only keep their grid
    // (re-quantizing needs the float weight). One error for all of them.
    LinearOp firstKept;
    std::string firstKeptLabel;
    bool firstKeptNone = false;
    int64_t numKept = 0;
    module.walk([&](LinearOp op) {
      Rule *rule = nullptr;
      for (Rule &r : p->rules)
        if (r.matches(op.getLayer())) {
          rule = &r;
          break;
        }
      SchemeAttr scheme;
      bool keep = false;
      int64_t threshold = 0;
      StringRef label;
      if (rule) {
        ++rule->matched;
        scheme = rule->scheme;
        keep = rule->keep;
        threshold = rule->batchThreshold;
        label = rule->label;
      } else if (p->hasDefault) {
        scheme = p->defaultScheme;
        keep = p->defaultKeep;
        label = p->defaultLabel;
      } else {
        op.emitRemark() << "layer '" << op.getLayer()
                        << "' matched no policy rule and the policy has no "
                           "default; its scheme is left unchanged";
        return;
      }
      if (keep)
        return;
      // A weight the checkpoint stored quantized (imported with
      // `--quantized keep`: qc.dequantize_weight of its packed codes) can
      // only keep its grid: re-quantizing needs the float weight.
      if (op.getWeight().getDefiningOp<DequantizeWeightOp>()) {
        if (!firstKept) {
          firstKept = op;
          firstKeptLabel = label.str();
          firstKeptNone = !scheme;
        }
        ++numKept;
        return;
      }
      op->removeAttr("qc.batch_threshold");
      if (!scheme) {
        op.removeSchemeAttr();
        return;
      }
      auto wt = op.getWeight().getType();
      std::string reason;
      if (failed(
              scheme.checkShape(wt.getDimSize(0), wt.getDimSize(1), reason))) {
        op.emitError() << "layer '" << op.getLayer() << "': the scheme of "
                       << label << " does not fit its " << wt.getDimSize(0)
                       << "x" << wt.getDimSize(1) << " weight: " << reason;
        ok = false;
        return;
      }
      op.setSchemeAttr(scheme);
      if (threshold)
        op->setAttr(
            "qc.batch_threshold",
            IntegerAttr::get(IntegerType::get(&getContext(), 64), threshold));
    });
    if (firstKept) {
      auto pw = cast<DequantizeWeightOp>(firstKept.getWeight().getDefiningOp())
                    .getWeight()
                    .getDefiningOp<PackedWeightOp>();
      InFlightDiagnostic diag = firstKept.emitError()
                                << "layer '" << firstKept.getLayer()
                                << "' holds quantized checkpoint weights";
      if (pw)
        diag << " (" << pw.getScheme() << ")";
      diag << " but " << firstKeptLabel << " gives it "
           << (firstKeptNone ? "'none'" : "another scheme");
      if (numKept > 1)
        diag << " (as to " << numKept - 1 << " more such linears)";
      diag << "; use 'keep' for them, or import the checkpoint with "
              "--quantized dequantize";
      ok = false;
    }
    SmallVector<StringRef> layers;
    module.walk([&](LinearOp op) { layers.push_back(op.getLayer()); });
    for (Rule &r : p->rules) {
      if (r.matched != 0)
        continue;
      StringRef what = StringRef(r.label)
                           .take_until([](char c) { return c == '('; })
                           .rtrim();
      if (!strict) {
        emitWarning(r.loc) << what << " matched no layer";
        continue;
      }
      InFlightDiagnostic d = emitError(r.loc)
                             << "invalid policy: " << what << " ('" << r.pattern
                             << "') matches no layer of the model (";
      if (layers.empty())
        d << "it has no linear layers)";
      else
        d << "layers look like: ";
      for (size_t i = 0; i < std::min<size_t>(3, layers.size()); ++i)
        d << (i ? ", " : "") << layers[i];
      if (!layers.empty())
        d << (layers.size() > 3 ? ", ...)" : ")");
      ok = false;
    }
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
