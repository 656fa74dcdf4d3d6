#include "registry/import_scan.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "registry/xgboost_check.h"

namespace plinth::registry {
namespace {

// ---------------------------------------------------------------------------------------------
// A pickle writer: bytes by hand, in the encoding each protocol's Python pickler would choose, so
// the scanner is tested on what real files look like (checked against python3 below, when
// present).

class PickleWriter {
 public:
  explicit PickleWriter(int protocol) : p_(protocol) {
    if (p_ >= 2) {
      out_ += '\x80';
      out_ += static_cast<char>(p_);
    }
  }

  PickleWriter& Raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }
  PickleWriter& Op(char op) {
    out_ += op;
    return *this;
  }
  PickleWriter& Mark() { return Op('('); }

  PickleWriter& Str(std::string_view s) {
    if (p_ == 0) {
      out_ += 'V';
      out_ += s;
      out_ += '\n';
    } else if (p_ >= 4 && s.size() < 256) {
      out_ += '\x8c';
      out_ += static_cast<char>(s.size());
      out_ += s;
    } else {
      out_ += 'X';
      Le(s.size(), 4);
      out_ += s;
    }
    return *this;
  }

  PickleWriter& Int(int v) {
    if (p_ == 0) {
      out_ += "I" + std::to_string(v) + "\n";
    } else if (v >= 0 && v < 256) {
      out_ += 'K';
      out_ += static_cast<char>(v);
    } else {
      out_ += 'J';
      Le(static_cast<uint32_t>(v), 4);
    }
    return *this;
  }

  PickleWriter& Float(double v) {
    if (p_ == 0) {
      std::ostringstream s;
      s.precision(17);
      s << v;
      out_ += "F" + s.str() + "\n";
    } else {
      out_ += 'G';
      uint64_t bits;
      std::memcpy(&bits, &v, 8);
      for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xff);
    }
    return *this;
  }

  // GLOBAL for protocols 0-3, STACK_GLOBAL for 4 and 5 (what CPython writes).
  PickleWriter& Global(std::string_view module, std::string_view name) {
    if (p_ < 4) return TextGlobal(module, name);
    Str(module).Memoize();
    Str(name).Memoize();
    return Op('\x93');
  }
  PickleWriter& TextGlobal(std::string_view module, std::string_view name) {
    out_ += 'c';
    out_ += module;
    out_ += '\n';
    out_ += name;
    out_ += '\n';
    return *this;
  }

  // Memoizes the top of the stack under the next index.
  PickleWriter& Memoize() {
    const int index = memo_++;
    if (p_ >= 4) return Op('\x94');
    if (p_ == 0) {
      out_ += "p" + std::to_string(index) + "\n";
    } else {
      out_ += 'q';
      out_ += static_cast<char>(index);
    }
    return *this;
  }
  PickleWriter& Get(int index) {
    if (p_ == 0) {
      out_ += "g" + std::to_string(index) + "\n";
    } else {
      out_ += 'h';
      out_ += static_cast<char>(index);
    }
    return *this;
  }

  PickleWriter& EmptyTuple() { return p_ == 0 ? Mark().Op('t') : Op(')'); }
  PickleWriter& Tuple1() { return p_ >= 2 ? Op('\x85') : Op('t'); }  // needs Mark() before < 2

  // callable(*args) where args is one string: GLOBAL, args tuple, REDUCE.
  PickleWriter& Call(std::string_view module, std::string_view name, std::string_view arg) {
    Global(module, name);
    if (p_ < 2) Mark();
    Str(arg);
    Tuple1();
    return Op('R');
  }

  // {"a": 1.5, "b": [1.0, 2.0, "x"], "c": "text"}: what a benign model's parameters look like.
  PickleWriter& BenignDict() {
    if (p_ == 0) {
      Mark().Op('d');
    } else {
      Op('}');
    }
    Memoize();
    if (p_ > 0) Mark();
    Str("a").Float(1.5);
    if (p_ == 0) Op('s');
    Str("b");
    if (p_ == 0) {
      Mark().Op('l');
    } else {
      Op(']');
    }
    Memoize();
    if (p_ > 0) Mark();
    Float(1.0);
    if (p_ == 0) Op('a');
    Float(2.0);
    if (p_ == 0) Op('a');
    Str("x");
    if (p_ == 0) Op('a');
    if (p_ > 0) Op('e');
    if (p_ == 0) Op('s');
    Str("c").Str("text").Int(7);
    if (p_ == 0) {
      Op('0').Op('s');
    } else {
      Op('0').Op('u');
    }
    return *this;
  }

  std::string Stop() {
    out_ += '.';
    return out_;
  }
  const std::string& bytes() const { return out_; }
  int protocol() const { return p_; }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }

  int p_;
  int memo_ = 0;
  std::string out_;
};

bool Has(const ScannedFile& file, const std::string& severity, const std::string& global = "") {
  for (const ScanFinding& f : file.findings) {
    if (f.severity == severity && (global.empty() || f.global == global)) return true;
  }
  return false;
}

std::string Describe(const ScannedFile& file) { return DumpJson(file.ToJson(), 2); }

ScannedFile Scan(const std::string& bytes) {
  return ScanPickle("model.pkl", bytes, DefaultScanAllowlist());
}

// A malicious pickle for each protocol: module.name(arg) via GLOBAL/STACK_GLOBAL + REDUCE.
std::string Evil(int protocol, std::string_view module, std::string_view name) {
  return PickleWriter(protocol).Call(module, name, "echo pwned").Stop();
}

class PickleProtocolTest : public ::testing::TestWithParam<int> {};

