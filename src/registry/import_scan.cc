#include "registry/import_scan.h"

#include <zip.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "registry/xgboost_check.h"

namespace plinth::registry {
namespace {

// Debian's abseil has its own string_view, so std::string_view arguments go through here.
absl::string_view Av(std::string_view v) { return {v.data(), v.size()}; }
template <typename T>
const T& Av(const T& v) {
  return v;
}
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(Av(args)...);
}

// ---------------------------------------------------------------------------------------------
// Names.

// Python 3 unpicklers map these Python 2 modules (fix_imports, protocols 0-2), so a pickle can
// reach a Python 3 module under its old name.
std::string_view Python3Module(std::string_view module) {
  static const auto* const kMapping =
      new std::map<std::string_view, std::string_view>{{"__builtin__", "builtins"},
                                                       {"exceptions", "builtins"},
                                                       {"copy_reg", "copyreg"},
                                                       {"cPickle", "pickle"},
                                                       {"commands", "subprocess"},
                                                       {"httplib", "http.client"},
                                                       {"urllib2", "urllib.request"},
                                                       {"SocketServer", "socketserver"},
                                                       {"Queue", "queue"},
                                                       {"cStringIO", "io"},
                                                       {"StringIO", "io"},
                                                       {"UserDict", "collections"},
                                                       {"__main__", "__main__"}};
  auto it = kMapping->find(module);
  return it == kMapping->end() ? module : it->second;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool InModule(std::string_view module, std::string_view root) {
  return module == root ||
         (module.size() > root.size() && module.starts_with(root) && module[root.size()] == '.');
}

bool IsDunder(std::string_view part) {
  return part.size() > 4 && part.starts_with("__") && part.ends_with("__");
}

const std::vector<std::string_view>& DangerousModules() {
  static const auto* const kModules = new std::vector<std::string_view>{"os",
                                                                        "posix",
                                                                        "nt",
                                                                        "subprocess",
                                                                        "socket",
                                                                        "sys",
                                                                        "runpy",
                                                                        "pty",
                                                                        "pickle",
                                                                        "_pickle",
                                                                        "cPickle",
                                                                        "webbrowser",
                                                                        "httplib",
                                                                        "http.client",
                                                                        "requests",
                                                                        "urllib",
                                                                        "urllib2",
                                                                        "ctypes",
                                                                        "importlib",
                                                                        "shutil",
                                                                        "marshal",
                                                                        "code",
                                                                        "codeop",
                                                                        "pdb",
                                                                        "commands",
                                                                        "multiprocessing",
                                                                        "_posixsubprocess",
                                                                        "dill",
                                                                        "cloudpickle",
                                                                        "shelve",
                                                                        "ftplib",
                                                                        "smtplib",
                                                                        "telnetlib"};
  return *kModules;
}

// Functions that evaluate, open or look up by name: refused in builtins, and as the last part of
// any name, since other modules re-export them (io.open, pandas.eval).
const std::set<std::string_view>& DangerousFunctions() {
  static const auto* const kNames = new std::set<std::string_view>{
      "eval",    "exec",    "execfile",  "compile",    "open",    "file",
      "getattr", "setattr", "delattr",   "__import__", "globals", "locals",
      "vars",    "input",   "raw_input", "breakpoint", "reload"};
  return *kNames;
}

bool ModuleIsDangerous(std::string_view module) {
  for (std::string_view root : DangerousModules()) {
    if (InModule(module, root)) return true;
  }
  return false;
}

bool DangerousIn(std::string_view module, std::string_view name) {
  if (ModuleIsDangerous(module)) return true;
  if (module == "operator" && (name == "attrgetter" || name == "methodcaller")) return true;
  // Protocol 4 resolves dotted names attribute by attribute, so "numpy" + "os.system" is
  // os.system; any part of the path can be the way out.
  const std::vector<std::string_view> name_parts = Split(name, '.');
  for (std::string_view part : name_parts) {
    if (IsDunder(part) || DangerousFunctions().count(part) > 0) return true;
  }
  // A module path's later parts are submodules of their package ("numpy.random._pickle" is not
  // "_pickle"), but a name's parts are attributes, which re-exported modules can be.
  for (std::string_view part : name_parts) {
    for (std::string_view root : DangerousModules()) {
      if (part == root) return true;
    }
  }
  return false;
}

bool MatchesAllowlist(const std::string& full, std::string_view module,
                      const ScanAllowlist& allowlist) {
  if (allowlist.globals.count(full) > 0) return true;
  return allowlist.globals.count(Cat(module, ".*")) > 0;
}

// ---------------------------------------------------------------------------------------------
// Symbolic values: just enough of what the unpickler would build to resolve STACK_GLOBAL's
// operands through the memo and to read joblib's array wrapper states.

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum Kind { kOther, kString, kInt, kNone, kTuple, kDict, kGlobal, kObject };
  Kind kind = kOther;
  bool known = true;  // kString: false when the text has escapes or is too long to keep
  std::string text;   // kString: the string; kGlobal, kObject: "module.name" of the (class) global
  int64_t integer = 0;
  std::vector<ValuePtr> items;              // kTuple items; kObject: constructor arguments
  std::map<std::string, ValuePtr> entries;  // kDict with string keys; kObject: state
  ValuePtr dtype_state;                     // kObject of numpy.dtype: its BUILD state
};

ValuePtr Make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

constexpr size_t kMaxKeptString = 1024;
constexpr size_t kMaxDictEntries = 64;
constexpr size_t kMaxFindings = 100;
constexpr char kNumpyArrayWrapper[] = "joblib.numpy_pickle.NumpyArrayWrapper";

ValuePtr StringValue(std::string_view text, bool known = true) {
  auto v = Make(Value::kString);
  v->known = known && text.size() <= kMaxKeptString;
  if (v->known) v->text = std::string(text);
  return v;
}

ValuePtr IntValue(int64_t i) {
  auto v = Make(Value::kInt);
  v->integer = i;
  return v;
}

struct Opcode {
  const char* name;
  enum Arg {
    kNone,
    kUint1,
    kUint2,
    kUint4,
    kUint8,
    kInt4,
    kLong1,
    kLong4,
    kString1,
    kString4,
    kBytes1,
    kBytes4,
    kBytes8,
    kUnicode1,
    kUnicode4,
    kUnicode8,
    kBytearray8,
    kFloat8,
    kLine,      // decimalnl_short, decimalnl_long, floatnl, stringnl, unicodestringnl
    kLinePair,  // stringnl_noescape_pair: "module\nname\n"
  } arg;
};

// CPython's pickletools opcode table: the argument encoding of every opcode, protocols 0-5.
const std::array<std::optional<Opcode>, 256>& Opcodes() {
  static const auto* const kTable = [] {
    auto* t = new std::array<std::optional<Opcode>, 256>();
    auto set = [t](unsigned char code, const char* name, Opcode::Arg arg) {
      (*t)[code] = Opcode{name, arg};
    };
    set('I', "INT", Opcode::kLine);
    set('J', "BININT", Opcode::kInt4);
    set('K', "BININT1", Opcode::kUint1);
    set('M', "BININT2", Opcode::kUint2);
    set('L', "LONG", Opcode::kLine);
    set(0x8a, "LONG1", Opcode::kLong1);
    set(0x8b, "LONG4", Opcode::kLong4);
    set('S', "STRING", Opcode::kLine);
    set('T', "BINSTRING", Opcode::kString4);
    set('U', "SHORT_BINSTRING", Opcode::kString1);
    set('B', "BINBYTES", Opcode::kBytes4);
    set('C', "SHORT_BINBYTES", Opcode::kBytes1);
    set(0x8e, "BINBYTES8", Opcode::kBytes8);
    set(0x96, "BYTEARRAY8", Opcode::kBytearray8);
    set(0x97, "NEXT_BUFFER", Opcode::kNone);
    set(0x98, "READONLY_BUFFER", Opcode::kNone);
    set('N', "NONE", Opcode::kNone);
    set(0x88, "NEWTRUE", Opcode::kNone);
    set(0x89, "NEWFALSE", Opcode::kNone);
    set('V', "UNICODE", Opcode::kLine);
    set(0x8c, "SHORT_BINUNICODE", Opcode::kUnicode1);
    set('X', "BINUNICODE", Opcode::kUnicode4);
    set(0x8d, "BINUNICODE8", Opcode::kUnicode8);
    set('F', "FLOAT", Opcode::kLine);
    set('G', "BINFLOAT", Opcode::kFloat8);
    set(']', "EMPTY_LIST", Opcode::kNone);
    set('a', "APPEND", Opcode::kNone);
    set('e', "APPENDS", Opcode::kNone);
    set('l', "LIST", Opcode::kNone);
    set(')', "EMPTY_TUPLE", Opcode::kNone);
    set('t', "TUPLE", Opcode::kNone);
    set(0x85, "TUPLE1", Opcode::kNone);
    set(0x86, "TUPLE2", Opcode::kNone);
    set(0x87, "TUPLE3", Opcode::kNone);
    set('}', "EMPTY_DICT", Opcode::kNone);
    set('d', "DICT", Opcode::kNone);
    set('s', "SETITEM", Opcode::kNone);
    set('u', "SETITEMS", Opcode::kNone);
    set(0x8f, "EMPTY_SET", Opcode::kNone);
    set(0x90, "ADDITEMS", Opcode::kNone);
    set(0x91, "FROZENSET", Opcode::kNone);
    set('0', "POP", Opcode::kNone);
    set('2', "DUP", Opcode::kNone);
    set('(', "MARK", Opcode::kNone);
    set('1', "POP_MARK", Opcode::kNone);
    set('g', "GET", Opcode::kLine);
    set('h', "BINGET", Opcode::kUint1);
    set('j', "LONG_BINGET", Opcode::kUint4);
    set('p', "PUT", Opcode::kLine);
    set('q', "BINPUT", Opcode::kUint1);
    set('r', "LONG_BINPUT", Opcode::kUint4);
    set(0x94, "MEMOIZE", Opcode::kNone);
    set(0x82, "EXT1", Opcode::kUint1);
    set(0x83, "EXT2", Opcode::kUint2);
    set(0x84, "EXT4", Opcode::kInt4);
    set('c', "GLOBAL", Opcode::kLinePair);
    set(0x93, "STACK_GLOBAL", Opcode::kNone);
    set('R', "REDUCE", Opcode::kNone);
    set('b', "BUILD", Opcode::kNone);
    set('i', "INST", Opcode::kLinePair);
    set('o', "OBJ", Opcode::kNone);
    set(0x81, "NEWOBJ", Opcode::kNone);
    set(0x92, "NEWOBJ_EX", Opcode::kNone);
    set(0x80, "PROTO", Opcode::kUint1);
    set('.', "STOP", Opcode::kNone);
    set(0x95, "FRAME", Opcode::kUint8);
    set('P', "PERSID", Opcode::kLine);
    set('Q', "BINPERSID", Opcode::kNone);
    return t;
  }();
  return *kTable;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
}

// Shared by every walk over one file, so forks and nested streams cannot multiply the work.
struct Budget {
  int64_t steps = 0;
};

// What one walk over a stream found.
struct WalkOutcome {
  bool ok = false;  // reached STOP
  size_t end = 0;   // offset after STOP when ok
  bool joblib = false;
};

class PickleWalker {
 public:
  struct Sink {
    std::set<std::string>* globals;
    std::vector<ScanFinding>* findings;
    bool keep_malformed;  // false on speculative walks, whose failure proves nothing
    std::string note;     // appended to findings' details of speculative walks
  };

