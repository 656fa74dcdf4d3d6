// In-process scoring latency: the compiled tree ensemble (serve/compiled_model.h) against
// XGBoost's C API (XgboostModel::Predict, one thread) on the same model, run by
// bench/compiled_bench.sh.
//
//   compiled_bench --csv FILE [--trees 300] [--depth 6] [--repeat 5]
//
// Trains XGBoost (binary:logistic, learning rate 0.1, one thread, seed 7) on every row of the CSV
// (target Class, positive "bad"; the lending_club example), compiles the package, checks that both
// sides agree on every row to 1e-6 with every kernel this CPU runs (else exits 1), and prints a
// Markdown table of microseconds per row, the fastest of --repeat passes over the data, XGBoost's
// and the compiled model's passes taken in turn so that both see the same load:
//   single row          one preprocessed row per call (XgboostModel::Predict on 1 row vs
//                       CompiledModel::PredictRow)
//   single row, JSON    a raw row as JSON, preprocessing included (Scorer::PredictRow vs
//                       CompiledModel::PredictJsonRow with a reused buffer)
//   batch of 1,000      1,000 preprocessed rows per call (Predict vs PredictBatch)
// The first three rows use the kernel the CPU selects (named above the table); rows naming a
// kernel repeat the single-row and batch cases with each other kernel the CPU runs. XGBoost gets
// one thread (nthread 1) as a per-request scorer would; run with OMP_WAIT_POLICY=passive (the
// script sets it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "serve/compile.h"
#include "serve/compiled_model.h"
#include "train/trainer.h"
#include "train/xgboost_model.h"