TEST_P(PickleProtocolTest, BenignDictIsClean) {
  const int p = GetParam();
  ScannedFile file = Scan(PickleWriter(p).BenignDict().Stop());
  EXPECT_TRUE(file.findings.empty()) << Describe(file);
  EXPECT_EQ(file.format, "pickle");
  EXPECT_TRUE(file.globals.empty());
}

TEST_P(PickleProtocolTest, AllowlistedGlobalIsClean) {
  const int p = GetParam();
  PickleWriter w(p);
  w.Global("collections", "OrderedDict").EmptyTuple().Op('R');
  ScannedFile file = Scan(w.Stop());
  EXPECT_TRUE(file.findings.empty()) << Describe(file);
  EXPECT_EQ(file.globals, std::vector<std::string>{"collections.OrderedDict"});
  // Through GLOBAL whatever the protocol: CPython accepts every opcode under every header.
  PickleWriter text(p);
  text.TextGlobal("collections", "OrderedDict").EmptyTuple().Op('R');
  EXPECT_TRUE(Scan(text.Stop()).findings.empty());
}

TEST_P(PickleProtocolTest, DangerousGlobalsAreRefused) {
  const int p = GetParam();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"os", "system"},
      {"posix", "system"},
      {"nt", "system"},
      {"builtins", "eval"},
      {"builtins", "exec"},
      {"builtins", "getattr"},
      {"builtins", "open"},
      {"builtins", "__import__"},
      {"builtins", "compile"},
      {"subprocess", "Popen"},
      {"subprocess", "check_output"},
      {"socket", "create_connection"},
      {"sys", "exit"},
      {"runpy", "run_path"},
      {"pty", "spawn"},
      {"pickle", "loads"},
      {"webbrowser", "open"},
      {"requests", "get"},
      {"httplib", "HTTPConnection"},
      {"operator", "attrgetter"},
      {"os.path", "join"},
      {"numpy", "os.system"},
      {"collections", "OrderedDict.__init__"}};
  for (const auto& [module, name] : cases) {
    ScannedFile file = Scan(Evil(p, module, name));
    EXPECT_TRUE(Has(file, "dangerous", module + "." + name))
        << "protocol " << p << " " << module << "." << name << "\n"
        << Describe(file);
  }
}

TEST_P(PickleProtocolTest, Python2BuiltinIsDangerous) {
  const int p = GetParam();
  PickleWriter w(p);
  w.TextGlobal("__builtin__", "eval");
  if (p < 2) w.Mark();
  w.Str("1+1").Tuple1().Op('R');
  ScannedFile file = Scan(w.Stop());
  EXPECT_TRUE(Has(file, "dangerous", "__builtin__.eval")) << Describe(file);
}

TEST_P(PickleProtocolTest, GlobalOutsideAllowlistIsUnallowed) {
  const int p = GetParam();
  PickleWriter w(p);
  w.Global("mypackage", "Model").EmptyTuple().Op('R');
  ScannedFile file = Scan(w.Stop());
  EXPECT_TRUE(Has(file, "unallowed", "mypackage.Model")) << Describe(file);
  EXPECT_FALSE(Has(file, "dangerous"));
  EXPECT_EQ(file.globals, std::vector<std::string>{"mypackage.Model"});
}

TEST_P(PickleProtocolTest, InstOpcodeIsTracked) {
  const int p = GetParam();
  PickleWriter w(p);
  w.Mark().Str("id").Raw("ios\nsystem\n");
  ScannedFile file = Scan(w.Stop());
  EXPECT_TRUE(Has(file, "dangerous", "os.system")) << Describe(file);
}

TEST_P(PickleProtocolTest, StackGlobalThroughMemo) {
  const int p = GetParam();
  // Names pushed and memoized early, recalled with BINGET later, as a hiding attempt.
  PickleWriter w(p);
  w.Str("os").Memoize().Op('0');
  w.Str("system").Memoize().Op('0');
  w.Get(0).Get(1).Op('\x93');
  if (p < 2) w.Mark();
  w.Str("id").Tuple1().Op('R');
  ScannedFile file = Scan(w.Stop());
  EXPECT_TRUE(Has(file, "dangerous", "os.system")) << Describe(file);
  // LONG_BINPUT / LONG_BINGET as well.
  std::string long_memo = p >= 2 ? std::string("\x80\x02", 2) : "";
  long_memo += std::string("X\x02\0\0\0os", 7) + std::string("r\x10\0\0\0", 5) + "0";
  long_memo += std::string("X\x06\0\0\0system", 11) + std::string("r\x11\0\0\0", 5) + "0";
  long_memo += std::string("j\x10\0\0\0", 5) + std::string("j\x11\0\0\0", 5) + "\x93";
  long_memo += ".";
  EXPECT_TRUE(Has(Scan(long_memo), "dangerous", "os.system")) << Describe(Scan(long_memo));
}

TEST_P(PickleProtocolTest, UnresolvableStackGlobalIsMalformed) {
  const int p = GetParam();
  // The module name comes out of _codecs.encode("bf", "rot13") == "os": allowlisted callable,
  // but the scanner cannot know the value, so it cannot judge the import.
  PickleWriter w(p);
  w.Global("_codecs", "encode");
  w.Mark().Str("bf").Str("rot13").Op('t').Op('R');
  w.Str("system").Op('\x93');
  ScannedFile file = Scan(w.Stop());
  EXPECT_TRUE(Has(file, "malformed")) << Describe(file);
  // A name with escapes the scanner does not decode.
  std::string escaped = "V\\u006fs\nVsystem\n\x93N.";
  EXPECT_TRUE(Has(Scan(escaped), "malformed")) << Describe(Scan(escaped));
}