  PickleWalker(std::string_view bytes, const ScanAllowlist& allowlist, Budget* budget, Sink sink,
               bool joblib_arrays)
      : b_(bytes),
        allowlist_(allowlist),
        budget_(budget),
        sink_(std::move(sink)),
        joblib_arrays_(joblib_arrays) {
    frames_.emplace_back();
  }

  // Walks one stream from `start` up to and including its STOP.
  WalkOutcome Walk(size_t start) {
    pos_ = start;
    return Resume();
  }

  // Walks on from where the walker stands (a fork's starting point).
  WalkOutcome Resume() {
    WalkOutcome outcome;
    outcome.ok = Run();
    outcome.end = pos_;
    outcome.joblib = saw_joblib_;
    return outcome;
  }

  // Walks that must run after this one: joblib array positions read as plain pickle opcodes.
  std::vector<PickleWalker>& forks() { return forks_; }

 private:
  using Stack = std::vector<ValuePtr>;

  bool Malformed(int64_t offset, std::string detail) {
    if (sink_.keep_malformed) Add("malformed", "", std::move(detail), offset);
    return false;
  }

  void Add(std::string severity, std::string global, std::string detail, int64_t offset) {
    std::vector<ScanFinding>& findings = *sink_.findings;
    if (findings.size() > kMaxFindings) return;
    if (findings.size() == kMaxFindings) {
      findings.push_back({"malformed", "", "more findings omitted", offset});
      return;
    }
    if (!sink_.note.empty()) detail += sink_.note;
    findings.push_back({std::move(severity), std::move(global), std::move(detail), offset});
  }

