// libFuzzer target: the registry's import scanner (src/registry/import_scan.h) and XGBoost model
// check, the first code to read an imported artifact. Each input is one file, scanned as "f.pkl"
// (so it is walked as a pickle whatever it holds) and as a model. Invariants: never crashes, hangs
// or throws; the result says clean exactly when no file has a finding; every record serialises to
// canonical JSON; a GLOBAL of os.system at the start is always refused; a refused model is
// InvalidArgument.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/sha256.h"
#include "registry/import_scan.h"
#include "registry/xgboost_check.h"

#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

using plinth::registry::ScanFinding;
using plinth::registry::ScannedFile;
using plinth::registry::ScanResult;

void CheckResult(const ScanResult& result, std::string_view data) {
  CHECK_INVARIANT(!result.files.empty());
  bool any_finding = false;
  for (const ScannedFile& file : result.files) {
    any_finding = any_finding || !file.findings.empty();
    CHECK_INVARIANT(plinth::IsValidDigest(file.digest));
    CHECK_INVARIANT(file.size >= 0);
    for (const ScanFinding& f : file.findings) {
      CHECK_INVARIANT(f.severity == "dangerous" || f.severity == "unallowed" ||
                      f.severity == "malformed");
      CHECK_INVARIANT(f.offset >= -1 && f.offset <= file.size);
    }
  }
  CHECK_INVARIANT(result.clean == !any_finding);
  CHECK_INVARIANT(plinth::CanonicalJson(result.ToJson()).ok());
  CHECK_INVARIANT(result.files[0].digest == plinth::Sha256Digest(data));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const auto& allowlist = plinth::registry::DefaultScanAllowlist();

  ScanResult as_pickle = plinth::registry::ScanFiles({{"f.pkl", bytes}}, allowlist);
  CheckResult(as_pickle, bytes);
  // The walk reads a GLOBAL's two lines before anything can go wrong after them.
  const std::string_view view(bytes);
  if (view.starts_with("cos\nsystem\n") || view.starts_with("\x80\x02"
                                                            "cos\nsystem\n")) {
    CHECK_INVARIANT(!as_pickle.clean);
    bool dangerous = false;
    for (const ScanFinding& f : as_pickle.files[0].findings) {
      dangerous = dangerous || (f.severity == "dangerous" && f.global == "os.system");
    }
    CHECK_INVARIANT(dangerous);
  }

  ScanResult by_content = plinth::registry::ScanFiles({{"f", bytes}}, allowlist);
  CheckResult(by_content, bytes);

  plinth::StatusOr<plinth::Json> model = plinth::registry::CheckXgboostModel(bytes);
  if (!model.ok()) {
    CHECK_INVARIANT(model.status().code() == absl::StatusCode::kInvalidArgument);
  } else {
    CHECK_INVARIANT((*model)["num_trees"].get<int64_t>() >= 0);
    CHECK_INVARIANT((*model)["num_feature"].get<int64_t>() >= 1);
  }
  return 0;
}