TEST_P(PickleProtocolTest, EveryTruncationIsRefused) {
  const int p = GetParam();
  const std::string evil = Evil(p, "os", "system");
  for (size_t n = 0; n < evil.size(); ++n) {
    ScannedFile file = Scan(evil.substr(0, n));
    EXPECT_FALSE(file.findings.empty()) << "prefix " << n;
    EXPECT_TRUE(Has(file, "malformed") || Has(file, "dangerous")) << "prefix " << n;
  }
  ScannedFile whole = Scan(evil);
  EXPECT_TRUE(Has(whole, "dangerous", "os.system"));
  EXPECT_FALSE(Has(whole, "malformed")) << Describe(whole);
}

TEST_P(PickleProtocolTest, SecondStreamAfterStopIsScanned) {
  const int p = GetParam();
  std::string two = PickleWriter(p).BenignDict().Stop() + Evil(std::max(p, 2), "os", "system");
  EXPECT_TRUE(Has(Scan(two), "dangerous", "os.system"));
}

INSTANTIATE_TEST_SUITE_P(Protocols, PickleProtocolTest, ::testing::Range(0, 6));

TEST(PickleScan, MalformedInputs) {
  EXPECT_TRUE(Has(Scan(""), "malformed"));
  EXPECT_TRUE(Has(Scan(std::string("\x80\x04\xff.", 4)), "malformed"));  // unknown opcode
  EXPECT_TRUE(Has(Scan(std::string("\x80\x09N.", 4)), "malformed"));     // protocol 9
  EXPECT_TRUE(Has(Scan("."), "malformed"));                              // STOP, empty stack
  EXPECT_TRUE(Has(Scan("t."), "malformed"));                             // TUPLE without MARK
  EXPECT_TRUE(Has(Scan("h\x05."), "malformed"));                         // memo never set
  EXPECT_TRUE(Has(Scan("SNotQuoted\n."), "malformed"));
  EXPECT_TRUE(Has(Scan(std::string("X\xff\xff\xff\x7f", 5)), "malformed"));  // huge length
  EXPECT_TRUE(Has(Scan(std::string("\x82\x01.", 3)), "malformed"));          // EXT1
  // Deep nesting is data, not recursion: a million MARKs cost nothing but a vector.
  EXPECT_TRUE(Has(Scan(std::string(1 << 20, '(')), "malformed"));
  EXPECT_TRUE(
      Scan(std::string(1 << 16, '(') + "N" + std::string(1 << 16, '1') + "N.").findings.empty());
}

TEST(PickleScan, TrailingDataIsReportedNotScanned) {
  std::string data = PickleWriter(4).BenignDict().Stop() + std::string(100, '\0');
  ScannedFile file = Scan(data);
  EXPECT_TRUE(file.findings.empty()) << Describe(file);
  EXPECT_EQ(file.unscanned_bytes, 100);
}

TEST(PickleScan, DeniedWhateverTheAllowlist) {
  ScanAllowlist permissive{{"os.system", "builtins.*", "os.*"}};
  ScannedFile file = ScanPickle("m.pkl", Evil(2, "os", "system"), permissive);
  EXPECT_TRUE(Has(file, "dangerous", "os.system"));
  ScannedFile set =
      ScanPickle("m.pkl", PickleWriter(2).TextGlobal("builtins", "print").Stop(), permissive);
  EXPECT_TRUE(set.findings.empty()) << Describe(set);  // module.* entries
}

TEST(PickleScan, DenylistAndAllowlistRules) {
  EXPECT_TRUE(IsDangerousGlobal("os", "system"));
  EXPECT_TRUE(IsDangerousGlobal("os.path", "join"));
  EXPECT_TRUE(IsDangerousGlobal("subprocess", "anything"));
  EXPECT_TRUE(IsDangerousGlobal("__builtin__", "eval"));
  EXPECT_TRUE(IsDangerousGlobal("builtins", "getattr"));
  EXPECT_TRUE(IsDangerousGlobal("operator", "attrgetter"));
  EXPECT_TRUE(IsDangerousGlobal("commands", "getoutput"));  // Python 2's subprocess
  EXPECT_TRUE(IsDangerousGlobal("numpy", "os.system"));
  EXPECT_TRUE(IsDangerousGlobal("numpy.testing", "sys"));
  EXPECT_FALSE(IsDangerousGlobal("mypackage.os", "Model"));  // a submodule, not os
  EXPECT_TRUE(IsDangerousGlobal("io", "open"));
  EXPECT_FALSE(IsDangerousGlobal("builtins", "set"));
  EXPECT_FALSE(IsDangerousGlobal("operator", "add"));
  EXPECT_FALSE(IsDangerousGlobal("osmosis", "system"));
  EXPECT_FALSE(IsDangerousGlobal("collections", "OrderedDict"));
  EXPECT_FALSE(IsDangerousGlobal("numpy.random._pickle", "__randomstate_ctor"));
  for (const std::string& g : DefaultScanAllowlist().globals) {
    const size_t dot = g.rfind('.');
    EXPECT_FALSE(IsDangerousGlobal(g.substr(0, dot), g.substr(dot + 1))) << g;
  }
  const ScanAllowlist& allow = DefaultScanAllowlist();
  EXPECT_TRUE(IsAllowedGlobal("__builtin__", "set", allow));
  EXPECT_TRUE(IsAllowedGlobal("copy_reg", "_reconstructor", allow));
  EXPECT_FALSE(IsAllowedGlobal("collections", "Counter", allow));
  EXPECT_EQ(ScanAllowlistDigest(allow), ScanAllowlistDigest(allow));
  EXPECT_NE(ScanAllowlistDigest(allow), ScanAllowlistDigest(ScanAllowlist{}));
}