  void Global(std::string_view module, std::string_view name, int64_t offset, const char* op) {
    const std::string full = Cat(module, ".", name);
    sink_.globals->insert(full);
    const std::string_view mapped = Python3Module(module);
    if (IsDangerousGlobal(module, name)) {
      Add("dangerous", full,
          Cat(op, " at offset ", offset, " imports ", full, ", which is on the denylist"), offset);
    } else if (!IsAllowedGlobal(module, name, allowlist_)) {
      Add("unallowed", full,
          Cat(op, " at offset ", offset, " imports ", full,
              mapped != module ? Cat(" (", mapped, ".", name, ")") : "",
              ", which is not on the allowlist"),
          offset);
    }
  }

  bool Need(size_t n) const { return n <= b_.size() - pos_; }

  uint64_t ReadLe(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }

  std::optional<std::string_view> ReadLine() {
    const size_t nl = b_.find('\n', pos_);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = b_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return line;
  }

  Stack& Top() { return frames_.back(); }

  bool Pop(ValuePtr* out, int64_t at, const char* op) {
    if (Top().empty()) return Malformed(at, Cat(op, " at offset ", at, ": stack underflow"));
    *out = std::move(Top().back());
    Top().pop_back();
    return true;
  }

  bool PopMark(Stack* items, int64_t at, const char* op) {
    if (frames_.size() < 2) return Malformed(at, Cat(op, " at offset ", at, ": no MARK"));
    *items = std::move(frames_.back());
    frames_.pop_back();
    return true;
  }

  void Push(ValuePtr v) { Top().push_back(std::move(v)); }

  bool Memo(uint64_t key, int64_t at, const char* op) {
    if (Top().empty()) return Malformed(at, Cat(op, " at offset ", at, ": empty stack"));
    memo_[key] = Top().back();
    return true;
  }

  bool Recall(uint64_t key, int64_t at, const char* op) {
    auto it = memo_.find(key);
    if (it == memo_.end()) {
      return Malformed(at, Cat(op, " at offset ", at, ": memo key ", key, " not set"));
    }
    Push(it->second);
    return true;
  }

  static ValuePtr Tuple(Stack items) {
    auto t = Make(Value::kTuple);
    t->items = std::move(items);
    return t;
  }

  static void SetEntry(Value& dict, const ValuePtr& key, const ValuePtr& value) {
    if (key->kind == Value::kString && key->known && dict.entries.size() < kMaxDictEntries) {
      dict.entries[key->text] = value;
    }
  }

  static ValuePtr Instance(const ValuePtr& cls, Stack args) {
    auto obj = Make(Value::kObject);
    if (cls->kind == Value::kGlobal) obj->text = cls->text;
    // Protocols 0 and 1 build instances through copyreg._reconstructor(cls, base, state): the
    // object is a `cls` all the same, and joblib's unpickler treats it as one.
    if (obj->text == "copyreg._reconstructor" && !args.empty() && args[0]->kind == Value::kGlobal) {
      obj->text = args[0]->text;
    }
    obj->items = std::move(args);
    return obj;
  }

  // joblib writes an array's bytes straight after its NumpyArrayWrapper's BUILD; its unpickler
  // reads them there. The walk must skip exactly those bytes or lose its place.
  bool SkipJoblibArray(const Value& wrapper, int64_t at) {
    saw_joblib_ = true;
    auto entry = [&](const char* key) -> const ValuePtr* {
      auto it = wrapper.entries.find(key);
      return it == wrapper.entries.end() ? nullptr : &it->second;
    };
    const ValuePtr* shape = entry("shape");
    const ValuePtr* dtype = entry("dtype");
    if (shape == nullptr || dtype == nullptr || (*shape)->kind != Value::kTuple ||
        (*dtype)->kind != Value::kObject || (*dtype)->text != "numpy.dtype" ||
        (*dtype)->items.empty() || (*dtype)->items[0]->kind != Value::kString ||
        !(*dtype)->items[0]->known) {
      return Malformed(at, Cat("BUILD at offset ", at,
                               ": NumpyArrayWrapper state not understood "
                               "(shape and dtype must be plain)"));
    }
    // Structured and sub-array dtypes may hold objects under a "V" type string; only plain
    // dtypes say from their type string whether the array bytes are raw or a pickle.
    if (const ValuePtr& state = (*dtype)->dtype_state; state != nullptr) {
      if (state->kind != Value::kTuple || state->items.size() < 5 ||
          state->items[2]->kind != Value::kNone || state->items[3]->kind != Value::kNone ||
          state->items[4]->kind != Value::kNone) {
        return Malformed(
            at, Cat("BUILD at offset ", at, ": structured or sub-array dtype in a joblib array"));
      }
    }
    std::string_view type = (*dtype)->items[0]->text;
    if (!type.empty() && std::strchr("<>|=", type[0]) != nullptr) type.remove_prefix(1);
    bool object = false;
    uint64_t itemsize = 0;
    if (type == "O" || type == "O8" || type == "O4") {
      object = true;
    } else if (type.size() >= 2 && std::strchr("biufcMmSUV", type[0]) != nullptr &&
               AllDigits(type.substr(1)) && type.size() <= 8) {
      itemsize = std::stoull(std::string(type.substr(1)));
      if (type[0] == 'U') itemsize *= 4;  // numpy writes U dtypes in characters
    } else {
      return Malformed(
          at, Cat("BUILD at offset ", at, ": joblib array dtype \"", type, "\" not understood"));
    }
    uint64_t count = 1;
    for (const ValuePtr& dim : (*shape)->items) {
      if (dim->kind != Value::kInt || dim->integer < 0) {
        return Malformed(at, Cat("BUILD at offset ", at, ": joblib array shape not understood"));
      }
      const uint64_t d = static_cast<uint64_t>(dim->integer);
      if (d != 0 && count > b_.size() / d) {
        return Malformed(at, Cat("BUILD at offset ", at, ": joblib array larger than the file"));
      }
      count *= d;
    }
    if (object) {
      // joblib pickles object arrays with plain pickle, as a stream of their own.
      PickleWalker nested(b_, allowlist_, budget_, sink_, /*joblib_arrays=*/false);
      WalkOutcome inner = nested.Walk(pos_);
      if (!inner.ok) return false;
      pos_ = inner.end;
      return true;
    }
    const ValuePtr* alignment = entry("numpy_array_alignment_bytes");
    if (alignment != nullptr && (*alignment)->kind != Value::kNone) {
      if (!Need(1)) return Malformed(pos_, "joblib array padding truncated");
      const size_t padding = static_cast<uint8_t>(b_[pos_]);
      ++pos_;
      if (!Need(padding)) return Malformed(pos_, "joblib array padding truncated");
      pos_ += padding;
    }
    if (itemsize != 0 && count > (b_.size() - pos_) / itemsize) {
      return Malformed(static_cast<int64_t>(pos_), Cat("joblib array of ", count, " items of ",
                                                       itemsize, " bytes is truncated"));
    }
    pos_ += count * itemsize;
    return true;
  }

