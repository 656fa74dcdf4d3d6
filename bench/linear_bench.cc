// Linear models, the Plinth side of bench/linear_bench.sh (the peer is bench/linear_peer.py:
// scikit-learn's StandardScaler + LogisticRegression(lbfgs) on the same one-hot features).
//
//   linear_bench --csv FILE --target COLUMN --positive LABEL --write-split DIR
//   linear_bench --csv FILE --target COLUMN --positive LABEL [--train-rows F --test-rows F]
//                [--C 1.0] [--tol T] [--repeat 1] [--save-model FILE]
//
// The first form splits the rows (stratified by the label, 20% test, seed 42: split.h's
// StratifiedSplit) and writes the 0-based row numbers of each side, one a line, to
// DIR/train.txt and DIR/test.txt for the peer.
//
// The second form reads the CSV (not timed), takes the split from the files (else makes the same
// split), and trains two models, each timed alone (the fastest of --repeat runs; every run gives
// the same model):
//   logistic_l2  every column but the target one-hot encoded by PreprocessSpec (levels learned on
//                the training rows; not timed), then LogisticModel::Train with penalty l2, C, and
//                standardize (timed: the standardisation happens inside Train).
//   scorecard    Scorecard::Fit on the raw training rows with every column but the target and the
//                default options (binning, WoE, IV selection and the regression all timed).
// It prints one line per model:
//   model=NAME rows=R features=F train_rows=N test_rows=M train_seconds=T test_auc=A
//   objective=O iterations=I
// and writes the logistic model's JSON to --save-model (the peer compares coefficients).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/files.h"
#include "data/csv_reader.h"
#include "train/evaluation.h"
#include "train/logistic.h"
#include "train/preprocess.h"
#include "train/scorecard.h"
#include "train/split.h"

namespace {

using plinth::Status;
using plinth::StatusOr;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "linear_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

StatusOr<std::vector<size_t>> ReadRows(const std::string& path, size_t rows) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::vector<size_t> out;
  size_t r;
  while (in >> r) {
    if (r >= rows) {
      return absl::InvalidArgumentError("row " + std::to_string(r) + " is past the end");
    }
    out.push_back(r);
  }
  return out;
}

Status WriteRows(const std::string& path, const std::vector<size_t>& rows) {
  std::string text;
  for (size_t r : rows) text += std::to_string(r) + "\n";
  return plinth::WriteFileAtomic(path, text, 0644, true);
}

struct Args {
  std::string csv, target, positive, train_rows, test_rows, write_split, save_model;
  double c = 1.0;
  double tol = 0;  // 0: LogisticParams' default
  int repeat = 1;
};

void Report(const char* model, size_t rows, size_t features, size_t train_rows, size_t test_rows,
            double seconds, double auc, double objective, int iterations) {
  std::printf(
      "model=%s rows=%zu features=%zu train_rows=%zu test_rows=%zu train_seconds=%.4f "
      "test_auc=%.6f objective=%.10g iterations=%d\n",
      model, rows, features, train_rows, test_rows, seconds, auc, objective, iterations);
}

