// The import scanner: every file of an imported model is looked at before anything else reads it.
// XGBoost JSON/UBJSON is parsed and checked (xgboost_check.h); Python pickles and joblib files,
// also inside zip archives, are read opcode by opcode and never unpickled. A pickle is refused when
// it imports a dangerous global or any global outside an allowlist the platform holds; the
// allowlist never comes from the artifact, or the artifact would judge itself.
// Format and policy: docs/import-scanning.md.
#ifndef PLINTH_REGISTRY_IMPORT_SCAN_H_
#define PLINTH_REGISTRY_IMPORT_SCAN_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace plinth::registry {

struct ScanFinding {
  // "dangerous" (a denylisted global), "unallowed" (a global outside the allowlist), "malformed"
  // (the file cannot be read safely: truncated, unknown opcode, a name the scanner cannot resolve,
  // a zip bomb).
  std::string severity;
  std::string global;  // "module.name" when a global is involved
  std::string detail;  // what, and where (byte offset, opcode)
  int64_t offset = -1;

  Json ToJson() const;
};

struct ScannedFile {
  std::string name;  // path inside the import; zip members as "archive.zip!inner/data.pkl"
  // "xgboost-json", "xgboost-ubjson", "pickle", "joblib", "zip", "json", "text", "binary".
  std::string format;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  std::vector<std::string> globals;  // every global a pickle imports, "module.name", sorted unique
  std::vector<ScanFinding> findings;
  // Pickles: bytes after the last pickle stream that do not read as one (PyTorch's legacy format
  // appends raw storage there). A plain unpickler never reads them.
  int64_t unscanned_bytes = 0;

  Json ToJson() const;
};

struct ScanResult {
  bool clean = true;  // no finding in any file
  std::vector<ScannedFile> files;
  std::string allowlist_digest;  // which allowlist judged the files (ScanAllowlistDigest)

  // {"clean", "allowlist_digest", "files": [{"name", "format", "digest", "size", "globals",
  // "findings": [{"severity", "global", "detail", "offset"}]}]}; documented, stable names.
  Json ToJson() const;
};

struct ScanAllowlist {
  // "module.name" entries, or "module.*" for every name in a module (not its submodules).
  std::set<std::string> globals;
};

// The platform's allowlist: the numpy, scikit-learn, XGBoost and joblib globals that plain model
// pickles need, and nothing that can run code by itself.
const ScanAllowlist& DefaultScanAllowlist();

// "sha256:<hex>" of the allowlist's canonical JSON (a sorted array of its entries).
std::string ScanAllowlistDigest(const ScanAllowlist& allowlist);

// True if `module`.`name` is on the denylist, whatever any allowlist says: the builtins that
// evaluate, open or look up by name (also as Python 2's "__builtin__"), modules that reach the
// operating system, the network or another unpickler (and their submodules), operator.attrgetter,
// and any dotted name path that passes through one of those or a dunder attribute.
bool IsDangerousGlobal(std::string_view module, std::string_view name);

// True if the allowlist admits `module`.`name` (after Python 2 names are mapped to Python 3's).
bool IsAllowedGlobal(std::string_view module, std::string_view name,
                     const ScanAllowlist& allowlist);

// Walks `bytes` as one or more concatenated pickle streams (protocols 0-5) without executing
// anything, including joblib's array bytes that follow a NumpyArrayWrapper. Format "joblib" if
// such an array was read, else "pickle".
ScannedFile ScanPickle(std::string_view name, std::string_view bytes,
                       const ScanAllowlist& allowlist);

// Bounds on what an import may make the scanner unpack; past them the archive is "malformed".
struct ScanLimits {
  uint64_t max_decompressed_bytes = uint64_t{1} << 30;  // all zip members of the import together
  int max_zip_depth = 3;                                // a zip in a zip in a zip
};

// Scans every file (name -> bytes), detecting each format by content (and, for pickles, by
// extension too); zip archives are opened and their members scanned as "archive.zip!member",
// recursively, with the decompressed total and the nesting depth bounded.
ScanResult ScanFiles(const std::map<std::string, std::string>& files,
                     const ScanAllowlist& allowlist, const ScanLimits& limits = {});

}  // namespace plinth::registry

#endif  // PLINTH_REGISTRY_IMPORT_SCAN_H_
