#include "cli/templates.h"

#include <stdlib.h>

#include <filesystem>
#include <set>

#include "cli/templates_embedded.h"
#include "core/files.h"
#include "data/csv_writer.h"
#include "data/synth_transactions.h"
#include "table/table.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;

// The fraud template's data: synthetic transactions, and every fifth of them as a labelled spine
// with what is known at payment time (the payment's own amount, category, channel, country).
Status WriteFraudData(const std::string& dir, std::vector<std::string>* files) {
  SynthTransactionsOptions options;
  options.customers = 400;
  options.days = 60;
  options.seed = 7;
  ASSIGN_OR_RETURN(Table transactions, GenerateSyntheticTransactions(options));
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/data/transactions.csv", WriteCsvBuffer(transactions),
                                  0644, /*overwrite=*/true));
  files->push_back("data/transactions.csv");
  std::vector<size_t> rows;
  for (size_t i = 0; i < transactions.num_rows(); i += 5) rows.push_back(i);
  Table labels;
  for (const char* name : {"customer_id", "timestamp", "amount", "merchant_category", "channel",
                           "country", "is_fraud"}) {
    const Column* c = transactions.Find(name);
    if (c == nullptr) return absl::InternalError(std::string("synthetic data lack ") + name);
    RETURN_IF_ERROR(labels.AddColumn(TakeRows(*c, rows)));
  }
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/data/labels.csv", WriteCsvBuffer(labels), 0644,
                                  /*overwrite=*/true));
  files->push_back("data/labels.csv");
  RETURN_IF_ERROR(WriteFileAtomic(
      dir + "/data/PROVENANCE.md",
      "# Synthetic data\n\nWritten by `plinth new fraud`: " + std::to_string(options.customers) +
          " customers over " + std::to_string(options.days) + " days from 2026-01-01, seed " +
          std::to_string(options.seed) +
          ". Every row is invented (no real person, card or merchant).\n"
          "`labels.csv` is every fifth transaction, with its label.\n",
      0644, /*overwrite=*/true));
  files->push_back("data/PROVENANCE.md");
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> TemplateNames() {
  std::set<std::string> names;
  for (const auto& f : EmbeddedTemplateFiles()) names.insert(f.template_name);
  return {names.begin(), names.end()};
}

StatusOr<Json> WriteTemplate(const std::string& name, const std::string& dir,
                             const std::string& project, bool force) {
  std::vector<const EmbeddedTemplateFile*> files;
  for (const auto& f : EmbeddedTemplateFiles()) {
    if (name == f.template_name) files.push_back(&f);
  }
  if (files.empty()) {
    std::string known;
    for (const auto& t : TemplateNames()) known += (known.empty() ? "" : ", ") + t;
    return absl::NotFoundError("no template '" + name + "' (templates: " + known + ")");
  }
  std::error_code ec;
  const fs::path target = fs::absolute(dir).lexically_normal();
  const bool exists = fs::exists(target, ec);
  if (exists && !fs::is_directory(target, ec)) {
    return absl::AlreadyExistsError(dir + " exists and is not a folder");
  }
  if (exists && !fs::is_empty(target, ec) && !force) {
    return absl::AlreadyExistsError(dir + " is not empty (use --force to write into it)");
  }
  // Stage beside the target, then move into place: a failure leaves nothing half-written.
  fs::create_directories(target.parent_path(), ec);
  std::string staging =
      (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  if (mkdtemp(staging.data()) == nullptr) {
    return absl::InternalError("cannot create a folder beside " + dir);
  }
  auto fail = [&](Status s) -> Status {
    fs::remove_all(staging, ec);
    return s;
  };
  std::vector<std::string> written;
  for (const EmbeddedTemplateFile* f : files) {
    fs::path out = fs::path(staging) / f->path;
    fs::create_directories(out.parent_path(), ec);
    Status s = WriteFileAtomic(out.string(), std::string(f->bytes()), 0644, /*overwrite=*/true);
    if (!s.ok()) return fail(s);
    written.push_back(f->path);
  }
  const std::string project_name = project.empty() ? name : project;
  Json config = {{"project", project_name}};
  Status s = WriteFileAtomic(staging + "/plinth.json", config.dump(2) + "\n", 0644, true);
  if (!s.ok()) return fail(s);
  written.push_back("plinth.json");
  if (name == "fraud") {
    fs::create_directories(fs::path(staging) / "data", ec);
    s = WriteFraudData(staging, &written);
    if (!s.ok()) return fail(s);
  }
  if (!exists) {
    fs::rename(staging, target, ec);
    if (ec) return fail(absl::InternalError("cannot create " + dir + ": " + ec.message()));
  } else {
    // Into an existing folder (empty, or --force): move each file over.
    for (const std::string& rel : written) {
      fs::create_directories((target / rel).parent_path(), ec);
      fs::rename(fs::path(staging) / rel, target / rel, ec);
      if (ec) return fail(absl::InternalError("cannot write " + rel + ": " + ec.message()));
    }
    fs::remove_all(staging, ec);
  }
  std::sort(written.begin(), written.end());
  return Json{{"template", name}, {"dir", dir}, {"project", project_name}, {"files", written}};
}

}  // namespace plinth
