#include "expr/expr.h"

#include "expr/parser.h"
#include "expr/program_impl.h"

namespace plinth::expr {

using internal::ProgramImpl;

Status Environment::Declare(const std::string& name, Type type) {
  if (!internal::IsIdentifier(name)) {
    return absl::InvalidArgumentError("'" + name + "' is not a valid variable name");
  }
  if (!variables_.emplace(name, std::move(type)).second) {
    return absl::InvalidArgumentError("variable '" + name + "' is declared twice");
  }
  return absl::OkStatus();
}

Status Environment::Declare(const std::string& name, std::string_view type) {
  auto parsed = ParseType(type);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError("variable '" + name +
                                      "': " + std::string(parsed.status().message()));
  }
  return Declare(name, *std::move(parsed));
}

const Type* Environment::Find(const std::string& name) const {
  auto it = variables_.find(name);
  return it == variables_.end() ? nullptr : &it->second;
}

std::vector<std::string> Environment::names() const {
  std::vector<std::string> out;
  for (const auto& [name, type] : variables_) out.push_back(name);
  return out;
}

Environment EnvironmentForTable(const Table& table) {
  Environment env;
  for (const Column& c : table.columns()) {
    Type t;
    switch (c.type()) {
      case ColumnType::kInt64:
        t = Type::Int();
        break;
      case ColumnType::kFloat64:
        t = Type::Double();
        break;
      case ColumnType::kBool:
        t = Type::Bool();
        break;
      case ColumnType::kString:
        t = Type::String();
        break;
      case ColumnType::kTimestamp:
        t = Type::Timestamp();
        break;
    }
    env.Declare(c.name(), t).IgnoreError();
  }
  return env;
}

const Type& Program::result_type() const { return impl_->root->type; }
const std::string& Program::source() const { return impl_->source; }

std::vector<std::string> Program::variables() const {
  std::vector<std::string> out;
  for (const auto& g : impl_->globals) out.push_back(g.name);
  return out;
}

StatusOr<Program> Compile(std::string_view source, const Environment& env,
                          const CompileOptions& options) {
  internal::ParseLimits limits{options.max_source_bytes, options.max_depth, options.max_nodes};
  internal::Diagnostic error;
  std::unique_ptr<internal::Node> root = internal::Parse(source, limits, &error);
  if (!root) {
    return absl::InvalidArgumentError(
        internal::FormatDiagnostic(source, error.offset, error.message));
  }
  internal::CheckOutput checked;
  auto lookup = [&env](const std::string& name) { return env.Find(name); };
  if (!internal::Check(&root, lookup, env.names(), &checked, &error)) {
    return absl::InvalidArgumentError(
        internal::FormatDiagnostic(source, error.offset, error.message));
  }
  auto impl = std::make_shared<ProgramImpl>();
  impl->source = std::string(source);
  impl->root = std::move(root);
  impl->globals = std::move(checked.globals);
  impl->max_locals = checked.max_locals;
  return Program(std::move(impl));
}

StatusOr<Activation> Activation::FromJson(const Json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("an activation must be a JSON object");
  }
  Activation a;
  for (auto it = object.begin(); it != object.end(); ++it) a.BindJson(it.key(), it.value());
  return a;
}

void Activation::Bind(const std::string& name, Value value) {
  bindings_.insert_or_assign(name, std::move(value));
}

void Activation::BindJson(const std::string& name, Json value) {
  bindings_.insert_or_assign(name, std::move(value));
}

const Value* Activation::FindValue(std::string_view name) const {
  auto it = bindings_.find(name);
  if (it == bindings_.end()) return nullptr;
  return std::get_if<Value>(&it->second);
}

const Json* Activation::FindJson(std::string_view name) const {
  auto it = bindings_.find(name);
  if (it == bindings_.end()) return nullptr;
  return std::get_if<Json>(&it->second);
}

namespace internal {

void ResolveGlobal(const ProgramImpl& program, size_t slot, const Activation& activation,
                   Globals* out) {
  const GlobalVar& var = program.globals[slot];
  out->errors[slot].clear();
  if (const Value* v = activation.FindValue(var.name)) {
    if (var.type.kind() == TypeKind::kDouble && v->kind() == Value::Kind::kInt) {
      out->values[slot] = Value::Double(static_cast<double>(v->int_value()));
    } else if (ValueConforms(*v, var.type)) {
      out->values[slot] = *v;
    } else {
      out->errors[slot] = "variable '" + var.name + "' is declared " + var.type.ToString() +
                          " but bound to a value of kind " + KindName(v->kind());
    }
    return;
  }
  if (const Json* j = activation.FindJson(var.name)) {
    auto v = ValueFromJson(*j, var.type);
    if (v.ok()) {
      out->values[slot] = *std::move(v);
    } else {
      out->errors[slot] = "variable '" + var.name + "': " + std::string(v.status().message());
    }
    return;
  }
  out->errors[slot] = "no value bound for variable '" + var.name + "'";
}

Status EvalErrorStatus(const ProgramImpl& program, const EvalError& error,
                       const std::string& prefix) {
  std::string text = prefix + FormatDiagnostic(program.source, error.offset, error.message);
  if (error.message == kCostExceeded) return absl::ResourceExhaustedError(text);
  return absl::InvalidArgumentError(text);
}

}  // namespace internal

StatusOr<Value> Evaluate(const Program& program, const Activation& activation,
                         const EvalOptions& options) {
  const ProgramImpl& impl = program.impl();
  internal::Globals globals;
  globals.values.resize(impl.globals.size());
  globals.errors.resize(impl.globals.size());
  for (size_t i = 0; i < impl.globals.size(); ++i) {
    internal::ResolveGlobal(impl, i, activation, &globals);
  }
  internal::Interpreter interpreter(&globals, impl.max_locals, options.max_cost);
  internal::Result r = interpreter.Eval(*impl.root);
  if (interpreter.cost_exceeded()) {
    return internal::EvalErrorStatus(
        impl, internal::EvalError{impl.root->offset, std::string(internal::kCostExceeded)});
  }
  if (!r.ok()) return internal::EvalErrorStatus(impl, *r.error);
  return std::move(r.value);
}

Value CellValue(const Column& c, size_t row) {
  if (c.IsNull(row)) return Value::Null();
  switch (c.type()) {
    case ColumnType::kInt64:
      return Value::Int(c.int64s()[row]);
    case ColumnType::kFloat64:
      return Value::Double(c.float64s()[row]);
    case ColumnType::kBool:
      return Value::Bool(c.bools()[row] != 0);
    case ColumnType::kString:
      return Value::String(std::string(c.StringAt(row)));
    case ColumnType::kTimestamp:
      return Value::Timestamp(c.int64s()[row]);
  }
  return Value::Null();
}

Activation RowActivation(const Table& table, size_t row) {
  Activation a;
  for (const Column& c : table.columns()) a.Bind(c.name(), CellValue(c, row));
  return a;
}

}  // namespace plinth::expr
