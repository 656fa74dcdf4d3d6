// In-process scoring latency: the compiled tree ensemble (serve/compiled_model.h) against
// XGBoost's C API (XgboostModel::Predict, one thread) on the same model, run by
// bench/compiled_bench.sh.
//
//   compiled_bench --csv FILE [--trees 300] [--depth 6] [--repeat 5]
//
// Trains XGBoost (binary:logistic, learning rate 0.1, one thread, seed 7) on every row of the CSV
// (target Class, positive "bad"; the lending_club example), compiles the package, checks that both
// sides agree on every row to 1e-6 (else exits 1), and prints a Markdown table of microseconds
// per row, the fastest of --repeat passes over the data:
//   single row          one preprocessed row per call (XgboostModel::Predict on 1 row vs
//                       CompiledModel::PredictRow)
//   single row, JSON    a raw row as JSON, preprocessing included (Scorer::PredictRow vs
//                       CompiledModel::PredictJsonRow with a reused buffer)
//   batch of 1,000      1,000 preprocessed rows per call (Predict vs PredictBatch)
// XGBoost gets one thread (nthread 1) as a per-request scorer would; run with
// OMP_WAIT_POLICY=passive (the script sets it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "data/csv_reader.h"
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

// Seconds of the fastest of `repeat` calls of `pass`.
double Fastest(int repeat, const std::function<void()>& pass) {
  double best = 1e300;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    pass();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
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
  std::vector<double> mine(rows);
  compiled->PredictBatch(m->values.data(), rows, cols, mine.data());
  double diff = 0;
  for (size_t r = 0; r < rows; ++r) diff = std::max(diff, std::abs(mine[r] - (*reference)[r]));
  if (diff > 1e-6) {
    std::fprintf(stderr, "compiled_bench: outputs differ by %g\n", diff);
    return 1;
  }

  auto row = [&](size_t r) { return std::span<const float>(m->values.data() + r * cols, cols); };
  const double us = 1e6 / static_cast<double>(rows);
  const double xgb_single = us * Fastest(repeat, [&] {
                              for (size_t r = 0; r < rows; ++r)
                                g_sink = (*xgb->Predict(row(r), 1, cols))[0];
                            });
  const double compiled_single = us * Fastest(repeat, [&] {
                                   for (size_t r = 0; r < rows; ++r)
                                     g_sink = compiled->PredictRow(row(r));
                                 });

  // JSON rows on a sample: building them is not timed.
  std::vector<Json> json_rows;
  for (size_t r = 0; r < rows; r += 10) json_rows.push_back(RowJson(*table, r));
  std::vector<float> buffer(cols);
  const double json_us = 1e6 / static_cast<double>(json_rows.size());
  const double xgb_json = json_us * Fastest(repeat, [&] {
                            for (const Json& j : json_rows) g_sink = *(*scorer)->PredictRow(j);
                          });
  const double compiled_json = json_us * Fastest(repeat, [&] {
                                 for (const Json& j : json_rows)
                                   g_sink = *compiled->PredictJsonRow(j, buffer);
                               });

  constexpr size_t kBatch = 1000;
  const size_t batches = rows / kBatch;
  std::vector<double> out(kBatch);
  const double batch_us = 1e6 / static_cast<double>(batches * kBatch);
  const double xgb_batch =
      batch_us * Fastest(repeat, [&] {
        for (size_t b = 0; b < batches; ++b) {
          std::span<const float> block(m->values.data() + b * kBatch * cols, kBatch * cols);
          g_sink = (*xgb->Predict(block, kBatch, cols))[0];
        }
      });
  const double compiled_batch =
      batch_us * Fastest(repeat, [&] {
        for (size_t b = 0; b < batches; ++b) {
          compiled->PredictBatch(m->values.data() + b * kBatch * cols, kBatch, cols, out.data());
          g_sink = out[0];
        }
      });

  std::printf(
      "%zu rows, %zu features, %zu trees of depth <= %d (%zu nodes compiled);"
      " max |compiled - XGBoost| %.3g; fastest of %d passes.\n\n",
      rows, cols, compiled->num_trees(), depth, compiled->num_nodes(), diff, repeat);
  std::printf("| case | XGBoost C API us/row | compiled us/row | ratio |\n");
  std::printf("|---|---:|---:|---:|\n");
  std::printf("| single row | %.2f | %.2f | %.1fx |\n", xgb_single, compiled_single,
              xgb_single / compiled_single);
  std::printf("| single row, raw JSON (preprocessing included) | %.2f | %.2f | %.1fx |\n", xgb_json,
              compiled_json, xgb_json / compiled_json);
  std::printf("| batch of 1,000 | %.3f | %.3f | %.1fx |\n", xgb_batch, compiled_batch,
              xgb_batch / compiled_batch);
  return 0;
}