  bool Run() {
    const auto& table = Opcodes();
    while (true) {
      if (++budget_->steps > BudgetLimit()) {
        // Reported even on speculative walks, or many joblib arrays could starve their checks.
        Add("malformed", "", "scan budget exhausted", static_cast<int64_t>(pos_));
        return false;
      }
      if (pos_ >= b_.size()) {
        return Malformed(static_cast<int64_t>(pos_), "truncated: no STOP opcode");
      }
      const int64_t at = static_cast<int64_t>(pos_);
      const uint8_t code = static_cast<uint8_t>(b_[pos_]);
      const std::optional<Opcode>& op = table[code];
      if (!op.has_value()) {
        std::string hint;
        if (at == 0 && (code == 0x78 || code == 0x1f || code == 0xfd || code == 0x04 ||
                        code == 'Z' || b_.substr(0, 3) == "BZh")) {
          hint = " (a compressed joblib file? the scanner reads uncompressed pickles only)";
        }
        return Malformed(at, Cat("unknown opcode 0x", absl::Hex(code, absl::kZeroPad2),
                                 " at offset ", at, hint));
      }
      ++pos_;
      const char* name = op->name;
      auto truncated = [&]() {
        return Malformed(at, Cat(name, " at offset ", at, ": argument truncated"));
      };
      // Read the argument.
      uint64_t u = 0;
      std::string_view data;
      std::string_view line;
      std::string_view line2;
      switch (op->arg) {
        case Opcode::kNone:
          break;
        case Opcode::kUint1:
        case Opcode::kUint2:
        case Opcode::kUint4:
        case Opcode::kUint8:
        case Opcode::kInt4:
        case Opcode::kFloat8: {
          const size_t width = op->arg == Opcode::kUint1                                 ? 1
                               : op->arg == Opcode::kUint2                               ? 2
                               : op->arg == Opcode::kUint8 || op->arg == Opcode::kFloat8 ? 8
                                                                                         : 4;
          if (!Need(width)) return truncated();
          u = ReadLe(width);
          break;
        }
        case Opcode::kLong1:
        case Opcode::kString1:
        case Opcode::kBytes1:
        case Opcode::kUnicode1:
        case Opcode::kLong4:
        case Opcode::kString4:
        case Opcode::kBytes4:
        case Opcode::kUnicode4:
        case Opcode::kBytes8:
        case Opcode::kUnicode8:
        case Opcode::kBytearray8: {
          const size_t width = (op->arg == Opcode::kLong1 || op->arg == Opcode::kString1 ||
                                op->arg == Opcode::kBytes1 || op->arg == Opcode::kUnicode1)
                                   ? 1
                               : (op->arg == Opcode::kBytes8 || op->arg == Opcode::kUnicode8 ||
                                  op->arg == Opcode::kBytearray8)
                                   ? 8
                                   : 4;
          if (!Need(width)) return truncated();
          uint64_t n = ReadLe(width);
          // long4 and string4 lengths are signed; a negative length is refused by CPython.
          if ((op->arg == Opcode::kLong4 || op->arg == Opcode::kString4) && (n & 0x80000000u)) {
            return Malformed(at, Cat(name, " at offset ", at, ": negative length"));
          }
          if (!Need(n)) return truncated();
          data = b_.substr(pos_, n);
          pos_ += n;
          break;
        }
        case Opcode::kLine: {
          std::optional<std::string_view> l = ReadLine();
          if (!l) return truncated();
          line = *l;
          break;
        }
        case Opcode::kLinePair: {
          std::optional<std::string_view> l1 = ReadLine();
          if (!l1) return truncated();
          std::optional<std::string_view> l2 = ReadLine();
          if (!l2) return truncated();
          line = *l1;
          line2 = *l2;
          break;
        }
      }
      // Apply its effect on the stack and the memo.
      ValuePtr a, b, c;
      Stack items;
      switch (code) {
        case 'I':
          // "00" and "01" are False and True; other forms (signs, spaces) need no value here.
          if (AllDigits(line) && line != "00" && line != "01") {
            Push(IntValue(std::stoll(std::string(line))));
          } else {
            Push(Make(Value::kOther));
          }
          break;
        case 'J':
          Push(IntValue(static_cast<int32_t>(static_cast<uint32_t>(u))));
          break;
        case 'K':
        case 'M':
          Push(IntValue(static_cast<int64_t>(u)));
          break;
        case 0x8a: {
          if (data.size() <= 7) {
            int64_t v = 0;
            for (size_t i = 0; i < data.size(); ++i) {
              v |= static_cast<int64_t>(static_cast<uint8_t>(data[i])) << (8 * i);
            }
            if (!data.empty() && (static_cast<uint8_t>(data.back()) & 0x80)) {
              v -= int64_t{1} << (8 * data.size());
            }
            Push(IntValue(v));
          } else {
            Push(Make(Value::kOther));
          }
          break;
        }
        case 'L':
        case 0x8b:
        case 'F':
        case 'G':
        case ']':
        case 0x8f:
        case 0x88:
        case 0x89:
        case 0x97:
        case 'B':
        case 'C':
        case 0x8e:
        case 0x96:
          Push(Make(Value::kOther));
          break;
        case 'N':
          Push(Make(Value::kNone));
          break;
        case 'S': {
          if (line.size() < 2 || line.front() != line.back() ||
              (line.front() != '\'' && line.front() != '"')) {
            return Malformed(at, Cat("STRING at offset ", at, ": argument not quoted"));
          }
          std::string_view inner = line.substr(1, line.size() - 2);
          Push(StringValue(inner, inner.find('\\') == std::string_view::npos));
          break;
        }
        case 'V':
          Push(StringValue(line, line.find('\\') == std::string_view::npos));
          break;
        case 'T':
        case 'U':
        case 0x8c:
        case 'X':
        case 0x8d:
          Push(StringValue(data));
          break;
        case 0x98:  // READONLY_BUFFER
          if (!Pop(&a, at, name)) return false;
          Push(a);
          break;
        case 'a':  // APPEND
          if (!Pop(&b, at, name) || !Pop(&a, at, name)) return false;
          Push(a);
          break;
        case 'e':   // APPENDS
        case 0x90:  // ADDITEMS
          if (!PopMark(&items, at, name) || !Pop(&a, at, name)) return false;
          Push(a);
          break;
        case 'l':
        case 0x91:
          if (!PopMark(&items, at, name)) return false;
          Push(Make(Value::kOther));
          break;
        case 't':
          if (!PopMark(&items, at, name)) return false;
          Push(Tuple(std::move(items)));
          break;
        case ')':
          Push(Tuple({}));
          break;
        case 0x85:
        case 0x86:
        case 0x87: {
          const size_t n = code - 0x84;
          if (Top().size() < n)
            return Malformed(at, Cat(name, " at offset ", at, ": stack underflow"));
          Stack tuple(Top().end() - n, Top().end());
          Top().resize(Top().size() - n);
          Push(Tuple(std::move(tuple)));
          break;
        }
        case '}':
          Push(Make(Value::kDict));
          break;
        case 'd': {
          if (!PopMark(&items, at, name)) return false;
          if (items.size() % 2 != 0)
            return Malformed(at, Cat("DICT at offset ", at, ": odd item count"));
          auto dict = Make(Value::kDict);
          for (size_t i = 0; i + 1 < items.size(); i += 2) SetEntry(*dict, items[i], items[i + 1]);
          Push(dict);
          break;
        }
        case 's':  // SETITEM
          if (!Pop(&c, at, name) || !Pop(&b, at, name) || !Pop(&a, at, name)) return false;
          if (a->kind == Value::kDict) SetEntry(*a, b, c);
          Push(a);
          break;
        case 'u':  // SETITEMS
          if (!PopMark(&items, at, name) || !Pop(&a, at, name)) return false;
          if (items.size() % 2 != 0)
            return Malformed(at, Cat("SETITEMS at offset ", at, ": odd item count"));
          if (a->kind == Value::kDict) {
            for (size_t i = 0; i + 1 < items.size(); i += 2) SetEntry(*a, items[i], items[i + 1]);
          }
          Push(a);
          break;
        case '0':  // POP: CPython pops the mark when the frame above it is empty
          if (!Top().empty()) {
            Top().pop_back();
          } else if (!PopMark(&items, at, name)) {
            return false;
          }
          break;
        case '2':  // DUP
          if (Top().empty()) return Malformed(at, Cat("DUP at offset ", at, ": stack underflow"));
          Push(Top().back());
          break;
        case '(':
          if (frames_.size() > b_.size()) return Malformed(at, "too many marks");
          frames_.emplace_back();
          break;
        case '1':  // POP_MARK
          if (!PopMark(&items, at, name)) return false;
          break;
        case 'g':
        case 'p': {
          if (!AllDigits(line)) {
            return Malformed(at, Cat(name, " at offset ", at, ": argument not a decimal"));
          }
          const uint64_t key = std::stoull(std::string(line));
          if (!(code == 'g' ? Recall(key, at, name) : Memo(key, at, name))) return false;
          break;
        }
        case 'h':
        case 'j':
          if (!Recall(u, at, name)) return false;
          break;
        case 'q':
        case 'r':
          if (!Memo(u, at, name)) return false;
          break;
        case 0x94:  // MEMOIZE
          if (!Memo(memo_.size(), at, name)) return false;
          break;
        case 0x82:
        case 0x83:
        case 0x84:
          // The extension registry is the loading process's, not the file's: the name behind
          // the code cannot be judged.
          return Malformed(at, Cat(name, " at offset ", at, ": extension code ", u,
                                   " names a global the scanner cannot resolve"));
        case 'c':
        case 'i': {
          Global(line, line2, at, name);
          auto global = Make(Value::kGlobal);
          global->text = Cat(Python3Module(line), ".", line2);
          if (code == 'c') {
            Push(global);
          } else {
            if (!PopMark(&items, at, name)) return false;
            Push(Instance(global, std::move(items)));
          }
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          if (!Pop(&b, at, name) || !Pop(&a, at, name)) return false;
          if (a->kind != Value::kString || b->kind != Value::kString || !a->known || !b->known) {
            const std::string detail =
                Cat("STACK_GLOBAL at offset ", at,
                    ": module or name is not a string the scanner can resolve");
            // A string with escapes, or an object an allowed callable returned (_codecs.encode
            // with rot13 returns str), may name anything: reported even on speculative walks.
            // Other operands make CPython refuse the opcode.
            auto may_be_str = [](const Value& v) {
              return v.kind == Value::kString || v.kind == Value::kObject;
            };
            if (may_be_str(*a) || may_be_str(*b)) {
              Add("malformed", "", detail + ", so it may hide any global", at);
              return false;
            }
            return Malformed(at, detail);
          }
          Global(a->text, b->text, at, name);
          auto global = Make(Value::kGlobal);
          global->text = Cat(Python3Module(a->text), ".", b->text);
          Push(global);
          break;
        }
        case 'R':  // REDUCE
          if (!Pop(&b, at, name) || !Pop(&a, at, name)) return false;
          Push(Instance(a, b->kind == Value::kTuple ? b->items : Stack{}));
          break;
        case 0x81:  // NEWOBJ
          if (!Pop(&b, at, name) || !Pop(&a, at, name)) return false;
          Push(Instance(a, b->kind == Value::kTuple ? b->items : Stack{}));
          break;
        case 0x92:  // NEWOBJ_EX
          if (!Pop(&c, at, name) || !Pop(&b, at, name) || !Pop(&a, at, name)) return false;
          Push(Instance(a, b->kind == Value::kTuple ? b->items : Stack{}));
          break;
        case 'o': {  // OBJ
          if (!PopMark(&items, at, name)) return false;
          if (items.empty()) return Malformed(at, Cat("OBJ at offset ", at, ": no class"));
          ValuePtr cls = items.front();
          Push(Instance(cls, Stack(items.begin() + 1, items.end())));
          break;
        }
        case 'b': {  // BUILD
          if (!Pop(&b, at, name) || Top().empty()) {
            return Malformed(at, Cat("BUILD at offset ", at, ": stack underflow"));
          }
          const ValuePtr target = Top().back();
          Value& obj = *target;
          if (obj.kind == Value::kObject) {
            if (obj.text == "numpy.dtype") {
              obj.dtype_state = b;
            } else if (b->kind == Value::kDict) {
              for (const auto& [key, value] : b->entries) {
                if (obj.entries.size() < kMaxDictEntries) obj.entries[key] = value;
              }
            }
            if (obj.text == kNumpyArrayWrapper && joblib_arrays_) {
              // A plain unpickler reads on from here as opcodes; that reading is walked too.
              PickleWalker plain = *this;
              plain.joblib_arrays_ = false;
              plain.sink_.keep_malformed = false;
              plain.sink_.note = " (when read by a plain unpickler, not joblib)";
              plain.forks_.clear();
              budget_->steps += static_cast<int64_t>(memo_.size() + frames_.size());
              forks_.push_back(std::move(plain));
              Top().back() = Make(Value::kOther);
              if (!SkipJoblibArray(obj, at)) return false;
            }
          }
          break;
        }
        case 0x80:
          if (u > 5)
            return Malformed(at, Cat("PROTO at offset ", at, ": unsupported protocol ", u));
          break;
        case 0x95:  // FRAME: framing is advisory to the reader, opcodes run straight on
          break;
        case 'P':
          Push(Make(Value::kOther));
          break;
        case 'Q':
          if (!Pop(&a, at, name)) return false;
          Push(Make(Value::kOther));
          break;
        case '.':
          if (!Pop(&a, at, name)) return false;
          return true;
        default:
          return Malformed(at, Cat("opcode ", name, " at offset ", at, " not handled"));
      }
    }
  }

