// The lineage diagram: the evidence's graph normalized, as deterministic DOT, and drawn to SVG
// through Graphviz's libraries in process (no `dot` child process, no temporary files).
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "report/common.h"
#include "report/report.h"

namespace plinth::report {
namespace {

struct KindStyle {
  const char* kind;
  const char* shape;
  const char* fill;
};

constexpr KindStyle kKindStyles[] = {
    {"dataset", "cylinder", "#dbeafe"},
    {"validation", "note", "#dcfce7"},
    {"feature_definition", "component", "#e0e7ff"},
    {"training_set", "folder", "#cffafe"},
    {"pipeline", "hexagon", "#f3e8ff"},
    {"environment", "tab", "#f1f5f9"},
    {"run", "box", "#fef9c3"},
    {"execution", "box", "#fefce8"},
    {"model", "box3d", "#ffedd5"},
    {"version", "box3d", "#fed7aa"},
    {"deployment", "doubleoctagon", "#fecaca"},
};
constexpr KindStyle kOtherStyle = {"other", "ellipse", "#ffffff"};

const KindStyle& StyleOf(const std::string& kind) {
  for (const KindStyle& style : kKindStyles) {
    if (kind == style.kind) return style;
  }
  return kOtherStyle;
}

// A DOT quoted string. Backslashes are doubled so user text cannot form label escapes (\N, \G).
std::string DotQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

bool HasKind(const Json& nodes, std::string_view kind) {
  for (const Json& n : nodes) {
    if (Text(Member(n, "kind")) == kind) return true;
  }
  return false;
}

// The first node of `kind`, preferring one whose id or label contains `hint`.
std::string FindNode(const Json& nodes, std::string_view kind, const std::string& hint) {
  std::string first;
  for (const Json& n : nodes) {
    if (Text(Member(n, "kind")) != kind) continue;
    std::string id = Text(Member(n, "id"));
    if (!hint.empty() && (id.find(hint) != std::string::npos ||
                          Text(Member(n, "label")).find(hint) != std::string::npos)) {
      return id;
    }
    if (first.empty()) first = id;
  }
  return first;
}

// Graphviz reports errors through one global callback; DotToSvg holds kGraphvizMutex while it
// is installed, so this buffer has one writer.
std::string* graphviz_errors = nullptr;

int CollectGraphvizError(char* message) {
  if (graphviz_errors != nullptr && message != nullptr) *graphviz_errors += message;
  return 0;
}

std::mutex& GraphvizMutex() {
  static std::mutex* const mu = new std::mutex;
  return *mu;
}

}  // namespace

Json LineageGraph(const Json& evidence) {
  const Json& lineage = Member(evidence, "lineage");
  const Json& model = Member(evidence, "model");
  Json nodes = Json::array(), edges = Json::array();
  const Json& recorded = Member(lineage, "graph");
  if (Member(recorded, "nodes").is_array()) {
    nodes = Member(recorded, "nodes");
    if (Member(recorded, "edges").is_array()) edges = Member(recorded, "edges");
  } else {
    // No recorded graph: the lineage summary's inputs all feed the run.
    std::string run_id = Text(Member(lineage, "run_id"));
    std::string run = run_id.empty() ? "" : "run/" + run_id;
    if (!run.empty()) nodes.push_back({{"id", run}, {"kind", "run"}, {"label", "run " + run_id}});
    auto input = [&](const std::string& id, const char* kind, const std::string& label) {
      nodes.push_back({{"id", id}, {"kind", kind}, {"label", label}});
      if (!run.empty()) edges.push_back({{"from", id}, {"to", run}, {"label", ""}});
    };
    if (const Json& datasets = Member(lineage, "datasets"); datasets.is_array()) {
      for (const Json& d : datasets) {
        std::string label = Text(Member(d, "name"));
        if (std::string v = Text(Member(d, "version")); !v.empty()) label += "@" + v;
        input("dataset/" + label, "dataset", label);
      }
    }
    if (const Json& defs = Member(lineage, "feature_definitions"); defs.is_array()) {
      for (const Json& f : defs) {
        std::string name = Text(Member(f, "name"));
        input("feature_definition/" + name, "feature_definition", name);
      }
    }
    if (std::string p = Text(Member(lineage, "pipeline")); !p.empty()) {
      input("pipeline/" + p, "pipeline", "pipeline " + p);
    }
    if (std::string e = Text(Member(lineage, "environment")); !e.empty()) {
      input("environment/" + e, "environment", "environment " + e.substr(0, 19));
    }
  }

  std::string name = Text(Member(model, "name"));
  std::string version_label = name;
  if (std::string v = Text(Member(model, "version")); !v.empty()) version_label += "@" + v;
  std::string version = FindNode(nodes, "version", version_label);
  if (version.empty() && !name.empty()) {
    version = "version/" + version_label;
    nodes.push_back({{"id", version}, {"kind", "version"}, {"label", version_label}});
    std::string run = FindNode(nodes, "run", Text(Member(lineage, "run_id")));
    if (run.empty()) run = FindNode(nodes, "run", Text(Member(model, "run_id")));
    if (!run.empty()) edges.push_back({{"from", run}, {"to", version}, {"label", "produced"}});
  }
  const Json& deployments = Member(evidence, "deployments");
  if (!version.empty() && deployments.is_array() && !HasKind(nodes, "deployment")) {
    for (const Json& d : deployments) {
      std::string env = Text(Member(d, "env"));
      if (env.empty()) continue;
      std::string id = "deployment/" + version_label + "/" + env;
      std::string label = env;
      if (std::string at = Text(Member(d, "at")); !at.empty()) label += "\n" + at;
      nodes.push_back({{"id", id}, {"kind", "deployment"}, {"label", label}});
      edges.push_back({{"from", version}, {"to", id}, {"label", "deployed"}});
    }
  }
  return {{"nodes", nodes}, {"edges", edges}};
}

Json LineageJson(const Json& graph) {
  std::map<std::string, Json> nodes;
  if (const Json& list = Member(graph, "nodes"); list.is_array()) {
    for (const Json& n : list) {
      std::string id = Text(Member(n, "id"));
      if (id.empty() || nodes.count(id)) continue;
      std::string kind = Text(Member(n, "kind"));
      std::string label = Text(Member(n, "label"));
      nodes[id] = {{"id", id},
                   {"kind", kind.empty() ? "other" : kind},
                   {"label", label.empty() ? id : label}};
    }
  }
  std::set<std::tuple<std::string, std::string, std::string>> edges;
  if (const Json& list = Member(graph, "edges"); list.is_array()) {
    for (const Json& e : list) {
      std::string from = Text(Member(e, "from")), to = Text(Member(e, "to"));
      if (from.empty() || to.empty()) continue;
      for (const std::string& id : {from, to}) {
        if (!nodes.count(id)) nodes[id] = {{"id", id}, {"kind", "other"}, {"label", id}};
      }
      edges.insert({from, to, Text(Member(e, "label"))});
    }
  }
  Json out_nodes = Json::array(), out_edges = Json::array();
  for (auto& [id, node] : nodes) out_nodes.push_back(std::move(node));
  for (const auto& [from, to, label] : edges) {
    out_edges.push_back({{"from", from}, {"to", to}, {"label", label}});
  }
  return {{"nodes", out_nodes}, {"edges", out_edges}};
}

std::string LineageDot(const Json& graph) {
  const Json normalized = LineageJson(graph);
  std::string dot =
      "digraph lineage {\n"
      "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=10, nodesep=0.35, ranksep=0.6];\n"
      "  node [fontname=\"Helvetica\", fontsize=10, style=filled, color=\"#52606d\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#7b8794\"];\n";
  for (const Json& n : normalized["nodes"]) {
    const std::string kind = n["kind"].get<std::string>();
    const KindStyle& style = StyleOf(kind);
    absl::StrAppend(&dot, "  ", DotQuote(n["id"].get<std::string>()),
                    " [label=", DotQuote(n["label"].get<std::string>() + "\n" + kind),
                    ", shape=", style.shape, ", fillcolor=\"", style.fill,
                    "\", tooltip=", DotQuote(n["id"].get<std::string>()), "];\n");
  }
  for (const Json& e : normalized["edges"]) {
    absl::StrAppend(&dot, "  ", DotQuote(e["from"].get<std::string>()), " -> ",
                    DotQuote(e["to"].get<std::string>()));
    if (std::string label = e["label"].get<std::string>(); !label.empty()) {
      absl::StrAppend(&dot, " [label=", DotQuote(label), "]");
    }
    dot += ";\n";
  }
  return dot + "}\n";
}

StatusOr<std::string> DotToSvg(std::string_view dot) {
  const std::string text(dot);  // agmemread needs a terminated string
  std::lock_guard<std::mutex> lock(GraphvizMutex());
  std::string errors;
  graphviz_errors = &errors;
  const agusererrf previous_handler = agseterrf(CollectGraphvizError);
  // Restores the global handler on every return path below.
  struct Restore {
    agusererrf handler;
    ~Restore() {
      agseterrf(handler);
      graphviz_errors = nullptr;
      agreseterrors();
    }
  } restore{previous_handler};

  // One context for the process, never freed: Graphviz 2.43 caches text-size estimates by font
  // name pointers that a freed context leaves dangling (a use-after-free in the next context's
  // layout, found under AddressSanitizer). The mutex above serialises its use.
  static GVC_t* const gvc = gvContext();
  if (gvc == nullptr) return absl::InternalError("Graphviz: no context");
  Agraph_t* graph = agmemread(text.c_str());
  if (graph == nullptr) {
    return absl::InvalidArgumentError("DOT does not parse" +
                                      (errors.empty() ? std::string() : ": " + errors));
  }
  if (gvLayout(gvc, graph, "dot") != 0) {
    agclose(graph);
    return absl::InvalidArgumentError("Graphviz cannot lay the graph out" +
                                      (errors.empty() ? std::string() : ": " + errors));
  }
  char* data = nullptr;
  unsigned int length = 0;
  const int rendered = gvRenderData(gvc, graph, "svg", &data, &length);
  std::string svg;
  if (rendered == 0 && data != nullptr) svg.assign(data, length);
  if (data != nullptr) gvFreeRenderData(data);
  gvFreeLayout(gvc, graph);
  agclose(graph);
  // Graphviz writes an XML prolog, a DOCTYPE and a comment first: drop them so the SVG can be
  // inlined in HTML.
  const size_t start = svg.find("<svg");
  if (rendered != 0 || start == std::string::npos) {
    return absl::InvalidArgumentError("Graphviz cannot render SVG" +
                                      (errors.empty() ? std::string() : ": " + errors));
  }
  return svg.substr(start);
}

}  // namespace plinth::report
