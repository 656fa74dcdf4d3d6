// libFuzzer target: the audit export verifier reads files an attacker may have edited. It must
// never crash, and must never call a file intact unless it is empty or ends with a checkpoint
// signed by the key (which random input cannot forge).
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "audit/audit_log.h"
#include "core/signing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const plinth::SigningKey* key = new plinth::SigningKey(plinth::SigningKey::Generate());
  std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  plinth::AuditVerifyReport report = plinth::VerifyAuditExport(in, key->public_key());
  if (report.ok && report.records > 0) std::abort();
  return 0;
}