int Run(const Args& a) {
  StatusOr<plinth::Table> table = plinth::ReadCsv(a.csv);
  if (!table.ok()) return Fail(table.status());
  const plinth::Column* target = table->Find(a.target);
  if (target == nullptr) return Fail(absl::InvalidArgumentError("no column " + a.target));
  StatusOr<std::vector<float>> labels = plinth::BinaryLabels(*target, a.positive);
  if (!labels.ok()) return Fail(labels.status());

  plinth::Split split;
  if (!a.train_rows.empty() && !a.test_rows.empty()) {
    StatusOr<std::vector<size_t>> train = ReadRows(a.train_rows, table->num_rows());
    StatusOr<std::vector<size_t>> test = ReadRows(a.test_rows, table->num_rows());
    if (!train.ok()) return Fail(train.status());
    if (!test.ok()) return Fail(test.status());
    split.train = std::move(*train);
    split.test = std::move(*test);
  } else {
    StatusOr<plinth::Split> s = plinth::StratifiedSplit(*labels, 0.2, 42);
    if (!s.ok()) return Fail(s.status());
    split = std::move(*s);
  }
  if (!a.write_split.empty()) {
    Status s = WriteRows(a.write_split + "/train.txt", split.train);
    if (s.ok()) s = WriteRows(a.write_split + "/test.txt", split.test);
    if (!s.ok()) return Fail(s);
    std::printf("train_rows=%zu test_rows=%zu\n", split.train.size(), split.test.size());
    return 0;
  }
  const std::vector<float> train_labels = plinth::TakeRows(*labels, split.train);
  const std::vector<float> test_labels = plinth::TakeRows(*labels, split.test);
  std::vector<std::string> columns;
  for (const plinth::Column& c : table->columns()) {
    if (c.name() != a.target) columns.push_back(c.name());
  }

  // L2 logistic regression on the one-hot matrix.
  {
    plinth::PreprocessOptions options;
    options.columns = columns;
    StatusOr<plinth::PreprocessSpec> spec =
        plinth::PreprocessSpec::Fit(*table, options, split.train);
    if (!spec.ok()) return Fail(spec.status());
    StatusOr<plinth::Matrix> all = spec->Apply(*table);
    if (!all.ok()) return Fail(all.status());
    const plinth::Matrix train = plinth::TakeRows(*all, split.train);
    const plinth::Matrix test = plinth::TakeRows(*all, split.test);
    plinth::LogisticParams params;
    params.penalty = plinth::LogisticPenalty::kL2;
    params.C = a.c;
    params.standardize = true;
    if (a.tol > 0) params.tol = a.tol;
    double best = 1e300;
    plinth::LogisticReport report;
    std::vector<float> scores;
    for (int i = 0; i < a.repeat; ++i) {
      const auto start = std::chrono::steady_clock::now();
      StatusOr<plinth::LogisticModel> model =
          plinth::LogisticModel::Train(params, {&train, train_labels}, &report);
      best = std::min(best, Seconds(start));
      if (!model.ok()) return Fail(model.status());
      StatusOr<std::vector<float>> predicted = model->Predict(test);
      if (!predicted.ok()) return Fail(predicted.status());
      scores = std::move(*predicted);
      if (!a.save_model.empty() && i == 0) {
        Status saved =
            plinth::WriteFileAtomic(a.save_model, plinth::DumpJson(model->ToJson()), 0644, true);
        if (!saved.ok()) return Fail(saved);
      }
    }
    StatusOr<plinth::BinaryMetrics> metrics = plinth::EvaluateBinary(test_labels, scores);
    if (!metrics.ok()) return Fail(metrics.status());
    Report("logistic_l2", table->num_rows(), train.cols, train.rows, test.rows, best, metrics->auc,
           report.objective, report.iterations);
  }

  // The scorecard on the raw columns.
  {
    const plinth::Table train = plinth::TakeRows(*table, split.train);
    const plinth::Table test = plinth::TakeRows(*table, split.test);
    plinth::ScorecardOptions options;
    options.features = columns;
    double best = 1e300;
    std::vector<float> scores;
    size_t kept = 0;
    plinth::LogisticReport report;
    for (int i = 0; i < a.repeat; ++i) {
      const auto start = std::chrono::steady_clock::now();
      StatusOr<plinth::Scorecard> card = plinth::Scorecard::Fit(train, train_labels, options);
      best = std::min(best, Seconds(start));
      if (!card.ok()) return Fail(card.status());
      StatusOr<std::vector<float>> predicted = card->Predict(test);
      if (!predicted.ok()) return Fail(predicted.status());
      scores = std::move(*predicted);
      kept = card->features().size();
      report = card->regression();
    }
    StatusOr<plinth::BinaryMetrics> metrics = plinth::EvaluateBinary(test_labels, scores);
    if (!metrics.ok()) return Fail(metrics.status());
    Report("scorecard", table->num_rows(), kept, train.num_rows(), test.num_rows(), best,
           metrics->auc, report.objective, report.iterations);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "linear_bench: %s needs a value\n", flag.c_str());
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
    } else if (flag == "--write-split") {
      a.write_split = value;
    } else if (flag == "--save-model") {
      a.save_model = value;
    } else if (flag == "--C") {
      a.c = std::atof(value);
    } else if (flag == "--tol") {
      a.tol = std::atof(value);
    } else if (flag == "--repeat") {
      a.repeat = std::max(1, std::atoi(value));
    } else {
      std::fprintf(stderr, "linear_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (a.csv.empty() || a.target.empty() || a.positive.empty()) {
    std::fprintf(stderr,
                 "usage: linear_bench --csv FILE --target COLUMN --positive LABEL "
                 "[--write-split DIR | [--train-rows F --test-rows F] [--C X] [--tol T] "
                 "[--repeat N] [--save-model FILE]]\n");
    return 2;
  }
  return Run(a);
}
