// The model inventory: one row per model version across the platform, as CSV and HTML.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/html.h"
#include "report/common.h"
#include "report/report.h"

namespace plinth::report {
namespace {

// A cell's text; lists (aliases) joined with ";".
std::string CellText(const Json& value) {
  if (value.is_array()) return absl::StrJoin(TextList(value), ";");
  return Text(value);
}

std::string CsvField(const Json& value) {
  std::string text = CellText(value);
  // A spreadsheet runs a cell starting with = + - @ as a formula (CSV injection); numbers are
  // written as numbers, so only text is guarded.
  if (!value.is_number() && !text.empty() &&
      (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')) {
    text = "'" + text;
  }
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Counts a decision's failed blocking rules (the rule shapes of validation_report.cc's
// RuleStatus: a status text, or passed with a severity).
int FailedBlockingRules(const Json& decision) {
  int count = 0;
  for (const char* key : {"rules", "results", "checks"}) {
    const Json& rules = Member(decision, key);
    if (!rules.is_array()) continue;
    for (const Json& rule : rules) {
      std::string severity = Text(Member(rule, "severity"));
      bool blocking = severity.empty() || severity == "blocking" || severity == "error";
      std::string status = Text(Member(rule, "status"));
      if (status.empty()) status = Text(Member(rule, "outcome"));
      bool failed = status == "fail" || status == "FAIL" || status == "failed" ||
                    (Member(rule, "passed").is_boolean() && !Member(rule, "passed").get<bool>());
      if (failed && blocking) ++count;
    }
    break;
  }
  return count;
}

}  // namespace

const std::vector<std::string>& InventoryColumns() {
  static const auto* const kColumns = new std::vector<std::string>{
      "project",         "name",          "version", "stage", "risk_tier", "owner",
      "last_validation", "open_findings", "aliases", "kind"};
  return *kColumns;
}

Json InventoryRow(const Json& evidence) {
  const Json& model = Member(evidence, "model");
  Json last_validation = nullptr;
  if (const Json& decisions = At(evidence, "approvals.decisions"); decisions.is_array()) {
    for (const Json& d : decisions) {
      // RFC 3339 UTC times of one format compare as text.
      std::string at = Text(Member(d, "at"));
      if (Text(Member(d, "decision")) == "validate" && !at.empty() &&
          (last_validation.is_null() || at > last_validation.get<std::string>())) {
        last_validation = at;
      }
    }
  }
  int findings = 0;
  // The latest decision of each policy (in evidence order, later wins on equal times).
  std::map<std::string, const Json*> latest;
  if (const Json& results = Member(evidence, "policy_results"); results.is_array()) {
    for (const Json& decision : results) {
      std::string policy = Text(Member(decision, "policy"));
      if (policy.empty()) policy = Text(Member(decision, "name"));
      auto it = latest.find(policy);
      if (it == latest.end() || Text(Member(decision, "at")) >= Text(Member(*it->second, "at"))) {
        latest[policy] = &decision;
      }
    }
  }
  for (const auto& [policy, decision] : latest) findings += FailedBlockingRules(*decision);
  const Json& open = At(evidence, "approvals.open_requests");
  if (open.is_number_integer()) findings += open.get<int>();
  if (open.is_array()) findings += static_cast<int>(open.size());
  if (const Json& clean = At(evidence, "scan.clean"); clean.is_boolean() && !clean.get<bool>()) {
    ++findings;
  }
  return {
      {"project", Member(model, "project")},
      {"name", Member(model, "name")},
      {"version", Member(model, "version")},
      {"stage", Member(model, "stage")},
      {"risk_tier", Member(model, "risk_tier")},
      {"owner", Member(model, "owner")},
      {"last_validation", last_validation},
      {"open_findings", findings},
      {"aliases", Member(model, "aliases").is_array() ? Member(model, "aliases") : Json::array()},
      {"kind", Member(model, "kind")}};
}

std::string InventoryCsv(const Json& rows) {
  std::string csv = absl::StrJoin(InventoryColumns(), ",") + "\r\n";
  if (!rows.is_array()) return csv;
  for (const Json& row : rows) {
    std::vector<std::string> fields;
    for (const std::string& column : InventoryColumns()) {
      fields.push_back(CsvField(Member(row, column)));
    }
    csv += absl::StrJoin(fields, ",") + "\r\n";
  }
  return csv;
}

StatusOr<std::string> InventoryHtml(const Json& rows) {
  const size_t count = rows.is_array() ? rows.size() : 0;
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>Model inventory</title>\n<style>",
      kStyle, "</style>\n</head>\n<body>\n<h1>Model inventory</h1>\n<p class=\"meta\">", count,
      count == 1 ? " model version" : " model versions", "</p>\n<table id=\"inventory\">\n<tr>");
  for (const std::string& column : InventoryColumns()) {
    absl::StrAppend(&html, "<th>", HtmlEscape(column), "</th>");
  }
  html += "</tr>\n";
  if (rows.is_array()) {
    for (const Json& row : rows) {
      html += "<tr>";
      for (const std::string& column : InventoryColumns()) {
        const Json& value = Member(row, column);
        std::string text = CellText(value);
        if (column == "open_findings" && value.is_number() && Number(value) > 0) {
          absl::StrAppend(&html, "<td class=\"FAIL num\">", HtmlEscape(text), "</td>");
        } else if (text.empty() && column != "aliases") {
          html += "<td class=\"missing\">not recorded</td>";
        } else {
          absl::StrAppend(&html, value.is_number() ? "<td class=\"num\">" : "<td>",
                          HtmlEscape(text), "</td>");
        }
      }
      html += "</tr>\n";
    }
  }
  return html + "</table>\n</body>\n</html>\n";
}

}  // namespace plinth::report
