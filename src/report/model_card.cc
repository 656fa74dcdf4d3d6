// The model card: the Model Card Toolkit's fields filled from the evidence, the fields a complete
// card needs, and its Markdown and HTML renderings (mstch templates in templates.cc).
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "core/html.h"
#include "report/common.h"
#include "report/report.h"
#include "report/templates.h"
#include "train/evaluation.h"

namespace plinth::report {
namespace {

// The per-group fairness measures of the evidence, in the order they are reported.
constexpr const char* kFairnessMeasures[] = {"disparate_impact",
                                             "statistical_parity_difference",
                                             "equal_opportunity_difference",
                                             "average_odds_difference",
                                             "selection_rate",
                                             "auc"};

// [{description}] from a string or a list of strings / {description} objects.
Json Descriptions(const Json& value) {
  Json out = Json::array();
  if (value.is_array()) {
    for (const Json& element : value) {
      std::string text = element.is_object() ? Text(Member(element, "description")) : Text(element);
      if (!text.empty()) out.push_back({{"description", text}});
    }
  } else if (std::string text = Text(value); !text.empty()) {
    out.push_back({{"description", text}});
  }
  return out;
}

// [{key: text}] from a string or a list of strings / objects already in that shape.
Json Keyed(const Json& value, const char* key) {
  Json out = Json::array();
  if (value.is_array()) {
    for (const Json& element : value) {
      if (element.is_object() && IsNonEmpty(element)) {
        out.push_back(element);
      } else if (std::string text = Text(element); !text.empty()) {
        out.push_back({{key, text}});
      }
    }
  } else if (std::string text = Text(value); !text.empty()) {
    out.push_back({{key, text}});
  }
  return out;
}

// The evaluation JSON's metrics (train/trainer.h Evaluation::json["metrics"]), or the metrics
// themselves when the evidence stores BinaryMetrics::ToJson() directly.
const Json& EvaluationMetrics(const Json& evaluation) {
  const Json& nested = Member(evaluation, "metrics");
  return nested.is_object() ? nested : evaluation;
}

Json Graphics(const Json& evidence) {
  const Json& test = EvaluationMetrics(At(evidence, "evaluation.test"));
  Json collection = Json::array();
  const std::pair<const char*, std::string> plots[] = {
      {"ROC curve", RocCurveSvg(test)},
      {"Calibration by decile", CalibrationSvg(test)},
      {"Score distribution by class", ScoreHistogramSvg(test)}};
  for (const auto& [name, svg] : plots) {
    if (!svg.empty()) collection.push_back({{"name", name}, {"image", SvgDataUri(svg)}});
  }
  if (collection.empty()) return Json::object();
  return {{"description", "Evaluation on the test set"}, {"collection", collection}};
}

Json PerformanceMetrics(const Json& evidence) {
  Json out = Json::array();
  const Json& metrics = Member(evidence, "metrics");
  if (metrics.is_object()) {
    // nlohmann's object is a sorted map, so the order is stable.
    for (const auto& [type, value] : metrics.items()) {
      if (!value.is_number()) continue;
      out.push_back({{"type", type}, {"value", value}, {"slice", ""}});
    }
  }
  const Json& attributes = At(evidence, "fairness.attributes");
  if (attributes.is_object()) {
    for (const auto& [attribute, result] : attributes.items()) {
      const Json& groups = Member(result, "groups");
      if (!groups.is_array()) continue;
      for (const Json& group : groups) {
        const std::string slice = attribute + "=" + Text(Member(group, "group"));
        for (const char* measure : kFairnessMeasures) {
          const Json& value = Member(group, measure);
          if (value.is_number()) {
            out.push_back({{"type", measure}, {"value", value}, {"slice", slice}});
          }
        }
      }
    }
  }
  return out;
}

// Ethical considerations: those the owner declared, else one per protected attribute stated
// from what was measured (none when nothing was: a complete card then needs a declared one).
Json EthicalConsiderations(const Json& evidence) {
  Json out = Json::array();
  const Json& declared = At(evidence, "model.ethical_considerations");
  if (declared.is_array()) {
    for (const Json& e : declared) {
      if (e.is_object()) {
        out.push_back({{"name", Text(Member(e, "name"))},
                       {"mitigation_strategy", Text(Member(e, "mitigation_strategy"))}});
      } else if (std::string text = Text(e); !text.empty()) {
        out.push_back({{"name", text}, {"mitigation_strategy", ""}});
      }
    }
  }
  if (!out.empty()) return out;
  const std::vector<std::string> features = TextList(Member(evidence, "features"));
  const std::set<std::string> inputs(features.begin(), features.end());
  for (const std::string& attribute : TextList(Member(evidence, "protected"))) {
    const Json& result = Member(At(evidence, "fairness.attributes"), attribute);
    if (!result.is_object()) continue;
    std::string mitigation =
        inputs.count(attribute) ? "Used as a model input; " : "Not a model input; ";
    mitigation += "outcomes measured across its groups";
    if (double di = Number(Member(result, "disparate_impact_min")); std::isfinite(di)) {
      mitigation += ": minimum disparate impact " + FormatNumber(di);
    }
    if (std::string ref = Text(Member(result, "reference_group")); !ref.empty()) {
      mitigation += " against reference group " + ref;
    }
    mitigation += ".";
    out.push_back({{"name", "Disparate outcomes by protected attribute " + attribute},
                   {"mitigation_strategy", mitigation}});
  }
  return out;
}

// Groups below the four-fifths rule's 0.8 disparate impact.
Json FairnessAssessment(const Json& evidence) {
  Json out = Json::array();
  const Json& attributes = At(evidence, "fairness.attributes");
  if (!attributes.is_object()) return out;
  for (const auto& [attribute, result] : attributes.items()) {
    const Json& groups = Member(result, "groups");
    if (!groups.is_array()) continue;
    for (const Json& group : groups) {
      double di = Number(Member(group, "disparate_impact"));
      if (std::isfinite(di) && di < 0.8) {
        out.push_back({{"group_at_risk", attribute + "=" + Text(Member(group, "group"))},
                       {"benefits", ""},
                       {"harms", "disparate impact " + FormatNumber(di) + " (below 0.8)"},
                       {"mitigation_strategy", ""}});
      }
    }
  }
  return out;
}

std::string OutputFormat(const std::string& task) {
  if (task == "binary_classification") return "probability of the positive class, in [0, 1]";
  if (task == "regression") return "predicted value";
  return task;
}

// Empty strings become "not recorded", so a template never falls back to an outer name.
std::string OrNotRecorded(std::string text) { return text.empty() ? kNotRecorded : text; }

// The templates' view of a card: every scalar present (possibly "not recorded"), lists split
// into overall metrics and fairness slices, has_* flags for table headers.
Json CardView(const Json& card) {
  const Json& details = Member(card, "model_details");
  const Json& params = Member(card, "model_parameters");
  const Json& quant = Member(card, "quantitative_analysis");
  const Json& cons = Member(card, "considerations");
  Json view = Json::object();
  auto scalar = [&](const char* key, const Json& value) { view[key] = OrNotRecorded(Text(value)); };
  scalar("name", Member(details, "name"));
  scalar("overview", Member(details, "overview"));
  scalar("documentation", Member(details, "documentation"));
  scalar("path", Member(details, "path"));
  scalar("regulatory_requirements", Member(details, "regulatory_requirements"));
  scalar("version_name", At(details, "version.name"));
  scalar("version_date", At(details, "version.date"));
  scalar("version_diff", At(details, "version.diff"));
  scalar("model_architecture", Member(params, "model_architecture"));
  scalar("input_format", Member(params, "input_format"));
  scalar("output_format", Member(params, "output_format"));

  Json owners = Json::array();
  if (const Json& list = Member(details, "owners"); list.is_array()) {
    for (const Json& o : list) {
      owners.push_back({{"name", OrNotRecorded(Text(Member(o, "name")))},
                        {"contact", OrNotRecorded(Text(Member(o, "contact")))}});
    }
  }
  view["owners"] = owners;
  auto texts = [&](const char* key, const Json& list, std::initializer_list<const char*> fields) {
    Json out = Json::array();
    if (list.is_array()) {
      for (const Json& element : list) {
        std::vector<std::string> parts;
        for (const char* field : fields) {
          if (std::string t = Text(Member(element, field)); !t.empty()) parts.push_back(t);
        }
        if (std::string t = Text(element); !t.empty()) parts.push_back(t);
        if (!parts.empty()) out.push_back({{"text", absl::StrJoin(parts, ": ")}});
      }
    }
    view[key] = out;
  };
  texts("licenses", Member(details, "licenses"), {"identifier", "custom_text"});
  texts("references", Member(details, "references"), {"reference"});
  texts("citations", Member(details, "citations"), {"style", "citation"});
  view["has_sources"] =
      !view["licenses"].empty() || !view["references"].empty() || !view["citations"].empty();

  Json data = Json::array();
  if (const Json& list = Member(params, "data"); list.is_array()) {
    for (const Json& d : list) {
      data.push_back({{"name", OrNotRecorded(Text(Member(d, "name")))},
                      {"link", OrNotRecorded(Text(Member(d, "link")))},
                      {"sensitive", OrNotRecorded(absl::StrJoin(
                                        TextList(At(d, "sensitive.sensitive_data")), ", "))}});
    }
  }
  view["data"] = data;

  auto descriptions = [&](const char* key, const Json& list) {
    Json out = Json::array();
    for (const Json& d : Descriptions(list)) out.push_back(d);
    view[key] = out;
  };
  descriptions("users", Member(cons, "users"));
  descriptions("use_cases", Member(cons, "use_cases"));
  descriptions("limitations", Member(cons, "limitations"));
  descriptions("tradeoffs", Member(cons, "tradeoffs"));

  Json ethical = Json::array();
  if (const Json& list = Member(cons, "ethical_considerations"); list.is_array()) {
    for (const Json& e : list) {
      ethical.push_back(
          {{"name", OrNotRecorded(Text(Member(e, "name")))},
           {"mitigation_strategy", OrNotRecorded(Text(Member(e, "mitigation_strategy")))}});
    }
  }
  view["ethical"] = ethical;
  Json assessment = Json::array();
  if (const Json& list = Member(cons, "fairness_assessment"); list.is_array()) {
    for (const Json& a : list) {
      assessment.push_back(
          {{"group_at_risk", OrNotRecorded(Text(Member(a, "group_at_risk")))},
           {"mitigation_strategy", OrNotRecorded(Text(Member(a, "mitigation_strategy")))}});
    }
  }
  view["fairness_assessment"] = assessment;

  Json metrics = Json::array(), fairness = Json::array();
  if (const Json& list = Member(quant, "performance_metrics"); list.is_array()) {
    for (const Json& m : list) {
      const Json& value = Member(m, "value");
      std::string text = value.is_number_float() ? FormatNumber(value.get<double>()) : Text(value);
      std::string interval;
      if (const Json& ci = Member(m, "confidence_interval"); ci.is_object()) {
        interval =
            "[" + Text(Member(ci, "lower_bound")) + ", " + Text(Member(ci, "upper_bound")) + "]";
      }
      Json row = {{"type", OrNotRecorded(Text(Member(m, "type")))},
                  {"value", OrNotRecorded(text)},
                  {"slice", Text(Member(m, "slice"))},
                  {"interval", OrNotRecorded(interval)}};
      (row["slice"].get<std::string>().empty() ? metrics : fairness).push_back(row);
    }
  }
  view["metrics"] = metrics;
  view["fairness"] = fairness;
  Json graphics = Json::array();
  if (const Json& list = At(quant, "graphics.collection"); list.is_array()) {
    for (const Json& g : list) {
      // Only data URIs of images go into <img src>; anything else (raw markup, other URL
      // schemes) from a card handed in is left out rather than trusted.
      std::string image = Text(Member(g, "image"));
      if (!absl::StartsWith(image, "data:image/")) continue;
      graphics.push_back({{"name", OrNotRecorded(Text(Member(g, "name")))}, {"image", image}});
    }
  }
  view["graphics"] = graphics;
  view["graphics_description"] = OrNotRecorded(Text(At(quant, "graphics.description")));

  for (const char* list : {"data", "metrics", "fairness", "graphics", "ethical", "users",
                           "use_cases", "limitations", "tradeoffs", "fairness_assessment"}) {
    view[std::string("has_") + list] = !view[list].empty();
  }
  Json missing = Json::array();
  for (const std::string& path : MissingCardFields(card)) missing.push_back({{"path", path}});
  view["missing"] = missing;
  view["complete"] = missing.empty();
  view["style"] = std::string(kStyle);
  return view;
}

}  // namespace

Json BuildModelCard(const Json& evidence) {
  const Json& model = Member(evidence, "model");
  const std::vector<std::string> protected_attributes = TextList(Member(evidence, "protected"));
  const Json sensitive = {{"sensitive_data", protected_attributes}};

  Json owners = Json::array();
  for (const std::string& owner : TextList(Member(model, "owner"))) {
    owners.push_back({{"name", owner}, {"contact", Text(Member(model, "owner_contact"))}});
  }
  Json version = Json::object();
  if (std::string v = Text(Member(model, "version")); !v.empty()) version["name"] = v;
  if (std::string date = Text(Member(model, "registered_at")); !date.empty()) {
    version["date"] = date;
  }
  if (std::string diff = Text(Member(model, "version_diff")); !diff.empty()) {
    version["diff"] = diff;
  }
  Json licenses = Json::array();
  for (const Json& l : Keyed(Member(model, "licenses"), "identifier")) licenses.push_back(l);

  Json details = {{"name", Text(Member(model, "name"))},
                  {"overview", Text(Member(model, "description"))},
                  {"documentation", Text(Member(model, "documentation"))},
                  {"owners", owners},
                  {"version", version},
                  {"licenses", licenses},
                  {"references", Keyed(Member(model, "references"), "reference")},
                  {"citations", Keyed(Member(model, "citations"), "citation")},
                  {"path", Text(Member(model, "digest"))},
                  {"regulatory_requirements",
                   absl::StrJoin(TextList(Member(model, "regulatory_scope")), ", ")}};

  Json data = Json::array();
  if (const Json& datasets = At(evidence, "lineage.datasets"); datasets.is_array()) {
    for (const Json& d : datasets) {
      std::string name = Text(Member(d, "name"));
      if (std::string v = Text(Member(d, "version")); !v.empty()) name += "@" + v;
      data.push_back({{"name", name},
                      {"link", Text(Member(d, "digest"))},
                      {"sensitive", sensitive},
                      {"graphics", {{"description", ""}, {"collection", Json::array()}}}});
    }
  }
  if (data.empty() && !protected_attributes.empty()) {
    // The protected attributes are known but not the data set: keep them on the card, and let
    // MissingCardFields name the data set's name as missing.
    data.push_back({{"name", ""},
                    {"link", ""},
                    {"sensitive", sensitive},
                    {"graphics", {{"description", ""}, {"collection", Json::array()}}}});
  }
  std::string architecture = Text(Member(model, "kind"));
  if (std::string task = Text(Member(model, "task")); !task.empty()) {
    architecture += architecture.empty() ? task : " (" + task + ")";
  }
  std::string input_format;
  if (std::vector<std::string> f = TextList(Member(evidence, "features")); !f.empty()) {
    input_format = "features: " + absl::StrJoin(f, ", ");
  }
  if (const Json& monotone = Member(evidence, "monotone");
      monotone.is_object() && !monotone.empty()) {
    std::vector<std::string> parts;
    for (const auto& [feature, direction] : monotone.items()) {
      parts.push_back(feature + (Number(direction) < 0 ? " decreasing" : " increasing"));
    }
    input_format += "; monotone: " + absl::StrJoin(parts, ", ");
  }
  Json parameters = {{"model_architecture", architecture},
                     {"data", data},
                     {"input_format", input_format},
                     {"output_format", OutputFormat(Text(Member(model, "task")))}};

  Json quantitative = {{"performance_metrics", PerformanceMetrics(evidence)},
                       {"graphics", Graphics(evidence)}};

  Json considerations = {{"users", Descriptions(Member(model, "users"))},
                         {"use_cases", Descriptions(Member(model, "intended_use"))},
                         {"limitations", Descriptions(Member(model, "limitations"))},
                         {"tradeoffs", Descriptions(Member(model, "tradeoffs"))},
                         {"ethical_considerations", EthicalConsiderations(evidence)},
                         {"fairness_assessment", FairnessAssessment(evidence)}};

  return {{"schema_version", "0.0.2"},
          {"model_details", details},
          {"model_parameters", parameters},
          {"quantitative_analysis", quantitative},
          {"considerations", considerations}};
}

std::vector<std::string> MissingCardFields(const Json& card) {
  std::vector<std::string> missing;
  auto require = [&](const std::string& path) {
    if (!IsNonEmpty(At(card, path))) missing.push_back(path);
  };
  require("model_details.name");
  require("model_details.overview");
  const Json& owners = At(card, "model_details.owners");
  bool has_owner = false;
  if (owners.is_array()) {
    for (const Json& o : owners) has_owner |= IsNonEmpty(Member(o, "name"));
  }
  if (!has_owner) missing.push_back("model_details.owners");
  require("model_details.version.name");
  require("model_parameters.model_architecture");
  const Json& data = At(card, "model_parameters.data");
  bool sensitive = false;
  if (!data.is_array() || data.empty()) {
    missing.push_back("model_parameters.data");
  } else {
    for (size_t i = 0; i < data.size(); ++i) {
      if (!IsNonEmpty(Member(data[i], "name"))) {
        missing.push_back("model_parameters.data[" + std::to_string(i) + "].name");
      }
      sensitive |= IsNonEmpty(At(data[i], "sensitive.sensitive_data"));
    }
  }
  require("quantitative_analysis.performance_metrics");
  require("considerations.use_cases");
  require("considerations.limitations");
  if (sensitive) {
    const Json& ethical = At(card, "considerations.ethical_considerations");
    if (!ethical.is_array() || ethical.empty()) {
      missing.push_back("considerations.ethical_considerations");
    } else {
      for (size_t i = 0; i < ethical.size(); ++i) {
        if (!IsNonEmpty(Member(ethical[i], "mitigation_strategy"))) {
          missing.push_back("considerations.ethical_considerations[" + std::to_string(i) +
                            "].mitigation_strategy");
        }
      }
    }
  }
  return missing;
}

StatusOr<std::string> RenderCardMarkdown(const Json& card) {
  return RenderMustache(kCardMarkdownTemplate, CardView(card),
                        [](const std::string& text) { return MarkdownEscape(text); });
}

StatusOr<std::string> RenderCardHtml(const Json& card) {
  return RenderMustache(kCardHtmlTemplate, CardView(card),
                        [](const std::string& text) { return HtmlEscape(text); });
}

}  // namespace plinth::report