namespace {

using plinth::Json;
using plinth::Status;
using plinth::StatusOr;

int Fail(const Status& status) {
  std::fprintf(stderr, "compiled_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

double Seconds(const std::function<void()>& pass) {
  const auto start = std::chrono::steady_clock::now();
  pass();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds of the fastest of `repeat` calls of `a` and of `b`, called in turn.
std::pair<double, double> Fastest(int repeat, const std::function<void()>& a,
                                  const std::function<void()>& b) {
  double best_a = 1e300, best_b = 1e300;
  for (int i = 0; i < repeat; ++i) {
    best_a = std::min(best_a, Seconds(a));
    best_b = std::min(best_b, Seconds(b));
  }
  return {best_a, best_b};
}

Json RowJson(const plinth::Table& t, size_t r) {
  Json row = Json::object();
  for (const plinth::Column& c : t.columns()) {
    if (c.IsNull(r)) {
      row[c.name()] = nullptr;
    } else if (c.type() == plinth::ColumnType::kString) {
      row[c.name()] = std::string(c.StringAt(r));
    } else if (c.type() == plinth::ColumnType::kInt64) {
      row[c.name()] = c.int64s()[r];
    } else {
      row[c.name()] = *c.NumberAt(r);
    }
  }
  return row;
}

// Keeps results observable so the optimiser cannot drop the scoring.
volatile double g_sink = 0;

}  // namespace

int main(int argc, char** argv) {
  std::string csv;
  int trees = 300, depth = 6, repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--csv")) {
      csv = argv[i + 1];
    } else if (!std::strcmp(argv[i], "--trees")) {
      trees = std::atoi(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--depth")) {
      depth = std::atoi(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--repeat")) {
      repeat = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "compiled_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (csv.empty()) {
    std::fprintf(stderr, "usage: compiled_bench --csv FILE [--trees N] [--depth D] [--repeat R]\n");
    return 2;
  }
  StatusOr<plinth::Table> table = plinth::ReadCsv(csv);
  if (!table.ok()) return Fail(table.status());
  StatusOr<plinth::TrainSpec> spec = plinth::TrainSpec::FromJson(
      {{"kind", "xgboost"},
       {"target", "Class"},
       {"positive", "bad"},
       {"params",
        {{"num_boost_round", trees}, {"max_depth", depth}, {"learning_rate", 0.1}, {"nthread", 1}}},
       {"seed", 7}});
  if (!spec.ok()) return Fail(spec.status());
  plinth::TrainOptions options;
  options.nthread = 1;
  StatusOr<plinth::TrainedModel> trained = plinth::TrainModel(*spec, *table, options);
  if (!trained.ok()) return Fail(trained.status());
  const plinth::ModelPackage& package = trained->package;
  StatusOr<plinth::CompiledModel> compiled = plinth::CompileModel(package);
  if (!compiled.ok()) return Fail(compiled.status());
  StatusOr<plinth::XgboostModel> xgb =
      plinth::XgboostModel::Load(package.files.at("model.json"), 1);
  if (!xgb.ok()) return Fail(xgb.status());
  StatusOr<std::unique_ptr<plinth::Scorer>> scorer = plinth::LoadScorer(package, {.nthread = 1});
  if (!scorer.ok()) return Fail(scorer.status());
  StatusOr<plinth::Matrix> m = package.manifest.preprocess->Apply(*table);
  if (!m.ok()) return Fail(m.status());
  const size_t rows = m->rows, cols = m->cols;

  // The comparison is only meaningful if both sides compute the same thing.
  StatusOr<std::vector<float>> reference = xgb->Predict(m->values, rows, cols);
  if (!reference.ok()) return Fail(reference.status());
  std::vector<plinth::CompiledKernel> kernels;
  for (plinth::CompiledKernel k : {plinth::CompiledKernel::kPortable, plinth::CompiledKernel::kAvx2,
                                   plinth::CompiledKernel::kAvx512}) {
    if (plinth::CompiledKernelSupported(k)) kernels.push_back(k);
  }
  double diff = 0;
  for (plinth::CompiledKernel k : kernels) {
    std::vector<double> mine(rows);
    compiled->PredictBatch(m->values.data(), rows, cols, mine.data(), k);
    for (size_t r = 0; r < rows; ++r) {
      diff = std::max(diff, std::abs(mine[r] - (*reference)[r]));
      const double one =
          compiled->PredictRow(std::span<const float>(m->values.data() + r * cols, cols), k);
      diff = std::max(diff, std::abs(one - (*reference)[r]));
    }
  }
  if (diff > 1e-6) {
    std::fprintf(stderr, "compiled_bench: outputs differ by %g\n", diff);
    return 1;
  }

  auto row = [&](size_t r) { return std::span<const float>(m->values.data() + r * cols, cols); };
  const double us = 1e6 / static_cast<double>(rows);
  auto xgb_single = [&] {
    for (size_t r = 0; r < rows; ++r) g_sink = (*xgb->Predict(row(r), 1, cols))[0];
  };
  auto compiled_single = [&](plinth::CompiledKernel k) {
    return [&, k] {
      for (size_t r = 0; r < rows; ++r) g_sink = compiled->PredictRow(row(r), k);
    };
  };

  // JSON rows on a sample: building them is not timed.
  std::vector<Json> json_rows;
  for (size_t r = 0; r < rows; r += 10) json_rows.push_back(RowJson(*table, r));
  std::vector<float> buffer(cols);
  const double json_us = 1e6 / static_cast<double>(json_rows.size());
  auto xgb_json = [&] {
    for (const Json& j : json_rows) g_sink = *(*scorer)->PredictRow(j);
  };
  auto compiled_json = [&] {
    for (const Json& j : json_rows) g_sink = *compiled->PredictJsonRow(j, buffer);
  };

  constexpr size_t kBatch = 1000;
  const size_t batches = rows / kBatch;
  std::vector<double> out(kBatch);
  const double batch_us = 1e6 / static_cast<double>(batches * kBatch);
  auto xgb_batch = [&] {
    for (size_t b = 0; b < batches; ++b) {
      std::span<const float> block(m->values.data() + b * kBatch * cols, kBatch * cols);
      g_sink = (*xgb->Predict(block, kBatch, cols))[0];
    }
  };
  auto compiled_batch = [&](plinth::CompiledKernel k) {
    return [&, k] {
      for (size_t b = 0; b < batches; ++b) {
        compiled->PredictBatch(m->values.data() + b * kBatch * cols, kBatch, cols, out.data(), k);
        g_sink = out[0];
      }
    };
  };

  const plinth::CompiledKernel best = plinth::BestCompiledKernel();
  std::printf(
      "%zu rows, %zu features, %zu trees of depth <= %d (%zu nodes compiled); kernel %s;"
      " max |compiled - XGBoost| %.3g over every kernel; fastest of %d passes.\n\n",
      rows, cols, compiled->num_trees(), depth, compiled->num_nodes(),
      std::string(plinth::CompiledKernelName(best)).c_str(), diff, repeat);
  std::printf("| case | XGBoost C API us/row | compiled us/row | ratio |\n");
  std::printf("|---|---:|---:|---:|\n");
  auto print = [](const std::string& name, std::pair<double, double> t, double scale, int digits) {
    std::printf("| %s | %.*f | %.*f | %.1fx |\n", name.c_str(), digits, scale * t.first, digits,
                scale * t.second, t.first / t.second);
  };
  print("single row", Fastest(repeat, xgb_single, compiled_single(best)), us, 2);
  print("single row, raw JSON (preprocessing included)", Fastest(repeat, xgb_json, compiled_json),
        json_us, 2);
  print("batch of 1,000", Fastest(repeat, xgb_batch, compiled_batch(best)), batch_us, 3);
  for (plinth::CompiledKernel k : kernels) {
    if (k == best) continue;
    const std::string name(plinth::CompiledKernelName(k));
    print("single row, " + name + " kernel", Fastest(repeat, xgb_single, compiled_single(k)), us,
          2);
    print("batch of 1,000, " + name + " kernel", Fastest(repeat, xgb_batch, compiled_batch(k)),
          batch_us, 3);
  }
  return 0;
}
