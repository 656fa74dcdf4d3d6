// Training throughput and model quality, the Plinth side of bench/train_bench.sh (the peer is
// ../shared/peers/train_peer.py: pandas get_dummies + xgboost.XGBClassifier, 200 trees of depth 6,
// learning rate 0.1, hist).
//
//   train_bench --csv FILE --target COLUMN --positive LABEL [--test-rows FILE [--train-rows FILE]]
//               [--trees 200]
//               [--depth 6] [--learning-rate 0.1] [--nthread 0] [--repeat 1] [--save-model F]
//   train_bench --write-synth FILE [--customers 5000] [--days 30] [--seed 1]
//
// The first form reads the CSV (not timed), splits it (the 0-based row numbers of the test rows,
// one a line, from --test-rows, and of the training rows from --train-rows or else every other
// row; without them a stratified 80/20 split with seed 42), fits the
// preprocessing on the training rows and applies it (timed apart), then times
// XgboostModel::Train, DMatrix construction included, as the peer times XGBClassifier.fit. Feature
// columns are every column but the target, non-string ones first and string ones after, each in
// file order: the order get_dummies gives. Rows keep the order of the files: XGBoost's quantile
// sketch depends on row order once there are many rows, so feeding the peer's shuffled order gives
// both sides the same matrix and the same model. It prints
//   rows=R features=F train_rows=N test_rows=M preprocess_seconds=P train_seconds=T test_auc=A
// with T the fastest of --repeat trainings (every one gives the same model), and writes the model
// as XGBoost JSON to --save-model.
//
// --write-synth writes SYNTHETIC card transactions (data/synth_transactions.h) reduced to
// features both sides can use as they are: amount, hour (of the timestamp, UTC),
// merchant_category, channel, country and the label is_fraud. Ids and the timestamp are left out:
// get_dummies would turn each distinct value into a column.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/files.h"
#include "data/csv_reader.h"
#include "data/csv_writer.h"
#include "data/synth_transactions.h"
#include "train/evaluation.h"
#include "train/preprocess.h"
#include "train/split.h"
#include "train/xgboost_model.h"

namespace {

using plinth::Status;
using plinth::StatusOr;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "train_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

int WriteSynth(const std::string& path, int customers, int days, uint64_t seed) {
  plinth::SynthTransactionsOptions options;
  options.customers = customers;
  options.days = days;
  options.seed = seed;
  StatusOr<plinth::Table> txns = plinth::GenerateSyntheticTransactions(options);
  if (!txns.ok()) return Fail(txns.status());
  const plinth::Column& time = *txns->Find("timestamp");
  plinth::Column hour("hour", plinth::ColumnType::kInt64);
  constexpr int64_t kHourMicros = int64_t{3600} * 1000000;
  for (int64_t t : time.int64s()) hour.AppendInt64((t / kHourMicros) % 24);
  plinth::Table out;
  for (const char* name : {"amount"}) {
    if (Status s = out.AddColumn(*txns->Find(name)); !s.ok()) return Fail(s);
  }
  if (Status s = out.AddColumn(std::move(hour)); !s.ok()) return Fail(s);
  for (const char* name : {"merchant_category", "channel", "country", "is_fraud"}) {
    if (Status s = out.AddColumn(*txns->Find(name)); !s.ok()) return Fail(s);
  }
  Status written = plinth::WriteFileAtomic(path, plinth::WriteCsvBuffer(out), 0644, true);
  if (!written.ok()) return Fail(written);
  std::printf("rows=%zu\n", out.num_rows());
  return 0;
}

StatusOr<std::vector<size_t>> ReadRows(const std::string& path, size_t rows) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::vector<size_t> out;
  size_t r;
  while (in >> r) {
    if (r >= rows)
      return absl::InvalidArgumentError("row " + std::to_string(r) + " is past the end");
    out.push_back(r);
  }
  return out;
}

struct Args {
  std::string csv, target, positive, train_rows, test_rows, write_synth, save_model;
  int trees = 200, depth = 6, nthread = 0, repeat = 1, customers = 5000, days = 30;
  double learning_rate = 0.1;
  uint64_t seed = 1;
};