  int64_t BudgetLimit() const { return 16 * static_cast<int64_t>(b_.size()) + 100000; }

  std::string_view b_;
  const ScanAllowlist& allowlist_;
  Budget* budget_;
  Sink sink_;
  bool joblib_arrays_;
  size_t pos_ = 0;
  std::vector<Stack> frames_;
  std::map<uint64_t, ValuePtr> memo_;
  std::vector<PickleWalker> forks_;
  bool saw_joblib_ = false;
};

bool IsPickleStart(std::string_view bytes, size_t at) {
  return at + 1 < bytes.size() && static_cast<uint8_t>(bytes[at]) == 0x80 &&
         static_cast<uint8_t>(bytes[at + 1]) <= 5;
}

// Walks every stream in `bytes`; returns whether any joblib array was read.
bool WalkPickles(std::string_view bytes, const ScanAllowlist& allowlist, ScannedFile& file,
                 int64_t* unscanned) {
  std::set<std::string> globals;
  Budget budget;
  bool joblib = false;
  size_t at = 0;
  std::vector<PickleWalker> forks;
  while (true) {
    PickleWalker walker(bytes, allowlist, &budget, {&globals, &file.findings, true, ""}, true);
    WalkOutcome outcome = walker.Walk(at);
    joblib = joblib || outcome.joblib;
    for (PickleWalker& fork : walker.forks()) forks.push_back(std::move(fork));
    if (!outcome.ok) break;
    at = outcome.end;
    if (at == bytes.size()) break;
    if (IsPickleStart(bytes, at)) continue;
    // Trailing bytes without a PROTO header (PyTorch's legacy format, for one, appends raw
    // storage): walked speculatively, since a second pickle.load would run them, but a failure
    // only means they are data.
    std::vector<ScanFinding> speculative;
    PickleWalker trailing(bytes, allowlist, &budget,
                          {&globals, &speculative, false, " (in bytes after the pickle)"}, false);
    WalkOutcome rest = trailing.Walk(at);
    for (ScanFinding& f : speculative) file.findings.push_back(std::move(f));
    if (rest.ok) {
      at = rest.end;
      if (at == bytes.size()) break;
      if (IsPickleStart(bytes, at)) continue;
    }
    *unscanned = static_cast<int64_t>(bytes.size() - at);
    break;
  }
  for (PickleWalker& fork : forks) fork.Resume();
  file.globals.assign(globals.begin(), globals.end());
  return joblib;
}

// ---------------------------------------------------------------------------------------------
// Files and archives.

bool HasPickleExtension(std::string_view name) {
  for (std::string_view ext : {".pkl", ".pickle", ".joblib", ".sav", ".pt", ".pth"}) {
    if (name.size() >= ext.size() &&
        absl::EqualsIgnoreCase(Av(name.substr(name.size() - ext.size())), Av(ext))) {
      return true;
    }
  }
  return false;
}

bool LooksLikeText(std::string_view bytes) {
  const size_t n = std::min<size_t>(bytes.size(), 8192);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = static_cast<uint8_t>(bytes[i]);
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f')) return false;
  }
  return true;
}

