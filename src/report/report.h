// Documents generated from a model version's evidence (docs/evidence.md, docs/reports.md): the
// model card (the Model Card Toolkit's fields as JSON, rendered to Markdown and HTML through mstch
// templates), the validation report (one self-contained HTML page), the lineage diagram (DOT,
// drawn to SVG through Graphviz in process) and the model inventory (CSV, HTML).
//
// Every function reads JSON that may be partial: a member that is absent, null or of the wrong
// type is "not recorded", shown as such, never an error. The functions know nothing about the
// platform; the caller assembles the evidence and stores the documents (as artifacts referenced
// from the attestation).
#ifndef PLINTH_REPORT_REPORT_H_
#define PLINTH_REPORT_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::report {

// --- Model card ---------------------------------------------------------------------------------

// The Model Card Toolkit's schema filled from the evidence:
//   model_details {name, overview, documentation, owners[{name, contact}],
//                  version{name, date, diff}, licenses[{identifier, custom_text}],
//                  references[{reference}], citations[{style, citation}], path,
//                  regulatory_requirements}
//   model_parameters {model_architecture, data[{name, link, sensitive{sensitive_data[]},
//                     graphics{description, collection[]}}], input_format, output_format}
//   quantitative_analysis {performance_metrics[{type, value, slice, confidence_interval?}],
//                          graphics{description, collection[{name, image}]}}
//   considerations {users[{description}], use_cases[{description}],
//                   limitations[{description}], tradeoffs[{description}],
//                   ethical_considerations[{name, mitigation_strategy}],
//                   fairness_assessment[{group_at_risk, benefits, harms, mitigation_strategy}]}
// Overall metrics have slice ""; fairness metrics per group have slice "addr_state=CA". Images
// are SVG plots as "data:image/svg+xml;base64,..." URIs, so the JSON stays one string per image
// and the HTML card never has to trust markup from a card it is handed.
Json BuildModelCard(const Json& evidence);

// The fields a complete card must have, as dotted paths that are missing or empty, in schema
// order: model_details.{name, overview, owners, version.name}, model_parameters.
// {model_architecture, data (each with a name)}, quantitative_analysis.performance_metrics,
// considerations.{use_cases, limitations}, and considerations.ethical_considerations when a data
// set has sensitive (protected) attributes. Empty when the card is complete.
std::vector<std::string> MissingCardFields(const Json& card);

// The card as Markdown (## Model details, ## Model parameters, ## Intended use, ## Limitations,
// ## Performance, ## Fairness, ## Ethical considerations, ## Completeness). User text is escaped
// for Markdown (table pipes, newlines, inline HTML).
StatusOr<std::string> RenderCardMarkdown(const Json& card);
// The card as one self-contained HTML page; every value is HTML-escaped.
StatusOr<std::string> RenderCardHtml(const Json& card);

// --- Validation report --------------------------------------------------------------------------

// The fixed ids of the report's sections (<h2 id="..."> opening each <section>), in order.
const std::vector<std::string>& ValidationReportSectionIds();

// One self-contained HTML page: summary, data validation, performance (metrics; ROC,
// calibration and score histogram plots from evaluation.test), stability (PSI), fairness (table
// and disparate impact bars), explanations (global importance bars, partial dependence),
// policy results (each rule PASS/FAIL/WARN with its message), lineage (the diagram as SVG),
// approvals and stage history, import scan. Missing evidence renders as "not recorded".
StatusOr<std::string> RenderValidationReport(const Json& evidence);

// --- Lineage ------------------------------------------------------------------------------------

// The lineage graph of the evidence: evidence.lineage.graph ({nodes[{id, kind, label}],
// edges[{from, to, label}]}) when recorded, else one built from lineage.datasets,
// feature_definitions, run_id, pipeline and environment; plus the model version and its
// deployments (from model and deployments) when the graph lacks them.
Json LineageGraph(const Json& evidence);

// Normalized {nodes, edges}: nodes deduplicated by id and sorted, each {id, kind, label} (kind
// "other" when unknown, label = id when absent); edges deduplicated and sorted, each
// {from, to, label}; an edge's missing endpoint becomes a node of kind "other".
Json LineageJson(const Json& graph);

// Deterministic DOT of LineageJson(graph): left to right from raw data to deployment, one
// shape and colour per kind (dataset, validation, training_set, feature_definition, run,
// execution, pipeline, environment, model, version, deployment).
std::string LineageDot(const Json& graph);

// Lays `dot` out and draws it as SVG through libgvc, in process. The result starts at "<svg"
// (no XML prolog, so it can be inlined in HTML). Calls are serialized (Graphviz keeps global
// state). InvalidArgument when the DOT does not parse or cannot be laid out.
StatusOr<std::string> DotToSvg(std::string_view dot);

// --- Inventory ----------------------------------------------------------------------------------

// The inventory columns, in order: project, name, version, stage, risk_tier, owner,
// last_validation, open_findings, aliases, kind.
const std::vector<std::string>& InventoryColumns();

// One inventory row from a version's evidence: last_validation is the time of the latest
// "validate" decision (null if none); open_findings counts the failed blocking rules of the
// latest decision of each policy, open approval requests (approvals.open_requests, a count or a
// list) and an unclean import scan.
Json InventoryRow(const Json& evidence);

// `rows` (an array of objects with the columns above) as CSV: a header line, CRLF line ends,
// RFC 4180 quoting; aliases joined with ";"; text cells beginning with = + - @ are prefixed with
// ' so a spreadsheet does not run them as formulas.
std::string InventoryCsv(const Json& rows);

// The rows as one self-contained HTML page with a table; every value is HTML-escaped.
StatusOr<std::string> InventoryHtml(const Json& rows);

}  // namespace plinth::report

#endif  // PLINTH_REPORT_REPORT_H_
