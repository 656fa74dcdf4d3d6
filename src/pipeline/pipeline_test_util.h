// Shared by the executor and command step tests: a temporary folder, a recorded event stream and
// a harness that parses a spec against a registry and runs it.
#ifndef PLINTH_PIPELINE_PIPELINE_TEST_UTIL_H_
#define PLINTH_PIPELINE_PIPELINE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/environment.h"
#include "pipeline/executor.h"
#include "pipeline/output_store.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/step_cache.h"
#include "pipeline/step_registry.h"

namespace plinth::pipeline::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/pipeline-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Every event, in order, from whichever thread.
class EventLog {
 public:
  EventObserver Observer() {
    return [this](const PipelineEvent& event) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(event);
    };
  }
  std::vector<PipelineEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // "kind:step" for every event but logs and progress, for order checks.
  std::vector<std::string> Summary() const {
    std::vector<std::string> out;
    for (const PipelineEvent& e : events()) {
      if (e.kind == EventKind::kStepLog || e.kind == EventKind::kStepProgress) continue;
      out.push_back(EventKindName(e.kind) + (e.step.empty() ? "" : ":" + e.step));
    }
    return out;
  }
  int Count(EventKind kind, const std::string& step = "") const {
    int n = 0;
    for (const PipelineEvent& e : events()) n += e.kind == kind && (step.empty() || e.step == step);
    return n;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    events_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<PipelineEvent> events_;
};

// A registry, approved environments, an output store and a cache under a temporary folder.
class Harness {
 public:
  Harness() {
    StatusOr<std::unique_ptr<DirectoryOutputStore>> store =
        DirectoryOutputStore::Create(dir_.path() + "/store");
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    std::filesystem::create_directories(work_dir());
    StatusOr<EnvironmentCatalog> catalog = ParseEnvironments(
        "environments:\n"
        "  - name: shell\n"
        "    description: POSIX shell and tools\n"
        "    version: debian-12\n"
        "  - name: greeting\n"
        "    description: a host environment with a prefix and variables\n"
        "    version: '1'\n"
        "    command: [/usr/bin/env, GREETING=hello]\n"
        "    env:\n"
        "      FOO: bar\n"
        "  - name: scoring\n"
        "    description: an image\n"
        "    image: registry.example/scoring\n"
        "    digest: sha256:" +
            std::string(64, 'b') + "\n",
        "environments.yaml");
    EXPECT_TRUE(catalog.ok()) << catalog.status();
    environments_ = *catalog;
  }

  std::string work_dir() const { return dir_.path() + "/work"; }
  const std::string& root() const { return dir_.path(); }

  PipelineSpec Parse(const std::string& yaml) {
    PipelineParseOptions options;
    options.registry = &registry;
    options.environments = &environments_;
    StatusOr<PipelineSpec> spec = ParsePipeline(yaml, "p.yaml", options);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.ok() ? *std::move(spec) : PipelineSpec();
  }

  ExecutorOptions Options() {
    ExecutorOptions options;
    options.output_store = store_.get();
    options.cache = &cache;
    options.parallelism = 4;
    options.observer = events.Observer();
    options.work_dir = work_dir();
    options.retry_backoff = std::chrono::milliseconds(5);
    options.command.kill_grace = std::chrono::milliseconds(500);
    return options;
  }

  RunResult Run(const PipelineSpec& spec, const std::vector<std::string>& overrides = {},
                std::optional<ExecutorOptions> options = std::nullopt) {
    StatusOr<ParameterValues> params = ResolveParameters(spec, overrides);
    EXPECT_TRUE(params.ok()) << params.status();
    StatusOr<RunResult> result = RunPipeline(spec, params.ok() ? *params : ParameterValues(),
                                             registry, options ? *options : Options());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : RunResult();
  }

  // The bytes of a step's output.
  std::string Output(const RunResult& result, const std::string& step, const std::string& name) {
    const StepOutcome* outcome = result.Find(step);
    EXPECT_NE(outcome, nullptr) << step;
    if (outcome == nullptr || outcome->outputs.count(name) == 0) return "<none>";
    StatusOr<std::string> path = store_->LocalPath(outcome->outputs.at(name));
    EXPECT_TRUE(path.ok());
    return path.ok() ? ReadText(*path) : "<missing>";
  }

  StepRegistry registry;
  InMemoryStepCache cache;
  EventLog events;
  std::unique_ptr<DirectoryOutputStore> store_;

 private:
  TempDir dir_;
  EnvironmentCatalog environments_;
};

}  // namespace plinth::pipeline::testing

#endif  // PLINTH_PIPELINE_PIPELINE_TEST_UTIL_H_