bool IsIdentifierPath(std::string_view s) {
  if (s.empty()) return false;
  for (std::string_view part : Split(s, '.')) {
    if (part.empty() || std::isdigit(static_cast<unsigned char>(part[0]))) return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    }
  }
  return true;
}

// Whether bytes not named as a pickle are one: a trial walk reaching STOP, importing a global
// whose names Python could import, or meeting a name it cannot resolve. A walk that fails before
// any of these is harmless to unpickle (nothing was imported), so raw data that happens to start
// like a pickle (a PyTorch storage beginning 0x80 0x02, a text starting "I") stays data.
bool PlausiblePickle(std::string_view bytes, const ScanAllowlist& allowlist) {
  if (bytes.empty() || !Opcodes()[static_cast<uint8_t>(bytes[0])].has_value()) return false;
  ScannedFile trial;
  int64_t unscanned = 0;
  WalkPickles(bytes, allowlist, trial, &unscanned);
  bool malformed = false;
  for (const ScanFinding& f : trial.findings) {
    // A name the walk could not resolve may be any global: that is a pickle to refuse, not text.
    if (f.detail.find("resolve") != std::string::npos) return true;
    malformed = malformed || f.severity == "malformed";
  }
  if (!malformed) return true;
  for (const std::string& g : trial.globals) {
    const size_t dot = g.find('.');
    if (dot != std::string::npos && IsIdentifierPath(g.substr(0, dot)) &&
        IsIdentifierPath(g.substr(dot + 1))) {
      return true;
    }
  }
  return false;
}