// ---------------------------------------------------------------------------------------------
// joblib: a NumpyArrayWrapper's array bytes sit inside the pickle, right after its BUILD.

// What joblib >= 1.2 writes for one array (protocol 4): wrapper, state dict, BUILD, padding,
// raw bytes, then the rest of the pickle.
std::string JoblibFile(std::string_view dtype, int count, std::string_view array_bytes,
                       bool alignment) {
  PickleWriter w(4);
  w.Global("joblib.numpy_pickle", "NumpyArrayWrapper").Memoize().Op(')').Op('\x81').Memoize();
  w.Op('}').Memoize().Mark();
  w.Str("subclass").Global("numpy", "ndarray").Memoize();
  w.Str("shape").Int(count).Op('\x85').Memoize();
  w.Str("order").Str("C");
  w.Str("dtype").Global("numpy", "dtype").Memoize();
  w.Str(dtype).Op('\x89').Op('\x88').Op('\x87').Op('R').Memoize();
  w.Mark()
      .Int(3)
      .Str("<")
      .Op('N')
      .Op('N')
      .Op('N')
      .Raw("J\xff\xff\xff\xff")
      .Raw("J\xff\xff\xff\xff")
      .Int(0)
      .Op('t')
      .Op('b');
  w.Str("allow_mmap").Op('\x88');
  if (alignment) w.Str("numpy_array_alignment_bytes").Int(16);
  w.Op('u').Op('b');
  if (alignment && dtype != "O8") {  // joblib pads raw arrays only
    const size_t pad = 16 - ((w.bytes().size() + 1) % 16);
    w.Raw(std::string(1, static_cast<char>(pad))).Raw(std::string(pad, '\xff'));
  }
  w.Raw(array_bytes);
  return w.Stop();
}

TEST(JoblibScan, ArrayBytesAreSkipped) {
  std::string floats(3 * 8, '\0');
  const double values[3] = {1.0, -2.5, 1e300};
  std::memcpy(floats.data(), values, sizeof values);
  ScannedFile file = Scan(JoblibFile("f8", 3, floats, true));
  EXPECT_EQ(file.format, "joblib");
  EXPECT_TRUE(file.findings.empty()) << Describe(file);
  EXPECT_EQ(file.globals, (std::vector<std::string>{"joblib.numpy_pickle.NumpyArrayWrapper",
                                                    "numpy.dtype", "numpy.ndarray"}));
  // Older joblib: no alignment padding.
  EXPECT_TRUE(Scan(JoblibFile("f8", 3, floats, false)).findings.empty());
  // Array bytes that would be opcodes: the joblib reading skips them...
  EXPECT_TRUE(Scan(JoblibFile("u1", 6, "cos\nsy", false)).findings.empty());
}

TEST(JoblibScan, ArrayBytesThatAPlainUnpicklerWouldRunAreRefused) {
  // joblib reads these 19 bytes as uint8 data; pickle.load reads them as os.system("id").
  const std::string payload = "cos\nsystem\n(Vid\ntR0";
  ScannedFile file = Scan(JoblibFile("u1", static_cast<int>(payload.size()), payload, false));
  EXPECT_TRUE(Has(file, "dangerous", "os.system")) << Describe(file);
}

TEST(JoblibScan, ObjectArraysAreNestedPicklesAndScanned) {
  const std::string nested = Evil(2, "os", "system");
  ScannedFile file = Scan(JoblibFile("O8", 1, nested, true));
  EXPECT_TRUE(Has(file, "dangerous", "os.system")) << Describe(file);
  ScannedFile benign = Scan(JoblibFile("O8", 1, PickleWriter(2).BenignDict().Stop(), true));
  EXPECT_TRUE(benign.findings.empty()) << Describe(benign);
}

TEST(JoblibScan, TruncatedArrayIsMalformed) {
  ScannedFile file = Scan(JoblibFile("f8", 1000, std::string(16, '\0'), true));
  EXPECT_TRUE(Has(file, "malformed")) << Describe(file);
}

// ---------------------------------------------------------------------------------------------
// Zip archives.

std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& members) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("plinth_scan_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()) + ".zip");
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  EXPECT_NE(archive, nullptr);
  if (archive == nullptr) return "";
  for (const auto& [name, bytes] : members) {
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    EXPECT_GE(zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE), 0);
  }
  EXPECT_EQ(zip_close(archive), 0);
  std::ifstream in(path, std::ios::binary);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  return out;
}

