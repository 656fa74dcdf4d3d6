// Terminal output for the CLI: aligned tables for lists, JSON for machines, a progress bar on
// long transfers (only when stderr is a terminal).
#ifndef PLINTH_CLI_OUTPUT_H_
#define PLINTH_CLI_OUTPUT_H_

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/json.h"

namespace plinth {

// Columns padded to their widest cell, a rule under the header.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

// Pretty JSON with a trailing newline.
void PrintJson(std::ostream& out, const Json& value);

// A JSON value as a table cell: strings bare, null as "-", others as JSON.
std::string Cell(const Json& value);

// "1.5 MB", "312 B".
std::string HumanBytes(int64_t bytes);

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // Redraws at most ten times a second; total < 0 when unknown.
  void Update(int64_t done, int64_t total);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace plinth

#endif  // PLINTH_CLI_OUTPUT_H_