class Scanner {
 public:
  Scanner(const ScanAllowlist& allowlist, const ScanLimits& limits)
      : allowlist_(allowlist), limits_(limits) {}

  void Scan(const std::string& name, std::string_view bytes, int depth) {
    ScannedFile file;
    file.name = name;
    file.digest = Sha256Digest(bytes);
    file.size = static_cast<int64_t>(bytes.size());
    if (bytes.size() >= 4 && (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4) ||
                              bytes.substr(0, 4) == std::string_view("PK\x05\x06", 4))) {
      file.format = "zip";
      const size_t index = files_.size();
      files_.push_back(std::move(file));
      ScanZip(index, bytes, depth + 1);
      return;
    }
    if (HasPickleExtension(name) || PlausiblePickle(bytes, allowlist_)) {
      file = ScanPickle(name, bytes, allowlist_);
      files_.push_back(std::move(file));
      return;
    }
    if (LooksLikeXgboostModel(bytes)) {
      StatusOr<Json> summary = CheckXgboostModel(bytes);
      file.format = ParseJson(bytes).ok() ? "xgboost-json" : "xgboost-ubjson";
      if (!summary.ok()) {
        file.findings.push_back(
            {"malformed", "", Cat("XGBoost model refused: ", summary.status().message()), -1});
      }
      files_.push_back(std::move(file));
      return;
    }
    if (ParseJson(bytes).ok()) {
      file.format = "json";
    } else if (LooksLikeText(bytes)) {
      file.format = "text";
    } else {
      file.format = "binary";
    }
    files_.push_back(std::move(file));
  }

  std::vector<ScannedFile> Take() { return std::move(files_); }

 private:
  void Refuse(size_t index, std::string detail) {
    files_[index].findings.push_back({"malformed", "", std::move(detail), -1});
  }

  void ScanZip(size_t index, std::string_view bytes, int depth) {
    if (depth > limits_.max_zip_depth) {
      Refuse(index, Cat("zip archives nested deeper than ", limits_.max_zip_depth));
      return;
    }
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (source == nullptr) {
      Refuse(index, Cat("zip archive unreadable: ", zip_error_strerror(&error)));
      zip_error_fini(&error);
      return;
    }
    zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (archive == nullptr) {
      Refuse(index, Cat("zip archive unreadable: ", zip_error_strerror(&error)));
      zip_source_free(source);
      zip_error_fini(&error);
      return;
    }
    zip_error_fini(&error);
    const std::string prefix = files_[index].name;
    const zip_int64_t entries = zip_get_num_entries(archive, 0);
    for (zip_int64_t i = 0; i < entries; ++i) {
      const char* raw_name = zip_get_name(archive, i, 0);
      const std::string member = raw_name == nullptr ? Cat("#", i) : raw_name;
      if (!member.empty() && member.back() == '/') continue;
      zip_file_t* f = zip_fopen_index(archive, i, 0);
      if (f == nullptr) {
        Refuse(index,
               Cat("member ", member, " unreadable: ", zip_error_strerror(zip_get_error(archive))));
        continue;
      }
      std::string content;
      char buffer[1 << 16];
      bool bomb = false;
      bool failed = false;
      while (true) {
        const zip_int64_t n = zip_fread(f, buffer, sizeof buffer);
        if (n < 0) {
          failed = true;
          break;
        }
        if (n == 0) break;
        decompressed_ += static_cast<uint64_t>(n);
        if (decompressed_ > limits_.max_decompressed_bytes) {
          bomb = true;
          break;
        }
        content.append(buffer, static_cast<size_t>(n));
      }
      zip_fclose(f);
      if (bomb) {
        Refuse(index, Cat("member ", member, ": the import decompresses to more than ",
                          limits_.max_decompressed_bytes, " bytes (a zip bomb?)"));
        break;
      }
      if (failed) {
        Refuse(index, Cat("member ", member, " could not be decompressed"));
        continue;
      }
      Scan(Cat(prefix, "!", member), content, depth);
    }
    zip_discard(archive);
  }

  const ScanAllowlist& allowlist_;
  const ScanLimits& limits_;
  std::vector<ScannedFile> files_;
  uint64_t decompressed_ = 0;
};