const ScannedFile* Find(const ScanResult& result, const std::string& name) {
  for (const ScannedFile& f : result.files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(ZipScan, MembersAreScannedPerProtocol) {
  for (int p = 0; p <= 5; ++p) {
    std::string zip = MakeZip({{"model/data.pkl", PickleWriter(p).BenignDict().Stop()},
                               {"model/evil.bin", Evil(p, "os", "system")},
                               {"model/notes.txt", "hello\n"}});
    ScanResult result = ScanFiles({{"model.zip", zip}}, DefaultScanAllowlist());
    EXPECT_FALSE(result.clean);
    ASSERT_NE(Find(result, "model.zip"), nullptr);
    EXPECT_EQ(Find(result, "model.zip")->format, "zip");
    const ScannedFile* data = Find(result, "model.zip!model/data.pkl");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->format, "pickle");
    EXPECT_TRUE(data->findings.empty());
    const ScannedFile* evil = Find(result, "model.zip!model/evil.bin");
    ASSERT_NE(evil, nullptr) << DumpJson(result.ToJson(), 2);
    EXPECT_TRUE(Has(*evil, "dangerous", "os.system")) << "protocol " << p;
    EXPECT_EQ(Find(result, "model.zip!model/notes.txt")->format, "text");
  }
}

TEST(ZipScan, NestedZipAndPyTorchLayout) {
  std::string inner = MakeZip({{"archive/data.pkl", Evil(2, "builtins", "exec")},
                               {"archive/data/0", std::string(64, '\x01')}});
  std::string outer = MakeZip({{"inner.pt", inner}, {"README", "a model\n"}});
  ScanResult result = ScanFiles({{"outer.zip", outer}}, DefaultScanAllowlist());
  EXPECT_FALSE(result.clean);
  const ScannedFile* evil = Find(result, "outer.zip!inner.pt!archive/data.pkl");
  ASSERT_NE(evil, nullptr) << DumpJson(result.ToJson(), 2);
  EXPECT_TRUE(Has(*evil, "dangerous", "builtins.exec"));
  EXPECT_EQ(Find(result, "outer.zip!inner.pt!archive/data/0")->format, "binary");
}

TEST(ZipScan, DepthAndSizeAreBounded) {
  std::string zip = MakeZip({{"m.pkl", PickleWriter(4).BenignDict().Stop()}});
  for (int i = 0; i < 4; ++i) zip = MakeZip({{"z" + std::to_string(i) + ".zip", zip}});
  ScanResult deep = ScanFiles({{"deep.zip", zip}}, DefaultScanAllowlist());
  EXPECT_FALSE(deep.clean);
  bool depth_finding = false;
  for (const ScannedFile& f : deep.files) depth_finding = depth_finding || Has(f, "malformed");
  EXPECT_TRUE(depth_finding) << DumpJson(deep.ToJson(), 2);

  // A small "bomb": 4 MiB of zeros compresses to a few KiB; the limit is set below it.
  std::string bomb = MakeZip({{"zeros.bin", std::string(4 << 20, '\0')}});
  EXPECT_LT(bomb.size(), 100000u);
  ScanLimits limits;
  limits.max_decompressed_bytes = 1 << 20;
  ScanResult result = ScanFiles({{"bomb.zip", bomb}}, DefaultScanAllowlist(), limits);
  EXPECT_FALSE(result.clean);
  EXPECT_TRUE(Has(*Find(result, "bomb.zip"), "malformed"));
  EXPECT_TRUE(ScanFiles({{"bomb.zip", bomb}}, DefaultScanAllowlist()).clean);

  // A damaged archive is a finding, not a crash.
  std::string damaged = zip.substr(0, zip.size() / 2);
  ScanResult broken = ScanFiles({{"broken.zip", damaged}}, DefaultScanAllowlist());
  EXPECT_FALSE(broken.clean);
}

TEST(ZipScan, JoblibInsideZip) {
  std::string floats(8, '\0');
  std::string zip = MakeZip({{"model.joblib", JoblibFile("f8", 1, floats, true)}});
  ScanResult result = ScanFiles({{"bundle.zip", zip}}, DefaultScanAllowlist());
  EXPECT_TRUE(result.clean) << DumpJson(result.ToJson(), 2);
  EXPECT_EQ(Find(result, "bundle.zip!model.joblib")->format, "joblib");
}

// ---------------------------------------------------------------------------------------------
// Formats and the recorded result.

// One tree, three nodes: root splits on feature 1 at 0.5. XGBoost 1.7's JSON schema.
Json TinyModel() {
  return Json::parse(R"({
    "version": [1, 7, 4],
    "learner": {
      "attributes": {},
      "feature_names": ["age", "income"],
      "feature_types": ["float", "float"],
      "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2",
                              "num_target": "1", "boost_from_average": "1"},
      "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}},
      "gradient_booster": {
        "name": "gbtree",
        "model": {
          "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1",
                                 "size_leaf_vector": "0"},
          "tree_info": [0],
          "trees": [{
            "id": 0,
            "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "3",
                           "size_leaf_vector": "0"},
            "left_children": [1, -1, -1],
            "right_children": [2, -1, -1],
            "parents": [2147483647, 0, 0],
            "split_indices": [1, 0, 0],
            "split_conditions": [0.5, -0.4, 0.3],
            "split_type": [0, 0, 0],
            "default_left": [1, 0, 0],
            "base_weights": [0.0, -0.4, 0.3],
            "loss_changes": [1.5, 0.0, 0.0],
            "sum_hessian": [10.0, 6.0, 4.0],
            "categories": [], "categories_nodes": [], "categories_segments": [],
            "categories_sizes": []
          }]
        }
      }
    }
  })");
}

Json& Tree0(Json& model) { return model["learner"]["gradient_booster"]["model"]["trees"][0]; }

TEST(XgboostCheck, ValidModelPasses) {
  StatusOr<Json> summary = CheckXgboostModel(TinyModel().dump());
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ((*summary)["format"], "json");
  EXPECT_EQ((*summary)["num_feature"], 2);
  EXPECT_EQ((*summary)["num_trees"], 1);
  EXPECT_EQ((*summary)["objective"], "binary:logistic");
  EXPECT_EQ((*summary)["feature_names"], Json::array({"age", "income"}));
  const std::vector<uint8_t> ubj = Json::to_ubjson(TinyModel(), true, true);
  StatusOr<Json> binary = CheckXgboostModel(std::string(ubj.begin(), ubj.end()));
  ASSERT_TRUE(binary.ok()) << binary.status();
  EXPECT_EQ((*binary)["format"], "ubjson");
  const std::vector<uint8_t> plain_ubj = Json::to_ubjson(TinyModel());
  EXPECT_TRUE(CheckXgboostModel(std::string(plain_ubj.begin(), plain_ubj.end())).ok());
}

