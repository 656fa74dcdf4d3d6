#include "edge/rows.h"

#include <charconv>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace plinth::edge {
namespace {

// Input text in messages: bounded and on one line.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return text.size() > 40 ? out + "..." : out;
}

// Reads one physical line without its LF (and a CR before it); false at the end of the input.
bool ReadLine(std::istream& in, std::string* line) {
  if (!std::getline(in, *line)) return false;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

// RFC 4180 records, one at a time, from a stream of lines.
class CsvRecords {
 public:
  explicit CsvRecords(std::istream& in) : in_(in) {}

  // The next record's fields into `fields`; false at the end of the input. `start` is the line the
  // record starts on. A malformed record is an InvalidArgument; reading resumes after its line.
  bool Next(std::vector<std::string>* fields, int64_t* start, Status* status) {
    std::string line;
    do {
      if (!ReadLine(in_, &line)) return false;
      ++line_;
      if (line_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    } while (line.empty());
    *start = line_;
    *status = absl::OkStatus();
    fields->clear();
    std::string field;
    enum { kFieldStart, kUnquoted, kQuoted, kAfterQuote } state = kFieldStart;
    size_t i = 0;
    while (true) {
      if (i == line.size()) {
        if (state != kQuoted) break;
        // A quoted field goes on over the line break.
        if (!ReadLine(in_, &line)) {
          *status = absl::InvalidArgumentError(
              absl::StrCat("line ", *start, ": a quoted field is not closed before the end"));
          return true;
        }
        ++line_;
        field.push_back('\n');
        i = 0;
        continue;
      }
      const char c = line[i++];
      switch (state) {
        case kFieldStart:
          if (c == '"') {
            state = kQuoted;
          } else if (c == ',') {
            fields->push_back(std::move(field));
            field.clear();
          } else {
            field.push_back(c);
            state = kUnquoted;
          }
          break;
        case kUnquoted:
          if (c == ',') {
            fields->push_back(std::move(field));
            field.clear();
            state = kFieldStart;
          } else if (c == '"') {
            *status = absl::InvalidArgumentError(
                absl::StrCat("line ", line_, ", field ", fields->size() + 1,
                             ": a quote inside an unquoted "
                             "field (quote the whole field and double the quote)"));
            return true;
          } else {
            field.push_back(c);
          }
          break;
        case kQuoted:
          if (c == '"') {
            if (i < line.size() && line[i] == '"') {
              field.push_back('"');
              ++i;
            } else {
              state = kAfterQuote;
            }
          } else {
            field.push_back(c);
          }
          break;
        case kAfterQuote:
          if (c != ',') {
            *status = absl::InvalidArgumentError(absl::StrCat(
                "line ", line_, ", field ", fields->size() + 1, ": text after a closing quote"));
            return true;
          }
          fields->push_back(std::move(field));
          field.clear();
          state = kFieldStart;
          break;
      }
    }
    fields->push_back(std::move(field));
    return true;
  }

 private:
  std::istream& in_;
  int64_t line_ = 0;
};

class CsvRowReader : public RowReader {
 public:
  CsvRowReader(std::istream& in, ModelInputs inputs) : records_(in), inputs_(std::move(inputs)) {}

  Status ReadHeader() {
    std::vector<std::string> header;
    int64_t line = 0;
    Status status;
    if (!records_.Next(&header, &line, &status)) {
      return absl::InvalidArgumentError(
          "the CSV input is empty (expected a header of input names)");
    }
    RETURN_IF_ERROR(status);
    columns_ = header.size();
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < header.size(); ++i) index.emplace(header[i], i);
    for (const auto& [name, type] : inputs_) {
      auto it = index.find(name);
      if (it == index.end()) {
        return absl::InvalidArgumentError("the CSV header (line " + std::to_string(line) +
                                          ") lacks the model's input '" + name + "'");
      }
      positions_.push_back(it->second);
    }
    return absl::OkStatus();
  }

  bool Next(InputRow* out) override {
    std::vector<std::string> fields;
    Status status;
    if (!records_.Next(&fields, &out->line, &status)) return false;
    out->row = ++rows_;
    if (!status.ok()) {
      // After an unclosed quote the input is at its end, so reading stops there by itself.
      out->value = status;
      return true;
    }
    if (fields.size() != columns_) {
      out->value = absl::InvalidArgumentError(absl::StrCat("line ", out->line, ": ", fields.size(),
                                                           " fields, the header has ", columns_));
      return true;
    }
    Json row = Json::object();
    for (size_t i = 0; i < inputs_.size(); ++i) {
      StatusOr<Json> cell = CsvCell(fields[positions_[i]], inputs_[i].second);
      if (!cell.ok()) {
        out->value = absl::InvalidArgumentError(absl::StrCat(
            "line ", out->line, ": field ", inputs_[i].first, ": ", cell.status().message()));
        return true;
      }
      row[inputs_[i].first] = *std::move(cell);
    }
    out->value = std::move(row);
    return true;
  }

 private:
  CsvRecords records_;
  ModelInputs inputs_;
  size_t columns_ = 0;
  std::vector<size_t> positions_;  // per input, its column in the header
  int64_t rows_ = 0;
};

class JsonLinesRowReader : public RowReader {
 public:
  JsonLinesRowReader(std::istream& in, ModelInputs inputs) : in_(in), inputs_(std::move(inputs)) {}

  bool Next(InputRow* out) override {
    std::string line;
    do {
      if (!ReadLine(in_, &line)) return false;
      ++line_;
    } while (absl::StripAsciiWhitespace(line).empty());
    out->line = line_;
    out->row = ++rows_;
    StatusOr<Json> parsed = ParseJson(line);
    if (!parsed.ok() || !parsed->is_object()) {
      out->value = absl::InvalidArgumentError(
          absl::StrCat("line ", line_, ": expected a JSON object {input: value}",
                       parsed.ok() ? "" : absl::StrCat(" (", parsed.status().message(), ")")));
      return true;
    }
    for (const auto& [name, type] : inputs_) {
      if (!parsed->contains(name)) {
        out->value = absl::InvalidArgumentError(absl::StrCat(
            "line ", line_, ": missing input '", name, "' (give null for a missing value)"));
        return true;
      }
    }
    out->value = *std::move(parsed);
    return true;
  }

 private:
  std::istream& in_;
  ModelInputs inputs_;
  int64_t line_ = 0;
  int64_t rows_ = 0;
};

template <typename T>
bool ParseWhole(std::string_view text, T* value) {
  if (text.starts_with('+')) text.remove_prefix(1);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

StatusOr<Json> CsvCell(const std::string& text, const std::string& type) {
  if (text.empty() || text == "NA") return Json(nullptr);
  if (type == "string") return Json(text);
  if (type == "bool") {
    const std::string lower = absl::AsciiStrToLower(text);
    if (lower == "true") return Json(true);
    if (lower == "false") return Json(false);
    return absl::InvalidArgumentError("expected true or false, got '" + Shown(text) + "'");
  }
  if (type == "int64") {
    int64_t i = 0;
    if (ParseWhole(text, &i)) return Json(i);
  }
  if (type == "int64" || type == "float64") {
    double d = 0;
    if (ParseWhole(text, &d)) return std::isnan(d) ? Json(nullptr) : Json(d);
    return absl::InvalidArgumentError(
        std::string(type == "int64" ? "expected an integer" : "expected a number") + ", got '" +
        Shown(text) + "'");
  }
  return absl::InvalidArgumentError("unknown input type '" + Shown(type) + "'");
}

StatusOr<std::unique_ptr<RowReader>> NewCsvRowReader(std::istream& in, const ModelInputs& inputs) {
  auto reader = std::make_unique<CsvRowReader>(in, inputs);
  RETURN_IF_ERROR(reader->ReadHeader());
  return std::unique_ptr<RowReader>(std::move(reader));
}

std::unique_ptr<RowReader> NewJsonLinesRowReader(std::istream& in, const ModelInputs& inputs) {
  return std::make_unique<JsonLinesRowReader>(in, inputs);
}

}  // namespace plinth::edge