// Names come from hostile bytes (a pickle's GLOBAL line, a zip member name) and may not be UTF-8;
// the record must still serialise and hash, so invalid bytes become U+FFFD.
std::string Utf8(const std::string& s) {
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return s;
  const std::string quoted = Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
  return Json::parse(quoted).get<std::string>();
}

}  // namespace

Json ScanFinding::ToJson() const {
  return Json{{"severity", severity},
              {"global", Utf8(global)},
              {"detail", Utf8(detail)},
              {"offset", offset}};
}

Json ScannedFile::ToJson() const {
  Json out_findings = Json::array();
  for (const ScanFinding& f : findings) out_findings.push_back(f.ToJson());
  Json out_globals = Json::array();
  for (const std::string& g : globals) out_globals.push_back(Utf8(g));
  return Json{{"name", Utf8(name)},
              {"format", format},
              {"digest", digest},
              {"size", size},
              {"globals", out_globals},
              {"findings", out_findings},
              {"unscanned_bytes", unscanned_bytes}};
}

Json ScanResult::ToJson() const {
  Json out_files = Json::array();
  for (const ScannedFile& f : files) out_files.push_back(f.ToJson());
  return Json{{"clean", clean}, {"allowlist_digest", allowlist_digest}, {"files", out_files}};
}

const ScanAllowlist& DefaultScanAllowlist() {
  static const auto* const kAllowlist = new ScanAllowlist{{
      // Python containers and numbers that pickles of models use.
      "collections.OrderedDict",
      "collections.defaultdict",
      "builtins.set",
      "builtins.frozenset",
      "builtins.slice",
      "builtins.complex",
      "builtins.bytearray",
      "builtins.range",
      "copyreg._reconstructor",
      "builtins.object",
      "_codecs.encode",
      // numpy arrays, scalars, dtypes and random states.
      "numpy.ndarray",
      "numpy.dtype",
      "numpy.core.multiarray._reconstruct",
      "numpy.core.multiarray.scalar",
      "numpy.core.numeric._frombuffer",
      "numpy._core.multiarray._reconstruct",
      "numpy._core.multiarray.scalar",
      "numpy._core.numeric._frombuffer",
      "numpy.random._pickle.__randomstate_ctor",
      "numpy.random._pickle.__bit_generator_ctor",
      "numpy.random._pickle.__generator_ctor",
      "numpy.random.mtrand.RandomState",
      "numpy.random._mt19937.MT19937",
      "numpy.random._pcg64.PCG64",
      // joblib's array wrapper.
      "joblib.numpy_pickle.NumpyArrayWrapper",
      // scikit-learn estimators and transformers commonly pickled.
      "sklearn.linear_model._logistic.LogisticRegression",
      "sklearn.linear_model._base.LinearRegression",
      "sklearn.linear_model._ridge.Ridge",
      "sklearn.linear_model._stochastic_gradient.SGDClassifier",
      "sklearn.preprocessing._data.StandardScaler",
      "sklearn.preprocessing._data.MinMaxScaler",
      "sklearn.preprocessing._data.RobustScaler",
      "sklearn.preprocessing._encoders.OneHotEncoder",
      "sklearn.preprocessing._encoders.OrdinalEncoder",
      "sklearn.preprocessing._label.LabelEncoder",
      "sklearn.impute._base.SimpleImputer",
      "sklearn.pipeline.Pipeline",
      "sklearn.compose._column_transformer.ColumnTransformer",
      "sklearn.tree._classes.DecisionTreeClassifier",
      "sklearn.tree._classes.DecisionTreeRegressor",
      "sklearn.tree._tree.Tree",
      "sklearn.ensemble._forest.RandomForestClassifier",
      "sklearn.ensemble._forest.RandomForestRegressor",
      "sklearn.ensemble._gb.GradientBoostingClassifier",
      "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
      "sklearn.calibration.CalibratedClassifierCV",
      "sklearn.calibration._CalibratedClassifier",
      "sklearn.calibration._SigmoidCalibration",
      "sklearn.isotonic.IsotonicRegression",
      // XGBoost's scikit-learn wrappers and booster.
      "xgboost.sklearn.XGBClassifier",
      "xgboost.sklearn.XGBRegressor",
      "xgboost.core.Booster",
  }};
  return *kAllowlist;
}

std::string ScanAllowlistDigest(const ScanAllowlist& allowlist) {
  Json entries = Json::array();
  for (const std::string& g : allowlist.globals) entries.push_back(g);
  StatusOr<std::string> canonical = CanonicalJson(entries);
  return Sha256Digest(canonical.ok() ? *canonical : entries.dump());
}

bool IsDangerousGlobal(std::string_view module, std::string_view name) {
  const std::string_view mapped = Python3Module(module);
  if ((mapped == "builtins") && DangerousFunctions().count(name) > 0) return true;
  return DangerousIn(module, name) || DangerousIn(mapped, name);
}

bool IsAllowedGlobal(std::string_view module, std::string_view name,
                     const ScanAllowlist& allowlist) {
  const std::string_view mapped = Python3Module(module);
  return MatchesAllowlist(Cat(mapped, ".", name), mapped, allowlist);
}

ScannedFile ScanPickle(std::string_view name, std::string_view bytes,
                       const ScanAllowlist& allowlist) {
  ScannedFile file;
  file.name = std::string(name);
  file.digest = Sha256Digest(bytes);
  file.size = static_cast<int64_t>(bytes.size());
  int64_t unscanned = 0;
  const bool joblib = WalkPickles(bytes, allowlist, file, &unscanned);
  file.format = joblib ? "joblib" : "pickle";
  file.unscanned_bytes = unscanned;
  return file;
}

ScanResult ScanFiles(const std::map<std::string, std::string>& files,
                     const ScanAllowlist& allowlist, const ScanLimits& limits) {
  Scanner scanner(allowlist, limits);
  for (const auto& [name, bytes] : files) scanner.Scan(name, bytes, 0);
  ScanResult result;
  result.files = scanner.Take();
  result.allowlist_digest = ScanAllowlistDigest(allowlist);
  for (const ScannedFile& f : result.files) result.clean = result.clean && f.findings.empty();
  return result;
}

}  // namespace plinth::registry