int Run(const Args& a) {
  StatusOr<plinth::Table> table = plinth::ReadCsv(a.csv);
  if (!table.ok()) return Fail(table.status());
  const plinth::Column* target = table->Find(a.target);
  if (target == nullptr) return Fail(absl::InvalidArgumentError("no column " + a.target));
  StatusOr<std::vector<float>> labels = plinth::BinaryLabels(*target, a.positive);
  if (!labels.ok()) return Fail(labels.status());

  plinth::Split split;
  if (!a.test_rows.empty()) {
    StatusOr<std::vector<size_t>> test = ReadRows(a.test_rows, table->num_rows());
    if (!test.ok()) return Fail(test.status());
    split.test = *test;
    if (!a.train_rows.empty()) {
      StatusOr<std::vector<size_t>> train = ReadRows(a.train_rows, table->num_rows());
      if (!train.ok()) return Fail(train.status());
      split.train = *train;
    } else {
      std::vector<uint8_t> tested(table->num_rows(), 0);
      for (size_t r : split.test) tested[r] = 1;
      for (size_t r = 0; r < table->num_rows(); ++r) {
        if (!tested[r]) split.train.push_back(r);
      }
    }
  } else {
    StatusOr<plinth::Split> s = plinth::StratifiedSplit(*labels, 0.2, 42);
    if (!s.ok()) return Fail(s.status());
    split = *s;
  }

  const auto preprocess_start = std::chrono::steady_clock::now();
  plinth::PreprocessOptions options;
  for (bool strings : {false, true}) {
    for (const plinth::Column& c : table->columns()) {
      if (c.name() != a.target && (c.type() == plinth::ColumnType::kString) == strings) {
        options.columns.push_back(c.name());
      }
    }
  }
  StatusOr<plinth::PreprocessSpec> spec = plinth::PreprocessSpec::Fit(*table, options, split.train);
  if (!spec.ok()) return Fail(spec.status());
  StatusOr<plinth::Matrix> all = spec->Apply(*table);
  if (!all.ok()) return Fail(all.status());
  plinth::Matrix train = plinth::TakeRows(*all, split.train);
  plinth::Matrix test = plinth::TakeRows(*all, split.test);
  std::vector<float> train_labels = plinth::TakeRows(*labels, split.train);
  std::vector<float> test_labels = plinth::TakeRows(*labels, split.test);
  const double preprocess_seconds = Seconds(preprocess_start);

  plinth::XgboostParams params;
  params.num_boost_round = a.trees;
  params.max_depth = a.depth;
  params.learning_rate = a.learning_rate;
  params.tree_method = "hist";
  params.nthread = a.nthread;
  double best = 1e300;
  std::vector<float> scores;
  for (int i = 0; i < a.repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    StatusOr<plinth::XgboostModel> model =
        plinth::XgboostModel::Train(params, {&train, train_labels});
    const double seconds = Seconds(start);
    if (!model.ok()) return Fail(model.status());
    best = std::min(best, seconds);
    StatusOr<std::vector<float>> predicted = model->Predict(test);
    if (!predicted.ok()) return Fail(predicted.status());
    scores = std::move(*predicted);
    if (!a.save_model.empty() && i == 0) {
      StatusOr<std::string> json = model->SaveJson();
      if (!json.ok()) return Fail(json.status());
      Status saved = plinth::WriteFileAtomic(a.save_model, *json, 0644, true);
      if (!saved.ok()) return Fail(saved);
    }
  }
  StatusOr<plinth::BinaryMetrics> metrics = plinth::EvaluateBinary(test_labels, scores);
  if (!metrics.ok()) return Fail(metrics.status());
  std::printf(
      "rows=%zu features=%zu train_rows=%zu test_rows=%zu preprocess_seconds=%.3f "
      "train_seconds=%.3f test_auc=%.6f\n",
      table->num_rows(), train.cols, train.rows, test.rows, preprocess_seconds, best, metrics->auc);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "train_bench: %s needs a value\n", flag.c_str());
      return 2;
    }
    const char* value = argv[++i];
    if (flag == "--csv") {
      a.csv = value;
    } else if (flag == "--target") {
      a.target = value;
    } else if (flag == "--positive") {
      a.positive = value;
    } else if (flag == "--train-rows") {
      a.train_rows = value;
    } else if (flag == "--test-rows") {
      a.test_rows = value;
    } else if (flag == "--trees") {
      a.trees = std::atoi(value);
    } else if (flag == "--depth") {
      a.depth = std::atoi(value);
    } else if (flag == "--learning-rate") {
      a.learning_rate = std::atof(value);
    } else if (flag == "--nthread") {
      a.nthread = std::atoi(value);
    } else if (flag == "--repeat") {
      a.repeat = std::max(1, std::atoi(value));
    } else if (flag == "--save-model") {
      a.save_model = value;
    } else if (flag == "--write-synth") {
      a.write_synth = value;
    } else if (flag == "--customers") {
      a.customers = std::atoi(value);
    } else if (flag == "--days") {
      a.days = std::atoi(value);
    } else if (flag == "--seed") {
      a.seed = std::strtoull(value, nullptr, 10);
    } else {
      std::fprintf(stderr, "train_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (!a.write_synth.empty()) return WriteSynth(a.write_synth, a.customers, a.days, a.seed);
  if (a.csv.empty() || a.target.empty() || a.positive.empty()) {
    std::fprintf(stderr,
                 "usage: train_bench --csv FILE --target COLUMN --positive LABEL "
                 "[--test-rows FILE [--train-rows FILE]] [--trees N] [--depth N] [--learning-rate "
                 "X] [--nthread N] "
                 "[--repeat N] [--save-model FILE]\n       train_bench --write-synth FILE "
                 "[--customers N] [--days N] "
                 "[--seed S]\n");
    return 2;
  }
  return Run(a);
}