TEST(XgboostCheck, DartModelPasses) {
  Json model = TinyModel();
  Json gbtree = model["learner"]["gradient_booster"];
  model["learner"]["gradient_booster"] = {
      {"name", "dart"}, {"gbtree", gbtree}, {"weight_drop", Json::array({1.0})}};
  EXPECT_TRUE(CheckXgboostModel(model.dump()).ok()) << CheckXgboostModel(model.dump()).status();
}

void ExpectRefused(const Json& model, const std::string& message_part) {
  StatusOr<Json> summary = CheckXgboostModel(model.dump());
  ASSERT_FALSE(summary.ok()) << message_part;
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(summary.status().message()).find(message_part), std::string::npos)
      << summary.status().message();
}

TEST(XgboostCheck, CorruptionsAreRefusedNamingTreeAndNode) {
  {
    Json m = TinyModel();
    Tree0(m)["left_children"][0] = 99;
    ExpectRefused(m, "tree 0: node 0's left child 99 is out of range (tree has 3 nodes)");
  }
  {
    Json m = TinyModel();
    Tree0(m)["right_children"][0] = 1;
    ExpectRefused(m, "tree 0: node 1 is reached twice");
  }
  {
    Json m = TinyModel();  // a cycle back to the root
    Tree0(m)["left_children"][1] = 0;
    Tree0(m)["right_children"][1] = 2;
    ExpectRefused(m, "tree 0: node 1's left child 0 is out of range");
  }
  {
    Json m = TinyModel();
    Tree0(m)["split_indices"][0] = 5;
    ExpectRefused(m, "tree 0: node 0 splits on feature 5 (model has 2 features)");
  }
  {
    Json m = TinyModel();
    Tree0(m)["base_weights"].erase(2);
    ExpectRefused(m, "tree 0: base_weights has 2 entries (tree has 3 nodes)");
  }
  {
    Json m = TinyModel();
    Tree0(m)["parents"][2] = 1;
    ExpectRefused(m, "tree 0: node 2's parent is 1, expected 0");
  }
  {
    Json m = TinyModel();
    Tree0(m)["left_children"][0] = -1;
    ExpectRefused(m, "tree 0: node 0 has one child only");
  }
  {
    Json m = TinyModel();  // node 2 a leaf nobody points to, root a leaf
    Tree0(m)["left_children"][0] = -1;
    Tree0(m)["right_children"][0] = -1;
    ExpectRefused(m, "tree 0: node 1 is not reachable from the root");
  }
  {
    Json m = TinyModel();
    m["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = "2";
    ExpectRefused(m, "model has 1 trees, num_trees says 2");
  }
  {
    Json m = TinyModel();
    m["learner"]["gradient_booster"]["name"] = "gblinear";
    ExpectRefused(m, "is not gbtree or dart");
  }
  {
    Json m = TinyModel();
    m["learner"]["feature_names"] = Json::array({"age"});
    ExpectRefused(m, "learner.feature_names has 1 entries, num_feature is 2");
  }
  {
    Json m = TinyModel();
    m["learner"]["feature_types"] = Json::array({"float", "pickle"});
    ExpectRefused(m, "unknown feature type");
  }
  {
    Json m = TinyModel();
    m["learner"].erase("learner_model_param");
    ExpectRefused(m, "learner_model_param missing");
  }
  {
    // JSON cannot hold NaN; UBJSON can.
    Json m = TinyModel();
    Tree0(m)["split_conditions"][0] = std::numeric_limits<double>::quiet_NaN();
    const std::vector<uint8_t> ubj = Json::to_ubjson(m);
    StatusOr<Json> summary = CheckXgboostModel(std::string(ubj.begin(), ubj.end()));
    ASSERT_FALSE(summary.ok());
    EXPECT_NE(std::string(summary.status().message()).find("tree 0: node 0's split condition"),
              std::string::npos);
  }
  EXPECT_FALSE(CheckXgboostModel("").ok());
  EXPECT_FALSE(CheckXgboostModel("{").ok());
  EXPECT_FALSE(CheckXgboostModel("[1,2]").ok());
}

TEST(XgboostCheck, UbjsonCountsCannotOutgrowTheInput) {
  // "{", key "a", then an array claiming 2^62 int8 values in a handful of bytes.
  std::string bomb =
      "{i\x01"
      "a[$i#L";
  bomb += std::string("\x40\0\0\0\0\0\0\0", 8);
  bomb += "}";
  EXPECT_FALSE(CheckXgboostModel(bomb).ok());
  std::string nulls =
      "{i\x01"
      "a[$Z#L" +
      std::string("\x40\0\0\0\0\0\0\0", 8) + "}";
  EXPECT_FALSE(CheckXgboostModel(nulls).ok());
}

// A real XGBoost 1.7 model (JSON and UBJSON, written by libxgboost), kept with the fuzz seeds.
TEST(XgboostCheck, RealModelsPass) {
  const std::filesystem::path seeds =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "fuzz" / "seeds" /
      "pickle_scan_fuzzer";
  int checked = 0;
  for (const char* name : {"xgboost-model.json", "xgboost-model.ubj"}) {
    std::ifstream in(seeds / name, std::ios::binary);
    if (!in) continue;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    StatusOr<Json> summary = CheckXgboostModel(bytes);
    ASSERT_TRUE(summary.ok()) << name << ": " << summary.status();
    EXPECT_GT((*summary)["num_trees"].get<int>(), 0);
    ScanResult result = ScanFiles({{name, bytes}}, DefaultScanAllowlist());
    EXPECT_TRUE(result.clean);
    EXPECT_EQ(result.files[0].format,
              std::string(name).ends_with(".ubj") ? "xgboost-ubjson" : "xgboost-json");
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no real model under " << seeds;
}

TEST(ScanFiles, FormatsAndResultJson) {
  Json model = TinyModel();
  Json broken = TinyModel();
  Tree0(broken)["left_children"][0] = 99;
  const std::vector<uint8_t> ubj = Json::to_ubjson(model, true, true);
  ScanResult result = ScanFiles({{"model.json", model.dump()},
                                 {"model.ubj", std::string(ubj.begin(), ubj.end())},
                                 {"broken.json", broken.dump()},
                                 {"params.json", R"({"eta": 0.1})"},
                                 {"README.md", "# A model\n"},
                                 {"weights.bin", std::string("\x00\x01\x02\xff", 4)},
                                 {"model.pkl", PickleWriter(5).BenignDict().Stop()}},
                                DefaultScanAllowlist());
  EXPECT_EQ(Find(result, "model.json")->format, "xgboost-json");
  EXPECT_EQ(Find(result, "model.ubj")->format, "xgboost-ubjson");
  EXPECT_EQ(Find(result, "params.json")->format, "json");
  EXPECT_EQ(Find(result, "README.md")->format, "text");
  EXPECT_EQ(Find(result, "weights.bin")->format, "binary");
  EXPECT_EQ(Find(result, "model.pkl")->format, "pickle");
  const ScannedFile* bad = Find(result, "broken.json");
  EXPECT_EQ(bad->format, "xgboost-json");
  ASSERT_TRUE(Has(*bad, "malformed"));
  EXPECT_NE(bad->findings[0].detail.find("tree 0: node 0's left child 99"), std::string::npos);
  EXPECT_FALSE(result.clean);

  const Json json = result.ToJson();
  EXPECT_EQ(json["clean"], false);
  EXPECT_EQ(json["allowlist_digest"], ScanAllowlistDigest(DefaultScanAllowlist()));
  ASSERT_EQ(json["files"].size(), 7u);
  const Json& first = json["files"][0];
  for (const char* key :
       {"name", "format", "digest", "size", "globals", "findings", "unscanned_bytes"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_TRUE(first["digest"].get<std::string>().starts_with("sha256:"));
  EXPECT_TRUE(CanonicalJson(json).ok());

  // Pickles are found by extension or by content, whatever the name.
  ScanResult by_content =
      ScanFiles({{"blob", Evil(0, "os", "system")}, {"data", Evil(4, "os", "system")}},
                DefaultScanAllowlist());
  EXPECT_EQ(by_content.files[0].format, "pickle");
  EXPECT_EQ(by_content.files[1].format, "pickle");
  EXPECT_TRUE(Has(by_content.files[0], "dangerous"));
  EXPECT_TRUE(Has(by_content.files[1], "dangerous"));
  // Data that merely starts like a pickle stays data; a stream that imports is a pickle.
  ScanResult data = ScanFiles({{"archive/data/0", std::string("\x80\x02\x00\x00\x11", 5)}},
                              DefaultScanAllowlist());
  EXPECT_EQ(data.files[0].format, "binary");
  EXPECT_TRUE(data.clean);
  // No PROTO, no pickle extension, no plain global: a hidden name still makes it a pickle.
  ScanResult hidden =
      ScanFiles({{"notes", "V\\u006fs\nVsystem\n\x93(Vid\ntR."}}, DefaultScanAllowlist());
  EXPECT_EQ(hidden.files[0].format, "pickle");
  EXPECT_TRUE(Has(hidden.files[0], "malformed"));
  // Names that are not UTF-8 still make a record that serialises canonically.
  ScanResult odd = ScanFiles({{"odd.pkl", "c\xff\xfe\nname\n."}}, DefaultScanAllowlist());
  EXPECT_TRUE(Has(odd.files[0], "unallowed"));
  EXPECT_TRUE(CanonicalJson(odd.ToJson()).ok());
}

// ---------------------------------------------------------------------------------------------
// The writer against the real thing: CPython's pickler, every protocol.

std::string RunPython(const std::string& script) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("plinth_scan_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()) + ".py");
  std::ofstream(path) << script;
  const std::string command = "python3 " + path.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  if (pipe != nullptr) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    if (::pclose(pipe) != 0) out.clear();
  }
  std::filesystem::remove(path);
  return out;
}

// Stand-ins for joblib and numpy (neither need be installed), and a pickler that writes array
// bytes right after each NumpyArrayWrapper, aligned, as joblib's NumpyPickler does.
constexpr char kJoblibLike[] = R"py(
import pickle,sys,types,io,struct
jp=types.ModuleType("joblib");sys.modules["joblib"]=jp
jm=types.ModuleType("joblib.numpy_pickle");sys.modules["joblib.numpy_pickle"]=jm;jp.numpy_pickle=jm
nm=types.ModuleType("numpy");sys.modules["numpy"]=nm
class NumpyArrayWrapper: pass
NumpyArrayWrapper.__module__="joblib.numpy_pickle";NumpyArrayWrapper.__qualname__="NumpyArrayWrapper";jm.NumpyArrayWrapper=NumpyArrayWrapper
class dtype:
 def __init__(self,s): self.s=s
 def __reduce__(self): return (dtype,(self.s,False,True),(3,"<",None,None,None,-1,-1,0))
dtype.__module__="numpy";dtype.__qualname__="dtype";nm.dtype=dtype
class ndarray: pass
ndarray.__module__="numpy";ndarray.__qualname__="ndarray";nm.ndarray=ndarray
DATA={}
class P(pickle._Pickler):
 def save(self,obj,save_persistent_id=True):
  super().save(obj,save_persistent_id)
  if isinstance(obj,NumpyArrayWrapper):
   if self.proto>=4: self.framer.commit_frame(force=True)
   f=self._file_write.__self__
   if obj.__dict__["dtype"].s!="O8" and obj.__dict__["numpy_array_alignment_bytes"]:
    pad=16-((f.tell()+1)%16)
    f.write(bytes([pad])+b"\xff"*pad)
   f.write(DATA[id(obj)])
def wrapper(s,shape,data,align=16):
 w=NumpyArrayWrapper()
 w.__dict__.update(subclass=ndarray,shape=shape,order="C",dtype=dtype(s),allow_mmap=False,numpy_array_alignment_bytes=align)
 DATA[id(w)]=data
 return w
def dump(obj,p):
 f=io.BytesIO();P(f,protocol=p).dump(obj);return f.getvalue()
)py";

TEST(PythonPickles, ScannerAgreesWithCPython) {
  if (std::system("python3 -c 'import pickle' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 not available";
  }
  // One interpreter for the whole corpus: "kind protocol hex" per line. "joblibevil" is a joblib
  // file without alignment padding (joblib < 1.2) whose uint8 array bytes a plain unpickler would
  // run as os.system("id").
  const std::string out = RunPython(
      "import pickle,sys,os,collections,operator,types\n"
      "m=types.ModuleType(\"mypackage\");sys.modules[\"mypackage\"]=m\n"
      "class Model: pass\n"
      "Model.__module__=\"mypackage\";m.Model=Model\n"
      "class E:\n def __reduce__(self): return (os.system, (\"id\",))\n"
      "shared=collections.OrderedDict(k=1)\n"
      "benign={\"a\":1.5,\"b\":[1,2,\"x\",None,True],\"c\":b\"raw\",\"d\":{1,2},"
      "\"e\":frozenset([3]),\"f\":bytearray(b\"z\"),\"g\":(1,2.5),\"h\":10**30,"
      "\"i\":[shared,shared],\"j\":complex(1,2),\"k\":slice(1,2),"
      "\"l\":\"\\u00e9\\n\\\\\",\"m\":-5,\"n\":2**40}\n"
      "cases={\"benign\":benign,\"evil\":E(),\"getter\":[eval,operator.attrgetter(\"x\")],"
      "\"custom\":[Model(),Model()]}\n"
      "for p in range(6):\n"
      " for k,v in cases.items(): print(k,p,pickle.dumps(v,protocol=p).hex())\n" +
      std::string(kJoblibLike) +
      "for p in range(6):\n"
      " arrays={\"coef\":wrapper(\"f8\",(2,3),struct.pack(\"<6d\",*range(6))),"
      "\"empty\":wrapper(\"i8\",(0,),b\"\"),\"names\":wrapper(\"U3\",(2,),\"abcdef\".encode(\"utf-"
      "32-le\")),"
      "\"n\":3}\n"
      " print(\"joblib\",p,dump(arrays,p).hex())\n"
      " payload=b\"cos\\nsystem\\n(Vid\\ntR0\"\n"
      " print(\"joblibevil\",p,dump([wrapper(\"u1\",(len(payload),),payload,None)],p).hex())\n"
      " print(\"joblibobj\",p,dump([wrapper(\"O8\",(1,),pickle.dumps(E(),protocol=2))],p).hex())"
      "\n");
  ASSERT_FALSE(out.empty());
  int seen = 0;
  std::istringstream lines(out);
  std::string kind, hex;
  int p;
  while (lines >> kind >> p >> hex) {
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    ScannedFile file = ScanPickle("py.pkl", bytes, DefaultScanAllowlist());
    SCOPED_TRACE(kind + " protocol " + std::to_string(p) + "\n" + Describe(file));
    ++seen;
    if (kind == "benign") {
      EXPECT_TRUE(file.findings.empty());
    } else if (kind == "evil") {
      EXPECT_TRUE(Has(file, "dangerous", "posix.system") || Has(file, "dangerous", "nt.system"));
      EXPECT_FALSE(Has(file, "malformed"));
    } else if (kind == "joblib") {
      EXPECT_TRUE(file.findings.empty());
      EXPECT_EQ(file.format, "joblib");
    } else if (kind == "joblibevil") {
      EXPECT_TRUE(Has(file, "dangerous", "os.system"));
      EXPECT_EQ(file.format, "joblib");
    } else if (kind == "joblibobj") {
      EXPECT_TRUE(Has(file, "dangerous", "posix.system") || Has(file, "dangerous", "nt.system"));
    } else if (kind == "getter") {
      EXPECT_TRUE(Has(file, "dangerous", p < 3 ? "__builtin__.eval" : "builtins.eval"));
      EXPECT_TRUE(Has(file, "dangerous", "operator.attrgetter"));
    } else {
      EXPECT_TRUE(Has(file, "unallowed", "mypackage.Model"));
      EXPECT_FALSE(Has(file, "malformed"));
      EXPECT_FALSE(Has(file, "dangerous"));
    }
  }
  EXPECT_EQ(seen, 42);
}

}  // namespace
}  // namespace plinth::registry
