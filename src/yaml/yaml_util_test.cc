#include "yaml/yaml_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace plinth::yaml {
namespace {

using ::testing::HasSubstr;

std::string Message(const Status& status) { return std::string(status.message()); }

YAML::Node MustLoad(const std::string& text) {
  StatusOr<YAML::Node> node = Load(text, Errors("f.yaml"));
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? *node : YAML::Node();
}

TEST(YamlUtil, SuggestsCloseNamesAndPrefixes) {
  EXPECT_EQ(EditDistance("trian", "train"), 1);  // a transposition is one edit
  EXPECT_EQ(EditDistance("", "abc"), 3);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  const std::vector<std::string> keys = {"name", "expression", "window", "join_key"};
  EXPECT_EQ(Suggest("nmae", keys), "name");
  EXPECT_EQ(Suggest("expr", keys), "expression");  // a prefix
  EXPECT_EQ(Suggest("join", keys), "join_key");
  EXPECT_EQ(Suggest("zz", keys), "");                      // too short to guess
  EXPECT_EQ(Suggest(std::string(100000, 'w'), keys), "");  // cheap for huge names
  EXPECT_EQ(Hint("nmae", keys, "keys"), " (did you mean 'name'?)");
  EXPECT_EQ(Hint("zzzz", keys, "keys"), " (known keys: name, expression, window, join_key)");
  EXPECT_EQ(Hint("zzzz", {}, "views"), " (no views are defined)");
}

TEST(YamlUtil, QuotesShortenedAndDescribes) {
  EXPECT_EQ(Quote("abc"), "'abc'");
  const std::string x80(80, 'x'), x100(100, 'x');
  EXPECT_EQ(Quote(x100), absl::StrCat("'", x80, "...'"));
  EXPECT_EQ(Quote(x100, std::string::npos), absl::StrCat("'", x100, "'"));
  YAML::Node doc = MustLoad("a: [1]\nb: {c: 1}\nc: hello\nd:\n");
  EXPECT_EQ(Describe(doc["a"]), "a list");
  EXPECT_EQ(Describe(doc["b"]), "a mapping");
  EXPECT_EQ(Describe(doc["c"]), "'hello'");
  EXPECT_EQ(Describe(doc["d"]), "nothing");
  EXPECT_TRUE(IsIdentifier("_a1"));
  EXPECT_FALSE(IsIdentifier("1a"));
  EXPECT_FALSE(IsIdentifier(std::string(65, 'a')));
}

TEST(YamlUtil, ErrorsArePositioned) {
  YAML::Mark mark;
  mark.line = 2;
  mark.column = 4;
  EXPECT_EQ(Message(Errors("f.yaml").At(mark, "step train", "bad")), "f.yaml:3:5: step train: bad");
  EXPECT_EQ(Message(Errors("f.yaml").At(YAML::Mark::null_mark(), "", "empty")),
            "f.yaml:1:1: empty");
  ReaderOptions no_position;
  no_position.null_mark_at_start = false;
  EXPECT_EQ(Message(Errors("f.yaml", no_position).At(YAML::Mark::null_mark(), "", "empty")),
            "f.yaml: empty");
  EXPECT_EQ(Message(Errors("f.yaml", no_position).At(mark, "", "bad")), "f.yaml:3:5: bad");
}

TEST(YamlUtil, FieldsRefuseUnknownRepeatedAndMissingKeys) {
  const Errors errors("f.yaml");
  YAML::Node ok = MustLoad("name: a\nwindow: 1h\n");
  StatusOr<Fields> fields =
      Fields::Read(errors, "view", "a view", ok, {"name", "window"}, {"name"});
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(fields->keys(), (std::vector<std::string>{"name", "window"}));
  EXPECT_EQ(fields->Get("window").Scalar(), "1h");
  EXPECT_EQ(Position(fields->KeyMark("window")), "2:1");

  EXPECT_EQ(
      Message(Fields::Read(errors, "view", "a view", MustLoad("nmae: a\n"), {"name", "window"}, {})
                  .status()),
      "f.yaml:1:1: view: unknown key 'nmae' (did you mean 'name'?)");
  EXPECT_EQ(
      Message(
          Fields::Read(errors, "", "a view", MustLoad("zz: a\n"), {"name", "window"}, {}).status()),
      "f.yaml:1:1: unknown key 'zz' (expected: name, window)");
  EXPECT_EQ(Message(Fields::Read(errors, "", "a view", MustLoad("name: a\nname: b\n"), {"name"}, {})
                        .status()),
            "f.yaml:2:1: key 'name' is given twice");
  EXPECT_EQ(Message(Fields::Read(errors, "", "a view", MustLoad("window: 1h\n"), {"name", "window"},
                                 {"name"})
                        .status()),
            "f.yaml:1:1: missing 'name'");
  EXPECT_EQ(Message(Fields::Read(errors, "", "a view", MustLoad("[1]"), {"name"}, {}).status()),
            "f.yaml:1:1: a view must be a mapping with keys name, not a list");
  // The lighter check lists the keys rather than guessing.
  EXPECT_EQ(Message(CheckKeys(errors, "x", "'range'", MustLoad("mn: 1\n"), {"min", "max"})),
            "f.yaml:1:1: x: unknown key 'mn' (expected: min, max)");
  EXPECT_TRUE(CheckKeys(errors, "x", "'range'", MustLoad("min: 1\n"), {"min", "max"}).ok());
}

TEST(YamlUtil, TypedGetters) {
  const Errors errors("f.yaml");
  YAML::Node doc = MustLoad("s: text\nl: [a, b]\nt: true\ny: yes\nn: 2.5\nnan: .nan\nq: 'true'\n");
  EXPECT_EQ(GetString(errors, "", "s", doc["s"]).value(), "text");
  EXPECT_EQ(Message(GetString(errors, "", "l", doc["l"]).status()),
            "f.yaml:2:4: 'l' must be a string, not a list");
  EXPECT_EQ(GetStringList(errors, "", "l", doc["l"]).value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(Message(GetStringList(errors, "", "s", doc["s"]).status()),
              HasSubstr("'s' must be a list (write [a, b]), not 'text'"));
  EXPECT_TRUE(GetBool(errors, "", "t", doc["t"]).value());
  EXPECT_THAT(Message(GetBool(errors, "", "y", doc["y"]).status()),
              HasSubstr("'y' must be true or false, not 'yes'"));
  EXPECT_TRUE(GetBool(errors, "", "y", doc["y"], BoolSpelling::kYamlCpp).value());
  EXPECT_FALSE(GetBool(errors, "", "q", doc["q"]).ok());  // quoted: a string
  EXPECT_EQ(GetNumber(errors, "", "n", doc["n"]).value(), 2.5);
  EXPECT_THAT(Message(GetNumber(errors, "", "nan", doc["nan"]).status()),
              HasSubstr("'nan' must be a number, not '.nan'"));
  // A format that does not require UTF-8 loads such text, and its getters take it as it is.
  ReaderOptions lax;
  lax.require_utf8 = false;
  StatusOr<YAML::Node> latin1 = Load("bad: caf\xe9\n", Errors("f.yaml", lax));
  ASSERT_TRUE(latin1.ok()) << latin1.status();
  EXPECT_EQ(GetString(Errors("f.yaml", lax), "", "bad", (*latin1)["bad"]).value(), "caf\xe9");
  EXPECT_EQ(Message(GetString(errors, "", "bad", (*latin1)["bad"]).status()),
            "f.yaml:1:6: 'bad' is not valid UTF-8");
}

TEST(YamlUtil, ScalarsAndNodesAsJson) {
  YAML::Node doc = MustLoad("a: 4\nb: '4'\nc: 4.5\nd: ~\ne: inf\nf: [1, x]\ng: {h: false}\n");
  EXPECT_EQ(PlainScalarToJson(doc["a"]), Json(4));
  EXPECT_EQ(PlainScalarToJson(doc["b"]), Json("4"));
  EXPECT_EQ(PlainScalarToJson(doc["c"]), Json(4.5));
  EXPECT_TRUE(PlainScalarToJson(doc["d"]).is_null());
  EXPECT_EQ(PlainScalarToJson(doc["e"]), Json("inf"));
  StatusOr<Json> json = NodeToJson(Errors("f.yaml"), "", doc);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ((*json)["f"], Json::parse(R"([1, "x"])"));
  EXPECT_EQ((*json)["g"]["h"], Json(false));
  EXPECT_EQ(Message(NodeToJson(Errors("f.yaml"), "", MustLoad("a: 1\na: 2\n")).status()),
            "f.yaml:2:1: key 'a' is given twice");
}

TEST(YamlUtil, LoadRefusesUnreadableTextAndHintsOnSyntaxErrors) {
  const Errors errors("f.yaml");
  EXPECT_EQ(Message(Load("a: 1\nb: x\xff\n", errors).status()),
            "f.yaml:2:5: the file is not valid UTF-8");
  EXPECT_EQ(Message(Load("a: 1\nbé: \x01\n", errors).status()),
            "f.yaml:2:5: the file contains the control character U+0001, which YAML does not "
            "allow");
  ReaderOptions lax;
  lax.require_utf8 = false;
  EXPECT_TRUE(Load("a: x\xff\n", Errors("f.yaml", lax)).ok());
  Status syntax = Load("a: [b\n", errors).status();
  EXPECT_THAT(Message(syntax), HasSubstr("f.yaml:"));
  EXPECT_THAT(Message(syntax), HasSubstr(": invalid YAML: "));
  Status hinted =
      Load("steps:\n  - run: [echo, ${params.a}]\n    environment: shell\n", errors,
           [](std::string_view line) {
             return line.find("${") != std::string_view::npos ? std::string(" (quote it)") : "";
           })
          .status();
  EXPECT_THAT(Message(hinted), HasSubstr(" (quote it)"));
}

}  // namespace
}  // namespace plinth::yaml
